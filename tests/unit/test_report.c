/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_report.c — the report builder (reports/) on diff records built here: the Wilson
 * bound and the latency histogram against known values, every gate decision with its
 * reason text, owners from a switch snapshot, trend and regressions, top differences and
 * cohorts (order-independent, capped), expired rules and noise, the gate file's checks,
 * and the Markdown / JUnit / proposal writers on hostile text.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "reports/reports.h"
#include "scratch.h"

#define CAPABILITIES PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml"
#define SHIPPED_GATE PMIRROR_SOURCE_DIR "/config/quay/gate.yaml"

/* ---- helpers -------------------------------------------------------------------------- */

TestSuite(report, .init = scratch_make, .fini = scratch_remove);

/* Writes text into the temp dir as NAME; returns its path (static buffer per call site). */
static const char *write_file(const char *name, const char *text)
{
    static char paths[4][160];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 160, "%s/%s", scratch_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A gate that decides on small numbers: 10 samples, lower bound 0.8, 5% errors, p95 +10%. */
static const char *small_gate(void)
{
    return write_file("gate.yaml", "defaults:\n"
                                   "  min_samples: 10\n"
                                   "  min_parity_lower: 0.8\n"
                                   "  max_error_rate: 0.05\n"
                                   "  max_p95_ratio: 1.10\n"
                                   "  min_capability_coverage: null\n");
}

typedef struct {
    const char *id, *family, *capability, *verdict;
    long base_us, cand_us;         /* -1: no latency for that target */
    const char *error_target;      /* "python", "go", "body" or NULL */
    const char *error_code;
    const char *signature;         /* mismatches */
    const char *path;              /* the one difference's path */
    const char *org;
    const char *cap_switch;
    const char *producer;          /* job records: who enqueued the job, or NULL (routes) */
} rec;

static const char *family_switch(const char *family)
{
    static char buf[128];
    if (strcmp(family, "UNKNOWN") == 0)
        return NULL;
    snprintf(buf, sizeof buf, "ROUTE_OWNER_FAMILY_%s", family);
    return buf;
}

static json_t *diff_record(const rec *r)
{
    json_t *latency = json_object(), *errors = NULL, *differences = json_array();
    if (r->base_us >= 0)
        json_object_set_new(latency, "python", json_integer(r->base_us));
    if (r->cand_us >= 0)
        json_object_set_new(latency, "go", json_integer(r->cand_us));
    if (r->error_target)
        errors = json_pack("{s:s}", r->error_target, r->error_code ? r->error_code : "timeout");
    if (strcmp(r->verdict, "mismatch") == 0)
        json_array_append_new(differences, json_pack("{s:s, s:s, s:s, s:s, s:s}", "where", "body", "path",
                                                     r->path ? r->path : "$.name", "kind", "value", "baseline", "a",
                                                     "candidate", "b"));
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s?, s:s?, s:{s:s?, s:n, s:n, s:s*}, s:o, s:{s:s, s:s}, s:s, "
                          "s:o, s:[], s:s?}",
                          "v", 1, "id", r->id ? r->id : "x", "family", r->family, "capability", r->capability,
                          "switch", family_switch(r->family), "cap_switch", r->cap_switch, "cohort", "org", r->org,
                          "repo", "user", "producer", r->producer, "latency", latency, "roles", "python", "baseline",
                          "go", "candidate", "verdict", r->verdict, "differences", differences, "noise",
                          "signature", r->signature);
    cr_assert_not_null(d);
    if (errors)
        json_object_set_new(d, "error", errors);
    return d;
}

static void add(reports_builder *b, const rec *r, int times)
{
    for (int i = 0; i < times; i++) {
        json_t *d = diff_record(r);
        pm_err err = {{0}};
        cr_assert_eq(reports_add(b, d, &err), 0, "reports_add: %s", err.msg);
        json_decref(d);
    }
}

static reports_builder *builder(const char *gate, const json_t *switches, const char *capabilities)
{
    reports_options o;
    reports_options_init(&o);
    o.gate_path = gate;
    o.switches = switches;
    o.capabilities_path = capabilities;
    pm_err err = {{0}};
    reports_builder *b = reports_new(&o, &err);
    cr_assert_not_null(b, "reports_new: %s", err.msg);
    return b;
}

static json_t *build(reports_builder *b)
{
    pm_err err = {{0}};
    json_t *r = reports_build(b, &err);
    cr_assert_not_null(r, "reports_build: %s", err.msg);
    return r;
}

static json_t *family(json_t *report, const char *name)
{
    json_t *f = json_object_get(json_object_get(report, "families"), name);
    cr_assert_not_null(f, "no family %s in the report", name);
    return f;
}

static const char *decision(const json_t *scope)
{
    return json_string_value(json_object_get(scope, "decision"));
}

static const char *reason(const json_t *scope, size_t i)
{
    const char *s = json_string_value(json_array_get(json_object_get(scope, "reasons"), i));
    return s ? s : "(none)";
}

static void assert_reason(const json_t *scope, size_t i, const char *want)
{
    cr_assert_str_eq(reason(scope, i), want, "reason %zu: '%s', want '%s'", i, reason(scope, i), want);
}

static double number(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

/* What a writer writes, as a string (caller frees). */
static char *render(int (*writer)(FILE *, const json_t *, pm_err *), const json_t *report)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pm_err err = {{0}};
    cr_assert_eq(writer(f, report, &err), 0, "writer: %s", err.msg);
    fclose(f);
    return buf;
}

/* ---- the Wilson bound ----------------------------------------------------------------- */

Test(report, wilson_known_values)
{
    cr_assert_float_eq(pm_wilson_lower(95, 100), 0.8882, 0.00005);
    cr_assert_float_eq(pm_wilson_lower(50, 100), 0.4038, 0.00005);
    cr_assert_float_eq(pm_wilson_lower(10, 10), 0.7225, 0.00005);
    cr_assert_float_eq(pm_wilson_lower(999, 1000), 0.99436, 0.00001);
    cr_assert_eq(pm_wilson_lower(0, 10), 0.0);
    cr_assert(isnan(pm_wilson_lower(0, 0)));
    /* monotone in successes, and below the plain ratio */
    for (uint64_t k = 1; k <= 100; k++) {
        cr_assert_gt(pm_wilson_lower(k, 100), pm_wilson_lower(k - 1, 100));
        cr_assert_lt(pm_wilson_lower(k, 100), (double)k / 100);
    }
}

Test(report, wilson_upper_known_values)
{
    cr_assert_float_eq(pm_wilson_upper(95, 100), 0.9785, 0.00005);
    cr_assert_float_eq(pm_wilson_upper(18, 20), 0.9721, 0.00005);
    cr_assert_float_eq(pm_wilson_upper(10, 10), 1.0, 1e-12);
    cr_assert(isnan(pm_wilson_upper(0, 0)));
    for (uint64_t k = 0; k <= 100; k++)
        cr_assert_gt(pm_wilson_upper(k, 100) + 1e-12, (double)k / 100, "above the plain ratio");
}

/* ---- decisions at the boundaries (issue 19): the whole interval decides --------------- */

/* n records of API_REPOSITORY_READ (API_V1) with this verdict, Python 1 ms, Go 0.9 ms. */
static void add_api(reports_builder *b, const char *verdict, int n)
{
    add(b, &(rec){.family = "API_V1", .capability = "API_REPOSITORY_READ", .verdict = verdict, .base_us = 1000,
                  .cand_us = 900, .signature = strcmp(verdict, "mismatch") == 0 ? "0123456789abcdef" : NULL},
        n);
}

Test(report, ninety_five_of_a_hundred_with_go_rolls_back_under_min_samples)
{
    json_t *snapshot = json_pack("{s:{s:s}}", "owners", "ROUTE_OWNER_FAMILY_API_V1", "go");
    reports_builder *b = builder(SHIPPED_GATE, snapshot, NULL);
    json_decref(snapshot);
    add_api(b, "match", 95);
    add_api(b, "mismatch", 5);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_float_eq(number(f, "parity"), 0.95, 1e-9);
    cr_assert_float_eq(number(f, "parity_lower"), 0.888, 0.001);
    cr_assert_str_eq(decision(f), "rollback", "interval 0.888..0.978, all under 0.990: decided at 100 of 200");
    assert_reason(f, 0, "parity upper bound 0.978 < 0.990 at 100 samples");
    assert_reason(f, 1, "capability API_REPOSITORY_READ holds: parity upper bound 0.978 < 0.990 at 100 samples");
    assert_reason(f, 2, "ROUTE_OWNER_FAMILY_API_V1 is go in the switch snapshot and fails: roll back to python");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "proposal"), "ROUTE_OWNER_FAMILY_API_V1")),
                     "python");
    json_decref(r);
    reports_free(b);
}

Test(report, a_hundred_of_a_hundred_straddles_and_is_insufficient)
{
    reports_builder *b = builder(SHIPPED_GATE, NULL, NULL);
    add_api(b, "match", 100);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_str_eq(decision(f), "insufficient");
    assert_reason(f, 0, "100 samples < min_samples 200");
    assert_reason(f, 1, "parity interval 0.963..1.000 straddles 0.990 at 100 samples");
    cr_assert_eq(json_object_size(json_object_get(r, "proposal")), 0);
    json_decref(r);
    reports_free(b);
}

Test(report, one_mismatch_against_a_hard_budget_holds_at_ten_samples)
{
    const char *gate = write_file("gate-hard.yaml", "defaults: {min_samples: 200, min_parity_lower: null, "
                                                    "budget: PB-REG-PUSH, max_mismatches: 0}\n");
    reports_builder *b = builder(gate, NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 100, .cand_us = 100}, 9);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "bbbbbbbbbbbbbbbb"},
        1);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "1 mismatches > max_mismatches 0, PB-REG-PUSH");
    json_decref(r);
    reports_free(b);
}

Test(report, twenty_thousand_of_twenty_thousand_promotes)
{
    reports_builder *b = builder(SHIPPED_GATE, NULL, NULL);
    add_api(b, "match", 20000);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_str_eq(decision(f), "promote");
    assert_reason(f, 0, "parity lower bound 1.000 >= 0.990 over 20000 samples");
    json_decref(r);
    reports_free(b);
}

Test(report, evidence_of_failure_decides_whatever_the_coverage)
{
    reports_builder *b = builder(SHIPPED_GATE, NULL, CAPABILITIES);
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_BASE", .verdict = "match", .base_us = 100, .cand_us = 90},
        95);
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_BASE", .verdict = "mismatch", .base_us = 100,
                  .cand_us = 90, .signature = "eeeeeeeeeeeeeeee"},
        5);
    json_t *r = build(b);
    json_t *v2 = family(r, "REGISTRY_V2");
    cr_assert_str_eq(decision(v2), "hold", "1 of 7 read capabilities seen, but the interval is under 0.990");
    assert_reason(v2, 0, "parity upper bound 0.978 < 0.990 at 100 samples");
    json_decref(r);
    reports_free(b);
}

/* ---- sequential decisions (issue 19 item 3): valid at every look ---------------------- */

static reports_builder *sequential_builder(const json_t *switches)
{
    reports_options o;
    reports_options_init(&o);
    o.gate_path = SHIPPED_GATE;
    o.switches = switches;
    o.sequential = true;
    pm_err err = {{0}};
    reports_builder *b = reports_new(&o, &err);
    cr_assert_not_null(b, "reports_new: %s", err.msg);
    return b;
}

Test(report, sequential_94_of_100_with_go_rolls_back)
{
    json_t *snapshot = json_pack("{s:{s:s}}", "owners", "ROUTE_OWNER_FAMILY_API_V1", "go");
    reports_builder *b = sequential_builder(snapshot);
    json_decref(snapshot);
    add_api(b, "match", 94);
    add_api(b, "mismatch", 6);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_str_eq(decision(f), "rollback");
    assert_reason(f, 0, "parity under 0.990 by the sequential test: evidence 94.2 >= 20 (alpha 0.05, valid at every "
                        "look) at 100 samples");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "run"), "decisions")), "sequential");
    cr_assert_float_eq(number(json_object_get(f, "sequential"), "evidence_under"), 94.2, 0.1);
    json_decref(r);
    reports_free(b);
}

Test(report, sequential_95_of_100_is_not_yet_decided)
{
    /* the fixed interval (0.888..0.978) rolls it back; the test valid at every look asks a
     * little more (evidence 18 of 20) */
    json_t *snapshot = json_pack("{s:{s:s}}", "owners", "ROUTE_OWNER_FAMILY_API_V1", "go");
    reports_builder *b = sequential_builder(snapshot);
    json_decref(snapshot);
    add_api(b, "match", 95);
    add_api(b, "mismatch", 5);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_str_eq(decision(f), "insufficient");
    assert_reason(f, 1, "sequential test not decided at 100 samples: evidence under 0.990 18, over it 0.0248, "
                        "neither >= 20");
    json_decref(r);
    reports_free(b);
}

Test(report, sequential_20000_of_20000_promotes)
{
    reports_builder *b = sequential_builder(NULL);
    add_api(b, "match", 20000);
    json_t *r = build(b);
    json_t *f = family(r, "API_V1");
    cr_assert_str_eq(decision(f), "promote");
    assert_reason(f, 0, "parity over 0.990 by the sequential test: evidence 1.67e+86 >= 20 (alpha 0.05) over 20000 "
                        "samples");
    json_decref(r);
    reports_free(b);
}

Test(report, switches_replaced_between_builds)
{
    reports_builder *b = sequential_builder(NULL);
    add_api(b, "match", 90);
    add_api(b, "mismatch", 10);
    json_t *r = build(b);
    cr_assert_str_eq(decision(family(r, "API_V1")), "hold");
    json_decref(r);
    json_t *snapshot = json_pack("{s:s}", "ROUTE_OWNER_FAMILY_API_V1", "go");
    pm_err err = {{0}};
    cr_assert_eq(reports_set_switches(b, snapshot, &err), 0, "%s", err.msg);
    json_decref(snapshot);
    r = build(b);
    cr_assert_str_eq(decision(family(r, "API_V1")), "rollback");
    json_decref(r);
    json_t *bad = json_string("go");
    cr_assert_eq(reports_set_switches(b, bad, &err), -1);
    json_decref(bad);
    reports_free(b);
}

/* ---- the histogram -------------------------------------------------------------------- */

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    return sorted[(rank < 1 ? 1 : rank) - 1];
}

Test(report, histogram_within_one_percent_over_a_wide_range)
{
    enum { N = 20000 };
    static uint64_t values[N];
    uint64_t seed = 42;
    reports_histogram *h = reports_histogram_new();
    for (size_t i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / (double)(1ULL << 53);
        values[i] = (uint64_t)exp(u * log(5e9)); /* 1 µs .. 5 000 s, log-uniform */
        reports_histogram_add(h, values[i]);
    }
    qsort(values, N, sizeof *values, compare_u64);
    cr_assert_eq(reports_histogram_count(h), N);
    for (double q = 0.001; q <= 1.0; q += 0.001) {
        double got = reports_histogram_quantile(h, q), want = (double)exact_quantile(values, N, q);
        cr_assert_leq(fabs(got - want), 0.01 * want, "q=%.3f: %.1f, exact %.0f", q, got, want);
    }
    cr_assert_eq(reports_histogram_quantile(h, 1.0), (double)values[N - 1]); /* clamped to the max */
    cr_assert_eq(reports_histogram_quantile(h, 0.0), (double)values[0]);
    reports_histogram_free(h);
}

Test(report, histogram_exact_below_128)
{
    reports_histogram *h = reports_histogram_new();
    for (uint64_t v = 0; v < 128; v++)
        reports_histogram_add(h, v);
    for (uint64_t v = 1; v <= 128; v++)
        cr_assert_eq(reports_histogram_quantile(h, (double)v / 128), (double)(v - 1));
    reports_histogram_free(h);
    h = reports_histogram_new();
    cr_assert(isnan(reports_histogram_quantile(h, 0.5)));
    reports_histogram_add(h, 1ULL << 50); /* beyond the last bucket: clamped to what was seen */
    cr_assert_eq(reports_histogram_quantile(h, 0.5), (double)(1ULL << 50));
    reports_histogram_free(h);
}

Test(report, histogram_merge_is_the_union)
{
    reports_histogram *all = reports_histogram_new(), *parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = reports_histogram_new();
    uint64_t seed = 7;
    for (int i = 0; i < 30000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t v = (seed >> 33) % 10000000;
        reports_histogram_add(all, v);
        reports_histogram_add(parts[(seed >> 20) % 3], v);
    }
    reports_histogram *merged = reports_histogram_new();
    for (int i = 2; i >= 0; i--)
        reports_histogram_merge(merged, parts[i]);
    cr_assert_eq(reports_histogram_count(merged), reports_histogram_count(all));
    for (double q = 0; q <= 1.0; q += 0.0005)
        cr_assert_eq(reports_histogram_quantile(merged, q), reports_histogram_quantile(all, q), "q=%.4f", q);
    for (int i = 0; i < 3; i++)
        reports_histogram_free(parts[i]);
    reports_histogram_free(merged);
    reports_histogram_free(all);
}

/* ---- decisions ------------------------------------------------------------------------ */

static const rec MATCH = {.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 100,
                          .cand_us = 100};

Test(report, promote_lists_what_passed)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &MATCH, 20);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "promote");
    assert_reason(f, 0, "parity lower bound 0.839 >= 0.800 over 20 samples");
    assert_reason(f, 1, "error rate 0.000 <= 0.050 (0 of 20)");
    assert_reason(f, 2, "too few to judge latency: p95 on 20 baseline and 20 candidate answers, fewer than 100 each "
                        "(5 beyond the p95)");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "proposal"), "ROUTE_OWNER_FAMILY_KEYS")),
                     "go");
    json_decref(r);
    reports_free(b);
}

Test(report, hold_on_the_parity_upper_bound)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &MATCH, 10);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "aaaaaaaaaaaaaaaa"},
        10);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "parity upper bound 0.701 < 0.800 at 20 samples");
    assert_reason(f, 1, "capability KEYS_READ holds: parity upper bound 0.701 < 0.800 at 20 samples");
    assert_reason(f, 2, "too few to judge latency: p95 on 20 baseline and 20 candidate answers, fewer than 100 each "
                        "(5 beyond the p95)");
    cr_assert_null(json_array_get(json_object_get(f, "reasons"), 3));
    cr_assert_eq(json_object_size(json_object_get(r, "proposal")), 0, "a hold proposes nothing");
    json_decref(r);
    reports_free(b);
}

Test(report, an_interval_across_the_threshold_is_insufficient_at_any_count)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &MATCH, 18);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "aaaaaaaaaaaaaaaa"},
        2);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "insufficient", "20 samples >= 10, but 0.699..0.972 straddles 0.800");
    assert_reason(f, 0, "parity interval 0.699..0.972 straddles 0.800 at 20 samples");
    json_decref(r);
    reports_free(b);
}

Test(report, hold_on_latency_and_failed_targets_do_not_count)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 100, .cand_us = 120}, 200);
    /* a timed-out candidate reports its 30 s: not a latency */
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "error", .base_us = 100,
                  .cand_us = 30000000, .error_target = "go"},
        1);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    json_t *go = json_object_get(json_object_get(f, "latency"), "go");
    cr_assert_eq(json_integer_value(json_object_get(go, "count")), 200);
    cr_assert_eq(json_integer_value(json_object_get(go, "p99")), 120);
    cr_assert_str_eq(json_string_value(json_object_get(go, "role")), "candidate");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(f, "latency"), "python"), "count")),
                 201);
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "candidate p95 0.12 ms > baseline p95 0.10 ms x 1.10 (= 0.11 ms); Mann-Whitney: slower, p = 2.8e-89 "
                        "on 201/200");
    json_decref(r);
    reports_free(b);
}

/* ---- latency budgets by a test, not a point estimate (issue 19 item 2) ---------------- */

Test(report, a_latency_comparison_on_20_samples_is_not_decisive)
{
    /* Go three times slower at p95 on 20 answers: too few to judge, never a hold */
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 3000}, 20);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "promote", "latency on 20 answers decides nothing");
    assert_reason(f, 2, "too few to judge latency: p95 on 20 baseline and 20 candidate answers, fewer than 100 each "
                        "(5 beyond the p95)");
    json_t *test = json_object_get(f, "latency_test");
    cr_assert_str_eq(json_string_value(json_object_get(test, "test")), "mann-whitney");
    cr_assert_lt(number(test, "p_slower"), 0.001, "the test sees it; the sample size rule keeps it from deciding");
    json_decref(r);
    reports_free(b);
}

Test(report, a_slower_tail_the_test_does_not_confirm_is_not_decided)
{
    /* Go faster for 94.5% of answers, slower in 11 of 200: p95 over the budget, but the
     * candidate is not slower as a whole, and 11 over the limit where 10 are allowed is no
     * evidence of a slower tail (binomial p = 0.42): latency not decided (insufficient) */
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 900}, 189);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 2000}, 11);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "insufficient");
    assert_reason(f, 0, "candidate p95 2.0 ms > baseline p95 1.0 ms x 1.10 (= 1.1 ms), but neither Mann-Whitney (p = 1 "
                        "on 200/200) nor the tail test shows it: latency not decided");
    json_t *tail = json_object_get(json_object_get(json_object_get(f, "latency_test"), "tail"), "p95");
    cr_assert_eq(json_integer_value(json_object_get(tail, "over")), 11);
    cr_assert_float_eq(number(tail, "p"), 0.4176, 0.001);
    json_decref(r);
    reports_free(b);
}

Test(report, a_slower_tail_shown_by_the_tail_test_holds)
{
    /* Go faster for 85% of answers, 2x slower in 15%: Mann-Whitney does not see it, the
     * tail test does (30 of 200 over the limit where 10 are allowed) */
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 900}, 170);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 2000}, 30);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "candidate p95 2.0 ms > baseline p95 1.0 ms x 1.10 (= 1.1 ms); its tail over the limit by the "
                        "tail test (p < 0.05), though Mann-Whitney does not show the whole slower");
    json_decref(r);
    reports_free(b);
}

Test(report, mann_whitney_on_histograms_matches_the_textbook)
{
    /* baseline 1..10 µs, candidate 6..15 µs (exact buckets below 128): U = 87.5 pairs with
     * the candidate slower (one tie group per shared value: 6..10), n 10/10 */
    reports_builder *b = builder(small_gate(), NULL, NULL);
    for (int i = 1; i <= 10; i++)
        add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = i, .cand_us = i + 5},
            1);
    json_t *r = build(b);
    json_t *test = json_object_get(family(r, "KEYS"), "latency_test");
    cr_assert_float_eq(number(test, "u"), 87.5, 1e-9);
    /* z = (87.5 - 50 - 0.5) / sqrt(100/12 * (21 - 5*6/380)) = 2.802, p = 0.00254 */
    cr_assert_float_eq(number(test, "z"), 2.8022, 0.0001);
    cr_assert_float_eq(number(test, "p_slower"), 0.002538, 0.000001);
    json_decref(r);
    reports_free(b);
}

Test(report, hold_on_the_error_rate_and_its_increase)
{
    const char *gate = write_file("gate-err.yaml", "defaults: {min_samples: 10, min_parity_lower: 0.8, "
                                                   "max_error_rate: 0.05, max_error_rate_increase: 0.002, "
                                                   "budget: PB-REG-PULL}\n");
    reports_builder *b = builder(gate, NULL, NULL);
    add(b, &MATCH, 40);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "error", .base_us = 100, .cand_us = 5,
                  .error_target = "go", .error_code = "reset"},
        3);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "error", .base_us = 100, .cand_us = 100,
                  .error_target = "python", .error_code = "timeout"},
        1);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "error rate 0.091 > 0.050 (4 of 44)");
    assert_reason(f, 1, "candidate error rate 0.068 > baseline 0.023 + 0.002, PB-REG-PULL");
    json_t *errors = json_object_get(f, "errors");
    cr_assert_eq(json_integer_value(json_object_get(errors, "reset")), 3);
    cr_assert_eq(json_integer_value(json_object_get(errors, "timeout")), 1);
    cr_assert_str_eq(json_object_iter_key(json_object_iter(errors)), "reset", "most frequent code first");
    json_decref(r);
    reports_free(b);
}

Test(report, hold_on_any_mismatch_when_max_mismatches_is_0)
{
    const char *gate = write_file("gate-push.yaml",
                                  "defaults: {min_samples: 10, min_parity_lower: null, budget: PB-REG-PUSH, "
                                  "max_mismatches: 0}\n");
    reports_builder *b = builder(gate, NULL, NULL);
    add(b, &MATCH, 500);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "bbbbbbbbbbbbbbbb"},
        1);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "1 mismatches > max_mismatches 0, PB-REG-PUSH");
    json_decref(r);
    reports_free(b);
}

Test(report, insufficient_on_samples_and_on_coverage)
{
    reports_builder *b = builder(SHIPPED_GATE, NULL, CAPABILITIES);
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_BASE", .verdict = "match", .base_us = 100, .cand_us = 90},
        1000);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 100, .cand_us = 90}, 10);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "skipped", .base_us = -1, .cand_us = -1},
        500);
    json_t *r = build(b);
    json_t *v2 = family(r, "REGISTRY_V2");
    cr_assert_str_eq(decision(v2), "insufficient");
    assert_reason(v2, 0, "capability coverage 1 of 7 read capabilities = 0.143 < 0.500");
    json_t *cov = json_object_get(v2, "coverage");
    cr_assert_eq(json_integer_value(json_object_get(cov, "seen")), 1);
    cr_assert_eq(json_integer_value(json_object_get(cov, "read_capabilities")), 7);
    json_t *keys = family(r, "KEYS");
    cr_assert_str_eq(decision(keys), "insufficient", "skipped exchanges are not samples");
    assert_reason(keys, 0, "10 samples < min_samples 200");
    cr_assert_eq(json_integer_value(json_object_get(keys, "skipped")), 500);
    json_decref(r);
    reports_free(b);
}

Test(report, no_comparable_answers)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "error", .base_us = -1, .cand_us = -1,
                  .error_target = "body", .error_code = "too_large"},
        20);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert(json_is_null(json_object_get(f, "parity")));
    cr_assert(json_is_null(json_object_get(f, "parity_lower")));
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "no comparable answers (0 match + mismatch): parity unknown");
    assert_reason(f, 1, "error rate 1.000 > 0.050 (20 of 20)");
    json_decref(r);
    reports_free(b);
}

Test(report, rollback_when_the_snapshot_says_go)
{
    json_t *snapshot = json_pack("{s:i, s:{s:s, s:s, s:s}}", "version", 3, "owners", "ROUTE_OWNER_FAMILY_KEYS", "go",
                                 "ROUTE_OWNER_FAMILY_API_V1", "GO", "ROUTE_OWNER_CAP_V2_PULL", "go");
    reports_builder *b = builder(small_gate(), snapshot, NULL);
    json_decref(snapshot); /* the builder keeps its own copy */
    add(b, &MATCH, 10);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "aaaaaaaaaaaaaaaa"},
        10);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "mismatch", .base_us = 100,
                  .cand_us = 100, .signature = "cccccccccccccccc"},
        20);
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_TAGS_LIST", .verdict = "match", .base_us = 100,
                  .cand_us = 100, .cap_switch = "ROUTE_OWNER_CAP_V2_PULL"},
        3);
    json_t *r = build(b);
    json_t *keys = family(r, "KEYS");
    cr_assert_str_eq(json_string_value(json_object_get(keys, "owner")), "go");
    cr_assert_str_eq(decision(keys), "rollback");
    assert_reason(keys, 0, "parity upper bound 0.701 < 0.800 at 20 samples");
    assert_reason(keys, 3, "ROUTE_OWNER_FAMILY_KEYS is go in the switch snapshot and fails: roll back to python");
    json_t *api = family(r, "API_V1");
    cr_assert_str_eq(json_string_value(json_object_get(api, "owner")), "python", "'GO' is not a known value");
    cr_assert_str_eq(decision(api), "hold");
    json_t *v2 = family(r, "REGISTRY_V2");
    cr_assert_str_eq(json_string_value(json_object_get(v2, "owner")), "python", "absent: python");
    json_t *tags = json_object_get(json_object_get(v2, "capabilities"), "V2_TAGS_LIST");
    cr_assert_str_eq(json_string_value(json_object_get(tags, "owner")), "go", "the capability switch is more specific");
    cr_assert_str_eq(decision(tags), "insufficient");
    assert_reason(tags, 0, "3 samples < min_samples 10");
    assert_reason(tags, 1, "parity interval 0.439..1.000 straddles 0.800 at 3 samples");
    assert_reason(tags, 3, "ROUTE_OWNER_CAP_V2_PULL is go in the switch snapshot: too little evidence to roll it back");
    json_t *proposal = json_object_get(r, "proposal");
    cr_assert_str_eq(json_string_value(json_object_get(proposal, "ROUTE_OWNER_FAMILY_KEYS")), "python");
    cr_assert_eq(json_object_size(proposal), 1);
    json_decref(r);
    reports_free(b);
}

Test(report, a_failing_capability_holds_its_family)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &MATCH, 300);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_WRITE", .verdict = "match", .base_us = 100, .cand_us = 100},
        10);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_WRITE", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "dddddddddddddddd"},
        10);
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_geq(number(f, "parity_lower"), 0.8, "the family's own bound passes");
    cr_assert_str_eq(decision(f), "hold");
    assert_reason(f, 0, "capability KEYS_WRITE holds: parity upper bound 0.701 < 0.800 at 20 samples");
    cr_assert_str_eq(decision(json_object_get(json_object_get(f, "capabilities"), "KEYS_READ")), "promote");
    json_decref(r);
    reports_free(b);
}

Test(report, capability_switch_needs_coverage_of_its_capabilities)
{
    const char *gate = write_file("gate-cov.yaml", "defaults: {min_samples: 10, min_parity_lower: 0.8, "
                                                   "min_capability_coverage: 0.5}\n");
    reports_builder *b = builder(gate, NULL, CAPABILITIES);
    rec pull = {.family = "REGISTRY_V2", .capability = "V2_MANIFEST_PULL", .verdict = "match", .base_us = 100,
                .cand_us = 100, .cap_switch = "ROUTE_OWNER_CAP_V2_PULL"};
    add(b, &pull, 30);
    json_t *r = build(b);
    json_t *cs = json_object_get(json_object_get(family(r, "REGISTRY_V2"), "cap_switches"), "ROUTE_OWNER_CAP_V2_PULL");
    cr_assert_str_eq(decision(cs), "insufficient");
    assert_reason(cs, 0, "1 of 4 capabilities promoted = 0.250 < 0.500");
    json_decref(r);
    pull.capability = "V2_BLOB_PULL";
    add(b, &pull, 30);
    r = build(b); /* a snapshot: the builder goes on counting */
    cs = json_object_get(json_object_get(family(r, "REGISTRY_V2"), "cap_switches"), "ROUTE_OWNER_CAP_V2_PULL");
    cr_assert_str_eq(decision(cs), "promote");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "proposal"), "ROUTE_OWNER_CAP_V2_PULL")), "go");
    json_decref(r);
    reports_free(b);
}

Test(report, capability_switch_with_no_promoted_capability_says_why)
{
    reports_builder *b = builder(small_gate(), NULL, CAPABILITIES);
    rec pull = {.family = "REGISTRY_V2", .capability = "V2_MANIFEST_PULL", .verdict = "match", .base_us = 100,
                .cand_us = 100, .cap_switch = "ROUTE_OWNER_CAP_V2_PULL"};
    add(b, &pull, 3); /* below min_samples */
    json_t *r = build(b);
    json_t *cs = json_object_get(json_object_get(family(r, "REGISTRY_V2"), "cap_switches"), "ROUTE_OWNER_CAP_V2_PULL");
    cr_assert_str_eq(decision(cs), "insufficient");
    assert_reason(cs, 0, "0 of 4 capabilities promoted: none has enough samples yet");
    json_decref(r);
    reports_free(b);
}

/* ---- trend ---------------------------------------------------------------------------- */

Test(report, trend_and_regressions)
{
    reports_builder *old = builder(small_gate(), NULL, NULL);
    add(old, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 1000},
        100);
    add(old, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1000,
                    .cand_us = 1000},
        100);
    json_t *previous = build(old);
    reports_free(old);

    reports_options o;
    reports_options_init(&o);
    o.gate_path = small_gate();
    o.previous = previous;
    pm_err err;
    reports_builder *b = reports_new(&o, &err);
    cr_assert_not_null(b);
    /* KEYS: parity 1.00 -> 0.99 (a drop of 0.01 > 0.005); API_V1: p95 +20% on go, +50% on python */
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1000, .cand_us = 1000}, 99);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 1000, .cand_us = 1000,
                  .signature = "eeeeeeeeeeeeeeee"},
        1);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1500,
                  .cand_us = 1200},
        100);
    add(b, &(rec){.family = "OAUTH", .capability = "OAUTH_X", .verdict = "match", .base_us = 1, .cand_us = 1}, 1);
    json_t *r = build(b);
    json_t *regressions = json_object_get(r, "regressions");
    cr_assert_eq(json_array_size(regressions), 2, "%s", json_dumps(regressions, 0));
    json_t *first = json_array_get(regressions, 0), *second = json_array_get(regressions, 1);
    cr_assert_str_eq(json_string_value(json_object_get(first, "family")), "API_V1");
    cr_assert_str_eq(json_string_value(json_object_get(first, "metric")), "p95");
    cr_assert_str_eq(json_string_value(json_object_get(first, "target")), "go", "the baseline is not judged");
    cr_assert_str_eq(json_string_value(json_object_get(second, "family")), "KEYS");
    cr_assert_str_eq(json_string_value(json_object_get(second, "metric")), "parity");
    cr_assert(json_is_null(json_object_get(second, "target")));
    cr_assert_float_eq(number(second, "previous"), 1.0, 1e-9);
    cr_assert_float_eq(number(second, "current"), 0.99, 1e-9);
    json_t *trend = json_object_get(family(r, "KEYS"), "trend");
    cr_assert_float_eq(number(trend, "parity_delta"), -0.01, 1e-9);
    json_t *api_trend = json_object_get(family(r, "API_V1"), "trend");
    cr_assert_float_eq(number(json_object_get(api_trend, "p95_delta"), "go"), 0.2, 0.01);
    cr_assert_float_eq(number(json_object_get(api_trend, "p95_delta"), "python"), 0.5, 0.01);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(family(r, "KEYS"), "previous"), "decision")),
                     "promote");
    cr_assert_null(json_object_get(family(r, "OAUTH"), "trend"), "no previous: no trend");
    json_decref(r);
    json_decref(previous);
    reports_free(b);
}

/* ---- top differences, cohorts, expired rules, noise ----------------------------------- */

static json_t *report_of_order(bool reversed)
{
    static const struct {
        const char *id, *sig, *org;
    } rows[] = {
        {"c", "1111111111111111", "acme"}, {"a", "1111111111111111", "globex"}, {"b", "1111111111111111", "acme"},
        {"e", "2222222222222222", "initech"}, {"d", "2222222222222222", "initech"}, {"f", "2222222222222222", "umbrella"},
        {"g", "2222222222222222", "umbrella"}, {"h", "2222222222222222", "initech"}, {"i", "3333333333333333", "globex"},
    };
    reports_options o;
    reports_options_init(&o);
    o.gate_path = small_gate();
    o.top_differences = 2;
    o.top_cohorts = 3;
    pm_err err;
    reports_builder *b = reports_new(&o, &err);
    cr_assert_not_null(b);
    size_t n = sizeof rows / sizeof *rows;
    for (size_t k = 0; k < n; k++) {
        size_t i = reversed ? n - 1 - k : k;
        add(b, &(rec){.id = rows[i].id, .family = "API_V1", .capability = "API_USER_READ", .verdict = "mismatch",
                      .base_us = 100 + (long)i * 1000, .cand_us = 100, .signature = rows[i].sig, .org = rows[i].org,
                      .path = strcmp(rows[i].sig, "1111111111111111") == 0 ? "$.tags[3].name" : "$.x"},
            1);
    }
    json_t *r = build(b);
    reports_free(b);
    json_object_del(json_object_get(r, "run"), "time");
    return r;
}

Test(report, top_differences_grouped_by_signature_order_independent)
{
    json_t *r = report_of_order(false);
    json_t *top = json_object_get(family(r, "API_V1"), "top_differences");
    cr_assert_eq(json_array_size(top), 2, "top 2 of 3 signatures");
    json_t *first = json_array_get(top, 0), *second = json_array_get(top, 1);
    cr_assert_str_eq(json_string_value(json_object_get(first, "signature")), "2222222222222222");
    cr_assert_eq(json_integer_value(json_object_get(first, "count")), 5);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(first, "exemplar"), "id")), "d");
    cr_assert_str_eq(json_string_value(json_object_get(second, "signature")), "1111111111111111");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(second, "exemplar"), "id")), "a",
                     "the smallest id, not the first seen");
    json_t *shape = json_array_get(json_object_get(second, "shape"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(shape, "path")), "$.tags[*].name");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(json_object_get(second, "exemplar"), "differences"), 0), "path")),
                     "$.tags[3].name", "the exemplar keeps its own path");
    json_t *r2 = report_of_order(true);
    cr_assert(json_equal(r, r2), "the same records in another order give another report");
    json_decref(r);
    json_decref(r2);
}

Test(report, cohorts_top_n_by_total_then_name)
{
    json_t *r = report_of_order(false);
    json_t *orgs = json_object_get(json_object_get(family(r, "API_V1"), "cohorts"), "org");
    cr_assert_eq(json_array_size(orgs), 3);
    const char *want[] = {"initech", "acme", "globex"}; /* 3, 2, 2 (acme < globex), umbrella 2 cut */
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(orgs, i), "name")), want[i]);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(orgs, 0), "mismatch")), 3);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(family(r, "API_V1"), "cohorts"), "user")), 0);
    json_decref(r);
}

Test(report, cohorts_are_capped)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    char org[32];
    for (int i = 0; i < 10005; i++) {
        snprintf(org, sizeof org, "org%05d", i);
        add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "match", .base_us = 1, .cand_us = 1,
                      .org = org},
            1);
    }
    json_t *r = build(b);
    json_t *f = family(r, "KEYS");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(f, "cohorts_uncounted"), "org")), 5);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(f, "cohorts"), "org")), 10);
    cr_assert_eq(json_integer_value(json_object_get(f, "total")), 10005, "the counts themselves are exact");
    json_decref(r);
    reports_free(b);
}

Test(report, producer_is_a_cohort_of_job_families_only)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    rec job = {.family = "WORKER_NAMESPACEGCWORKER", .capability = "namespacegc", .verdict = "match",
               .base_us = 1, .cand_us = 1, .producer = "python"};
    add(b, &job, 3);
    job.producer = "go";
    add(b, &job, 2);
    job.verdict = "mismatch";
    job.signature = "1111111111111111";
    add(b, &job, 1);
    job.producer = NULL; /* a record that does not know its producer: not counted under one */
    add(b, &job, 1);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1, .cand_us = 1,
                  .org = "acme"},
        2);
    json_t *r = build(b);
    json_t *cohorts = json_object_get(family(r, "WORKER_NAMESPACEGCWORKER"), "cohorts");
    json_t *producers = json_object_get(cohorts, "producer");
    cr_assert_eq(json_array_size(producers), 2, "python and go");
    static const struct {
        const char *name;
        long total, match, mismatch;
    } want[] = {{"go", 3, 2, 1}, {"python", 3, 3, 0}}; /* equal totals: by name */
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_array_get(producers, i);
        cr_assert_str_eq(json_string_value(json_object_get(c, "name")), want[i].name);
        cr_assert_eq(json_integer_value(json_object_get(c, "total")), want[i].total, "%s total", want[i].name);
        cr_assert_eq(json_integer_value(json_object_get(c, "match")), want[i].match, "%s match", want[i].name);
        cr_assert_eq(json_integer_value(json_object_get(c, "mismatch")), want[i].mismatch, "%s", want[i].name);
        cr_assert_not_null(json_object_get(c, "parity_lower"), "a producer has its own parity");
    }
    json_t *route = json_object_get(family(r, "API_V1"), "cohorts");
    cr_assert_null(json_object_get(route, "producer"), "a route family has no producer list");
    cr_assert_eq(json_object_size(route), 3, "org, repo and user, as before");

    char *md = render(reports_write_markdown, r);
    cr_assert_not_null(strstr(md, "**Jobs by producer**"), "%s", md);
    cr_assert_not_null(strstr(md, "| `WORKER_NAMESPACEGCWORKER` | `go` | 3 | 0.667 |"), "%s", md);
    cr_assert_not_null(strstr(md, "| `WORKER_NAMESPACEGCWORKER` | `python` | 3 | 1.000 |"), "%s", md);
    char *table = strstr(md, "**Jobs by producer**"), *end = table ? strstr(table, "\n\n###") : NULL;
    cr_assert_not_null(end);
    *end = 0;
    cr_assert_null(strstr(table, "API_V1"), "no producer row for a route family: %s", table);
    free(md);
    char *html = render(reports_write_html, r);
    cr_assert_not_null(strstr(html, "<table class=\"cohort\"><thead><tr><th>producer</th>"), "the HTML table");
    free(html);
    json_decref(r);
    reports_free(b);

    /* a report of routes only: no producer table anywhere */
    b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1, .cand_us = 1,
                  .org = "acme"},
        2);
    r = build(b);
    md = render(reports_write_markdown, r);
    cr_assert_null(strstr(md, "producer"), "%s", md);
    free(md);
    html = render(reports_write_html, r);
    cr_assert_null(strstr(html, "<th>producer</th>"));
    free(html);
    json_decref(r);
    reports_free(b);
}

Test(report, expired_rules_and_noise_are_summed)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    for (int i = 0; i < 3; i++) {
        json_t *d = diff_record(&MATCH);
        json_object_set_new(d, "expired_rules",
                            json_pack("[{s:s, s:s, s:s, s:s}]", "rule", "ignore_path $.x", "reason", "known bug", "owner",
                                      "team-a", "expires", "2026-10-01"));
        json_object_set_new(d, "noise", json_pack("[{s:s, s:s, s:s}]", "where", "body", "path",
                                                  i == 0 ? "$.items[0].t" : "$.items[12].t", "kind", "value"));
        pm_err err;
        cr_assert_eq(reports_add(b, d, &err), 0, "%s", err.msg);
        json_decref(d);
    }
    json_t *r = build(b);
    json_t *expired = json_array_get(json_object_get(r, "expired_rules"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(expired, "rule")), "ignore_path $.x");
    cr_assert_str_eq(json_string_value(json_object_get(expired, "owner")), "team-a");
    cr_assert_eq(json_integer_value(json_object_get(expired, "hits")), 3);
    json_t *noise = json_object_get(r, "noise");
    cr_assert_eq(json_array_size(noise), 1, "array indexes are one shape");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(noise, 0), "shape")), "body|$.items[*].t|value");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(noise, 0), "count")), 3);
    json_decref(r);
    reports_free(b);
}

Test(report, records_that_are_not_diff_records)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    pm_err err = {{0}};
    json_t *d = json_pack("{s:i, s:s}", "v", 1, "id", "x");
    cr_assert_eq(reports_add(b, d, &err), -1);
    cr_assert(strstr(err.msg, "not a diff record"), "%s", err.msg);
    json_object_set_new(d, "verdict", json_string("maybe"));
    cr_assert_eq(reports_add(b, d, &err), -1);
    cr_assert(strstr(err.msg, "maybe"), "%s", err.msg);
    json_object_set_new(d, "verdict", json_string("match"));
    json_object_set_new(d, "latency", json_pack("{s:s}", "go", "fast"));
    cr_assert_eq(reports_add(b, d, &err), -1);
    cr_assert(strstr(err.msg, "latency.go"), "%s", err.msg);
    json_object_del(d, "latency");
    cr_assert_eq(reports_add(b, d, &err), 0, "no family: UNKNOWN (%s)", err.msg);
    json_decref(d);
    json_t *r = build(b);
    cr_assert(json_is_null(json_object_get(family(r, "UNKNOWN"), "switch")));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "totals"), "total")), 1,
                 "rejected records are not counted");
    json_decref(r);
    reports_free(b);
}

/* ---- the gate file ---------------------------------------------------------------------- */

static void assert_gate_error(const char *yaml, const char *want)
{
    const char *path = write_file("bad-gate.yaml", yaml);
    reports_options o;
    reports_options_init(&o);
    o.gate_path = path;
    pm_err err = {{0}};
    cr_assert_null(reports_new(&o, &err), "accepted: %s", yaml);
    cr_assert(strstr(err.msg, want), "error '%s' lacks '%s'", err.msg, want);
    cr_assert(strstr(err.msg, "bad-gate.yaml:"), "error '%s' does not name the file", err.msg);
}

Test(report, gate_file_checks)
{
    assert_gate_error("defaults:\n  min_sample: 3\n", "bad-gate.yaml:2:3: defaults: unknown key 'min_sample'");
    assert_gate_error("defaults:\n  min_parity_lower: 1.5\n", ":2:3: min_parity_lower: a number from 0 to 1");
    assert_gate_error("defaults:\n  min_samples: -1\n", "min_samples: a whole number >= 0");
    assert_gate_error("families:\n  API_V1:\n    capabilities:\n      X: {min_capability_coverage: 0.5}\n",
                      "families.API_V1.capabilities.X: unknown key 'min_capability_coverage' (families only)");
    assert_gate_error("trend: {max_parity_dorp: 0.1}\n", "trend: unknown key 'max_parity_dorp'");
    assert_gate_error("default:\n  min_samples: 3\n", "unknown key 'default'");
    assert_gate_error("- 1\n", "a gate file is a mapping");
    /* the shipped file loads, with Quay's budgets */
    reports_builder *b = builder(SHIPPED_GATE, NULL, CAPABILITIES);
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_AUTH", .verdict = "match", .base_us = 1, .cand_us = 1}, 1);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1, .cand_us = 1}, 1);
    json_t *r = build(b);
    json_t *v2 = family(r, "REGISTRY_V2");
    json_t *t = json_object_get(v2, "thresholds");
    cr_assert_str_eq(json_string_value(json_object_get(t, "budget")), "PB-REG-PULL");
    cr_assert_float_eq(number(t, "max_error_rate_increase"), 0.002, 1e-12);
    json_t *auth = json_object_get(json_object_get(json_object_get(v2, "capabilities"), "V2_AUTH"), "thresholds");
    cr_assert_str_eq(json_string_value(json_object_get(auth, "budget")), "PB-REG-AUTH");
    cr_assert_float_eq(number(auth, "max_p99_ratio"), 1.15, 1e-12);
    cr_assert_null(json_object_get(auth, "min_capability_coverage"));
    t = json_object_get(family(r, "API_V1"), "thresholds");
    cr_assert_str_eq(json_string_value(json_object_get(t, "budget")), "PB-API-HOT");
    cr_assert(json_is_null(json_object_get(t, "max_p99_ratio")));
    json_decref(r);
    reports_free(b);
}

/* ---- writers on hostile text ---------------------------------------------------------- */

/* A report with traffic text in names, values and ids: a family that holds. */
static json_t *hostile_report(void)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    json_t *d = NULL;
    for (int i = 0; i < 20; i++) {
        d = diff_record(&(rec){.id = "id|1\n<x>", .family = "API_V1", .capability = "CAP|<b>\n*x*",
                               .verdict = "mismatch", .base_us = 1, .cand_us = 1, .signature = "ffffffffffffffff",
                               .path = "$.a|b\n\x01<script>"});
        pm_err err;
        cr_assert_eq(reports_add(b, d, &err), 0, "%s", err.msg);
        json_decref(d);
    }
    json_t *r = build(b);
    reports_free(b);
    return r;
}

Test(report, markdown_keeps_one_row_per_line)
{
    json_t *r = hostile_report();
    char *md = render(reports_write_markdown, r);
    cr_assert_null(strstr(md, "<script"), "%s", md);
    cr_assert_null(strstr(md, "<b>"), "%s", md);
    cr_assert_null(strchr(md, '\x01'), "a control byte reached report.md");
    /* every table row has as many unescaped | as its header */
    int header = -1;
    for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != '|') {
            header = -1;
            continue;
        }
        int bars = 0;
        for (char *p = line; *p; p++)
            bars += *p == '|' && (p == line || p[-1] != '\\');
        if (header < 0)
            header = bars;
        cr_assert_eq(bars, header, "row '%s' has %d borders, its table %d", line, bars, header);
    }
    free(md);
    json_decref(r);
}

/* Every bidirectional control, as UTF-8, with the visible escape a writer must show. */
static const struct {
    const char *raw, *shown;
} BIDI[] = {
    {"\xD8\x9C", "\\u061C"},     {"\xE2\x80\x8E", "\\u200E"}, {"\xE2\x80\x8F", "\\u200F"},
    {"\xE2\x80\xAA", "\\u202A"}, {"\xE2\x80\xAB", "\\u202B"}, {"\xE2\x80\xAC", "\\u202C"},
    {"\xE2\x80\xAD", "\\u202D"}, {"\xE2\x80\xAE", "\\u202E"}, {"\xE2\x81\xA6", "\\u2066"},
    {"\xE2\x81\xA7", "\\u2067"}, {"\xE2\x81\xA8", "\\u2068"}, {"\xE2\x81\xA9", "\\u2069"},
};

/* A report whose id, capability and difference path carry every bidi control (a path
 * like "$.user" + RLO + "txt.exe" reads backwards in a viewer that obeys them). */
static json_t *bidi_report(void)
{
    char text[256] = "$.a";
    for (size_t i = 0; i < sizeof BIDI / sizeof *BIDI; i++) {
        strcat(text, BIDI[i].raw);
        strcat(text, "x");
    }
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &(rec){.id = text, .family = "API_V1", .capability = text, .verdict = "mismatch", .base_us = 1,
                  .cand_us = 1, .signature = "ffffffffffffffff", .path = text},
        20);
    json_t *r = build(b);
    reports_free(b);
    return r;
}

static void expect_bidi_escaped(const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof BIDI / sizeof *BIDI; i++) {
        cr_expect_null(strstr(text, BIDI[i].raw), "%s passes %s raw", what, BIDI[i].shown);
        cr_expect_not_null(strstr(text, BIDI[i].shown), "%s does not show %s", what, BIDI[i].shown);
    }
}

Test(report, markdown_escapes_bidi_controls)
{
    json_t *r = bidi_report();
    char *md = render(reports_write_markdown, r);
    expect_bidi_escaped("report.md", md);
    free(md);
    json_decref(r);
}

Test(report, junit_escapes_bidi_controls)
{
    json_t *r = bidi_report();
    char *xml = render(reports_write_junit, r);
    expect_bidi_escaped("junit.xml", xml);
    free(xml);
    json_decref(r);
}

Test(report, junit_escapes_everything_and_stays_well_formed)
{
    json_t *r = hostile_report();
    /* bytes jansson would never accept: invalid UTF-8, a C1 control, U+FFFE */
    json_t *caps = json_object_get(family(r, "API_V1"), "capabilities");
    json_t *cap = json_object_get(caps, "CAP|<b>\n*x*");
    cr_assert_not_null(cap);
    json_array_append_new(json_object_get(cap, "reasons"), json_string_nocheck("bad \xff\xfe utf-8 \xc2\x85 \xef\xbf\xbe ]]>"));
    char *xml = render(reports_write_junit, r);
    cr_assert_null(strstr(xml, "<script"));
    cr_assert_null(strstr(xml, "\xff"));
    cr_assert_null(strstr(xml, "\xef\xbf\xbe"), "U+FFFE is not XML");
    cr_assert_null(strstr(xml, "\xc2\x85"), "C1 controls are replaced");
    cr_assert_null(strchr(xml, '\x01'));
    cr_assert_not_null(strstr(xml, "&lt;script&gt;"));
    cr_assert_not_null(strstr(xml, "name=\"CAP|&lt;b&gt;&#10;*x*\""), "a newline in an attribute is kept as &#10;");
    cr_assert_not_null(strstr(xml, "<failure "));
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        const char *path = write_file("junit.xml", xml);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
        cr_assert_eq(system(cmd), 0, "xmllint rejects junit.xml");
    }
    free(xml);
    json_decref(r);
}

Test(report, gate_proposal_snippet)
{
    reports_builder *b = builder(small_gate(), NULL, NULL);
    add(b, &MATCH, 20);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "match", .base_us = 1, .cand_us = 1}, 3);
    add(b, &(rec){.family = "UNKNOWN", .capability = "UNKNOWN", .verdict = "match", .base_us = 1, .cand_us = 1}, 3);
    json_t *r = build(b);
    reports_free(b);
    pm_err err;
    cr_assert_eq(reports_check(r, &err), 0, "%s", err.msg);
    char *buf = NULL;
    size_t len = 0;
    bool all = true;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, r, NULL, 0, &all, &err), 0);
    fclose(f);
    cr_assert_not(all, "API_V1 is insufficient");
    cr_assert_not_null(strstr(buf, "\nROUTE_OWNER_FAMILY_KEYS: go\n"), "%s", buf);
    cr_assert_not_null(strstr(buf, "# note API_V1: insufficient (3 samples < min_samples 10): switch unchanged\n"), "%s",
                       buf);
    cr_assert_null(strstr(buf, "UNKNOWN"), "no switch, not in scope: %s", buf);
    cr_assert_not_null(strstr(buf, "# 1 of 2 families in scope may be promoted: gate fails\n"), "%s", buf);
    free(buf);
    const char *keys[] = {"KEYS"};
    f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, r, keys, 1, &all, &err), 0);
    fclose(f);
    cr_assert(all, "%s", buf);
    free(buf);
    json_t *not_report = json_pack("{s:i}", "v", 1);
    cr_assert_eq(reports_check(not_report, &err), -1);
    f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, not_report, NULL, 0, &all, &err), -1);
    fclose(f);
    free(buf);
    json_decref(not_report);
    json_decref(r);
}

/* Issue 19: a rollback is one change — every failing switch back to python in one block,
 * before the notes; promotions stay beside their notes; every switch once (one mapping). */
Test(report, gate_rollback_is_one_change)
{
    json_t *snapshot = json_pack("{s:{s:s, s:s, s:s}}", "owners", "ROUTE_OWNER_FAMILY_KEYS", "go",
                                 "ROUTE_OWNER_FAMILY_API_V1", "go", "ROUTE_OWNER_FAMILY_OAUTH", "go");
    reports_builder *b = builder(small_gate(), snapshot, NULL);
    json_decref(snapshot);
    add(b, &MATCH, 10);
    add(b, &(rec){.family = "KEYS", .capability = "KEYS_READ", .verdict = "mismatch", .base_us = 100, .cand_us = 100,
                  .signature = "aaaaaaaaaaaaaaaa"},
        10);
    add(b, &(rec){.family = "API_V1", .capability = "API_USER_READ", .verdict = "mismatch", .base_us = 100,
                  .cand_us = 100, .signature = "cccccccccccccccc"},
        5); /* 5 samples of 10: decided all the same */
    add(b, &(rec){.family = "OAUTH", .capability = "OAUTH_TOKEN", .verdict = "match", .base_us = 100, .cand_us = 100},
        3); /* go, too few to judge: stays */
    add(b, &(rec){.family = "REGISTRY_V2", .capability = "V2_BASE", .verdict = "match", .base_us = 100, .cand_us = 100},
        30);
    json_t *r = build(b);
    reports_free(b);
    char *buf = NULL;
    size_t len = 0;
    bool all = true;
    pm_err err;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, r, NULL, 0, &all, &err), 0);
    fclose(f);
    cr_assert_not(all);
    cr_assert_not_null(strstr(buf, "# rollback, in one change to the switch snapshot: every failing switch (2) back "
                                   "to python\n"
                                   "ROUTE_OWNER_FAMILY_API_V1: python\n"
                                   "ROUTE_OWNER_FAMILY_KEYS: python\n"
                                   "# end of the rollback\n"),
                       "%s", buf);
    cr_assert_not_null(strstr(buf, "\nROUTE_OWNER_FAMILY_REGISTRY_V2: go\n"), "%s", buf);
    cr_assert_not_null(strstr(buf, "# note KEYS: rollback (parity upper bound 0.701 < 0.800 at 20 samples): in the "
                                   "rollback above\n"),
                       "%s", buf);
    cr_assert_not_null(strstr(buf, "# note OAUTH: insufficient (3 samples < min_samples 10): switch unchanged\n"), "%s",
                       buf);
    cr_assert_lt(strstr(buf, "# rollback"), strstr(buf, "# note"), "the rollback first: %s", buf);
    const char *first = strstr(buf, "ROUTE_OWNER_FAMILY_KEYS: python\n");
    cr_assert_null(strstr(first + 1, "ROUTE_OWNER_FAMILY_KEYS: python\n"), "every switch once: %s", buf);
    free(buf);
    /* in scope only: --family REGISTRY_V2 has nothing to roll back */
    const char *v2[] = {"REGISTRY_V2"};
    f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, r, v2, 1, &all, &err), 0);
    fclose(f);
    cr_assert(all, "%s", buf);
    cr_assert_null(strstr(buf, "# rollback"), "%s", buf);
    free(buf);
    json_decref(r);
}

/* The temporaries a report is written to have unpredictable names and are created
 * exclusively: links planted at any name derived from the pid (or a fixed name) are never
 * written through, and the final names become regular files. */
Test(report, write_dir_temporaries_cannot_be_planted)
{
    json_t *r = hostile_report();
    char dir[200], victim[260];
    snprintf(dir, sizeof dir, "%s/planted", scratch_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(victim, sizeof victim, "%s/victim.txt", scratch_dir);
    write_file("victim.txt", "precious\n");
    const char *names[] = {"report.json", "report.md", "junit.xml", "report.html"};
    for (size_t i = 0; i < 4; i++) {
        char link[400];
        snprintf(link, sizeof link, "%s/.%s.%ld.tmp", dir, names[i], (long)getpid());
        cr_assert_eq(symlink(victim, link), 0);
        snprintf(link, sizeof link, "%s/.%s.tmp", dir, names[i]);
        cr_assert_eq(symlink(victim, link), 0);
    }
    pm_err err = {{0}};
    cr_assert_eq(reports_write_dir(r, dir, &err), 0, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(victim, &st), 0);
    cr_expect_eq(st.st_size, 9, "a planted temporary name was written through (%lld bytes)", (long long)st.st_size);
    for (size_t i = 0; i < 4; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cr_assert_eq(lstat(path, &st), 0, "%s missing", names[i]);
        cr_expect(S_ISREG(st.st_mode), "%s is not a regular file", names[i]);
        cr_expect_eq(st.st_mode & 0777, 0600, "%s: mode %o", names[i], st.st_mode & 0777);
    }
    json_decref(r);
}

Test(report, write_dir_replaces_files_whole)
{
    json_t *r = hostile_report();
    char dir[200];
    snprintf(dir, sizeof dir, "%s/a/b", scratch_dir);
    pm_err err = {{0}};
    cr_assert_eq(reports_write_dir(r, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(reports_write_dir(r, dir, &err), 0, "again, over the old files: %s", err.msg);
    const char *names[] = {"report.json", "report.md", "junit.xml", "report.html"};
    for (size_t i = 0; i < 4; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cr_assert_eq(access(path, R_OK), 0, "%s missing", names[i]);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_error_t jerr;
    json_t *back = json_load_file(path, 0, &jerr);
    cr_assert_not_null(back, "report.json does not parse: %s", jerr.text);
    cr_assert(json_equal(back, r), "report.json is not the report");
    json_decref(back);
    snprintf(path, sizeof path, "%s/file", scratch_dir);
    write_file("file", "x");
    cr_assert_eq(reports_write_dir(r, path, &err), -1, "a file is not a directory");
    json_decref(r);
}

/* Issue 17 item 8: the proposal's wording comes from the profile's gate.yaml
 * (`snapshot_name`), neutral without it; report.json's run.gate names the gate in force,
 * "built-in defaults" when the profile has no gate.yaml. */
static char *proposal_of(const char *gate)
{
    reports_builder *b = builder(gate, NULL, NULL);
    add(b, &MATCH, 20);
    json_t *r = build(b);
    reports_free(b);
    char *buf = NULL;
    size_t len = 0;
    bool all = false;
    pm_err err;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(reports_write_proposal(f, r, NULL, 0, &all, &err), 0, "%s", err.msg);
    fclose(f);
    json_decref(r);
    return buf;
}

Test(report, gate_wording_and_the_gate_in_force)
{
    char *neutral = proposal_of(small_gate());
    cr_expect_null(strstr(neutral, "Quay"), "%s", neutral);
    cr_expect_not_null(strstr(neutral, "# pmirror gate: owners proposed for the switch snapshot"), "%s", neutral);
    free(neutral);
    char *named = proposal_of(write_file("named-gate.yaml", "snapshot_name: the acme rollout flags\n"
                                                            "defaults: {min_samples: 10}\n"));
    cr_expect_not_null(strstr(named, "# pmirror gate: owners proposed for the acme rollout flags"), "%s", named);
    free(named);
    char *quay = proposal_of(SHIPPED_GATE);
    cr_expect_not_null(strstr(quay, "owners proposed for Quay's switch snapshot"), "%s", quay);
    free(quay);

    pm_err err;
    pm_profile *p = pm_profile_at(scratch_path("no-such-profile"), "flag", &err); /* no gate.yaml */
    cr_assert_not_null(p);
    reports_setup s;
    cr_assert_eq(reports_setup_open(&s, p, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect_str_eq(reports_setup_gate(&s), "built-in defaults");
    json_t *report = json_pack("{s:{}}", "run"), *warnings = json_array(); /* inputs are taken, warnings borrowed */
    reports_setup_run_keys(&s, report, json_array(), warnings);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(report, "run"), "gate")), "built-in defaults");
    json_decref(report);
    json_decref(warnings);
    reports_setup_close(&s);
    const char *gate = small_gate();
    cr_assert_eq(reports_setup_open(&s, p, gate, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect_str_eq(reports_setup_gate(&s), gate);
    reports_setup_close(&s);
    pm_profile_free(p);
}
