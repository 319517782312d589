/*
 * cmd_diff.c — `pmirror diff [-c SUITE] -i RESULTS -o DIFFS`: every result record into a
 * verdict with its differences, streamed (one record in memory at a time).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff/diff.h"

int cmd_diff(int argc, char **argv)
{
    const char *suite_path = NULL, *in_path = NULL, *out_path = NULL, *rules_path = NULL, *profile = NULL;
    const char *today = NULL;
    long max_decoded = 0;
    const cli_opt opts[] = {
        {'c', "suite", CLI_STRING, &suite_path, "SUITE", "suite file (targets' URLs for host normalization, profile)"},
        {'i', "input", CLI_STRING, &in_path, "RESULTS", "result file (.gz or plain, - = stdin)"},
        {'o', "output", CLI_STRING, &out_path, "DIFFS", "diff file to write (.gz: gzip; - = stdout)"},
        {0, "rules", CLI_STRING, &rules_path, "FILE", "normalization rules (default: PROFILE/rules.yaml)"},
        {0, "profile", CLI_STRING, &profile, "DIR", "profile directory (default: the suite's, else config/quay)"},
        {0, "max-decoded", CLI_INT, &max_decoded, "BYTES", "cap on a decoded body (default 64 MiB): past it, too_large"},
        {0, "today", CLI_STRING, &today, "YYYY-MM-DD", "the date rule expiry is judged by (default: today)"},
        {0},
    };
    const cli_command cmd = {"diff", "[-c SUITE] -i RESULTS -o DIFFS",
                             "Turns each result record into a verdict (match, mismatch, error, skipped)\n"
                             "with the differences that remain after the profile's normalization rules.",
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
    char dir[4096], path[4200];
    pm_suite *suite = NULL;
    if (suite_path) {
        suite = pm_suite_load(suite_path, cli_profile_dir(profile, dir, sizeof dir), &err);
        if (!suite)
            return cli_fail("diff", "%s", err.msg);
    }
    if (!rules_path) {
        snprintf(path, sizeof path, "%s/rules.yaml",
                 suite && !profile ? suite->profile_dir : cli_profile_dir(profile, dir, sizeof dir));
        rules_path = path;
    }
    diff_options o;
    diff_options_init(&o);
    o.suite = suite;
    o.today = today;
    if (max_decoded > 0)
        o.max_decoded = (size_t)max_decoded;
    diff_engine *e = diff_new(&o, rules_path, &err);
    pm_jsonl_reader *in = e ? pm_jsonl_reader_open(in_path, &err) : NULL;
    pm_jsonl_writer *out = in ? pm_jsonl_writer_open(out_path, &err) : NULL;
    if (!out) {
        rc = cli_fail("diff", "%s", err.msg);
    } else {
        json_t *result;
        int got;
        while ((got = pm_jsonl_reader_next(in, &result, &err)) == 1) {
            json_t *d = diff_result(e, result, &err);
            json_decref(result);
            if (!d || pm_jsonl_writer_write(out, d, &err) != 0) {
                json_decref(d);
                got = -1;
                break;
            }
            json_decref(d);
        }
        if (got < 0)
            rc = cli_fail("diff", "%s", err.msg);
        if (pm_jsonl_writer_close(out, &err) != 0 && rc == CLI_OK)
            rc = cli_fail("diff", "%s", err.msg);
        out = NULL;
        if (pm_jsonl_reader_warning(in))
            fprintf(stderr, "pmirror diff: warning: %s\n", pm_jsonl_reader_warning(in));
        const diff_stats *st = diff_get_stats(e);
        if (rc == CLI_OK) {
            fprintf(stderr, "pmirror diff: %llu records: %llu match, %llu mismatch, %llu error, %llu skipped -> %s\n",
                    (unsigned long long)st->records, (unsigned long long)st->match,
                    (unsigned long long)st->mismatch, (unsigned long long)st->error,
                    (unsigned long long)st->skipped, out_path);
            if (st->expired_rules_hit)
                fprintf(stderr, "pmirror diff: %llu differences were not absorbed because their rule expired\n",
                        (unsigned long long)st->expired_rules_hit);
        }
    }
    pm_jsonl_reader_close(in);
    diff_free(e);
    pm_suite_free(suite);
    return rc;
}
