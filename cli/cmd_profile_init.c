/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_profile_init.c — `pmirror profile init DIR [--workers]`: a commented skeleton of every
 * profile file (core/profile_skeleton.c), the start of a profile for another service.
 */
#include "cli.h"

int cmd_profile_init(int argc, char **argv)
{
    bool workers = false;
    const cli_opt opts[] = {
        CLI_OPT_FLAG(0, "workers", &workers, "also workers.yaml (worker parity: a queue table's jobs)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "profile init", "DIR [--workers]",
        "Writes a commented skeleton of every profile file into DIR (created when missing):\n"
        "capabilities.yaml, rules.yaml, gate.yaml, correlation.yaml, redact.yaml (and workers.yaml\n"
        "with --workers). Each loads as written; edit them into your service's, then run\n"
        "pmirror profile check DIR.",
        "Never overwrites: a file already in DIR is an error (exit 2) and nothing is written.",
        opts, 1, 1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    pm_err err;
    if (pm_profile_write_skeleton(args.items[0], workers, &err) != 0) {
        cli_list_free(&args);
        return cli_fail("profile init", "%s", err.msg);
    }
    fprintf(stderr, "pmirror profile init: wrote %s/{capabilities,rules,gate,correlation,redact%s}.yaml; "
                    "next: pmirror profile check %s\n",
            args.items[0], workers ? ",workers" : "", args.items[0]);
    cli_list_free(&args);
    return CLI_OK;
}
