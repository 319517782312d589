/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_capmap.c — the capability map against Quay's own route list.
 *
 * The central test walks every row of fixtures/quay/quay-route-tracker.csv (a copy of
 * the rewrite plan's 413 routes), turns the Flask template into a concrete request with
 * its own expansion of Quay's route macros (independent of tools/gen_capabilities.py),
 * and checks that the classifier returns the row's family — mapped to the cutover matrix
 * as the foundation issue specifies — and its route id; HEAD is checked on every GET.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define MAP_PATH PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml"
#define CSV_PATH PMIRROR_SOURCE_DIR "/fixtures/quay/quay-route-tracker.csv"

static pm_capmap *map;

static void load_map(void)
{
    pm_err err;
    map = pm_capmap_load(MAP_PATH, &err);
    cr_assert_not_null(map, "%s", err.msg);
}

static void free_map(void)
{
    pm_capmap_free(map);
}

/* ---- a small RFC 4180 CSV reader ------------------------------------------------- */

typedef struct {
    char *fields[32];
    int n;
} csv_row;

/* Parses the next record from *p; returns false at the end. Fields are malloc'd. */
static bool csv_next(const char **p, csv_row *row)
{
    const char *s = *p;
    if (!*s)
        return false;
    row->n = 0;
    char *field = malloc(strlen(s) + 1); /* scratch: no field is longer than the rest */
    for (;;) {
        size_t len = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"') {
                    field[len++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    cr_assert(*s, "unterminated quoted CSV field");
                    field[len++] = *s++;
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r')
                field[len++] = *s++;
        }
        field[len] = '\0';
        cr_assert_lt(row->n, 32);
        row->fields[row->n++] = strdup(field);
        if (*s == ',') {
            s++;
            continue;
        }
        while (*s == '\r' || *s == '\n')
            s++;
        break;
    }
    free(field);
    *p = s;
    return true;
}

static void csv_row_free(csv_row *row)
{
    for (int i = 0; i < row->n; i++)
        free(row->fields[i]);
}

/* ---- template → concrete request --------------------------------------------------- */

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void append(char *out, size_t size, const char *s)
{
    strncat(out, s, size - strlen(out) - 1);
}

/* A sample value for a Flask variable "<conv:name>" or "<name>". */
static const char *sample_for(const char *var)
{
    if (strstr(var, "repository"))
        return "acme/app";
    if (strstr(var, "regex(\"{0}\")") || strstr(var, "digest"))
        return DIGEST;
    if (strncmp(var, "path:", 5) == 0)
        return "some/where";
    if (strcmp(var, "dynamic-service") == 0)
        return "github";
    if (strstr(var, "file_id"))
        return "abc-123";
    if (strcmp(var, "tag") == 0)
        return "latest";
    if (strcmp(var, "namespace") == 0 || strcmp(var, "orgname") == 0)
        return "acme";
    return "x1";
}

/* Expands Quay's route macros and fills every variable. */
static void concrete_path(const char *tmpl, char *out, size_t size)
{
    char expanded[1024] = "";
    out[0] = '\0';
    if (strcmp(tmpl, "<app.config[\"LOCAL_OAUTH_HANDLER\"]>") == 0) {
        snprintf(out, size, "/oauth/localapp"); /* Quay's config.py default */
        return;
    }
    if (strncmp(tmpl, "/api/<'", 7) == 0) { /* '/v1/...'.format(DIGEST_PATTERN) */
        const char *end = strchr(tmpl + 7, '\'');
        snprintf(expanded, sizeof expanded, "/api%.*s", (int)(end - tmpl - 7), tmpl + 7);
    } else if (strncmp(tmpl, "/api/<MANIFEST_DIGEST_ROUTE", 27) == 0) {
        snprintf(expanded, sizeof expanded, "/api/v1/repository/<repo>/manifest/<digest>");
        const char *suffix = strstr(tmpl, "+ \"");
        if (suffix) {
            const char *end = strchr(suffix + 3, '"');
            strncat(expanded, suffix + 3, (size_t)(end - suffix - 3));
        }
    } else if (strcmp(tmpl, "/v2/<BLOB_DIGEST_ROUTE>") == 0) {
        snprintf(expanded, sizeof expanded, "/v2/<repo>/blobs/<digest>");
    } else if (strcmp(tmpl, "/v2/<MANIFEST_DIGEST_ROUTE>") == 0) {
        snprintf(expanded, sizeof expanded, "/v2/<repo>/manifests/<digest>");
    } else if (strcmp(tmpl, "/v2/<MANIFEST_TAGNAME_ROUTE>") == 0) {
        snprintf(expanded, sizeof expanded, "/v2/<repo>/manifests/<tag>");
    } else if (strcmp(tmpl, "/v2/<MANIFEST_REFERRERS_ROUTE>") == 0) {
        snprintf(expanded, sizeof expanded, "/v2/<repo>/referrers/<digest>");
    } else {
        snprintf(expanded, sizeof expanded, "%s", tmpl);
    }
    for (const char *p = expanded; *p;) {
        if (*p == '<') {
            /* variables may contain <...> only inside regex("...") */
            const char *end = strchr(p, '>');
            char var[256];
            snprintf(var, sizeof var, "%.*s", (int)(end - p - 1), p + 1);
            if (strcmp(var, "repo") == 0)
                append(out, size, "acme/app");
            else if (strcmp(var, "digest") == 0)
                append(out, size, DIGEST);
            else
                append(out, size, sample_for(var));
            p = end + 1;
        } else if (*p == '/' && p[1] == '/') {
            p++; /* "/oauth2/<dynamic-service>//callback": the service id has no slash */
        } else {
            char c[2] = {*p++, 0};
            append(out, size, c);
        }
    }
}

/* The cutover-matrix family of a tracker row (issue "Foundation", Tests). */
static const char *expected_family(const char *tracker_family, const char *file, const char *path)
{
    static const char *const table[][2] = {
        {"registry-v2", "REGISTRY_V2"}, {"registry-v1", "REGISTRY_V1"}, {"api-v1", "API_V1"},
        {"oauth2", "OAUTH"},            {"oauth1", "OAUTH"},            {"webhooks", "WEBHOOKS"},
        {"keys", "KEYS"},               {"secscan", "SECSCAN"},         {"realtime", "REALTIME"},
        {"well-known", "WELLKNOWN"},    {"other", "OTHER"},             {"web", "WEB"},
    };
    if (strcmp(tracker_family, "other") == 0 && strncmp(path, "/api/v1/repository/", 19) == 0 &&
        strstr(path, "/manifest/"))
        return "API_V1"; /* the tracker's parser misfiled these seven */
    if (strcmp(tracker_family, "web") == 0 && strcmp(file, "endpoints/web.py") == 0 &&
        strncmp(path, "/oauth/", 7) == 0)
        return "OAUTH";
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i][0], tracker_family) == 0)
            return table[i][1];
    cr_assert_fail("unknown tracker family %s", tracker_family);
    return NULL;
}

enum { COL_ID = 0, COL_FILE = 2, COL_METHOD = 5, COL_TEMPLATE = 6, COL_FAMILY = 8, COL_SWITCH = 14 };

/* The tracker's rows (after the header), parsed once: the HEAD lookup below scans them for
 * every GET, and re-reading the 180 KB file each time made this test take half a minute. */
typedef struct {
    csv_row *rows;
    int n;
} csv_table;

static void csv_read_all(const char **p, csv_table *t)
{
    int cap = 0;
    t->rows = NULL;
    t->n = 0;
    csv_row row;
    while (csv_next(p, &row)) {
        if (t->n == cap) {
            cap = cap ? 2 * cap : 512;
            t->rows = realloc(t->rows, (size_t)cap * sizeof *t->rows);
            cr_assert_not_null(t->rows);
        }
        t->rows[t->n++] = row;
    }
}

static void csv_table_free(csv_table *t)
{
    for (int i = 0; i < t->n; i++)
        csv_row_free(&t->rows[i]);
    free(t->rows);
}

static bool has_explicit_head(const csv_table *t, const char *tmpl)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].fields[COL_METHOD], "HEAD") == 0 && strcmp(t->rows[i].fields[COL_TEMPLATE], tmpl) == 0)
            return true;
    return false;
}

Test(capmap, every_tracker_route_classifies_to_its_family_and_id, .init = load_map, .fini = free_map)
{
    pm_err err;
    char *csv = pm_read_file(CSV_PATH, NULL, &err);
    cr_assert_not_null(csv, "%s", err.msg);
    const char *p = csv;
    csv_row row;
    cr_assert(csv_next(&p, &row));
    cr_assert_str_eq(row.fields[COL_ID], "route_id");
    cr_assert_str_eq(row.fields[COL_TEMPLATE], "path_template");
    csv_row_free(&row);
    csv_table table;
    csv_read_all(&p, &table);

    int rows = 0, heads = 0, families_seen = 0;
    const char *last_family = "";
    for (int r = 0; r < table.n; r++) {
        const csv_row *row = &table.rows[r];
        const char *id = row->fields[COL_ID], *method = row->fields[COL_METHOD];
        char path[1024];
        concrete_path(row->fields[COL_TEMPLATE], path, sizeof path);
        const char *family = expected_family(row->fields[COL_FAMILY], row->fields[COL_FILE], path);
        pm_class c;
        pm_classify(map, method, path, NULL, &c);
        cr_expect_str_eq(c.family, family, "%s %s %s: family %s, want %s", id, method, path, c.family, family);
        cr_expect(c.route_id && strcmp(c.route_id, id) == 0, "%s %s %s: route %s", id, method, path,
                  c.route_id ? c.route_id : "(none)");
        cr_expect(c.route_switch && strcmp(c.route_switch, row->fields[COL_SWITCH]) == 0,
                  "%s: route switch %s", id, c.route_switch ? c.route_switch : "(none)");
        char want_switch[128];
        snprintf(want_switch, sizeof want_switch, "ROUTE_OWNER_FAMILY_%s", family);
        cr_expect(c.switch_name && strcmp(c.switch_name, want_switch) == 0, "%s: switch", id);
        pm_class_clear(&c);
        if (strcmp(method, "GET") == 0) {
            bool explicit_head = has_explicit_head(&table, row->fields[COL_TEMPLATE]);
            pm_classify(map, "HEAD", path, NULL, &c);
            cr_expect_str_eq(c.family, family, "HEAD %s", path);
            if (!explicit_head)
                cr_expect(c.route_id && strcmp(c.route_id, id) == 0, "HEAD %s: route %s, want %s", path,
                          c.route_id ? c.route_id : "(none)", id);
            else
                cr_expect(c.route_id && strcmp(c.route_id, id) != 0, "HEAD %s answered by the GET", path);
            pm_class_clear(&c);
            heads++;
        }
        if (strcmp(last_family, family) != 0)
            families_seen++;
        last_family = family;
        rows++;
    }
    csv_table_free(&table);
    free(csv);
    cr_assert_eq(rows, 413, "the tracker has 413 routes, read %d", rows);
    cr_assert_eq(pm_capmap_route_count(map), 413);
    cr_assert_gt(heads, 200);
    cr_assert_gt(families_seen, 10);
}

/* The cached answer is the uncached one: every field, on a miss, on a hit, and after its
 * slot was taken by another path (a 4-slot cache over the tracker's 413 routes). */
static void expect_cached_same(pm_classify_cache *cache, const char *method, const char *target, const char *user)
{
    pm_class want, got;
    pm_classify_user(map, method, target, user, &want);
    json_t *wj = pm_class_to_json(&want);
    for (int round = 0; round < 2; round++) {
        pm_classify_cached(cache, method, target, user, &got);
        json_t *gj = pm_class_to_json(&got);
        cr_expect(json_equal(wj, gj), "%s %s (round %d)", method, target, round);
        cr_expect_eq(got.matched, want.matched, "%s %s", method, target);
        cr_expect_eq(got.streaming, want.streaming, "%s %s", method, target);
        json_decref(gj);
        pm_class_clear(&got);
    }
    json_decref(wj);
    pm_class_clear(&want);
}

Test(capmap, cached_classification_is_the_uncached_one, .init = load_map, .fini = free_map)
{
    pm_err err;
    char *csv = pm_read_file(CSV_PATH, NULL, &err);
    cr_assert_not_null(csv, "%s", err.msg);
    const char *p = csv;
    csv_row row;
    cr_assert(csv_next(&p, &row));
    csv_row_free(&row);
    csv_table table;
    csv_read_all(&p, &table);
    pm_classify_cache *small = pm_classify_cache_new(map, 4), *big = pm_classify_cache_new(map, 4096);
    cr_assert(small && big);
    const char *methods[] = {NULL, "HEAD", "GET", "PATCH", "A-METHOD-LONGER-THAN-A-SLOT"};
    for (int pass = 0; pass < 2; pass++) {
        for (int r = 0; r < table.n; r++) {
            char path[1024];
            concrete_path(table.rows[r].fields[COL_TEMPLATE], path, sizeof path);
            for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
                const char *method = methods[m] ? methods[m] : table.rows[r].fields[COL_METHOD];
                expect_cached_same(small, method, path, NULL);
                expect_cached_same(big, method, path, "alice");
            }
        }
    }
    /* the query (push scope), the absolute form, paths too long for a slot, bytes PCRE2
     * refuses as UTF-8, and targets that are no path */
    static char long_path[600];
    memset(long_path, 'a', sizeof long_path - 1);
    memcpy(long_path, "/v2/acme/", 9);
    memcpy(long_path + sizeof long_path - 16, "/manifests/tag", 15);
    const char *targets[] = {"/v2/auth?service=quay&scope=repository:acme/app:pull",
                             "/v2/auth?service=quay&scope=repository:acme/app:pull,push",
                             "/v2/auth",
                             "http://quay.example:8080/v2/acme/app/tags/list?n=10",
                             "/v2/acme/app/tags/list?n=10",
                             long_path,
                             "/v2/ac\xffme/app/manifests/latest",
                             "/v2/ac\xc3\xa9me/app/manifests/latest",
                             "/api/v1/repository/acme/app?includeTags=true",
                             "",
                             "*",
                             "?x=1",
                             "/"};
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
            for (size_t m = 1; m < sizeof methods / sizeof *methods; m++) {
                expect_cached_same(small, methods[m], targets[i], NULL);
                expect_cached_same(big, methods[m], targets[i], "bob");
            }
    pm_classify_cache_free(small);
    pm_classify_cache_free(big);
    csv_table_free(&table);
    free(csv);
}

static void classify_one(const char *method, const char *target, const json_t *headers, pm_class *c)
{
    pm_classify(map, method, target, headers, c);
}

Test(capmap, manifest_pull_by_tag, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("GET", "/v2/acme/app/manifests/latest", NULL, &c);
    cr_assert_str_eq(c.family, "REGISTRY_V2");
    cr_assert_str_eq(c.capability, "V2_MANIFEST_PULL");
    cr_assert_str_eq(c.switch_name, "ROUTE_OWNER_FAMILY_REGISTRY_V2");
    cr_assert_str_eq(c.cap_switch, "ROUTE_OWNER_CAP_V2_PULL");
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert_str_eq(c.cohort.repo, "acme/app");
    cr_assert_null(c.cohort.user);
    cr_assert_not(c.mutating);
    pm_class_clear(&c);
}

Test(capmap, nested_repository_names, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("PATCH", "/v2/acme/team/app/blobs/uploads/6d3f-11", NULL, &c);
    cr_assert_str_eq(c.capability, "V2_BLOB_UPLOAD");
    cr_assert_str_eq(c.cohort.repo, "acme/team/app");
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert(c.mutating);
    pm_class_clear(&c);
    classify_one("GET", "/api/v1/repository/acme/team/app/tag/?limit=5", NULL, &c);
    cr_assert_str_eq(c.family, "API_V1");
    cr_assert_str_eq(c.cohort.repo, "acme/team/app");
    pm_class_clear(&c);
}

Test(capmap, digest_and_tag_routes_differ, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("GET", "/v2/acme/app/manifests/" DIGEST, NULL, &c);
    cr_assert_str_eq(c.route_id, "ROUTE-0323");
    pm_class_clear(&c);
    classify_one("PUT", "/v2/acme/app/manifests/v1.2", NULL, &c);
    cr_assert_str_eq(c.route_id, "ROUTE-0328");
    cr_assert_str_eq(c.cap_switch, "ROUTE_OWNER_CAP_V2_PUSH");
    pm_class_clear(&c);
}

Test(capmap, v2_auth_scope_gives_repo_and_push_is_mutating, .init = load_map, .fini = free_map)
{
    json_t *headers = json_pack("[[s,s]]", "Authorization", "Basic YWxpY2U6c2VjcmV0"); /* alice:secret */
    pm_class c;
    classify_one("GET", "/v2/auth?service=quay&scope=repository%3Aacme%2Fapp%3Apull", headers, &c);
    cr_assert_str_eq(c.capability, "V2_AUTH");
    cr_assert_str_eq(c.cohort.repo, "acme/app");
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert_str_eq(c.cohort.user, "alice");
    cr_assert_not(c.mutating, "pull scope does not write");
    pm_class_clear(&c);
    classify_one("GET", "/v2/auth?service=quay&scope=repository:acme/app:pull,push", headers, &c);
    cr_assert(c.mutating, "push scope can create the repository");
    pm_class_clear(&c);
    json_decref(headers);
}

Test(capmap, bearer_jwt_subject_is_the_user, .init = load_map, .fini = free_map)
{
    /* header {"alg":"RS256"}, payload {"sub":"acme+builder","access":[]} — not verified */
    const char *jwt = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lK2J1aWxkZXIiLCJhY2Nlc3MiOltdfQ.c2ln";
    json_t *headers = json_pack("[[s,s]]", "authorization", jwt);
    pm_class c;
    classify_one("HEAD", "/v2/acme/app/blobs/" DIGEST, headers, &c);
    cr_assert_str_eq(c.route_id, "ROUTE-0321", "the explicit HEAD route wins over GET's");
    cr_assert_str_eq(c.cohort.user, "acme+builder");
    pm_class_clear(&c);
    json_decref(headers);
}

Test(capmap, unmatched_requests_are_unknown, .init = load_map, .fini = free_map)
{
    const char *targets[] = {"/v2/acme", "/api/v2/nothing", "", "*", "/v1/nothing/here", "/.well-known/x"};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        pm_class c;
        classify_one("GET", targets[i], NULL, &c);
        cr_expect_str_eq(c.family, "UNKNOWN", "%s", targets[i]);
        cr_expect_not(c.matched);
        pm_class_clear(&c);
    }
    pm_class c;
    classify_one("BREW", "/v2/", NULL, &c);
    cr_assert_str_eq(c.family, "UNKNOWN");
    cr_assert(c.mutating, "an unknown method is treated as a write");
    pm_class_clear(&c);
}

Test(capmap, web_catch_alls_do_not_take_other_blueprints, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("GET", "/acme", NULL, &c);
    cr_assert_str_eq(c.capability, "WEB_REDIRECT");
    cr_assert_str_eq(c.cohort.org, "acme");
    pm_class_clear(&c);
    classify_one("GET", "/keys/foo", NULL, &c);
    cr_assert_str_eq(c.family, "UNKNOWN");
    pm_class_clear(&c);
}

Test(capmap, absolute_form_targets_classify_by_path, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("GET", "http://quay.example:8080/v2/acme/app/tags/list?n=10", NULL, &c);
    cr_assert_str_eq(c.capability, "V2_TAGS_LIST");
    pm_class_clear(&c);
}

Test(capmap, class_json_has_the_pinned_keys, .init = load_map, .fini = free_map)
{
    pm_class c;
    classify_one("DELETE", "/api/v1/organization/acme/robots/ci", NULL, &c);
    json_t *j = pm_class_to_json(&c);
    const char *keys[] = {"family", "capability", "switch", "route_id", "mutating", "cohort"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_expect_not_null(json_object_get(j, keys[i]), "missing %s", keys[i]);
    cr_assert(json_is_true(json_object_get(j, "mutating")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "cohort"), "org")), "acme");
    json_decref(j);
    pm_class_clear(&c);
}

Test(capmap, bad_maps_name_file_line_and_column)
{
    pm_err err;
    const char *yaml = "version: 1\n"
                       "types: {segment: '[^/]+'}\n"
                       "families:\n"
                       "  X:\n"
                       "    switch: S\n"
                       "    capabilities:\n"
                       "      C:\n"
                       "        routes:\n"
                       "          - {id: R1, method: GET, path: '/a/{v:nosuchtype}'}\n";
    pm_config *cfg = pm_config_parse("bad.yaml", yaml, strlen(yaml), &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    pm_capmap *m = pm_capmap_from_config(cfg, &err);
    cr_assert_null(m);
    cr_assert(strncmp(err.msg, "bad.yaml:9:", 11) == 0, "got: %s", err.msg);
    cr_assert(strstr(err.msg, "nosuchtype"), "got: %s", err.msg);
    pm_config_free(cfg);

    const char *no_families = "types: {}\n";
    cfg = pm_config_parse("empty.yaml", no_families, strlen(no_families), &err);
    cr_assert_null(pm_capmap_from_config(cfg, &err));
    cr_assert(strstr(err.msg, "families"), "got: %s", err.msg);
    pm_config_free(cfg);
}

Test(capmap, cohort_helpers)
{
    char *u = pm_cohort_user_from_authorization("Basic JHRva2VuOmFiYw=="); /* $token:abc */
    cr_assert_str_eq(u, "$token");
    free(u);
    cr_assert_null(pm_cohort_user_from_authorization("Basic !!notbase64"));
    cr_assert_null(pm_cohort_user_from_authorization("Bearer opaque-oauth-token"));
    cr_assert_null(pm_cohort_user_from_authorization("Token sigv2=abc"));
    char *r = pm_cohort_repo_from_scope("service=q&scope=repository:acme/a/b:pull");
    cr_assert_str_eq(r, "acme/a/b");
    free(r);
    cr_assert_null(pm_cohort_repo_from_scope("service=q"));
    cr_assert(pm_cohort_scope_pushes("scope=repository:a/b:pull&scope=repository:c/d:push"));
    cr_assert_not(pm_cohort_scope_pushes("scope=repository:a/b:pull"));
}

/* The shard of an exchange (replay --shard, the tee's shadow lanes): the repository, else
 * the user, else the session decides, and the same key gives the same shard. */
Test(capmap, shard_key_is_repository_then_user_then_session)
{
    cr_assert_eq(pm_shard_of(NULL, NULL, NULL, 8), 0);
    cr_assert_eq(pm_shard_of("acme/app", "alice", "tee-1", 0), 0);
    unsigned seen[8] = {0};
    for (int i = 0; i < 64; i++) {
        char repo[32], session[32];
        snprintf(repo, sizeof repo, "org%d/repo", i);
        snprintf(session, sizeof session, "tee-%d", i);
        unsigned k = pm_shard_of(repo, "alice", session, 8);
        cr_assert_lt(k, 8);
        seen[k]++;
        cr_assert_eq(pm_shard_of(repo, "bob", "tee-999", 8), k, "the repository decides, not user or session");
        cr_assert_eq(pm_shard_of(NULL, repo, session, 8), k, "without one, the user (same key, same shard)");
        cr_assert_eq(pm_shard_of(NULL, NULL, repo, 8), k, "without both, the session");
    }
    for (int k = 0; k < 8; k++)
        cr_assert_gt(seen[k], 0, "64 repositories leave shard %d of 8 empty", k);
}

/* Issue 17 item 7: `method: "*"` is any method, so a route that takes every method is one
 * entry; it competes with the method's own routes by specificity, and is mutating as the
 * request's method is unless the route says otherwise. */
Test(capmap, any_method_routes_match_every_method)
{
    pm_err err;
    const char *yaml = "types: {segment: '[^/]+', path: '[^/].*'}\n"
                       "families:\n"
                       "  API:\n"
                       "    switch: S\n"
                       "    capabilities:\n"
                       "      ITEMS:\n"
                       "        routes:\n"
                       "          - {id: R1, method: '*', path: '/items/{id}'}\n"
                       "          - {id: R2, method: GET, path: '/{any:path}'}\n"
                       "      ITEM_META:\n"
                       "        routes:\n"
                       "          - {id: R3, method: GET, path: '/items/{id}/meta'}\n"
                       "          - {id: R4, method: '*', path: '/{any:path}/meta', mutating: false}\n";
    pm_config *cfg = pm_config_parse("any.yaml", yaml, strlen(yaml), &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    pm_capmap *m = pm_capmap_from_config(cfg, &err);
    cr_assert_not_null(m, "%s", err.msg);
    static const struct {
        const char *method, *target, *capability;
        bool mutating;
    } cases[] = {
        {"GET", "/items/7", "ITEMS", false},       {"POST", "/items/7", "ITEMS", true},
        {"DELETE", "/items/7", "ITEMS", true},     {"HEAD", "/items/7", "ITEMS", false},
        {"PURGE", "/items/7", "ITEMS", true},      {"GET", "/items/7/meta", "ITEM_META", false},
        {"PUT", "/x/y/meta", "ITEM_META", false},  {"GET", "/other", "ITEMS", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pm_class c;
        pm_classify(m, cases[i].method, cases[i].target, NULL, &c);
        cr_expect(c.matched, "%s %s did not match", cases[i].method, cases[i].target);
        cr_expect_str_eq(c.family, "API", "%s %s", cases[i].method, cases[i].target);
        cr_expect_str_eq(c.capability, cases[i].capability, "%s %s", cases[i].method, cases[i].target);
        cr_expect_eq(c.mutating, cases[i].mutating, "%s %s", cases[i].method, cases[i].target);
        pm_class_clear(&c);
    }
    pm_capmap_free(m);
}

/* Issue 17 item 8: a map for another service needs only families, capabilities, method and
 * path. No `types`: segment and path are built in; no route `id`: route_id is null; no
 * family `switch`: the family is its own switch. */
Test(capmap, quay_keys_are_optional)
{
    pm_err err;
    const char *yaml = "families:\n"
                       "  PETS:\n"
                       "    capabilities:\n"
                       "      PET_READ:\n"
                       "        routes:\n"
                       "          - {method: GET, path: '/pets/{id}'}\n"
                       "          - {method: GET, path: '/files/{rest:path}'}\n";
    pm_config *cfg = pm_config_parse("small.yaml", yaml, strlen(yaml), &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    pm_capmap *m = pm_capmap_from_config(cfg, &err);
    cr_assert_not_null(m, "%s", err.msg);
    pm_class c;
    pm_classify(m, "GET", "/pets/7", NULL, &c);
    cr_expect_str_eq(c.family, "PETS");
    cr_expect_str_eq(c.capability, "PET_READ");
    cr_expect_str_eq(c.switch_name, "PETS");
    cr_expect_null(c.route_id);
    pm_class_clear(&c);
    pm_classify(m, "GET", "/files/a/b.txt", NULL, &c);
    cr_expect_str_eq(c.capability, "PET_READ");
    pm_class_clear(&c);
    pm_capmap_free(m);

    const char *bad = "families:\n"
                      "  PETS:\n"
                      "    capabilities:\n"
                      "      PET_READ:\n"
                      "        routes:\n"
                      "          - {method: GET, path: '/pets/{id:nosuch}'}\n";
    cfg = pm_config_parse("bad.yaml", bad, strlen(bad), &err);
    cr_assert_null(pm_capmap_from_config(cfg, &err));
    cr_expect(strstr(err.msg, "bad.yaml:6:") && strstr(err.msg, "/pets/{id:nosuch}"), "got: %s", err.msg);
    pm_config_free(cfg);
}

/* Issue 17 item 6: what rules, gates and selections may name — the map's families and
 * capabilities, the worker map's families (any capability), UNKNOWN — and the error for
 * a name the profile lacks, at its file:line. */
Test(capmap, names_a_profile_defines)
{
    pm_err err;
    const char *yaml = "families:\n"
                       "  PETS:\n"
                       "    capabilities:\n"
                       "      PET_READ: {routes: [{method: GET, path: /pets}]}\n"
                       "      PET_META: {routes: [{method: GET, path: '/pets/{id}/meta'}]}\n";
    pm_config *cfg = pm_config_parse("map.yaml", yaml, strlen(yaml), &err);
    pm_capmap *m = pm_capmap_from_config(cfg, &err);
    cr_assert_not_null(m, "%s", err.msg);
    pm_names *n = pm_names_new(m, NULL, &err);
    cr_assert_not_null(n);
    cr_expect(pm_names_has_family(n, "PETS"));
    cr_expect(pm_names_has_family(n, "UNKNOWN"));
    cr_expect_not(pm_names_has_family(n, "PET"));
    cr_expect(pm_names_has_capability(n, "PETS", "PET_META"));
    cr_expect(pm_names_has_capability(n, NULL, "PET_READ"));
    cr_expect_not(pm_names_has_capability(n, NULL, "PET_LIST"));
    cr_expect_not(pm_names_has_capability(n, "UNKNOWN", "PET_READ"));

    const char *rules = "rules:\n"
                        "  - {families: [PETS], capabilities: [PET_READ, PET_LIST]}\n";
    pm_config *r = pm_config_parse("rules.yaml", rules, strlen(rules), &err);
    const json_t *rule = json_array_get(json_object_get(pm_config_root(r), "rules"), 0);
    cr_expect_eq(pm_names_check_list(n, r, json_object_get(rule, "families"), "rule families", false, &err), 0);
    cr_expect_eq(pm_names_check_list(n, r, json_object_get(rule, "capabilities"), "rule capabilities", true, &err), -1);
    cr_expect(strstr(err.msg, "rules.yaml:2:") && strstr(err.msg, "unknown capability 'PET_LIST'"), "got: %s", err.msg);
    cr_expect_eq(pm_names_check_list(NULL, r, json_object_get(rule, "capabilities"), "x", true, &err), 0,
                 "no names: nothing to check against");
    const char *const given[] = {"PETS", "PET"};
    cr_expect_eq(pm_names_check_given(n, given, 2, "--family", &err), -1);
    cr_expect(strstr(err.msg, "--family PET: unknown family"), "got: %s", err.msg);
    pm_config_free(r);
    pm_names_free(n);

    const char *workers = "workers:\n  pets_queue: {program: petworker}\n";
    pm_config *wcfg = pm_config_parse("workers.yaml", workers, strlen(workers), &err);
    pm_workers *w = pm_workers_from_config(wcfg, &err);
    cr_assert_not_null(w, "%s", err.msg);
    n = pm_names_new(m, w, &err);
    cr_expect(pm_names_has_family(n, "WORKER_PETWORKER"));
    cr_expect(pm_names_has_capability(n, "WORKER_PETWORKER", "anything"), "a job's capability comes from its body");
    pm_names_free(n);
    pm_workers_free(w);
    pm_capmap_free(m);
}
