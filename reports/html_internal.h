/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_internal.h — private to reports/: the pieces report.html is drawn with.
 *
 *   html_escape.c   the only way a string reaches the page (text or attribute context);
 *                   invalid UTF-8 becomes U+FFFD, control and invisible characters show
 *                   as visible \uXXXX escapes, so traffic can neither inject markup nor
 *                   hide a difference.
 *   html_tree.c     tolerant reads of the report tree (missing key, null = "no value").
 *   html_format.c   numbers as people read them (ratios, latencies, counts).
 *   html_value.c    a JSON value from traffic (an exemplar's baseline or candidate),
 *                   pretty-printed by us so every string in it goes through the escaper.
 *   html.c          the page: head, CSS, run header, overview, trend, extras.
 *   html_family.c   one section per family: capabilities, cohorts, top differences.
 *   svg.c           the parity and trend charts; svg_latency.c the latency charts.
 *
 * Everything writes to a FILE and ignores short writes; reports_write_html checks
 * ferror() once at the end.
 */
#ifndef PM_REPORTS_HTML_INTERNAL_H
#define PM_REPORTS_HTML_INTERNAL_H

#include <stdio.h>

#include "core/core.h"

/* ===== escaping (html_escape.c) ================================================== */

typedef enum html_ctx {
    HTML_TEXT, /* element content: escapes are marked up (<span class="esc">) */
    HTML_ATTR  /* a double-quoted attribute value, or text inside SVG: no markup added */
} html_ctx;

/* Writes LEN bytes of S escaped for CTX. & < > " ' become entities; bytes that are not
 * valid UTF-8 become U+FFFD (one per byte); C0/C1 controls, DEL, line/paragraph
 * separators, bidi and zero-width characters, BOM and noncharacters become "\uXXXX"
 * (\n, \r, \t as "\n", "\r", "\t"). When more than MAX bytes (0 = no limit), the first
 * MAX (cut on a character boundary) and then "… (N more bytes)". */
void html_escape(FILE *out, const char *s, size_t len, html_ctx ctx, size_t max);

/* Limits for strings from traffic: names and labels, and one shown value. */
#define HTML_LABEL_MAX 256
#define HTML_VALUE_MAX 4096

/* A C string (NULL writes nothing), capped at HTML_LABEL_MAX. */
void html_text(FILE *out, const char *s);
void html_attr(FILE *out, const char *s);
/* A JSON scalar as text: a string escaped (every byte, NULs included), a number
 * formatted, true/false; null or missing writes DASH. */
void html_json_text(FILE *out, const json_t *v, const char *dash);

/* ===== the report tree (html_tree.c) ============================================== */

/* A number under KEY, or NAN when OBJ or KEY is missing, null or not a number. */
double html_num(const json_t *obj, const char *key);
/* The samples the gate counts: "samples" when the report has it, else total − skipped. */
double html_samples(const json_t *obj);
/* A string under KEY, or NULL. */
const char *html_str(const json_t *obj, const char *key);
/* OBJ's keys sorted bytewise (borrowed strings in a malloc'd array; *n = 0 and an
 * empty array for a missing object). NULL with err when out of memory. */
const char **html_sorted_keys(const json_t *obj, size_t *n, pm_err *err);
/* The decision as a CSS class name: one of the four decisions, else "unknown". */
const char *html_decision_class(const char *decision);

/* Latency targets of a family or capability, ordered baseline, candidate, secondary,
 * others, by name within a role; at most HTML_TARGETS_MAX. Returns the count. */
#define HTML_TARGETS_MAX 4
size_t html_latency_targets(const json_t *latency, const char *names[HTML_TARGETS_MAX]);
/* PERCENTILE ("p95") of the first target with ROLE, or NAN. */
double html_latency_of(const json_t *latency, const char *role, const char *percentile);

/* ===== numbers as text (html_format.c) ============================================ */

#define HTML_NUM_BUF 32
/* A ratio 0..1 as "0.962" (3 decimals); NAN → "—". Returns buf. */
const char *html_fmt_ratio(char buf[HTML_NUM_BUF], double v);
/* Microseconds as "850 µs", "3.40 ms", "120.5 ms", "1.25 s"; NAN → "—". */
const char *html_fmt_us(char buf[HTML_NUM_BUF], double us);
/* A count as an integer; NAN → "—". */
const char *html_fmt_count(char buf[HTML_NUM_BUF], double v);
/* A signed delta with 3 decimals ("+0.012", "−0.010"); NAN → "—". */
const char *html_fmt_delta(char buf[HTML_NUM_BUF], double v);
/* A ratio change as a percentage ("+12.0%"); NAN → "—". */
const char *html_fmt_pct_delta(char buf[HTML_NUM_BUF], double v);

/* ===== values and sections ======================================================== */

/* An exemplar value pretty-printed as JSON text inside a <pre> (caller writes the
 * <pre>); NULL (absent) writes a marked "(absent)". Output capped near HTML_VALUE_MAX. */
void html_value(FILE *out, const json_t *v);

/* A decision as a coloured badge; NULL shows "no decision" (html.c). */
void html_badge(FILE *out, const char *decision);
/* One <section> per family (html_family.c). */
int html_family_section(FILE *out, const char *name, const json_t *family, pm_err *err);
/* A table of difference signatures with their exemplars (html_family.c). */
void html_top_differences(FILE *out, const json_t *top);

/* ===== charts (svg.c, svg_latency.c) ============================================== */

/* Horizontal parity bars per family, the 95% lower bound as a whisker and the family's
 * min_parity_lower as a marker line. Writes nothing when there are no families. */
int svg_parity_chart(FILE *out, const json_t *families, pm_err *err);
/* Previous → current parity per family that has "previous". Returns how many rows were
 * drawn (0 = nothing written), -1 on error. */
int svg_trend_chart(FILE *out, const json_t *families, pm_err *err);
/* One small chart per family: p50/p95/p99 per target, the p95/p99 budgets marked. */
int svg_latency_charts(FILE *out, const json_t *families, pm_err *err);

#endif
