/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_report.c — `pmirror report [-c SUITE] -i DIFFS [-i DIFFS]... --out-dir DIR`: every diff
 * file streamed once through one report builder (shards add up to the report of the
 * whole), then report.json, report.md, junit.xml and report.html written into DIR. The
 * Markdown summary table goes to stdout, a one-line summary to stderr. The scoring and
 * the gate are reports/'s; this file is arguments, files and messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "reports/reports.h"

typedef struct {
    bool progress;
    uint64_t last_ms;
} progress_line;

static void show_progress(progress_line *p, const char *path, const pm_jsonl_reader *in, bool final)
{
    if (!p->progress)
        return;
    uint64_t now = pm_now_ms();
    if (!final && now - p->last_ms < 1000)
        return;
    p->last_ms = now;
    double read = pm_jsonl_reader_progress(in);
    fprintf(stderr, "\rpmirror report: %s: %llu records", path, (unsigned long long)pm_jsonl_reader_records(in));
    if (read >= 0)
        fprintf(stderr, " (%.0f%%)", 100 * read);
    fputs(final ? "   \n" : "   ", stderr);
}

/* Streams one diff file into the builder. Returns 0, or -1 with err naming file:line. */
static int read_input(reports_builder *b, const char *path, progress_line *p, json_t *warnings, pm_err *err)
{
    pm_jsonl_reader *in = pm_jsonl_reader_open(path, err);
    if (!in)
        return -1;
    json_t *record;
    int got, rc = 0;
    p->last_ms = pm_now_ms();
    while ((got = pm_jsonl_reader_next(in, &record, err)) == 1) {
        pm_err why;
        if (reports_add(b, record, &why) != 0) {
            pm_err_set(err, "%s:%llu: %s", path, (unsigned long long)pm_jsonl_reader_line(in), why.msg);
            rc = -1;
        }
        json_decref(record);
        if (rc != 0)
            break;
        if ((pm_jsonl_reader_records(in) & 1023) == 0)
            show_progress(p, path, in, false);
    }
    if (got < 0)
        rc = -1;
    if (rc == 0 && p->progress && pm_jsonl_reader_records(in) >= 1024)
        show_progress(p, path, in, true);
    if (rc == 0 && pm_jsonl_reader_warning(in)) {
        fprintf(stderr, "pmirror report: warning: %s\n", pm_jsonl_reader_warning(in));
        json_array_append_new(warnings, json_string(pm_jsonl_reader_warning(in)));
    }
    pm_jsonl_reader_close(in);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    const char *suite_path = NULL, *out_dir = NULL, *previous_path = NULL, *switches_path = NULL;
    const char *gate_path = NULL, *profile = NULL, *progress = "auto";
    cli_list inputs = {0};
    long top_cohorts = 10, top_differences = 10;
    bool sequential = false;
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE", "suite file (its profile: gate.yaml, capabilities.yaml)"),
        CLI_OPT_LIST('i', "input", &inputs, "DIFFS", "diff file (.gz or plain, - = stdin); shards add up"),
        CLI_OPT_STRING(0, "out-dir", &out_dir, "DIR", "where report.json, report.md, junit.xml, report.html go"),
        CLI_OPT_STRING(0, "previous", &previous_path, "REPORT.json", "an earlier report: trend and regressions"),
        CLI_OPT_STRING(0, "switches", &switches_path, "SNAPSHOT",
                       "Quay switch snapshot (YAML): go-owned failures roll back"),
        CLI_OPT_STRING(0, "gate", &gate_path, "FILE", "gate thresholds (default: PROFILE/gate.yaml)"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: the suite's, else config/quay)"),
        CLI_OPT_INT(0, "top-cohorts", &top_cohorts, 0, 1e6, "cohorts listed per kind (org, repo, user), default 10"),
        CLI_OPT_INT(0, "top-differences", &top_differences, 0, 1e6,
                    "difference signatures listed per family, default 10"),
        CLI_OPT_FLAG(0, "sequential", &sequential,
                     "decide parity by the always-valid sequential test (rerun on a growing capture)"),
        CLI_OPT_ENUM(0, "progress", &progress, cli_when_values, "a progress line (auto: when stderr is a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "report", "[-c SUITE] -i DIFFS [-i DIFFS]... --out-dir DIR [--previous REPORT.json] [--switches SNAPSHOT]",
        "Scores diff records per family, capability and cohort, decides each owner switch\n"
        "(promote, hold, insufficient, rollback) against the gate, and writes the reports.",
        "Several -i files are read as one: shards of a run give the report of the whole.\n"
        "--sequential: for a capture watched as it grows (report rerun again and again), parity\n"
        "is decided by a mixture SPRT valid at every look (alpha 0.05 over all of them) instead\n"
        "of the fixed-sample Wilson interval, which repeated looks turn into far more than 5%.\n"
        "stdout: the Markdown summary table; stderr: one summary line. Exit codes: 0 written\n"
        "(a failing gate is not an error here: see pmirror gate), 2 bad input.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&inputs);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_list_free(&args);
    if (inputs.n == 0 || !out_dir) {
        cli_list_free(&inputs);
        return cli_fail("report", "-i DIFFS and --out-dir DIR are required");
    }

    pm_err err;
    pm_suite *suite = NULL;
    reports_setup setup = {0};
    reports_builder *b = NULL;
    json_t *report = NULL, *warnings = json_array();
    rc = CLI_USAGE;
    pm_profile *prof = pm_profile_open(profile, suite_path, &suite, &err);
    if (!prof || reports_setup_open(&setup, prof, gate_path, switches_path, previous_path, &err) != 0) {
        cli_fail("report", "%s", err.msg);
        goto done;
    }
    reports_options o = setup.o;
    o.top_cohorts = (size_t)top_cohorts;
    o.top_differences = (size_t)top_differences;
    o.sequential = sequential;
    if (!(b = reports_new(&o, &err))) {
        cli_fail("report", "%s", err.msg);
        goto done;
    }
    progress_line p = {.progress = strcmp(progress, "always") == 0 ||
                                   (strcmp(progress, "auto") == 0 && isatty(STDERR_FILENO))};
    for (size_t i = 0; i < inputs.n; i++)
        if (read_input(b, inputs.items[i], &p, warnings, &err) != 0) {
            cli_fail("report", "%s", err.msg);
            goto done;
        }
    if (!(report = reports_build(b, &err))) {
        cli_fail("report", "%s", err.msg);
        goto done;
    }
    /* the header, once the inputs are read (an input error stays the one line on stderr) */
    fprintf(stderr, "pmirror report: profile %s, gate %s\n", prof->dir, reports_setup_gate(&setup));
    json_t *in_list = json_array();
    for (size_t i = 0; i < inputs.n; i++)
        json_array_append_new(in_list, json_string(inputs.items[i]));
    reports_setup_run_keys(&setup, report, in_list, warnings);
    if (reports_write_dir(report, out_dir, &err) != 0) {
        cli_fail("report", "%s", err.msg);
        goto done;
    }
    if (reports_write_markdown_table(stdout, report, &err) != 0 || fflush(stdout) != 0) {
        rc = cli_fail("report", "stdout: %s", strerror(errno)); /* a reader that left: quietly */
        goto done;
    }
    const json_t *totals = json_object_get(report, "totals");
    size_t promote = 0, families = json_object_size(json_object_get(report, "families"));
    const char *name;
    const json_t *fam;
    json_int_t mixed_steps = 0; /* replay --mixed flow steps: no parity records */
    json_object_foreach(json_object_get(report, "families"), name, fam) {
        promote += strcmp(json_string_value(json_object_get(fam, "decision")), "promote") == 0;
        mixed_steps += json_integer_value(json_object_get(json_object_get(fam, "mixed"), "steps"));
    }
    char mixed[64] = "";
    if (mixed_steps)
        snprintf(mixed, sizeof mixed, " and %lld mixed flow steps", (long long)mixed_steps);
    fprintf(stderr, "pmirror report: %lld records%s, %zu families (%zu promote) -> %s/report.{json,md,html}, junit.xml\n",
            (long long)json_integer_value(json_object_get(totals, "total")), mixed, families, promote, out_dir);
    rc = CLI_OK;
done:
    json_decref(report);
    json_decref(warnings);
    reports_free(b);
    reports_setup_close(&setup);
    pm_suite_free(suite);
    pm_profile_free(prof);
    cli_list_free(&inputs);
    return rc;
}
