/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sequential.c — the always-valid sequential test of core/sequential.c, by
 * simulation (fixed seeds, well under a second): a healthy canary watched at 50 looks is
 * rarely rolled back (at most PM_SEQ_ALPHA of them, where the fixed-sample Wilson interval
 * looked at as often rolls back more), and a clearly failing one is rolled back within a
 * stated number of answers (median and 99th percentile). Also the statistic's edges.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"

/* splitmix64: a fixed, portable stream of pseudo-random numbers per seed. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool mismatch(uint64_t *state, double parity)
{
    return (double)(next_u64(state) >> 11) / 9007199254740992.0 >= parity;
}

#define THRESHOLD 0.990
#define LOOKS 50
#define PER_LOOK 40 /* 50 looks, one every 40 answers: 2000 answers a canary */
#define CANARIES 2000

typedef struct {
    int sequential, wilson; /* canaries ever rolled back by each rule */
} rollbacks;

/* CANARIES canaries of this true parity, each looked at LOOKS times. */
static rollbacks simulate_looks(double parity, uint64_t seed)
{
    rollbacks r = {0, 0};
    uint64_t state = seed;
    for (int c = 0; c < CANARIES; c++) {
        uint64_t n = 0, k = 0;
        bool seq = false, wil = false;
        for (int look = 0; look < LOOKS; look++) {
            for (int i = 0; i < PER_LOOK; i++, n++)
                k += mismatch(&state, parity);
            seq = seq || pm_seq_log_evidence_under(k, n, THRESHOLD) >= pm_seq_log_bar();
            wil = wil || pm_wilson_upper(n - k, n) < THRESHOLD;
        }
        r.sequential += seq;
        r.wilson += wil;
    }
    return r;
}

Test(sequential, healthy_canaries_are_rarely_rolled_back_over_50_looks)
{
    rollbacks r = simulate_looks(0.995, 19);
    cr_log_info("parity 0.995 vs 0.990, %d canaries x %d looks: sequential %d rolled back, Wilson %d", CANARIES,
                LOOKS, r.sequential, r.wilson);
    cr_assert_leq(r.sequential, CANARIES * PM_SEQ_ALPHA, "%d of %d rolled back", r.sequential, CANARIES);
}

Test(sequential, at_the_threshold_itself_the_error_stays_under_alpha)
{
    /* the worst case of H0: a true parity of exactly 0.990 */
    rollbacks r = simulate_looks(THRESHOLD, 1919);
    cr_log_info("parity 0.990 vs 0.990: sequential %d of %d rolled back, Wilson looked at 50 times %d", r.sequential,
                CANARIES, r.wilson);
    cr_assert_leq(r.sequential, CANARIES * PM_SEQ_ALPHA, "%d of %d rolled back", r.sequential, CANARIES);
    cr_assert_gt(r.wilson, CANARIES * PM_SEQ_ALPHA,
                 "the fixed-sample interval looked at 50 times errs more than 5%% (%d of %d)", r.wilson, CANARIES);
}

/* The answer at which a canary of this parity is first rolled back (looked at after every
 * answer), or 0 when not within max. */
static uint64_t rollback_at(double parity, uint64_t *state, uint64_t max)
{
    uint64_t k = 0;
    for (uint64_t n = 1; n <= max; n++) {
        k += mismatch(state, parity);
        if (pm_seq_log_evidence_under(k, n, THRESHOLD) >= pm_seq_log_bar())
            return n;
    }
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The bounds the README states: a canary at parity 0.95 against 0.990, looked at after
 * every answer, is rolled back within 400 answers in 99% of runs, half of them within 100
 * (measured: median 80, 95th percentile 291, 99th 374 of 1000 runs). */
#define SEQ_ROLLBACK_MEDIAN 100
#define SEQ_ROLLBACK_P99 400

Test(sequential, a_failing_canary_is_rolled_back_within_the_stated_answers)
{
    enum { RUNS = 1000 };
    static uint64_t at[RUNS];
    uint64_t state = 95;
    for (int i = 0; i < RUNS; i++) {
        at[i] = rollback_at(0.95, &state, 100000);
        cr_assert_gt(at[i], 0, "run %d never rolled back", i);
    }
    qsort(at, RUNS, sizeof *at, compare_u64);
    cr_log_info("parity 0.95 vs 0.990: rolled back after median %llu, 95th %llu, 99th %llu, max %llu answers",
                (unsigned long long)at[RUNS / 2], (unsigned long long)at[RUNS * 95 / 100],
                (unsigned long long)at[RUNS * 99 / 100], (unsigned long long)at[RUNS - 1]);
    cr_assert_leq(at[RUNS / 2], SEQ_ROLLBACK_MEDIAN, "median %llu answers", (unsigned long long)at[RUNS / 2]);
    cr_assert_leq(at[RUNS * 99 / 100], SEQ_ROLLBACK_P99, "99th percentile %llu answers",
                  (unsigned long long)at[RUNS * 99 / 100]);
}

Test(sequential, edges)
{
    cr_assert_eq(pm_seq_log_evidence_under(0, 0, THRESHOLD), 0);
    cr_assert_lt(pm_seq_log_evidence_under(0, 1000, THRESHOLD), 0, "no mismatch: evidence for, not against");
    cr_assert(isinf(pm_seq_log_evidence_under(1, 10, 1.0)), "a threshold of 1: one mismatch is proof");
    cr_assert_eq(pm_seq_log_evidence_under(0, 10, 1.0), 0);
    /* 95 of 100 against 0.990: the fixed interval (0.888..0.978) is under it, but valid at
     * every look the evidence is just short of the bar (e^2.89 < 20); 94 of 100 is over */
    cr_assert_lt(pm_seq_log_evidence_under(5, 100, THRESHOLD), pm_seq_log_bar());
    cr_assert_geq(pm_seq_log_evidence_under(6, 100, THRESHOLD), pm_seq_log_bar());
    /* one mismatch of 20 is no evidence either way */
    cr_assert_lt(pm_seq_log_evidence_under(1, 20, THRESHOLD), pm_seq_log_bar());
    cr_assert_lt(pm_seq_log_evidence_over(1, 20, THRESHOLD), pm_seq_log_bar());
    /* 20 000 of 20 000 is overwhelming evidence over 0.990 */
    cr_assert_geq(pm_seq_log_evidence_over(0, 20000, THRESHOLD), pm_seq_log_bar());
    /* the evidence grows with the mismatches at fixed n */
    double last = -INFINITY;
    for (uint64_t k = 0; k <= 50; k++) {
        double e = pm_seq_log_evidence_under(k, 500, THRESHOLD);
        cr_assert_gt(e, last);
        last = e;
    }
}
