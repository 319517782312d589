/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classify.c — request → family, capability, switches, mutating, cohort.
 *
 * Only the path (before '?') is matched. Candidates are the routes of the request's
 * method whose first literal segment equals the path's first segment, merged in
 * specificity order with the routes that start with a variable; the first pattern that
 * matches wins. HEAD falls back to GET routes, as Flask answers HEAD on every GET.
 * Routes of method "*" (any method) compete with the request's own by specificity: the
 * more specific of the two best matches wins, the file's order breaking a tie.
 */
#include "capmap_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const pm_route *match_bucket_pair(const pm_capmap *map, const pm_bucket *literal,
                                         const pm_bucket *wildcard, const char *path,
                                         size_t len, pcre2_match_data *md)
{
    size_t i = 0, j = 0;
    size_t ni = literal ? literal->n : 0, nj = wildcard ? wildcard->n : 0;
    while (i < ni || j < nj) {
        const pm_route *a = i < ni ? &map->routes[literal->routes[i]] : NULL;
        const pm_route *b = j < nj ? &map->routes[wildcard->routes[j]] : NULL;
        const pm_route *rt;
        if (a && (!b || pm_route_before(a, b))) {
            rt = a;
            i++;
        } else {
            rt = b;
            j++;
        }
        if (len < rt->prefix_len + rt->suffix_len || memcmp(path, rt->prefix, rt->prefix_len) != 0 ||
            memcmp(path + len - rt->suffix_len, rt->suffix, rt->suffix_len) != 0)
            continue;
        if (pcre2_match(rt->re, (PCRE2_SPTR)path, len, 0, 0, md, NULL) >= 0)
            return rt;
    }
    return NULL;
}

static const pm_route *match_method(const pm_capmap *map, const char *method, const char *path,
                                    size_t len, pcre2_match_data *md)
{
    const pm_method_table *t = pm_capmap_method(map, method);
    if (!t)
        return NULL;
    const char *seg = path + 1;
    size_t n = strcspn(seg, "/");
    if (n > len - 1)
        n = len - 1;
    return match_bucket_pair(map, pm_method_bucket(t, seg, n), &t->wildcard, path, len, md);
}

static char *first_segment(const char *s)
{
    return s ? strndup(s, strcspn(s, "/")) : NULL;
}

bool pm_method_is_safe(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
}

/* Frameworks that honour one of these treat the request as the method it names (Rails,
 * Laravel, Symfony, Express's method-override): a GET carrying DELETE deletes. */
bool pm_header_overrides_to_mutating(const char *name, const char *value)
{
    static const char *const names[] = {"x-http-method-override", "x-http-method", "x-method-override"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcasecmp(name, names[i]) != 0)
            continue;
        while (*value == ' ' || *value == '\t')
            value++;
        size_t n = strcspn(value, " \t");
        char method[16];
        if (n == 0)
            return false;
        if (n >= sizeof method)
            return true; /* no safe method is that long */
        for (size_t k = 0; k < n; k++)
            method[k] = (char)toupper((unsigned char)value[k]);
        method[n] = '\0';
        return !pm_method_is_safe(method);
    }
    return false;
}

void pm_classify(const pm_capmap *map, const char *method, const char *target,
                 const json_t *headers, pm_class *out)
{
    char *user = pm_cohort_user_from_authorization(pm_headers_get(headers, "authorization"));
    pm_classify_user(map, method, target, user, out);
    free(user);
    pm_classify_overrides(out, headers);
}

void pm_classify_overrides(pm_class *out, const json_t *headers)
{
    size_t i;
    json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *value = json_string_value(json_array_get(pair, 1));
        if (name && value && pm_header_overrides_to_mutating(name, value))
            out->mutating = true;
    }
}

/* A group's span in the path the match data is of (at -1: unset or no such group). */
static pm_span group_span(pcre2_match_data *md, int group)
{
    PCRE2_SIZE len = 0;
    if (group <= 0 || pcre2_substring_length_bynumber(md, (uint32_t)group, &len) != 0)
        return (pm_span){-1, 0};
    return (pm_span){(ptrdiff_t)pcre2_get_ovector_pointer(md)[2 * group], (size_t)len};
}

void pm_classify_path(const pm_capmap *map, const char *method, const char *path, size_t len, pm_path_match *out)
{
    *out = (pm_path_match){.route = NULL, .ns = {-1, 0}, .repo = {-1, 0}};
    pcre2_match_data *md = pcre2_match_data_create(map->max_groups ? map->max_groups : 1, NULL);
    if (!md)
        return;
    const pm_route *rt = match_method(map, method, path, len, md);
    if (!rt && strcmp(method, "HEAD") == 0)
        rt = match_method(map, "GET", path, len, md);
    const pm_route *any = match_method(map, PM_ANY_METHOD, path, len, md);
    if (any && (!rt || pm_route_before(any, rt)))
        rt = any;
    if (rt && rt != any && any) /* the match data must be the winner's */
        match_method(map, rt->method, path, len, md);
    if (rt) {
        out->route = rt;
        out->ns = group_span(md, rt->namespace_group);
        out->repo = group_span(md, rt->repository_group);
    }
    pcre2_match_data_free(md);
}

static char *span_dup(const char *path, pm_span s)
{
    return s.at < 0 ? NULL : strndup(path + s.at, s.len);
}

void pm_classify_start(const char *method, const char *target, const char *user, pm_class *out,
                       const char **path, size_t *len)
{
    memset(out, 0, sizeof *out);
    out->family = "UNKNOWN";
    out->capability = "UNKNOWN";
    out->mutating = !pm_method_is_safe(method);

    /* An absolute-form target (proxies) classifies by its path. */
    *path = pm_target_origin_form(target);
    const char *query = strchr(*path, '?');
    *len = query ? (size_t)(query - *path) : strlen(*path);
    out->cohort.user = user ? strdup(user) : NULL;
}

void pm_classify_finish(const pm_path_match *match, const char *method, const char *path, size_t len,
                        pm_class *out)
{
    const pm_route *rt = match->route;
    if (!rt)
        return;
    const char *query = path[len] == '?' ? path + len + 1 : NULL;
    out->matched = true;
    out->family = rt->family;
    out->capability = rt->capability;
    out->switch_name = rt->switch_name;
    out->cap_switch = rt->cap_switch;
    out->route_id = rt->id;
    out->route_switch = rt->route_switch;
    out->mutating = rt->mutating || (rt->mutating_by_method && !pm_method_is_safe(method));
    out->streaming = rt->streaming;
    out->cohort.repo = span_dup(path, match->repo);
    out->cohort.org = span_dup(path, match->ns);
    if (rt->mutating_when == MUTATING_WHEN_PUSH_SCOPE && pm_cohort_scope_pushes(query))
        out->mutating = true;
    if (!out->cohort.repo && rt->mutating_when == MUTATING_WHEN_PUSH_SCOPE)
        out->cohort.repo = pm_cohort_repo_from_scope(query);
    if (!out->cohort.org)
        out->cohort.org = first_segment(out->cohort.repo);
}

void pm_classify_user(const pm_capmap *map, const char *method, const char *target, const char *user,
                      pm_class *out)
{
    const char *path;
    size_t len;
    pm_classify_start(method, target, user, out, &path, &len);
    if (len == 0 || path[0] != '/')
        return;
    pm_path_match match;
    pm_classify_path(map, method, path, len, &match);
    pm_classify_finish(&match, method, path, len, out);
}

void pm_class_clear(pm_class *c)
{
    free(c->cohort.org);
    free(c->cohort.repo);
    free(c->cohort.user);
    c->cohort = (pm_cohort){0};
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *pm_class_to_json(const pm_class *c)
{
    json_t *cohort = json_pack("{s:o, s:o, s:o}", "org", string_or_null(c->cohort.org), "repo",
                               string_or_null(c->cohort.repo), "user", string_or_null(c->cohort.user));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "family", c->family, "capability",
                     c->capability, "switch", string_or_null(c->switch_name), "cap_switch",
                     string_or_null(c->cap_switch), "route_id", string_or_null(c->route_id),
                     "route_switch", string_or_null(c->route_switch), "mutating", c->mutating,
                     "cohort", cohort);
}
