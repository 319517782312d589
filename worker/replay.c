/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.c — the job replay's loop (`pmirror worker`): job records in, job results out.
 *
 * One thread, one connection per worker target. Each turn: start jobs while fewer than
 * `concurrency` are in flight (inserting each into every target at once), look at every
 * target's rows (replay_target.c), and write the jobs every target has an outcome for, in the
 * order they finish.
 *
 * Ordered queues (the build queue: the record says `ordered`, or the worker map does) take the
 * lowest claimable id in Quay, and a worker that does not is what this must show. Consecutive
 * job records of one ordered queue (queue_name's first segment) form a burst: its jobs start
 * together, up to `concurrency` in flight, and the ones a turn starts are inserted in record
 * order in one transaction per target, so their ids ascend and the worker finds them all at
 * once, with a choice to make. Each ordered job's effects carry the order witness
 * `taken_before` (replay_target.c): how many jobs of its burst with a lower id were still
 * unclaimed when it was first seen taken; 0 for every job of a worker that keeps the order. A
 * job of an ordered queue that does not go on the burst in flight (another record came between)
 * starts only when its queue has no job in flight, and the records after it wait with it: a
 * head-of-line wait for the others, the simple and safe choice for a first form.
 * Limits of the witness: it is read at --poll-ms, so jobs taken between two looks count as in
 * order (a worker that takes b2 then b1 within one interval is not caught; builds take longer
 * than that); with --concurrency 1, or once the run is serialized, a burst is one job and every
 * witness is 0.
 * Once a target sees an effect it cannot attribute (replay_target.c), the run goes on one
 * job at a time. Memory is bounded by `concurrency` jobs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay_internal.h"
#include "worker_internal.h"

void worker_replay_options_init(worker_replay_options *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 4;
    o->poll_ms = 20;
}

worker_replay *worker_replay_open(const worker_replay_options *o, pm_err *err)
{
    worker_replay *r = calloc(1, sizeof *r);
    if (!r) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    r->o = *o;
    if (r->o.concurrency <= 0)
        r->o.concurrency = 4;
    if (r->o.poll_ms == 0)
        r->o.poll_ms = 20;
    const pm_suite *s = o->suite;
    r->targets = calloc(s->ntargets ? s->ntargets : 1, sizeof *r->targets);
    r->stats.targets = calloc(s->ntargets ? s->ntargets : 1, sizeof *r->stats.targets);
    if (!r->targets || !r->stats.targets) {
        worker_replay_close(r);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < s->ntargets; i++) {
        const pm_target *t = &s->targets[i];
        if (!t->database) {
            worker_replay_close(r);
            pm_err_set(err, "target %s has no database: pmirror worker replays jobs into worker targets "
                            "({name, role, database: DSN, sandbox: true})",
                       t->name);
            return NULL;
        }
        wk_target *w = &r->targets[r->ntargets];
        w->t = t;
        w->stats = &r->stats.targets[r->ntargets];
        w->stats->name = t->name;
        worker_dsn_display(t->database, w->display, sizeof w->display);
        r->ntargets++;
        r->stats.ntargets = r->ntargets;
        if (wk_target_connect(w, err) != 0) {
            worker_replay_close(r);
            return NULL;
        }
        pm_err inner;
        if (t->effects && !(w->sink = wk_sink_start(t->effects, &inner))) {
            pm_err_set(err, "target %s: %s", t->name, inner.msg);
            worker_replay_close(r);
            return NULL;
        }
    }
    return r;
}

void worker_replay_stop(worker_replay *r)
{
    if (r)
        r->stop = 1;
}

const worker_replay_stats *worker_replay_get_stats(const worker_replay *r)
{
    return &r->stats;
}

void worker_replay_close(worker_replay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ntargets; i++) {
        wk_target_close(&r->targets[i]);
        wk_sink_stop(r->targets[i].sink);
    }
    free(r->targets);
    free(r->stats.targets);
    free(r);
}

/* ---- jobs in flight ------------------------------------------------------------------- */

static void flight_free(wk_flight *f, size_t ntargets)
{
    if (!f)
        return;
    for (size_t i = 0; f->answers && i < ntargets; i++) {
        json_decref(f->answers[i].queue);
        json_decref(f->answers[i].db);
        json_decref(f->answers[i].http);
        json_decref(f->answers[i].first);
        free(f->answers[i].message);
    }
    free(f->answers);
    free(f->correlation);
    free(f->queue);
    free(f->body);
    json_decref(f->record);
    free(f);
}

/* The body to insert: job.body as compact JSON, else job.body_text, else NULL. */
static char *job_body(const json_t *job)
{
    const json_t *body = json_object_get(job, "body");
    if (body)
        return json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    const json_t *text = json_object_get(job, "body_text");
    return json_is_string(text) ? strdup(json_string_value(text)) : NULL;
}

/* A flight for a job record (takes record), or NULL when it is not a job one can replay. */
static wk_flight *flight_new(worker_replay *r, json_t *record, uint64_t seq)
{
    const json_t *job = json_object_get(record, "job");
    const char *qn = json_string_value(json_object_get(record, "queue_name"));
    wk_flight *f = calloc(1, sizeof *f);
    if (!f || !qn || !*qn || !json_is_object(job) || !(f->body = job_body(job)) ||
        !(f->answers = calloc(r->ntargets, sizeof *f->answers)) || !(f->queue = strndup(qn, strcspn(qn, "/")))) {
        if (f)
            f->record = record;
        else
            json_decref(record);
        flight_free(f, r->ntargets);
        return NULL;
    }
    f->record = record;
    f->seq = seq;
    f->queue_name = qn;
    f->body_json = json_object_get(job, "body");
    const json_t *retries = json_object_get(job, "retries_remaining");
    f->retries = json_is_integer(retries) && json_integer_value(retries) >= 0 && json_integer_value(retries) < 1000000
                     ? (long)json_integer_value(retries)
                     : 5; /* WorkQueue.put's default */
    f->wq = pm_workers_find(r->o.map, f->queue, strlen(f->queue));
    if (f->wq && f->wq->correlate) {
        const json_t *qid = json_object_get(record, "queue_id");
        f->correlation = pm_worker_template_expand(f->wq->correlate, json_is_integer(qid) ? json_integer_value(qid) : 0,
                                                   qn, f->body_json);
        if (f->correlation && strlen(f->correlation) < 4) { /* too short to tell jobs apart by */
            free(f->correlation);
            f->correlation = NULL;
        }
    }
    f->ordered = json_is_true(json_object_get(job, "ordered")) || (f->wq && f->wq->ordered);
    f->waiting = r->ntargets;
    return f;
}

/* "HOST:PORT/DB" of a displayed DSN (postgresql://USER@HOST:PORT/DB): the database, whoever logs in. */
static const char *database_of(const char *display)
{
    const char *p = strstr(display, "://");
    p = p ? p + 3 : display;
    const char *at = strchr(p, '@');
    return at ? at + 1 : p;
}

/* Never replay into the database a job was captured from (the record's `source`): a suite
 * copied with the production DSN and `sandbox: true` set by habit would otherwise enqueue
 * every job a second time in production. Compared as HOST:PORT/DB as written (an alias of the
 * same host is not caught). */
static int check_source(const worker_replay *r, const json_t *record, pm_err *err)
{
    const char *source = json_string_value(json_object_get(record, "source"));
    const char *id = json_string_value(json_object_get(record, "id"));
    if (!source)
        return 0;
    for (size_t i = 0; i < r->ntargets; i++)
        if (strcmp(database_of(source), database_of(r->targets[i].display)) == 0)
            return pm_err_set(err,
                              "target %s: %s is the database job %s was captured from: refusing to replay into a "
                              "capture source",
                              r->targets[i].t->name, r->targets[i].display, id ? id : "?");
    return 0;
}

static bool queue_busy(const wk_flight *flights, const char *queue)
{
    for (const wk_flight *f = flights; f; f = f->next)
        if (strcmp(f->queue, queue) == 0)
            return true;
    return false;
}

/* Inserts n jobs into every target; several (an ordered burst's, in record order) go in one
 * transaction per target, so the worker finds them all at once. */
static void start(worker_replay *r, wk_flight *const *fs, size_t n)
{
    uint64_t now = pm_now_ms();
    for (size_t k = 0; k < n; k++)
        fs[k]->started_ms = now;
    for (size_t i = 0; i < r->ntargets; i++) {
        for (size_t k = 0; k < n; k++) {
            fs[k]->answers[i].delivery = 1;
            fs[k]->timeout_s = r->o.job_timeout_s > 0 ? r->o.job_timeout_s : r->targets[i].t->timeout_s;
        }
        wk_target_enqueue_together(&r->targets[i], i, fs, n);
        for (size_t k = 0; k < n; k++)
            if (fs[k]->answers[i].error)
                r->targets[i].stats->errors++;
    }
}

/* May f start now: a job of a queue that is not ordered always may (within concurrency); an
 * ordered one when its queue has no job in flight, or when it joins the burst going on (the
 * jobs started just before it, in record order, are of its queue). */
static bool may_start(const wk_flight *flights, const wk_flight *f, const char *burst)
{
    return !f->ordered || !queue_busy(flights, f->queue) || (burst && strcmp(burst, f->queue) == 0);
}

/* After f starts: the burst it opens or goes on with (its queue when it is ordered), or none. */
static int burst_follow(char **burst, const wk_flight *f, pm_err *err)
{
    if (f->ordered && *burst && strcmp(*burst, f->queue) == 0)
        return 0;
    free(*burst);
    *burst = NULL;
    if (f->ordered && !(*burst = strdup(f->queue)))
        return pm_err_set(err, "out of memory");
    return 0;
}

/* Every target has an outcome (or an error) for f. */
static bool settled(const worker_replay *r, const wk_flight *f)
{
    for (size_t i = 0; i < r->ntargets; i++)
        if ((!f->answers[i].outcome && !f->answers[i].error) ||
            (r->o.redeliver && f->answers[i].delivery == 1 && !f->answers[i].error))
            return false;
    return true;
}

/* A delivery's end on one target: its row deleted unless completed, its probes run. */
static void close_delivery(worker_replay *r, size_t i, wk_flight *f)
{
    wk_answer *a = &f->answers[i];
    if (strcmp(a->outcome, "completed") != 0)
        wk_target_forget(&r->targets[i], a);
    a->db = wk_target_probes(&r->targets[i], f);
}

/* --redeliver: the first delivery's outcome is seen on target i; its effects are kept and the
 * same job is delivered again (at-least-once: Quay may hand a worker a job twice). */
static void redeliver(worker_replay *r, size_t i, wk_flight *f)
{
    wk_answer *a = &f->answers[i];
    close_delivery(r, i, f);
    a->first = wk_delivery_effects(a);
    a->first_outcome = a->outcome;
    a->first_latency_us = a->latency_us;
    json_decref(a->queue);
    json_decref(a->http);
    json_decref(a->db);
    a->queue = a->http = a->db = NULL;
    a->outcome = NULL;
    a->outcome_now = false;
    a->row_id = 0;
    a->delivery = 2;
    wk_target_enqueue(&r->targets[i], i, f);
    if (a->error)
        r->targets[i].stats->errors++;
}

/* A job's (first delivery's) outcome in the target's counts; errors are counted where they happen. */
static void count(worker_replay_target_stats *st, const char *outcome)
{
    if (strcmp(outcome, "completed") == 0)
        st->completed++;
    else if (strcmp(outcome, "retried") == 0)
        st->retried++;
    else if (strcmp(outcome, "dead") == 0)
        st->dead++;
    else
        st->timeout++;
}

/* The settled job's probes, clean-up and result. */
static int finish(worker_replay *r, wk_flight *f, pm_record_fn fn, void *ctx, pm_err *err)
{
    for (size_t i = 0; i < r->ntargets; i++) {
        wk_answer *a = &f->answers[i];
        if (a->error)
            continue;
        close_delivery(r, i, f);
        count(r->targets[i].stats, a->first_outcome ? a->first_outcome : a->outcome);
    }
    json_t *result = wk_job_result(f, r->targets, r->ntargets);
    char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(result);
    if (!text)
        return pm_err_set(err, "out of memory writing the result of a job");
    int rc = fn(ctx, text, strlen(text), err);
    free(text);
    r->stats.jobs++;
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int worker_replay_run(worker_replay *r, pm_jsonl_reader *in, pm_record_fn fn, void *ctx,
                      void (*progress)(void *ctx, const worker_replay_stats *stats), pm_err *err)
{
    wk_flight *flights = NULL, *next = NULL; /* next: read, waiting for its queue */
    json_t *run = NULL;                      /* a scheduled run read, waiting for the jobs before it */
    size_t runs_done = 0, nruns = json_array_size(r->o.runs);
    char *burst = NULL;                      /* the ordered queue whose burst is going on */
    wk_flight **batch = calloc((size_t)r->o.concurrency, sizeof *batch); /* the burst's jobs of this turn */
    size_t nbatch = 0;
    bool eof = in == NULL;
    int rc = batch ? 0 : pm_err_set(err, "out of memory");
    uint64_t last_progress = pm_now_ms();
    while (rc == 0) {
        /* a scheduled run is a barrier: it starts when no job is in flight, alone */
        if (!run && runs_done < nruns)
            run = json_incref(json_array_get(r->o.runs, runs_done++));
        if (run && !flights && !r->stop) {
            rc = wk_run(r, run, fn, ctx, err);
            json_decref(run);
            run = NULL;
            free(burst); /* a burst does not go on across a run */
            burst = NULL;
            continue;
        }
        bool watching = flights != NULL; /* else this turn's jobs are all inserted just now */
        /* start what may start */
        while (!r->stop && !run && (long)r->stats.in_flight < (r->stats.serialized ? 1 : r->o.concurrency)) {
            if (!next && !eof) {
                json_t *record = NULL;
                int got = pm_jsonl_reader_next(in, &record, err);
                if (got < 0) {
                    rc = -1;
                    break;
                }
                if (got == 0) {
                    eof = true;
                    break;
                }
                r->stats.read++;
                const char *kind = json_string_value(json_object_get(record, "kind"));
                if (check_source(r, record, err) != 0) {
                    json_decref(record);
                    rc = -1;
                    break;
                }
                if (kind && strcmp(kind, "run") == 0) {
                    run = record;
                    break;
                }
                if (!kind || strcmp(kind, "job") != 0) {
                    r->stats.not_jobs++;
                    json_decref(record);
                    continue;
                }
                if (!(next = flight_new(r, record, r->stats.read))) {
                    r->stats.bad_jobs++;
                    continue;
                }
            }
            if (!next || !may_start(flights, next, burst))
                break;
            if (burst_follow(&burst, next, err) != 0) {
                rc = -1;
                break;
            }
            if (next->ordered)
                batch[nbatch++] = next; /* inserted with the rest of its burst below */
            else
                start(r, &next, 1);
            wk_flight **tail = &flights;
            while (*tail)
                tail = &(*tail)->next;
            *tail = next;
            next = NULL;
            r->stats.in_flight++;
        }
        if (nbatch && rc == 0)
            start(r, batch, nbatch);
        nbatch = 0;
        if (rc != 0 || (!flights && !run && (eof || r->stop)) || (!flights && r->stop))
            break;
        uint64_t turn = pm_now_ms();
        /* no look right after inserting into an idle queue: nothing can be there yet (one
         * statement a target saved per job at --concurrency 1, a quarter of its CPU) */
        for (size_t i = 0; watching && i < r->ntargets; i++) {
            wk_target_poll(&r->targets[i], i, flights);
            r->stats.serialized |= r->targets[i].serialize;
        }
        for (wk_flight *f = flights; r->o.redeliver && f; f = f->next)
            for (size_t i = 0; i < r->ntargets; i++)
                if (f->answers[i].delivery == 1 && f->answers[i].outcome && !f->answers[i].error)
                    redeliver(r, i, f);
        /* write what settled, in the order it did */
        for (wk_flight **p = &flights; *p && rc == 0;) {
            wk_flight *f = *p;
            if (!settled(r, f)) {
                p = &f->next;
                continue;
            }
            *p = f->next;
            r->stats.in_flight--;
            rc = finish(r, f, fn, ctx, err);
            flight_free(f, r->ntargets);
        }
        if (progress && pm_now_ms() - last_progress >= 1000) {
            last_progress = pm_now_ms();
            progress(ctx, &r->stats);
        }
        uint64_t spent = pm_now_ms() - turn;
        if (flights && spent < r->o.poll_ms)
            sleep_ms(r->o.poll_ms - (unsigned)spent);
    }
    while (flights) {
        wk_flight *f = flights;
        flights = f->next;
        flight_free(f, r->ntargets);
    }
    flight_free(next, r->ntargets);
    json_decref(run);
    free(burst);
    free(batch);
    return rc;
}
