/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/handoff.h — the bounded hand-off of items from one thread to another (handoff.c). One
 * part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_HANDOFF_H
#define PM_CORE_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* A producer thread moves items to one consumer thread, in order, through a bounded ring:
 * the producer waits while it is full; items the consumer is done with are freed on the
 * producer's thread. Used by capture (packet loop → record writer) and run (replay loop →
 * diff and report stages). */
#define PM_HANDOFF_CAP 256     /* items in the ring */
#define PM_HANDOFF_ITEM_MAX 32 /* bytes of one item at most (a pointer and a few words) */

typedef struct pm_handoff_ops {
    size_t item_size;                                /* bytes of one item, copied in and out */
    int (*take)(void *ctx, void *item, pm_err *err); /* consumer: the item's work; non-zero: fails */
    void (*free_item)(void *ctx, void *item);        /* producer's thread: frees what it holds */
    void (*idle)(void *ctx);                         /* consumer, wait_ms without items; may be NULL */
    unsigned wait_ms;                                /* 0: 50 */
    int nice;                                        /* the consumer's niceness (0: unchanged) */
} pm_handoff_ops;

typedef struct pm_handoff pm_handoff;

/* Starts the consumer thread (ctx goes to every callback). */
pm_handoff *pm_handoff_start(const pm_handoff_ops *ops, void *ctx, pm_err *err);
/* Copies item in (what it points to passes to the hand-off), waiting while the ring is
 * full. -1 with the consumer's error once it has failed (the item is freed). */
int pm_handoff_push(pm_handoff *h, const void *item, pm_err *err);
/* Items waiting now (any thread). */
size_t pm_handoff_depth(pm_handoff *h);
bool pm_handoff_failed(pm_handoff *h);
/* The consumer takes what is queued, then stops; frees h: 0, or -1 with its first error. */
int pm_handoff_finish(pm_handoff *h, pm_err *err);

#endif
