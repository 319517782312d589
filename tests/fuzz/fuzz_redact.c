/*
 * fuzz_redact.c — libFuzzer target for body redaction.
 *
 * Redaction rewrites JSON bodies as text (core/redact.c) instead of through jansson.
 * For every input jansson accepts as JSON, the text result must mean exactly what
 * jansson's own redaction of the parsed tree means: parse(redacted text) equals
 * pm_redact_json(parse(input)). For anything else: no crash, and no listed field's
 * plain string value left behind in a body that parses afterwards. Inputs whose first
 * byte is odd run with keep_jwt_claims (a JWT keeps header and claims), which must agree
 * the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pm_redactor *redactor(bool keep_jwt_claims)
{
    static pm_redactor *r[2];
    if (!r[keep_jwt_claims]) {
        pm_err err;
        r[keep_jwt_claims] = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
        pm_redactor_keep_jwt_claims(r[keep_jwt_claims], keep_jwt_claims);
    }
    return r[keep_jwt_claims];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pm_redactor *r = redactor(size > 0 && (data[0] & 1));
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t red_len = 0;
    char *red = pm_redact_body_text(r, "application/json", text, size, &red_len);
    json_t *doc = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (doc) {
        pm_redact_json(r, doc);
        json_t *again = red ? json_loadb(red, red_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
                            : json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!again || !json_equal(again, doc))
            abort(); /* the text redaction and the tree redaction disagree */
        json_decref(again);
        json_decref(doc);
    }
    free(red);
    char *form = pm_redact_body_text(r, "application/x-www-form-urlencoded", text, size, &red_len);
    free(form);
    free(text);
    return 0;
}
