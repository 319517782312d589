/* SPDX-License-Identifier: Apache-2.0 */
/*
 * order.c — request order from a capture file, in bounded memory.
 *
 * Capture writes an exchange when it is over, so its file is in completion order; replay
 * needs request order to keep the recording's causality. A min-heap of at most `size`
 * records (by ts, then session, then seq) restores it as long as no exchange lasted
 * longer than `size` later exchanges took to complete; one that did is replayed late
 * and counted (`late`), never dropped. The window also stops growing at 256 MiB of
 * bodies, so memory stays bounded whatever the capture holds. Also: shard hashing and
 * timestamp parsing.
 */
#include "replay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW_BYTES ((size_t)256 << 20)

typedef struct {
    rp_record *record;
    int64_t ts;
    uint64_t arrival;
    size_t bytes;
} entry;

struct rp_window {
    pm_jsonl_reader *in;
    pm_jtape tape; /* each line's, reused (the record keeps a copy of its tokens) */
    entry *heap;
    size_t n, size;
    size_t bytes; /* body bytes held: the window also stops at MAX_WINDOW_BYTES */
    uint64_t arrivals;
    int64_t last_ts_out;
    bool eof;
};

static bool before(const entry *a, const entry *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    return a->arrival < b->arrival;
}

static void sift_up(rp_window *w, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&w->heap[i], &w->heap[parent]))
            break;
        entry t = w->heap[i];
        w->heap[i] = w->heap[parent];
        w->heap[parent] = t;
        i = parent;
    }
}

static void sift_down(rp_window *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->n && before(&w->heap[l], &w->heap[m]))
            m = l;
        if (r < w->n && before(&w->heap[r], &w->heap[m]))
            m = r;
        if (m == i)
            return;
        entry t = w->heap[i];
        w->heap[i] = w->heap[m];
        w->heap[m] = t;
        i = m;
    }
}

rp_window *rp_window_new(pm_jsonl_reader *in, size_t size)
{
    rp_window *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->in = in;
    w->size = size ? size : 1;
    w->heap = calloc(w->size + 1, sizeof *w->heap);
    w->last_ts_out = INT64_MIN;
    if (!w->heap) {
        free(w);
        return NULL;
    }
    return w;
}

/* Tops the heap up to `size` records (fewer when their bodies pass MAX_WINDOW_BYTES). */
static int fill(rp_window *w, pm_err *err)
{
    while (!w->eof && w->n < w->size && (w->n == 0 || w->bytes < MAX_WINDOW_BYTES)) {
        const char *line;
        size_t text_len;
        int rc = pm_jsonl_reader_next_tape(w->in, &w->tape, &line, &text_len, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            w->eof = true;
            break;
        }
        char *text = malloc(text_len + 1);
        if (!text)
            return pm_err_set(err, "out of memory");
        memcpy(text, line, text_len);
        text[text_len] = '\0';
        rp_record *rec = rp_record_new(text, text_len, &w->tape, err);
        if (!rec)
            return -1;
        if (!rec->has_ts) {
            rp_record_free(rec);
            return pm_err_set(err, "record %llu: no valid \"ts\"", (unsigned long long)w->arrivals + 1);
        }
        size_t bytes = rp_record_body_bytes(rec);
        w->bytes += bytes + text_len;
        w->heap[w->n] = (entry){rec, rec->ts_us, w->arrivals++, bytes + text_len};
        sift_up(w, w->n++);
    }
    return 0;
}

int rp_window_next(rp_window *w, rp_record **record, uint64_t *late, pm_err *err)
{
    if (fill(w, err) != 0)
        return -1;
    if (w->n == 0)
        return 0;
    entry top = w->heap[0];
    w->bytes -= top.bytes;
    w->heap[0] = w->heap[--w->n];
    sift_down(w, 0);
    if (top.ts < w->last_ts_out && late)
        (*late)++;
    else
        w->last_ts_out = top.ts;
    *record = top.record;
    return 1;
}

bool rp_window_peek_ts(rp_window *w, int64_t *ts_us, pm_err *err)
{
    if (fill(w, err) != 0 || w->n == 0)
        return false;
    *ts_us = w->heap[0].ts;
    return true;
}

void rp_window_free(rp_window *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        rp_record_free(w->heap[i].record);
    pm_jtape_free(&w->tape);
    free(w->heap);
    free(w);
}

unsigned rp_shard_of(const rp_record *record, unsigned n)
{
    return pm_shard_of(record->repo, record->user, record->session, n);
}
