/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_upstream.c — proxy mode's transfers to the primary: one libcurl easy handle per
 * request in flight, on the worker's multi handle, driven by the worker's loop.
 *
 * Nothing here blocks. Both bodies stream through small buffers: the client's request
 * body is copied in as libmicrohttpd delivers it (tee_transfer_feed) and the read
 * callback hands it to curl, pausing curl when it runs dry; the primary's response body
 * lands in a buffer the content reader drains (tee_transfer_take), and the write callback
 * pauses curl when that buffer is full, so a multi-gigabyte blob never sits in memory.
 * Whenever something the request may wait for happens — curl took the body bytes, the
 * head arrived, body bytes arrived, the transfer ended — the request's connection is
 * resumed (tee_request_wake). Finished handles are kept per worker with their settings;
 * the multi handle keeps the connections to the primary alive between requests.
 *
 * A handle is kept only after a clean transfer: no error, and one request sent. When a
 * kept connection turns out closed by the primary as the request went out, curl sends it
 * again on a new one and counts a retry on the handle, a count only curl_easy_reset clears;
 * at the sixth, curl fails the transfer ("Connection died") and the client got a 502 for
 * a request the primary would have answered (tests/integration/tee_reuse.sh). Such a
 * handle is freed instead (core/curl_sends.h). With a libcurl older than 7.80 (nothing to
 * count the requests sent with) no handle is kept.
 */
#include "tee_internal.h"
#include "core/curl_sends.h"
#include "core/proxy_env.h"

#include <stdlib.h>
#include <string.h>

#define SEND_CAP (256u << 10) /* request body bytes held for curl */
#define RECV_CAP (256u << 10) /* response body bytes held before curl is paused */

/* ---- callbacks ---------------------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
    tee_request *rq = ctx;
    tee_transfer *x = &rq->xfer;
    if (x->send_len == 0) {
        if (x->send_eof)
            return 0;
        x->send_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    size_t take = size * n < x->send_len ? size * n : x->send_len;
    memcpy(buf, x->send_buf + x->send_off, take);
    x->send_off += take;
    x->send_len -= take;
    if (x->send_len == 0) {
        x->send_off = 0;
        tee_request_wake(rq); /* room for more of the client's body */
    }
    return take;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    tee_request *rq = ctx;
    tee_transfer *x = &rq->xfer;
    size_t len = size * n;
    if (x->head_done)
        return len; /* trailers of a chunked body: not forwarded */
    if (x->first_byte_us == 0)
        x->first_byte_us = tee_wall_us();
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) { /* a status line: a new head (after a 1xx) */
        x->resp_headers.len = x->resp_headers.count = 0;
        const char *sp = memchr(data, ' ', len);
        x->status = sp ? atoi(sp + 1) : 0;
        return len;
    }
    if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) { /* the head's end */
        if (x->status >= 200) {
            x->head_done = true;
            tee_request_wake(rq);
        }
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || data[0] == ' ' || data[0] == '\t')
        return len; /* obsolete line folding: dropped */
    const char *v = colon + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (tee_headers_add(&x->resp_headers, data, (size_t)(colon - data), v, (size_t)(end - v)) != 0)
        return 0;
    return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *ctx)
{
    tee_request *rq = ctx;
    tee_transfer *x = &rq->xfer;
    size_t len = size * n;
    if (x->buf_off == x->buf_len)
        x->buf_off = x->buf_len = 0;
    if (x->buf_len + len > x->buf_cap) {
        if (x->buf_off > 0) { /* make room at the front */
            memmove(x->buf, x->buf + x->buf_off, x->buf_len - x->buf_off);
            x->buf_len -= x->buf_off;
            x->buf_off = 0;
        }
        if (x->buf_len + len > x->buf_cap) {
            if (x->buf_len > 0 && x->buf_cap >= RECV_CAP) {
                x->recv_paused = true; /* full: the reader resumes it */
                return CURL_WRITEFUNC_PAUSE;
            }
            size_t cap = x->buf_cap ? x->buf_cap : 16384;
            while (cap < x->buf_len + len)
                cap *= 2;
            char *p = realloc(x->buf, cap);
            if (!p)
                return 0;
            x->buf = p;
            x->buf_cap = cap;
        }
    }
    memcpy(x->buf + x->buf_len, data, len);
    x->buf_len += len;
    tee_request_wake(rq);
    return len;
}

/* ---- handles ---------------------------------------------------------------------------------- */

CURLU *tee_origin_parse(const tee_front *t)
{
    char *origin = NULL, *target = NULL;
    CURLU *u = pm_request_for(t->primary, "/", &origin, &target) == 0 ? curl_url() : NULL;
    if (u && curl_url_set(u, CURLUPART_URL, origin, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL;
    }
    free(origin);
    free(target);
    return u;
}

/* Options every request shares, set once per handle (a reset per request costs more than
 * the rest of setting a request up). */
static CURL *new_handle(const tee_worker *w)
{
    const tee_front *t = w->tee;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    if (w->origin)
        curl_easy_setopt(e, CURLOPT_CURLU, w->origin);
    pm_tls_apply(e, t->o.primary_tls, false); /* the primary's CA bundle, client certificate, name */
    pm_proxy_apply(e); /* what curl would find in the environment, without its look-ups */
    if (t->primary_socket[0]) /* a unix: primary: every handle goes there */
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, t->primary_socket);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L << 10);
    /* a silent primary is a timeout; a slow but moving transfer (a big blob) is not */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    return e;
}

static void list_remove(tee_worker *w, tee_request *rq)
{
    if (!rq->listed)
        return;
    if (rq->prev)
        rq->prev->next = rq->next;
    else
        w->active = rq->next;
    if (rq->next)
        rq->next->prev = rq->prev;
    rq->prev = rq->next = NULL;
    rq->listed = false;
}

int tee_transfer_begin(tee_worker *w, tee_request *rq, const tee_transfer_request *tr)
{
    tee_transfer *x = &rq->xfer;
    CURL *e = w->nidle > 0 ? w->idle[--w->nidle] : new_handle(w);
    if (!e)
        return -1;
    x->easy = e;
    x->begun = true;
    x->send_eof = !tr->has_body;
    curl_easy_setopt(e, CURLOPT_PRIVATE, rq);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, rq);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, rq);
    curl_easy_setopt(e, CURLOPT_READDATA, rq);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_error);
    pm_curl_sends_count(e, &x->sends);
    if (!w->origin)
        curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, x->request_target);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(tr->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(tr->timeout_s > 1 ? tr->timeout_s : 1));
    /* the method: HTTPGET first undoes what the handle's previous request set */
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    if (strcmp(tr->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (tr->has_body) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, tr->method);
        if (tr->content_length >= 0)
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)tr->content_length);
    } else if (strcmp(tr->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, tr->method);
    }
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        return -1;
    }
    rq->next = w->active; /* listed: the worker's close finds it */
    rq->prev = NULL;
    if (w->active)
        w->active->prev = rq;
    w->active = rq;
    rq->listed = true;
    return 0;
}

/* Unpauses what no longer needs to wait; curl may call back right away. */
static void unpause(tee_transfer *x)
{
    if (!x->easy)
        return;
    curl_easy_pause(x->easy, (x->send_paused ? CURLPAUSE_SEND : 0) | (x->recv_paused ? CURLPAUSE_RECV : 0));
}

size_t tee_transfer_feed(tee_request *rq, const char *data, size_t len)
{
    tee_transfer *x = &rq->xfer;
    if (!x->send_buf && !(x->send_buf = malloc(SEND_CAP)))
        return 0;
    if (x->send_off > 0 && x->send_len > 0)
        memmove(x->send_buf, x->send_buf + x->send_off, x->send_len);
    x->send_off = 0;
    size_t take = SEND_CAP - x->send_len < len ? SEND_CAP - x->send_len : len;
    memcpy(x->send_buf + x->send_len, data, take);
    x->send_len += take;
    if (take > 0 && x->send_paused) {
        x->send_paused = false;
        unpause(x);
    }
    return take;
}

void tee_transfer_finish_body(tee_request *rq)
{
    tee_transfer *x = &rq->xfer;
    x->send_eof = true;
    if (x->send_paused) {
        x->send_paused = false;
        unpause(x);
    }
}

size_t tee_transfer_take(tee_request *rq, char *buf, size_t max)
{
    tee_transfer *x = &rq->xfer;
    if (x->buf_len == x->buf_off && x->recv_paused) {
        x->recv_paused = false;
        unpause(x); /* may deliver the held block right away */
    }
    size_t n = x->buf_len - x->buf_off;
    if (n > max)
        n = max;
    if (n == 0)
        return 0;
    memcpy(buf, x->buf + x->buf_off, n);
    x->buf_off += n;
    if (x->buf_off == x->buf_len && x->recv_paused) {
        x->recv_paused = false;
        unpause(x);
    }
    return n;
}

void tee_transfer_release(tee_worker *w, tee_request *rq)
{
    tee_transfer *x = &rq->xfer;
    list_remove(w, rq);
    if (!x->easy)
        return;
    curl_multi_remove_handle(w->multi, x->easy); /* unfinished: its connection is closed */
    if (!x->done || !pm_curl_sends_clean(x->result, x->sends)) { /* a retry counted on it, or whatever an error left: not used again */
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        return;
    }
    if (w->nidle == w->cap_idle) {
        size_t cap = w->cap_idle ? 2 * w->cap_idle : 64;
        CURL **p = realloc(w->idle, cap * sizeof *p);
        if (p) {
            w->idle = p;
            w->cap_idle = cap;
        }
    }
    if (w->nidle < w->cap_idle && w->nidle < 1024)
        w->idle[w->nidle++] = x->easy;
    else
        curl_easy_cleanup(x->easy);
    x->easy = NULL;
}

void tee_transfer_collect(tee_worker *w)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        tee_request *rq = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
        if (!rq)
            continue;
        tee_transfer *x = &rq->xfer;
        x->done = true;
        x->result = m->data.result;
        x->error = pm_tls_error(m->easy_handle, (int)x->result, x->curl_error); /* named in curl_error */
        if (!x->error)
            x->error = pm_curl_error_code((int)x->result);
        if (!x->head_done && !x->error)
            x->error = "garbage"; /* over without a head */
        tee_transfer_release(w, rq); /* the connection goes back to the cache now */
        tee_request_wake(rq);
    }
}

void tee_transfer_free(tee_request *rq)
{
    tee_transfer *x = &rq->xfer;
    curl_slist_free_all(x->headers);
    free(x->url);
    free(x->request_target);
    free(x->send_buf);
    free(x->buf);
    tee_headers_free(&x->resp_headers);
    memset(x, 0, sizeof *x);
}
