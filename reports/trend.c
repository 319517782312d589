/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trend.c — `--previous OLD/report.json`: what changed since the last report. Each family
 * present in both gets `previous` (its old parity, lower bound, decision, p95 per target)
 * and `trend` (parity_delta = current - previous; p95_delta per target = current /
 * previous - 1). A family whose parity dropped by more than trend.max_parity_drop, or
 * whose candidate's p95 grew by more than trend.max_p95_increase, is a regression. The
 * baseline's p95 is shown but not judged: it measures the environment, not the rewrite.
 */
#include <math.h>
#include <string.h>

#include "reports_internal.h"

static json_t *p95_by_target(const json_t *family)
{
    json_t *o = json_object();
    const char *target;
    const json_t *l;
    json_object_foreach(json_object_get(family, "latency"), target, l)
        json_object_set(o, target, json_object_get(l, "p95") ? json_object_get(l, "p95") : json_null());
    return o;
}

static json_t *regression(const char *family, const char *metric, const char *target, double previous, double current,
                          double threshold)
{
    bool p95 = strcmp(metric, "p95") == 0; /* microseconds */
    return json_pack("{s:s, s:s, s:s?, s:o, s:o, s:o}", "family", family, "metric", metric, "target", target,
                     "previous", p95 ? json_integer((json_int_t)llround(previous)) : rpt_ratio_json(previous),
                     "current", p95 ? json_integer((json_int_t)llround(current)) : rpt_ratio_json(current),
                     "threshold", json_real(threshold));
}

json_t *rpt_trend_apply(json_t *report, const json_t *previous, const rpt_trend_limits *limits)
{
    json_t *regressions = json_array();
    const json_t *old_families = json_object_get(previous, "families");
    const char *name;
    json_t *fam;
    json_object_foreach(json_object_get(report, "families"), name, fam) {
        const json_t *old = json_object_get(old_families, name);
        if (!json_is_object(old))
            continue;
        json_t *old_p95 = p95_by_target(old);
        json_object_set_new(fam, "previous",
                            json_pack("{s:O?, s:O?, s:O?, s:o}", "parity", json_object_get(old, "parity"),
                                      "parity_lower", json_object_get(old, "parity_lower"), "decision",
                                      json_object_get(old, "decision"), "p95", json_incref(old_p95)));
        double cur = rpt_number(json_object_get(fam, "parity")), prev = rpt_number(json_object_get(old, "parity"));
        json_t *trend = json_object();
        json_object_set_new(trend, "parity_delta", rpt_ratio_json(cur - prev));
        if (!isnan(cur) && !isnan(prev) && !isnan(limits->max_parity_drop) &&
            prev - cur > limits->max_parity_drop + 1e-12)
            json_array_append_new(regressions,
                                  regression(name, "parity", NULL, prev, cur, limits->max_parity_drop));
        json_t *p95_delta = json_object();
        const char *target;
        const json_t *l;
        json_object_foreach(json_object_get(fam, "latency"), target, l) {
            double c = rpt_number(json_object_get(l, "p95")), p = rpt_number(json_object_get(old_p95, target));
            if (isnan(c) || isnan(p) || p <= 0)
                continue;
            double delta = c / p - 1;
            json_object_set_new(p95_delta, target, rpt_ratio_json(delta));
            const char *role = json_string_value(json_object_get(l, "role"));
            if (role && strcmp(role, "candidate") == 0 && !isnan(limits->max_p95_increase) &&
                delta > limits->max_p95_increase + 1e-12)
                json_array_append_new(regressions,
                                      regression(name, "p95", target, p, c, limits->max_p95_increase));
        }
        json_object_set_new(trend, "p95_delta", p95_delta);
        json_object_set_new(fam, "trend", trend);
        json_decref(old_p95);
    }
    return regressions;
}
