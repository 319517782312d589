/*
 * decide.c — one gate decision, with its reasons in words and numbers.
 *
 *   insufficient  fewer samples (match + mismatch + error) than min_samples, or (families)
 *                 fewer of the family's read capabilities seen than min_capability_coverage:
 *                 not enough evidence either way, never promote
 *   hold          a check fails: parity lower bound, mismatches, error rate, the
 *                 candidate's error rate over the baseline's, p95 / p99 against the baseline,
 *                 or (families) a capability that holds
 *   rollback      it would hold and its switch is `go` in the switch snapshot
 *   promote       every check passes
 *
 * The decision reads the scope as the report shows it (rounded ratios, percentiles), so
 * a reader can redo it from report.json. Reasons come first for what decided: an
 * insufficient scope also lists checks that already fail; a promoted one lists what passed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reports_internal.h"

static void say(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(json_t *list, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(buf));
}

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

static void check_latency(const rpt_thresholds *t, const json_t *scope, const char *q, double ratio, json_t *fail,
                          json_t *pass)
{
    const json_t *base = latency_of(scope, "baseline"), *cand = latency_of(scope, "candidate");
    double b = rpt_number(json_object_get(base, q)), c = rpt_number(json_object_get(cand, q));
    if (isnan(ratio) || isnan(b) || isnan(c))
        return;
    char cs[32], bs[32], ls[32], rs[16];
    double limit = b * ratio;
    rpt_fmt_ms(cs, sizeof cs, c, limit);
    rpt_fmt_ms(bs, sizeof bs, b, NAN);
    rpt_fmt_ms(ls, sizeof ls, limit, c);
    snprintf(rs, sizeof rs, "%.2f", ratio);
    char tail[64] = "";
    if (t->budget)
        snprintf(tail, sizeof tail, ", %s", t->budget);
    if (c > limit)
        say(fail, "candidate %s %s > baseline %s %s x %s (= %s%s)", q, cs, q, bs, rs, ls, tail);
    else
        say(pass, "candidate %s %s <= baseline %s %s x %s (= %s%s)", q, cs, q, bs, rs, ls, tail);
}

static void check_errors(const rpt_thresholds *t, const json_t *scope, json_int_t samples, json_t *fail, json_t *pass)
{
    double rate = rpt_number(json_object_get(scope, "error_rate"));
    char a[32], b[32], c[32];
    if (!isnan(t->max_error_rate) && !isnan(rate)) {
        rpt_fmt_ratio(a, sizeof a, rate, t->max_error_rate);
        rpt_fmt_ratio(b, sizeof b, t->max_error_rate, rate);
        say(rate > t->max_error_rate ? fail : pass, "error rate %s %s %s (%lld of %lld)", a,
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
        say(bad ? fail : pass, "candidate error rate %s %s baseline %s + %s%s%s", a, bad ? ">" : "<=", b, c,
            t->budget ? ", " : "", t->budget ? t->budget : "");
    }
}

static void check_parity(const rpt_thresholds *t, const json_t *scope, json_int_t samples, json_t *fail, json_t *pass)
{
    if (isnan(t->min_parity_lower))
        return;
    double lower = rpt_number(json_object_get(scope, "parity_lower"));
    if (isnan(lower)) {
        say(fail, "no comparable answers (0 match + mismatch): parity unknown");
        return;
    }
    char a[32], b[32];
    rpt_fmt_ratio(a, sizeof a, lower, t->min_parity_lower);
    rpt_fmt_ratio(b, sizeof b, t->min_parity_lower, lower);
    if (lower < t->min_parity_lower)
        say(fail, "parity lower bound %s < %s", a, b);
    else
        say(pass, "parity lower bound %s >= %s over %lld samples", a, b, (long long)samples);
}

static void check_capabilities(const json_t *scope, json_t *fail)
{
    const char *name;
    const json_t *cap;
    json_object_foreach(json_object_get(scope, "capabilities"), name, cap) {
        const char *d = json_string_value(json_object_get(cap, "decision"));
        if (d && (strcmp(d, "hold") == 0 || strcmp(d, "rollback") == 0)) {
            const char *why = json_string_value(json_array_get(json_object_get(cap, "reasons"), 0));
            say(fail, "capability %s holds: %s", name, why ? why : "(no reason)");
        }
    }
}

const char *rpt_decide(const rpt_thresholds *t, const json_t *scope, const char *owner, const char *switch_name,
                       json_t *reasons)
{
    json_t *short_of = json_array(), *fail = json_array(), *pass = json_array();
    json_int_t samples = count(scope, "match") + count(scope, "mismatch") + count(scope, "error");
    if (samples < t->min_samples)
        say(short_of, "%lld sample%s < min_samples %ld", (long long)samples, samples == 1 ? "" : "s", t->min_samples);
    check_parity(t, scope, samples, fail, pass);
    const json_t *coverage = json_object_get(scope, "coverage");
    double share = rpt_number(json_object_get(coverage, "share"));
    if (!isnan(share) && !isnan(t->min_capability_coverage)) {
        char a[32], b[32];
        rpt_fmt_ratio(a, sizeof a, share, t->min_capability_coverage);
        rpt_fmt_ratio(b, sizeof b, t->min_capability_coverage, share);
        say(share < t->min_capability_coverage ? short_of : pass,
            "capability coverage %lld of %lld read capabilities = %s %s %s", (long long)count(coverage, "seen"),
            (long long)count(coverage, "read_capabilities"), a, share < t->min_capability_coverage ? "<" : ">=", b);
    }
    json_int_t mismatches = count(scope, "mismatch");
    if (t->max_mismatches >= 0)
        say(mismatches > t->max_mismatches ? fail : pass, "%lld mismatches %s max_mismatches %ld%s%s",
            (long long)mismatches, mismatches > t->max_mismatches ? ">" : "<=", t->max_mismatches,
            t->budget ? ", " : "", t->budget ? t->budget : "");
    check_errors(t, scope, samples, fail, pass);
    check_latency(t, scope, "p95", t->max_p95_ratio, fail, pass);
    check_latency(t, scope, "p99", t->max_p99_ratio, fail, pass);
    check_capabilities(scope, fail);

    const char *decision;
    bool go = owner && strcmp(owner, "go") == 0;
    if (json_array_size(short_of) > 0) {
        decision = "insufficient";
        json_array_extend(reasons, short_of);
        json_array_extend(reasons, fail);
        if (go)
            say(reasons, "%s is go in the switch snapshot: too little evidence to roll it back",
                switch_name ? switch_name : "the switch");
    } else if (json_array_size(fail) > 0) {
        decision = go ? "rollback" : "hold";
        json_array_extend(reasons, fail);
        if (go)
            say(reasons, "%s is go in the switch snapshot and fails: roll back to python",
                switch_name ? switch_name : "the switch");
    } else {
        decision = "promote";
        json_array_extend(reasons, pass);
    }
    json_decref(short_of);
    json_decref(fail);
    json_decref(pass);
    return decision;
}
