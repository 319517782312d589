/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_worker_map.c — the worker map (core/workers.c, core/job.c): the shipped Quay map
 * loads with its nine queues and the tracker's program names, and its scheduled programs
 * apart; each malformed map is refused
 * with file:line:column; templates, capabilities, cohorts (an e-mail user hashed) and body
 * redaction do what config/quay/workers.yaml's header says.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static pm_workers *quay_map(void)
{
    pm_err err = {{0}};
    pm_workers *w = pm_workers_load(PMIRROR_SOURCE_DIR "/config/quay/workers.yaml", &err);
    cr_assert_not_null(w, "%s", err.msg);
    return w;
}

static pm_workers *parse(const char *text, pm_err *err)
{
    pm_config *cfg = pm_config_parse("w.yaml", text, strlen(text), err);
    if (!cfg)
        return NULL;
    pm_workers *w = pm_workers_from_config(cfg, err);
    if (!w)
        pm_config_free(cfg);
    return w;
}

/* The map is refused with a message starting with want ("w.yaml:L:C: ..."). */
static void refused(const char *text, const char *want)
{
    pm_err err = {{0}};
    pm_workers *w = parse(text, &err);
    cr_assert_null(w, "accepted: %s", text);
    cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "message '%s' does not start with '%s'", err.msg, want);
}

static json_t *json(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

/* ---- the shipped map ------------------------------------------------------------------ */

Test(worker_map, quay_map_has_the_nine_queues_with_tracker_programs)
{
    pm_workers *w = quay_map();
    static const char *const want[][3] = {
        {"chunk_cleanup", "chunkcleanupworker", "PROC-021"},
        {"imagestoragereplication", "storagereplication", "PROC-026"},
        {"proxycacheblob", "proxycacheblobworker", "PROC-024"},
        {"dockerfilebuild", "builder", "PROC-036"},
        {"notification", "notificationworker", "PROC-023"},
        {"secscanv4", "securityscanningnotificationworker", "PROC-025"},
        {"exportactionlogs", "exportactionlogsworker", "PROC-022"},
        {"repositorygc", "repositorygcworker", "PROC-035"},
        {"namespacegc", "namespacegcworker", "PROC-034"},
    };
    cr_assert_eq(pm_workers_count(w), 9);
    for (size_t i = 0; i < 9; i++) {
        const pm_worker_queue *q = pm_workers_find(w, want[i][0], strlen(want[i][0]));
        cr_assert_not_null(q, "%s", want[i][0]);
        cr_assert_str_eq(q->program, want[i][1]);
        cr_assert_str_eq(q->tracker_id, want[i][2]);
        char family[128], sw[128];
        snprintf(family, sizeof family, "WORKER_%s", want[i][1]);
        snprintf(sw, sizeof sw, "WORKER_OWNER_%s", want[i][1]);
        for (char *p = family; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        for (char *p = sw; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        cr_assert_str_eq(q->family, family);
        cr_assert_str_eq(q->switch_name, sw);
        cr_assert_eq(q->ordered, strcmp(want[i][0], "dockerfilebuild") == 0, "%s ordered", want[i][0]);
    }
    cr_assert_str_eq(pm_workers_find(w, "dockerfilebuild", 15)->switch_name, "WORKER_OWNER_BUILDER");
    cr_assert_null(pm_workers_find(w, "nosuchqueue", 11));
    pm_workers_free(w);
}

Test(worker_map, quay_notification_capability_and_cohort)
{
    pm_workers *w = quay_map();
    json_t *body = json("{\"notification_uuid\": \"u1\", \"event_data\": {\"repository\": \"acme/web\","
                        " \"namespace\": \"acme\"}, \"performer_data\": {\"entity_name\": \"alice\"}}");
    pm_job_class c;
    pm_job_classify(w, "notification/acme/web/repo_push/build/b1/", body, NULL, &c);
    cr_assert_str_eq(c.family, "WORKER_NOTIFICATIONWORKER");
    cr_assert_str_eq(c.switch_name, "WORKER_OWNER_NOTIFICATIONWORKER");
    cr_assert_str_eq(c.capability, "repo_push");
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert_str_eq(c.cohort.repo, "acme/web");
    cr_assert_str_eq(c.cohort.user, "alice");
    pm_job_class_clear(&c);
    /* a namespace notification: [namespace, event]; no repository in its event data */
    json_t *ns = json("{\"notification_uuid\": \"u2\", \"event_data\": {}, \"performer_data\": {}}");
    pm_job_classify(w, "notification/acme/quota_warning/", ns, NULL, &c);
    cr_assert_str_eq(c.capability, "quota_warning");
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert_null(c.cohort.repo);
    cr_assert_null(c.cohort.user);
    pm_job_class_clear(&c);
    /* an event not listed: the queue's name */
    pm_job_classify(w, "notification/acme/web/brand_new_event/", NULL, NULL, &c);
    cr_assert_str_eq(c.capability, "notification");
    pm_job_class_clear(&c);
    json_decref(body);
    json_decref(ns);
    pm_workers_free(w);
}

Test(worker_map, unknown_queue_is_family_unknown)
{
    pm_workers *w = quay_map();
    pm_job_class c;
    pm_job_classify(w, "mystery/a/b/", NULL, NULL, &c);
    cr_assert_null(c.queue);
    cr_assert_str_eq(c.family, "UNKNOWN");
    cr_assert_null(c.switch_name);
    cr_assert_str_eq(c.capability, "mystery");
    pm_job_class_clear(&c);
    pm_job_classify(w, "", NULL, NULL, &c);
    cr_assert_str_eq(c.family, "UNKNOWN");
    pm_job_class_clear(&c);
    pm_workers_free(w);
}

Test(worker_map, export_email_is_hashed_in_cohort_and_body_and_url_secrets_redacted)
{
    pm_workers *w = quay_map();
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new_with_key((const unsigned char *)"k", 1, NULL, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *body = json("{\"export_id\": \"e1\", \"namespace_name\": \"acme\", \"repository_name\": \"web\","
                        " \"callback_email\": \"ops@acme.example\","
                        " \"callback_url\": \"https://bob:hunter2hunter2@hooks.example/x?token=abcdef123456&y=1\"}");
    pm_job_class c;
    pm_job_classify(w, "exportactionlogs/acme/", body, r, &c);
    cr_assert_str_eq(c.cohort.org, "acme");
    cr_assert_str_eq(c.cohort.repo, "acme/web");
    cr_assert(strncmp(c.cohort.user, "redacted:", 9) == 0, "user %s", c.cohort.user);
    size_t n = pm_job_redact_body(c.queue, r, body);
    cr_assert_geq(n, 2);
    cr_assert_str_eq(json_string_value(json_object_get(body, "callback_email")), c.cohort.user,
                     "the body's e-mail and the cohort key are the same token");
    const char *url = json_string_value(json_object_get(body, "callback_url"));
    cr_assert_null(strstr(url, "abcdef123456"), "%s", url);
    cr_assert_null(strstr(url, "hunter2"), "%s", url);
    cr_assert_not_null(strstr(url, "https://bob:redacted:"), "%s", url);
    cr_assert_not_null(strstr(url, "@hooks.example/x?token=redacted:"), "%s", url);
    cr_assert_not_null(strstr(url, "&y=1"), "%s", url);
    pm_job_class_clear(&c);
    json_decref(body);
    pm_redactor_free(r);
    pm_workers_free(w);
}

Test(worker_map, build_pull_credentials_password_redacted)
{
    pm_workers *w = quay_map();
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new_with_key((const unsigned char *)"k", 1, NULL, &err);
    json_t *body = json("{\"build_uuid\": \"b1\", \"pull_credentials\": {\"username\": \"acme+bot\","
                        " \"password\": \"TOKEN123456789\", \"registry\": \"https://quay.example/v1/\"}}");
    pm_job_class c;
    pm_job_classify(w, "dockerfilebuild/acme/web/", body, r, &c);
    cr_assert_str_eq(c.cohort.repo, "acme/web");
    cr_assert(c.queue->ordered);
    pm_job_redact_body(c.queue, r, body);
    char *text = json_dumps(body, 0);
    cr_assert_null(strstr(text, "TOKEN123456789"), "%s", text);
    cr_assert_not_null(strstr(text, "acme+bot"), "%s", text);
    free(text);
    pm_job_class_clear(&c);
    json_decref(body);
    pm_redactor_free(r);
    pm_workers_free(w);
}

/* ---- templates ------------------------------------------------------------------------ */

Test(worker_map, templates_expand_or_have_no_value)
{
    json_t *body = json("{\"a\": {\"b\": [10, \"x\", null, {\"c\": true}]}, \"n\": 1.5, \"s\": \"str\"}");
    const char *qn = "notification/acme/web/";
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{id}", "42"},
        {"{queue_name}", "notification/acme/web/"},
        {"{name.0}", "notification"},
        {"{name.1}/{name.2}", "acme/web"},
        {"{name.3}", NULL}, /* the empty segment after the last '/' */
        {"{name.9}", NULL},
        {"{body.a.b.0}", "10"},
        {"{body.a.b.1}", "x"},
        {"{body.a.b.2}", NULL}, /* null */
        {"{body.a.b.3.c}", "true"},
        {"{body.a.b.9}", NULL},
        {"{body.a.b.x}", NULL},
        {"{body.a}", NULL}, /* an object */
        {"{body.n}", "1.5"},
        {"pre-{body.s}-post", "pre-str-post"},
        {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = pm_worker_template_expand(cases[i].tmpl, 42, qn, body);
        if (cases[i].want)
            cr_assert(got && strcmp(got, cases[i].want) == 0, "%s: got %s", cases[i].tmpl, got ? got : "(none)");
        else
            cr_assert_null(got, "%s: got %s", cases[i].tmpl, got);
        free(got);
    }
    char *none = pm_worker_template_expand("{body.s}", 1, qn, NULL);
    cr_assert_null(none);
    json_decref(body);
}

Test(worker_map, template_syntax_is_checked)
{
    cr_assert_null(pm_worker_template_check("{name.1}/{body.a.b}"));
    cr_assert_null(pm_worker_template_check("x{id}y{queue_name}"));
    const char *bad[] = {"", "{", "}", "{name}", "{name.x}", "{body.}", "{body..a}", "{body.a.}", "{other}",
                         "{{id}}", "{id"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not_null(pm_worker_template_check(bad[i]), "'%s' accepted", bad[i]);
}

Test(worker_map, producer_templates_give_producer_names_only)
{
    pm_err err = {{0}};
    pm_workers *w = parse("workers:\n  q1:\n    program: w\n"
                          "    producer: ['{body._producer}', 'py-{name.1}']\n",
                          &err);
    cr_assert_not_null(w, "%s", err.msg);
    static const struct {
        const char *queue_name, *body, *want;
        bool refused;
    } cases[] = {
        {"q1/", "{\"_producer\": \"go\"}", "go", false},
        {"q1/", "{\"_producer\": \"Go\"}", NULL, true},          /* not a name: counted as none */
        {"q1/", "{\"_producer\": \"go; DROP\"}", NULL, true},
        {"q1/", "{\"_producer\": \"a-very-long-producer-name-past-32\"}", NULL, true},
        {"q1/", "{\"_producer\": 3}", "3", false},                 /* a scalar's text, like a cohort */
        {"q1/", "{\"_producer\": {}}", NULL, false},               /* no value: the next template */
        {"q1/x/", "{\"_producer\": null}", "py-x", false},
        {"q1/X/", "{\"_producer\": \"Go\"}", NULL, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = json(cases[i].body);
        pm_job_class c;
        pm_job_classify(w, cases[i].queue_name, body, NULL, &c);
        if (cases[i].want)
            cr_assert(c.producer && strcmp(c.producer, cases[i].want) == 0, "%s %s: producer %s, want %s",
                      cases[i].queue_name, cases[i].body, c.producer, cases[i].want);
        else
            cr_assert_null(c.producer, "%s %s: producer %s", cases[i].queue_name, cases[i].body, c.producer);
        cr_assert_eq(c.producer_refused, cases[i].refused, "%s %s: refused", cases[i].queue_name, cases[i].body);
        pm_job_class_clear(&c);
        json_decref(body);
    }
    pm_workers_free(w);
    w = quay_map();
    pm_job_class c;
    pm_job_classify(w, "notification/acme/", NULL, NULL, &c);
    cr_assert_null(c.producer, "the shipped map names no producer");
    pm_job_class_clear(&c);
    pm_workers_free(w);

    cr_assert(pm_worker_producer_ok("python") && pm_worker_producer_ok("go") && pm_worker_producer_ok("go_1-x"));
    cr_assert(!pm_worker_producer_ok("") && !pm_worker_producer_ok("Go") && !pm_worker_producer_ok("g o") &&
              !pm_worker_producer_ok("123456789012345678901234567890123"));
}

/* ---- malformed maps --------------------------------------------------------------------- */

Test(worker_map, a_minimal_map_derives_family_and_switch)
{
    pm_err err = {{0}};
    pm_workers *w = parse("workers:\n  q1:\n    program: my-worker\n", &err);
    cr_assert_not_null(w, "%s", err.msg);
    const pm_worker_queue *q = pm_workers_at(w, 0);
    cr_assert_str_eq(q->family, "WORKER_MY_WORKER");
    cr_assert_str_eq(q->switch_name, "WORKER_OWNER_MY_WORKER");
    cr_assert_not(q->ordered);
    cr_assert_null(q->tracker_id);
    pm_job_class c;
    pm_job_classify(w, "q1/x/", NULL, NULL, &c);
    cr_assert_str_eq(c.capability, "q1");
    pm_job_class_clear(&c);
    pm_workers_free(w);
}

Test(worker_map, malformed_maps_are_refused_with_their_position)
{
    refused("nothing: 1\n", "w.yaml:1:1: the worker map: unknown key 'nothing'");
    refused("workers: {}\n", "w.yaml:1:10: workers: want a mapping");
    refused("workers:\n  q1:\n    ordered: true\n", "w.yaml:3:5: workers.q1: want a program");
    refused("workers:\n  q1:\n    program: w\n    orderd: true\n", "w.yaml:4:5: workers.q1: unknown key 'orderd'");
    refused("workers:\n  Q1:\n    program: w\n", "w.yaml:2:3: workers.Q1: want a queue name");
    refused("workers:\n  q1:\n    program: Big\n", "w.yaml:3:14: workers.q1.program: 'Big'");
    refused("workers:\n  q1:\n    program: w\n    ordered: yes please\n",
            "w.yaml:4:14: workers.q1.ordered: want true or false");
    refused("workers:\n  q1:\n    program: w\n    family: lower\n", "w.yaml:4:13: workers.q1.family: 'lower'");
    refused("workers:\n  q1:\n    program: w\n    capability: {bdy: x}\n",
            "w.yaml:4:18: workers.q1.capability: unknown key 'bdy'");
    refused("workers:\n  q1:\n    program: w\n    capability: {body: 'a..b'}\n",
            "w.yaml:4:24: workers.q1.capability.body: 'a..b'");
    refused("workers:\n  q1:\n    program: w\n    cohort: {team: x}\n",
            "w.yaml:4:14: workers.q1.cohort: unknown key 'team'");
    refused("workers:\n  q1:\n    program: w\n    cohort: {org: '{nam.1}'}\n",
            "w.yaml:4:19: workers.q1.cohort.org: '{nam.1}': want placeholders");
    refused("workers:\n  q1:\n    program: w\n    producer: Go\n",
            "w.yaml:4:15: workers.q1.producer: 'Go': want lowercase letters, digits, - and _ around the placeholders");
    refused("workers:\n  q1:\n    program: w\n    producer: ['{body.p}', '{body.p} x']\n",
            "w.yaml:4:28: workers.q1.producer: '{body.p} x': want lowercase letters");
    refused("workers:\n  q1:\n    program: w\n    producer: '{bdy.p}'\n",
            "w.yaml:4:15: workers.q1.producer: '{bdy.p}': want placeholders");
    refused("workers:\n  q1:\n    program: w\n    producer: a-very-long-producer-name-past-32\n",
            "w.yaml:4:15: workers.q1.producer: 'a-very-long-producer-name-past-32': longer than");
    refused("workers:\n  q1:\n    program: w\n    redact: secret\n", "w.yaml:4:13: workers.q1.redact: want a list");
    refused("workers:\n  q1:\n    program: w\n    redact: [a, '']\n",
            "w.yaml:4:17: workers.q1.redact[1]: want a non-empty string");
    refused("workers:\n  q1:\n    program: w\n    probes: [{name: p, sql: 'SELECT $2', params: ['{id}']}]\n",
            "w.yaml:4:29: workers.q1.probes[0].sql: uses $2 but params gives 1");
    refused("workers:\n  q1:\n    program: w\n    probes: [{name: p}]\n",
            "w.yaml:4:14: workers.q1.probes[0]: want both name and sql");
    refused("workers:\n  q1:\n    program: w\n    probes: [{name: p, sql: x}, {name: p, sql: y}]\n",
            "w.yaml:4:40: workers.q1.probes[1].name: 'p' is named twice");
    refused("workers:\n  q1:\n    program: w\n    probes: [{name: p, sql: x, param: []}]\n",
            "w.yaml:4:32: workers.q1.probes[0]: unknown key 'param'");
    refused("workers:\n  q1:\n    program: w\n    correlate: '{bdy.x}'\n",
            "w.yaml:4:16: workers.q1.correlate: '{bdy.x}': want placeholders");
    refused("workers:\n  q1: {program: a, family: F, switch: S1}\n  q2: {program: b, family: F, switch: S2}\n",
            "w.yaml:3:7: workers.q2: family F has switch S2 here and S1 for queue q1");
}

Test(worker_map, scheduled_programs_load_apart_from_the_queues)
{
    pm_workers *w = quay_map();
    const pm_worker_queue *gc = pm_workers_find_program(w, "gcworker");
    cr_assert_not_null(gc);
    cr_assert(gc->scheduled);
    cr_assert_null(gc->queue);
    cr_assert_str_eq(gc->family, "WORKER_GCWORKER");
    cr_assert_str_eq(gc->switch_name, "WORKER_OWNER_GCWORKER");
    cr_assert_str_eq(gc->tracker_id, "PROC-033");
    cr_assert_eq(gc->nprobes, 3);
    cr_assert_str_eq(gc->probes[0].name, "tags");
    cr_assert_null(pm_workers_find_program(w, "notificationworker")); /* a queue's program is not scheduled */
    cr_assert_null(pm_workers_find(w, "gcworker", 8));                /* nor a scheduled program a queue */
    cr_assert_eq(pm_workers_count(w), 9);
    pm_workers_free(w);
}

Test(worker_map, malformed_scheduled_programs_are_refused)
{
    refused("workers: {q1: {program: w}}\nscheduled: [gc]\n", "w.yaml:2:12: scheduled: want a mapping");
    refused("workers: {q1: {program: w}}\nscheduled:\n  gc:\n    ordered: true\n",
            "w.yaml:4:5: scheduled.gc: unknown key 'ordered'");
    refused("workers: {q1: {program: w}}\nscheduled:\n  GC: {}\n", "w.yaml:3:3: scheduled.GC: want a program name");
    refused("workers: {q1: {program: w}}\nscheduled:\n  gc:\n    probes: [{name: p, sql: 'SELECT $1', params: "
            "['{id}']}]\n",
            "w.yaml:4:14: scheduled.gc.probes[0]: a scheduled program's probe takes no params");
    refused("workers: {q1: {program: w, family: F, switch: S1}}\nscheduled:\n  gc: {family: F, switch: S2}\n",
            "w.yaml:3:7: scheduled.gc: family F has switch S2 here and S1 for queue q1");
}

Test(worker_map, missing_file_names_it)
{
    pm_err err = {{0}};
    cr_assert_null(pm_workers_load("/nonexistent/workers.yaml", &err));
    cr_assert_not_null(strstr(err.msg, "/nonexistent/workers.yaml"), "%s", err.msg);
}
