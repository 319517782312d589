/*
 * cmd_run.c — `pmirror run -c SUITE -i CAPTURE --out-dir DIR`: replay, diff, report and
 * gate in one streaming process, the way a nightly job or a pre-cutover check runs them.
 *
 * Each exchange goes from the replay engine straight into the diff engine and its diff
 * record into the report builder, the replay loop on one thread and the rest on another
 * (pipeline_stages.c): nothing is written between the stages unless --keep-results asks for
 * results.jsonl.gz and diffs.jsonl.gz in DIR (in the order results come out). The numbers are
 * those of `replay`, `diff`, `report` and `gate` run one by one on the same inputs (one
 * difference, documented: with a secondary target, `run` judges noise exchange by
 * exchange, while `pmirror diff` on a file learns it over the whole file first).
 * Exit: 0 when every family in scope may be promoted, 1 when any may not, 2 bad input.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diff/diff.h"
#include "replay/replay.h"
#include "pipeline/pipeline.h"

typedef struct run_state {
    diff_engine *diff;
    reports_builder *report;
    pm_jsonl_writer *results, *diffs; /* --keep-results, else NULL */
    pipeline_stages *stages;               /* while the replay runs */
    bool progress;
} run_state;

static replay_session *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        replay_stop(running);
}

/* Each finished exchange to the stages' thread. */
static int hand_over(void *ctx, replay_exchange *x, pm_err *err)
{
    run_state *s = ctx;
    return pipeline_stages_push(s->stages, x, err);
}

static void show_progress(void *ctx, const replay_stats *st, double per_s)
{
    run_state *s = ctx;
    if (!s->progress)
        return;
    pipeline_counts c = pipeline_stages_counts(s->stages);
    fprintf(stderr, "\rpmirror run: %llu/%llu exchanges", (unsigned long long)st->done,
            (unsigned long long)st->in_scope);
    if (st->input_read >= 0)
        fprintf(stderr, " (%.0f%% of the input)", 100 * st->input_read);
    fprintf(stderr, ", %.0f/s: %llu match, %llu mismatch, %llu error, %llu skipped   ", per_s,
            (unsigned long long)c.match, (unsigned long long)c.mismatch, (unsigned long long)c.error,
            (unsigned long long)c.skipped);
}

static pm_jsonl_writer *open_kept(const char *dir, const char *name, pm_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return pm_jsonl_writer_open(path, err);
}

int cmd_run(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_dir = NULL, *switches_path = NULL, *previous_path = NULL;
    const char *gate_path = NULL, *profile = NULL, *progress = "auto", *key = NULL;
    double rate = 0;
    long concurrency = 0, limit = 0;
    cli_shard shard = {0};
    bool allow_writes = false, keep = false;
    cli_list families = {0};
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
        CLI_OPT_INT(0, "concurrency", &concurrency, 1, 100000, "exchanges in flight at most (default 32)"),
        CLI_OPT_NUMBER(0, "rate", &rate, 0.001, 1e9, "start at most X exchanges per second"),
        CLI_OPT_STRING(0, "key", &key, "FILE", "redaction key for the answers' secrets (default: DIR/.pmirror-key)"),
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
        "DIR/proposal.yaml). Exit codes: 0 every family in scope may be promoted, 1 one may\n"
        "not, 2 bad input.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&families);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_list_free(&args);
    replay_options ro;
    replay_options_init(&ro);
    ro.concurrency = concurrency;
    ro.limit = limit;
    ro.allow_writes = allow_writes;
    ro.rate = rate;
    ro.shard_k = shard.k;
    ro.shard_n = shard.n;
    rc = CLI_USAGE;
    if (!suite_path || !in_path || !out_dir)
        cli_fail("run", "-c SUITE, -i CAPTURE and --out-dir DIR are required");
    else
        rc = CLI_OK;
    if (rc != CLI_OK) {
        cli_list_free(&families);
        return rc;
    }

    pm_err err;
    reports_setup setup = {0};
    run_state s = {.progress = strcmp(progress, "always") == 0 ||
                               (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO))};
    pm_jsonl_reader *in = NULL;
    replay_session *session = NULL;
    pm_redactor *redactor = NULL;
    json_t *report = NULL;
    rc = CLI_USAGE;
    pm_suite *suite;
    pm_profile *prof = pm_profile_open(profile, suite_path, &suite, &err);
    if (!prof || reports_setup_open(&setup, prof, gate_path, switches_path, previous_path, &err) != 0) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    ro.suite = suite;
    ro.correlation_path = prof->correlation.path;
    diff_options dopt;
    diff_options_init(&dopt);
    dopt.suite = suite;
    if (mkdir(out_dir, 0755) != 0 && access(out_dir, W_OK) != 0) {
        cli_fail("run", "%s: cannot create the output directory", out_dir);
        goto done;
    }
    /* the targets' answers carry secrets too (Set-Cookie, issued tokens): redacted before
     * they reach diff, the report or a kept file, as `replay` does (JWTs keep their claims) */
    char key_home[4200];
    snprintf(key_home, sizeof key_home, "%s/results.jsonl.gz", out_dir);
    if (!(redactor = pm_profile_redactor(prof, key, key_home, &err))) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    pm_redactor_keep_jwt_claims(redactor, true);
    ro.redactor = redactor;
    if (!(s.diff = diff_new(&dopt, prof->rules.path, &err)) ||
        !(s.report = reports_new(&setup.o, &err)) || !(in = pm_jsonl_reader_open(in_path, &err)) ||
        !(session = replay_new(&ro, &err)) ||
        (keep && (!(s.results = open_kept(out_dir, "results.jsonl.gz", &err)) ||
                  !(s.diffs = open_kept(out_dir, "diffs.jsonl.gz", &err))))) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    pipeline_sink_options so = {.results = s.results, .diff = s.diff, .diffs = s.diffs, .report = s.report};
    if (!(s.stages = pipeline_stages_start(&so, &err))) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    running = session;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pm_err stages_err;
    int run_rc = replay_run_handoff(session, in, hand_over, show_progress, &s, &err);
    running = NULL;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    pipeline_counts counts;
    int stages_rc = pipeline_stages_finish(s.stages, &counts, &stages_err);
    s.stages = NULL;
    if (s.progress)
        fputc('\n', stderr);
    if (run_rc != 0 || stages_rc != 0) {
        cli_fail("run", "%s", run_rc != 0 ? err.msg : stages_err.msg);
        goto done;
    }
    pm_err diffs_err;
    int closed = s.results ? pm_jsonl_writer_close(s.results, &err) : 0; /* both closed, the first error told */
    if (s.diffs && pm_jsonl_writer_close(s.diffs, &diffs_err) != 0 && closed == 0) {
        closed = -1;
        err = diffs_err;
    }
    s.results = s.diffs = NULL;
    if (closed != 0) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    if (!(report = reports_build(s.report, &err))) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    json_t *warnings = json_array();
    if (pm_jsonl_reader_warning(in)) {
        fprintf(stderr, "pmirror run: warning: %s\n", pm_jsonl_reader_warning(in));
        json_array_append_new(warnings, json_string(pm_jsonl_reader_warning(in)));
    }
    reports_setup_run_keys(&setup, report, json_pack("[s]", in_path), warnings);
    json_decref(warnings);
    char proposal_path[4200];
    snprintf(proposal_path, sizeof proposal_path, "%s/proposal.yaml", out_dir);
    pm_output_tmp proposal = {0};
    bool all_promote = false;
    if (reports_write_dir(report, out_dir, &err) != 0 || pm_output_tmp_open(&proposal, proposal_path, &err) != 0 ||
        reports_write_proposal(proposal.file, report, families.items, families.n, &all_promote, &err) != 0 ||
        pm_output_tmp_commit(&proposal, &err) != 0) {
        pm_output_tmp_discard(&proposal);
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    if (reports_write_markdown_table(stdout, report, &err) != 0 || fputc('\n', stdout) == EOF ||
        reports_write_proposal(stdout, report, families.items, families.n, &all_promote, &err) != 0 ||
        fflush(stdout) != 0) {
        cli_fail("run", "stdout: %s", err.msg);
        goto done;
    }
    const replay_stats *st = replay_get_stats(session);
    fprintf(stderr,
            "pmirror run: %llu exchanges: %llu match, %llu mismatch, %llu error, %llu skipped -> %s/report.html\n",
            (unsigned long long)st->done, (unsigned long long)counts.match, (unsigned long long)counts.mismatch,
            (unsigned long long)counts.error, (unsigned long long)counts.skipped, out_dir);
    rc = all_promote ? CLI_OK : CLI_GATE_FAILED;
done:
    if (s.results)
        pm_jsonl_writer_close(s.results, NULL);
    if (s.diffs)
        pm_jsonl_writer_close(s.diffs, NULL);
    json_decref(report);
    replay_free(session);
    pm_jsonl_reader_close(in);
    reports_free(s.report);
    diff_free(s.diff);
    reports_setup_close(&setup);
    pm_redactor_free(redactor);
    pm_suite_free(suite);
    pm_profile_free(prof);
    cli_list_free(&families);
    return rc;
}
