/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html.c — report.html: one self-contained page rendered from the report tree.
 *
 * The page is a file someone opens from a CI artifact or a mail, so it stands alone: no
 * network, no external assets, no script at all (collapsible parts are <details>), and a
 * Content-Security-Policy that forbids everything but its own inline CSS and data:
 * images, so even a mistake in escaping could not load or run anything. Every string
 * from the report goes through html_escape.c; numbers are formatted by html_format.c.
 * The markup is also well-formed XML (void elements closed, attributes quoted, numeric
 * entities only), which lets the tests check its structure with xmllint.
 *
 * Order of the page: run header and totals, the families at a glance, the parity chart,
 * latency charts, the trend against the previous report, the switch proposal, one
 * section per family (html_family.c), then expired rules and the noise absorbed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"
#include "reports.h"

#define DASH "\xE2\x80\x94"

static const char css[] =
    ":root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;"
    "--promote:#15803d;--promote-bg:#dcfce7;--hold:#b45309;--hold-bg:#fef3c7;"
    "--insufficient:#475569;--insufficient-bg:#e2e8f0;--rollback:#b91c1c;--rollback-bg:#fee2e2;"
    "--base:#94a3b8;--cand:#2563eb;--sec:#a78bfa;--other:#14b8a6}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "main{max-width:1120px;margin:0 auto;padding:24px 20px}\n"
    "h1{font-size:22px;margin:0}h2{font-size:16px;margin:0 0 12px}"
    "h3{font-size:13px;margin:18px 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}\n"
    "header.top,main>section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:18px 20px;margin-bottom:16px}\n"
    ".sub{color:var(--muted);margin:4px 0 14px}.muted{color:var(--muted)}\n"
    ".tally{float:right;display:flex;gap:6px;flex-wrap:wrap}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(104px,1fr));gap:10px;clear:both}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:9px 12px}\n"
    ".card b{display:block;font-size:19px;font-variant-numeric:tabular-nums}\n"
    ".card span{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em;white-space:nowrap}\n"
    ".badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11px;font-weight:700;"
    "text-transform:uppercase;letter-spacing:.04em;color:#334155;background:#e5e7eb;white-space:nowrap}\n"
    ".badge.d-promote{color:var(--promote);background:var(--promote-bg)}"
    ".badge.d-hold{color:var(--hold);background:var(--hold-bg)}"
    ".badge.d-insufficient{color:var(--insufficient);background:var(--insufficient-bg)}"
    ".badge.d-rollback{color:var(--rollback);background:var(--rollback-bg)}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}table.narrow{width:auto;min-width:50%}\n"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "th{font-size:11px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em;"
    "white-space:nowrap}\n"
    ".n{text-align:right;white-space:nowrap}tbody tr:hover{background:#f9fafb}\n"
    "td .reasons{margin:4px 0 0;font-size:12px;color:var(--muted)}\n"
    ".scroll{overflow-x:auto}a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}\n"
    "code,pre{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,'DejaVu Sans Mono',monospace;"
    "font-size:12px}\n"
    "pre{margin:0;padding:8px 10px;background:#f8fafc;border:1px solid var(--line);border-radius:6px;"
    "white-space:pre-wrap;overflow-wrap:anywhere;max-height:320px;overflow:auto}\n"
    ".esc{color:#be185d;background:#fce7f3;border-radius:3px;padding:0 2px}\n"
    ".absent{color:var(--muted);font-style:italic}\n"
    "dl.run,dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:12px 0 0}\n"
    "dl div{display:contents}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\n"
    "ul.reasons{margin:8px 0;padding-left:20px}\n"
    ".legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:0 0 6px}\n"
    ".legend span{display:inline-flex;align-items:center;gap:5px}\n"
    ".sw{display:inline-block;width:12px;height:10px;border-radius:2px}\n"
    ".sw.d-promote{background:#22c55e}.sw.d-hold{background:#f59e0b}"
    ".sw.d-insufficient{background:#94a3b8}.sw.d-rollback{background:#ef4444}\n"
    ".sw.whisker{height:2px;background:#111827}.sw.budget{height:0;border-top:2px dashed #dc2626}.sw.thr{width:2px;height:14px;background:#7c3aed}\n"
    ".sw.t-baseline{background:var(--base)}.sw.t-candidate{background:var(--cand)}"
    ".sw.t-secondary{background:var(--sec)}.sw.t-other{background:var(--other)}\n"
    "svg.chart{width:100%;height:auto;display:block}\n"
    "svg text{font-size:12px;fill:var(--fg)}svg .axis text{fill:var(--muted);font-size:11px}\n"
    "svg .grid{stroke:#e5e7eb;stroke-width:1}svg .base{stroke:#9ca3af}svg .track{fill:#f3f4f6}\n"
    "svg .d-promote{fill:#22c55e}svg .d-hold{fill:#f59e0b}svg .d-insufficient{fill:#94a3b8}"
    "svg .d-rollback{fill:#ef4444}svg .d-unknown{fill:#cbd5e1}\n"
    "svg .whisker{stroke:#111827;stroke-width:2}svg .thr{stroke:#7c3aed;stroke-width:2.5}\n"
    "svg .note{fill:var(--muted);font-style:italic}svg .strong,svg .fam{font-weight:700}\n"
    "svg .t-baseline{fill:var(--base)}svg .t-candidate{fill:var(--cand)}"
    "svg .t-secondary{fill:var(--sec)}svg .t-other{fill:var(--other)}\n"
    "svg .budget{stroke:#dc2626;stroke-width:1.5;stroke-dasharray:4 3}svg .bv{font-size:9px;fill:var(--muted)}"
    "svg .pl{font-size:11px;fill:var(--muted)}\n"
    "svg .prev{fill:#fff;stroke:#6b7280;stroke-width:2}svg .cur{fill:#6b7280}"
    "svg .cur.worse{fill:#dc2626}svg .cur.better{fill:#16a34a}\n"
    "svg .move{stroke-width:3;stroke:#9ca3af}svg .move.worse{stroke:#fca5a5}svg .move.better{stroke:#86efac}"
    "svg tspan.worse{fill:#dc2626}svg tspan.better{fill:#16a34a}\n"
    ".worse{color:#dc2626}.better{color:#16a34a}\n"
    ".lat-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}\n"
    "figure.lat{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px}\n"
    "figure.lat figcaption{display:flex;flex-wrap:wrap;align-items:center;gap:6px 8px;margin-bottom:4px}\n"
    "figure.lat .legend{margin:0 0 0 auto}\n"
    "section.family{padding:0}section.family>details>summary{padding:14px 20px;cursor:pointer;"
    "display:flex;flex-wrap:wrap;gap:8px;align-items:center}\n"
    "section.family>details>*:not(summary){margin-left:20px;margin-right:20px}\n"
    "section.family>details>summary::-webkit-details-marker{display:none}"
    "section.family>details>summary::before{content:'\\25B8';color:var(--muted);width:12px}"
    "section.family>details[open]>summary::before{content:'\\25BE'}\n"
    "section.family>details[open]{padding-bottom:16px}\n"
    ".fam{font-weight:700}summary .fam{font-size:15px}\n"
    ".cohorts summary{cursor:pointer;color:var(--muted);margin-top:14px}\n"
    ".cohort-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px;margin-top:8px}\n"
    ".sig{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:0 0 10px}\n"
    ".sig-head .count{font-weight:700;font-size:15px}.sig-head .cap{color:var(--muted)}\n"
    ".chips{margin:6px 0}.chip{display:inline-block;background:#eef2ff;border-radius:5px;"
    "padding:1px 7px;margin:0 6px 4px 0;font-size:12px}\n"
    ".ex-head{font-size:12px;color:var(--muted);margin:6px 0 4px}\n"
    ".pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}\n"
    ".pair-head span{font-size:11px;font-weight:700;text-transform:uppercase;color:var(--muted)}\n"
    ".dpath{font-size:12px;margin:8px 0 4px}\n"
    "footer{color:var(--muted);font-size:12px;text-align:center;margin:8px 0 24px}\n"
    "@media print{body{background:#fff}details>*{display:block}}\n";

void html_badge(FILE *out, const char *decision)
{
    fprintf(out, "<span class=\"badge d-%s\">", html_decision_class(decision));
    html_text(out, decision ? decision : "no decision");
    fputs("</span>", out);
}

/* ===== head and run header ======================================================== */

static void head(FILE *out, const json_t *run)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\"/>\n"
          "<meta name=\"referrer\" content=\"no-referrer\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>pmirror parity report",
          out);
    if (html_str(run, "time")) {
        fputs(" \xE2\x80\x94 ", out);
        html_attr(out, html_str(run, "time")); /* <title> takes text only: no markup */
    }
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body><main>\n", css);
}

static void card(FILE *out, const char *label, const char *value)
{
    fprintf(out, "<div class=\"card\"><span>%s</span><b>%s</b></div>", label, value);
}

static void run_fact(FILE *out, const char *label, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    fprintf(out, "<div><dt>%s</dt><dd>", label);
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            fputs(i ? "<br/><code>" : "<code>", out);
            html_json_text(out, item, "");
            fputs("</code>", out);
        }
    } else if (json_is_object(v)) { /* {code: count}, as the report orders it */
        const char *key;
        const json_t *item;
        bool first = true;
        json_object_foreach((json_t *)v, key, item) {
            fputs(first ? "<code>" : ", <code>", out);
            first = false;
            html_text(out, key);
            fputs("</code> ", out);
            html_json_text(out, item, "");
        }
    } else {
        html_json_text(out, v, DASH);
    }
    fputs("</dd></div>", out);
}

static void tally(FILE *out, const json_t *families)
{
    static const char *const decisions[] = {"rollback", "hold", "insufficient", "promote"};
    fputs("<div class=\"tally\">", out);
    for (size_t d = 0; d < 4; d++) {
        size_t count = 0;
        const char *key;
        const json_t *fam;
        json_object_foreach((json_t *)families, key, fam) {
            const char *decision = html_str(fam, "decision");
            count += decision && strcmp(decision, decisions[d]) == 0;
        }
        if (count)
            fprintf(out, "<span class=\"badge d-%s\">%zu %s</span>", decisions[d], count, decisions[d]);
    }
    fputs("</div>", out);
}

static void header(FILE *out, const json_t *report)
{
    char buf[HTML_NUM_BUF];
    const json_t *run = json_object_get(report, "run");
    const json_t *totals = json_object_get(report, "totals");
    fputs("<header class=\"top\">", out);
    tally(out, json_object_get(report, "families"));
    fputs("<h1>Parity report</h1><p class=\"sub\">pmirror \xC2\xB7 ", out);
    html_json_text(out, json_object_get(run, "time"), "time not recorded");
    if (html_str(run, "profile")) {
        fputs(" \xC2\xB7 profile <code>", out);
        html_json_text(out, json_object_get(run, "profile"), "");
        fputs("</code>", out);
    }
    fprintf(out, " \xC2\xB7 %zu families</p>\n<div class=\"cards\">",
            json_object_size(json_object_get(report, "families")));
    card(out, "records", html_fmt_count(buf, html_num(run, "records")));
    card(out, "compared", html_fmt_count(buf, html_num(totals, "total")));
    card(out, "match", html_fmt_count(buf, html_num(totals, "match")));
    card(out, "mismatch", html_fmt_count(buf, html_num(totals, "mismatch")));
    card(out, "error", html_fmt_count(buf, html_num(totals, "error")));
    card(out, "skipped", html_fmt_count(buf, html_num(totals, "skipped")));
    card(out, "parity", html_fmt_ratio(buf, html_num(totals, "parity")));
    card(out, "lower bound", html_fmt_ratio(buf, html_num(totals, "parity_lower")));
    card(out, "error rate", html_fmt_ratio(buf, html_num(totals, "error_rate")));
    fputs("</div>\n<dl class=\"run\">", out);
    run_fact(out, "inputs", json_object_get(run, "inputs"));
    run_fact(out, "gate", json_object_get(run, "gate"));
    run_fact(out, "switches", json_object_get(run, "switches"));
    run_fact(out, "previous", json_object_get(run, "previous"));
    run_fact(out, "skipped records", json_object_get(run, "skipped_records"));
    if (json_object_size(json_object_get(totals, "skipped_by_reason")))
        run_fact(out, "skipped exchanges by reason", json_object_get(totals, "skipped_by_reason"));
    fputs("</dl></header>\n", out);
}

/* ===== families at a glance ======================================================= */

static void overview_row(FILE *out, const char *name, const json_t *fam)
{
    char a[HTML_NUM_BUF];
    const json_t *lat = json_object_get(fam, "latency");
    fputs("<tr><td><a href=\"#f-", out);
    html_attr(out, name);
    fputs("\" class=\"fam\">", out);
    html_text(out, name);
    fputs("</a><br/><small><code>", out);
    html_json_text(out, json_object_get(fam, "switch"), "");
    fputs("</code></small></td><td>", out);
    html_json_text(out, json_object_get(fam, "owner"), DASH);
    fputs("</td>", out);
    fprintf(out, "<td class=\"n\">%s</td>", html_fmt_count(a, html_samples(fam)));
    fprintf(out, "<td class=\"n\">%s</td>", html_fmt_ratio(a, html_num(fam, "parity")));
    fprintf(out, "<td class=\"n\">%s</td>", html_fmt_ratio(a, html_num(fam, "parity_lower")));
    fprintf(out, "<td class=\"n\">%s</td>",
            html_fmt_ratio(a, html_num(json_object_get(fam, "thresholds"), "min_parity_lower")));
    fprintf(out, "<td class=\"n\">%s</td>", html_fmt_ratio(a, html_num(fam, "error_rate")));
    fprintf(out, "<td class=\"n\">%s</td>", html_fmt_us(a, html_latency_of(lat, "baseline", "p95")));
    fprintf(out, "<td class=\"n\">%s</td><td>", html_fmt_us(a, html_latency_of(lat, "candidate", "p95")));
    html_badge(out, html_str(fam, "decision"));
    fputs("</td></tr>\n", out);
}

static int overview(FILE *out, const json_t *families, pm_err *err)
{
    size_t n;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    fputs("<section id=\"overview\"><h2>Families</h2>\n", out);
    if (n == 0) {
        fputs("<p class=\"muted\">No families in this report: it counted no diff records.</p></section>\n", out);
        free(names);
        return 0;
    }
    fputs("<div class=\"scroll\"><table><thead><tr><th>family</th><th>owner</th><th class=\"n\">samples</th>"
          "<th class=\"n\">parity</th><th class=\"n\">lower</th><th class=\"n\">min lower</th>"
          "<th class=\"n\">error rate</th><th class=\"n\">p95 base</th><th class=\"n\">p95 cand</th>"
          "<th>decision</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < n; i++)
        overview_row(out, names[i], json_object_get(families, names[i]));
    fputs("</tbody></table></div></section>\n", out);
    free(names);
    return 0;
}

static int charts(FILE *out, const json_t *families, pm_err *err)
{
    if (json_object_size(families) == 0)
        return 0;
    fputs("<section id=\"parity\"><h2>Parity against the threshold</h2><div class=\"legend\">"
          "<span><i class=\"sw d-promote\"></i>promote</span><span><i class=\"sw d-hold\"></i>hold</span>"
          "<span><i class=\"sw d-insufficient\"></i>insufficient</span>"
          "<span><i class=\"sw d-rollback\"></i>rollback</span>"
          "<span><i class=\"sw whisker\"></i>95% lower bound (Wilson)</span>"
          "<span><i class=\"sw thr\"></i>min_parity_lower</span></div>\n",
          out);
    if (svg_parity_chart(out, families, err) < 0)
        return -1;
    fputs("</section>\n<section id=\"latency\"><h2>Latency: p50, p95, p99 per target</h2>"
          "<p class=\"legend\"><span><i class=\"sw budget\"></i>"
          "dashed: the candidate&#8217;s budget (baseline \xC3\x97 max ratio)</span></p>\n",
          out);
    if (svg_latency_charts(out, families, err) < 0)
        return -1;
    fputs("</section>\n", out);
    return 0;
}

/* ===== trend and regressions ====================================================== */

static void p95_deltas(FILE *out, const json_t *families, const char **names, size_t n)
{
    char a[HTML_NUM_BUF];
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *deltas = json_object_get(json_object_get(json_object_get(families, names[i]), "trend"),
                                               "p95_delta");
        size_t nt;
        const char **targets = html_sorted_keys(deltas, &nt, NULL);
        for (size_t t = 0; targets && t < nt; t++) {
            double d = html_num(deltas, targets[t]);
            if (rows++ == 0)
                fputs("<h3>p95 change</h3><table class=\"narrow\"><thead><tr><th>family</th><th>target</th>"
                      "<th class=\"n\">p95 now vs previous</th></tr></thead><tbody>",
                      out);
            fputs("<tr><td>", out);
            html_text(out, names[i]);
            fputs("</td><td>", out);
            html_text(out, targets[t]);
            fprintf(out, "</td><td class=\"n %s\">%s</td></tr>", d > 0.0005 ? "worse" : d < -0.0005 ? "better" : "",
                    html_fmt_pct_delta(a, d));
        }
        free(targets);
    }
    if (rows)
        fputs("</tbody></table>\n", out);
}

static void regression_value(FILE *out, const char *metric, const json_t *v)
{
    char a[HTML_NUM_BUF];
    if (json_is_number(v) && metric && strcmp(metric, "p95") == 0)
        fputs(html_fmt_us(a, json_number_value(v)), out);
    else if (json_is_number(v))
        fputs(html_fmt_ratio(a, json_number_value(v)), out);
    else
        html_json_text(out, v, DASH);
}

static void regressions(FILE *out, const json_t *list)
{
    size_t i;
    const json_t *r;
    if (json_array_size(list) == 0)
        return;
    fputs("<h3>Regressions</h3><ul class=\"reasons\">", out);
    json_array_foreach(list, i, r) {
        const char *metric = html_str(r, "metric");
        fputs("<li class=\"worse\"><b>", out);
        html_json_text(out, json_object_get(r, "family"), "?");
        fputs("</b> ", out);
        html_json_text(out, json_object_get(r, "metric"), "?");
        if (html_str(r, "target")) {
            fputs(" (", out);
            html_json_text(out, json_object_get(r, "target"), "");
            fputs(")", out);
        }
        fputs(": ", out);
        regression_value(out, metric, json_object_get(r, "previous"));
        fputs(" \xE2\x86\x92 ", out);
        regression_value(out, metric, json_object_get(r, "current"));
        if (json_object_get(r, "threshold")) {
            fputs(" <span class=\"muted\">(threshold ", out);
            html_json_text(out, json_object_get(r, "threshold"), DASH);
            fputs(")</span>", out);
        }
        fputs("</li>", out);
    }
    fputs("</ul>\n", out);
}

static int trend(FILE *out, const json_t *report, pm_err *err)
{
    const json_t *families = json_object_get(report, "families");
    const json_t *regs = json_object_get(report, "regressions");
    size_t n;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    int with_previous = 0;
    for (size_t i = 0; i < n; i++)
        with_previous |= json_is_object(json_object_get(json_object_get(families, names[i]), "previous"));
    if (with_previous || json_array_size(regs) > 0) {
        fputs("<section id=\"trend\"><h2>Trend against the previous report</h2>\n", out);
        if (svg_trend_chart(out, families, err) < 0) {
            free(names);
            return -1;
        }
        p95_deltas(out, families, names, n);
        regressions(out, regs);
        fputs("</section>\n", out);
    }
    free(names);
    return 0;
}

/* ===== proposal, rules, noise ===================================================== */

static int proposal(FILE *out, const json_t *prop, pm_err *err)
{
    size_t n;
    const char **switches = html_sorted_keys(prop, &n, err);
    if (!switches)
        return -1;
    fputs("<section id=\"proposal\"><h2>Switch proposal</h2>\n", out);
    if (n == 0)
        fputs("<p class=\"muted\">No switch changes: no family may be promoted and none must roll back.</p>", out);
    else
        fputs("<table class=\"narrow\"><thead><tr><th>switch</th><th>owner</th></tr></thead><tbody>", out);
    for (size_t i = 0; i < n; i++) {
        const char *owner = html_str(prop, switches[i]);
        fputs("<tr><td><code>", out);
        html_text(out, switches[i]);
        fprintf(out, "</code></td><td><span class=\"badge d-%s\">",
                owner && strcmp(owner, "go") == 0 ? "promote" : "rollback");
        html_json_text(out, json_object_get(prop, switches[i]), DASH);
        fputs("</span></td></tr>\n", out);
    }
    if (n)
        fputs("</tbody></table><p class=\"muted\">Families on hold or with too few samples keep their owner "
              "and are not listed.</p>",
              out);
    fputs("</section>\n", out);
    free(switches);
    return 0;
}

/* A table of COLS (key, heading, numeric?) over the objects of LIST. */
typedef struct column {
    const char *key, *heading;
    int numeric;
} column;

static void object_table(FILE *out, const char *id, const char *title, const char *note, const json_t *list,
                         const column *cols, size_t ncols)
{
    size_t i;
    const json_t *row;
    if (json_array_size(list) == 0)
        return;
    fprintf(out, "<section id=\"%s\"><h2>%s</h2><p class=\"muted\">%s</p><div class=\"scroll\"><table><thead><tr>",
            id, title, note);
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, "<th%s>%s</th>", cols[c].numeric ? " class=\"n\"" : "", cols[c].heading);
    fputs("</tr></thead><tbody>", out);
    json_array_foreach(list, i, row) {
        fputs("<tr>", out);
        for (size_t c = 0; c < ncols; c++) {
            fputs(cols[c].numeric ? "<td class=\"n\">" : "<td>", out);
            html_json_text(out, json_object_get(row, cols[c].key), DASH);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div></section>\n", out);
}

static void extras(FILE *out, const json_t *report)
{
    static const column expired[] = {{"rule", "rule", 0},   {"reason", "reason", 0}, {"owner", "owner", 0},
                                     {"expires", "expired", 0}, {"hits", "hits", 1}};
    static const column noise[] = {{"capability", "capability", 0}, {"shape", "shape", 0}, {"count", "count", 1}};
    static const column shadow[] = {{"family", "family", 0}, {"seen", "seen", 1},  {"diffed", "diffed", 1},
                                    {"shed", "shed", 1},       {"coverage", "coverage", 1}};
    object_table(out, "shadow", "Shadow coverage",
                 "The tee: requests in scope per family, the shadow copies diffed and those shed when the shadow "
                 "side could not keep up (each family keeps a share of the queue).",
                 json_object_get(report, "shadow"), shadow, sizeof shadow / sizeof *shadow);
    object_table(out, "expired", "Expired rules",
                 "These normalization rules are past their expiry date and no longer absorb differences.",
                 json_object_get(report, "expired_rules"), expired, sizeof expired / sizeof *expired);
    object_table(out, "noise", "Noise absorbed",
                 "Differences the secondary target showed to be noise (they differ between two baselines too).",
                 json_object_get(report, "noise"), noise, sizeof noise / sizeof *noise);
}

/* ===== the page =================================================================== */

int reports_write_html(FILE *out, const json_t *report, pm_err *err)
{
    if (!out || !json_is_object(report))
        return pm_err_set(err, "html: the report is not a JSON object");
    const json_t *families = json_object_get(report, "families");
    if (families && !json_is_object(families))
        return pm_err_set(err, "html: report \"families\" is not an object");

    head(out, json_object_get(report, "run"));
    header(out, report);
    if (overview(out, families, err) < 0 || charts(out, families, err) < 0 || trend(out, report, err) < 0 ||
        proposal(out, json_object_get(report, "proposal"), err) < 0)
        return -1;
    size_t n;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (html_family_section(out, names[i], json_object_get(families, names[i]), err) < 0) {
            free(names);
            return -1;
        }
    }
    free(names);
    extras(out, report);
    fputs("<footer>Written by pmirror from report.json. A self-contained page: no scripts, no external "
          "resources; text from traffic is escaped and invisible characters are shown as "
          "<span class=\"esc\">\\uXXXX</span>.</footer>\n</main></body></html>\n",
          out);
    if (fflush(out) != 0 || ferror(out))
        return pm_err_set(err, "html: writing the page failed");
    return 0;
}
