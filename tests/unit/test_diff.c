/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_diff.c — the diff engine (diff/) on result records built here: the JSON corners a
 * migration trips on (key order, number forms, null / missing / [], order, depth), every
 * normalization rule kind and the rule file's own checks, headers, status, body decoding
 * (gzip, deflate, bombs) and media types, verdicts, signatures, latencies and the
 * secondary target. Each case asserts the exact verdict and the exact (where, path, kind)
 * of every difference.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"
#include "diff/diff.h"
#include "scratch.h"

#define SHIPPED_RULES PMIRROR_SOURCE_DIR "/config/quay/rules.yaml"
#define JSON_HEADERS "[[\"Content-Type\",\"application/json\"]]"

/* ---- helpers -------------------------------------------------------------------------- */

/* Writes a rules file into the temp dir; returns its path (static buffer). */
static const char *rules_file(const char *yaml)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/rules.yaml", scratch_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static diff_engine *engine_with(const diff_options *o, const char *rules_path)
{
    pm_err err = {{0}};
    diff_engine *e = diff_new(o, rules_path, &err);
    cr_assert_not_null(e, "diff_new: %s", err.msg);
    return e;
}

/* An engine with these rules (YAML text, NULL: none) and default options. */
static diff_engine *engine(const char *yaml)
{
    diff_options o;
    diff_options_init(&o);
    o.today = "2025-06-01";
    return engine_with(&o, yaml ? rules_file(yaml) : NULL);
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert_not_null(v, "bad test JSON: %s: %s", text, je.text);
    return v;
}

/* One target's answer: headers as JSON text (NULL: Content-Type application/json). */
static json_t *answer(const char *role, int status, const char *headers, const char *body)
{
    json_t *a = json_pack("{s:s,s:i,s:o,s:n}", "role", role, "status", status, "headers",
                          parse(headers ? headers : JSON_HEADERS), "error");
    if (body)
        json_object_set_new(a, "body", json_string(body));
    return a;
}

/* The same with a binary body (body_b64). */
static json_t *answer_bytes(const char *role, int status, const char *headers, const unsigned char *data,
                            size_t len)
{
    json_t *a = answer(role, status, headers, NULL);
    char *b64 = pm_base64_encode(data, len);
    json_object_set_new(a, "body_b64", json_string(b64));
    free(b64);
    return a;
}

/* A result record: py (baseline) and go (candidate); both answers are stolen. */
static json_t *result_of(const char *family, const char *capability, json_t *py, json_t *go)
{
    return json_pack("{s:s,s:s,s:s,s:{s:o,s:o}}", "id", "r1", "family", family, "capability", capability,
                     "responses", "py", py, "go", go);
}

/* diff_result of rec (stolen); asserts a record comes back. */
static json_t *run(diff_engine *e, json_t *rec)
{
    pm_err err = {{0}};
    json_t *d = diff_result(e, rec, &err);
    cr_assert_not_null(d, "diff_result: %s", err.msg);
    json_decref(rec);
    return d;
}

/* Two JSON bodies (application/json) compared with these rules, in family/capability. */
static json_t *bodies_in(diff_engine *e, const char *family, const char *capability, const char *a, const char *b)
{
    return run(e, result_of(family, capability, answer("baseline", 200, NULL, a), answer("candidate", 200, NULL, b)));
}

static json_t *bodies(diff_engine *e, const char *a, const char *b)
{
    return bodies_in(e, "API_V1", "API_REPO", a, b);
}

static char *dump(const json_t *d)
{
    return json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Asserts the verdict and exactly n differences, given as (where, path, kind) triples in
 * the order the engine reports them; consumes d. */
static void expect(json_t *d, const char *verdict, size_t n, ...)
{
    char *text = dump(d);
    cr_assert_not_null(text, "the diff record does not serialize");
    const char *v = json_string_value(json_object_get(d, "verdict"));
    cr_assert(v && strcmp(v, verdict) == 0, "verdict %s, expected %s: %s", v ? v : "(none)", verdict, text);
    const json_t *diffs = json_object_get(d, "differences");
    cr_assert(json_is_array(diffs), "no differences array: %s", text);
    cr_assert_eq(json_array_size(diffs), n, "%zu differences, expected %zu: %s", json_array_size(diffs), n, text);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *where = va_arg(ap, const char *), *path = va_arg(ap, const char *),
                   *kind = va_arg(ap, const char *);
        const json_t *x = json_array_get(diffs, i);
        const char *w = json_string_value(json_object_get(x, "where"));
        const char *p = json_string_value(json_object_get(x, "path"));
        const char *k = json_string_value(json_object_get(x, "kind"));
        cr_assert(w && p && k && strcmp(w, where) == 0 && strcmp(p, path) == 0 && strcmp(k, kind) == 0,
                  "difference %zu is (%s, %s, %s), expected (%s, %s, %s): %s", i, w, p, k, where, path, kind,
                  text);
    }
    va_end(ap);
    bool empty = n == 0;
    cr_assert_eq(json_is_null(json_object_get(d, "signature")), empty, "signature vs differences: %s", text);
    free(text);
    json_decref(d);
}

/* The i-th difference's baseline/candidate value as compact JSON (caller frees). */
static char *value_of(const json_t *d, size_t i, const char *side)
{
    return dump(json_object_get(json_array_get(json_object_get(d, "differences"), i), side));
}

static void expect_value(const json_t *d, size_t i, const char *side, const char *json)
{
    char *got = value_of(d, i, side);
    cr_assert(got && strcmp(got, json) == 0, "difference %zu %s is %s, expected %s", i, side, got, json);
    free(got);
}

/* gzip (wbits 31), zlib (15) or raw deflate (-15) of data at a level. */
static unsigned char *compress_with(const void *data, size_t len, int wbits, int level, long mtime, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit2(&z, level, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h;
    memset(&h, 0, sizeof h);
    h.time = (uLong)mtime;
    if (wbits > 15)
        deflateSetHeader(&z, &h);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* base64url without padding (JWT segments). */
static char *b64url(const char *s)
{
    char *b = pm_base64_encode((const unsigned char *)s, strlen(s));
    char *w = b;
    for (char *r = b; *r; r++) {
        if (*r == '=')
            continue;
        *w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
    }
    *w = '\0';
    return b;
}

static char *jwt(const char *claims, const char *sig)
{
    char *h = b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"), *p = b64url(claims);
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

/* ---- JSON corners ---------------------------------------------------------------------- */

TestSuite(json, .init = scratch_make, .fini = scratch_remove, .timeout = 30);

Test(json, key_order_does_not_matter)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"a\":1,\"b\":{\"x\":true,\"y\":null}}", "{\"b\":{\"y\":null,\"x\":true},\"a\":1}"), "match",
           0);
    diff_free(e);
}

Test(json, numbers_compare_by_value)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"n\":1}", "{\"n\":1.0}"), "match", 0);
    expect(bodies(e, "{\"n\":1.5e1}", "{\"n\":15}"), "match", 0);
    expect(bodies(e, "{\"n\":1}", "{\"n\":2}"), "mismatch", 1, "body", "$.n", "value");
    diff_free(e);
}

Test(json, null_missing_and_empty_array_are_different)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"a\":null}", "{\"a\":[]}"), "mismatch", 1, "body", "$.a", "type");
    /* kind is seen from the candidate: absent there = missing, only there = extra */
    expect(bodies(e, "{\"a\":[]}", "{}"), "mismatch", 1, "body", "$.a", "missing");
    expect(bodies(e, "{}", "{\"a\":[]}"), "mismatch", 1, "body", "$.a", "extra");
    expect(bodies(e, "{\"a\":null}", "{}"), "mismatch", 1, "body", "$.a", "missing");
    diff_free(e);
}

Test(json, nested_arrays)
{
    diff_engine *e = engine(NULL);
    json_t *d = bodies(e, "{\"a\":[[1],[2,3]]}", "{\"a\":[[1],[4,3]]}");
    expect_value(d, 0, "baseline", "2");
    expect_value(d, 0, "candidate", "4");
    expect(d, "mismatch", 1, "body", "$.a[1][0]", "value");
    diff_free(e);
}

Test(json, reordered_array_is_one_order_difference)
{
    diff_engine *e = engine(NULL);
    json_t *d = bodies(e, "{\"a\":[1,{\"k\":2},3]}", "{\"a\":[3,1,{\"k\":2}]}");
    expect_value(d, 0, "baseline", "[1,{\"k\":2},3]");
    expect_value(d, 0, "candidate", "[3,1,{\"k\":2}]");
    expect(d, "mismatch", 1, "body", "$.a", "order");
    diff_free(e);
}

Test(json, arrays_of_different_lengths)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"a\":[1,2]}", "{\"a\":[1,2,3]}"), "mismatch", 1, "body", "$.a[2]", "extra");
    expect(bodies(e, "[1,2,3]", "[1,2]"), "mismatch", 1, "body", "$[2]", "missing");
    diff_free(e);
}

Test(json, unicode_escapes_equal_their_characters)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"name\":\"caf\\u00e9\"}", "{\"name\":\"café\"}"), "match", 0);
    expect(bodies(e, "{\"name\":\"caf\\u00e9\"}", "{\"name\":\"cafe\"}"), "mismatch", 1, "body", "$.name",
           "value");
    diff_free(e);
}

Test(json, duplicate_keys_resolve_the_same_on_both_sides)
{
    diff_engine *e = engine(NULL);
    /* jansson keeps the last value */
    expect(bodies(e, "{\"a\":1,\"a\":2}", "{\"a\":2}"), "match", 0);
    expect(bodies(e, "{\"a\":1,\"a\":2}", "{\"a\":1}"), "mismatch", 1, "body", "$.a", "value");
    diff_free(e);
}

Test(json, huge_numbers_get_a_verdict)
{
    diff_engine *e = engine(NULL);
    /* jansson refuses both (overflow): compared as text */
    expect(bodies(e, "{\"n\":1e400}", "{\"n\":1e400}"), "match", 0);
    expect(bodies(e, "{\"n\":1e400}", "{\"n\": 1e400}"), "mismatch", 1, "body", "line 1", "value");
    expect(bodies(e, "123456789012345678901234567890", "123456789012345678901234567890"), "match", 0);
    expect(bodies(e, "123456789012345678901234567890", "123456789012345678901234567891"), "mismatch", 1, "body",
           "line 1", "value");
    expect(bodies(e, "{\"n\":1e400}", "{\"n\":1}"), "mismatch", 1, "body", "line 1", "value");
    diff_free(e);
}

Test(json, a_100000_deep_body_is_text)
{
    diff_engine *e = engine(NULL);
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    json_t *d = bodies(e, deep, "[]");
    expect(d, "mismatch", 1, "body", "line 1", "value");
    expect(bodies(e, deep, deep), "match", 0);
    free(deep);
    diff_free(e);
}

/* Nested arrays that differ only at the leaf: the comparison stays polynomial (each level
 * used to compare its child twice: 2^depth). */
Test(json, deep_difference_is_fast, .timeout = 10)
{
    diff_engine *e = engine(NULL);
    size_t depth = 200;
    char *a = malloc(2 * depth + 2), *b = malloc(2 * depth + 2);
    memset(a, '[', depth);
    a[depth] = '1';
    memset(a + depth + 1, ']', depth);
    a[2 * depth + 1] = '\0';
    memcpy(b, a, 2 * depth + 2);
    b[depth] = '2';
    json_t *d = bodies(e, a, b);
    const json_t *x = json_array_get(json_object_get(d, "differences"), 0);
    const char *path = json_string_value(json_object_get(x, "path"));
    cr_assert_eq(strlen(path), 1 + 3 * depth);
    char *want = malloc(1 + 3 * depth + 1);
    want[0] = '$';
    for (size_t i = 0; i < depth; i++)
        memcpy(want + 1 + 3 * i, "[0]", 3);
    want[1 + 3 * depth] = '\0';
    expect(d, "mismatch", 1, "body", want, "value");
    free(want);
    free(a);
    free(b);
    diff_free(e);
}

Test(json, nested_pairs_are_fast, .timeout = 10)
{
    /* [[[..[1,2]..,2],1]: every level also tries order detection (a multiset of 2) */
    diff_engine *e = engine(NULL);
    size_t depth = 300;
    char *a = malloc(depth * 4 + 16), *b;
    size_t n = 0;
    memset(a, '[', depth);
    n = depth;
    n += (size_t)sprintf(a + n, "1,2]");
    for (size_t i = 1; i < depth; i++)
        n += (size_t)sprintf(a + n, ",%zu]", i % 2);
    b = strdup(a);
    b[depth + 2] = '3';
    json_t *d = bodies(e, a, b);
    char *want = malloc(1 + 3 * depth + 1);
    want[0] = '$';
    for (size_t i = 0; i + 1 < depth; i++)
        memcpy(want + 1 + 3 * i, "[0]", 3);
    memcpy(want + 1 + 3 * (depth - 1), "[1]", 4);
    expect(d, "mismatch", 1, "body", want, "value");
    free(want);
    free(a);
    free(b);
    diff_free(e);
}

Test(json, bool_vs_string_is_type)
{
    diff_engine *e = engine(NULL);
    expect(bodies(e, "{\"ok\":true}", "{\"ok\":\"true\"}"), "mismatch", 1, "body", "$.ok", "type");
    expect(bodies(e, "{\"ok\":true}", "{\"ok\":false}"), "mismatch", 1, "body", "$.ok", "value");
    expect(bodies(e, "{\"n\":1}", "{\"n\":\"1\"}"), "mismatch", 1, "body", "$.n", "type");
    diff_free(e);
}

/* A value longer than max_value is cut on a character boundary: the difference (and its
 * record) stays valid UTF-8 and is never lost. */
Test(json, long_values_are_cut_on_character_boundaries)
{
    diff_engine *e = engine(NULL);
    char a[1200], b[1200];
    size_t n = 0;
    n += (size_t)snprintf(a + n, sizeof a - n, "{\"a\":[\"x");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(a + n, sizeof a - n, "é");
    snprintf(a + n, sizeof a - n, "\",1]}");
    memcpy(b, a, sizeof a);
    /* the same elements reordered */
    n = 0;
    n += (size_t)snprintf(b + n, sizeof b - n, "{\"a\":[1,\"x");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(b + n, sizeof b - n, "é");
    snprintf(b + n, sizeof b - n, "\"]}");
    json_t *d = bodies(e, a, b);
    expect(json_incref(d), "mismatch", 1, "body", "$.a", "order");
    const char *shown = json_string_value(json_object_get(json_array_get(json_object_get(d, "differences"), 0),
                                                          "baseline"));
    cr_assert_not_null(shown);
    cr_assert(pm_utf8_valid((const unsigned char *)shown, strlen(shown)));
    json_decref(d);
    /* and a long string value itself */
    char sa[800], sb[800];
    n = (size_t)snprintf(sa, sizeof sa, "{\"s\":\"x");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(sa + n, sizeof sa - n, "é");
    snprintf(sa + n, sizeof sa - n, "\"}");
    snprintf(sb, sizeof sb, "{\"s\":\"y\"}");
    d = bodies(e, sa, sb);
    shown = json_string_value(json_object_get(json_array_get(json_object_get(d, "differences"), 0), "baseline"));
    cr_assert(shown && strncmp(shown, "xé", 3) == 0, "%s", shown ? shown : "(null)");
    cr_assert(strlen(shown) > 150, "the cut kept %zu bytes", strlen(shown));
    expect(d, "mismatch", 1, "body", "$.s", "value");
    diff_free(e);
}

/* ---- rules ------------------------------------------------------------------------------ */

TestSuite(rules, .init = scratch_make, .fini = scratch_remove, .timeout = 30);

Test(rules, ignore_header)
{
    diff_engine *e = engine("rules:\n  - {kind: ignore_header, header: X-Request-Id, reason: random}\n");
    json_t *rec = result_of("API_V1", "API_REPO",
                            answer("baseline", 200, "[[\"x-request-id\",\"a\"],[\"X-Other\",\"1\"]]", "{}"),
                            answer("candidate", 200, "[[\"X-Request-ID\",\"b\"],[\"X-Other\",\"2\"]]", "{}"));
    expect(run(e, rec), "mismatch", 1, "header", "x-other", "value");
    diff_free(e);
}

Test(rules, ignore_path_with_star_and_dotdot)
{
    diff_engine *e = engine("rules:\n"
                            "  - {kind: ignore_path, path: \"$.tags[*].id\", reason: db ids}\n"
                            "  - {kind: ignore_path, path: $..etag, reason: per answer}\n");
    expect(bodies(e, "{\"tags\":[{\"id\":1,\"n\":\"a\"},{\"id\":2,\"n\":\"b\"}],\"x\":{\"y\":[{\"etag\":\"e1\"}]}}",
                  "{\"tags\":[{\"id\":7,\"n\":\"a\"},{\"id\":9,\"n\":\"b\"}],\"x\":{\"y\":[{\"etag\":\"e2\"}]}}"),
           "match", 0);
    /* a missing ignored key is ignored too; other keys still compare */
    expect(bodies(e, "{\"tags\":[{\"id\":1,\"n\":\"a\"}],\"etag\":\"x\"}", "{\"tags\":[{\"n\":\"b\"}]}"),
           "mismatch", 1, "body", "$.tags[0].n", "value");
    /* [*] is an index, not a key */
    expect(bodies(e, "{\"tags\":{\"k\":{\"id\":1}}}", "{\"tags\":{\"k\":{\"id\":2}}}"), "mismatch", 1, "body",
           "$.tags.k.id", "value");
    diff_free(e);
}

Test(rules, shape_rfc2822)
{
    diff_engine *e = engine("rules:\n  - {kind: shape, path: $..created, shape: rfc2822, reason: times}\n");
    expect(bodies(e, "{\"r\":{\"created\":\"Sat, 01 Nov 2025 10:00:00 -0000\"}}",
                  "{\"r\":{\"created\":\"Mon, 03 Nov 2025 11:22:33 -0000\"}}"),
           "match", 0);
    expect(bodies(e, "{\"created\":\"Sat, 01 Nov 2025 10:00:00 -0000\"}", "{\"created\":\"2025-11-01T10:00:00Z\"}"),
           "mismatch", 1, "body", "$.created", "value");
    /* epoch seconds on both sides */
    expect(bodies(e, "{\"created\":1700000000}", "{\"created\":1700000999}"), "match", 0);
    expect(bodies(e, "{\"created\":1700000000}", "{\"created\":\"Sat, 01 Nov 2025 10:00:00 -0000\"}"), "mismatch",
           1, "body", "$.created", "value");
    /* missing still counts */
    expect(bodies(e, "{\"created\":\"Sat, 01 Nov 2025 10:00:00 -0000\"}", "{}"), "mismatch", 1, "body",
           "$.created", "missing");
    diff_free(e);
}

Test(rules, shape_rfc3339_uuid_digest_jwt_string)
{
    diff_engine *e = engine("rules:\n"
                            "  - {kind: shape, path: $.t, shape: rfc3339, reason: r}\n"
                            "  - {kind: shape, path: $.u, shape: uuid, reason: r}\n"
                            "  - {kind: shape, path: $.d, shape: digest, reason: r}\n"
                            "  - {kind: shape, path: $.j, shape: jwt, reason: r}\n"
                            "  - {kind: shape, path: $.s, shape: string, reason: r}\n");
    expect(bodies(e,
                  "{\"t\":\"2025-11-01T10:00:00Z\",\"u\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\","
                  "\"d\":\"sha256:0123abcd\",\"j\":\"aaa.bbb.ccc\",\"s\":\"tok1\"}",
                  "{\"t\":\"2026-01-02T03:04:05.123456+02:00\",\"u\":\"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\","
                  "\"d\":\"sha512:ffee\",\"j\":\"xx.yy.\",\"s\":\"other\"}"),
           "match", 0);
    expect(bodies(e,
                  "{\"t\":\"2025-11-01T10:00:00Z\",\"u\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\","
                  "\"d\":\"sha256:0123abcd\",\"j\":\"aaa.bbb.ccc\",\"s\":\"tok1\"}",
                  "{\"t\":\"Sat, 01 Nov 2025 10:00:00 -0000\",\"u\":\"1b4e28ba2fa111d2883f0016d3cca427\","
                  "\"d\":\"0123abcd\",\"j\":\"aaa.bbb\",\"s\":\"\"}"),
           "mismatch", 5, "body", "$.t", "value", "body", "$.u", "value", "body", "$.d", "value", "body", "$.j",
           "value", "body", "$.s", "value");
    expect(bodies(e, "{\"t\":1700000000}", "{\"t\":1600000000}"), "match", 0);
    expect(bodies(e, "{\"u\":1}", "{\"u\":2}"), "mismatch", 1, "body", "$.u", "value"); /* only times take epochs */
    diff_free(e);
}

Test(rules, jwt_claims_without_per_issue_fields)
{
    diff_engine *e = engine("rules:\n  - {kind: jwt, path: $.token, reason: per issue}\n");
    char *ta = jwt("{\"sub\":\"alice\",\"iat\":1,\"exp\":2,\"nbf\":1,\"jti\":\"a\",\"access\":[{\"type\":\"repository\"}]}",
                   "sigA");
    char *tb = jwt("{\"access\":[{\"type\":\"repository\"}],\"sub\":\"alice\",\"iat\":5,\"exp\":9,\"nbf\":5,\"jti\":\"b\"}",
                   "sigB");
    char *tc = jwt("{\"sub\":\"bob\",\"iat\":1,\"exp\":2,\"nbf\":1,\"jti\":\"a\",\"access\":[{\"type\":\"repository\"}]}",
                   "sigA");
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "{\"token\":\"%s\"}", ta);
    snprintf(b, sizeof b, "{\"token\":\"%s\"}", tb);
    snprintf(c, sizeof c, "{\"token\":\"%s\"}", tc);
    expect(bodies(e, a, b), "match", 0);
    json_t *d = bodies(e, a, c);
    expect_value(d, 0, "baseline", "\"alice\"");
    expect_value(d, 0, "candidate", "\"bob\"");
    expect(d, "mismatch", 1, "body", "$.token.sub", "value");
    /* not a JWT on one side: compared as it is */
    expect(bodies(e, a, "{\"token\":\"opaque\"}"), "mismatch", 1, "body", "$.token", "value");
    free(ta);
    free(tb);
    free(tc);
    diff_free(e);
}

Test(rules, url_host_on_a_json_string)
{
    diff_engine *e = engine("rules:\n  - {kind: url_host, path: $.self, reason: own host}\n");
    expect(bodies(e, "{\"self\":\"https://quay-py.example.com:8443/api/v1/repository/a/b\"}",
                  "{\"self\":\"https://quay-go.example.com/api/v1/repository/a/b\"}"),
           "match", 0);
    expect(bodies(e, "{\"self\":\"http://a/x\"}", "{\"self\":\"http://b/x\"}"), "match", 0); /* short hosts */
    expect(bodies(e, "{\"self\":\"https://quay-py.example.com/api/v1/repository/a/b\"}",
                  "{\"self\":\"https://quay-go.example.com/api/v1/repository/a/c\"}"),
           "mismatch", 1, "body", "$.self", "value");
    diff_free(e);
}

Test(rules, url_host_on_headers)
{
    diff_engine *e = engine("rules:\n"
                            "  - {kind: url_host, header: Link, reason: own host}\n"
                            "  - {kind: url_host, header: www-authenticate, reason: own host}\n");
    json_t *rec = result_of(
        "REGISTRY_V2", "V2_CATALOG",
        answer("baseline", 401,
               "[[\"Link\",\"<https://py.example.com/v2/_catalog?n=2&last=b>; rel=\\\"next\\\"\"],"
               "[\"WWW-Authenticate\",\"Bearer realm=\\\"https://py.example.com/v2/auth\\\",service=\\\"py:8001\\\"\"]]",
               ""),
        answer("candidate", 401,
               "[[\"link\",\"<https://g/v2/_catalog?n=2&last=b>; rel=\\\"next\\\"\"],"
               "[\"www-authenticate\",\"Bearer realm=\\\"https://g/v2/auth\\\",service=\\\"g:1\\\"\"]]",
               ""));
    expect(run(e, rec), "match", 0);
    rec = result_of("REGISTRY_V2", "V2_CATALOG",
                    answer("baseline", 200, "[[\"Link\",\"<https://py.example.com/v2/_catalog?n=2&last=b>\"]]", ""),
                    answer("candidate", 200, "[[\"Link\",\"<https://go.example.com/v2/_catalog?n=2&last=c>\"]]", ""));
    expect(run(e, rec), "mismatch", 1, "header", "link", "value");
    diff_free(e);
}

Test(rules, normalize_location_hosts_and_uuids)
{
    diff_engine *e = engine("rules:\n  - {kind: normalize, header: location, hosts: true, uuids: true, reason: r}\n");
    json_t *rec = result_of(
        "REGISTRY_V2", "V2_BLOB_UPLOAD",
        answer("baseline", 202,
               "[[\"Location\",\"https://py.example.com/v2/ns/repo/blobs/uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427\"]]",
               ""),
        answer("candidate", 202,
               "[[\"Location\",\"https://go.example.com/v2/ns/repo/blobs/uploads/6fa459ea-ee8a-3ca4-894e-db77e160355e\"]]",
               ""));
    expect(run(e, rec), "match", 0);
    rec = result_of(
        "REGISTRY_V2", "V2_BLOB_UPLOAD",
        answer("baseline", 202,
               "[[\"Location\",\"https://py.example.com/v2/ns/repo/blobs/uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427\"]]",
               ""),
        answer("candidate", 202,
               "[[\"Location\",\"https://go.example.com/v2/ns/other/blobs/uploads/6fa459ea-ee8a-3ca4-894e-db77e160355e\"]]",
               ""));
    expect(run(e, rec), "mismatch", 1, "header", "location", "value");
    diff_free(e);
}

static json_t *upload_locations(const char *py, const char *go)
{
    char a[256], b[256];
    snprintf(a, sizeof a, "[[\"Location\",\"%s\"]]", py);
    snprintf(b, sizeof b, "[[\"Location\",\"%s\"]]", go);
    return result_of("REGISTRY_V2", "V2_BLOB_UPLOAD", answer("baseline", 202, a, ""), answer("candidate", 202, b, ""));
}

/* drop_params: the parameter goes whole, so one side having it and the other not is no
 * difference (distribution's `_state`, which Python's answers lack); others still count. */
Test(rules, normalize_drop_params_absorbs_a_parameter_only_one_side_has)
{
    diff_engine *e = engine("rules:\n  - {kind: normalize, header: location, uuids: true, drop_params: [_state], "
                            "reason: r}\n");
    const char *py = "/v2/ns/repo/blobs/uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    expect(run(e, upload_locations(py, "/v2/ns/repo/blobs/uploads/6fa459ea-ee8a-3ca4-894e-db77e160355e?_state=AbC")),
           "match", 0);
    expect(run(e, upload_locations("/u/1?_state=x&n=1", "/u/1?n=1&_state=y")), "match", 0);
    expect(run(e, upload_locations("/u/1?n=1", "/u/1?_state=y&n=1")), "match", 0);
    expect(run(e, upload_locations("/u/1?my_state=1", "/u/1")), "mismatch", 1, "header", "location", "value");
    expect(run(e, upload_locations("/u/1?_state=1&n=1", "/u/1?_state=1&n=2")), "mismatch", 1, "header", "location",
           "value");
    diff_free(e);
}

/* The shipped Quay rules absorb distribution's `_state` in upload Locations. */
Test(rules, quay_rules_absorb_the_upload_state)
{
    diff_options o;
    diff_options_init(&o);
    o.today = "2026-12-01";
    diff_engine *e = engine_with(&o, PMIRROR_SOURCE_DIR "/config/quay/rules.yaml");
    expect(run(e, upload_locations("/v2/ns/repo/blobs/uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                                   "/v2/ns/repo/blobs/uploads/6fa459ea-ee8a-3ca4-894e-db77e160355e?_state=q1w2e3")),
           "match", 0);
    diff_free(e);
}

/* Hosts from the suite: each target's own host:port, also inside other text. */
Test(rules, normalize_with_the_suites_hosts)
{
    const char *suite_yaml = "targets:\n"
                             "  - {name: py, url: \"http://127.0.0.1:8001\", role: baseline}\n"
                             "  - {name: go, url: \"http://127.0.0.1:8002\", role: candidate, sandbox: true}\n";
    char spath[128];
    snprintf(spath, sizeof spath, "%s/suite.yaml", scratch_dir);
    FILE *f = fopen(spath, "w");
    cr_assert_not_null(f);
    fputs(suite_yaml, f);
    fclose(f);
    pm_err err = {{0}};
    pm_suite *suite = pm_suite_load(spath, PMIRROR_SOURCE_DIR "/config/quay", &err);
    cr_assert_not_null(suite, "%s", err.msg);
    diff_options o;
    diff_options_init(&o);
    o.suite = suite;
    diff_engine *e = engine_with(&o, rules_file("rules:\n  - {kind: normalize, header: x-where, hosts: true, "
                                                "reason: r}\n"));
    json_t *rec = result_of("REGISTRY_V2", "V2_BLOB_UPLOAD",
                            answer("baseline", 200, "[[\"X-Where\",\"on 127.0.0.1:8001 now\"]]", ""),
                            answer("candidate", 200, "[[\"X-Where\",\"on 127.0.0.1:8002 now\"]]", ""));
    expect(run(e, rec), "match", 0);
    diff_free(e);
    pm_suite_free(suite);
}

Test(rules, array_set)
{
    diff_engine *e = engine("rules:\n  - {kind: array_set, path: $.tags, reason: unordered}\n");
    expect(bodies(e, "{\"tags\":[\"a\",\"b\",\"c\"]}", "{\"tags\":[\"c\",\"a\",\"b\"]}"), "match", 0);
    json_t *d = bodies(e, "{\"tags\":[\"a\",\"b\"]}", "{\"tags\":[\"c\",\"a\"]}");
    expect_value(d, 0, "baseline", "\"b\"");
    expect_value(d, 1, "candidate", "\"c\"");
    expect(d, "mismatch", 2, "body", "$.tags[1]", "missing", "body", "$.tags[0]", "extra");
    /* other arrays keep their order */
    expect(bodies(e, "{\"x\":[1,2]}", "{\"x\":[2,1]}"), "mismatch", 1, "body", "$.x", "order");
    diff_free(e);
}

Test(rules, tolerance)
{
    diff_engine *e = engine("rules:\n  - {kind: tolerance, path: $..size, abs: 0.5, reason: rounding}\n");
    expect(bodies(e, "{\"a\":{\"size\":1.0}}", "{\"a\":{\"size\":1.3}}"), "match", 0);
    expect(bodies(e, "{\"a\":{\"size\":1}}", "{\"a\":{\"size\":2}}"), "mismatch", 1, "body", "$.a.size", "value");
    diff_free(e);
}

Test(rules, families_and_capabilities_limit_a_rule)
{
    diff_engine *e = engine("rules:\n"
                            "  - {kind: ignore_path, path: $.x, families: [REGISTRY_V1], reason: r}\n"
                            "  - {kind: ignore_path, path: $.y, capabilities: [V2_AUTH], reason: r}\n");
    const char *a = "{\"x\":1,\"y\":1}", *b = "{\"x\":2,\"y\":2}";
    expect(bodies_in(e, "REGISTRY_V1", "V1_PING", a, b), "mismatch", 1, "body", "$.y", "value");
    expect(bodies_in(e, "REGISTRY_V2", "V2_AUTH", a, b), "mismatch", 1, "body", "$.x", "value");
    expect(bodies_in(e, "API_V1", "API_REPO", a, b), "mismatch", 2, "body", "$.x", "value", "body", "$.y", "value");
    diff_free(e);
}

Test(rules, expired_rules_stop_applying_and_are_counted)
{
    diff_options o;
    diff_options_init(&o);
    o.today = "2025-06-01";
    diff_engine *e = engine_with(&o, rules_file("rules:\n"
                                                "  - {kind: ignore_path, path: $.x, owner: bob, expires: \"2025-05-31\", "
                                                "reason: known bug}\n"
                                                "  - {kind: ignore_path, path: $.y, owner: bob, expires: \"2025-06-01\", "
                                                "reason: known bug}\n"
                                                "  - {kind: ignore_header, header: x-h, owner: bob, "
                                                "expires: \"2025-01-01\", reason: known bug}\n"));
    expect(bodies(e, "{\"x\":1,\"y\":1}", "{\"x\":2,\"y\":2}"), "mismatch", 1, "body", "$.x", "value");
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 1);
    /* equal values: nothing would have been absorbed */
    expect(bodies(e, "{\"x\":1,\"y\":1}", "{\"x\":1,\"y\":2}"), "match", 0);
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 1);
    json_t *rec = result_of("API_V1", "API_REPO", answer("baseline", 200, "[[\"X-H\",\"1\"]]", "{}"),
                            answer("candidate", 200, "[[\"X-H\",\"1\"]]", "{}"));
    expect(run(e, rec), "match", 0);
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 1);
    rec = result_of("API_V1", "API_REPO", answer("baseline", 200, "[[\"X-H\",\"1\"]]", "{}"),
                    answer("candidate", 200, "[[\"X-H\",\"2\"]]", "{}"));
    json_t *d = run(e, rec);
    cr_assert_eq(json_integer_value(json_object_get(d, "expired_rules_hit")), 1);
    expect(d, "mismatch", 1, "header", "x-h", "value");
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 2);
    cr_assert_eq(diff_get_stats(e)->records, 4);
    cr_assert_eq(diff_get_stats(e)->match, 2);
    cr_assert_eq(diff_get_stats(e)->mismatch, 2);
    diff_free(e);
}

Test(rules, an_expired_rule_lets_a_later_rule_apply_and_is_named)
{
    diff_options o;
    diff_options_init(&o);
    o.today = "2025-06-01";
    diff_engine *e = engine_with(&o, rules_file("rules:\n"
                                                "  - {kind: ignore_path, path: $.t, owner: bob, expires: \"2025-05-01\", "
                                                "reason: known bug}\n"
                                                "  - {kind: shape, path: $..t, shape: uuid, reason: random id}\n"
                                                "  - {kind: ignore_path, path: $.n, owner: eve, expires: \"2025-05-02\", "
                                                "reason: known too}\n"));
    /* $.t: the expired ignore is as if absent, the shape rule after it applies */
    const char *u1 = "\"6f1c2a36-1d6a-4c1e-9a53-0c8a3a1f9b10\"", *u2 = "\"0b5c7d4e-8a2f-4b3c-9d1e-2f6a7b8c9d0e\"";
    char a[256], b[256];
    snprintf(a, sizeof a, "{\"t\":%s,\"n\":1}", u1);
    snprintf(b, sizeof b, "{\"t\":%s,\"n\":1}", u2);
    expect(bodies(e, a, b), "match", 0);
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 0);
    /* not a UUID: the shape rule reports it; nothing is counted against the expired rule */
    expect(bodies(e, "{\"t\":\"x\",\"n\":1}", "{\"t\":\"y\",\"n\":1}"), "mismatch", 1, "body", "$.t", "value");
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 0);
    /* $.n: only the expired rule matches: counted and named in the diff record */
    json_t *d = bodies(e, "{\"t\":\"x\",\"n\":1}", "{\"t\":\"x\",\"n\":2}");
    json_t *named = json_array_get(json_object_get(d, "expired_rules"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(named, "owner")), "eve");
    cr_assert_str_eq(json_string_value(json_object_get(named, "expires")), "2025-05-02");
    cr_assert_str_eq(json_string_value(json_object_get(named, "reason")), "known too");
    expect(d, "mismatch", 1, "body", "$.n", "value");
    cr_assert_eq(diff_get_stats(e)->expired_rules_hit, 1);
    diff_free(e);
}

/* Expects diff_new to fail with a message starting "<rules path>:LINE:" and containing
 * WHAT. */
static void rules_fail(const char *yaml, unsigned line, const char *what)
{
    diff_options o;
    diff_options_init(&o);
    const char *path = rules_file(yaml);
    pm_err err = {{0}};
    diff_engine *e = diff_new(&o, path, &err);
    cr_assert_null(e, "rules loaded but should not: %s", yaml);
    char want[256];
    snprintf(want, sizeof want, "%s:%u:", path, line);
    cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "message \"%s\" does not start with \"%s\"", err.msg, want);
    cr_assert(strstr(err.msg, what), "message \"%s\" does not say \"%s\"", err.msg, what);
}

Test(rules, file_errors_name_file_and_line)
{
    rules_fail("rules:\n  - {kind: ignore_header, header: date, reason: r}\n  - {kind: ignore_header, header: server}\n",
               3, "reason");
    rules_fail("rules:\n  - {kind: ignore_header, header: date, reason: r}\n  - {kind: ignore_heder, header: x, reason: r}\n",
               3, "ignore_heder");
    rules_fail("rules:\n  - kind: ignore_header\n    header: date\n    reason: r\n    resaon: typo\n", 5,
               "unknown key 'resaon'");
    rules_fail("rules:\n  - {kind: ignore_path, path: $.x, expires: \"2025-01-01\", reason: r}\n", 2, "owner");
    rules_fail("rules:\n  - {kind: shape, path: $.x, shape: rfc1123, reason: r}\n", 2, "rfc1123");
    rules_fail("rules:\n  - {kind: ignore_path, path: x, reason: r}\n", 2, "starts with $");
    rules_fail("rules:\n  - {kind: ignore_path, path: $.x, header: y, reason: r}\n", 2, "exactly one");
    rules_fail("rules:\n  - {kind: tolerance, path: $.x, abs: -1, reason: r}\n", 2, "abs");
    /* a list, not a scalar (a scalar would silently match nothing) */
    rules_fail("rules:\n  - {kind: ignore_path, path: $.x, families: REGISTRY_V1, reason: r}\n", 2, "families");
    /* kinds that only work on a header or only on a path */
    rules_fail("rules:\n  - {kind: ignore_header, path: $.x, reason: r}\n", 2, "header");
}

Test(rules, the_shipped_rules_load)
{
    diff_engine *e = engine_with(&(diff_options){.max_decoded = 1 << 20, .max_differences = 50, .max_value = 200},
                                 SHIPPED_RULES);
    json_t *rec = result_of("REGISTRY_V2", "V2_MANIFEST_PULL",
                            answer("baseline", 200, "[[\"Date\",\"Mon, 01 Jan 2024 00:00:00 GMT\"],[\"Server\",\"a\"]]",
                                   "{\"created\":\"Sat, 01 Nov 2025 10:00:00 -0000\"}"),
                            answer("candidate", 200, "[[\"date\",\"Tue, 02 Jan 2024 00:00:00 GMT\"]]",
                                   "{\"created\":\"Mon, 03 Nov 2025 11:22:33 -0000\"}"));
    expect(run(e, rec), "match", 0);
    diff_free(e);
}

/* ---- headers ------------------------------------------------------------------------------ */

TestSuite(headers, .init = scratch_make, .fini = scratch_remove, .timeout = 30);

static json_t *with_headers(const char *ha, const char *hb)
{
    return result_of("API_V1", "API_REPO", answer("baseline", 200, ha, "{}"), answer("candidate", 200, hb, "{}"));
}

Test(headers, names_are_case_insensitive)
{
    diff_engine *e = engine(NULL);
    expect(run(e, with_headers("[[\"Content-Type\",\"application/json\"],[\"X-A\",\"1\"]]",
                               "[[\"x-a\",\"1\"],[\"content-type\",\"application/json\"]]")),
           "match", 0);
    expect(run(e, with_headers("[[\"X-A\",\"v\"]]", "[[\"x-a\",\"V\"]]")), "mismatch", 1, "header", "x-a", "value");
    diff_free(e);
}

Test(headers, missing_and_extra)
{
    diff_engine *e = engine(NULL);
    json_t *d = run(e, with_headers("[[\"X-Docker-Content-Digest\",\"sha256:1\"]]", "[]"));
    expect_value(d, 0, "baseline", "\"sha256:1\"");
    expect_value(d, 0, "candidate", "null");
    expect(d, "mismatch", 1, "header", "x-docker-content-digest", "missing");
    expect(run(e, with_headers("[]", "[[\"X-New\",\"1\"]]")), "mismatch", 1, "header", "x-new", "extra");
    diff_free(e);
}

Test(headers, multiple_values_are_ordered)
{
    diff_engine *e = engine(NULL);
    expect(run(e, with_headers("[[\"Link\",\"a\"],[\"X\",\"1\"],[\"link\",\"b\"]]",
                               "[[\"LINK\",\"a\"],[\"Link\",\"b\"],[\"X\",\"1\"]]")),
           "match", 0);
    json_t *d = run(e, with_headers("[[\"Link\",\"a\"],[\"Link\",\"b\"]]", "[[\"Link\",\"b\"],[\"Link\",\"a\"]]"));
    expect_value(d, 0, "baseline", "\"a\\nb\"");
    expect(d, "mismatch", 1, "header", "link", "value");
    expect(run(e, with_headers("[[\"Link\",\"a\"],[\"Link\",\"b\"]]", "[[\"Link\",\"a\"]]")), "mismatch", 1,
           "header", "link", "value");
    diff_free(e);
}

/* A result line as written, for what jansson would not write (escaped letters in a name). */
static json_t *run_text(diff_engine *e, const char *line)
{
    pm_err err = {{0}};
    json_t *d = diff_result_text(e, line, strlen(line), &err);
    cr_assert_not_null(d, "diff_result_text: %s", err.msg);
    return d;
}

/* Headers are read off the line: escaped names and values read as their text. */
Test(headers, escaped_names_and_values)
{
    diff_engine *e = engine(NULL);
    const char *line = "{\"id\":\"r1\",\"family\":\"F\",\"capability\":\"C\",\"responses\":{"
                       "\"py\":{\"role\":\"baseline\",\"status\":200,\"body\":\"{\\\"a\\\":1}\",\"headers\":["
                       "[\"Content-\\u0054ype\",\"application/json\"],[\"X-\\u0041\",\"caf\\u00e9 \\\"q\\\"\"],"
                       "[\"X-B\",\"1\\n2\"]]},"
                       "\"go\":{\"role\":\"candidate\",\"status\":200,\"body\":\"{\\\"a\\\":2}\",\"headers\":["
                       "[\"content-type\",\"application/json\"],[\"x-a\",\"caf\xc3\xa9 \\\"q\\\"\"],"
                       "[\"x-\\u0062\",\"1\\n3\"]]}}}";
    json_t *d = run_text(e, line);
    expect_value(d, 0, "baseline", "\"1\\n2\"");
    expect_value(d, 0, "candidate", "\"1\\n3\"");
    expect(d, "mismatch", 2, "header", "x-b", "value", "body", "$.a", "value"); /* the Content-Type read */
    diff_free(e);
}

/* Names in their first order, baseline's then candidate's, each once; the values of one
 * name joined in order, wherever they are in the list. */
Test(headers, differences_in_the_order_names_first_appear)
{
    diff_engine *e = engine(NULL);
    json_t *d = run(e, with_headers("[[\"B\",\"1\"],[\"A\",\"1\"],[\"X\",\"1\"],[\"b\",\"2\"]]",
                                    "[[\"a\",\"2\"],[\"C\",\"1\"],[\"x\",\"1\"],[\"B\",\"1\"],[\"B\",\"2\"]]"));
    expect(d, "mismatch", 2, "header", "a", "value", "header", "c", "extra");
    d = run(e, with_headers("[[\"B\",\"1\"],[\"A\",\"1\"],[\"b\",\"2\"]]", "[[\"a\",\"1\"],[\"B\",\"1\"]]"));
    expect_value(d, 0, "baseline", "\"1\\n2\"");
    expect(d, "mismatch", 1, "header", "b", "value");
    diff_free(e);
}

/* More headers than the comparison keeps on its stack. */
Test(headers, many_headers)
{
    diff_engine *e = engine(NULL);
    json_t *ha = json_array(), *hb = json_array();
    char name[32], value[300];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "X-H%d", i);
        json_array_append_new(ha, json_pack("[ss]", name, value));
        if (i != 123)
            json_array_insert_new(hb, 0, json_pack("[ss]", name, value));
    }
    char *a = json_dumps(ha, JSON_COMPACT), *b = json_dumps(hb, JSON_COMPACT);
    expect(run(e, with_headers(a, b)), "mismatch", 1, "header", "x-h123", "missing");
    free(a);
    free(b);
    json_decref(ha);
    json_decref(hb);
    diff_free(e);
}

/* ---- status ------------------------------------------------------------------------------- */

TestSuite(status, .init = scratch_make, .fini = scratch_remove, .timeout = 30);

Test(status, a_different_status_is_a_value_difference)
{
    diff_engine *e = engine(NULL);
    json_t *d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{}"),
                                 answer("candidate", 404, NULL, "{}")));
    expect_value(d, 0, "baseline", "200");
    expect_value(d, 0, "candidate", "404");
    expect(d, "mismatch", 1, "status", "", "value");
    diff_free(e);
}

/* ---- bodies ------------------------------------------------------------------------------- */

TestSuite(body, .init = scratch_make, .fini = scratch_remove, .timeout = 60);

Test(body, gzip_on_both_sides_is_compared_decoded)
{
    diff_engine *e = engine(NULL);
    const char *ja = "{\"tags\":[\"latest\",\"v1\"],\"name\":\"repo\"}";
    const char *jb = "{\"name\":\"repo\",\"tags\":[\"latest\",\"v1\"]}";
    size_t la, lb;
    unsigned char *ga = compress_with(ja, strlen(ja), 31, 1, 1000, &la);
    unsigned char *gb = compress_with(jb, strlen(jb), 31, 9, 2000, &lb);
    cr_assert(la != lb || memcmp(ga, gb, la) != 0);
    const char *h = "[[\"Content-Type\",\"application/json\"],[\"Content-Encoding\",\"gzip\"]]";
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, ga, la),
                            answer_bytes("candidate", 200, h, gb, lb))),
           "match", 0);
    /* one side compressed, the other not (Content-Encoding differs: an ordinary header) */
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, ga, la),
                            answer("candidate", 200, "[[\"Content-Type\",\"application/json\"]]", jb))),
           "mismatch", 1, "header", "content-encoding", "missing");
    free(ga);
    free(gb);
    diff_free(e);
}

Test(body, gzip_magic_without_the_header_is_decoded)
{
    diff_engine *e = engine(NULL);
    const char *j = "{\"a\":1}";
    size_t l;
    unsigned char *g = compress_with(j, strlen(j), 31, 6, 0, &l);
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, NULL, g, l),
                            answer("candidate", 200, NULL, "{\"a\": 1}"))),
           "match", 0);
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, NULL, g, l),
                            answer("candidate", 200, NULL, "{\"a\": 2}"))),
           "mismatch", 1, "body", "$.a", "value");
    /* magic bytes but not gzip: the bytes are compared */
    const unsigned char fake[] = {0x1f, 0x8b, 'x', 'y', 'z'};
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, NULL, fake, sizeof fake),
                            answer_bytes("candidate", 200, NULL, fake, sizeof fake))),
           "match", 0);
    free(g);
    diff_free(e);
}

Test(body, a_gzip_bomb_is_too_large)
{
    diff_options o;
    diff_options_init(&o);
    o.max_decoded = 1u << 20;
    diff_engine *e = engine_with(&o, NULL);
    size_t big = 10u << 20, l;
    unsigned char *zeros = calloc(1, big);
    unsigned char *g = compress_with(zeros, big, 31, 9, 0, &l);
    free(zeros);
    cr_assert_lt(l, 64u << 10);
    const char *h = "[[\"Content-Type\",\"application/json\"],[\"Content-Encoding\",\"gzip\"]]";
    size_t lf;
    unsigned char *gf = compress_with("{}", 2, 31, 6, 0, &lf);
    for (int side = 0; side < 2; side++) {
        json_t *bomb = answer_bytes(side ? "candidate" : "baseline", 200, h, g, l);
        json_t *fine = answer_bytes(side ? "baseline" : "candidate", 200, h, gf, lf);
        json_t *d = run(e, side ? result_of("API_V1", "API_REPO", fine, bomb) : result_of("API_V1", "API_REPO", bomb, fine));
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "error"), "body")), "too_large");
        expect(d, "error", 0);
    }
    /* also without Content-Encoding (found by the magic bytes) */
    json_t *d = run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, NULL, g, l),
                                 answer_bytes("candidate", 200, NULL, g, l)));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "error"), "body")), "too_large");
    expect(d, "error", 0);
    free(g);
    free(gf);
    diff_free(e);
}

Test(body, deflate_zlib_and_raw)
{
    diff_engine *e = engine(NULL);
    const char *j = "{\"a\":[1,2,3]}";
    const char *h = "[[\"Content-Type\",\"application/json\"],[\"Content-Encoding\",\"deflate\"]]";
    size_t lz, lr;
    unsigned char *z = compress_with(j, strlen(j), 15, 6, 0, &lz);
    unsigned char *r = compress_with(j, strlen(j), -15, 6, 0, &lr);
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, z, lz),
                            answer_bytes("candidate", 200, h, r, lr))),
           "match", 0);
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, z, lz),
                            answer("candidate", 200, h, "{\"a\":[1,2,4]}"))),
           "error", 0); /* "deflate" but plain text: cannot decode */
    size_t l2;
    unsigned char *r2 = compress_with("{\"a\":[1,2,4]}", 13, -15, 6, 0, &l2);
    expect(run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, z, lz),
                            answer_bytes("candidate", 200, h, r2, l2))),
           "mismatch", 1, "body", "$.a[2]", "value");
    free(r2);
    free(z);
    free(r);
    diff_free(e);
}

Test(body, text_differs_on_line_3)
{
    diff_engine *e = engine(NULL);
    const char *h = "[[\"Content-Type\",\"text/plain; charset=utf-8\"]]";
    json_t *d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, h, "one\ntwo\nthree\nfour\n"),
                                 answer("candidate", 200, h, "one\ntwo\nTHREE\nfour\n")));
    expect_value(d, 0, "baseline", "\"three\"");
    expect_value(d, 0, "candidate", "\"THREE\"");
    expect(d, "mismatch", 1, "body", "line 3", "value");
    d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, h, "one\ntwo\n"),
                         answer("candidate", 200, h, "one\ntwo\nthree\n")));
    expect(d, "mismatch", 1, "body", "line 3", "extra");
    diff_free(e);
}

Test(body, text_that_is_not_utf8_still_makes_a_valid_record)
{
    diff_engine *e = engine(NULL);
    const char *h = "[[\"Content-Type\",\"text/plain; charset=latin1\"]]";
    const unsigned char a[] = "caf\xe9\nx\n", b[] = "caf\xe8\nx\n";
    json_t *d = run(e, result_of("API_V1", "API_REPO", answer_bytes("baseline", 200, h, a, sizeof a - 1),
                                 answer_bytes("candidate", 200, h, b, sizeof b - 1)));
    expect(d, "mismatch", 1, "body", "line 1", "value");
    diff_free(e);
}

Test(body, binary_bodies_by_length_and_sha256)
{
    diff_engine *e = engine(NULL);
    const char *h = "[[\"Content-Type\",\"application/octet-stream\"]]";
    const unsigned char a[] = {0x00, 0xff, 0xfe, 0x01, 0x80}, b[] = {0x00, 0xff, 0xfe, 0x01, 0x81, 0x02};
    json_t *d = run(e, result_of("REGISTRY_V2", "V2_BLOB_PULL", answer_bytes("baseline", 200, h, a, sizeof a),
                                 answer_bytes("candidate", 200, h, b, sizeof b)));
    char ha[65], hb[65], want[128];
    pm_sha256_hex(a, sizeof a, ha);
    pm_sha256_hex(b, sizeof b, hb);
    snprintf(want, sizeof want, "{\"len\":5,\"sha256\":\"%s\"}", ha);
    expect_value(d, 0, "baseline", want);
    snprintf(want, sizeof want, "{\"len\":6,\"sha256\":\"%s\"}", hb);
    expect_value(d, 0, "candidate", want);
    expect(d, "mismatch", 1, "body", "", "value");
    expect(run(e, result_of("REGISTRY_V2", "V2_BLOB_PULL", answer_bytes("baseline", 200, h, a, sizeof a),
                            answer_bytes("candidate", 200, h, a, sizeof a))),
           "match", 0);
    diff_free(e);
}

/* ---- verdicts ------------------------------------------------------------------------------ */

TestSuite(verdict, .init = scratch_make, .fini = scratch_remove, .timeout = 30);

Test(verdict, a_failed_baseline_is_an_error)
{
    diff_engine *e = engine(NULL);
    json_t *py = json_pack("{s:s,s:s}", "role", "baseline", "error", "timeout");
    json_t *d = run(e, result_of("API_V1", "API_REPO", py, answer("candidate", 200, NULL, "{}")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "error"), "py")), "timeout");
    cr_assert_eq(json_array_size(json_object_get(d, "noise")), 0);
    expect(d, "error", 0);
    json_t *go = json_pack("{s:s,s:s}", "role", "candidate", "error", "reset");
    d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{}"), go));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "error"), "go")), "reset");
    expect(d, "error", 0);
    cr_assert_eq(diff_get_stats(e)->error, 2);
    diff_free(e);
}

Test(verdict, a_skipped_candidate_is_skipped)
{
    diff_engine *e = engine(NULL);
    json_t *go = json_pack("{s:s,s:b,s:s}", "role", "candidate", "skipped", 1, "error", "skipped_unsafe");
    expect(run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{}"), go)), "skipped", 0);
    cr_assert_eq(diff_get_stats(e)->skipped, 1);
    diff_free(e);
}

Test(verdict, equal_answers_match_and_fields_are_copied)
{
    diff_engine *e = engine(NULL);
    json_t *py = answer("baseline", 200, NULL, "{\"a\":1}"), *go = answer("candidate", 200, NULL, "{\"a\":1}");
    json_object_set_new(py, "latency_us", json_integer(1200));
    json_object_set_new(go, "latency_us", json_integer(3400));
    json_t *rec = result_of("API_V1", "API_REPO", py, go);
    json_object_set_new(rec, "switch", json_string("ROUTE_OWNER_FAMILY_API_V1"));
    json_object_set_new(rec, "cohort", parse("{\"org\":\"acme\",\"repo\":\"acme/app\",\"user\":null}"));
    json_t *d = run(e, rec);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "latency"), "py")), 1200);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "latency"), "go")), 3400);
    cr_assert_str_eq(json_string_value(json_object_get(d, "id")), "r1");
    cr_assert_str_eq(json_string_value(json_object_get(d, "family")), "API_V1");
    cr_assert_str_eq(json_string_value(json_object_get(d, "capability")), "API_REPO");
    cr_assert_str_eq(json_string_value(json_object_get(d, "switch")), "ROUTE_OWNER_FAMILY_API_V1");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "cohort"), "repo")), "acme/app");
    cr_assert_eq(json_integer_value(json_object_get(d, "v")), 1);
    cr_assert_null(json_object_get(d, "error"));
    expect(d, "match", 0);
    diff_free(e);
}

Test(verdict, a_record_without_responses_is_an_error)
{
    diff_engine *e = engine(NULL);
    pm_err err = {{0}};
    json_t *rec = parse("{\"id\":\"x\",\"request\":{}}");
    cr_assert_null(diff_result(e, rec, &err));
    cr_assert(strstr(err.msg, "responses"), "%s", err.msg);
    json_decref(rec);
    diff_free(e);
}

static json_t *tags_body(int n, int odd, const char *field)
{
    json_t *tags = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(tags, json_pack("{s:s,s:i}", "name", "t", "id", i));
    if (odd >= 0)
        json_object_set_new(json_array_get(tags, (size_t)odd), field, json_string("other"));
    json_t *b = json_pack("{s:o}", "tags", tags);
    return b;
}

static json_t *tags_diff(diff_engine *e, int odd, const char *field)
{
    json_t *a = tags_body(8, -1, NULL), *b = tags_body(8, odd, field);
    char *ta = dump(a), *tb = dump(b);
    json_t *d = bodies(e, ta, tb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    return d;
}

Test(verdict, signatures_group_by_shape)
{
    diff_engine *e = engine(NULL);
    json_t *d1 = tags_diff(e, 1, "name"), *d7 = tags_diff(e, 7, "name"), *di = tags_diff(e, 1, "id");
    const char *s1 = json_string_value(json_object_get(d1, "signature"));
    const char *s7 = json_string_value(json_object_get(d7, "signature"));
    const char *si = json_string_value(json_object_get(di, "signature"));
    cr_assert(s1 && s7 && si);
    cr_assert_str_eq(s1, s7);
    cr_assert_str_neq(s1, si);
    cr_assert_eq(strlen(s1), 16);
    /* another capability: another signature */
    json_t *other = bodies_in(e, "API_V1", "API_TAGS", "{\"tags\":[{\"name\":\"t\"},{\"name\":\"t\"}]}",
                              "{\"tags\":[{\"name\":\"t\"},{\"name\":\"other\"}]}");
    cr_assert_str_neq(json_string_value(json_object_get(other, "signature")), s1);
    expect(other, "mismatch", 1, "body", "$.tags[1].name", "value");
    expect(d1, "mismatch", 1, "body", "$.tags[1].name", "value");
    expect(d7, "mismatch", 1, "body", "$.tags[7].name", "value");
    expect(di, "mismatch", 1, "body", "$.tags[1].id", "type");
    diff_free(e);
}

Test(verdict, a_candidate_difference_is_not_absorbed_by_an_equal_secondary)
{
    diff_engine *e = engine(NULL);
    json_t *rec = result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{\"a\":1,\"b\":[1]}"),
                            answer("candidate", 200, NULL, "{\"a\":2,\"b\":[1]}"));
    json_object_set_new(json_object_get(rec, "responses"), "py2",
                        answer("secondary", 200, NULL, "{\"b\":[1],\"a\":1}"));
    json_t *d = run(e, rec);
    cr_assert_eq(json_array_size(json_object_get(d, "noise")), 0);
    expect(d, "mismatch", 1, "body", "$.a", "value");
    diff_free(e);
}

/* null on both sides under a time shape (a robot never used: last_accessed null) */
Test(rules, null_both_sides_under_a_shape_rule_matches)
{
    diff_engine *e = engine("rules:\n  - {kind: shape, path: $..last_accessed, shape: rfc2822, reason: t}\n");
    json_t *d = bodies(e, "{\"last_accessed\": null, \"a\": 1}", "{\"a\":1,\"last_accessed\":null}");
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "match");
    json_decref(d);
    diff_free(e);
}

/* An array_set rule on a header: its several values form a set. */
Test(headers, array_set_header_values_in_any_order)
{
    diff_engine *e = engine("rules:\n  - {kind: array_set, header: vary, reason: t}\n");
    const char *py = "[[\"Vary\",\"A\"],[\"Vary\",\"B\"]]";
    json_t *d = run(e, result_of("F", "C", answer("baseline", 200, py, NULL),
                                 answer("candidate", 200, "[[\"Vary\",\"B\"],[\"Vary\",\"A\"]]", NULL)));
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "match");
    json_decref(d);
    d = run(e, result_of("F", "C", answer("baseline", 200, py, NULL),
                         answer("candidate", 200, "[[\"Vary\",\"B\"],[\"Vary\",\"C\"]]", NULL)));
    cr_assert_str_eq(json_string_value(json_object_get(d, "verdict")), "mismatch");
    json_decref(d);
    diff_free(e);
}

/* ---- issue 17: status with the rest, strict dates, rules by method, noise by value --------- */

/* Another status lists the status first, then what else differs (what the 404 said). */
Test(status, the_other_differences_follow_the_status)
{
    diff_engine *e = engine(NULL);
    json_t *d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{\"name\":\"r\"}"),
                                 answer("candidate", 404, NULL, "{\"error\":\"not found\"}")));
    expect_value(d, 0, "candidate", "404");
    expect(d, "mismatch", 3, "status", "", "value", "body", "$.name", "missing", "body", "$.error", "extra");
    d = run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, "{}"),
                         answer("candidate", 500, "[[\"Content-Type\",\"text/html\"]]", "{}")));
    expect(d, "mismatch", 2, "status", "", "value", "header", "content-type", "value");
    diff_free(e);
}

Test(rules, shape_rfc2822_takes_only_rfc2822_zones)
{
    diff_engine *e = engine("rules:\n  - {kind: shape, path: $.t, shape: rfc2822, reason: times}\n");
    const char *gmt = "{\"t\":\"Sat, 01 Nov 2025 10:00:00 GMT\"}";
    expect(bodies(e, gmt, "{\"t\":\"Sat, 01 Nov 2025 10:00:00 +0100\"}"), "match", 0);
    expect(bodies(e, gmt, "{\"t\":\"1 Nov 2025 10:00:00 UT\"}"), "match", 0);
    expect(bodies(e, gmt, "{\"t\":\"Sat, 01 Nov 2025 10:00:00 EST\"}"), "match", 0); /* obs-zone, RFC 2822 4.3 */
    expect(bodies(e, gmt, "{\"t\":\"Sat, 01 Nov 2025 10:00:00 UTC\"}"), "mismatch", 1, "body", "$.t", "value");
    expect(bodies(e, gmt, "{\"t\":\"Sat, 01 Nov 2025 10:00:00\"}"), "mismatch", 1, "body", "$.t", "value");
    expect(bodies(e, gmt, "{\"t\":\"Sat, 01 Nov 2025 10:00:00 Z\"}"), "mismatch", 1, "body", "$.t", "value");
    diff_free(e);
}

/* Go's time.RFC1123 writes UTC; an HTTP date (RFC 9110 IMF-fixdate) ends in GMT. */
Test(rules, shape_http_date_is_imf_fixdate)
{
    diff_engine *e = engine("rules:\n  - {kind: shape, header: last-modified, shape: http_date, reason: times}\n"
                            "  - {kind: shape, path: $.t, shape: http_date, reason: times}\n");
    const char *py = "[[\"Last-Modified\",\"Sun, 06 Nov 1994 08:49:37 GMT\"]]";
    expect(run(e, result_of("F", "C", answer("baseline", 200, py, NULL),
                            answer("candidate", 200, "[[\"Last-Modified\",\"Wed, 05 Nov 2025 10:00:00 GMT\"]]", NULL))),
           "match", 0);
    expect(run(e, result_of("F", "C", answer("baseline", 200, py, NULL),
                            answer("candidate", 200, "[[\"Last-Modified\",\"Sun, 06 Nov 1994 08:49:37 UTC\"]]", NULL))),
           "mismatch", 1, "header", "last-modified", "value");
    const char *gmt = "{\"t\":\"Sun, 06 Nov 1994 08:49:37 GMT\"}";
    /* not IMF-fixdate: RFC 850, asctime, a numeric zone, no weekday, a one-digit day, a wrong weekday */
    const char *others[] = {"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                            "Sun, 06 Nov 1994 08:49:37 +0000", "06 Nov 1994 08:49:37 GMT",
                            "Sun, 6 Nov 1994 08:49:37 GMT", "Mon, 06 Nov 1994 08:49:37 GMT",
                            "Sun, 06 Nov 1994 24:49:37 GMT"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"t\":\"%s\"}", others[i]);
        expect(bodies(e, gmt, body), "mismatch", 1, "body", "$.t", "value");
    }
    diff_free(e);
}

/* A result record of one request method. */
static json_t *result_with_method(const char *method, json_t *py, json_t *go)
{
    json_t *rec = result_of("API_V1", "API_REPO", py, go);
    json_object_set_new(rec, "request", json_pack("{s:s,s:s}", "method", method, "target", "/x"));
    return rec;
}

Test(rules, methods_limit_a_rule)
{
    diff_engine *e = engine("rules:\n"
                            "  - {kind: ignore_header, header: content-length, methods: [GET, POST], reason: r}\n");
    const char *py = "[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"2\"]]";
    expect(run(e, result_with_method("GET", answer("baseline", 200, py, "{}"), answer("candidate", 200, NULL, "{}"))),
           "match", 0);
    /* a Go port leaving Content-Length out on HEAD shows */
    expect(run(e, result_with_method("HEAD", answer("baseline", 200, py, NULL), answer("candidate", 200, NULL, NULL))),
           "mismatch", 1, "header", "content-length", "missing");
    /* a record without a method (a job result) is outside a rule limited to methods */
    expect(run(e, result_of("API_V1", "API_REPO", answer("baseline", 200, py, "{}"), answer("candidate", 200, NULL, "{}"))),
           "mismatch", 1, "header", "content-length", "missing");
    diff_free(e);
}

Test(rules, a_bad_method_list_names_file_and_line)
{
    rules_fail("rules:\n  - {kind: ignore_header, header: date, reason: r}\n"
               "  - {kind: ignore_header, header: content-length, methods: HEAD, reason: r}\n",
               3, "methods");
    rules_fail("rules:\n  - {kind: ignore_header, header: content-length, methods: [get], reason: r}\n", 2, "get");
    rules_fail("rules:\n  - {kind: ignore_header, header: content-length, methods: [], reason: r}\n", 2, "methods");
}

/* A record with a secondary (py2) answer. */
static json_t *with_secondary(const char *base, const char *cand, const char *second)
{
    json_t *rec = result_of("API_V1", "API_REPO", answer("baseline", 200, NULL, base), answer("candidate", 200, NULL, cand));
    json_object_set_new(json_object_get(rec, "responses"), "py2", answer("secondary", 200, NULL, second));
    return rec;
}

/* The secondary differs only by host:port in an echoed URL, the candidate in content: a
 * mismatch exchange by exchange (one pass) and with the counts learned first (two passes). */
Test(verdict, a_secondary_differing_elsewhere_in_a_value_is_not_noise)
{
    const char *base = "{\"url\":\"http://py:8001/x?q=1\",\"t\":\"tok-abc\"}";
    const char *cand = "{\"url\":\"http://py:8001/x?q=2\",\"t\":\"tok-pqr\"}";
    const char *second = "{\"url\":\"http://py2:8003/x?q=1\",\"t\":\"tok-xyz\"}";
    for (int learned = 0; learned < 2; learned++) {
        diff_engine *e = engine(NULL);
        if (learned) {
            pm_err err = {{0}};
            json_t *rec = with_secondary(base, cand, second);
            cr_assert_eq(diff_learn(e, rec, &err), 0, "%s", err.msg);
            json_decref(rec);
            diff_noise_done(e);
        }
        json_t *d = run(e, with_secondary(base, cand, second));
        /* the random token varies the same way on both Pythons: noise */
        cr_assert_eq(json_array_size(json_object_get(d, "noise")), 1, "learned %d", learned);
        expect(d, "mismatch", 1, "body", "$.url", "value");
        diff_free(e);
    }
}

/* With the suite, the secondary's own host:port is taken out too (url_host). */
Test(verdict, the_secondarys_host_is_normalized_with_the_suite)
{
    pm_target targets[3] = {{.name = "py", .url = "http://py:8001", .role = PM_ROLE_BASELINE},
                            {.name = "go", .url = "http://go:8002", .role = PM_ROLE_CANDIDATE},
                            {.name = "py2", .url = "http://py2:8003", .role = PM_ROLE_SECONDARY}};
    pm_suite suite = {.targets = targets, .ntargets = 3};
    diff_options o;
    diff_options_init(&o);
    o.today = "2025-06-01";
    o.suite = &suite;
    diff_engine *e = engine_with(&o, rules_file("rules:\n  - {kind: url_host, path: $.host, reason: r}\n"));
    /* the candidate's content differs ("-eu"); the secondary only by its host:port */
    json_t *d = run(e, with_secondary("{\"host\":\"py:8001\"}", "{\"host\":\"py:8001-eu\"}",
                                      "{\"host\":\"py2:8003\"}"));
    cr_assert_eq(json_array_size(json_object_get(d, "noise")), 0);
    expect(d, "mismatch", 1, "body", "$.host", "value");
    diff_free(e);
}

/* The shipped rules: Date must be an IMF-fixdate (Go's time.RFC1123 writes UTC), and
 * Content-Length is compared on HEAD (a Go port leaving it out shows). */
Test(rules, the_shipped_rules_check_http_dates_and_head_lengths)
{
    diff_engine *e = engine_with(&(diff_options){.max_decoded = 1 << 20, .max_differences = 50, .max_value = 200},
                                 SHIPPED_RULES);
    json_t *rec = result_of("REGISTRY_V2", "V2_MANIFEST_PULL",
                            answer("baseline", 200, "[[\"Date\",\"Mon, 01 Jan 2024 00:00:00 GMT\"]]", "{}"),
                            answer("candidate", 200, "[[\"Date\",\"Mon, 01 Jan 2024 00:00:01 UTC\"]]", "{}"));
    expect(run(e, rec), "mismatch", 1, "header", "date", "value");
    const char *py = "[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"1234\"]]";
    expect(run(e, result_with_method("HEAD", answer("baseline", 200, py, NULL), answer("candidate", 200, NULL, NULL))),
           "mismatch", 1, "header", "content-length", "missing");
    expect(run(e, result_with_method("GET", answer("baseline", 200, py, "{}"), answer("candidate", 200, NULL, "{}"))),
           "match", 0);
    diff_free(e);
}
