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
 */
#ifndef PM_PIPELINE_H
#define PM_PIPELINE_H

#include <pthread.h>
#include <stdint.h>

#include "diff/diff.h"
#include "replay/replay.h"
#include "reports/reports.h"
#include "tee/tee.h"

/* ===== the result sink (sink.c) ======================================================== */

typedef struct pipeline_sink_options {
    pm_jsonl_writer *results;   /* each result's text; NULL: not kept (borrowed) */
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
} pipeline_sink_options;

typedef struct pipeline_counts {
    uint64_t results, match, mismatch, error, skipped;
    uint64_t diff_failures;     /* live: results diff or the report could not take */
} pipeline_counts;

typedef struct pipeline_sink pipeline_sink;

pipeline_sink *pipeline_sink_new(const pipeline_sink_options *o, pm_err *err);
/* One result record's text (family: replay's, for a result diff cannot read). 0, or -1
 * with err (a write failed; not live: diff or the report failed). One thread at a time. */
int pipeline_sink_add(pipeline_sink *s, const char *text, size_t len, const char *family, pm_err *err);
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
/* Lets the thread finish what is queued, joins it, sets the final counts and frees st:
 * 0, or -1 with the first error. */
int pipeline_stages_finish(pipeline_stages *st, pipeline_counts *counts, pm_err *err);

/* ===== the tee's shadow side (shadow.c) ============================================= */

typedef struct pipeline_shadow_options {
    replay_options replay;          /* .suite: the targets (proxy mode: primary as `recorded` + shadow) */
    diff_engine *diff;              /* borrowed */
    tee_metrics *metrics;           /* borrowed; NULL: none */
    const pm_redactor *redactor;    /* redacts requests in what is kept; NULL = --no-redact */
    const pm_redactor *answer_redactor; /* ... and answers (keep_jwt_claims); with redactor */
    pm_jsonl_writer *record;        /* borrowed; NULL = no --record */
    reports_builder *report;        /* borrowed; NULL = no --out-dir; used under report_lock */
    pthread_mutex_t *report_lock;
    int nice;                       /* the shadow thread's niceness (the client's path comes first) */
} pipeline_shadow_options;

typedef struct pipeline_shadow_stats {
    pipeline_counts counts;         /* results judged, verdicts, diff failures */
    uint64_t bad_records;           /* shadow copies or results that did not parse */
} pipeline_shadow_stats;

typedef struct pipeline_shadow pipeline_shadow;

pipeline_shadow *pipeline_shadow_new(const pipeline_shadow_options *o, pm_err *err);
/* For tee_options.on_queued (ctx = the shadow): wakes the shadow thread. */
void pipeline_shadow_wakeup(void *ctx);
/* Starts the thread, reading from tee until it stops and its queue is empty. */
int pipeline_shadow_start(pipeline_shadow *s, tee_front *tee, pm_err *err);
/* Waits at most timeout_s for the thread to finish what it holds, then abandons what is
 * left (counted in *abandoned). Returns 0, or -1 with err when the thread failed. */
int pipeline_shadow_join(pipeline_shadow *s, double timeout_s, uint64_t *abandoned, pm_err *err);
/* Thread-safe snapshot. */
void pipeline_shadow_get_stats(pipeline_shadow *s, pipeline_shadow_stats *out);
/* True (with err) when the thread has ended on an error while the tee still runs (a
 * --record file that cannot be written): the front goes on, the shadows stop. */
bool pipeline_shadow_failed(pipeline_shadow *s, pm_err *err);
void pipeline_shadow_free(pipeline_shadow *s);

#endif
