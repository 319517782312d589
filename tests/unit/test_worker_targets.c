/*
 * test_worker_targets.c — the worker side of suites and diff: worker targets in a suite file
 * (database, effects, run, sandbox: true required, errors at file:line:column), and job results
 * through diff (outcome compared as a status, effects as a JSON body).
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
