/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_capture.c — `pmirror capture (-r FILE | -i IFACE) ... -o OUT`: the wire into a
 * capture file. Argument handling, signals, the progress line and the closing summary;
 * the work is capture/'s, the output file's rotation into parts core's
 * (pm_rotating_writer).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cli.h"

typedef struct {
    pm_rotating_writer *writer; /* OUT, in numbered parts with --rotate-size/--rotate-seconds */
    uint64_t started_ms, last_progress_ms;
    double duration_s;
    long max_exchanges;
    uint64_t written, over_limit;
    bool progress;
} capture_output;

static capture_session *running; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        capture_stop(running);
}

static int write_record(void *ctx, const char *record, size_t len, pm_err *err)
{
    capture_output *o = ctx;
    if (o->max_exchanges > 0 && o->written >= (uint64_t)o->max_exchanges) {
        o->over_limit++; /* in flight when the limit was reached: counted, not written */
        return 0;
    }
    if (pm_rotating_writer_write_line(o->writer, record, len, err) != 0)
        return -1;
    o->written++;
    if (o->max_exchanges > 0 && o->written >= (uint64_t)o->max_exchanges && running)
        capture_stop(running); /* what is already in flight still ends in the file */
    return 0;
}

static void print_progress(const capture_stats *st, bool final)
{
    fprintf(stderr, "\rpmirror capture: %llu packets, %llu streams, %llu exchanges%s",
            (unsigned long long)st->packets, (unsigned long long)st->streams,
            (unsigned long long)st->exchanges, final ? "\n" : "   ");
}

static int on_tick(void *ctx, const capture_stats *st)
{
    capture_output *o = ctx;
    pm_err err;
    if (pm_rotating_writer_tick(o->writer, &err) != 0)
        return -1;
    uint64_t now = pm_now_ms();
    if (o->progress && now - o->last_progress_ms >= 1000) {
        o->last_progress_ms = now;
        print_progress(st, false);
    }
    if (o->duration_s > 0 && (double)(now - o->started_ms) / 1000.0 >= o->duration_s)
        return 1;
    return 0;
}

static void print_summary(const capture_stats *st, const char *out)
{
    fprintf(stderr, "pmirror capture: %llu packets, %llu streams (%llu HTTP, %llu non-HTTP), %llu exchanges",
            (unsigned long long)st->packets, (unsigned long long)st->streams,
            (unsigned long long)st->http_streams, (unsigned long long)st->non_http_streams,
            (unsigned long long)st->exchanges);
    for (size_t i = 0; i < st->nfamilies; i++)
        fprintf(stderr, "%s%s %llu", i == 0 ? " (" : ", ", st->families[i].family,
                (unsigned long long)st->families[i].exchanges);
    fprintf(stderr, "%s -> %s\n", st->nfamilies ? ")" : "", out);
    if (st->event_streams)
        fprintf(stderr, "pmirror capture: %llu event streams, each complete for the window it was observed\n",
                (unsigned long long)st->event_streams);
    uint64_t lost = st->incomplete_responses + st->without_response + st->orphan_responses +
                    st->lost_requests + st->http_errors + st->gaps + st->kernel_drops + st->bad_packets +
                    st->truncated_bodies + st->not_selected;
    if (lost)
        fprintf(stderr,
                "pmirror capture: not whole: %llu incomplete responses, %llu without response, %llu orphan "
                "responses, %llu lost requests, %llu HTTP errors, %llu TCP gaps (%llu bytes), %llu bodies cut "
                "by --max-body, %llu not selected, %llu bad packets, %llu kernel drops\n",
                (unsigned long long)st->incomplete_responses, (unsigned long long)st->without_response,
                (unsigned long long)st->orphan_responses, (unsigned long long)st->lost_requests,
                (unsigned long long)st->http_errors, (unsigned long long)st->gaps,
                (unsigned long long)st->gap_bytes, (unsigned long long)st->truncated_bodies,
                (unsigned long long)st->not_selected, (unsigned long long)st->bad_packets,
                (unsigned long long)st->kernel_drops);
}

int cmd_capture(int argc, char **argv)
{
    const char *file = NULL, *iface = NULL, *bpf = NULL, *out = NULL, *key = NULL;
    const char *stats_path = NULL, *profile = NULL, *map_path = NULL;
    cli_list families = {0}, selects = {0};
    cli_ints ports = {0};
    bool no_redact = false, quiet = false;
    long max_exchanges = 0, rotate_seconds = 0, idle_seconds = 120;
    uint64_t max_body = 0, rotate_size = 0;
    double duration = 0;
    const char *queue_dsn = NULL, *workers_path = NULL, *queue_mode = "auto"; /* --queue: cmd_capture_queue.c */
    const char *producer = NULL;
    cli_list queue_names = {0};
    long poll_ms = 200;
    double outcome_wait = 60;
    static const char *const queue_modes[] = {"auto", "logical", "poll", NULL};
    const cli_opt opts[] = {
        CLI_OPT_STRING('r', "read", &file, "FILE", "read a pcap or pcapng file"),
        CLI_OPT_STRING('i', "interface", &iface, "IFACE", "capture live from an interface (\"any\": all)"),
        CLI_OPT_STRING('f', "filter", &bpf, "BPF", "extra BPF filter, ANDed with the --port filter"),
        CLI_OPT_INTS(0, "port", &ports, 1, 65535, "server port to watch (default: every TCP stream that speaks HTTP)"),
        CLI_OPT_STRING('o', "output", &out, "OUT", "capture file to write (.gz: gzip; -: stdout)"),
        CLI_OPT_SIZE(0, "max-body", &max_body, 1, CLI_NO_MAX, "cap on each stored body (default 16M)"),
        CLI_OPT_FLAG(0, "no-redact", &no_redact, "keep secrets in the capture file (prints a warning)"),
        CLI_OPT_STRING(0, "key", &key, "FILE", "redaction key (default: .pmirror-key beside OUT, created 0600)"),
        CLI_OPT_LIST(0, "family", &families, "FAMILY", "keep only this family (REGISTRY_V2, API_V1, ...)"),
        CLI_OPT_LIST(0, "select", &selects, "SPEC", "keep only a cohort: org=A,repo=A/B,user=U,percent=N,salt=S"),
        CLI_OPT_NUMBER(0, "duration", &duration, 0.001, 1e9, "live: stop after X seconds"),
        CLI_OPT_INT(0, "max-exchanges", &max_exchanges, 0, CLI_NO_MAX, "stop after writing N exchanges (0: no limit)"),
        CLI_OPT_SIZE(0, "rotate-size", &rotate_size, 1, CLI_NO_MAX, "start a new numbered file after about SIZE"),
        CLI_OPT_INT(0, "rotate-seconds", &rotate_seconds, 0, 1e9,
                    "start a new numbered file every N seconds (0: never)"),
        CLI_OPT_INT(0, "idle-timeout", &idle_seconds, 1, 1e6, "close streams idle N seconds (default 120)"),
        CLI_OPT_STRING(0, "stats", &stats_path, "FILE.json", "write the capture statistics as JSON"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: config/quay)"),
        CLI_OPT_STRING(0, "map", &map_path, "FILE", "capability map (default: PROFILE/capabilities.yaml)"),
        CLI_OPT_FLAG('q', "quiet", &quiet, "no progress line"),
        CLI_OPT_STRING(0, "queue", &queue_dsn, "DSN", "capture a Quay database's queue jobs (libpq DSN or URI)"),
        CLI_OPT_LIST(0, "queue-name", &queue_names, "Q", "--queue: keep only this queue (notification, ...)"),
        CLI_OPT_ENUM(0, "mode", &queue_mode, queue_modes,
                     "--queue: logical decoding, polling by id, or auto (logical when allowed)"),
        CLI_OPT_INT(0, "poll-ms", &poll_ms, 10, 600000, "--queue: milliseconds between reads (default 200)"),
        CLI_OPT_NUMBER(0, "outcome-wait", &outcome_wait, 0, 1e6,
                       "--queue: seconds a job waits for its outcome before it is written (default 60)"),
        CLI_OPT_STRING(0, "workers", &workers_path, "FILE", "--queue: worker map (default: PROFILE/workers.yaml)"),
        CLI_OPT_STRING(0, "producer", &producer, "NAME",
                       "--queue: the implementation that enqueued these jobs (python, go), unless the map's "
                       "producer: says"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "capture", "(-r FILE.pcap[ng] | -i IFACE) [-f BPF] [--port N]... -o OUT\n"
        "       pmirror capture --queue DSN [--queue-name Q]... [--producer NAME] [--duration S] "
        "[--poll-ms N] -o JOBS",
        "Reads HTTP/1.x exchanges off the wire (TCP reassembled, requests paired with\n"
        "responses), classifies and redacts them, and writes a capture file. Everything\n"
        "it could not keep is counted in the summary and in --stats.",
        "Rotated files are numbered: OUT=capture.jsonl.gz gives capture.0001.jsonl.gz, ...\n"
        "--queue reads the queueitem table of a Quay database, read-only, into job records: by a\n"
        "temporary logical replication slot (test_decoding; needs wal_level=logical and a role\n"
        "with REPLICATION; lossless) or by polling new ids (needs SELECT; a job that comes and\n"
        "goes between two polls is missed and counted as an id gap). Jobs are written in\n"
        "enqueue order with the source's outcome (completed, retried, dead) when seen within\n"
        "--outcome-wait. It stops at --duration, SIGINT or SIGTERM; a lost connection exits 2.\n"
        "Mixed mode: each job record says which implementation enqueued it (\"producer\", also a\n"
        "cohort, so reports break worker families down by producer): the worker map's producer:\n"
        "template when producers mark their jobs, else --producer (one side owns the producing\n"
        "routes, e.g. per the switch snapshot); neither: no producer.\n"
        "Exit codes: 0 done (a truncated pcap is a warning), 2 bad arguments or input.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_ints_free(&ports);
        cli_list_free(&families);
        cli_list_free(&selects);
        cli_list_free(&queue_names);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_list_free(&args);
    if (queue_dsn || queue_names.n || producer) {
        cli_capture_queue_args q = {queue_dsn, out, key, profile, workers_path, stats_path, queue_mode, producer,
                                    &queue_names, duration, outcome_wait, poll_ms, no_redact, quiet,
                                    file || iface || bpf || ports.n || families.n || selects.n || map_path ||
                                        max_exchanges || rotate_size || rotate_seconds};
        rc = cli_capture_queue(&q);
        cli_ints_free(&ports);
        cli_list_free(&families);
        cli_list_free(&selects);
        cli_list_free(&queue_names);
        return rc;
    }

    capture_options copts;
    capture_options_init(&copts);
    pm_err err;
    int *port_numbers = NULL;
    pm_profile *prof = NULL;
    pm_capmap *map = NULL;
    pm_redactor *redactor = NULL;
    pm_selection *selection = NULL;
    capture_session *session = NULL;
    capture_output output = {.max_exchanges = max_exchanges, .duration_s = duration};
    json_t *files = NULL; /* the files written, for --stats */

    if (!file == !iface)
        rc = cli_fail("capture", "give exactly one of -r FILE and -i IFACE");
    else if (!out)
        rc = cli_fail("capture", "-o OUT is required");
    if (max_body)
        copts.max_body = (size_t)max_body;
    if (rc == CLI_OK && ports.n) {
        if (!(port_numbers = calloc(ports.n, sizeof *port_numbers)))
            rc = cli_fail("capture", "out of memory");
        for (size_t i = 0; port_numbers && i < ports.n; i++)
            port_numbers[i] = (int)ports.items[i];
    }
    if (rc == CLI_OK && (pm_selection_from(families.items, families.n, selects.items, selects.n, &selection, &err) != 0 ||
                         !(prof = pm_profile_find(profile, &err)) ||
                         !(map = pm_capmap_load(map_path ? map_path : prof->capabilities.where, &err))))
        rc = cli_fail("capture", "%s", err.msg);
    if (rc == CLI_OK && !no_redact) {
        redactor = pm_profile_redactor(prof, key, out, &err);
        if (!redactor)
            rc = cli_fail("capture", "%s", err.msg);
    }
    if (rc == CLI_OK) {
        if (no_redact)
            fprintf(stderr, "pmirror capture: warning: --no-redact: secrets are written to %s in the clear\n", out);
        copts.file = file;
        copts.iface = iface;
        copts.bpf = bpf;
        copts.ports = port_numbers;
        copts.nports = ports.n;
        copts.map = map;
        copts.redactor = redactor;
        copts.selection = selection;
        copts.idle_timeout_us = (int64_t)idle_seconds * 1000000;
        session = capture_open(&copts, &err);
        if (!session)
            rc = cli_fail("capture", "%s", err.msg);
    }
    if (rc == CLI_OK) {
        if (!(output.writer = pm_rotating_writer_open(out, rotate_size, rotate_seconds, &err)))
            rc = cli_fail("capture", "%s", err.msg);
        else
            files = json_incref(pm_rotating_writer_files(output.writer));
    }
    if (rc == CLI_OK) {
        output.progress = !quiet && isatty(STDERR_FILENO);
        output.started_ms = output.last_progress_ms = pm_now_ms();
        running = session;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int run_rc = capture_run(session, write_record, &output, on_tick, &err);
        running = NULL;
        if (output.progress)
            fputc('\n', stderr);
        if (pm_rotating_writer_close(output.writer, run_rc == 0 ? &err : NULL) != 0 && run_rc == 0)
            run_rc = -1;
        output.writer = NULL;
        if (run_rc != 0)
            rc = cli_fail("capture", "%s", err.msg);
        const capture_stats *st = capture_get_stats(session);
        if (capture_warning(session))
            fprintf(stderr, "pmirror capture: warning: %s; every exchange before it was kept\n",
                    capture_warning(session));
        if (!quiet)
            print_summary(st, out);
        if (output.over_limit)
            fprintf(stderr, "pmirror capture: --max-exchanges %ld reached: %llu exchanges still in flight were "
                            "not written\n", max_exchanges, (unsigned long long)output.over_limit);
        if (stats_path) {
            json_t *js = capture_stats_json(st);
            json_object_set(js, "files", files);
            if (json_dump_file(js, stats_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 && rc == CLI_OK)
                rc = cli_fail("capture", "%s: cannot write statistics: %s", stats_path, strerror(errno));
            json_decref(js);
        }
    }
    pm_rotating_writer_close(output.writer, NULL);
    json_decref(files);
    capture_close(session);
    pm_selection_free(selection);
    pm_redactor_free(redactor);
    pm_capmap_free(map);
    pm_profile_free(prof);
    free(port_numbers);
    cli_ints_free(&ports);
    cli_list_free(&families);
    cli_list_free(&selects);
    return rc;
}
