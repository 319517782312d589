/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/profile.h — profiles: the directory of a profile found once (--profile, the suite's,
 * $PMIRROR_PROFILE, beside the binary, compiled in) and the paths of its files (profile.c,
 * redact_profile.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_PROFILE_H
#define PM_CORE_PROFILE_H

#include "err.h"
#include "redact.h"
#include "suite.h"

/* A profile is a directory (config/quay/ ships one): the capability map, the
 * normalization rules, the gate thresholds, replay's correlation rules and the extra
 * secret names. A command finds it once and takes every file's path from it. */

/* One file of a profile. */
typedef struct pm_profile_file {
    char *where;      /* DIR/NAME, always: where it is looked for (named by a command that
                       * cannot do without it, e.g. the map for capture) */
    const char *path; /* where, when the file is there; NULL when absent (a command that can
                       * do without it goes on without it) */
} pm_profile_file;

typedef struct pm_profile {
    char *dir;          /* as found (report.json's run.profile) */
    const char *source; /* how: "flag" (--profile), "suite" (the suite file's `profile`),
                         * "env" ($PMIRROR_PROFILE), "installed" (../share/pmirror/profiles/quay
                         * beside the binary), "build" (../config/quay beside it), "source"
                         * (the source tree's, compiled in), "default" (the installed path,
                         * compiled in) */
    /* Absent means: not readable for these three (as commands have always judged them)... */
    pm_profile_file capabilities; /* capabilities.yaml: the map; the report's coverage */
    pm_profile_file rules;        /* rules.yaml: diff's normalization rules */
    pm_profile_file gate;         /* gate.yaml: the gate's thresholds */
    /* ... and not there at all for these two: one that is there but cannot be read is an
     * error when it is loaded, never skipped in silence. */
    pm_profile_file correlation;  /* correlation.yaml: replay's correlation rules */
    pm_profile_file redact;       /* redact.yaml: extra secret names (pm_redact_rules_load) */
    /* (readable, as the first three) */
    pm_profile_file workers;      /* workers.yaml: the worker map (pm_workers_load) */
} pm_profile;

/* Where a lookup looks, in this order (pm_profile_find fills it from the process). */
typedef struct pm_profile_lookup {
    const char *given;    /* --profile; NULL: not given */
    const char *env;      /* $PMIRROR_PROFILE; NULL or "": not set */
    const char *exe;      /* the running binary's path: a profile beside it (installed:
                           * ../share/pmirror/profiles/quay, then a build tree's ../config/quay)
                           * counts when its capabilities.yaml is readable; NULL: unknown */
    const char *source_tree; /* the source tree's profile: counts when its map is readable;
                              * NULL: none */
    const char *fallback; /* the last resort: the installed profile's absolute path */
} pm_profile_lookup;

pm_profile *pm_profile_find_in(const pm_profile_lookup *l, pm_err *err);
/* given (--profile), else $PMIRROR_PROFILE, else ../share/pmirror/profiles/quay or
 * ../config/quay beside /proc/self/exe, else the source tree's (compiled in, when there),
 * else the installed path compiled in (PMIRROR_DEFAULT_PROFILE). NULL only when out of
 * memory. */
pm_profile *pm_profile_find(const char *given, pm_err *err);
/* The profile at dir, found by `source` (a string that outlives it). */
pm_profile *pm_profile_at(const char *dir, const char *source, pm_err *err);
/* A command's profile and suite together: the profile found (pm_profile_find), the suite
 * loaded with it as its default (when suite_path; else *suite is NULL), and the suite's
 * profile taken unless given. NULL with err (the suite's error) on failure. */
pm_profile *pm_profile_open(const char *given, const char *suite_path, pm_suite **suite, pm_err *err);
void pm_profile_free(pm_profile *p);
/* A redactor with the profile's extra secret names (redact.yaml) added to the defaults;
 * key and output as pm_redactor_new takes them. (core/redact_profile.c) */
/* Writes a commented skeleton of every profile file into dir (created when missing): the
 * capability map, rules, gate, correlation and redaction files, and with `workers` the
 * worker map. Never overwrites: a file already there is an error before anything is
 * written. 0, or -1 with err naming the path. (core/profile_skeleton.c) */
int pm_profile_write_skeleton(const char *dir, bool workers, pm_err *err);
pm_redactor *pm_profile_redactor(const pm_profile *p, const char *key, const char *output, pm_err *err);

#endif
