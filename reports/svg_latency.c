/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svg_latency.c — the latency comparison of report.html: one small chart per family
 * (small multiples, because families differ by orders of magnitude: a blob pull and a
 * discovery GET do not share an axis). In each, p50, p95 and p99 side by side for each
 * target — baseline first, then candidate — and the family's latency budgets
 * (baseline p95 × max_p95_ratio, baseline p99 × max_p99_ratio) drawn as dashed lines
 * across their percentile's bars, so "candidate within budget" is read off the picture.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_internal.h"

#define W 300
#define H 172
#define PLOT_X 58
#define PLOT_R 292
#define PLOT_TOP 14
#define BASE_Y 146

static const char *const percentiles[3] = {"p50", "p95", "p99"};
static const char *const ratio_keys[3] = {NULL, "max_p95_ratio", "max_p99_ratio"};

/* A round axis top (1, 2 or 5 × 10^k) at or above v, and the step of its 4 gridlines. */
static double nice_top(double v, double *step)
{
    if (!(v > 0)) {
        *step = 250;
        return 1000;
    }
    double mag = pow(10, floor(log10(v / 4)));
    double steps[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < 5; i++) {
        *step = steps[i] * mag;
        if (*step * 4 >= v)
            break;
    }
    return *step * 4;
}

static const char *role_class(const json_t *target)
{
    const char *role = html_str(target, "role");
    if (role && (strcmp(role, "baseline") == 0 || strcmp(role, "candidate") == 0 ||
                 strcmp(role, "secondary") == 0))
        return role;
    return "other";
}

static double y_of(double v, double top)
{
    return BASE_Y - v / top * (BASE_Y - PLOT_TOP);
}

static void legend(FILE *out, const json_t *latency, const char *names[], size_t nt)
{
    fputs("<span class=\"legend\">", out);
    for (size_t t = 0; t < nt; t++) {
        const json_t *target = json_object_get(latency, names[t]);
        fprintf(out, "<span><i class=\"sw t-%s\"></i>", role_class(target));
        html_text(out, names[t]);
        const char *role = html_str(target, "role");
        if (role) {
            fputs(" <small>", out);
            html_text(out, role);
            fputs("</small>", out);
        }
        fputs("</span>", out);
    }
    fputs("</span>", out);
}

static void chart(FILE *out, const json_t *fam, const char *names[], size_t nt)
{
    char a[HTML_NUM_BUF], b[HTML_NUM_BUF];
    const json_t *latency = json_object_get(fam, "latency");
    const json_t *thresholds = json_object_get(fam, "thresholds");

    /* The budgets hang off the baseline target, when there is one. */
    const json_t *baseline = NULL;
    for (size_t t = 0; t < nt; t++)
        if (strcmp(role_class(json_object_get(latency, names[t])), "baseline") == 0)
            baseline = json_object_get(latency, names[t]);
    double budget[3] = {NAN, NAN, NAN}, max = 0;
    for (size_t p = 1; p < 3; p++)
        budget[p] = html_num(baseline, percentiles[p]) * html_num(thresholds, ratio_keys[p]);
    for (size_t p = 0; p < 3; p++) {
        for (size_t t = 0; t < nt; t++) {
            double v = html_num(json_object_get(latency, names[t]), percentiles[p]);
            if (v > max)
                max = v;
        }
        if (budget[p] > max)
            max = budget[p];
    }
    fprintf(out,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
            "aria-label=\"latency p50, p95, p99 per target\">",
            W, H);
    if (max <= 0) {
        fprintf(out, "<text class=\"note\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no latency recorded</text></svg>",
                W / 2, H / 2);
        return;
    }
    double step, top = nice_top(max, &step);
    /* Bar labels are bare numbers in the axis's unit, short enough for a bar's width. */
    double unit = top <= 1000 ? 1 : top <= 1e6 ? 1e3 : 1e6;
    fputs("<g class=\"axis\">", out);
    for (int k = 0; k <= 4; k++) {
        double y = y_of(k * step, top);
        fprintf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", PLOT_X, y, PLOT_R, y);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", PLOT_X - 6, y + 3,
                html_fmt_us(a, k * step));
    }
    fputs("</g>", out);

    double group_w = (PLOT_R - PLOT_X) / 3.0, bar_w = (group_w - 18) / (double)(nt ? nt : 1);
    if (bar_w > 26)
        bar_w = 26;
    for (size_t p = 0; p < 3; p++) {
        double gx = PLOT_X + p * group_w, x0 = gx + (group_w - bar_w * nt) / 2;
        for (size_t t = 0; t < nt; t++) {
            double v = html_num(json_object_get(latency, names[t]), percentiles[p]);
            if (isnan(v))
                continue;
            double y = y_of(v, top);
            fprintf(out, "<rect class=\"t-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
                    role_class(json_object_get(latency, names[t])), x0 + t * bar_w + 1, y, bar_w - 2, BASE_Y - y);
            html_attr(out, names[t]);
            fprintf(out, " %s %s</title></rect>", percentiles[p], html_fmt_us(a, v));
            if (nt <= 2)
                fprintf(out, "<text class=\"bv\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>",
                        x0 + (t + 0.5) * bar_w, y - 3, v / unit);
        }
        if (!isnan(budget[p])) {
            double y = y_of(budget[p], top);
            fprintf(out,
                    "<line class=\"budget\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"><title>budget: "
                    "baseline %s \xC3\x97 %.2f = %s</title></line>",
                    x0 - 4, y, x0 + bar_w * nt + 4, y, percentiles[p], html_num(thresholds, ratio_keys[p]),
                    html_fmt_us(b, budget[p]));
        }
        fprintf(out, "<text class=\"pl\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", gx + group_w / 2,
                BASE_Y + 16, percentiles[p]);
    }
    fprintf(out, "<line class=\"base\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></svg>", PLOT_X, BASE_Y, PLOT_R,
            BASE_Y);
}

int svg_latency_charts(FILE *out, const json_t *families, pm_err *err)
{
    size_t n;
    const char **names = html_sorted_keys(families, &n, err);
    if (!names)
        return -1;
    if (n > 0)
        fputs("<div class=\"lat-grid\">", out);
    for (size_t i = 0; i < n; i++) {
        const json_t *fam = json_object_get(families, names[i]);
        const char *decision = html_str(fam, "decision");
        const char *targets[HTML_TARGETS_MAX];
        size_t nt = html_latency_targets(json_object_get(fam, "latency"), targets);
        fputs("<figure class=\"lat\"><figcaption><span class=\"fam\">", out);
        html_text(out, names[i]);
        fprintf(out, "</span> <span class=\"badge d-%s\">", html_decision_class(decision));
        html_text(out, decision ? decision : "no decision");
        fputs("</span>", out);
        legend(out, json_object_get(fam, "latency"), targets, nt);
        fputs("</figcaption>", out);
        chart(out, fam, targets, nt);
        fputs("</figure>\n", out);
    }
    if (n > 0)
        fputs("</div>\n", out);
    free(names);
    return 0;
}
