/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.c — gate.yaml: the thresholds a family (or a capability) must meet to be promoted,
 * and the limits of the trend. The file has `defaults`, per-family overrides under
 * `families.<FAMILY>`, per-capability overrides under `families.<FAMILY>.capabilities.<CAP>`
 * (a capability inherits its family's values), and `trend`. Every key is checked when the
 * file is loaded (unknown key, wrong type, out of range: file:line:column), so looking a
 * family up later cannot fail. A null value switches a check off. `snapshot_name` is what
 * the proposal calls the place its owners go (Quay's: "Quay's switch snapshot"; default
 * "the switch snapshot").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

struct rpt_gate {
    pm_config *cfg; /* NULL: built-in defaults */
    rpt_thresholds defaults;
    const json_t *families; /* borrowed from cfg; validated */
    rpt_trend_limits trend;
    const char *snapshot_name; /* borrowed from cfg, or the default */
};

#define RPT_DEFAULT_SNAPSHOT_NAME "the switch snapshot"

typedef enum { K_LABEL, K_COUNT, K_SHARE, K_FACTOR } key_kind;

typedef struct {
    const char *name;
    key_kind kind;
    bool family_only;
} gate_key;

static const gate_key keys[] = {
    {"budget", K_LABEL, false},
    {"min_samples", K_COUNT, false},
    {"min_parity_lower", K_SHARE, false},
    {"max_error_rate", K_SHARE, false},
    {"max_error_rate_increase", K_SHARE, false},
    {"max_p95_ratio", K_FACTOR, false},
    {"max_p99_ratio", K_FACTOR, false},
    {"max_mismatches", K_COUNT, false},
    {"min_capability_coverage", K_SHARE, true},
};

static void builtin_defaults(rpt_thresholds *t)
{
    *t = (rpt_thresholds){.budget = NULL,
                         .min_samples = 200,
                         .min_parity_lower = 0.99,
                         .max_error_rate = 0.01,
                         .max_error_rate_increase = NAN,
                         .max_p95_ratio = 1.10,
                         .max_p99_ratio = NAN,
                         .max_mismatches = -1,
                         .min_capability_coverage = 0.5};
}

static const gate_key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Sets one validated key on t. */
static void set_key(rpt_thresholds *t, const char *name, const json_t *v)
{
    bool null = json_is_null(v);
    double d = null ? NAN : json_number_value(v);
    long n = null ? -1 : (long)json_integer_value(v);
    if (strcmp(name, "budget") == 0)
        t->budget = json_string_value(v);
    else if (strcmp(name, "min_samples") == 0)
        t->min_samples = null ? 0 : n;
    else if (strcmp(name, "min_parity_lower") == 0)
        t->min_parity_lower = d;
    else if (strcmp(name, "max_error_rate") == 0)
        t->max_error_rate = d;
    else if (strcmp(name, "max_error_rate_increase") == 0)
        t->max_error_rate_increase = d;
    else if (strcmp(name, "max_p95_ratio") == 0)
        t->max_p95_ratio = d;
    else if (strcmp(name, "max_p99_ratio") == 0)
        t->max_p99_ratio = d;
    else if (strcmp(name, "max_mismatches") == 0)
        t->max_mismatches = n;
    else if (strcmp(name, "min_capability_coverage") == 0)
        t->min_capability_coverage = d;
}

static void apply(rpt_thresholds *t, const json_t *mapping)
{
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)mapping, name, v)
        if (find_key(name))
            set_key(t, name, v);
}

static int check_value(const pm_config *cfg, const json_t *m, const char *name, const json_t *v, const gate_key *k,
                       pm_err *err)
{
    if (json_is_null(v))
        return 0;
    switch (k->kind) {
    case K_LABEL:
        return json_is_string(v) ? 0 : pm_config_error_at(cfg, v, err, "%s: a name, e.g. PB-REG-PULL", name);
    case K_COUNT:
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return pm_config_key_error_at(cfg, m, name, err, "%s: a whole number >= 0", name);
        return 0;
    case K_SHARE:
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            return pm_config_key_error_at(cfg, m, name, err, "%s: a number from 0 to 1", name);
        return 0;
    case K_FACTOR:
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return pm_config_key_error_at(cfg, m, name, err, "%s: a number > 0 (1.10 = +10%%)", name);
        return 0;
    }
    return 0;
}

/* Checks a thresholds mapping; `extra` is the one nested key allowed besides them. */
static int check_thresholds(const pm_config *cfg, const json_t *m, const char *where, bool family, const char *extra,
                            pm_err *err)
{
    if (!json_is_object(m))
        return pm_config_error_at(cfg, m, err, "%s: a mapping of thresholds", where);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)m, name, v) {
        if (extra && strcmp(name, extra) == 0)
            continue;
        const gate_key *k = find_key(name);
        if (!k || (k->family_only && !family))
            return pm_config_key_error_at(cfg, m, name, err, "%s: unknown key '%s'%s", where, name,
                                          k ? " (families only)" : "");
        if (check_value(cfg, m, name, v, k, err) != 0)
            return -1;
    }
    return 0;
}

static int check_families(const pm_config *cfg, const json_t *families, const pm_names *names, pm_err *err)
{
    if (!json_is_object(families))
        return pm_config_error_at(cfg, families, err, "families: a mapping of FAMILY: {thresholds}");
    const char *fname, *cname;
    const json_t *fam, *cap;
    json_object_foreach((json_t *)families, fname, fam) {
        char where[256];
        snprintf(where, sizeof where, "families.%s", fname);
        if (pm_names_check_family(names, cfg, families, NULL, "families", fname, err) != 0 ||
            check_thresholds(cfg, fam, where, true, "capabilities", err) != 0)
            return -1;
        const json_t *caps = json_object_get(fam, "capabilities");
        if (!caps)
            continue;
        if (!json_is_object(caps))
            return pm_config_error_at(cfg, caps, err, "%s.capabilities: a mapping of CAPABILITY: {thresholds}", where);
        json_object_foreach((json_t *)caps, cname, cap) {
            char cwhere[512];
            snprintf(cwhere, sizeof cwhere, "%s.capabilities.%s", where, cname);
            if (pm_names_check_capability(names, cfg, caps, NULL, where, fname, cname, err) != 0 ||
                check_thresholds(cfg, cap, cwhere, false, NULL, err) != 0)
                return -1;
        }
    }
    return 0;
}

static int load_trend(const pm_config *cfg, const json_t *trend, rpt_trend_limits *out, pm_err *err)
{
    if (!json_is_object(trend))
        return pm_config_error_at(cfg, trend, err, "trend: a mapping (max_parity_drop, max_p95_increase)");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)trend, name, v) {
        double *dest = strcmp(name, "max_parity_drop") == 0    ? &out->max_parity_drop
                       : strcmp(name, "max_p95_increase") == 0 ? &out->max_p95_increase
                                                               : NULL;
        if (!dest)
            return pm_config_key_error_at(cfg, trend, name, err, "trend: unknown key '%s'", name);
        if (json_is_null(v)) {
            *dest = NAN;
            continue;
        }
        if (!json_is_number(v) || json_number_value(v) < 0)
            return pm_config_key_error_at(cfg, trend, name, err, "trend.%s: a number >= 0", name);
        *dest = json_number_value(v);
    }
    return 0;
}

rpt_gate *rpt_gate_load(const char *path, const pm_names *names, pm_err *err)
{
    rpt_gate *g = calloc(1, sizeof *g);
    if (!g) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    builtin_defaults(&g->defaults);
    g->trend = (rpt_trend_limits){.max_parity_drop = 0.005, .max_p95_increase = 0.10};
    g->snapshot_name = RPT_DEFAULT_SNAPSHOT_NAME;
    if (!path)
        return g;
    if (!(g->cfg = pm_config_load(path, err)))
        goto fail;
    const json_t *root = pm_config_root(g->cfg);
    if (!json_is_object(root)) {
        pm_config_error_at(g->cfg, root, err, "a gate file is a mapping (defaults, families, trend)");
        goto fail;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)root, name, v) {
        int rc;
        if (strcmp(name, "defaults") == 0) {
            rc = check_thresholds(g->cfg, v, "defaults", true, NULL, err);
            if (rc == 0)
                apply(&g->defaults, v);
        } else if (strcmp(name, "families") == 0) {
            rc = check_families(g->cfg, v, names, err);
            g->families = v;
        } else if (strcmp(name, "trend") == 0) {
            rc = load_trend(g->cfg, v, &g->trend, err);
        } else if (strcmp(name, "snapshot_name") == 0) {
            rc = json_is_string(v) && json_string_length(v) > 0 && !strpbrk(json_string_value(v), "\r\n")
                     ? 0
                     : pm_config_error_at(g->cfg, v, err, "snapshot_name: one line of text, e.g. \"Quay's switch snapshot\"");
            g->snapshot_name = json_string_value(v);
        } else {
            rc = pm_config_key_error_at(g->cfg, root, name, err,
                                        "unknown key '%s' (known: snapshot_name, defaults, families, trend)", name);
        }
        if (rc != 0)
            goto fail;
    }
    return g;
fail:
    rpt_gate_free(g);
    return NULL;
}

void rpt_gate_free(rpt_gate *g)
{
    if (!g)
        return;
    pm_config_free(g->cfg);
    free(g);
}

const char *rpt_gate_snapshot_name(const rpt_gate *g)
{
    return g->snapshot_name;
}

void rpt_gate_family(const rpt_gate *g, const char *family, rpt_thresholds *out)
{
    *out = g->defaults;
    const json_t *fam = g->families ? json_object_get(g->families, family) : NULL;
    if (fam)
        apply(out, fam);
}

void rpt_gate_capability(const rpt_gate *g, const char *family, const char *capability, rpt_thresholds *out)
{
    rpt_gate_family(g, family, out);
    const json_t *fam = g->families ? json_object_get(g->families, family) : NULL;
    const json_t *cap = json_object_get(json_object_get(fam, "capabilities"), capability);
    if (cap)
        apply(out, cap);
}

const rpt_trend_limits *rpt_gate_trend(const rpt_gate *g)
{
    return &g->trend;
}

static json_t *number_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

json_t *rpt_thresholds_json(const rpt_thresholds *t, bool family)
{
    json_t *o = json_object();
    json_object_set_new(o, "budget", t->budget ? json_string(t->budget) : json_null());
    json_object_set_new(o, "min_samples", json_integer(t->min_samples));
    json_object_set_new(o, "min_parity_lower", number_or_null(t->min_parity_lower));
    json_object_set_new(o, "max_error_rate", number_or_null(t->max_error_rate));
    json_object_set_new(o, "max_error_rate_increase", number_or_null(t->max_error_rate_increase));
    json_object_set_new(o, "max_p95_ratio", number_or_null(t->max_p95_ratio));
    json_object_set_new(o, "max_p99_ratio", number_or_null(t->max_p99_ratio));
    json_object_set_new(o, "max_mismatches", t->max_mismatches < 0 ? json_null() : json_integer(t->max_mismatches));
    if (family)
        json_object_set_new(o, "min_capability_coverage", number_or_null(t->min_capability_coverage));
    return o;
}
