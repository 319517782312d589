/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c — a target's TLS (tls.h): its files checked when the suite or the command line
 * names them, its handle options, and the names of what went wrong.
 *
 * Verification is never what is switched off to reach an internal deployment: the CA
 * bundle is given instead (CURLOPT_CAINFO), the client certificate the target demands
 * (CURLOPT_SSLCERT, CURLOPT_SSLKEY), and when the URL's host is not the certificate's name
 * the URL names the certificate's name and CURLOPT_CONNECT_TO sends it to the URL's host
 * and port, so SNI and the name check both use the name (CURLOPT_RESOLVE would do only for
 * a literal IP). A handshake that fails is `error: "tls"`, and error_detail says which of
 * the usual causes it was, first from OpenSSL's verify result, then from curl's text (curl
 * checks the host name itself, after OpenSSL said the chain was fine). The handle's side is
 * inline in tls.h: core itself calls no libcurl function.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pm_tls_check_file(const char *what, const char *path, pm_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return pm_err_set(err, "%s %s: cannot be read: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* ---- server_name ------------------------------------------------------------------------------ */

int pm_tls_route(pm_tls *tls, const char *base_url, pm_err *err)
{
    if (!tls->server_name)
        return 0;
    const char *scheme_end = strstr(base_url, "://");
    if (!scheme_end)
        return pm_err_set(err, "%s: not a URL", base_url);
    const char *authority = scheme_end + 3;
    size_t alen = strcspn(authority, "/?#");
    const char *host = authority;
    for (const char *at = authority; at < authority + alen; at++)
        if (*at == '@')
            host = at + 1;
    const char *host_end = host;
    if (*host == '[') { /* an IPv6 literal, kept in its brackets */
        host_end = memchr(host, ']', (size_t)(authority + alen - host));
        if (!host_end)
            return pm_err_set(err, "%s: unclosed [ in the host", base_url);
        host_end++;
    } else {
        while (host_end < authority + alen && *host_end != ':')
            host_end++;
    }
    const char *port = host_end < authority + alen && *host_end == ':' ? host_end + 1 : NULL;
    int port_len = port ? (int)(authority + alen - port) : 0;
    const char *default_port = strncmp(base_url, "https", 5) == 0 ? "443" : "80";
    if (host_end == host || (port && port_len == 0))
        return pm_err_set(err, "%s: no host or an empty port", base_url);
    size_t n = strlen(base_url) + strlen(tls->server_name) + 1;
    if (!(tls->url = malloc(n)))
        return pm_err_set(err, "out of memory");
    snprintf(tls->url, n, "%.*s%s%s", (int)(host - base_url), base_url, tls->server_name, host_end);
    n = 2 * strlen(base_url) + strlen(tls->server_name) + 8;
    if (!(tls->connect_to.data = malloc(n)))
        return pm_err_set(err, "out of memory");
    snprintf(tls->connect_to.data, n, "%s:%.*s:%.*s:%.*s", tls->server_name, port ? port_len : 3,
             port ? port : default_port, (int)(host_end - host), host, port ? port_len : 3, port ? port : default_port);
    tls->connect_to.next = NULL;
    return 0;
}

static int take(const char *given, const char *base, const char *what, const char *flag, char **out,
                pm_err *err)
{
    const char *v = given ? given : base;
    if (!v)
        return 0;
    if (!(*out = strdup(v)))
        return pm_err_set(err, "out of memory");
    char name[64];
    snprintf(name, sizeof name, "%s-%s", what, flag);
    return flag[0] == 's' ? 0 : pm_tls_check_file(name, v, err); /* server-name: not a file */
}

int pm_tls_derive(const pm_tls_given *given, const pm_tls *base, const char *url, const char *what, pm_tls **list,
                  pm_tls **out, pm_err *err)
{
    static const pm_tls_given none;
    const pm_tls_given *g = given ? given : &none;
    *out = NULL;
    if (!g->ca && !g->cert && !g->key && !g->server_name && !base)
        return 0;
    pm_tls *tls = calloc(1, sizeof *tls);
    if (!tls)
        return pm_err_set(err, "out of memory");
    tls->next = *list;
    *list = tls;
    if (take(g->ca, base ? base->ca : NULL, what, "ca", &tls->ca, err) ||
        take(g->cert, base ? base->cert : NULL, what, "cert", &tls->cert, err) ||
        take(g->key, base ? base->key : NULL, what, "key", &tls->key, err) ||
        take(g->server_name, base ? base->server_name : NULL, what, "server-name", &tls->server_name, err))
        return -1;
    if (tls->key && !tls->cert)
        return pm_err_set(err, "%s-key without %s-cert", what, what);
    pm_err why;
    if (pm_tls_route(tls, url, &why) != 0)
        return pm_err_set(err, "%s: %s", what, why.msg);
    *out = tls;
    return 0;
}

/* ---- what failed ------------------------------------------------------------------------------ */

static bool has(const char *text, const char *what)
{
    return strstr(text, what) != NULL;
}

/* OpenSSL's X509_V_ERR_* numbers (x509_vfy.h), stable across 1.1 and 3.x. */
static const char *verify_reason(long result)
{
    switch (result) {
    case 2:  /* UNABLE_TO_GET_ISSUER_CERT */
    case 18: /* DEPTH_ZERO_SELF_SIGNED_CERT */
    case 19: /* SELF_SIGNED_CERT_IN_CHAIN */
    case 20: /* UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
    case 21: /* UNABLE_TO_VERIFY_LEAF_SIGNATURE */
    case 27: /* CERT_UNTRUSTED */
        return "unknown_ca";
    case 9: /* CERT_NOT_YET_VALID */
        return "not_yet_valid";
    case 10: /* CERT_HAS_EXPIRED */
        return "expired";
    case 62: /* HOSTNAME_MISMATCH */
    case 64: /* IP_ADDRESS_MISMATCH */
        return "name_mismatch";
    default:
        return NULL;
    }
}

/* An alert the server sent about our certificate (TLS 1.3 sends it after the handshake,
 * so curl meets it reading the answer: a receive error, not a handshake one). */
static const char *alert_reason(const char *text)
{
    if (!has(text, "alert"))
        return NULL;
    if (has(text, "certificate required"))
        return "client_cert_required";
    if (has(text, "bad certificate") || has(text, "unknown ca") || has(text, "certificate unknown") ||
        has(text, "certificate expired") || has(text, "certificate revoked") ||
        has(text, "unsupported certificate") || has(text, "access denied"))
        return "client_cert_refused";
    return NULL;
}

const char *pm_tls_failure(int rc, long verify_result, char *errbuf)
{
    const char *text = errbuf && errbuf[0] ? errbuf : "(curl gave no text)";
    const char *reason = NULL;
    switch ((CURLcode)rc) {
    case CURLE_PEER_FAILED_VERIFICATION: {
        reason = verify_reason(verify_result);
        if (!reason)
            reason = has(text, "subject name") || has(text, "does not match") || has(text, "mismatch")
                         ? "name_mismatch"
                     : has(text, "expired")             ? "expired"
                     : has(text, "not yet valid")       ? "not_yet_valid"
                     : has(text, "issuer") || has(text, "self-signed") || has(text, "self signed") ? "unknown_ca"
                                                        : "unverified";
        break;
    }
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
        reason = alert_reason(text);
        if (!reason)
            reason = "handshake";
        break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        reason = alert_reason(text);
        break;
    case CURLE_SSL_CLIENTCERT:
        reason = "client_cert_required";
        break;
    case CURLE_SSL_CERTPROBLEM:
        reason = "client_cert_invalid";
        break;
    case CURLE_SSL_CACERT_BADFILE:
        reason = "ca_file_invalid";
        break;
    default:
        break;
    }
    if (!reason)
        return NULL;
    if (errbuf) {
        char detail[CURL_ERROR_SIZE];
        snprintf(detail, sizeof detail, "%s: %s", reason, text);
        memcpy(errbuf, detail, sizeof detail);
    }
    return "tls";
}

static bool body_has(const void *body, size_t len, const char *what)
{
    size_t n = strlen(what);
    const char *b = body;
    for (size_t i = 0; b && len >= n && i <= len - n; i++)
        if (b[i] == what[0] && memcmp(b + i, what, n) == 0)
            return true;
    return false;
}

const char *pm_tls_answer_error(long status, const void *body, size_t len, char *errbuf)
{
    if (status != 400)
        return NULL;
    const char *reason = body_has(body, len, "No required SSL certificate was sent") ? "client_cert_required"
                         : body_has(body, len, "The SSL certificate error")           ? "client_cert_refused"
                                                                                      : NULL;
    if (!reason)
        return NULL;
    snprintf(errbuf, CURL_ERROR_SIZE, "%s: the server answered 400 (%s)", reason,
             strcmp(reason, "client_cert_required") == 0 ? "No required SSL certificate was sent"
                                                         : "The SSL certificate error");
    return "tls";
}

void pm_tls_free_list(pm_tls *list)
{
    while (list) {
        pm_tls *next = list->next;
        free(list->ca);
        free(list->cert);
        free(list->key);
        free(list->server_name);
        free(list->url);
        free(list->connect_to.data);
        free(list);
        list = next;
    }
}
