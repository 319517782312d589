/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_worker_decoding.c — the parser of test_decoding's text (worker/test_decoding.c): the
 * lines PostgreSQL 15 wrote for queueitem changes in this project's tests (copied from a
 * real slot), the quoting rules (doubled quotes in values and names, newlines inside values,
 * types with brackets and spaces, bits, unchanged TOAST), UPDATE's old key, and malformed
 * lines refused with a reason instead of read past their end.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "worker/test_decoding.h"

static wk_td_change parse_ok(const char *text)
{
    wk_td_change c = {0};
    const char *why = NULL;
    size_t at = 0;
    int rc = wk_td_parse(&c, text, strlen(text), &why, &at);
    cr_assert_eq(rc, 0, "'%s': %s at %zu", text, why ? why : "?", at);
    return c;
}

static void parse_fails(const char *text, const char *want_why)
{
    wk_td_change c = {0};
    const char *why = NULL;
    size_t at = 0;
    /* the text is copied to a buffer of exactly its length, so a read past it is ASan's */
    size_t n = strlen(text);
    char *exact = malloc(n ? n : 1);
    memcpy(exact, text, n);
    int rc = wk_td_parse(&c, exact, n, &why, &at);
    cr_assert_eq(rc, -1, "'%s' parsed", text);
    cr_assert(why && strstr(why, want_why), "'%s': reason '%s', want '%s'", text, why ? why : "", want_why);
    cr_assert_leq(at, n);
    free(exact);
    wk_td_change_free(&c);
}

static const char *value_of(const wk_td_change *c, const char *name)
{
    const wk_td_column *col = wk_td_find(c, name);
    cr_assert_not_null(col, "no column %s", name);
    return col->kind == WK_TD_VALUE ? col->value : NULL;
}

Test(worker_decoding, real_insert_of_a_job)
{
    wk_td_change c = parse_ok(
        "table public.queueitem: INSERT: id[integer]:3 "
        "queue_name[character varying]:'notification/acme/repo/repo_push/' "
        "body[text]:'{\"a\": \"it''s\nx\"}' available_after[timestamp without time zone]:'2026-12-05 10:43:06.244112' "
        "available[boolean]:true processing_expires[timestamp without time zone]:null retries_remaining[integer]:5 "
        "state_id[character varying]:'7db68a9b-0e53-45d2-abb6-365e5091ecca'");
    cr_assert_eq(c.kind, WK_TD_INSERT);
    cr_assert_str_eq(c.schema, "public");
    cr_assert_str_eq(c.table, "queueitem");
    cr_assert_eq(c.ncols, 8);
    cr_assert_str_eq(value_of(&c, "id"), "3");
    cr_assert_not(wk_td_find(&c, "id")->quoted);
    cr_assert_str_eq(value_of(&c, "queue_name"), "notification/acme/repo/repo_push/");
    cr_assert_str_eq(value_of(&c, "body"), "{\"a\": \"it's\nx\"}", "doubled quote undone, newline kept");
    cr_assert_eq(wk_td_find(&c, "body")->value_len, strlen("{\"a\": \"it's\nx\"}"));
    cr_assert_str_eq(wk_td_find(&c, "available_after")->type, "timestamp without time zone");
    cr_assert_str_eq(value_of(&c, "available"), "true");
    cr_assert_eq(wk_td_find(&c, "processing_expires")->kind, WK_TD_NULL);
    cr_assert_str_eq(value_of(&c, "state_id"), "7db68a9b-0e53-45d2-abb6-365e5091ecca");
    wk_td_change_free(&c);
}

Test(worker_decoding, delete_update_toast_truncate)
{
    wk_td_change c = parse_ok("table public.queueitem: DELETE: id[integer]:3");
    cr_assert_eq(c.kind, WK_TD_DELETE);
    cr_assert_str_eq(value_of(&c, "id"), "3");
    /* reuse of the same change for the next line */
    const char *why;
    size_t at;
    const char *upd = "table public.queueitem: UPDATE: id[integer]:4 queue_name[character varying]:'x/' "
                      "body[text]:unchanged-toast-datum available[boolean]:false retries_remaining[integer]:4";
    cr_assert_eq(wk_td_parse(&c, upd, strlen(upd), &why, &at), 0, "%s", why);
    cr_assert_eq(c.kind, WK_TD_UPDATE);
    cr_assert_eq(c.first_new, 0);
    cr_assert_eq(wk_td_find(&c, "body")->kind, WK_TD_UNCHANGED_TOAST);
    cr_assert_str_eq(value_of(&c, "retries_remaining"), "4");
    const char *tr = "table public.queueitem: TRUNCATE: (no-flags)";
    cr_assert_eq(wk_td_parse(&c, tr, strlen(tr), &why, &at), 0);
    cr_assert_eq(c.kind, WK_TD_TRUNCATE);
    const char *nodata = "table public.queueitem: DELETE: (no-tuple-data)";
    cr_assert_eq(wk_td_parse(&c, nodata, strlen(nodata), &why, &at), 0);
    cr_assert(c.no_tuple_data);
    cr_assert_null(wk_td_find(&c, "id"));
    wk_td_change_free(&c);
}

Test(worker_decoding, update_with_old_key)
{
    wk_td_change c = parse_ok("table public.queueitem: UPDATE: old-key: id[integer]:7 new-tuple: id[integer]:8 "
                              "queue_name[character varying]:' new-tuple: x'");
    cr_assert_eq(c.kind, WK_TD_UPDATE);
    cr_assert_eq(c.first_new, 1);
    cr_assert_str_eq(c.cols[0].value, "7");
    cr_assert_str_eq(value_of(&c, "id"), "8", "find looks in the new tuple");
    cr_assert_str_eq(value_of(&c, "queue_name"), " new-tuple: x", "a value's text is never a marker");
    wk_td_change_free(&c);
}

Test(worker_decoding, quoted_names_odd_types_bits_numbers)
{
    wk_td_change c = parse_ok("table \"My \"\"Schema\"\"\".\"Weird: Tab\": INSERT: \"a b\"[integer[]]:'{1,2}' "
                              "\"c\"\"d\"[text]:'q''\"' e[numeric]:1.5 f[double precision]:NaN g[bit]:B'101' "
                              "h[boolean]:true i[jsonb]:'{\"k\": 1}' \"j]:k\"[public.\"my]:type\"]:''");
    cr_assert_str_eq(c.schema, "My \"Schema\"");
    cr_assert_str_eq(c.table, "Weird: Tab");
    cr_assert_eq(c.ncols, 8);
    cr_assert_str_eq(c.cols[0].name, "a b");
    cr_assert_str_eq(c.cols[0].type, "integer[]");
    cr_assert_str_eq(c.cols[0].value, "{1,2}");
    cr_assert_str_eq(c.cols[1].name, "c\"d");
    cr_assert_str_eq(c.cols[1].value, "q'\"");
    cr_assert_str_eq(c.cols[2].value, "1.5");
    cr_assert_str_eq(c.cols[3].value, "NaN");
    cr_assert_str_eq(c.cols[4].value, "101");
    cr_assert(c.cols[4].quoted);
    cr_assert_str_eq(c.cols[6].value, "{\"k\": 1}");
    cr_assert_str_eq(c.cols[7].name, "j]:k");
    cr_assert_str_eq(c.cols[7].type, "public.\"my]:type\"");
    cr_assert_str_eq(c.cols[7].value, "");
    cr_assert_eq(c.cols[7].value_len, 0);
    wk_td_change_free(&c);
}

Test(worker_decoding, begin_and_commit_with_its_time)
{
    wk_td_change c = parse_ok("BEGIN");
    cr_assert_eq(c.kind, WK_TD_BEGIN);
    wk_td_change_free(&c);
    c = parse_ok("COMMIT (at 2026-12-05 10:43:06.57837+00)");
    cr_assert_eq(c.kind, WK_TD_COMMIT);
    cr_assert(c.has_commit_ts);
    cr_assert_eq(c.commit_ts_us, 1796467386578370LL);
    wk_td_change_free(&c);
    c = parse_ok("COMMIT 733 (at 2026-12-05 10:43:06+00)");
    cr_assert(c.has_commit_ts);
    cr_assert_eq(c.commit_ts_us, 1796467386000000LL);
    wk_td_change_free(&c);
    c = parse_ok("COMMIT 733");
    cr_assert_eq(c.kind, WK_TD_COMMIT);
    cr_assert_not(c.has_commit_ts);
    wk_td_change_free(&c);
    c = parse_ok("COMMIT (at not a time)");
    cr_assert_not(c.has_commit_ts, "a time it cannot read is no time, not an error");
    wk_td_change_free(&c);
    c = parse_ok("message: transactional: 1 prefix: p, sz: 1 content:x");
    cr_assert_eq(c.kind, WK_TD_OTHER);
    wk_td_change_free(&c);
}

Test(worker_decoding, malformed_lines_are_refused)
{
    parse_fails("table public.queueitem: INSERT: id[integer]:'unterminated", "quoted value does not end");
    parse_fails("table public.queueitem: INSERT: id[integer]:'ends with a doubled quote''", "does not end");
    parse_fails("table public.queueitem: INSERT: id[integer", "type does not end");
    parse_fails("table public.queueitem: INSERT: id[integer]:", "value is missing");
    parse_fails("table public.queueitem: INSERT: id", "'['");
    parse_fails("table public.queueitem: INSERT: []:1", "name is missing");
    parse_fails("table public.queueitem: INSERT: id[]:1", "type is missing");
    parse_fails("table public.queueitem: INSERT:id[integer]:1", "space before a column");
    parse_fails("table public.queueitem: INSERT: id[integer]:'1'x", "text after a value");
    parse_fails("table public.queueitem: UPSERT: id[integer]:1", "want INSERT");
    parse_fails("table public.queueitem INSERT: id[integer]:1", "': '");
    parse_fails("table \"unterminated", "quoted name does not end");
    parse_fails("table public.queueitem: UPDATE: old-key: id[integer]:1", "without its new tuple");
    parse_fails("table public.queueitem: DELETE: (no-tuple-data) x", "after (no-tuple-data)");
    parse_fails("table ", "name is missing");
}
