/*
 * score.c — the statistics of a parity score. parity = match / (match + mismatch); its
 * Wilson score interval's lower bound at 95% (z = 1.959964) is what the gate compares to
 * its threshold: unlike the plain ratio it is honest about small samples (95 of 100 is
 * 0.95, but only 0.888 with 95% confidence), and unlike the normal approximation it stays
 * within 0..1 at 0 and n. Ratios are stored rounded to 6 decimals so that the JSON a
 * reader sees is exactly what the gate decided on.
 */
#include <math.h>

#include "reports/reports_internal.h"

#define Z95 1.959963984540054

double reports_wilson_lower(uint64_t successes, uint64_t n)
{
    if (n == 0)
        return NAN;
    if (successes > n)
        successes = n;
    double nn = (double)n, p = (double)successes / nn, z2 = Z95 * Z95;
    double center = p + z2 / (2 * nn);
    double margin = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    double lower = (center - margin) / (1 + z2 / nn);
    return lower < 0 ? 0 : lower;
}

double rp_div(uint64_t a, uint64_t b)
{
    return b == 0 ? NAN : (double)a / (double)b;
}

json_t *rp_ratio_json(double x)
{
    if (isnan(x) || isinf(x))
        return json_null();
    return json_real(round(x * 1e6) / 1e6);
}

double rp_number(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}
