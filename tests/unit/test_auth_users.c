/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_auth_users.c — capture's remembered Authorization → user (capture/auth_users.c)
 * answers exactly what pm_cohort_user_from_authorization does: for Basic, Bearer JWT,
 * opaque and empty values, for a value asked again, for more distinct values than the
 * table has slots (so slots are taken over and values come back after being pushed out),
 * and for a value too long to be kept.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/auth_users.h"
#include "core/core.h"

/* "Basic base64(userN:pw)" or "Bearer JWT{sub: userN}" or an opaque token, by n. */
static char *value_for(unsigned n)
{
    char plain[64], *b64, *out = NULL;
    switch (n % 3) {
    case 0:
        snprintf(plain, sizeof plain, "user%u:pw%u", n, n * 7);
        b64 = pm_base64_encode((const unsigned char *)plain, strlen(plain));
        cr_assert_not_null(b64);
        cr_assert_gt(asprintf(&out, "Basic %s", b64), 0);
        free(b64);
        break;
    case 1: {
        char claims[64];
        snprintf(claims, sizeof claims, "{\"sub\":\"user%u\"}", n);
        char *head = pm_base64_encode((const unsigned char *)"{\"alg\":\"RS256\"}", 15);
        b64 = pm_base64_encode((const unsigned char *)claims, strlen(claims));
        cr_assert_gt(asprintf(&out, "Bearer %s.%s.c2ln", head, b64), 0);
        free(head);
        free(b64);
        break;
    }
    default:
        cr_assert_gt(asprintf(&out, "Bearer opaque-%u", n), 0);
    }
    return out;
}

static int jwt_users; /* JWTs whose sub was found: the test covers that path */

static void assert_same(auth_users *u, const char *value)
{
    char *want = pm_cohort_user_from_authorization(value);
    const char *got = auth_users_get(u, value);
    if (!want)
        cr_assert_null(got, "%s: %s, want none", value, got);
    else
        cr_assert(got && strcmp(got, want) == 0, "%s: %s, want %s", value, got ? got : "(none)", want);
    if (want && strncmp(value, "Bearer ", 7) == 0)
        jwt_users++;
    free(want);
}

Test(auth_users, answers_as_the_decoder_does)
{
    auth_users *u = auth_users_new();
    cr_assert_not_null(u);
    const char *fixed[] = {"", " ", "Basic", "Basic ", "Basic JHRva2VuOmFiYw==", "Basic !!notbase64",
                           "Bearer opaque-oauth-token", "Digest x", "bearer a.b.c"};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
            assert_same(u, fixed[i]);
    auth_users_free(u);
}

Test(auth_users, many_values_asked_again_after_being_pushed_out)
{
    auth_users *u = auth_users_new();
    for (int round = 0; round < 3; round++)
        for (unsigned n = 0; n < 2000; n++) {
            char *v = value_for(round == 1 ? 1999 - n : n);
            assert_same(u, v);
            assert_same(u, v); /* the remembered answer */
            free(v);
        }
    cr_assert_gt(jwt_users, 1000);
    auth_users_free(u);
}

Test(auth_users, too_long_to_keep)
{
    auth_users *u = auth_users_new();
    size_t n = 20000;
    char *v = malloc(n + 1);
    memcpy(v, "Basic ", 6);
    memset(v + 6, 'A', n - 6);
    v[n] = '\0';
    for (int i = 0; i < 3; i++) {
        assert_same(u, v);
        assert_same(u, "Basic JHRva2VuOmFiYw==");
    }
    free(v);
    auth_users_free(u);
}
