/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/wilson.h — the Wilson score interval the reports and the tee's metrics share
 * (wilson.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_WILSON_H
#define PM_CORE_WILSON_H

#include <stdint.h>

/* The Wilson score 95% lower bound of successes out of n (z = 1.959964), clamped to
 * 0..1; NAN when n == 0 (no sample, no bound: report.json writes null, the tee's metrics
 * leave the family out). (core/wilson.c) */
double pm_wilson_lower(uint64_t successes, uint64_t n);

/* Its upper bound, the same way (95 of 100: 0.978): the gate holds or rolls back a scope
 * whose upper bound is under its threshold, at any sample count. (core/wilson.c) */
double pm_wilson_upper(uint64_t successes, uint64_t n);

#endif
