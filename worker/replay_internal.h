/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_internal.h — what the job replay's files share (prefix wk_): a job in flight and its
 * answer per target (replay.c), a worker target's connection and its one look per poll at the
 * rows it watches (replay_target.c), and the job result with its probes (replay_result.c).
 * Private to worker/.
 */
#ifndef PM_WORKER_REPLAY_INTERNAL_H
#define PM_WORKER_REPLAY_INTERNAL_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "worker.h"

/* One job on one target. */
typedef struct wk_answer {
    int64_t row_id;       /* the row inserted for it; 0: not inserted */
    char state_id[40];    /* as inserted: a change means a claim (or a release) happened */
    int64_t enqueued_us;  /* wall clock at the insert */
    const char *outcome;  /* NULL while it is watched; completed, retried, dead, timeout */
    const char *error;    /* NULL or a short code: database, not_inserted */
    char *message;        /* the error in words (owned), or NULL */
    int64_t latency_us;   /* enqueue to the poll that saw the outcome */
    json_t *queue;        /* rows the worker enqueued during the job: [{queue_name, body, retries_remaining}] */
    json_t *db;           /* {probe: rows} after the outcome, or NULL */
    json_t *http;         /* requests to the target's effects sink during the job, or NULL: no sink */
    bool outcome_now;     /* its outcome was seen in the poll being applied */
    bool taken;           /* seen claimed, released or gone: the worker took it (else its row is as inserted) */
    bool taken_now;       /* first seen taken in the poll being applied */
    int64_t taken_before; /* an ordered job's order witness (replay_target.c), -1 until it is taken */
    bool ambiguous;       /* an effect seen during it could not be told apart from another job's */
    uint64_t started_ms;  /* monotonic, at the insert: the timeout runs from here */
    unsigned delivery;    /* 1, or 2 for --redeliver's second delivery */
    json_t *first;        /* --redeliver: the first delivery's effects (owned), NULL before */
    const char *first_outcome;
    int64_t first_latency_us;
} wk_answer;

/* A job in flight: its record and one answer per worker target. */
typedef struct wk_flight {
    json_t *record;       /* the job record (owned) */
    uint64_t seq;         /* record order */
    char *queue;          /* queue_name's first segment */
    const char *queue_name;
    char *body;           /* the body as inserted (owned) */
    json_t *body_json;    /* parsed, for probe parameters (borrowed from record), or NULL */
    long retries;
    bool ordered;
    const pm_worker_queue *wq; /* NULL: the map does not name the queue */
    char *correlation;    /* the map's correlate value for this job (owned), or NULL */
    uint64_t started_ms;
    double timeout_s;
    wk_answer *answers;   /* one per worker target */
    size_t waiting;       /* answers without an outcome */
    struct wk_flight *next;
} wk_flight;

/* ---- the effects sink (effects.c) ------------------------------------------------------ */

typedef struct wk_sink wk_sink;

/* An HTTP server at address (HOST:PORT) answering 200 {} and keeping each request. */
wk_sink *wk_sink_start(const char *address, pm_err *err);
/* The requests received since the last take, in arrival order: [{method, target, headers, body}] (new). */
json_t *wk_sink_take(wk_sink *s);
/* Requests not kept because too many waited. */
uint64_t wk_sink_dropped(wk_sink *s);
void wk_sink_stop(wk_sink *s);

/* A worker target: its one connection and what it has seen of its queueitem. */
typedef struct wk_target {
    const pm_target *t;
    char display[512];    /* postgresql://USER@HOST:PORT/DB */
    PGconn *conn;         /* NULL: lost (reconnected at most once a second) */
    uint64_t reconnect_ms;
    int64_t last_id;      /* the highest id seen: newer rows are effects */
    wk_sink *sink;        /* its effects sink, or NULL (no effects: address) */
    bool serialize;       /* an effect was ambiguous here: one job at a time from now on */
    worker_replay_target_stats *stats;
} wk_target;

/* Runs sql on the target's connection; NULL with msg filled (the server's words on one line,
 * the target's DSN without password) on failure. A lost connection is closed (reconnected later). */
PGresult *wk_target_exec(wk_target *t, const char *sql, int n, const char *const *params, char *msg, size_t size);
/* Connects (and checks queueitem); 0, or -1 with err naming the target and its DSN. */
int wk_target_connect(wk_target *t, pm_err *err);
void wk_target_close(wk_target *t);
/* Inserts f's job as Quay's producer does; on failure the answer gets an error. */
void wk_target_enqueue(wk_target *t, size_t index, wk_flight *f);
/* Inserts n jobs in that order (ids ascend) in one transaction when n > 1: the worker finds them
 * all at once or none; when one insert fails, every answer gets the error and no row is left. */
void wk_target_enqueue_together(wk_target *t, size_t index, wk_flight *const *fs, size_t n);
/* One look at the rows: the outcome of every job of flights watched on this target, and the
 * rows enqueued since the last look, attributed to the jobs in flight. */
void wk_target_poll(wk_target *t, size_t index, wk_flight *flights);
/* The job a new row (or a request to the sink) belongs to, by the rules at the top of
 * replay_target.c; NULL when no job can have made it. An ambiguous one marks the candidates.
 * text is the effect as text (a row's body, a request as JSON) for the correlate rule, or NULL. */
wk_answer *wk_target_attribute(wk_target *t, size_t index, wk_flight *flights, const char *text);
/* The order witness of the ordered jobs first seen taken in the look being applied (taken_now):
 * taken_before = the claimable jobs of the same ordered queue with a lower id not taken yet. */
void wk_order_witness(wk_flight *flights, size_t index);
/* What a watched row that is still there says (a row gone is `completed`): `dead` with no
 * retries left once released (available with another state_id: incomplete) or its lease
 * expired; `retried` when released, expired or claimed twice with retries left; NULL while
 * the job waits or is held. retries0 and inserted_state_id are as inserted. */
const char *wk_outcome_of(const char *inserted_state_id, long retries0, bool available, long retries, bool expired,
                          const char *state_id);
/* After a job's outcome that is not `completed`: its row is deleted. */
void wk_target_forget(wk_target *t, const wk_answer *a);
/* The map's probes for the job, run on this target: {name: rows} (new), NULL without probes. */
json_t *wk_target_probes(wk_target *t, const wk_flight *f);

/* ---- scheduled runs (run.c) --------------------------------------------------------- */

/* A record of kind "run" run once on every target's copy of its snapshot; its result handed
 * to fn. No job may be in flight. 0, or -1 with err (fn's error, out of memory); a record
 * without program or snapshot is counted in bad_jobs. */
int wk_run(worker_replay *r, json_t *record, pm_record_fn fn, void *ctx, pm_err *err);

/* One delivery's effects: {queue, http (with a sink), db (with probes)} (new). */
json_t *wk_delivery_effects(const wk_answer *a);
/* The job result: the record plus responses (new). */
json_t *wk_job_result(const wk_flight *f, const wk_target *targets, size_t ntargets);

struct worker_replay {
    worker_replay_options o;
    wk_target *targets;
    size_t ntargets;
    worker_replay_stats stats;
    volatile sig_atomic_t stop;
};

/* A fresh random UUID (version 4) into buf (37 bytes). */
void wk_uuid(char *buf);

#endif
