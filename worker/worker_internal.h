/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker_internal.h — what worker/'s files share (prefix wk_): a queue row as text, the jobs
 * held until their outcome (jobs.c, idmap.c), the job record (job_record.c), the libpq
 * helpers (pg.c) and the two ways of reading the source (logical.c, poll.c) around the
 * capture session (queue_capture.c). Private to worker/.
 */
#ifndef PM_WORKER_INTERNAL_H
#define PM_WORKER_INTERNAL_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "worker.h"

/* ---- a queueitem row as the source printed it (a change's tuple or a polled row) ---- */

typedef struct wk_row {
    int64_t id;
    const char *queue_name;      /* NULL: not in this row */
    const char *body;            /* NULL: not in this row (or unchanged-toast-datum) */
    size_t body_len, body_total; /* body_total: the whole body's length (poll reads a prefix) */
    const char *available_after; /* as printed: "2026-12-05 10:43:06.244112" */
    int available;               /* 1, 0, or -1 when not in this row */
    bool has_retries;
    long retries;
    const char *state_id;
} wk_row;

/* ---- an int64 → pointer map (idmap.c) ------------------------------------------------ */

typedef struct wk_idmap {
    int64_t *keys;
    void **values;
    size_t cap, n; /* cap a power of two, or 0 */
} wk_idmap;

void *wk_idmap_get(const wk_idmap *m, int64_t key);
int wk_idmap_put(wk_idmap *m, int64_t key, void *value); /* key absent; -1: out of memory */
void wk_idmap_del(wk_idmap *m, int64_t key);
void wk_idmap_free(wk_idmap *m);

/* ---- jobs held until their outcome (jobs.c) ----------------------------------------- */

typedef struct wk_job {
    int64_t id;
    int64_t ts_us;          /* enqueued (commit time, or first seen); 0: its commit is not read yet */
    int64_t outcome_ts_us;  /* when the outcome was seen; 0: in the commit not read yet */
    uint64_t held_ms;       /* monotonic ms when it was first seen */
    char *queue_name, *body, *available_after, *state_id;
    size_t body_len, body_total;
    long retries0, retries; /* as enqueued, as last seen */
    bool has_retries, available;
    const char *outcome;    /* NULL, "completed", "retried" or "dead" */
    unsigned claims;        /* claims seen (retries taken) */
    bool polled;            /* poll: its row was in the last look at the held jobs */
    struct wk_job *next;
} wk_job;

typedef struct wk_jobs {
    wk_job *head, *tail;    /* enqueue order */
    size_t n;
    wk_idmap by_id;
} wk_jobs;

/* A new held job from an INSERT or a first-seen row (copies what it keeps; the body at most
 * max_body bytes, cut on a UTF-8 boundary). NULL: out of memory or an id already held. */
wk_job *wk_jobs_add(wk_jobs *jobs, const wk_row *row, int64_t ts_us, uint64_t now_ms, size_t max_body);
wk_job *wk_jobs_get(const wk_jobs *jobs, int64_t id);
/* A later state of the row (an UPDATE, or a poll): claims and releases. A release (available
 * again after a claim) is the first delivery's outcome: retried, or dead with no retries left. */
void wk_job_observe(wk_job *j, const wk_row *row, int64_t ts_us);
/* The row is gone: completed (unless an earlier delivery's outcome was seen). */
void wk_job_deleted(wk_job *j, int64_t ts_us);
/* The oldest held job when it is due — its outcome seen, held wait_ms, more than max_held
 * held (*evicted set), or `all` — taken out of jobs (the caller frees it); else NULL. A job
 * whose commit is not read yet is never due unless `all`. */
wk_job *wk_jobs_take_due(wk_jobs *jobs, uint64_t now_ms, uint64_t wait_ms, size_t max_held, bool all,
                         bool *evicted);
void wk_job_free(wk_job *j);
void wk_jobs_free(wk_jobs *jobs);

/* ---- the capture session ---------------------------------------------------------- */

#define WK_MAX_QUEUE_COUNTS 64
#define WK_MAX_GAP_RANGES 100 /* kept for the stats file */

typedef struct wk_range {
    int64_t lo, hi;
    uint64_t since_ms;
    bool counted; /* a gap when it does not fill; false: ids taken before the capture began */
} wk_range;

struct worker_capture {
    worker_capture_options o;
    char dsn_display[512];
    PGconn *conn;
    bool logical;
    char note[512];
    char warning[512];
    char slot[64];
    char table_prefix[300]; /* logical: "table public.queueitem:" as test_decoding writes it */
    char id_prefix[16];     /* job record ids: PREFIX-<queueitem id> */
    volatile sig_atomic_t stop;
    worker_capture_stats stats;
    wk_jobs jobs;
    /* logical: the transaction being read */
    wk_job **xact_jobs;
    size_t nxact, xact_cap;
    /* poll */
    int64_t last_id;
    bool start_unknown; /* the id sequence could not be read: the first stretch may predate the start */
    wk_range *holes;
    size_t nholes, holes_cap;
    int64_t check_after; /* poll: the held jobs' states are read round them, after this id */
    wk_range gap_ranges[WK_MAX_GAP_RANGES];
    size_t ngap_ranges;
    /* the record writer */
    pm_record_fn fn;
    void *fn_ctx;
};

/* Whether the capture keeps jobs of this queue_name (--queue-name). */
bool wk_selected(const worker_capture *c, const char *queue_name);
/* Microseconds since the epoch, now. */
int64_t wk_wall_us(void);

/* ---- writing (job_record.c) -------------------------------------------------------- */

/* The job's record handed to c->fn, and counted in c->stats. */
int wk_job_write(worker_capture *c, const wk_job *j, pm_err *err);
/* Every due job written (all: every held job). */
int wk_write_due(worker_capture *c, bool all, pm_err *err);
/* A JSON string of n bytes of text from the source, bytes that are not UTF-8 as U+FFFD. */
json_t *wk_text_json(const char *s, size_t n);

/* ---- libpq (pg.c) ------------------------------------------------------------------ */

PGconn *wk_pg_connect(const char *dsn, const char *display, pm_err *err);
/* The same for any command: `what` names the DSN's origin in a parse error ("--queue",
 * "target go"), app is the fallback application name, connect_timeout in seconds as text. */
PGconn *wk_pg_connect_as(const char *dsn, const char *display, const char *what, const char *app,
                         const char *connect_timeout, pm_err *err);
/* Runs sql with text parameters; on failure fills err with "DISPLAY: what: server's words",
 * or "lost the connection to DISPLAY: ..." when the connection is gone. The caller clears
 * *res. */
int wk_pg_exec(worker_capture *c, const char *what, const char *sql, int nparams, const char *const *params,
               PGresult **res, pm_err *err);
/* Whether a failure means the connection is gone (or going: the backend was terminated, the
 * server shuts down), not that a query was refused. res may be NULL. */
bool wk_pg_lost(PGconn *conn, const PGresult *res);
/* The server's message on one line (newlines folded), into buf. */
const char *wk_pg_message(const char *msg, char *buf, size_t size);
/* The DSN as a libpq key='value' string with its dbname replaced (new; the password kept:
 * for a program's environment, never for a message), or NULL when it does not parse. */
char *wk_pg_dsn_with_db(const char *dsn, const char *dbname);
/* A result's rows as [{column: text or null}] (new). */
json_t *wk_pg_rows(const PGresult *res);

/* ---- reading the source (logical.c, poll.c) ---------------------------------------- */

/* Creates the temporary slot. -1 with err when it cannot (the caller may fall back). */
int wk_logical_start(worker_capture *c, pm_err *err);
/* Reads and applies what the slot has (at most a few calls' worth). */
int wk_logical_read(worker_capture *c, pm_err *err);
/* Waits (at most wait_ms) until the WAL written before now is flushed: logical decoding reads
 * only flushed WAL, and a source that commits asynchronously (synchronous_commit=off) may not
 * have flushed the last commits yet when a capture stops. */
int wk_logical_settle(worker_capture *c, unsigned wait_ms, pm_err *err);
/* Starts after the highest id there is. */
int wk_poll_start(worker_capture *c, pm_err *err);
/* One poll: new rows, the holes, the held jobs' states. */
int wk_poll_read(worker_capture *c, pm_err *err);
/* The capture ends: every hole still open is a gap. */
void wk_poll_finish(worker_capture *c);

#endif
