/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reader.c — the capture file read ahead on a thread of its own (rp_reader): its lines
 * read, parsed into records and put in request order (order.c's window) while the replay
 * loop drives the transfers.
 *
 * Why: the loop thread is what bounds replay's throughput (it runs libcurl for both
 * targets), and reading a record cost it about a tenth of its instructions; the machine's
 * second core had room. The records come over in batches (BATCH, under one lock and at
 * most one wake-up each way), in the order the window gives them, each with its `late`
 * mark, so the loop counts exactly what it counted when it read them itself.
 *
 * Bounded: the window's records plus RING records ahead. Only for a regular file (the
 * caller's choice): a read there never waits for long, so stopping early (--limit, a
 * signal, an error) joins the thread at once; from a pipe the loop reads itself.
 */
#include "replay_internal.h"

#include <pthread.h>
#include <stdlib.h>

#define BATCH 64           /* records moved per lock */
#define RING (4 * BATCH)   /* records read ahead of the loop, at most */

typedef struct {
    rp_record *record;
    bool late;
} item;

struct rp_reader {
    pm_jsonl_reader *in;  /* the thread's */
    rp_window *window;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    item ring[RING];      /* under lock */
    size_t head, n;
    bool ended;           /* the thread is done: rc and err say how */
    bool quit;            /* the loop is gone: stop reading */
    bool loop_waiting, thread_waiting;
    double progress;      /* pm_jsonl_reader_progress as of the last batch */
    int rc;               /* 0: the end of the input; -1: err */
    pm_err err;
    item taken[BATCH];    /* the loop's: a batch out of the ring */
    size_t ntaken, next_taken;
};

/* Moves a batch into the ring, waiting for room; false when the loop has quit. */
static bool put(rp_reader *r, const item *batch, size_t n)
{
    double progress = pm_jsonl_reader_progress(r->in);
    pthread_mutex_lock(&r->lock);
    r->progress = progress;
    while (r->n + n > RING && !r->quit) {
        r->thread_waiting = true;
        pthread_cond_wait(&r->not_full, &r->lock);
    }
    bool quit = r->quit;
    if (!quit) {
        for (size_t i = 0; i < n; i++)
            r->ring[(r->head + r->n + i) % RING] = batch[i];
        r->n += n;
        if (r->loop_waiting) {
            r->loop_waiting = false;
            pthread_cond_signal(&r->not_empty);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return !quit;
}

static void free_items(item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rp_record_free(items[i].record);
}

static void *reader_main(void *arg)
{
    rp_reader *r = arg;
    item batch[BATCH];
    size_t n = 0;
    pm_err err = {0};
    int rc;
    for (;;) {
        uint64_t late = 0;
        rp_record *rec = NULL;
        rc = rp_window_next(r->window, &rec, &late, &err);
        if (rc != 1)
            break;
        batch[n++] = (item){rec, late > 0};
        if (n == BATCH) {
            if (!put(r, batch, n)) {
                free_items(batch, n);
                return NULL;
            }
            n = 0;
        }
    }
    if (n > 0 && !put(r, batch, n))
        free_items(batch, n);
    double progress = pm_jsonl_reader_progress(r->in);
    pthread_mutex_lock(&r->lock);
    r->progress = progress;
    r->ended = true;
    r->rc = rc < 0 ? -1 : 0;
    r->err = err;
    if (r->loop_waiting) {
        r->loop_waiting = false;
        pthread_cond_signal(&r->not_empty);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

rp_reader *rp_reader_start(pm_jsonl_reader *in, size_t window, pm_err *err)
{
    rp_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->window = rp_window_new(in, window))) {
        free(r);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    r->in = in;
    r->progress = pm_jsonl_reader_progress(in);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->not_empty, NULL);
    pthread_cond_init(&r->not_full, NULL);
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
        pthread_cond_destroy(&r->not_full);
        pthread_cond_destroy(&r->not_empty);
        pthread_mutex_destroy(&r->lock);
        rp_window_free(r->window);
        free(r);
        pm_err_set(err, "cannot start a thread");
        return NULL;
    }
    pthread_setname_np(r->thread, "replay-read"); /* top -H, /proc, perf's per-thread split */
    return r;
}

int rp_reader_next(rp_reader *r, rp_record **record, uint64_t *late, pm_err *err)
{
    if (r->next_taken == r->ntaken) {
        pthread_mutex_lock(&r->lock);
        while (r->n == 0 && !r->ended) {
            r->loop_waiting = true;
            pthread_cond_wait(&r->not_empty, &r->lock);
        }
        size_t n = r->n < BATCH ? r->n : BATCH;
        for (size_t i = 0; i < n; i++)
            r->taken[i] = r->ring[(r->head + i) % RING];
        r->head = (r->head + n) % RING;
        r->n -= n;
        r->ntaken = n;
        r->next_taken = 0;
        if (r->thread_waiting && r->n + BATCH <= RING) {
            r->thread_waiting = false;
            pthread_cond_signal(&r->not_full);
        }
        int rc = r->rc;
        if (n == 0 && rc != 0 && err)
            *err = r->err;
        pthread_mutex_unlock(&r->lock);
        if (n == 0)
            return rc;
    }
    item it = r->taken[r->next_taken++];
    if (it.late && late)
        (*late)++;
    *record = it.record;
    return 1;
}

double rp_reader_progress(rp_reader *r)
{
    pthread_mutex_lock(&r->lock);
    double progress = r->progress;
    pthread_mutex_unlock(&r->lock);
    return progress;
}

void rp_reader_free(rp_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->quit = true;
    pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    free_items(r->taken + r->next_taken, r->ntaken - r->next_taken);
    for (size_t i = 0; i < r->n; i++)
        rp_record_free(r->ring[(r->head + i) % RING].record);
    pthread_cond_destroy(&r->not_full);
    pthread_cond_destroy(&r->not_empty);
    pthread_mutex_destroy(&r->lock);
    rp_window_free(r->window);
    free(r);
}
