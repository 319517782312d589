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

static char *replace_hosts(const diff_ctx *c, char *s)
{
    for (int t = 0; t < 2; t++) {
        const char *h = c->hosts[t];
        char *hit;
        while (h && *h && (hit = strstr(s, h))) {
            size_t n = strlen(s) - strlen(h) + 7;
            char *next = malloc(n);
            snprintf(next, n, "%.*s{host}%s", (int)(hit - s), s, hit + strlen(h));
            free(s);
            s = next;
        }
    }
    for (char *scheme = strstr(s, "://"); scheme; scheme = strstr(scheme + 3, "://")) {
        char *auth = scheme + 3, *end = auth + strcspn(auth, "/\"' ,");
        if (end > auth && strncmp(auth, "{host}", 6) != 0) {
            memmove(auth + 6, end, strlen(end) + 1);
            memcpy(auth, "{host}", 6);
        }
    }
    /* service="host:port" in WWW-Authenticate */
    char *svc = strstr(s, "service=\"");
    if (svc) {
        char *v = svc + 9, *end = strchr(v, '"');
        if (end && strchr(v, ':') && strchr(v, ':') < end) {
            memmove(v + 6, end, strlen(end) + 1);
            memcpy(v, "{host}", 6);
        }
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
    if (r && r->expired) {
        c->expired_hits++;
        r = NULL;
    }
    if (r && r->kind == RULE_IGNORE_HEADER)
        return;
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
