/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h1.c — replay's own HTTP/1.1 client, for the calls that are most of a replay and need
 * nothing libcurl adds: a request without a body (GET, HEAD, DELETE, OPTIONS) to a plain
 * http:// target at an IP address, or to a unix: socket, with no proxy in the environment.
 * Everything else (https, host names, proxies, bodies) goes through libcurl as before.
 *
 * Why (bench/replay.sh, DESIGN.md "write nothing by hand" — this is the benchmark that
 * says libcurl is too slow here): replay is CPU-bound on two cores, and libcurl 7.88 spends
 * per request two poll(2) of its own (a reused connection's liveness check, and a look for
 * the answer right after sending), formats the request a byte at a time through its own
 * printf, and compares every custom header against its own list. This client sends the
 * same bytes (h1_wire.c) with one send(2) and reads the answer with one recv(2) when the
 * epoll set says it is there; a connection's socket stays in the set, for input, from its
 * connect to its close, so a request costs no epoll_ctl(2).
 *
 * What it keeps of curl's behaviour: connections kept alive per target (at most `cap` idle
 * each, most recent first); a kept connection found dead as a request goes out on it, or
 * closed before the answer's first byte, is replaced by a new one and the request sent
 * again, once; TCP_NODELAY; the connect timeout and the call's timeout; the same error
 * classes (reported as the CURLcode curl would give, so one table names them) with a
 * detail in the call's error buffer. An idle connection that turns readable was closed by
 * its server (or sent what nobody asked for): it is closed here.
 */
#include "replay_internal.h"
#include "core/proxy_env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define EVENTS_MAX 64

typedef struct h1_conn h1_conn;

typedef struct {
    bool usable;
    char *authority;            /* what Host says when the call brings none */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    long connect_timeout_ms;
    h1_conn *idle;              /* kept alive, most recent first */
    size_t nidle;
} h1_target;

struct h1_conn {
    int fd;
    size_t target;
    bool connecting, reused, want_out;
    rp_call *call;
    bool retried;               /* the call was sent again once already */
    bool head;
    char *out;                  /* the request, and how much of it is sent */
    size_t out_len, out_cap, out_off;
    rp_h1_reader *reader;
    int64_t deadline_us, connect_deadline_us; /* 0: none */
    long timeout_ms;
    int64_t started_us;
    h1_conn *prev, *next;       /* in the busy list, or its target's idle list */
};

struct rp_h1 {
    const pm_suite *suite;
    h1_target *t;
    size_t cap;
    int ep;
    h1_conn *busy;
    h1_conn *dead;              /* closed during a run: freed at its end */
    rp_call *done, **done_tail; /* finished, not reported yet (through call->h1_next) */
    const rp_h1_sink *sink;
    char *rbuf;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- targets ------------------------------------------------------------------------------- */

/* "http://ADDR[:PORT]/" with ADDR an IPv4 or [IPv6] literal: its address and Host value. */
static bool tcp_target(const char *origin, h1_target *t)
{
    if (strncmp(origin, "http://", 7) != 0)
        return false;
    const char *a = origin + 7, *slash = strchr(a, '/');
    size_t alen = slash ? (size_t)(slash - a) : strlen(a);
    char host[64];
    const char *port_at = NULL;
    if (memchr(a, '@', alen))
        return false; /* credentials in the URL: curl sends them, we do not */
    if (alen > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', alen);
        if (!close || (size_t)(close - a - 1) >= sizeof host)
            return false;
        memcpy(host, a + 1, (size_t)(close - a - 1));
        host[close - a - 1] = '\0';
        port_at = close + 1 < a + alen ? close + 1 : NULL;
        if (port_at && *port_at != ':')
            return false;
    } else {
        const char *colon = memchr(a, ':', alen);
        size_t hlen = colon ? (size_t)(colon - a) : alen;
        if (hlen == 0 || hlen >= sizeof host)
            return false;
        memcpy(host, a, hlen);
        host[hlen] = '\0';
        port_at = colon;
    }
    long port = 80;
    if (port_at) {
        char *end;
        port = strtol(port_at + 1, &end, 10);
        if (end != a + alen || end == port_at + 1 || port < 1 || port > 65535)
            return false;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        t->addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        t->addrlen = sizeof *v6;
    } else {
        return false; /* a name: curl resolves it */
    }
    /* curl's Host: the URL's host as written, the port unless it is http's own */
    size_t hostlen = port_at ? (size_t)(port_at - a) : alen;
    char buf[96];
    int n = port == 80 ? snprintf(buf, sizeof buf, "%.*s", (int)hostlen, a)
                       : snprintf(buf, sizeof buf, "%.*s:%ld", (int)hostlen, a, port);
    if (n < 0 || (size_t)n >= sizeof buf)
        return false;
    t->authority = strdup(buf);
    return t->authority != NULL;
}

static bool unix_target(const char *url, const char *origin, h1_target *t)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
    const char *base;
    pm_err err;
    if (pm_unix_url_split(url, un->sun_path, sizeof un->sun_path, &base, &err) != 0 ||
        strncmp(origin, "http://", 7) != 0)
        return false;
    un->sun_family = AF_UNIX;
    t->addrlen = sizeof *un;
    const char *a = origin + 7, *slash = strchr(a, '/');
    t->authority = slash ? strndup(a, (size_t)(slash - a)) : strdup(a);
    return t->authority != NULL;
}

rp_h1 *rp_h1_new(const pm_suite *suite, size_t cap, const rp_h1_sink *sink)
{
    rp_h1 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->suite = suite;
    h->cap = cap;
    h->sink = sink;
    h->done_tail = &h->done;
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->t = calloc(suite->ntargets ? suite->ntargets : 1, sizeof *h->t);
    h->rbuf = malloc(READ_SIZE);
    if (h->ep < 0 || !h->t || !h->rbuf) {
        rp_h1_free(h);
        return NULL;
    }
    bool proxies = pm_proxy_environment();
    for (size_t i = 0; i < suite->ntargets && !proxies; i++) {
        const pm_target *t = &suite->targets[i];
        char *origin = NULL, *rt = NULL;
        if (!t->url || pm_request_for(t->url, "/", &origin, &rt) != 0) {
            free(origin);
            free(rt);
            continue;
        }
        h1_target *ht = &h->t[i];
        ht->usable = pm_is_unix_url(t->url) ? unix_target(t->url, origin, ht) : tcp_target(origin, ht);
        ht->connect_timeout_ms = (long)(t->connect_timeout_s * 1000);
        free(origin);
        free(rt);
    }
    return h;
}

bool rp_h1_serves(const rp_h1 *h, size_t target, const char *method, size_t body_len)
{
    if (!h || !h->t[target].usable || body_len > 0)
        return false;
    return !method || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "DELETE") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

int rp_h1_fd(const rp_h1 *h)
{
    return h->ep;
}

/* ---- connections --------------------------------------------------------------------------- */

static void unlink_conn(h1_conn **list, h1_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (*list == c)
        *list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void push_conn(h1_conn **list, h1_conn *c)
{
    c->prev = NULL;
    c->next = *list;
    if (*list)
        (*list)->prev = c;
    *list = c;
}

static void free_conn(h1_conn *c)
{
    rp_h1_reader_free(c->reader);
    free(c->out);
    free(c);
}

/* Closed now, freed at the end of the run (an event for it may still be in hand). */
static void close_conn(rp_h1 *h, h1_conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* takes it out of the epoll set */
    c->fd = -1;
    c->call = NULL;
    c->next = h->dead;
    h->dead = c;
}

static int watch(rp_h1 *h, h1_conn *c, int op, bool out)
{
    struct epoll_event e = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    c->want_out = out;
    return epoll_ctl(h->ep, op, c->fd, &e);
}

/* A new connection to target, connecting; NULL with *code (and errno) when it cannot be. */
static h1_conn *open_conn(rp_h1 *h, size_t target, int *code)
{
    const h1_target *t = &h->t[target];
    h1_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->reader = rp_h1_reader_new())) {
        free(c);
        *code = CURLE_OUT_OF_MEMORY;
        return NULL;
    }
    c->target = target;
    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        *code = CURLE_COULDNT_CONNECT;
        free_conn(c);
        return NULL;
    }
    if (t->addr.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int rc = connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        int saved = errno;
        *code = CURLE_COULDNT_CONNECT; /* refused, or a unix socket's full backlog (EAGAIN) */
        close(c->fd);
        free_conn(c);
        errno = saved;
        return NULL;
    }
    c->connecting = rc != 0;
    if (watch(h, c, EPOLL_CTL_ADD, c->connecting) != 0) {
        *code = CURLE_OUT_OF_MEMORY;
        close(c->fd);
        free_conn(c);
        return NULL;
    }
    return c;
}

/* ---- a call's end -------------------------------------------------------------------------- */

/* Kept in the call itself: reporting an end needs no memory it could fail to get. */
static void finished(rp_h1 *h, rp_call *call, int code, int status)
{
    call->h1_code = code;
    call->h1_status = status;
    call->h1_next = NULL;
    *h->done_tail = call;
    h->done_tail = &call->h1_next;
}

static void detail(rp_call *call, const char *fmt, const char *arg)
{
    snprintf(call->curl_error, sizeof call->curl_error, fmt, arg);
}

/* The call on c ends with code; c is kept alive when the answer allows it. */
static void end_call(rp_h1 *h, h1_conn *c, int code, bool reusable)
{
    rp_call *call = c->call;
    int status = rp_h1_reader_status(c->reader);
    unlink_conn(&h->busy, c);
    c->call = NULL;
    h1_target *t = &h->t[c->target];
    /* kept only when the answer says so and the whole request went out: a server that
     * answered early would read what is left of it as the next request */
    if (code == CURLE_OK && reusable && c->out_off == c->out_len && rp_h1_reader_keep_alive(c->reader) &&
        t->nidle < h->cap) {
        c->reused = true;
        c->deadline_us = c->connect_deadline_us = 0;
        push_conn(&t->idle, c);
        t->nidle++;
    } else {
        close_conn(h, c);
    }
    finished(h, call, code, status);
}

static void fail_call(rp_h1 *h, h1_conn *c, int code, const char *fmt, const char *arg)
{
    detail(c->call, fmt, arg);
    end_call(h, c, code, false);
}

static int send_request(rp_h1 *h, h1_conn *c);

/* A kept connection died under its request before any answer: the call goes out again on
 * a new one, once. Whether it could. */
static bool resend(rp_h1 *h, h1_conn *c)
{
    if (!c->reused || c->retried || rp_h1_reader_started(c->reader))
        return false;
    rp_call *call = c->call;
    int code;
    h1_conn *n = open_conn(h, c->target, &code);
    if (!n)
        return false;
    /* the request moves over as it was built */
    char *out = n->out;
    n->out = c->out, n->out_len = c->out_len, n->out_cap = c->out_cap;
    c->out = out, c->out_len = 0, c->out_cap = 0;
    n->call = call;
    n->retried = true;
    n->head = c->head;
    n->timeout_ms = c->timeout_ms;
    n->started_us = c->started_us;
    n->deadline_us = c->deadline_us;
    long ct = h->t[c->target].connect_timeout_ms;
    n->connect_deadline_us = ct > 0 ? mono_us() + ct * 1000 : 0;
    unlink_conn(&h->busy, c);
    c->call = NULL;
    close_conn(h, c);
    push_conn(&h->busy, n);
    rp_h1_reader_start(n->reader, n->head, h->sink, call);
    if (!n->connecting)
        send_request(h, n);
    return true;
}

/* Sends what is left of c's request; 0, or -1 when the call ended. */
static int send_request(rp_h1 *h, h1_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                watch(h, c, EPOLL_CTL_MOD, true);
            return 0;
        }
        int e = n < 0 ? errno : EPIPE;
        if (resend(h, c))
            return -1;
        fail_call(h, c, CURLE_SEND_ERROR, "Send failure: %s", strerror(e));
        return -1;
    }
    if (c->want_out)
        watch(h, c, EPOLL_CTL_MOD, false);
    return 0;
}

int rp_h1_start(rp_h1 *h, rp_call *call, const char *method, long timeout_ms)
{
    h1_target *t = &h->t[call->target];
    h1_conn *c = t->idle;
    int code = CURLE_OK;
    if (c) {
        unlink_conn(&t->idle, c);
        t->nidle--;
    } else if (!(c = open_conn(h, call->target, &code))) {
        if (code == CURLE_OUT_OF_MEMORY)
            return -1;
        detail(call, "Failed to connect: %s", strerror(errno));
        finished(h, call, code, 0);
        return 0;
    }
    const char *m = method ? method : "GET";
    if (rp_h1_request(&c->out, &c->out_len, &c->out_cap, m, call->request_target, t->authority, call->headers) !=
        0) {
        push_conn(&t->idle, c); /* unused: back where it was */
        t->nidle++;
        return -1;
    }
    c->out_off = 0;
    c->call = call;
    c->retried = false;
    c->head = strcmp(m, "HEAD") == 0;
    c->timeout_ms = timeout_ms;
    c->started_us = mono_us();
    c->deadline_us = timeout_ms > 0 ? c->started_us + (int64_t)timeout_ms * 1000 : 0;
    c->connect_deadline_us =
        c->connecting && t->connect_timeout_ms > 0 ? c->started_us + (int64_t)t->connect_timeout_ms * 1000 : 0;
    push_conn(&h->busy, c);
    rp_h1_reader_start(c->reader, c->head, h->sink, call);
    if (!c->connecting)
        send_request(h, c);
    return 0;
}

/* ---- events ---------------------------------------------------------------------------------- */

static void connected(rp_h1 *h, h1_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        fail_call(h, c, CURLE_COULDNT_CONNECT, "Failed to connect: %s", strerror(err));
        return;
    }
    c->connecting = false;
    c->connect_deadline_us = 0;
    send_request(h, c);
}

/* The call ends as the reader says (any state but MORE); reusable: nothing came after
 * the answer. */
static void answer_ended(rp_h1 *h, h1_conn *c, rp_h1_state st, bool reusable)
{
    switch (st) {
    case RP_H1_DONE:
        end_call(h, c, CURLE_OK, reusable);
        break;
    case RP_H1_NOTHING:
        if (!resend(h, c))
            fail_call(h, c, CURLE_GOT_NOTHING, "%s", "Empty reply from server");
        break;
    case RP_H1_TRUNCATED:
        fail_call(h, c, CURLE_PARTIAL_FILE, "%s", "transfer closed with outstanding read data remaining");
        break;
    case RP_H1_STOPPED:
        fail_call(h, c, CURLE_WRITE_ERROR, "%s", "the answer was refused by its reader");
        break;
    default:
        fail_call(h, c, CURLE_WEIRD_SERVER_REPLY, "%s", "not an HTTP/1.x answer, or one cut inside its head");
        break;
    }
}

static void readable(rp_h1 *h, h1_conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, h->rbuf, READ_SIZE, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            int e = errno;
            if (!resend(h, c))
                fail_call(h, c, CURLE_RECV_ERROR, "Recv failure: %s", strerror(e));
            return;
        }
        if (n == 0) {
            answer_ended(h, c, rp_h1_reader_eof(c->reader), false);
            return;
        }
        size_t used;
        rp_h1_state st = rp_h1_reader_feed(c->reader, h->rbuf, (size_t)n, &used);
        if (st != RP_H1_MORE) {
            answer_ended(h, c, st, used == (size_t)n); /* bytes past the answer: not kept */
            return;
        }
        if ((size_t)n < READ_SIZE)
            return; /* all there was: the next event brings more, no recv for EAGAIN */
    }
}

static void idle_event(rp_h1 *h, h1_conn *c)
{
    h1_target *t = &h->t[c->target];
    unlink_conn(&t->idle, c);
    t->nidle--;
    close_conn(h, c); /* its server closed it, or spoke out of turn */
}

static void expire(rp_h1 *h, int64_t now)
{
    for (h1_conn *c = h->busy, *next; c; c = next) {
        next = c->next;
        if (c->connect_deadline_us && now >= c->connect_deadline_us) {
            char ms[32];
            snprintf(ms, sizeof ms, "%ld", h->t[c->target].connect_timeout_ms);
            fail_call(h, c, CURLE_OPERATION_TIMEDOUT, "Connection timed out after %s milliseconds", ms);
        } else if (c->deadline_us && now >= c->deadline_us) {
            char ms[32];
            snprintf(ms, sizeof ms, "%ld", c->timeout_ms);
            fail_call(h, c, CURLE_OPERATION_TIMEDOUT, "Operation timed out after %s milliseconds", ms);
        }
    }
}

int rp_h1_run(rp_h1 *h, rp_h1_done_fn fn, void *ctx)
{
    struct epoll_event got[EVENTS_MAX];
    int n = epoll_wait(h->ep, got, EVENTS_MAX, 0); /* idle ones too: a close must not stay pending */
    for (int i = 0; i < n; i++) {
        h1_conn *c = got[i].data.ptr;
        if (c->fd < 0)
            continue; /* closed by an earlier event of this run */
        if (!c->call)
            idle_event(h, c);
        else if (c->connecting)
            connected(h, c);
        else if (got[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            readable(h, c);
        else if (got[i].events & EPOLLOUT)
            send_request(h, c);
    }
    if (h->busy)
        expire(h, mono_us());
    while (h->dead) {
        h1_conn *c = h->dead;
        h->dead = c->next;
        free_conn(c);
    }
    /* the callbacks last: one may start a call again (a refused connection's one retry) */
    rp_call *done = h->done;
    h->done = NULL;
    h->done_tail = &h->done;
    int n_done = 0;
    while (done) {
        rp_call *call = done;
        done = call->h1_next;
        fn(ctx, call, call->h1_code, call->h1_status); /* may finish it again: a new list */
        n_done++;
    }
    return n_done;
}

int64_t rp_h1_next_deadline(const rp_h1 *h)
{
    if (h->done)
        return mono_us();
    int64_t next = -1;
    for (const h1_conn *c = h->busy; c; c = c->next) {
        int64_t d = c->connect_deadline_us && (!c->deadline_us || c->connect_deadline_us < c->deadline_us)
                        ? c->connect_deadline_us
                        : c->deadline_us;
        if (d && (next < 0 || d < next))
            next = d;
    }
    return next;
}

void rp_h1_abandon(rp_h1 *h, rp_call *call)
{
    for (h1_conn *c = h->busy; c; c = c->next)
        if (c->call == call) {
            unlink_conn(&h->busy, c);
            close_conn(h, c);
            break;
        }
    for (rp_call **p = &h->done; *p; p = &(*p)->h1_next)
        if (*p == call) { /* never reported */
            *p = call->h1_next;
            if (!*p)
                h->done_tail = p;
            break;
        }
}

void rp_h1_free(rp_h1 *h)
{
    if (!h)
        return;
    while (h->busy) {
        h1_conn *c = h->busy;
        unlink_conn(&h->busy, c);
        close_conn(h, c);
    }
    for (size_t i = 0; h->t && i < h->suite->ntargets; i++) {
        while (h->t[i].idle) {
            h1_conn *c = h->t[i].idle;
            unlink_conn(&h->t[i].idle, c);
            close_conn(h, c);
        }
        free(h->t[i].authority);
    }
    while (h->dead) {
        h1_conn *c = h->dead;
        h->dead = c->next;
        free_conn(c);
    }
    if (h->ep >= 0)
        close(h->ep);
    free(h->t);
    free(h->rbuf);
    free(h);
}
