/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record_thread.h — the capture session's second thread (record_thread.c), private to
 * capture/: finished exchanges go to it through a bounded queue, and it writes their
 * records, so the packet loop does not wait on JSON escaping, redaction and the output.
 */
#ifndef PM_CAPTURE_RECORD_THREAD_H
#define PM_CAPTURE_RECORD_THREAD_H

#include "http_conn.h"

/* Writes one exchange's record on the thread; x is the thread's (freed after the call).
 * Non-zero: the thread stops taking exchanges (err says why). */
typedef int (*record_write_fn)(void *ctx, const http_exchange *x, uint64_t conn_id, pm_err *err);

typedef struct record_thread record_thread;

record_thread *record_thread_start(record_write_fn write, void *ctx, pm_err *err);
/* Queues x (malloc'd; ownership passes), waiting while the queue is full. -1 once the
 * thread has failed (x is freed). */
int record_thread_push(record_thread *rt, http_exchange *x, uint64_t conn_id);
/* True once a write failed (any thread). */
bool record_thread_failed(record_thread *rt);
/* Writes what is queued, stops the thread and frees rt: 0, or -1 with the first error. */
int record_thread_finish(record_thread *rt, pm_err *err);

#endif
