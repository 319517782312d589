/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee.c — `pmirror tee` assembled (pipeline.h): the suite and its profile, the targets of
 * each mode, the capability map and the selection the front applies, the redactors, the
 * --record file, the diff engines (one per shadow worker) and the report builder, the
 * metrics; then the front (tee/) and the shadow workers (shadow.c) started, report snapshots taken on demand, and
 * the drain: the front first (answers in progress finish), then the shadows, then the
 * record closed and the final report written. With --switches, the decision tick
 * (pipeline_tee_tick) acts on the live decisions through rollback.c; the tee's decisions
 * are always sequential (valid at every snapshot and tick: core/sequential.h).
 *
 * Proxy mode's targets are the primary — its answer is the recording, the replay
 * engine's `recorded` pseudo-target, role baseline — and the shadow (role candidate).
 * With a suite they take the names, credentials, headers, sandbox flag and timeouts of
 * the suite's baseline and candidate; the shadow URL gives the candidate's URL. Sink
 * mode's targets are the suite's.
 */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pipeline_tee {
    pipeline_tee_options o;
    pm_profile *profile;
    pm_suite *given;          /* -c SUITE */
    pm_suite *proxy;          /* proxy mode's primary + shadow */
    pm_tls *tls_list;         /* proxy mode: the primary's and the shadow's TLS (core/tls.h) */
    const pm_suite *targets;  /* the one the replay engine uses */
    pm_capmap *map;
    pm_selection *selection;
    pm_redactor *redactor, *answer_redactor;
    pm_jsonl_writer *record;
    pthread_mutex_t record_lock;
    unsigned nshadows;        /* shadow workers */
    diff_engine **diffs;      /* one per shadow worker */
    reports_builder *report;
    pthread_mutex_t report_lock;
    tee_metrics *metrics;
    pipeline_shadow *shadow;
    tee_front *tee;
    pipeline_rollback *rollback; /* --switches: the snapshot and the --on-rollback hook */
};

/* ---- targets ------------------------------------------------------------------------------- */

static const pm_target *target_with_role(const pm_suite *s, pm_role role)
{
    for (size_t i = 0; s && i < s->ntargets; i++)
        if (s->targets[i].role == role && !s->targets[i].recorded)
            return &s->targets[i];
    return NULL;
}

/* Proxy mode: [primary (recorded, baseline), shadow (candidate)]. */
static pm_suite *proxy_suite(const pm_suite *given, const pipeline_tee_options *o, const pm_tls *shadow_tls)
{
    pm_suite *s = calloc(1, sizeof *s);
    if (!s || !(s->targets = calloc(2, sizeof *s->targets))) {
        pm_suite_free(s);
        return NULL;
    }
    s->ntargets = 2;
    const pm_target *base = target_with_role(given, PM_ROLE_BASELINE);
    const pm_target *cand = target_with_role(given, PM_ROLE_CANDIDATE);
    pm_target *p = &s->targets[0], *sh = &s->targets[1];
    p->name = base ? base->name : "primary";
    p->role = PM_ROLE_BASELINE;
    p->recorded = true;
    if (cand) {
        *sh = *cand;
        json_incref(sh->headers);
    } else {
        sh->name = "shadow";
        sh->timeout_s = 30;
        sh->connect_timeout_s = 5;
    }
    sh->url = shadow_tls && shadow_tls->url ? shadow_tls->url : o->shadow; /* server_name: the name */
    sh->tls = shadow_tls;
    sh->role = PM_ROLE_CANDIDATE;
    sh->sandbox = sh->sandbox || o->sandbox;
    s->allow_writes = given && given->allow_writes;
    s->concurrency = given ? given->concurrency : 0;
    return s;
}

static const pm_tls *tls_of(const pm_suite *s, pm_role role)
{
    const pm_target *t = target_with_role(s, role);
    return t ? t->tls : NULL;
}

static bool any_sandbox(const pm_suite *s)
{
    for (size_t i = 0; i < s->ntargets; i++)
        if (s->targets[i].sandbox && !s->targets[i].recorded)
            return true;
    return false;
}

/* Sink mode: the suite's targets, none of which may be the recording (a sink has none);
 * proxy mode: primary and shadow. */
static int choose_targets(pipeline_tee *t, pm_err *err)
{
    const pipeline_tee_options *o = &t->o;
    if (o->sink) {
        for (size_t i = 0; i < t->given->ntargets; i++)
            if (t->given->targets[i].recorded)
                return pm_err_set(err, "%s: target '%s': a sink has no recording to answer from (proxy mode "
                                       "has: its primary)", o->suite_path, t->given->targets[i].name);
        t->targets = t->given;
    } else {
        pm_tls *primary_tls, *shadow_tls; /* the command line's over the suite's baseline and candidate */
        if (pm_tls_derive(&o->primary_tls, tls_of(t->given, PM_ROLE_BASELINE), o->front.primary, "--primary",
                          &t->tls_list, &primary_tls, err) != 0 ||
            pm_tls_derive(&o->shadow_tls, tls_of(t->given, PM_ROLE_CANDIDATE), o->shadow, "--shadow", &t->tls_list,
                          &shadow_tls, err) != 0)
            return -1;
        t->o.front.primary_tls = primary_tls;
        if (primary_tls && primary_tls->url)
            t->o.front.primary = primary_tls->url;
        if (!(t->proxy = proxy_suite(t->given, o, shadow_tls)))
            return pm_err_set(err, "out of memory");
        t->targets = t->proxy;
    }
    if (o->shadow_timeout > 0) {
        pm_suite *s = (pm_suite *)t->targets; /* ours: the proxy's, or the suite we loaded */
        for (size_t i = 0; i < s->ntargets; i++)
            s->targets[i].timeout_s = o->shadow_timeout;
    }
    return 0;
}

/* ---- set-up --------------------------------------------------------------------------------- */

/* --shadow-workers, else the CPUs the front's event loops leave (proxy mode: --workers,
 * else half the CPUs; sink mode's front is one daemon), at least one. */
static unsigned shadow_workers(const pipeline_tee_options *o)
{
    if (o->shadow_workers)
        return o->shadow_workers > 64 ? 64 : o->shadow_workers;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long front = o->sink ? 1 : o->front.workers ? (long)o->front.workers : (long)tee_default_workers();
    /* at least two: one diffs while another waits on the shadow's answers, and together (at
     * --shadow-nice 2, weight 655 each against a loop's 1024) they claim about what a loop
     * does on a machine the clients and backends share */
    return cpus - front >= 2 ? (unsigned)(cpus - front) : 2;
}

static int setup(pipeline_tee *t, pm_err *err)
{
    const pipeline_tee_options *o = &t->o;
    if (!(t->profile = pm_profile_open(o->profile, o->suite_path, &t->given, err)) ||
        !(t->map = pm_capmap_load(t->profile->capabilities.where, err)) ||
        pm_selection_from(o->families, o->nfamilies, o->selects, o->nselects, &t->selection, err) != 0)
        return -1;
    if (!t->selection && t->given) { /* the suite's selection, applied once, at the front */
        t->selection = t->given->selection;
        t->given->selection = NULL;
    }
    if (choose_targets(t, err) != 0)
        return -1;
    /* whatever is written — the record, the reports' examples — holds no secret in clear;
     * the key lives beside the record, else in the report directory */
    if ((o->record || o->out_dir) && !o->no_redact) {
        char home[4200];
        snprintf(home, sizeof home, "%s/report.json", o->out_dir ? o->out_dir : ".");
        const char *beside = o->record ? o->record : home;
        if (!o->record && mkdir(o->out_dir, 0755) != 0 && errno != EEXIST)
            return pm_err_set(err, "%s: cannot create the output directory: %s", o->out_dir, strerror(errno));
        if (!(t->redactor = pm_profile_redactor(t->profile, o->key, beside, err)) ||
            !(t->answer_redactor = pm_profile_redactor(t->profile, o->key, beside, err)))
            return -1;
        pm_redactor_keep_jwt_claims(t->answer_redactor, true); /* as replay stores answers */
    }
    if (o->record && !(t->record = pm_jsonl_writer_open(o->record, err)))
        return -1;
    diff_options dopt;
    diff_options_init(&dopt);
    dopt.suite = t->targets;
    pm_names *names = NULL; /* a rule naming what the profile lacks is an error, as in run */
    if (pm_names_load(t->profile, &names, err) != 0)
        return -1;
    dopt.names = names;
    t->nshadows = shadow_workers(o);
    if (!(t->diffs = calloc(t->nshadows, sizeof *t->diffs))) {
        pm_names_free(names);
        return pm_err_set(err, "out of memory");
    }
    for (unsigned i = 0; i < t->nshadows; i++)
        if (!(t->diffs[i] = diff_new(&dopt, o->rules_path ? o->rules_path : t->profile->rules.path, err)))
            break;
    pm_names_free(names);
    if (!t->diffs[t->nshadows - 1])
        return -1;
    if (o->switches_path &&
        !(t->rollback = pipeline_rollback_new(o->switches_path, o->on_rollback, o->out_dir, err)))
        return -1;
    if (o->out_dir || t->rollback) {
        reports_setup rs; /* no previous report; decisions valid at every snapshot */
        int rc = reports_setup_open(&rs, t->profile, NULL, NULL, NULL, err);
        if (rc == 0) {
            rs.o.sequential = true;
            rs.o.switches = t->rollback ? pipeline_rollback_snapshot(t->rollback) : NULL;
            rc = (t->report = reports_new(&rs.o, err)) ? 0 : -1;
        }
        reports_setup_close(&rs);
        if (rc != 0)
            return -1;
    }
    if (!(t->metrics = tee_metrics_new()))
        return pm_err_set(err, "out of memory");
    pipeline_shadow_options so = {.replay = o->replay, .workers = t->nshadows, .diffs = t->diffs,
                                  .metrics = t->metrics, .redactor = t->redactor,
                                  .answer_redactor = t->answer_redactor, .record = t->record,
                                  .record_lock = &t->record_lock, .report = t->report,
                                  .report_lock = &t->report_lock, .nice = o->nice};
    so.replay.suite = t->targets;
    so.replay.correlation_path = t->profile->correlation.path;
    so.replay.order_writes_only = true;
    so.replay.hash_uncut = t->record != NULL; /* nothing else keeps the shadow's results */
    return (t->shadow = pipeline_shadow_new(&so, err)) ? 0 : -1;
}

static int start(pipeline_tee *t, pm_err *err)
{
    const pipeline_tee_options *o = &t->o;
    tee_options front = o->front;
    front.shadow_writes = (o->replay.allow_writes || t->targets->allow_writes) && any_sandbox(t->targets);
    front.map = t->map;
    front.selection = t->selection;
    front.lanes = t->nshadows;
    front.on_queued = pipeline_shadow_wakeup;
    front.ctx = t->shadow;
    if (!(t->tee = tee_start(&front, err)))
        return -1;
    if (o->metrics && tee_metrics_serve(t->metrics, t->tee, o->metrics, err) != 0)
        return -1;
    return pipeline_shadow_start(t->shadow, t->tee, err);
}

pipeline_tee *pipeline_tee_start(const pipeline_tee_options *o, pm_err *err)
{
    pipeline_tee *t = calloc(1, sizeof *t);
    if (!t) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    t->o = *o;
    pthread_mutex_init(&t->report_lock, NULL);
    pthread_mutex_init(&t->record_lock, NULL);
    if (setup(t, err) != 0 || start(t, err) != 0) {
        pipeline_tee_free(t);
        return NULL;
    }
    return t;
}

/* ---- while it runs ------------------------------------------------------------------------ */

const pm_suite *pipeline_tee_targets(const pipeline_tee *t)
{
    return t->targets;
}

tee_front *pipeline_tee_front(const pipeline_tee *t)
{
    return t->tee;
}

const char *pipeline_tee_metrics_url(const pipeline_tee *t)
{
    return tee_metrics_url(t->metrics);
}

void pipeline_tee_get_stats(pipeline_tee *t, tee_stats *front, pipeline_shadow_stats *shadow)
{
    tee_get_stats(t->tee, front);
    pipeline_shadow_get_stats(t->shadow, shadow);
}

bool pipeline_tee_failed(pipeline_tee *t, pm_err *err)
{
    return pipeline_shadow_failed(t->shadow, err);
}

static int by_family(const void *a, const void *b)
{
    return strcmp(((const tee_family_stats *)a)->family, ((const tee_family_stats *)b)->family);
}

/* What the front saw of each family and what the shadow side diffed: `shadow` (one row
 * per family, for the renderers) and families.F.shadow where the report has F. */
static void add_shadow_coverage(pipeline_tee *t, json_t *report)
{
    tee_family_stats fs[256];
    size_t n = t->tee ? tee_get_family_stats(t->tee, fs, sizeof fs / sizeof *fs) : 0;
    if (n == 0)
        return;
    qsort(fs, n, sizeof *fs, by_family);
    json_t *rows = json_array();
    json_t *families = json_object_get(report, "families");
    for (size_t i = 0; i < n; i++) {
        uint64_t diffed = tee_metrics_family_diffed(t->metrics, fs[i].family);
        json_t *counts = json_pack("{s:I,s:I,s:I}", "seen", (json_int_t)fs[i].seen, "diffed", (json_int_t)diffed,
                                   "shed", (json_int_t)fs[i].shed);
        json_t *row = json_pack("{s:s,s:I,s:I,s:I,s:f}", "family", fs[i].family, "seen", (json_int_t)fs[i].seen,
                                "diffed", (json_int_t)diffed, "shed", (json_int_t)fs[i].shed, "coverage",
                                fs[i].seen ? (double)diffed / (double)fs[i].seen : 0.0);
        json_t *fam = json_object_get(families, fs[i].family);
        if (json_is_object(fam) && counts)
            json_object_set(fam, "shadow", counts);
        json_decref(counts);
        json_array_append_new(rows, row);
    }
    json_object_set_new(report, "shadow", rows);
}

/* The report as it stands (new reference), or NULL with err. */
static json_t *build_report(pipeline_tee *t, pm_err *err)
{
    pthread_mutex_lock(&t->report_lock);
    json_t *report = reports_build(t->report, err);
    pthread_mutex_unlock(&t->report_lock);
    return report;
}

int pipeline_tee_write_report(pipeline_tee *t, const char *when, pm_err *err)
{
    if (!t->report || !t->o.out_dir)
        return 0;
    json_t *report = build_report(t, err);
    if (!report)
        return -1;
    json_t *run = json_object_get(report, "run");
    if (json_is_object(run)) {
        char input[160];
        snprintf(input, sizeof input, "tee:%s", t->tee ? tee_url(t->tee) : t->o.front.listen);
        json_object_set_new(run, "inputs", json_pack("[s]", input));
        json_object_set_new(run, "profile", json_string(t->profile->dir));
        json_object_set_new(run, "mode", json_string(t->o.sink ? "tee-sink" : "tee-proxy"));
        json_object_set_new(run, "snapshot", json_string(when));
        json_t *insecure = pm_suite_insecure_targets(t->targets);
        if (json_array_size(insecure)) /* a report made without verifying a target says so */
            json_object_set(run, "insecure_targets", insecure);
        json_decref(insecure);
        json_object_set_new(run, "switches", t->o.switches_path ? json_string(t->o.switches_path) : json_null());
    }
    add_shadow_coverage(t, report);
    int rc = reports_write_dir(report, t->o.out_dir, err);
    json_decref(report);
    return rc;
}

int pipeline_tee_tick(pipeline_tee *t, json_t *events, pm_err *err)
{
    if (!t->rollback || !t->report)
        return 0;
    bool changed;
    pipeline_rollback_reload(t->rollback, &changed, events);
    if (changed) {
        pthread_mutex_lock(&t->report_lock);
        int rc = reports_set_switches(t->report, pipeline_rollback_snapshot(t->rollback), err);
        pthread_mutex_unlock(&t->report_lock);
        if (rc != 0)
            return -1;
    }
    json_t *report = build_report(t, err);
    if (!report)
        return -1;
    size_t acted = pipeline_rollback_act(t->rollback, report, t->metrics, events);
    json_decref(report);
    return acted ? pipeline_tee_write_report(t, "rollback", err) : 0;
}

/* ---- the end -------------------------------------------------------------------------------- */

int pipeline_tee_stop(pipeline_tee *t, double drain_s, uint64_t *abandoned, pm_err *err)
{
    uint64_t started = pm_now_ms();
    tee_stop(t->tee, drain_s);
    double left = drain_s - (double)(pm_now_ms() - started) / 1000;
    pm_err why;
    int rc = 0;
    if (pipeline_shadow_join(t->shadow, left > 0 ? left : 0, abandoned, &why) != 0)
        rc = pm_err_set(err, "shadow side: %s", why.msg);
    if (t->record && pm_jsonl_writer_close(t->record, &why) != 0 && rc == 0)
        rc = pm_err_set(err, "%s", why.msg);
    t->record = NULL;
    if (pipeline_tee_write_report(t, "final", &why) != 0 && rc == 0)
        rc = pm_err_set(err, "final report: %s", why.msg);
    return rc;
}

void pipeline_tee_free(pipeline_tee *t)
{
    if (!t)
        return;
    if (t->tee)
        tee_stop(t->tee, 0);
    pipeline_shadow_free(t->shadow); /* the thread that observes into the metrics */
    tee_metrics_free(t->metrics);    /* the server that reads the tee's counters */
    tee_free(t->tee);
    if (t->record)
        pm_jsonl_writer_close(t->record, NULL);
    reports_free(t->report);
    for (unsigned i = 0; t->diffs && i < t->nshadows; i++)
        diff_free(t->diffs[i]);
    free(t->diffs);
    pipeline_rollback_free(t->rollback);
    pm_redactor_free(t->redactor);
    pm_redactor_free(t->answer_redactor);
    pm_selection_free(t->selection);
    pm_capmap_free(t->map);
    pm_suite_free(t->proxy);
    pm_suite_free(t->given);
    pm_tls_free_list(t->tls_list);
    pm_profile_free(t->profile);
    pthread_mutex_destroy(&t->report_lock);
    pthread_mutex_destroy(&t->record_lock);
    free(t);
}
