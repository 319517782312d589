/*
 * tee_upstream.c — proxy mode's connection to the primary: one libcurl easy handle in a
 * private multi handle per client connection, driven from that connection's thread.
 *
 * Both bodies stream. The request body is handed over as libmicrohttpd delivers it: the
 * read callback pauses curl when it has nothing, tee_upstream_send unpauses it and
 * drives the transfer until curl has taken the bytes. The response body is pulled by
 * libmicrohttpd's content reader through tee_upstream_read, which drives the transfer
 * until bytes arrive; the write callback pauses curl when the small buffer here is full,
 * so a multi-gigabyte blob never sits in memory. The multi handle keeps the connection
 * to the primary alive between requests of the same client connection.
 *
 * Waiting happens only in curl_multi_poll, at most a second at a time, so a closing
 * server (the `abort` flag) is noticed promptly even when the primary has gone silent.
 */
#include "tee_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUFFER_CAP (256u << 10) /* response bytes held before curl is paused */

struct tee_upstream {
    CURLM *multi;
    CURL *easy;
    bool attached;                 /* easy is in multi: a transfer is running or finished */
    const atomic_bool *abort;
    /* request body */
    const char *send_data;
    size_t send_len;
    bool send_eof, send_paused;
    /* response */
    int status;
    bool head_done;
    tee_headers headers;
    int64_t first_byte_us;
    char *buf;                     /* body bytes not yet read */
    size_t buf_off, buf_len;
    bool recv_paused;
    bool done;
    CURLcode result;
    const char *error;
    char curl_error[CURL_ERROR_SIZE];
};

tee_upstream *tee_upstream_new(void)
{
    tee_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->multi = curl_multi_init();
    u->easy = curl_easy_init();
    u->buf = malloc(BUFFER_CAP);
    if (!u->multi || !u->easy || !u->buf) {
        tee_upstream_free(u);
        return NULL;
    }
    return u;
}

void tee_upstream_free(tee_upstream *u)
{
    if (!u)
        return;
    if (u->attached)
        curl_multi_remove_handle(u->multi, u->easy);
    if (u->easy)
        curl_easy_cleanup(u->easy);
    if (u->multi)
        curl_multi_cleanup(u->multi);
    tee_headers_free(&u->headers);
    free(u->buf);
    free(u);
}

/* ---- callbacks -------------------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
    tee_upstream *u = ctx;
    if (u->send_len == 0) {
        if (u->send_eof)
            return 0;
        u->send_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    size_t take = size * n < u->send_len ? size * n : u->send_len;
    memcpy(buf, u->send_data, take);
    u->send_data += take;
    u->send_len -= take;
    return take;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    tee_upstream *u = ctx;
    size_t len = size * n;
    if (u->head_done)
        return len; /* trailers of a chunked body: not forwarded */
    if (u->first_byte_us == 0)
        u->first_byte_us = tee_wall_us();
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) { /* a status line: a new head (after a 1xx) */
        u->headers.len = u->headers.count = 0;
        const char *sp = memchr(data, ' ', len);
        u->status = sp ? atoi(sp + 1) : 0;
        return len;
    }
    if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) { /* the head's end */
        if (u->status >= 200)
            u->head_done = true;
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
    if (tee_headers_add(&u->headers, data, (size_t)(colon - data), v, (size_t)(end - v)) != 0)
        return 0;
    return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *ctx)
{
    tee_upstream *u = ctx;
    size_t len = size * n;
    if (u->buf_off == u->buf_len)
        u->buf_off = u->buf_len = 0;
    if (u->buf_len + len > BUFFER_CAP) {
        if (u->buf_off > 0) { /* make room at the front */
            memmove(u->buf, u->buf + u->buf_off, u->buf_len - u->buf_off);
            u->buf_len -= u->buf_off;
            u->buf_off = 0;
        }
        if (u->buf_len + len > BUFFER_CAP) {
            if (u->buf_len == 0) { /* a block bigger than the buffer: grow once for it */
                char *p = realloc(u->buf, len);
                if (!p)
                    return 0;
                u->buf = p;
            } else {
                u->recv_paused = true;
                return CURL_WRITEFUNC_PAUSE;
            }
        }
    }
    memcpy(u->buf + u->buf_len, data, len);
    u->buf_len += len;
    return len;
}

/* ---- driving the transfer -------------------------------------------------------------- */

static const char *error_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return NULL;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return "refused";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "reset";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "garbage";
    default:
        return "other";
    }
}

static void perform(tee_upstream *u)
{
    int running = 0;
    curl_multi_perform(u->multi, &running);
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(u->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            u->done = true;
            u->result = m->data.result;
            u->error = error_code(u->result);
        }
}

typedef bool (*ready_fn)(const tee_upstream *u);

/* Drives the transfer until ready(u), the transfer's end, or an abort. */
static void drive(tee_upstream *u, ready_fn ready)
{
    for (;;) {
        perform(u);
        if (ready(u) || u->done)
            return;
        if (u->abort && atomic_load(u->abort)) {
            u->done = true;
            u->result = CURLE_ABORTED_BY_CALLBACK;
            u->error = "other";
            return;
        }
        curl_multi_poll(u->multi, NULL, 0, 1000, NULL);
    }
}

static bool body_sent(const tee_upstream *u)
{
    return u->send_len == 0;
}

static bool head_ready(const tee_upstream *u)
{
    return u->head_done;
}

static bool bytes_ready(const tee_upstream *u)
{
    return u->buf_len > u->buf_off;
}

/* ---- one request ------------------------------------------------------------------------ */

int tee_upstream_begin(tee_upstream *u, const tee_upstream_request *rq)
{
    if (u->attached)
        tee_upstream_end(u);
    CURL *e = u->easy;
    curl_easy_reset(e);
    u->send_data = NULL;
    u->send_len = 0;
    u->send_eof = !rq->has_body;
    u->send_paused = u->recv_paused = false;
    u->status = 0;
    u->head_done = u->done = false;
    u->headers.len = u->headers.count = 0;
    u->first_byte_us = 0;
    u->buf_off = u->buf_len = 0;
    u->result = CURLE_OK;
    u->error = NULL;
    u->curl_error[0] = '\0';
    u->abort = rq->abort;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, u);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, u->curl_error);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L << 10);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(rq->connect_timeout_s * 1000));
    /* a silent primary is a timeout; a slow but moving transfer (a big blob) is not */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(rq->timeout_s > 1 ? rq->timeout_s : 1));
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (rq->has_body) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, u);
        if (rq->content_length >= 0)
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->content_length);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        if (strcmp(rq->method, "GET") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK)
        return -1;
    u->attached = true;
    return 0;
}

static void unpause(tee_upstream *u)
{
    int mask = (u->send_paused ? CURLPAUSE_SEND : 0) | (u->recv_paused ? CURLPAUSE_RECV : 0);
    curl_easy_pause(u->easy, mask); /* what is no longer paused resumes */
}

void tee_upstream_send(tee_upstream *u, const char *data, size_t len)
{
    if (u->done || len == 0)
        return;
    u->send_data = data;
    u->send_len = len;
    if (u->send_paused) {
        u->send_paused = false;
        unpause(u);
    }
    drive(u, body_sent);
    u->send_len = 0; /* the transfer ended early: the rest is not needed */
}

int tee_upstream_wait_head(tee_upstream *u)
{
    u->send_eof = true;
    if (u->send_paused) {
        u->send_paused = false;
        unpause(u);
    }
    drive(u, head_ready);
    if (!u->head_done && !u->error)
        u->error = "garbage"; /* ended without a head */
    return u->head_done ? 0 : -1;
}

int tee_upstream_status(const tee_upstream *u)
{
    return u->status;
}

const tee_headers *tee_upstream_headers(const tee_upstream *u)
{
    return &u->headers;
}

int64_t tee_upstream_first_byte_us(const tee_upstream *u)
{
    return u->first_byte_us;
}

const char *tee_upstream_error(const tee_upstream *u)
{
    return u->error;
}

ssize_t tee_upstream_read(tee_upstream *u, char *buf, size_t max)
{
    if (!bytes_ready(u)) {
        if (u->recv_paused) {
            u->recv_paused = false;
            unpause(u); /* may deliver the held block into the now empty buffer */
        }
        if (!bytes_ready(u) && !u->done)
            drive(u, bytes_ready);
    }
    if (bytes_ready(u)) {
        size_t n = u->buf_len - u->buf_off;
        if (n > max)
            n = max;
        memcpy(buf, u->buf + u->buf_off, n);
        u->buf_off += n;
        return (ssize_t)n;
    }
    return u->result == CURLE_OK ? 0 : -1;
}

void tee_upstream_end(tee_upstream *u)
{
    if (!u->attached)
        return;
    if (!u->done && u->head_done && !u->recv_paused)
        perform(u); /* the last bytes were read: let curl see the end and keep the connection */
    curl_multi_remove_handle(u->multi, u->easy); /* unfinished: its connection is closed */
    u->attached = false;
}
