/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_stream.c — replay/stream.c on records and calls built here: which exchanges
 * are event streams, how long each target's call is held (the recorded window, at most the
 * target's timeout; --stream-window as asked), that an exchange recorded while a stream was
 * open waits only for the stream's head on every target, and that a timeout after a 2xx
 * head of a stream is its end, not an error.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"

/* ts 2026-12-05T10:00:00Z; the answer's head 1.5 ms after it (request 500 µs + latency 1 ms) */
#define TS_US 1796464800000000LL

static const char stream_record[] =
    "{\"v\":1,\"id\":\"s\",\"ts\":\"2026-12-05T10:00:00.000000Z\",\"request\":{\"method\":\"GET\","
    "\"target\":\"/realtime/user/subscribe\",\"headers\":[],\"done_us\":500},\"response\":{\"status\":200,"
    "\"headers\":[[\"Content-Type\",\"text/event-stream\"]],\"body\":\"data: {}\\n\\n\",\"complete\":true,"
    "\"latency_us\":1000,\"done_us\":3001500,\"stream\":{\"window_us\":3000000,\"closed_by\":\"client\","
    "\"events\":1,\"comments\":0}}}";

static rp_record *record(const char *text)
{
    pm_err err;
    rp_record *r = rp_record_new(strdup(text), strlen(text), NULL, &err);
    cr_assert_not_null(r, "%s", err.msg);
    return r;
}

typedef struct two_targets {
    pm_target targets[2];
    pm_suite suite;
    rp_exchange x;
    rp_call calls[2];
} two_targets;

static void exchange_of(two_targets *t, const char *text)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < 2; i++) {
        t->targets[i].timeout_s = 30;
        t->calls[i].x = &t->x;
        t->calls[i].target = (size_t)i;
    }
    t->suite.targets = t->targets;
    t->suite.ntargets = 2;
    t->x.suite = &t->suite;
    t->x.calls = t->calls;
    t->x.rec = record(text);
    t->x.ts_us = t->x.rec->ts_us;
    rp_stream_init(&t->x);
}

Test(replay_stream, a_recorded_stream_is_held_for_its_window)
{
    two_targets t;
    exchange_of(&t, stream_record);
    cr_assert(t.x.stream);
    cr_expect_eq(t.x.rec->ts_us, TS_US);
    cr_expect_eq(t.x.stream_start_us, TS_US + 1500, "the head came 1.5 ms after the request began");
    cr_expect_eq(rp_stream_timeout_ms(&t.x, &t.targets[0], 0), 3002, "the recorded 3.0015 s");
    t.targets[0].timeout_s = 2;
    cr_expect_eq(rp_stream_timeout_ms(&t.x, &t.targets[0], 0), 2000, "at most the target's timeout");
    cr_expect_eq(rp_stream_timeout_ms(&t.x, &t.targets[0], 7.5), 7500, "--stream-window as asked");
    rp_record_free(t.x.rec);
}

Test(replay_stream, other_exchanges_keep_the_targets_timeout)
{
    two_targets t;
    exchange_of(&t, "{\"v\":1,\"ts\":\"2026-12-05T10:00:00Z\",\"request\":{\"method\":\"GET\",\"target\":\"/x\"},"
                    "\"response\":{\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"]],"
                    "\"done_us\":5}}");
    cr_expect_not(t.x.stream);
    cr_expect_eq(rp_stream_timeout_ms(&t.x, &t.targets[0], 7.5), 30000, "--stream-window is for streams only");
    cr_expect_not(rp_stream_holds(&t.x, TS_US + 10));
    rp_record_free(t.x.rec);

    /* no response.stream (a HAR import, an older capture): the Content-Type says it */
    exchange_of(&t, "{\"v\":1,\"ts\":\"2026-12-05T10:00:00Z\",\"request\":{\"method\":\"GET\",\"target\":\"/e\"},"
                    "\"response\":{\"status\":200,\"headers\":[[\"content-type\",\"text/event-stream; charset=utf-8\"]]}}");
    cr_expect(t.x.stream);
    cr_expect_eq(rp_stream_timeout_ms(&t.x, &t.targets[0], 0), 30000, "no recorded window: the timeout");
    rp_record_free(t.x.rec);
}

Test(replay_stream, what_began_after_the_head_waits_for_every_targets_head)
{
    two_targets t;
    exchange_of(&t, stream_record);
    CURL *fake = (CURL *)&t; /* only compared with NULL */
    t.calls[0].easy = t.calls[1].easy = fake;
    cr_expect_not(rp_stream_holds(&t.x, TS_US + 1000), "recorded before the stream's head: overlaps freely");
    cr_expect(rp_stream_holds(&t.x, TS_US + 1500000), "recorded while it was open: waits for the heads");
    t.calls[0].first_byte_us = 42;
    cr_expect(rp_stream_holds(&t.x, TS_US + 1500000), "one target's head is not enough");
    t.calls[1].first_byte_us = 43;
    cr_expect_not(rp_stream_holds(&t.x, TS_US + 1500000), "both heads: it goes, long before the window ends");
    t.calls[1].first_byte_us = 0;
    t.calls[1].easy = NULL; /* that target failed (refused): nothing to wait for there */
    cr_expect_not(rp_stream_holds(&t.x, TS_US + 1500000));
    rp_record_free(t.x.rec);
}

Test(replay_stream, a_timeout_after_a_2xx_head_is_the_window_ending)
{
    two_targets t;
    exchange_of(&t, stream_record);
    rp_call *c = &t.calls[0];
    cr_expect_not(rp_stream_window_over(c, CURLE_OPERATION_TIMEDOUT, 200), "no head yet: a timeout");
    c->first_byte_us = 10;
    cr_expect_not(rp_stream_window_over(c, CURLE_OPERATION_TIMEDOUT, 503), "an error answer: a timeout");
    cr_expect_not(rp_stream_window_over(c, CURLE_RECV_ERROR, 200), "a reset is an error");
    cr_expect_not(c->window_over);
    cr_expect(rp_stream_window_over(c, CURLE_OPERATION_TIMEDOUT, 200));
    cr_expect(c->window_over);
    rp_record_free(t.x.rec);
}
