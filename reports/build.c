/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build.c — reports_build: the report tree (README "Reports and the gate" documents its
 * shape) from the builder's aggregates. Capabilities are scored and decided first, then
 * each family (whose gate also looks at its capabilities), then each capability switch
 * (ROUTE_OWNER_CAP_*, possibly shared by several capabilities), then the trend and the
 * proposal. Everything is sorted by a total order (counts, then names), so equal inputs
 * give byte-equal reports.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports_internal.h"

/* ----- sorting helpers ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    const void *value;
    uint64_t weight;
    int order;
} sort_item;

static int by_weight_then_name(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_order_then_name(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The table's entries as sort items (weight and order filled by the caller). */
static sort_item *items_of(const pm_table *t, size_t *n)
{
    *n = pm_table_size(t);
    sort_item *items = calloc(*n ? *n : 1, sizeof *items);
    for (size_t i = 0; items && i < *n; i++) {
        items[i].name = pm_table_key(t, i);
        items[i].value = pm_table_value(t, i);
    }
    return items;
}

/* ----- scores ------------------------------------------------------------------------- */

static void set_counts(json_t *o, uint64_t total, uint64_t match, uint64_t mismatch, uint64_t error, uint64_t skipped)
{
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    json_object_set_new(o, "match", json_integer((json_int_t)match));
    json_object_set_new(o, "mismatch", json_integer((json_int_t)mismatch));
    json_object_set_new(o, "error", json_integer((json_int_t)error));
    json_object_set_new(o, "skipped", json_integer((json_int_t)skipped));
    json_object_set_new(o, "samples", json_integer((json_int_t)(match + mismatch + error)));
    json_object_set_new(o, "parity", rpt_ratio_json(rpt_div(match, match + mismatch)));
    json_object_set_new(o, "parity_lower", rpt_ratio_json(pm_wilson_lower(match, match + mismatch)));
    json_object_set_new(o, "error_rate", rpt_ratio_json(rpt_div(error, match + mismatch + error)));
}

static json_t *quantile_json(const reports_histogram *h, double q)
{
    double v = reports_histogram_quantile(h, q);
    return isnan(v) ? json_null() : json_integer((json_int_t)llround(v));
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const rpt_latency *const *)a)->name, (*(const rpt_latency *const *)b)->name);
}

static json_t *latency_json(const rpt_scope *s)
{
    const rpt_latency *sorted[RPT_MAX_TARGETS];
    for (size_t i = 0; i < s->nlatency; i++)
        sorted[i] = &s->latency[i];
    qsort(sorted, s->nlatency, sizeof *sorted, by_name);
    json_t *o = json_object();
    for (size_t i = 0; i < s->nlatency; i++) {
        const rpt_latency *l = sorted[i];
        json_object_set_new(o, l->name,
                            json_pack("{s:s?, s:I, s:o, s:o, s:o}", "role", l->role, "count",
                                      (json_int_t)reports_histogram_count(l->h), "p50", quantile_json(l->h, 0.50),
                                      "p95", quantile_json(l->h, 0.95), "p99", quantile_json(l->h, 0.99)));
    }
    return o;
}

/* The first target (by name, as latency_json lists them) with this role, or NULL. */
static const rpt_latency *latency_with_role(const rpt_scope *s, const char *role)
{
    const rpt_latency *best = NULL;
    for (size_t i = 0; i < s->nlatency; i++)
        if (s->latency[i].role && strcmp(s->latency[i].role, role) == 0 &&
            (!best || strcmp(s->latency[i].name, best->name) < 0))
            best = &s->latency[i];
    return best;
}

/* The Mann-Whitney U test of the candidate's latencies against the baseline's (what the
 * latency budgets are decided on beside their ratio), or JSON null without both. */
static json_t *latency_test_json(const rpt_scope *s)
{
    const rpt_latency *base = latency_with_role(s, "baseline"), *cand = latency_with_role(s, "candidate");
    if (!base || !cand)
        return json_null();
    rpt_mann_whitney mw;
    rpt_histogram_mann_whitney(base->h, cand->h, &mw);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "test", "mann-whitney", "baseline", base->name,
                     "candidate", cand->name, "n_baseline", (json_int_t)mw.n_baseline, "n_candidate",
                     (json_int_t)mw.n_candidate, "u", isnan(mw.z) ? json_null() : json_real(mw.u), "z",
                     rpt_ratio_json(mw.z), "p_slower", isnan(mw.p_slower) ? json_null() : rpt_evidence_json(log(mw.p_slower)));
}

/* The tail test of a latency budget, per quantile with a ratio (p95, p99): how many of the
 * candidate's answers are over the limit (baseline quantile x ratio), and how likely that
 * many would be if the candidate's quantile were within it (at most 1 - q of its answers
 * over: a one-sided binomial test). Into scope.latency_test.tail.{p95,p99}. */
static void add_tail_tests(json_t *scope, const rpt_scope *s, const rpt_thresholds *t)
{
    const rpt_latency *base = latency_with_role(s, "baseline"), *cand = latency_with_role(s, "candidate");
    json_t *test = json_object_get(scope, "latency_test");
    if (!base || !cand || !json_is_object(test))
        return;
    const struct {
        const char *q;
        double quantile, ratio;
    } budgets[] = {{"p95", 0.95, t->max_p95_ratio}, {"p99", 0.99, t->max_p99_ratio}};
    json_t *tail = json_object();
    for (size_t i = 0; i < 2; i++) {
        double b = reports_histogram_quantile(base->h, budgets[i].quantile);
        uint64_t n = reports_histogram_count(cand->h);
        if (isnan(budgets[i].ratio) || isnan(b) || n == 0)
            continue;
        double limit = (double)llround(b) * budgets[i].ratio; /* as decide reads it from the report */
        uint64_t over = rpt_histogram_count_over(cand->h, limit);
        double p = rpt_binomial_upper_tail(over, n, 1 - budgets[i].quantile);
        json_object_set_new(tail, budgets[i].q, json_pack("{s:f, s:I, s:I, s:o}", "limit", limit, "over",
                                                          (json_int_t)over, "n", (json_int_t)n, "p",
                                                          rpt_evidence_json(log(p))));
    }
    json_object_set_new(test, "tail", tail);
}

/* {code: count} of a table of codes, most frequent first; past the cap "(other codes)". */
static json_t *codes_json(const pm_table *codes, uint64_t dropped)
{
    size_t n = 0;
    sort_item *items = codes ? items_of(codes, &n) : NULL;
    json_t *o = json_object();
    for (size_t i = 0; items && i < n; i++)
        items[i].weight = *(const uint64_t *)items[i].value;
    if (items)
        qsort(items, n, sizeof *items, by_weight_then_name);
    for (size_t i = 0; items && i < n; i++)
        json_object_set_new(o, items[i].name, json_integer((json_int_t)items[i].weight));
    if (dropped)
        json_object_set_new(o, "(other codes)", json_integer((json_int_t)dropped));
    free(items);
    return o;
}

/* The numbers of a family or capability, before its decision. */
static json_t *scope_json(const rpt_scope *s)
{
    json_t *o = json_object();
    set_counts(o, s->total, s->match, s->mismatch, s->error, s->skipped);
    uint64_t samples = s->match + s->mismatch + s->error;
    json_object_set_new(o, "error_rate_by_role",
                        json_pack("{s:o, s:o}", "baseline", rpt_ratio_json(rpt_div(s->baseline_errors, samples)),
                                  "candidate", rpt_ratio_json(rpt_div(s->candidate_errors, samples))));
    json_object_set_new(o, "errors", codes_json(s->errors, s->errors_dropped));
    json_object_set_new(o, "skipped_by_reason", codes_json(s->skip_reasons, s->skip_reasons_dropped));
    json_object_set_new(o, "latency", latency_json(s));
    json_object_set_new(o, "latency_test", latency_test_json(s));
    return o;
}

/* ----- top differences and cohorts ---------------------------------------------------- */

static json_t *signature_json(const char *signature, const rpt_signature *s)
{
    json_t *exemplar = json_pack("{s:s}", "id", s->exemplar_id);
    if (s->request)
        json_object_set(exemplar, "request", s->request);
    if (s->status)
        json_object_set(exemplar, "status", s->status);
    json_object_set(exemplar, "differences", s->differences);
    json_object_set_new(exemplar, "difference_count", json_integer((json_int_t)s->difference_count));
    return json_pack("{s:s, s:I, s:s, s:O, s:o}", "signature", signature, "count", (json_int_t)s->count,
                     "capability", s->capability, "shape", s->shape, "exemplar", exemplar);
}

/* The top n signatures of the family; only those of `capability` when not NULL. */
static json_t *top_differences(const rpt_family *f, const char *capability, size_t top)
{
    size_t n;
    sort_item *items = items_of(f->signatures, &n);
    json_t *list = json_array();
    if (!items)
        return list;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const rpt_signature *s = items[i].value;
        if (capability && strcmp(s->capability, capability) != 0)
            continue;
        items[kept] = items[i];
        items[kept++].weight = s->count;
    }
    qsort(items, kept, sizeof *items, by_weight_then_name);
    for (size_t i = 0; i < kept && i < top; i++)
        json_array_append_new(list, signature_json(items[i].name, items[i].value));
    free(items);
    return list;
}

static json_t *cohorts_json(const rpt_family *f, size_t top)
{
    json_t *o = json_object();
    for (int k = 0; k < RPT_COHORT_KINDS; k++) {
        if (k == RPT_COHORT_PRODUCER && pm_table_size(f->cohorts[k]) == 0)
            continue; /* a route family's records have no producer: no empty list */
        size_t n;
        sort_item *items = items_of(f->cohorts[k], &n);
        json_t *list = json_array();
        for (size_t i = 0; items && i < n; i++)
            items[i].weight = ((const rpt_cohort *)items[i].value)->total;
        if (items)
            qsort(items, n, sizeof *items, by_weight_then_name);
        for (size_t i = 0; items && i < n && i < top; i++) {
            const rpt_cohort *c = items[i].value;
            json_t *one = json_pack("{s:s}", "name", items[i].name);
            set_counts(one, c->total, c->match, c->mismatch, c->error, c->skipped);
            json_array_append_new(list, one);
        }
        free(items);
        json_object_set_new(o, rpt_cohort_kinds[k], list);
    }
    return o;
}

/* ----- families ----------------------------------------------------------------------- */

static void decide(json_t *scope, const rpt_thresholds *t, const char *owner, const char *switch_name, bool family)
{
    json_t *reasons = json_array();
    const char *decision = rpt_decide(t, scope, owner, switch_name, reasons);
    if (t->sequential && !isnan(t->min_parity_lower)) {
        uint64_t mismatch = (uint64_t)json_integer_value(json_object_get(scope, "mismatch"));
        uint64_t n = mismatch + (uint64_t)json_integer_value(json_object_get(scope, "match"));
        json_object_set_new(scope, "sequential",
                            json_pack("{s:f, s:o, s:o}", "alpha", PM_SEQ_ALPHA, "evidence_under",
                                      rpt_evidence_json(pm_seq_log_evidence_under(mismatch, n, t->min_parity_lower)),
                                      "evidence_over",
                                      rpt_evidence_json(pm_seq_log_evidence_over(mismatch, n, t->min_parity_lower))));
    }
    json_object_set_new(scope, "thresholds", rpt_thresholds_json(t, family));
    json_object_set_new(scope, "decision", json_string(decision));
    json_object_set_new(scope, "reasons", reasons);
}

static json_t *coverage_json(const reports_builder *b, const char *family, const rpt_family *f)
{
    long reads = rpt_catalog_read_count(b->catalog, family);
    if (reads <= 0)
        return json_null();
    long seen = 0;
    for (size_t i = 0; i < pm_table_size(f->capabilities); i++) {
        const rpt_capability *c = pm_table_value(f->capabilities, i);
        seen += rpt_catalog_is_read(b->catalog, family, pm_table_key(f->capabilities, i)) &&
                c->s.match + c->s.mismatch + c->s.error > 0;
    }
    return json_pack("{s:I, s:I, s:o}", "seen", (json_int_t)seen, "read_capabilities", (json_int_t)reads, "share",
                     rpt_ratio_json((double)seen / (double)reads));
}

static json_t *capabilities_json(const reports_builder *b, const char *family, const rpt_family *f,
                                 const json_t *owners)
{
    size_t n;
    sort_item *items = items_of(f->capabilities, &n);
    json_t *o = json_object();
    if (items)
        qsort(items, n, sizeof *items, by_order_then_name);
    for (size_t i = 0; items && i < n; i++) {
        const rpt_capability *c = items[i].value;
        json_t *cap = json_pack("{s:s?, s:s?}", "switch", c->cap_switch, "owner",
                                rpt_owner_effective(owners, c->cap_switch, f->switch_name));
        json_t *numbers = scope_json(&c->s);
        json_object_update(cap, numbers);
        json_decref(numbers);
        json_t *mixed = rpt_mixed_json(c->mixed);
        if (mixed)
            json_object_set_new(cap, "mixed", mixed);
        rpt_thresholds t;
        rpt_gate_capability(b->gate, family, items[i].name, &t);
        t.sequential = b->o.sequential;
        add_tail_tests(cap, &c->s, &t);
        decide(cap, &t, json_string_value(json_object_get(cap, "owner")), c->cap_switch ? c->cap_switch : f->switch_name,
               false);
        json_object_set_new(cap, "top_differences", top_differences(f, items[i].name, b->o.top_differences));
        json_object_set_new(o, items[i].name, cap);
    }
    free(items);
    return o;
}

/* One capability switch of a family: rollback or hold when any of its capabilities does;
 * promote when enough of the capabilities the map gives it are promoted (the family's
 * min_capability_coverage), none failing; insufficient otherwise. */
static json_t *cap_switch_json(const reports_builder *b, const char *family, const char *name, const json_t *capabilities,
                               const json_t *owners, const rpt_thresholds *t)
{
    json_t *caps = json_array(), *reasons = json_array();
    size_t promoted = 0;
    const char *decision = NULL, *cname;
    const json_t *cap;
    json_object_foreach((json_t *)capabilities, cname, cap) {
        const char *sw = json_string_value(json_object_get(cap, "switch"));
        if (!sw || strcmp(sw, name) != 0)
            continue;
        json_array_append_new(caps, json_string(cname));
        const char *d = json_string_value(json_object_get(cap, "decision"));
        promoted += strcmp(d, "promote") == 0;
        if (strcmp(d, "hold") == 0 || strcmp(d, "rollback") == 0) {
            if (!decision || strcmp(d, "rollback") == 0)
                decision = d;
            char buf[1200];
            snprintf(buf, sizeof buf, "capability %s %s: %s", cname, strcmp(d, "hold") == 0 ? "holds" : "rolls back",
                     json_string_value(json_array_get(json_object_get(cap, "reasons"), 0)));
            json_array_append_new(reasons, json_string(buf));
        }
    }
    long in_map = rpt_catalog_switch_count(b->catalog, family, name);
    size_t of = in_map > 0 ? (size_t)in_map : json_array_size(caps);
    double share = of ? (double)promoted / (double)of : 0;
    if (!decision) {
        double need = isnan(t->min_capability_coverage) ? 0 : t->min_capability_coverage;
        char a[32], c[32], buf[256];
        rpt_fmt_ratio(a, sizeof a, share, need);
        rpt_fmt_ratio(c, sizeof c, need, share);
        bool enough = promoted > 0 && share >= need;
        if (promoted == 0) /* every capability is insufficient: comparing 0 with 0 would say nothing */
            snprintf(buf, sizeof buf, "0 of %zu capabilities promoted: none has enough samples yet", of);
        else
            snprintf(buf, sizeof buf, "%zu of %zu capabilities promoted = %s %s %s", promoted, of, a,
                     enough ? ">=" : "<", c);
        json_array_append_new(reasons, json_string(buf));
        decision = enough ? "promote" : "insufficient";
    }
    return json_pack("{s:s?, s:o, s:I, s:o, s:s, s:o}", "owner", rpt_owner_of(owners, name), "capabilities", caps,
                     "in_map", (json_int_t)of, "share", rpt_ratio_json(share), "decision", decision, "reasons", reasons);
}

static json_t *cap_switches_json(const reports_builder *b, const char *family, const json_t *capabilities,
                                 const json_t *owners, const rpt_thresholds *t)
{
    json_t *o = json_object();
    const char *cname;
    const json_t *cap;
    json_object_foreach((json_t *)capabilities, cname, cap) {
        const char *sw = json_string_value(json_object_get(cap, "switch"));
        if (sw && !json_object_get(o, sw))
            json_object_set_new(o, sw, cap_switch_json(b, family, sw, capabilities, owners, t));
    }
    return o;
}

static json_t *family_json(const reports_builder *b, const char *name, const rpt_family *f, const json_t *owners)
{
    json_t *fam = json_pack("{s:s?, s:s?}", "switch", f->switch_name, "owner", rpt_owner_of(owners, f->switch_name));
    json_t *numbers = scope_json(&f->s);
    json_object_update(fam, numbers);
    json_decref(numbers);
    json_object_set_new(fam, "coverage", coverage_json(b, name, f));
    json_t *caps = capabilities_json(b, name, f, owners);
    json_object_set_new(fam, "capabilities", caps);
    json_t *mixed = rpt_mixed_json(f->mixed);
    if (mixed)
        json_object_set_new(fam, "mixed", mixed);
    rpt_thresholds t;
    rpt_gate_family(b->gate, name, &t);
    t.sequential = b->o.sequential;
    add_tail_tests(fam, &f->s, &t);
    decide(fam, &t, json_string_value(json_object_get(fam, "owner")), f->switch_name, true);
    json_object_set_new(fam, "cap_switches", cap_switches_json(b, name, caps, owners, &t));
    json_object_set_new(fam, "cohorts", cohorts_json(f, b->o.top_cohorts));
    json_t *dropped = json_object();
    for (int k = 0; k < RPT_COHORT_KINDS; k++)
        if (f->cohorts_dropped[k])
            json_object_set_new(dropped, rpt_cohort_kinds[k], json_integer((json_int_t)f->cohorts_dropped[k]));
    if (json_object_size(dropped))
        json_object_set_new(fam, "cohorts_uncounted", dropped);
    else
        json_decref(dropped);
    json_object_set_new(fam, "top_differences", top_differences(f, NULL, b->o.top_differences));
    json_object_set_new(fam, "signatures", json_integer((json_int_t)pm_table_size(f->signatures)));
    if (f->signatures_dropped)
        json_object_set_new(fam, "signatures_uncounted", json_integer((json_int_t)f->signatures_dropped));
    return fam;
}

/* ----- the rest ----------------------------------------------------------------------- */

static json_t *noise_json(const reports_builder *b)
{
    size_t n;
    sort_item *items = items_of(b->noise, &n);
    json_t *list = json_array();
    for (size_t i = 0; items && i < n; i++)
        items[i].weight = ((const rpt_noise *)items[i].value)->count;
    if (items)
        qsort(items, n, sizeof *items, by_weight_then_name);
    for (size_t i = 0; items && i < n && i < 100; i++) {
        const rpt_noise *x = items[i].value;
        json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "capability", x->capability, "shape", x->shape,
                                              "count", (json_int_t)x->count));
    }
    free(items);
    return list;
}

static json_t *expired_json(const reports_builder *b)
{
    size_t n;
    sort_item *items = items_of(b->expired, &n);
    json_t *list = json_array();
    for (size_t i = 0; items && i < n; i++)
        items[i].weight = ((const rpt_expired *)items[i].value)->hits;
    if (items)
        qsort(items, n, sizeof *items, by_weight_then_name);
    for (size_t i = 0; items && i < n; i++) {
        const rpt_expired *x = items[i].value;
        json_t *one = json_deep_copy(x->rule);
        json_object_set_new(one, "hits", json_integer((json_int_t)x->hits));
        json_array_append_new(list, one);
    }
    free(items);
    return list;
}

static json_t *totals_json(const json_t *families)
{
    uint64_t c[5] = {0};
    static const char *const keys[5] = {"total", "match", "mismatch", "error", "skipped"};
    const char *name;
    const json_t *f;
    json_object_foreach((json_t *)families, name, f)
        for (int k = 0; k < 5; k++)
            c[k] += (uint64_t)json_integer_value(json_object_get(f, keys[k]));
    json_t *o = json_object();
    set_counts(o, c[0], c[1], c[2], c[3], c[4]);
    json_t *reasons = json_object();
    json_object_foreach((json_t *)families, name, f) {
        const char *why;
        const json_t *count;
        json_object_foreach(json_object_get(f, "skipped_by_reason"), why, count) {
            json_int_t before = json_integer_value(json_object_get(reasons, why));
            json_object_set_new(reasons, why, json_integer(before + json_integer_value(count)));
        }
    }
    json_object_set_new(o, "skipped_by_reason", reasons);
    return o;
}

json_t *reports_build(const reports_builder *b, pm_err *err)
{
    const json_t *owners = rpt_owner_map(b->switches);
    size_t n;
    sort_item *items = items_of(b->families, &n);
    if (!items) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        items[i].order = rpt_family_order(items[i].name);
    qsort(items, n, sizeof *items, by_order_then_name);
    json_t *families = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(families, items[i].name, family_json(b, items[i].name, items[i].value, owners));
    free(items);

    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *report = pm_record_new();
    json_object_set_new(report, "run",
                        json_pack("{s:s, s:I, s:I, s:s}", "time", now, "records", (json_int_t)b->records,
                                  "skipped_records", (json_int_t)0, "snapshot_name", rpt_gate_snapshot_name(b->gate)));
    json_object_set_new(json_object_get(report, "run"), "decisions", json_string(b->o.sequential ? "sequential" : "interval"));
    json_object_set_new(report, "totals", totals_json(families));
    json_object_set_new(report, "families", families);
    json_t *regressions = b->previous ? rpt_trend_apply(report, b->previous, rpt_gate_trend(b->gate)) : json_array();
    json_object_set_new(report, "regressions", regressions);
    json_object_set_new(report, "expired_rules", expired_json(b));
    json_object_set_new(report, "noise", noise_json(b));
    if (b->noise_dropped)
        json_object_set_new(report, "noise_uncounted", json_integer((json_int_t)b->noise_dropped));
    json_object_set_new(report, "proposal", rpt_proposal(families));
    return report;
}
