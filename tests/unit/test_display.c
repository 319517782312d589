/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_display.c — what a reviewer reads about a difference, from the diff record to every
 * renderer (report.md, junit.xml, report.html): invisible characters shown escaped (a
 * trailing newline, tabs, CR, trailing spaces), "absent" told apart from null, exemplars
 * naming the request (method, target) and the status pair, every difference of a
 * signature listed in report.md up to a cap, and skipped records counted by their reason.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "diff/diff.h"
#include "reports/reports.h"

/* ---- helpers -------------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    cr_assert_not_null(v, "bad test JSON: %s: %s", text, je.text);
    return v;
}

static json_t *diff_of(const char *result_json)
{
    diff_options o;
    diff_options_init(&o);
    pm_err err = {{0}};
    diff_engine *e = diff_new(&o, NULL, &err);
    cr_assert_not_null(e, "diff_new: %s", err.msg);
    json_t *rec = parse(result_json);
    json_t *d = diff_result(e, rec, &err);
    cr_assert_not_null(d, "diff_result: %s", err.msg);
    json_decref(rec);
    diff_free(e);
    return d;
}

/* A gate that holds on one mismatch: one sample is enough, no coverage check. */
static const char *small_gate(void)
{
    static char path[64];
    strcpy(path, "/tmp/pm-display-gate-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    /* one mismatch of one decides (a hold: failures are listed) only against a threshold above
     * the Wilson interval's upper bound for 0 of 1, 0.793 */
    fputs("defaults:\n  min_samples: 1\n  min_parity_lower: 0.9\n  min_capability_coverage: null\n", f);
    fclose(f);
    return path;
}

static json_t *report_of(json_t *const *records, size_t n)
{
    reports_options o;
    reports_options_init(&o);
    o.gate_path = small_gate();
    pm_err err = {{0}};
    reports_builder *b = reports_new(&o, &err);
    cr_assert_not_null(b, "reports_new: %s", err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(reports_add(b, records[i], &err), 0, "reports_add: %s", err.msg);
    json_t *r = reports_build(b, &err);
    cr_assert_not_null(r, "reports_build: %s", err.msg);
    reports_free(b);
    unlink(o.gate_path);
    return r;
}

static char *render(int (*writer)(FILE *, const json_t *, pm_err *), const json_t *report)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pm_err err = {{0}};
    cr_assert_eq(writer(f, report, &err), 0, "writer: %s", err.msg);
    fclose(f);
    return buf;
}

static void expect_in(const char *what, const char *text, const char *want)
{
    cr_assert_not_null(strstr(text, want), "%s lacks '%s':\n%s", what, want, text);
}

static void expect_not_in(const char *what, const char *text, const char *unwanted)
{
    cr_assert_null(strstr(text, unwanted), "%s has '%s':\n%s", what, unwanted, text);
}

#define HTML_HEADERS "[[\"Content-Type\",\"text/html\"]]"
#define JSON_HEADERS "[[\"Content-Type\",\"application/json\"]]"

/* A result record of one GET answered by py (baseline) and go (candidate). */
static json_t *diff_exchange(const char *id, int py_status, const char *py_body, int go_status, const char *go_body,
                             const char *headers)
{
    json_t *rec = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:[]}, s:{s:{s:s, s:i, s:o, s:s, s:n}, "
                            "s:{s:s, s:i, s:o, s:s, s:n}}}",
                            "id", id, "family", "API_V1", "capability", "API_REPO", "request", "method", "GET",
                            "target", "/api/v1/repository/acme/web?tab=tags", "version", "HTTP/1.1", "headers",
                            "responses", "py", "role", "baseline", "status", py_status, "headers", parse(headers),
                            "body", py_body, "error", "go", "role", "candidate", "status", go_status, "headers",
                            parse(headers), "body", go_body, "error");
    cr_assert_not_null(rec);
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    json_t *d = diff_of(text);
    free(text);
    return d;
}

/* ---- item 4: invisible characters, absent and null ------------------------------------ */

Test(display, a_trailing_newline_is_in_the_values)
{
    json_t *d = diff_exchange("t1", 200, "<p>\n</html>", 200, "<p>\n</html>\n", HTML_HEADERS);
    const json_t *first = json_array_get(json_object_get(d, "differences"), 0);
    cr_assert_not_null(first);
    const char *a = json_string_value(json_object_get(first, "baseline"));
    const char *b = json_string_value(json_object_get(first, "candidate"));
    cr_assert(a && b && strcmp(a, b) != 0, "the two values say nothing: '%s' and '%s'", a ? a : "?", b ? b : "?");
    cr_assert_str_eq(a, "</html>");
    cr_assert_str_eq(b, "</html>\n");
    json_decref(d);
}

Test(display, a_crlf_line_shows_its_cr)
{
    json_t *d = diff_exchange("t2", 200, "a\r\nb\n", 200, "a\nb\n", HTML_HEADERS);
    const json_t *first = json_array_get(json_object_get(d, "differences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(first, "baseline")), "a\r");
    cr_assert_str_eq(json_string_value(json_object_get(first, "candidate")), "a");
    json_decref(d);
}

/* A mismatch record with these differences (JSON text of the list). */
static json_t *mismatch(const char *id, const char *signature, const char *differences)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:n, s:n, s:n}, s:{s:i, s:i}, s:{s:s, s:s}, s:s, s:o, "
                          "s:[], s:s}",
                          "v", 1, "id", id, "family", "API_V1", "capability", "API_REPO", "switch",
                          "ROUTE_OWNER_FAMILY_API_V1", "cohort", "org", "repo", "user", "latency", "py", 100, "go",
                          100, "roles", "py", "baseline", "go", "candidate", "verdict", "mismatch", "differences",
                          parse(differences), "noise", "signature", signature);
    cr_assert_not_null(d);
    return d;
}

static json_t *invisible_report(void)
{
    json_t *recs[] = {mismatch("x1", "aaaaaaaaaaaaaaaa",
                               "[{\"where\":\"body\",\"path\":\"line 14\",\"kind\":\"extra\","
                               "\"baseline\":\"</html>\",\"candidate\":\"</html>\\n\"},"
                               "{\"where\":\"body\",\"path\":\"$.gone\",\"kind\":\"missing\","
                               "\"baseline\":null,\"candidate\":null},"
                               "{\"where\":\"body\",\"path\":\"$.added\",\"kind\":\"extra\","
                               "\"baseline\":null,\"candidate\":null},"
                               "{\"where\":\"body\",\"path\":\"$.tab\",\"kind\":\"value\","
                               "\"baseline\":\"a\\tb\",\"candidate\":\"a b\\r\"},"
                               "{\"where\":\"body\",\"path\":\"$.space\",\"kind\":\"value\","
                               "\"baseline\":\"end\",\"candidate\":\"end  \"}]")};
    json_t *r = report_of(recs, 1);
    json_decref(recs[0]);
    return r;
}

Test(display, markdown_shows_invisibles_and_absent)
{
    json_t *r = invisible_report();
    char *md = render(reports_write_markdown, r);
    expect_in("report.md", md, "| extra | \"&lt;/html>\" | \"&lt;/html>\\\\n\" |"); /* "</html>\n", \\ and < escaped for Markdown */
    expect_in("report.md", md, "$.gone | missing | null | (absent)");
    expect_in("report.md", md, "$.added | extra | (absent) | null");
    expect_in("report.md", md, "\"a\\\\tb\" | \"a b\\\\r\"");
    expect_in("report.md", md, "\"end\" | \"end\\\\u0020\\\\u0020\"");
    free(md);
    json_decref(r);
}

Test(display, junit_shows_invisibles_and_absent)
{
    json_t *r = invisible_report();
    char *xml = render(reports_write_junit, r);
    expect_in("junit.xml", xml, "line 14 extra: baseline \"&lt;/html&gt;\", candidate \"&lt;/html&gt;\\n\"");
    expect_in("junit.xml", xml, "$.gone missing: baseline null, candidate (absent)");
    expect_in("junit.xml", xml, "$.added extra: baseline (absent), candidate null");
    expect_in("junit.xml", xml, "candidate \"end\\u0020\\u0020\"");
    free(xml);
    json_decref(r);
}

Test(display, html_shows_invisibles_and_absent)
{
    json_t *r = invisible_report();
    char *html = render(reports_write_html, r);
    expect_in("report.html", html, "&lt;/html&gt;<span class=\"esc\">\\n</span>");
    expect_in("report.html", html,
              "$.gone</code> <b>missing</b></div><div class=\"pair\"><pre>null</pre><pre><span class=\"absent\">(absent)");
    expect_in("report.html", html,
              "$.added</code> <b>extra</b></div><div class=\"pair\"><pre><span class=\"absent\">(absent)</span></pre>"
              "<pre>null</pre>");
    expect_in("report.html", html, "\"end<span class=\"esc\">\\u0020");
    free(html);
    json_decref(r);
}

/* ---- item 11: exemplars name the request and the status pair -------------------------- */

Test(display, diff_records_carry_the_request_and_statuses)
{
    json_t *d = diff_exchange("s1", 200, "{\"a\":1}", 404, "{\"error\":\"not found\"}", JSON_HEADERS);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "request"), "method")), "GET");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "request"), "target")),
                     "/api/v1/repository/acme/web?tab=tags");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "status"), "py")), 200);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "status"), "go")), 404);

    json_t *recs[] = {d};
    json_t *r = report_of(recs, 1);
    const json_t *ex = json_object_get(
        json_array_get(json_object_get(json_object_get(json_object_get(r, "families"), "API_V1"), "top_differences"), 0),
        "exemplar");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ex, "request"), "method")), "GET");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ex, "request"), "target")),
                     "/api/v1/repository/acme/web?tab=tags");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(ex, "status"), "baseline")), 200);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(ex, "status"), "candidate")), 404);

    char *md = render(reports_write_markdown, r);
    expect_in("report.md", md, "GET /api/v1/repository/acme/web?tab=tags (200 → 404)");
    char *html = render(reports_write_html, r);
    expect_in("report.html", html, "GET /api/v1/repository/acme/web?tab=tags");
    expect_in("report.html", html, "200 → 404");
    char *xml = render(reports_write_junit, r);
    expect_in("junit.xml", xml, "exemplar s1: GET /api/v1/repository/acme/web?tab=tags (200 → 404)");
    free(md);
    free(html);
    free(xml);
    json_decref(r);
    json_decref(d);
}

/* ---- item 12: every difference of a signature, up to a cap ----------------------------- */

Test(display, markdown_lists_every_difference_up_to_ten)
{
    char list[4096] = "[";
    for (int i = 0; i < 13; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list),
                 "%s{\"where\":\"body\",\"path\":\"$.k%02d\",\"kind\":\"value\",\"baseline\":%d,\"candidate\":%d}",
                 i ? "," : "", i, i, i + 100);
    strcat(list, "]");
    json_t *recs[] = {mismatch("m1", "bbbbbbbbbbbbbbbb", list)};
    json_t *r = report_of(recs, 1);
    char *md = render(reports_write_markdown, r);
    for (int i = 0; i < 10; i++) {
        char want[64];
        snprintf(want, sizeof want, "$.k%02d | value | %d | %d", i, i, i + 100);
        expect_in("report.md", md, want);
    }
    expect_not_in("report.md", md, "$.k10");
    expect_in("report.md", md, "and 3 more");
    free(md);
    json_decref(r);
    json_decref(recs[0]);

    /* past the 20 differences an exemplar keeps, report.html says how many more there were */
    list[1] = '\0';
    for (int i = 0; i < 23; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list),
                 "%s{\"where\":\"body\",\"path\":\"$.k%02d\",\"kind\":\"value\",\"baseline\":%d,\"candidate\":%d}",
                 i ? "," : "", i, i, i + 100);
    strcat(list, "]");
    recs[0] = mismatch("m2", "cccccccccccccccc", list);
    r = report_of(recs, 1);
    char *html = render(reports_write_html, r);
    expect_in("report.html", html, "and 3 more differences");
    free(html);
    json_decref(r);
    json_decref(recs[0]);
}

/* ---- item 13: skipped records carry their reason, and the report counts them ---------- */

Test(display, skipped_records_carry_the_reason)
{
    json_t *d = diff_of("{\"id\":\"k1\",\"family\":\"API_V1\",\"capability\":\"API_REPO\","
                        "\"request\":{\"method\":\"DELETE\",\"target\":\"/api/v1/repository/acme/web\"},"
                        "\"responses\":{\"py\":{\"role\":\"baseline\",\"status\":204,\"headers\":[],\"error\":null},"
                        "\"go\":{\"role\":\"candidate\",\"skipped\":true,\"error\":\"skipped_unsafe\"}}}");
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "skipped");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "skipped"), "go")), "skipped_unsafe");
    json_decref(d);
}

static json_t *skipped(const char *id, const char *reason)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:n, s:n, s:n}, s:{}, s:{s:s, s:s}, s:s, s:[], s:[], s:n}",
                          "v", 1, "id", id, "family", "API_V1", "capability", "API_REPO", "switch",
                          "ROUTE_OWNER_FAMILY_API_V1", "cohort", "org", "repo", "user", "latency", "roles", "py",
                          "baseline", "go", "candidate", "verdict", "skipped", "differences", "noise", "signature");
    if (reason)
        json_object_set_new(d, "skipped", json_pack("{s:s}", "go", reason));
    return d;
}

Test(display, the_report_counts_skips_by_reason)
{
    json_t *recs[] = {skipped("a", "skipped_unsafe"), skipped("b", "skipped_unsafe"), skipped("c", "no_credentials"),
                      skipped("d", NULL)};
    json_t *r = report_of(recs, 4);
    const json_t *f = json_object_get(json_object_get(r, "families"), "API_V1");
    const json_t *by = json_object_get(f, "skipped_by_reason");
    cr_assert(json_is_object(by), "no skipped_by_reason in the family");
    cr_assert_eq(json_integer_value(json_object_get(by, "skipped_unsafe")), 2);
    cr_assert_eq(json_integer_value(json_object_get(by, "no_credentials")), 1);
    cr_assert_eq(json_integer_value(json_object_get(by, "unknown")), 1);
    const json_t *cap = json_object_get(json_object_get(f, "capabilities"), "API_REPO");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(cap, "skipped_by_reason"), "skipped_unsafe")), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(r, "totals"), "skipped_by_reason"),
                                                    "no_credentials")),
                 1);

    char *md = render(reports_write_markdown, r);
    expect_in("report.md", md, "4 skipped (skipped_unsafe 2, no_credentials 1, unknown 1)");
    char *html = render(reports_write_html, r);
    expect_in("report.html", html, "skipped_unsafe");
    expect_in("report.html", html, "no_credentials");
    free(md);
    free(html);
    json_decref(r);
    for (size_t i = 0; i < 4; i++)
        json_decref(recs[i]);
}
