/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_shadow_redact.c — libFuzzer target for the tee shadow's redaction of a result
 * (pipeline/shadow_redact.c).
 *
 * The splice writes a result again from its own bytes, with the redacted values put in;
 * the reference reads it into a tree, redacts and writes the tree. On text written the way
 * pmirror writes results (pm_jtext), the two must give the same bytes. So every input
 * jansson reads as JSON is first written that way, then redacted both ways: the same
 * status, and on success the same text, or abort. Inputs whose first byte is even skip that
 * step: no crash, and a status either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fixture {
    pm_redactor *requests, *answers;
    pm_target targets[2];
    pm_suite suite;
} fixture;

static const fixture *fixture_get(void)
{
    static fixture f;
    if (!f.requests) {
        pm_err err;
        f.requests = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
        f.answers = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
        pm_redactor_keep_jwt_claims(f.answers, true);
        f.targets[0].name = "python";
        f.targets[1].name = "go";
        f.targets[1].credentials = json_pack("{s:s}", "token", "FuzzCred");
        f.suite.targets = f.targets;
        f.suite.ntargets = 2;
    }
    return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fixture *f = fixture_get();
    pm_jtape tape = {0}, canonical_tokens = {0}, spliced_tokens = {0}, reparsed = {0};
    pm_jtext canonical = {0}, spliced = {0}, reference = {0}, again = {0};
    pm_jtext_tape_start(&canonical, &canonical_tokens); /* as replay writes results */
    pm_jtext_tape_start(&spliced, &spliced_tokens);     /* as the shadow redacts them */
    const char *text = (const char *)data;
    size_t len = size;
    if (size > 0 && (data[0] & 1)) { /* "{" is odd */
        json_t *tree = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (tree) {
            pm_jtext_json(&canonical, tree);
            json_decref(tree);
            if (!canonical.failed) {
                text = canonical.buf;
                len = canonical.len;
            }
        }
    }
    int a = pipeline_shadow_redact(f->requests, f->answers, &f->suite, text, len, NULL, &tape, &reference, true);
    int b = pipeline_shadow_redact(f->requests, f->answers, &f->suite, text, len, NULL, &tape, &spliced, false);
    if (a != b)
        abort();
    if (a == 0 && text == canonical.buf &&
        (reference.len != spliced.len || memcmp(reference.buf, spliced.buf, reference.len) != 0))
        abort();
    /* with the writer's tokens: the same answer, not parsed */
    const pm_jtape *tokens = text == canonical.buf ? pm_jtext_tape_done(&canonical, JSON_PARSER_MAX_DEPTH) : NULL;
    if (tokens) {
        int c = pipeline_shadow_redact(f->requests, f->answers, &f->suite, text, len, tokens, &tape, &again, false);
        if (c != b || (c == 0 && (again.len != spliced.len || memcmp(again.buf, spliced.buf, again.len) != 0)))
            abort();
    }
    /* the redacted text's own tokens, kept as it was written, are those of a parse */
    const pm_jtape *kept = b == 0 ? pm_jtext_tape_done(&spliced, JSON_PARSER_MAX_DEPTH) : NULL;
    if (kept && (pm_jtape_parse(&reparsed, spliced.buf, spliced.len, JSON_PARSER_MAX_DEPTH) != 0 ||
                 !pm_jtape_same(kept, &reparsed)))
        abort();
    pm_jtape_free(&tape);
    pm_jtape_free(&canonical_tokens);
    pm_jtape_free(&spliced_tokens);
    pm_jtape_free(&reparsed);
    pm_jtext_free(&canonical);
    pm_jtext_free(&spliced);
    pm_jtext_free(&reference);
    pm_jtext_free(&again);
    return 0;
}
