/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/json_tape.h — the JSON tape: validate and tokenize a JSON text without building a tree
 * (json_tape.c, json_tape_tree.c). One part of core's public interface; core/core.h includes
 * every part.
 */
#ifndef PM_CORE_JSON_TAPE_H
#define PM_CORE_JSON_TAPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { PM_JOBJ, PM_JARR, PM_JSTR, PM_JNUM, PM_JTRUE, PM_JFALSE, PM_JNULL };
/* A string with escapes in it; a number without fraction or exponent; an object's key; a
 * string holding \u0000 (jansson refuses it in a key). */
enum { PM_JTOK_ESCAPED = 1, PM_JTOK_INTEGER = 2, PM_JTOK_KEY = 4, PM_JTOK_NUL = 8 };

/* One value. Strings span their content without the quotes; numbers, literals and
 * containers their whole text. An object's tokens after it are key, value, key, value...
 * (count = members); an array's are its elements (count = elements). `next` is the index
 * of the token after this value's subtree, so siblings are found without descending. */
typedef struct pm_jtok {
    uint32_t start, end, next, count;
    uint8_t type, flags;
} pm_jtok;

typedef struct pm_jtape {
    pm_jtok *tok;
    size_t n, cap;       /* reused between parses: keep one tape per hot loop */
    const char *text;    /* borrowed: the parsed text */
    size_t len;
    const char *error;   /* why the last parse failed, and where */
    size_t error_at;
} pm_jtape;

/* 0, or -1 with t->error / t->error_at (a static string and a byte offset). Strings'
 * UTF-8 is not checked (see json_tape.c); nesting beyond max_depth is an error. */
int pm_jtape_parse(pm_jtape *t, const char *text, size_t len, unsigned max_depth);
void pm_jtape_free(pm_jtape *t);
/* dst becomes src (its tokens copied into dst's reused array; its text borrowed, as
 * src's). 0, or -1 when out of memory. */
int pm_jtape_copy(pm_jtape *dst, const pm_jtape *src);
/* Whether a and b hold the same tokens (spans, links, counts, types, flags). */
bool pm_jtape_same(const pm_jtape *a, const pm_jtape *b);
/* The value of key in the object at index obj (keys compared as written), or -1. */
long pm_jtape_find(const pm_jtape *t, size_t obj, const char *key);
/* Whether a number token fits what jansson accepts: an integer in 64 bits, a finite real. */
bool pm_jtape_number_ok(const pm_jtape *t, const pm_jtok *k);
/* The value at token i as a jansson tree (new reference), as json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL) would build it, faster; NULL for a number jansson refuses, a depth past
 * its limit, or out of memory. The caller has checked the text's UTF-8 (json_tape_tree.c). */
json_t *pm_jtape_json(const pm_jtape *t, size_t i);
/* A JSON string's escaped content → UTF-8 bytes; out has room for len bytes (never
 * longer). 0, or -1 on a bad escape or a lone surrogate. */
int pm_jstr_unescape(const char *s, size_t len, char *out, size_t *out_len);
/* The string at token i, unescaped, as a new NUL-terminated buffer (a \u0000 inside ends it
 * as a C string); *len (when not NULL) its decoded length. NULL when token i is not a
 * string, holds a bad escape, or memory ran out. */
char *pm_jtape_strdup(const pm_jtape *t, size_t i, size_t *len);

#endif
