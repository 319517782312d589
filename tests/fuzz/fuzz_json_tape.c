/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_json_tape.c — libFuzzer target for core/json_tape.c, against jansson.
 *
 * For any input that is valid UTF-8 (the tape leaves UTF-8 to its callers), the tape
 * accepts exactly what jansson accepts (JSON_DECODE_ANY | JSON_ALLOW_NUL, the flags the
 * readers use), counting numbers jansson rejects (integers past 64 bits, infinite reals)
 * as pm_jtape_number_ok says. When both accept: the tokens nest inside their parents'
 * spans, `next` skips exactly the subtree, counts match jansson's sizes, every string
 * unescapes to the bytes jansson decoded.
 *
 * It also holds pm_jtext's following (core/json_text.c) to the parser: whatever the
 * writer's tape gives for a text must be exactly the tape pm_jtape_parse makes of it, for
 * any bytes written as strings and keys, for the input written as it is, again from its
 * tokens, and as jansson's tree of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pm_jtape tape;
static pm_jtext writer;
static pm_jtape followed, reparsed;

/* The writer's tape, when it gives one, equals a parse of its text, which is UTF-8. */
static void same_as_parse(bool must)
{
    const pm_jtape *got = pm_jtext_tape_done(&writer, JSON_PARSER_MAX_DEPTH);
    if (!got) {
        if (must)
            abort();
        return;
    }
    if (!pm_utf8_valid((const unsigned char *)writer.buf, writer.len) ||
        pm_jtape_parse(&reparsed, writer.buf, writer.len, JSON_PARSER_MAX_DEPTH) != 0 || !pm_jtape_same(got, &reparsed))
        abort();
}

/* Any bytes as a key and as a string value (the key up to a first NUL, as a C string). */
static void follow_bytes(const uint8_t *data, size_t size)
{
    char *key = malloc(size + 1);
    memcpy(key, data, size);
    key[size] = '\0';
    pm_jtext_reset(&writer);
    pm_jtext_object_begin(&writer);
    pm_jtext_key(&writer, key);
    pm_jtext_string(&writer, (const char *)data, size);
    pm_jtext_key(&writer, "n");
    pm_jtext_int(&writer, (int64_t)size - 1000);
    pm_jtext_key(&writer, "a");
    pm_jtext_array_begin(&writer);
    pm_jtext_bool(&writer, size & 1);
    pm_jtext_null(&writer);
    pm_jtext_array_end(&writer);
    pm_jtext_object_end(&writer);
    same_as_parse(true);
    free(key);
}

/* The parsed input (tape) written again: as it is, from its tokens, as jansson's tree. */
static void follow_json(const uint8_t *data, size_t size, const json_t *v)
{
    pm_jtext_reset(&writer);
    pm_jtext_raw(&writer, (const char *)data, size);
    same_as_parse(false);
    pm_jtext_reset(&writer);
    pm_jtext_json(&writer, v);
    same_as_parse(false);
    pm_jtext_reset(&writer);
    pm_jtext_array_begin(&writer);
    pm_jtext_raw_from(&writer, &tape, 0);
    if (tape.tok[0].type == PM_JOBJ) {
        pm_jtext_object_extend_from(&writer, &tape, 0);
        pm_jtext_key(&writer, "added");
        pm_jtext_int(&writer, 1);
        pm_jtext_object_end(&writer);
        pm_jtext_object_begin(&writer);
        for (size_t k = 1, m = 0; m < tape.tok[0].count; m++) {
            pm_jtext_raw_key_from(&writer, &tape, k);
            pm_jtext_raw_from(&writer, &tape, k + 1);
            k = tape.tok[k + 1].next;
        }
        pm_jtext_object_end(&writer);
    }
    pm_jtext_array_end(&writer);
    same_as_parse(false);
}

/* Walks the value at index i alongside jansson's v; returns the index after it. */
static size_t check(size_t i, const json_t *v, uint32_t lo, uint32_t hi)
{
    if (i >= tape.n)
        abort();
    const pm_jtok *k = &tape.tok[i];
    if (k->start < lo || k->end > hi || k->start > k->end)
        abort(); /* a token outside its parent */
    size_t next = i + 1;
    switch (k->type) {
    case PM_JOBJ: {
        if (!json_is_object(v))
            abort();
        /* jansson keeps the last of duplicate keys: children are compared only without them */
        bool dups = json_object_size(v) != k->count;
        for (uint32_t m = 0; m < k->count; m++) {
            const pm_jtok *key = &tape.tok[next];
            if (key->type != PM_JSTR || !(key->flags & PM_JTOK_KEY))
                abort();
            size_t klen = key->end - key->start;
            char *name = malloc(klen + 1);
            size_t nlen;
            if (pm_jstr_unescape(tape.text + key->start, klen, name, &nlen) != 0)
                abort();
            name[nlen] = '\0';
            const json_t *child = dups || memchr(name, '\0', nlen) ? NULL : json_object_get(v, name);
            free(name);
            if (child)
                next = check(next + 1, child, k->start, k->end);
            else
                next = tape.tok[next + 1].next; /* a key jansson cannot look up (NUL) */
        }
        break;
    }
    case PM_JARR:
        if (!json_is_array(v) || json_array_size(v) != k->count)
            abort();
        for (uint32_t m = 0; m < k->count; m++)
            next = check(next, json_array_get(v, m), k->start, k->end);
        break;
    case PM_JSTR: {
        if (!json_is_string(v))
            abort();
        size_t n = k->end - k->start, got;
        char *buf = malloc(n + 1);
        if (pm_jstr_unescape(tape.text + k->start, n, buf, &got) != 0 || got != json_string_length(v) ||
            memcmp(buf, json_string_value(v), got) != 0)
            abort();
        free(buf);
        break;
    }
    case PM_JNUM:
        if (!json_is_number(v) || json_is_integer(v) != !!(k->flags & PM_JTOK_INTEGER))
            abort();
        break;
    case PM_JTRUE:
        if (!json_is_true(v))
            abort();
        break;
    case PM_JFALSE:
        if (!json_is_false(v))
            abort();
        break;
    case PM_JNULL:
        if (!json_is_null(v))
            abort();
        break;
    default:
        abort();
    }
    if (k->next != next)
        abort(); /* `next` must skip exactly the subtree */
    return next;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    if (!writer.tape)
        pm_jtext_tape_start(&writer, &followed);
    follow_bytes(data, size);
    if (!pm_utf8_valid(data, size))
        return 0;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool ok = pm_jtape_parse(&tape, (const char *)data, size, JSON_PARSER_MAX_DEPTH) == 0;
    if (ok)
        for (size_t i = 0; i < tape.n && ok; i++)
            if (tape.tok[i].type == PM_JNUM)
                ok = pm_jtape_number_ok(&tape, &tape.tok[i]);
    if (!ok && v && tape.error && tape.error_at < size && data[tape.error_at] == '\0') {
        json_decref(v); /* jansson ends its input at a raw NUL outside strings; the tape calls it an error */
        return 0;
    }
    if (ok != (v != NULL))
        abort(); /* the tape and jansson disagree on what is JSON */
    if (v && check(0, v, 0, (uint32_t)size) != tape.n)
        abort();
    if (v)
        follow_json(data, size, v);
    json_decref(v);
    return 0;
}
