/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cohort.c — who a request is for: the caller (Basic auth user name, or the `sub` of a
 * Bearer JWT read without verifying it, as Quay's tokens carry it) and the repository a
 * /v2/auth scope names. The canary router selects cohorts by these same values.
 */
#include "core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes (and '+' → ' ') n bytes into a new string. */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out[j++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static char *jwt_subject(const char *token)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2)
        return NULL;
    unsigned char *payload = NULL;
    size_t len = 0;
    if (pm_base64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), true, &payload, &len) != 0)
        return NULL;
    json_t *claims = json_loadb((const char *)payload, len, 0, NULL);
    free(payload);
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    char *out = sub && *sub ? strdup(sub) : NULL;
    json_decref(claims);
    return out;
}

char *pm_cohort_user_from_authorization(const char *authorization)
{
    if (!authorization)
        return NULL;
    while (*authorization == ' ')
        authorization++;
    if (strncasecmp(authorization, "Basic ", 6) == 0) {
        const char *b64 = authorization + 6;
        while (*b64 == ' ')
            b64++;
        unsigned char *plain = NULL;
        size_t len = 0;
        if (pm_base64_decode(b64, strcspn(b64, " "), false, &plain, &len) != 0)
            return NULL;
        char *colon = memchr(plain, ':', len);
        char *user = colon && colon > (char *)plain ? strndup((char *)plain, (size_t)(colon - (char *)plain))
                                                    : NULL;
        free(plain);
        return user;
    }
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *token = authorization + 7;
        while (*token == ' ')
            token++;
        return jwt_subject(token);
    }
    return NULL;
}

char *pm_cohort_repo_from_scope(const char *query)
{
    if (!query)
        return NULL;
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&");
        if (n > 6 && strncmp(p, "scope=", 6) == 0) {
            char *scope = url_decode(p + 6, n - 6);
            /* repository:NS/NAME:pull,push (NAME may hold more slashes; a registry host
             * with a port would add a colon, so the actions are after the last one) */
            if (scope && strncmp(scope, "repository:", 11) == 0) {
                char *name = scope + 11;
                char *actions = strrchr(name, ':');
                if (actions && actions > name) {
                    char *repo = strndup(name, (size_t)(actions - name));
                    free(scope);
                    return repo;
                }
            }
            free(scope);
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return NULL;
}

bool pm_cohort_scope_pushes(const char *query)
{
    if (!query)
        return false;
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&");
        if (n > 6 && strncmp(p, "scope=", 6) == 0) {
            char *scope = url_decode(p + 6, n - 6);
            char *actions = scope ? strrchr(scope, ':') : NULL;
            bool push = false;
            if (actions) {
                char *save = NULL;
                for (char *a = strtok_r(actions + 1, ",", &save); a; a = strtok_r(NULL, ",", &save))
                    if (strcmp(a, "push") == 0 || strcmp(a, "*") == 0 || strcmp(a, "delete") == 0)
                        push = true;
            }
            free(scope);
            if (push)
                return true;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return false;
}
