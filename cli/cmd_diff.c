/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_diff.c — `pmirror diff [-c SUITE] -i RESULTS -o DIFFS`: every result record into a
 * verdict with its differences, streamed (one record in memory at a time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diff/diff.h"

#define MAX_JOBS 16

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

static bool show_progress(const char *when)
{
    return strcmp(when, "always") == 0 || (strcmp(when, "auto") == 0 && isatty(STDERR_FILENO));
}

/* One result line → its diff line (on a worker thread, with that worker's engine). */
static int diff_line(void *engine, const char *line, size_t len, pm_jtext *out, pm_err *err)
{
    json_t *d = diff_result_text(engine, line, len, err);
    if (!d)
        return -1;
    pm_jtext_json(out, d);
    json_decref(d);
    return out->failed ? pm_err_set(err, "out of memory") : 0;
}

typedef struct emit_ctx {
    pm_jsonl_writer *out;
    pm_jsonl_reader *in;
    bool show;
    uint64_t written;
    double last;
} emit_ctx;

/* Each diff line, in input order; a progress line about every second. */
static int emit_line(void *ctx, const char *text, size_t len, pm_err *err)
{
    emit_ctx *c = ctx;
    if (pm_jsonl_writer_write_line(c->out, text, len, err) != 0)
        return -1;
    c->written++;
    if (c->show && (c->written & 255) == 0) {
        double now = (double)pm_now_ms() / 1000.0;
        if (now - c->last >= 1.0) {
            double share = pm_jsonl_reader_progress(c->in);
            if (share >= 0)
                fprintf(stderr, "\rpmirror diff: %llu records, %.0f%% of the input", (unsigned long long)c->written,
                        share * 100);
            else
                fprintf(stderr, "\rpmirror diff: %llu records", (unsigned long long)c->written);
            c->last = now;
        }
    }
    return 0;
}

static void add_stats(diff_stats *total, const diff_engine *e)
{
    const diff_stats *s = diff_get_stats(e);
    total->records += s->records;
    total->match += s->match;
    total->mismatch += s->mismatch;
    total->error += s->error;
    total->skipped += s->skipped;
    total->mixed += s->mixed;
    total->mixed_failed += s->mixed_failed;
    total->expired_rules_hit += s->expired_rules_hit;
}

int cmd_diff(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_path = NULL, *rules_path = NULL, *profile = NULL;
    const char *today = NULL, *learn_out = NULL;
    double relative = -1, absolute = -1; /* -1: the engine's defaults */
    uint64_t max_decoded = 0;
    long jobs = 0;
    const char *progress = "auto";
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE",
                       "suite file (targets' URLs for host normalization, profile)"),
        CLI_OPT_STRING('i', "input", &in_path, "RESULTS", "result file (.gz or plain, - = stdin)"),
        CLI_OPT_STRING('o', "output", &out_path, "DIFFS", "diff file to write (.gz: gzip; - = stdout)"),
        CLI_OPT_STRING(0, "rules", &rules_path, "FILE", "normalization rules (default: PROFILE/rules.yaml)"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_SIZE(0, "max-decoded", &max_decoded, 1, CLI_NO_MAX,
                     "cap on a decoded body (default 64M): past it, too_large"),
        CLI_OPT_STRING(0, "today", &today, "YYYY-MM-DD", "the date rule expiry is judged by (default: today)"),
        CLI_OPT_STRING(0, "learn-noise", &learn_out, "OUT.yaml", "write the shapes judged noise as reviewable rules"),
        CLI_OPT_NUMBER(0, "noise-relative", &relative, 0, 1, "noise when |raw-noise|/(raw+noise) <= X (default 0.2)"),
        CLI_OPT_NUMBER(0, "noise-absolute", &absolute, 0, 1, "... or |raw-noise|/exchanges <= X (default 0.0003)"),
        CLI_OPT_INT('j', "jobs", &jobs, 1, MAX_JOBS,
                    "worker threads (default: the CPUs, at most 8; 1 when noise is learned)"),
        CLI_OPT_ENUM(0, "progress", &progress, cli_when_values, "a progress line (auto: when stderr is a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {"diff", "[-c SUITE] -i RESULTS -o DIFFS",
                             "Turns each result record into a verdict (match, mismatch, error, skipped)\n"
                             "with the differences that remain after the profile's normalization rules.\n"
                             "A step of a replay --mixed flow has one answer: its verdict is mixed, judged\n"
                             "against the recording (status class, Docker-Content-Digest).",
                             "Exit codes: 0 done (mismatches are not an error here: see pmirror gate), 2 bad input.",
                             opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cli_list_free(&args);
    if (!in_path || !out_path)
        return cli_fail("diff", "-i RESULTS and -o DIFFS are required");
    pm_err err;
    pm_suite *suite;
    pm_profile *prof = pm_profile_open(profile, suite_path, &suite, &err);
    if (!prof)
        return cli_fail("diff", "%s", err.msg);
    if (!rules_path) /* required here: `pmirror diff` without rules is an error naming the file */
        rules_path = prof->rules.where;
    /* the current map classifies every record again; the profile's names check the rules */
    pm_names *names = NULL;
    pm_capmap *map = NULL;
    if (pm_names_load(prof, &names, &err) != 0 ||
        (prof->capabilities.path && !(map = pm_capmap_load(prof->capabilities.path, &err)))) {
        pm_names_free(names);
        pm_suite_free(suite);
        pm_profile_free(prof);
        return cli_fail("diff", "%s", err.msg);
    }
    diff_options o;
    diff_options_init(&o);
    o.suite = suite;
    o.map = map;
    o.names = names;
    o.today = today;
    if (max_decoded > 0)
        o.max_decoded = (size_t)max_decoded;
    if (relative >= 0)
        o.noise_relative = relative;
    if (absolute >= 0)
        o.noise_absolute = absolute;
    diff_engine *e = diff_new(&o, rules_path, &err);
    bool learned = false;
    diff_stats total = {0};
    if (e && diff_learn_file(e, in_path, &learned, &err) != 0) {
        diff_free(e);
        pm_capmap_free(map);
        pm_names_free(names);
        pm_suite_free(suite);
        pm_profile_free(prof);
        return cli_fail("diff", "%s", err.msg);
    }
    if (e && learn_out && diff_write_learned_rules(e, learn_out, in_path, &err) != 0) {
        diff_free(e);
        pm_capmap_free(map);
        pm_names_free(names);
        pm_suite_free(suite);
        pm_profile_free(prof);
        return cli_fail("diff", "%s", err.msg);
    }
    pm_jsonl_reader *in = e ? pm_jsonl_reader_open(in_path, &err) : NULL;
    pm_jsonl_writer *out = in ? pm_jsonl_writer_open(out_path, &err) : NULL;
    if (!out) {
        rc = cli_fail("diff", "%s", err.msg);
    } else {
        /* one engine per worker thread (an engine is not shared); the learned noise model
         * lives in the first engine only, so a run that learned noise uses one thread */
        unsigned workers = jobs > 0 ? (unsigned)jobs : default_jobs();
        if (learned)
            workers = 1;
        diff_engine *engines[MAX_JOBS] = {e};
        for (unsigned i = 1; i < workers && rc == CLI_OK; i++)
            if (!(engines[i] = diff_new(&o, rules_path, &err)))
                rc = cli_fail("diff", "%s", err.msg);
        emit_ctx ec = {.out = out, .in = in, .show = show_progress(progress)};
        if (rc == CLI_OK &&
            pm_lines_map(in, in_path, workers, (void **)engines, diff_line, emit_line, &ec, &err) != 0)
            rc = cli_fail("diff", "%s", err.msg);
        if (ec.show)
            fputc('\n', stderr);
        for (unsigned i = 1; i < workers; i++) {
            add_stats(&total, engines[i]);
            diff_free(engines[i]);
        }
        if (pm_jsonl_writer_close(out, &err) != 0 && rc == CLI_OK)
            rc = cli_fail("diff", "%s", err.msg);
        out = NULL;
        if (pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror diff: warning: %s\n", pm_jsonl_reader_warning(in));
        add_stats(&total, e);
        const diff_stats *st = &total;
        if (rc == CLI_OK) {
            fprintf(stderr, "pmirror diff: %llu records: %llu match, %llu mismatch, %llu error, %llu skipped -> %s\n",
                    (unsigned long long)st->records, (unsigned long long)st->match,
                    (unsigned long long)st->mismatch, (unsigned long long)st->error,
                    (unsigned long long)st->skipped, out_path);
            if (st->mixed)
                fprintf(stderr, "pmirror diff: %llu mixed flow steps (replay --mixed), %llu failed\n",
                        (unsigned long long)st->mixed, (unsigned long long)st->mixed_failed);
            if (st->expired_rules_hit)
                fprintf(stderr, "pmirror diff: %llu differences were not absorbed because their rule expired\n",
                        (unsigned long long)st->expired_rules_hit);
        }
    }
    pm_jsonl_reader_close(in);
    diff_free(e);
    pm_capmap_free(map);
    pm_names_free(names);
    pm_suite_free(suite);
    pm_profile_free(prof);
    return rc;
}
