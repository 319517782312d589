/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.h — the public header of worker/: worker parity (DESIGN.md "Worker parity").
 *
 * This part is queue capture: the jobs a Quay database's `queueitem` table receives become
 * job records (DESIGN.md "Files"), classified by the profile's worker map (core/workers.h),
 * with the source's own outcome when it is seen. A capture is a guest on a production
 * database: it only reads. Two modes:
 *  - logical: a temporary logical replication slot with the built-in test_decoding plugin,
 *    read with pg_logical_slot_get_changes. Lossless: every INSERT, UPDATE and DELETE of the
 *    table arrives, in commit order, with its commit time, so a job enqueued and completed
 *    within milliseconds is captured with `outcome: completed`. The slot dies with the
 *    session. Needs wal_level=logical and a role with REPLICATION.
 *  - poll: reads new rows by id (`WHERE id > $last ORDER BY id LIMIT n`), so a job that came
 *    and went between two polls is missed; each id that was skipped and never appeared
 *    within hole_wait is counted as a gap (a job it may have missed). Outcomes are read by
 *    primary key for the jobs it holds.
 * Jobs are held (in enqueue order) until their outcome is seen or outcome_wait passes, then
 * handed to the callback in that order; a job written without an outcome has none in its
 * record. Everything the capture could not keep whole is counted in worker_capture_stats.
 *
 * Mixed mode: a record says which implementation enqueued its job (`producer`, and the same as
 * cohort.producer, so reports break each worker family down by producer) when it is known: the
 * worker map's `producer:` templates for producers that mark their jobs (core/workers.h), else
 * the capture's `producer` option (one implementation owns the producing routes); neither: the
 * record has no producer. The replay feeds every job to both workers whoever produced it.
 */
#ifndef PM_WORKER_H
#define PM_WORKER_H

#include <stdint.h>

#include "core/core.h"

typedef enum { WORKER_MODE_AUTO, WORKER_MODE_LOGICAL, WORKER_MODE_POLL } worker_capture_mode;

typedef struct worker_capture_options {
    const char *dsn;            /* libpq connection string or URI (required) */
    worker_capture_mode mode;   /* auto: logical when the source and role allow, else poll */
    const char *const *queues;  /* keep only jobs of these queues (queue_name's first segment) */
    size_t nqueues;             /* 0: every queue */
    const pm_workers *map;      /* required */
    const pm_redactor *redactor; /* NULL: bodies kept as they are (--no-redact) */
    unsigned poll_ms;           /* between two reads of the source, default 200 */
    unsigned batch;             /* rows per read, default 1000 (logical: changes per call) */
    unsigned outcome_wait_ms;   /* a job waits this long for its outcome, default 60 000 */
    unsigned hole_wait_ms;      /* poll: a skipped id may still commit this long, default 5 000 */
    size_t max_held;            /* jobs held for outcomes at most (the oldest go first), default 100 000 */
    size_t max_body;            /* a body longer than this is cut (and not parsed), default 16 MiB */
    const char *producer;       /* every job's producer unless the map's template names one
                                 * (pm_worker_producer_ok: "python", "go"); NULL: none */
} worker_capture_options;

/* Fills the defaults above. */
void worker_capture_options_init(worker_capture_options *o);

typedef struct worker_queue_count {
    const char *queue; /* the queue (or "(other)" past 64 distinct queue names) */
    uint64_t jobs, completed, retried, dead, without_outcome;
} worker_queue_count;

typedef struct worker_capture_stats {
    const char *mode;           /* "logical" or "poll" */
    uint64_t jobs;              /* job records handed to the callback */
    uint64_t completed, retried, dead, without_outcome; /* by the outcome written */
    uint64_t unknown_queue;     /* jobs of queues the worker map does not name (family UNKNOWN) */
    uint64_t not_selected;      /* jobs outside --queue-name, not written */
    uint64_t bodies_not_json;   /* written with body_text and body_not_json: true */
    uint64_t bodies_truncated;  /* cut at max_body (body_text, body_truncated: true) */
    uint64_t producers_refused; /* jobs whose `producer:` template gave a value that is not a
                                 * producer name (the option's producer, or none, written) */
    uint64_t untracked_changes; /* updates and deletes of jobs not held: enqueued before the
                                 * capture began, outside --queue-name, or already written */
    uint64_t evicted;           /* written before outcome_wait because max_held was reached */
    uint64_t changes;           /* logical: queueitem changes decoded; poll: rows read */
    uint64_t bad_changes;       /* logical: changes that did not parse (skipped; first in the warning) */
    uint64_t truncates;         /* logical: TRUNCATE of queueitem (held jobs written without outcome) */
    uint64_t gaps;              /* poll: ids skipped that never appeared */
    uint64_t late_rows;         /* poll: rows that appeared after a later id (kept) */
    uint64_t ids_before_start;  /* poll: ids taken before the capture began that never appeared
                                 * (not gaps; without SELECT on the id sequence, the ids skipped
                                 * before the first new row count here) */
    uint64_t reads;             /* queries that read changes or rows */
    uint64_t held;              /* jobs held for their outcome now */
    worker_queue_count *queues;
    size_t nqueues;
} worker_capture_stats;

typedef struct worker_capture worker_capture;

/* Connects, checks that queueitem exists and may be read, and picks the mode (in auto, a
 * one-line note says why when it is poll: worker_capture_note). In logical mode the slot is
 * created here, so every job enqueued after a successful open is seen. Errors name the
 * source by worker_dsn_display, never with its password. */
worker_capture *worker_capture_open(const worker_capture_options *o, pm_err *err);
/* Why auto mode polls (one line), or NULL. */
const char *worker_capture_note(const worker_capture *c);
/* Reads until worker_capture_stop(), a non-zero tick, or an error (a lost connection is one),
 * then hands every job still held to fn (without outcome). Each job record is one line of
 * JSON text (pm_record_fn); tick (may be NULL) runs after every read with the stats. 0, or -1
 * with err; fn's error stops the run and is returned. */
int worker_capture_run(worker_capture *c, pm_record_fn fn, void *ctx,
                       int (*tick)(void *ctx, const worker_capture_stats *stats), pm_err *err);
/* Async-signal-safe: asks worker_capture_run to finish. */
void worker_capture_stop(worker_capture *c);
const worker_capture_stats *worker_capture_get_stats(const worker_capture *c);
/* The first damaged change, when there was one (for a warning line); else NULL. */
const char *worker_capture_warning(const worker_capture *c);
/* The stats as a JSON object (new reference), with the first gaps as id ranges. */
json_t *worker_capture_stats_json(const worker_capture *c);
/* Closes the connection (a logical slot goes with it). NULL is fine. */
void worker_capture_close(worker_capture *c);

/* ---- the job replay (replay.c, replay_target.c, replay_result.c) --------------------
 *
 * Each job record is inserted, as Quay's producer does it, into every worker target's sandbox
 * `queueitem` (canonical queue_name, body, available_after now, available, retries_remaining
 * as recorded, a fresh state_id); the deployment claims it as it always does; pmirror watches
 * the row by its new id until its outcome — completed (the row is gone), retried (released
 * again, or its lease expired, with retries left), dead (released with none left), timeout —
 * and then writes a job result (DESIGN.md "Files"): the job record plus responses: {TARGET:
 * {role, outcome, effects, latency_us, error}}. Effects: `queue`, the rows that appeared in
 * the target's queueitem while the job was in flight (attribution: replay_target.c), `http`,
 * the requests the deployment sent to the target's effects sink (effects.c; a target with an
 * `effects:` address), and `db`, the worker map's probes run after the outcome. A row whose outcome is not completed
 * is deleted then, so a later retry cannot act inside another job's window. Consecutive jobs
 * of an ordered queue (the build queue) are inserted together, up to `concurrency`, and each
 * one's effects carry `taken_before`: the lower ids of its burst still unclaimed when the
 * worker took it (0 when the worker keeps Quay's lowest-id-first order; replay.c). */

typedef struct worker_replay_options {
    const pm_suite *suite;   /* its worker targets (those with database:) are used; required */
    const pm_workers *map;   /* ordering and probes; required */
    long concurrency;        /* jobs in flight at most (default 4), an ordered queue's burst included */
    double job_timeout_s;    /* > 0: overrides every target's `timeout` (default 60 s) */
    unsigned poll_ms;        /* between two looks at the rows (default 20) */
    bool redeliver;          /* deliver each job a second time once the first's outcome is seen;
                              * its outcome and effects go to effects.redelivery */
    const json_t *runs;      /* records of kind "run" (worker_run_record) done before the input's, or NULL */
} worker_replay_options;

void worker_replay_options_init(worker_replay_options *o);

typedef struct worker_replay_target_stats {
    const char *name;
    uint64_t completed, retried, dead, timeout, errors;
    uint64_t failed;         /* scheduled runs that exited with a status other than 0 */
    uint64_t enqueued;       /* rows the worker enqueued, attributed to a job */
    uint64_t unattributed;   /* rows that appeared with no job in flight (not in any result) */
    uint64_t ambiguous;      /* jobs whose effects could not be told apart (error ambiguous_effects) */
    uint64_t http;           /* requests to the effects sink, attributed to a job */
    uint64_t http_unattributed; /* requests that arrived with no job in flight */
} worker_replay_target_stats;

typedef struct worker_replay_stats {
    uint64_t read;           /* records read */
    uint64_t jobs;           /* job results written */
    uint64_t in_flight;
    bool serialized;         /* an ambiguous effect made the run go one job at a time */
    uint64_t runs;           /* scheduled runs' results written (records of kind "run") */
    uint64_t not_jobs;       /* records of another kind (neither job nor run): skipped */
    uint64_t bad_jobs;       /* job records without a queue_name or a body, run records without
                              * a program or a snapshot: skipped */
    worker_replay_target_stats *targets; /* one per worker target, in suite order */
    size_t ntargets;
} worker_replay_stats;

typedef struct worker_replay worker_replay;

/* Connects to every worker target's database (one connection each) and checks that its
 * queueitem can be written. Errors name the target and its DSN without password; a suite
 * without worker targets is an error. */
worker_replay *worker_replay_open(const worker_replay_options *o, pm_err *err);
/* Replays every job record of in, handing each job result (one line of JSON) to fn; progress
 * (may be NULL) runs about once a second. A target whose connection is lost gives its jobs
 * error "database" until it reconnects. 0, or -1 with err (an unreadable input, fn's error). */
int worker_replay_run(worker_replay *r, pm_jsonl_reader *in, pm_record_fn fn, void *ctx,
                      void (*progress)(void *ctx, const worker_replay_stats *stats), pm_err *err);
/* Async-signal-safe: stop starting jobs; the ones in flight are waited for (bounded by their
 * timeout) and written. */
void worker_replay_stop(worker_replay *r);
const worker_replay_stats *worker_replay_get_stats(const worker_replay *r);
void worker_replay_close(worker_replay *r);

/* A record of kind "run" for PROGRAM@SNAPSHOT (DESIGN.md: the program and the snapshot it runs
 * on), classified by the map's `scheduled:` programs (new), or NULL with err: a spec that is
 * not PROGRAM@SNAPSHOT, or a program the map does not name. */
json_t *worker_run_record(const pm_workers *map, const char *spec, unsigned n, pm_err *err);

/* The source as messages show it: postgresql://USER@HOST:PORT/DB, never a password. */
const char *worker_dsn_display(const char *dsn, char *buf, size_t size);

#endif
