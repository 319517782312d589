/* SPDX-License-Identifier: Apache-2.0 */
/*
 * headers.c — response headers compared: names case-insensitively, values per name in
 * order (several values of one name are a list), under the profile's header rules:
 * ignored headers (Date, Server, ...), shapes (a random UUID), values normalized for
 * each target's own host and for random UUIDs (upload Locations).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diff_internal.h"

/* Lower-case copy. */
static char *lower(const char *s)
{
    char *out = strdup(s ? s : "");
    for (char *c = out; out && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

/* Values of one header name, joined with "\n" (NULL when absent). */
static char *values_of(const json_t *headers, const char *name)
{
    char *out = NULL;
    size_t len = 0, i;
    const json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0));
        const char *v = json_string_value(json_array_get(pair, 1));
        if (!n || !v || strcasecmp(n, name) != 0)
            continue;
        size_t vl = strlen(v);
        char *p = realloc(out, len + vl + 2);
        if (!p)
            break;
        out = p;
        if (len)
            out[len++] = '\n';
        memcpy(out + len, v, vl + 1);
        len += vl;
    }
    return out;
}

static int compare_lines(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Several values of one header ("a\nb\nc") in sorted order: for headers whose values
 * form a set (an array_set rule on a header). */
static char *sorted_values(const char *joined)
{
    char *copy = strdup(joined);
    size_t n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == '\n';
    char **lines = calloc(n, sizeof *lines);
    if (!copy || !lines) {
        free(copy);
        free(lines);
        return NULL;
    }
    size_t k = 0;
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l && k < n; l = strtok_r(NULL, "\n", &save))
        lines[k++] = l;
    qsort(lines, k, sizeof *lines, compare_lines);
    char *out = malloc(strlen(joined) + 2);
    size_t len = 0;
    for (size_t i = 0; out && i < k; i++) {
        size_t m = strlen(lines[i]);
        memcpy(out + len, lines[i], m);
        len += m;
        out[len++] = '\n';
    }
    if (out)
        out[len] = '\0';
    free(lines);
    free(copy);
    return out;
}

static void compare_one(diff_ctx *c, const char *name, const char *va, const char *vb)
{
    const unsigned kinds = 1u << RULE_IGNORE_HEADER | 1u << RULE_SHAPE | 1u << RULE_NORMALIZE |
                           1u << RULE_URL_HOST | 1u << RULE_JWT | 1u << RULE_ARRAY_SET;
    const diff_rule *r = diff_rule_for_header(c->rules, c->nrules, kinds, name);
    bool expired = r && r->expired;
    const diff_rule *expired_rule = r;
    if (expired)
        r = NULL; /* not applied; counted below when it would have hidden a difference */
    if (r && r->kind == RULE_IGNORE_HEADER)
        return;
    uint64_t before = c->count;
    const char *kind = NULL; /* the difference, if any */
    if (!va || !vb) {
        kind = va ? "missing" : "extra";
    } else if (r && r->kind == RULE_SHAPE) {
        if (!diff_shape_matches(r->shape, va) || !diff_shape_matches(r->shape, vb))
            kind = "value";
    } else if (r && (r->kind == RULE_NORMALIZE || r->kind == RULE_URL_HOST)) {
        char *na = strdup(va), *nb = strdup(vb);
        if (r->kind == RULE_URL_HOST || r->hosts) {
            na = diff_normalize_hosts(c, na);
            nb = diff_normalize_hosts(c, nb);
        }
        if (r->uuids) {
            na = diff_normalize_uuids(na);
            nb = diff_normalize_uuids(nb);
        }
        if (r->params) {
            na = diff_normalize_params(na, r->params);
            nb = diff_normalize_params(nb, r->params);
        }
        if (r->drop_params) {
            na = diff_drop_params(na, r->drop_params);
            nb = diff_drop_params(nb, r->drop_params);
        }
        if (!na || !nb || strcmp(na, nb) != 0)
            kind = "value";
        free(na);
        free(nb);
    } else if (r && r->kind == RULE_ARRAY_SET) {
        char *sa = sorted_values(va), *sb = sorted_values(vb);
        if (!sa || !sb || strcmp(sa, sb) != 0)
            kind = "value";
        free(sa);
        free(sb);
    } else if (strcmp(va, vb) != 0) {
        kind = "value";
    }
    if (kind) { /* the values as JSON only for a difference: most headers have none */
        json_t *ja = va ? json_string(va) : NULL, *jb = vb ? json_string(vb) : NULL;
        diff_add(c, "header", name, kind, ja, jb);
        json_decref(ja);
        json_decref(jb);
    }
    if (expired)
        diff_expired_hit(c, expired_rule, c->count - before);
}



void diff_headers(diff_ctx *c, const json_t *baseline, const json_t *candidate)
{
    const json_t *lists[2] = {baseline, candidate};
    size_t cap = json_array_size(baseline) + json_array_size(candidate);
    char **seen = calloc(cap ? cap : 1, sizeof *seen); /* names compared so far, lower case */
    size_t nseen = 0;
    for (int side = 0; seen && side < 2; side++) {
        size_t i;
        const json_t *pair;
        json_array_foreach(lists[side], i, pair) {
            char *name = lower(json_string_value(json_array_get(pair, 0)));
            bool again = false;
            for (size_t k = 0; name && !again && k < nseen; k++)
                again = strcmp(seen[k], name) == 0;
            if (!name || again) {
                free(name);
                continue;
            }
            seen[nseen++] = name;
            char *va = values_of(baseline, name), *vb = values_of(candidate, name);
            compare_one(c, name, va, vb);
            free(va);
            free(vb);
        }
    }
    for (size_t k = 0; k < nseen; k++)
        free(seen[k]);
    free(seen);
}
