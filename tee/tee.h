/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee.h — the public header of tee/: live traffic, an inline proxy or a mirror sink.
 */
#ifndef PM_TEE_H
#define PM_TEE_H

#include "core/core.h"


/* The tee's HTTP front (libmicrohttpd). In proxy mode each client request goes to the
 * primary and the primary's answer back to the client as it came (status, headers,
 * body streamed); in sink mode (primary NULL) copies sent by nginx `mirror` or Envoy
 * `request_mirror_policies` are answered 204 at once. Either way each exchange in scope
 * becomes a shadow copy — a capture record, with the primary's response in proxy mode —
 * put on a bounded queue that the caller drains (tee_next) on its own thread — or on one
 * of `lanes` queues, one per consumer thread, chosen by the copy's shard (pm_shard_of:
 * repository, else user, else connection), so a flow stays with one consumer.
 * A full queue drops the copy and counts it: the client's path never waits for the
 * shadow side. Records on the queue are NOT redacted (the shadow needs the real
 * credentials): redact what you write. */
typedef struct tee_options {
    const char *listen;            /* "127.0.0.1:8080", "[::1]:8080", ":8080" (loopback), "0.0.0.0:8080" */
    const char *primary;           /* proxy mode: the primary's base URL; NULL = sink mode */
    const pm_tls *primary_tls;     /* proxy: the primary's CA bundle, client certificate and
                                    * server_name (core/tls.h; its url is the primary's); NULL: none */
    const char *uri_header;        /* sink: header holding the original target (default X-Original-URI) */
    size_t queue;                  /* shadow copies waiting at most (default 1024), over all lanes */
    size_t queue_bytes;            /* ... holding at most this many body bytes (default 256 MiB) */
    unsigned lanes;                /* consumers, each draining its own lane (default 1; at most 64);
                                    * each lane holds queue / lanes copies */
    size_t max_body;               /* a request body above it is not shadowed (counted); a
                                    * primary response body is stored cut to it (default 16 MiB) */
    double primary_timeout_s;      /* proxy: the primary may stay silent this long (default 300) */
    double primary_connect_timeout_s; /* proxy (default 5) */
    unsigned max_connections;      /* client connections at once (default 1024); proxy mode:
                                    * past it a connection is refused at once, counted */
    unsigned max_per_ip;           /* proxy: client connections from one address at once, over
                                    * all workers; past it refused at once, counted (default 64;
                                    * 0 = no limit: behind a front proxy, whose address is
                                    * every client's) */
    double header_timeout_s;       /* proxy: a request head must arrive whole this long after
                                    * the connection opened or the previous answer ended, or
                                    * the connection is closed, counted (default 10; 0 = none) */
    unsigned workers;              /* proxy: event-loop threads (default 0: tee_default_workers) */
    bool shadow_writes;            /* mutating requests will reach a shadow (sandbox and
                                    * --allow-writes): keep their bodies; else only count them */
    const pm_capmap *map;          /* required */
    const pm_selection *selection; /* NULL: every exchange */
    /* Called from a front thread when a copy was queued in a lane whose consumer waited
     * (tee_next returned TEE_WAIT), and on stop for every lane: wake it. May be NULL. */
    void (*on_queued)(void *ctx, unsigned lane);
    void *ctx;
} tee_options;

void tee_options_init(tee_options *o);

typedef struct tee_stats {
    uint64_t requests;             /* client requests received */
    uint64_t primary_errors;       /* proxy: answered 502/504 because the primary failed */
    uint64_t client_aborts;        /* the client went away before its answer was sent */
    uint64_t rejected_target;      /* answered 400: a control byte or space in the target */
    uint64_t rejected_field;       /* answered 400: a malformed or folded header field */
    uint64_t rejected_framing;     /* answered 400/501: the body's framing is ambiguous */
    uint64_t not_selected;         /* outside --family / --select */
    uint64_t queued;               /* shadow copies put on the queue */
    uint64_t dropped_full;         /* ... dropped: the queue held `queue` copies */
    uint64_t dropped_memory;       /* ... dropped: the queue held `queue_bytes` */
    uint64_t dropped_too_large;    /* ... dropped: request body above max_body */
    uint64_t dropped_incomplete;   /* ... dropped: the primary failed or the client left */
    uint64_t dropped_stopping;     /* ... dropped: arrived while the tee was stopping */
    uint64_t dropped_share;        /* ... shed: the queue was congested and the copy's family
                                    * held its share of it (tee_shed.c) */
    uint64_t queue_depth, queue_capacity, queue_bytes;
    uint64_t in_flight;            /* client requests being answered now */
    uint64_t connections;          /* proxy: client connections open now */
    uint64_t head_timeouts;        /* proxy: connections closed for a head late past header_timeout_s */
    uint64_t refused_per_ip;       /* proxy: connections refused over max_per_ip */
    uint64_t refused_limit;        /* proxy: connections refused over max_connections */
} tee_stats;

typedef struct tee_front tee_front;

/* Proxy mode's event loops when o.workers is 0: half the CPUs, at least one — the other
 * half is the shadow side's (measured on 2 cores at 6 400 requests/s: one loop each way
 * diffed every copy; two loops and the shadow squeezed between them, 81%). */
unsigned tee_default_workers(void);

/* Binds, and serves from background threads until tee_stop. */
tee_front *tee_start(const tee_options *o, pm_err *err);
uint16_t tee_port(const tee_front *t);
/* "http://127.0.0.1:PORT/" as bound (borrowed). */
const char *tee_url(const tee_front *t);
bool tee_is_sink(const tee_front *t);

/* The consumer's side (one thread per lane, lane < o.lanes): 1 = *text is the lane's next
 * shadow copy's capture record (JSON text, malloc'd, yours; *len its length); TEE_WAIT =
 * none now (on_queued will be called when one comes); 0 = the tee has stopped and the
 * lane is empty. With `tape` (the caller's, reused), the record's tokens are kept there as
 * it is written and *tokens is that tape, or NULL when they could not be kept: the reader
 * then parses the text (pm_jtext_tape_done). */
#define TEE_WAIT 2
int tee_next(tee_front *t, unsigned lane, char **text, size_t *len, pm_jtape *tape, const pm_jtape **tokens);

/* Stops: no new connections; requests being answered get up to timeout_s to finish,
 * then every connection is closed; then the queue takes no more copies (what it holds
 * is still handed out by tee_next). */
void tee_stop(tee_front *t, double timeout_s);
/* A consistent-enough snapshot (each counter read atomically). Thread-safe. */
void tee_get_stats(const tee_front *t, tee_stats *out);
/* Stops if needed; frees what the queue still holds. */
void tee_free(tee_front *t);

/* Per family, the shadow copies in scope: seen (every request --family/--select kept),
 * shed (dropped for any reason: fair share, queue full, too large, incomplete,
 * stopping), handed to the shadow side, waiting in the queue now. seen = shed + handed
 * + waiting (+ copies still being made). family is borrowed for the front's life. */
typedef struct tee_family_stats {
    const char *family;
    uint64_t seen, shed, handed, waiting;
} tee_family_stats;
/* Fills out with at most max families (in no particular order); returns how many. */
size_t tee_get_family_stats(const tee_front *t, tee_family_stats *out, size_t max);

/* ----- tee metrics: Prometheus text exposition ----------------------------------------- */

/* Live counters per family, capability and verdict, latency histograms per target and
 * family, parity and its Wilson 95% lower bound per family, plus the front's counters
 * (drops, queue depth). Observations come from whoever diffs the shadow copies; the
 * text is served on GET /metrics by tee_metrics_serve. Thread-safe. */
typedef struct tee_metrics tee_metrics;

typedef struct tee_observation {
    const char *family, *capability, *verdict; /* verdict: match | mismatch | error | skipped */
    const char *const *targets;    /* target names ... */
    const int64_t *latency_us;     /* ... and their latency to the first byte, -1 = none */
    size_t ntargets;
} tee_observation;

tee_metrics *tee_metrics_new(void);
void tee_metrics_observe(tee_metrics *m, const tee_observation *obs);
/* One --on-rollback command run for family: pmirror_tee_rollbacks_total{family}. */
void tee_metrics_count_rollback(tee_metrics *m, const char *family);
/* The shadow results of family observed so far (every verdict). */
uint64_t tee_metrics_family_diffed(tee_metrics *m, const char *family);
/* The whole exposition (malloc'd text); tee may be NULL (no front counters). */
char *tee_metrics_text(tee_metrics *m, const tee_front *tee);
/* Serves GET /metrics (and / ) on listen from a background thread; tee as above. */
int tee_metrics_serve(tee_metrics *m, const tee_front *tee, const char *listen, pm_err *err);
/* The metrics server's "http://HOST:PORT/metrics" (borrowed), or NULL when not serving. */
const char *tee_metrics_url(const tee_metrics *m);
void tee_metrics_free(tee_metrics *m);

#endif
