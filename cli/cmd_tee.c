/*
 * cmd_tee.c — `pmirror tee --listen ADDR (--primary URL --shadow URL | --sink -c SUITE)`:
 * live shadow traffic. The front (capture/tee*.c) proxies to the primary or sinks
 * mirrored copies and queues shadow copies; pipeline_shadow.c replays, diffs and records them
 * on its own thread; this file holds the arguments, the targets of each mode, the
 * metrics server, the signals (SIGHUP: report snapshot; SIGTERM/SIGINT: drain, final
 * report, exit 0), the progress line and the summary.
 *
 * Proxy mode's targets are the primary — its answer is the recording, the replay
 * engine's `recorded` pseudo-target, role baseline — and the shadow (role candidate).
 * With -c SUITE they take the names, credentials, headers, sandbox flag and timeouts of
 * the suite's baseline and candidate; --shadow gives the candidate's URL.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline/pipeline.h"

typedef struct tee_args {
    const char *listen, *primary, *shadow, *suite, *record, *metrics, *out_dir, *profile, *rules, *key;
    const char *uri_header, *port_file, *progress;
    double primary_timeout, shadow_timeout, drain, header_timeout; /* seconds; 0 (header: -1) not given */
    cli_list families, selects;
    uint64_t queue_bytes, max_body; /* 0: not given */
    long queue, concurrency, max_connections, nice, workers, max_per_ip;
    bool sink, allow_writes, sandbox, no_redact, quiet;
} tee_args;

/* Everything the run holds, freed in one place. */
typedef struct tee_run {
    pm_suite *given;          /* -c SUITE */
    pm_suite *proxy;          /* proxy mode's primary + shadow */
    const pm_suite *targets;  /* the one the replay engine uses */
    pm_capmap *map;
    pm_selection *selection;
    pm_redactor *redactor, *answer_redactor;
    pm_jsonl_writer *record;
    diff_engine *diff;
    reports_builder *report;
    pm_config *gate_cfg;
    pthread_mutex_t report_lock;
    tee_metrics *metrics;
    pipeline_shadow *shadow;
    tee_front *tee;
    pm_profile *profile;
} tee_run;

/* ---- targets ------------------------------------------------------------------------------- */

static const pm_target *target_with_role(const pm_suite *s, pm_role role)
{
    for (size_t i = 0; s && i < s->ntargets; i++)
        if (s->targets[i].role == role && !s->targets[i].recorded)
            return &s->targets[i];
    return NULL;
}

/* Proxy mode: [primary (recorded, baseline), shadow (candidate)]. */
static pm_suite *proxy_suite(const pm_suite *given, const tee_args *a, const char *profile_dir)
{
    pm_suite *s = calloc(1, sizeof *s);
    if (!s || !(s->targets = calloc(2, sizeof *s->targets)) || !(s->profile_dir = strdup(profile_dir))) {
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
    sh->url = a->shadow;
    sh->role = PM_ROLE_CANDIDATE;
    sh->sandbox = sh->sandbox || a->sandbox;
    s->allow_writes = given && given->allow_writes;
    s->concurrency = given ? given->concurrency : 0;
    return s;
}

static bool any_sandbox(const pm_suite *s)
{
    for (size_t i = 0; i < s->ntargets; i++)
        if (s->targets[i].sandbox && !s->targets[i].recorded)
            return true;
    return false;
}

/* ---- files ------------------------------------------------------------------------------------ */

/* report.json & co. of what was diffed so far (SIGHUP), or in the end. */
static int write_report(tee_run *r, const tee_args *a, const char *when, pm_err *err)
{
    pthread_mutex_lock(&r->report_lock);
    json_t *report = reports_build(r->report, err);
    pthread_mutex_unlock(&r->report_lock);
    if (!report)
        return -1;
    json_t *run = json_object_get(report, "run");
    if (json_is_object(run)) {
        char input[160];
        snprintf(input, sizeof input, "tee:%s", r->tee ? tee_url(r->tee) : a->listen);
        json_object_set_new(run, "inputs", json_pack("[s]", input));
        json_object_set_new(run, "profile", json_string(r->profile->dir));
        json_object_set_new(run, "mode", json_string(a->sink ? "tee-sink" : "tee-proxy"));
        json_object_set_new(run, "snapshot", json_string(when));
    }
    int rc = reports_write_dir(report, a->out_dir, err);
    json_decref(report);
    return rc;
}

/* ---- progress and summary ----------------------------------------------------------------- */

static void print_status(const tee_run *r, FILE *out, const char *prefix, const char *end)
{
    tee_stats st;
    pipeline_shadow_stats sh;
    tee_get_stats(r->tee, &st);
    pipeline_shadow_get_stats(r->shadow, &sh);
    uint64_t dropped = st.dropped_full + st.dropped_memory + st.dropped_too_large + st.dropped_incomplete +
                       st.dropped_stopping;
    fprintf(out,
            "%s%llu requests, %llu shadowed (%llu dropped, queue %llu/%llu): %llu match, %llu mismatch, "
            "%llu error, %llu skipped%s",
            prefix, (unsigned long long)st.requests, (unsigned long long)st.queued, (unsigned long long)dropped,
            (unsigned long long)st.queue_depth, (unsigned long long)st.queue_capacity, (unsigned long long)sh.counts.match,
            (unsigned long long)sh.counts.mismatch, (unsigned long long)sh.counts.error, (unsigned long long)sh.counts.skipped, end);
    fflush(out);
}

static void print_summary(const tee_run *r, const tee_args *a, const char *why, uint64_t abandoned)
{
    tee_stats st;
    pipeline_shadow_stats sh;
    tee_get_stats(r->tee, &st);
    pipeline_shadow_get_stats(r->shadow, &sh);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "pmirror tee: stopped by %s: ", why);
    print_status(r, stderr, prefix, "\n");
    fprintf(stderr,
            "  dropped: %llu queue full, %llu queue memory, %llu body over --max-body, %llu incomplete, %llu while "
            "stopping; %llu not selected",
            (unsigned long long)st.dropped_full, (unsigned long long)st.dropped_memory,
            (unsigned long long)st.dropped_too_large, (unsigned long long)st.dropped_incomplete,
            (unsigned long long)st.dropped_stopping, (unsigned long long)st.not_selected);
    if (!a->sink)
        fprintf(stderr, "; %llu primary errors", (unsigned long long)st.primary_errors);
    fprintf(stderr, "; %llu client aborts\n", (unsigned long long)st.client_aborts);
    if (!a->sink)
        fprintf(stderr, "  connections: %llu refused over --max-per-ip, %llu over --max-connections; %llu heads late\n",
                (unsigned long long)st.refused_per_ip, (unsigned long long)st.refused_limit,
                (unsigned long long)st.head_timeouts);
    if (abandoned || st.queue_depth)
        fprintf(stderr, "  drain: %llu shadow exchanges abandoned after --drain-seconds\n",
                (unsigned long long)(abandoned + st.queue_depth));
    if (sh.counts.diff_failures || sh.bad_records)
        fprintf(stderr, "  %llu results could not be diffed, %llu records did not parse\n",
                (unsigned long long)sh.counts.diff_failures, (unsigned long long)sh.bad_records);
    if (a->record)
        fprintf(stderr, "  results -> %s\n", a->record);
    if (a->out_dir)
        fprintf(stderr, "  report -> %s/report.{json,md,html}, junit.xml\n", a->out_dir);
}

/* ---- set-up ------------------------------------------------------------------------------------- */

static int setup(tee_run *r, const tee_args *a, pm_err *err)
{
    if (!(r->profile = pm_profile_open(a->profile, a->suite, &r->given, err)))
        return -1;
    if (!(r->map = pm_capmap_load(r->profile->capabilities.where, err)))
        return -1;
    if (cli_selection(&a->families, &a->selects, &r->selection, err) != 0)
        return -1;
    if (!r->selection && r->given) { /* the suite's selection, applied once, at the front */
        r->selection = r->given->selection;
        r->given->selection = NULL;
    }
    if (a->sink) {
        for (size_t i = 0; i < r->given->ntargets; i++)
            if (r->given->targets[i].recorded)
                return pm_err_set(err, "%s: target '%s': a sink has no recording to answer from (proxy mode "
                                       "has: its primary)", a->suite, r->given->targets[i].name);
        r->targets = r->given;
    } else {
        if (!(r->proxy = proxy_suite(r->given, a, r->profile->dir)))
            return pm_err_set(err, "out of memory");
        r->targets = r->proxy;
    }
    if (a->shadow_timeout > 0) {
        double t = a->shadow_timeout;
        pm_suite *s = (pm_suite *)r->targets;
        for (size_t i = 0; i < s->ntargets; i++)
            s->targets[i].timeout_s = t;
    }
    /* whatever is written — the record, the reports' examples — holds no secret in clear;
     * the key lives beside the record, else in the report directory */
    if ((a->record || a->out_dir) && !a->no_redact) {
        char home[4200];
        snprintf(home, sizeof home, "%s/report.json", a->out_dir ? a->out_dir : ".");
        const char *beside = a->record ? a->record : home;
        if (!a->record && mkdir(a->out_dir, 0755) != 0 && errno != EEXIST)
            return pm_err_set(err, "%s: cannot create the output directory: %s", a->out_dir, strerror(errno));
        if (!(r->redactor = pm_profile_redactor(r->profile, a->key, beside, err)) ||
            !(r->answer_redactor = pm_profile_redactor(r->profile, a->key, beside, err)))
            return -1;
        pm_redactor_keep_jwt_claims(r->answer_redactor, true); /* as replay stores answers */
    }
    if (a->record && !(r->record = pm_jsonl_writer_open(a->record, err)))
        return -1;
    diff_options dopt;
    diff_options_init(&dopt);
    dopt.suite = r->targets;
    if (!(r->diff = diff_new(&dopt, a->rules ? a->rules : r->profile->rules.path, err)))
        return -1;
    if (a->out_dir) {
        reports_setup rs; /* no snapshot, no previous report: nothing to close */
        if (reports_setup_open(&rs, r->profile, NULL, NULL, NULL, err) != 0 || !(r->report = reports_new(&rs.o, err)))
            return -1;
    }
    if (!(r->metrics = tee_metrics_new()))
        return pm_err_set(err, "out of memory");
    pipeline_shadow_options so = {.diff = r->diff, .metrics = r->metrics, .redactor = r->redactor,
                             .answer_redactor = r->answer_redactor, .record = r->record, .report = r->report,
                             .report_lock = &r->report_lock, .nice = (int)a->nice};
    replay_options_init(&so.replay);
    so.replay.suite = r->targets;
    so.replay.correlation_path = r->profile->correlation.path;
    so.replay.allow_writes = a->allow_writes;
    so.replay.concurrency = a->concurrency;
    so.replay.order_writes_only = true;
    if (a->max_body > 0)
        so.replay.max_body = (size_t)a->max_body;
    if (!(r->shadow = pipeline_shadow_new(&so, err)))
        return -1;
    return 0;
}

static int start(tee_run *r, const tee_args *a, pm_err *err)
{
    tee_options o;
    tee_options_init(&o);
    o.listen = a->listen;
    o.primary = a->sink ? NULL : a->primary;
    if (a->uri_header)
        o.uri_header = a->uri_header;
    if (a->queue > 0)
        o.queue = (size_t)a->queue;
    if (a->queue_bytes > 0)
        o.queue_bytes = (size_t)a->queue_bytes;
    if (a->max_body > 0)
        o.max_body = (size_t)a->max_body;
    if (a->primary_timeout > 0)
        o.primary_timeout_s = a->primary_timeout;
    if (a->max_connections > 0)
        o.max_connections = (unsigned)a->max_connections;
    if (a->max_per_ip >= 0)
        o.max_per_ip = (unsigned)a->max_per_ip;
    if (a->header_timeout >= 0)
        o.header_timeout_s = a->header_timeout;
    o.workers = (unsigned)a->workers;
    o.shadow_writes = (a->allow_writes || r->targets->allow_writes) && any_sandbox(r->targets);
    o.map = r->map;
    o.selection = r->selection;
    o.on_queued = pipeline_shadow_wakeup;
    o.ctx = r->shadow;
    if (!(r->tee = tee_start(&o, err)))
        return -1;
    if (a->metrics && tee_metrics_serve(r->metrics, r->tee, a->metrics, err) != 0)
        return -1;
    return pipeline_shadow_start(r->shadow, r->tee, err);
}

static void teardown(tee_run *r)
{
    if (r->tee)
        tee_stop(r->tee, 0);
    pipeline_shadow_free(r->shadow);          /* the thread that observes into the metrics */
    tee_metrics_free(r->metrics); /* the server that reads the tee's counters */
    tee_free(r->tee);
    if (r->record)
        pm_jsonl_writer_close(r->record, NULL);
    reports_free(r->report);
    diff_free(r->diff);
    pm_redactor_free(r->redactor);
    pm_redactor_free(r->answer_redactor);
    pm_selection_free(r->selection);
    pm_capmap_free(r->map);
    pm_suite_free(r->proxy);
    pm_suite_free(r->given);
    pm_profile_free(r->profile);
    pthread_mutex_destroy(&r->report_lock);
}

/* ---- the command ----------------------------------------------------------------------------- */

static int check_args(const tee_args *a)
{
    if (!a->listen)
        return cli_fail("tee", "--listen ADDR is required (e.g. 127.0.0.1:8080, or :0 for any free port)");
    if (a->sink && (a->primary || a->shadow))
        return cli_fail("tee", "--sink takes no --primary/--shadow: the suite's targets are the shadows");
    if (a->sink && !a->suite)
        return cli_fail("tee", "--sink needs -c SUITE (the targets each mirrored copy is replayed to)");
    if (!a->sink && (!a->primary || !a->shadow))
        return cli_fail("tee", "proxy mode needs --primary URL and --shadow URL (or use --sink -c SUITE)");
    if (a->shadow && strncmp(a->shadow, "http://", 7) != 0 && strncmp(a->shadow, "https://", 8) != 0)
        return cli_fail("tee", "--shadow '%s': want an http:// or https:// URL", a->shadow);
    return CLI_OK;
}

int cmd_tee(int argc, char **argv)
{
    tee_args a = {.progress = "auto", .nice = 19, .max_per_ip = -1, .header_timeout = -1, .drain = 10};
    const cli_opt opts[] = {
        CLI_OPT_STRING('l', "listen", &a.listen, "ADDR", "127.0.0.1:PORT, [::1]:PORT, :PORT (loopback), 0.0.0.0:PORT"),
        CLI_OPT_STRING(0, "primary", &a.primary, "URL", "proxy mode: the primary (its answers go to the clients)"),
        CLI_OPT_STRING(0, "shadow", &a.shadow, "URL", "proxy mode: the shadow (its answers are diffed, never sent)"),
        CLI_OPT_FLAG(0, "sink", &a.sink, "sink mode: take mirrored copies, answer 204, replay to the suite"),
        CLI_OPT_STRING('c', "suite", &a.suite, "SUITE", "suite file: targets, credentials, timeouts, selection"),
        CLI_OPT_STRING(0, "record", &a.record, "FILE", "append every result record, redacted (.gz: gzip)"),
        CLI_OPT_STRING(0, "metrics", &a.metrics, "ADDR", "serve Prometheus metrics on http://ADDR/metrics"),
        CLI_OPT_STRING(0, "out-dir", &a.out_dir, "DIR", "reports: a snapshot on SIGHUP, the final one on SIGTERM"),
        CLI_OPT_NUMBER(0, "drain-seconds", &a.drain, 0.001, 86400,
                       "on SIGTERM, finish shadows for at most X seconds (10)"),
        CLI_OPT_LIST(0, "family", &a.families, "F", "shadow only this family"),
        CLI_OPT_LIST(0, "select", &a.selects, "SPEC", "shadow only this cohort: org=A,repo=A/B,user=U,percent=N"),
        CLI_OPT_FLAG(0, "allow-writes", &a.allow_writes, "shadow mutating requests to sandbox targets"),
        CLI_OPT_FLAG(0, "sandbox", &a.sandbox, "proxy mode: the shadow is a sandbox (may take writes)"),
        CLI_OPT_INT(0, "queue", &a.queue, 1, 1e7, "shadow copies waiting at most; past it they drop (1024)"),
        CLI_OPT_SIZE(0, "queue-bytes", &a.queue_bytes, 1, CLI_NO_MAX, "... and the memory they hold at most (256M)"),
        CLI_OPT_SIZE(0, "max-body", &a.max_body, 1, CLI_NO_MAX, "a bigger request body is not shadowed (16M)"),
        CLI_OPT_INT(0, "concurrency", &a.concurrency, 1, 100000,
                    "shadow exchanges in flight at most (suite's, else 32)"),
        CLI_OPT_NUMBER(0, "primary-timeout", &a.primary_timeout, 0.001, 86400,
                       "the primary may stay silent X seconds (300)"),
        CLI_OPT_NUMBER(0, "shadow-timeout", &a.shadow_timeout, 0.001, 86400,
                       "each shadow exchange's limit in seconds (suite's, else 30)"),
        CLI_OPT_STRING(0, "uri-header", &a.uri_header, "NAME",
                       "sink: header with the original target (X-Original-URI)"),
        CLI_OPT_INT(0, "max-connections", &a.max_connections, 1, 1e6, "client connections at once (1024)"),
        CLI_OPT_INT(0, "max-per-ip", &a.max_per_ip, 0, 1e6,
                    "proxy: connections from one client address at once, more refused (64; 0: no limit)"),
        CLI_OPT_NUMBER(0, "header-timeout", &a.header_timeout, 0, 86400,
                       "proxy: close a connection whose next request head is not whole in X s (10; 0: none)"),
        CLI_OPT_INT(0, "workers", &a.workers, 1, 64, "proxy: event-loop threads (default: one per CPU)"),
        CLI_OPT_INT(0, "shadow-nice", &a.nice, 0, 19, "the shadow thread's niceness (19: clients first)"),
        CLI_OPT_STRING(0, "profile", &a.profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_STRING(0, "rules", &a.rules, "FILE", "normalization rules (default: PROFILE/rules.yaml)"),
        CLI_OPT_STRING(0, "key", &a.key, "FILE",
                       "redaction key (default: .pmirror-key beside --record, else in --out-dir)"),
        CLI_OPT_FLAG(0, "no-redact", &a.no_redact, "write secrets into --record and the reports in the clear"),
        CLI_OPT_STRING(0, "port-file", &a.port_file, "FILE", "write the bound port number to FILE"),
        CLI_OPT_ENUM(0, "progress", &a.progress, cli_when_values, "a progress line (auto: a live line on a terminal)"),
        CLI_OPT_FLAG('q', "quiet", &a.quiet, "no start line"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "tee", "--listen ADDR (--primary URL --shadow URL | --sink -c SUITE) [--record OUT] [--metrics ADDR]",
        "Live shadow traffic. Proxy mode: each request goes to the primary, whose answer goes\n"
        "back to the client as it came, and a copy goes to the shadow through a bounded queue\n"
        "(full: dropped and counted, never waited for). Sink mode: copies mirrored by nginx or\n"
        "Envoy are answered 204 at once and replayed to the suite's targets. Both answers are\n"
        "diffed inline: live counters on --metrics, result records in --record, reports in\n"
        "--out-dir.",
        "Signals: SIGHUP writes a report snapshot into --out-dir; SIGTERM or SIGINT stops\n"
        "taking connections, drains the shadows for at most --drain-seconds, writes the final\n"
        "report and exits 0. Mutating requests are shadowed only to sandbox targets with\n"
        "--allow-writes (skipped otherwise; the primary always gets them). Exit codes: 0 stopped\n"
        "by a signal, 2 bad arguments or set-up.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc == CLI_OK) {
        cli_list_free(&args);
        rc = check_args(&a);
    }
    if (rc != CLI_OK) {
        cli_list_free(&a.families);
        cli_list_free(&a.selects);
        return rc < 0 ? CLI_OK : rc;
    }
    double drain = a.drain;

    sigset_t signals, previous;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, &previous); /* inherited by every thread started below */
    tee_run r = {0};
    pthread_mutex_init(&r.report_lock, NULL);
    pm_err err;
    if (setup(&r, &a, &err) != 0 || start(&r, &a, &err) != 0) {
        rc = cli_fail("tee", "%s", err.msg);
        goto done;
    }
    if (a.port_file && (rc = cli_write_port_file("tee", a.port_file, tee_port(r.tee))) != CLI_OK)
        goto done;
    if (!a.quiet) {
        if (a.sink) {
            fprintf(stderr, "pmirror tee: sink %s replays to", tee_url(r.tee));
            for (size_t i = 0; i < r.targets->ntargets; i++)
                fprintf(stderr, "%s %s", i ? "," : "", r.targets->targets[i].name);
        } else {
            fprintf(stderr, "pmirror tee: proxy %s -> primary %s, shadow %s", tee_url(r.tee), a.primary,
                    a.shadow);
        }
        if (tee_metrics_url(r.metrics))
            fprintf(stderr, "; metrics %s", tee_metrics_url(r.metrics));
        fputc('\n', stderr);
    }
    bool tty = isatty(STDERR_FILENO);
    bool progress = strcmp(a.progress, "always") == 0 || (strcmp(a.progress, "auto") == 0 && tty);
    int sig = 0;
    uint64_t last_line = pm_now_ms();
    bool told = false;
    for (;;) {
        struct timespec second = {1, 0};
        sig = sigtimedwait(&signals, NULL, &second);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (!told && pipeline_shadow_failed(r.shadow, &err)) { /* clients are still served */
            fprintf(stderr, "%spmirror tee: the shadow side stopped: %s\n", progress && tty ? "\n" : "", err.msg);
            told = true;
        }
        if (sig == SIGHUP && a.out_dir) {
            if (write_report(&r, &a, "sighup", &err) != 0)
                fprintf(stderr, "pmirror tee: snapshot: %s\n", err.msg);
            else if (!a.quiet)
                fprintf(stderr, "%spmirror tee: SIGHUP: report snapshot -> %s\n", progress && tty ? "\n" : "",
                        a.out_dir);
        }
        if (progress && tty)
            print_status(&r, stderr, "\rpmirror tee: ", "   ");
        else if (progress && pm_now_ms() - last_line >= 10000) {
            last_line = pm_now_ms();
            print_status(&r, stderr, "pmirror tee: ", "\n");
        }
    }
    if (progress && tty)
        fputc('\n', stderr);
    /* the drain: the front first (answers in progress finish), then the shadows */
    uint64_t started = pm_now_ms();
    tee_stop(r.tee, drain);
    double left = drain - (double)(pm_now_ms() - started) / 1000;
    uint64_t abandoned = 0;
    if (pipeline_shadow_join(r.shadow, left > 0 ? left : 0, &abandoned, &err) != 0)
        rc = cli_fail("tee", "shadow side: %s", err.msg);
    if (r.record && pm_jsonl_writer_close(r.record, &err) != 0 && rc == CLI_OK)
        rc = cli_fail("tee", "%s", err.msg);
    r.record = NULL;
    if (a.out_dir && write_report(&r, &a, "final", &err) != 0 && rc == CLI_OK)
        rc = cli_fail("tee", "final report: %s", err.msg);
    print_summary(&r, &a, sig == SIGINT ? "SIGINT" : "SIGTERM", abandoned);
done:
    teardown(&r);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    cli_list_free(&a.families);
    cli_list_free(&a.selects);
    return rc;
}
