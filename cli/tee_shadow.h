/*
 * tee_shadow.h — `pmirror tee`'s shadow side (tee_shadow.c), private to cli/: the thread
 * that takes shadow copies off the tee's queue and runs them through replay, diff,
 * metrics, the --record file and the report builder.
 */
#ifndef PM_CLI_TEE_SHADOW_H
#define PM_CLI_TEE_SHADOW_H

#include <pthread.h>

#include "tee/tee.h"
#include "diff/diff.h"
#include "replay/replay.h"
#include "reports/reports.h"

typedef struct tee_shadow_options {
    replay_options replay;          /* .suite: the targets (proxy mode: primary as `recorded` + shadow) */
    diff_engine *diff;              /* borrowed */
    tee_metrics *metrics;   /* borrowed */
    const pm_redactor *redactor;    /* redacts requests in what is written; NULL = --no-redact */
    const pm_redactor *answer_redactor; /* ... and answers (keep_jwt_claims); with redactor */
    pm_jsonl_writer *record;        /* borrowed; NULL = no --record */
    reports_builder *report;        /* borrowed; NULL = no --out-dir; used under report_lock */
    pthread_mutex_t *report_lock;
    int nice;                       /* the shadow thread's niceness (the client's path comes first) */
} tee_shadow_options;

typedef struct tee_shadow_stats {
    uint64_t results, match, mismatch, error, skipped;
    uint64_t diff_failures;         /* results diff could not judge (counted, skipped) */
    uint64_t bad_records;           /* shadow copies or results that did not parse */
} tee_shadow_stats;

typedef struct tee_shadow tee_shadow;

tee_shadow *tee_shadow_new(const tee_shadow_options *o, pm_err *err);
/* For tee_options.on_queued (ctx = the tee_shadow): wakes the shadow thread. */
void tee_shadow_wakeup(void *ctx);
/* Starts the thread, reading from tee until it stops and its queue is empty. */
int tee_shadow_start(tee_shadow *s, tee_front *tee, pm_err *err);
/* Waits at most timeout_s for the thread to finish what it holds, then abandons what is
 * left (counted in *abandoned). Returns 0, or -1 with err when the thread failed. */
int tee_shadow_join(tee_shadow *s, double timeout_s, uint64_t *abandoned, pm_err *err);
/* Thread-safe snapshot. */
void tee_shadow_get_stats(tee_shadow *s, tee_shadow_stats *out);
/* True (with err) when the thread has ended on an error while the tee still runs (a
 * --record file that cannot be written): the front goes on, the shadows stop. */
bool tee_shadow_failed(tee_shadow *s, pm_err *err);
void tee_shadow_free(tee_shadow *s);

#endif
