/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow.h — the table of TCP connections of one capture (private to capture/).
 *
 * A flow is one connection: who is the client, the two reassembly halves, the HTTP
 * parser state, and when it was last seen. The table finds a flow by its addresses and
 * ports, creates it on its first segment, closes it when both directions ended or one
 * reset, and expires it after the idle timeout, least recently seen first.
 */
#ifndef PM_CAPTURE_FLOW_H
#define PM_CAPTURE_FLOW_H

#include "decode.h"
#include "http_conn.h"
#include "tcp_reasm.h"

typedef struct flow_table flow_table;

flow_table *flow_table_new(const http_env *env, tcp_counters *tcp);
/* Feeds one decoded segment captured at ts_us. */
void flow_table_segment(flow_table *t, const capture_segment *seg, int64_t ts_us);
/* Expires flows idle since before now_us - idle_timeout. */
void flow_table_expire(flow_table *t, int64_t now_us);
/* Closes every flow (end of capture): held bytes delivered with gaps, exchanges emitted. */
void flow_table_close_all(flow_table *t, int64_t now_us);
size_t flow_table_count(const flow_table *t);
void flow_table_free(flow_table *t);

#endif
