/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_worker_targets.c — the worker side of suites and diff: worker targets in a suite file
 * (database, effects, run, sandbox: true required, errors at file:line:column), and job results
 * through diff (outcome compared as a status, effects as a JSON body); a watched row's outcome,
 * and an ordered burst's attribution and order witness (worker/replay_target.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/core.h"
#include "diff/diff.h"
#include "scratch.h"

TestSuite(worker_targets, .init = scratch_make, .fini = scratch_remove);

static pm_suite *load(const char *text, pm_err *err)
{
    const char *path = scratch_path("suite.yaml");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return pm_suite_load(path, PMIRROR_SOURCE_DIR "/config/quay", err);
}

Test(worker_targets, database_effects_and_sandbox_are_read)
{
    pm_err err;
    pm_suite *s = load("targets:\n"
                       "  - {name: py, role: baseline, database: \"postgresql://u:pw@h/quay\", sandbox: true,\n"
                       "     effects: \"127.0.0.1:9101\"}\n"
                       "  - {name: go, role: candidate, database: \"host=h dbname=q\", sandbox: true, timeout: 5}\n",
                       &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_str_eq(s->targets[0].database, "postgresql://u:pw@h/quay");
    cr_assert_str_eq(s->targets[0].effects, "127.0.0.1:9101");
    cr_assert_null(s->targets[0].url);
    cr_assert_float_eq(s->targets[0].timeout_s, 60, 1e-9);
    cr_assert_null(s->targets[1].effects);
    cr_assert_float_eq(s->targets[1].timeout_s, 5, 1e-9);
    pm_suite_free(s);
}

Test(worker_targets, a_database_without_sandbox_true_is_refused_at_its_line)
{
    pm_err err;
    cr_assert_null(load("targets:\n  - {name: py, role: baseline, database: \"host=h\", sandbox: true}\n"
                        "  - {name: go, role: candidate,\n     database: \"host=prod\"}\n",
                        &err));
    cr_assert(strstr(err.msg, "suite.yaml:4:") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "target go: a worker target's database must be marked sandbox: true") != NULL, "%s",
              err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: \"host=h\", sandbox: false}\n", &err));
    cr_assert(strstr(err.msg, "sandbox: true") != NULL, "%s", err.msg);
}

Test(worker_targets, bad_worker_keys_are_errors)
{
    pm_err err;
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: \"host=h\", sandbox: true, "
                        "url: \"http://x\"}\n",
                        &err));
    cr_assert(strstr(err.msg, "has no url") != NULL, "%s", err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: 7, sandbox: true}\n", &err));
    cr_assert(strstr(err.msg, "database must be a PostgreSQL DSN") != NULL, "%s", err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: \"host=h\", sandbox: true, "
                        "effects: nowhere}\n",
                        &err));
    cr_assert(strstr(err.msg, "effects must be an address HOST:PORT") != NULL, "%s", err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, databse: \"host=h\", sandbox: true}\n", &err));
    cr_assert(strstr(err.msg, "unknown key 'databse'") != NULL, "%s", err.msg);
}

Test(worker_targets, run_argv_and_run_timeout_are_read_and_checked)
{
    pm_err err;
    pm_suite *s = load("targets:\n"
                       "  - {name: py, role: baseline, database: \"host=h\", sandbox: true,\n"
                       "     run: [python3, gc.py, \"{program}\"], run_timeout: 90}\n"
                       "  - {name: go, role: candidate, database: \"host=h\", sandbox: true}\n",
                       &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_eq(s->targets[0].nrun, 3);
    cr_assert_str_eq(s->targets[0].run[0], "python3");
    cr_assert_str_eq(s->targets[0].run[2], "{program}");
    cr_assert_null(s->targets[0].run[3]);
    cr_assert_float_eq(s->targets[0].run_timeout_s, 90, 1e-9);
    cr_assert_null(s->targets[1].run);
    cr_assert_float_eq(s->targets[1].run_timeout_s, 600, 1e-9);
    pm_suite_free(s);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: \"host=h\", sandbox: true,\n"
                        "     run: gc.py}\n",
                        &err));
    cr_assert(strstr(err.msg, "suite.yaml:3:11: target go: run must be a list") != NULL, "%s", err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, database: \"host=h\", sandbox: true,\n"
                        "     run: [\"\", x]}\n",
                        &err));
    cr_assert(strstr(err.msg, "run[0] must be a non-empty string") != NULL, "%s", err.msg);
    cr_assert_null(load("targets:\n  - {name: go, role: candidate, url: \"http://x\", run: [gc.py]}\n", &err));
    cr_assert(strstr(err.msg, "run belongs to worker targets") != NULL, "%s", err.msg);
}

/* ---- job results through diff ---------------------------------------------------------- */

static json_t *diff_job(const char *py_outcome, const char *py_effects, const char *go_outcome,
                        const char *go_effects)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"j-1\",\"kind\":\"job\",\"family\":\"WORKER_REPOSITORYGCWORKER\","
             "\"capability\":\"repositorygc\",\"job\":{\"body\":{}},\"responses\":{"
             "\"python\":{\"role\":\"baseline\",\"outcome\":\"%s\",\"effects\":%s,\"latency_us\":10,\"error\":null},"
             "\"go\":{\"role\":\"candidate\",\"outcome\":\"%s\",\"effects\":%s,\"latency_us\":12,\"error\":null}}}",
             py_outcome, py_effects, go_outcome, go_effects);
    json_t *result = json_loads(text, 0, NULL);
    cr_assert_not_null(result, "%s", text);
    diff_options o;
    diff_options_init(&o);
    pm_err err;
    diff_engine *e = diff_new(&o, NULL, &err);
    cr_assert_not_null(e, "%s", err.msg);
    json_t *d = diff_result(e, result, &err);
    cr_assert_not_null(d, "%s", err.msg);
    diff_free(e);
    json_decref(result);
    return d;
}

Test(worker_targets, equal_job_results_match)
{
    json_t *d = diff_job("completed", "{\"queue\":[{\"body\":{\"a\":1}}]}", "completed",
                         "{\"queue\":[{\"body\":{\"a\":1}}]}");
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "match");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "latency"), "go")), 12);
    json_decref(d);
}

Test(worker_targets, another_outcome_is_a_status_difference)
{
    json_t *d = diff_job("completed", "{\"queue\":[]}", "retried", "{\"queue\":[]}");
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "mismatch");
    json_t *x = json_array_get(json_object_get(d, "differences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(x, "where")), "status");
    cr_assert_str_eq(json_string_value(json_object_get(x, "baseline")), "completed");
    cr_assert_str_eq(json_string_value(json_object_get(x, "candidate")), "retried");
    json_decref(d);
}

Test(worker_targets, effects_compare_as_a_json_body)
{
    json_t *d = diff_job("completed", "{\"queue\":[{\"body\":{\"repository\":\"acme/web\"}}]}", "completed",
                         "{\"queue\":[{\"body\":{\"repository\":\"acme/api\"}}]}");
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "mismatch");
    json_t *x = json_array_get(json_object_get(d, "differences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(x, "where")), "body");
    cr_assert_str_eq(json_string_value(json_object_get(x, "path")), "$.queue[0].body.repository");
    cr_assert_str_eq(json_string_value(json_object_get(x, "kind")), "value");
    json_decref(d);
}

/* ---- a watched row's outcome (worker/replay_target.c) ------------------------------------ */

#include "worker/replay_internal.h"

Test(worker_targets, a_rows_state_is_judged_as_quay_would)
{
    const char *mine = "11111111-1111-4111-8111-111111111111", *other = "22222222-2222-4222-8222-222222222222";
    /* as inserted, or claimed and held: no outcome yet */
    cr_assert_null(wk_outcome_of(mine, 5, true, 5, false, mine));
    cr_assert_null(wk_outcome_of(mine, 5, false, 4, false, other));
    /* released by incomplete (state_id changed), with or without restore_retry */
    cr_assert_str_eq(wk_outcome_of(mine, 5, true, 4, false, other), "retried");
    cr_assert_str_eq(wk_outcome_of(mine, 5, true, 5, false, other), "retried");
    /* the lease expired with retries left; claimed twice between two looks */
    cr_assert_str_eq(wk_outcome_of(mine, 5, false, 4, true, other), "retried");
    cr_assert_str_eq(wk_outcome_of(mine, 5, false, 3, false, other), "retried");
    /* no retry left: released, or its lease expired */
    cr_assert_str_eq(wk_outcome_of(mine, 1, true, 0, false, other), "dead");
    cr_assert_str_eq(wk_outcome_of(mine, 1, false, 0, true, other), "dead");
    cr_assert_null(wk_outcome_of(mine, 1, false, 0, false, other)); /* its last try still running */
    /* enqueued with none: never claimable */
    cr_assert_str_eq(wk_outcome_of(mine, 0, true, 0, false, mine), "dead");
}

/* ---- an ordered burst: who made an effect, and the order witness (replay_target.c) ------- */

/* Jobs in flight on one target (index 0): rows 10, 11, 12, ... in list order. */
typedef struct {
    wk_flight f[4];
    wk_answer a[4];
    worker_replay_target_stats stats;
    wk_target t;
} burst;

static wk_flight *burst_of(burst *b, size_t n, bool ordered)
{
    memset(b, 0, sizeof *b);
    b->t.stats = &b->stats;
    for (size_t k = 0; k < n; k++) {
        b->f[k] = (wk_flight){.queue = "dockerfilebuild", .ordered = ordered, .retries = 3, .answers = &b->a[k],
                              .next = k + 1 < n ? &b->f[k + 1] : NULL};
        b->a[k] = (wk_answer){.row_id = 10 + (int64_t)k, .taken_before = -1};
    }
    return &b->f[0];
}

Test(worker_targets, an_ordered_bursts_effects_belong_to_its_one_claimed_job)
{
    burst b;
    wk_flight *flights = burst_of(&b, 3, true);
    cr_assert_null(wk_target_attribute(&b.t, 0, flights, NULL), "nothing claimed: no job of ours made it");
    b.a[0].taken = true; /* a correct worker: the lowest id, the others still as inserted */
    cr_assert_eq(wk_target_attribute(&b.t, 0, flights, NULL), &b.a[0]);
    b.a[0].outcome = "completed"; /* it finished with the row, the next one claimed */
    b.a[0].outcome_now = true;
    b.a[1].taken = true;
    cr_assert_eq(wk_target_attribute(&b.t, 0, flights, NULL), &b.a[0], "the job whose outcome the look saw");
    cr_assert_eq(b.stats.ambiguous, 0);
    cr_assert_not(b.t.serialize);
    /* a worker running two builds at once: an error for both, never a guess */
    b.a[0].outcome_now = false;
    b.a[2].taken = true;
    wk_target_attribute(&b.t, 0, flights, NULL);
    cr_assert(b.a[1].ambiguous && b.a[2].ambiguous && !b.a[0].ambiguous);
    cr_assert_eq(b.stats.ambiguous, 2);
    cr_assert(b.t.serialize);
}

Test(worker_targets, jobs_of_queues_not_ordered_are_attributed_as_before)
{
    burst b;
    wk_flight *flights = burst_of(&b, 2, false); /* in flight, claimed or not: both may have made it */
    b.a[0].taken = true;
    wk_target_attribute(&b.t, 0, flights, NULL);
    cr_assert(b.a[0].ambiguous && b.a[1].ambiguous);
    burst_of(&b, 1, false);
    cr_assert_eq(wk_target_attribute(&b.t, 0, flights, NULL), &b.a[0]);
}

Test(worker_targets, the_order_witness_counts_lower_ids_left_waiting)
{
    burst b;
    wk_flight *flights = burst_of(&b, 4, true);
    b.f[0].retries = 0; /* row 10: enqueued without retries, never claimable: not waiting */
    b.a[3].taken = b.a[3].taken_now = true; /* row 13 first, while 11 and 12 wait */
    wk_order_witness(flights, 0);
    cr_assert_eq(b.a[3].taken_before, 2);
    cr_assert_eq(b.a[1].taken_before, -1, "not taken yet: no witness");
    b.a[3].taken_now = false;
    b.a[1].taken = b.a[1].taken_now = b.a[2].taken = b.a[2].taken_now = true; /* 11 and 12 in one look */
    wk_order_witness(flights, 0);
    cr_assert_eq(b.a[1].taken_before, 0);
    cr_assert_eq(b.a[2].taken_before, 0, "seen taken together: in order (the limit of polling)");
    cr_assert_eq(b.a[3].taken_before, 2, "a witness is given once");
    burst_of(&b, 2, false);
    b.a[1].taken = b.a[1].taken_now = true;
    wk_order_witness(flights, 0);
    cr_assert_eq(b.a[1].taken_before, -1, "only ordered jobs carry one");
}
