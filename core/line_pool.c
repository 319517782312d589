/* SPDX-License-Identifier: Apache-2.0 */
/*
 * line_pool.c — one JSON Lines file mapped line by line through a function on several
 * threads, the results emitted in input order.
 *
 * `pmirror diff` turns each result line into one diff line independently of the others;
 * on a 2-core machine a second thread nearly halves its time. The reader stays on the
 * calling thread: it cuts the input into batches (up to BATCH_LINES lines or
 * BATCH_BYTES bytes, copied), workers map whole batches, and the calling thread emits
 * finished batches strictly in order. At most 2 x workers batches exist at once, so
 * memory is bounded by the batch size, not by the input.
 *
 * The first failing line (in input order) stops the run: lines after it are not emitted
 * and its error names the line number.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define BATCH_LINES 256
#define BATCH_BYTES (4u << 20)

typedef struct batch {
    char *text;                /* the lines, each followed by its NUL */
    size_t used, cap;
    size_t *offsets;           /* line i starts at text + offsets[i] */
    size_t *lens;
    uint64_t *linenos;
    size_t n;
    pm_jtext *outs;            /* one output per line */
    int failed_at;             /* index of the first failing line, -1 none */
    pm_err err;
    enum { BATCH_FREE, BATCH_QUEUED, BATCH_DONE } state;
} batch;

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    batch *ring;
    size_t nring;
    size_t next_work;          /* ring index of the next batch a worker takes */
    size_t queued;             /* batches queued and not yet taken */
    bool closing;
    pm_line_fn fn;
    void **worker_ctx;
};

typedef struct worker_arg {
    struct pool *p;
    void *ctx;
} worker_arg;

static void map_batch(struct pool *p, void *ctx, batch *b)
{
    b->failed_at = -1;
    for (size_t i = 0; i < b->n; i++) {
        pm_jtext_reset(&b->outs[i]);
        if (p->fn(ctx, b->text + b->offsets[i], b->lens[i], &b->outs[i], &b->err) != 0) {
            b->failed_at = (int)i;
            return;
        }
    }
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    struct pool *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queued && !p->closing)
            pthread_cond_wait(&p->work, &p->lock);
        if (!p->queued)
            break;
        batch *b = &p->ring[p->next_work];
        p->next_work = (p->next_work + 1) % p->nring;
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        map_batch(p, w->ctx, b);
        pthread_mutex_lock(&p->lock);
        b->state = BATCH_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static bool batch_add(batch *b, const char *line, size_t len, uint64_t lineno)
{
    if (b->used + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : BATCH_BYTES;
        while (cap < b->used + len + 1)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t)
            return false;
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->used, line, len);
    b->text[b->used + len] = '\0';
    b->offsets[b->n] = b->used;
    b->lens[b->n] = len;
    b->linenos[b->n] = lineno;
    b->used += len + 1;
    b->n++;
    return true;
}

static void batch_free(batch *b)
{
    free(b->text);
    free(b->offsets);
    free(b->lens);
    free(b->linenos);
    for (size_t i = 0; b->outs && i < BATCH_LINES; i++)
        pm_jtext_free(&b->outs[i]);
    free(b->outs);
}

/* Emits a finished batch; -1 when it failed (err names the line) or emit did. */
static int emit_batch(batch *b, pm_line_emit_fn emit, void *emit_ctx, const char *path, pm_err *err)
{
    size_t upto = b->failed_at >= 0 ? (size_t)b->failed_at : b->n;
    for (size_t i = 0; i < upto; i++)
        if (emit(emit_ctx, b->outs[i].buf, b->outs[i].len, err) != 0)
            return -1;
    if (b->failed_at >= 0)
        return pm_err_set(err, "%s:%llu: %s", path, (unsigned long long)b->linenos[b->failed_at], b->err.msg);
    return 0;
}

int pm_lines_map(pm_jsonl_reader *in, const char *path, unsigned workers, void **worker_ctx, pm_line_fn fn,
                 pm_line_emit_fn emit, void *emit_ctx, pm_err *err)
{
    if (workers == 0)
        workers = 1;
    struct pool p = {.fn = fn, .worker_ctx = worker_ctx, .nring = 2 * (size_t)workers};
    p.ring = calloc(p.nring, sizeof *p.ring);
    pthread_t *threads = calloc(workers, sizeof *threads);
    worker_arg *args = calloc(workers, sizeof *args);
    int rc = 0;
    if (!p.ring || !threads || !args) {
        free(p.ring);
        free(threads);
        free(args);
        return pm_err_set(err, "out of memory");
    }
    for (size_t i = 0; i < p.nring; i++) {
        batch *b = &p.ring[i];
        b->offsets = malloc(BATCH_LINES * sizeof *b->offsets);
        b->lens = malloc(BATCH_LINES * sizeof *b->lens);
        b->linenos = malloc(BATCH_LINES * sizeof *b->linenos);
        b->outs = calloc(BATCH_LINES, sizeof *b->outs);
        if (!b->offsets || !b->lens || !b->linenos || !b->outs)
            rc = pm_err_set(err, "out of memory");
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.done, NULL);
    unsigned started = 0;
    for (; rc == 0 && started < workers; started++) {
        args[started] = (worker_arg){&p, worker_ctx[started]};
        if (pthread_create(&threads[started], NULL, worker_main, &args[started]) != 0) {
            rc = pm_err_set(err, "cannot start a worker thread");
            break;
        }
    }
    size_t fill = 0, oldest = 0, in_flight = 0;
    bool eof = false;
    while (rc == 0 && (!eof || in_flight > 0)) {
        /* fill and queue a batch while the ring has room */
        if (!eof && in_flight < p.nring) {
            batch *b = &p.ring[fill];
            b->n = 0;
            b->used = 0;
            const char *line;
            size_t len;
            int got = 1;
            while (b->n < BATCH_LINES && b->used < BATCH_BYTES &&
                   (got = pm_jsonl_reader_next_text(in, &line, &len, err)) == 1)
                if (!batch_add(b, line, len, pm_jsonl_reader_line(in))) {
                    rc = pm_err_set(err, "out of memory");
                    break;
                }
            if (got < 0)
                rc = -1;
            if (got <= 0)
                eof = true;
            if (rc == 0 && b->n > 0) {
                pthread_mutex_lock(&p.lock);
                b->state = BATCH_QUEUED;
                p.queued++;
                pthread_cond_signal(&p.work);
                pthread_mutex_unlock(&p.lock);
                fill = (fill + 1) % p.nring;
                in_flight++;
            }
            continue;
        }
        /* else emit the oldest batch once it is done */
        batch *b = &p.ring[oldest];
        pthread_mutex_lock(&p.lock);
        while (b->state != BATCH_DONE)
            pthread_cond_wait(&p.done, &p.lock);
        pthread_mutex_unlock(&p.lock);
        b->state = BATCH_FREE;
        rc = emit_batch(b, emit, emit_ctx, path, err);
        oldest = (oldest + 1) % p.nring;
        in_flight--;
    }
    /* stop: let workers finish what they took, then join */
    pthread_mutex_lock(&p.lock);
    p.closing = true;
    p.queued = 0; /* after an error, queued batches are not mapped */
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < p.nring; i++)
        batch_free(&p.ring[i]);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.done);
    free(p.ring);
    free(threads);
    free(args);
    return rc;
}
