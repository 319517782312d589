/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/sequential.h — the always-valid test of a parity score that live decisions use
 * (sequential.c): the tee's decisions, its report snapshots and `pmirror report
 * --sequential` on a capture that keeps growing. One part of core's public interface;
 * core/core.h includes every part.
 */
#ifndef PM_CORE_SEQUENTIAL_H
#define PM_CORE_SEQUENTIAL_H

#include <stdint.h>

/* The level of every sequential decision: a healthy canary (true parity at or over the
 * threshold) is rolled back with probability at most PM_SEQ_ALPHA over all the looks ever
 * taken, however many and whenever; likewise a failing one is promoted (on parity) with
 * probability at most PM_SEQ_ALPHA. */
#define PM_SEQ_ALPHA 0.05

/* The evidence (a mixture likelihood ratio, an e-value: its natural log) that the parity
 * is UNDER min_parity, from `mismatches` of n compared answers (n = match + mismatch).
 * Under any true parity >= min_parity it is a nonnegative supermartingale with mean <= 1,
 * so by Ville's inequality it ever reaches 1/PM_SEQ_ALPHA with probability <= PM_SEQ_ALPHA.
 * 0 when n == 0. (core/sequential.c) */
double pm_seq_log_evidence_under(uint64_t mismatches, uint64_t n, double min_parity);

/* The same against the other side: that the parity is OVER min_parity. */
double pm_seq_log_evidence_over(uint64_t mismatches, uint64_t n, double min_parity);

/* log(1 / PM_SEQ_ALPHA): the evidence at which a sequential decision is taken. */
double pm_seq_log_bar(void);

#endif
