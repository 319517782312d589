/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_redact.c — libFuzzer target for body redaction.
 *
 * Redaction rewrites JSON bodies as text (core/redact.c) instead of through jansson.
 * For every input jansson accepts as JSON, the text result must mean exactly what
 * jansson's own redaction of the parsed tree means: parse(redacted text) equals
 * pm_redact_json(parse(input)). For anything else: no crash, and no listed field's
 * plain string value left behind in a body that parses afterwards. Inputs whose first
 * byte is odd run with keep_jwt_claims (a JWT keeps header and claims), which must agree
 * the same way. Spreading (redact_spread.c): the body's own secrets, and a value cut from
 * the input as if a header had carried it, are spread over the body; when the input was
 * JSON the result must still be JSON, and spreading it again finds nothing left.
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

/* A spreading redactor over a fresh set seeded with a cut from text's middle (a
 * credential echoed in it); NULL when memory ran out. */
static pm_redactor *seeded(const pm_redactor *base, const char *text, size_t size, pm_secrets **s)
{
    *s = pm_secrets_new();
    pm_redactor *r = *s ? pm_redactor_spreading(base, *s, NULL) : NULL;
    if (!r) {
        pm_secrets_free(*s);
        return NULL;
    }
    if (size >= 2 * PM_SECRET_MIN_LEN)
        pm_secrets_add(*s, base, text + size / 2, size / 2 < 40 ? size / 2 : 40, NULL);
    return r;
}

/* The fields pass kept from learning (pm_redact_learn_body_fields, as capture does) gives
 * what learning and then redacting the body again gives (out: that, NULL for unchanged). */
static void learned_check(const pm_redactor *base, const char *text, size_t size, const char *out, size_t n)
{
    pm_secrets *s;
    pm_redactor *r = seeded(base, text, size, &s);
    if (!r)
        return;
    pm_body_fields f;
    pm_redact_learn_body_fields(r, NULL, (const unsigned char *)text, size, &f);
    if (f.done) {
        size_t m = 0;
        char *kept = pm_redact_body_text_learned(r, &f, text, size, &m);
        if (!kept != !out || (kept && (m != n || memcmp(kept, out, n) != 0)))
            abort(); /* the kept fields pass wrote another text */
        free(kept);
    }
    pm_body_fields_clear(&f);
    pm_redactor_free(r);
    pm_secrets_free(s);
}

/* A body pm_redact_body_fields_none clears (capture then skips learning it) is one the
 * fields pass finds nothing in: nothing learned, nothing redacted. For JSON and form bodies. */
static void none_check(const pm_redactor *base, const char *type, const char *text, size_t size)
{
    if (size == 0 || !pm_utf8_valid((const unsigned char *)text, size) ||
        !pm_redact_body_fields_none(base, type, text, size))
        return;
    pm_secrets *s;
    pm_redactor *r = seeded(base, text, size, &s);
    if (!r)
        return;
    size_t known = pm_secrets_count(s);
    pm_body_fields f;
    pm_redact_learn_body_fields_typed(r, type, NULL, (const unsigned char *)text, size, &f);
    if (!f.done || f.red || pm_secrets_count(s) != known)
        abort(); /* the fields pass found something pm_redact_body_fields_none said was not there */
    pm_body_fields_clear(&f);
    pm_redactor_free(r);
    pm_secrets_free(s);
}

/* The body's secrets and one cut from its middle (a credential echoed in it) spread over
 * it: JSON stays JSON, and nothing known is left outside tokens. */
static void spread_check(const pm_redactor *base, const char *text, size_t size)
{
    pm_secrets *s;
    pm_redactor *r = seeded(base, text, size, &s);
    if (!r)
        return;
    pm_redact_learn_body(r, NULL, (const unsigned char *)text, size);
    size_t n = 0;
    char *out = pm_redact_body_text(r, "application/json", text, size, &n);
    learned_check(base, text, size, out, n);
    none_check(base, "application/json", text, size);
    none_check(base, "application/x-www-form-urlencoded", text, size);
    if (out) {
        json_t *before = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        json_t *after = before ? json_loadb(out, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
        if (before && !after)
            abort(); /* spreading broke the JSON */
        json_decref(before);
        json_decref(after);
        size_t m = 0;
        char *again = pm_secrets_spread(s, out, n, &m);
        if (again)
            abort(); /* a known value survived outside tokens */
        free(out);
    }
    pm_redactor_free(r);
    pm_secrets_free(s);
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
    spread_check(r, text, size);
    free(text);
    return 0;
}
