/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wilson.c — the interval of a parity score. parity = match / (match + mismatch); the
 * Wilson score interval's lower end at 95% (z = 1.959964) is what the gate compares to its
 * threshold: unlike the plain ratio it is honest about small samples (95 of 100 is 0.95,
 * but only 0.888 with 95% confidence), and unlike the normal approximation it stays within
 * 0..1 at 0 and n. report.json and the tee's live metrics both read it from here.
 */
#include "core.h"

#include <math.h>

#define Z95 1.959963984540054

/* One end of the interval: sign -1 the lower, +1 the upper, clamped to 0..1. */
static double wilson_bound(uint64_t successes, uint64_t n, double sign)
{
    if (n == 0)
        return NAN;
    if (successes > n)
        successes = n;
    double nn = (double)n, p = (double)successes / nn, z2 = Z95 * Z95;
    double center = p + z2 / (2 * nn);
    double margin = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    double bound = (center + sign * margin) / (1 + z2 / nn);
    return bound < 0 ? 0 : bound > 1 ? 1 : bound;
}

double pm_wilson_lower(uint64_t successes, uint64_t n)
{
    return wilson_bound(successes, n, -1);
}

double pm_wilson_upper(uint64_t successes, uint64_t n)
{
    return wilson_bound(successes, n, +1);
}
