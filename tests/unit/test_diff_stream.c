/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_diff_stream.c — event streams (text/event-stream, Quay's /realtime) compared as
 * lists of events (issue 22): each event's data as JSON when it parses, the event's index
 * in the path, a missing or extra event a difference, keep-alive comments and the bytes'
 * layout not; and a rule on a path inside the events applies as on any JSON body.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "diff/diff.h"

#define STREAM_HEADERS "[[\"Content-Type\",\"text/event-stream\"]]"

static diff_engine *engine(const char *rules_yaml)
{
    diff_options o;
    diff_options_init(&o);
    o.today = "2026-12-01";
    const char *path = NULL;
    char file[] = "/tmp/pmirror-test-rules-XXXXXX";
    if (rules_yaml) {
        int fd = mkstemp(file);
        cr_assert_geq(fd, 0);
        FILE *f = fdopen(fd, "w");
        fputs(rules_yaml, f);
        fclose(f);
        path = file;
    }
    pm_err err = {{0}};
    diff_engine *e = diff_new(&o, path, &err);
    if (path)
        remove(path);
    cr_assert_not_null(e, "%s", err.msg);
    return e;
}

/* The diff record of two streams, as the REALTIME family's subscription. */
static json_t *streams(diff_engine *e, const char *a, const char *b)
{
    json_t *rec = json_pack("{s:s,s:s,s:s,s:{s:{s:s,s:i,s:o,s:s,s:n},s:{s:s,s:i,s:o,s:s,s:n}}}", "id", "r1", "family",
                            "REALTIME", "capability", "REALTIME_SUBSCRIBE", "responses", "py", "role", "baseline",
                            "status", 200, "headers", json_loads(STREAM_HEADERS, 0, NULL), "body", a, "error", "go",
                            "role", "candidate", "status", 200, "headers", json_loads(STREAM_HEADERS, 0, NULL), "body",
                            b, "error");
    cr_assert_not_null(rec);
    pm_err err = {{0}};
    json_t *d = diff_result(e, rec, &err);
    json_decref(rec);
    cr_assert_not_null(d, "%s", err.msg);
    return d;
}

static const char *verdict(const json_t *d)
{
    return json_string_value(json_object_get(d, "verdict"));
}

static const char *path_of(const json_t *d, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(d, "differences"), i), "path"));
}

static const char *kind_of(const json_t *d, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(d, "differences"), i), "kind"));
}

Test(diff_stream, an_event_field_of_another_type_is_found_by_index)
{
    diff_engine *e = engine(NULL);
    json_t *d = streams(e, "data: {}\n\ndata: {\"event\": \"test\", \"data\": {\"foo\": 2}}\n\n",
                        "data: {}\n\ndata: {\"event\": \"test\", \"data\": {\"foo\": \"2\"}}\n\n");
    cr_assert_str_eq(verdict(d), "mismatch");
    cr_assert_eq(json_array_size(json_object_get(d, "differences")), 1);
    cr_assert_str_eq(path_of(d, 0), "$.events[1].data.data.foo");
    json_decref(d);
    diff_free(e);
}

Test(diff_stream, keepalives_and_layout_are_not_differences)
{
    diff_engine *e = engine(NULL);
    json_t *d = streams(e, ": keep-alive\n\ndata: {\"a\": 1}\n\n: keep-alive\n\n",
                        "data:{\"a\":1}\r\n\r\n");
    cr_assert_str_eq(verdict(d), "match");
    json_decref(d);
    diff_free(e);
}

Test(diff_stream, a_missing_event_is_a_difference)
{
    diff_engine *e = engine(NULL);
    json_t *d = streams(e, "data: {}\n\ndata: {\"n\": 1}\n\n", "data: {}\n\n");
    cr_assert_str_eq(verdict(d), "mismatch");
    cr_assert_str_eq(path_of(d, 0), "$.events[1]");
    cr_assert_str_eq(kind_of(d, 0), "missing");
    json_decref(d);
    d = streams(e, "event: a\ndata: x\n\n", "event: b\ndata: x\n\n");
    cr_assert_str_eq(verdict(d), "mismatch", "the event type is compared");
    cr_assert_str_eq(path_of(d, 0), "$.events[0].event");
    json_decref(d);
    diff_free(e);
}

Test(diff_stream, rules_apply_inside_events)
{
    diff_engine *e = engine("rules:\n  - {kind: ignore_path, path: \"$.events[*].data.at\", reason: r}\n");
    json_t *d = streams(e, "data: {\"at\": 1, \"n\": 1}\n\n", "data: {\"at\": 2, \"n\": 1}\n\n");
    cr_assert_str_eq(verdict(d), "match");
    json_decref(d);
    diff_free(e);
}
