/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decide.c — one gate decision, with its reasons in words and numbers. Parity is judged by
 * its whole Wilson 95% interval, so a clear failure decides at any sample count:
 *
 *   hold          the evidence says it fails, at any count and whatever the coverage: the
 *                 parity UPPER bound under min_parity_lower, more mismatches than
 *                 max_mismatches (a hard budget), or (families) a capability that holds;
 *                 or, with min_samples, a point check fails: parity unknown, error rate,
 *                 the candidate's error rate over the baseline's, p95 / p99 over the
 *                 baseline's x the budget's ratio AND the candidate shown slower by the
 *                 Mann-Whitney U test (p < 0.05); with fewer than 100 answers a side for
 *                 p95 (500 for p99: 5 beyond the quantile) latency is "too few to judge",
 *                 a note in every decision's reasons, never a failure
 *   rollback      it would hold and its switch is `go` in the switch snapshot
 *   insufficient  not decided either way: the parity interval straddles min_parity_lower,
 *                 or (to promote) fewer samples than min_samples or, for families, fewer of
 *                 its read capabilities seen than min_capability_coverage
 *   promote       every check passes: the lower bound at or over the threshold, enough
 *                 samples and coverage, every budget met
 *
 * --mixed flows (a scope's `mixed`: the steps of one flow answered by different
 * implementations) are judged on their completion's lower bound against min_parity_lower:
 * under it with a failed flow holds at any count, under it with every flow completed is
 * insufficient; the reason names the step that failed. A scope with flows and no parity
 * sample (an upload capability in a mixed run) counts its flows as its samples.
 *
 * With t->sequential (the tee's live decisions, `report --sequential`) the parity checks
 * read the always-valid sequential test (core/sequential.h) instead of the interval: a
 * scope looked at after every answer keeps its 5% error rate (see check_parity_sequential).
 *
 * The decision reads the scope as the report shows it (rounded ratios, percentiles; the
 * upper bound from match and mismatch, rounded the same way), so a reader can redo it from
 * report.json. Reasons come first for what decided: an insufficient scope also lists
 * checks that already fail; a promoted one lists what passed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports_internal.h"

static json_int_t count(const json_t *scope, const char *key)
{
    return json_integer_value(json_object_get(scope, key));
}

/* The latency entry of the first target with this role, or NULL. */
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

uint64_t rpt_latency_min_samples(double q)
{
    return (uint64_t)ceil(5 / (1 - q) - 1e-9);
}

/* The significance level of the latency test: a budget fails only when the candidate is
 * shown slower (Mann-Whitney, one-sided) at this level, besides its quantile's ratio. */
#define LATENCY_ALPHA 0.05

/* A latency budget (candidate quantile <= baseline quantile x ratio), judged as Kayenta
 * judges a canary metric: a point estimate alone decides nothing. Fewer than
 * rpt_latency_min_samples answers on either side: "too few to judge latency" (a note,
 * never a failure). Over the ratio: a failure only when a test also shows it (p < 0.05):
 * the Mann-Whitney U test (the candidate slower as a whole), or, for a regression of the
 * tail alone (a faster body, a slower tail), the tail test: more of the candidate's answers
 * over the limit than the quantile allows (one-sided binomial, build.c). Else not decided. */
static void check_latency(const rpt_thresholds *t, const json_t *scope, const char *q, double quantile, double ratio,
                          json_t *fail, json_t *straddle, json_t *note, json_t *pass)
{
    const json_t *base = latency_of(scope, "baseline"), *cand = latency_of(scope, "candidate");
    double b = rpt_number(json_object_get(base, q)), c = rpt_number(json_object_get(cand, q));
    if (isnan(ratio) || isnan(b) || isnan(c))
        return;
    json_int_t nb = json_integer_value(json_object_get(base, "count")), nc = json_integer_value(json_object_get(cand, "count"));
    uint64_t least = rpt_latency_min_samples(quantile);
    if (nb < (json_int_t)least || nc < (json_int_t)least) {
        pm_json_append_printf(note, "too few to judge latency: %s on %lld baseline and %lld candidate answers, fewer than %llu each "
                  "(5 beyond the %s)", q, (long long)nb, (long long)nc, (unsigned long long)least, q);
        return;
    }
    const json_t *test = json_object_get(scope, "latency_test");
    double p = rpt_number(json_object_get(test, "p_slower"));
    double p_tail = rpt_number(json_object_get(json_object_get(json_object_get(test, "tail"), q), "p"));
    char cs[32], bs[32], ls[32], rs[16];
    double limit = b * ratio;
    rpt_fmt_ms(cs, sizeof cs, c, limit);
    rpt_fmt_ms(bs, sizeof bs, b, NAN);
    rpt_fmt_ms(ls, sizeof ls, limit, c);
    snprintf(rs, sizeof rs, "%.2f", ratio);
    char tail[64] = "";
    if (t->budget)
        snprintf(tail, sizeof tail, ", %s", t->budget);
    char ps[32];
    snprintf(ps, sizeof ps, "%.2g", p);
    if (c > limit && !isnan(p) && p < LATENCY_ALPHA)
        pm_json_append_printf(fail, "candidate %s %s > baseline %s %s x %s (= %s%s); Mann-Whitney: slower, p = %s on %lld/%lld", q, cs,
            q, bs, rs, ls, tail, ps, (long long)nb, (long long)nc);
    else if (c > limit && !isnan(p_tail) && p_tail < LATENCY_ALPHA)
        pm_json_append_printf(fail, "candidate %s %s > baseline %s %s x %s (= %s%s); its tail over the limit by the tail test (p < "
                  "%g), though Mann-Whitney does not show the whole slower", q, cs, q, bs, rs, ls, tail, LATENCY_ALPHA);
    else if (c > limit)
        pm_json_append_printf(straddle, "candidate %s %s > baseline %s %s x %s (= %s%s), but neither Mann-Whitney (p = %s on %lld/%lld) "
                      "nor the tail test shows it: latency not decided", q, cs, q, bs, rs, ls, tail, ps, (long long)nb,
            (long long)nc);
    else
        pm_json_append_printf(pass, "candidate %s %s <= baseline %s %s x %s (= %s%s)", q, cs, q, bs, rs, ls, tail);
}

static void check_errors(const rpt_thresholds *t, const json_t *scope, json_int_t samples, json_t *fail, json_t *pass)
{
    double rate = rpt_number(json_object_get(scope, "error_rate"));
    char a[32], b[32], c[32];
    if (!isnan(t->max_error_rate) && !isnan(rate)) {
        rpt_fmt_ratio(a, sizeof a, rate, t->max_error_rate);
        rpt_fmt_ratio(b, sizeof b, t->max_error_rate, rate);
        pm_json_append_printf(rate > t->max_error_rate ? fail : pass, "error rate %s %s %s (%lld of %lld)", a,
            rate > t->max_error_rate ? ">" : "<=", b, (long long)count(scope, "error"), (long long)samples);
    }
    const json_t *by_role = json_object_get(scope, "error_rate_by_role");
    double base = rpt_number(json_object_get(by_role, "baseline")), cand = rpt_number(json_object_get(by_role, "candidate"));
    if (!isnan(t->max_error_rate_increase) && !isnan(base) && !isnan(cand)) {
        double limit = base + t->max_error_rate_increase;
        bool bad = cand > limit + 1e-12;
        rpt_fmt_ratio(a, sizeof a, cand, limit);
        rpt_fmt_ratio(b, sizeof b, base, NAN);
        rpt_fmt_ratio(c, sizeof c, t->max_error_rate_increase, NAN);
        pm_json_append_printf(bad ? fail : pass, "candidate error rate %s %s baseline %s + %s%s%s", a, bad ? ">" : "<=", b, c,
            t->budget ? ", " : "", t->budget ? t->budget : "");
    }
}

/* An e-value in words: "1.2e+03", "20.5", "0.31". */
static void fmt_evidence(char *buf, size_t size, double log_evidence)
{
    if (log_evidence > 690)
        snprintf(buf, size, "> 1e300");
    else
        snprintf(buf, size, "%.3g", exp(log_evidence));
}

/* Sequential decisions (t->sequential: the tee, `report --sequential`): the mixture SPRT
 * of core/sequential.h instead of the interval, so that a scope watched at every snapshot
 * keeps its error rate. Evidence under the threshold reaching 1/alpha fails (decisive, at
 * any count); evidence over it passes; neither yet: not decided. */
static void check_parity_sequential(const rpt_thresholds *t, json_int_t match, json_int_t n, json_int_t samples,
                                    json_t *fail, int *decisive, json_t *straddle, json_t *pass)
{
    uint64_t mismatch = (uint64_t)(n - match);
    double under = pm_seq_log_evidence_under(mismatch, (uint64_t)n, t->min_parity_lower);
    double over = pm_seq_log_evidence_over(mismatch, (uint64_t)n, t->min_parity_lower);
    double bar = pm_seq_log_bar();
    char th[32], eu[32], eo[32];
    rpt_fmt_ratio(th, sizeof th, t->min_parity_lower, NAN);
    fmt_evidence(eu, sizeof eu, under);
    fmt_evidence(eo, sizeof eo, over);
    const char *s = samples == 1 ? "" : "s";
    if (under >= bar) {
        pm_json_append_printf(fail, "parity under %s by the sequential test: evidence %s >= %g (alpha %g, valid at every look) at %lld "
                  "sample%s", th, eu, 1 / PM_SEQ_ALPHA, PM_SEQ_ALPHA, (long long)samples, s);
        (*decisive)++;
    } else if (over >= bar) {
        pm_json_append_printf(pass, "parity over %s by the sequential test: evidence %s >= %g (alpha %g) over %lld sample%s", th, eo,
            1 / PM_SEQ_ALPHA, PM_SEQ_ALPHA, (long long)samples, s);
    } else {
        pm_json_append_printf(straddle, "sequential test not decided at %lld sample%s: evidence under %s %s, over it %s, neither >= %g",
            (long long)samples, s, th, eu, eo, 1 / PM_SEQ_ALPHA);
    }
}

/* The parity interval against min_parity_lower: the upper bound under it fails at any
 * count (decisive), the lower bound at or over it passes, and between them the interval
 * straddles the threshold: not decided yet. */
static void check_parity(const rpt_thresholds *t, const json_t *scope, json_int_t samples, json_t *fail,
                         int *decisive, json_t *straddle, json_t *pass)
{
    if (isnan(t->min_parity_lower))
        return;
    json_int_t match = count(scope, "match"), n = match + count(scope, "mismatch");
    double lower = rpt_number(json_object_get(scope, "parity_lower"));
    if (isnan(lower) || n <= 0) {
        pm_json_append_printf(fail, "no comparable answers (0 match + mismatch): parity unknown");
        return;
    }
    if (t->sequential) {
        check_parity_sequential(t, match, n, samples, fail, decisive, straddle, pass);
        return;
    }
    double upper = round(pm_wilson_upper((uint64_t)match, (uint64_t)n) * 1e6) / 1e6; /* as report.json rounds */
    double thr = t->min_parity_lower;
    char lo[32], up[32], th[32];
    rpt_fmt_ratio(lo, sizeof lo, lower, thr);
    rpt_fmt_ratio(up, sizeof up, upper, thr);
    if (upper < thr) {
        rpt_fmt_ratio(th, sizeof th, thr, upper);
        pm_json_append_printf(fail, "parity upper bound %s < %s at %lld sample%s", up, th, (long long)samples, samples == 1 ? "" : "s");
        (*decisive)++;
    } else if (lower < thr) {
        rpt_fmt_ratio(th, sizeof th, thr, lower);
        pm_json_append_printf(straddle, "parity interval %s..%s straddles %s at %lld sample%s", lo, up, th, (long long)samples,
            samples == 1 ? "" : "s");
    } else {
        rpt_fmt_ratio(th, sizeof th, thr, lower);
        pm_json_append_printf(pass, "parity lower bound %s >= %s over %lld samples", lo, th, (long long)samples);
    }
}

static void check_capabilities(const json_t *scope, json_t *fail, int *decisive)
{
    const char *name;
    const json_t *cap;
    json_object_foreach(json_object_get(scope, "capabilities"), name, cap) {
        const char *d = json_string_value(json_object_get(cap, "decision"));
        if (d && (strcmp(d, "hold") == 0 || strcmp(d, "rollback") == 0)) {
            const char *why = json_string_value(json_array_get(json_object_get(cap, "reasons"), 0));
            pm_json_append_printf(fail, "capability %s holds: %s", name, why ? why : "(no reason)");
            (*decisive)++;
        }
    }
}

/* --mixed flows (mixed.c): their completion's Wilson lower bound against the parity
 * threshold, as a promotion needs of parity (the interval, also in a sequential report:
 * flows are few and replayed on purpose). Under it, a failed flow holds at any count: a
 * step one implementation refused after the other began the flow is a broken
 * continuation, not sampling noise, and no switch may move while it stands; with every
 * flow completed, too few flows are only insufficient. The reason names the failed step,
 * so it says what to fix. */
static void check_mixed(const rpt_thresholds *t, const json_t *scope, json_t *fail, int *decisive, json_t *straddle,
                        json_t *pass)
{
    const json_t *m = json_object_get(scope, "mixed");
    json_int_t flows = count(m, "flows"), done = count(m, "completed");
    if (!m || flows <= 0 || isnan(t->min_parity_lower))
        return;
    double thr = t->min_parity_lower;
    double lower = round(pm_wilson_lower((uint64_t)done, (uint64_t)flows) * 1e6) / 1e6;
    const char *step = json_string_value(json_object_get(json_object_get(m, "first_failure"), "failure"));
    char lo[32], th[32];
    rpt_fmt_ratio(lo, sizeof lo, lower, thr);
    rpt_fmt_ratio(th, sizeof th, thr, lower);
    if (lower < thr && done < flows) {
        pm_json_append_printf(fail, "mixed flows: %lld of %lld completed across implementations, lower bound %s < %s; failed step: %s",
            (long long)done, (long long)flows, lo, th, step ? step : "(not named)");
        (*decisive)++;
    } else if (lower < thr) {
        pm_json_append_printf(straddle, "mixed flows: %lld of %lld completed across implementations, too few: lower bound %s < %s",
            (long long)done, (long long)flows, lo, th);
    } else {
        pm_json_append_printf(pass, "mixed flows: %lld of %lld completed across implementations, lower bound %s >= %s", (long long)done,
            (long long)flows, lo, th);
    }
}

static const char *switch_label(const char *switch_name)
{
    return switch_name ? switch_name : "the switch";
}

const char *rpt_decide(const rpt_thresholds *t, const json_t *scope, const char *owner, const char *switch_name,
                       json_t *reasons)
{
    /* fail: every failing check, `decisive` of them deciding at any count (the others need
     * min_samples); straddle and short_of: not decided yet; pass: what a promotion rests on */
    json_t *fail = json_array(), *straddle = json_array(), *short_of = json_array(), *pass = json_array();
    json_t *note = json_array(); /* said whatever the decision, before the switch's line */
    int decisive = 0;
    json_int_t samples = count(scope, "match") + count(scope, "mismatch") + count(scope, "error");
    /* a scope seen only through --mixed flows (an upload capability in a mixed run): its
     * flows are its samples, and there is no parity to judge */
    json_int_t flows = count(json_object_get(scope, "mixed"), "flows");
    bool mixed_only = samples == 0 && flows > 0;
    if (mixed_only)
        samples = flows;
    if (samples < t->min_samples)
        pm_json_append_printf(short_of, "%lld sample%s < min_samples %ld", (long long)samples, samples == 1 ? "" : "s", t->min_samples);
    if (!mixed_only)
        check_parity(t, scope, samples, fail, &decisive, straddle, pass);
    const json_t *coverage = json_object_get(scope, "coverage");
    double share = rpt_number(json_object_get(coverage, "share"));
    if (!isnan(share) && !isnan(t->min_capability_coverage)) {
        char a[32], b[32];
        rpt_fmt_ratio(a, sizeof a, share, t->min_capability_coverage);
        rpt_fmt_ratio(b, sizeof b, t->min_capability_coverage, share);
        pm_json_append_printf(share < t->min_capability_coverage ? short_of : pass,
            "capability coverage %lld of %lld read capabilities = %s %s %s", (long long)count(coverage, "seen"),
            (long long)count(coverage, "read_capabilities"), a, share < t->min_capability_coverage ? "<" : ">=", b);
    }
    json_int_t mismatches = count(scope, "mismatch");
    if (t->max_mismatches >= 0) { /* a hard budget: decisive at any count */
        bool over = mismatches > t->max_mismatches;
        pm_json_append_printf(over ? fail : pass, "%lld mismatches %s max_mismatches %ld%s%s", (long long)mismatches, over ? ">" : "<=",
            t->max_mismatches, t->budget ? ", " : "", t->budget ? t->budget : "");
        decisive += over;
    }
    check_errors(t, scope, samples, fail, pass);
    check_latency(t, scope, "p95", 0.95, t->max_p95_ratio, fail, straddle, note, pass);
    check_latency(t, scope, "p99", 0.99, t->max_p99_ratio, fail, straddle, note, pass);
    check_capabilities(scope, fail, &decisive);
    check_mixed(t, scope, fail, &decisive, straddle, pass);

    const char *decision;
    bool go = owner && strcmp(owner, "go") == 0;
    bool enough = samples >= t->min_samples;
    if (decisive > 0 || (enough && json_array_size(fail) > 0)) {
        decision = go ? "rollback" : "hold";
        json_array_extend(reasons, fail);
        json_array_extend(reasons, note);
        if (go)
            pm_json_append_printf(reasons, "%s is go in the switch snapshot and fails: roll back to python", switch_label(switch_name));
    } else if (json_array_size(short_of) > 0 || json_array_size(straddle) > 0) {
        decision = "insufficient";
        json_array_extend(reasons, short_of);
        json_array_extend(reasons, straddle);
        json_array_extend(reasons, fail);
        json_array_extend(reasons, note);
        if (go)
            pm_json_append_printf(reasons, "%s is go in the switch snapshot: too little evidence to roll it back",
                switch_label(switch_name));
    } else {
        decision = "promote";
        json_array_extend(reasons, pass);
        json_array_extend(reasons, note);
    }
    json_decref(note);
    json_decref(fail);
    json_decref(straddle);
    json_decref(short_of);
    json_decref(pass);
    return decision;
}
