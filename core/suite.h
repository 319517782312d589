/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/suite.h — suites: the targets a replay sends to, their roles, and the pacing and policy
 * keys (suite.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_SUITE_H
#define PM_CORE_SUITE_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "select.h"
#include "tls.h"

typedef enum { PM_ROLE_BASELINE, PM_ROLE_CANDIDATE, PM_ROLE_SECONDARY } pm_role;

typedef struct pm_target {
    const char *name;     /* borrowed from the suite's config tree */
    const char *url;      /* base URL without a trailing slash, or "unix:/PATH[:/base]" (unix_addr.h);
                           * NULL for `recorded` and worker targets */
    const char *database; /* a worker target: the sandbox database's DSN (libpq string or URI); else NULL */
    const char *effects;  /* a worker target: the effects sink's address (HOST:PORT); NULL: none */
    const char **run;     /* a worker target: a scheduled program's argv (NULL-terminated; the
                           * strings borrowed), or NULL */
    size_t nrun;
    double run_timeout_s; /* a worker target: a scheduled run's time limit (default 600 s) */
    pm_role role;
    bool sandbox;         /* mutating requests may go here (with --allow-writes) */
    bool insecure;        /* TLS without verification */
    const pm_tls *tls;    /* ca, cert, key, server_name (borrowed from the suite's list); NULL: none */
    bool recorded;        /* the pseudo-target that answers with the capture's response */
    json_t *headers;      /* [[name, value], ...] set on every request (owned) */
    json_t *credentials;  /* {"redacted:<hex>": "real value"} (borrowed) */
    double timeout_s, connect_timeout_s;
} pm_target;

typedef struct pm_suite {
    pm_config *cfg;
    char *profile_dir;    /* resolved: the suite's own `profile`, else default_profile */
    bool profile_named;   /* the suite file names its profile */
    pm_target *targets;
    size_t ntargets;
    long concurrency;     /* pacing: defaults 32, 0, 0, 0 (0 = unset) */
    double rate, speed;
    long limit;
    pm_selection *selection; /* NULL: everything */
    bool allow_writes;
    pm_tls *tls_list;        /* the targets' TLS settings (owned) */
} pm_suite;

/* Loads and checks a suite file (DESIGN.md "The suite file"; every key in the README).
 * A relative `profile` is taken from the working directory when it exists there, else
 * from the suite file's directory; default_profile when the suite names none. */
pm_suite *pm_suite_load(const char *path, const char *default_profile, pm_err *err);
void pm_suite_free(pm_suite *s);
/* The names of the targets with `insecure: true` (new; an empty list: none): the run's
 * warning and its report's run.insecure_targets. */
json_t *pm_suite_insecure_targets(const pm_suite *s);
const char *pm_role_name(pm_role role);

/* The suite's `select.families` against the profile's names (NULL: unchecked): an unknown
 * family is an error at its file:line. (core/names.c defines pm_names.) */
struct pm_names;
int pm_suite_check_names(const pm_suite *s, const struct pm_names *names, pm_err *err);

#endif
