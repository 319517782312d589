/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tls.c — core/tls.c without a network: server_name's URL and connect-to mapping, the
 * names a TLS failure gets from curl's result and text, and nginx's 400 refusing a client
 * certificate. (tests/integration/tls.sh meets each failure for real, behind nginx.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/tls.h"

static void route(const char *url, const char *name, const char *want_url, const char *want_entry)
{
    pm_tls tls = {.server_name = (char *)name};
    pm_err err;
    cr_assert_eq(pm_tls_route(&tls, url, &err), 0, "%s: %s", url, err.msg);
    cr_assert_str_eq(tls.url, want_url);
    cr_assert_str_eq(tls.connect_to.data, want_entry);
    cr_assert_null(tls.connect_to.next);
    free(tls.url);
    free(tls.connect_to.data);
}

Test(tls, server_name_rewrites_the_host_and_connects_to_the_original)
{
    route("https://127.0.0.1:8443", "quay.svc", "https://quay.svc:8443", "quay.svc:8443:127.0.0.1:8443");
    route("https://10.0.0.7/quay", "quay.svc", "https://quay.svc/quay", "quay.svc:443:10.0.0.7:443");
    route("http://alias", "quay.svc", "http://quay.svc", "quay.svc:80:alias:80");
    route("https://u:p@[::1]:9443/x?y", "quay.svc", "https://u:p@quay.svc:9443/x?y", "quay.svc:9443:[::1]:9443");
}

Test(tls, a_bad_url_is_an_error)
{
    pm_tls tls = {.server_name = "n"};
    pm_err err;
    cr_assert_eq(pm_tls_route(&tls, "https://[::1:80", &err), -1);
    cr_assert_eq(pm_tls_route(&tls, "https://:80", &err), -1);
}

static void named(int rc, const char *text, const char *want)
{
    CURL *e = curl_easy_init();
    char buf[CURL_ERROR_SIZE];
    snprintf(buf, sizeof buf, "%s", text);
    const char *code = pm_tls_error(e, rc, buf);
    curl_easy_cleanup(e);
    if (!want) {
        cr_assert_null(code, "%s", text);
        cr_assert_str_eq(buf, text, "the text is left alone");
        return;
    }
    cr_assert_str_eq(code, "tls", "%s", text);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", want);
    cr_assert_eq(strncmp(buf, prefix, strlen(prefix)), 0, "%s -> %s", text, buf);
}

Test(tls, failures_are_named)
{
    named(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: unable to get local issuer certificate",
          "unknown_ca");
    named(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: self-signed certificate", "unknown_ca");
    named(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: certificate has expired", "expired");
    named(CURLE_PEER_FAILED_VERIFICATION,
          "SSL: no alternative certificate subject name matches target host name '127.0.0.1'", "name_mismatch");
    named(CURLE_RECV_ERROR, "OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required",
          "client_cert_required");
    named(CURLE_SSL_CONNECT_ERROR, "error:0A000418:SSL routines::tlsv1 alert unknown ca", "client_cert_refused");
    named(CURLE_SSL_CONNECT_ERROR, "error:0A000410:SSL routines::sslv3 alert handshake failure", "handshake");
    named(CURLE_SSL_CERTPROBLEM, "could not load PEM client certificate", "client_cert_invalid");
    named(CURLE_SSL_CACERT_BADFILE, "error setting certificate file: x", "ca_file_invalid");
    named(CURLE_RECV_ERROR, "Recv failure: Connection reset by peer", NULL); /* a reset, not TLS */
    named(CURLE_COULDNT_CONNECT, "Failed to connect", NULL);
}

Test(tls, nginx_refusing_the_client_certificate)
{
    char buf[CURL_ERROR_SIZE];
    const char *missing = "<html><head><title>400 No required SSL certificate was sent</title></head></html>";
    cr_assert_str_eq(pm_tls_answer_error(400, missing, strlen(missing), buf), "tls");
    cr_assert_eq(strncmp(buf, "client_cert_required: ", 22), 0, "%s", buf);
    const char *refused = "<title>400 The SSL certificate error</title>";
    cr_assert_str_eq(pm_tls_answer_error(400, refused, strlen(refused), buf), "tls");
    cr_assert_eq(strncmp(buf, "client_cert_refused: ", 21), 0, "%s", buf);
    cr_assert_null(pm_tls_answer_error(200, missing, strlen(missing), buf), "only a 400");
    cr_assert_null(pm_tls_answer_error(400, "{\"error\":\"bad request\"}", 23, buf), "the application's 400");
    cr_assert_null(pm_tls_answer_error(400, NULL, 0, buf));
}
