/*
 * histogram.c — the latency histogram behind every p50/p95/p99 of the report.
 *
 * Fixed buckets, the same in every process: values below 128 µs have a bucket each
 * (exact), above that bucket j covers [128·1.02^j, 128·1.02^(j+1)) and is represented by
 * 2·lo·hi/(lo+hi), within (γ-1)/(γ+1) < 1% of any value in it (DDSketch's mapping with
 * γ = 1.02). Because the boundaries never move, the histogram of a file is exactly the sum
 * of the histograms of its shards, whatever the order of records: `report -i a -i b`
 * gives the same percentiles as one file with both. Values beyond 2^40 µs (12 days) share
 * the last bucket. 1 284 counters, 10 KiB a histogram.
 */
#include <math.h>
#include <stdlib.h>

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
