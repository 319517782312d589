/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handoff.c — the bounded hand-off between a producing thread and the one thread that
 * consumes after it (pm_handoff): capture's packet loop → its record writer, replay's
 * loop → run's diff and report stages.
 *
 * Why one: both pairs need the same things, and each had its own copy. The producer moves
 * each item over whole (a pointer and a few words, copied into the ring: nothing of what
 * it points to is copied) and goes on; the consumer takes items in order, so what it
 * writes keeps the producer's order. The ring is bounded (PM_HANDOFF_CAP items): a
 * producer faster than the consumer waits for room, so memory does not grow with the
 * input — and is woken when half the ring is free, not for each slot. The consumer is
 * woken for a batch (WAKE_AT items) or finds what came within wait_ms, and then calls
 * idle when nothing came (a quiet live capture still flushes its output on time).
 *
 * Items the consumer is done with go back to the producer, which frees them on its own
 * thread at its next push: glibc's malloc then takes them back through that thread's own
 * cache instead of two threads contending for one arena (perf, in capture and run: the
 * consumer freeing doubled malloc's and free's cost). After the consumer fails (a full
 * disk) it takes nothing more: what comes is freed unread, and the next push returns the
 * error, which stops the producer.
 */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define WAKE_AT 32 /* the consumer is woken for a batch, not for each item */

struct pm_handoff {
    pm_handoff_ops ops;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    unsigned char *ring;      /* PM_HANDOFF_CAP items of ops.item_size */
    size_t head, n;
    unsigned char *spent;     /* taken, for the producer to free */
    size_t nspent;
    bool producer_waiting;
    bool closed;              /* no more pushes: drain and stop */
    atomic_bool failed;
    pm_err err;               /* written by the consumer before failed is set */
};

static void *slot(unsigned char *base, const pm_handoff *h, size_t i)
{
    return base + i * h->ops.item_size;
}

static void free_items(pm_handoff *h, unsigned char *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h->ops.free_item(h->ctx, slot(items, h, i));
}

/* Gives an item the consumer is done with back to the producer (under the lock); with
 * the return list full, frees it here instead. */
static void give_back(pm_handoff *h, const void *item)
{
    if (h->nspent < PM_HANDOFF_CAP) {
        memcpy(slot(h->spent, h, h->nspent++), item, h->ops.item_size);
        return;
    }
    unsigned char copy[PM_HANDOFF_ITEM_MAX];
    memcpy(copy, item, h->ops.item_size);
    pthread_mutex_unlock(&h->lock);
    h->ops.free_item(h->ctx, copy);
    pthread_mutex_lock(&h->lock);
}

static bool wait_for_items(pm_handoff *h)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)h->ops.wait_ms * 1000000L;
    while (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&h->not_empty, &h->lock, &until) == 0 || h->n > 0;
}

static void *consumer_main(void *arg)
{
    pm_handoff *h = arg;
    if (h->ops.nice)
        setpriority(PRIO_PROCESS, (id_t)gettid(), h->ops.nice); /* best effort */
    unsigned char it[PM_HANDOFF_ITEM_MAX];
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->n == 0 && !h->closed) {
            if (!wait_for_items(h) && h->ops.idle) {
                pthread_mutex_unlock(&h->lock);
                h->ops.idle(h->ctx);
                pthread_mutex_lock(&h->lock);
            }
        }
        if (h->n == 0)
            break; /* closed and drained */
        memcpy(it, slot(h->ring, h, h->head), h->ops.item_size);
        h->head = (h->head + 1) % PM_HANDOFF_CAP;
        h->n--;
        if (h->producer_waiting && (h->n <= PM_HANDOFF_CAP / 2 || atomic_load(&h->failed))) {
            h->producer_waiting = false; /* woken for a batch of room */
            pthread_cond_signal(&h->not_full);
        }
        pthread_mutex_unlock(&h->lock);
        if (!atomic_load(&h->failed)) {
            pm_err err;
            if (h->ops.take(h->ctx, it, &err) != 0) {
                h->err = err;
                atomic_store(&h->failed, true);
            }
        }
        pthread_mutex_lock(&h->lock);
        give_back(h, it);
        if (atomic_load(&h->failed) && h->producer_waiting) {
            h->producer_waiting = false; /* a waiting push returns the error */
            pthread_cond_signal(&h->not_full);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* What start set up, taken down again (the thread is not running). */
static void destroy(pm_handoff *h)
{
    pthread_cond_destroy(&h->not_full);
    pthread_cond_destroy(&h->not_empty);
    pthread_mutex_destroy(&h->lock);
    free(h->ring);
    free(h->spent);
    free(h);
}

pm_handoff *pm_handoff_start(const pm_handoff_ops *ops, void *ctx, pm_err *err)
{
    if (ops->item_size == 0 || ops->item_size > PM_HANDOFF_ITEM_MAX) {
        pm_err_set(err, "hand-off: item size %zu out of range", ops->item_size);
        return NULL;
    }
    pm_handoff *h = calloc(1, sizeof *h);
    if (h) {
        h->ring = malloc(PM_HANDOFF_CAP * ops->item_size);
        h->spent = malloc(PM_HANDOFF_CAP * ops->item_size);
    }
    if (!h || !h->ring || !h->spent) {
        if (h) {
            free(h->ring);
            free(h->spent);
        }
        free(h);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    h->ops = *ops;
    if (h->ops.wait_ms == 0)
        h->ops.wait_ms = 50;
    h->ctx = ctx;
    atomic_init(&h->failed, false);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->not_empty, NULL);
    pthread_cond_init(&h->not_full, NULL);
    if (pthread_create(&h->thread, NULL, consumer_main, h) != 0) {
        destroy(h);
        pm_err_set(err, "cannot start a thread");
        return NULL;
    }
    return h;
}

int pm_handoff_push(pm_handoff *h, const void *item, pm_err *err)
{
    unsigned char spent[PM_HANDOFF_CAP * PM_HANDOFF_ITEM_MAX];
    size_t nspent = 0;
    pthread_mutex_lock(&h->lock);
    if (h->nspent >= WAKE_AT) {
        nspent = h->nspent;
        memcpy(spent, h->spent, nspent * h->ops.item_size);
        h->nspent = 0;
    }
    while (h->n == PM_HANDOFF_CAP && !atomic_load(&h->failed)) {
        h->producer_waiting = true;
        pthread_cond_wait(&h->not_full, &h->lock);
    }
    bool failed = atomic_load(&h->failed);
    if (failed) {
        if (err)
            *err = h->err;
    } else {
        memcpy(slot(h->ring, h, (h->head + h->n) % PM_HANDOFF_CAP), item, h->ops.item_size);
        if (++h->n == WAKE_AT)
            pthread_cond_signal(&h->not_empty);
    }
    pthread_mutex_unlock(&h->lock);
    free_items(h, spent, nspent);
    if (failed) {
        unsigned char copy[PM_HANDOFF_ITEM_MAX];
        memcpy(copy, item, h->ops.item_size);
        h->ops.free_item(h->ctx, copy);
        return -1;
    }
    return 0;
}

size_t pm_handoff_depth(pm_handoff *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->n;
    pthread_mutex_unlock(&h->lock);
    return n;
}

bool pm_handoff_failed(pm_handoff *h)
{
    return atomic_load(&h->failed);
}

int pm_handoff_finish(pm_handoff *h, pm_err *err)
{
    pthread_mutex_lock(&h->lock);
    h->closed = true;
    pthread_cond_signal(&h->not_empty);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    free_items(h, h->spent, h->nspent);
    int rc = 0;
    if (atomic_load(&h->failed)) {
        if (err)
            *err = h->err;
        rc = -1;
    }
    destroy(h);
    return rc;
}
