/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_queue.c — the shadow queue: bounded, lock-free, never waits.
 *
 * Front threads (one per client connection) push shadow copies; one consumer pops them.
 * The ring is Dmitry Vyukov's bounded MPMC queue (a sequence number per cell, one CAS per
 * push), so a producer never takes a lock the consumer could hold: a full queue refuses
 * the copy at once and the caller counts the drop. Two bounds apply: the number of copies
 * (--queue) and the bytes they hold (--queue-bytes), so memory stays bounded whatever
 * the bodies weigh.
 */
#include "tee_internal.h"

#include <stdlib.h>

typedef struct cell {
    atomic_size_t seq;
    tee_exchange *x;
} cell;

struct tee_queue {
    cell *cells;
    size_t mask;                /* ring size - 1 (a power of two >= capacity) */
    size_t capacity, byte_limit;
    atomic_size_t head, tail;   /* next push, next pop */
    atomic_size_t depth, bytes; /* admitted and not yet popped */
    atomic_bool closed;
};

tee_queue *tee_queue_new(size_t capacity, size_t byte_limit)
{
    tee_queue *q = calloc(1, sizeof *q);
    size_t ring = 2;
    while (ring < capacity)
        ring *= 2;
    if (q)
        q->cells = calloc(ring, sizeof *q->cells);
    if (!q || !q->cells) {
        free(q);
        return NULL;
    }
    for (size_t i = 0; i < ring; i++)
        atomic_init(&q->cells[i].seq, i);
    q->mask = ring - 1;
    q->capacity = capacity;
    q->byte_limit = byte_limit;
    return q;
}

tee_push_result tee_queue_push(tee_queue *q, tee_exchange *x)
{
    if (atomic_load(&q->closed))
        return TEE_QUEUE_CLOSED;
    /* admission: the count and the bytes, each reserved before the ring is touched, so
     * the ring (at least `capacity` cells) always has room for what was admitted */
    if (atomic_fetch_add(&q->depth, 1) >= q->capacity) {
        atomic_fetch_sub(&q->depth, 1);
        return TEE_QUEUE_FULL;
    }
    size_t size = tee_exchange_bytes(x);
    if (atomic_fetch_add(&q->bytes, size) + size > q->byte_limit) {
        atomic_fetch_sub(&q->bytes, size);
        atomic_fetch_sub(&q->depth, 1);
        return TEE_QUEUE_MEMORY;
    }
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    for (;;) {
        cell *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->x = x;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return TEE_QUEUED;
            }
        } else if (dif < 0) { /* cannot happen after admission; refuse rather than spin */
            atomic_fetch_sub(&q->bytes, size);
            atomic_fetch_sub(&q->depth, 1);
            return TEE_QUEUE_FULL;
        } else {
            pos = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
}

tee_exchange *tee_queue_pop(tee_queue *q)
{
    size_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    cell *c = &q->cells[pos & q->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if ((intptr_t)seq - (intptr_t)(pos + 1) < 0)
        return NULL; /* empty (or a push still writing its cell: next time) */
    atomic_store_explicit(&q->tail, pos + 1, memory_order_relaxed);
    tee_exchange *x = c->x;
    c->x = NULL;
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    atomic_fetch_sub(&q->bytes, tee_exchange_bytes(x));
    atomic_fetch_sub(&q->depth, 1);
    return x;
}

void tee_queue_close(tee_queue *q)
{
    atomic_store(&q->closed, true);
}

bool tee_queue_closed(const tee_queue *q)
{
    return atomic_load(&q->closed);
}

size_t tee_queue_depth(const tee_queue *q)
{
    return atomic_load(&q->depth);
}

size_t tee_queue_bytes(const tee_queue *q)
{
    return atomic_load(&q->bytes);
}

size_t tee_queue_capacity(const tee_queue *q)
{
    return q->capacity;
}

void tee_queue_free(tee_queue *q)
{
    if (!q)
        return;
    tee_exchange *x;
    while ((x = tee_queue_pop(q)))
        tee_exchange_free(x);
    free(q->cells);
    free(q);
}
