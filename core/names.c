/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names.c — the family and capability names a profile defines, so that a rule, a gate or a
 * selection naming one the profile does not have is an error at its file:line instead of
 * a rule that silently never applies (or a capability split in the map that its old name
 * still gates). Built from the capability map (families and their capabilities) and the
 * worker map (families only: a job's capability may come from its body).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bool open;          /* a worker family: any capability */
    pm_table *caps;     /* capability -> (void *)1 */
} family_names;

struct pm_names {
    pm_table *families; /* family -> family_names */
    pm_table *caps;     /* any family's capability -> (void *)1 */
};

static void family_free(void *p)
{
    family_names *f = p;
    if (f)
        pm_table_free(f->caps);
    free(f);
}

static family_names *family_add(pm_names *n, const char *family)
{
    family_names *f = pm_table_get(n->families, family);
    if (f)
        return f;
    if (!(f = calloc(1, sizeof *f)) || !(f->caps = pm_table_new(NULL)) || pm_table_put(n->families, family, f) != 0) {
        family_free(f);
        return NULL;
    }
    return f;
}

static int mark(pm_table *t, const char *name)
{
    return pm_table_get(t, name) ? 0 : pm_table_put(t, name, (void *)1);
}

pm_names *pm_names_new(const pm_capmap *map, const pm_workers *workers, pm_err *err)
{
    pm_names *n = calloc(1, sizeof *n);
    if (!n || !(n->families = pm_table_new(family_free)) || !(n->caps = pm_table_new(NULL)))
        goto oom;
    family_names *unknown = family_add(n, "UNKNOWN");
    if (!unknown || mark(unknown->caps, "UNKNOWN") != 0 || mark(n->caps, "UNKNOWN") != 0)
        goto oom;
    for (size_t i = 0; map && i < pm_capmap_route_count(map); i++) {
        pm_route_info r;
        pm_capmap_route(map, i, &r);
        family_names *f = family_add(n, r.family);
        if (!f || mark(f->caps, r.capability) != 0 || mark(n->caps, r.capability) != 0)
            goto oom;
    }
    size_t nqueues = pm_workers_count(workers), nprograms = pm_workers_program_count(workers);
    for (size_t i = 0; i < nqueues + nprograms; i++) {
        const pm_worker_queue *q = i < nqueues ? pm_workers_at(workers, i) : pm_workers_program_at(workers, i - nqueues);
        family_names *f = family_add(n, q->family);
        if (!f)
            goto oom;
        f->open = true;
    }
    return n;
oom:
    pm_names_free(n);
    pm_err_set(err, "out of memory");
    return NULL;
}

int pm_names_load(const pm_profile *p, pm_names **out, pm_err *err)
{
    *out = NULL;
    if (!p->capabilities.path && !p->workers.path)
        return 0;
    pm_capmap *map = p->capabilities.path ? pm_capmap_load(p->capabilities.path, err) : NULL;
    if (p->capabilities.path && !map)
        return -1;
    pm_workers *workers = p->workers.path ? pm_workers_load(p->workers.path, err) : NULL;
    if (p->workers.path && !workers) {
        pm_capmap_free(map);
        return -1;
    }
    *out = pm_names_new(map, workers, err);
    pm_capmap_free(map);
    pm_workers_free(workers);
    return *out ? 0 : -1;
}

void pm_names_free(pm_names *n)
{
    if (!n)
        return;
    pm_table_free(n->families);
    pm_table_free(n->caps);
    free(n);
}

bool pm_names_has_family(const pm_names *n, const char *family)
{
    return pm_table_get(n->families, family) != NULL;
}

bool pm_names_has_capability(const pm_names *n, const char *family, const char *capability)
{
    if (!family) {
        if (pm_table_get(n->caps, capability))
            return true;
        for (size_t i = 0; i < pm_table_size(n->families); i++)
            if (((const family_names *)pm_table_value(n->families, i))->open)
                return true; /* a worker family may have it */
        return false;
    }
    const family_names *f = pm_table_get(n->families, family);
    return f && (f->open || pm_table_get(f->caps, capability));
}

/* "A, B, C, ..." of a table's keys (at most 8), for the error's hint. */
static void some_keys(const pm_table *t, char *buf, size_t size)
{
    size_t len = 0, n = pm_table_size(t);
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 8 && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", pm_table_key(t, i));
    if (n > 8 && len < size)
        snprintf(buf + len, size - len, ", ... (%zu in all)", n);
}

/* The error at object's key `name`, else at node. */
static int error_at(const pm_config *cfg, const json_t *object, const json_t *node, const char *name, pm_err *err,
                    const char *what, const char *kind, const char *extra, const char *known)
{
    if (object)
        return pm_config_key_error_at(cfg, object, name, err, "%s: unknown %s '%s'%s (known: %s)", what, kind, name,
                                      extra, known);
    return pm_config_error_at(cfg, node, err, "%s: unknown %s '%s'%s (known: %s)", what, kind, name, extra, known);
}

int pm_names_check_family(const pm_names *n, const pm_config *cfg, const json_t *object, const json_t *node,
                          const char *what, const char *family, pm_err *err)
{
    if (!n || pm_names_has_family(n, family))
        return 0;
    char known[400];
    some_keys(n->families, known, sizeof known);
    return error_at(cfg, object, node, family, err, what, "family", "", known);
}

int pm_names_check_capability(const pm_names *n, const pm_config *cfg, const json_t *object, const json_t *node,
                              const char *what, const char *family, const char *capability, pm_err *err)
{
    if (!n || pm_names_has_capability(n, family, capability))
        return 0;
    char known[400], extra[300] = "";
    const family_names *f = family ? pm_table_get(n->families, family) : NULL;
    some_keys(f ? f->caps : n->caps, known, sizeof known);
    if (family)
        snprintf(extra, sizeof extra, " of family %s", family);
    return error_at(cfg, object, node, capability, err, what, "capability", extra, known);
}

int pm_names_check_list(const pm_names *n, const pm_config *cfg, const json_t *list, const char *what,
                        bool capabilities, pm_err *err)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        const char *name = json_string_value(v);
        if (!name)
            continue;
        int rc = capabilities ? pm_names_check_capability(n, cfg, NULL, v, what, NULL, name, err)
                              : pm_names_check_family(n, cfg, NULL, v, what, name, err);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int pm_names_check_given(const pm_names *n, const char *const *families, size_t count, const char *what,
                         pm_err *err)
{
    for (size_t i = 0; n && i < count; i++)
        if (!pm_names_has_family(n, families[i])) {
            char known[400];
            some_keys(n->families, known, sizeof known);
            return pm_err_set(err, "%s %s: unknown family (known: %s)", what, families[i], known);
        }
    return 0;
}
