/*
 * run_stages.c — the diff and report half of `pmirror run` on a thread of its own; and
 * for `pmirror replay` (no diff engine given), the writing of its results.
 *
 * Measured (bench/run.sh, perf): writing each result's text (hashing, redacting and
 * escaping both answers), diffing it and scoring it is ~40% of run's CPU; on one thread
 * that was time the replay loop did not spend driving the targets. So the loop hands each
 * finished exchange over whole (replay_run_handoff) and this thread, on the second core,
 * writes the result text, keeps it (--keep-results), diffs it, keeps the diff and adds it
 * to the report builder. One consumer over a FIFO keeps the kept files in the order
 * results come out, as `pmirror replay` writes them.
 *
 * When the stages fall behind (the queue half full), the replay thread writes the result
 * text itself before queueing, in time it would otherwise spend waiting for room, and the
 * stages only diff and score: the two threads share the work as their pace asks.
 * Measured, 100 000 exchanges against one nginx, 3 alternating runs each: run 9.51 s ->
 * 8.61 s (medians); replay 8.13 s -> 7.52 s. The text is the same either way (the tests
 * pass with it always written on the replay thread).
 *
 * The queue is bounded (QUEUE_CAP exchanges with their answers): a replay loop faster than
 * the stages waits for room, so memory does not grow with the input. Once the stages fail
 * (a full disk, a result diff cannot read), the next push returns their error, which
 * stops the replay; what is still queued is freed unread.
 */
#include "run_stages.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_CAP 256
#define WAKE_AT 32  /* the stages' thread is woken for a batch, not for each exchange */
#define TICK_MS 200 /* ... or after this long: a slow replay's results still flow, and an
                     * idle queue still flushes the kept files on time */
#define STAGES_NICE 5 /* see stages_main */
#define BEHIND (QUEUE_CAP / 2) /* queued exchanges past which the replay thread writes results */

/* An exchange in the queue, with its result text when the replay thread wrote it. */
typedef struct stage_item {
    replay_exchange *x;
    char *text; /* NULL: the stages' thread writes it */
    size_t len;
} stage_item;

struct run_stages {
    run_stages_options o;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    stage_item queue[QUEUE_CAP];
    size_t head, n;
    stage_item spent[QUEUE_CAP]; /* taken, for the replay thread to free */
    size_t nspent;
    pm_jtext push_text; /* results the replay thread writes (run_stages_push) */
    bool closed; /* no more pushes: drain and stop */
    bool failed; /* under lock; err holds why */
    pm_err err;
    pm_jtext text; /* the result being written (stages' thread) */
    _Atomic uint64_t match, mismatch, error, skipped;
};

static void count_verdict(run_stages *st, const char *v)
{
    _Atomic uint64_t *n = !v ? &st->skipped
                          : strcmp(v, "match") == 0    ? &st->match
                          : strcmp(v, "mismatch") == 0 ? &st->mismatch
                          : strcmp(v, "error") == 0    ? &st->error
                                                       : &st->skipped;
    atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

/* One exchange: its result, its diff, its place in the report. */
static int take(run_stages *st, const stage_item *it, pm_err *err)
{
    const char *text = it->text;
    size_t len = it->len;
    if (!text) {
        if (replay_exchange_text(it->x, &st->text) != 0)
            return pm_err_set(err, "out of memory writing a result");
        text = st->text.buf;
        len = st->text.len;
    }
    if (st->o.results && pm_jsonl_writer_write_line(st->o.results, text, len, err) != 0)
        return -1;
    if (!st->o.diff) /* `pmirror replay`: the result is all */
        return 0;
    json_t *d = diff_result_text(st->o.diff, text, len, err);
    if (!d)
        return -1;
    int rc = reports_add(st->o.report, d, err);
    if (rc == 0 && st->o.diffs)
        rc = pm_jsonl_writer_write(st->o.diffs, d, err);
    count_verdict(st, json_string_value(json_object_get(d, "verdict")));
    json_decref(d);
    return rc;
}

static void tick(run_stages *st)
{
    pm_err ignored;
    if (st->o.results)
        pm_jsonl_writer_tick(st->o.results, &ignored);
    if (st->o.diffs)
        pm_jsonl_writer_tick(st->o.diffs, &ignored);
}

static void *stages_main(void *arg)
{
    run_stages *st = arg;
    /* A little less priority than the replay loop (best effort): on two cores shared with
     * the targets, the loop woken by an answer then takes the CPU from this thread at once
     * instead of waiting out its time slice, and the queue absorbs the difference.
     * bench/run.sh: ~10% more exchanges/s than at equal priority. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), STAGES_NICE);
    bool failed = false;
    pthread_mutex_lock(&st->lock);
    for (;;) {
        while (st->n == 0 && !st->closed) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += TICK_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&st->not_empty, &st->lock, &until) != 0) {
                if (st->n > 0)
                    break; /* fewer than WAKE_AT came in TICK_MS */
                pthread_mutex_unlock(&st->lock);
                tick(st);
                pthread_mutex_lock(&st->lock);
            }
        }
        if (st->n == 0)
            break; /* closed and drained */
        stage_item it = st->queue[st->head];
        st->head = (st->head + 1) % QUEUE_CAP;
        st->n--;
        pthread_cond_signal(&st->not_full);
        pthread_mutex_unlock(&st->lock);
        pm_err err;
        int rc = failed ? 0 : take(st, &it, &err);
        pthread_mutex_lock(&st->lock);
        if (st->nspent < QUEUE_CAP) {
            st->spent[st->nspent++] = it;
        } else {
            pthread_mutex_unlock(&st->lock);
            replay_exchange_free(it.x);
            free(it.text);
            pthread_mutex_lock(&st->lock);
        }
        if (rc != 0) {
            failed = st->failed = true;
            st->err = err;
            pthread_cond_signal(&st->not_full); /* a waiting push returns the error */
        }
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

run_stages *run_stages_start(const run_stages_options *o, pm_err *err)
{
    run_stages *st = calloc(1, sizeof *st);
    if (!st) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    st->o = *o;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->not_empty, NULL);
    pthread_cond_init(&st->not_full, NULL);
    if (pthread_create(&st->thread, NULL, stages_main, st) != 0) {
        pthread_cond_destroy(&st->not_full);
        pthread_cond_destroy(&st->not_empty);
        pthread_mutex_destroy(&st->lock);
        free(st);
        pm_err_set(err, "cannot start a thread");
        return NULL;
    }
    return st;
}

/* Takes what the stages are done with (under the lock) into spent[]: the caller frees it
 * on the thread that allocated it, the replay loop's. glibc's malloc then takes it back
 * through that thread's own cache, instead of the stages' thread contending for the
 * replay thread's arena lock and filling its fastbins (perf: ~8% of run's CPU went to
 * lock waits and malloc_consolidate when the stages' thread freed). */
static size_t take_spent(run_stages *st, stage_item *spent)
{
    size_t n = st->nspent;
    memcpy(spent, st->spent, n * sizeof *spent);
    st->nspent = 0;
    return n;
}

static void free_all(stage_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        replay_exchange_free(items[i].x);
        free(items[i].text);
    }
}

int run_stages_push(void *ctx, replay_exchange *x, pm_err *err)
{
    run_stages *st = ctx;
    stage_item spent[QUEUE_CAP];
    size_t nspent = 0;
    stage_item it = {x, NULL, 0};
    pthread_mutex_lock(&st->lock);
    if (st->nspent >= WAKE_AT)
        nspent = take_spent(st, spent);
    if (st->n >= BEHIND && !st->failed) {
        /* The stages are behind: write the result text here, in time the replay loop would
         * otherwise spend waiting for room, and leave the stages the diff. */
        pthread_mutex_unlock(&st->lock);
        if (replay_exchange_text(x, &st->push_text) == 0 && (it.text = malloc(st->push_text.len + 1))) {
            memcpy(it.text, st->push_text.buf, st->push_text.len + 1);
            it.len = st->push_text.len;
        }
        pthread_mutex_lock(&st->lock);
    }
    while (st->n == QUEUE_CAP && !st->failed)
        pthread_cond_wait(&st->not_full, &st->lock);
    if (st->failed) {
        *err = st->err;
        pthread_mutex_unlock(&st->lock);
        free_all(spent, nspent);
        free_all(&it, 1);
        return -1;
    }
    st->queue[(st->head + st->n) % QUEUE_CAP] = it;
    if (++st->n == WAKE_AT)
        pthread_cond_signal(&st->not_empty);
    pthread_mutex_unlock(&st->lock);
    free_all(spent, nspent);
    return 0;
}

run_stages_counts run_stages_get_counts(run_stages *st)
{
    run_stages_counts c = {
        atomic_load_explicit(&st->match, memory_order_relaxed),
        atomic_load_explicit(&st->mismatch, memory_order_relaxed),
        atomic_load_explicit(&st->error, memory_order_relaxed),
        atomic_load_explicit(&st->skipped, memory_order_relaxed),
    };
    return c;
}

int run_stages_finish(run_stages *st, run_stages_counts *counts, pm_err *err)
{
    pthread_mutex_lock(&st->lock);
    st->closed = true;
    pthread_cond_signal(&st->not_empty);
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->thread, NULL);
    free_all(st->spent, st->nspent);
    *counts = run_stages_get_counts(st);
    int rc = 0;
    if (st->failed) {
        *err = st->err;
        rc = -1;
    }
    pthread_cond_destroy(&st->not_full);
    pthread_cond_destroy(&st->not_empty);
    pthread_mutex_destroy(&st->lock);
    pm_jtext_free(&st->text);
    pm_jtext_free(&st->push_text);
    free(st);
    return rc;
}
