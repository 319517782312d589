/*
 * format.c — numbers as the reasons and the Markdown table say them. Three decimals for a
 * ratio and one for milliseconds read well; when that would print two different numbers
 * the same ("0.990 < 0.990"), more decimals are used until they differ, so a reason never
 * contradicts itself.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports_internal.h"

static void fmt_distinct(char *buf, size_t size, double x, double other, int decimals, const char *unit)
{
    if (isnan(x)) {
        snprintf(buf, size, "n/a");
        return;
    }
    for (int d = decimals; d <= 6; d++) {
        snprintf(buf, size, "%.*f%s", d, x, unit);
        if (isnan(other) || x == other)
            return;
        char theirs[64];
        snprintf(theirs, sizeof theirs, "%.*f%s", d, other, unit);
        if (strcmp(buf, theirs) != 0)
            return;
    }
}

void rpt_fmt_ratio(char *buf, size_t size, double x, double other)
{
    fmt_distinct(buf, size, x, other, 3, "");
}

void rpt_fmt_ms(char *buf, size_t size, double us, double other)
{
    double ms = us / 1000, other_ms = other / 1000;
    int decimals = isnan(ms) || fabs(ms) >= 1 ? 1 : fabs(ms) >= 0.1 ? 2 : 3;
    fmt_distinct(buf, size, ms, other_ms, decimals, " ms");
}
