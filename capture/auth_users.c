/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth_users.c — a session's remembered Authorization value → cohort user
 * (auth_users.h).
 *
 * A direct-mapped table: a value's slot is its FNV-1a hash, and a value landing on a taken
 * slot replaces what was there. No chains, no eviction order, no growth: a capture with
 * more distinct tokens than slots only decodes more often, never holds more. Values
 * longer than MAX_VALUE (nothing a client sends every time) are decoded each time.
 */
#include "auth_users.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define SLOTS 512
#define MAX_VALUE 8192
#define HASHED 32

typedef struct slot {
    char *value; /* NULL: empty */
    size_t len;
    char *user;
} slot;

struct auth_users {
    slot slots[SLOTS];
    char *uncached; /* the last answer for a value too long to keep */
};

auth_users *auth_users_new(void)
{
    return calloc(1, sizeof(auth_users));
}

void auth_users_free(auth_users *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < SLOTS; i++) {
        free(u->slots[i].value);
        free(u->slots[i].user);
    }
    free(u->uncached);
    free(u);
}

const char *auth_users_get(auth_users *u, const char *authorization)
{
    size_t len = strlen(authorization);
    if (len > MAX_VALUE) {
        free(u->uncached);
        u->uncached = pm_cohort_user_from_authorization(authorization);
        return u->uncached;
    }
    /* The slot by the length and the last HASHED bytes: a JWT's differ (its signature),
     * and hashing all of a 700-byte token per request cost what the lookup saves. */
    size_t tail = len < HASHED ? len : HASHED;
    slot *s = &u->slots[pm_fnv1a(PM_FNV1A_INIT ^ len, authorization + len - tail, tail) % SLOTS];
    if (s->value && s->len == len && memcmp(s->value, authorization, len) == 0)
        return s->user;
    free(s->value);
    free(s->user);
    s->user = pm_cohort_user_from_authorization(authorization);
    s->value = strndup(authorization, len);
    s->len = len;
    if (!s->value) { /* out of memory: answered, not remembered */
        free(u->uncached);
        u->uncached = s->user;
        s->user = NULL;
        return u->uncached;
    }
    return s->user;
}
