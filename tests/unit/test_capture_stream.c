/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_capture_stream.c — event-stream answers on one connection (capture/http_conn.c and
 * the record writer): a text/event-stream answer that the client closes (FIN or RST), or
 * that is still open when the capture ends, is a complete response for its window with
 * `response.stream` (window, closed_by, events, comments, offsets); one the server ends is
 * closed_by "server"; a non-stream answer cut the same way keeps complete: false.
 *
 * Bytes are fed straight to an http_conn with chosen packet times, as the flow table
 * would after reassembly, so every time in the record is known exactly.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "capture/http_conn.h"

#define MAP_PATH PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml"

typedef struct fixture {
    pm_capmap *map;
    capture_options opts;
    capture_stats stats;
    auth_users *users;
    http_env env;
    json_t *records;
    pm_jtext text;
} fixture;

static int collect(void *ctx, http_exchange *x, uint64_t conn_id)
{
    (void)conn_id;
    fixture *f = ctx;
    cr_assert_eq(capture_exchange_record(x, &f->opts, "s-1", "s-1-0", NULL, &f->text), 0);
    json_error_t jerr;
    json_t *v = json_loadb(f->text.buf, f->text.len, 0, &jerr);
    cr_assert_not_null(v, "invalid record: %s: %.*s", jerr.text, (int)f->text.len, f->text.buf);
    json_array_append_new(f->records, v);
    return 0;
}

static void setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    pm_err err;
    f->map = pm_capmap_load(MAP_PATH, &err);
    cr_assert_not_null(f->map, "%s", err.msg);
    capture_options_init(&f->opts);
    f->opts.map = f->map;
    f->users = auth_users_new();
    f->env = (http_env){.opts = &f->opts, .stats = &f->stats, .emit = collect, .ctx = f, .users = f->users};
    f->records = json_array();
}

static void teardown(fixture *f)
{
    json_decref(f->records);
    pm_jtext_free(&f->text);
    auth_users_free(f->users);
    pm_capmap_free(f->map);
}

static void feed(http_conn *c, bool client, const char *s, int64_t ts)
{
    http_conn_data(c, client, (const uint8_t *)s, strlen(s), ts);
}

static const char subscribe[] = "GET /realtime/user/subscribe HTTP/1.1\r\nHost: quay\r\n\r\n";
static const char sse_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/* A subscription answered at t=1 000 µs (head), events at 2 000 and 5 000, a keep-alive
 * at 4 000. */
static http_conn *open_subscription(fixture *f)
{
    http_conn *c = http_conn_new(&f->env, 1, false);
    cr_assert_not_null(c);
    feed(c, true, subscribe, 0);
    feed(c, false, sse_head, 1000);
    feed(c, false, "a\r\ndata: {}\n\n\r\n", 2000);
    feed(c, false, "d\r\n: keep-alive\n\r\n", 4000);
    feed(c, false, "1c\r\ndata: {\"event\":\"test\"}\n\n\r\n", 5000);
    return c;
}

static const json_t *only_response(fixture *f)
{
    cr_assert_eq(json_array_size(f->records), 1, "one record, got %zu", json_array_size(f->records));
    const json_t *resp = json_object_get(json_array_get(f->records, 0), "response");
    cr_assert_not_null(resp);
    return resp;
}

static void expect_stream(const json_t *resp, const char *closed_by, json_int_t window_us)
{
    cr_expect(json_is_true(json_object_get(resp, "complete")), "a stream ended by %s is complete", closed_by);
    const json_t *st = json_object_get(resp, "stream");
    cr_assert(json_is_object(st), "response.stream is there");
    cr_expect_str_eq(json_string_value(json_object_get(st, "closed_by")), closed_by);
    cr_expect_eq(json_integer_value(json_object_get(st, "window_us")), window_us, "window_us %lld",
                 (long long)json_integer_value(json_object_get(st, "window_us")));
    cr_expect_eq(json_integer_value(json_object_get(st, "events")), 2);
    cr_expect_eq(json_integer_value(json_object_get(st, "comments")), 1);
    const json_t *off = json_object_get(st, "offsets_us");
    cr_assert_eq(json_array_size(off), 2, "one offset per event");
    cr_expect_eq(json_integer_value(json_array_get(off, 0)), 1000, "the first event came 1 ms into the window");
    cr_expect_eq(json_integer_value(json_array_get(off, 1)), 4000, "the second 4 ms into it");
    const char *body = json_string_value(json_object_get(resp, "body"));
    cr_expect(body && strstr(body, "data: {\"event\":\"test\"}"), "the body is the stream's text");
}

Test(capture_stream, closed_by_client_fin_is_complete)
{
    fixture f;
    setup(&f);
    http_conn *c = open_subscription(&f);
    http_conn_end(c, true, false, 9000);
    cr_expect_eq(json_array_size(f.records), 1, "emitted at the client's FIN");
    feed(c, false, "d\r\n: keep-alive\n\r\n", 9500); /* after the close: reached nobody */
    http_conn_end(c, false, false, 9600);
    http_conn_close(c, 9700);
    expect_stream(only_response(&f), "client", 8000);
    cr_expect_eq(f.stats.http_errors, 0);
    cr_expect_eq(f.stats.skipped_bytes, 0, "what the server sent after the client left is no skipped byte");
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, closed_by_client_reset_is_complete)
{
    fixture f;
    setup(&f);
    http_conn *c = open_subscription(&f);
    http_conn_end(c, true, true, 7000);
    http_conn_close(c, 7000);
    expect_stream(only_response(&f), "client", 6000);
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, open_at_capture_end_is_complete)
{
    fixture f;
    setup(&f);
    http_conn *c = open_subscription(&f);
    http_conn_close(c, 11000);
    expect_stream(only_response(&f), "capture", 10000);
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, ended_by_server_fin)
{
    fixture f;
    setup(&f);
    http_conn *c = http_conn_new(&f.env, 1, false);
    feed(c, true, subscribe, 0);
    feed(c, false, "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\n", 1000);
    feed(c, false, "data: {}\n\n", 2000);
    feed(c, false, ": keep-alive\n", 4000);
    feed(c, false, "data: {\"event\":\"test\"}\n\n", 5000);
    http_conn_end(c, false, false, 6000);
    http_conn_close(c, 6000);
    expect_stream(only_response(&f), "server", 5000);
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, other_answers_cut_by_the_client_stay_incomplete)
{
    fixture f;
    setup(&f);
    http_conn *c = http_conn_new(&f.env, 1, false);
    feed(c, true, "GET /api/v1/user/ HTTP/1.1\r\nHost: quay\r\n\r\n", 0);
    feed(c, false, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", 1000);
    feed(c, false, "2\r\n{\"\r\n", 2000);
    http_conn_end(c, true, false, 3000);
    http_conn_close(c, 4000);
    const json_t *resp = only_response(&f);
    cr_expect(json_is_false(json_object_get(resp, "complete")), "a JSON answer cut by a close is incomplete");
    cr_expect_null(json_object_get(resp, "stream"), "and is no stream");
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, the_route_can_say_streaming)
{
    fixture f;
    setup(&f);
    http_conn *c = http_conn_new(&f.env, 1, false);
    feed(c, true, subscribe, 0);
    /* no Content-Type: the capability map's `streaming: true` for this route says it */
    feed(c, false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1000);
    feed(c, false, "a\r\ndata: {}\n\n\r\n", 2000);
    http_conn_end(c, true, false, 3000);
    const json_t *resp = only_response(&f);
    cr_expect(json_is_true(json_object_get(resp, "complete")));
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(resp, "stream"), "closed_by")), "client");
    http_conn_close(c, 3000);
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, an_upgrade_on_a_streaming_route_is_no_stream)
{
    fixture f;
    setup(&f);
    http_conn *c = http_conn_new(&f.env, 1, false);
    feed(c, true, "GET /realtime/user/subscribe HTTP/1.1\r\nHost: quay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0);
    feed(c, false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1000);
    http_conn_close(c, 2000);
    const json_t *resp = only_response(&f);
    cr_expect_eq(json_integer_value(json_object_get(resp, "status")), 101);
    cr_expect_null(json_object_get(resp, "stream"), "a 101 answer is no event stream");
    http_conn_free(c);
    teardown(&f);
}

Test(capture_stream, an_error_answer_is_no_stream)
{
    fixture f;
    setup(&f);
    http_conn *c = http_conn_new(&f.env, 1, false);
    feed(c, true, subscribe, 0);
    feed(c, false, "HTTP/1.1 401 UNAUTHORIZED\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n", 1000);
    http_conn_close(c, 2000);
    cr_expect_null(json_object_get(only_response(&f), "stream"), "only a 2xx answer streams");
    http_conn_free(c);
    teardown(&f);
}
