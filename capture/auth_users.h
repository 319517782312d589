/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth_users.h — the cohort user of each Authorization value, remembered for a session
 * (auth_users.c; private to capture/).
 *
 * Finding the user means decoding base64 and, for a Bearer JWT, parsing its claims with
 * jansson: 11% of the packet loop on Quay-shaped traffic (perf, bench/capture.sh), where a
 * few hundred users send the same tokens on every connection. A session remembers the
 * answer per value in a small fixed table, so memory stays bounded whatever the traffic.
 */
#ifndef PM_CAPTURE_AUTH_USERS_H
#define PM_CAPTURE_AUTH_USERS_H

typedef struct auth_users auth_users;

auth_users *auth_users_new(void);
void auth_users_free(auth_users *u);
/* pm_cohort_user_from_authorization(authorization), borrowed: valid until the next call.
 * NULL when the value names no user (or memory ran out remembering it). */
const char *auth_users_get(auth_users *u, const char *authorization);

#endif
