/*
 * cmd_replay.c — `pmirror replay -c SUITE -i CAPTURE -o RESULTS`: every captured exchange
 * to every target of the suite. Arguments, the progress line, signals and the summary;
 * the work is replay/'s. The replay loop hands each finished exchange to a second thread
 * that writes its result (pipeline_stages.c, as `run` does): hashing, redacting and escaping
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
        const char *name = suite->targets[i].name;
        json_t *t = json_object_get(f, name);
        if (!t) {
            t = json_pack("{s:i,s:i,s:i}", "answered", 0, "errors", 0, "skipped", 0);
            json_object_set_new(f, name, t);
        }
        bool skipped;
        const char *error = replay_exchange_error(x, i, &skipped);
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
    if (st->out_of_order)
        fprintf(stderr, "  %llu exchanges arrived beyond the reorder window and were replayed late\n",
                (unsigned long long)st->out_of_order);
}

int cmd_replay(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_path = NULL, *shard = NULL, *progress = "auto";
    const char *rate = NULL, *speed = NULL, *key = NULL;
    long concurrency = 0, limit = 0, max_body = 0;
    bool allow_writes = false;
    const cli_opt opts[] = {
        {'c', "suite", CLI_STRING, &suite_path, "SUITE", "suite file: targets, pacing, selection (README)"},
        {'i', "input", CLI_STRING, &in_path, "CAPTURE", "capture file to replay (.gz or plain, - = stdin)"},
        {'o', "output", CLI_STRING, &out_path, "RESULTS", "result file to write (.gz: gzip; - = stdout)"},
        {0, "concurrency", CLI_INT, &concurrency, "N", "exchanges in flight at most (default 32)"},
        {0, "rate", CLI_STRING, &rate, "N", "start at most N exchanges per second"},
        {0, "speed", CLI_STRING, &speed, "X", "follow the recording's timing, X times faster"},
        {0, "limit", CLI_INT, &limit, "N", "replay only the first N exchanges in scope"},
        {0, "shard", CLI_STRING, &shard, "K/N", "replay shard K of N (by repository, else user, else connection)"},
        {0, "allow-writes", CLI_FLAG, &allow_writes, NULL, "send mutating requests to sandbox targets"},
        {0, "max-body", CLI_INT, &max_body, "BYTES", "stored response body cap (default 16 MiB)"},
        {0, "key", CLI_STRING, &key, "FILE", "redaction key for the answers' secrets (default: .pmirror-key beside RESULTS)"},
        {0, "progress", CLI_STRING, &progress, "WHEN", "never, always, or auto (when stderr is a terminal)"},
        {0},
    };
    const cli_command cmd = {
        "replay", "-c SUITE -i CAPTURE -o RESULTS",
        "Sends every captured exchange to every target of the suite at the same moment,\n"
        "in the recording's causal order, and writes one result record per exchange with\n"
        "each target's answer or error code.",
        "Mutating requests go only to targets with sandbox: true, and only with\n"
        "--allow-writes; elsewhere they are skipped_unsafe. Exit: 0 done, 2 bad input.",
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
    /* bounded (NaN fails too): replay turns them into int64 microsecond delays */
    if (rate && !((ro.rate = strtod(rate, NULL)) >= 0.001 && ro.rate <= 1e9))
        return cli_fail("replay", "--rate '%s': a number of exchanges per second from 0.001 to 1e9", rate);
    if (speed && !((ro.speed = strtod(speed, NULL)) >= 0.001 && ro.speed <= 1e9))
        return cli_fail("replay", "--speed '%s': a factor from 0.001 to 1e9", speed);
    if (shard && (sscanf(shard, "%u/%u", &ro.shard_k, &ro.shard_n) != 2 || ro.shard_n == 0 || ro.shard_k == 0 ||
                  ro.shard_k > ro.shard_n))
        return cli_fail("replay", "--shard '%s': K/N with 1 <= K <= N", shard);
    if (strcmp(progress, "never") && strcmp(progress, "always") && strcmp(progress, "auto"))
        return cli_fail("replay", "--progress '%s': never, always or auto", progress);
    if (concurrency < 0 || limit < 0)
        return cli_fail("replay", "--concurrency and --limit must be positive");

    char dir[4096];
    pm_err err;
    pm_suite *suite = pm_suite_load(suite_path, cli_profile_dir(NULL, dir, sizeof dir), &err);
    if (!suite)
        return cli_fail("replay", "%s", err.msg);
    ro.suite = suite;
    /* the targets' answers carry secrets too (Set-Cookie, issued tokens): redacted at rest,
     * JWTs keeping their claims for diff's jwt rule */
    pm_redactor *redactor = cli_redactor(key, out_path, suite->profile_dir, &err);
    if (!redactor) {
        pm_suite_free(suite);
        return cli_fail("replay", "%s", err.msg);
    }
    pm_redactor_keep_jwt_claims(redactor, true);
    ro.redactor = redactor;
    pm_jsonl_reader *in = pm_jsonl_reader_open(in_path, &err);
    replay_session *session = in ? replay_new(&ro, &err) : NULL;
    replay_output o = {.suite = suite, .families = json_object()};
    o.progress = strcmp(progress, "always") == 0 || (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO));
    pm_jsonl_writer *out = session ? pm_jsonl_writer_open(out_path, &err) : NULL;
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
    return rc;
}
