/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_tape_tree.c — a jansson tree built from a tape (pm_jtape_json), for the hot paths
 * that need a whole record as a tree: the replay engine reads every capture line this
 * way. jansson's own parser reads about 75 MB/s, a character at a time; the tape tokenizes
 * several times faster, so tokenizing, then building the tree from the spans, costs less
 * than json_loadb for the same tree.
 *
 * The tree is what json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL) gives for the same text:
 * the last of duplicate keys wins, strings may hold NUL (keys may not), integers past 64
 * bits and reals that overflow are refused. UTF-8 is the caller's to have checked over the
 * whole text (pm_utf8_valid): the tape does not check it, strings are not checked again
 * here (unescaping only ever writes valid UTF-8).
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static json_t *value_json(const pm_jtape *t, size_t i, int depth);

static json_t *string_json(const pm_jtape *t, const pm_jtok *k)
{
    const char *s = t->text + k->start;
    size_t n = k->end - k->start;
    if (!(k->flags & PM_JTOK_ESCAPED))
        return json_stringn_nocheck(s, n);
    char small[256], *buf = n < sizeof small ? small : malloc(n + 1);
    size_t len;
    json_t *v = buf && pm_jstr_unescape(s, n, buf, &len) == 0 ? json_stringn_nocheck(buf, len) : NULL;
    if (buf != small)
        free(buf);
    return v;
}

static json_t *number_json(const pm_jtape *t, const pm_jtok *k)
{
    if (!pm_jtape_number_ok(t, k))
        return NULL;
    size_t n = k->end - k->start;
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return NULL;
    memcpy(buf, t->text + k->start, n);
    buf[n] = '\0';
    json_t *v = k->flags & PM_JTOK_INTEGER ? json_integer(strtoll(buf, NULL, 10)) : json_real(strtod(buf, NULL));
    if (buf != small)
        free(buf);
    return v;
}

static json_t *object_json(const pm_jtape *t, size_t i, int depth)
{
    const pm_jtok *k = &t->tok[i];
    json_t *out = json_object();
    size_t at = i + 1;
    char small[128];
    for (uint32_t m = 0; out && m < k->count; m++) {
        const pm_jtok *key = &t->tok[at];
        size_t n = key->end - key->start;
        char *name = n < sizeof small ? small : malloc(n + 1);
        size_t len = n;
        bool ok = name != NULL;
        if (ok && key->flags & PM_JTOK_ESCAPED)
            ok = pm_jstr_unescape(t->text + key->start, n, name, &len) == 0;
        else if (ok)
            memcpy(name, t->text + key->start, n);
        json_t *v = ok ? value_json(t, at + 1, depth + 1) : NULL;
        /* setn_new takes v, also when it fails; the tape has refused a NUL in a key */
        if (!v || json_object_setn_new_nocheck(out, name, len, v) != 0) {
            json_decref(out);
            out = NULL;
        }
        if (name != small)
            free(name);
        at = t->tok[at + 1].next;
    }
    return out;
}

static json_t *array_json(const pm_jtape *t, size_t i, int depth)
{
    const pm_jtok *k = &t->tok[i];
    json_t *out = json_array();
    size_t at = i + 1;
    for (uint32_t m = 0; out && m < k->count; m++) {
        json_t *v = value_json(t, at, depth + 1);
        if (!v || json_array_append_new(out, v) != 0) {
            json_decref(out);
            return NULL;
        }
        at = t->tok[at].next;
    }
    return out;
}

static json_t *value_json(const pm_jtape *t, size_t i, int depth)
{
    const pm_jtok *k = &t->tok[i];
    if (depth > JSON_PARSER_MAX_DEPTH)
        return NULL;
    switch (k->type) {
    case PM_JSTR:
        return string_json(t, k);
    case PM_JNUM:
        return number_json(t, k);
    case PM_JTRUE:
        return json_true();
    case PM_JFALSE:
        return json_false();
    case PM_JNULL:
        return json_null();
    case PM_JOBJ:
        return object_json(t, i, depth);
    default:
        return array_json(t, i, depth);
    }
}

json_t *pm_jtape_json(const pm_jtape *t, size_t i)
{
    return i < t->n ? value_json(t, i, 0) : NULL;
}
