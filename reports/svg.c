/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svg.c — the parity chart and the trend chart of report.html, drawn as inline SVG by
 * the code (no chart library, no script): one horizontal row per family, families in
 * sorted order, coordinates printed with one decimal so the same report always gives
 * the same bytes. Colours come from the page's CSS classes (d-promote, ...), so the
 * charts and the badges share one palette.
 *
 * Parity lives near 1, where a 0..1 axis would hide every difference that matters; the
 * axis starts at the tenth below the lowest value drawn (parity, lower bound or
 * threshold) and says so in its first tick label.
 */
#include <math.h>
#include <stdlib.h>

#include "html_internal.h"

#define WIDTH 860
#define LABEL_W 180   /* family names, right-aligned before the plot */
#define PLOT_X 190
#define PLOT_W 460
#define ROW_H 30
#define TOP 8
#define AXIS_H 28

typedef struct scale {
    double min; /* the axis runs from min to 1 */
} scale;

static void scale_widen(double *lo, double v)
{
    if (!isnan(v) && v < *lo)
        *lo = v;
}

static scale scale_for(double lo)
{
    scale s = {0};
    if (lo > 1)
        lo = 1;
    s.min = floor((lo - 0.001) * 10) / 10;
    if (s.min < 0)
        s.min = 0;
    if (s.min > 0.9)
        s.min = 0.9;
    return s;
}

static double scale_x(const scale *s, double v)
{
    if (v < s->min)
        v = s->min;
    if (v > 1)
        v = 1;
    return PLOT_X + (v - s->min) / (1 - s->min) * PLOT_W;
}

/* Vertical grid lines from TOP to y_axis and tick labels under them. */
static void draw_axis(FILE *out, const scale *s, double y_axis)
{
    double range = 1 - s->min;
    double step = range <= 0.1 + 1e-9 ? 0.02 : range <= 0.3 + 1e-9 ? 0.05 : range <= 0.6 + 1e-9 ? 0.1 : 0.2;
    fputs("<g class=\"axis\">", out);
    for (int k = 0;; k++) {
        double v = s->min + k * step;
        if (v > 1 + 1e-9)
            break;
        double x = scale_x(s, v);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>", x, TOP, x,
                y_axis);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f</text>", x, y_axis + 16, v);
    }
    if (s->min > 0)
        fprintf(out, "<text class=\"note\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">axis from %.1f</text>",
                PLOT_X - 24, y_axis + 16, s->min);
    fputs("</g>", out);
}

static void svg_open(FILE *out, double height, const char *label)
{
    fprintf(out,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %.0f\" "
            "role=\"img\" aria-label=\"%s\">",
            WIDTH, height, label);
}

static void family_label(FILE *out, const char *name, double y)
{
    fprintf(out, "<text class=\"fam\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LABEL_W, y);
    html_attr(out, name);
    fputs("</text>", out);
}

/* ===== parity per family ========================================================== */

static void parity_row(FILE *out, const scale *s, const char *name, const json_t *fam, double y0)
{
    char a[HTML_NUM_BUF], b[HTML_NUM_BUF], c[HTML_NUM_BUF];
    double parity = html_num(fam, "parity"), lower = html_num(fam, "parity_lower");
    double thr = html_num(json_object_get(fam, "thresholds"), "min_parity_lower");
    const char *decision = html_str(fam, "decision");
    double mid = y0 + ROW_H / 2.0;

    fputs("<g><title>", out);
    html_attr(out, name);
    fprintf(out, ": parity %s, lower bound %s, threshold %s, ", html_fmt_ratio(a, parity),
            html_fmt_ratio(b, lower), html_fmt_ratio(c, thr));
    html_attr(out, decision ? decision : "no decision");
    fputs("</title>", out);
    family_label(out, name, mid + 4);
    fprintf(out, "<rect class=\"track\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"16\" rx=\"3\"/>", PLOT_X,
            mid - 8, PLOT_W);
    if (isnan(parity)) {
        fprintf(out, "<text class=\"note\" x=\"%d\" y=\"%.1f\">no comparable samples</text>", PLOT_X + 8,
                mid + 4);
    } else {
        double x = scale_x(s, parity);
        fprintf(out, "<rect class=\"bar d-%s\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"16\" rx=\"3\"/>",
                html_decision_class(decision), PLOT_X, mid - 8, x - PLOT_X);
        if (!isnan(lower)) {
            double xl = scale_x(s, lower);
            fprintf(out,
                    "<line class=\"whisker\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<line class=\"whisker\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                    xl, mid, x, mid, xl, mid - 5, xl, mid + 5);
        }
    }
    if (!isnan(thr)) {
        double xt = scale_x(s, thr);
        fprintf(out, "<line class=\"thr\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xt, y0 + 2, xt,
                y0 + ROW_H - 2);
    }
    fprintf(out, "<text class=\"val\" x=\"%d\" y=\"%.1f\"><tspan class=\"strong\">%s</tspan>", PLOT_X + PLOT_W + 14,
            mid + 4, html_fmt_ratio(a, parity));
    if (!isnan(lower))
        fprintf(out, " \xE2\x89\xA5 %s", html_fmt_ratio(b, lower));
    if (!isnan(thr))
        fprintf(out, " (min %s)", html_fmt_ratio(c, thr));
    fputs("</text></g>", out);
}

int svg_parity_chart(FILE *out, const json_t *families, pm_err *err)
{
    size_t n;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    if (n == 0) {
        free(names);
        return 0;
    }
    double lo = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *fam = json_object_get(families, names[i]);
        scale_widen(&lo, html_num(fam, "parity"));
        scale_widen(&lo, html_num(fam, "parity_lower"));
        scale_widen(&lo, html_num(json_object_get(fam, "thresholds"), "min_parity_lower"));
    }
    scale s = scale_for(lo);
    double y_axis = TOP + (double)n * ROW_H;
    svg_open(out, y_axis + AXIS_H, "parity per family against its threshold");
    draw_axis(out, &s, y_axis);
    for (size_t i = 0; i < n; i++)
        parity_row(out, &s, names[i], json_object_get(families, names[i]), TOP + (double)i * ROW_H);
    fputs("</svg>\n", out);
    free(names);
    return 0;
}

/* ===== trend against --previous =================================================== */

static void trend_row(FILE *out, const scale *s, const char *name, const json_t *fam, double y0)
{
    char a[HTML_NUM_BUF], b[HTML_NUM_BUF], c[HTML_NUM_BUF];
    double prev = html_num(json_object_get(fam, "previous"), "parity");
    double cur = html_num(fam, "parity");
    double delta = isnan(prev) || isnan(cur) ? NAN : cur - prev;
    const char *dir = isnan(delta) || fabs(delta) < 0.0005 ? "same" : delta < 0 ? "worse" : "better";
    double mid = y0 + ROW_H / 2.0;

    fputs("<g><title>", out);
    html_attr(out, name);
    fprintf(out, ": parity %s \xE2\x86\x92 %s</title>", html_fmt_ratio(a, prev), html_fmt_ratio(b, cur));
    family_label(out, name, mid + 4);
    fprintf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", PLOT_X, mid,
            PLOT_X + PLOT_W, mid);
    if (!isnan(prev) && !isnan(cur))
        fprintf(out, "<line class=\"move %s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", dir,
                scale_x(s, prev), mid, scale_x(s, cur), mid);
    if (!isnan(prev))
        fprintf(out, "<circle class=\"prev\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>", scale_x(s, prev), mid);
    if (!isnan(cur))
        fprintf(out, "<circle class=\"cur %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\"/>", dir, scale_x(s, cur), mid);
    fprintf(out, "<text class=\"val\" x=\"%d\" y=\"%.1f\">%s \xE2\x86\x92 <tspan class=\"strong\">%s</tspan>"
                 " <tspan class=\"%s\">(%s)</tspan></text></g>",
            PLOT_X + PLOT_W + 14, mid + 4, html_fmt_ratio(a, prev), html_fmt_ratio(b, cur), dir,
            html_fmt_delta(c, delta));
}

int svg_trend_chart(FILE *out, const json_t *families, pm_err *err)
{
    size_t n, rows = 0;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    double lo = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *fam = json_object_get(families, names[i]);
        if (!json_is_object(json_object_get(fam, "previous")))
            continue;
        names[rows++] = names[i];
        scale_widen(&lo, html_num(fam, "parity"));
        scale_widen(&lo, html_num(json_object_get(fam, "previous"), "parity"));
    }
    if (rows == 0) {
        free(names);
        return 0;
    }
    scale s = scale_for(lo);
    double y_axis = TOP + (double)rows * ROW_H;
    svg_open(out, y_axis + AXIS_H, "parity per family, previous report to this one");
    draw_axis(out, &s, y_axis);
    for (size_t i = 0; i < rows; i++)
        trend_row(out, &s, names[i], json_object_get(families, names[i]), TOP + (double)i * ROW_H);
    fputs("</svg>\n", out);
    free(names);
    return (int)rows;
}
