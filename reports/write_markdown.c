/* SPDX-License-Identifier: Apache-2.0 */
/*
 * write_markdown.c — report.md: what a nightly job pastes into a chat or a pull request.
 * One table (family, switch, samples, parity, lower bound, p95 baseline → candidate,
 * decision), the proposal, regressions, the worker families' jobs by producer (mixed mode;
 * only when records said who enqueued them), then for every family that is not promoted its
 * reasons, its skips by reason, and top differences: each signature's exemplar named by id,
 * request and status pair, with its differences (up to ten, then "and N more"), both sides,
 * an absent side as "(absent)" and invisible characters escaped. Every
 * string that came from the report goes through rpt_md_escape: a `|` or a newline in a
 * path or value cannot break the table.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

#define VALUE_CHARS 60       /* characters of a baseline / candidate value shown */
#define DIFFERENCES_SHOWN 10 /* differences listed per signature */

static void md(FILE *out, const char *s)
{
    if (s)
        rpt_md_escape(out, s, strlen(s), 0);
    else
        fputs("–", out);
}

/* An identifier (family, switch, capability, signature): in a code span when it is made
 * of safe characters only, else escaped text. */
static void md_name(FILE *out, const char *s)
{
    bool plain = s && *s;
    for (const char *p = s; plain && *p; p++)
        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                strchr("_-.:/+", *p);
    if (plain)
        fprintf(out, "`%s`", s);
    else
        md(out, s);
}

static void md_json_string(FILE *out, const json_t *v, size_t max)
{
    if (json_is_string(v))
        rpt_md_escape(out, json_string_value(v), json_string_length(v), max);
    else
        fputs("–", out);
}

static void md_value(FILE *out, const json_t *v)
{
    size_t len;
    char *s = rpt_value_text(v, &len);
    if (s)
        rpt_md_escape(out, s, len, VALUE_CHARS);
    free(s);
}

static void ratio_cell(FILE *out, const json_t *v)
{
    double x = rpt_number(v);
    char buf[32];
    rpt_fmt_ratio(buf, sizeof buf, x, NAN);
    fputs(isnan(x) ? "–" : buf, out);
}

static const json_t *latency_of(const json_t *scope, const char *role)
{
    const char *name;
    const json_t *l;
    json_object_foreach(json_object_get(scope, "latency"), name, l) {
        const char *r = json_string_value(json_object_get(l, "role"));
        if (r && strcmp(r, role) == 0)
            return l;
    }
    return NULL;
}

static void ms_cell(FILE *out, const json_t *l)
{
    double us = rpt_number(json_object_get(l, "p95"));
    char buf[32];
    rpt_fmt_ms(buf, sizeof buf, us, NAN);
    fputs(isnan(us) ? "–" : buf, out);
}

int reports_write_markdown_table(FILE *out, const json_t *report, pm_err *err)
{
    fputs("| family | switch | samples | parity | lower bound | p95 baseline → candidate | decision |\n"
          "|---|---|--:|--:|--:|---|---|\n",
          out);
    const char *name;
    const json_t *f;
    json_object_foreach(json_object_get(report, "families"), name, f) {
        fputs("| ", out);
        md_name(out, name);
        fputs(" | ", out);
        md_name(out, json_string_value(json_object_get(f, "switch")));
        fprintf(out, " | %lld | ", (long long)json_integer_value(json_object_get(f, "samples")));
        ratio_cell(out, json_object_get(f, "parity"));
        fputs(" | ", out);
        ratio_cell(out, json_object_get(f, "parity_lower"));
        fputs(" | ", out);
        ms_cell(out, latency_of(f, "baseline"));
        fputs(" → ", out);
        ms_cell(out, latency_of(f, "candidate"));
        fputs(" | **", out);
        md(out, json_string_value(json_object_get(f, "decision")));
        fputs("** |\n", out);
    }
    if (ferror(out))
        return pm_err_set(err, "cannot write the Markdown table");
    return 0;
}

static void write_proposal(FILE *out, const json_t *report)
{
    const json_t *proposal = json_object_get(report, "proposal");
    fputs("\n**Proposal:** ", out);
    if (json_object_size(proposal) == 0)
        fputs("no switch changes.", out);
    const char *sw;
    const json_t *owner;
    bool first = true;
    json_object_foreach((json_t *)proposal, sw, owner) {
        fputs(first ? "" : ", ", out);
        first = false;
        md_name(out, sw);
        fputs(" → **", out);
        md(out, json_string_value(owner));
        fputs("**", out);
    }
    fputc('\n', out);
}

static void write_regressions(FILE *out, const json_t *report)
{
    const json_t *list = json_object_get(report, "regressions");
    if (json_array_size(list) == 0)
        return;
    fputs("\n**Regressions since the previous report:**\n\n", out);
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r) {
        const char *metric = json_string_value(json_object_get(r, "metric"));
        bool p95 = metric && strcmp(metric, "p95") == 0;
        double prev = rpt_number(json_object_get(r, "previous")), cur = rpt_number(json_object_get(r, "current"));
        char a[32], b[32];
        if (p95) {
            rpt_fmt_ms(a, sizeof a, prev, cur);
            rpt_fmt_ms(b, sizeof b, cur, prev);
        } else {
            rpt_fmt_ratio(a, sizeof a, prev, cur);
            rpt_fmt_ratio(b, sizeof b, cur, prev);
        }
        fputs("- ", out);
        md_name(out, json_string_value(json_object_get(r, "family")));
        fputs(": ", out);
        md(out, metric);
        if (json_is_string(json_object_get(r, "target"))) {
            fputs(" of ", out);
            md_json_string(out, json_object_get(r, "target"), 0);
        }
        fprintf(out, " %s → %s\n", a, b);
    }
}

/* Mixed mode: each family's records by the implementation that enqueued the job (the
 * `producer` cohort), so Go-produced jobs are seen consumed like Python-produced ones. A
 * report without producers (routes) has no such table. */
static void write_producers(FILE *out, const json_t *report)
{
    bool header = false;
    const char *name;
    const json_t *f;
    json_object_foreach(json_object_get(report, "families"), name, f) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(f, "cohorts"), "producer"), i, c) {
            if (!header)
                fputs("\n**Jobs by producer** (each job consumed by every worker target, whoever enqueued it):\n\n"
                      "| family | producer | samples | parity | lower bound | mismatch | error |\n"
                      "|---|---|--:|--:|--:|--:|--:|\n",
                      out);
            header = true;
            fputs("| ", out);
            md_name(out, name);
            fputs(" | ", out);
            md_name(out, json_string_value(json_object_get(c, "name")));
            fprintf(out, " | %lld | ", (long long)json_integer_value(json_object_get(c, "samples")));
            ratio_cell(out, json_object_get(c, "parity"));
            fputs(" | ", out);
            ratio_cell(out, json_object_get(c, "parity_lower"));
            fprintf(out, " | %lld | %lld |\n", (long long)json_integer_value(json_object_get(c, "mismatch")),
                    (long long)json_integer_value(json_object_get(c, "error")));
        }
    }
}

/* One difference's where, path, kind, baseline and candidate cells. */
static void difference_cells(FILE *out, const json_t *d)
{
    static const char *const keys[] = {"where", "path", "kind"};
    for (size_t k = 0; k < 3; k++) {
        fputs(" | ", out);
        md_json_string(out, json_object_get(d, keys[k]), VALUE_CHARS);
    }
    fputs(" | ", out);
    md_value(out, rpt_difference_side(d, "baseline"));
    fputs(" | ", out);
    md_value(out, rpt_difference_side(d, "candidate"));
}

/* The exemplar cell: its id, then the request and the status pair. */
static void exemplar_cell(FILE *out, const json_t *ex)
{
    md_json_string(out, json_object_get(ex, "id"), VALUE_CHARS);
    char *request = rpt_exemplar_request(ex);
    if (request) {
        fputs(": ", out);
        rpt_md_escape(out, request, strlen(request), 2 * VALUE_CHARS);
    }
    free(request);
}

/* A row per signature with its exemplar's first difference, then a row for each of the
 * exemplar's other differences (up to DIFFERENCES_SHOWN), then "and N more": a signature's
 * real bug is not hidden behind the first, harmless-looking difference. */
static void write_differences(FILE *out, const json_t *list)
{
    if (json_array_size(list) == 0)
        return;
    fputs("\n| count | capability | signature | where | path | kind | baseline | candidate | exemplar |\n"
          "|--:|---|---|---|---|---|---|---|---|\n",
          out);
    size_t i;
    const json_t *d;
    json_array_foreach(list, i, d) {
        const json_t *ex = json_object_get(d, "exemplar");
        const json_t *diffs = json_object_get(ex, "differences");
        fprintf(out, "| %lld | ", (long long)json_integer_value(json_object_get(d, "count")));
        md_name(out, json_string_value(json_object_get(d, "capability")));
        fputs(" | ", out);
        md_name(out, json_string_value(json_object_get(d, "signature")));
        difference_cells(out, json_array_get(diffs, 0));
        fputs(" | ", out);
        exemplar_cell(out, ex);
        fputs(" |\n", out);
        size_t shown = json_array_size(diffs) < DIFFERENCES_SHOWN ? json_array_size(diffs) : DIFFERENCES_SHOWN;
        for (size_t k = 1; k < shown; k++) {
            fputs("| | |", out);
            difference_cells(out, json_array_get(diffs, k));
            fputs(" | |\n", out);
        }
        json_int_t total = json_integer_value(json_object_get(ex, "difference_count"));
        if (total < (json_int_t)json_array_size(diffs))
            total = (json_int_t)json_array_size(diffs);
        if (total > (json_int_t)shown)
            fprintf(out, "| | | | | … and %lld more differences (report.json lists %zu) | | | | |\n",
                    (long long)(total - (json_int_t)shown), json_array_size(diffs));
    }
}

/* "skipped_unsafe 2, no_credentials 1" */
static void skip_reasons(FILE *out, const json_t *by_reason)
{
    const char *why;
    const json_t *n;
    bool first = true;
    json_object_foreach((json_t *)by_reason, why, n) {
        fputs(first ? "" : ", ", out);
        first = false;
        md(out, why);
        fprintf(out, " %lld", (long long)json_integer_value(n));
    }
}

static void write_failing(FILE *out, const json_t *report)
{
    const char *name;
    const json_t *f;
    json_object_foreach(json_object_get(report, "families"), name, f) {
        const char *decision = json_string_value(json_object_get(f, "decision"));
        if (!decision || strcmp(decision, "promote") == 0)
            continue;
        fputs("\n### ", out);
        md_name(out, name);
        fputs(": ", out);
        md(out, decision);
        fputs("\n\n", out);
        size_t i;
        const json_t *r;
        json_array_foreach(json_object_get(f, "reasons"), i, r) {
            fputs("- ", out);
            md_json_string(out, r, 0);
            fputc('\n', out);
        }
        if (json_integer_value(json_object_get(f, "skipped")) > 0) {
            fprintf(out, "- %lld skipped (not sent to both sides, no evidence): ",
                    (long long)json_integer_value(json_object_get(f, "skipped")));
            skip_reasons(out, json_object_get(f, "skipped_by_reason"));
            fputc('\n', out);
        }
        write_differences(out, json_object_get(f, "top_differences"));
    }
}

/* --mixed flows per family: completion, its interval, the first failed step. */
static void write_mixed(FILE *out, const json_t *report)
{
    bool header = false;
    const char *name;
    const json_t *f;
    json_object_foreach(json_object_get(report, "families"), name, f) {
        const json_t *m = json_object_get(f, "mixed");
        if (!m)
            continue;
        if (!header) {
            fputs("\n**Mixed flows** (--mixed: each flow's steps answered by baseline and candidate in turn; a flow "
                  "completes when every step succeeds as recorded):\n\n"
                  "| family | pattern | flows | completed | completion | lower | first failed step |\n"
                  "|---|---|--:|--:|--:|--:|---|\n",
                  out);
            header = true;
        }
        fputs("| ", out);
        md_name(out, name);
        fputs(" | ", out);
        const char *pattern;
        const json_t *n;
        bool first = true;
        json_object_foreach(json_object_get(m, "patterns"), pattern, n) {
            (void)n;
            if (!first)
                fputs(", ", out);
            md(out, pattern);
            first = false;
        }
        fprintf(out, " | %lld | %lld | ", (long long)json_integer_value(json_object_get(m, "flows")),
                (long long)json_integer_value(json_object_get(m, "completed")));
        ratio_cell(out, json_object_get(m, "completion"));
        fputs(" | ", out);
        ratio_cell(out, json_object_get(m, "completion_lower"));
        fputs(" | ", out);
        const json_t *failure = json_object_get(json_object_get(m, "first_failure"), "failure");
        if (json_is_string(failure))
            md_json_string(out, failure, 0);
        else
            fputs("none", out);
        fputs(" |\n", out);
    }
}

static void write_expired(FILE *out, const json_t *report)
{
    const json_t *list = json_object_get(report, "expired_rules");
    if (json_array_size(list) == 0)
        return;
    fputs("\n**Expired rules still matching differences** (the differences now count):\n\n", out);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) {
        fputs("- ", out);
        md_json_string(out, json_object_get(e, "rule"), 0);
        fputs(" (owner ", out);
        md_json_string(out, json_object_get(e, "owner"), 0);
        fputs(", expired ", out);
        md_json_string(out, json_object_get(e, "expires"), 0);
        fprintf(out, "): %lld hits\n", (long long)json_integer_value(json_object_get(e, "hits")));
    }
}

/* The tee's report: per family, the requests the front saw, the copies diffed and shed
 * (fair shedding keeps a share for every family when the shadow side cannot keep up). */
static void write_shadow(FILE *out, const json_t *report)
{
    const json_t *rows = json_object_get(report, "shadow");
    if (json_array_size(rows) == 0)
        return;
    fputs("\n**Shadow coverage** (the tee: requests in scope per family, copies diffed and shed):\n\n"
          "| family | seen | diffed | shed | coverage |\n|---|--:|--:|--:|--:|\n",
          out);
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        fputs("| ", out);
        md_name(out, json_string_value(json_object_get(r, "family")));
        fprintf(out, " | %lld | %lld | %lld | ", (long long)json_integer_value(json_object_get(r, "seen")),
                (long long)json_integer_value(json_object_get(r, "diffed")),
                (long long)json_integer_value(json_object_get(r, "shed")));
        ratio_cell(out, json_object_get(r, "coverage"));
        fputs(" |\n", out);
    }
}

int reports_write_markdown(FILE *out, const json_t *report, pm_err *err)
{
    const json_t *run = json_object_get(report, "run"), *totals = json_object_get(report, "totals");
    fputs("## pmirror parity report", out);
    if (json_is_string(json_object_get(run, "time"))) {
        fputs(" (", out);
        md_json_string(out, json_object_get(run, "time"), 0);
        fputs(")", out);
    }
    fprintf(out, "\n\n%lld records: %lld match, %lld mismatch, %lld error, %lld skipped",
            (long long)json_integer_value(json_object_get(totals, "total")),
            (long long)json_integer_value(json_object_get(totals, "match")),
            (long long)json_integer_value(json_object_get(totals, "mismatch")),
            (long long)json_integer_value(json_object_get(totals, "error")),
            (long long)json_integer_value(json_object_get(totals, "skipped")));
    if (json_object_size(json_object_get(totals, "skipped_by_reason"))) {
        fputs(" (", out);
        skip_reasons(out, json_object_get(totals, "skipped_by_reason"));
        fputc(')', out);
    }
    fputs(".\n\n", out);
    if (reports_write_markdown_table(out, report, err) != 0)
        return -1;
    write_proposal(out, report);
    write_regressions(out, report);
    write_producers(out, report);
    write_shadow(out, report);
    write_mixed(out, report);
    write_failing(out, report);
    write_expired(out, report);
    if (ferror(out))
        return pm_err_set(err, "cannot write report.md");
    return 0;
}
