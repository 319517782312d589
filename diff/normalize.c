/* SPDX-License-Identifier: Apache-2.0 */
/*
 * normalize.c — values made target-neutral before they are compared: each target's own
 * host (and any URL's authority) becomes {host}, random UUIDs {uuid}, listed query
 * parameters' values {token}. Used for header values and JSON strings alike.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

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

char *diff_normalize_hosts(const diff_ctx *c, char *s)
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

char *diff_normalize_uuids(char *s)
{
    for (char *p = s; *p; p++)
        if (is_uuid_at(p)) {
            memmove(p + 6, p + 36, strlen(p + 36) + 1);
            memcpy(p, "{uuid}", 6);
        }
    return s;
}

/* name=VALUE → name={token} for each listed query parameter (signed URLs, page tokens). */
char *diff_normalize_params(char *s, const json_t *params)
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


char *diff_drop_params(char *s, const json_t *params)
{
    char *query = s ? strchr(s, '?') : NULL;
    if (!query)
        return s;
    size_t i;
    const json_t *p;
    json_array_foreach(params, i, p) {
        const char *name = json_string_value(p);
        size_t n = name ? strlen(name) : 0;
        for (char *at = query + 1; n > 0 && *at;) {
            size_t len = strcspn(at, "&;#");
            if (len > n && strncmp(at, name, n) == 0 && at[n] == '=') {
                bool sep = at[len] == '&' || at[len] == ';';
                memmove(at, at + len + sep, strlen(at + len + sep) + 1); /* the parameter and its separator */
                continue;
            }
            if (at[len] != '&' && at[len] != ';')
                break;
            at += len + 1;
        }
    }
    size_t end = strlen(query); /* a separator left last, or an empty query, goes too */
    while (end > 0 && (query[end - 1] == '&' || query[end - 1] == ';'))
        query[--end] = '\0';
    if (end == 1)
        query[0] = '\0';
    return s;
}
