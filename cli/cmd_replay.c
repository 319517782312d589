/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_replay.c — `pmirror replay -c SUITE -i CAPTURE -o RESULTS`: every captured exchange
 * to every target of the suite. Arguments, the progress line, signals and the summary;
 * the work is replay/'s. The replay loop hands each finished exchange to a second thread
 * that writes its result (pipeline/stages.c, as `run` does): hashing, redacting and escaping
 * the answers is about a third of the CPU, which the loop then spends driving the targets.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "replay/replay.h"
#include "pipeline/pipeline.h"

typedef struct {
    pipeline_stages *writer; /* the results' thread */
    const pm_suite *suite;
    bool progress;
    json_t *families; /* FAMILY → {TARGET → {answered, errors, skipped}} */
} replay_output;

static replay_session *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        replay_stop(running);
}

static void count(json_t *families, const pm_suite *suite, const replay_exchange *x)
{
    const char *family = replay_exchange_family(x);
    family = family ? family : "UNKNOWN";
    json_t *f = json_object_get(families, family);
    if (!f) {
        f = json_object();
        json_object_set_new(families, family, f);
    }
    for (size_t i = 0; i < suite->ntargets; i++) {
        bool skipped;
        const char *error = replay_exchange_error(x, i, &skipped);
        if (error && strcmp(error, "mixed") == 0)
            continue; /* --mixed: another target's step */
        const char *name = suite->targets[i].name;
        json_t *t = json_object_get(f, name);
        if (!t) {
            t = json_pack("{s:i,s:i,s:i}", "answered", 0, "errors", 0, "skipped", 0);
            json_object_set_new(f, name, t);
        }
        const char *key = skipped ? "skipped" : error ? "errors" : "answered";
        json_object_set_new(t, key, json_integer(json_integer_value(json_object_get(t, key)) + 1));
    }
}

/* On the replay loop: counted for the summary, then queued for the results' thread. */
static int hand_over(void *ctx, replay_exchange *x, pm_err *err)
{
    replay_output *o = ctx;
    count(o->families, o->suite, x);
    return pipeline_stages_push(o->writer, x, err);
}

static void show_progress(void *ctx, const replay_stats *st, double per_s)
{
    replay_output *o = ctx; /* the results' thread flushes the file (TICK_MS) */
    if (!o->progress)
        return;
    fprintf(stderr, "\rpmirror replay: %llu/%llu done", (unsigned long long)st->done,
            (unsigned long long)st->in_scope);
    if (st->input_read >= 0)
        fprintf(stderr, " (%.0f%% of the input)", 100 * st->input_read);
    fprintf(stderr, ", %.0f exchanges/s, errors:", per_s);
    for (size_t i = 0; i < st->ntargets; i++)
        fprintf(stderr, " %s %llu", o->suite->targets[i].name, (unsigned long long)st->targets[i].errors);
    if (st->input_read > 0.01 && st->input_read < 1 && per_s > 0) {
        /* the time so far, scaled by what is left of the input */
        double elapsed = (double)st->done / per_s;
        double left = elapsed * (1 - st->input_read) / st->input_read;
        fprintf(stderr, ", ETA %dm%02ds", (int)left / 60, (int)left % 60);
    }
    fprintf(stderr, "   ");
}

static void print_summary(const replay_output *o, const replay_stats *st, const char *out)
{
    fprintf(stderr, "pmirror replay: %llu exchanges replayed of %llu read -> %s\n", (unsigned long long)st->done,
            (unsigned long long)st->read, out);
    const char *family;
    const json_t *f;
    json_object_foreach(o->families, family, f) {
        fprintf(stderr, "  %-12s", family);
        const char *name;
        const json_t *t;
        json_object_foreach((json_t *)f, name, t)
            fprintf(stderr, "  %s: %lld answered, %lld errors, %lld skipped", name,
                    (long long)json_integer_value(json_object_get(t, "answered")),
                    (long long)json_integer_value(json_object_get(t, "errors")),
                    (long long)json_integer_value(json_object_get(t, "skipped")));
        fputc('\n', stderr);
    }
    for (size_t i = 0; i < st->ntargets; i++) {
        const replay_target_stats *t = &st->targets[i];
        if (t->skipped_unsafe || t->no_credentials || t->correlation)
            fprintf(stderr, "  %s: %llu skipped_unsafe (mutating; not a sandbox target or no --allow-writes), "
                            "%llu no_credentials, %llu correlation failures\n",
                    o->suite->targets[i].name, (unsigned long long)t->skipped_unsafe,
                    (unsigned long long)t->no_credentials, (unsigned long long)t->correlation);
    }
    if (st->mixed_steps)
        fprintf(stderr, "  --mixed: %llu exchanges were steps of %llu flows, each sent to one target; the other %llu "
                        "went to every target\n",
                (unsigned long long)st->mixed_steps, (unsigned long long)st->mixed_flows,
                (unsigned long long)(st->in_scope > st->mixed_steps ? st->in_scope - st->mixed_steps : 0));
    if (st->out_of_order)
        fprintf(stderr, "  %llu exchanges arrived beyond the reorder window and were replayed late\n",
                (unsigned long long)st->out_of_order);
}

int cmd_replay(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_path = NULL, *progress = "auto", *key = NULL;
    const char *mixed = NULL;
    double rate = 0, speed = 0;
    long concurrency = 0, limit = 0;
    uint64_t max_body = 0;
    cli_shard shard = {0};
    bool allow_writes = false;
    double stream_window = 0;
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE", "suite file: targets, pacing, selection (README)"),
        CLI_OPT_STRING('i', "input", &in_path, "CAPTURE", "capture file to replay (.gz or plain, - = stdin)"),
        CLI_OPT_STRING('o', "output", &out_path, "RESULTS", "result file to write (.gz: gzip; - = stdout)"),
        CLI_OPT_INT(0, "concurrency", &concurrency, 1, 100000, "exchanges in flight at most (default 32)"),
        CLI_OPT_NUMBER(0, "rate", &rate, 0.001, 1e9, "start at most X exchanges per second"),
        CLI_OPT_NUMBER(0, "speed", &speed, 0.001, 1e9, "follow the recording's timing, X times faster"),
        CLI_OPT_INT(0, "limit", &limit, 1, CLI_NO_MAX, "replay only the first N exchanges in scope"),
        CLI_OPT_NUMBER(0, "stream-window", &stream_window, 0.001, 86400,
                       "hold each event stream open X seconds (default: its recorded window, at most the "
                       "target's timeout)"),
        CLI_OPT_SHARD(0, "shard", &shard, "replay shard K of N (by repository, else user, else connection)"),
        CLI_OPT_FLAG(0, "allow-writes", &allow_writes, "send mutating requests to sandbox targets"),
        CLI_OPT_ENUM(0, "mixed", &mixed, replay_mixed_names,
                     "split each flow (upload, token, paginated listing) across baseline and candidate, one "
                     "target per step: alternating, or the first step on one and the rest on the other"),
        CLI_OPT_SIZE(0, "max-body", &max_body, 1, CLI_NO_MAX, "stored response body cap (default 16M)"),
        CLI_OPT_STRING(0, "key", &key, "FILE",
                       "redaction key for the answers' secrets (default: the capture's .pmirror-key beside it, "
                       "else .pmirror-key beside RESULTS)"),
        CLI_OPT_ENUM(0, "progress", &progress, cli_when_values, "a progress line (auto: when stderr is a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "replay", "-c SUITE -i CAPTURE -o RESULTS",
        "Sends every captured exchange to every target of the suite at the same moment,\n"
        "in the recording's causal order, and writes one result record per exchange with\n"
        "each target's answer or error code.",
        "Mutating requests go only to targets with sandbox: true, and only with\n"
        "--allow-writes; elsewhere they are skipped_unsafe. With --mixed, each step of a\n"
        "flow goes to one target (its result has one answer and a mixed object) and the\n"
        "exchanges in no flow go to every target. Exit: 0 done, 2 bad input.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cli_list_free(&args);
    if (!suite_path || !in_path || !out_path)
        return cli_fail("replay", "-c SUITE, -i CAPTURE and -o RESULTS are required");
    replay_options ro;
    replay_options_init(&ro);
    ro.concurrency = concurrency;
    ro.limit = limit;
    ro.allow_writes = allow_writes;
    if (max_body > 0)
        ro.max_body = (size_t)max_body;
    ro.rate = rate; /* bounded by the table: replay turns them into int64 microsecond delays */
    ro.speed = speed;
    ro.stream_window_s = stream_window;
    ro.shard_k = shard.k;
    ro.shard_n = shard.n;
    ro.mixed = replay_mixed_from_name(mixed);

    pm_err err;
    pm_suite *suite;
    pm_profile *prof = pm_profile_open(NULL, suite_path, &suite, &err);
    if (!prof)
        return cli_fail("replay", "%s", err.msg);
    ro.suite = suite;
    json_t *insecure = pm_suite_insecure_targets(suite);
    cli_warn_insecure("replay", insecure);
    json_decref(insecure);
    ro.correlation_path = prof->correlation.path;
    /* the targets' answers carry secrets too (Set-Cookie, issued tokens): redacted at rest,
     * JWTs keeping their claims for diff's jwt rule */
    char capture_key[4200];
    if (!key) /* one run, one key: the capture's, so a secret keeps its token in the results */
        key = pm_redact_key_of_input(in_path, capture_key, sizeof capture_key);
    pm_redactor *redactor = pm_profile_redactor(prof, key, out_path, &err);
    if (!redactor) {
        pm_suite_free(suite);
        pm_profile_free(prof);
        return cli_fail("replay", "%s", err.msg);
    }
    pm_redactor_keep_jwt_claims(redactor, true);
    ro.redactor = redactor;
    pm_jsonl_reader *in = pm_jsonl_reader_open(in_path, &err);
    replay_session *session = in ? replay_new(&ro, &err) : NULL;
    replay_output o = {.suite = suite, .families = json_object()};
    o.progress = strcmp(progress, "always") == 0 || (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO));
    pm_jsonl_writer *out = session ? pm_jsonl_writer_open(out_path, &err) : NULL;
    if (out) /* .gz: the fast level, deflate at 6 would cost more than the replay (jsonl.h) */
        pm_jsonl_writer_set_gzip_level(out, 1);
    pipeline_sink_options wo = {.results = out};
    if (out)
        o.writer = pipeline_stages_start(&wo, &err);
    if (!in || !session || !out || !o.writer) {
        rc = cli_fail("replay", "%s", err.msg);
    } else {
        running = session;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        int run_rc = replay_run_handoff(session, in, hand_over, show_progress, &o, &err);
        running = NULL;
        if (o.progress)
            fputc('\n', stderr);
        pipeline_counts ignored;
        pm_err werr;
        int write_rc = pipeline_stages_finish(o.writer, &ignored, &werr);
        o.writer = NULL;
        if (run_rc != 0) /* a failed write stops the replay with the writer's error */
            rc = cli_fail("replay", "%s", err.msg);
        else if (write_rc != 0)
            rc = cli_fail("replay", "%s", werr.msg);
        if (pm_jsonl_writer_close(out, &err) != 0 && rc == CLI_OK)
            rc = cli_fail("replay", "%s", err.msg);
        out = NULL;
        if (pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror replay: warning: %s\n", pm_jsonl_reader_warning(in));
        if (rc == CLI_OK) /* an error is one line; the summary is for runs that finished */
            print_summary(&o, replay_get_stats(session), out_path);
    }
    if (out)
        pm_jsonl_writer_close(out, NULL);
    json_decref(o.families);
    replay_free(session);
    pm_jsonl_reader_close(in);
    pm_redactor_free(redactor);
    pm_suite_free(suite);
    pm_profile_free(prof);
    return rc;
}
