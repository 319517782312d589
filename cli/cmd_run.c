/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_run.c — `pmirror run -c SUITE -i CAPTURE --out-dir DIR`: replay, diff, report and
 * gate in one streaming process, the way a nightly job or a pre-cutover check runs them.
 * The arguments, the progress line, the Markdown table and the proposal on stdout and the
 * summary; the assembly is pipeline/run.c's (pipeline_run).
 * Exit: 0 when every family in scope may be promoted, 1 when any may not, 2 bad input.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline/pipeline.h"

static void show_progress(void *ctx, const pipeline_progress *p)
{
    (void)ctx;
    if (p->done) {
        fputc('\n', stderr);
        return;
    }
    const replay_stats *st = p->replay;
    fprintf(stderr, "\rpmirror run: %llu/%llu exchanges", (unsigned long long)st->done,
            (unsigned long long)st->in_scope);
    if (st->input_read >= 0)
        fprintf(stderr, " (%.0f%% of the input)", 100 * st->input_read);
    fprintf(stderr, ", %.0f/s: %llu match, %llu mismatch, %llu error, %llu skipped   ", p->per_s,
            (unsigned long long)p->counts.match, (unsigned long long)p->counts.mismatch,
            (unsigned long long)p->counts.error, (unsigned long long)p->counts.skipped);
}

/* ", 5 mixed steps (1 failed)" when --mixed made some, else "" (a static buffer). */
static const char *mixed_steps(const pipeline_counts *c)
{
    static char buf[80];
    buf[0] = '\0';
    if (c->mixed)
        snprintf(buf, sizeof buf, ", %llu mixed step%s (%llu failed)", (unsigned long long)c->mixed,
                 c->mixed == 1 ? "" : "s", (unsigned long long)c->mixed_failed);
    return buf;
}

/* The profile and the gate that decided (a missing gate.yaml means the built-in defaults,
 * which a reader must not mistake for the profile's): said with the summary once the run has
 * succeeded, so that an error stays the one line on stderr. */
static void say_gate(const json_t *report)
{
    const json_t *run = json_object_get(report, "run");
    fprintf(stderr, "pmirror run: profile %s, gate %s\n", json_string_value(json_object_get(run, "profile")),
            json_string_value(json_object_get(run, "gate")));
}

int cmd_run(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_dir = NULL, *switches_path = NULL, *previous_path = NULL;
    const char *gate_path = NULL, *profile = NULL, *progress = "auto", *key = NULL, *mixed = NULL;
    double rate = 0;
    long concurrency = 0, limit = 0;
    cli_shard shard = {0};
    bool allow_writes = false, keep = false;
    cli_list families = {0};
    double stream_window = 0;
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE", "suite file: targets, profile (README)"),
        CLI_OPT_STRING('i', "input", &in_path, "CAPTURE", "capture file to replay (.gz or plain, - = stdin)"),
        CLI_OPT_STRING(0, "out-dir", &out_dir, "DIR",
                       "report.json, report.md, junit.xml, report.html (and kept files)"),
        CLI_OPT_STRING(0, "switches", &switches_path, "SNAPSHOT", "Quay switch snapshot: go-owned failures roll back"),
        CLI_OPT_STRING(0, "previous", &previous_path, "REPORT.json", "an earlier report: trend and regressions"),
        CLI_OPT_STRING(0, "gate", &gate_path, "FILE", "gate thresholds (default: PROFILE/gate.yaml)"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_LIST(0, "family", &families, "FAMILY", "gate only these families (default: every family seen)"),
        CLI_OPT_FLAG(0, "keep-results", &keep, "also write results.jsonl.gz and diffs.jsonl.gz into DIR"),
        CLI_OPT_FLAG(0, "allow-writes", &allow_writes, "send mutating requests to sandbox targets"),
        CLI_OPT_ENUM(0, "mixed", &mixed, replay_mixed_names,
                     "split each flow (upload, token, paginated listing) across baseline and candidate, one "
                     "target per step, and score the flows as each family's mixed dimension"),
        CLI_OPT_INT(0, "concurrency", &concurrency, 1, 100000, "exchanges in flight at most (default 32)"),
        CLI_OPT_NUMBER(0, "rate", &rate, 0.001, 1e9, "start at most X exchanges per second"),
        CLI_OPT_NUMBER(0, "stream-window", &stream_window, 0.001, 86400,
                       "hold each event stream open X seconds (default: its recorded window, at most the "
                       "target's timeout)"),
        CLI_OPT_STRING(0, "key", &key, "FILE", "redaction key for the answers' secrets (default: the capture's .pmirror-key beside it, "
                       "else DIR/.pmirror-key)"),
        CLI_OPT_INT(0, "limit", &limit, 1, CLI_NO_MAX, "replay only the first N exchanges in scope"),
        CLI_OPT_SHARD(0, "shard", &shard, "replay shard K of N (merge the shards with pmirror report)"),
        CLI_OPT_ENUM(0, "progress", &progress, cli_when_values, "a progress line (auto: when stderr is a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "run", "-c SUITE -i CAPTURE --out-dir DIR [--switches SNAPSHOT] [--keep-results]",
        "Replays the capture against the suite's targets, diffs every exchange, scores each\n"
        "family against the gate and writes the reports, in one streaming process.",
        "stdout: the Markdown summary table, then the switch proposal as YAML (also in\n"
        "DIR/proposal.yaml). With --mixed, a family whose flows do not complete across the\n"
        "two implementations does not promote; the report names the step that failed.\n"
        "Exit codes: 0 every family in scope may be promoted, 1 one may not, 2 bad input.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&families);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_list_free(&args);
    if (!suite_path || !in_path || !out_dir) {
        cli_list_free(&families);
        return cli_fail("run", "-c SUITE, -i CAPTURE and --out-dir DIR are required");
    }
    pipeline_run_options o = {
        .suite_path = suite_path, .profile = profile, .input = in_path, .out_dir = out_dir,
        .gate_path = gate_path, .switches_path = switches_path, .previous_path = previous_path, .key = key,
        .families = families.items, .nfamilies = families.n, .keep_results = keep,
        .progress = strcmp(progress, "always") == 0 || (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO))
                        ? show_progress : NULL,
    };
    replay_options_init(&o.replay);
    o.replay.concurrency = concurrency;
    o.replay.limit = limit;
    o.replay.allow_writes = allow_writes;
    o.replay.rate = rate;
    o.replay.stream_window_s = stream_window;
    o.replay.shard_k = shard.k;
    o.replay.shard_n = shard.n;
    o.replay.mixed = replay_mixed_from_name(mixed);

    pm_err err;
    pipeline_run_result res;
    int run_rc = pipeline_run(&o, &res, &err);
    if (run_rc == 0) /* the report's record of targets not verified, said once */
        cli_warn_insecure("run", json_object_get(json_object_get(res.report, "run"), "insecure_targets"));
    bool all_promote = false;
    if (res.warning)
        fprintf(stderr, "pmirror run: warning: %s\n", res.warning);
    /* the table and the proposal are both written whatever became of stdout (stdio keeps a
     * failure until fflush), so the gate's answer is known when a reader left early */
    bool table_ok = run_rc == 0 && reports_write_markdown_table(stdout, res.report, &err) == 0;
    if (run_rc == 0)
        fputc('\n', stdout);
    bool proposal_ok = run_rc == 0 && reports_write_proposal(stdout, res.report, families.items, families.n,
                                                             &all_promote, &err) == 0;
    if (run_rc != 0) {
        rc = cli_fail("run", "%s", err.msg);
    } else if (!table_ok || !proposal_ok || fflush(stdout) != 0 || ferror(stdout)) {
        rc = cli_fail("run", "stdout: %s", ferror(stdout) ? strerror(errno) : err.msg);
        if (rc == CLI_STDOUT_CLOSED && !all_promote) /* `| head`: quiet, the gate's answer stands */
            rc = CLI_GATE_FAILED;
    } else {
        say_gate(res.report);
        fprintf(stderr,
                "pmirror run: %llu exchanges: %llu match, %llu mismatch, %llu error, %llu skipped%s -> "
                "%s/report.html\n",
                (unsigned long long)res.exchanges, (unsigned long long)res.counts.match,
                (unsigned long long)res.counts.mismatch, (unsigned long long)res.counts.error,
                (unsigned long long)res.counts.skipped, mixed_steps(&res.counts), out_dir);
        rc = all_promote ? CLI_OK : CLI_GATE_FAILED;
    }
    pipeline_run_result_free(&res);
    cli_list_free(&families);
    return rc;
}
