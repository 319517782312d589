/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_request.c — building a target's request from a capture record
 * (rp_request_build) and the correlation tables it reads (rp_correlation_*): configured
 * credentials fill redacted tokens in a binary request body that holds NUL bytes and ends
 * without one; a token no credential fills skips the call; a value a server issued is
 * learnt from a JSON body even when its key is written with \u escapes, and a recorded
 * value a target never issued stops the request instead of being sent.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "replay/replay_internal.h"

static rp_record *record_of(const char *line)
{
    pm_err err = {0};
    rp_record *r = rp_record_new(strdup(line), strlen(line), NULL, &err);
    cr_assert_not_null(r, "record refused: %s", err.msg);
    return r;
}

#define SECRET "redacted:0123456789abcdef"

/* One target at http://t with the given credentials (borrowed by the target). */
static pm_suite *suite_with(json_t *credentials)
{
    static pm_target target;
    static pm_suite suite;
    target = (pm_target){.name = "go", .url = "http://t", .headers = json_array(), .credentials = credentials};
    suite = (pm_suite){.targets = &target, .ntargets = 1};
    return &suite;
}

static void call_free(rp_call *c)
{
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->request_target);
    free(c->body);
    free(c->hdr);
    free(c->data);
}

Test(request, credentials_fill_a_binary_body_with_nul_bytes)
{
    /* "\0A" SECRET "\0Z": base64 of the bytes, no NUL at the end of the decoded buffer */
    static const unsigned char raw[] = "\0A" SECRET "\0Z";
    const size_t raw_len = sizeof raw - 1;
    char *b64 = pm_base64_encode(raw, raw_len);
    cr_assert_not_null(b64);
    char line[512];
    snprintf(line, sizeof line,
             "{\"v\":1,\"id\":\"a\",\"request\":{\"method\":\"POST\",\"target\":\"/api/v1/robot\","
             "\"headers\":[],\"body_b64\":\"%s\",\"body_redacted\":true}}",
             b64);
    free(b64);
    rp_record *rec = record_of(line);
    json_t *creds = json_pack("{s:s}", SECRET, "hunter2");
    pm_suite *suite = suite_with(creds);
    rp_exchange x = {.rec = rec};
    rp_call call = {.x = &x};
    rp_correlation *corr = rp_correlation_new(1, NULL);
    cr_assert_eq(rp_request_build(&call, suite, corr), 0, "error %s", call.error ? call.error : "-");
    static const unsigned char want[] = "\0Ahunter2\0Z";
    cr_expect_eq(call.body_len, sizeof want - 1, "length %zu", call.body_len);
    cr_expect(memcmp(call.body, want, sizeof want - 1) == 0, "the secret is filled, the NUL bytes kept");
    cr_expect_str_eq(call.url, "http://t/");
    cr_expect_str_eq(call.request_target, "/api/v1/robot");
    call_free(&call);

    /* no credential for it: the call is skipped, nothing is sent */
    json_object_clear(creds);
    rp_call bare = {.x = &x};
    cr_expect_eq(rp_request_build(&bare, suite, corr), -1);
    cr_expect_str_eq(bare.error, "no_credentials");
    cr_expect(bare.skipped);
    call_free(&bare);

    rp_correlation_free(corr);
    json_decref(suite->targets[0].headers);
    json_decref(creds);
    rp_record_free(rec);
}

/* A response the target gave: headers as "name\0value\0" pairs, a body. */
static void answered(rp_call *c, int status, const char *body)
{
    c->status = status;
    c->data = (unsigned char *)strdup(body);
    c->data_len = strlen(body);
    static const char hdr[] = "Content-Type\0application/json\0";
    c->hdr = malloc(sizeof hdr);
    memcpy(c->hdr, hdr, sizeof hdr);
    c->hdr_len = sizeof hdr - 1;
}

Test(correlation, learns_a_token_whose_key_is_escaped)
{
    rp_record *rec = record_of("{\"v\":1,\"id\":\"t\",\"request\":{\"method\":\"GET\",\"target\":\"/v2/auth\","
                               "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[],"
                               "\"body\":\"{\\\"\\\\u0074oken\\\":\\\"recorded-token-1234\\\"}\"}}");
    rp_exchange x = {.rec = rec};
    rp_call call = {.x = &x};
    answered(&call, 200, "{\"\\u0074oken\":\"target-token-5678\"}");
    x.calls = &call;
    rp_correlation *corr = rp_correlation_new(1, NULL);
    rp_correlation_learn(corr, &x);
    const char *missing = NULL;
    char *out = rp_correlation_apply(corr, 0, "Bearer recorded-token-1234", &missing);
    cr_assert_not_null(out, "missing %s", missing ? missing : "-");
    cr_expect_str_eq(out, "Bearer target-token-5678");
    free(out);
    call_free(&call);

    /* a second target that issued no token: the recorded one is never sent to it */
    rp_correlation_free(corr);
    corr = rp_correlation_new(2, NULL);
    rp_call calls[2] = {{.x = &x}, {.x = &x, .target = 1}};
    answered(&calls[0], 200, "{\"token\":\"target-token-5678\"}");
    answered(&calls[1], 200, "{}");
    x.calls = calls;
    rp_correlation_learn(corr, &x);
    out = rp_correlation_apply(corr, 1, "Bearer recorded-token-1234", &missing);
    cr_expect_null(out);
    cr_expect_str_eq(missing, "recorded-token-1234");
    free(out);
    call_free(&calls[0]);
    call_free(&calls[1]);
    rp_correlation_free(corr);
    rp_record_free(rec);
}

/* One exchange whose recorded answer and each target's carry the given headers. */
/* Bodies read on a tape: a top-level string field is learned with its escapes decoded; the
 * same name nested deeper, or only inside a string, is not a field. */
Test(correlation, learns_top_level_fields_with_escaped_values)
{
    rp_record *rec = record_of("{\"v\":1,\"id\":\"t\",\"request\":{\"method\":\"GET\",\"target\":\"/v2/auth\","
                               "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[],"
                               "\"body\":\"{\\\"inner\\\":{\\\"next_page\\\":\\\"nested-page-0001\\\"},"
                               "\\\"token\\\":\\\"rec\\\\/token-1234\\\",\\\"next_page\\\":7}\"}}");
    rp_exchange x = {.rec = rec};
    rp_call call = {.x = &x};
    answered(&call, 200, "{\"expires_in\":300,\"token\":\"tgt\\u002ftoken-5678\",\"inner\":{\"next_page\":\"p-9999999\"}}");
    x.calls = &call;
    rp_correlation *corr = rp_correlation_new(1, NULL);
    rp_correlation_learn(corr, &x);
    const char *missing = NULL;
    char *out = rp_correlation_apply(corr, 0, "Bearer rec/token-1234", &missing);
    cr_assert_not_null(out, "missing %s", missing ? missing : "-");
    cr_expect_str_eq(out, "Bearer tgt/token-5678");
    free(out);
    out = rp_correlation_apply(corr, 0, "/v2/_catalog?next_page=nested-page-0001", &missing);
    cr_assert_not_null(out, "a nested field was learned: missing %s", missing ? missing : "-");
    cr_expect_str_eq(out, "/v2/_catalog?next_page=nested-page-0001");
    free(out);
    call_free(&call);

    /* "token" only inside a string value: nothing issued, nothing learned */
    rp_correlation_free(corr);
    corr = rp_correlation_new(1, NULL);
    rp_record_free(rec);
    rec = record_of("{\"v\":1,\"id\":\"u\",\"request\":{\"method\":\"GET\",\"target\":\"/x\",\"headers\":[]},"
                    "\"response\":{\"status\":200,\"headers\":[],"
                    "\"body\":\"{\\\"note\\\":\\\"a \\\\\\\"token\\\\\\\": rec-value-000001\\\"}\"}}");
    x.rec = rec;
    rp_call other = {.x = &x};
    answered(&other, 200, "{\"token\":\"tgt-value-000002\"}");
    x.calls = &other;
    rp_correlation_learn(corr, &x);
    out = rp_correlation_apply(corr, 0, "rec-value-000001", &missing);
    cr_assert_not_null(out);
    cr_expect_str_eq(out, "rec-value-000001");
    free(out);
    call_free(&other);
    rp_correlation_free(corr);
    rp_record_free(rec);
}

/* The learn of one recorded body (a JSON string, as the record holds it) and one target's,
 * under correlation rules (borrowed by the tables: the caller keeps them). */
static rp_correlation *learned_from(const json_t *rules, const char *rec_body_json, const char *target_body)
{
    rp_correlation *corr = rp_correlation_new(1, rules);
    cr_assert_not_null(corr);
    char line[2048];
    snprintf(line, sizeof line,
             "{\"v\":1,\"id\":\"f\",\"request\":{\"method\":\"GET\",\"target\":\"/x\",\"headers\":[]},"
             "\"response\":{\"status\":200,\"headers\":[],\"body\":%s}}",
             rec_body_json);
    rp_record *rec = record_of(line);
    rp_exchange x = {.rec = rec};
    rp_call call = {.x = &x};
    answered(&call, 200, target_body);
    x.calls = &call;
    rp_correlation_learn(corr, &x);
    call_free(&call);
    rp_record_free(rec);
    return corr;
}

static void expect_mapped(rp_correlation *corr, const char *from, const char *to)
{
    const char *missing = NULL;
    char *out = rp_correlation_apply(corr, 0, from, &missing);
    cr_assert_not_null(out, "%s: missing %s", from, missing ? missing : "-");
    cr_expect_str_eq(out, to);
    free(out);
}

/* The names a body is checked for before it is read (one pass over its quotes, correlate.c):
 * a declared field is found whatever its length (one longer than the quick pass takes is
 * looked for on its own), next to an empty string, and a declared name that is not a
 * string is passed over. */
Test(correlation, declared_fields_short_long_and_quoted_are_learned)
{
    char longname[200];
    memset(longname, 'k', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char rec_body[1024], target_body[1024];
    json_t *rules = json_pack("{s:[s,s,i]}", "json_fields", "id", longname, 7);
    snprintf(rec_body, sizeof rec_body,
             "\"{\\\"a\\\":\\\"\\\",\\\"id\\\":\\\"rec-id-00000001\\\","
             "\\\"%s\\\":\\\"rec-long-0000001\\\"}\"",
             longname);
    snprintf(target_body, sizeof target_body, "{\"a\":\"\",\"id\":\"tgt-id-00000002\",\"%s\":\"tgt-long-0000002\"}",
             longname);
    rp_correlation *corr = learned_from(rules, rec_body, target_body);
    expect_mapped(corr, "rec-id-00000001", "tgt-id-00000002");
    expect_mapped(corr, "rec-long-0000001", "tgt-long-0000002");
    rp_correlation_free(corr);
    json_decref(rules);

    /* only the long name: the quick pass has nothing to find, the body is still read */
    rules = json_pack("{s:[s]}", "json_fields", longname);
    snprintf(rec_body, sizeof rec_body, "\"{\\\"%s\\\":\\\"rec-long-0000003\\\"}\"", longname);
    snprintf(target_body, sizeof target_body, "{\"%s\":\"tgt-long-0000004\"}", longname);
    corr = learned_from(rules, rec_body, target_body);
    expect_mapped(corr, "rec-long-0000003", "tgt-long-0000004");
    rp_correlation_free(corr);
    json_decref(rules);
}

static void learn_headers(rp_correlation *corr, const char *rec_headers, const char *const *target_hdr,
                          const size_t *target_hdr_len, size_t ntargets)
{
    char line[1024];
    snprintf(line, sizeof line,
             "{\"v\":1,\"id\":\"u\",\"request\":{\"method\":\"POST\",\"target\":\"/v2/o/r/blobs/uploads/\","
             "\"headers\":[]},\"response\":{\"status\":202,\"headers\":%s}}",
             rec_headers);
    rp_record *rec = record_of(line);
    rp_exchange x = {.rec = rec};
    rp_call calls[2] = {{.x = &x}, {.x = &x, .target = 1}};
    for (size_t t = 0; t < ntargets; t++) {
        calls[t].status = 202;
        calls[t].hdr = malloc(target_hdr_len[t]);
        memcpy(calls[t].hdr, target_hdr[t], target_hdr_len[t]);
        calls[t].hdr_len = target_hdr_len[t];
    }
    x.calls = calls;
    rp_correlation_learn(corr, &x);
    for (size_t t = 0; t < ntargets; t++)
        call_free(&calls[t]);
    rp_record_free(rec);
}

Test(correlation, the_longest_recorded_value_is_replaced_first)
{
    rp_correlation *corr = rp_correlation_new(1, NULL);
    static const char hdr[] = "Location\0/v2/o/r/blobs/uploads/target-uuid-0001\0Docker-Upload-UUID\0target-uuid-0001\0";
    const char *const hdrs[] = {hdr};
    const size_t lens[] = {sizeof hdr - 1};
    learn_headers(corr,
                  "[[\"Location\",\"http://quay.example/v2/o/r/blobs/uploads/rec-uuid-0001\"],"
                  "[\"Docker-Upload-UUID\",\"rec-uuid-0001\"]]",
                  hdrs, lens, 1);
    const char *missing = NULL;
    char *out = rp_correlation_apply(corr, 0, "/v2/o/r/blobs/uploads/rec-uuid-0001?digest=sha256:1", &missing);
    cr_assert_not_null(out, "missing %s", missing ? missing : "-");
    cr_expect_str_eq(out, "/v2/o/r/blobs/uploads/target-uuid-0001?digest=sha256:1");
    free(out);
    out = rp_correlation_apply(corr, 0, "uuid rec-uuid-0001 and again rec-uuid-0001", &missing);
    cr_expect_str_eq(out, "uuid target-uuid-0001 and again target-uuid-0001", "every occurrence");
    free(out);
    out = rp_correlation_apply(corr, 0, "nothing issued here", &missing);
    cr_expect_str_eq(out, "nothing issued here");
    free(out);
    rp_correlation_free(corr);
}

Test(correlation, thousands_of_tokens_sharing_a_prefix_stay_apart_and_the_oldest_go)
{
    /* registry tokens: all "redacted:" + hex, as a capture stores them */
    rp_correlation *corr = rp_correlation_new(1, NULL);
    const int n = 5000; /* more than the table holds (4096) */
    for (int i = 0; i < n; i++) {
        char rec_hdr[128], hdr[128];
        snprintf(rec_hdr, sizeof rec_hdr, "[[\"Docker-Upload-UUID\",\"redacted:%016x\"]]", (unsigned)i * 2654435761u);
        int len = snprintf(hdr, sizeof hdr, "Docker-Upload-UUID%cissued-%08d", '\0', i);
        const char *const hdrs[] = {hdr};
        const size_t lens[] = {(size_t)len + 1};
        learn_headers(corr, rec_hdr, hdrs, lens, 1);
    }
    const char *missing = NULL;
    for (int i = n - 4096; i < n; i += 97) {
        char in[64], want[64];
        snprintf(in, sizeof in, "Bearer redacted:%016x", (unsigned)i * 2654435761u);
        snprintf(want, sizeof want, "Bearer issued-%08d", i);
        char *out = rp_correlation_apply(corr, 0, in, &missing);
        cr_assert_not_null(out, "token %d: missing %s", i, missing ? missing : "-");
        cr_expect_str_eq(out, want);
        free(out);
    }
    /* the oldest pairs went first: such a value is no longer known to be issued, and passes */
    char old[64];
    snprintf(old, sizeof old, "Bearer redacted:%016x", 0u);
    char *out = rp_correlation_apply(corr, 0, old, &missing);
    cr_expect_str_eq(out, old);
    free(out);
    rp_correlation_free(corr);
}

/* The request a target gets for a record's target: curl is given the origin only and the
 * target verbatim, so dot segments, a fragment and bytes that are not UTF-8 reach the
 * backend as recorded; a backend mounted under a path keeps its prefix; a target with a
 * control byte or a space is refused (it could end the request line early). */
static rp_call build_for(const char *base_url, const char *record_line, int want_rc)
{
    static pm_target target;
    static pm_suite suite;
    target = (pm_target){.name = "go", .url = base_url, .headers = json_array()};
    suite = (pm_suite){.targets = &target, .ntargets = 1};
    rp_exchange *x = calloc(1, sizeof *x);
    x->rec = record_of(record_line);
    rp_call call = {.x = x};
    rp_correlation *corr = rp_correlation_new(1, NULL);
    cr_assert_eq(rp_request_build(&call, &suite, corr), want_rc, "error %s", call.error ? call.error : "-");
    rp_correlation_free(corr);
    json_decref(target.headers);
    return call;
}

static void built_free(rp_call *c)
{
    rp_record_free(c->x->rec);
    free(c->x);
    call_free(c);
}

Test(request, the_target_goes_verbatim)
{
    rp_call c = build_for("http://t:8001", "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/v2/../api/v1/user#f\",\"headers\":[]}}", 0);
    cr_expect_str_eq(c.url, "http://t:8001/");
    cr_expect_str_eq(c.request_target, "/v2/../api/v1/user#f");
    built_free(&c);
    c = build_for("https://t/quay/", "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"http://h/v2/?n=1\",\"headers\":[]}}", 0);
    cr_expect_str_eq(c.url, "https://t/");
    cr_expect_str_eq(c.request_target, "/quay/v2/?n=1", "the base path, then the origin form");
    built_free(&c);
}

Test(request, target_b64_is_the_target_sent)
{
    /* "/v2/\xff\xfe": target shows Latin-1, target_b64 holds the bytes */
    rp_call c = build_for("http://t", "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/v2/\\u00ff\\u00fe\","
                                      "\"target_b64\":\"L3YyL//+\",\"headers\":[]}}", 0);
    cr_expect_str_eq(c.request_target, "/v2/\xff\xfe");
    built_free(&c);
}

Test(request, a_target_with_a_control_byte_or_space_is_refused)
{
    const char *lines[] = {
        "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/a\\r\\nX-Smuggled: 1\",\"headers\":[]}}",
        "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/a b\",\"headers\":[]}}",
        "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/a\\u0001\",\"headers\":[]}}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        rp_call c = build_for("http://t", lines[i], -1);
        cr_expect_str_eq(c.error, "bad_target", "line %zu", i);
        built_free(&c);
    }
}
