/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capmap.c — loads the capability map (config/quay/capabilities.yaml) and compiles it.
 *
 * Each route's `{name:type}` path becomes one anchored PCRE2 pattern, JIT-compiled once.
 * Routes are bucketed by method and by their first literal path segment, and each bucket
 * is sorted by specificity (literal characters first, as Werkzeug orders Flask's rules),
 * so classifying a request tries only the few patterns that can match, best first.
 * Every problem in the file is reported with its file:line:column.
 *
 * Only `families`, their `capabilities` and each route's `method` and `path` are required,
 * so a profile for any service is a short file. What Quay's map adds has a default: `types`
 * adds to (or overrides) the built-in `segment` and `path` types, a route without `id` is
 * named by its path (route_id null), a family without `switch` is its own switch (the
 * family's name), and `method: "*"` is any method.
 */
#include "capmap_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *get_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool in_string_list(const json_t *list, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

static bool is_write_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/* The types every map has; the map's `types` may add names or replace these. */
static const struct {
    const char *name, *regex;
} builtin_types[] = {
    {"segment", "[^/]+"}, /* one path segment: {name} */
    {"path", "[^/].*"},   /* the rest of the path, slashes included */
};

static const char *type_regex(const json_t *types, const char *type)
{
    const char *re = json_string_value(json_object_get(types, type));
    for (size_t i = 0; !re && i < sizeof builtin_types / sizeof *builtin_types; i++)
        if (strcmp(builtin_types[i].name, type) == 0)
            re = builtin_types[i].regex;
    return re;
}

/* Appends s to a growing buffer. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *p = realloc(*buf, c);
        if (!p)
            return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Path pattern → regex; fills the specificity counters and the cohort group names. */
static int compile_route(const pm_config *cfg, const json_t *types, const json_t *ns_vars,
                         const json_t *repo_vars, const json_t *path_node, pm_route *rt,
                         pm_err *err)
{
    const char *p = rt->path;
    char *re = NULL;
    size_t len = 0, cap = 0;
    char ns_name[128] = "", repo_name[128] = "";
    int rc = 0;
    if (p[0] != '/') {
        rc = pm_config_error_at(cfg, path_node, err, "route %s: path must start with '/'", rt->label);
        goto out;
    }
    while (*p && rc == 0) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) {
                rc = pm_config_error_at(cfg, path_node, err, "route %s: '{' without '}'", rt->label);
                break;
            }
            char var[128];
            size_t n = (size_t)(close - p - 1);
            if (n == 0 || n >= sizeof var) {
                rc = pm_config_error_at(cfg, path_node, err, "route %s: bad variable", rt->label);
                break;
            }
            memcpy(var, p + 1, n);
            var[n] = '\0';
            char *colon = strchr(var, ':');
            const char *type = "segment";
            if (colon) {
                *colon = '\0';
                type = colon + 1;
            }
            const char *type_re = type_regex(types, type);
            if (!type_re) {
                rc = pm_config_error_at(cfg, path_node, err, "route %s: unknown type '%s'", rt->label, type);
                break;
            }
            for (const char *c = var; *c; c++)
                if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9'))) {
                    rc = pm_config_error_at(cfg, path_node, err,
                                            "route %s: variable name '%s' must be letters, digits, _",
                                            rt->label, var);
                    break;
                }
            if (rc)
                break;
            if (!ns_name[0] && in_string_list(ns_vars, var))
                snprintf(ns_name, sizeof ns_name, "%s", var);
            if (!repo_name[0] && in_string_list(repo_vars, var))
                snprintf(repo_name, sizeof repo_name, "%s", var);
            if (strcmp(type, "segment") != 0 && strstr(type_re, "/"))
                rt->greedy_vars++;
            rt->nvars++;
            if (append(&re, &len, &cap, "(?<", 3) || append(&re, &len, &cap, var, strlen(var)) ||
                append(&re, &len, &cap, ">", 1) ||
                append(&re, &len, &cap, type_re, strlen(type_re)) || append(&re, &len, &cap, ")", 1))
                rc = pm_err_set(err, "out of memory");
            p = close + 1;
            continue;
        }
        if (strchr(".^$|()[]*+?\\}", *p) && append(&re, &len, &cap, "\\", 1))
            rc = pm_err_set(err, "out of memory");
        if (append(&re, &len, &cap, p, 1))
            rc = pm_err_set(err, "out of memory");
        rt->literal_chars++;
        p++;
    }
    if (rc == 0) {
        const char *first_var = strchr(rt->path, '{'), *last_close = strrchr(rt->path, '}');
        rt->prefix = rt->path;
        rt->prefix_len = first_var ? (size_t)(first_var - rt->path) : strlen(rt->path);
        rt->suffix = last_close ? last_close + 1 : rt->path + strlen(rt->path);
        rt->suffix_len = strlen(rt->suffix);
        if (!first_var) /* all literal: the prefix says it all */
            rt->suffix_len = 0;
        int code;
        PCRE2_SIZE offset;
        rt->re = pcre2_compile((PCRE2_SPTR)re, len, PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF,
                               &code, &offset, NULL);
        if (!rt->re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            rc = pm_config_error_at(cfg, path_node, err, "route %s: pattern does not compile: %s",
                                    rt->label, (char *)msg);
        } else {
            pcre2_jit_compile(rt->re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
            if (ns_name[0])
                rt->namespace_group = pcre2_substring_number_from_name(rt->re, (PCRE2_SPTR)ns_name);
            if (repo_name[0])
                rt->repository_group = pcre2_substring_number_from_name(rt->re, (PCRE2_SPTR)repo_name);
        }
    }
out:
    free(re);
    return rc;
}

bool pm_route_before(const pm_route *a, const pm_route *b)
{
    if (a->literal_chars != b->literal_chars)
        return a->literal_chars > b->literal_chars;
    if (a->greedy_vars != b->greedy_vars)
        return a->greedy_vars < b->greedy_vars;
    if (a->nvars != b->nvars)
        return a->nvars < b->nvars;
    return a->order < b->order;
}

static int bucket_add(pm_bucket *b, int route)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        int *p = realloc(b->routes, cap * sizeof *p);
        if (!p)
            return -1;
        b->routes = p;
        b->cap = cap;
    }
    b->routes[b->n++] = route;
    return 0;
}

static int compare_route_index(const void *x, const void *y, void *routes)
{
    const pm_route *all = routes;
    const pm_route *a = &all[*(const int *)x], *b = &all[*(const int *)y];
    return pm_route_before(a, b) ? -1 : pm_route_before(b, a) ? 1 : 0;
}

static int compare_bucket(const void *x, const void *y)
{
    return strcmp(((const pm_bucket *)x)->segment, ((const pm_bucket *)y)->segment);
}

static pm_method_table *method_table(pm_capmap *map, const char *method)
{
    for (size_t i = 0; i < map->nmethods; i++)
        if (strcmp(map->methods[i].method, method) == 0)
            return &map->methods[i];
    pm_method_table *t = realloc(map->methods, (map->nmethods + 1) * sizeof *t);
    if (!t)
        return NULL;
    map->methods = t;
    t = &map->methods[map->nmethods++];
    memset(t, 0, sizeof *t);
    t->method = strdup(method);
    return t;
}

static int index_route(pm_capmap *map, int idx)
{
    const pm_route *rt = &map->routes[idx];
    pm_method_table *t = method_table(map, rt->method);
    if (!t)
        return -1;
    const char *seg = rt->path + 1;
    size_t n = strcspn(seg, "/");
    if (memchr(seg, '{', n))
        return bucket_add(&t->wildcard, idx);
    for (size_t i = 0; i < t->nbuckets; i++)
        if (strlen(t->buckets[i].segment) == n && strncmp(t->buckets[i].segment, seg, n) == 0)
            return bucket_add(&t->buckets[i], idx);
    pm_bucket *b = realloc(t->buckets, (t->nbuckets + 1) * sizeof *b);
    if (!b)
        return -1;
    t->buckets = b;
    b = &t->buckets[t->nbuckets++];
    memset(b, 0, sizeof *b);
    b->segment = strndup(seg, n);
    return bucket_add(b, idx);
}

static void sort_tables(pm_capmap *map)
{
    for (size_t m = 0; m < map->nmethods; m++) {
        pm_method_table *t = &map->methods[m];
        if (t->nbuckets > 0) /* buckets is NULL when a method has only wildcard routes */
            qsort(t->buckets, t->nbuckets, sizeof *t->buckets, compare_bucket);
        for (size_t i = 0; i < t->nbuckets; i++)
            qsort_r(t->buckets[i].routes, t->buckets[i].n, sizeof(int), compare_route_index,
                    map->routes);
        if (t->wildcard.n > 0) /* routes is NULL when empty, and qsort_r wants a pointer */
            qsort_r(t->wildcard.routes, t->wildcard.n, sizeof(int), compare_route_index, map->routes);
    }
}

static int load_route(pm_capmap *map, const json_t *types, const json_t *ns_vars,
                      const json_t *repo_vars, const json_t *node, pm_route *rt, pm_err *err)
{
    const pm_config *cfg = map->cfg;
    rt->id = get_string(node, "id");
    rt->method = get_string(node, "method");
    rt->path = get_string(node, "path");
    rt->route_switch = get_string(node, "switch");
    if (!json_is_object(node) || !rt->method || !rt->path)
        return pm_config_error_at(cfg, node, err, "a route needs string keys method and path");
    if (json_object_get(node, "id") && !rt->id)
        return pm_config_error_at(cfg, json_object_get(node, "id"), err, "route id must be a string");
    rt->label = rt->id ? rt->id : rt->path;
    if (!rt->method[0] || strcspn(rt->method, " \t/") != strlen(rt->method))
        return pm_config_error_at(cfg, json_object_get(node, "method"), err,
                                  "route %s: method must be one word (GET, POST, ...) or \"*\" for any", rt->label);
    const json_t *mut = json_object_get(node, "mutating");
    if (mut && !json_is_boolean(mut))
        return pm_config_error_at(cfg, mut, err, "route %s: mutating must be true or false", rt->label);
    bool any = strcmp(rt->method, PM_ANY_METHOD) == 0;
    rt->mutating = mut ? json_is_true(mut) : !any && is_write_method(rt->method);
    rt->mutating_by_method = !mut && any;
    const json_t *streaming = json_object_get(node, "streaming");
    if (streaming && !json_is_boolean(streaming))
        return pm_config_error_at(cfg, streaming, err, "route %s: streaming must be true or false", rt->label);
    rt->streaming = json_is_true(streaming);
    const char *when = get_string(node, "mutating_when");
    if (when && strcmp(when, "push_scope") == 0)
        rt->mutating_when = MUTATING_WHEN_PUSH_SCOPE;
    else if (when)
        return pm_config_error_at(cfg, json_object_get(node, "mutating_when"), err,
                                  "route %s: unknown mutating_when '%s' (known: push_scope)", rt->label, when);
    return compile_route(cfg, types, ns_vars, repo_vars, json_object_get(node, "path"), rt, err);
}

static int load_families(pm_capmap *map, pm_err *err)
{
    const pm_config *cfg = map->cfg;
    const json_t *root = pm_config_root(cfg);
    if (!json_is_object(root))
        return pm_config_error_at(cfg, root, err, "a capability map must be a mapping");
    const json_t *types = json_object_get(root, "types");
    const json_t *families = json_object_get(root, "families");
    const json_t *ns_vars = json_object_get(root, "namespace_vars");
    const json_t *repo_vars = json_object_get(root, "repository_vars");
    if (types && !json_is_object(types))
        return pm_config_error_at(cfg, types, err, "'types' must be a mapping of NAME: regex");
    if (!json_is_object(families))
        return pm_config_error_at(cfg, root, err, "missing 'families' mapping");
    size_t total = 0;
    const char *fname, *cname;
    const json_t *fam, *cap;
    json_object_foreach((json_t *)families, fname, fam) {
        json_t *caps = json_object_get(fam, "capabilities");
        if (!json_is_object(caps))
            return pm_config_error_at(cfg, fam, err, "family %s: missing 'capabilities' mapping", fname);
        json_object_foreach(caps, cname, cap) {
            json_t *routes = json_object_get(cap, "routes");
            if (!json_is_array(routes))
                return pm_config_error_at(cfg, cap, err, "capability %s: missing 'routes' list", cname);
            total += json_array_size(routes);
        }
    }
    map->routes = calloc(total ? total : 1, sizeof *map->routes);
    if (!map->routes)
        return pm_err_set(err, "out of memory");
    json_object_foreach((json_t *)families, fname, fam) {
        const json_t *sw = json_object_get(fam, "switch");
        if (sw && !json_is_string(sw))
            return pm_config_error_at(cfg, sw, err, "family %s: 'switch' must be a string", fname);
        const char *family_switch = sw ? json_string_value(sw) : fname; /* its own switch */
        json_t *caps = json_object_get(fam, "capabilities");
        json_object_foreach(caps, cname, cap) {
            size_t i;
            const json_t *node;
            json_array_foreach(json_object_get(cap, "routes"), i, node) {
                pm_route *rt = &map->routes[map->nroutes];
                rt->family = fname;
                rt->capability = cname;
                rt->switch_name = family_switch;
                rt->cap_switch = get_string(cap, "switch");
                rt->order = (int)map->nroutes;
                rt->node = node;
                map->nroutes++;
                if (load_route(map, types, ns_vars, repo_vars, node, rt, err) != 0)
                    return -1;
                uint32_t groups = 0;
                pcre2_pattern_info(rt->re, PCRE2_INFO_CAPTURECOUNT, &groups);
                if (groups + 1 > map->max_groups)
                    map->max_groups = groups + 1;
                if (index_route(map, (int)(rt - map->routes)) != 0)
                    return pm_err_set(err, "out of memory");
            }
        }
    }
    sort_tables(map);
    return 0;
}

pm_capmap *pm_capmap_from_config(pm_config *cfg, pm_err *err)
{
    pm_capmap *map = calloc(1, sizeof *map);
    if (!map) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    map->cfg = cfg;
    if (load_families(map, err) != 0) {
        map->cfg = NULL; /* the caller still owns cfg on failure */
        pm_capmap_free(map);
        return NULL;
    }
    return map;
}

pm_capmap *pm_capmap_load(const char *path, pm_err *err)
{
    pm_config *cfg = pm_config_load(path, err);
    if (!cfg)
        return NULL;
    pm_capmap *map = pm_capmap_from_config(cfg, err);
    if (!map)
        pm_config_free(cfg);
    return map;
}

size_t pm_capmap_route_count(const pm_capmap *map)
{
    return map->nroutes;
}

void pm_capmap_route(const pm_capmap *map, size_t i, pm_route_info *out)
{
    const pm_route *rt = &map->routes[i];
    *out = (pm_route_info){.family = rt->family, .capability = rt->capability, .switch_name = rt->switch_name,
                           .cap_switch = rt->cap_switch, .id = rt->id, .method = rt->method, .path = rt->path,
                           .mutating = rt->mutating, .line = pm_config_line(map->cfg, rt->node)};
}

static void bucket_free(pm_bucket *b)
{
    free(b->segment);
    free(b->routes);
}

void pm_capmap_free(pm_capmap *map)
{
    if (!map)
        return;
    for (size_t i = 0; i < map->nroutes; i++)
        pcre2_code_free(map->routes[i].re);
    for (size_t m = 0; m < map->nmethods; m++) {
        pm_method_table *t = &map->methods[m];
        for (size_t i = 0; i < t->nbuckets; i++)
            bucket_free(&t->buckets[i]);
        free(t->buckets);
        bucket_free(&t->wildcard);
        free(t->method);
    }
    free(map->methods);
    free(map->routes);
    pm_config_free(map->cfg);
    free(map);
}

const pm_method_table *pm_capmap_method(const pm_capmap *map, const char *method)
{
    for (size_t i = 0; i < map->nmethods; i++)
        if (strcmp(map->methods[i].method, method) == 0)
            return &map->methods[i];
    return NULL;
}

const pm_bucket *pm_method_bucket(const pm_method_table *t, const char *segment, size_t len)
{
    size_t lo = 0, hi = t->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *s = t->buckets[mid].segment;
        int c = strncmp(s, segment, len);
        if (c == 0)
            c = s[len] == '\0' ? 0 : 1;
        if (c == 0)
            return &t->buckets[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
