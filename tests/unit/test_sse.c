/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sse.c — core/sse.c: a Server-Sent Events stream read into its events as the WHATWG
 * spec's interpretation does (multi-line data, CR/LF/CRLF line ends, comments counted,
 * id and retry, unknown fields ignored, a stream cut mid-event), and Content-Type
 * recognition. tests/fuzz/fuzz_sse.c checks the parser against a model.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static json_t *events_of(const char *s, pm_sse_counts *c)
{
    json_t *ev = pm_sse_events((const unsigned char *)s, strlen(s), c);
    cr_assert_not_null(ev);
    return ev;
}

static const char *field(const json_t *events, size_t i, const char *name)
{
    return json_string_value(json_object_get(json_array_get(events, i), name));
}

Test(sse, quay_subscription_with_keepalives)
{
    pm_sse_counts c;
    json_t *ev = events_of(": keep-alive\n\ndata: {}\n\n: keep-alive\n\ndata: {\"event\": \"test\", \"data\": "
                           "{\"foo\": 2}}\n\n",
                           &c);
    cr_assert_eq(json_array_size(ev), 2);
    cr_assert_str_eq(field(ev, 0, "data"), "{}");
    cr_assert_str_eq(field(ev, 0, "event"), "message");
    cr_assert_str_eq(field(ev, 1, "data"), "{\"event\": \"test\", \"data\": {\"foo\": 2}}");
    cr_assert_null(json_object_get(json_array_get(ev, 0), "id"));
    cr_assert_eq(c.events, 2);
    cr_assert_eq(c.comments, 2);
    cr_assert_not(c.cut);
    json_decref(ev);
}

Test(sse, multi_line_data_crlf_cr_and_one_leading_space)
{
    pm_sse_counts c;
    json_t *ev = events_of("data: one\r\ndata:  two\rdata\r\n\r\ndata:x\n\n", &c);
    cr_assert_eq(json_array_size(ev), 2);
    cr_assert_str_eq(field(ev, 0, "data"), "one\n two\n", "data lines join with LF; only one space goes");
    cr_assert_str_eq(field(ev, 1, "data"), "x");
    json_decref(ev);
}

Test(sse, event_id_retry_and_unknown_fields)
{
    pm_sse_counts c;
    json_t *ev = events_of("\xEF\xBB\xBF" "event: build\nid: 42\nretry: 1500\nfoo: bar\ndata: a\n\n"
                           "retry: 1x\nid\ndata: b\n\nevent: x\n\n",
                           &c);
    cr_assert_eq(json_array_size(ev), 2, "an event without data dispatches nothing");
    cr_assert_str_eq(field(ev, 0, "event"), "build", "the BOM is skipped");
    cr_assert_str_eq(field(ev, 0, "id"), "42");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(ev, 0), "retry")), 1500);
    cr_assert_null(json_object_get(json_array_get(ev, 0), "foo"));
    cr_assert_str_eq(field(ev, 1, "event"), "message", "the type does not carry over");
    cr_assert_str_eq(field(ev, 1, "id"), "", "an empty id line sets an empty id");
    cr_assert_null(json_object_get(json_array_get(ev, 1), "retry"), "retry with a non-digit is ignored");
    cr_assert_not(c.cut);
    json_decref(ev);
}

Test(sse, a_stream_cut_mid_event_keeps_what_was_dispatched)
{
    pm_sse_counts c;
    json_t *ev = events_of("data: 1\n\ndata: 2\n", &c);
    cr_assert_eq(json_array_size(ev), 1);
    cr_assert(c.cut, "the second event had no blank line after it");
    json_decref(ev);
    ev = events_of("data: 1\n\ndata: 2", &c);
    cr_assert_eq(json_array_size(ev), 1);
    cr_assert(c.cut, "a line without its end");
    json_decref(ev);
    ev = events_of("data: 1\n\n: ping\n", &c);
    cr_assert_not(c.cut, "a comment after the last event is not an event");
    json_decref(ev);
}

Test(sse, invalid_utf8_becomes_replacement_characters)
{
    json_t *ev = events_of("data: a\xff" "b\xc3\xa9\n\n", NULL);
    cr_assert_str_eq(field(ev, 0, "data"), "a\xEF\xBF\xBD" "b\xc3\xa9");
    json_decref(ev);
}

Test(sse, content_types)
{
    cr_assert(pm_sse_is_stream_type("text/event-stream"));
    cr_assert(pm_sse_is_stream_type(" Text/Event-Stream; charset=utf-8"));
    cr_assert_not(pm_sse_is_stream_type("text/event-streams"));
    cr_assert_not(pm_sse_is_stream_type("application/json"));
    cr_assert_not(pm_sse_is_stream_type(NULL));
}

Test(sse, where_each_event_ended)
{
    /* 40 events of CRLF, CR and LF line ends: past the first growth of the offsets array */
    char s[4096] = "";
    size_t want[40];
    for (int i = 0; i < 40; i++) {
        const char *end = i % 3 == 0 ? "\r\n" : i % 3 == 1 ? "\r" : "\n";
        char one[64];
        snprintf(one, sizeof one, ": ka\ndata: %d%sid: x%s%s", i, end, end, end);
        strcat(s, one);
        want[i] = strlen(s);
    }
    strcat(s, "data: cut"); /* not dispatched: no offset */
    pm_sse_counts c;
    size_t *ends = NULL;
    json_t *ev = pm_sse_events_at((const unsigned char *)s, strlen(s), &c, &ends);
    cr_assert_not_null(ev);
    cr_assert_not_null(ends);
    cr_assert_eq(c.events, 40);
    cr_expect_eq(c.comments, 40);
    cr_expect(c.cut);
    for (size_t i = 0; i < 40; i++)
        cr_expect_eq(ends[i], want[i], "event %zu ended at %zu, want %zu", i, ends[i], want[i]);
    free(ends);
    json_decref(ev);
}
