/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run.c — `pmirror run` assembled (pipeline.h): the suite and its profile, the redactor
 * for the targets' answers, the diff engine, the report builder and the kept files made
 * ready; the capture replayed, each exchange handed whole to the stages' thread
 * (stages.c: result text, diff, score); then the report built with its `run` keys and
 * written with the switch proposal into the output directory.
 *
 * Nothing is written between the stages unless keep_results asks for results.jsonl.gz and
 * diffs.jsonl.gz (in the order results come out). The numbers are those of `replay`,
 * `diff`, `report` and `gate` run one by one on the same inputs: with a secondary target,
 * noise is learned over all the results first, as `pmirror diff` does on a file (the sink
 * spools the results and judges them once the replay has ended). SIGINT and SIGTERM while
 * the replay runs start nothing new: what is in flight finishes and is reported on.
 *
 * A suite of worker targets (database:) makes it a worker run: the input is job records,
 * replayed by worker/ (worker_replay_run) on this thread, each job result handed to the sink
 * as it is written; diff, report and gate are the same.
 */
#include "pipeline.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one run holds, freed in one place. */
typedef struct run_state {
    const pipeline_run_options *o;
    pm_suite *suite;
    pm_profile *profile;
    reports_setup setup;
    pm_redactor *redactor;
    diff_engine *diff;
    reports_builder *report;
    pm_jsonl_reader *in;
    replay_session *session;
    pm_jsonl_writer *results, *diffs; /* keep_results, else NULL */
    pipeline_stages *stages;          /* while the replay runs */
    /* a suite of worker targets: job records replayed by worker/ on this thread */
    pm_workers *map;
    pm_capmap *capmap; /* the profile's capability map: diff classifies with it again */
    worker_replay *jobs;
    pipeline_sink *sink;
} run_state;

static replay_session *running; /* for the signal handler only */
static worker_replay *running_jobs;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        replay_stop(running);
    if (running_jobs)
        worker_replay_stop(running_jobs);
}

/* Whether the suite's targets are worker targets (database:): its input is job records. */
static bool worker_suite(const pm_suite *suite)
{
    return suite->ntargets > 0 && suite->targets[0].database;
}

/* Whether the suite has a secondary target: noise is then learned before judging. */
static bool has_secondary(const pm_suite *suite)
{
    for (size_t i = 0; i < suite->ntargets; i++)
        if (suite->targets[i].role == PM_ROLE_SECONDARY)
            return true;
    return false;
}

/* Each job result straight into the sink (the worker replay waits on its databases, not on
 * the CPU: one thread does). */
static int add_job_result(void *ctx, const char *text, size_t len, pm_err *err)
{
    run_state *s = ctx;
    return pipeline_sink_add(s->sink, text, len, NULL, NULL, err);
}

/* Each finished exchange to the stages' thread. */
static int hand_over(void *ctx, replay_exchange *x, pm_err *err)
{
    run_state *s = ctx;
    return pipeline_stages_push(s->stages, x, err);
}

static void show_progress(void *ctx, const replay_stats *st, double per_s)
{
    run_state *s = ctx;
    pipeline_progress p = {.replay = st, .per_s = per_s, .counts = pipeline_stages_counts(s->stages)};
    s->o->progress(s->o->ctx, &p);
}

static pm_jsonl_writer *open_kept(const char *dir, const char *name, pm_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return pm_jsonl_writer_open(path, err);
}

/* Everything made ready before the first exchange is read, in the order its errors are
 * told. */
static int assemble(run_state *s, pm_err *err)
{
    const pipeline_run_options *o = s->o;
    if (!(s->profile = pm_profile_open(o->profile, o->suite_path, &s->suite, err)) ||
        reports_setup_open(&s->setup, s->profile, o->gate_path, o->switches_path, o->previous_path, err) != 0)
        return -1;
    if (mkdir(o->out_dir, 0755) != 0 && access(o->out_dir, W_OK) != 0)
        return pm_err_set(err, "%s: cannot create the output directory", o->out_dir);
    /* the targets' answers carry secrets too (Set-Cookie, issued tokens): redacted before
     * they reach diff, the report or a kept file, as `replay` does (JWTs keep their claims) */
    char key_home[4200];
    snprintf(key_home, sizeof key_home, "%s/results.jsonl.gz", o->out_dir);
    char capture_key[4200]; /* one run, one key: the capture's, when it lies beside it */
    const char *key = o->key ? o->key : pm_redact_key_of_input(o->input, capture_key, sizeof capture_key);
    if (!(s->redactor = pm_profile_redactor(s->profile, key, key_home, err)))
        return -1;
    pm_redactor_keep_jwt_claims(s->redactor, true);
    replay_options ro = o->replay;
    ro.suite = s->suite;
    ro.correlation_path = s->profile->correlation.path;
    ro.redactor = s->redactor;
    diff_options dopt;
    diff_options_init(&dopt);
    dopt.suite = s->suite;
    /* the current map classifies every record again (a capability split since the capture
     * counts); rules naming what the profile lacks are errors (the gate's: reports_setup) */
    if (s->profile->capabilities.path && !(s->capmap = pm_capmap_load(s->profile->capabilities.path, err)))
        return -1;
    dopt.map = s->capmap;
    dopt.names = s->setup.names;
    if (pm_names_check_given(s->setup.names, o->families, o->nfamilies, "--family", err) != 0 ||
        pm_suite_check_names(s->suite, s->setup.names, err) != 0)
        return -1;
    if (worker_suite(s->suite)) {
        worker_replay_options wo;
        worker_replay_options_init(&wo);
        wo.suite = s->suite;
        if (o->replay.concurrency > 0)
            wo.concurrency = o->replay.concurrency;
        if (!(s->map = pm_workers_load(s->profile->workers.where, err)))
            return -1;
        wo.map = s->map;
        if (!(s->diff = diff_new(&dopt, s->profile->rules.path, err)) ||
            !(s->report = reports_new(&s->setup.o, err)) || !(s->in = pm_jsonl_reader_open(o->input, err)) ||
            !(s->jobs = worker_replay_open(&wo, err)) ||
            (o->keep_results && (!(s->results = open_kept(o->out_dir, "results.jsonl.gz", err)) ||
                                 !(s->diffs = open_kept(o->out_dir, "diffs.jsonl.gz", err)))))
            return -1;
        pipeline_sink_options so = {.results = s->results, .diff = s->diff, .diffs = s->diffs, .report = s->report,
                                    .learn_noise = has_secondary(s->suite), .spool_dir = o->out_dir};
        return (s->sink = pipeline_sink_new(&so, err)) ? 0 : -1;
    }
    if (!(s->diff = diff_new(&dopt, s->profile->rules.path, err)) || !(s->report = reports_new(&s->setup.o, err)) ||
        !(s->in = pm_jsonl_reader_open(o->input, err)) || !(s->session = replay_new(&ro, err)) ||
        (o->keep_results && (!(s->results = open_kept(o->out_dir, "results.jsonl.gz", err)) ||
                             !(s->diffs = open_kept(o->out_dir, "diffs.jsonl.gz", err)))))
        return -1;
    pipeline_sink_options so = {.results = s->results, .diff = s->diff, .diffs = s->diffs, .report = s->report,
                                .learn_noise = has_secondary(s->suite), .spool_dir = o->out_dir};
    return (s->stages = pipeline_stages_start(&so, err)) ? 0 : -1;
}

/* The kept files closed, both, the first error told. */
static int close_kept(run_state *s, pm_err *err)
{
    pm_err diffs_err;
    int closed = s->results ? pm_jsonl_writer_close(s->results, err) : 0;
    if (s->diffs && pm_jsonl_writer_close(s->diffs, &diffs_err) != 0 && closed == 0) {
        closed = -1;
        *err = diffs_err;
    }
    s->results = s->diffs = NULL;
    return closed;
}

/* A worker suite: every job replayed on this thread, each result through the sink. */
static int replay_jobs(run_state *s, pipeline_run_result *res, pm_err *err)
{
    running_jobs = s->jobs;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int run_rc = worker_replay_run(s->jobs, s->in, add_job_result, s, NULL, err);
    running_jobs = NULL;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (run_rc == 0)
        run_rc = pipeline_sink_finish(s->sink, err);
    res->counts = pipeline_sink_counts(s->sink);
    res->exchanges = worker_replay_get_stats(s->jobs)->jobs;
    if (s->o->progress) {
        pipeline_progress last = {.counts = res->counts, .done = true};
        s->o->progress(s->o->ctx, &last);
    }
    if (run_rc != 0)
        return -1;
    return close_kept(s, err);
}

/* The replay on this thread, the stages on theirs; then the kept files closed. */
static int replay_all(run_state *s, pipeline_run_result *res, pm_err *err)
{
    if (s->jobs)
        return replay_jobs(s, res, err);
    running = s->session;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pm_err stages_err;
    int run_rc = replay_run_handoff(s->session, s->in, hand_over, s->o->progress ? show_progress : NULL, s, err);
    running = NULL;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    int stages_rc = pipeline_stages_finish(s->stages, &res->counts, &stages_err);
    s->stages = NULL;
    res->exchanges = replay_get_stats(s->session)->done;
    if (s->o->progress) {
        pipeline_progress last = {.counts = res->counts, .done = true};
        s->o->progress(s->o->ctx, &last);
    }
    if (run_rc != 0 || stages_rc != 0) {
        if (run_rc == 0)
            *err = stages_err;
        return -1;
    }
    return close_kept(s, err);
}

/* The report with its `run` keys, into the output directory with proposal.yaml. */
static int write_report(run_state *s, pipeline_run_result *res, pm_err *err)
{
    const pipeline_run_options *o = s->o;
    if (!(res->report = reports_build(s->report, err)))
        return -1;
    json_t *warnings = json_array();
    const char *warning = pm_jsonl_reader_warning(s->in);
    if (warning) {
        res->warning = strdup(warning);
        json_array_append_new(warnings, json_string(warning));
    }
    reports_setup_run_keys(&s->setup, res->report, json_pack("[s]", o->input), warnings);
    json_decref(warnings);
    json_t *insecure = pm_suite_insecure_targets(s->suite);
    if (json_array_size(insecure)) /* a report made without verifying a target says so */
        json_object_set(json_object_get(res->report, "run"), "insecure_targets", insecure);
    json_decref(insecure);
    char proposal_path[4200];
    snprintf(proposal_path, sizeof proposal_path, "%s/proposal.yaml", o->out_dir);
    pm_output_tmp proposal = {0};
    if (reports_write_dir(res->report, o->out_dir, err) != 0 || pm_output_tmp_open(&proposal, proposal_path, err) != 0 ||
        reports_write_proposal(proposal.file, res->report, o->families, o->nfamilies, &res->all_promote, err) != 0 ||
        pm_output_tmp_commit(&proposal, err) != 0) {
        pm_output_tmp_discard(&proposal);
        return -1;
    }
    return 0;
}

int pipeline_run(const pipeline_run_options *o, pipeline_run_result *res, pm_err *err)
{
    memset(res, 0, sizeof *res);
    run_state s = {.o = o};
    int rc = assemble(&s, err) == 0 && replay_all(&s, res, err) == 0 && write_report(&s, res, err) == 0 ? 0 : -1;
    if (s.stages) {
        pipeline_counts ignored;
        pm_err also;
        pipeline_stages_finish(s.stages, &ignored, &also);
    }
    if (s.results)
        pm_jsonl_writer_close(s.results, NULL);
    if (s.diffs)
        pm_jsonl_writer_close(s.diffs, NULL);
    replay_free(s.session);
    worker_replay_close(s.jobs);
    pipeline_sink_free(s.sink);
    pm_workers_free(s.map);
    pm_jsonl_reader_close(s.in);
    reports_free(s.report);
    diff_free(s.diff);
    reports_setup_close(&s.setup);
    pm_capmap_free(s.capmap);
    pm_redactor_free(s.redactor);
    pm_suite_free(s.suite);
    pm_profile_free(s.profile);
    return rc;
}

void pipeline_run_result_free(pipeline_run_result *res)
{
    json_decref(res->report);
    free(res->warning);
    memset(res, 0, sizeof *res);
}
