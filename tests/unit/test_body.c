/* SPDX-License-Identifier: Apache-2.0 */
/* pm_body: a capped body buffer — appending past the cap, and the room a declared length
 * reserves (pm_body_reserve: capture sizes a body from its Content-Length). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/core.h"

Test(body, reserve_sizes_once_and_append_fills_without_growing)
{
    pm_body b = {0};
    pm_body_init_sha_when_cut(&b, 1 << 20);
    cr_assert_eq(pm_body_reserve(&b, 5000), 0);
    cr_assert_eq(b.cap, 5000);
    unsigned char *at = b.data;
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pm_body_append(&b, chunk, sizeof chunk), 0);
    cr_assert_eq(b.len, 5000);
    cr_assert_eq(b.cap, 5000, "the reserved room was enough: no doubling");
    cr_assert_eq(b.data, at, "and no move");
    cr_assert_eq(pm_body_reserve(&b, 0), 0);
    cr_assert_eq(b.cap, 5000);
    pm_body_free(&b);
}

Test(body, reserve_stops_at_the_cap)
{
    pm_body b = {0};
    pm_body_init_sha_when_cut(&b, 100);
    cr_assert_eq(pm_body_reserve(&b, 1u << 30), 0, "a claim larger than the cap is held to it");
    cr_assert_eq(b.cap, 100);
    char big[300];
    memset(big, 'y', sizeof big);
    cr_assert_eq(pm_body_append(&b, big, sizeof big), 0);
    cr_assert_eq(b.len, 100);
    cr_assert_eq(b.total, 300, "what was cut is still counted");
    cr_assert_eq(b.cap, 100);
    cr_assert_eq(pm_body_reserve(&b, 50), 0, "a full body has no room to take");
    cr_assert_eq(b.cap, 100);
    pm_body_free(&b);
}
