/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stages.c — the second thread of `pmirror run` (diff and report) and of `pmirror replay`
 * (writing its results), fed by the replay loop (replay_run_handoff) through core's
 * bounded hand-off (pm_handoff).
 *
 * Writing each result's text (hashing, redacting and escaping both answers), diffing it
 * and scoring it is ~40% of run's CPU (bench/run.sh, perf); on one thread that was time
 * the replay loop did not spend driving the targets. So the loop hands each finished
 * exchange over whole and this thread, on the second core, writes the result's text and
 * gives it to the result sink (sink.c). One consumer over a FIFO keeps the kept files in
 * the order results come out, as `pmirror replay` writes them.
 *
 * When the stages fall behind (the queue half full), the replay thread writes the result
 * text itself before queueing, in time it would otherwise spend waiting for room, and the
 * stages only diff and score: the two threads share the work as their pace asks. The text
 * is the same either way. Once the stages fail (a full disk, a result diff cannot read),
 * the next push returns their error, which stops the replay.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#define TICK_MS 200                   /* an idle queue still flushes the kept files on time */
#define STAGES_NICE 5                 /* see pipeline_stages_start */
#define BEHIND (PM_HANDOFF_CAP / 2)   /* queued exchanges past which the replay thread writes results */

/* An exchange in the queue, with its result text when the replay thread wrote it. */
typedef struct stage_item {
    replay_exchange *x;
    char *text; /* NULL: the stages' thread writes it */
    size_t len;
} stage_item;

struct pipeline_stages {
    pipeline_sink *sink;
    pm_handoff *handoff;
    pm_jtext text;      /* the result being written (stages' thread) */
    pm_jtape tokens;    /* ... its tokens, kept as it is written: the diff does not parse it */
    pm_jtext push_text; /* results the replay thread writes (pipeline_stages_push) */
};

static int take(void *ctx, void *p, pm_err *err)
{
    pipeline_stages *st = ctx;
    const stage_item *it = p;
    const char *text = it->text;
    size_t len = it->len;
    const pm_jtape *tokens = NULL;
    if (!text) {
        if (replay_exchange_text(it->x, &st->text) != 0)
            return pm_err_set(err, "out of memory writing a result");
        text = st->text.buf;
        len = st->text.len;
        tokens = pm_jtext_tape_done(&st->text, JSON_PARSER_MAX_DEPTH);
    }
    return pipeline_sink_add(st->sink, text, len, tokens, NULL, err);
}

static void free_item(void *ctx, void *p)
{
    (void)ctx;
    stage_item *it = p;
    replay_exchange_free(it->x);
    free(it->text);
}

static void idle(void *ctx)
{
    pipeline_stages *st = ctx;
    pipeline_sink_tick(st->sink);
}

pipeline_stages *pipeline_stages_start(const pipeline_sink_options *o, pm_err *err)
{
    pipeline_stages *st = calloc(1, sizeof *st);
    if (!st) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (!(st->sink = pipeline_sink_new(o, err))) {
        free(st);
        return NULL;
    }
    pm_jtext_tape_start(&st->text, &st->tokens);
    /* A little less priority than the replay loop (best effort): on two cores shared with
     * the targets, the loop woken by an answer then takes the CPU from this thread at once
     * instead of waiting out its time slice, and the queue absorbs the difference
     * (bench/run.sh: ~10% more exchanges/s than at equal priority). */
    pm_handoff_ops ops = {.item_size = sizeof(stage_item), .take = take, .free_item = free_item, .idle = idle,
                          .wait_ms = TICK_MS, .nice = STAGES_NICE};
    if (!(st->handoff = pm_handoff_start(&ops, st, err))) {
        pipeline_sink_free(st->sink);
        free(st);
        return NULL;
    }
    return st;
}

int pipeline_stages_push(void *ctx, replay_exchange *x, pm_err *err)
{
    pipeline_stages *st = ctx;
    stage_item it = {x, NULL, 0};
    if (pm_handoff_depth(st->handoff) >= BEHIND && !pm_handoff_failed(st->handoff)) {
        /* The stages are behind: write the result text here, in time the replay loop would
         * otherwise spend waiting for room, and leave the stages the diff. */
        if (replay_exchange_text(x, &st->push_text) == 0 && (it.text = malloc(st->push_text.len + 1))) {
            memcpy(it.text, st->push_text.buf, st->push_text.len + 1);
            it.len = st->push_text.len;
        }
    }
    return pm_handoff_push(st->handoff, &it, err);
}

pipeline_counts pipeline_stages_counts(pipeline_stages *st)
{
    return pipeline_sink_counts(st->sink);
}

int pipeline_stages_finish(pipeline_stages *st, pipeline_counts *counts, pm_err *err)
{
    int rc = pm_handoff_finish(st->handoff, err);
    if (rc == 0)
        rc = pipeline_sink_finish(st->sink, err);
    *counts = pipeline_sink_counts(st->sink);
    pipeline_sink_free(st->sink);
    pm_jtext_free(&st->text);
    pm_jtape_free(&st->tokens);
    pm_jtext_free(&st->push_text);
    free(st);
    return rc;
}
