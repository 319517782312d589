/* SPDX-License-Identifier: Apache-2.0 */
/*
 * effects.c — the effects sink: one small HTTP server (libmicrohttpd) per worker target, at the
 * suite's `effects:` address, where that worker deployment's outbound HTTP is pointed
 * (webhooks, Slack and e-mail gateways, callback URLs, ...). It answers every request 200 `{}`
 * and keeps it — {method, target, headers, body} — for the replay loop, which takes what
 * arrived at each look (after the look's query, so a request sent before the job's completion
 * committed is in the same look) and attributes it as it attributes enqueued rows.
 *
 * The requests come from a worker under test, not from anyone trusted: a body is kept up to
 * WK_SINK_MAX_BODY bytes (cut, flagged), at most WK_SINK_MAX_PENDING requests wait (the rest
 * are counted as dropped), and headers that differ by deployment for no reason of the job's
 * (Host: each sink has its own address; hop-by-hop, Content-Length) are not kept.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replay_internal.h"
#include "worker_internal.h"

#define WK_SINK_MAX_BODY (1u << 20)
#define WK_SINK_MAX_PENDING 10000

struct wk_sink {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    json_t *pending; /* requests not taken yet */
    uint64_t dropped;
    char address[80];
};

/* One request being received. */
typedef struct {
    json_t *headers;
    char *body;
    size_t len;
    bool cut;
} sink_request;

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    if (strcasecmp(name, "host") == 0 || strcasecmp(name, "content-length") == 0 || pm_header_is_hop_by_hop(name))
        return MHD_YES;
    json_t *pair = json_array();
    json_array_append_new(pair, wk_text_json(name, strlen(name)));
    json_array_append_new(pair, wk_text_json(value ? value : "", value ? strlen(value) : 0));
    json_array_append_new(cls, pair);
    return MHD_YES;
}

static json_t *body_json(const sink_request *r)
{
    json_t *v = r->cut ? NULL : json_loadb(r->body ? r->body : "", r->len, JSON_DECODE_ANY, NULL);
    return v ? v : wk_text_json(r->body ? r->body : "", r->len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    (void)version;
    wk_sink *s = cls;
    sink_request *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->headers = json_array();
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, r->headers);
        *state = r;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t take = *upload_size;
        if (r->len + take > WK_SINK_MAX_BODY) {
            take = WK_SINK_MAX_BODY - r->len;
            r->cut = true;
        }
        char *grown = take ? realloc(r->body, r->len + take + 1) : r->body;
        if (take && grown) {
            memcpy(grown + r->len, upload_data, take);
            r->body = grown;
            r->len += take;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    json_t *req = json_object();
    json_object_set_new(req, "method", wk_text_json(method, strlen(method)));
    json_object_set_new(req, "target", wk_text_json(url, strlen(url)));
    json_object_set(req, "headers", r->headers);
    json_object_set_new(req, "body", body_json(r));
    if (r->cut)
        json_object_set_new(req, "body_truncated", json_true());
    pthread_mutex_lock(&s->mu);
    if (json_array_size(s->pending) < WK_SINK_MAX_PENDING)
        json_array_append(s->pending, req);
    else
        s->dropped++;
    pthread_mutex_unlock(&s->mu);
    json_decref(req);
    static const char answer[] = "{}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof answer - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    sink_request *r = *state;
    if (!r)
        return;
    json_decref(r->headers);
    free(r->body);
    free(r);
    *state = NULL;
}

wk_sink *wk_sink_start(const char *address, pm_err *err)
{
    wk_sink *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->pending = json_array();
    struct sockaddr_storage bound;
    int fd = pm_listen_socket(address, 64, false, &bound, err);
    if (fd < 0) {
        wk_sink_stop(s);
        return NULL;
    }
    uint16_t port;
    pm_describe_address(&bound, s->address, sizeof s->address, &port);
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)256, MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        wk_sink_stop(s);
        pm_err_set(err, "effects sink at %s: cannot start the HTTP server", address);
        return NULL;
    }
    return s;
}

json_t *wk_sink_take(wk_sink *s)
{
    pthread_mutex_lock(&s->mu);
    json_t *taken = s->pending;
    s->pending = json_array();
    pthread_mutex_unlock(&s->mu);
    return taken;
}

uint64_t wk_sink_dropped(wk_sink *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->dropped;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void wk_sink_stop(wk_sink *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    json_decref(s->pending);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
