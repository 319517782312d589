/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_proxy.c — proxy mode, libmicrohttpd's side: each client request to the primary
 * (tee_upstream.c) and the primary's answer back, as the primary sent it.
 *
 * Forwarded request: method, target as sent byte for byte (curl is given the target
 * verbatim: it would remove dot segments and fragments), headers in order and repeated as sent,
 * except the hop-by-hop ones (RFC 9110 7.6.1: Connection and the names it lists,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade), Expect (this
 * side answered 100-continue) and Content-Length (curl frames the body again: the same
 * length, or chunked when the client sent it chunked); Host is kept; X-Forwarded-For gets
 * the client's address appended (a client on a Unix socket has none: nginx in front
 * already added the real one, and the fields go on as they came, joined). The body streams through as it arrives. Only a request
 * tee_frame.c found well framed gets here, and its body is framed as the front read it.
 *
 * Answer: the primary's status and headers in order (repeated ones kept), hop-by-hop
 * ones dropped; the body streams with the primary's Content-Length, or chunked when the
 * primary did not give one (close-delimited for an HTTP/1.0 client). HEAD, 204 and 304
 * carry no body; HEAD and 304 keep the primary's Content-Length. When the primary
 * cannot be reached or fails before its head: 502 (504 on a timeout), counted, and no
 * shadow copy. A client that leaves mid-answer abandons the primary's transfer; the copy
 * goes too, except for an event stream (a 2xx text/event-stream answer), which has no end
 * but the client's leaving: it is complete for the window the client held it (its record's
 * response.stream), and the shadow holds its copy as long (replay/stream.c).
 *
 * Nothing waits here: when the request needs its transfer to move (room for more body,
 * the head, body bytes), its connection is suspended and the transfer's callbacks resume
 * it. The shadow copy (tee_server.c) is filled on the way and queued once the answer is
 * sent whole.
 */
#include "tee_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tee_request_suspend(tee_request *rq)
{
    if (!rq->suspended) {
        rq->suspended = true;
        MHD_suspend_connection(rq->mhd);
    }
}

void tee_request_wake(tee_request *rq)
{
    if (rq->suspended) {
        rq->suspended = false;
        MHD_resume_connection(rq->mhd);
        rq->worker->resumed = true; /* the loop runs the daemon again before it waits */
    }
}

/* ---- the request to the primary --------------------------------------------------------- */

typedef struct header_walk {
    struct curl_slist *list;
    const char *connection;      /* the client's Connection header: the names it lists go too */
    const char *client_ip;
    char xff[1024];              /* X-Forwarded-For so far (the client's fields, joined) */
    size_t xff_len;
    bool has_accept, failed;
} header_walk;

static void add_line(header_walk *w, const char *name, const char *value)
{
    char small[512], *line = small;
    size_t n = strlen(name) + strlen(value) + 3;
    if (n > sizeof small && !(line = malloc(n))) {
        w->failed = true;
        return;
    }
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(w->list, line);
    if (l)
        w->list = l;
    else
        w->failed = true;
    if (line != small)
        free(line);
}

static enum MHD_Result forward_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    header_walk *w = cls;
    if (!value)
        value = "";
    if (strcasecmp(name, "content-length") == 0 || strcasecmp(name, "expect") == 0 || pm_header_is_hop_by_hop(name) ||
        pm_connection_lists(w->connection, name))
        return MHD_YES;
    if (strcasecmp(name, "x-forwarded-for") == 0) { /* sent last, with the client appended */
        size_t n = strlen(value);
        if (n > 0 && w->xff_len + n + 2 < sizeof w->xff) {
            memcpy(w->xff + w->xff_len, value, n);
            memcpy(w->xff + w->xff_len + n, ", ", 2);
            w->xff_len += n + 2;
        }
        return MHD_YES;
    }
    w->has_accept |= strcasecmp(name, "accept") == 0;
    add_line(w, name, value);
    return MHD_YES;
}

/* The forwarded header list: the client's, in order, without the hop-by-hop ones; then
 * X-Forwarded-For (the fields the client sent, joined as RFC 9110 5.3 allows, then the
 * client's address). Notes the body's framing. */
static void forward_headers(header_walk *w, struct MHD_Connection *c)
{
    w->connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    MHD_get_connection_values(c, MHD_HEADER_KIND, forward_header, w);
    if (w->client_ip[0]) {
        snprintf(w->xff + w->xff_len, sizeof w->xff - w->xff_len, "%s", w->client_ip);
        add_line(w, "X-Forwarded-For", w->xff);
    } else if (w->xff_len >= 2) { /* a Unix socket's client has no address to add */
        w->xff[w->xff_len - 2] = '\0';
        add_line(w, "X-Forwarded-For", w->xff);
    }
    /* curl adds these unless told not to ("Name:" with nothing after the colon): what
     * the client sent is what goes */
    struct curl_slist *l = curl_slist_append(w->list, "Expect:");
    if (l && !w->has_accept)
        l = curl_slist_append(l, "Accept:");
    if (l)
        w->list = l;
    else
        w->failed = true;
}

static int begin_transfer(tee_worker *w, tee_request *rq, const char *method)
{
    tee_front *t = w->tee;
    header_walk hw = {.client_ip = rq->conn->client_ip};
    forward_headers(&hw, rq->mhd);
    rq->xfer.headers = hw.list;
    if (hw.failed || pm_request_for(t->primary, rq->target, &rq->xfer.url, &rq->xfer.request_target) != 0)
        return -1;
    /* the body is framed as the front read it (tee_frame.c decided how), never from a
     * header field the client may have sent twice */
    tee_transfer_request tr = {
        .method = method,
        .has_body = rq->frame.chunked || rq->frame.content_length >= 0,
        .content_length = rq->frame.chunked ? -1 : rq->frame.content_length,
        .timeout_s = t->o.primary_timeout_s,
        .connect_timeout_s = t->o.primary_connect_timeout_s,
    };
    return tee_transfer_begin(w, rq, &tr);
}

/* ---- the answer ----------------------------------------------------------------------------- */

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    tee_request *rq = cls;
    size_t n = tee_transfer_take(rq, buf, max);
    if (n > 0) {
        if (rq->x && pm_body_append(&rq->x->resp_body, buf, n) != 0) {
            tee_exchange_free(rq->x);
            rq->x = NULL;
        }
        return (ssize_t)n;
    }
    if (rq->xfer.done) { /* a primary that failed mid-body: the client sees the same cut */
        if (rq->x && !rq->x->handed_us)
            rq->x->handed_us = tee_wall_us();
        return rq->xfer.result == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    tee_request_suspend(rq); /* woken by the next bytes or the end */
    return 0;
}

static enum MHD_Result answer_error(tee_front *t, tee_request *rq)
{
    const char *code = rq->xfer.error;
    atomic_fetch_add(&t->primary_errors, 1);
    unsigned status = code && strcmp(code, "timeout") == 0 ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_BAD_GATEWAY;
    char body[160 + CURL_ERROR_SIZE];
    bool tls = code && strcmp(code, "tls") == 0; /* which check failed: the operator's next step */
    int n = snprintf(body, sizeof body, "pmirror tee: the primary failed (%s%s%s)\n", code ? code : "other",
                     tls ? ": " : "", tls ? rq->xfer.curl_error : "");
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result q = MHD_queue_response(rq->mhd, status, r);
    MHD_destroy_response(r);
    tee_exchange_free(rq->x); /* nothing to compare the shadow with */
    rq->x = NULL;
    atomic_fetch_add(&t->dropped_incomplete, 1);
    return q;
}

static enum MHD_Result answer(tee_front *t, tee_request *rq, const char *method)
{
    tee_transfer *x = &rq->xfer;
    if (x->head_done && x->status > 999) { /* no status a client could be given */
        x->head_done = false;
        x->error = "garbage";
    }
    if (!x->head_done)
        return answer_error(t, rq);
    int status = x->status;
    const tee_headers *h = &x->resp_headers;
    const char *length = tee_headers_get(h, "content-length");
    bool chunked = tee_headers_get(h, "transfer-encoding") != NULL;
    char *end = NULL;
    unsigned long long size = length && !chunked ? strtoull(length, &end, 10) : 0;
    bool has_length = length && !chunked && end && end != length && *end == '\0';
    bool bodiless = strcmp(method, "HEAD") == 0 || status == 204 || status == 304 || status < 200;
    bool whole = x->done && x->result == CURLE_OK && !x->recv_paused;
    struct MHD_Response *r;
    bool close_after = false, r_is_buffer = false;
    if (status == 204 || status < 200) {
        r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT); /* no length at all */
    } else if (bodiless) {
        /* HEAD and 304 keep the primary's Content-Length (or chunked) with no body behind
         * it. When the primary sent neither, libmicrohttpd would add one of them: an
         * unknown length without chunking leaves both out, at the price of closing this
         * connection afterwards (Connection is hop-by-hop; Content-Length is not) */
        r = MHD_create_response_from_callback(has_length ? size : MHD_SIZE_UNKNOWN, 4096, read_body, rq, NULL);
        close_after = !has_length && !chunked;
    } else if (has_length && whole && x->buf_len - x->buf_off == size) {
        /* the body came with the head: one buffer, sent with the head in one write */
        const char *body = x->buf ? x->buf + x->buf_off : "";
        r = MHD_create_response_from_buffer((size_t)size, (void *)body, MHD_RESPMEM_MUST_COPY);
        r_is_buffer = true;
        if (r && rq->x && pm_body_append(&rq->x->resp_body, body, (size_t)size) != 0) {
            tee_exchange_free(rq->x);
            rq->x = NULL;
        }
    } else {
        r = MHD_create_response_from_callback(has_length ? size : MHD_SIZE_UNKNOWN, 32 << 10, read_body, rq, NULL);
    }
    if (!r)
        return MHD_NO;
    if (close_after)
        MHD_set_response_options(r, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
    const char *value = NULL;
    for (const char *name = tee_headers_next(h, NULL, &value); name; name = tee_headers_next(h, name, &value)) {
        if (tee_hop_by_hop(h, name) || strcasecmp(name, "content-length") == 0)
            continue;
        MHD_add_response_header(r, name, value);
    }
    if (rq->x) {
        rq->x->has_response = true;
        rq->x->status = status;
        rq->x->latency_us = x->first_byte_us - (rq->x->ts_us + rq->x->request_done_us);
        if (rq->x->latency_us < 0)
            rq->x->latency_us = 0;
        for (const char *name = tee_headers_next(h, NULL, &value); name; name = tee_headers_next(h, name, &value))
            tee_headers_add(&rq->x->resp_headers, name, strlen(name), value, strlen(value));
    }
    if (rq->x && (status == 204 || status < 200 || r_is_buffer))
        rq->x->handed_us = tee_wall_us(); /* the whole answer is with libmicrohttpd now */
    enum MHD_Result q = MHD_queue_response(rq->mhd, (unsigned)status, r);
    MHD_destroy_response(r);
    return q;
}

enum MHD_Result tee_proxy_handle(tee_worker *w, tee_request *rq, const char *method, const char *upload,
                                 size_t *upload_size)
{
    tee_front *t = w->tee;
    if (rq->answered)
        return MHD_YES;
    if (!rq->xfer.begun && begin_transfer(w, rq, method) != 0) {
        rq->xfer.done = true;
        rq->xfer.error = "other";
    }
    if (*upload_size > 0) {
        if (rq->xfer.done) { /* the primary has answered or failed: the rest is not needed */
            if (rq->x)
                tee_copy_body(t, rq, upload, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        size_t took = tee_transfer_feed(rq, upload, *upload_size);
        if (rq->x && took > 0)
            tee_copy_body(t, rq, upload, took);
        *upload_size -= took;
        if (*upload_size > 0)
            tee_request_suspend(rq); /* woken when curl has taken what is buffered */
        return MHD_YES;
    }
    /* the request is whole: wait for the primary's head */
    if (rq->x && !rq->x->request_done_us)
        rq->x->request_done_us = tee_wall_us() - rq->x->ts_us;
    tee_transfer_finish_body(rq);
    if (!rq->xfer.head_done && !rq->xfer.done) {
        tee_request_suspend(rq);
        return MHD_YES;
    }
    rq->answered = true;
    return answer(t, rq, method);
}

/* Whether the copy is a 2xx event stream the primary had begun answering. */
static bool is_stream(const tee_request *rq)
{
    const tee_exchange *x = rq->x;
    return x && rq->answered && x->has_response && x->status >= 200 && x->status < 300 &&
           pm_sse_is_stream_type(tee_headers_get(&x->resp_headers, "content-type"));
}

void tee_proxy_completed(tee_worker *w, tee_request *rq, enum MHD_RequestTerminationCode toe)
{
    tee_front *t = w->tee;
    /* COMPLETED_OK: libmicrohttpd sent the whole answer (a primary that failed mid-body
     * made the reader end with an error, which closes the connection instead) */
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->answered;
    if (is_stream(rq)) {
        bool primary_failed = rq->xfer.done && rq->xfer.result != CURLE_OK;
        if (ok || !primary_failed) { /* the primary ended it, or the client left: complete */
            int64_t now = tee_wall_us();
            rq->x->stream_closed_by = ok ? "server" : "client";
            rq->x->stream_window_us = rq->xfer.first_byte_us && now > rq->xfer.first_byte_us
                                          ? now - rq->xfer.first_byte_us
                                          : 0;
            if (!ok)
                rq->x->handed_us = now; /* the close is the window's end */
            ok = true;
        }
    }
    tee_transfer_release(w, rq);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        atomic_fetch_add(&t->client_aborts, 1);
    if (!rq->x)
        return;
    if (!ok) {
        tee_exchange_free(rq->x);
        rq->x = NULL;
        atomic_fetch_add(&t->dropped_incomplete, 1);
        return;
    }
    rq->x->resp_complete = true;
    rq->x->done_us = (rq->x->handed_us ? rq->x->handed_us : tee_wall_us()) - rq->x->ts_us;
    tee_copy_finish(t, rq);
}
