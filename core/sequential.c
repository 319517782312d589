/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sequential.c — a parity score watched continuously. A fixed-sample 95% interval looked
 * at again and again (every tee snapshot, every rerun of `report` on a growing capture)
 * sooner or later wanders under the threshold by chance: repeated looks roll back
 * healthy canaries far more often than 5%. The live decisions use a test that stays
 * valid at every look instead: a mixture sequential probability ratio test (mSPRT) on the
 * mismatch rate q = 1 - parity, against q0 = 1 - min_parity.
 *
 *   rollback side   H0: q <= q0.  For an alternative q1 > q0 the likelihood ratio
 *                   L(q1) = (q1/q0)^k ((1-q1)/(1-q0))^(n-k)   (k mismatches of n)
 *                   has, per answer, E_q[factor] = q q1/q0 + (1-q)(1-q1)/(1-q0), linear in
 *                   q, 1 at q0 and rising with q: <= 1 under H0, so L(q1) is a
 *                   nonnegative supermartingale under every q in H0. So is any mixture
 *                   of them. The mixture here is uniform over a grid of alternatives
 *                   q1 = q0 * 2^(j/2), j = 1..J, all <= 1/2 (J <= 16): from 1.41x to
 *                   ~45x the threshold's mismatch rate (0.014 .. 0.45 at q0 = 0.01).
 *   promote side    H0: q >= q0, the mirror image: q1 = q0 * 2^(-j/2), j = 1..11, and
 *                   q1 = 0 (a perfect candidate), uniform.
 *
 * Ville's inequality: P(sup_n M_n >= 1/alpha) <= alpha, so deciding when the mixture
 * reaches 1/alpha = 20 errs with probability at most alpha = 0.05 over every look ever
 * taken, optional stopping included. The price of the grid over a single alternative is
 * log J nats (about 2.4) of evidence: at a true parity of 0.95 against 0.99 (q1 = 0.04 and
 * 0.057 are on the grid, about 0.04 nats per answer) the rollback comes after ~130
 * answers on average (tests/unit/test_sequential.c measures it). The statistic depends
 * only on (k, n), so the order answers arrive in, and shards, do not matter.
 */
#include "sequential.h"

#include <math.h>

#define GRID_MAX 16

/* log(sum_j exp(x_j)) - log(count), the log of the uniform mixture. */
static double log_mean_exp(const double *x, int count)
{
    double top = -INFINITY;
    for (int i = 0; i < count; i++)
        if (x[i] > top)
            top = x[i];
    if (top == -INFINITY)
        return -INFINITY;
    double sum = 0;
    for (int i = 0; i < count; i++)
        sum += exp(x[i] - top);
    return top + log(sum) - log((double)count);
}

/* log L(q1) against q0 for k mismatches of n; -inf where q1 cannot have made them. */
static double log_ratio(uint64_t k, uint64_t n, double q1, double q0)
{
    double kk = (double)k, rest = (double)(n - k);
    double a = k == 0 ? 0 : q1 <= 0 ? -INFINITY : kk * log(q1 / q0);
    double b = n == k ? 0 : q1 >= 1 ? -INFINITY : rest * (log1p(-q1) - log1p(-q0));
    return a + b;
}

double pm_seq_log_evidence_under(uint64_t mismatches, uint64_t n, double min_parity)
{
    if (n == 0 || isnan(min_parity))
        return 0;
    if (mismatches > n)
        mismatches = n;
    double q0 = 1 - min_parity;
    if (q0 <= 0) /* a threshold of 1: any mismatch is proof */
        return mismatches > 0 ? INFINITY : 0;
    if (q0 >= 0.5)
        return 0; /* no alternative on the grid: never decided (thresholds are near 1) */
    double x[GRID_MAX];
    int count = 0;
    for (int j = 1; j <= GRID_MAX; j++) {
        double q1 = q0 * pow(2, j / 2.0);
        if (q1 > 0.5)
            break;
        x[count++] = log_ratio(mismatches, n, q1, q0);
    }
    return count ? log_mean_exp(x, count) : 0;
}

double pm_seq_log_evidence_over(uint64_t mismatches, uint64_t n, double min_parity)
{
    if (n == 0 || isnan(min_parity))
        return 0;
    if (mismatches > n)
        mismatches = n;
    double q0 = 1 - min_parity;
    if (q0 <= 0)
        return 0; /* nothing is over a parity of 1 */
    if (q0 >= 1)
        return INFINITY;
    double x[12];
    int count = 0;
    for (int j = 1; j <= 11; j++)
        x[count++] = log_ratio(mismatches, n, q0 * pow(2, -j / 2.0), q0);
    x[count++] = log_ratio(mismatches, n, 0, q0);
    return log_mean_exp(x, count);
}

double pm_seq_log_bar(void)
{
    return log(1 / PM_SEQ_ALPHA);
}
