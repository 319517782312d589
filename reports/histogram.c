/* SPDX-License-Identifier: Apache-2.0 */
/*
 * histogram.c — the latency histogram behind every p50/p95/p99 of the report.
 *
 * Fixed buckets, the same in every process: values below 128 µs have a bucket each
 * (exact), above that bucket j covers [128·1.02^j, 128·1.02^(j+1)) and is represented by
 * 2·lo·hi/(lo+hi), within (γ-1)/(γ+1) < 1% of any value in it (DDSketch's mapping with
 * γ = 1.02). Because the boundaries never move, the histogram of a file is exactly the sum
 * of the histograms of its shards, whatever the order of records: `report -i a -i b`
 * gives the same percentiles as one file with both. Values beyond 2^40 µs (12 days) share
 * the last bucket. 1 284 counters, 10 KiB a histogram. Two histograms also give the
 * Mann-Whitney U test the latency budgets use (rpt_histogram_mann_whitney).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

#define LINEAR 128
#define GAMMA 1.02
#define MAX_VALUE (1ULL << 40)
#define LOG_BUCKETS 1156 /* floor(log(2^40 / 128) / log(1.02)) + 1 */
#define BUCKETS (LINEAR + LOG_BUCKETS)

struct reports_histogram {
    uint64_t count, min, max;
    uint64_t buckets[BUCKETS];
};

reports_histogram *reports_histogram_new(void)
{
    return calloc(1, sizeof(reports_histogram));
}

void reports_histogram_free(reports_histogram *h)
{
    free(h);
}

static size_t bucket_of(uint64_t v)
{
    if (v < LINEAR)
        return (size_t)v;
    if (v > MAX_VALUE)
        v = MAX_VALUE;
    double j = floor(log((double)v / LINEAR) / log(GAMMA));
    size_t b = LINEAR + (j < 0 ? 0 : (size_t)j);
    return b < BUCKETS ? b : BUCKETS - 1;
}

static double representative(size_t b)
{
    if (b < LINEAR)
        return (double)b;
    double lo = LINEAR * pow(GAMMA, (double)(b - LINEAR)), hi = lo * GAMMA;
    return 2 * lo * hi / (lo + hi);
}

void reports_histogram_add(reports_histogram *h, uint64_t value)
{
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (h->count == 0 || value > h->max)
        h->max = value;
    h->count++;
    h->buckets[bucket_of(value)]++;
}

void reports_histogram_merge(reports_histogram *into, const reports_histogram *from)
{
    if (from->count == 0)
        return;
    if (into->count == 0 || from->min < into->min)
        into->min = from->min;
    if (into->count == 0 || from->max > into->max)
        into->max = from->max;
    into->count += from->count;
    for (size_t i = 0; i < BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

uint64_t reports_histogram_count(const reports_histogram *h)
{
    return h->count;
}

double reports_histogram_quantile(const reports_histogram *h, double q)
{
    if (h->count == 0)
        return NAN;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank <= 1)
        return (double)h->min; /* the extremes are known exactly */
    if (rank >= h->count)
        return (double)h->max;
    uint64_t seen = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            double v = representative(b);
            if (v < (double)h->min)
                v = (double)h->min;
            if (v > (double)h->max)
                v = (double)h->max;
            return v;
        }
    }
    return (double)h->max;
}

/* ----- Mann-Whitney U on two histograms ----------------------------------------------- */

/* The U test of "the candidate's latencies are stochastically larger than the baseline's"
 * (one-sided), as Kayenta compares a canary's metric with its baseline's, computed on the
 * buckets: values in one bucket (exact below 128 µs, within 2% above) count as ties. So
 * it needs no sample kept (memory stays one histogram per target and scope) and is the
 * same whatever the order of records and shards. Normal approximation with the tie
 * correction and a continuity correction; the caller refuses small samples. */
void rpt_histogram_mann_whitney(const reports_histogram *base, const reports_histogram *cand, rpt_mann_whitney *out)
{
    memset(out, 0, sizeof *out);
    out->n_baseline = base->count;
    out->n_candidate = cand->count;
    out->p_slower = NAN;
    out->z = NAN;
    if (base->count == 0 || cand->count == 0)
        return;
    double below = 0, u = 0, ties = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        double a = (double)base->buckets[b], c = (double)cand->buckets[b], t = a + c;
        u += c * (below + a / 2);
        below += a;
        ties += t * t * t - t;
    }
    double n1 = (double)base->count, n2 = (double)cand->count, n = n1 + n2;
    double mean = n1 * n2 / 2;
    double var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
    out->u = u;
    if (var <= 0) { /* every value tied: no difference to see */
        out->z = 0;
        out->p_slower = 0.5;
        return;
    }
    double d = u - mean;
    d = d > 0.5 ? d - 0.5 : d < -0.5 ? d + 0.5 : 0;
    out->z = d / sqrt(var);
    out->p_slower = 0.5 * erfc(out->z / sqrt(2));
}

uint64_t rpt_histogram_count_over(const reports_histogram *h, double limit)
{
    uint64_t over = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        double lo = b < LINEAR ? (double)b : LINEAR * pow(GAMMA, (double)(b - LINEAR));
        if (lo > limit)
            over += h->buckets[b];
    }
    return over;
}

double rpt_binomial_upper_tail(uint64_t k, uint64_t n, double p)
{
    if (k == 0)
        return 1;
    if (k > n || p <= 0)
        return 0;
    if (p >= 1)
        return 1;
    double nn = (double)n, lp = log(p), lq = log1p(-p), sum = 0;
    for (uint64_t i = k; i <= n; i++) {
        double term = exp(lgamma(nn + 1) - lgamma((double)i + 1) - lgamma(nn - (double)i + 1) + (double)i * lp +
                          (nn - (double)i) * lq);
        sum += term;
        if (term < sum * 1e-17 && (double)i > nn * p)
            break;
    }
    return sum > 1 ? 1 : sum;
}
