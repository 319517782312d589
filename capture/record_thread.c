/*
 * record_thread.c — the thread that writes capture records (record_thread.h).
 *
 * Measured (perf, 20 000 exchanges of Quay-shaped JSON): escaping bodies into JSON and
 * redacting them is about a fifth of capture's CPU, the output more; on one thread that is
 * time the packet loop does not spend reading packets. The loop moves each finished
 * exchange here whole (its buffers change hands, nothing is copied) and goes on.
 *
 * One consumer over a FIFO keeps records in the order exchanges finished. The queue is
 * bounded (QUEUE_CAP exchanges): a loop faster than the writer waits for room, so memory
 * does not grow with the input. After a failed write (a full disk) the thread frees what
 * comes without writing it, and the loop sees the failure at its next push.
 */
#include "record_thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_CAP 256
#define WAKE_AT 32  /* the thread is woken for a batch, not for each exchange ... */
#define WAIT_MS 50  /* ... or finds what came within this long (a quiet live capture) */

typedef struct {
    http_exchange *x;
    uint64_t conn_id;
} item;

struct record_thread {
    record_write_fn write;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    item queue[QUEUE_CAP];
    size_t head, n;
    http_exchange *spent[QUEUE_CAP]; /* written, for the loop to free (see push) */
    size_t nspent;
    bool producer_waiting;
    bool closed;
    atomic_bool failed;
    pm_err err; /* written by the thread before failed is set */
};

static void free_exchange(http_exchange *x)
{
    http_exchange_clear(x);
    free(x);
}

static void *thread_main(void *arg)
{
    record_thread *rt = arg;
    pthread_mutex_lock(&rt->lock);
    for (;;) {
        while (rt->n == 0 && !rt->closed) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += WAIT_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&rt->not_empty, &rt->lock, &until);
        }
        if (rt->n == 0)
            break; /* closed and drained */
        item it = rt->queue[rt->head];
        rt->head = (rt->head + 1) % QUEUE_CAP;
        rt->n--;
        if (rt->producer_waiting && rt->n <= QUEUE_CAP / 2) { /* woken for a batch of room */
            rt->producer_waiting = false;
            pthread_cond_signal(&rt->not_full);
        }
        pthread_mutex_unlock(&rt->lock);
        if (!atomic_load(&rt->failed)) {
            pm_err err;
            if (rt->write(rt->ctx, it.x, it.conn_id, &err) != 0) {
                rt->err = err;
                atomic_store(&rt->failed, true);
            }
        }
        pthread_mutex_lock(&rt->lock);
        if (rt->nspent < QUEUE_CAP) {
            rt->spent[rt->nspent++] = it.x;
        } else {
            pthread_mutex_unlock(&rt->lock);
            free_exchange(it.x);
            pthread_mutex_lock(&rt->lock);
        }
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
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
    atomic_init(&rt->failed, false);
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->not_empty, NULL);
    pthread_cond_init(&rt->not_full, NULL);
    if (pthread_create(&rt->thread, NULL, thread_main, rt) != 0) {
        pthread_cond_destroy(&rt->not_full);
        pthread_cond_destroy(&rt->not_empty);
        pthread_mutex_destroy(&rt->lock);
        free(rt);
        pm_err_set(err, "cannot start a thread");
        return NULL;
    }
    return rt;
}

/* Exchanges the thread has written are freed here, on the thread that allocated them:
 * glibc's malloc takes them back through this thread's own cache instead of the two
 * threads contending for one arena (perf: malloc and free doubled when the record thread
 * freed). */
static void free_spent(http_exchange **spent, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_exchange(spent[i]);
}

int record_thread_push(record_thread *rt, http_exchange *x, uint64_t conn_id)
{
    if (atomic_load(&rt->failed)) {
        free_exchange(x);
        return -1;
    }
    http_exchange *spent[QUEUE_CAP];
    size_t nspent = 0;
    pthread_mutex_lock(&rt->lock);
    if (rt->nspent >= WAKE_AT) {
        nspent = rt->nspent;
        memcpy(spent, rt->spent, nspent * sizeof *spent);
        rt->nspent = 0;
    }
    while (rt->n == QUEUE_CAP) {
        rt->producer_waiting = true;
        pthread_cond_wait(&rt->not_full, &rt->lock);
    }
    rt->queue[(rt->head + rt->n) % QUEUE_CAP] = (item){x, conn_id};
    if (++rt->n == WAKE_AT)
        pthread_cond_signal(&rt->not_empty);
    pthread_mutex_unlock(&rt->lock);
    free_spent(spent, nspent);
    return 0;
}

bool record_thread_failed(record_thread *rt)
{
    return atomic_load(&rt->failed);
}

int record_thread_finish(record_thread *rt, pm_err *err)
{
    pthread_mutex_lock(&rt->lock);
    rt->closed = true;
    pthread_cond_signal(&rt->not_empty);
    pthread_mutex_unlock(&rt->lock);
    pthread_join(rt->thread, NULL);
    free_spent(rt->spent, rt->nspent);
    int rc = 0;
    if (atomic_load(&rt->failed)) {
        *err = rt->err;
        rc = -1;
    }
    pthread_cond_destroy(&rt->not_full);
    pthread_cond_destroy(&rt->not_empty);
    pthread_mutex_destroy(&rt->lock);
    free(rt);
    return rc;
}
