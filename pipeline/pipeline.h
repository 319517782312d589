/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h — the public header of pipeline/: the stages assembled into streaming
 * processes. No stage calls a later one; this is where replay, diff and reports meet
 * (DESIGN.md, "Pipeline and layout").
 *
 * - The result sink (sink.c): what happens to each result record — kept, diffed, its diff
 *   kept, scored in the report builder, counted — the same for `run`, the tee's shadow
 *   side and (later) worker runs.
 * - The stages (stages.c): `run`'s and `replay`'s second thread, fed by the replay loop
 *   through core's bounded hand-off, writing each result and handing it to a sink.
 * - The shadow (shadow.c): `tee`'s shadow thread, from the tee's queue through replay into
 *   a sink, with the live metrics and redaction before anything is kept.
 * - `run` (run.c) and the tee (tee.c) assembled from those: the suite and its profile, the
 *   redactors, the diff engine, the report builder and the files, from one options struct
 *   each; cli/ parses arguments into it, calls in, and prints.
 */
#ifndef PM_PIPELINE_H
#define PM_PIPELINE_H

#include <pthread.h>
#include <stdint.h>

#include "diff/diff.h"
#include "replay/replay.h"
#include "reports/reports.h"
#include "tee/tee.h"
#include "worker/worker.h"

/* ===== the result sink (sink.c) ======================================================== */

typedef struct pipeline_sink_options {
    pm_jsonl_writer *results;   /* each result's text; NULL: not kept (borrowed) */
    pthread_mutex_t *results_lock; /* held around it when other sinks write it too; may be NULL */
    diff_engine *diff;          /* NULL: results only (`pmirror replay`) (borrowed) */
    pm_jsonl_writer *diffs;     /* each diff record; NULL: not kept (borrowed) */
    reports_builder *report;    /* NULL: none (borrowed) */
    pthread_mutex_t *report_lock; /* held around the builder when others use it too; may be NULL */
    /* Live (the tee): a result diff cannot judge, or one the report cannot take, is
     * counted (diff_failures) and passed over; otherwise (run) it is the error. */
    bool live;
    /* Each diff record as it is made (NULL: diff could not judge the result), with the
     * result's family (the tee's metrics). */
    void (*on_diff)(void *ctx, const json_t *diff, const char *family);
    void *ctx;
    /* A secondary target (not live): noise learned over every result before any is judged,
     * as `pmirror diff` on a file; the results wait in a spool in spool_dir until
     * pipeline_sink_finish. */
    bool learn_noise;
    const char *spool_dir;
} pipeline_sink_options;

typedef struct pipeline_counts {
    uint64_t results, match, mismatch, error, skipped;
    uint64_t mixed, mixed_failed; /* --mixed: flow steps (verdict "mixed"), and those that failed */
    uint64_t diff_failures;     /* live: results diff or the report could not take */
} pipeline_counts;

typedef struct pipeline_sink pipeline_sink;

pipeline_sink *pipeline_sink_new(const pipeline_sink_options *o, pm_err *err);
/* One result record's text (tokens: its tape when its writer kept it, else NULL; family:
 * replay's, for a result diff cannot read). 0, or -1 with err (a write failed; not live:
 * diff or the report failed). One thread at a time. */
int pipeline_sink_add(pipeline_sink *s, const char *text, size_t len, const pm_jtape *tokens, const char *family,
                      pm_err *err);
/* After the last result: with learn_noise, the noise decided and every spooled result
 * judged in order (else nothing to do). 0, or -1 with err. One thread at a time. */
int pipeline_sink_finish(pipeline_sink *s, pm_err *err);
/* Counts so far (any thread). */
pipeline_counts pipeline_sink_counts(const pipeline_sink *s);
/* Flushes what the writers buffer (a gzip file every second). */
void pipeline_sink_tick(pipeline_sink *s);
void pipeline_sink_free(pipeline_sink *s);

/* ===== run's and replay's second thread (stages.c) ================================== */

typedef struct pipeline_stages pipeline_stages;

/* Starts the thread; it writes each exchange's result and gives it to a sink made from o
 * (the borrowed engine, builder and writers are used on that thread until finish). */
pipeline_stages *pipeline_stages_start(const pipeline_sink_options *o, pm_err *err);
/* A replay_handoff_fn (ctx = the stages): queues x, waiting while the queue is full. -1
 * with the stages' error once they have failed (x is freed: it is owned either way). */
int pipeline_stages_push(void *ctx, replay_exchange *x, pm_err *err);
/* The verdicts so far (any thread: for progress lines). */
pipeline_counts pipeline_stages_counts(pipeline_stages *st);
/* Lets the thread finish what is queued, joins it, lets the sink finish (learned noise:
 * the spooled results judged), sets the final counts and frees st: 0, or -1 with the first
 * error. */
int pipeline_stages_finish(pipeline_stages *st, pipeline_counts *counts, pm_err *err);

/* ===== the tee's shadow side (shadow.c) ============================================= */

typedef struct pipeline_shadow_options {
    replay_options replay;          /* .suite: the targets (proxy mode: primary as `recorded` + shadow) */
    unsigned workers;               /* threads, one per lane of the tee's queue (0: 1) */
    diff_engine *const *diffs;      /* one per worker (an engine is one thread's); borrowed */
    tee_metrics *metrics;           /* borrowed; NULL: none */
    const pm_redactor *redactor;    /* redacts requests in what is kept; NULL = --no-redact */
    const pm_redactor *answer_redactor; /* ... and answers (keep_jwt_claims); with redactor */
    pm_jsonl_writer *record;        /* borrowed; NULL = no --record; used under record_lock */
    pthread_mutex_t *record_lock;
    reports_builder *report;        /* borrowed; NULL = no --out-dir; used under report_lock */
    pthread_mutex_t *report_lock;
    int nice;                       /* the shadow threads' niceness (19: the client's path comes first) */
} pipeline_shadow_options;

typedef struct pipeline_shadow_stats {
    pipeline_counts counts;         /* results judged, verdicts, diff failures */
    uint64_t bad_records;           /* shadow copies or results that did not parse */
} pipeline_shadow_stats;

typedef struct pipeline_shadow pipeline_shadow;

pipeline_shadow *pipeline_shadow_new(const pipeline_shadow_options *o, pm_err *err);
/* For tee_options.on_queued (ctx = the shadow): wakes the lane's worker. */
void pipeline_shadow_wakeup(void *ctx, unsigned lane);
/* Starts the threads, worker k reading lane k of tee (tee_options.lanes = workers) until
 * it stops and the lane is empty. */
int pipeline_shadow_start(pipeline_shadow *s, tee_front *tee, pm_err *err);
/* Waits at most timeout_s for the threads to finish what they hold, then abandons what
 * is left (counted in *abandoned). Returns 0, or -1 with err when a thread failed. */
int pipeline_shadow_join(pipeline_shadow *s, double timeout_s, uint64_t *abandoned, pm_err *err);
/* Thread-safe snapshot. */
void pipeline_shadow_get_stats(pipeline_shadow *s, pipeline_shadow_stats *out);
/* True (with err) when a thread has ended on an error while the tee still runs (a
 * --record file that cannot be written): the front goes on, the shadows stop. */
bool pipeline_shadow_failed(pipeline_shadow *s, pm_err *err);
void pipeline_shadow_free(pipeline_shadow *s);
/* A shadow result's text redacted as the shadow keeps it (shadow_redact.c): into out, the
 * request by `requests`, the recorded response and the answers by `answers`, with one set
 * of secrets (each credential of suite's targets among them). tokens: the text's tape when
 * its writer kept it (replay_result.tokens), else NULL and the text is parsed into tape,
 * the caller's, reused. When out follows (pm_jtext_tape_start), the redacted text's tokens
 * are kept as it is written. reference: the whole result as a tree, redacted and written
 * again (what the faster splice must equal). 0, or -1 when the text is not a JSON object
 * or memory ran out. */
int pipeline_shadow_redact(const pm_redactor *requests, const pm_redactor *answers, const pm_suite *suite,
                           const char *text, size_t len, const pm_jtape *tokens, pm_jtape *tape, pm_jtext *out,
                           bool reference);

/* ===== `run`: replay → diff → report → gate in one process (run.c) ================== */

typedef struct pipeline_progress {
    const replay_stats *replay; /* NULL on the last call */
    double per_s;               /* exchanges per second lately */
    pipeline_counts counts;     /* verdicts so far */
    bool done;                  /* the last call: the replay and the stages have ended */
} pipeline_progress;

typedef struct pipeline_run_options {
    const char *suite_path;       /* -c SUITE: the targets */
    const char *profile;          /* --profile; NULL: the suite's, else the one found */
    const char *input;            /* the capture file (- = stdin) */
    const char *out_dir;          /* reports, proposal.yaml, kept files (created when missing) */
    const char *gate_path;        /* NULL: the profile's gate.yaml */
    const char *switches_path;    /* a switch snapshot; NULL: none */
    const char *previous_path;    /* an earlier report.json; NULL: none */
    const char *key;              /* redaction key; NULL: the capture's (beside input), else OUT_DIR/.pmirror-key */
    const char *const *families;  /* the proposal's scope; none: every family seen */
    size_t nfamilies;
    bool keep_results;            /* results.jsonl.gz and diffs.jsonl.gz into out_dir */
    replay_options replay;        /* pacing, limit, shard, allow_writes (the suite, the
                                   * correlation rules and the redactor are set here) */
    /* About every 200 ms while the replay runs, and once at its end; NULL: none. */
    void (*progress)(void *ctx, const pipeline_progress *p);
    void *ctx;
} pipeline_run_options;

typedef struct pipeline_run_result {
    json_t *report;          /* the report as written, `run` keys filled; NULL: not built */
    char *warning;           /* the input's damage (pm_jsonl_reader_warning) once the report
                              * is built; NULL: none */
    pipeline_counts counts;  /* verdicts */
    uint64_t exchanges;      /* replayed */
    bool all_promote;        /* every family in scope may be promoted */
} pipeline_run_result;

/* Replays o->input against the suite's targets, diffs and scores each exchange, writes
 * report.json, report.md, junit.xml, report.html and proposal.yaml into o->out_dir. While
 * the replay runs, SIGINT and SIGTERM start nothing new and let what is in flight finish
 * (its handlers are installed for that time, then the previous ones restored). 0, or -1
 * with err (res holds what was made before the failure). Free res either way. */
int pipeline_run(const pipeline_run_options *o, pipeline_run_result *res, pm_err *err);
void pipeline_run_result_free(pipeline_run_result *res);

/* ===== the tee's --switches / --on-rollback watcher (rollback.c) ======================= */

typedef struct pipeline_rollback pipeline_rollback;

/* Reads the switch snapshot (an error names the file); command NULL: rollbacks are only
 * said in the events, no hook runs; report_dir (NULL: none) goes to the hook's
 * PMIRROR_REPORT_DIR. NULL with err. */
pipeline_rollback *pipeline_rollback_new(const char *switches_path, const char *command, const char *report_dir,
                                         pm_err *err);
/* The snapshot in force (borrowed until the next reload). */
const json_t *pipeline_rollback_snapshot(const pipeline_rollback *r);
/* Re-reads the snapshot when its file changed (*changed then); a file that does not load
 * leaves the previous one in force (an event says so, -1). Events: strings appended. */
int pipeline_rollback_reload(pipeline_rollback *r, bool *changed, json_t *events);
/* For each scope of report decided `rollback` whose switch is go in the snapshot and not
 * yet acted on: the hook started (not waited for), counted in metrics (may be NULL) per
 * family, an event. Also reaps hooks that ended (an event each). Returns how many acted. */
size_t pipeline_rollback_act(pipeline_rollback *r, const json_t *report, tee_metrics *metrics, json_t *events);
void pipeline_rollback_free(pipeline_rollback *r);

/* ===== the tee: front → shadow → diff → record, report (tee.c) ========================= */

typedef struct pipeline_tee_options {
    const char *suite_path;       /* -c SUITE; NULL: none (proxy mode only) */
    const char *profile;          /* --profile; NULL: the suite's, else the one found */
    bool sink;                    /* sink mode: the suite's targets; else proxy mode */
    const char *shadow;           /* proxy mode: the shadow's URL (the primary's: front.primary) */
    bool sandbox;                 /* proxy mode: the shadow is a sandbox */
    pm_tls_given primary_tls;     /* proxy mode: --primary-ca ... over the suite baseline's */
    pm_tls_given shadow_tls;      /* proxy mode: --shadow-ca ... over the suite candidate's */
    double shadow_timeout;        /* each shadow exchange's limit in seconds; 0: the suite's */
    const char *const *families;  /* --family, --select: what the front shadows (none of */
    size_t nfamilies;             /* either: the suite's selection, else everything) */
    const char *const *selects;
    size_t nselects;
    const char *record;           /* every result, redacted; NULL: none */
    const char *out_dir;          /* reports (snapshots and the final one); NULL: none */
    const char *metrics;          /* the metrics server's address; NULL: none */
    const char *rules_path;       /* NULL: the profile's rules.yaml when readable */
    const char *key;              /* redaction key; NULL: beside the record, else in out_dir */
    bool no_redact;               /* write the record and the reports in the clear */
    int nice;                     /* the shadow threads' niceness */
    unsigned shadow_workers;      /* shadow threads (0: the CPUs the front's event loops
                                   * leave, at least 1) */
    replay_options replay;        /* allow_writes, concurrency, max_body (the targets, the
                                   * correlation rules and the order are set here) */
    tee_options front;            /* listen, primary (proxy mode), the queue, limits, timeouts
                                   * (the map, the selection, shadow_writes, on_queued are set
                                   * here) */
    const char *switches_path;    /* --switches: the snapshot the live decisions read, re-read
                                   * when it changes; NULL: none */
    const char *on_rollback;      /* --on-rollback CMD (needs switches_path); NULL: none */
} pipeline_tee_options;

typedef struct pipeline_tee pipeline_tee;

/* Loads and makes everything, starts the front, the metrics server and the shadow
 * thread. Signals the caller handles should be blocked first: the threads inherit the
 * mask. NULL with err (nothing left running). */
pipeline_tee *pipeline_tee_start(const pipeline_tee_options *o, pm_err *err);
/* The targets shadows are replayed to (proxy mode: primary, recorded, and the shadow). */
const pm_suite *pipeline_tee_targets(const pipeline_tee *t);
/* The front: its URL, port and counters (tee.h). */
tee_front *pipeline_tee_front(const pipeline_tee *t);
/* NULL: no metrics server. */
const char *pipeline_tee_metrics_url(const pipeline_tee *t);
/* Thread-safe snapshot of the front's and the shadow side's counters. */
void pipeline_tee_get_stats(pipeline_tee *t, tee_stats *front, pipeline_shadow_stats *shadow);
/* True (with err) when the shadow side has stopped on an error while the front goes on. */
bool pipeline_tee_failed(pipeline_tee *t, pm_err *err);
/* The reports of what was diffed so far into out_dir, `run.snapshot` = when ("sighup");
 * 0 without out_dir. */
int pipeline_tee_write_report(pipeline_tee *t, const char *when, pm_err *err);
/* One decision tick (cmd_tee calls it about every second): with --switches, the snapshot
 * re-read when its file changed, the report built (sequential decisions), and each switch
 * newly decided `rollback` acted on (rollback.c): the hook run, counted in the metrics, and
 * a report snapshot written ("rollback"). What happened is appended to events (strings) for
 * the caller to print. 0, or -1 with err when the snapshot could not be written. */
int pipeline_tee_tick(pipeline_tee *t, json_t *events, pm_err *err);
/* The drain: the front stops taking connections and finishes its answers, the shadows
 * finish within what is left of drain_s (the rest abandoned, counted in *abandoned), the
 * record is closed and the final report written. 0, or -1 with the first error. */
int pipeline_tee_stop(pipeline_tee *t, double drain_s, uint64_t *abandoned, pm_err *err);
void pipeline_tee_free(pipeline_tee *t);

#endif
