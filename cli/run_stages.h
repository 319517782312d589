/*
 * run_stages.h — `pmirror run`'s second half (run_stages.c), private to cli/: the thread
 * that takes each finished exchange off the replay loop (replay_run_handoff) through a
 * bounded queue, writes its result, diffs it and adds it to the report builder.
 */
#ifndef PM_CLI_RUN_STAGES_H
#define PM_CLI_RUN_STAGES_H

#include <stdint.h>

#include "diff/diff.h"
#include "replay/replay.h"
#include "reports/reports.h"

typedef struct run_stages_options {
    diff_engine *diff;          /* borrowed, used on the stages' thread only until finish;
                                 * NULL: results only (`pmirror replay`) */
    reports_builder *report;    /* the same */
    pm_jsonl_writer *results;   /* --keep-results, else NULL (borrowed, the same) */
    pm_jsonl_writer *diffs;
} run_stages_options;

typedef struct run_stages_counts {
    uint64_t match, mismatch, error, skipped;
} run_stages_counts;

typedef struct run_stages run_stages;

run_stages *run_stages_start(const run_stages_options *o, pm_err *err);
/* A replay_handoff_fn (ctx = the run_stages): queues x, waiting while the queue is full.
 * -1 with the stages' error once they have failed (x is freed: it is owned either way). */
int run_stages_push(void *ctx, replay_exchange *x, pm_err *err);
/* The verdicts so far (any thread: for progress lines). */
run_stages_counts run_stages_get_counts(run_stages *st);
/* Lets the thread finish what is queued, joins it, sets the final counts and frees st:
 * 0, or -1 with the first error. The borrowed engine, builder and writers are the
 * caller's again. */
int run_stages_finish(run_stages *st, run_stages_counts *counts, pm_err *err);

#endif
