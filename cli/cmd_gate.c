/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_gate.c — `pmirror gate [-c SUITE] REPORT.json [--family F]...`: the exit code a
 * nightly job or a cutover script acts on, and the owner switches to set. Prints the
 * report's proposal as a YAML snippet for the switch snapshot, the rollback first as one
 * change (reports_write_proposal);
 * exit 0 when every family in scope is `promote`, 1 when any is not, 2 on bad input.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "reports/reports.h"

int cmd_gate(int argc, char **argv)
{
    const char *suite_path = NULL, *profile = NULL;
    cli_list families = {0};
    const cli_opt opts[] = {
        CLI_OPT_STRING('c', "suite", &suite_path, "SUITE", "suite file (checked; the decisions are the report's)"),
        CLI_OPT_LIST(0, "family", &families, "F", "judge only this family (default: every family with a switch)"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (with -c)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "gate", "[-c SUITE] REPORT.json [--family F]...",
        "Prints the switch owners the report proposes, as YAML for the switch snapshot (named by\n"
        "gate.yaml's snapshot_name): first the rollback, one block of `SWITCH: python` lines that\n"
        "returns every failing switch to python in one change; then a `# note` per family, with\n"
        "`SWITCH: go` under each promotion.",
        "Exit codes: 0 every family in scope may be promoted, 1 at least one may not (hold,\n"
        "insufficient, rollback, or absent from the report), 2 bad input (no such file, not a report).",
        opts, 1, 1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&families);
        return rc < 0 ? CLI_OK : rc;
    }
    const char *path = args.items[0];
    pm_err err;
    pm_config *report = NULL;
    rc = CLI_USAGE;
    if (suite_path) { /* checked, as every command checks its suite */
        pm_suite *suite;
        pm_profile *prof = pm_profile_open(profile, suite_path, &suite, &err);
        if (!prof) {
            cli_fail("gate", "%s", err.msg);
            goto done;
        }
        pm_profile_free(prof);
        pm_suite_free(suite);
    }
    if (!(report = pm_config_load(path, &err))) {
        cli_fail("gate", "%s", err.msg);
        goto done;
    }
    if (reports_check(pm_config_root(report), &err) != 0) {
        cli_fail("gate", "%s: %s", path, err.msg);
        goto done;
    }
    bool all_promote = false;
    if (reports_write_proposal(stdout, pm_config_root(report), families.items, families.n, &all_promote, &err) != 0) {
        cli_fail("gate", "%s: %s", path, err.msg);
        goto done;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* a reader that left (`| head`) ends the output quietly; the gate's answer stands */
        if (cli_fail("gate", "stdout: %s", strerror(errno)) == CLI_STDOUT_CLOSED)
            rc = all_promote ? CLI_STDOUT_CLOSED : CLI_GATE_FAILED;
        goto done;
    }
    rc = all_promote ? CLI_OK : CLI_GATE_FAILED;
done:
    pm_config_free(report);
    cli_list_free(&families);
    cli_list_free(&args);
    return rc;
}
