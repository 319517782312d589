/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redact_inventory.c — which redacted: tokens a record holds and where
 * (core/redact_inventory.c, behind `pmirror credentials`): the token's exact form, each
 * kind of place as the listing names it, counts and the first exchange across records.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/core.h"

#define T1 "redacted:0123456789abcdef"
#define T2 "redacted:fedcba9876543210"
#define T3 "redacted:00000000deadbeef"

static json_t *record(const char *text)
{
    json_error_t e;
    json_t *r = json_loads(text, 0, &e);
    cr_assert_not_null(r, "%s", e.text);
    return r;
}

static void add(pm_redacted_inventory *inv, const char *text)
{
    json_t *r = record(text);
    pm_err err = {{0}};
    cr_assert_eq(pm_redacted_inventory_add(inv, r, &err), 0, "%s", err.msg);
    json_decref(r);
}

static long long places_of(const pm_redacted_inventory *inv, const char *token, const char *where)
{
    const json_t *entry = json_object_get(pm_redacted_inventory_json(inv), token);
    cr_assert_not_null(entry, "no %s", token);
    return json_integer_value(json_object_get(json_object_get(entry, "places"), where));
}

Test(redact_inventory, each_place_named)
{
    pm_redacted_inventory *inv = pm_redacted_inventory_new();
    add(inv, "{\"id\":\"a\",\"request\":{\"method\":\"POST\",\"target\":\"/login?x=1&access_token=" T1 "\","
             "\"headers\":[[\"Authorization\",\"Bearer " T2 "\"],[\"Cookie\",\"lang=en; session=" T3 "\"]],"
             "\"body\":\"user=alice&password=" T1 "\"},"
             "\"response\":{\"headers\":[[\"Set-Cookie\",\"sid=" T3 "; Path=/\"]],"
             "\"body\":\"{\\\"creds\\\":[{\\\"token\\\":\\\"" T2 "\\\"}],\\\"list\\\":[\\\"" T1 "\\\"]}\"}}");
    cr_assert_eq(places_of(inv, T1, "request query access_token"), 1);
    cr_assert_eq(places_of(inv, T1, "request field password"), 1);
    cr_assert_eq(places_of(inv, T1, "response field list"), 1);
    cr_assert_eq(places_of(inv, T2, "request header Authorization (Bearer)"), 1);
    cr_assert_eq(places_of(inv, T2, "response field token"), 1);
    cr_assert_eq(places_of(inv, T3, "request cookie session (Cookie)"), 1);
    cr_assert_eq(places_of(inv, T3, "response cookie sid (Set-Cookie)"), 1);
    const json_t *e1 = json_object_get(pm_redacted_inventory_json(inv), T1);
    cr_assert_eq(json_integer_value(json_object_get(e1, "count")), 3);
    cr_assert(json_is_true(json_object_get(e1, "in_request")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e1, "first"), "path")), "/login");
    pm_redacted_inventory_free(inv);
}

Test(redact_inventory, counts_first_exchange_and_answers)
{
    pm_redacted_inventory *inv = pm_redacted_inventory_new();
    add(inv, "{\"id\":\"r1\",\"request\":{\"method\":\"GET\",\"target\":\"/v2/auth\",\"headers\":[]},"
             "\"responses\":{\"go\":{\"headers\":[[\"X-Token\",\"" T1 "\"]]}}}");
    add(inv, "{\"id\":\"r2\",\"request\":{\"method\":\"GET\",\"target\":\"/v2/\",\"headers\":[[\"X-Token\",\"" T1
             "\"]]}}");
    const json_t *e = json_object_get(pm_redacted_inventory_json(inv), T1);
    cr_assert_eq(places_of(inv, T1, "answer of go header X-Token"), 1);
    cr_assert_eq(places_of(inv, T1, "request header X-Token"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "first"), "id")), "r1");
    cr_assert(json_is_true(json_object_get(e, "in_request")));
    cr_assert_eq(pm_redacted_inventory_records(inv), 2);
    pm_redacted_inventory_free(inv);
}

Test(redact_inventory, only_the_exact_token_form)
{
    pm_redacted_inventory *inv = pm_redacted_inventory_new();
    add(inv, "{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"headers\":[[\"A\",\"redacted:0123456789ABCDEF\"],"
             "[\"B\",\"redacted:0123456789abcdef0\"],[\"C\",\"redacted:\"],[\"D\",\"redacted:0123\"]]}}");
    cr_assert_eq(json_object_size(pm_redacted_inventory_json(inv)), 0);
    pm_redacted_inventory_free(inv);
}

Test(redact_inventory, a_record_without_request_is_an_error)
{
    pm_redacted_inventory *inv = pm_redacted_inventory_new();
    json_t *r = record("{\"v\":1,\"kind\":\"job\"}");
    pm_err err = {{0}};
    cr_assert_eq(pm_redacted_inventory_add(inv, r, &err), -1);
    cr_assert(strstr(err.msg, "not a capture or result record"));
    json_decref(r);
    pm_redacted_inventory_free(inv);
}
