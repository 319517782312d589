/*
 * clock.c — time as pmirror writes it: a monotonic millisecond clock for intervals and
 * RFC 3339 UTC timestamps with microseconds for records.
 */
#include "core/core.h"

#include <stdio.h>
#include <time.h>

uint64_t pm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}
