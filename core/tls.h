/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/tls.h — TLS toward a target as production has it (tls.c): the CA bundle that
 * verifies it, the client certificate it may demand, the name its certificate carries when
 * the URL's host is another (an IP, a Service alias), and what a failed handshake is called
 * in a result (`error: "tls"`, `error_detail` "REASON: curl's text"). Replay's calls, the
 * tee's transfers to the primary and the shadow all set their handles here, so a target is
 * authenticated the same way whoever talks to it. core calls no libcurl function (layout.sh):
 * the two that touch a handle are inline here, compiled into the stages that link libcurl.
 */
#ifndef PM_CORE_TLS_H
#define PM_CORE_TLS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef struct pm_tls {
    char *ca;              /* PEM bundle the target's certificate must chain to; NULL: the system's */
    char *cert, *key;      /* client certificate and its key (PEM); NULL: none (key: in cert) */
    char *server_name;     /* the name verified and sent as SNI; NULL: the URL's host */
    char *url;             /* the base URL with server_name as its host (NULL: no server_name) */
    struct curl_slist connect_to; /* one item, data "NAME:PORT:HOST:PORT" (owned; NULL: none):
                                   * where server_name connects */
    struct pm_tls *next;   /* the owner's list (pm_suite's, or the tee's) */
} pm_tls;

/* What a command line gives for one target (--primary-ca ...): paths as given, borrowed. */
typedef struct pm_tls_given {
    const char *ca, *cert, *key, *server_name;
} pm_tls_given;

/* The TLS of a target reached at url: what the command line gives, over what base has (the
 * suite's; NULL: none), field by field, the files checked (what: "--primary" names them in
 * errors) and routed for url (pm_tls_route). *out NULL when neither gives anything, else
 * new and pushed on *list (freed with pm_tls_free_list). 0, or -1 with err. */
int pm_tls_derive(const pm_tls_given *given, const pm_tls *base, const char *url, const char *what, pm_tls **list,
                  pm_tls **out, pm_err *err);

/* A file the target's TLS needs: 0 when it can be read, else -1 with err naming it. */
int pm_tls_check_file(const char *what, const char *path, pm_err *err);

/* With server_name set: tls->url, base_url with its host replaced by server_name, and the
 * connect-to mapping that sends it to base_url's host and port (CURLOPT_CONNECT_TO: the
 * certificate is verified against, and SNI names, server_name). 0, or -1 with err. */
int pm_tls_route(pm_tls *tls, const char *base_url, pm_err *err);

/* After a transfer that ended with rc (OpenSSL's verify result: CURLINFO_SSL_VERIFYRESULT):
 * "tls" when TLS failed (a verification, a handshake, an alert the server sent about our
 * certificate), errbuf (CURL_ERROR_SIZE, curl's text) rewritten as "REASON: text" —
 * unknown_ca, name_mismatch, expired, not_yet_valid, client_cert_required,
 * client_cert_refused, client_cert_invalid, ca_file_invalid, handshake; NULL when the
 * failure is not TLS's (pm_curl_error_code names it). */
const char *pm_tls_failure(int rc, long verify_result, char *errbuf);

/* Sets a handle's TLS options: the CA bundle, the client certificate and key, the
 * connect-to mapping; insecure turns verification off. tls NULL: only insecure. */
static inline void pm_tls_apply(CURL *e, const pm_tls *tls, bool insecure)
{
    if (tls) {
        if (tls->ca)
            curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca);
        if (tls->cert)
            curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert);
        if (tls->key)
            curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key);
        if (tls->connect_to.data)
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, (struct curl_slist *)&tls->connect_to);
    }
    if (insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* pm_tls_failure for a handle's finished transfer. */
static inline const char *pm_tls_error(CURL *e, int rc, char *errbuf)
{
    long verify_result = 0;
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
        curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify_result);
    return pm_tls_failure(rc, verify_result, errbuf);
}

/* An HTTPS answer that is the server's refusal of the client certificate rather than the
 * application's: nginx completes the handshake without one and answers 400 "No required
 * SSL certificate was sent" (or "The SSL certificate error" for one it does not trust).
 * "tls" with errbuf (CURL_ERROR_SIZE) set to "client_cert_required: ..." or
 * "client_cert_refused: ...", else NULL. */
const char *pm_tls_answer_error(long status, const void *body, size_t len, char *errbuf);

void pm_tls_free_list(pm_tls *list);

#endif
