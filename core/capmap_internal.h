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

#include <stddef.h>

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

/* A capture group's bytes in the path matched: at -1 when the group is unset or absent. */
typedef struct {
    ptrdiff_t at;
    size_t len;
} pm_span;

/* What classifying a path found: its route (NULL: none) and the spans of the route's
 * namespace and repository groups. A function of the map, the method and the path only,
 * which is what lets classify_cache.c keep it. */
typedef struct {
    const pm_route *route;
    pm_span ns, repo;
} pm_path_match;

/* pm_classify_user in three steps, for classify_cache.c: start fills the defaults (the
 * user copied) and finds the path (before '?', absolute form taken down to it); path runs
 * PCRE2 (only for a path starting with '/', len > 0); finish applies a match (route NULL:
 * out stays as start left it) and reads the query after path[len] for push scopes. */
void pm_classify_start(const char *method, const char *target, const char *user, pm_class *out,
                       const char **path, size_t *len);
void pm_classify_path(const pm_capmap *map, const char *method, const char *path, size_t len, pm_path_match *out);
void pm_classify_finish(const pm_path_match *match, const char *method, const char *path, size_t len,
                        pm_class *out);

/* True when route a must be tried before route b. */
bool pm_route_before(const pm_route *a, const pm_route *b);
/* The table for a method, or NULL. */
const pm_method_table *pm_capmap_method(const pm_capmap *map, const char *method);
/* The bucket for a first path segment within a table, or NULL. */
const pm_bucket *pm_method_bucket(const pm_method_table *t, const char *segment, size_t len);

#endif
