/* SPDX-License-Identifier: Apache-2.0 */
/*
 * suite.c — the suite file (DESIGN.md "The suite file"): which backends a run talks to,
 * in which role, with which credentials, at which pace, on which slice of the traffic.
 *
 * Every key is checked here, once, with file:line:column in the message: an unknown key
 * is an error (a typo such as `sandox: true` must not silently send writes nowhere or
 * everywhere), a target without a URL, a duplicate name, two baselines... all stop the
 * run before a single request leaves.
 */
#include "core.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const suite_keys[] = {"profile", "targets", "pacing", "select", "allow_writes", NULL};
static const char *const target_keys[] = {"name", "url", "role", "sandbox", "headers", "credentials",
                                          "timeout", "connect_timeout", "insecure", "database", "effects",
                                          "run", "run_timeout", "ca", "cert", "key", "server_name", NULL};
static const char *const pacing_keys[] = {"concurrency", "rate", "speed", "limit", NULL};
static const char *const select_keys[] = {"families", "cohort", NULL};

const char *pm_role_name(pm_role role)
{
    switch (role) {
    case PM_ROLE_BASELINE:
        return "baseline";
    case PM_ROLE_CANDIDATE:
        return "candidate";
    case PM_ROLE_SECONDARY:
        return "secondary";
    }
    return "?";
}

static int get_bool(const pm_config *cfg, const json_t *obj, const char *key, bool *out, pm_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return pm_config_error_at(cfg, v, err, "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* A number in [min, max]. The bounds keep what replay derives from it (milliseconds as
 * long, pacing delays as int64 microseconds, counts as long) representable. */
static int get_number(const pm_config *cfg, const json_t *obj, const char *key, double min, double max,
                      double *out, pm_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= min && json_number_value(v) <= max))
        return pm_config_error_at(cfg, v, err, "%s must be a number from %g to %g", key, min, max);
    *out = json_number_value(v);
    return 0;
}

/* headers: a mapping {Name: value} or a list of [name, value] pairs → pairs (new). */
static json_t *header_pairs(const pm_config *cfg, const json_t *v, pm_err *err)
{
    json_t *pairs = json_array();
    if (!v)
        return pairs;
    if (json_is_object(v)) {
        const char *name;
        const json_t *value;
        json_object_foreach((json_t *)v, name, value) {
            if (!json_is_string(value)) {
                json_decref(pairs);
                pm_config_error_at(cfg, value, err, "headers.%s must be a string", name);
                return NULL;
            }
            json_array_append_new(pairs, json_pack("[s,O]", name, value));
        }
        return pairs;
    }
    size_t i;
    const json_t *pair;
    if (json_is_array(v)) {
        json_array_foreach(v, i, pair) {
            if (json_array_size(pair) != 2 || !json_is_string(json_array_get(pair, 0)) ||
                !json_is_string(json_array_get(pair, 1))) {
                json_decref(pairs);
                pm_config_error_at(cfg, pair, err, "headers must be {Name: value} or [[name, value], ...]");
                return NULL;
            }
            json_array_append(pairs, (json_t *)pair);
        }
        return pairs;
    }
    json_decref(pairs);
    pm_config_error_at(cfg, v, err, "headers must be {Name: value} or [[name, value], ...]");
    return NULL;
}

/* A worker target (DESIGN.md "worker targets"): the sandbox database a worker deployment
 * reads its queue from, and where its outbound HTTP goes. `pmirror worker` inserts jobs there,
 * so the database must be marked `sandbox: true`: a production queue must never receive a
 * replayed job because a suite was copied with the wrong DSN. */
static int load_worker_target(pm_suite *s, const json_t *node, pm_target *t, pm_err *err)
{
    const pm_config *cfg = s->cfg;
    const json_t *db = json_object_get(node, "database"), *fx = json_object_get(node, "effects");
    if (json_object_get(node, "url"))
        return pm_config_key_error_at(cfg, node, "url", err,
                                      "target %s: a worker target (database:) has no url", t->name);
    if (!db || !json_is_string(db) || !*json_string_value(db))
        return pm_config_error_at(cfg, db ? db : node, err,
                                  "target %s: database must be a PostgreSQL DSN (libpq string or URI)", t->name);
    if (fx && (!json_is_string(fx) || !strchr(json_string_value(fx), ':')))
        return pm_config_error_at(cfg, fx, err, "target %s: effects must be an address HOST:PORT", t->name);
    static const char *const tls_keys[] = {"ca", "cert", "key", "server_name"};
    for (size_t i = 0; i < sizeof tls_keys / sizeof *tls_keys; i++)
        if (json_object_get(node, tls_keys[i]))
            return pm_config_key_error_at(cfg, node, tls_keys[i], err,
                                          "target %s: %s belongs to URL targets (a worker target's effects "
                                          "sink is pmirror's own listener)",
                                          t->name, tls_keys[i]);
    if (get_bool(cfg, node, "sandbox", &t->sandbox, err))
        return -1;
    if (!t->sandbox)
        return pm_config_error_at(cfg, db, err,
                                  "target %s: a worker target's database must be marked sandbox: true "
                                  "(pmirror worker writes jobs into it)",
                                  t->name);
    t->database = json_string_value(db);
    t->effects = fx ? json_string_value(fx) : NULL;
    t->timeout_s = 60; /* a job's time from enqueue to outcome */
    t->connect_timeout_s = 10;
    t->run_timeout_s = 600; /* a scheduled program's single run */
    if (get_number(cfg, node, "timeout", 0.001, 1e6, &t->timeout_s, err) ||
        get_number(cfg, node, "connect_timeout", 1, 1e6, &t->connect_timeout_s, err) ||
        get_number(cfg, node, "run_timeout", 0.001, 1e6, &t->run_timeout_s, err))
        return -1;
    const json_t *run = json_object_get(node, "run");
    if (run) { /* a scheduled program's argv: a non-empty list of strings */
        if (!json_is_array(run) || json_array_size(run) == 0 || json_array_size(run) > 256)
            return pm_config_error_at(cfg, run, err, "target %s: run must be a list [program, args...]", t->name);
        if (!(t->run = calloc(json_array_size(run) + 1, sizeof *t->run)))
            return pm_err_set(err, "out of memory");
        for (size_t i = 0; i < json_array_size(run); i++) {
            const json_t *arg = json_array_get(run, i);
            if (!json_is_string(arg) || strlen(json_string_value(arg)) != json_string_length(arg) ||
                (i == 0 && !*json_string_value(arg)))
                return pm_config_error_at(cfg, arg, err, "target %s: run[%zu] must be a non-empty string", t->name,
                                          i);
            t->run[t->nrun++] = json_string_value(arg);
        }
    }
    t->headers = json_array();
    return 0;
}

/* A TLS file key: a non-empty string, taken from the suite file's directory when relative,
 * readable now (an unreadable bundle found at the first request would fail every call). */
static int tls_path(const pm_suite *s, const json_t *node, const pm_target *t, const char *key, char **out,
                    pm_err *err)
{
    const json_t *v = json_object_get(node, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return pm_config_error_at(s->cfg, v, err, "target %s: %s must be a file path", t->name, key);
    const char *p = json_string_value(v);
    if (p[0] == '/') {
        *out = strdup(p);
    } else {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", pm_config_path(s->cfg));
        const char *dir = dirname(copy);
        size_t n = strlen(dir) + strlen(p) + 2;
        if ((*out = malloc(n)))
            snprintf(*out, n, "%s/%s", dir, p);
    }
    if (!*out)
        return pm_err_set(err, "out of memory");
    pm_err why;
    if (pm_tls_check_file(key, *out, &why) != 0)
        return pm_config_error_at(s->cfg, v, err, "target %s: %s", t->name, why.msg);
    return 0;
}

/* ca, cert, key, server_name: the target's TLS (tls.h), on the suite's list. */
static int load_tls(pm_suite *s, const json_t *node, pm_target *t, pm_err *err)
{
    const json_t *name = json_object_get(node, "server_name");
    if (!json_object_get(node, "ca") && !json_object_get(node, "cert") && !json_object_get(node, "key") && !name)
        return 0;
    if (t->recorded)
        return pm_config_error_at(s->cfg, node, err, "target %s: the recording has no TLS to set", t->name);
    pm_tls *tls = calloc(1, sizeof *tls);
    if (!tls)
        return pm_err_set(err, "out of memory");
    tls->next = s->tls_list;
    s->tls_list = tls;
    if (tls_path(s, node, t, "ca", &tls->ca, err) || tls_path(s, node, t, "cert", &tls->cert, err) ||
        tls_path(s, node, t, "key", &tls->key, err))
        return -1;
    if (tls->key && !tls->cert)
        return pm_config_key_error_at(s->cfg, node, "key", err, "target %s: key without cert", t->name);
    if (name) {
        const char *n = json_string_value(name);
        if (!n || !*n || strcspn(n, ":/[]@ ") != strlen(n))
            return pm_config_error_at(s->cfg, name, err, "target %s: server_name must be a host name", t->name);
        if (!(tls->server_name = strdup(n)))
            return pm_err_set(err, "out of memory");
        pm_err why;
        if (pm_tls_route(tls, t->url, &why) != 0)
            return pm_config_error_at(s->cfg, name, err, "target %s: %s", t->name, why.msg);
        t->url = tls->url; /* the name in the URL; CURLOPT_CONNECT_TO reaches the original host */
    }
    t->tls = tls;
    return 0;
}

static int load_target(pm_suite *s, const json_t *node, pm_target *t, pm_err *err)
{
    const pm_config *cfg = s->cfg;
    if (pm_config_check_keys(cfg, node, "target", target_keys, err) != 0)
        return -1;
    t->name = json_string_value(json_object_get(node, "name"));
    if (!t->name || !*t->name)
        return pm_config_error_at(cfg, node, err, "a target needs a name");
    const char *role = json_string_value(json_object_get(node, "role"));
    if (!role)
        return pm_config_error_at(cfg, node, err, "target %s: role must be baseline, candidate or secondary",
                                  t->name);
    if (strcmp(role, "baseline") == 0)
        t->role = PM_ROLE_BASELINE;
    else if (strcmp(role, "candidate") == 0)
        t->role = PM_ROLE_CANDIDATE;
    else if (strcmp(role, "secondary") == 0)
        t->role = PM_ROLE_SECONDARY;
    else
        return pm_config_error_at(cfg, json_object_get(node, "role"), err,
                                  "target %s: role '%s' is not baseline, candidate or secondary", t->name, role);
    const json_t *url = json_object_get(node, "url");
    const char *u = json_string_value(url);
    if (json_object_get(node, "database") || json_object_get(node, "effects"))
        return load_worker_target(s, node, t, err);
    if (json_object_get(node, "run") || json_object_get(node, "run_timeout"))
        return pm_config_key_error_at(cfg, node, json_object_get(node, "run") ? "run" : "run_timeout", err,
                                      "target %s: run belongs to worker targets (database:)", t->name);
    if (strcmp(t->name, "recorded") == 0 || (u && strcmp(u, "recorded") == 0)) {
        t->recorded = true;
    } else if (pm_is_unix_url(u)) { /* a gunicorn on its socket, as nginx reaches it in a Quay pod */
        char path[PM_UNIX_PATH_MAX + 1];
        const char *base;
        pm_err why;
        if (pm_unix_url_split(u, path, sizeof path, &base, &why) != 0)
            return pm_config_error_at(cfg, url, err, "target %s: url %s", t->name, why.msg);
        t->url = u;
    } else if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
        return pm_config_error_at(cfg, url ? url : node, err,
                                  "target %s: url must start with http://, https:// or unix:/", t->name);
    } else {
        t->url = u;
    }
    t->timeout_s = 30;
    t->connect_timeout_s = 5;
    if (get_bool(cfg, node, "sandbox", &t->sandbox, err) || get_bool(cfg, node, "insecure", &t->insecure, err) ||
        get_number(cfg, node, "timeout", 0.001, 1e6, &t->timeout_s, err) ||
        get_number(cfg, node, "connect_timeout", 0.001, 1e6, &t->connect_timeout_s, err))
        return -1;
    t->headers = header_pairs(cfg, json_object_get(node, "headers"), err);
    if (!t->headers || load_tls(s, node, t, err) != 0)
        return -1;
    const json_t *creds = json_object_get(node, "credentials");
    if (creds) {
        if (!json_is_object(creds))
            return pm_config_error_at(cfg, creds, err, "target %s: credentials must map \"redacted:...\" to a value",
                                      t->name);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)creds, key, v)
            if (strncmp(key, "redacted:", 9) != 0 || !json_is_string(v))
                return pm_config_error_at(cfg, v, err,
                                          "target %s: credentials keys are \"redacted:<hex>\" tokens from the "
                                          "capture, values are strings",
                                          t->name);
        t->credentials = (json_t *)creds;
    }
    return 0;
}

static int load_pacing(pm_suite *s, pm_err *err)
{
    const json_t *p = json_object_get(pm_config_root(s->cfg), "pacing");
    s->concurrency = 32;
    if (!p)
        return 0;
    if (pm_config_check_keys(s->cfg, p, "pacing", pacing_keys, err) != 0)
        return -1;
    double concurrency = 32, limit = 0;
    if (get_number(s->cfg, p, "concurrency", 1, 1e5, &concurrency, err) ||
        get_number(s->cfg, p, "limit", 0, 1e15, &limit, err))
        return -1;
    if (get_number(s->cfg, p, "rate", 0, 1e9, &s->rate, err) || get_number(s->cfg, p, "speed", 0, 1e9, &s->speed, err))
        return -1;
    /* 0 is unpaced; a tiny positive rate or speed would make a delay past int64 microseconds */
    const char *tiny = s->rate > 0 && s->rate < 0.001 ? "rate" : s->speed > 0 && s->speed < 0.001 ? "speed" : NULL;
    if (tiny)
        return pm_config_error_at(s->cfg, json_object_get(p, tiny), err, "%s must be 0 (unpaced) or from 0.001", tiny);
    s->concurrency = (long)concurrency;
    s->limit = (long)limit;
    return 0;
}

static int load_selection(pm_suite *s, pm_err *err)
{
    const json_t *sel = json_object_get(pm_config_root(s->cfg), "select");
    if (!sel)
        return 0;
    if (pm_config_check_keys(s->cfg, sel, "select", select_keys, err) != 0)
        return -1;
    s->selection = pm_selection_new();
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(sel, "families"), i, f) {
        if (!json_is_string(f))
            return pm_config_error_at(s->cfg, f, err, "select.families: a list of family names");
        if (pm_selection_add_family(s->selection, json_string_value(f), err) != 0)
            return -1;
    }
    const json_t *cohort = json_object_get(sel, "cohort");
    if (cohort) {
        pm_err inner;
        if (!json_is_string(cohort) || pm_selection_parse(s->selection, json_string_value(cohort), &inner) != 0)
            return pm_config_error_at(s->cfg, cohort, err, "select.cohort: %s",
                                      json_is_string(cohort) ? inner.msg : "a string like org=acme,percent=5");
    }
    return 0;
}

static char *resolve_profile(const char *suite_path, const char *profile)
{
    if (profile[0] == '/' || access(profile, F_OK) == 0)
        return strdup(profile);
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", suite_path);
    char *dir = dirname(copy);
    size_t n = strlen(dir) + strlen(profile) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", dir, profile);
    return out;
}

pm_suite *pm_suite_load(const char *path, const char *default_profile, pm_err *err)
{
    pm_suite *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    s->cfg = pm_config_load(path, err);
    if (!s->cfg)
        goto fail;
    const json_t *root = pm_config_root(s->cfg);
    if (pm_config_check_keys(s->cfg, root, "suite", suite_keys, err) != 0)
        goto fail;
    const json_t *profile = json_object_get(root, "profile");
    if (profile && !json_is_string(profile)) {
        pm_config_error_at(s->cfg, profile, err, "profile must be a directory path");
        goto fail;
    }
    s->profile_dir = resolve_profile(path, profile ? json_string_value(profile) : default_profile);
    s->profile_named = profile != NULL;
    const json_t *targets = json_object_get(root, "targets");
    if (!json_is_array(targets) || json_array_size(targets) == 0) {
        pm_config_error_at(s->cfg, targets ? targets : root, err, "targets: a list of at least one target");
        goto fail;
    }
    s->ntargets = json_array_size(targets);
    s->targets = calloc(s->ntargets, sizeof *s->targets);
    if (!s->targets) {
        pm_err_set(err, "out of memory");
        goto fail;
    }
    int baselines = 0, candidates = 0;
    for (size_t i = 0; i < s->ntargets; i++) {
        const json_t *node = json_array_get(targets, i);
        if (load_target(s, node, &s->targets[i], err) != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->targets[j].name, s->targets[i].name) == 0) {
                pm_config_error_at(s->cfg, node, err, "target name '%s' is used twice", s->targets[i].name);
                goto fail;
            }
        baselines += s->targets[i].role == PM_ROLE_BASELINE;
        candidates += s->targets[i].role == PM_ROLE_CANDIDATE;
    }
    if (baselines > 1 || candidates > 1) {
        pm_config_error_at(s->cfg, targets, err, "at most one baseline and one candidate target (found %d and %d)",
                           baselines, candidates);
        goto fail;
    }
    if (get_bool(s->cfg, root, "allow_writes", &s->allow_writes, err) != 0 || load_pacing(s, err) != 0 ||
        load_selection(s, err) != 0)
        goto fail;
    return s;
fail:
    pm_suite_free(s);
    return NULL;
}

void pm_suite_free(pm_suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntargets; i++) {
        json_decref(s->targets[i].headers);
        free((void *)s->targets[i].run);
    }
    free(s->targets);
    pm_tls_free_list(s->tls_list);
    free(s->profile_dir);
    pm_selection_free(s->selection);
    pm_config_free(s->cfg);
    free(s);
}

int pm_suite_check_names(const pm_suite *s, const struct pm_names *names, pm_err *err)
{
    const json_t *sel = json_object_get(pm_config_root(s->cfg), "select");
    return pm_names_check_list(names, s->cfg, json_object_get(sel, "families"), "select.families", false, err);
}

json_t *pm_suite_insecure_targets(const pm_suite *s)
{
    json_t *names = json_array();
    for (size_t i = 0; s && i < s->ntargets; i++)
        if (s->targets[i].insecure && !s->targets[i].recorded)
            json_array_append_new(names, json_string(s->targets[i].name));
    return names;
}
