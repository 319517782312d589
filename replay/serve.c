/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve.c — `pmirror serve`'s HTTP side: a recorded backend on libmicrohttpd. It binds
 * the listen address (loopback unless told otherwise; or a Unix socket, unix:/PATH, whose
 * file is removed at the end), reads each request whole (its body only hashed, never
 * kept), asks the book (serve_match.c) which recorded exchange answers it, and sends that
 * answer the way a live server would.
 *
 * The answer is the recorded status, headers in recorded order and body, except what a
 * live server would say differently: hop-by-hop headers and Content-Length are left to
 * libmicrohttpd (the body is whole, keep-alive works whatever the recording said), Date
 * is now, Location points at the host the request came to, and upload UUIDs are fresh
 * (serve_match.c). A request nothing matches gets a JSON 404 that says so.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION), so --delay-ms and
 * --recorded-latency slow each answer without holding up the others; their waits end
 * early when the server stops, so stopping is never held up by a slow answer.
 */
#include <errno.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"
#include "serve_internal.h"

struct replay_server {
    serve_book book;
    struct MHD_Daemon *daemon;
    uint16_t port;
    char authority[80]; /* "127.0.0.1:8001": Location's host when a request has no Host */
    char url[128];
    const char *scheme;     /* "http", or "https" with --tls-cert */
    char *tls_cert, *tls_key; /* PEM text, for libmicrohttpd's GnuTLS */
    struct sockaddr_storage bound; /* a unix: socket's file goes at the end */
    unsigned delay_ms;
    bool recorded_latency;
    atomic_uint_fast64_t answered, unmatched;
    pthread_mutex_t wait_lock; /* the waits of --delay-ms, cut short by stop */
    pthread_cond_t wait_cond;
    bool stopping;
};

static void describe_address(replay_server *s, const struct sockaddr_storage *ss)
{
    uint16_t port = 0;
    s->bound = *ss;
    if (ss->ss_family == AF_UNIX) { /* reached as unix:/PATH; a Location without Host names localhost */
        pm_describe_address(ss, s->url, sizeof s->url, &port);
        snprintf(s->authority, sizeof s->authority, "localhost");
        s->port = 0;
        return;
    }
    pm_describe_address(ss, s->authority, sizeof s->authority, &port);
    s->port = port;
    snprintf(s->url, sizeof s->url, "%s://%s/", s->scheme, s->authority);
}

/* ===== one request ================================================================= */

typedef struct serve_request {
    char *target;    /* as the client sent it: path and query, undecoded */
    EVP_MD_CTX *sha; /* of the body, which is hashed as it arrives and not kept */
    bool started;
} serve_request;

static void request_free(serve_request *rq)
{
    if (!rq)
        return;
    free(rq->target);
    EVP_MD_CTX_free(rq->sha);
    free(rq);
}

/* libmicrohttpd's URI log callback is the one place that sees the target undecoded, with
 * its query; the request's state starts here and ends in on_completed. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    serve_request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    rq->target = strdup(uri);
    rq->sha = EVP_MD_CTX_new();
    if (!rq->target || !rq->sha || EVP_DigestInit_ex(rq->sha, EVP_sha256(), NULL) != 1) {
        request_free(rq);
        return NULL;
    }
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request_free(*con_cls);
    *con_cls = NULL;
}

/* Waits delay_us, or less when the server stops meanwhile. */
static void wait_before_answer(replay_server *s, int64_t delay_us)
{
    if (delay_us <= 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(delay_us / 1000000);
    until.tv_nsec += (long)(delay_us % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->wait_lock);
    while (!s->stopping && pthread_cond_timedwait(&s->wait_cond, &s->wait_lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->wait_lock);
}

/* ===== the answer ================================================================== */

/* Hop-by-hop headers, Content-Length (ours is set by the length we answer with) and any
 * Proxy-* header are not replayed. */
static bool is_hop_by_hop(const char *name)
{
    return pm_header_is_hop_by_hop(name) || strcasecmp(name, "Content-Length") == 0 ||
           strncasecmp(name, "Proxy-", 6) == 0;
}

/* RFC 7231 IMF-fixdate of now, whatever the locale. */
static void http_date_now(char buf[40])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(buf, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A copy of value with each recorded UUID of the match replaced by the client's one. */
static char *swap_uuids(const char *value, const serve_match *m)
{
    char *out = strdup(value);
    for (size_t i = 0; out && i < m->nswaps; i++)
        for (char *p = strstr(out, m->swaps[i].recorded); p; p = strstr(p + SERVE_UUID_LEN, m->swaps[i].recorded))
            memcpy(p, m->swaps[i].fresh, SERVE_UUID_LEN);
    return out;
}

/* Location: fresh UUIDs, and an absolute URL moved to the host the request came to. */
static char *rewrite_location(const char *value, const serve_match *m, const char *scheme, const char *host)
{
    char *swapped = swap_uuids(value, m);
    if (!swapped)
        return NULL;
    const char *scheme_end = strstr(swapped, "://");
    bool absolute = scheme_end && (strncasecmp(swapped, "http://", 7) == 0 || strncasecmp(swapped, "https://", 8) == 0);
    if (!absolute)
        return swapped;
    const char *rest = scheme_end + 3 + strcspn(scheme_end + 3, "/?#");
    size_t size = strlen(scheme) + strlen("://") + strlen(host) + strlen(rest) + 1;
    char *out = malloc(size);
    if (out)
        snprintf(out, size, "%s://%s%s", scheme, host, rest);
    free(swapped);
    return out;
}

static ssize_t no_body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR; /* HEAD: libmicrohttpd never asks */
}

/* The response object for a matched exchange; NULL when out of memory. */
static struct MHD_Response *recorded_answer(const replay_server *s, struct MHD_Connection *c,
                                            const char *method, const serve_match *m)
{
    const serve_exchange *x = m->exchange;
    struct MHD_Response *resp;
    const char *length = pm_headers_get(x->headers, "Content-Length");
    char *end = NULL;
    unsigned long long recorded_length = length ? strtoull(length, &end, 10) : 0;
    bool bodiless = strcmp(method, "HEAD") == 0 || x->status == 304;
    if (bodiless && x->body_len == 0 && recorded_length > 0 && end && *end == '\0')
        /* HEAD and 304 answers: no body, but the length of the one a GET would get */
        resp = MHD_create_response_from_callback(recorded_length, 4096, no_body_reader, NULL, NULL);
    else
        resp = MHD_create_response_from_buffer(x->body_len, x->body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return NULL;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host || !*host)
        host = s->authority;
    char date[40];
    http_date_now(date);
    for (size_t i = 0; i < json_array_size(x->headers); i++) {
        const json_t *h = json_array_get(x->headers, i);
        const char *name = json_string_value(json_array_get(h, 0));
        const char *value = json_string_value(json_array_get(h, 1));
        if (!name || !value || is_hop_by_hop(name))
            continue;
        char *owned = NULL;
        if (strcasecmp(name, "Date") == 0)
            value = date;
        else if (strcasecmp(name, "Location") == 0)
            value = owned = rewrite_location(value, m, s->scheme, host);
        else if (strcasecmp(name, "Docker-Upload-UUID") == 0)
            value = owned = swap_uuids(value, m);
        if (value)
            MHD_add_response_header(resp, name, value); /* one libmicrohttpd refuses is dropped */
        free(owned);
    }
    return resp;
}

static struct MHD_Response *not_found_answer(const char *method, const char *target, uint64_t unmatched)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "error", "pmirror serve: no recorded exchange", "method",
                            method, "target", target, "unmatched", (json_int_t)unmatched);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return resp;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)url;
    (void)version;
    replay_server *s = cls;
    serve_request *rq = *con_cls;
    if (!rq)
        return MHD_NO; /* out of memory when the request line came */
    if (!rq->started) { /* the headers are in; the body (if any) follows */
        rq->started = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        EVP_DigestUpdate(rq->sha, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    unsigned char digest[32];
    char hex[65];
    EVP_DigestFinal_ex(rq->sha, digest, NULL);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    serve_match m;
    serve_book_match(&s->book, method, rq->target, hex, &m);
    int64_t delay_us = (int64_t)s->delay_ms * 1000;
    if (m.exchange && s->recorded_latency && m.exchange->latency_us > 0)
        delay_us += m.exchange->latency_us;
    wait_before_answer(s, delay_us);
    struct MHD_Response *resp;
    unsigned status;
    if (m.exchange) {
        resp = recorded_answer(s, c, method, &m);
        status = (unsigned)m.exchange->status;
    } else {
        uint64_t unmatched = atomic_fetch_add(&s->unmatched, 1) + 1;
        resp = not_found_answer(method, rq->target, unmatched);
        status = MHD_HTTP_NOT_FOUND;
    }
    if (!resp)
        return MHD_NO;
    atomic_fetch_add(&s->answered, 1);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ===== the server ================================================================== */

static void server_free(replay_server *s)
{
    serve_book_free(&s->book);
    free(s->tls_cert);
    free(s->tls_key);
    pthread_cond_destroy(&s->wait_cond);
    pthread_mutex_destroy(&s->wait_lock);
    free(s);
}

replay_server *replay_serve_start(const replay_serve_options *o, pm_err *err)
{
    if (!o->fixture || !o->listen) {
        pm_err_set(err, "serve needs a fixture and a listen address");
        return NULL;
    }
    replay_server *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    s->delay_ms = o->delay_ms;
    s->recorded_latency = o->recorded_latency;
    atomic_init(&s->answered, 0);
    atomic_init(&s->unmatched, 0);
    pthread_mutex_init(&s->wait_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wait_cond, &attr);
    pthread_condattr_destroy(&attr);
    s->scheme = o->tls_cert ? "https" : "http";
    if (serve_book_load(&s->book, o->fixture, o->target, err) != 0 ||
        (o->tls_cert && (!(s->tls_cert = pm_read_file(o->tls_cert, NULL, err)) ||
                         !(s->tls_key = pm_read_file(o->tls_key ? o->tls_key : o->tls_cert, NULL, err))))) {
        server_free(s);
        return NULL;
    }
    struct sockaddr_storage bound;
    int fd = pm_listen_socket(o->listen, 128, false, &bound, err);
    if (fd < 0) {
        server_free(s);
        return NULL;
    }
    describe_address(s, &bound);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (s->tls_cert ? MHD_USE_TLS : 0);
    /* the certificate options last: without TLS the list ends where they would begin */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_line, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(256 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, 300u,
        s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
        MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        pm_listen_release(&bound);
        server_free(s);
        pm_err_set(err, "cannot start the HTTP%s server on %s%s", o->tls_cert ? "S" : "", o->listen,
                   o->tls_cert ? " (is --tls-key the key of --tls-cert, both PEM?)" : "");
        return NULL;
    }
    return s;
}

uint16_t replay_serve_port(const replay_server *s)
{
    return s->port;
}

const char *replay_serve_url(const replay_server *s)
{
    return s->url;
}

size_t replay_serve_count(const replay_server *s)
{
    return s->book.count;
}

size_t replay_serve_skipped(const replay_server *s)
{
    return s->book.skipped;
}

const char *replay_serve_warning(const replay_server *s)
{
    return s->book.warning;
}

uint64_t replay_serve_answered(const replay_server *s)
{
    return atomic_load(&s->answered);
}

uint64_t replay_serve_unmatched(const replay_server *s)
{
    return atomic_load(&s->unmatched);
}

void replay_serve_stop(replay_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->wait_lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->wait_cond);
    pthread_mutex_unlock(&s->wait_lock);
    MHD_stop_daemon(s->daemon); /* joins every connection thread; closes the socket */
    pm_listen_release(&s->bound);
    server_free(s);
}
