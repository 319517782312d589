/* SPDX-License-Identifier: Apache-2.0 */
/*
 * write_json.c — report.json: the report tree as it is, indented for people and diffs.
 * Ratios in the tree are already rounded to 6 decimals (score.c), so %.15g prints them
 * short and exactly.
 */
#include "reports_internal.h"

int reports_write_json(FILE *out, const json_t *report, pm_err *err)
{
    if (json_dumpf(report, out, JSON_INDENT(1) | JSON_REAL_PRECISION(15)) != 0 || fputc('\n', out) == EOF ||
        ferror(out))
        return pm_err_set(err, "cannot write report.json");
    return 0;
}
