/*
 * tee_proxy.c — proxy mode, libmicrohttpd's side: each client request to the primary
 * (tee_upstream.c) and the primary's answer back, as the primary sent it.
 *
 * Forwarded request: method, target as sent, headers in order and repeated as sent,
 * except the hop-by-hop ones (RFC 9110 7.6.1: Connection and the names it lists,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade), Expect (this
 * side answered 100-continue) and Content-Length (curl frames the body again: the same
 * length, or chunked when the client sent it chunked); Host is kept; X-Forwarded-For gets
 * the client's address appended. The body streams through as it arrives.
 *
 * Answer: the primary's status and headers in order (repeated ones kept), hop-by-hop
 * ones dropped; the body streams with the primary's Content-Length, or chunked when the
 * primary did not give one (close-delimited for an HTTP/1.0 client). HEAD, 204 and 304
 * carry no body; HEAD and 304 keep the primary's Content-Length. When the primary
 * cannot be reached or fails before its head: 502 (504 on a timeout), counted, and no
 * shadow copy. A client that leaves mid-answer abandons the primary's transfer.
 *
 * The shadow copy (tee_server.c) is filled on the way: request headers and body, then
 * the primary's head and body (cut at max_body); it is queued when the answer is done.
 */
#include "tee_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the request to the primary --------------------------------------------------------- */

typedef struct header_walk {
    tee_request *rq;
    tee_headers all;     /* the client's headers, to find the names Connection lists */
    bool has_accept, has_xff;
    int64_t content_length;
    bool chunked;
} header_walk;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    header_walk *w = cls;
    tee_headers_add(&w->all, name, strlen(name), value ? value : "", value ? strlen(value) : 0);
    return MHD_YES;
}

static void add_line(struct curl_slist **list, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l)
        *list = l;
    free(line);
}

/* Builds the forwarded header list; notes the body's framing. */
static void forward_headers(header_walk *w, const char *client_ip)
{
    const char *value = NULL;
    for (const char *name = tee_headers_next(&w->all, NULL, &value); name; name = tee_headers_next(&w->all, name, &value)) {
        if (strcasecmp(name, "content-length") == 0) {
            w->content_length = strtoll(value, NULL, 10);
            continue;
        }
        if (strcasecmp(name, "transfer-encoding") == 0) {
            w->chunked = true;
            continue;
        }
        if (tee_hop_by_hop(&w->all, name) || strcasecmp(name, "expect") == 0)
            continue;
        if (strcasecmp(name, "x-forwarded-for") == 0) {
            w->has_xff = true;
            continue; /* the last one is sent below, with the client appended */
        }
        w->has_accept |= strcasecmp(name, "accept") == 0;
        add_line(&w->rq->up_headers, name, value);
    }
    /* X-Forwarded-For: the values the client sent (several fields joined, RFC 9110 5.3),
     * then the client's address */
    size_t n = strlen(client_ip) + 1;
    for (const char *name = tee_headers_next(&w->all, NULL, &value); name; name = tee_headers_next(&w->all, name, &value))
        if (strcasecmp(name, "x-forwarded-for") == 0)
            n += strlen(value) + 2;
    char *xff = malloc(n);
    if (xff) {
        xff[0] = '\0';
        for (const char *name = tee_headers_next(&w->all, NULL, &value); name;
             name = tee_headers_next(&w->all, name, &value))
            if (strcasecmp(name, "x-forwarded-for") == 0 && *value) {
                strcat(xff, value);
                strcat(xff, ", ");
            }
        strcat(xff, client_ip);
        add_line(&w->rq->up_headers, "X-Forwarded-For", xff);
        free(xff);
    }
    /* curl adds these unless told not to: what the client sent is what goes */
    w->rq->up_headers = curl_slist_append(w->rq->up_headers, "Expect:");
    if (!w->has_accept)
        w->rq->up_headers = curl_slist_append(w->rq->up_headers, "Accept:");
}

static int begin_upstream(capture_tee *t, tee_request *rq, struct MHD_Connection *c, const char *method)
{
    header_walk w = {.rq = rq, .content_length = -1};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &w);
    forward_headers(&w, rq->conn->client_ip);
    tee_headers_free(&w.all);
    const char *path = rq->target;
    if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0) {
        const char *slash = strchr(strstr(path, "//") + 2, '/');
        path = slash ? slash : "/";
    }
    size_t n = strlen(t->primary) + strlen(path) + 2;
    rq->url = malloc(n);
    if (!rq->url)
        return -1;
    snprintf(rq->url, n, "%s%s%s", t->primary, path[0] == '/' ? "" : "/", path);
    if (!rq->conn->up && !(rq->conn->up = tee_upstream_new()))
        return -1;
    tee_upstream_request ur = {
        .url = rq->url,
        .method = method,
        .headers = rq->up_headers,
        .has_body = w.chunked || w.content_length >= 0,
        .content_length = w.chunked ? -1 : w.content_length,
        .timeout_s = t->o.primary_timeout_s,
        .connect_timeout_s = t->o.primary_connect_timeout_s,
        .abort = &t->closing,
    };
    if (tee_upstream_begin(rq->conn->up, &ur) != 0)
        return -1;
    rq->upstream_begun = true;
    return 0;
}

/* ---- the answer ----------------------------------------------------------------------------- */

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    tee_request *rq = cls;
    ssize_t n = tee_upstream_read(rq->conn->up, buf, max);
    if (n > 0) {
        if (rq->x && pm_body_append(&rq->x->resp_body, buf, (size_t)n) != 0) {
            tee_exchange_free(rq->x);
            rq->x = NULL;
        }
        return n;
    }
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return MHD_CONTENT_READER_END_WITH_ERROR; /* the client sees the cut the primary made */
}

static enum MHD_Result answer_error(capture_tee *t, tee_request *rq, struct MHD_Connection *c)
{
    const char *code = tee_upstream_error(rq->conn->up);
    atomic_fetch_add(&t->primary_errors, 1);
    unsigned status = code && strcmp(code, "timeout") == 0 ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_BAD_GATEWAY;
    char body[160];
    int n = snprintf(body, sizeof body, "pmirror tee: the primary failed (%s)\n", code ? code : "other");
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result q = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    tee_exchange_free(rq->x); /* nothing to compare the shadow with */
    rq->x = NULL;
    atomic_fetch_add(&t->dropped_incomplete, 1);
    return q;
}

static enum MHD_Result answer(capture_tee *t, tee_request *rq, struct MHD_Connection *c, const char *method)
{
    tee_upstream *up = rq->conn->up;
    if (tee_upstream_wait_head(up) != 0)
        return answer_error(t, rq, c);
    int status = tee_upstream_status(up);
    const tee_headers *h = tee_upstream_headers(up);
    const char *length = tee_headers_get(h, "content-length");
    bool chunked = tee_headers_get(h, "transfer-encoding") != NULL;
    char *end = NULL;
    unsigned long long size = length && !chunked ? strtoull(length, &end, 10) : 0;
    bool has_length = length && !chunked && end && end != length && *end == '\0';
    bool head = strcmp(method, "HEAD") == 0;
    bool bodiless = head || status == 204 || status == 304 || status < 200;
    struct MHD_Response *r;
    if (bodiless) {
        /* HEAD and 304: the primary's Content-Length, with no body behind it */
        r = has_length && status != 204 && status >= 200
                ? MHD_create_response_from_callback(size, 4096, read_body, rq, NULL)
                : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_callback(has_length ? size : MHD_SIZE_UNKNOWN, 64 << 10, read_body, rq, NULL);
    }
    if (!r)
        return MHD_NO;
    const char *value = NULL;
    for (const char *name = tee_headers_next(h, NULL, &value); name; name = tee_headers_next(h, name, &value)) {
        if (tee_hop_by_hop(h, name) || strcasecmp(name, "content-length") == 0)
            continue;
        MHD_add_response_header(r, name, value);
    }
    if (rq->x) {
        rq->x->has_response = true;
        rq->x->status = status;
        rq->x->latency_us = tee_upstream_first_byte_us(up) - (rq->x->ts_us + rq->x->request_done_us);
        if (rq->x->latency_us < 0)
            rq->x->latency_us = 0;
        for (const char *name = tee_headers_next(h, NULL, &value); name; name = tee_headers_next(h, name, &value))
            tee_headers_add(&rq->x->resp_headers, name, strlen(name), value, strlen(value));
    }
    enum MHD_Result q = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return q;
}

enum MHD_Result tee_proxy_handle(capture_tee *t, tee_request *rq, struct MHD_Connection *c, const char *method,
                                 const char *version, const char *upload, size_t *upload_size)
{
    (void)version;
    if (!rq->upstream_begun && begin_upstream(t, rq, c, method) != 0)
        return MHD_NO;
    if (*upload_size > 0) {
        if (rq->x)
            tee_copy_body(t, rq, upload, *upload_size);
        tee_upstream_send(rq->conn->up, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = true;
    if (rq->x)
        rq->x->request_done_us = tee_wall_us() - rq->x->ts_us;
    return answer(t, rq, c, method);
}

void tee_proxy_completed(capture_tee *t, tee_request *rq, enum MHD_RequestTerminationCode toe)
{
    /* COMPLETED_OK: libmicrohttpd sent the whole answer (a primary that failed mid-body
     * made the reader end with an error, which closes the connection instead) */
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->answered;
    if (rq->upstream_begun)
        tee_upstream_end(rq->conn->up);
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
    rq->x->done_us = tee_wall_us() - rq->x->ts_us;
    tee_copy_finish(t, rq);
}
