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
    cr_expect_str_eq(call.url, "http://t/api/v1/robot");
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
