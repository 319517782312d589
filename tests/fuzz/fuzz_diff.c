/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_diff.c — libFuzzer target for the diff engine (diff/).
 *
 * Input: byte 0 is flags, byte 1 where the rest splits into the baseline's and the
 * candidate's body (split = rest * byte1 / 256). Flags: bits 0-1 the media type (JSON,
 * text/plain, octet-stream, none); bit 2 / bit 3 gzip-wrap the baseline / candidate body
 * (with Content-Encoding), bit 7 deflate instead of gzip; bits 4-5 the family and
 * capability (so the shipped rules' jwt, url_host and normalize rules get exercised); bit
 * 6 the first line of each half also as its Location, Link and WWW-Authenticate headers.
 * Bodies that are not UTF-8 go as body_b64.
 *
 * Invariants, under the shipped rules (config/quay/rules.yaml): diff_result never
 * returns NULL for a well-formed record; the diff record serializes; a body compared
 * with itself is `match`; the verdict is `match` iff `differences` is empty; swapping
 * baseline and candidate keeps the verdict. Without rules, for two JSON bodies, the
 * verdict is `match` exactly when the documents are equal the way json_diff.c promises
 * (key order free, numbers by value, arrays ordered), checked by a plain reference here.
 * With a small max_decoded, an `error` verdict is only ever `too_large`. The fast path
 * (bodies compared on tapes, tape_diff.c) gives exactly the diff record of the trees
 * (`trees_only`, json_diff.c), with and without rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/core.h"
#include "diff/diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RULES PMIRROR_SOURCE_DIR "/config/quay/rules.yaml"

static diff_engine *make_with(const char *rules, size_t max_decoded, bool trees_only)
{
    diff_options o;
    diff_options_init(&o);
    o.trees_only = trees_only;
    o.today = "2026-01-01";
    if (max_decoded)
        o.max_decoded = max_decoded;
    pm_err err;
    diff_engine *e = diff_new(&o, rules, &err);
    if (!e)
        abort(); /* the shipped rules must load */
    return e;
}

static diff_engine *make(const char *rules, size_t max_decoded)
{
    return make_with(rules, max_decoded, false);
}

/* The fast path (tapes) and the reference (trees) give the same diff record. */
static void same_as_trees(diff_engine *fast, diff_engine *trees, json_t *rec)
{
    pm_err err;
    json_t *x = diff_result(fast, rec, &err), *y = diff_result(trees, rec, &err);
    json_decref(rec);
    if (!x || !y || !json_equal(x, y))
        abort(); /* tape_diff.c disagrees with json_diff.c */
    json_decref(x);
    json_decref(y);
}

static const char *const families[4][2] = {
    {"API_V1", "API_REPO"},
    {"REGISTRY_V2", "V2_AUTH"},
    {"REGISTRY_V2", "V2_BLOB_PULL"},
    {"REGISTRY_V1", "V1_PING"},
};

static const char *const types[4] = {"application/json", "text/plain; charset=utf-8", "application/octet-stream",
                                     NULL};

/* gzip (or zlib deflate) of data, deterministic (no time in the header). */
static unsigned char *wrap(const uint8_t *d, size_t n, bool deflate_only, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, deflate_only ? 15 : 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)d;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void add_header(json_t *headers, const char *name, const char *value, size_t len)
{
    json_t *v = json_stringn(value, len);
    if (v)
        json_array_append_new(headers, json_pack("[s,o]", name, v));
}

/* One target's answer with this body. */
static json_t *answer(const char *role, const uint8_t *body, size_t len, uint8_t flags, bool wrapped)
{
    json_t *headers = json_array();
    const char *type = types[flags & 3];
    if (type)
        add_header(headers, "Content-Type", type, strlen(type));
    const uint8_t *data = body;
    size_t n = len;
    unsigned char *packed = NULL;
    if (wrapped) {
        bool deflate_only = flags & 0x80;
        packed = wrap(body, len, deflate_only, &n);
        data = packed;
        add_header(headers, "Content-Encoding", deflate_only ? "deflate" : "gzip", deflate_only ? 7 : 4);
    }
    if (flags & 0x40) {
        size_t line = 0;
        while (line < len && line < 300 && body[line] != '\n')
            line++;
        add_header(headers, "Location", (const char *)body, line);
        add_header(headers, "Link", (const char *)body, line);
        add_header(headers, "WWW-Authenticate", (const char *)body, line);
    }
    json_t *a = json_pack("{s:s,s:i,s:o,s:n}", "role", role, "status", 200, "headers", headers, "error");
    if (pm_record_set_body(a, data, n, n, NULL) != 0)
        abort();
    free(packed);
    return a;
}

static json_t *record(uint8_t flags, const uint8_t *a, size_t na, bool wrap_a, const uint8_t *b, size_t nb,
                      bool wrap_b)
{
    const char *const *fc = families[(flags >> 4) & 3];
    return json_pack("{s:s,s:s,s:s,s:{s:o,s:o}}", "id", "fuzz", "family", fc[0], "capability", fc[1], "responses",
                     "py", answer("baseline", a, na, flags, wrap_a), "go", answer("candidate", b, nb, flags, wrap_b));
}

/* Runs one record (consumed) and checks the invariants every diff record keeps; returns
 * the verdict: 'm' match, 'x' mismatch, 'e' error. */
static char check(diff_engine *e, json_t *rec, bool may_fail)
{
    pm_err err;
    json_t *d = diff_result(e, rec, &err);
    json_decref(rec);
    if (!d)
        abort(); /* a well-formed record always gets a diff record */
    char *text = json_dumps(d, JSON_COMPACT);
    if (!text)
        abort(); /* the diff record must serialize (valid UTF-8 everywhere) */
    free(text);
    const char *v = json_string_value(json_object_get(d, "verdict"));
    const json_t *diffs = json_object_get(d, "differences");
    if (!v || !json_is_array(diffs) || json_array_size(diffs) > 50)
        abort();
    char r;
    if (strcmp(v, "match") == 0)
        r = 'm';
    else if (strcmp(v, "mismatch") == 0)
        r = 'x';
    else if (strcmp(v, "error") == 0)
        r = 'e';
    else
        abort();
    if (r == 'e') {
        const char *why = json_string_value(json_object_get(json_object_get(d, "error"), "body"));
        if (!may_fail || !why || strcmp(why, "too_large") != 0)
            abort(); /* the harness only builds decodable bodies */
    } else if ((r == 'm') != (json_array_size(diffs) == 0)) {
        abort(); /* match iff no differences */
    }
    if ((json_array_size(diffs) == 0) != json_is_null(json_object_get(d, "signature")))
        abort();
    size_t i;
    const json_t *x;
    json_array_foreach(diffs, i, x) {
        const char *w = json_string_value(json_object_get(x, "where"));
        const char *k = json_string_value(json_object_get(x, "kind"));
        if (!w || !k || !json_is_string(json_object_get(x, "path")))
            abort();
        if (strcmp(w, "status") && strcmp(w, "header") && strcmp(w, "body"))
            abort();
        if (strcmp(k, "value") && strcmp(k, "missing") && strcmp(k, "extra") && strcmp(k, "type") &&
            strcmp(k, "order"))
            abort();
    }
    json_decref(d);
    return r;
}

/* json_diff.c's promise, without rules: key order free, numbers by value, arrays
 * ordered, strings by bytes, true/false a value; deeper than 512 never equal. */
static bool ref_equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > 512)
        return false;
    if (json_is_number(a) && json_is_number(b))
        return json_is_integer(a) && json_is_integer(b) ? json_integer_value(a) == json_integer_value(b)
                                                        : json_number_value(a) == json_number_value(b);
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        const json_t *va;
        json_object_foreach((json_t *)a, key, va) {
            const json_t *vb = json_object_get(b, key);
            if (!vb || !ref_equal(va, vb, depth + 1))
                return false;
        }
        return true;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!ref_equal(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    default:
        return true;
    }
}

static bool gzip_magic(const uint8_t *d, size_t n)
{
    return n >= 2 && d[0] == 0x1f && d[1] == 0x8b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static diff_engine *shipped, *bare, *small, *shipped_trees, *bare_trees;
    if (!shipped) {
        shipped = make(RULES, 0);
        bare = make(NULL, 0);
        small = make(RULES, 4096);
        shipped_trees = make_with(RULES, 0, true);
        bare_trees = make_with(NULL, 0, true);
    }
    if (size < 2 || size > (1u << 16))
        return 0;
    uint8_t flags = data[0];
    const uint8_t *rest = data + 2;
    size_t n = size - 2, split = n * data[1] / 256;
    const uint8_t *a = rest, *b = rest + split;
    size_t na = split, nb = n - split;
    bool wa = flags & 4, wb = flags & 8;

    char v = check(shipped, record(flags, a, na, wa, b, nb, wb), false);
    /* the same roles swapped: the same verdict */
    if (check(shipped, record(flags, b, nb, wb, a, na, wa), false) != v)
        abort();
    /* each body against itself */
    if (check(shipped, record(flags, a, na, wa, a, na, wa), false) != 'm')
        abort();
    if (check(shipped, record(flags, b, nb, wb, b, nb, wb), false) != 'm')
        abort();
    if (check(bare, record(flags, rest, n, wa, rest, n, wa), false) != 'm')
        abort();
    /* the fast path against the trees, with and without rules */
    same_as_trees(shipped, shipped_trees, record(flags, a, na, wa, b, nb, wb));
    same_as_trees(bare, bare_trees, record(flags, a, na, wa, b, nb, wb));
    /* a small cap: too_large or an ordinary verdict */
    check(small, record(flags, a, na, wa, b, nb, wb), true);

    /* without rules, JSON against the reference (plain bodies, equal headers) */
    if ((flags & 3) == 0 && !gzip_magic(a, na) && !gzip_magic(b, nb)) {
        json_t *ja = json_loadb((const char *)a, na, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        json_t *jb = json_loadb((const char *)b, nb, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (ja && jb) {
            bool same = (na == nb && memcmp(a, b, na) == 0) || ref_equal(ja, jb, 0);
            char got = check(bare, record(flags & 0x33, a, na, false, b, nb, false), false);
            if (got != (same ? 'm' : 'x'))
                abort(); /* the engine and the reference disagree */
        }
        json_decref(ja);
        json_decref(jb);
    }
    return 0;
}
