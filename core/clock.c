/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c — a monotonic millisecond clock for intervals (timestamps as text are
 * rfc3339.c's).
 */
#include "core.h"

#include <time.h>

uint64_t pm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
