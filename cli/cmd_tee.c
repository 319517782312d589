/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_tee.c — `pmirror tee --listen ADDR (--primary URL --shadow URL | --sink -c SUITE)`:
 * live shadow traffic. The front (tee/) proxies to the primary or sinks mirrored copies
 * and queues shadow copies, which pipeline/ replays, diffs and records on its own thread
 * (pipeline_tee: tee.c, shadow.c); this file holds the arguments, the signals (SIGHUP:
 * report snapshot; SIGTERM/SIGINT: drain, final report, exit 0), the start line, the
 * progress line, the decision tick's lines (--switches, --on-rollback) and the summary.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline/pipeline.h"

typedef struct tee_args {
    const char *listen, *primary, *shadow, *suite, *record, *metrics, *out_dir, *profile, *rules, *key;
    const char *uri_header, *port_file, *progress;
    const char *switches, *on_rollback; /* the live decisions acted on (pipeline/rollback.c) */
    double primary_timeout, shadow_timeout, drain, header_timeout; /* seconds; 0 (header: -1) not given */
    cli_list families, selects;
    pm_tls_given primary_tls, shadow_tls; /* --primary-ca ..., --shadow-ca ... */
    uint64_t queue_bytes, max_body; /* 0: not given */
    long queue, concurrency, max_connections, nice, workers, shadow_workers, max_per_ip;
    bool sink, allow_writes, sandbox, no_redact, quiet;
} tee_args;

/* ---- progress and summary ----------------------------------------------------------------- */

static void print_status(pipeline_tee *t, FILE *out, const char *prefix, const char *end)
{
    tee_stats st;
    pipeline_shadow_stats sh;
    pipeline_tee_get_stats(t, &st, &sh);
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

static void print_summary(pipeline_tee *t, const tee_args *a, const char *why, uint64_t abandoned)
{
    tee_stats st;
    pipeline_shadow_stats sh;
    pipeline_tee_get_stats(t, &st, &sh);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "pmirror tee: stopped by %s: ", why);
    print_status(t, stderr, prefix, "\n");
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

/* A decision tick (--switches): what it did, one line each. */
static void tick(pipeline_tee *t, bool live_line)
{
    json_t *events = json_array();
    pm_err err;
    if (pipeline_tee_tick(t, events, &err) != 0)
        json_array_append_new(events, json_sprintf("rollback snapshot: %s", err.msg));
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        fprintf(stderr, "%spmirror tee: %s\n", live_line && i == 0 ? "\n" : "", json_string_value(e));
    json_decref(events);
}

/* The front's options from the arguments (pipeline_tee sets the map, the selection and
 * what the shadow side needs). */
static void front_options(tee_options *o, const tee_args *a)
{
    tee_options_init(o);
    o->listen = a->listen;
    o->primary = a->sink ? NULL : a->primary;
    if (a->uri_header)
        o->uri_header = a->uri_header;
    if (a->queue > 0)
        o->queue = (size_t)a->queue;
    if (a->queue_bytes > 0)
        o->queue_bytes = (size_t)a->queue_bytes;
    if (a->max_body > 0)
        o->max_body = (size_t)a->max_body;
    if (a->primary_timeout > 0)
        o->primary_timeout_s = a->primary_timeout;
    if (a->max_connections > 0)
        o->max_connections = (unsigned)a->max_connections;
    if (a->max_per_ip >= 0)
        o->max_per_ip = (unsigned)a->max_per_ip;
    if (a->header_timeout >= 0)
        o->header_timeout_s = a->header_timeout;
    o->workers = (unsigned)a->workers;
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
    const pm_tls_given *p = &a->primary_tls, *s = &a->shadow_tls;
    if (a->sink && (p->ca || p->cert || p->key || p->server_name || s->ca || s->cert || s->key || s->server_name))
        return cli_fail("tee", "--sink takes no --primary-*/--shadow-* TLS options: the suite's targets carry "
                               "ca, cert, key and server_name");
    if (a->on_rollback && !a->switches)
        return cli_fail("tee", "--on-rollback needs --switches FILE (the snapshot that says which switches are go)");
    if (a->shadow && pm_is_unix_url(a->shadow)) {
        char path[PM_UNIX_PATH_MAX + 1];
        const char *base;
        pm_err err;
        if (pm_unix_url_split(a->shadow, path, sizeof path, &base, &err) != 0)
            return cli_fail("tee", "--shadow %s", err.msg);
    } else if (a->shadow && strncmp(a->shadow, "http://", 7) != 0 && strncmp(a->shadow, "https://", 8) != 0) {
        return cli_fail("tee", "--shadow '%s': want an http://, https:// or unix:/PATH[:/base] URL", a->shadow);
    }
    if (a->metrics && pm_is_unix_url(a->metrics))
        return cli_fail("tee", "--metrics '%s': a TCP address (HOST:PORT): Prometheus scrapes over TCP", a->metrics);
    return CLI_OK;
}

int cmd_tee(int argc, char **argv)
{
    tee_args a = {.progress = "auto", .nice = 2, .max_per_ip = -1, .header_timeout = -1, .drain = 10};
    const cli_opt opts[] = {
        CLI_OPT_STRING('l', "listen", &a.listen, "ADDR",
                       "127.0.0.1:PORT, [::1]:PORT, :PORT (loopback), 0.0.0.0:PORT, unix:/PATH (mode 0660)"),
        CLI_OPT_STRING(0, "primary", &a.primary, "URL",
                       "proxy mode: the primary (its answers go to the clients): http(s)://HOST[:PORT][/base] "
                       "or unix:/PATH[:/base] (a gunicorn socket; Host as the client sent it)"),
        CLI_OPT_STRING(0, "shadow", &a.shadow, "URL",
                       "proxy mode: the shadow (its answers are diffed, never sent): a URL or unix:/PATH[:/base]"),
        CLI_OPT_STRING(0, "primary-ca", &a.primary_tls.ca, "FILE",
                       "CA bundle (PEM) the primary's certificate must chain to (default: the suite "
                       "baseline's ca, else the system's)"),
        CLI_OPT_STRING(0, "primary-cert", &a.primary_tls.cert, "FILE", "client certificate (PEM) for the primary"),
        CLI_OPT_STRING(0, "primary-key", &a.primary_tls.key, "FILE", "... and its key (default: in --primary-cert)"),
        CLI_OPT_STRING(0, "primary-server-name", &a.primary_tls.server_name, "NAME",
                       "the name the primary's certificate carries when the URL's host is another (SNI, check)"),
        CLI_OPT_STRING(0, "shadow-ca", &a.shadow_tls.ca, "FILE",
                       "CA bundle for the shadow (default: the suite candidate's ca, else the system's)"),
        CLI_OPT_STRING(0, "shadow-cert", &a.shadow_tls.cert, "FILE", "client certificate (PEM) for the shadow"),
        CLI_OPT_STRING(0, "shadow-key", &a.shadow_tls.key, "FILE", "... and its key (default: in --shadow-cert)"),
        CLI_OPT_STRING(0, "shadow-server-name", &a.shadow_tls.server_name, "NAME",
                       "the name the shadow's certificate carries when the URL's host is another"),
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
                    "shadow exchanges in flight at most, per shadow worker (suite's, else 32)"),
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
        CLI_OPT_INT(0, "workers", &a.workers, 1, 64,
                    "proxy: event-loop threads (default: half the CPUs, at least 1)"),
        CLI_OPT_INT(0, "shadow-workers", &a.shadow_workers, 1, 64,
                    "shadow threads, each its own share of the flows (default: the CPUs --workers leaves, "
                    "at least 2)"),
        CLI_OPT_INT(0, "shadow-nice", &a.nice, 0, 19,
                    "the shadow threads' niceness (2; 19: a busy machine serves clients first, sheds copies)"),
        CLI_OPT_STRING(0, "profile", &a.profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_STRING(0, "rules", &a.rules, "FILE", "normalization rules (default: PROFILE/rules.yaml)"),
        CLI_OPT_STRING(0, "key", &a.key, "FILE",
                       "redaction key (default: .pmirror-key beside --record, else in --out-dir)"),
        CLI_OPT_STRING(0, "switches", &a.switches, "FILE",
                       "Quay switch snapshot (YAML), re-read when it changes: go-owned failures roll back"),
        CLI_OPT_STRING(0, "on-rollback", &a.on_rollback, "CMD",
                       "run CMD (sh -c) once when a go switch's decision turns rollback (needs --switches)"),
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
        "--allow-writes (skipped otherwise; the primary always gets them).\n"
        "Decisions are sequential (a mixture SPRT valid at every look, alpha 0.05). With\n"
        "--switches, each second the snapshot is re-read if its file changed and the decisions\n"
        "taken; a switch that is go and turns rollback runs --on-rollback's CMD once (not\n"
        "waited for) with PMIRROR_FAMILY, PMIRROR_CAPABILITY, PMIRROR_SWITCH, PMIRROR_REASONS,\n"
        "PMIRROR_SAMPLES, PMIRROR_MISMATCHES, PMIRROR_SWITCHES_FILE, PMIRROR_REPORT_DIR in its\n"
        "environment, counts it in pmirror_tee_rollbacks_total{family} and writes a report\n"
        "snapshot into --out-dir. Never twice while the switch stays go; never for python.\n"
        "Exit codes: 0 stopped by a signal, 2 bad arguments or set-up.",
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
    pipeline_tee_options o = {
        .suite_path = a.suite, .profile = a.profile, .sink = a.sink, .shadow = a.shadow, .sandbox = a.sandbox,
        .primary_tls = a.primary_tls, .shadow_tls = a.shadow_tls,
        .shadow_timeout = a.shadow_timeout, .families = a.families.items, .nfamilies = a.families.n,
        .selects = a.selects.items, .nselects = a.selects.n, .record = a.record, .out_dir = a.out_dir,
        .metrics = a.metrics, .rules_path = a.rules, .key = a.key, .no_redact = a.no_redact, .nice = (int)a.nice,
        .shadow_workers = (unsigned)a.shadow_workers,
        .switches_path = a.switches, .on_rollback = a.on_rollback,
    };
    replay_options_init(&o.replay);
    o.replay.allow_writes = a.allow_writes;
    o.replay.concurrency = a.concurrency;
    if (a.max_body > 0)
        o.replay.max_body = (size_t)a.max_body;
    front_options(&o.front, &a);

    sigset_t signals, previous;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, &previous); /* inherited by every thread started below */
    pm_err err;
    pipeline_tee *t = pipeline_tee_start(&o, &err);
    if (!t) {
        rc = cli_fail("tee", "%s", err.msg);
        goto done;
    }
    tee_front *front = pipeline_tee_front(t);
    json_t *insecure = pm_suite_insecure_targets(pipeline_tee_targets(t));
    cli_warn_insecure("tee", insecure);
    json_decref(insecure);
    if (a.port_file && (rc = cli_write_port_file("tee", a.port_file, tee_port(front))) != CLI_OK)
        goto done;
    if (!a.quiet) {
        if (a.sink) {
            const pm_suite *targets = pipeline_tee_targets(t);
            fprintf(stderr, "pmirror tee: sink %s replays to", tee_url(front));
            for (size_t i = 0; i < targets->ntargets; i++)
                fprintf(stderr, "%s %s", i ? "," : "", targets->targets[i].name);
        } else {
            fprintf(stderr, "pmirror tee: proxy %s -> primary %s, shadow %s", tee_url(front), a.primary,
                    a.shadow);
        }
        if (pipeline_tee_metrics_url(t))
            fprintf(stderr, "; metrics %s", pipeline_tee_metrics_url(t));
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
        if (!told && pipeline_tee_failed(t, &err)) { /* clients are still served */
            fprintf(stderr, "%spmirror tee: the shadow side stopped: %s\n", progress && tty ? "\n" : "", err.msg);
            told = true;
        }
        if (sig == SIGHUP && a.out_dir) {
            if (pipeline_tee_write_report(t, "sighup", &err) != 0)
                fprintf(stderr, "pmirror tee: snapshot: %s\n", err.msg);
            else if (!a.quiet)
                fprintf(stderr, "%spmirror tee: SIGHUP: report snapshot -> %s\n", progress && tty ? "\n" : "",
                        a.out_dir);
        }
        tick(t, progress && tty);
        if (progress && tty)
            print_status(t, stderr, "\rpmirror tee: ", "   ");
        else if (progress && pm_now_ms() - last_line >= 10000) {
            last_line = pm_now_ms();
            print_status(t, stderr, "pmirror tee: ", "\n");
        }
    }
    if (progress && tty)
        fputc('\n', stderr);
    uint64_t abandoned = 0;
    if (pipeline_tee_stop(t, a.drain, &abandoned, &err) != 0)
        rc = cli_fail("tee", "%s", err.msg);
    print_summary(t, &a, sig == SIGINT ? "SIGINT" : "SIGTERM", abandoned);
done:
    pipeline_tee_free(t);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    cli_list_free(&a.families);
    cli_list_free(&a.selects);
    return rc;
}
