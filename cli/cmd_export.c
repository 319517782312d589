/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_export.c — `pmirror export --har CAPTURE -o FILE.har`: capture (or result) files
 * into one HAR 1.2 document that browser devtools and HAR viewers open. Argument
 * handling and the reading loop; the mapping is capture/'s (har_writer).
 */
#include <string.h>
#include <unistd.h>

#include "har/har.h"
#include "cli.h"

#ifndef PMIRROR_VERSION
#define PMIRROR_VERSION "dev"
#endif

int cmd_export(int argc, char **argv)
{
    const char *out = NULL, *target = NULL;
    bool har = false, quiet = false;
    const cli_opt opts[] = {
        CLI_OPT_FLAG(0, "har", &har, "write a HAR 1.2 file"),
        CLI_OPT_STRING('o', "output", &out, "FILE.har", "the HAR to write (.gz: gzip; -: stdout)"),
        CLI_OPT_STRING(0, "target", &target, "NAME",
         "result files: export responses[NAME] instead of the captured response"),
        CLI_OPT_FLAG('q', "quiet", &quiet, "no summary"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "export", "--har CAPTURE... -o FILE.har",
        "Writes capture or result records (.gz or plain; - for stdin) as one HAR 1.2\n"
        "document, one entry per record, streamed. What HAR has no field for travels in\n"
        "each entry's `_pmirror` member, so `pmirror import` gives the records back.",
        "Exit codes: 0 done, 2 bad arguments or a record that is not a capture or result\n"
        "record (the message names file:line).",
        opts, 1, -1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    pm_err err;
    har_writer *w = NULL;
    if (!har)
        rc = cli_fail("export", "say which format to write: --har (the only one so far)");
    else if (!out)
        rc = cli_fail("export", "-o FILE.har is required");
    else if (!(w = har_writer_open(out, PMIRROR_VERSION, target, &err)))
        rc = cli_fail("export", "%s", err.msg);
    for (size_t i = 0; rc == CLI_OK && i < args.n; i++) {
        pm_jsonl_reader *in = pm_jsonl_reader_open(args.items[i], &err);
        if (!in) {
            rc = cli_fail("export", "%s", err.msg);
            break;
        }
        json_t *rec;
        int got;
        while ((got = pm_jsonl_reader_next(in, &rec, &err)) == 1) {
            int arc = har_writer_add(w, rec, &err);
            json_decref(rec);
            if (arc != 0) {
                rc = cli_fail("export", "%s:%llu: %s", args.items[i],
                              (unsigned long long)pm_jsonl_reader_line(in), err.msg);
                break;
            }
        }
        if (got < 0)
            rc = cli_fail("export", "%s", err.msg);
        if (pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror export: warning: %s\n", pm_jsonl_reader_warning(in));
        pm_jsonl_reader_close(in);
    }
    if (w) {
        uint64_t n = har_writer_count(w);
        if (har_writer_close(w, &err) != 0 && rc == CLI_OK)
            rc = cli_fail("export", "%s", err.msg);
        else if (rc == CLI_OK && !quiet)
            fprintf(stderr, "pmirror export: %llu records -> %s\n", (unsigned long long)n, out);
        if (rc != CLI_OK && strcmp(out, "-") != 0)
            unlink(out); /* a HAR that stops short of the input would pass for a whole one */
    }
    cli_list_free(&args);
    return rc;
}
