/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/select.h — selection: which requests to keep, by family and by canary cohort (select.c).
 * One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_SELECT_H
#define PM_CORE_SELECT_H

#include <stdbool.h>

#include "capmap.h"
#include "err.h"

/* Which requests to keep: by family, and by cohort as Quay's canary router selects them
 * (ROUTE_CANARY_ORGS / _REPOS / _USERS / _PERCENT): a request is in the cohort when its
 * org, repo or user is listed, or when its percent bucket is below `percent`. Parsed
 * from "org=acme,repo=acme/app,user=alice,percent=5[,salt=S]" (keys may repeat). */

typedef struct pm_selection pm_selection;

pm_selection *pm_selection_new(void);
/* Adds one --family value. */
int pm_selection_add_family(pm_selection *s, const char *family, pm_err *err);
/* Adds one --select value. */
int pm_selection_parse(pm_selection *s, const char *spec, pm_err *err);
bool pm_selection_matches(const pm_selection *s, const char *family, const pm_cohort *cohort);
void pm_selection_free(pm_selection *s);
/* The stable percent bucket (0..99) of a cohort: the first 4 bytes, big-endian, of
 * SHA-256(salt ":" key) modulo 100, key = repo, else user, else org. -1 when the cohort
 * has none of them. */
int pm_cohort_percent_bucket(const pm_cohort *cohort, const char *salt);
/* The shard (0..n-1) of an exchange, the same for `replay --shard` and the tee's shadow
 * workers, so a flow stays together: the first 4 bytes, big-endian, of SHA-256(key)
 * modulo n, key = the repository, else the user, else the session (connection). 0 when
 * there is no key or n is 0. */
unsigned pm_shard_of(const char *repo, const char *user, const char *session, unsigned n);
/* The selection of a command's --family and --select values; *out NULL (everything)
 * when there are none. 0, or -1 with err naming the first bad value. */
int pm_selection_from(const char *const *families, size_t nfamilies, const char *const *selects, size_t nselects,
                      pm_selection **out, pm_err *err);

#endif
