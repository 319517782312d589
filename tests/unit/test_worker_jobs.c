/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_worker_jobs.c — the jobs queue capture holds (worker/jobs.c, worker/idmap.c): how the
 * row's changes become the first delivery's outcome, as logical decoding sees each step and as
 * polling sees only the last state (a claim and a release between two looks, the retry given
 * back); the order jobs leave in; and the id map under many deletions.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker_internal.h"

static wk_row row(int64_t id, int available, long retries, const char *state)
{
    return (wk_row){.id = id, .queue_name = "notification/acme/", .body = "{}", .body_len = 2, .body_total = 2,
                    .available = available, .has_retries = true, .retries = retries, .state_id = state};
}

Test(worker_jobs, logical_steps_claim_then_delete_is_completed)
{
    wk_jobs jobs = {0};
    wk_row r = row(1, 1, 5, "s0");
    wk_job *j = wk_jobs_add(&jobs, &r, 100, 0, 1000);
    cr_assert_not_null(j);
    cr_assert_null(wk_jobs_add(&jobs, &r, 100, 0, 1000), "an id held twice");
    r = row(1, 0, 4, "s1"); /* claim */
    wk_job_observe(j, &r, 200);
    cr_assert_null(j->outcome);
    cr_assert_eq(j->claims, 1);
    r = row(1, 0, 4, "s2"); /* extend_processing: a new state, still claimed */
    wk_job_observe(j, &r, 250);
    cr_assert_null(j->outcome);
    cr_assert_eq(j->claims, 1);
    wk_job_deleted(j, 300);
    cr_assert_str_eq(j->outcome, "completed");
    cr_assert_eq(j->outcome_ts_us, 300);
    cr_assert_eq(j->retries0, 5, "retries as enqueued");
    wk_jobs_free(&jobs);
}

Test(worker_jobs, release_after_claim_is_retried_or_dead)
{
    wk_jobs jobs = {0};
    wk_row r = row(1, 1, 2, "a");
    wk_job *j = wk_jobs_add(&jobs, &r, 1, 0, 1000);
    r = row(1, 0, 1, "b");
    wk_job_observe(j, &r, 2);
    r = row(1, 1, 1, "c"); /* incomplete */
    wk_job_observe(j, &r, 3);
    cr_assert_str_eq(j->outcome, "retried");
    r = row(1, 0, 0, "d"); /* the second delivery: its outcome is not the first's */
    wk_job_observe(j, &r, 4);
    r = row(1, 1, 0, "e");
    wk_job_observe(j, &r, 5);
    cr_assert_str_eq(j->outcome, "retried");
    cr_assert_eq(j->claims, 2);

    r = row(2, 1, 1, "x");
    wk_job *last = wk_jobs_add(&jobs, &r, 1, 0, 1000);
    r = row(2, 0, 0, "y");
    wk_job_observe(last, &r, 2);
    r = row(2, 1, 0, "z");
    wk_job_observe(last, &r, 3);
    cr_assert_str_eq(last->outcome, "dead");
    wk_jobs_free(&jobs);
}

Test(worker_jobs, polling_sees_claim_and_release_in_one_look)
{
    wk_jobs jobs = {0};
    wk_row r = row(1, 1, 5, "s0");
    wk_job *j = wk_jobs_add(&jobs, &r, 1, 0, 1000);
    r = row(1, 1, 5, "s0"); /* nothing happened */
    wk_job_observe(j, &r, 2);
    cr_assert_null(j->outcome);
    cr_assert_eq(j->claims, 0);
    r = row(1, 1, 5, "s9"); /* claimed and released with the retry given back (restore_retry) */
    wk_job_observe(j, &r, 3);
    cr_assert_str_eq(j->outcome, "retried");
    cr_assert_eq(j->claims, 1);
    wk_jobs_free(&jobs);
}

Test(worker_jobs, jobs_leave_in_enqueue_order_when_due)
{
    wk_jobs jobs = {0};
    wk_job *j[4];
    for (int i = 0; i < 4; i++) {
        wk_row r = row(10 + i, 1, 5, "s");
        j[i] = wk_jobs_add(&jobs, &r, 0, 1000, 1000); /* commit not read yet */
    }
    bool evicted;
    wk_job_deleted(j[1], 0);
    cr_assert_null(wk_jobs_take_due(&jobs, 1000, 60000, 100, false, &evicted), "commit not read: nothing due");
    for (int i = 0; i < 4; i++)
        j[i]->ts_us = 5;
    j[1]->outcome_ts_us = 6;
    cr_assert_null(wk_jobs_take_due(&jobs, 1000, 60000, 100, false, &evicted), "the head waits for its outcome");
    wk_job *first = wk_jobs_take_due(&jobs, 61000, 60000, 100, false, &evicted);
    cr_assert(first == j[0] && !evicted, "after the wait, without outcome");
    wk_job_free(first);
    wk_job *second = wk_jobs_take_due(&jobs, 61000, 60000, 100, false, &evicted);
    cr_assert(second == j[1]);
    wk_job_free(second);
    wk_job *third = wk_jobs_take_due(&jobs, 1000, 60000, 1, false, &evicted);
    cr_assert(third == j[2] && evicted, "more held than max_held: the oldest goes");
    wk_job_free(third);
    cr_assert_null(wk_jobs_take_due(&jobs, 1000, 60000, 1, false, &evicted));
    wk_job *rest = wk_jobs_take_due(&jobs, 1000, 60000, 1, true, &evicted);
    cr_assert(rest == j[3]);
    wk_job_free(rest);
    cr_assert_eq(jobs.n, 0);
    cr_assert_null(wk_jobs_get(&jobs, 13));
    wk_jobs_free(&jobs);
}

Test(worker_jobs, a_long_body_is_cut_on_a_character)
{
    wk_jobs jobs = {0};
    wk_row r = row(1, 1, 5, "s");
    r.body = "ab\xc3\xa9";
    r.body_len = r.body_total = 4;
    wk_job *j = wk_jobs_add(&jobs, &r, 1, 0, 3);
    cr_assert_eq(j->body_len, 2, "é is not split");
    cr_assert_eq(j->body_total, 4);
    wk_jobs_free(&jobs);
}

Test(worker_jobs, idmap_survives_many_deletions)
{
    wk_idmap m = {0};
    enum { N = 20000 };
    for (int64_t i = 1; i <= N; i++)
        cr_assert_eq(wk_idmap_put(&m, i * 7919, (void *)(intptr_t)i), 0);
    for (int64_t i = 1; i <= N; i += 2)
        wk_idmap_del(&m, i * 7919);
    wk_idmap_del(&m, 123456789); /* absent: nothing */
    for (int64_t i = 1; i <= N; i++) {
        void *v = wk_idmap_get(&m, i * 7919);
        if (i % 2)
            cr_assert_null(v, "%lld deleted", (long long)i);
        else
            cr_assert_eq((intptr_t)v, i, "%lld kept", (long long)i);
    }
    cr_assert_eq(m.n, N / 2);
    cr_assert_eq(wk_idmap_put(&m, INT64_MIN, NULL), -1, "the empty marker is no key");
    wk_idmap_free(&m);
}

/* ---- the job record's producer (job_record.c): the map's template, else the option ---- */

static int keep_record(void *ctx, const char *line, size_t len, pm_err *err)
{
    (void)err;
    json_t **out = ctx;
    json_decref(*out);
    *out = json_loadb(line, len, 0, NULL);
    return 0;
}

/* The record wk_job_write makes of one job in queue q1/ with this body (new reference). */
static json_t *record_of(worker_capture *c, const char *body)
{
    json_t *rec = NULL;
    wk_job j = {.id = 7, .ts_us = 1, .queue_name = "q1/acme/", .body = (char *)body, .body_len = strlen(body),
                .body_total = strlen(body)};
    c->fn = keep_record;
    c->fn_ctx = &rec;
    pm_err err = {{0}};
    cr_assert_eq(wk_job_write(c, &j, &err), 0, "%s", err.msg);
    cr_assert_not_null(rec);
    return rec;
}

static const char *producer_of(const json_t *rec)
{
    const char *top = json_string_value(json_object_get(rec, "producer"));
    const char *cohort = json_string_value(json_object_get(json_object_get(rec, "cohort"), "producer"));
    cr_assert((!top && !cohort) || (top && cohort && strcmp(top, cohort) == 0), "producer %s, cohort.producer %s",
              top, cohort);
    return top;
}

Test(worker_jobs, the_maps_producer_wins_over_the_option)
{
    static const char map[] = "workers:\n  q1:\n    program: w\n    producer: ['{body._producer}', '{body.by}-v2']\n";
    pm_err err = {{0}};
    pm_config *cfg = pm_config_parse("w.yaml", map, strlen(map), &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    pm_workers *w = pm_workers_from_config(cfg, &err);
    cr_assert_not_null(w, "%s", err.msg);
    worker_capture *c = calloc(1, sizeof *c);
    c->o.map = w;
    c->o.producer = "python";
    strcpy(c->id_prefix, "t");

    json_t *rec = record_of(c, "{\"_producer\":\"go\"}");
    cr_assert_str_eq(producer_of(rec), "go", "the map's value wins");
    json_decref(rec);
    rec = record_of(c, "{\"by\":\"go\"}");
    cr_assert_str_eq(producer_of(rec), "go-v2", "the second template");
    json_decref(rec);
    rec = record_of(c, "{}");
    cr_assert_str_eq(producer_of(rec), "python", "no value: the option's");
    json_decref(rec);
    cr_assert_eq(c->stats.producers_refused, 0);
    rec = record_of(c, "{\"_producer\":\"Go Lang\"}");
    cr_assert_str_eq(producer_of(rec), "python", "not a producer name: the option's");
    cr_assert_eq(c->stats.producers_refused, 1, "and counted");
    json_decref(rec);
    rec = record_of(c, "not json");
    cr_assert_str_eq(producer_of(rec), "python", "a body that is not JSON: the option's");
    json_decref(rec);

    c->o.producer = NULL;
    rec = record_of(c, "{}");
    cr_assert_null(producer_of(rec), "neither: no producer");
    cr_assert_eq(json_object_size(json_object_get(rec, "cohort")), 3, "cohort as before: org, repo, user");
    json_decref(rec);
    rec = record_of(c, "{\"_producer\":\"go\"}");
    cr_assert_str_eq(producer_of(rec), "go", "the map's value without the option");
    json_decref(rec);
    worker_capture_close(c);
    pm_workers_free(w);
}
