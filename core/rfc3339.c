/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rfc3339.c — timestamps as text, both ways: the one writer of a record's `ts` (RFC 3339
 * UTC with microseconds) and the one reader of every timestamp pmirror is given (records'
 * `ts`, HAR's startedDateTime). The reader takes what RFC 3339 and HAR tools write: a 'T'
 * (or 't', or a space), seconds optional, a fraction of any length ('.' or ',', cut to
 * microseconds), and 'Z' or a UTC offset (±hh:mm, ±hhmm or ±hh) that is applied; no
 * offset reads as UTC. Anything after the time, a field out of range or a time before
 * 1970 is not a timestamp.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* v as n decimal digits, zero-padded (v < 10^n). */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

void pm_time_rfc3339(int64_t epoch_us, char *buf, size_t size)
{
    time_t secs = (time_t)(epoch_us / 1000000);
    long micros = (long)(epoch_us % 1000000);
    if (micros < 0) {
        micros += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    if (year >= 0 && year <= 9999 && size >= sizeof "YYYY-MM-DDThh:mm:ss.uuuuuuZ") {
        /* what the snprintf below writes, without printf's machinery (every record) */
        char *p = put_digits(buf, year, 4);
        *p++ = '-';
        p = put_digits(p, tm.tm_mon + 1, 2);
        *p++ = '-';
        p = put_digits(p, tm.tm_mday, 2);
        *p++ = 'T';
        p = put_digits(p, tm.tm_hour, 2);
        *p++ = ':';
        p = put_digits(p, tm.tm_min, 2);
        *p++ = ':';
        p = put_digits(p, tm.tm_sec, 2);
        *p++ = '.';
        p = put_digits(p, micros, 6);
        memcpy(p, "Z", 2);
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil); a day past the month's end counts on, as timegm() does. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool pm_time_parse(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec = 0;
    const char *p = s;
    if (!p || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return false;
    if (*p == ':' && (p++, !digits(&p, 2, &sec)))
        return false;
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int n = 0;
        if (!is_digit(*p))
            return false;
        for (; is_digit(*p); p++, n++)
            if (n < 6)
                frac = frac * 10 + (*p - '0');
        for (; n < 6; n++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (!digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (is_digit(*p) && !digits(&p, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
        offset_s = sign * (oh * 3600 + om * 60);
    }
    if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
        return false;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (t < 0)
        return false;
    *us = t * 1000000 + frac;
    return true;
}
