/* SPDX-License-Identifier: Apache-2.0 */
/*
 * catalog.c — what the report needs from the capability map (config/quay/capabilities.yaml):
 * each family's read capabilities, for coverage ("share of the family's read capabilities
 * seen"), and which capabilities share a capability switch (ROUTE_OWNER_CAP_V2_PULL spans
 * four), for that switch's proposal. core's pm_capmap compiles the map for classifying and
 * does not list it, so the same file is read here through pm_config, as a catalog.
 *
 * A capability is a read capability when none of its routes is mutating by default:
 * GET/HEAD/OPTIONS routes unless marked `mutating: true`, other methods only when marked
 * `mutating: false` (POST /api/v1/signin). `mutating_when: push_scope` (/v2/auth) is a read:
 * pulls are most of its traffic.
 */
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

typedef struct {
    bool read;
    char *cap_switch;
} cat_capability;

typedef struct {
    pm_table *capabilities;
    long reads;
} cat_family;

struct rpt_catalog {
    pm_table *families;
};

static void free_capability(void *p)
{
    cat_capability *c = p;
    if (c)
        free(c->cap_switch);
    free(c);
}

static void free_family(void *p)
{
    cat_family *f = p;
    if (f)
        pm_table_free(f->capabilities);
    free(f);
}

void rpt_catalog_free(rpt_catalog *c)
{
    if (!c)
        return;
    pm_table_free(c->families);
    free(c);
}

static bool route_mutating(const json_t *route)
{
    const json_t *m = json_object_get(route, "mutating");
    if (json_is_boolean(m))
        return json_is_true(m);
    const char *method = json_string_value(json_object_get(route, "method"));
    return !method || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0);
}

static int load_family(const pm_config *cfg, const json_t *fam, cat_family *f, pm_err *err)
{
    const json_t *caps = json_object_get(fam, "capabilities");
    if (!json_is_object(caps))
        return pm_config_error_at(cfg, fam, err, "family without a 'capabilities' mapping");
    const char *name;
    const json_t *cap;
    json_object_foreach((json_t *)caps, name, cap) {
        cat_capability *c = calloc(1, sizeof *c);
        if (!c || pm_table_put(f->capabilities, name, c) != 0) {
            free(c);
            return pm_err_set(err, "out of memory");
        }
        const char *sw = json_string_value(json_object_get(cap, "switch"));
        if (sw && !(c->cap_switch = strdup(sw)))
            return pm_err_set(err, "out of memory");
        const json_t *routes = json_object_get(cap, "routes");
        if (!json_is_array(routes))
            return pm_config_error_at(cfg, cap, err, "capability %s: missing 'routes' list", name);
        c->read = json_array_size(routes) > 0;
        size_t i;
        const json_t *route;
        json_array_foreach(routes, i, route)
            c->read = c->read && !route_mutating(route);
        f->reads += c->read;
    }
    return 0;
}

rpt_catalog *rpt_catalog_load(const char *path, pm_err *err)
{
    pm_config *cfg = pm_config_load(path, err);
    if (!cfg)
        return NULL;
    rpt_catalog *c = calloc(1, sizeof *c);
    if (!c || !(c->families = pm_table_new(free_family))) {
        pm_err_set(err, "out of memory");
        goto fail;
    }
    const json_t *families = json_object_get(pm_config_root(cfg), "families");
    if (!json_is_object(families)) {
        pm_config_error_at(cfg, pm_config_root(cfg), err, "missing 'families' mapping (is it a capability map?)");
        goto fail;
    }
    const char *name;
    const json_t *fam;
    json_object_foreach((json_t *)families, name, fam) {
        cat_family *f = calloc(1, sizeof *f);
        if (!f || !(f->capabilities = pm_table_new(free_capability)) || pm_table_put(c->families, name, f) != 0) {
            free_family(f);
            pm_err_set(err, "out of memory");
            goto fail;
        }
        if (load_family(cfg, fam, f, err) != 0)
            goto fail;
    }
    pm_config_free(cfg);
    return c;
fail:
    rpt_catalog_free(c);
    pm_config_free(cfg);
    return NULL;
}

long rpt_catalog_read_count(const rpt_catalog *c, const char *family)
{
    const cat_family *f = c ? pm_table_get(c->families, family) : NULL;
    return f ? f->reads : -1;
}

bool rpt_catalog_is_read(const rpt_catalog *c, const char *family, const char *capability)
{
    const cat_family *f = c ? pm_table_get(c->families, family) : NULL;
    const cat_capability *cap = f ? pm_table_get(f->capabilities, capability) : NULL;
    return cap && cap->read;
}

long rpt_catalog_switch_count(const rpt_catalog *c, const char *family, const char *cap_switch)
{
    const cat_family *f = c ? pm_table_get(c->families, family) : NULL;
    if (!f)
        return -1;
    long n = 0;
    for (size_t i = 0; i < pm_table_size(f->capabilities); i++) {
        const cat_capability *cap = pm_table_value(f->capabilities, i);
        n += cap->cap_switch && strcmp(cap->cap_switch, cap_switch) == 0;
    }
    return n;
}

int rpt_family_order(const char *family)
{
    /* quay-facts.md: v2, v1, oauth2, oauth1, api-v1, webhooks, keys, secscan, realtime,
     * well-known, web, other. */
    static const char *const order[] = {"REGISTRY_V2", "REGISTRY_V1", "OAUTH", "API_V1", "WEBHOOKS", "KEYS",
                                        "SECSCAN", "REALTIME", "WELLKNOWN", "WEB", "OTHER", "UNKNOWN"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (strcmp(order[i], family) == 0)
            return (int)i;
    return 1000;
}
