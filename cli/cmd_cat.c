/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_cat.c — `pmirror cat FILE...`: any pmirror file (capture, results, diffs; gzip or
 * plain) as plain JSON Lines on stdout. Damage at a file's end is a warning on stderr
 * after every complete record has been printed; a malformed line is an error naming
 * file:line (or, with --skip-bad, a counted skip).
 */
#include "cli.h"

#include <string.h>

int cmd_cat(int argc, char **argv)
{
    bool skip_bad = false;
    const cli_opt opts[] = {
        CLI_OPT_FLAG(0, "skip-bad", &skip_bad, "skip malformed lines (counted on stderr) instead of failing"),
        CLI_OPT_END,
    };
    const cli_command cmd = {"cat", "FILE...",
                             "Prints pmirror files (capture, results, diffs; .gz or plain; - for stdin)\n"
                             "as plain JSON Lines on stdout.",
                             NULL, opts, 1, -1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    pm_err err;
    pm_jsonl_writer *out = pm_jsonl_writer_open("-", &err);
    for (size_t i = 0; out && i < args.n && rc == CLI_OK; i++) {
        pm_jsonl_reader *in = pm_jsonl_reader_open(args.items[i], &err);
        if (!in) {
            rc = cli_fail("cat", "%s", err.msg);
            break;
        }
        pm_jsonl_reader_set_skip_bad(in, skip_bad);
        json_t *rec;
        int got;
        while ((got = pm_jsonl_reader_next(in, &rec, &err)) == 1) {
            int wrc = pm_jsonl_writer_write(out, rec, &err);
            json_decref(rec);
            if (wrc != 0) {
                got = -1;
                break;
            }
        }
        if (got < 0)
            rc = cli_fail("cat", "%s", err.msg);
        if (pm_jsonl_reader_skipped(in) > 0)
            fprintf(stderr, "pmirror cat: %s: skipped %llu malformed lines\n", args.items[i],
                    (unsigned long long)pm_jsonl_reader_skipped(in));
        if (pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror cat: warning: %s\n", pm_jsonl_reader_warning(in));
        pm_jsonl_reader_close(in);
    }
    if (!out)
        rc = cli_fail("cat", "%s", err.msg);
    else if (pm_jsonl_writer_close(out, &err) != 0 && rc == CLI_OK)
        rc = cli_fail("cat", "%s", err.msg);
    cli_list_free(&args);
    return rc;
}
