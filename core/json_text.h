/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/json_text.h — JSON text: the growing buffer hot paths serialize records into without
 * building trees (json_text.c). One part of core's public interface; core/core.h includes every
 * part.
 */
#ifndef PM_CORE_JSON_TEXT_H
#define PM_CORE_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_tape.h"

/* A growing buffer of compact JSON text. The capture stage writes each record straight
 * into one instead of building a jansson tree and dumping it: bench/capture.sh showed
 * jansson's allocation and dumping taking most of capture's time. Output is always valid
 * JSON (tests/fuzz/fuzz_capture.c parses every record written with it back with jansson,
 * and fuzz_har.c round-trips imported records): strings are escaped, and
 * bytes that are not UTF-8 are written as \u00XX (read as Latin-1). Commas between
 * members and elements are inserted automatically. */
typedef struct pm_jtext {
    char *buf;
    size_t len, cap;
    int depth;
    uint64_t need_comma; /* bit d: the container at depth d already has a member */
    bool failed;         /* an allocation failed: the text is incomplete */
    /* Following (pm_jtext_tape_start): the tokens of what is written, kept as it goes. */
    pm_jtape *tape;      /* NULL: not followed */
    bool tape_lost;      /* a part could not be followed: no tape for this text */
    size_t tape_depth;   /* the deepest nesting the tape may hold (an upper bound) */
    uint32_t open[64];   /* the token of each open container, by depth */
    pm_jtape scratch;    /* for text written as it is, without its tokens */
} pm_jtext;

void pm_jtext_reset(pm_jtext *t);
void pm_jtext_free(pm_jtext *t);
/* The text, now the caller's (malloc'd; *len its length; NULL when an allocation failed);
 * t is emptied as by pm_jtext_free, and a tape it followed into stays the caller's. */
char *pm_jtext_release(pm_jtext *t, size_t *len);
void pm_jtext_object_begin(pm_jtext *t);
/* Resets t to an object already serialized (`object`: one JSON object's text), left open:
 * keys written next add members to it, pm_jtext_object_end closes it. The replay engine
 * extends each capture line this way instead of re-serializing it. Sets t->failed when
 * `object` does not look like an object. */
void pm_jtext_object_reopen(pm_jtext *t, const char *object, size_t len);
/* The same as the next value of what t holds (after a key, or as an array's element): an
 * object already serialized, left open for more members. */
void pm_jtext_object_extend(pm_jtext *t, const char *object, size_t len);
void pm_jtext_object_end(pm_jtext *t);
void pm_jtext_array_begin(pm_jtext *t);
void pm_jtext_array_end(pm_jtext *t);
/* An object member's key (then exactly one value call). */
void pm_jtext_key(pm_jtext *t, const char *key);
/* pm_jtext_key for a key its caller knows to be short plain ASCII (at most 32 bytes, none
 * of them '"', '\\', a control byte or >= 0x80), n bytes long: written without looking at
 * its bytes (a record has dozens of keys, all literals). Builds with assertions check it.
 * pm_jtext_key_lit takes a string literal, its length counted by the compiler. */
void pm_jtext_key_plain(pm_jtext *t, const char *key, size_t n);
#define pm_jtext_key_lit(t, literal) pm_jtext_key_plain((t), "" literal "", sizeof(literal) - 1)
void pm_jtext_string(pm_jtext *t, const char *s, size_t len);
/* The same for text the caller has already checked with pm_utf8_valid. */
void pm_jtext_string_utf8(pm_jtext *t, const char *s, size_t len);
void pm_jtext_cstring(pm_jtext *t, const char *s); /* NULL writes null */
void pm_jtext_int(pm_jtext *t, int64_t v);
void pm_jtext_bool(pm_jtext *t, bool v);
void pm_jtext_null(pm_jtext *t);
/* A jansson tree written as JSON text, as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER)
 * would (strings escaped the pm_jtext way; reals and very deep subtrees by json_dumps).
 * A NULL value sets t->failed. */
void pm_jtext_json(pm_jtext *t, const json_t *value);
/* JSON text already serialized (a value, or a key with its quotes), written as it is: for
 * writing a line again from its own bytes with a few values replaced. */
void pm_jtext_raw(pm_jtext *t, const char *json, size_t len);
void pm_jtext_raw_key(pm_jtext *t, const char *quoted, size_t len);

/* Following: a stage that writes a record another stage reads back (the tee's copy for
 * replay, replay's result for the diff) hands over the tokens with the text, and the
 * reader does not parse it again. pm_jtext_tape_start(t, tape) makes t keep in `tape` the
 * tokens of everything written after it, up to the next pm_jtext_reset (which empties the
 * tape and keeps following) or a pm_jtext_tape_start(t, NULL). Text written as it is
 * (pm_jtext_raw, _raw_key, _object_extend, reals) is parsed on the way, unless its tokens
 * come with it (the _from calls). pm_jtext_tape_done gives the tape of what t holds: the
 * very tokens pm_jtape_parse(t->buf, t->len, max_depth) would give, and a promise that the
 * text is valid UTF-8 — or NULL when that cannot be promised (a raw part that is not JSON
 * or not UTF-8, nesting beyond max_depth, a container still open, memory), and the reader
 * parses the text itself, as it would have anyway. */
void pm_jtext_tape_start(pm_jtext *t, pm_jtape *tape);
const pm_jtape *pm_jtext_tape_done(pm_jtext *t, unsigned max_depth);
/* pm_jtext_raw / _raw_key / _object_extend of the value (key, object) at token i of src, a
 * tape of valid UTF-8 text (one pm_jtext_tape_done gave, or one parsed from text that
 * pm_utf8_valid passed): its tokens are copied, not parsed again. */
void pm_jtext_raw_from(pm_jtext *t, const pm_jtape *src, size_t i);
void pm_jtext_raw_key_from(pm_jtext *t, const pm_jtape *src, size_t i);
void pm_jtext_object_extend_from(pm_jtext *t, const pm_jtape *src, size_t i);

#endif
