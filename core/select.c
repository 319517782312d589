/* SPDX-License-Identifier: Apache-2.0 */
/*
 * select.c — which requests a capture or tee keeps: families, and the canary cohort.
 *
 * The cohort rule mirrors Quay's canary selectors (ROUTE_CANARY_ORGS, _REPOS, _USERS,
 * _PERCENT): listed orgs, repos and users are in, and so is every request whose stable
 * percent bucket is below the percentage. The bucket is SHA-256(salt ":" key) so that the
 * mirror can pick exactly the cohort the control plane routes to Go, given the same salt.
 */
#include "core.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **items;
    size_t n;
} string_list;

struct pm_selection {
    string_list families, orgs, repos, users;
    int percent; /* -1: no percentage given */
    char *salt;
};

static int list_add(string_list *l, const char *s, size_t n)
{
    char **p = realloc(l->items, (l->n + 1) * sizeof *p);
    if (!p)
        return -1;
    l->items = p;
    l->items[l->n] = strndup(s, n);
    return l->items[l->n++] ? 0 : -1;
}

static bool list_has(const string_list *l, const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

static void list_free(string_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

pm_selection *pm_selection_new(void)
{
    pm_selection *s = calloc(1, sizeof *s);
    if (s)
        s->percent = -1;
    return s;
}

int pm_selection_add_family(pm_selection *s, const char *family, pm_err *err)
{
    if (!*family)
        return pm_err_set(err, "--family: empty family name");
    return list_add(&s->families, family, strlen(family)) == 0 ? 0 : pm_err_set(err, "out of memory");
}

int pm_selection_parse(pm_selection *s, const char *spec, pm_err *err)
{
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p || eq + 1 == p + n)
            return pm_err_set(err, "--select '%s': expected KEY=VALUE pairs (org, repo, user, percent, salt)", spec);
        size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
        const char *v = eq + 1;
        int rc = 0;
        if (klen == 3 && strncmp(p, "org", 3) == 0)
            rc = list_add(&s->orgs, v, vlen);
        else if (klen == 4 && strncmp(p, "repo", 4) == 0)
            rc = list_add(&s->repos, v, vlen);
        else if (klen == 4 && strncmp(p, "user", 4) == 0)
            rc = list_add(&s->users, v, vlen);
        else if (klen == 4 && strncmp(p, "salt", 4) == 0) {
            free(s->salt);
            s->salt = strndup(v, vlen);
        } else if (klen == 7 && strncmp(p, "percent", 7) == 0) {
            char buf[16];
            snprintf(buf, sizeof buf, "%.*s", (int)(vlen < 15 ? vlen : 15), v);
            char *end = NULL;
            errno = 0;
            long pct = strtol(buf, &end, 10);
            if (errno || *end || end == buf || pct < 0 || pct > 100)
                return pm_err_set(err, "--select: percent must be a whole number from 0 to 100, not '%.*s'",
                                  (int)vlen, v);
            s->percent = (int)pct;
        } else {
            return pm_err_set(err, "--select: unknown key '%.*s' (known: org, repo, user, percent, salt)",
                              (int)klen, p);
        }
        if (rc != 0)
            return pm_err_set(err, "out of memory");
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int pm_cohort_percent_bucket(const pm_cohort *cohort, const char *salt)
{
    const char *key = cohort->repo ? cohort->repo : cohort->user ? cohort->user : cohort->org;
    if (!key)
        return -1;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s%s%s", salt ? salt : "", salt ? ":" : "", key);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1; /* absurdly long keys hash by their first kilobyte */
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)buf, (size_t)n, md);
    uint32_t v = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    return (int)(v % 100);
}

unsigned pm_shard_of(const char *repo, const char *user, const char *session, unsigned n)
{
    const char *key = repo ? repo : user ? user : session;
    if (!key || n == 0)
        return 0;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), md);
    uint32_t v = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    return v % n;
}

bool pm_selection_matches(const pm_selection *s, const char *family, const pm_cohort *cohort)
{
    if (!s)
        return true;
    if (s->families.n > 0 && !list_has(&s->families, family))
        return false;
    bool any_cohort = s->orgs.n || s->repos.n || s->users.n || s->percent >= 0;
    if (!any_cohort)
        return true;
    if (list_has(&s->orgs, cohort->org) || list_has(&s->repos, cohort->repo) ||
        list_has(&s->users, cohort->user))
        return true;
    if (s->percent >= 0) {
        int bucket = pm_cohort_percent_bucket(cohort, s->salt);
        return bucket >= 0 && bucket < s->percent;
    }
    return false;
}

void pm_selection_free(pm_selection *s)
{
    if (!s)
        return;
    list_free(&s->families);
    list_free(&s->orgs);
    list_free(&s->repos);
    list_free(&s->users);
    free(s->salt);
    free(s);
}

int pm_selection_from(const char *const *families, size_t nfamilies, const char *const *selects, size_t nselects,
                      pm_selection **out, pm_err *err)
{
    *out = NULL;
    if (!nfamilies && !nselects)
        return 0;
    pm_selection *s = pm_selection_new();
    if (!s)
        return pm_err_set(err, "out of memory");
    for (size_t i = 0; i < nfamilies; i++)
        if (pm_selection_add_family(s, families[i], err) != 0)
            goto fail;
    for (size_t i = 0; i < nselects; i++)
        if (pm_selection_parse(s, selects[i], err) != 0)
            goto fail;
    *out = s;
    return 0;
fail:
    pm_selection_free(s);
    return -1;
}
