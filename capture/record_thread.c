/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record_thread.c — the thread that writes capture records (record_thread.h), on core's
 * bounded hand-off (core/handoff.c).
 *
 * Escaping bodies into JSON and redacting them is about a fifth of capture's CPU, the
 * output more (perf, Quay-shaped traffic); on one thread that is time the packet loop
 * does not spend reading packets. The loop moves each finished exchange here whole (its
 * buffers change hands, nothing is copied) and goes on; records keep the order exchanges
 * finished in.
 */
#include "record_thread.h"

#include <stdlib.h>

typedef struct {
    http_exchange *x;
    uint64_t conn_id;
} item;

struct record_thread {
    record_write_fn write;
    void *ctx;
    pm_handoff *handoff;
};

static int take(void *ctx, void *p, pm_err *err)
{
    record_thread *rt = ctx;
    const item *it = p;
    return rt->write(rt->ctx, it->x, it->conn_id, err);
}

static void free_item(void *ctx, void *p)
{
    (void)ctx;
    item *it = p;
    http_exchange_clear(it->x);
    free(it->x);
}

record_thread *record_thread_start(record_write_fn write, void *ctx, pm_err *err)
{
    record_thread *rt = calloc(1, sizeof *rt);
    if (!rt) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    rt->write = write;
    rt->ctx = ctx;
    pm_handoff_ops ops = {.item_size = sizeof(item), .take = take, .free_item = free_item, .wait_ms = 50};
    if (!(rt->handoff = pm_handoff_start(&ops, rt, err))) {
        free(rt);
        return NULL;
    }
    return rt;
}

int record_thread_push(record_thread *rt, http_exchange *x, uint64_t conn_id)
{
    item it = {x, conn_id};
    return pm_handoff_push(rt->handoff, &it, NULL);
}

bool record_thread_failed(record_thread *rt)
{
    return pm_handoff_failed(rt->handoff);
}

int record_thread_finish(record_thread *rt, pm_err *err)
{
    int rc = pm_handoff_finish(rt->handoff, err);
    free(rt);
    return rc;
}
