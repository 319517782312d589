/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_shadow_redact.c — the tee's shadow results redacted by splicing the line's own text
 * (pipeline_shadow_redact) give the very bytes the reference gives (the whole result as a
 * jansson tree, redacted in place and written again), on results shaped as the tee and
 * replay write them: secrets in the target, headers and bodies, a credential echoed from
 * the request into an answer, a JWT in an answer (claims kept), a form body, a flag already
 * there, escapes and non-ASCII text in bodies, a coded body and keys the splice leaves to
 * the reference. And that the redaction happened: no secret is left in clear.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/core.h"
#include "pipeline/pipeline.h"

#define KEY "0123456789abcdef0123456789abcdef"

typedef struct fixture {
    pm_redactor *requests, *answers;
    pm_target targets[2];
    pm_suite suite;
    pm_jtape tape, line_tokens, spliced_tokens, reparsed;
    pm_jtext spliced, reference, again;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    pm_err err;
    f->requests = pm_redactor_new_with_key((const unsigned char *)KEY, strlen(KEY), NULL, &err);
    f->answers = pm_redactor_new_with_key((const unsigned char *)KEY, strlen(KEY), NULL, &err);
    cr_assert(f->requests && f->answers);
    pm_redactor_keep_jwt_claims(f->answers, true); /* as the tee's answer redactor */
    f->targets[0].name = "python";
    f->targets[1].name = "go";
    f->targets[1].credentials = json_pack("{s:s}", "token", "SuiteCred-77");
    f->suite.targets = f->targets;
    f->suite.ntargets = 2;
}

static void fixture_free(fixture *f)
{
    json_decref(f->targets[1].credentials);
    pm_redactor_free(f->requests);
    pm_redactor_free(f->answers);
    pm_jtape_free(&f->tape);
    pm_jtape_free(&f->line_tokens);
    pm_jtape_free(&f->spliced_tokens);
    pm_jtape_free(&f->reparsed);
    pm_jtext_free(&f->spliced);
    pm_jtext_free(&f->reference);
    pm_jtext_free(&f->again);
}

/* Both ways on one line: equal bytes, and the text the splice gave (valid as long as f).
 * Also as the tee's shadow runs it: given the line's tokens (replay's, not parsed again)
 * the same bytes, and the splice's own tokens, kept as it writes, those of a parse. */
static const char *both_ways(fixture *f, const char *line)
{
    size_t n = strlen(line);
    pm_jtext_tape_start(&f->spliced, &f->spliced_tokens);
    cr_assert_eq(pm_jtape_parse(&f->line_tokens, line, n, JSON_PARSER_MAX_DEPTH), 0);
    cr_assert_eq(pipeline_shadow_redact(f->requests, f->answers, &f->suite, line, n, &f->line_tokens, &f->tape,
                                        &f->again, false),
                 0, "with tokens: %s", line);
    cr_assert_eq(pipeline_shadow_redact(f->requests, f->answers, &f->suite, line, n, NULL, &f->tape, &f->reference, true),
                 0, "reference: %s", line);
    cr_assert_eq(pipeline_shadow_redact(f->requests, f->answers, &f->suite, line, n, NULL, &f->tape, &f->spliced, false),
                 0, "splice: %s", line);
    cr_assert_str_eq(f->spliced.buf, f->reference.buf, "the splice differs from the reference");
    cr_assert_str_eq(f->again.buf, f->spliced.buf, "the splice with the line's tokens differs");
    const pm_jtape *kept = pm_jtext_tape_done(&f->spliced, JSON_PARSER_MAX_DEPTH);
    cr_assert_not_null(kept, "no tokens kept for %s", f->spliced.buf);
    cr_assert_eq(pm_jtape_parse(&f->reparsed, f->spliced.buf, f->spliced.len, JSON_PARSER_MAX_DEPTH), 0);
    cr_assert(pm_jtape_same(kept, &f->reparsed), "the kept tokens differ from a parse of %s", f->spliced.buf);
    return f->spliced.buf;
}

/* a request's token is redacted whole; an answer's keeps its header and claims */
#define JWT_BOB "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IifQ.Ym9icy1zaWduYXR1cmUtdmFsdWU"
#define JWT_CAROL "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCJ9.Y2Fyb2xzLXNpZ25hdHVyZQ"
#define JWT "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVlLXh5eg"

Test(shadow_redact, secrets_everywhere_give_the_reference_bytes)
{
    fixture f;
    fixture_init(&f);
    const char *line =
        "{\"id\":\"t-1\",\"ts\":\"2026-12-05T22:00:00.000001Z\",\"family\":\"API_V1\",\"capability\":\"api_v1_user\","
        "\"request\":{\"method\":\"POST\",\"target\":\"/api/v1/signin?token=Query-S3cret&x=1\","
        "\"headers\":[[\"Host\",\"quay.example\"],[\"Authorization\",\"Bearer " JWT_BOB "\"],"
        "[\"X-Csrf-Token\",\"Req-T0ken-abc\"],"
        "[\"Content-Type\",\"application/json\"]],"
        "\"body\":\"{\\\"username\\\":\\\"alice\\\",\\\"password\\\":\\\"hunter2-pw\\\",\\\"refresh_token\\\":\\\"" JWT_CAROL "\\\"}\"},"
        "\"response\":{\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"],"
        "[\"Set-Cookie\",\"session=Cookie-V4lue; Path=/\"]],"
        "\"body\":\"{\\\"token\\\":\\\"" JWT "\\\",\\\"note\\\":\\\"caf\xc3\xa9 \\\\n\\\\u0001\\\"}\"},"
        "\"responses\":{\"python\":{\"role\":\"baseline\",\"status\":200,\"headers\":[[\"Content-Type\","
        "\"application/json\"],[\"Set-Cookie\",\"session=Cookie-V4lue; Path=/\"]],"
        "\"body\":\"{\\\"token\\\":\\\"" JWT "\\\",\\\"note\\\":\\\"caf\xc3\xa9 \\\\n\\\\u0001\\\",\\\"seen\\\":\\\"Late-S3cret-5\\\"}\","
        "\"latency_us\":812},"
        "\"go\":{\"role\":\"candidate\",\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"],"
        "[\"Set-Cookie\",\"late=Late-S3cret-5\"]],"
        "\"body\":\"{\\\"you_sent\\\":\\\"Req-T0ken-abc\\\",\\\"cred\\\":\\\"SuiteCred-77\\\","
        "\\\"tab\\\":\\\"a\\\\tb\\\"}\",\"latency_us\":640}},\"send_skew_us\":12}";
    const char *out = both_ways(&f, line);
    static const char *const secrets[] = {"Query-S3cret", "Req-T0ken-abc", "hunter2-pw", "Cookie-V4lue",
                                          "c2lnbmF0dXJlLXZhbHVlLXh5eg", "SuiteCred-77",
                                          "Late-S3cret-5" /* echoed before the answer that sets it */};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        cr_expect_null(strstr(out, secrets[i]), "%s is in clear: %s", secrets[i], out);
    cr_expect(strstr(out, "eyJzdWIiOiJhbGljZSJ9"), "an answer's JWT keeps its claims: %s", out);
    cr_expect_null(strstr(out, "eyJzdWIiOiJib2IifQ"), "the request's JWTs are redacted whole: %s", out);
    cr_expect_null(strstr(out, "eyJzdWIiOiJjYXJvbCJ9"), "%s", out);
    cr_expect_null(strstr(out, "Ym9icy1zaWduYXR1cmUtdmFsdWU"), "%s", out);
    cr_expect(strstr(out, "\"body_redacted\":true"), "a redacted JSON body is flagged: %s", out);
    cr_expect(strstr(out, "caf\xc3\xa9"), "the rest of a body is as it was: %s", out);
    fixture_free(&f);
}

Test(shadow_redact, a_form_body_and_a_flag_already_there)
{
    fixture f;
    fixture_init(&f);
    const char *line =
        "{\"id\":\"t-2\",\"request\":{\"method\":\"POST\",\"target\":\"/oauth/authorize\",\"headers\":"
        "[[\"Content-Type\",\"application/x-www-form-urlencoded\"]],\"body\":\"user=bob&password=Form-Pw-9\"},"
        "\"response\":{\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"]],\"body_redacted\":false,"
        "\"body\":\"{\\\"access_token\\\":\\\"Acc-T0k-1\\\"}\"},"
        "\"responses\":{\"python\":{\"role\":\"baseline\",\"status\":200,\"body\":\"{}\"},"
        "\"go\":{\"role\":\"candidate\",\"status\":200,\"body\":\"{}\"}}}";
    const char *out = both_ways(&f, line);
    cr_expect_null(strstr(out, "Form-Pw-9"), "%s", out);
    cr_expect_null(strstr(out, "Acc-T0k-1"), "%s", out);
    cr_expect_null(strstr(out, "\"body_redacted\":false"), "the flag turns true in place: %s", out);
    fixture_free(&f);
}

Test(shadow_redact, nothing_to_redact_keeps_the_line)
{
    fixture f;
    fixture_init(&f);
    const char *line =
        "{\"id\":\"t-3\",\"request\":{\"method\":\"GET\",\"target\":\"/v2/acme/app/tags/list?n=50\",\"headers\":"
        "[[\"Accept\",\"application/json\"]]},\"response\":{\"status\":200,\"headers\":[[\"Content-Type\","
        "\"application/json\"]],\"body\":\"{\\\"name\\\":\\\"acme/app\\\",\\\"tags\\\":[\\\"v1\\\",\\\"\\\\\\\"q\\\\\\\"\\\"]}\"},"
        "\"responses\":{\"python\":{\"role\":\"baseline\",\"status\":200,\"latency_us\":5},"
        "\"go\":{\"role\":\"candidate\",\"status\":404,\"error\":null,\"latency_us\":7,\"stream\":{\"events\":[1,2.5]}}}}";
    cr_assert_str_eq(both_ways(&f, line), line);
    fixture_free(&f);
}

Test(shadow_redact, what_the_splice_leaves_to_the_reference)
{
    fixture f;
    fixture_init(&f);
    /* a gzip body as body_b64 (redacted by decoding it), a duplicate key, an escaped key */
    const char *lines[] = {
        ("{\"id\":\"t-4\",\"request\":{\"method\":\"GET\",\"target\":\"/\",\"headers\":[[\"Authorization\","
         "\"Basic Zm9vOkJhc2ljLVB3\"]]},\"response\":{\"status\":200,\"headers\":[[\"Content-Encoding\",\"gzip\"],"
         "[\"Content-Type\",\"application/json\"]],\"body_b64\":\"H4sIAAAAAAAAA6tWKkktLlGyUgpJLS5RqgUA8Bxb1xEAAAA=\"},"
         "\"responses\":{}}"),
        "{\"id\":\"t-5\",\"request\":{\"target\":\"/a?token=Dup-1\",\"target\":\"/b?token=Dup-2\"},\"responses\":{}}",
        ("{\"id\":\"t-6\",\"req\\u0075est\":{\"target\":\"/a?token=Esc-1\"},\"request\":{\"target\":\"/?token=Esc-2\"},"
         "\"responses\":{}}"),
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        const char *out = both_ways(&f, lines[i]);
        cr_expect_null(strstr(out, "Zm9vOkJhc2ljLVB3"), "%s", out);
        cr_expect_null(strstr(out, "Dup-2"), "%s", out);
        cr_expect_null(strstr(out, "Esc-2"), "%s", out);
    }
    fixture_free(&f);
}

Test(shadow_redact, refuses_what_is_not_a_result)
{
    fixture f;
    fixture_init(&f);
    static const char *const bad[] = {"", "[1,2]", "{\"id\":", "{\"a\":\"\xff\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(pipeline_shadow_redact(f.requests, f.answers, &f.suite, bad[i], strlen(bad[i]), NULL, &f.tape,
                                            &f.spliced, false),
                     -1, "%s", bad[i]);
    fixture_free(&f);
}
