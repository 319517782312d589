/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c — event streams in a replay (text/event-stream: Quay's /realtime/user/subscribe).
 *
 * A stream has no end of its own: the client decides how long it listens. The capture
 * records how long that was (response.stream.window_us, response.done_us); replay holds
 * the stream open on every target for as long (or --stream-window), then closes it. That
 * close is the stream's normal end, so the transfer's timeout after a 2xx head is no
 * error: the answer keeps what arrived, and its `stream.closed_by` says "pmirror".
 *
 * Order: what the client did while it listened (/realtime/user/test publishing an event
 * to open subscriptions) must reach the targets while their streams are open. So an
 * exchange recorded as starting after a stream's answer began waits until every target
 * has answered that stream's head, and no longer: waiting for its end, as an ordinary
 * exchange waits for one that ended before it began, would hold it behind the window.
 * The engine asks rp_stream_holds from its causal check.
 */
#include "replay_internal.h"

#include <string.h>

void rp_stream_init(rp_exchange *x)
{
    const rp_record *r = x->rec;
    x->stream = r->resp_stream >= 0 ||
                pm_sse_is_stream_type(rp_headers_get(r->resp_headers, r->n_resp_headers, "content-type"));
    if (!x->stream)
        return;
    int64_t request_done = 0, latency = 0, done = 0, window = 0;
    rp_record_integer(r, r->request, "done_us", &request_done);
    rp_record_integer(r, r->response, "latency_us", &latency);
    int64_t head = (request_done > 0 ? request_done : 0) + (latency > 0 ? latency : 0);
    x->stream_start_us = x->ts_us + head;
    if (rp_record_integer(r, r->response, "done_us", &done) && done > 0)
        x->stream_hold_us = done;
    else if (rp_record_integer(r, r->resp_stream, "window_us", &window) && window > 0)
        x->stream_hold_us = head + window;
}

long rp_stream_timeout_ms(const rp_exchange *x, const pm_target *t, double window_s)
{
    long timeout_ms = (long)(t->timeout_s * 1000);
    if (!x->stream)
        return timeout_ms;
    if (window_s > 0) /* asked for: as long as that, whatever the target's timeout */
        return window_s * 1000 < 1 ? 1 : (long)(window_s * 1000);
    if (x->stream_hold_us > 0) {
        long hold_ms = (long)(x->stream_hold_us / 1000) + 1;
        return hold_ms < timeout_ms ? hold_ms : timeout_ms;
    }
    return timeout_ms; /* no recorded window: the target's timeout ends it */
}

bool rp_stream_holds(const rp_exchange *x, int64_t ts)
{
    if (!x->stream || x->stream_start_us > ts)
        return false;
    for (size_t i = 0; i < x->suite->ntargets; i++) {
        const rp_call *c = &x->calls[i];
        if ((c->easy || c->on_h1) && !c->done && c->first_byte_us == 0)
            return true;
    }
    return false;
}

/* The target answered an event stream: the record said it would, or its head says so. */
static bool answers_stream(const rp_call *call)
{
    return call->x->stream || pm_sse_is_stream_type(rp_call_header(call, "content-type"));
}

bool rp_stream_window_over(rp_call *call, int rc, long status)
{
    if (rc != CURLE_OPERATION_TIMEDOUT || status < 200 || status > 299 || call->first_byte_us == 0 ||
        call->too_large || !answers_stream(call))
        return false;
    call->window_over = true;
    return true;
}

void rp_stream_write(pm_jtext *t, const rp_call *call)
{
    if (!call->status || !answers_stream(call))
        return;
    size_t len;
    const unsigned char *body = rp_call_body(call, &len);
    pm_sse_counts counts = {0};
    json_t *events = pm_sse_events(body, len, &counts);
    pm_jtext_key_lit(t, "stream");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "closed_by");
    pm_jtext_cstring(t, call->window_over ? "pmirror" : "server");
    pm_jtext_key_lit(t, "window_us");
    pm_jtext_int(t, call->first_byte_us && call->done_us > call->first_byte_us ? call->done_us - call->first_byte_us
                                                                                : 0);
    if (events) {
        pm_jtext_key_lit(t, "events");
        pm_jtext_int(t, (int64_t)counts.events);
        pm_jtext_key_lit(t, "comments");
        pm_jtext_int(t, (int64_t)counts.comments);
    }
    pm_jtext_object_end(t);
    json_decref(events);
}
