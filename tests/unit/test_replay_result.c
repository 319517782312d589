/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_result.c — the answers of a result record (replay/result.c): each target's
 * body and body_sha256 are its own, whether another target answered the same bytes (the
 * body is then hashed once and written from the first answer's) or different ones, empty,
 * or none.
 */
#include <criterion/criterion.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "replay/replay_internal.h"

#define NT 5

static const char *const body_of[NT] = {"{\"a\": 1}", "{\"a\": 1}", "{\"a\": 2}", "", "{\"a\": 2}"};

static void sha_hex(const char *s, char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

Test(replay_result, each_answer_has_its_own_body_and_hash)
{
    static const char *const names[NT] = {"a", "b", "c", "d", "e"};
    pm_target targets[NT];
    memset(targets, 0, sizeof targets);
    for (int i = 0; i < NT; i++) {
        targets[i].name = names[i];
        targets[i].url = "http://127.0.0.1:1";
        targets[i].role = i == 0 ? PM_ROLE_BASELINE : PM_ROLE_CANDIDATE;
    }
    pm_suite suite = {.targets = targets, .ntargets = NT};
    const char *line = "{\"v\":1,\"id\":\"x\",\"request\":{\"method\":\"GET\",\"target\":\"/\",\"headers\":[]}}";
    pm_err err;
    rp_record *rec = rp_record_new(strdup(line), strlen(line), NULL, &err);
    cr_assert_not_null(rec);
    rp_call calls[NT];
    memset(calls, 0, sizeof calls);
    rp_exchange x = {.suite = &suite, .hash_uncut = true, .rec = rec, .calls = calls};
    for (int i = 0; i < NT; i++) {
        calls[i].x = &x;
        calls[i].target = (size_t)i;
        calls[i].body_limit = 1 << 20;
        if (i == 4) { /* answered nothing: an error, no body */
            calls[i].error = "connect";
            continue;
        }
        calls[i].status = 200;
        calls[i].data_len = strlen(body_of[i]);
        calls[i].data = (unsigned char *)strdup(body_of[i]);
    }
    pm_jtext t = {0};
    cr_assert_eq(rp_result_text(&x, &t), 0);
    json_error_t jerr;
    json_t *r = json_loads(t.buf, 0, &jerr);
    cr_assert_not_null(r, "%s: %s", jerr.text, t.buf);
    for (int i = 0; i < NT; i++) {
        const json_t *a = json_object_get(json_object_get(r, "responses"), names[i]);
        cr_assert_not_null(a, "answer %s", names[i]);
        const char *sha = json_string_value(json_object_get(a, "body_sha256"));
        if (i == 4) {
            cr_expect_null(json_object_get(a, "body_sha256"), "no answer, no hash");
            continue;
        }
        char want[65];
        sha_hex(body_of[i], want);
        cr_expect_str_eq(sha ? sha : "(none)", want, "answer %s", names[i]);
        const char *body = json_string_value(json_object_get(a, "body"));
        if (*body_of[i])
            cr_expect_str_eq(body ? body : "(none)", body_of[i], "answer %s", names[i]);
        cr_expect_eq(json_integer_value(json_object_get(a, "body_len")), (json_int_t)strlen(body_of[i]));
    }
    json_decref(r);
    pm_jtext_free(&t);
    for (int i = 0; i < NT; i++)
        free(calls[i].data);
    rp_record_free(rec);
}
