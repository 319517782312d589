/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/capmap.h — the capability map and the classifier: a request's family, capability,
 * switches and cohort (capmap.c, classify.c, cohort.c). One part of core's public interface;
 * core/core.h includes every part.
 */
#ifndef PM_CORE_CAPMAP_H
#define PM_CORE_CAPMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"

typedef struct pm_capmap pm_capmap;

typedef struct pm_cohort {
    char *org;  /* namespace (organization or user namespace), NULL if none */
    char *repo; /* "namespace/name", NULL if none */
    char *user; /* caller: Basic user name or Bearer JWT sub, NULL if unknown */
} pm_cohort;

typedef struct pm_class {
    const char *family;        /* borrowed from the map; "UNKNOWN" when unmatched */
    const char *capability;    /* borrowed; "UNKNOWN" when unmatched */
    const char *switch_name;   /* family switch, e.g. ROUTE_OWNER_FAMILY_REGISTRY_V2 */
    const char *cap_switch;    /* capability switch or NULL */
    const char *route_id;      /* tracker id or NULL */
    const char *route_switch;  /* per-route switch id or NULL */
    bool mutating;
    bool streaming; /* the route's `streaming: true`: it answers an event stream */
    bool matched;
    pm_cohort cohort; /* owned: pm_class_clear frees it */
} pm_class;

/* Loads a capability map (e.g. config/quay/capabilities.yaml) and compiles every
 * pattern once. */
pm_capmap *pm_capmap_load(const char *path, pm_err *err);
/* Takes ownership of cfg when it succeeds; the caller keeps it on failure. */
pm_capmap *pm_capmap_from_config(pm_config *cfg, pm_err *err);
void pm_capmap_free(pm_capmap *map);
size_t pm_capmap_route_count(const pm_capmap *map);

/* One route of the map as written (strings borrowed from the map). */
typedef struct pm_route_info {
    const char *family, *capability, *switch_name, *cap_switch;
    const char *id;     /* NULL when the route has none */
    const char *method; /* "*": any method */
    const char *path;
    bool mutating;      /* for "*" without `mutating`: false here, as the request's method at classify */
    int line;           /* of the route in the file (1-based; 0 unknown) */
} pm_route_info;
/* Route i (0 <= i < pm_capmap_route_count) in the file's order. */
void pm_capmap_route(const pm_capmap *map, size_t i, pm_route_info *out);
/* Classifies one request. headers may be NULL ([[name, value], ...] otherwise). HEAD is
 * answered by a GET route when no HEAD route matches, as Flask does. Never fails: an
 * unmatched request is family UNKNOWN. */
void pm_classify(const pm_capmap *map, const char *method, const char *target,
                 const json_t *headers, pm_class *out);
/* The same with the caller's user (NULL: none) instead of the Authorization header's:
 * for callers that cache it per connection (decoding a JWT per request is costly). */
/* Marks out mutating when one of headers ([[name, value], ...]) is a method override to
 * a mutating method (pm_header_overrides_to_mutating); pm_classify does this itself. */
void pm_classify_overrides(pm_class *out, const json_t *headers);
void pm_classify_user(const pm_capmap *map, const char *method, const char *target, const char *user,
                      pm_class *out);
/* Remembered matches of paths (classify_cache.c): pm_classify_user's answer for a
 * method and path asked before without running the route patterns again. slots (rounded
 * up to a power of two) fixes its memory, about 256 bytes a slot. One thread's: it is
 * written on every call. NULL when memory ran out. */
typedef struct pm_classify_cache pm_classify_cache;
pm_classify_cache *pm_classify_cache_new(const pm_capmap *map, size_t slots);
void pm_classify_cache_free(pm_classify_cache *c);
/* pm_classify_user(map, ...) with c's map, the same answer. */
void pm_classify_cached(pm_classify_cache *c, const char *method, const char *target, const char *user,
                        pm_class *out);
void pm_class_clear(pm_class *c);
/* {family, capability, switch, cap_switch, route_id, route_switch, mutating, cohort} */
json_t *pm_class_to_json(const pm_class *c);

/* Cohort pieces, exposed for capture/tee and tests. Each returns a new string or NULL. */
char *pm_cohort_user_from_authorization(const char *authorization);
/* The first repository named by a /v2/auth scope in a query string. */
char *pm_cohort_repo_from_scope(const char *query);
/* True when a /v2/auth query asks for push, delete or * on any repository. */
bool pm_cohort_scope_pushes(const char *query);

#endif
