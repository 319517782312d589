/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_family.c — one section of report.html per family: the decision and its reasons,
 * the facts the gate used (thresholds, coverage, error codes, skips by reason), a row per
 * capability, the cohorts with the most traffic, and the top difference signatures, each
 * with its exemplar (id, request, status pair) and its baseline and candidate values side
 * by side, an absent side shown as "(absent)" (rpt_difference_side), not as null. A family that is not promoted
 * opens by default: that is the part someone has to read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "reports_internal.h"

#define EXEMPLAR_DIFFS_MAX 50 /* differences shown per exemplar */

static void td_text(FILE *out, const char *cls, const char *text)
{
    fprintf(out, "<td class=\"%s\">%s</td>", cls, text);
}

/* ===== facts ====================================================================== */

static void fact(FILE *out, const char *label)
{
    fprintf(out, "<div><dt>%s</dt><dd>", label);
}

/* A fact listing {code: count} (error codes, skip reasons) by code; nothing when empty. */
static int code_counts(FILE *out, const char *label, const json_t *counts, pm_err *err)
{
    if (json_object_size(counts) == 0)
        return 0;
    size_t n;
    const char **codes = html_sorted_keys(counts, &n, err);
    if (!codes)
        return -1;
    fact(out, label);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", <code>" : "<code>", out);
        html_text(out, codes[i]);
        fputs("</code> ", out);
        html_json_text(out, json_object_get(counts, codes[i]), "?");
    }
    fputs("</dd></div>", out);
    free(codes);
    return 0;
}

static int facts(FILE *out, const json_t *fam, pm_err *err)
{
    char a[HTML_NUM_BUF], b[HTML_NUM_BUF], c[HTML_NUM_BUF], d[HTML_NUM_BUF], e[HTML_NUM_BUF];
    const json_t *thr = json_object_get(fam, "thresholds");
    const json_t *cov = json_object_get(fam, "coverage");
    fputs("<dl class=\"facts\">", out);
    fact(out, "switch");
    fputs("<code>", out);
    html_json_text(out, json_object_get(fam, "switch"), "\xE2\x80\x94");
    fputs("</code></dd></div>", out);
    fact(out, "owner now");
    html_json_text(out, json_object_get(fam, "owner"), "unknown (no --switches)");
    fputs("</dd></div>", out);
    fact(out, "requests");
    fprintf(out, "%s total, %s match, %s mismatch, %s error, %s skipped</dd></div>",
            html_fmt_count(a, html_num(fam, "total")), html_fmt_count(b, html_num(fam, "match")),
            html_fmt_count(c, html_num(fam, "mismatch")), html_fmt_count(d, html_num(fam, "error")),
            html_fmt_count(e, html_num(fam, "skipped")));
    const json_t *mixed = json_object_get(fam, "mixed");
    if (mixed) { /* --mixed flows: completion and the first failed step */
        fact(out, "mixed flows");
        fprintf(out, "%s of %s completed across implementations (%s, lower bound %s)",
                html_fmt_count(a, html_num(mixed, "completed")), html_fmt_count(b, html_num(mixed, "flows")),
                html_fmt_ratio(c, html_num(mixed, "completion")), html_fmt_ratio(d, html_num(mixed, "completion_lower")));
        const char *failed = html_str(json_object_get(mixed, "first_failure"), "failure");
        if (failed) {
            fputs("; first failed step: <code>", out);
            html_text(out, failed);
            fputs("</code>", out);
        }
        fputs("</dd></div>", out);
    }
    if (cov) {
        fact(out, "capability coverage");
        fprintf(out, "%s of %s read capabilities seen (%s)</dd></div>", html_fmt_count(a, html_num(cov, "seen")),
                html_fmt_count(b, html_num(cov, "read_capabilities")), html_fmt_ratio(c, html_num(cov, "share")));
    }
    if (code_counts(out, "errors", json_object_get(fam, "errors"), err) < 0 ||
        code_counts(out, "skipped by reason", json_object_get(fam, "skipped_by_reason"), err) < 0)
        return -1;
    if (thr) {
        fact(out, "gate");
        if (html_str(thr, "budget")) {
            fputs("budget <code>", out);
            html_json_text(out, json_object_get(thr, "budget"), "");
            fputs("</code>: ", out);
        }
        fprintf(out, "min samples %s, lower bound \xE2\x89\xA5 %s, error rate \xE2\x89\xA4 %s",
                html_fmt_count(a, html_num(thr, "min_samples")), html_fmt_ratio(b, html_num(thr, "min_parity_lower")),
                html_fmt_ratio(c, html_num(thr, "max_error_rate")));
        if (!isnan(html_num(thr, "max_p95_ratio")))
            fprintf(out, ", p95 \xE2\x89\xA4 baseline \xC3\x97 %.2f", html_num(thr, "max_p95_ratio"));
        if (!isnan(html_num(thr, "max_p99_ratio")))
            fprintf(out, ", p99 \xE2\x89\xA4 baseline \xC3\x97 %.2f", html_num(thr, "max_p99_ratio"));
        if (!isnan(html_num(thr, "max_error_rate_increase")))
            fprintf(out, ", error rate \xE2\x89\xA4 baseline + %s", html_fmt_ratio(a, html_num(thr, "max_error_rate_increase")));
        if (!isnan(html_num(thr, "max_mismatches")))
            fprintf(out, ", mismatches \xE2\x89\xA4 %s", html_fmt_count(a, html_num(thr, "max_mismatches")));
        if (!isnan(html_num(thr, "min_capability_coverage")))
            fprintf(out, ", coverage \xE2\x89\xA5 %s", html_fmt_ratio(a, html_num(thr, "min_capability_coverage")));
        fputs("</dd></div>", out);
    }
    fputs("</dl>\n", out);
    return 0;
}

static void reasons(FILE *out, const json_t *list)
{
    size_t i;
    const json_t *r;
    if (json_array_size(list) == 0)
        return;
    fputs("<ul class=\"reasons\">", out);
    json_array_foreach(list, i, r) {
        fputs("<li>", out);
        html_json_text(out, r, "");
        fputs("</li>", out);
    }
    fputs("</ul>\n", out);
}

/* ===== capabilities =============================================================== */

static int capabilities(FILE *out, const json_t *caps, pm_err *err)
{
    char a[HTML_NUM_BUF];
    size_t n;
    const char **names = html_sorted_keys(caps, &n, err);
    if (!names)
        return -1;
    if (n == 0) {
        free(names);
        return 0;
    }
    fputs("<h3>Capabilities</h3><div class=\"scroll\"><table class=\"caps\"><thead><tr><th>capability</th>"
          "<th class=\"n\">samples</th><th class=\"n\">mismatch</th><th class=\"n\">error</th>"
          "<th class=\"n\">parity</th><th class=\"n\">lower</th><th class=\"n\">error rate</th>"
          "<th class=\"n\">p95 base</th><th class=\"n\">p95 cand</th><th>decision</th></tr></thead><tbody>",
          out);
    for (size_t i = 0; i < n; i++) {
        const json_t *cap = json_object_get(caps, names[i]);
        const json_t *lat = json_object_get(cap, "latency");
        fputs("<tr><td><code>", out);
        html_text(out, names[i]);
        fputs("</code>", out);
        if (html_str(cap, "switch")) {
            fputs("<br/><small><code>", out);
            html_json_text(out, json_object_get(cap, "switch"), "");
            fputs("</code></small>", out);
        }
        fputs("</td>", out);
        td_text(out, "n", html_fmt_count(a, html_samples(cap)));
        td_text(out, "n", html_fmt_count(a, html_num(cap, "mismatch")));
        td_text(out, "n", html_fmt_count(a, html_num(cap, "error")));
        td_text(out, "n", html_fmt_ratio(a, html_num(cap, "parity")));
        td_text(out, "n", html_fmt_ratio(a, html_num(cap, "parity_lower")));
        td_text(out, "n", html_fmt_ratio(a, html_num(cap, "error_rate")));
        td_text(out, "n", html_fmt_us(a, html_latency_of(lat, "baseline", "p95")));
        td_text(out, "n", html_fmt_us(a, html_latency_of(lat, "candidate", "p95")));
        fputs("<td>", out);
        html_badge(out, html_str(cap, "decision"));
        reasons(out, json_object_get(cap, "reasons"));
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
    free(names);
    return 0;
}

/* The ROUTE_OWNER_CAP_* switches of the family, each decided from its capabilities. */
static int cap_switches(FILE *out, const json_t *all, pm_err *err)
{
    size_t n;
    const char **names = html_sorted_keys(all, &n, err);
    if (!names)
        return -1;
    if (n > 0)
        fputs("<h3>Capability switches</h3><div class=\"scroll\"><table><thead><tr><th>switch</th><th>owner</th>"
              "<th>capabilities</th><th>decision</th></tr></thead><tbody>",
              out);
    for (size_t i = 0; i < n; i++) {
        const json_t *sw = json_object_get(all, names[i]), *cap;
        size_t k;
        fputs("<tr><td><code>", out);
        html_text(out, names[i]);
        fputs("</code></td><td>", out);
        html_json_text(out, json_object_get(sw, "owner"), "\xE2\x80\x94");
        fputs("</td><td>", out);
        json_array_foreach(json_object_get(sw, "capabilities"), k, cap) {
            fputs(k ? ", <code>" : "<code>", out);
            html_json_text(out, cap, "");
            fputs("</code>", out);
        }
        fputs("</td><td>", out);
        html_badge(out, html_str(sw, "decision"));
        reasons(out, json_object_get(sw, "reasons"));
        fputs("</td></tr>\n", out);
    }
    if (n > 0)
        fputs("</tbody></table></div>\n", out);
    free(names);
    return 0;
}

/* ===== cohorts ==================================================================== */

static void cohort_table(FILE *out, const char *kind, const json_t *list)
{
    char a[HTML_NUM_BUF];
    size_t i;
    const json_t *c;
    fputs("<table class=\"cohort\"><thead><tr><th>", out);
    html_text(out, kind);
    fputs("</th><th class=\"n\">samples</th><th class=\"n\">mismatch</th><th class=\"n\">error</th>"
          "<th class=\"n\">parity</th><th class=\"n\">lower</th></tr></thead><tbody>",
          out);
    json_array_foreach(list, i, c) {
        fputs("<tr><td>", out);
        html_json_text(out, json_object_get(c, "name"), "\xE2\x80\x94");
        fputs("</td>", out);
        td_text(out, "n", html_fmt_count(a, html_samples(c)));
        td_text(out, "n", html_fmt_count(a, html_num(c, "mismatch")));
        td_text(out, "n", html_fmt_count(a, html_num(c, "error")));
        td_text(out, "n", html_fmt_ratio(a, html_num(c, "parity")));
        td_text(out, "n", html_fmt_ratio(a, html_num(c, "parity_lower")));
        fputs("</tr>", out);
    }
    fputs("</tbody></table>\n", out);
}

static int cohorts(FILE *out, const json_t *all, pm_err *err)
{
    size_t n, shown = 0;
    const char **kinds = html_sorted_keys(all, &n, err);
    if (!kinds)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *list = json_object_get(all, kinds[i]);
        if (json_array_size(list) == 0)
            continue;
        if (shown++ == 0)
            fputs("<details class=\"cohorts\"><summary>Cohorts with the most traffic</summary>"
                  "<div class=\"cohort-grid\">",
                  out);
        cohort_table(out, kinds[i], list);
    }
    if (shown)
        fputs("</div></details>\n", out);
    free(kinds);
    return 0;
}

/* ===== top differences ============================================================ */

static void shape(FILE *out, const json_t *list)
{
    size_t i;
    const json_t *s;
    json_array_foreach(list, i, s) {
        fputs("<span class=\"chip\">", out);
        html_json_text(out, json_object_get(s, "where"), "?");
        fputs(" <code>", out);
        html_json_text(out, json_object_get(s, "path"), "");
        fputs("</code> <b>", out);
        html_json_text(out, json_object_get(s, "kind"), "?");
        fputs("</b></span>", out);
    }
}

static void exemplar(FILE *out, const json_t *ex)
{
    size_t i;
    const json_t *d;
    const json_t *diffs = json_object_get(ex, "differences");
    fputs("<div class=\"ex\"><div class=\"ex-head\">exemplar <code>", out);
    html_json_text(out, json_object_get(ex, "id"), "\xE2\x80\x94");
    fputs("</code>", out);
    char *request = rpt_exemplar_request(ex);
    if (request) {
        fputs(" <code class=\"req\">", out);
        html_text(out, request);
        fputs("</code>", out);
    }
    free(request);
    fputs("</div><div class=\"pair pair-head\"><span>baseline</span><span>candidate</span></div>", out);
    json_array_foreach(diffs, i, d) {
        if (i == EXEMPLAR_DIFFS_MAX) {
            fprintf(out, "<p class=\"muted\">%zu more differences in report.json</p>", json_array_size(diffs) - i);
            break;
        }
        fputs("<div class=\"dpath\">", out);
        html_json_text(out, json_object_get(d, "where"), "?");
        fputs(" <code>", out);
        html_json_text(out, json_object_get(d, "path"), "");
        fputs("</code> <b>", out);
        html_json_text(out, json_object_get(d, "kind"), "?");
        fputs("</b></div><div class=\"pair\"><pre>", out);
        html_value(out, rpt_difference_side(d, "baseline"));
        fputs("</pre><pre>", out);
        html_value(out, rpt_difference_side(d, "candidate"));
        fputs("</pre></div>\n", out);
    }
    json_int_t total = json_integer_value(json_object_get(ex, "difference_count"));
    if (json_array_size(diffs) <= EXEMPLAR_DIFFS_MAX && total > (json_int_t)json_array_size(diffs))
        fprintf(out, "<p class=\"muted\">and %lld more differences in the exemplar&#8217;s diff record</p>",
                (long long)(total - (json_int_t)json_array_size(diffs)));
    fputs("</div>", out);
}

void html_top_differences(FILE *out, const json_t *top)
{
    size_t i;
    const json_t *t;
    if (json_array_size(top) == 0) {
        fputs("<p class=\"muted\">No difference signatures.</p>\n", out);
        return;
    }
    json_array_foreach(top, i, t) {
        char a[HTML_NUM_BUF];
        fprintf(out, "<div class=\"sig\"><div class=\"sig-head\"><span class=\"count\">%s\xC3\x97</span> <code>",
                html_fmt_count(a, html_num(t, "count")));
        html_json_text(out, json_object_get(t, "signature"), "\xE2\x80\x94");
        fputs("</code> <span class=\"cap\">", out);
        html_json_text(out, json_object_get(t, "capability"), "");
        fputs("</span></div><div class=\"chips\">", out);
        shape(out, json_object_get(t, "shape"));
        fputs("</div>", out);
        if (json_is_object(json_object_get(t, "exemplar")))
            exemplar(out, json_object_get(t, "exemplar"));
        fputs("</div>\n", out);
    }
}

/* ===== the section ================================================================ */

int html_family_section(FILE *out, const char *name, const json_t *fam, pm_err *err)
{
    char a[HTML_NUM_BUF], b[HTML_NUM_BUF], c[HTML_NUM_BUF], d[HTML_NUM_BUF];
    const char *decision = html_str(fam, "decision");
    int failing = strcmp(html_decision_class(decision), "promote") != 0;

    fputs("<section class=\"family\" id=\"f-", out);
    html_attr(out, name);
    fprintf(out, "\"><details%s><summary><span class=\"fam\">", failing ? " open=\"open\"" : "");
    html_text(out, name);
    fputs("</span> ", out);
    html_badge(out, decision);
    fprintf(out, " <span class=\"muted\">%s samples \xC2\xB7 ", html_fmt_count(a, html_samples(fam)));
    if (isnan(html_num(fam, "parity")))
        fputs("no comparable samples", out);
    else
        fprintf(out, "parity %s \xE2\x89\xA5 %s \xC2\xB7 error rate %s", html_fmt_ratio(b, html_num(fam, "parity")),
                html_fmt_ratio(c, html_num(fam, "parity_lower")), html_fmt_ratio(d, html_num(fam, "error_rate")));
    fputs("</span></summary>\n", out);
    reasons(out, json_object_get(fam, "reasons"));
    if (facts(out, fam, err) < 0 || capabilities(out, json_object_get(fam, "capabilities"), err) < 0 ||
        cap_switches(out, json_object_get(fam, "cap_switches"), err) < 0 ||
        cohorts(out, json_object_get(fam, "cohorts"), err) < 0)
        return -1;
    fputs("<h3>Top differences</h3>\n", out);
    html_top_differences(out, json_object_get(fam, "top_differences"));
    fputs("</details></section>\n", out);
    return 0;
}
