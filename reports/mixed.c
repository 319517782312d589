/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixed.c — a family's `mixed` dimension: flows replayed with --mixed (each step answered
 * by one implementation, replay/mixed.c), scored by flow.
 *
 * A flow completes when every one of its steps succeeded as recorded (diff/mixed.c); one
 * failed step fails the flow. There is no pair of answers, so none of this is parity:
 * the records are counted here only, never as match or mismatch. Completion has the same
 * Wilson 95% interval and the same threshold (min_parity_lower) as parity, and the
 * decision (decide.c) names one failed step: the earliest step of a flow that failed (the
 * cause; the later steps of its flow mostly fail because of it), then the smallest record
 * id, so the report does not depend on the order shards are read in. A flow's steps in two families count as a
 * flow of each. At most RPT_MAX_FLOWS flow ids are kept per family; steps of flows past
 * that are counted as uncounted.
 */
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

#define RPT_MAX_FLOWS 100000

struct rpt_mixed {
    pm_table *flows; /* flow id -> bool * (failed) */
    uint64_t nflows, failed_flows, steps, failed_steps, uncounted;
    json_t *patterns;  /* the patterns seen: {name: steps} */
    json_t *failure;   /* the failed step named: {id, flow, kind, step, target, failure} */
};

void rpt_mixed_free(rpt_mixed *m)
{
    if (!m)
        return;
    pm_table_free(m->flows);
    json_decref(m->patterns);
    json_decref(m->failure);
    free(m);
}

int rpt_mixed_add(rpt_mixed **mp, const json_t *mixed, const char *id, pm_err *err)
{
    if (!json_is_object(mixed))
        return pm_err_set(err, "a record with verdict \"mixed\" needs a \"mixed\" object");
    const char *flow = json_string_value(json_object_get(mixed, "flow"));
    if (!flow)
        return pm_err_set(err, "mixed.flow must be a string");
    if (!*mp) {
        rpt_mixed *m = calloc(1, sizeof *m);
        if (!m || !(m->flows = pm_table_new(free)) || !(m->patterns = json_object())) {
            rpt_mixed_free(m);
            return pm_err_set(err, "out of memory");
        }
        *mp = m;
    }
    rpt_mixed *m = *mp;
    bool ok = json_is_true(json_object_get(mixed, "ok"));
    bool *failed = pm_table_get(m->flows, flow);
    if (!failed) {
        if (pm_table_size(m->flows) >= RPT_MAX_FLOWS) {
            m->uncounted++;
            return 0;
        }
        if (!(failed = calloc(1, sizeof *failed)) || pm_table_put(m->flows, flow, failed) != 0) {
            free(failed);
            return pm_err_set(err, "out of memory");
        }
        m->nflows++;
    }
    m->steps++;
    const char *pattern = json_string_value(json_object_get(mixed, "pattern"));
    if (pattern)
        json_object_set_new(m->patterns, pattern,
                            json_integer(json_integer_value(json_object_get(m->patterns, pattern)) + 1));
    if (ok)
        return 0;
    m->failed_steps++;
    if (!*failed) {
        *failed = true;
        m->failed_flows++;
    }
    /* the earliest step that failed (later ones of its flow mostly fail because it did),
     * then the smallest id: the same whatever order the records come in */
    const char *best = json_string_value(json_object_get(m->failure, "id"));
    json_int_t step = json_integer_value(json_object_get(mixed, "step"));
    json_int_t best_step = json_integer_value(json_object_get(m->failure, "step"));
    if (!m->failure || step < best_step || (step == best_step && id && (!best || strcmp(id, best) < 0))) {
        json_t *f = json_pack("{s:s?, s:s, s:O?, s:O?, s:O?, s:O?}", "id", id, "flow", flow, "kind",
                              json_object_get(mixed, "kind"), "step", json_object_get(mixed, "step"), "target",
                              json_object_get(mixed, "target"), "failure", json_object_get(mixed, "failure"));
        if (!f)
            return pm_err_set(err, "out of memory");
        json_decref(m->failure);
        m->failure = f;
    }
    return 0;
}

json_t *rpt_mixed_json(const rpt_mixed *m)
{
    if (!m)
        return NULL;
    uint64_t completed = m->nflows - m->failed_flows;
    json_t *o = json_pack("{s:O, s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "patterns", m->patterns, "flows",
                          (json_int_t)m->nflows, "completed", (json_int_t)completed, "failed",
                          (json_int_t)m->failed_flows, "completion", rpt_ratio_json(rpt_div(completed, m->nflows)),
                          "completion_lower",
                          rpt_ratio_json(m->nflows ? pm_wilson_lower(completed, m->nflows) : NAN), "steps",
                          (json_int_t)m->steps, "failed_steps", (json_int_t)m->failed_steps);
    if (o && m->failure)
        json_object_set(o, "first_failure", m->failure);
    if (o && m->uncounted)
        json_object_set_new(o, "steps_uncounted", json_integer((json_int_t)m->uncounted));
    return o;
}
