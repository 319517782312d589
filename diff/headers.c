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

static bool is_uuid_at(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (!s[i] || (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])))
            return false;
    }
    return true;
}

/* s with its bytes [at, at + len) replaced by "{host}" (a new string; s is freed). A
 * host may be shorter than "{host}": never in place. */
static char *splice_host(char *s, size_t at, size_t len)
{
    size_t rest = strlen(s + at + len);
    char *next = malloc(at + 6 + rest + 1);
    if (!next)
        return s;
    memcpy(next, s, at);
    memcpy(next + at, "{host}", 6);
    memcpy(next + at + 6, s + at + len, rest + 1);
    free(s);
    return next;
}

static char *replace_hosts(const diff_ctx *c, char *s)
{
    for (int t = 0; t < 2; t++) {
        const char *h = c->hosts[t];
        size_t hl = h ? strlen(h) : 0, from = 0;
        char *hit;
        while (hl && (hit = strstr(s + from, h))) { /* search on after each {host}: h may be "host" */
            from = (size_t)(hit - s);
            char *next = splice_host(s, from, hl);
            if (next == s)
                break; /* out of memory */
            s = next;
            from += 6;
        }
    }
    for (size_t from = 0;;) {
        char *scheme = strstr(s + from, "://");
        if (!scheme)
            break;
        size_t auth = (size_t)(scheme - s) + 3, len = strcspn(s + auth, "/\"' ,");
        if (len > 0 && strncmp(s + auth, "{host}", 6) != 0)
            s = splice_host(s, auth, len);
        from = auth;
    }
    /* service="host:port" in WWW-Authenticate */
    char *svc = strstr(s, "service=\"");
    if (svc) {
        size_t v = (size_t)(svc - s) + 9;
        char *end = strchr(s + v, '"'), *colon = strchr(s + v, ':');
        if (end && colon && colon < end)
            s = splice_host(s, v, (size_t)(end - (s + v)));
    }
    return s;
}

static char *replace_uuids(char *s)
{
    for (char *p = s; *p; p++)
        if (is_uuid_at(p)) {
            memmove(p + 6, p + 36, strlen(p + 36) + 1);
            memcpy(p, "{uuid}", 6);
        }
    return s;
}

/* name=VALUE → name={token} for each listed query parameter (signed URLs, page tokens). */
static char *replace_params(char *s, const json_t *params)
{
    size_t i;
    const json_t *p;
    json_array_foreach(params, i, p) {
        const char *name = json_string_value(p);
        if (!name)
            continue;
        size_t n = strlen(name);
        for (char *hit = strstr(s, name); hit; hit = strstr(hit + 1, name)) {
            bool starts = hit > s && (hit[-1] == '?' || hit[-1] == '&' || hit[-1] == ';');
            if (!starts || hit[n] != '=')
                continue;
            char *value = hit + n + 1, *end = value + strcspn(value, "&>\" ;,");
            if (end - value == 7 && strncmp(value, "{token}", 7) == 0)
                continue;
            size_t rest = strlen(end);
            char *next = malloc((size_t)(value - s) + 7 + rest + 1);
            memcpy(next, s, (size_t)(value - s));
            memcpy(next + (value - s), "{token}", 7);
            memcpy(next + (value - s) + 7, end, rest + 1);
            hit = next + (hit - s);
            free(s);
            s = next;
        }
    }
    return s;
}

static void compare_one(diff_ctx *c, const char *name, const char *va, const char *vb)
{
    const unsigned kinds = 1u << RULE_IGNORE_HEADER | 1u << RULE_SHAPE | 1u << RULE_NORMALIZE |
                           1u << RULE_URL_HOST | 1u << RULE_JWT;
    const diff_rule *r = diff_rule_for_header(c->rules, c->nrules, kinds, name);
    bool expired = r && r->expired;
    if (expired)
        r = NULL; /* not applied; counted below when it would have hidden a difference */
    if (r && r->kind == RULE_IGNORE_HEADER)
        return;
    uint64_t before = c->count;
    json_t *ja = va ? json_string(va) : NULL, *jb = vb ? json_string(vb) : NULL;
    if (!va || !vb) {
        diff_add(c, "header", name, va ? "missing" : "extra", ja, jb);
    } else if (r && r->kind == RULE_SHAPE) {
        if (!diff_shape_matches(r->shape, va) || !diff_shape_matches(r->shape, vb))
            diff_add(c, "header", name, "value", ja, jb);
    } else if (r && (r->kind == RULE_NORMALIZE || r->kind == RULE_URL_HOST)) {
        char *na = strdup(va), *nb = strdup(vb);
        if (r->kind == RULE_URL_HOST || r->hosts) {
            na = replace_hosts(c, na);
            nb = replace_hosts(c, nb);
        }
        if (r->uuids) {
            na = replace_uuids(na);
            nb = replace_uuids(nb);
        }
        if (r->params) {
            na = replace_params(na, r->params);
            nb = replace_params(nb, r->params);
        }
        if (strcmp(na, nb) != 0)
            diff_add(c, "header", name, "value", ja, jb);
        free(na);
        free(nb);
    } else if (strcmp(va, vb) != 0) {
        diff_add(c, "header", name, "value", ja, jb);
    }
    if (expired)
        c->expired_hits += c->count - before;
    json_decref(ja);
    json_decref(jb);
}

void diff_headers(diff_ctx *c, const json_t *baseline, const json_t *candidate)
{
    const json_t *lists[2] = {baseline, candidate};
    json_t *seen = json_object();
    for (int side = 0; side < 2; side++) {
        size_t i;
        const json_t *pair;
        json_array_foreach(lists[side], i, pair) {
            char *name = lower(json_string_value(json_array_get(pair, 0)));
            if (!name || json_object_get(seen, name)) {
                free(name);
                continue;
            }
            json_object_set_new(seen, name, json_true());
            char *va = values_of(baseline, name), *vb = values_of(candidate, name);
            compare_one(c, name, va, vb);
            free(va);
            free(vb);
            free(name);
        }
    }
    json_decref(seen);
}
