/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollback.c — the tee acting on its own decisions (`--switches FILE --on-rollback CMD`,
 * issue 19 item 4). On each decision tick (cmd_tee's one-second loop, through
 * pipeline_tee_tick) the watcher
 *
 *   - re-reads the switch snapshot when its file changed (device, inode, size or mtime:
 *     an editor's rename and a control plane's rewrite both show), keeping the previous
 *     one while the new one does not parse;
 *   - reads the report the tee's builder makes (sequential decisions: valid at every
 *     tick) for scopes whose decision is `rollback`: a family, or a capability whose own
 *     capability switch is `go` in the snapshot;
 *   - for each such switch that is `go` in the snapshot and not already acted on, runs CMD
 *     once through /bin/sh -c with posix_spawn — never waited for: the shadow side goes on
 *     and the child is reaped on a later tick — with PMIRROR_FAMILY, PMIRROR_CAPABILITY
 *     (capabilities only), PMIRROR_SWITCH, PMIRROR_DECISION, PMIRROR_REASONS (the
 *     decision's reasons joined by "; "), PMIRROR_SAMPLES, PMIRROR_MISMATCHES,
 *     PMIRROR_SWITCHES_FILE and PMIRROR_REPORT_DIR in its environment.
 *
 * "Once" is per switch: a switch acted on is not acted on again while the snapshot says
 * `go`; when a re-read snapshot no longer says `go` for it (the hook worked) it is
 * forgotten, so a later flip back to `go` that fails again is a new decision. A switch the
 * snapshot gives to python is never acted on. Everything said goes into an events list
 * for cli/ to print; nothing here prints.
 */
#include "pipeline.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

#define ROLLBACK_MAX_CHILDREN 64

struct pipeline_rollback {
    char *switches_path, *command, *report_dir;
    pm_config *snapshot;     /* the one in force */
    struct stat seen;        /* the file as last read */
    json_t *acted;           /* switch -> true: acted on while it is go */
    pid_t children[ROLLBACK_MAX_CHILDREN];
    char *child_switch[ROLLBACK_MAX_CHILDREN];
    size_t nchildren;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

pipeline_rollback *pipeline_rollback_new(const char *switches_path, const char *command, const char *report_dir,
                                         pm_err *err)
{
    pipeline_rollback *r = calloc(1, sizeof *r);
    if (!r || !(r->switches_path = strdup(switches_path)) || (command && !(r->command = strdup(command))) ||
        (report_dir && !(r->report_dir = strdup(report_dir))) || !(r->acted = json_object())) {
        pipeline_rollback_free(r);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (stat(switches_path, &r->seen) != 0) {
        pm_err_set(err, "%s: %s", switches_path, strerror(errno));
        pipeline_rollback_free(r);
        return NULL;
    }
    if (!(r->snapshot = pm_config_load(switches_path, err)) || !reports_switch_owner(pm_config_root(r->snapshot), "")) {
        if (r->snapshot)
            pm_err_set(err, "%s: not a switch snapshot (a mapping of SWITCH: owner)", switches_path);
        pipeline_rollback_free(r);
        return NULL;
    }
    return r;
}

void pipeline_rollback_free(pipeline_rollback *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchildren; i++) {
        waitpid(r->children[i], NULL, WNOHANG); /* a child still running is left to init */
        free(r->child_switch[i]);
    }
    pm_config_free(r->snapshot);
    json_decref(r->acted);
    free(r->switches_path);
    free(r->command);
    free(r->report_dir);
    free(r);
}

const json_t *pipeline_rollback_snapshot(const pipeline_rollback *r)
{
    return pm_config_root(r->snapshot);
}

/* "go" when the snapshot gives switch_name to go, as Quay reads it. */
static bool is_go(const json_t *snapshot, const char *switch_name)
{
    const char *owner = switch_name ? reports_switch_owner(snapshot, switch_name) : NULL;
    return owner && strcmp(owner, "go") == 0;
}

/* ---- the snapshot -------------------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int pipeline_rollback_reload(pipeline_rollback *r, bool *changed, json_t *events)
{
    *changed = false;
    struct stat now;
    if (stat(r->switches_path, &now) != 0 || same_file(&now, &r->seen))
        return 0; /* gone for a moment (a rename in progress): keep the one in force */
    pm_err err;
    pm_config *next = pm_config_load(r->switches_path, &err);
    if (!next || !reports_switch_owner(pm_config_root(next), "")) {
        if (next)
            pm_json_append_printf(events, "%s changed but is not a switch snapshot; the previous one stays", r->switches_path);
        else
            pm_json_append_printf(events, "%s changed but does not load (%s); the previous one stays", r->switches_path, err.msg);
        pm_config_free(next);
        r->seen = now; /* said once; read again when it changes again */
        return -1;
    }
    pm_config_free(r->snapshot);
    r->snapshot = next;
    r->seen = now;
    *changed = true;
    /* switches no longer go are forgotten: flipped back to go and failing is a new decision */
    const char *sw;
    json_t *v, *tmp;
    json_object_foreach_safe(r->acted, tmp, sw, v) {
        if (!is_go(pm_config_root(r->snapshot), sw))
            json_object_del(r->acted, sw);
    }
    pm_json_append_printf(events, "%s re-read", r->switches_path);
    return 0;
}

/* ---- the command ----------------------------------------------------------------------------- */

static const char *reason_at(const json_t *reasons, size_t i)
{
    const char *s = json_string_value(json_array_get(reasons, i));
    return s ? s : "";
}

static char *joined_reasons(const json_t *reasons)
{
    size_t len = 1;
    for (size_t i = 0; i < json_array_size(reasons); i++)
        len += strlen(reason_at(reasons, i)) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(reasons); i++) {
        if (i)
            strcat(out, "; ");
        strcat(out, reason_at(reasons, i));
    }
    return out;
}

static bool ours(const char *entry)
{
    return strncmp(entry, "PMIRROR_", 8) == 0;
}

/* environ without PMIRROR_* entries, then ours: a new array of new strings (NULL-ended). */
static char **child_environment(const char *family, const char *capability, const char *switch_name,
                                const json_t *scope, const char *switches_path, const char *report_dir)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 16, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!ours(environ[i]))
            env[k++] = strdup(environ[i]);
    char *reasons = joined_reasons(json_object_get(scope, "reasons"));
    json_int_t match = json_integer_value(json_object_get(scope, "match"));
    json_int_t mismatch = json_integer_value(json_object_get(scope, "mismatch"));
    json_int_t error = json_integer_value(json_object_get(scope, "error"));
    char *ours_[9] = {0};
    if (asprintf(&ours_[0], "PMIRROR_FAMILY=%s", family) < 0)
        ours_[0] = NULL;
    if (capability && asprintf(&ours_[1], "PMIRROR_CAPABILITY=%s", capability) < 0)
        ours_[1] = NULL;
    if (asprintf(&ours_[2], "PMIRROR_SWITCH=%s", switch_name) < 0)
        ours_[2] = NULL;
    ours_[3] = strdup("PMIRROR_DECISION=rollback");
    if (asprintf(&ours_[4], "PMIRROR_REASONS=%s", reasons ? reasons : "") < 0)
        ours_[4] = NULL;
    if (asprintf(&ours_[5], "PMIRROR_SAMPLES=%lld", (long long)(match + mismatch + error)) < 0)
        ours_[5] = NULL;
    if (asprintf(&ours_[6], "PMIRROR_MISMATCHES=%lld", (long long)mismatch) < 0)
        ours_[6] = NULL;
    if (asprintf(&ours_[7], "PMIRROR_SWITCHES_FILE=%s", switches_path) < 0)
        ours_[7] = NULL;
    if (report_dir && asprintf(&ours_[8], "PMIRROR_REPORT_DIR=%s", report_dir) < 0)
        ours_[8] = NULL;
    free(reasons);
    for (size_t i = 0; i < 9; i++)
        if (ours_[i])
            env[k++] = ours_[i];
    env[k] = NULL;
    return env;
}

static void free_environment(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Starts CMD for one scope; its pid, or -1 with *why. The child gets the signals the tee
 * blocks (SIGHUP, SIGINT, SIGTERM) unblocked and at their defaults. */
static pid_t spawn_hook(const pipeline_rollback *r, const char *family, const char *capability,
                        const char *switch_name, const json_t *scope, int *why)
{
    char **env = child_environment(family, capability, switch_name, scope, r->switches_path, r->report_dir);
    if (!env) {
        *why = ENOMEM;
        return -1;
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"/bin/sh", "-c", r->command, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    free_environment(env);
    if (rc != 0) {
        *why = rc;
        return -1;
    }
    return pid;
}

/* Reaps the hooks that ended, saying how. */
static void reap(pipeline_rollback *r, json_t *events)
{
    for (size_t i = 0; i < r->nchildren;) {
        int status;
        pid_t got = waitpid(r->children[i], &status, WNOHANG);
        if (got == 0) {
            i++;
            continue;
        }
        if (got == r->children[i]) {
            if (WIFEXITED(status))
                pm_json_append_printf(events, "--on-rollback for %s (pid %ld) exited %d", r->child_switch[i], (long)got,
                      WEXITSTATUS(status));
            else if (WIFSIGNALED(status))
                pm_json_append_printf(events, "--on-rollback for %s (pid %ld) killed by signal %d", r->child_switch[i], (long)got,
                      WTERMSIG(status));
        }
        free(r->child_switch[i]);
        r->nchildren--;
        r->children[i] = r->children[r->nchildren];
        r->child_switch[i] = r->child_switch[r->nchildren];
    }
}

/* One scope decided `rollback` on switch_name: acted on unless already, or not go. */
static bool act(pipeline_rollback *r, const char *family, const char *capability, const char *switch_name,
                const json_t *scope, tee_metrics *metrics, json_t *events)
{
    const json_t *snapshot = pm_config_root(r->snapshot);
    if (!switch_name || !is_go(snapshot, switch_name) || json_object_get(r->acted, switch_name))
        return false;
    json_object_set_new(r->acted, switch_name, json_true());
    const char *first = json_string_value(json_array_get(json_object_get(scope, "reasons"), 0));
    if (!r->command) {
        pm_json_append_printf(events, "rollback: %s%s%s (%s): %s", family, capability ? "/" : "", capability ? capability : "",
              switch_name, first ? first : "");
        return true;
    }
    int why = 0;
    pid_t pid = spawn_hook(r, family, capability, switch_name, scope, &why);
    if (pid < 0) {
        pm_json_append_printf(events, "rollback: %s (%s): --on-rollback could not start: %s", family, switch_name, strerror(why));
        return true;
    }
    if (metrics)
        tee_metrics_count_rollback(metrics, family);
    if (r->nchildren < ROLLBACK_MAX_CHILDREN) {
        r->children[r->nchildren] = pid;
        r->child_switch[r->nchildren++] = dup_or_null(switch_name);
    }
    pm_json_append_printf(events, "rollback: %s%s%s (%s go -> python): --on-rollback started (pid %ld): %s", family,
          capability ? "/" : "", capability ? capability : "", switch_name, (long)pid, first ? first : "");
    return true;
}

size_t pipeline_rollback_act(pipeline_rollback *r, const json_t *report, tee_metrics *metrics, json_t *events)
{
    reap(r, events);
    const json_t *snapshot = pm_config_root(r->snapshot);
    size_t fired = 0;
    const char *family;
    const json_t *fam;
    json_object_foreach((json_t *)json_object_get(report, "families"), family, fam) {
        const char *fam_switch = json_string_value(json_object_get(fam, "switch"));
        const char *d = json_string_value(json_object_get(fam, "decision"));
        if (d && strcmp(d, "rollback") == 0)
            fired += act(r, family, NULL, fam_switch, fam, metrics, events);
        const char *cap;
        const json_t *c;
        json_object_foreach((json_t *)json_object_get(fam, "capabilities"), cap, c) {
            const char *cap_switch = json_string_value(json_object_get(c, "switch"));
            const char *cd = json_string_value(json_object_get(c, "decision"));
            /* a capability switch of its own, go in the snapshot: flipping the family's
             * would not take the capability back */
            if (cd && strcmp(cd, "rollback") == 0 && cap_switch && (!fam_switch || strcmp(cap_switch, fam_switch)) &&
                is_go(snapshot, cap_switch))
                fired += act(r, family, cap, cap_switch, c, metrics, events);
        }
    }
    return fired;
}
