/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_diff.c — two JSON documents compared the way a migration needs them compared.
 *
 * Key order never matters; numbers compare by value (1 == 1.0); null, a missing key and
 * [] are three different things (Go's nil slices and omitempty are exactly the bugs this
 * must catch); arrays are ordered unless a rule makes them sets, and an ordered array
 * holding the same elements in another order is one `order` difference, not a list of
 * value differences. At each node the profile's path rules apply first: ignore, shape
 * (the value must look like a time, a UUID, a digest, a JWT), JWT claims without their
 * per-issue fields, URLs without their hosts, numeric tolerance. Paths are written as
 * `$.key[3].other` and matched against the rules' patterns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

size_t diff_path_push_key(diff_path *p, const char *key, size_t len)
{
    size_t old = p->len;
    if (p->len + len + 2 >= sizeof p->s) { /* cut, never overflow: paths this long match no rule */
        p->len = sizeof p->s - 1;
        p->s[p->len] = '\0';
        return old;
    }
    p->s[p->len] = '.';
    memcpy(p->s + p->len + 1, key, len);
    p->len += len + 1;
    p->s[p->len] = '\0';
    return old;
}

size_t diff_path_push_index(diff_path *p, size_t i)
{
    size_t old = p->len;
    char digits[24];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + i % 10);
    while ((i /= 10) > 0);
    if (p->len + n + 3 >= sizeof p->s) {
        p->len = sizeof p->s - 1;
        p->s[p->len] = '\0';
        return old;
    }
    p->s[p->len++] = '[';
    while (n > 0)
        p->s[p->len++] = digits[--n];
    p->s[p->len++] = ']';
    p->s[p->len] = '\0';
    return old;
}

void diff_path_pop(diff_path *p, size_t old)
{
    p->len = old;
    p->s[old] = '\0';
}

static void compare(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth);
static void compare_ordered(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth, size_t na,
                            size_t nb);

/* The claims of a JWT without what changes per issue; NULL when not a JWT. */
static json_t *jwt_claims(const char *token)
{
    const char *d1 = token ? strchr(token, '.') : NULL;
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return NULL;
    unsigned char *payload;
    size_t len;
    if (pm_base64_decode(d1 + 1, (size_t)(d2 - d1 - 1), true, &payload, &len) != 0)
        return NULL;
    json_t *claims = json_loadb((const char *)payload, len, 0, NULL);
    free(payload);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return NULL;
    }
    static const char *const volatile_claims[] = {"iat", "exp", "nbf", "jti", NULL};
    for (const char *const *k = volatile_claims; *k; k++)
        json_object_del(claims, *k);
    return claims;
}

/* A URL with each target's host, and any URL's authority, replaced by {host}. */
static char *without_host(const diff_ctx *c, const char *s)
{
    char *copy = strdup(s);
    return copy ? diff_normalize_hosts(c, copy) : NULL;
}

/* Applies a rule at this node; true when it decided (no further comparison). An expired
 * rule is not applied: it goes to *expired so the caller can count what it would hide. */
static bool apply_rule(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, const diff_rule **expired)
{
    const unsigned kinds = 1u << RULE_IGNORE_PATH | 1u << RULE_SHAPE | 1u << RULE_JWT | 1u << RULE_URL_HOST |
                           1u << RULE_TOLERANCE;
    const diff_rule *r = diff_rule_for_path(c->rules, c->nrules, kinds, p->s);
    if (!r)
        return false;
    if (r->expired) {
        *expired = r;
        return false;
    }
    if (a && b && json_equal(a, b))
        return true; /* equal values need no rule (null on both sides under a time shape) */
    switch (r->kind) {
    case RULE_IGNORE_PATH:
        return true;
    case RULE_SHAPE: {
        if (!a || !b)
            return false; /* missing/extra still count */
        bool time_shape = diff_shape_is_time(r->shape);
        if (time_shape && json_is_integer(a) && json_is_integer(b))
            return true; /* epoch seconds on both sides: the same shape */
        bool ok_a = diff_shape_matches(r->shape, json_string_value(a));
        bool ok_b = diff_shape_matches(r->shape, json_string_value(b));
        if (!ok_a || !ok_b)
            diff_add(c, "body", p->s, "value", a, b);
        return true;
    }
    case RULE_JWT: {
        json_t *ca = jwt_claims(json_string_value(a)), *cb = jwt_claims(json_string_value(b));
        if (!ca || !cb) {
            json_decref(ca);
            json_decref(cb);
            return false;
        }
        compare(c, ca, cb, p, 1);
        json_decref(ca);
        json_decref(cb);
        return true;
    }
    case RULE_URL_HOST: {
        if (!json_is_string(a) || !json_is_string(b))
            return false;
        char *na = without_host(c, json_string_value(a)), *nb = without_host(c, json_string_value(b));
        if (na && nb && strcmp(na, nb) != 0)
            diff_add(c, "body", p->s, "value", a, b);
        free(na);
        free(nb);
        return true;
    }
    case RULE_TOLERANCE:
        if (json_is_number(a) && json_is_number(b)) {
            if (fabs(json_number_value(a) - json_number_value(b)) > r->tolerance)
                diff_add(c, "body", p->s, "value", a, b);
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* Equal under the rules, recording nothing. */
static bool equal_under_rules(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth)
{
    diff_ctx quiet = *c;
    quiet.counting_only = true;
    quiet.count = 0;
    compare(&quiet, a, b, p, depth);
    return quiet.count == 0;
}

/* Matches each element of a with an unused equal element of b; true when all match. */
static bool same_multiset(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth, bool report)
{
    size_t na = json_array_size(a), nb = json_array_size(b);
    bool *used = calloc(nb + 1, sizeof *used);
    bool all = true;
    for (size_t i = 0; i < na; i++) {
        bool found = false;
        size_t old = diff_path_push_index(p, i);
        for (size_t j = 0; j < nb && !found; j++)
            if (!used[j] && equal_under_rules(c, json_array_get(a, i), json_array_get(b, j), p, depth + 1))
                used[j] = found = true;
        if (!found) {
            all = false;
            if (report)
                diff_add(c, "body", p->s, "missing", json_array_get(a, i), NULL);
        }
        diff_path_pop(p, old);
    }
    for (size_t j = 0; j < nb; j++)
        if (!used[j]) {
            all = false;
            if (report) {
                size_t old = diff_path_push_index(p, j);
                diff_add(c, "body", p->s, "extra", NULL, json_array_get(b, j));
                diff_path_pop(p, old);
            }
        }
    free(used);
    return all;
}

static void compare_arrays(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth)
{
    const diff_rule *set = c->nrules ? diff_rule_for_path(c->rules, c->nrules, 1u << RULE_ARRAY_SET, p->s) : NULL;
    if (set && !set->expired) {
        same_multiset(c, a, b, p, depth, true);
        return;
    }
    size_t na = json_array_size(a), nb = json_array_size(b);
    if (c->counting_only) {
        /* only "equal or not": element by element, no diagnosis (diagnosing here, at
         * every level of a nested array, made the comparison exponential in depth) */
        if (na != nb)
            diff_add(c, "body", p->s, "order", a, b);
        for (size_t i = 0; i < na && !c->count; i++) {
            size_t old = diff_path_push_index(p, i);
            compare(c, json_array_get(a, i), json_array_get(b, i), p, depth + 1);
            diff_path_pop(p, old);
        }
        return;
    }
    uint64_t before = c->count;
    compare_ordered(c, a, b, p, depth, na, nb);
    if (set) /* an expired array_set rule: what it would have absorbed */
        diff_expired_hit(c, set, c->count - before);
}

static void compare_ordered(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth, size_t na,
                            size_t nb)
{
    bool in_order = na == nb;
    for (size_t i = 0; in_order && i < na; i++) {
        size_t old = diff_path_push_index(p, i);
        in_order = equal_under_rules(c, json_array_get(a, i), json_array_get(b, i), p, depth + 1);
        diff_path_pop(p, old);
    }
    if (in_order)
        return;
    if (na == nb && na > 1 && same_multiset(c, a, b, p, depth, false)) {
        diff_add(c, "body", p->s, "order", a, b);
        return;
    }
    size_t n = na > nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        size_t old = diff_path_push_index(p, i);
        compare(c, json_array_get(a, i), json_array_get(b, i), p, depth + 1);
        diff_path_pop(p, old);
    }
}

static void compare_node(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth);

static void compare(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth)
{
    if (c->counting_only && c->count)
        return; /* quiet: one difference decides */
    if (depth > DIFF_MAX_DEPTH) {
        diff_add(c, "body", p->s, "type", NULL, NULL); /* too deep to compare: never a match */
        return;
    }
    const diff_rule *expired = NULL;
    if (c->nrules && apply_rule(c, a, b, p, &expired))
        return;
    uint64_t before = c->count;
    compare_node(c, a, b, p, depth);
    if (expired && !c->counting_only) /* counted only where it would have hidden something */
        diff_expired_hit(c, expired, c->count - before);
}

static void compare_node(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth)
{
    if (!a && !b)
        return;
    if (!b) {
        diff_add(c, "body", p->s, "missing", a, NULL);
        return;
    }
    if (!a) {
        diff_add(c, "body", p->s, "extra", NULL, b);
        return;
    }
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b) ? json_integer_value(a) != json_integer_value(b)
                                                     : json_number_value(a) != json_number_value(b))
            diff_add(c, "body", p->s, "value", a, b);
        return;
    }
    if (json_typeof(a) != json_typeof(b) &&
        !((json_is_true(a) || json_is_false(a)) && (json_is_true(b) || json_is_false(b)))) {
        diff_add(c, "body", p->s, "type", a, b);
        return;
    }
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        const char *key;
        const json_t *va;
        json_object_foreach((json_t *)a, key, va) {
            size_t old = diff_path_push_key(p, key, strlen(key));
            compare(c, va, json_object_get(b, key), p, depth + 1);
            diff_path_pop(p, old);
        }
        const json_t *vb;
        json_object_foreach((json_t *)b, key, vb) {
            if (json_object_get(a, key))
                continue;
            size_t old = diff_path_push_key(p, key, strlen(key));
            compare(c, NULL, vb, p, depth + 1);
            diff_path_pop(p, old);
        }
        return;
    }
    case JSON_ARRAY:
        compare_arrays(c, a, b, p, depth);
        return;
    case JSON_STRING:
        if (json_string_length(a) != json_string_length(b) ||
            memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) != 0)
            diff_add(c, "body", p->s, "value", a, b);
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        if (json_is_true(a) != json_is_true(b))
            diff_add(c, "body", p->s, "value", a, b);
        return;
    default:
        return; /* null == null */
    }
}

void diff_json(diff_ctx *c, const json_t *baseline, const json_t *candidate)
{
    diff_path p = {"$", 1};
    compare(c, baseline, candidate, &p, 0);
}

void diff_json_node(diff_ctx *c, const json_t *a, const json_t *b, diff_path *p, int depth)
{
    compare(c, a, b, p, depth);
}

json_t *diff_json_parse(const unsigned char *data, size_t len)
{
    /* jansson bounds its own nesting (JSON_PARSER_MAX_DEPTH): a 100 000-deep array is a
     * parse error here, compared as text, never a stack overflow. */
    return json_loadb((const char *)data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}
