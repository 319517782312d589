/* SPDX-License-Identifier: Apache-2.0 */
/*
 * score.c — the numbers of a parity score as report.json stores them. parity = match /
 * (match + mismatch), its lower bound is core's pm_wilson_lower (what the gate compares
 * to its threshold). Ratios are stored rounded to 6 decimals so that the JSON a reader
 * sees is exactly what the gate decided on. The sequential test's evidence (an e-value) is
 * stored as a number with 4 significant digits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reports_internal.h"

double rpt_div(uint64_t a, uint64_t b)
{
    return b == 0 ? NAN : (double)a / (double)b;
}

json_t *rpt_ratio_json(double x)
{
    if (isnan(x) || isinf(x))
        return json_null();
    return json_real(round(x * 1e6) / 1e6);
}

double rpt_number(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

json_t *rpt_evidence_json(double log_evidence)
{
    if (isnan(log_evidence))
        return json_null();
    if (log_evidence > 690)
        return json_real(1e300);
    double e = exp(log_evidence);
    char buf[32];
    snprintf(buf, sizeof buf, "%.4g", e);
    return json_real(strtod(buf, NULL));
}
