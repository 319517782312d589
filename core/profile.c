/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.c — the profile a command works with: which directory it is, found once in a
 * fixed order, and where each of its files is, so that no command builds a profile path.
 *
 * The order: --profile (`flag`); else a suite file's own `profile` (`suite`, resolved by
 * pm_suite_load); else $PMIRROR_PROFILE (`env`); else a profile beside the running binary
 * whose capabilities.yaml can be read: the installed layout first (`installed`:
 * BIN/../share/pmirror/profiles/quay, so that an installed or relocated prefix works),
 * then a build tree's (`build`: ../config/quay, so that build/pmirror works from a fresh
 * clone without flags); else the source tree's, compiled in, when readable (`source`: a
 * build directory outside the checkout); else the installed profile's absolute path,
 * compiled in (`default`: named by the errors when nothing is there). The places beside
 * the binary are one table.
 *
 * The files: capabilities.yaml, rules.yaml and gate.yaml count as absent when they cannot
 * be read; correlation.yaml and redact.yaml only when they are not there at all, so that
 * one that is there but unreadable is an error when it is loaded (a redact.yaml skipped
 * in silence would leave its secrets in the clear).
 */
#include "core.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* (CMake compiles in all three: core/CMakeLists.txt) */
#ifndef PMIRROR_DEFAULT_PROFILE
#define PMIRROR_DEFAULT_PROFILE "/usr/local/share/pmirror/profiles/quay"
#endif
#ifndef PMIRROR_SOURCE_PROFILE
#define PMIRROR_SOURCE_PROFILE NULL
#endif
#ifndef PMIRROR_INSTALLED_PROFILE
#define PMIRROR_INSTALLED_PROFILE "../share/pmirror/profiles/quay"
#endif

/* Profiles beside the running binary, first match wins: DIR_OF_BINARY/RELATIVE counts
 * when its capabilities.yaml is readable. */
static const struct {
    const char *source, *relative;
} beside_exe[] = {
    {"installed", PMIRROR_INSTALLED_PROFILE}, /* PREFIX/bin/pmirror: the data directory, relative */
    {"build", "../config/quay"},              /* build/pmirror in a source tree */
};

typedef enum { READABLE, THERE } presence;

static const struct {
    const char *name;
    size_t offset; /* of its pm_profile_file */
    presence present;
} files[] = {
    {"capabilities.yaml", offsetof(pm_profile, capabilities), READABLE},
    {"rules.yaml", offsetof(pm_profile, rules), READABLE},
    {"gate.yaml", offsetof(pm_profile, gate), READABLE},
    {"correlation.yaml", offsetof(pm_profile, correlation), THERE},
    {"redact.yaml", offsetof(pm_profile, redact), THERE},
    {"workers.yaml", offsetof(pm_profile, workers), READABLE},
};

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static bool is_present(const char *path, presence how)
{
    if (how == READABLE)
        return access(path, R_OK) == 0;
    struct stat st;
    return stat(path, &st) == 0 || errno != ENOENT;
}

pm_profile *pm_profile_at(const char *dir, const char *source, pm_err *err)
{
    pm_profile *p = calloc(1, sizeof *p);
    if (!p || !(p->dir = strdup(dir)))
        goto oom;
    p->source = source;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        pm_profile_file *f = (pm_profile_file *)((char *)p + files[i].offset);
        if (!(f->where = join(dir, files[i].name)))
            goto oom;
        f->path = is_present(f->where, files[i].present) ? f->where : NULL;
    }
    return p;
oom:
    pm_profile_free(p);
    pm_err_set(err, "out of memory");
    return NULL;
}

void pm_profile_free(pm_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        free(((pm_profile_file *)((char *)p + files[i].offset))->where);
    free(p->dir);
    free(p);
}

/* 1 when dir's capabilities.yaml is readable, 0 when not, -1 when out of memory (with
 * err, when given). */
static int readable_map(const char *dir, pm_err *err)
{
    char *map = join(dir, "capabilities.yaml");
    if (!map) {
        if (err)
            pm_err_set(err, "out of memory");
        return -1;
    }
    int found = access(map, R_OK) == 0;
    free(map);
    return found;
}

/* The first profile beside the binary exe whose capabilities.yaml is readable: 1 with
 * *dir (a new string) and *source, 0 when none is, -1 when out of memory. */
static int find_beside(const char *exe, char **dir, const char **source)
{
    /* dirname(3) of a path without a trailing '/' (what readlink gives) */
    const char *slash = strrchr(exe, '/');
    if (!slash)
        exe = ".";
    int exe_dir_len = !slash ? 1 : slash == exe ? 1 : (int)(slash - exe);
    for (size_t i = 0; i < sizeof beside_exe / sizeof *beside_exe; i++) {
        size_t n = (size_t)exe_dir_len + strlen(beside_exe[i].relative) + 2;
        char *candidate = malloc(n);
        if (!candidate)
            return -1;
        snprintf(candidate, n, "%.*s/%s", exe_dir_len, exe, beside_exe[i].relative);
        int found = readable_map(candidate, NULL);
        if (found < 0) {
            free(candidate);
            return -1;
        }
        if (found) {
            *dir = candidate;
            *source = beside_exe[i].source;
            return 1;
        }
        free(candidate);
    }
    return 0;
}

pm_profile *pm_profile_find_in(const pm_profile_lookup *l, pm_err *err)
{
    if (l->given)
        return pm_profile_at(l->given, "flag", err);
    if (l->env && *l->env)
        return pm_profile_at(l->env, "env", err);
    char *dir = NULL;
    const char *source = NULL;
    int found = l->exe ? find_beside(l->exe, &dir, &source) : 0;
    if (found < 0) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (found == 0 && l->source_tree) {
        int in_source = readable_map(l->source_tree, err);
        if (in_source < 0)
            return NULL;
        if (in_source)
            return pm_profile_at(l->source_tree, "source", err);
    }
    if (found == 0)
        return pm_profile_at(l->fallback, "default", err);
    pm_profile *p = pm_profile_at(dir, source, err);
    free(dir);
    return p;
}

pm_profile *pm_profile_find(const char *given, pm_err *err)
{
    pm_profile_lookup l = {.given = given,
                           .env = getenv("PMIRROR_PROFILE"),
                           .source_tree = PMIRROR_SOURCE_PROFILE,
                           .fallback = PMIRROR_DEFAULT_PROFILE};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        l.exe = exe;
    }
    return pm_profile_find_in(&l, err);
}

pm_profile *pm_profile_open(const char *given, const char *suite_path, pm_suite **suite, pm_err *err)
{
    *suite = NULL;
    pm_profile *p = pm_profile_find(given, err);
    if (!p || !suite_path)
        return p;
    if (!(*suite = pm_suite_load(suite_path, p->dir, err))) {
        pm_profile_free(p);
        return NULL;
    }
    if (given)
        return p;
    /* the suite's own profile, or the one found, as pm_suite_load resolved it */
    pm_profile *from_suite = pm_profile_at((*suite)->profile_dir, (*suite)->profile_named ? "suite" : p->source, err);
    pm_profile_free(p);
    if (!from_suite) {
        pm_suite_free(*suite);
        *suite = NULL;
    }
    return from_suite;
}
