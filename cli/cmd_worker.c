/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_worker.c — `pmirror worker -c SUITE -i JOBS -o RESULTS`: every job record replayed into
 * each worker target's sandbox queue, one job result per job. Arguments, the worker map, the
 * progress line, signals and the summary; the work is worker/'s (worker_replay_*).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "worker/worker.h"

static worker_replay *running; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    worker_replay_stop(running);
}

typedef struct {
    pm_jsonl_writer *writer;
    bool progress;
} worker_output;

static int write_result(void *ctx, const char *record, size_t len, pm_err *err)
{
    worker_output *o = ctx;
    if (pm_jsonl_writer_write_line(o->writer, record, len, err) != 0)
        return -1;
    return pm_jsonl_writer_tick(o->writer, err);
}

static void show_progress(void *ctx, const worker_replay_stats *st)
{
    worker_output *o = ctx;
    if (!o->progress)
        return;
    fprintf(stderr, "\rpmirror worker: %llu jobs done, %llu in flight", (unsigned long long)st->jobs,
            (unsigned long long)st->in_flight);
    for (size_t i = 0; i < st->ntargets; i++)
        fprintf(stderr, ", %s: %llu timeouts %llu errors", st->targets[i].name,
                (unsigned long long)st->targets[i].timeout, (unsigned long long)st->targets[i].errors);
    fprintf(stderr, "   ");
}

static void print_summary(const worker_replay_stats *st, const char *out)
{
    fprintf(stderr, "pmirror worker: %llu jobs replayed", (unsigned long long)st->jobs);
    if (st->runs)
        fprintf(stderr, " and %llu scheduled runs", (unsigned long long)st->runs);
    fprintf(stderr, " of %llu records read -> %s\n", (unsigned long long)st->read, out);
    for (size_t i = 0; i < st->ntargets; i++) {
        const worker_replay_target_stats *t = &st->targets[i];
        fprintf(stderr,
                "  %s: %llu completed, %llu retried, %llu dead, %llu timeout, %llu errors; effects: %llu jobs "
                "enqueued, %llu HTTP requests",
                t->name, (unsigned long long)t->completed, (unsigned long long)t->retried,
                (unsigned long long)t->dead, (unsigned long long)t->timeout, (unsigned long long)t->errors,
                (unsigned long long)t->enqueued, (unsigned long long)t->http);
        if (t->failed)
            fprintf(stderr, "; %llu runs failed", (unsigned long long)t->failed);
        if (t->ambiguous || t->unattributed || t->http_unattributed)
            fprintf(stderr,
                    " (%llu jobs with effects that could not be attributed: error ambiguous_effects; with no job "
                    "in flight: %llu jobs enqueued, %llu HTTP requests, in no result)",
                    (unsigned long long)t->ambiguous, (unsigned long long)t->unattributed,
                    (unsigned long long)t->http_unattributed);
        fputc('\n', stderr);
    }
    if (st->serialized)
        fprintf(stderr, "  an effect could not be attributed with several jobs in flight: the rest ran one job at a "
                        "time (--concurrency 1 gives exact effects from the start)\n");
    if (st->not_jobs || st->bad_jobs)
        fprintf(stderr, "  skipped: %llu records neither of kind job nor run, %llu job records without a "
                        "queue_name or a body or runs without a program or a snapshot\n",
                (unsigned long long)st->not_jobs, (unsigned long long)st->bad_jobs);
}

int cmd_worker(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_path = NULL, *progress = "auto", *profile = NULL,
               *workers_path = NULL;
    long concurrency = 0, poll_ms = 20;
    double job_timeout = 0;
    bool redeliver = false;
    cli_list runs = {0};
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE",
                       "suite file whose targets are worker targets {name, role, database, sandbox: true}"),
        CLI_OPT_STRING('i', "input", &in_path, "JOBS",
                       "job records (capture --queue; .gz or plain, - = stdin); records of kind run too"),
        CLI_OPT_LIST(0, "run", &runs, "PROGRAM@SNAPSHOT",
                     "run a scheduled program once on a copy of database SNAPSHOT on each target (before -i's)"),
        CLI_OPT_STRING('o', "output", &out_path, "RESULTS", "job results to write (.gz: gzip; - = stdout)"),
        CLI_OPT_INT(0, "concurrency", &concurrency, 1, 10000,
                    "jobs in flight at most, an ordered queue's burst included (default 4)"),
        CLI_OPT_NUMBER(0, "job-timeout", &job_timeout, 0.01, 86400,
                       "seconds from enqueue to outcome before `timeout` (default: the target's timeout, 60)"),
        CLI_OPT_INT(0, "poll-ms", &poll_ms, 1, 10000, "milliseconds between two looks at the rows (default 20)"),
        CLI_OPT_FLAG(0, "redeliver", &redeliver,
                     "deliver each job twice (at-least-once); the second's outcome and effects go to "
                     "effects.redelivery"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_STRING(0, "workers", &workers_path, "FILE", "worker map (default: PROFILE/workers.yaml)"),
        CLI_OPT_ENUM(0, "progress", &progress, cli_when_values, "a progress line (auto: when stderr is a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "worker", "-c SUITE (-i JOBS | --run PROGRAM@SNAPSHOT...) -o RESULTS",
        "Replays job records into each worker target's sandbox queue as Quay's producer\n"
        "enqueues them, watches each row until its outcome (completed, retried, dead,\n"
        "timeout) and writes one job result per job: the outcome, the jobs the worker\n"
        "enqueued in its turn, the HTTP requests it sent to the target's effects sink\n"
        "(effects: HOST:PORT, answered 200 {}) and the worker map's probes. pmirror diff\n"
        "compares them as it compares answers (outcome as a status, effects as a body).\n"
        "Consecutive jobs of an ordered queue (the build queue) go in together, up to\n"
        "--concurrency, and each one's effects.taken_before counts the lower ids still\n"
        "unclaimed when the worker took it (0: lowest id first, as Quay).\n"
        "A scheduled program (--run, or a record of kind run) runs once per target on a\n"
        "fresh copy of the snapshot database (CREATE DATABASE ... TEMPLATE SNAPSHOT): the\n"
        "target's run: argv, with PMIRROR_DSN (the copy) and PMIRROR_EFFECTS in its\n"
        "environment; its effects are the probes' rows deleted and inserted, the jobs it\n"
        "enqueued and its HTTP; its outcome completed (exit 0), failed or timeout.",
        "A worker target's database must be marked sandbox: true. A row whose outcome is\n"
        "not completed is deleted once it is seen; a run's copy is dropped after it.\n"
        "Exit: 0 done, 2 bad input or a target that cannot be reached at the start.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cli_list_free(&args);
    if (!suite_path || (!in_path && runs.n == 0) || !out_path) {
        cli_list_free(&runs);
        return cli_fail("worker", "-c SUITE, -i JOBS (or --run PROGRAM@SNAPSHOT) and -o RESULTS are required");
    }

    pm_err err;
    pm_suite *suite;
    pm_profile *prof = pm_profile_open(profile, suite_path, &suite, &err);
    if (!prof)
        return cli_fail("worker", "%s", err.msg);
    pm_workers *map = pm_workers_load(workers_path ? workers_path : prof->workers.where, &err);
    worker_replay *replay = NULL;
    pm_jsonl_reader *in = NULL;
    worker_output o = {0};
    json_t *run_records = json_array();
    for (size_t i = 0; map && rc == CLI_OK && i < runs.n; i++) {
        json_t *rec = worker_run_record(map, runs.items[i], (unsigned)i + 1, &err);
        if (!rec)
            rc = cli_fail("worker", "%s", err.msg);
        json_array_append_new(run_records, rec);
    }
    cli_list_free(&runs);
    if (rc != CLI_OK) {
        /* the --run spec said why */
    } else if (!map) {
        rc = cli_fail("worker", "%s", err.msg);
    } else {
        worker_replay_options wo;
        worker_replay_options_init(&wo);
        wo.suite = suite;
        wo.map = map;
        if (concurrency > 0)
            wo.concurrency = concurrency;
        wo.job_timeout_s = job_timeout;
        wo.poll_ms = (unsigned)poll_ms;
        wo.redeliver = redeliver;
        wo.runs = run_records;
        if ((in_path && !(in = pm_jsonl_reader_open(in_path, &err))) || !(replay = worker_replay_open(&wo, &err)) ||
            !(o.writer = pm_jsonl_writer_open(out_path, &err)))
            rc = cli_fail("worker", "%s", err.msg);
    }
    if (rc == CLI_OK) {
        o.progress = strcmp(progress, "always") == 0 || (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO));
        running = replay;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int run_rc = worker_replay_run(replay, in, write_result, &o, show_progress, &err);
        running = NULL;
        if (o.progress)
            fputc('\n', stderr);
        if (run_rc != 0)
            rc = cli_fail("worker", "%s", err.msg);
        if (pm_jsonl_writer_close(o.writer, &err) != 0 && rc == CLI_OK)
            rc = cli_fail("worker", "%s", err.msg);
        o.writer = NULL;
        if (in && pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror worker: warning: %s\n", pm_jsonl_reader_warning(in));
        if (rc == CLI_OK)
            print_summary(worker_replay_get_stats(replay), out_path);
    }
    if (o.writer)
        pm_jsonl_writer_close(o.writer, NULL);
    worker_replay_close(replay);
    pm_jsonl_reader_close(in);
    json_decref(run_records);
    pm_workers_free(map);
    pm_suite_free(suite);
    pm_profile_free(prof);
    return rc;
}
