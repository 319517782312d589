/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_profile.c — core/profile.c: the order a profile is looked up in (--profile,
 * $PMIRROR_PROFILE, beside the binary (installed, then a build tree's), the source tree's,
 * the compiled-in default; a suite's own profile
 * unless --profile), the source recorded, and each file's path set only when the file is
 * there (readable, for the map, the rules and the gate).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "scratch.h"

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch_dir, rel);
    for (char *p = path + strlen(scratch_dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static const char *at(const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", scratch_dir, rel);
    return buf;
}

TestSuite(profile, .init = scratch_make, .fini = scratch_remove);

static pm_profile *find_with_source(const char *given, const char *env, const char *exe, const char *source_tree,
                                    const char *fallback)
{
    pm_profile_lookup l = {.given = given, .env = env, .exe = exe, .source_tree = source_tree, .fallback = fallback};
    pm_err err;
    pm_profile *p = pm_profile_find_in(&l, &err);
    cr_assert_not_null(p, "%s", err.msg);
    return p;
}

static pm_profile *find(const char *given, const char *env, const char *exe, const char *fallback)
{
    return find_with_source(given, env, exe, NULL, fallback);
}

Test(profile, lookup_order_flag_env_exe_default)
{
    char exe[256], flag[256], env[256];
    put("bin/pmirror", "");
    put("config/quay/capabilities.yaml", "families: {}\n");
    at("bin/pmirror", exe, sizeof exe);
    at("flagged", flag, sizeof flag);
    at("from-env", env, sizeof env);

    pm_profile *p = find(flag, env, exe, "/compiled/in");
    cr_assert_str_eq(p->dir, flag);
    cr_assert_str_eq(p->source, "flag");
    pm_profile_free(p);

    p = find(NULL, env, exe, "/compiled/in");
    cr_assert_str_eq(p->dir, env);
    cr_assert_str_eq(p->source, "env");
    pm_profile_free(p);

    /* an empty $PMIRROR_PROFILE is not set; beside the binary, the path as it was joined */
    char want[512];
    snprintf(want, sizeof want, "%s/bin/../config/quay", scratch_dir);
    p = find(NULL, "", exe, "/compiled/in");
    cr_assert_str_eq(p->dir, want);
    cr_assert_str_eq(p->source, "build");
    cr_assert_not_null(p->capabilities.path);
    pm_profile_free(p);

    p = find(NULL, NULL, NULL, "/compiled/in");
    cr_assert_str_eq(p->dir, "/compiled/in");
    cr_assert_str_eq(p->source, "default");
    pm_profile_free(p);
}

Test(profile, installed_beside_the_binary_first_then_build_tree_then_source_tree)
{
    char exe[256], src[256], want[512];
    put("usr/bin/pmirror", "");
    put("usr/share/pmirror/profiles/quay/capabilities.yaml", "families: {}\n");
    put("usr/config/quay/capabilities.yaml", "families: {}\n"); /* a build tree's, second */
    put("checkout/config/quay/capabilities.yaml", "families: {}\n");
    at("usr/bin/pmirror", exe, sizeof exe);
    at("checkout/config/quay", src, sizeof src);

    /* $PMIRROR_PROFILE still overrides the installed profile */
    pm_profile *p = find_with_source(NULL, "/from/env", exe, src, "/compiled/in");
    cr_assert_str_eq(p->source, "env");
    pm_profile_free(p);

    p = find_with_source(NULL, NULL, exe, src, "/compiled/in");
    snprintf(want, sizeof want, "%s/usr/bin/../share/pmirror/profiles/quay", scratch_dir);
    cr_assert_str_eq(p->dir, want);
    cr_assert_str_eq(p->source, "installed");
    pm_profile_free(p);

    /* a binary with neither beside it (copied elsewhere): the source tree's, when readable */
    put("elsewhere/pmirror", "");
    p = find_with_source(NULL, NULL, at("elsewhere/pmirror", exe, sizeof exe), src, "/compiled/in");
    cr_assert_str_eq(p->dir, src);
    cr_assert_str_eq(p->source, "source");
    pm_profile_free(p);

    /* no source tree (it moved): the installed path compiled in */
    p = find_with_source(NULL, NULL, exe, "/nonexistent/checkout/config/quay", "/compiled/in");
    cr_assert_str_eq(p->dir, "/compiled/in");
    cr_assert_str_eq(p->source, "default");
    pm_profile_free(p);
}

Test(profile, beside_the_binary_counts_only_with_a_readable_map)
{
    char exe[256];
    put("bin/pmirror", "");
    put("config/quay/rules.yaml", "rules: []\n"); /* a profile without its map */
    pm_profile *p = find(NULL, NULL, at("bin/pmirror", exe, sizeof exe), "/compiled/in");
    cr_assert_str_eq(p->source, "default");
    cr_assert_str_eq(p->dir, "/compiled/in");
    pm_profile_free(p);
}

Test(profile, files_present_and_absent)
{
    char dir[256], want[512];
    put("p/capabilities.yaml", "families: {}\n");
    put("p/gate.yaml", "defaults: {}\n");
    put("p/redact.yaml", "redact: {headers: [X-Acme-Key]}\n");
    at("p", dir, sizeof dir);
    pm_err err;
    pm_profile *p = pm_profile_at(dir, "flag", &err);
    cr_assert_not_null(p, "%s", err.msg);
    snprintf(want, sizeof want, "%s/capabilities.yaml", dir);
    cr_assert_str_eq(p->capabilities.path, want);
    cr_assert_str_eq(p->capabilities.where, want);
    snprintf(want, sizeof want, "%s/gate.yaml", dir);
    cr_assert_str_eq(p->gate.path, want);
    snprintf(want, sizeof want, "%s/redact.yaml", dir);
    cr_assert_str_eq(p->redact.path, want);
    /* absent: no path, but still where it would be (for a command that needs it) */
    cr_assert_null(p->rules.path);
    snprintf(want, sizeof want, "%s/rules.yaml", dir);
    cr_assert_str_eq(p->rules.where, want);
    cr_assert_null(p->correlation.path);
    snprintf(want, sizeof want, "%s/correlation.yaml", dir);
    cr_assert_str_eq(p->correlation.where, want);
    pm_profile_free(p);

    /* a directory that is not there: every file absent */
    p = pm_profile_at("/nonexistent/pm-profile", "env", &err);
    cr_assert_not_null(p);
    cr_assert_null(p->capabilities.path);
    cr_assert_null(p->rules.path);
    cr_assert_null(p->gate.path);
    cr_assert_null(p->correlation.path);
    cr_assert_null(p->redact.path);
    cr_assert_str_eq(p->capabilities.where, "/nonexistent/pm-profile/capabilities.yaml");
    pm_profile_free(p);
}

Test(profile, unreadable_files)
{
    if (geteuid() == 0)
        cr_skip_test("root reads every file");
    char dir[256], path[512];
    put("p/rules.yaml", "rules: []\n");
    put("p/redact.yaml", "redact: {}\n");
    chmod(at("p/rules.yaml", path, sizeof path), 0);
    chmod(at("p/redact.yaml", path, sizeof path), 0);
    pm_err err;
    pm_profile *p = pm_profile_at(at("p", dir, sizeof dir), "flag", &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_null(p->rules.path, "an unreadable rules.yaml is absent (as commands have judged it)");
    cr_assert_not_null(p->redact.path, "an unreadable redact.yaml is there: loading it fails, never skipped");
    json_t *rules = NULL;
    cr_assert_eq(pm_redact_rules_load(p->redact.path, &rules, &err), -1);
    pm_profile_free(p);
}

Test(profile, a_suite_names_its_own_profile_unless_given)
{
    char suite[512], want[512], flag[256];
    put("own/gate.yaml", "defaults: {}\n");
    put("s/suite.yaml", "profile: ../own\ntargets:\n  - {name: a, url: 'http://127.0.0.1:1', role: baseline}\n");
    put("s/plain.yaml", "targets:\n  - {name: a, url: 'http://127.0.0.1:1', role: baseline}\n");
    at("s/suite.yaml", suite, sizeof suite);
    at("flagged", flag, sizeof flag);
    cr_assert_eq(chdir("/"), 0); /* ../own is taken from the suite's directory */
    pm_err err;
    pm_suite *s = NULL;

    pm_profile *p = pm_profile_open(NULL, suite, &s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_not_null(s);
    snprintf(want, sizeof want, "%s/s/../own", scratch_dir);
    cr_assert_str_eq(p->dir, want);
    cr_assert_str_eq(p->source, "suite");
    cr_assert_not_null(p->gate.path);
    pm_profile_free(p);
    pm_suite_free(s);

    p = pm_profile_open(flag, suite, &s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_str_eq(p->dir, flag);
    cr_assert_str_eq(p->source, "flag");
    pm_profile_free(p);
    pm_suite_free(s);

    /* a suite without its own: the one found, as it was found */
    setenv("PMIRROR_PROFILE", flag, 1);
    p = pm_profile_open(NULL, at("s/plain.yaml", suite, sizeof suite), &s, &err);
    unsetenv("PMIRROR_PROFILE");
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_str_eq(p->dir, flag);
    cr_assert_str_eq(p->source, "env");
    pm_profile_free(p);
    pm_suite_free(s);

    /* no suite: none loaded; a suite that does not load: its error, nothing returned */
    p = pm_profile_open(flag, NULL, &s, &err);
    cr_assert_not_null(p);
    cr_assert_null(s);
    pm_profile_free(p);
    p = pm_profile_open(flag, "/nonexistent/suite.yaml", &s, &err);
    cr_assert_null(p);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err.msg, "/nonexistent/suite.yaml"), "%s", err.msg);
}

Test(profile, redactor_with_and_without_redact_yaml)
{
    char dir[256], out[512];
    put("p/redact.yaml", "redact: {headers: [X-Acme-Key]}\n");
    pm_err err;
    pm_profile *p = pm_profile_at(at("p", dir, sizeof dir), "flag", &err);
    pm_redactor *r = pm_profile_redactor(p, NULL, at("out.jsonl", out, sizeof out), &err);
    cr_assert_not_null(r, "%s", err.msg);
    char *v = pm_redact_header_value(r, "X-Acme-Key", "acme-0123456789");
    cr_assert_not_null(v, "the profile's name was not added");
    free(v);
    pm_redactor_free(r);
    pm_profile_free(p);

    p = pm_profile_at("/nonexistent/pm-profile", "flag", &err);
    r = pm_profile_redactor(p, NULL, out, &err);
    cr_assert_not_null(r, "%s", err.msg);
    v = pm_redact_header_value(r, "X-Acme-Key", "acme-0123456789");
    cr_assert_null(v);
    v = pm_redact_header_value(r, "Authorization", "Bearer abc.def.ghi");
    cr_assert_not_null(v, "the defaults were lost");
    free(v);
    pm_redactor_free(r);
    pm_profile_free(p);
}
