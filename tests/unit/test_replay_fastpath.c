/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_fastpath.c — what the replay loop reads capture lines with instead of
 * jansson trees, checked against jansson itself: pm_jtape_json builds the tree
 * json_loadb builds (escapes, NUL, duplicate keys, numbers jansson refuses);
 * pm_jsonl_reader_next_tape accepts and refuses the lines pm_jsonl_reader_next does, with
 * the same file:line errors and end-of-file warnings; pm_jtext_object_reopen extends a
 * serialized object into valid JSON; rp_record decodes the fields replay uses as a tree
 * would give them (escaped keys, the last duplicate, header pairs, bodies).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "replay/replay_internal.h"

/* ---- pm_jtape_json against json_loadb ------------------------------------------------ */

static json_t *via_tape(const char *text)
{
    pm_jtape t = {0};
    json_t *v = NULL;
    if (pm_jtape_parse(&t, text, strlen(text), 2048) == 0)
        v = pm_jtape_json(&t, 0);
    pm_jtape_free(&t);
    return v;
}

Test(jtape_json, builds_the_tree_jansson_builds)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"v\":1,\"a\":[1,2.5,-3,true,false,null,\"x\"],\"b\":{\"c\":{\"d\":[]}}}",
        "{\"esc\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\",\"k\\u0065y\":\"v\"}",
        "{\"nul\":\"a\\u0000b\"}",
        "{\"dup\":1,\"dup\":2}",
        "[1e3,-0,0.1,123456789012345678]",
        "\"just a string\"",
        "{\"long\":\"" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\u00e9\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_t *want = json_loadb(docs[i], strlen(docs[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        json_t *got = via_tape(docs[i]);
        cr_assert_not_null(want, "jansson refuses %s", docs[i]);
        cr_assert_not_null(got, "the tape's tree is NULL for %s", docs[i]);
        cr_expect(json_equal(want, got), "trees differ for %s", docs[i]);
        json_decref(want);
        json_decref(got);
    }
    json_t *nul = via_tape("{\"nul\":\"a\\u0000b\"}");
    cr_expect_eq(json_string_length(json_object_get(nul, "nul")), 3, "a NUL inside a string is kept");
    json_decref(nul);
}

Test(jtape_json, refuses_numbers_jansson_refuses)
{
    cr_expect_null(via_tape("[123456789012345678901234567890]"), "an integer past 64 bits");
    cr_expect_null(via_tape("[1e999]"), "a real that overflows");
}

/* ---- the reader on tapes ------------------------------------------------------------- */

static char path[64];

static void write_file(const char *text)
{
    snprintf(path, sizeof path, "/tmp/pm-fastpath-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Reads the whole file both ways: the same count, then the same rc, error and warning. */
static void same_both_ways(const char *text, bool skip_bad)
{
    write_file(text);
    pm_err e1 = {""}, e2 = {""};
    pm_jsonl_reader *a = pm_jsonl_reader_open(path, &e1), *b = pm_jsonl_reader_open(path, &e2);
    cr_assert(a && b);
    pm_jsonl_reader_set_skip_bad(a, skip_bad);
    pm_jsonl_reader_set_skip_bad(b, skip_bad);
    pm_jtape tape = {0};
    int ra, rb;
    for (;;) {
        json_t *rec = NULL;
        const char *line;
        size_t len;
        ra = pm_jsonl_reader_next(a, &rec, &e1);
        rb = pm_jsonl_reader_next_tape(b, &tape, &line, &len, &e2);
        cr_assert_eq(ra, rb, "tree %d, tape %d on %s", ra, rb, text);
        if (ra != 1) {
            json_decref(rec);
            break;
        }
        cr_expect_eq(tape.tok[0].type, PM_JOBJ);
        json_t *again = pm_jtape_json(&tape, 0);
        cr_expect(json_equal(rec, again), "the tape is not the record's");
        json_decref(again);
        json_decref(rec);
    }
    if (ra < 0) { /* the same file:line and problem; the detail in parentheses is each parser's own */
        size_t cut1 = strcspn(e1.msg, "("), cut2 = strcspn(e2.msg, "(");
        cr_expect(cut1 == cut2 && strncmp(e1.msg, e2.msg, cut1) == 0, "errors differ: '%s' vs '%s'", e1.msg,
                  e2.msg);
    }
    const char *w1 = pm_jsonl_reader_warning(a), *w2 = pm_jsonl_reader_warning(b);
    cr_expect((w1 == NULL) == (w2 == NULL) && (!w1 || strcmp(w1, w2) == 0), "warnings differ: %s vs %s",
              w1 ? w1 : "(none)", w2 ? w2 : "(none)");
    cr_expect_eq(pm_jsonl_reader_skipped(a), pm_jsonl_reader_skipped(b));
    pm_jtape_free(&tape);
    pm_jsonl_reader_close(a);
    pm_jsonl_reader_close(b);
    unlink(path);
}

Test(reader_tape, accepts_and_refuses_what_the_tree_reader_does)
{
    same_both_ways("{\"v\":1,\"id\":\"a\"}\n\n  {\"v\":1,\"id\":\"b\"}\r\n", false);
    same_both_ways("{\"v\":1}\nnot json\n{\"v\":1}\n", false);
    same_both_ways("{\"v\":1}\n[1,2]\n", false);
    same_both_ways("{\"v\":1}\n{\"id\":\"no version\"}\n", false);
    same_both_ways("{\"v\":1}\n{\"v\":2}\n", false);
    same_both_ways("{\"v\":1}\n{\"v\":\"1\"}\n", false);
    same_both_ways("{\"v\":1}\n{\"v\":1,\"s\":\"\xff\"}\n", false);
    same_both_ways("{\"v\":1}\n{\"v\":1,\"cut", false);     /* a truncated last line: a warning */
    same_both_ways("{\"v\":1}\n{\"v\":1}", false);           /* a whole last line without \n */
    same_both_ways("{\"v\":1}\nbad\n{\"v\":2}\n{\"v\":1}\n", true); /* skipped and counted */
}

/* ---- pm_jtext_object_reopen ---------------------------------------------------------- */

static void reopened(const char *object, const char *want)
{
    pm_jtext t = {0};
    pm_jtext_object_reopen(&t, object, strlen(object));
    pm_jtext_key(&t, "added");
    pm_jtext_int(&t, 7);
    pm_jtext_object_end(&t);
    cr_assert_not(t.failed, "reopen failed on %s", object);
    cr_expect_str_eq(t.buf, want);
    json_t *v = json_loads(t.buf, 0, NULL);
    cr_expect_not_null(v, "not JSON: %s", t.buf);
    json_decref(v);
    pm_jtext_free(&t);
}

Test(jtext_reopen, adds_members_to_a_serialized_object)
{
    reopened("{}", "{\"added\":7}");
    reopened("{ }", "{\"added\":7}");
    reopened("{\"a\":1}", "{\"a\":1,\"added\":7}");
    reopened("  {\"a\":{\"b\":[]}} \r", "{\"a\":{\"b\":[]},\"added\":7}");
    reopened("{\"a\":1 }", "{\"a\":1,\"added\":7}");
    pm_jtext t = {0};
    pm_jtext_object_reopen(&t, "[1]", 3);
    cr_expect(t.failed, "an array is not an object");
    pm_jtext_object_reopen(&t, "", 0);
    cr_expect(t.failed, "nothing is not an object");
    pm_jtext_free(&t);
}

/* An object extended in place as the value of a key and as array elements: the members
 * before and after it keep their commas. */
Test(jtext_reopen, extends_a_serialized_object_as_a_nested_value)
{
    pm_jtext t = {0};
    pm_jtext_object_begin(&t);
    pm_jtext_key(&t, "first");
    pm_jtext_int(&t, 1);
    pm_jtext_key(&t, "inner");
    pm_jtext_object_extend(&t, " {\"a\":1} ", 9);
    pm_jtext_key(&t, "role");
    pm_jtext_cstring(&t, "baseline");
    pm_jtext_object_end(&t);
    pm_jtext_key(&t, "list");
    pm_jtext_array_begin(&t);
    pm_jtext_object_extend(&t, "{}", 2);
    pm_jtext_key(&t, "b");
    pm_jtext_null(&t);
    pm_jtext_object_end(&t);
    pm_jtext_object_extend(&t, "{ }", 3);
    pm_jtext_object_end(&t);
    pm_jtext_array_end(&t);
    pm_jtext_key(&t, "last");
    pm_jtext_bool(&t, true);
    pm_jtext_object_end(&t);
    cr_assert_not(t.failed);
    cr_expect_str_eq(t.buf, "{\"first\":1,\"inner\":{\"a\":1,\"role\":\"baseline\"},"
                            "\"list\":[{\"b\":null},{}],\"last\":true}");
    pm_jtext_object_extend(&t, "[1]", 3);
    cr_expect(t.failed, "an array is not an object");
    pm_jtext_free(&t);
}

/* ---- pm_jtext_json ------------------------------------------------------------------ */

/* The tree written by pm_jtext equals json_dumps' compact, ordered text: byte for byte, or
 * (exact) as the same JSON where a control character is escaped (jansson spells \u001F,
 * \b and \f where pm_jtext spells \u001f, \u0008 and \u000c). */
static void same_as_dumps(const char *text, bool exact)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert_not_null(v, "%s: %s", text, e.text);
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    pm_jtext t = {0};
    pm_jtext_json(&t, v);
    cr_assert_not(t.failed, "%s", text);
    if (exact) {
        cr_expect_str_eq(t.buf, want);
    } else {
        json_t *back = json_loads(t.buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        cr_expect(back && json_equal(back, v), "%s reads back as another value: %s", text, t.buf);
        json_decref(back);
    }
    free(want);
    json_decref(v);
    pm_jtext_free(&t);
}

Test(jtext_json, writes_what_json_dumps_writes)
{
    same_as_dumps("{}", true);
    same_as_dumps("[]", true);
    same_as_dumps("{\"b\":1,\"a\":[true,false,null,{},[]],\"c\":{\"z\":\"\",\"y\":-9223372036854775808}}", true);
    same_as_dumps("\"caf\u00e9 \\u2603 \\ud83d\\ude00 \\\" \\\\ / \\n\\r\\t end\"", true);
    same_as_dumps("\"\\u0001 \\u001f \\b\\f \\u0000 end\"", false);
    same_as_dumps("{\"\\u00e9\":[\"x\",2,3]}", true);
    same_as_dumps("[1.5,-0.0,1e300,{\"r\":0.1}]", true);
    /* deeper than the writer's comma bits: the subtree goes through json_dumps */
    char deep[2048];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "%s", i % 2 ? "[0," : "{\"k\":");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "1");
    for (int i = 99; i >= 0; i--)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "%s", i % 2 ? "]" : "}");
    same_as_dumps(deep, true);
}

Test(jtext_json, appends_after_what_is_there)
{
    pm_jtext t = {0};
    pm_jtext_object_begin(&t);
    pm_jtext_key(&t, "a");
    pm_jtext_int(&t, 1);
    pm_jtext_key(&t, "tree");
    json_t *v = json_pack("{s:[i,s]}", "x", 2, "y");
    pm_jtext_json(&t, v);
    json_decref(v);
    pm_jtext_key(&t, "z");
    pm_jtext_null(&t);
    pm_jtext_object_end(&t);
    cr_expect_str_eq(t.buf, "{\"a\":1,\"tree\":{\"x\":[2,\"y\"]},\"z\":null}");
    pm_jtext_json(&t, NULL);
    cr_expect(t.failed);
    pm_jtext_free(&t);
}

/* ---- rp_record ----------------------------------------------------------------------- */

static rp_record *record_of(const char *text)
{
    pm_err err;
    rp_record *r = rp_record_new(strdup(text), strlen(text), NULL, &err);
    cr_assert_not_null(r, "%s: %s", text, err.msg);
    return r;
}

Test(rp_record, decodes_the_fields_replay_uses)
{
    rp_record *r = record_of(
        "{\"v\":1,\"id\":\"x\\u0031\",\"ts\":\"2026-11-01T10:00:00.000250Z\",\"session\":\"c1\",\"family\":\"API_V1\","
        "\"mutating\":true,\"cohort\":{\"org\":\"acme\",\"repo\":\"acme/web\",\"user\":null},"
        "\"request\":{\"method\":\"PUT\",\"target\":\"/api/v1/x?q=\\\"1\\\"\",\"headers\":[[\"Host\",\"h\"],"
        "[\"X-N\",5],[\"Accept\",\"a/b\"],[\"only-name\"]],\"body_b64\":\"aGVsbG8=\",\"body_redacted\":true},"
        "\"response\":{\"status\":201,\"headers\":[[\"Location\",\"/up/1\"]],\"body\":\"{\\\"token\\\":\\\"t\\\"}\","
        "\"done_us\":1500}}");
    cr_expect_str_eq(r->id, "x1", "an escaped value is decoded");
    cr_expect_str_eq(r->family, "API_V1");
    cr_expect_str_eq(r->session, "c1");
    cr_expect(r->has_ts);
    int64_t ts;
    cr_assert(pm_time_parse("2026-11-01T10:00:00.000250Z", &ts));
    cr_expect_eq(r->ts_us, ts);
    cr_expect_eq(r->end_us, ts + 1500);
    cr_expect(r->mutating);
    cr_expect_str_eq(r->org, "acme");
    cr_expect_str_eq(r->repo, "acme/web");
    cr_expect_null(r->user, "null is not a string");
    cr_expect_str_eq(r->method, "PUT");
    cr_expect_str_eq(r->target, "/api/v1/x?q=\"1\"");
    cr_assert_eq(r->n_req_headers, 2, "only [string, string] pairs");
    cr_expect_str_eq(r->req_headers[0].name, "Host");
    cr_expect_str_eq(r->req_headers[1].value, "a/b");
    cr_expect_str_eq(rp_headers_get(r->resp_headers, r->n_resp_headers, "location"), "/up/1");
    cr_expect_null(rp_headers_get(r->resp_headers, r->n_resp_headers, "link"));
    cr_expect_eq(r->resp_status, 201);
    cr_expect(r->req_body_redacted);
    unsigned char *body;
    size_t len;
    cr_assert_eq(rp_record_request_body(r, &body, &len), 0);
    cr_expect(len == 5 && memcmp(body, "hello", 5) == 0, "body_b64 is decoded");
    free(body);
    char *resp = rp_record_string(r, r->resp_body, &len);
    cr_expect_str_eq(resp, "{\"token\":\"t\"}");
    free(resp);
    json_t *tree = rp_record_json(r, r->response);
    cr_expect_eq(json_integer_value(json_object_get(tree, "status")), 201, "the response as a tree on demand");
    json_decref(tree);
    rp_record_free(r);
}

Test(rp_record, reads_keys_as_jansson_does)
{
    /* an escaped key, the last of duplicates, no response, no ts */
    rp_record *r = record_of("{\"v\":1,\"\\u0069d\":\"first\",\"id\":\"last\",\"request\":{\"method\":\"GET\"}}");
    cr_expect_str_eq(r->id, "last");
    cr_expect_eq(r->response, -1, "no response recorded");
    cr_expect_not(r->has_ts);
    cr_expect_eq(r->end_us, INT64_MAX);
    cr_expect_not(r->mutating);
    unsigned char *body;
    size_t len;
    cr_assert_eq(rp_record_request_body(r, &body, &len), 0);
    cr_expect_eq(len, 0, "no body: empty");
    free(body);
    rp_record_free(r);
    pm_err err;
    cr_expect_null(rp_record_new(strdup("[1]"), 3, NULL, &err), "not an object");
    cr_expect_null(rp_record_new(strdup("{\"v\":"), 5, NULL, &err), "not JSON");
}
