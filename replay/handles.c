/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handles.c — curl easy handles kept per target between transfers, set up once.
 *
 * A target's transport options (its URL, unix socket, TLS files, proxy choice, HTTP/1.1,
 * connect timeout) are the same for every transfer to it, so a finished handle goes back
 * to its target's idle list as it is: no curl_easy_reset and no setting them all again,
 * and the URL is given parsed once (CURLOPT_CURLU) instead of as a string curl parses and
 * prints back per transfer (callgrind: reset, set-up and URL together were about 15% of
 * curl's instructions per transfer). What varies per request (method, headers, body,
 * timeout, callbacks' data) the engine sets on each take; what a request left behind is
 * put back to a fresh handle's defaults on give, so a GET after a POST is a GET and a HEAD
 * is NOBODY and nothing else.
 *
 * Kept as it is only after a clean transfer (core/curl_sends.h: one request sent — a
 * second is curl retrying a dead reused connection, which bumps a retry count only
 * curl_easy_reset clears — and no error). Any other handle is reset and set up again.
 * With a libcurl older than 7.80 (nothing to count with) every handle is reset, as before.
 */
#include "replay_internal.h"
#include "core/curl_sends.h"
#include "core/proxy_env.h"

#include <stdlib.h>

typedef struct {
    CURLU *url;            /* the target's origin, parsed; NULL: set as a string */
    char *origin;          /* scheme://authority/ (what pm_request_for gives) */
    bool on_socket;
    char socket_path[PM_UNIX_PATH_MAX + 1];
    CURL **idle;
    size_t nidle;
} target_handles;

struct rp_handles {
    const pm_suite *suite;
    target_handles *t;     /* suite->ntargets */
    size_t cap;            /* idle handles kept per target */
};

rp_handles *rp_handles_new(const pm_suite *suite, size_t cap)
{
    rp_handles *h = calloc(1, sizeof *h);
    if (!h || !(h->t = calloc(suite->ntargets ? suite->ntargets : 1, sizeof *h->t))) {
        free(h);
        return NULL;
    }
    h->suite = suite;
    h->cap = cap;
    for (size_t i = 0; i < suite->ntargets; i++) {
        const pm_target *t = &suite->targets[i];
        target_handles *th = &h->t[i];
        const char *base;
        pm_err err;
        if (!t->url) /* the `recorded` pseudo-target (and the tee's): nothing is sent to it */
            continue;
        th->on_socket = pm_is_unix_url(t->url) &&
                        pm_unix_url_split(t->url, th->socket_path, sizeof th->socket_path, &base, &err) == 0;
        char *request_target = NULL;
        if (pm_request_for(t->url, "/", &th->origin, &request_target) != 0)
            continue; /* every request to it fails in rp_request_build: no transfer */
        free(request_target);
        /* the flags curl parses a CURLOPT_URL string with; a URL it refuses is left to
         * CURLOPT_URL, to fail per transfer as it did */
        th->url = curl_url();
        if (th->url && curl_url_set(th->url, CURLUPART_URL, th->origin, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)) {
            curl_url_cleanup(th->url);
            th->url = NULL;
        }
    }
    return h;
}

void rp_handles_free(rp_handles *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->suite->ntargets; i++) {
        target_handles *th = &h->t[i];
        for (size_t k = 0; k < th->nidle; k++)
            curl_easy_cleanup(th->idle[k]);
        free(th->idle);
        curl_url_cleanup(th->url); /* after the handles that point to it */
        free(th->origin);
    }
    free(h->t);
    free(h);
}

/* The target's own options, on a new or reset handle. */
static void set_up(const rp_handles *h, size_t target, CURL *e)
{
    const pm_target *t = &h->suite->targets[target];
    const target_handles *th = &h->t[target];
    if (th->url)
        curl_easy_setopt(e, CURLOPT_CURLU, th->url);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, th->on_socket ? th->socket_path : NULL);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(t->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL); /* bodies as sent: diff decodes */
    pm_proxy_apply(e);                    /* what curl would find in the environment, without its look-ups */
    pm_tls_apply(e, t->tls, t->insecure); /* CA bundle, client certificate, server_name */
}

CURL *rp_handles_take(rp_handles *h, size_t target, unsigned *sends)
{
    target_handles *th = &h->t[target];
    CURL *e;
    if (th->nidle > 0) {
        e = th->idle[--th->nidle];
    } else {
        if (!(e = curl_easy_init()))
            return NULL;
        set_up(h, target, e);
    }
    pm_curl_sends_count(e, sends);
    if (!th->url && th->origin)
        curl_easy_setopt(e, CURLOPT_URL, th->origin);
    return e;
}

void rp_handles_give(rp_handles *h, size_t target, CURL *e, bool clean)
{
    target_handles *th = &h->t[target];
    if (!th->idle)
        th->idle = calloc(h->cap, sizeof *th->idle);
    if (!th->idle || th->nidle >= h->cap) {
        curl_easy_cleanup(e);
        return;
    }
    if (clean) { /* pm_curl_sends_clean: never where libcurl cannot count */
        /* a fresh handle's request defaults (the order matters: POSTFIELDS makes it a POST,
         * HTTPGET a GET without NOBODY), and no pointer into the finished call */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, NULL);
        curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
#if PM_CURL_COUNTS_SENDS
        curl_easy_setopt(e, CURLOPT_PREREQDATA, NULL);
#endif
    } else {
        curl_easy_reset(e);
        set_up(h, target, e);
    }
    th->idle[th->nidle++] = e;
}
