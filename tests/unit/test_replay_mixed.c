/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_mixed.c — replay --mixed: which role answers each step under each pattern
 * (rp_mixed_role), how flows are recognized and their steps numbered (rp_mixed_assign:
 * an upload's POST, PATCHes and PUT; a paginated listing; a token and the requests that
 * carry it; a request in no flow), the suites it refuses, how diff judges a step against
 * the recording (diff_result_text: verdict `mixed`, the failed step in words), and how the
 * report scores mixed flows apart from parity (reports: `mixed`, the decision naming the
 * step).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "diff/diff.h"
#include "replay/replay_internal.h"
#include "reports/reports.h"

/* ---- the pattern ------------------------------------------------------------------------ */

Test(mixed_role, alternate_starts_on_the_baseline)
{
    for (unsigned step = 0; step < 6; step++)
        cr_assert_eq(rp_mixed_role(REPLAY_MIXED_ALTERNATE, step), step % 2 ? PM_ROLE_CANDIDATE : PM_ROLE_BASELINE,
                     "step %u", step);
}

Test(mixed_role, baseline_first_continues_on_the_candidate)
{
    cr_assert_eq(rp_mixed_role(REPLAY_MIXED_BASELINE_FIRST, 0), PM_ROLE_BASELINE);
    for (unsigned step = 1; step < 5; step++)
        cr_assert_eq(rp_mixed_role(REPLAY_MIXED_BASELINE_FIRST, step), PM_ROLE_CANDIDATE, "step %u", step);
}

Test(mixed_role, candidate_first_continues_on_the_baseline)
{
    cr_assert_eq(rp_mixed_role(REPLAY_MIXED_CANDIDATE_FIRST, 0), PM_ROLE_CANDIDATE);
    for (unsigned step = 1; step < 5; step++)
        cr_assert_eq(rp_mixed_role(REPLAY_MIXED_CANDIDATE_FIRST, step), PM_ROLE_BASELINE, "step %u", step);
}

Test(mixed_role, names_round_trip)
{
    for (size_t i = 0; replay_mixed_names[i]; i++) {
        replay_mixed_pattern p = replay_mixed_from_name(replay_mixed_names[i]);
        cr_assert_neq(p, REPLAY_MIXED_OFF);
        cr_assert_str_eq(replay_mixed_name(p), replay_mixed_names[i]);
    }
    cr_assert_eq(replay_mixed_from_name("sometimes"), REPLAY_MIXED_OFF);
    cr_assert_eq(replay_mixed_from_name(NULL), REPLAY_MIXED_OFF);
    cr_assert_null(replay_mixed_name(REPLAY_MIXED_OFF));
}

/* ---- flows -------------------------------------------------------------------------------- */

/* candidate first in the list, so that a target index is not a role by accident */
static pm_target two_targets[] = {
    {.name = "go", .url = "http://g", .role = PM_ROLE_CANDIDATE},
    {.name = "python", .url = "http://p", .role = PM_ROLE_BASELINE},
};
static const pm_suite two = {.targets = two_targets, .ntargets = 2};

static rp_record *record_of(const char *id, const char *method, const char *target, const char *req_headers,
                            int status, const char *resp_headers, const char *body)
{
    char line[4096];
    snprintf(line, sizeof line,
             "{\"v\":1,\"id\":\"%s\",\"request\":{\"method\":\"%s\",\"target\":\"%s\",\"headers\":[%s]},"
             "\"response\":{\"status\":%d,\"headers\":[%s]%s%s%s}}",
             id, method, target, req_headers, status, resp_headers, body ? ",\"body\":\"" : "", body ? body : "",
             body ? "\"" : "");
    pm_err err = {0};
    rp_record *r = rp_record_new(strdup(line), strlen(line), NULL, &err);
    cr_assert_not_null(r, "record refused: %s (%s)", err.msg, line);
    return r;
}

/* Assigns a record and checks its flow, step and target (flow NULL: in no flow). */
static void expect_step(rp_mixed *m, rp_record *r, const char *flow, const char *kind, unsigned step,
                        const char *target)
{
    rp_mixed_step *s = rp_mixed_assign(m, r);
    if (!flow) {
        cr_assert_null(s, "%s %s: in no flow, got flow %s step %u", r->method, r->target, s ? s->flow : "",
                       s ? s->step : 0);
    } else {
        cr_assert_not_null(s, "%s %s: in no flow, want flow %s", r->method, r->target, flow);
        cr_assert_str_eq(s->flow, flow, "%s %s", r->method, r->target);
        cr_assert_str_eq(s->kind, kind, "%s %s", r->method, r->target);
        cr_assert_eq(s->step, step, "%s %s: step %u, want %u", r->method, r->target, s->step, step);
        cr_assert_str_eq(two.targets[s->target].name, target, "%s %s step %u", r->method, r->target, step);
    }
    rp_mixed_step_free(s);
    rp_record_free(r);
}

#define LOC(u, st) "[\"Location\",\"http://reg:5000/v2/acme/app/blobs/uploads/" u "?_state=" st "\"],[\"Docker-Upload-UUID\",\"" u "\"]"

Test(mixed_flow, uploads_are_numbered_across_connections_and_interleave)
{
    pm_err err = {0};
    rp_mixed *m = rp_mixed_new(REPLAY_MIXED_ALTERNATE, &two, &err);
    cr_assert_not_null(m, "%s", err.msg);
    expect_step(m, record_of("r1", "HEAD", "/v2/acme/app/blobs/sha256:aaaa", "", 404, "", NULL), NULL, NULL, 0, NULL);
    expect_step(m, record_of("r2", "POST", "/v2/acme/app/blobs/uploads/", "", 202, LOC("uuid-one-1111", "S1aaaaaa"), NULL),
                "r2", "upload", 0, "python");
    /* a second upload opens while the first goes on */
    expect_step(m, record_of("r3", "POST", "/v2/acme/app/blobs/uploads/", "", 202, LOC("uuid-two-2222", "T1bbbbbb"), NULL),
                "r3", "upload", 0, "python");
    expect_step(m, record_of("r4", "PATCH", "/v2/acme/app/blobs/uploads/uuid-one-1111?_state=S1aaaaaa", "", 202,
                             LOC("uuid-one-1111", "S2cccccc"), NULL),
                "r2", "upload", 1, "go");
    expect_step(m, record_of("r5", "PATCH", "/v2/acme/app/blobs/uploads/uuid-two-2222?_state=T1bbbbbb", "", 202,
                             LOC("uuid-two-2222", "T2dddddd"), NULL),
                "r3", "upload", 1, "go");
    expect_step(m, record_of("r6", "PUT", "/v2/acme/app/blobs/uploads/uuid-one-1111?_state=S2cccccc&digest=sha256:aaaa",
                             "", 201, "[\"Location\",\"/v2/acme/app/blobs/sha256:aaaa\"]", NULL),
                "r2", "upload", 2, "python");
    /* the finished upload's Location names the blob: reading it later is no step of it */
    expect_step(m, record_of("r7", "HEAD", "/v2/acme/app/blobs/sha256:aaaa", "", 200, "", NULL), NULL, NULL, 0, NULL);
    expect_step(m, record_of("r8", "PUT", "/v2/acme/app/manifests/v1", "", 201, "", NULL), NULL, NULL, 0, NULL);
    rp_mixed_free(m);
}

Test(mixed_flow, a_listing_and_a_token)
{
    pm_err err = {0};
    rp_mixed *m = rp_mixed_new(REPLAY_MIXED_BASELINE_FIRST, &two, &err);
    cr_assert_not_null(m, "%s", err.msg);
    expect_step(m, record_of("l1", "GET", "/v2/_catalog?n=1", "", 200,
                             "[\"Link\",\"</v2/_catalog?last=acme%2Fapp&n=1>; rel=\\\"next\\\"\"]", NULL),
                "l1", "listing", 0, "python");
    expect_step(m, record_of("l2", "GET", "/v2/_catalog?last=acme%2Fapp&n=1", "", 200, "", NULL), "l1", "listing", 1,
                "go");
    expect_step(m, record_of("t1", "GET", "/v2/auth?service=quay&scope=repository:acme/app:pull,push", "", 200, "",
                             "{\\\"token\\\": \\\"redacted:00112233aabbccdd\\\"}"),
                "t1", "token", 0, "python");
    const char *bearer = "[\"Authorization\",\"Bearer redacted:00112233aabbccdd\"]";
    expect_step(m, record_of("t2", "GET", "/v2/acme/app/manifests/v1", bearer, 200, "", NULL), "t1", "token", 1, "go");
    /* an upload carrying the token is an upload of its own, numbered from 0 */
    expect_step(m, record_of("u1", "POST", "/v2/acme/app/blobs/uploads/", bearer, 202, LOC("uuid-three-33", "U1eeeeee"),
                             NULL),
                "u1", "upload", 0, "python");
    expect_step(m, record_of("u2", "PATCH", "/v2/acme/app/blobs/uploads/uuid-three-33?_state=U1eeeeee", bearer, 202,
                             LOC("uuid-three-33", "U2ffffff"), NULL),
                "u1", "upload", 1, "go");
    expect_step(m, record_of("t3", "HEAD", "/v2/acme/app/blobs/sha256:bbbb", bearer, 404, "", NULL), "t1", "token", 2,
                "go");
    rp_mixed_free(m);
}

Test(mixed_flow, refuses_a_suite_without_one_baseline_and_one_candidate)
{
    pm_target targets[] = {
        {.name = "a", .url = "http://a", .role = PM_ROLE_BASELINE},
        {.name = "b", .url = "http://b", .role = PM_ROLE_BASELINE},
    };
    pm_suite suite = {.targets = targets, .ntargets = 2};
    pm_err err = {0};
    cr_assert_null(rp_mixed_new(REPLAY_MIXED_ALTERNATE, &suite, &err));
    cr_assert(strstr(err.msg, "exactly one baseline and one candidate"), "%s", err.msg);
    suite.ntargets = 1;
    cr_assert_null(rp_mixed_new(REPLAY_MIXED_ALTERNATE, &suite, &err));
}

/* ---- correlation: the issuing target's value, for every target -------------------------------- */

Test(mixed_correlation, the_next_step_carries_the_issuing_targets_value)
{
    rp_record *rec = record_of("r1", "POST", "/v2/acme/app/blobs/uploads/", "", 202, LOC("uuid-rec-0000", "RECstate"),
                               NULL);
    rp_exchange x = {.rec = rec};
    rp_call calls[2] = {{.x = &x, .target = 0}, {.x = &x, .target = 1}};
    /* only python (target 1) was sent the POST: its Location is the one every later step uses */
    static const char hdr[] = "Location\0/v2/acme/app/blobs/uploads/uuid-py-1111?_state=PYstate1\0"
                              "Docker-Upload-UUID\0uuid-py-1111\0";
    calls[1].status = 202;
    calls[1].hdr = malloc(sizeof hdr);
    memcpy(calls[1].hdr, hdr, sizeof hdr);
    calls[1].hdr_len = sizeof hdr - 1;
    calls[0].error = "mixed";
    calls[0].skipped = calls[0].done = true;
    x.calls = calls;
    rp_mixed_step step = {.flow = "r1", .kind = "upload", .step = 0, .target = 1};
    x.mixed = &step;
    rp_correlation *corr = rp_correlation_new(2, NULL);
    rp_correlation_learn(corr, &x);
    const char *patch = "/v2/acme/app/blobs/uploads/uuid-rec-0000?_state=RECstate";
    for (size_t t = 0; t < 2; t++) {
        const char *missing = NULL;
        char *out = rp_correlation_apply(corr, t, patch, &missing);
        cr_assert_not_null(out, "target %zu: correlation failed on %s", t, missing ? missing : "-");
        cr_assert_str_eq(out, "/v2/acme/app/blobs/uploads/uuid-py-1111?_state=PYstate1", "target %zu", t);
        free(out);
    }
    rp_correlation_free(corr);
    free(calls[1].hdr);
    rp_record_free(rec);
}

/* A step that failed issued nothing: the next one is not sent, though the upload's UUID
 * inside the recorded Location is mapped (replacing it alone would send the recorded
 * `_state`). */
Test(mixed_correlation, a_location_never_issued_stops_the_next_step)
{
    rp_correlation *corr = rp_correlation_new(2, NULL);
    rp_record *post = record_of("r1", "POST", "/v2/acme/app/blobs/uploads/", "", 202, LOC("uuid-rec-0000", "RECstat1"),
                                NULL);
    rp_record *patch = record_of("r2", "PATCH", "/v2/acme/app/blobs/uploads/uuid-rec-0000?_state=RECstat1", "", 202,
                                 LOC("uuid-rec-0000", "RECstat2"), NULL);
    static const char posted[] = "Location\0/v2/acme/app/blobs/uploads/uuid-py-1111?_state=PYstate1\0"
                                 "Docker-Upload-UUID\0uuid-py-1111\0";
    static const char refused[] = "Content-Type\0application/json\0";
    rp_record *recs[2] = {post, patch};
    const char *answers[2] = {posted, refused};
    size_t lens[2] = {sizeof posted - 1, sizeof refused - 1};
    int statuses[2] = {202, 404};
    for (size_t i = 0; i < 2; i++) {
        rp_exchange x = {.rec = recs[i]};
        rp_call calls[2] = {{.x = &x, .target = 0}, {.x = &x, .target = 1}};
        size_t by = i == 0 ? 1 : 0; /* python opened it, go refused the PATCH */
        calls[by].status = statuses[i];
        calls[by].hdr = malloc(lens[i] + 1);
        memcpy(calls[by].hdr, answers[i], lens[i] + 1);
        calls[by].hdr_len = lens[i];
        calls[1 - by].error = "mixed";
        calls[1 - by].skipped = true;
        x.calls = calls;
        rp_mixed_step step = {.flow = "r1", .kind = "upload", .step = (unsigned)i, .target = by};
        x.mixed = &step;
        rp_correlation_learn(corr, &x);
        free(calls[by].hdr);
    }
    const char *missing = NULL;
    char *out = rp_correlation_apply(corr, 1, "/v2/acme/app/blobs/uploads/uuid-rec-0000?_state=RECstat2&digest=sha256:x",
                                     &missing);
    cr_assert_null(out, "sent as %s", out);
    cr_assert_str_eq(missing, "/v2/acme/app/blobs/uploads/uuid-rec-0000?_state=RECstat2");
    rp_correlation_free(corr);
    rp_record_free(post);
    rp_record_free(patch);
}

/* ---- diff: a step judged against the recording --------------------------------------------- */

static json_t *judge(const char *answer, const char *recorded)
{
    char line[4096];
    snprintf(line, sizeof line,
             "{\"v\":1,\"id\":\"x1\",\"family\":\"REGISTRY_V2\",\"capability\":\"V2_BLOB_UPLOAD\","
             "\"request\":{\"method\":\"PATCH\",\"target\":\"/v2/acme/app/blobs/uploads/0a1b2c?_state=abc\",\"headers\":[]},"
             "\"response\":%s,\"responses\":{\"go\":%s},"
             "\"mixed\":{\"pattern\":\"baseline-first\",\"flow\":\"x0\",\"kind\":\"upload\",\"step\":1,\"target\":\"go\"}}",
             recorded, answer);
    diff_options o;
    diff_options_init(&o);
    pm_err err = {0};
    diff_engine *e = diff_new(&o, NULL, &err);
    cr_assert_not_null(e, "%s", err.msg);
    json_t *d = diff_result_text(e, line, strlen(line), &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_assert_eq(diff_get_stats(e)->mismatch, 0);
    cr_assert_eq(diff_get_stats(e)->mixed, 1);
    diff_free(e);
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "mixed");
    return d;
}

Test(mixed_diff, a_step_as_recorded_succeeds)
{
    json_t *d = judge("{\"role\":\"candidate\",\"status\":202,\"headers\":[],\"error\":null}",
                      "{\"status\":202,\"headers\":[]}");
    const json_t *m = json_object_get(d, "mixed");
    cr_assert(json_is_true(json_object_get(m, "ok")));
    cr_assert_null(json_object_get(m, "failure"));
    cr_assert_str_eq(json_string_value(json_object_get(m, "target")), "go");
    json_decref(d);
}

Test(mixed_diff, another_status_names_the_step)
{
    json_t *d = judge("{\"role\":\"candidate\",\"status\":404,\"headers\":[],\"error\":null}",
                      "{\"status\":202,\"headers\":[]}");
    const json_t *m = json_object_get(d, "mixed");
    cr_assert(json_is_false(json_object_get(m, "ok")));
    cr_assert_str_eq(json_string_value(json_object_get(m, "failure")),
                     "PATCH /v2/acme/app/blobs/uploads/\xE2\x80\xA6 answered 404 by go, recorded 202");
    json_decref(d);
}

Test(mixed_diff, another_digest_fails)
{
    json_t *d = judge("{\"role\":\"candidate\",\"status\":201,\"headers\":[[\"Docker-Content-Digest\",\"sha256:bad\"]],"
                      "\"error\":null}",
                      "{\"status\":201,\"headers\":[[\"Docker-Content-Digest\",\"sha256:good\"]]}");
    const json_t *m = json_object_get(d, "mixed");
    cr_assert(json_is_false(json_object_get(m, "ok")));
    cr_assert(strstr(json_string_value(json_object_get(m, "failure")), "sha256:bad"));
    json_decref(d);
}

Test(mixed_diff, a_correlation_failure_fails)
{
    json_t *d = judge("{\"role\":\"candidate\",\"error\":\"correlation\"}", "{\"status\":201,\"headers\":[]}");
    cr_assert(json_is_false(json_object_get(json_object_get(d, "mixed"), "ok")));
    json_decref(d);
}

/* ---- reports: their own dimension ------------------------------------------------------------ */

static void add_step(reports_builder *b, const char *id, const char *flow, unsigned step, bool ok)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:i, s:s, s:b, s:s?}}", "v", 1, "id", id,
                          "family", "REGISTRY_V2", "capability", "V2_BLOB_UPLOAD", "switch", "ROUTE_OWNER_FAMILY_REGISTRY_V2",
                          "verdict", "mixed", "mixed", "pattern", "alternate", "flow", flow, "kind", "upload", "step",
                          step, "target", step % 2 ? "go" : "python", "ok", ok, "failure",
                          ok ? NULL : "PATCH /v2/acme/app/blobs/uploads/\xE2\x80\xA6 answered 404 by go, recorded 202");
    cr_assert_not_null(d);
    pm_err err = {0};
    cr_assert_eq(reports_add(b, d, &err), 0, "reports_add: %s", err.msg);
    json_decref(d);
}

static void add_parity(reports_builder *b, const char *id)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:[], s:[]}", "v", 1, "id", id, "family", "REGISTRY_V2",
                          "capability", "V2_MANIFEST_PULL", "switch", "ROUTE_OWNER_FAMILY_REGISTRY_V2", "verdict",
                          "match", "differences", "noise");
    pm_err err = {0};
    cr_assert_eq(reports_add(b, d, &err), 0, "reports_add: %s", err.msg);
    json_decref(d);
}

static json_t *report_of(bool second_flow_fails, int parity_records)
{
    char gate[] = "/tmp/pm-mixed-gate-XXXXXX";
    int fd = mkstemp(gate);
    cr_assert(fd >= 0);
    const char *text = "defaults: {min_samples: 1, min_parity_lower: 0.5, max_error_rate: 0.5, "
                       "min_capability_coverage: 0, max_p95_ratio: null}\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    reports_options o;
    reports_options_init(&o);
    o.gate_path = gate;
    pm_err err = {0};
    reports_builder *b = reports_new(&o, &err);
    unlink(gate);
    cr_assert_not_null(b, "%s", err.msg);
    for (int i = 0; i < parity_records; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%02d", i);
        add_parity(b, id);
    }
    /* ten flows of three steps; with second_flow_fails, all but the first fail at step 1 */
    for (int f = 0; f < 10; f++) {
        char flow[16], id[16];
        snprintf(flow, sizeof flow, "f%02d", f);
        for (unsigned s = 0; s < 3; s++) {
            snprintf(id, sizeof id, "f%02d-%u", f, s);
            add_step(b, id, flow, s, !(second_flow_fails && f > 0 && s == 1));
        }
    }
    json_t *r = reports_build(b, &err);
    cr_assert_not_null(r, "%s", err.msg);
    reports_free(b);
    return r;
}

Test(mixed_report, flows_are_their_own_dimension)
{
    json_t *r = report_of(false, 20);
    const json_t *f = json_object_get(json_object_get(r, "families"), "REGISTRY_V2");
    cr_assert_eq(json_integer_value(json_object_get(f, "total")), 20, "mixed steps are no parity samples");
    cr_assert_eq(json_integer_value(json_object_get(f, "mismatch")), 0);
    const json_t *m = json_object_get(f, "mixed");
    cr_assert_eq(json_integer_value(json_object_get(m, "flows")), 10);
    cr_assert_eq(json_integer_value(json_object_get(m, "completed")), 10);
    cr_assert_eq(json_integer_value(json_object_get(m, "steps")), 30);
    cr_assert_str_eq(json_string_value(json_object_get(f, "decision")), "promote");
    json_decref(r);
}

Test(mixed_report, failed_flows_hold_and_name_the_step)
{
    json_t *r = report_of(true, 20);
    const json_t *f = json_object_get(json_object_get(r, "families"), "REGISTRY_V2");
    cr_assert_eq(json_integer_value(json_object_get(f, "mismatch")), 0, "a failed step is no mismatch");
    const json_t *m = json_object_get(f, "mixed");
    cr_assert_eq(json_integer_value(json_object_get(m, "completed")), 1);
    cr_assert_eq(json_integer_value(json_object_get(m, "failed")), 9);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "first_failure"), "id")), "f01-1");
    cr_assert_str_eq(json_string_value(json_object_get(f, "decision")), "hold");
    char *reasons = json_dumps(json_object_get(f, "reasons"), 0);
    cr_assert(strstr(reasons, "answered 404 by go, recorded 202"), "%s", reasons);
    free(reasons);
    cr_assert_null(json_object_get(json_object_get(r, "proposal"), "ROUTE_OWNER_FAMILY_REGISTRY_V2"));
    json_decref(r);
}

/* A capability seen only through mixed flows (an upload capability in a mixed run): its
 * flows are its samples, no "parity unknown" holds it. */
Test(mixed_report, a_capability_of_flows_only_is_judged_on_them)
{
    json_t *r = report_of(false, 0);
    const json_t *f = json_object_get(json_object_get(r, "families"), "REGISTRY_V2");
    const json_t *cap = json_object_get(json_object_get(f, "capabilities"), "V2_BLOB_UPLOAD");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(cap, "mixed"), "completed")), 10);
    char *reasons = json_dumps(json_object_get(cap, "reasons"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(cap, "decision")), "promote", "%s", reasons);
    free(reasons);
    json_decref(r);
}
