/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sink.c — the one result sink (pipeline.h): what happens to each result record after
 * replay, whoever drives it. The result's text is kept as it is (the results file, the
 * tee's --record), diffed on diff's fast path (no tree for what needs none), the diff
 * record kept and added to the report builder, the verdict counted, and the diff shown to
 * whoever watches (the tee's metrics).
 *
 * `run` stops on the first result it cannot judge (a bad input is an error to report);
 * the tee, live (`live`), counts it and goes on: a shadow must never stop the front.
 *
 * With a secondary target (`learn_noise`), noise is learned over all the results before
 * any is judged, as `pmirror diff` does on a file: each result is learned and spooled to an
 * unlinked temporary file as it comes, and judged, in the same order, by
 * pipeline_sink_finish. Memory stays flat; the spool holds the results once on disk.
 */
#include "pipeline.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pipeline_sink {
    pipeline_sink_options o;
    FILE *spool; /* learn_noise: the results to judge once noise is learned */
    _Atomic uint64_t results, match, mismatch, error, skipped, mixed, mixed_failed, diff_failures;
};

pipeline_sink *pipeline_sink_new(const pipeline_sink_options *o, pm_err *err)
{
    pipeline_sink *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    s->o = *o;
    if (o->learn_noise && o->diff) {
        char path[4200];
        snprintf(path, sizeof path, "%s/.pmirror-spool-XXXXXX", o->spool_dir ? o->spool_dir : ".");
        int fd = mkstemp(path);
        if (fd >= 0)
            unlink(path);
        if (fd < 0 || !(s->spool = fdopen(fd, "w+"))) {
            pm_err_set(err, "%s: cannot make the results' spool: %s", o->spool_dir ? o->spool_dir : ".",
                       strerror(errno));
            if (fd >= 0)
                close(fd);
            free(s);
            return NULL;
        }
    }
    return s;
}

static void count(_Atomic uint64_t *n)
{
    atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

static void count_verdict(pipeline_sink *s, const json_t *d)
{
    const char *v = json_string_value(json_object_get(d, "verdict"));
    if (v && strcmp(v, "mixed") == 0) { /* a --mixed flow step: no pair of answers */
        count(&s->mixed);
        if (!json_is_true(json_object_get(json_object_get(d, "mixed"), "ok")))
            count(&s->mixed_failed);
        return;
    }
    count(!v                           ? &s->skipped
          : strcmp(v, "match") == 0    ? &s->match
          : strcmp(v, "mismatch") == 0 ? &s->mismatch
          : strcmp(v, "error") == 0    ? &s->error
                                       : &s->skipped);
}

static int report(pipeline_sink *s, const json_t *d, pm_err *err)
{
    if (!s->o.report)
        return 0;
    if (s->o.report_lock)
        pthread_mutex_lock(s->o.report_lock);
    int rc = reports_add(s->o.report, d, err);
    if (s->o.report_lock)
        pthread_mutex_unlock(s->o.report_lock);
    return rc;
}

/* One result diffed, its diff record scored, kept and counted. */
static int judge(pipeline_sink *s, const char *text, size_t len, const pm_jtape *tokens, const char *family,
                 pm_err *err)
{
    pm_err why;
    json_t *d = diff_result_tokens(s->o.diff, text, len, tokens, &why);
    if (s->o.on_diff)
        s->o.on_diff(s->o.ctx, d, family);
    if (!d || report(s, d, &why) != 0) {
        json_decref(d);
        if (!s->o.live) {
            *err = why;
            return -1;
        }
        count(&s->diff_failures);
        return 0;
    }
    count_verdict(s, d);
    int rc = s->o.diffs ? pm_jsonl_writer_write(s->o.diffs, d, err) : 0;
    json_decref(d);
    return rc;
}

int pipeline_sink_add(pipeline_sink *s, const char *text, size_t len, const pm_jtape *tokens, const char *family,
                      pm_err *err)
{
    if (s->o.results) {
        if (s->o.results_lock)
            pthread_mutex_lock(s->o.results_lock);
        int rc = pm_jsonl_writer_write_line(s->o.results, text, len, err);
        if (s->o.results_lock)
            pthread_mutex_unlock(s->o.results_lock);
        if (rc != 0)
            return -1;
    }
    if (!s->o.diff) /* `pmirror replay`: the result is all */
        return 0;
    count(&s->results);
    if (!s->spool)
        return judge(s, text, len, tokens, family, err);
    if (diff_learn_text(s->o.diff, text, len, err) != 0)
        return -1;
    if (fwrite(text, 1, len, s->spool) != len || fputc('\n', s->spool) == EOF)
        return pm_err_set(err, "the results' spool: write failed: %s", strerror(errno));
    return 0;
}

int pipeline_sink_finish(pipeline_sink *s, pm_err *err)
{
    if (!s->spool)
        return 0;
    diff_noise_done(s->o.diff);
    if (fflush(s->spool) != 0 || fseek(s->spool, 0, SEEK_SET) != 0)
        return pm_err_set(err, "the results' spool: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, s->spool)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        rc = judge(s, line, (size_t)n, NULL, NULL, err);
    }
    free(line);
    if (rc == 0 && ferror(s->spool))
        rc = pm_err_set(err, "the results' spool: read failed: %s", strerror(errno));
    fclose(s->spool);
    s->spool = NULL;
    return rc;
}

pipeline_counts pipeline_sink_counts(const pipeline_sink *s)
{
    pipeline_counts c = {
        .results = atomic_load_explicit(&s->results, memory_order_relaxed),
        .match = atomic_load_explicit(&s->match, memory_order_relaxed),
        .mismatch = atomic_load_explicit(&s->mismatch, memory_order_relaxed),
        .error = atomic_load_explicit(&s->error, memory_order_relaxed),
        .skipped = atomic_load_explicit(&s->skipped, memory_order_relaxed),
        .mixed = atomic_load_explicit(&s->mixed, memory_order_relaxed),
        .mixed_failed = atomic_load_explicit(&s->mixed_failed, memory_order_relaxed),
        .diff_failures = atomic_load_explicit(&s->diff_failures, memory_order_relaxed),
    };
    return c;
}

void pipeline_sink_tick(pipeline_sink *s)
{
    pm_err ignored;
    if (s->o.results) {
        if (s->o.results_lock)
            pthread_mutex_lock(s->o.results_lock);
        pm_jsonl_writer_tick(s->o.results, &ignored);
        if (s->o.results_lock)
            pthread_mutex_unlock(s->o.results_lock);
    }
    if (s->o.diffs)
        pm_jsonl_writer_tick(s->o.diffs, &ignored);
}

void pipeline_sink_free(pipeline_sink *s)
{
    if (s && s->spool)
        fclose(s->spool);
    free(s);
}
