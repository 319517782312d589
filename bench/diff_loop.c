/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diff_loop.c — the diff engine alone over a result file, one thread: every line through
 * diff_result_text and serialized, nothing written. What perf profiles when the diff
 * hot path is tuned (bench/diff.sh measures the real command).
 * Usage: bench_diff_loop RESULTS [RULES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff/diff.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_diff_loop RESULTS [RULES]\n");
        return 2;
    }
    pm_err err;
    diff_options o;
    diff_options_init(&o);
    diff_engine *e = diff_new(&o, argc > 2 ? argv[2] : PMIRROR_SOURCE_DIR "/config/quay/rules.yaml", &err);
    pm_jsonl_reader *in = e ? pm_jsonl_reader_open(argv[1], &err) : NULL;
    if (!in) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    const char *line;
    size_t len, bytes = 0;
    int got;
    while ((got = pm_jsonl_reader_next_text(in, &line, &len, &err)) == 1) {
        json_t *d = diff_result_text(e, line, len, &err);
        char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
        if (!text) {
            fprintf(stderr, "line %llu: %s\n", (unsigned long long)pm_jsonl_reader_line(in), err.msg);
            return 2;
        }
        bytes += strlen(text);
        free(text);
        json_decref(d);
    }
    const diff_stats *s = diff_get_stats(e);
    printf("%llu records, %llu match, %llu mismatch, %zu bytes of diff records\n", (unsigned long long)s->records,
           (unsigned long long)s->match, (unsigned long long)s->mismatch, bytes);
    pm_jsonl_reader_close(in);
    diff_free(e);
    return got < 0 ? 2 : 0;
}
