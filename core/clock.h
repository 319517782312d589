/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/clock.h — time: a monotonic clock and RFC 3339 timestamps, written and read (clock.c,
 * rfc3339.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_CLOCK_H
#define PM_CORE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds from a monotonic clock. */
uint64_t pm_now_ms(void);

/* Formats microseconds since the epoch as RFC 3339 UTC with microseconds into buf (≥ 32).
 * (core/rfc3339.c) */
void pm_time_rfc3339(int64_t epoch_us, char *buf, size_t size);
/* Reads an RFC 3339 time into microseconds since the epoch: "2026-11-01T10:00:00.000886Z",
 * any number of fraction digits (cut to µs), 'Z' or an offset ±hh:mm (also ±hhmm, ±hh)
 * applied; HAR's variants too (seconds optional, 't' or ' ' for 'T', ',' for '.', no
 * offset = UTC). False for anything else: trailing text, a field out of range, a time
 * before 1970. */
bool pm_time_parse(const char *s, int64_t *us);

#endif
