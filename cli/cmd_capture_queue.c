/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_capture_queue.c — `pmirror capture --queue DSN [--queue-name Q]... [--producer NAME] -o JOBS`:
 * a Quay database's queue into job records. cmd_capture.c parses the options (one table for both
 * kinds of capture, so --help shows them together) and hands them here; this file loads the
 * worker map and the redactor, opens the output, installs the signals, prints the progress
 * line and the summary, and writes --stats. The work is worker/'s.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "worker/worker.h"

static worker_capture *running; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    worker_capture_stop(running);
}

typedef struct {
    pm_jsonl_writer *writer;
    uint64_t started_ms, last_progress_ms;
    double duration_s;
    bool progress;
} queue_output;

static int write_job(void *ctx, const char *record, size_t len, pm_err *err)
{
    queue_output *o = ctx;
    return pm_jsonl_writer_write_line(o->writer, record, len, err);
}

static void print_progress(const worker_capture_stats *st, bool final)
{
    fprintf(stderr,
            "\rpmirror capture: queue (%s): %llu jobs, %llu completed, %llu retried, %llu dead, %llu held, "
            "%llu gaps%s",
            st->mode, (unsigned long long)st->jobs, (unsigned long long)st->completed,
            (unsigned long long)st->retried, (unsigned long long)st->dead, (unsigned long long)st->held,
            (unsigned long long)st->gaps, final ? "\n" : "   ");
}

static int on_tick(void *ctx, const worker_capture_stats *st)
{
    queue_output *o = ctx;
    pm_err err;
    if (pm_jsonl_writer_tick(o->writer, &err) != 0)
        return -1; /* the write that follows reports it */
    uint64_t now = pm_now_ms();
    if (o->progress && now - o->last_progress_ms >= 1000) {
        o->last_progress_ms = now;
        print_progress(st, false);
    }
    return o->duration_s > 0 && (double)(now - o->started_ms) / 1000.0 >= o->duration_s;
}

static void print_summary(const worker_capture *c, const char *out)
{
    const worker_capture_stats *st = worker_capture_get_stats(c);
    fprintf(stderr, "pmirror capture: %llu jobs (%s): %llu completed, %llu retried, %llu dead, %llu without outcome",
            (unsigned long long)st->jobs, st->mode, (unsigned long long)st->completed,
            (unsigned long long)st->retried, (unsigned long long)st->dead, (unsigned long long)st->without_outcome);
    for (size_t i = 0; i < st->nqueues; i++)
        fprintf(stderr, "%s%s %llu", i == 0 ? " (" : ", ", st->queues[i].queue,
                (unsigned long long)st->queues[i].jobs);
    fprintf(stderr, "%s -> %s\n", st->nqueues ? ")" : "", out);
    if (strcmp(st->mode, "poll") == 0)
        fprintf(stderr, "pmirror capture: poll: %llu id gaps (jobs it may have missed%s), %llu rows committed late\n",
                (unsigned long long)st->gaps, st->gaps ? "; --stats lists them" : "",
                (unsigned long long)st->late_rows);
    if (st->bodies_not_json || st->bodies_truncated || st->unknown_queue || st->bad_changes || st->evicted ||
        st->truncates)
        fprintf(stderr,
                "pmirror capture: not whole: %llu bodies not JSON (kept as body_text), %llu cut by the body cap, "
                "%llu jobs of queues the worker map does not name (family UNKNOWN), %llu changes that did not "
                "parse, %llu written early (too many held), %llu truncations of queueitem\n",
                (unsigned long long)st->bodies_not_json, (unsigned long long)st->bodies_truncated,
                (unsigned long long)st->unknown_queue, (unsigned long long)st->bad_changes,
                (unsigned long long)st->evicted, (unsigned long long)st->truncates);
    if (st->producers_refused)
        fprintf(stderr, "pmirror capture: %llu jobs whose producer: template gave a value that is not a producer "
                        "name (--producer's, or none, written)\n",
                (unsigned long long)st->producers_refused);
}

/* The map: --workers, else PROFILE/workers.yaml. */
static pm_workers *load_map(const cli_capture_queue_args *a, const pm_profile *profile, pm_err *err)
{
    return pm_workers_load(a->workers_path ? a->workers_path : profile->workers.where, err);
}

static int check_args(const cli_capture_queue_args *a)
{
    if (!a->dsn)
        return cli_fail("capture", "%s needs --queue DSN", a->producer ? "--producer" : "--queue-name");
    if (a->wire_options)
        return cli_fail("capture", "--queue reads a database: -r, -i, -f, --port, --family, --select, --map, "
                                   "--max-exchanges and --rotate-* do not apply");
    if (!a->out)
        return cli_fail("capture", "-o JOBS is required");
    if (a->producer && !pm_worker_producer_ok(a->producer))
        return cli_fail("capture", "--producer '%s': want a name of up to %d lowercase letters, digits, - and _ "
                                   "(python, go)", a->producer, PM_PRODUCER_MAX);
    for (size_t i = 0; i < a->queue_names->n; i++) {
        const char *q = a->queue_names->items[i];
        if (!*q || strchr(q, '/'))
            return cli_fail("capture", "--queue-name '%s': want a queue (queue_name's first segment: notification, "
                                       "dockerfilebuild, ...)", q);
    }
    return CLI_OK;
}

int cli_capture_queue(const cli_capture_queue_args *a)
{
    int rc = check_args(a);
    if (rc != CLI_OK)
        return rc;
    pm_err err;
    pm_profile *profile = pm_profile_find(a->profile, &err);
    if (!profile)
        return cli_fail("capture", "%s", err.msg);
    pm_workers *map = load_map(a, profile, &err);
    pm_redactor *redactor = NULL;
    worker_capture *capture = NULL;
    queue_output output = {.duration_s = a->duration};
    if (!map)
        rc = cli_fail("capture", "%s", err.msg);
    if (rc == CLI_OK && !a->no_redact && !(redactor = pm_profile_redactor(profile, a->key, a->out, &err)))
        rc = cli_fail("capture", "%s", err.msg);
    if (rc == CLI_OK) {
        worker_capture_options o;
        worker_capture_options_init(&o);
        o.dsn = a->dsn;
        o.mode = strcmp(a->mode, "logical") == 0 ? WORKER_MODE_LOGICAL
                 : strcmp(a->mode, "poll") == 0  ? WORKER_MODE_POLL
                                                 : WORKER_MODE_AUTO;
        o.queues = a->queue_names->items;
        o.nqueues = a->queue_names->n;
        o.map = map;
        o.redactor = redactor;
        o.producer = a->producer;
        o.poll_ms = (unsigned)a->poll_ms;
        o.outcome_wait_ms = (unsigned)(a->outcome_wait_s * 1000);
        if (!(capture = worker_capture_open(&o, &err)))
            rc = cli_fail("capture", "%s", err.msg);
    }
    if (rc == CLI_OK && !(output.writer = pm_jsonl_writer_open(a->out, &err)))
        rc = cli_fail("capture", "%s", err.msg);
    if (rc == CLI_OK) {
        if (a->no_redact)
            fprintf(stderr, "pmirror capture: warning: --no-redact: secrets are written to %s in the clear\n", a->out);
        if (worker_capture_note(capture))
            fprintf(stderr, "pmirror capture: note: %s\n", worker_capture_note(capture));
        output.progress = !a->quiet && isatty(STDERR_FILENO);
        output.started_ms = output.last_progress_ms = pm_now_ms();
        running = capture;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int run_rc = worker_capture_run(capture, write_job, &output, on_tick, &err);
        running = NULL;
        if (output.progress)
            print_progress(worker_capture_get_stats(capture), true);
        if (pm_jsonl_writer_close(output.writer, run_rc == 0 ? &err : NULL) != 0 && run_rc == 0)
            run_rc = -1;
        output.writer = NULL;
        if (worker_capture_warning(capture))
            fprintf(stderr, "pmirror capture: warning: %s\n", worker_capture_warning(capture));
        if (!a->quiet)
            print_summary(capture, a->out);
        if (run_rc != 0)
            rc = cli_fail("capture", "%s", err.msg);
        if (a->stats_path) {
            json_t *js = worker_capture_stats_json(capture);
            json_object_set_new(js, "files", strcmp(a->out, "-") == 0 ? json_array() : json_pack("[s]", a->out));
            if (!js || json_dump_file(js, a->stats_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
                if (rc == CLI_OK)
                    rc = cli_fail("capture", "%s: cannot write statistics: %s", a->stats_path, strerror(errno));
            }
            json_decref(js);
        }
    }
    if (output.writer)
        pm_jsonl_writer_close(output.writer, NULL);
    worker_capture_close(capture);
    pm_redactor_free(redactor);
    pm_workers_free(map);
    pm_profile_free(profile);
    return rc;
}
