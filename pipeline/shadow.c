/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shadow.c — `pmirror tee`'s shadow side (pipeline.h): worker threads, one per lane of the
 * tee's queue, each draining its lane into its own replay engine (replay_run_source) and
 * giving each finished exchange's result to its own result sink (sink.c: diffed inline by
 * its own diff engine; the --record file and the report builder shared, each under its
 * lock), live, with the metrics watching each diff. The front sends every copy of a
 * flow to one lane (tee.h), so each worker's replay keeps the flow's order and
 * correlation exactly as one thread did. The threads run at a lower priority (nice)
 * than the front's threads when asked: on a busy machine the client's path gets the CPU
 * first, and the shadow side falls behind — its queue fills and copies are shed, fairly
 * per family, and counted — rather than slowing what clients see.
 *
 * Each result is redacted like a capture before anything reads it: the request's target,
 * headers and body, and every answer's headers and body, each secret of the exchange (and
 * each credential the suite sends) also wherever else it shows up in them; answers keep a
 * JWT's claims, so a /v2/auth token is still compared by them. The diff, the report's
 * examples and the record see only that. Without redaction (--no-redact, or nothing
 * written) the diff reads replay's text as it is. Metrics are read off the diff record.
 */
#include "pipeline.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct shadow_worker {
    pipeline_shadow *s;
    unsigned lane;
    pipeline_sink *sink;
    replay_session *session;
    pthread_t thread;
    bool started, ended;      /* ended: under the shadow's lock */
    int rc;
    pm_err err;
    atomic_uint_fast64_t taken; /* copies handed to the replay engine */
    atomic_uint_fast64_t unreadable; /* ... of which replay could not read (its stats, lately) */
    pm_jtape copy;            /* the tokens of the copy being taken (tee_next) */
    pm_jtape tape;            /* a result read to be redacted */
    pm_jtext clean;           /* ... and written again */
    pm_jtape clean_tokens;    /* ... its tokens, kept as it is written (clean follows) */
} shadow_worker;

struct pipeline_shadow {
    pipeline_shadow_options o;
    shadow_worker *workers;
    unsigned nworkers;
    tee_front *tee;
    pthread_mutex_t lock; /* stats, and the end of the threads */
    pthread_cond_t ended_cond;
    atomic_uint_fast64_t bad_records;
};

static void observe(void *ctx, const json_t *diff, const char *family);

pipeline_shadow *pipeline_shadow_new(const pipeline_shadow_options *o, pm_err *err)
{
    pipeline_shadow *s = calloc(1, sizeof *s);
    unsigned n = o->workers ? o->workers : 1;
    if (!s || !(s->workers = calloc(n, sizeof *s->workers))) {
        free(s);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->o.replay.result_tokens = true; /* the sink diffs (and the redaction reads) each result */
    s->nworkers = n;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->ended_cond, NULL);
    for (unsigned i = 0; i < n; i++) {
        shadow_worker *w = &s->workers[i];
        w->s = s;
        w->lane = i;
        pipeline_sink_options so = {.results = o->record, .results_lock = o->record_lock, .diff = o->diffs[i],
                                    .report = o->report, .report_lock = o->report_lock, .live = true,
                                    .on_diff = observe, .ctx = s};
        if (!(w->session = replay_new(&s->o.replay, err)) || !(w->sink = pipeline_sink_new(&so, err))) {
            pipeline_shadow_free(s);
            return NULL;
        }
    }
    return s;
}

void pipeline_shadow_wakeup(void *ctx, unsigned lane)
{
    pipeline_shadow *s = ctx;
    if (lane < s->nworkers)
        replay_wakeup(s->workers[lane].session);
}

/* ---- in: shadow copies from the tee's queue ---------------------------------------------- */

/* The tee writes each copy's record itself: replay reads its text (no tree). */
static int next_copy(void *ctx, json_t **record, char **text, size_t *len, const pm_jtape **tokens, pm_err *err)
{
    (void)err;
    shadow_worker *w = ctx;
    char *t = NULL;
    size_t n = 0;
    int got = tee_next(w->s->tee, w->lane, &t, &n, &w->copy, tokens);
    if (got != 1)
        return got == 0 ? 0 : REPLAY_SOURCE_WAIT;
    atomic_fetch_add(&w->taken, 1);
    *record = NULL;
    *text = t;
    *len = n;
    return 1;
}

/* ---- out: verdicts, metrics, report, record ------------------------------------------------ */

/* The metrics of one result, read off its diff record (family, capability, verdict, each
 * target's latency); the sink's on_diff. */
static void observe(void *ctx, const json_t *diff, const char *family)
{
    pipeline_shadow *s = ctx;
    const pm_suite *suite = s->o.replay.suite;
    size_t n = suite->ntargets;
    const char *names[n ? n : 1];
    int64_t latency[n ? n : 1];
    const json_t *latencies = json_object_get(diff, "latency");
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_object_get(latencies, suite->targets[i].name);
        names[i] = suite->targets[i].name;
        latency[i] = json_is_integer(l) ? json_integer_value(l) : -1;
    }
    const char *from_diff = json_string_value(json_object_get(diff, "family"));
    tee_observation obs = {
        .family = from_diff ? from_diff : family,
        .capability = json_string_value(json_object_get(diff, "capability")),
        .verdict = json_string_value(json_object_get(diff, "verdict")),
        .targets = names,
        .latency_us = latency,
        .ntargets = n,
    };
    if (s->o.metrics)
        tee_metrics_observe(s->o.metrics, &obs);
}

/* The result as it may be kept, redacted (shadow_redact.c): the worker's buffer, *len set;
 * NULL when it does not parse or memory ran out. */
static const char *redacted_text(shadow_worker *w, const replay_result *r, size_t *len, const pm_jtape **tokens)
{
    const pipeline_shadow_options *o = &w->s->o;
    bool ok = pipeline_shadow_redact(o->redactor, o->answer_redactor, o->replay.suite, r->text, r->len, r->tokens,
                                     &w->tape, &w->clean, false) == 0;
    *len = ok ? w->clean.len : 0;
    *tokens = ok ? pm_jtext_tape_done(&w->clean, JSON_PARSER_MAX_DEPTH) : NULL;
    return ok ? w->clean.buf : NULL;
}

/* With redaction on (the default whenever a record or a report is written), the result is
 * redacted first and everything after sees only that: the diff record's baseline and
 * candidate values, the report's examples and the record never hold a secret in clear.
 * Without it, the diff reads the result's text as replay made it (the fast path). */
static int on_result(void *ctx, const replay_result *r, pm_err *err)
{
    shadow_worker *w = ctx;
    const char *text = r->text;
    size_t len = r->len;
    const pm_jtape *tokens = r->tokens; /* replay's, and the redaction's: nobody parses it again */
    if (w->s->o.redactor && !(text = redacted_text(w, r, &len, &tokens))) {
        atomic_fetch_add(&w->s->bad_records, 1);
        return 0;
    }
    return pipeline_sink_add(w->sink, text, len, tokens, r->family, err);
}

static void on_progress(void *ctx, const replay_stats *st, double per_s)
{
    (void)per_s;
    shadow_worker *w = ctx;
    atomic_store(&w->unreadable, st->unreadable);
    pipeline_sink_tick(w->sink); /* a gzip record is flushed every second */
}

/* ---- the threads ----------------------------------------------------------------------------- */

static void *run(void *arg)
{
    shadow_worker *w = arg;
    pipeline_shadow *s = w->s;
    pm_jtext_tape_start(&w->clean, &w->clean_tokens);
    if (s->o.nice > 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), s->o.nice); /* best effort */
    replay_source src = {next_copy, w};
    pm_err err;
    int rc = replay_run_source(w->session, &src, on_result, on_progress, w, &err);
    pthread_mutex_lock(&s->lock);
    w->rc = rc;
    if (rc != 0)
        w->err = err;
    w->ended = true;
    pthread_cond_broadcast(&s->ended_cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int pipeline_shadow_start(pipeline_shadow *s, tee_front *tee, pm_err *err)
{
    s->tee = tee;
    for (unsigned i = 0; i < s->nworkers; i++) {
        shadow_worker *w = &s->workers[i];
        if (pthread_create(&w->thread, NULL, run, w) != 0)
            return pm_err_set(err, "cannot start shadow worker %u of %u", i + 1, s->nworkers);
        pthread_setname_np(w->thread, "tee-shadow"); /* top -H, /proc, bench/tee.sh's CPU split */
        w->started = true;
    }
    return 0;
}

static bool all_ended(const pipeline_shadow *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        if (s->workers[i].started && !s->workers[i].ended)
            return false;
    return true;
}

int pipeline_shadow_join(pipeline_shadow *s, double timeout_s, uint64_t *abandoned, pm_err *err)
{
    *abandoned = 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s;
    until.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!all_ended(s) && pthread_cond_timedwait(&s->ended_cond, &s->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&s->lock);
    int rc = 0;
    for (unsigned i = 0; i < s->nworkers; i++) {
        shadow_worker *w = &s->workers[i];
        if (!w->started)
            continue;
        pthread_mutex_lock(&s->lock);
        bool in_time = w->ended;
        pthread_mutex_unlock(&s->lock);
        if (!in_time)
            replay_abort(w->session); /* the drain's time is up: what is in flight is left */
        pthread_join(w->thread, NULL);
        w->started = false;
        uint64_t judged = pipeline_sink_counts(w->sink).results + atomic_load(&w->unreadable);
        uint64_t taken = atomic_load(&w->taken);
        *abandoned += taken > judged ? taken - judged : 0;
        if (w->rc != 0 && rc == 0) {
            *err = w->err;
            rc = w->rc;
        }
    }
    return rc;
}

void pipeline_shadow_get_stats(pipeline_shadow *s, pipeline_shadow_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (!s->workers[i].sink)
            continue;
        pipeline_counts c = pipeline_sink_counts(s->workers[i].sink);
        out->counts.results += c.results;
        out->counts.match += c.match;
        out->counts.mismatch += c.mismatch;
        out->counts.error += c.error;
        out->counts.skipped += c.skipped;
        out->counts.diff_failures += c.diff_failures;
    }
    out->bad_records = atomic_load(&s->bad_records);
    for (unsigned i = 0; i < s->nworkers; i++)
        out->bad_records += atomic_load(&s->workers[i].unreadable);
}

bool pipeline_shadow_failed(pipeline_shadow *s, pm_err *err)
{
    pthread_mutex_lock(&s->lock);
    bool failed = false;
    for (unsigned i = 0; i < s->nworkers && !failed; i++)
        if ((failed = s->workers[i].ended && s->workers[i].rc != 0))
            *err = s->workers[i].err;
    pthread_mutex_unlock(&s->lock);
    return failed;
}

void pipeline_shadow_free(pipeline_shadow *s)
{
    if (!s)
        return;
    uint64_t abandoned;
    pm_err err;
    pipeline_shadow_join(s, 0, &abandoned, &err);
    for (unsigned i = 0; i < s->nworkers; i++) {
        replay_free(s->workers[i].session);
        pipeline_sink_free(s->workers[i].sink);
        pm_jtape_free(&s->workers[i].copy);
        pm_jtape_free(&s->workers[i].tape);
        pm_jtext_free(&s->workers[i].clean);
        pm_jtape_free(&s->workers[i].clean_tokens);
    }
    free(s->workers);
    pthread_cond_destroy(&s->ended_cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
