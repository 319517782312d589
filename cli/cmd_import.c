/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_import.c — `pmirror import --har FILE.har -o CAPTURE`: a HAR recording (browser
 * devtools, Charles, mitmproxy, Postman) into a capture file, classified, selected and
 * redacted as `pmirror capture` does. Argument handling, the output file, warnings and
 * the summary; the conversion is capture/'s (har_import).
 */
#include <stdlib.h>
#include <string.h>

#include "har/har.h"
#include "cli.h"

/* The output is opened with the first record (or at the end of a whole HAR without
 * any), so an input that is not a HAR leaves no empty capture file behind. */
typedef struct {
    const char *path;
    pm_jsonl_writer *writer;
} import_output;

static int write_record(void *ctx, const char *record, size_t len, pm_err *err)
{
    import_output *o = ctx;
    if (!o->writer && !(o->writer = pm_jsonl_writer_open(o->path, err)))
        return -1;
    return pm_jsonl_writer_write_line(o->writer, record, len, err);
}

static void warn(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "pmirror import: warning: %s\n", message);
}

static void print_summary(const har_stats *st, const char *in, const char *out)
{
    fprintf(stderr, "pmirror import: %s: %llu entries, %llu records", in, (unsigned long long)st->entries,
            (unsigned long long)st->records);
    for (size_t i = 0; i < st->nfamilies; i++)
        fprintf(stderr, "%s%s %llu", i == 0 ? " (" : ", ", st->families[i].family,
                (unsigned long long)st->families[i].exchanges);
    fprintf(stderr, "%s -> %s\n", st->nfamilies ? ")" : "", out);
    if (st->skipped || st->not_selected || st->without_response || st->unknown_bodies || st->decoded_bodies ||
        st->truncated_bodies)
        fprintf(stderr,
                "pmirror import: not whole: %llu entries skipped, %llu not selected, %llu without response, %llu "
                "bodies not in the HAR, %llu bodies cut by the 16M cap, %llu decoded bodies whose "
                "Content-Encoding was removed\n",
                (unsigned long long)st->skipped, (unsigned long long)st->not_selected,
                (unsigned long long)st->without_response, (unsigned long long)st->unknown_bodies,
                (unsigned long long)st->truncated_bodies, (unsigned long long)st->decoded_bodies);
}

int cmd_import(int argc, char **argv)
{
    const char *out = NULL, *key = NULL, *profile = NULL, *map_path = NULL;
    cli_list families = {0}, selects = {0};
    bool har = false, no_redact = false, quiet = false;
    const cli_opt opts[] = {
        CLI_OPT_FLAG(0, "har", &har, "the input is a HAR 1.2 file (.har or .har.gz; - for stdin)"),
        CLI_OPT_STRING('o', "output", &out, "OUT", "capture file to write (.gz: gzip; -: stdout)"),
        CLI_OPT_FLAG(0, "no-redact", &no_redact, "keep secrets in the capture file (prints a warning)"),
        CLI_OPT_STRING(0, "key", &key, "FILE", "redaction key (default: .pmirror-key beside OUT, created 0600)"),
        CLI_OPT_LIST(0, "family", &families, "FAMILY", "keep only this family (REGISTRY_V2, API_V1, ...)"),
        CLI_OPT_LIST(0, "select", &selects, "SPEC", "keep only a cohort: org=A,repo=A/B,user=U,percent=N,salt=S"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: config/quay)"),
        CLI_OPT_STRING(0, "map", &map_path, "FILE", "capability map (default: PROFILE/capabilities.yaml)"),
        CLI_OPT_FLAG('q', "quiet", &quiet, "no summary"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "import", "--har FILE.har -o CAPTURE",
        "Turns each entry of a HAR recording (Chrome or Firefox devtools, Charles,\n"
        "mitmproxy, Postman) into the capture record `pmirror capture` would have written:\n"
        "classified, selected and redacted the same way. The file is streamed.",
        "An entry that cannot be converted (no URL, a bad method, ...) is skipped with a\n"
        "warning naming its index. Exit codes: 0 done, 2 bad arguments, or a file that is\n"
        "not a HAR, not JSON or cut short (every record before the damage is written).",
        opts, 1, 1};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&families);
        cli_list_free(&selects);
        return rc < 0 ? CLI_OK : rc;
    }
    const char *in = args.items[0];
    pm_err err;
    pm_profile *prof = NULL;
    pm_capmap *map = NULL;
    pm_redactor *redactor = NULL;
    pm_selection *selection = NULL;
    import_output output = {.path = out};
    har_stats stats;
    memset(&stats, 0, sizeof stats);

    if (!har)
        rc = cli_fail("import", "say which format the input is: --har (the only one so far)");
    else if (!out)
        rc = cli_fail("import", "-o OUT is required");
    if (rc == CLI_OK && (pm_selection_from(families.items, families.n, selects.items, selects.n, &selection, &err) != 0 ||
                         !(prof = pm_profile_find(profile, &err)) ||
                         !(map = pm_capmap_load(map_path ? map_path : prof->capabilities.where, &err))))
        rc = cli_fail("import", "%s", err.msg);
    if (rc == CLI_OK && !no_redact) {
        redactor = pm_profile_redactor(prof, key, out, &err);
        if (!redactor)
            rc = cli_fail("import", "%s", err.msg);
    }
    if (rc == CLI_OK) {
        if (no_redact)
            fprintf(stderr, "pmirror import: warning: --no-redact: secrets are written to %s in the clear\n", out);
        har_options o;
        har_options_init(&o);
        o.path = in;
        o.map = map;
        o.redactor = redactor;
        o.selection = selection;
        o.warn = warn;
        int run_rc = har_import(&o, write_record, &output, &stats, &err);
        pm_err close_err;
        if (run_rc == 0 && !output.writer && !(output.writer = pm_jsonl_writer_open(out, &err)))
            run_rc = -1;
        int close_rc = pm_jsonl_writer_close(output.writer, &close_err);
        output.writer = NULL;
        if (run_rc != 0 && stats.records > 0)
            rc = cli_fail("import", "%s (the %llu records before it are in %s)", err.msg,
                          (unsigned long long)stats.records, out);
        else if (run_rc != 0)
            rc = cli_fail("import", "%s", err.msg);
        else if (close_rc != 0)
            rc = cli_fail("import", "%s", close_err.msg);
        else if (!quiet)
            print_summary(&stats, in, out);
    }
    if (output.writer)
        pm_jsonl_writer_close(output.writer, NULL);
    har_stats_clear(&stats);
    pm_selection_free(selection);
    pm_redactor_free(redactor);
    pm_capmap_free(map);
    pm_profile_free(prof);
    cli_list_free(&args);
    cli_list_free(&families);
    cli_list_free(&selects);
    return rc;
}
