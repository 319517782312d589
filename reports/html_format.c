/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html_format.c — the report's numbers as people read them on the page. Ratios keep
 * three decimals, as the decision reasons print them ("parity lower bound 0.962 <
 * 0.990"), so the page and the reasons agree digit for digit; latencies arrive in
 * microseconds and are shown in the unit that keeps 3–4 significant digits.
 */
#include <math.h>

#include "html_internal.h"

#define DASH "\xE2\x80\x94"   /* — */
#define MINUS "\xE2\x88\x92"  /* − */

const char *html_fmt_ratio(char buf[HTML_NUM_BUF], double v)
{
    if (isnan(v))
        snprintf(buf, HTML_NUM_BUF, DASH);
    else
        snprintf(buf, HTML_NUM_BUF, "%.3f", v);
    return buf;
}

const char *html_fmt_us(char buf[HTML_NUM_BUF], double us)
{
    if (isnan(us))
        snprintf(buf, HTML_NUM_BUF, DASH);
    else if (us < 999.5)
        snprintf(buf, HTML_NUM_BUF, "%.0f \xC2\xB5s", us);
    else if (us < 9995)
        snprintf(buf, HTML_NUM_BUF, "%.2f ms", us / 1e3);
    else if (us < 999950)
        snprintf(buf, HTML_NUM_BUF, "%.1f ms", us / 1e3);
    else
        snprintf(buf, HTML_NUM_BUF, "%.2f s", us / 1e6);
    return buf;
}

const char *html_fmt_count(char buf[HTML_NUM_BUF], double v)
{
    if (isnan(v))
        snprintf(buf, HTML_NUM_BUF, DASH);
    else
        snprintf(buf, HTML_NUM_BUF, "%.0f", v);
    return buf;
}

static const char *signed_fmt(char buf[HTML_NUM_BUF], double v, const char *fmt, const char *unit)
{
    if (isnan(v)) {
        snprintf(buf, HTML_NUM_BUF, DASH);
        return buf;
    }
    char digits[HTML_NUM_BUF - 8];
    snprintf(digits, sizeof digits, fmt, fabs(v));
    /* A delta that rounds to zero has no sign. */
    int zero = 1;
    for (const char *p = digits; *p; p++)
        zero &= (*p == '0' || *p == '.');
    snprintf(buf, HTML_NUM_BUF, "%s%s%s", zero ? "\xC2\xB1" : v < 0 ? MINUS : "+", digits, unit);
    return buf;
}

const char *html_fmt_delta(char buf[HTML_NUM_BUF], double v)
{
    return signed_fmt(buf, v, "%.3f", "");
}

const char *html_fmt_pct_delta(char buf[HTML_NUM_BUF], double v)
{
    return signed_fmt(buf, isnan(v) ? v : v * 100, "%.1f", "%");
}
