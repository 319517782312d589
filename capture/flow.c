/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow.c — connections: lookup by 4-tuple, who is the client, lifecycle.
 *
 * The client is the side that sent the SYN (or answered by the SYN-ACK's peer). For a
 * connection already open when the capture began, it is the side talking to a --port,
 * or else the first side whose bytes open with a request line (a status line names the
 * server); until then the bytes are skipped and counted. A SYN on a 4-tuple whose old
 * connection is over starts a new flow (port reuse).
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 4096

typedef struct flow_key {
    uint8_t ip_version;
    uint8_t addr[2][16];
    uint16_t port[2];
} flow_key;

typedef struct flow {
    flow_key key;          /* side 0 and side 1, in the order first seen */
    struct flow *chain;    /* hash bucket */
    struct flow *older, *newer; /* LRU list */
    flow_table *table;
    int client;            /* side index of the client, -1 while unknown */
    tcp_half half[2];      /* bytes sent by side 0, by side 1 */
    http_conn *http;
    uint64_t id;
    int64_t last_ts;
    bool ended[2];
    bool reset;
} flow;

struct flow_table {
    const http_env *env;
    tcp_counters *tcp;
    flow **buckets;
    size_t nbuckets, count;
    flow *oldest, *newest;
    uint64_t next_id;
};

/* ---- hashing ------------------------------------------------------------------------ */

/* Symmetric: both directions of a connection hash alike. */
static uint64_t hash_endpoints(const capture_segment *s)
{
    uint64_t a = pm_fnv1a(PM_FNV1A_INIT, s->src, 16);
    a = pm_fnv1a(a, &s->sport, 2);
    uint64_t b = pm_fnv1a(PM_FNV1A_INIT, s->dst, 16);
    b = pm_fnv1a(b, &s->dport, 2);
    return (a ^ b) + (a & b) * 31 + s->ip_version;
}

/* Which side of the flow sent this segment: 0, 1, or -1 when it is not this flow. */
static int side_of(const flow *f, const capture_segment *s)
{
    if (f->key.ip_version != s->ip_version)
        return -1;
    if (f->key.port[0] == s->sport && f->key.port[1] == s->dport &&
        memcmp(f->key.addr[0], s->src, 16) == 0 && memcmp(f->key.addr[1], s->dst, 16) == 0)
        return 0;
    if (f->key.port[1] == s->sport && f->key.port[0] == s->dport &&
        memcmp(f->key.addr[1], s->src, 16) == 0 && memcmp(f->key.addr[0], s->dst, 16) == 0)
        return 1;
    return -1;
}

/* ---- LRU ------------------------------------------------------------------------------ */

static void lru_unlink(flow_table *t, flow *f)
{
    if (f->older)
        f->older->newer = f->newer;
    else
        t->oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        t->newest = f->older;
    f->older = f->newer = NULL;
}

static void lru_touch(flow_table *t, flow *f)
{
    if (t->newest == f)
        return;
    if (f->older || f->newer || t->oldest == f)
        lru_unlink(t, f);
    f->older = t->newest;
    if (t->newest)
        t->newest->newer = f;
    t->newest = f;
    if (!t->oldest)
        t->oldest = f;
}

/* ---- reassembly callbacks: side 0 and side 1 ------------------------------------------ */

static void deliver(flow *f, int side, const uint8_t *data, size_t len, int64_t ts)
{
    if (f->client < 0 || !f->http || http_conn_stopped(f->http))
        return;
    http_conn_data(f->http, side == f->client, data, len, ts);
}

static void data0(void *ctx, const uint8_t *d, size_t n, int64_t ts) { deliver(ctx, 0, d, n, ts); }
static void data1(void *ctx, const uint8_t *d, size_t n, int64_t ts) { deliver(ctx, 1, d, n, ts); }

static void gap(flow *f, int side, uint64_t missing, int64_t ts)
{
    if (f->client >= 0 && f->http)
        http_conn_gap(f->http, side == f->client, missing, ts);
}

static void gap0(void *ctx, uint64_t m, int64_t ts) { gap(ctx, 0, m, ts); }
static void gap1(void *ctx, uint64_t m, int64_t ts) { gap(ctx, 1, m, ts); }

static void end(flow *f, int side, bool reset, int64_t ts)
{
    f->ended[side] = true;
    f->reset |= reset;
    if (f->client >= 0 && f->http)
        http_conn_end(f->http, side == f->client, reset, ts);
}

static void end0(void *ctx, bool r, int64_t ts) { end(ctx, 0, r, ts); }
static void end1(void *ctx, bool r, int64_t ts) { end(ctx, 1, r, ts); }

static const tcp_callbacks callbacks[2] = {{data0, gap0, end0}, {data1, gap1, end1}};

/* ---- lifecycle ------------------------------------------------------------------------ */

flow_table *flow_table_new(const http_env *env, tcp_counters *tcp)
{
    flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->env = env;
    t->tcp = tcp;
    t->nbuckets = INITIAL_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    return t;
}

static flow **bucket_of(flow_table *t, const capture_segment *s)
{
    return &t->buckets[hash_endpoints(s) & (t->nbuckets - 1)];
}

static void grow(flow_table *t)
{
    size_t n = t->nbuckets * 2;
    flow **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (flow *f = t->buckets[i], *next; f; f = next) {
            next = f->chain;
            capture_segment s = {.ip_version = f->key.ip_version, .sport = f->key.port[0], .dport = f->key.port[1]};
            memcpy(s.src, f->key.addr[0], 16);
            memcpy(s.dst, f->key.addr[1], 16);
            flow **slot = &b[hash_endpoints(&s) & (n - 1)];
            f->chain = *slot;
            *slot = f;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static bool port_listed(const capture_options *o, uint16_t port)
{
    for (size_t i = 0; i < o->nports; i++)
        if (o->ports[i] == port)
            return true;
    return false;
}

static void start_http(flow *f, bool midstream)
{
    const http_env *env = f->table->env;
    f->http = http_conn_new(env, f->id, midstream);
    env->stats->http_streams++;
    if (midstream)
        env->stats->midstream_streams++;
}

static flow *flow_new(flow_table *t, const capture_segment *s, int64_t ts)
{
    flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->key.ip_version = (uint8_t)s->ip_version;
    memcpy(f->key.addr[0], s->src, 16);
    memcpy(f->key.addr[1], s->dst, 16);
    f->key.port[0] = s->sport;
    f->key.port[1] = s->dport;
    f->table = t;
    f->id = ++t->next_id;
    f->last_ts = ts;
    f->client = -1;
    for (int i = 0; i < 2; i++)
        tcp_half_init(&f->half[i], &callbacks[i], f, t->tcp, t->env->opts->max_stream_buffer);
    flow **slot = bucket_of(t, s);
    f->chain = *slot;
    *slot = f;
    t->count++;
    t->env->stats->streams++;
    if (t->count > t->nbuckets)
        grow(t);
    const capture_options *o = t->env->opts;
    bool syn = s->flags & TCP_FLAG_SYN, ack = s->flags & TCP_FLAG_ACK;
    if (syn) {
        f->client = ack ? 1 : 0; /* a SYN-ACK comes from the server */
        start_http(f, false);
    } else if (o->nports > 0) {
        bool dst_server = port_listed(o, s->dport), src_server = port_listed(o, s->sport);
        if (dst_server != src_server) {
            f->client = dst_server ? 0 : 1;
            start_http(f, true);
        }
    }
    lru_touch(t, f);
    return f;
}

static void flow_unlink(flow_table *t, flow *f)
{
    capture_segment s = {.ip_version = f->key.ip_version, .sport = f->key.port[0], .dport = f->key.port[1]};
    memcpy(s.src, f->key.addr[0], 16);
    memcpy(s.dst, f->key.addr[1], 16);
    for (flow **p = bucket_of(t, &s); *p; p = &(*p)->chain)
        if (*p == f) {
            *p = f->chain;
            break;
        }
    lru_unlink(t, f);
    t->count--;
}

/* Delivers what is held (with gaps), emits what is left, frees. */
static void flow_finish(flow_table *t, flow *f, int64_t ts)
{
    for (int i = 0; i < 2; i++)
        tcp_half_drain(&f->half[i], ts);
    if (f->http) {
        http_conn_close(f->http, ts);
        http_conn_free(f->http);
    }
    for (int i = 0; i < 2; i++)
        tcp_half_free(&f->half[i]);
    flow_unlink(t, f);
    free(f);
}

/* A connection picked up late whose roles are unknown: decide from its first bytes. */
static void detect_roles(flow *f, int side, const capture_segment *s)
{
    if (s->len == 0)
        return;
    static const char *const methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "PATCH ",
                                          "OPTIONS ", "CONNECT ", NULL};
    for (const char *const *m = methods; *m; m++)
        if (s->len >= strlen(*m) && memcmp(s->payload, *m, strlen(*m)) == 0) {
            f->client = side;
            break;
        }
    if (f->client < 0 && s->len >= 7 && memcmp(s->payload, "HTTP/1.", 7) == 0)
        f->client = 1 - side;
    if (f->client >= 0)
        start_http(f, true);
}

void flow_table_segment(flow_table *t, const capture_segment *s, int64_t ts)
{
    flow **slot = bucket_of(t, s);
    flow *f = NULL;
    int side = -1;
    for (flow *g = *slot; g; g = g->chain) {
        side = side_of(g, s);
        if (side >= 0) {
            f = g;
            break;
        }
    }
    bool syn_only = (s->flags & TCP_FLAG_SYN) && !(s->flags & TCP_FLAG_ACK);
    if (f && syn_only && (f->ended[0] || f->ended[1] || f->reset) && f->half[side].started &&
        f->half[side].next_seq != s->seq + 1) {
        flow_finish(t, f, ts); /* the 4-tuple is reused by a new connection */
        f = NULL;
    }
    if (!f) {
        if (s->len == 0 && !(s->flags & TCP_FLAG_SYN))
            return; /* a bare ACK/FIN/RST of a connection we never saw */
        f = flow_new(t, s, ts);
        if (!f)
            return;
        side = 0;
    }
    f->last_ts = ts;
    lru_touch(t, f);
    if (f->client < 0) {
        detect_roles(f, side, s);
        if (f->client < 0) {
            t->env->stats->skipped_bytes += s->len;
            return;
        }
    }
    tcp_half_feed(&f->half[side], s->seq, s->flags, s->payload, s->len, ts);
    if ((f->ended[0] && f->ended[1]) || f->reset)
        flow_finish(t, f, ts);
}

void flow_table_expire(flow_table *t, int64_t now)
{
    int64_t idle = t->env->opts->idle_timeout_us;
    while (t->oldest && now - t->oldest->last_ts > idle) {
        t->env->stats->expired_streams++;
        flow_finish(t, t->oldest, now);
    }
}

void flow_table_close_all(flow_table *t, int64_t now)
{
    while (t->oldest)
        flow_finish(t, t->oldest, now);
}

size_t flow_table_count(const flow_table *t)
{
    return t->count;
}

void flow_table_free(flow_table *t)
{
    if (!t)
        return;
    while (t->oldest) {
        flow *f = t->oldest;
        if (f->http)
            http_conn_free(f->http);
        for (int i = 0; i < 2; i++)
            tcp_half_free(&f->half[i]);
        flow_unlink(t, f);
        free(f);
    }
    free(t->buckets);
    free(t);
}
