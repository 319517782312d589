/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capmap_internal.h — the compiled capability map, shared by capmap.c (loading and
 * compiling) and classify.c (matching). Private to core/.
 */
#ifndef PM_CAPMAP_INTERNAL_H
#define PM_CAPMAP_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core.h"

enum { MUTATING_WHEN_NEVER, MUTATING_WHEN_PUSH_SCOPE };

/* A route whose method is this matches every method (one entry for a route that takes
 * them all); its routes sit in a method table of their own, tried beside the request's. */
#define PM_ANY_METHOD "*"

typedef struct {
    const char *id, *method, *path, *route_switch; /* borrowed from the config tree; id may be NULL */
    const char *label;                             /* id, else path: what errors name */
    const char *family, *capability, *switch_name, *cap_switch;
    bool mutating;
    bool mutating_by_method; /* an any-method route without `mutating`: as the request's method */
    int mutating_when;
    bool streaming; /* `streaming: true`: its answer is an event stream (capture, replay) */
    pcre2_code *re;
    /* Literal text before the first and after the last variable: a memcmp rejects most
     * candidates before PCRE2 is called (see classify.c). */
    const char *prefix, *suffix;
    size_t prefix_len, suffix_len;
    int namespace_group, repository_group; /* capture group numbers, 0 = none */
    int literal_chars, greedy_vars, nvars; /* specificity, see route_before() */
    int order;                             /* position in the file: the last tie-break */
    const json_t *node;                    /* the route in the config tree (its line) */
} pm_route;

/* Routes of one method whose pattern starts with one literal segment ("v2", "api"), or
 * with a variable (segment NULL: the wildcard bucket). Indices sorted by specificity. */
typedef struct {
    char *segment;
    int *routes;
    size_t n, cap;
} pm_bucket;

typedef struct {
    char *method;
    pm_bucket *buckets; /* sorted by segment; the wildcard bucket is `wildcard` */
    size_t nbuckets;
    pm_bucket wildcard;
} pm_method_table;

struct pm_capmap {
    pm_config *cfg; /* keeps every borrowed string alive */
    pm_route *routes;
    size_t nroutes;
    pm_method_table *methods;
    size_t nmethods;
    uint32_t max_groups;
};

/* True when route a must be tried before route b. */
bool pm_route_before(const pm_route *a, const pm_route *b);
/* The table for a method, or NULL. */
const pm_method_table *pm_capmap_method(const pm_capmap *map, const char *method);
/* The bucket for a first path segment within a table, or NULL. */
const pm_bucket *pm_method_bucket(const pm_method_table *t, const char *segment, size_t len);

#endif
