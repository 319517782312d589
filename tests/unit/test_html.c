/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_html.c — report.html (reports_write_html) on the hand-written reports in
 * fixtures/report/html/: the escaper byte by byte in both contexts, every section of the
 * normal report, a hostile report whose every string carries markup, control bytes,
 * U+2028 and (injected here, since JSON text cannot hold them) invalid UTF-8 and NULs,
 * the same bytes for the same report whatever the key order, tolerance of missing keys
 * and nulls, and well-formed markup (xmllint on the page and on each SVG chart).
 *
 * With PMIRROR_HTML_OUT=DIR set, html/render_fixtures writes each fixture's page into
 * DIR (tests/integration/report_html.sh opens them in headless Chromium).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/html_internal.h"
#include "reports/reports.h"

#define FIXTURES PMIRROR_SOURCE_DIR "/fixtures/report/html/"
#define PAYLOAD "<script>alert(1)</script></pre></textarea>\"><img src=x onerror=alert(1)>"

/* ---- helpers -------------------------------------------------------------------------- */

static json_t *load(const char *name)
{
    char path[512];
    json_error_t e;
    snprintf(path, sizeof path, FIXTURES "%s", name);
    json_t *r = json_load_file(path, 0, &e);
    cr_assert_not_null(r, "%s:%d: %s", path, e.line, e.text);
    return r;
}

/* The page for REPORT as a NUL-terminated string (with *len); asserts it renders. */
static char *render(const json_t *report, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_not_null(f);
    pm_err err = {{0}};
    int rc = reports_write_html(f, report, &err);
    fclose(f);
    cr_assert_eq(rc, 0, "reports_write_html: %s", err.msg);
    if (len)
        *len = n;
    return buf;
}

/* html_escape of LEN bytes into a string. */
static char *esc(const char *s, size_t len, html_ctx ctx, size_t max)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    html_escape(f, s, len, ctx, max);
    fclose(f);
    return buf;
}

static void expect_esc(const char *in, size_t len, html_ctx ctx, const char *want)
{
    char *got = esc(in, len, ctx, 0);
    cr_expect_str_eq(got, want, "escape of %zu bytes (ctx %d)", len, (int)ctx);
    free(got);
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || (len == 2 && b < 0xC2) || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

/* Every tag in PAGE is one the renderer writes and carries only attributes it writes:
 * the page's markup is ours alone, whatever the report held. */
static void expect_only_our_markup(const char *page)
{
    static const char *const tags[] = {
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section",
        "h1", "h2", "h3", "p", "div", "span", "b", "i", "small", "code", "pre", "br", "a", "dl", "dt", "dd",
        "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "figure", "figcaption",
        "svg", "g", "rect", "line", "circle", "text", "tspan", NULL};
    static const char *const attrs[] = {
        "lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "open", "xmlns", "viewBox",
        "role", "aria-label", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "width", "height",
        "text-anchor", "html", NULL};
    for (const char *p = strchr(page, '<'); p; p = strchr(p + 1, '<')) {
        const char *q = p + 1 + (p[1] == '/');
        size_t n = strcspn(q, " />\n");
        int known = 0;
        for (size_t t = 0; tags[t] && !known; t++)
            known = strlen(tags[t]) == n && strncmp(q, tags[t], n) == 0;
        cr_assert(known, "unexpected tag at: %.60s", p);
        /* Attributes: name="value" pairs up to '>'; values hold no '"' (escaped). */
        const char *a = q + n;
        while (*a && *a != '>') {
            while (*a == ' ' || *a == '/' || *a == '\n')
                a++;
            if (*a == '>' || !*a)
                break;
            size_t an = strcspn(a, "= />");
            int ok = 0;
            for (size_t k = 0; attrs[k] && !ok; k++)
                ok = strlen(attrs[k]) == an && strncmp(a, attrs[k], an) == 0;
            cr_assert(ok, "unexpected attribute at: %.60s", a);
            a += an;
            if (*a == '=') {
                cr_assert_eq(a[1], '"', "unquoted attribute at: %.40s", a);
                const char *end = strchr(a + 2, '"');
                cr_assert_not_null(end);
                cr_assert_null(memchr(a + 2, '<', (size_t)(end - a - 2)), "'<' in attribute at: %.60s", a);
                a = end + 1;
            }
        }
    }
}

/* No raw control byte but our own newlines, no raw U+2028/U+2029, valid UTF-8. */
static void expect_no_hidden_bytes(const char *page, size_t len)
{
    for (size_t i = 0; i < len; i++)
        cr_assert(page[i] == '\n' || (unsigned char)page[i] >= 0x20, "raw control byte 0x%02x at %zu: %.40s",
                  (unsigned char)page[i], i, page + (i > 20 ? i - 20 : 0));
    cr_expect_null(memmem(page, len, "\xE2\x80\xA8", 3), "raw U+2028");
    cr_expect_null(memmem(page, len, "\xE2\x80\xA9", 3), "raw U+2029");
    cr_expect_null(memmem(page, len, "\x7F", 1), "raw DEL");
    cr_expect(valid_utf8((const unsigned char *)page, len), "page is not valid UTF-8");
}

static int xmllint_ok(const char *text, size_t len)
{
    char path[] = "/tmp/pm_test_html.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "xmllint --noout --nonet '%s' 2>&1", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0;
}

static int have_xmllint(void)
{
    return system("command -v xmllint >/dev/null 2>&1") == 0;
}

/* A copy of V with invalid UTF-8 and a NUL appended to every string and invalid bytes
 * to every key: what a hostile body can carry but JSON text cannot. */
static json_t *poison(const json_t *v)
{
    static const char bad[] = "\xFF\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\x00z";
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        char *s = malloc(n + sizeof bad);
        memcpy(s, json_string_value(v), n);
        memcpy(s + n, bad, sizeof bad - 1);
        json_t *out = json_stringn_nocheck(s, n + sizeof bad - 1);
        free(s);
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            json_array_append_new(out, poison(item));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            /* Keys the renderer looks up must keep their names; traffic-named ones change. */
            int structural = islower((unsigned char)key[0]) && !strchr(key, '<');
            char name[1024];
            snprintf(name, sizeof name, "%s%s", key, structural ? "" : "\xFF\xFE");
            json_object_set_new_nocheck(out, name, poison(item));
        }
        return out;
    }
    return json_deep_copy(v);
}

/* ---- the escaper ---------------------------------------------------------------------- */

Test(html, escape_markup_both_contexts)
{
    expect_esc("a&b<c>d\"e'f", 11, HTML_TEXT, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    expect_esc("a&b<c>d\"e'f", 11, HTML_ATTR, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    expect_esc(PAYLOAD, strlen(PAYLOAD), HTML_ATTR,
               "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/pre&gt;&lt;/textarea&gt;&quot;&gt;&lt;img src=x "
               "onerror=alert(1)&gt;");
    expect_esc("plain text, ümlaut, 日本, 🙂", strlen("plain text, ümlaut, 日本, 🙂"), HTML_TEXT,
               "plain text, ümlaut, 日本, 🙂");
    expect_esc("", 0, HTML_TEXT, "");
}

Test(html, escape_controls_visible)
{
    expect_esc("a\x01" "b", 3, HTML_ATTR, "a\\u0001b");
    expect_esc("a\x01" "b", 3, HTML_TEXT, "a<span class=\"esc\">\\u0001</span>b");
    expect_esc("\x1b[31m", 5, HTML_ATTR, "\\u001B[31m");
    expect_esc("a\0b", 3, HTML_ATTR, "a\\u0000b");
    expect_esc("l1\nl2\r\tx", 8, HTML_ATTR, "l1\\nl2\\r\\tx");
    expect_esc("\x7f", 1, HTML_ATTR, "\\u007F");
    expect_esc("\xC2\x85", 2, HTML_ATTR, "\\u0085");                /* C1 NEL */
    expect_esc("a\xE2\x80\xA8" "b", 5, HTML_ATTR, "a\\u2028b");     /* line separator */
    expect_esc("\xE2\x80\xA9", 3, HTML_ATTR, "\\u2029");
    expect_esc("\xE2\x80\xAE" "abc", 6, HTML_ATTR, "\\u202Eabc");   /* right-to-left override */
    expect_esc("\xE2\x81\xA6", 3, HTML_ATTR, "\\u2066");            /* bidi isolate */
    expect_esc("a\xD8\x9C" "b", 4, HTML_ATTR, "a\\u061Cb");         /* Arabic letter mark (bidi) */
    expect_esc("a\xE2\x80\x8B" "b", 5, HTML_ATTR, "a\\u200Bb");     /* zero-width space */
    expect_esc("\xEF\xBB\xBF", 3, HTML_ATTR, "\\uFEFF");
    expect_esc("\xEF\xBF\xBF", 3, HTML_ATTR, "\\uFFFF");
    expect_esc("\xF0\x9F\xBF\xBE", 4, HTML_ATTR, "\\U0001FFFE");
}

Test(html, escape_invalid_utf8)
{
    const char *fffd = "\xEF\xBF\xBD";
    char want[64];
    expect_esc("\xFF", 1, HTML_ATTR, fffd);
    snprintf(want, sizeof want, "a%s%sb", fffd, fffd);
    expect_esc("a\xC0\xAF" "b", 4, HTML_ATTR, want);                 /* overlong '/' */
    snprintf(want, sizeof want, "%s%s%s", fffd, fffd, fffd);
    expect_esc("\xED\xA0\x80", 3, HTML_ATTR, want);                  /* surrogate */
    snprintf(want, sizeof want, "%s%s%s%s", fffd, fffd, fffd, fffd);
    expect_esc("\xF4\x90\x80\x80", 4, HTML_ATTR, want);              /* past U+10FFFF */
    snprintf(want, sizeof want, "x%s", fffd);
    expect_esc("x\xE6\x97", 3, HTML_ATTR, "x\xEF\xBF\xBD\xEF\xBF\xBD"); /* truncated 3-byte */
    snprintf(want, sizeof want, "<span class=\"esc\">%s</span>", fffd);
    expect_esc("\x80", 1, HTML_TEXT, want);                          /* lone continuation */
    /* A "<" hidden after an invalid lead byte is still escaped. */
    snprintf(want, sizeof want, "%s&lt;", fffd);
    expect_esc("\xC3<", 2, HTML_ATTR, want);
}

Test(html, escape_cap_cuts_on_a_character)
{
    char *got = esc("ab\xC3\xA9" "cdef", 8, HTML_ATTR, 3);
    cr_expect_str_eq(got, "ab\xE2\x80\xA6 (6 more bytes)");
    free(got);
    got = esc("abcdef", 6, HTML_ATTR, 6);
    cr_expect_str_eq(got, "abcdef");
    free(got);
}

Test(html, value_printer)
{
    json_t *v = json_pack("{s:[i,f,f,b,n,s]}", "k<", 1, 1.0, 0.1, 1, "a\"<\n");
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    html_value(f, v);
    html_value(f, NULL);
    fclose(f);
    cr_expect_str_eq(buf, "{\n  \"k&lt;\": [\n    1,\n    1.0,\n    0.1,\n    true,\n    null,\n"
                          "    \"a&quot;&lt;<span class=\"esc\">\\n</span>\"\n  ]\n}"
                          "<span class=\"absent\">(absent)</span>");
    free(buf);
    json_decref(v);
}

Test(html, value_printer_caps_big_values)
{
    char *big = malloc(100000);
    memset(big, 'x', 100000);
    json_t *v = json_pack("[s#,s#]", big, (int)100000, big, (int)100000);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    html_value(f, v);
    fclose(f);
    cr_expect_lt(n, (size_t)HTML_VALUE_MAX + 400, "value shown in %zu bytes", n);
    cr_expect_not_null(strstr(buf, "more bytes"));
    free(buf);
    free(big);
    json_decref(v);
}

Test(html, formats)
{
    char b[HTML_NUM_BUF];
    cr_expect_str_eq(html_fmt_ratio(b, 0.88822), "0.888");
    cr_expect_str_eq(html_fmt_ratio(b, NAN), "\xE2\x80\x94");
    cr_expect_str_eq(html_fmt_us(b, 850), "850 \xC2\xB5s");
    cr_expect_str_eq(html_fmt_us(b, 3400), "3.40 ms");
    cr_expect_str_eq(html_fmt_us(b, 120500), "120.5 ms");
    cr_expect_str_eq(html_fmt_us(b, 1250000), "1.25 s");
    cr_expect_str_eq(html_fmt_delta(b, -0.0252), "\xE2\x88\x92" "0.025");
    cr_expect_str_eq(html_fmt_delta(b, 0.0001), "\xC2\xB1" "0.000");
    cr_expect_str_eq(html_fmt_pct_delta(b, 0.1818), "+18.2%");
}

/* ---- the normal report ---------------------------------------------------------------- */

Test(html, normal_report_has_every_section)
{
    json_t *r = load("normal.json");
    size_t len;
    char *page = render(r, &len);
    static const char *const want[] = {
        "<!DOCTYPE html>",
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        "<h1>Parity report</h1>", "2026-11-27T08:00:00Z", "nightly/diffs-shard1.jsonl.gz",
        "<section id=\"overview\">", "<section id=\"parity\">", "<section id=\"latency\">",
        "<section id=\"trend\">", "<section id=\"proposal\">", "<section id=\"expired\">", "<section id=\"noise\">",
        "id=\"f-REGISTRY_V2\"", "id=\"f-API_V1\"", "id=\"f-OAUTH\"", "id=\"f-REGISTRY_V1\"", "id=\"f-WELLKNOWN\"",
        "id=\"f-KEYS\"",
        "class=\"badge d-promote\"", "class=\"badge d-hold\"", "class=\"badge d-insufficient\"",
        "class=\"badge d-rollback\"",
        "class=\"bar d-hold\"", "class=\"whisker\"", "class=\"thr\"", "class=\"budget\"",
        "class=\"cur worse\"",
        "parity lower bound 0.951 &lt; 0.990",            /* reasons, escaped */
        "API_REPOSITORY_READ", "acme/web",                  /* capabilities, cohorts */
        "<h3>Capability switches</h3>", "0 of 1 capabilities promoted", "budget <code>PB-REG-PULL</code>",
        "<pre>\"Tue, 24 Nov 2026 10:01:02 -0000\"</pre><pre>\"2026-11-24T10:01:02Z\"</pre>", /* side by side */
        "<pre>400</pre><pre>401</pre>",
        "<span class=\"absent\">(absent)</span>",
        "ignore_path $.tags.*.expiration", "body|$.last_modified|value",
        "ROUTE_OWNER_FAMILY_REGISTRY_V1", "no comparable samples", "0.950", "0.888",
        "+18.2%", "</html>\n"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect_not_null(strstr(page, want[i]), "missing from the page: %s", want[i]);
    /* Failing families open, promoted ones closed. */
    cr_expect_not_null(strstr(page, "id=\"f-API_V1\"><details open=\"open\">"));
    cr_expect_not_null(strstr(page, "id=\"f-WELLKNOWN\"><details><summary>"));
    /* Families in sorted order, whatever order the file has. */
    const char *api = strstr(page, "id=\"f-API_V1\""), *wk = strstr(page, "id=\"f-WELLKNOWN\"");
    cr_expect(api && wk && api < wk);
    /* Self-contained: no script, no external reference. */
    cr_expect_null(strstr(page, "<script"));
    cr_expect_null(strstr(page, "<link"));
    cr_expect_null(strstr(page, "<img"));
    cr_expect_null(strstr(page, "src="));
    cr_expect_null(strstr(page, "url("));
    cr_expect_null(strstr(page, "@import"));
    cr_expect_null(strstr(page, "href=\"http"));
    expect_only_our_markup(page);
    expect_no_hidden_bytes(page, len);
    /* Proportional: this report is ~19 KB of JSON. */
    cr_expect_lt(len, (size_t)120000, "page is %zu bytes", len);
    free(page);
    json_decref(r);
}

Test(html, minimal_report)
{
    json_t *r = load("minimal.json");
    size_t len;
    char *page = render(r, &len);
    cr_expect_not_null(strstr(page, "No families in this report"));
    cr_expect_not_null(strstr(page, "No switch changes"));
    cr_expect_null(strstr(page, "<svg"));
    cr_expect_null(strstr(page, "id=\"trend\""));
    expect_only_our_markup(page);
    free(page);
    json_decref(r);
    /* Even an empty object renders. */
    r = json_object();
    page = render(r, NULL);
    cr_expect_not_null(strstr(page, "</html>"));
    free(page);
    json_decref(r);
}

Test(html, missing_keys_and_nulls)
{
    json_t *r = json_pack("{s:{s:{}, s:{s:s}, s:{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n},"
                          "s:{s:{s:{}, s:{s:n, s:n}}, s:{s:n, s:n}, s:[{}], s:{s:[{}]}, s:{s:{}}}},"
                          "s:[{}], s:[{}], s:[{}], s:n}",
                          "families", "EMPTY", "ONLY_DECISION", "decision", "hold", "NULLS", "switch", "owner",
                          "total", "match", "mismatch", "error", "skipped", "parity", "parity_lower", "error_rate",
                          "errors", "latency", "coverage", "thresholds", "decision", "reasons", "NESTED",
                          "latency", "x", "y", "role", "p95", "thresholds", "min_parity_lower", "max_p95_ratio",
                          "top_differences", "cohorts", "org", "capabilities", "C", "regressions",
                          "expired_rules", "noise", "proposal");
    cr_assert_not_null(r);
    size_t len;
    char *page = render(r, &len);
    cr_expect_not_null(strstr(page, "id=\"f-NULLS\""));
    cr_expect_not_null(strstr(page, "no decision"));
    expect_only_our_markup(page);
    if (have_xmllint())
        cr_expect(xmllint_ok(page, len), "page is not well-formed");
    free(page);
    json_decref(r);
}

Test(html, bad_input_is_an_error)
{
    pm_err err = {{0}};
    FILE *f = fopen("/dev/null", "w");
    json_t *arr = json_array();
    cr_expect_eq(reports_write_html(f, arr, &err), -1);
    cr_expect_not_null(strstr(err.msg, "not a JSON object"));
    json_t *r = json_pack("{s:[]}", "families");
    cr_expect_eq(reports_write_html(f, r, &err), -1);
    cr_expect_not_null(strstr(err.msg, "families"));
    fclose(f);
    json_decref(arr);
    json_decref(r);
}

Test(html, write_failure_is_an_error)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        cr_skip_test("no /dev/full");
    json_t *r = load("normal.json");
    pm_err err = {{0}};
    cr_expect_eq(reports_write_html(f, r, &err), -1);
    cr_expect_not_null(strstr(err.msg, "writing"));
    fclose(f);
    json_decref(r);
}

/* ---- determinism and well-formedness --------------------------------------------------- */

/* V with every object's keys in reverse order, except inside exemplar values, whose
 * order is the traffic's and is shown as it was. */
static json_t *reversed_keys(const json_t *v, const char *parent_key)
{
    if (parent_key && (strcmp(parent_key, "baseline") == 0 || strcmp(parent_key, "candidate") == 0))
        return json_deep_copy(v);
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            json_array_append_new(out, reversed_keys(item, NULL));
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc(n * sizeof *keys + 1);
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)v, key, item)
        keys[i++] = key;
    json_t *out = json_object();
    while (i-- > 0)
        json_object_set_new(out, keys[i], reversed_keys(json_object_get(v, keys[i]), keys[i]));
    free(keys);
    return out;
}

Test(html, deterministic)
{
    json_t *r = load("normal.json");
    json_t *rev = reversed_keys(r, NULL);
    size_t n1, n2, n3;
    char *a = render(r, &n1), *b = render(r, &n2), *c = render(rev, &n3);
    cr_expect_eq(n1, n2);
    cr_expect_eq(memcmp(a, b, n1), 0, "two renderings differ");
    cr_expect_eq(n1, n3);
    cr_expect(n1 == n3 && memcmp(a, c, n1) == 0, "key order changed the page");
    free(a);
    free(b);
    free(c);
    json_decref(r);
    json_decref(rev);
}

Test(html, well_formed_page_and_charts)
{
    if (!have_xmllint())
        cr_skip_test("xmllint not installed (Debian libxml2-utils)");
    static const char *const fixtures[] = {"normal.json", "minimal.json", "hostile.json"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = load(fixtures[i]);
        size_t len;
        char *page = render(r, &len);
        cr_expect(xmllint_ok(page, len), "%s: page is not well-formed XML", fixtures[i]);
        size_t charts = 0;
        for (char *s = strstr(page, "<svg "); s; s = strstr(s + 1, "<svg ")) {
            char *e = strstr(s, "</svg>");
            cr_assert_not_null(e);
            cr_expect(xmllint_ok(s, (size_t)(e + 6 - s)), "%s: chart %zu is not well-formed", fixtures[i], charts);
            charts++;
        }
        if (i == 0)
            cr_expect_eq(charts, 1 + 6 + 1, "normal: parity, 6 latency and the trend chart");
        free(page);
        json_decref(r);
    }
}

/* ---- the hostile report --------------------------------------------------------------- */

static void expect_hostile_inert(const char *page, size_t len)
{
    expect_only_our_markup(page);
    expect_no_hidden_bytes(page, len);
    cr_expect_null(strcasestr(page, "<script"));
    cr_expect_null(strcasestr(page, "<img"));
    cr_expect_null(strcasestr(page, "<textarea"));
    cr_expect_null(strcasestr(page, "</textarea"));
    cr_expect_null(strstr(page, "\">"
                                "<img"));
    /* The payload is there, as text. */
    cr_expect_not_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/pre&gt;&lt;/textarea&gt;"
                                    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    cr_expect_not_null(strstr(page, "<span class=\"esc\">\\u0001</span><span class=\"esc\">\\u001B</span>"
                                    "<span class=\"esc\">\\u2028</span>&#39;"));
}

Test(html, hostile_report_is_inert)
{
    json_t *r = load("hostile.json");
    size_t len;
    char *page = render(r, &len);
    expect_hostile_inert(page, len);
    /* In attribute context (ids, links) and SVG text, plain escapes. */
    cr_expect_not_null(strstr(page, "id=\"f-FAM_&lt;script&gt;"));
    cr_expect_not_null(strstr(page, "\\u0001\\u001B\\u2028&#39;</text>"));
    /* An unknown decision gets no class of its own. */
    cr_expect_not_null(strstr(page, "class=\"badge d-unknown\""));
    free(page);
    json_decref(r);
}

Test(html, hostile_bytes_are_inert)
{
    json_t *r = load("hostile.json");
    json_t *p = poison(r);
    size_t len;
    char *page = render(p, &len);
    expect_hostile_inert(page, len);
    cr_expect_not_null(strstr(page, "\xEF\xBF\xBD"), "invalid bytes shown as U+FFFD");
    cr_expect_not_null(strstr(page, "\\u0000</span>z"), "a NUL shown as \\u0000");
    if (have_xmllint())
        cr_expect(xmllint_ok(page, len), "page is not well-formed");
    free(page);
    json_decref(p);
    json_decref(r);
}

/* ---- rendering the fixtures to files (for the Chromium test) --------------------------- */

static void write_page(const char *dir, const char *name, const json_t *report)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    pm_err err = {{0}};
    cr_assert_eq(reports_write_html(f, report, &err), 0, "%s: %s", name, err.msg);
    cr_assert_eq(fclose(f), 0);
}

Test(html, render_fixtures)
{
    const char *dir = getenv("PMIRROR_HTML_OUT");
    if (!dir)
        cr_skip_test("set PMIRROR_HTML_OUT=DIR to write the fixtures' pages");
    static const char *const fixtures[] = {"normal", "minimal", "hostile"};
    for (size_t i = 0; i < 3; i++) {
        char json_name[64], html_name[64];
        snprintf(json_name, sizeof json_name, "%s.json", fixtures[i]);
        snprintf(html_name, sizeof html_name, "%s.html", fixtures[i]);
        json_t *r = load(json_name);
        write_page(dir, html_name, r);
        if (i == 2) {
            json_t *p = poison(r);
            write_page(dir, "hostile_bytes.html", p);
            json_decref(p);
        }
        json_decref(r);
    }
}
