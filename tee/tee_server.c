/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_server.c — the tee's HTTP front: options, the listening sockets, the callbacks
 * libmicrohttpd calls for every connection and request in both modes, the shadow copy's
 * life (classified, selected, filled, queued), the consumer's end of the queue, and stop.
 *
 * The threads are tee_worker.c's: in proxy mode one event loop per CPU, each with its own
 * daemon and transfers, sharing nothing with the shadow side but the lock-free queues
 * (tee_queue.c), one per consumer ("lane"): a copy goes to the lane of its shard, the
 * key `replay --shard` uses, so the exchanges of one flow (an upload, a token and what
 * uses it) reach the same consumer in the order they were made. Classification happens on the client's path (a few hundred
 * nanoseconds, see bench/classify.sh), because selection decides whether a copy is made
 * at all; the Authorization header's user is decoded once per value per connection, and
 * no copy is made while the queue is full.
 */
#include "tee_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int64_t tee_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tee_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tee_options_init(tee_options *o)
{
    memset(o, 0, sizeof *o);
    o->uri_header = "X-Original-URI";
    o->queue = 1024;
    o->queue_bytes = (size_t)256 << 20;
    o->max_body = (size_t)16 << 20;
    o->primary_timeout_s = 300;
    o->primary_connect_timeout_s = 5;
    o->max_connections = 1024;
    o->max_per_ip = 64;
    o->header_timeout_s = 10;
}

/* ===== the shadow copy ================================================================ */

/* Copies waiting in every lane. */
static size_t queued_now(const tee_front *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nlanes; i++)
        n += tee_queue_depth(t->lanes[i].queue);
    return n;
}

static unsigned lane_of(const tee_front *t, const tee_exchange *x)
{
    if (t->nlanes < 2)
        return 0;
    char session[32];
    snprintf(session, sizeof session, "tee-%llu", (unsigned long long)x->connection);
    return pm_shard_of(x->cls.cohort.repo, x->cls.cohort.user, session, (unsigned)t->nlanes);
}

typedef struct copy_walk {
    tee_exchange *x;
    const char *skip;          /* sink: the original-URI header is not the client's */
    bool failed;
    bool overridden;           /* a method-override header names a mutating method */
} copy_walk;

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    copy_walk *w = cls;
    if (!value)
        value = "";
    if (w->skip && strcasecmp(name, w->skip) == 0)
        return MHD_YES;
    size_t vlen = strlen(value);
    if (w->skip && strcasecmp(name, "host") == 0 && vlen > 7 && strcmp(value + vlen - 7, "-shadow") == 0)
        vlen -= 7; /* Envoy's mirror marks the authority; the client did not send that */
    if (tee_headers_add(&w->x->req_headers, name, strlen(name), value, vlen) != 0)
        w->failed = true;
    w->overridden |= pm_header_overrides_to_mutating(name, value);
    return MHD_YES;
}

/* The cohort user of an Authorization value, decoded once per value per connection
 * (a JWT decode per request would cost more than the rest of classification). */
static const char *connection_user(tee_conn *conn, const char *authorization)
{
    if (!authorization)
        return NULL;
    if (conn->last_authorization && strcmp(conn->last_authorization, authorization) == 0)
        return conn->last_user;
    free(conn->last_authorization);
    free(conn->last_user);
    conn->last_authorization = strdup(authorization);
    conn->last_user = pm_cohort_user_from_authorization(authorization);
    return conn->last_user;
}

static bool is_mutating(const pm_class *cls, const char *method)
{
    return cls->mutating || !pm_method_is_safe(method);
}

tee_exchange *tee_copy_begin(tee_front *t, pm_classify_cache *classes, tee_conn *conn, struct MHD_Connection *c,
                             const char *method, const char *target, const char *version, int64_t ts_us)
{
    bool sink = !t->primary;
    if (sink) {
        const char *original = MHD_lookup_connection_value(c, MHD_HEADER_KIND, t->uri_header);
        if (original && *original)
            target = original;
    }
    pm_class cls;
    const char *authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *user = connection_user(conn, authorization);
    if (classes)
        pm_classify_cached(classes, method, target, user, &cls);
    else
        pm_classify_user(t->o.map, method, target, user, &cls);
    if (!pm_selection_matches(t->o.selection, cls.family ? cls.family : "UNKNOWN", &cls.cohort)) {
        atomic_fetch_add(&t->not_selected, 1);
        pm_class_clear(&cls);
        return NULL;
    }
    tee_family *fam = tee_shed_family(t->shed, cls.family);
    tee_shed_seen(t->shed, fam, ts_us);
    /* a full queue now, or the family over its share, is most likely so when the answer
     * is done: no copy to make */
    size_t depth = queued_now(t);
    bool full = depth >= t->capacity;
    if (full || tee_shed_over_share(t->shed, fam, depth)) {
        atomic_fetch_add(full ? &t->dropped_full : &t->dropped_share, 1);
        tee_shed_count(fam, false);
        pm_class_clear(&cls);
        return NULL;
    }
    tee_exchange *x = tee_exchange_new(t->o.max_body);
    if (!x) {
        tee_shed_count(fam, false);
        pm_class_clear(&cls);
        return NULL;
    }
    x->cls = cls;
    x->fam = fam;
    copy_walk w = {.x = x, .skip = sink ? t->uri_header : NULL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, copy_header, &w);
    x->method = strdup(method);
    x->target = strdup(target);
    x->version = strdup(version && *version ? version : "HTTP/1.1");
    if (w.failed || !x->method || !x->target || !x->version) {
        tee_exchange_free(x);
        return NULL;
    }
    x->ts_us = ts_us;
    x->connection = conn->id;
    x->seq = conn->seq;
    x->id_prefix = t->id_prefix;
    x->mode = sink ? "sink" : "proxy";
    x->cls.mutating |= w.overridden;
    x->req_body_kept = !is_mutating(&x->cls, method) || t->o.shadow_writes;
    return x;
}

bool tee_copy_body(tee_front *t, tee_request *rq, const char *data, size_t len)
{
    tee_exchange *x = rq->x;
    x->req_body_total += len;
    if (!x->req_body_kept)
        return true;
    if (x->req_body.total + len > t->o.max_body || pm_body_append(&x->req_body, data, len) != 0) {
        /* a cut body cannot be replayed: no copy, the primary still gets all of it */
        atomic_fetch_add(&t->dropped_too_large, 1);
        tee_exchange_free(x);
        rq->x = NULL;
        return false;
    }
    return true;
}

void tee_copy_finish(tee_front *t, tee_request *rq)
{
    tee_exchange *x = rq->x;
    rq->x = NULL;
    if (!tee_shed_admit(t->shed, x->fam, queued_now(t))) {
        atomic_fetch_add(&t->dropped_share, 1);
        tee_exchange_free(x);
        return;
    }
    unsigned k = lane_of(t, x);
    tee_lane *lane = &t->lanes[k];
    tee_push_result pushed = tee_queue_push(lane->queue, x);
    if (pushed != TEE_QUEUED)
        tee_shed_left(x->fam);
    switch (pushed) {
    case TEE_QUEUED:
        atomic_fetch_add(&t->queued, 1);
        if (atomic_load(&lane->consumer_waiting) && atomic_exchange(&lane->consumer_waiting, false) &&
            t->o.on_queued)
            t->o.on_queued(t->o.ctx, k);
        return;
    case TEE_QUEUE_FULL:
        atomic_fetch_add(&t->dropped_full, 1);
        break;
    case TEE_QUEUE_MEMORY:
        atomic_fetch_add(&t->dropped_memory, 1);
        break;
    case TEE_QUEUE_CLOSED:
        atomic_fetch_add(&t->dropped_stopping, 1);
        break;
    }
    tee_exchange_free(x);
}

/* ===== libmicrohttpd callbacks (cls: the worker) ======================================== */

void tee_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    tee_worker *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        tee_conn *conn = calloc(1, sizeof *conn);
        if (!conn)
            return;
        conn->id = atomic_fetch_add(&w->tee->next_connection, 1) + 1;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        snprintf(conn->client_ip, sizeof conn->client_ip, "unknown");
        if (sa && sa->sa_family == AF_UNIX)
            conn->client_ip[0] = '\0'; /* a local process: X-Forwarded-For goes on as it came */
        else if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, conn->client_ip, sizeof conn->client_ip);
        else if (sa && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, conn->client_ip,
                      sizeof conn->client_ip);
        *socket_context = conn;
        if (w->guarded)
            tee_guard_opened(w, conn, c);
        return;
    }
    tee_conn *conn = *socket_context;
    if (!conn)
        return;
    if (w->guarded)
        tee_guard_closed(w, conn);
    free(conn->last_authorization);
    free(conn->last_user);
    free(conn);
    *socket_context = NULL;
}

/* libmicrohttpd's URI log callback is the one place that sees the target undecoded, with
 * its query; the request's state starts here and ends in tee_on_completed. */
void *tee_on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    tee_request *rq = calloc(1, sizeof *rq);
    if (rq && !(rq->target = strdup(uri))) {
        free(rq);
        return NULL;
    }
    if (rq) {
        rq->worker = cls;
        rq->mhd = c;
    }
    return rq;
}

static enum MHD_Result frame_field(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    return tee_frame_field(cls, name, value) ? MHD_YES : MHD_NO;
}

/* tee_frame.c's verdict on the request head libmicrohttpd parsed. */
static unsigned frame_check(struct MHD_Connection *c, const char *target, const char *version, tee_frame *f,
                            const char **why)
{
    tee_frame_walk w;
    tee_frame_begin(&w);
    MHD_get_connection_values(c, MHD_HEADER_KIND, frame_field, &w);
    return tee_frame_end(&w, target, version, f, why);
}

/* The front's own answer to a request it will not pass on, counted as the client's error;
 * the connection closes after it (what follows the head cannot be framed). */
static enum MHD_Result reject(tee_front *t, tee_request *rq, unsigned status, const char *why)
{
    rq->rejected = rq->answered = true;
    atomic_fetch_add(strcmp(why, "target") == 0  ? &t->rejected_target
                     : strcmp(why, "field") == 0 ? &t->rejected_field
                                                 : &t->rejected_framing,
                     1);
    char body[128];
    int n = snprintf(body, sizeof body, "pmirror tee: %s (%s)\n",
                     status == MHD_HTTP_NOT_IMPLEMENTED ? "transfer coding not implemented" : "bad request", why);
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result q = MHD_queue_response(rq->mhd, status, r);
    MHD_destroy_response(r);
    return q;
}

enum MHD_Result tee_on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url;
    tee_worker *w = cls;
    tee_front *t = w->tee;
    tee_request *rq = *con_cls;
    if (!rq)
        return MHD_NO; /* out of memory at the request line */
    if (!rq->started) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        rq->conn = ci ? ci->socket_context : NULL;
        if (!rq->conn)
            return MHD_NO;
        rq->started = true;
        rq->ts_us = tee_wall_us();
        rq->conn->seq++;
        atomic_fetch_add(&t->requests, 1);
        atomic_fetch_add(&t->in_flight, 1);
        const char *why = NULL;
        unsigned status = frame_check(c, rq->target, version, &rq->frame, &why);
        if (status)
            return reject(t, rq, status, why);
        rq->x = tee_copy_begin(t, w->classes, rq->conn, c, method, rq->target, version, rq->ts_us);
        return MHD_YES;
    }
    if (rq->rejected) { /* the body of a request the front refused: read, never passed on */
        *upload_size = 0;
        return MHD_YES;
    }
    if (t->primary)
        return tee_proxy_handle(w, rq, method, upload, upload_size);
    return tee_sink_handle(t, rq, upload, upload_size);
}

void tee_on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    tee_worker *w = cls;
    tee_front *t = w->tee;
    tee_request *rq = *con_cls;
    if (w->guarded) /* the next head's deadline starts now */
        tee_guard_request_done(w, c);
    if (!rq)
        return;
    if (rq->started) {
        if (t->primary) {
            tee_proxy_completed(w, rq, toe);
        } else if (rq->x) { /* the mirror went away before the copy was whole */
            atomic_fetch_add(&t->dropped_incomplete, 1);
            atomic_fetch_add(&t->client_aborts, 1);
        }
        atomic_fetch_sub(&t->in_flight, 1);
    }
    tee_transfer_release(w, rq);
    tee_transfer_free(rq);
    tee_exchange_free(rq->x);
    free(rq->target);
    free(rq);
    *con_cls = NULL;
}

/* ===== start, stop, the consumer's end ===================================================== */

/* unix:/PATH: one socket, whose descriptor each worker's daemon gets a duplicate of.
 * SO_REUSEPORT does not spread a Unix socket's connections, so the event loops share
 * the one queue: each has it in its epoll set, the first to accept takes the connection
 * (the others find nothing: the socket is non-blocking). The duplicates let each daemon
 * own and close its descriptor as it does a TCP one. */
static int listen_unix(tee_front *t, int *fds, size_t n, pm_err *err)
{
    fds[0] = pm_listen_socket(t->o.listen, 1024, false, &t->bound, err);
    if (fds[0] < 0)
        return -1;
    uint16_t port;
    pm_describe_address(&t->bound, t->url, sizeof t->url, &port);
    t->port = 0;
    for (size_t i = 1; i < n; i++) {
        if ((fds[i] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0)) < 0) {
            pm_err_set(err, "cannot share the socket %s: %s", t->url, strerror(errno));
            while (i-- > 0)
                close(fds[i]);
            pm_listen_release(&t->bound);
            return -1;
        }
    }
    return 0;
}

/* n sockets on one address: the first as asked (port 0 picks one), the others on the
 * port it got, all SO_REUSEPORT. A Unix socket: listen_unix. */
static int listen_all(tee_front *t, int *fds, size_t n, pm_err *err)
{
    if (pm_is_unix_url(t->o.listen))
        return listen_unix(t, fds, n, err);
    struct sockaddr_storage bound;
    if (n > 1) {
        /* SO_REUSEPORT would let this tee share a port another process of ours listens
         * on: a plain bind first, so a port in use is an error as it would be without */
        int probe = pm_listen_socket(t->o.listen, 1024, false, &bound, err);
        if (probe < 0)
            return -1;
        close(probe);
    }
    fds[0] = pm_listen_socket(t->o.listen, 1024, n > 1, &bound, err);
    if (fds[0] < 0)
        return -1;
    char authority[80];
    pm_describe_address(&bound, authority, sizeof authority, &t->port);
    snprintf(t->url, sizeof t->url, "http://%s/", authority);
    for (size_t i = 1; i < n; i++) {
        struct sockaddr_storage again;
        if ((fds[i] = pm_listen_socket(authority, 1024, true, &again, err)) < 0) {
            while (i-- > 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

tee_front *tee_start(const tee_options *o, pm_err *err)
{
    if (!o->map) {
        pm_err_set(err, "tee: no capability map");
        return NULL;
    }
    tee_front *t = calloc(1, sizeof *t);
    if (!t) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    t->o = *o;
    if (o->primary) {
        size_t n = strlen(o->primary);
        while (n > 0 && o->primary[n - 1] == '/')
            n--;
        t->primary = strndup(o->primary, n);
        const char *base;
        if (t->primary && pm_is_unix_url(t->primary)) {
            if (pm_unix_url_split(t->primary, t->primary_socket, sizeof t->primary_socket, &base, err) != 0) {
                char why[sizeof err->msg];
                snprintf(why, sizeof why, "%s", err->msg);
                pm_err_set(err, "--primary %s", why);
                tee_free(t);
                return NULL;
            }
        } else if (!t->primary ||
                   (strncasecmp(t->primary, "http://", 7) != 0 && strncasecmp(t->primary, "https://", 8) != 0)) {
            pm_err_set(err, "--primary '%s': want an http://, https:// or unix:/PATH[:/base] URL", o->primary);
            tee_free(t);
            return NULL;
        }
    }
    /* behind a Unix socket every client is a local process (nginx, usually the only one):
     * a limit per address would be a limit on nginx; --max-connections still holds */
    if (pm_is_unix_url(o->listen))
        t->o.max_per_ip = 0;
    t->uri_header = strdup(o->uri_header ? o->uri_header : "X-Original-URI");
    t->nlanes = o->lanes == 0 ? 1 : o->lanes > 64 ? 64 : o->lanes;
    t->lanes = calloc(t->nlanes, sizeof *t->lanes);
    size_t per_lane = ((o->queue ? o->queue : 1) + t->nlanes - 1) / t->nlanes;
    bool lanes_ok = t->lanes != NULL;
    for (size_t i = 0; lanes_ok && i < t->nlanes; i++)
        lanes_ok = (t->lanes[i].queue = tee_queue_new(per_lane, o->queue_bytes / t->nlanes)) != NULL;
    t->capacity = per_lane * t->nlanes;
    t->shed = tee_shed_new(t->capacity);
    t->no_content = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    t->guard = tee_guard_new(t->primary ? t->o.max_per_ip : 0, o->max_connections ? o->max_connections : 1024);
    if (!t->uri_header || !lanes_ok || !t->shed || !t->no_content || !t->guard) {
        pm_err_set(err, "out of memory");
        tee_free(t);
        return NULL;
    }
    snprintf(t->id_prefix, sizeof t->id_prefix, "%08x", (unsigned)(tee_wall_us() & 0xffffffffu));
    size_t n = !t->primary ? 1 : o->workers ? o->workers : tee_default_workers();
    if (n > 64)
        n = 64;
    int fds[64];
    /* a client connection and one to the primary each, plus the odd file and pipe */
    tee_guard_raise_fd_limit(2 * (size_t)(o->max_connections ? o->max_connections : 1024) + 256);
    if (listen_all(t, fds, n, err) != 0) {
        tee_free(t);
        return NULL;
    }
    if (tee_workers_start(t, fds, n, err) != 0) {
        tee_free(t);
        return NULL;
    }
    return t;
}

unsigned tee_default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus >= 2 ? (unsigned)(cpus / 2) : 1;
}

uint16_t tee_port(const tee_front *t)
{
    return t->port;
}

const char *tee_url(const tee_front *t)
{
    return t->url;
}

bool tee_is_sink(const tee_front *t)
{
    return t->primary == NULL;
}

int tee_next(tee_front *t, unsigned k, char **text, size_t *len, pm_jtape *tape, const pm_jtape **tokens)
{
    if (k >= t->nlanes)
        return 0;
    tee_lane *lane = &t->lanes[k];
    for (;;) {
        tee_exchange *x = tee_queue_pop(lane->queue);
        if (!x) {
            /* announce the wait before the last look, so a copy queued after it wakes us */
            atomic_store(&lane->consumer_waiting, true);
            x = tee_queue_pop(lane->queue);
            if (!x)
                return tee_queue_closed(lane->queue) && tee_queue_depth(lane->queue) == 0 ? 0 : TEE_WAIT;
            atomic_store(&lane->consumer_waiting, false);
        }
        tee_shed_left(x->fam);
        *text = tee_exchange_record(x, len, tape, tokens);
        x->handed = *text != NULL;
        tee_exchange_free(x);
        if (*text)
            return 1;
    }
}

void tee_stop(tee_front *t, double timeout_s)
{
    if (atomic_exchange(&t->stopped, true))
        return;
    tee_workers_stop(t, tee_mono_us() + (int64_t)(timeout_s * 1e6));
    for (size_t i = 0; t->lanes && i < t->nlanes; i++) {
        tee_queue_close(t->lanes[i].queue);
        if (t->o.on_queued) /* the consumer may be waiting: it should see the end */
            t->o.on_queued(t->o.ctx, (unsigned)i);
    }
}

void tee_get_stats(const tee_front *t, tee_stats *out)
{
    memset(out, 0, sizeof *out);
    out->requests = atomic_load(&t->requests);
    out->primary_errors = atomic_load(&t->primary_errors);
    out->client_aborts = atomic_load(&t->client_aborts);
    out->rejected_target = atomic_load(&t->rejected_target);
    out->rejected_field = atomic_load(&t->rejected_field);
    out->rejected_framing = atomic_load(&t->rejected_framing);
    out->not_selected = atomic_load(&t->not_selected);
    out->queued = atomic_load(&t->queued);
    out->dropped_full = atomic_load(&t->dropped_full);
    out->dropped_memory = atomic_load(&t->dropped_memory);
    out->dropped_too_large = atomic_load(&t->dropped_too_large);
    out->dropped_incomplete = atomic_load(&t->dropped_incomplete);
    out->dropped_stopping = atomic_load(&t->dropped_stopping);
    out->dropped_share = atomic_load(&t->dropped_share);
    for (size_t i = 0; i < t->nlanes; i++) {
        out->queue_depth += tee_queue_depth(t->lanes[i].queue);
        out->queue_capacity += tee_queue_capacity(t->lanes[i].queue);
        out->queue_bytes += tee_queue_bytes(t->lanes[i].queue);
    }
    out->in_flight = atomic_load(&t->in_flight);
    out->connections = atomic_load(&t->connections);
    out->head_timeouts = atomic_load(&t->head_timeouts);
    out->refused_per_ip = atomic_load(&t->refused_per_ip);
    out->refused_limit = atomic_load(&t->refused_limit);
}

size_t tee_get_family_stats(const tee_front *t, tee_family_stats *out, size_t max)
{
    return t->shed ? tee_shed_stats(t->shed, out, max) : 0;
}

void tee_free(tee_front *t)
{
    if (!t)
        return;
    if (t->nworkers > 0)
        tee_stop(t, 0);
    for (size_t i = 0; i < t->nworkers; i++) {
        tee_worker *w = &t->workers[i];
        if (w->owns_fd)
            close(w->listen_fd);
        for (size_t k = 0; k < w->nidle; k++)
            curl_easy_cleanup(w->idle[k]);
        free(w->idle);
        if (w->multi)
            curl_multi_cleanup(w->multi);
        if (w->origin)
            curl_url_cleanup(w->origin); /* after the handles that point to it */
        pm_classify_cache_free(w->classes);
    }
    free(t->workers);
    if (t->no_content)
        MHD_destroy_response(t->no_content);
    for (size_t i = 0; t->lanes && i < t->nlanes; i++)
        tee_queue_free(t->lanes[i].queue); /* what they still hold is shed: before the counters go */
    free(t->lanes);
    tee_shed_free(t->shed);
    tee_guard_free(t->guard);
    pm_listen_release(&t->bound); /* every descriptor of it is closed by now */
    free(t->primary);
    free(t->uri_header);
    free(t);
}
