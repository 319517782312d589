/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_text.c — compact JSON written straight into a buffer (pm_jtext, see core.h).
 *
 * Exists for one reason, measured: writing capture records through jansson trees cost
 * most of `pmirror capture`'s time (bench/capture.sh, perf). Strings are escaped a block
 * of bytes at a time (put_string_body); the only state is a comma bit per depth.
 * jansson stays the reader of everything and the writer of everything that is not hot.
 *
 * Following (pm_jtext_tape_start): the writer also keeps the tape of what it writes, the
 * tokens pm_jtape_parse would make of it, so that the next stage need not parse it again.
 * Measured (callgrind, the tee's shadow, 2 000 copies): each copy was written by the tee
 * and parsed by replay, and each result written by replay and parsed by the diff (and by
 * the redaction before it, with --out-dir): 17% of a copy's instructions went. A value
 * knows its token as it is written (a string is escaped when it came out longer than it
 * went in); text written as it is brings its tokens (the _from calls) or is parsed on the
 * way. tests/unit/test_jtext_tape.c and fuzz_json_tape.c hold the tape to the parser's.
 */
#include "core.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 63

/* The slow half of reserve, kept out of line so that the check every write makes stays
 * small enough to inline. */
static bool grow(pm_jtext *t, size_t more)
{
    if (t->failed)
        return false;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->buf, cap);
    if (!p) {
        t->failed = true;
        return false;
    }
    t->buf = p;
    t->cap = cap;
    return true;
}

/* Room for `more` bytes and the terminating NUL; false once an allocation has failed
 * (a failed buffer never has room: its cap is not grown). */
static inline bool reserve(pm_jtext *t, size_t more)
{
    return (!t->failed && t->len + more + 1 <= t->cap) || grow(t, more);
}

static void put(pm_jtext *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static inline void put_byte(pm_jtext *t, char c)
{
    if (!reserve(t, 1))
        return;
    t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

/* Before any value: the comma that separates it from the previous one, unless the value
 * follows its key. */
static inline void separate(pm_jtext *t)
{
    if (t->len > 0 && t->buf[t->len - 1] == ':')
        return;
    uint64_t bit = 1ULL << (t->depth & MAX_DEPTH);
    if (t->need_comma & bit)
        put_byte(t, ',');
    t->need_comma |= bit;
}

/* ---- following: the tape of what is written (pm_jtext_tape_start) ----------------------- */

static bool tape_room(pm_jtext *t, size_t more)
{
    pm_jtape *tp = t->tape;
    if (tp->n + more <= tp->cap)
        return true;
    size_t cap = tp->cap ? tp->cap : 256;
    while (cap < tp->n + more)
        cap *= 2;
    pm_jtok *p = realloc(tp->tok, cap * sizeof *p);
    if (!p) {
        t->tape_lost = true;
        return false;
    }
    tp->tok = p;
    tp->cap = cap;
    return true;
}

static inline bool following(const pm_jtext *t)
{
    return t->tape && !t->tape_lost;
}

/* The token of a value (or a key) written at [start, end); its container counts a value.
 * Returns its index, or -1 when not following. */
static long follow(pm_jtext *t, uint8_t type, uint8_t flags, size_t start, size_t end)
{
    if (!following(t))
        return -1;
    if (end >= UINT32_MAX || t->depth > MAX_DEPTH || !tape_room(t, 1)) {
        t->tape_lost = true;
        return -1;
    }
    pm_jtape *tp = t->tape;
    pm_jtok *k = &tp->tok[tp->n];
    k->start = (uint32_t)start;
    k->end = (uint32_t)end;
    k->next = (uint32_t)tp->n + 1;
    k->count = 0;
    k->type = type;
    k->flags = flags;
    if (!(flags & PM_JTOK_KEY) && t->depth > 0)
        tp->tok[t->open[t->depth - 1]].count++;
    return (long)tp->n++;
}

/* The tokens of src[i]'s subtree, for its text now written `delta` bytes further on than
 * in src->text: shifted there, the root's flags changed as asked (a key written as a
 * value, or a string as a key); a value is counted by its container. */
static void follow_copy(pm_jtext *t, const pm_jtape *src, size_t i, size_t delta, uint8_t set, uint8_t clear)
{
    if (!following(t))
        return;
    const pm_jtok *root = &src->tok[i];
    size_t n = root->next - i;
    if ((size_t)root->end + delta + 1 >= UINT32_MAX || t->depth > MAX_DEPTH || !tape_room(t, n)) {
        t->tape_lost = true;
        return;
    }
    pm_jtape *tp = t->tape;
    uint32_t shift = (uint32_t)delta, base = (uint32_t)tp->n;
    size_t containers = 0;
    pm_jtok *out = tp->tok + tp->n;
    for (size_t j = 0; j < n; j++) {
        out[j] = src->tok[i + j];
        out[j].start += shift;
        out[j].end += shift;
        out[j].next = out[j].next - (uint32_t)i + base;
        containers += out[j].type <= PM_JARR;
    }
    out[0].flags = (uint8_t)((out[0].flags | set) & ~clear);
    if (!(out[0].flags & PM_JTOK_KEY) && t->depth > 0)
        tp->tok[t->open[t->depth - 1]].count++;
    tp->n += n;
    if ((size_t)t->depth + containers > t->tape_depth)
        t->tape_depth = (size_t)t->depth + containers; /* an upper bound, exact enough */
}

/* Text written as it is at [at, t->len): its tokens parsed (one value, or a key). */
static void follow_parsed(pm_jtext *t, size_t at, bool key)
{
    if (!following(t) || t->failed)
        return;
    const char *text = t->buf + at;
    size_t len = t->len - at;
    if (!pm_utf8_valid((const unsigned char *)text, len) ||
        pm_jtape_parse(&t->scratch, text, len, JSON_PARSER_MAX_DEPTH) != 0 ||
        (key && (t->scratch.tok[0].type != PM_JSTR || (t->scratch.tok[0].flags & PM_JTOK_NUL)))) {
        t->tape_lost = true;
        return;
    }
    follow_copy(t, &t->scratch, 0, at, key ? PM_JTOK_KEY : 0, 0); /* parsed from `at` */
}

void pm_jtext_reset(pm_jtext *t)
{
    t->len = 0;
    t->depth = 0;
    t->need_comma = 0;
    t->failed = false;
    if (t->buf)
        t->buf[0] = '\0';
    if (t->tape)
        t->tape->n = 0;
    t->tape_lost = false;
    t->tape_depth = 0;
}

void pm_jtext_free(pm_jtext *t)
{
    free(t->buf);
    pm_jtape_free(&t->scratch);
    memset(t, 0, sizeof *t);
}

char *pm_jtext_release(pm_jtext *t, size_t *len)
{
    char *text = t->failed ? NULL : t->buf;
    *len = text ? t->len : 0;
    if (!text)
        free(t->buf);
    pm_jtape_free(&t->scratch);
    memset(t, 0, sizeof *t);
    return text;
}

void pm_jtext_tape_start(pm_jtext *t, pm_jtape *tape)
{
    t->tape = tape;
    t->tape_lost = t->len > 0 || t->depth > 0; /* the tokens would not cover the text */
    t->tape_depth = 0;
    if (tape)
        tape->n = 0;
}

const pm_jtape *pm_jtext_tape_done(pm_jtext *t, unsigned max_depth)
{
    pm_jtape *tp = t->tape;
    if (!tp || t->tape_lost || t->failed || t->depth != 0 || tp->n == 0 || t->tape_depth > max_depth)
        return NULL;
    tp->text = t->buf;
    tp->len = t->len;
    tp->error = NULL;
    tp->error_at = 0;
    return tp;
}

static void open_container(pm_jtext *t, char c)
{
    separate(t);
    long k = follow(t, c == '{' ? PM_JOBJ : PM_JARR, 0, t->len, t->len);
    put_byte(t, c);
    t->depth++;
    t->need_comma &= ~(1ULL << (t->depth & MAX_DEPTH));
    if (k >= 0) {
        t->open[t->depth - 1] = (uint32_t)k; /* follow() refused a depth past the array */
        if ((size_t)t->depth > t->tape_depth)
            t->tape_depth = (size_t)t->depth;
    }
}

static void close_container(pm_jtext *t, char c)
{
    put_byte(t, c);
    if (following(t) && t->depth > 0 && t->depth <= MAX_DEPTH + 1) {
        pm_jtok *k = &t->tape->tok[t->open[t->depth - 1]];
        k->end = (uint32_t)t->len;
        k->next = (uint32_t)t->tape->n;
    }
    t->need_comma &= ~(1ULL << (t->depth & MAX_DEPTH));
    t->depth--;
}

/* The object's text without its closing brace, left open; its tokens from src[i] when
 * given, else parsed. */
static void extend(pm_jtext *t, const char *object, size_t len, const pm_jtape *src, size_t i)
{
    while (len > 0 && (*object == ' ' || *object == '\t'))
        object++, len--;
    size_t whole = len;
    while (len > 0 && object[len - 1] != '}') /* trailing blanks */
        len--;
    if (len > 0)
        len--; /* the closing brace */
    while (len > 0 && (object[len - 1] == ' ' || object[len - 1] == '\t' || object[len - 1] == '\r' ||
                       object[len - 1] == '\n'))
        len--;
    if (len == 0 || object[0] != '{' || t->depth >= MAX_DEPTH) {
        t->failed = true;
        return;
    }
    while (whole > 0 && object[whole - 1] != '}')
        whole--; /* the object's text: to its closing brace */
    separate(t);
    size_t at = t->len, n = following(t) ? t->tape->n : 0;
    if (following(t)) {
        if (src) {
            follow_copy(t, src, i, at - src->tok[i].start, 0, 0);
        } else if (pm_utf8_valid((const unsigned char *)object, whole) &&
                   pm_jtape_parse(&t->scratch, object, whole, JSON_PARSER_MAX_DEPTH) == 0) {
            follow_copy(t, &t->scratch, 0, at, 0, 0);
        } else {
            t->tape_lost = true;
        }
    }
    put(t, object, len);
    t->depth++;
    if (following(t)) { /* open again: its end and next come when it closes */
        t->open[t->depth - 1] = (uint32_t)n;
        if ((size_t)t->depth > t->tape_depth)
            t->tape_depth = (size_t)t->depth;
    }
    uint64_t bit = 1ULL << (t->depth & MAX_DEPTH);
    if (object[len - 1] != '{') /* it has members: a comma first */
        t->need_comma |= bit;
    else
        t->need_comma &= ~bit;
}

void pm_jtext_object_reopen(pm_jtext *t, const char *object, size_t len)
{
    pm_jtext_reset(t);
    extend(t, object, len, NULL, 0);
}

void pm_jtext_object_extend(pm_jtext *t, const char *object, size_t len)
{
    extend(t, object, len, NULL, 0);
}

void pm_jtext_object_extend_from(pm_jtext *t, const pm_jtape *src, size_t i)
{
    const pm_jtok *k = &src->tok[i];
    if (k->type != PM_JOBJ) {
        t->failed = true;
        return;
    }
    extend(t, src->text + k->start, k->end - k->start, src, i);
}

void pm_jtext_object_begin(pm_jtext *t) { open_container(t, '{'); }
void pm_jtext_object_end(pm_jtext *t) { close_container(t, '}'); }
void pm_jtext_array_begin(pm_jtext *t) { open_container(t, '['); }
void pm_jtext_array_end(pm_jtext *t) { close_container(t, ']'); }

/* 1: escape as \uXXXX or a short escape; 0: copy. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

/* Writes the escape for c at out; returns its length. */
static size_t escape_into(char *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': memcpy(out, "\\\"", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    default:
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
}

/* The escaper's scan reads a block at a time: 16 bytes with SSE2 (every x86-64 compiler
 * targets it), else 8 in a word. special_mask(p, latin1) has bit k set when byte k of
 * p[0..SCAN_BLOCK) cannot be copied as it is — a control byte (< 0x20), '"', '\\', and
 * when latin1 any byte >= 0x80. JSON bodies have a '"' every few bytes, so what a stop
 * costs matters as much as what a clean block does. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define SCAN_BLOCK 16

static unsigned special_mask(const unsigned char *p, bool latin1)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v); /* v <= 0x1F */
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash)));
    if (latin1)
        mask |= (unsigned)_mm_movemask_epi8(v);
    return mask;
}

/* special_mask split in two: the returned bits are the quotes and backslashes (each
 * written as a backslash and itself), *others the rest. */
static unsigned quote_mask(const unsigned char *p, bool latin1, unsigned *others)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v); /* v <= 0x1F */
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    *others = (unsigned)_mm_movemask_epi8(control) | (latin1 ? (unsigned)_mm_movemask_epi8(v) : 0);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(quote, backslash));
}
#else
#include <endian.h>
#define SCAN_BLOCK 8

/* The flagged bytes as the high bit of each (the classic "has zero byte" and "has less
 * than" word tricks), one bit per byte. Only the lowest bit is sure to be a true one (a
 * borrow can flag the byte after a flagged one): each stop is checked byte by byte, and a
 * block is scanned again after every stop. */
static unsigned special_mask(const unsigned char *p, bool latin1)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t v;
    memcpy(&v, p, 8);
    v = le64toh(v); /* the lowest bit is the first byte */
    uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
    uint64_t special = ((quote - ones) & ~quote & highs) | ((backslash - ones) & ~backslash & highs) |
                       ((v - ones * 0x20) & ~v & highs) | (latin1 ? v & highs : 0);
    return special ? 1u << (__builtin_ctzll(special) / 8) : 0;
}

/* The word scan is sure of its first stop only: every stop goes to put_stop. */
static unsigned quote_mask(const unsigned char *p, bool latin1, unsigned *others)
{
    *others = special_mask(p, latin1);
    return 0;
}
#endif

#define ESCAPE_CHUNK 4096

/* What the escaper knows of a string: valid UTF-8 (bytes >= 0x80 copied), not (bytes
 * >= 0x80 written as \u00XX, read as Latin-1), or not yet known. */
enum text_kind { TEXT_UTF8, TEXT_LATIN1, TEXT_UNCHECKED };

/* One byte the scan stopped at, written at out as it must be (copied or escaped); an
 * unchecked string is validated from here on at its first byte >= 0x80 (*text says what
 * it turned out to be). Returns the bytes written. */
static size_t put_stop(char *out, const unsigned char *s, size_t i, size_t len, enum text_kind *text)
{
    unsigned char c = s[i];
    if (c == '"' || c == '\\') { /* most stops, in JSON bodies */
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c >= 0x80 && *text == TEXT_UNCHECKED)
        *text = pm_utf8_valid(s + i, len - i) ? TEXT_UTF8 : TEXT_LATIN1;
    if (!needs_escape[c] && (c < 0x80 || *text == TEXT_UTF8)) {
        *out = (char)c;
        return 1;
    }
    return escape_into(out, c);
}

/* One block's bytes (avail of them) with the stops of mask (bit avail ends the block),
 * each written as put_stop writes it. Before each run of plain bytes a whole block is
 * copied from the run's start, before it is known where the run ends: the output is at
 * most 6 bytes per input byte before it, so the copy stays inside the reserve. */
static inline char *put_block_stops(char *out, const unsigned char *block, unsigned mask, size_t avail,
                                    const unsigned char *s, size_t i, size_t len, enum text_kind *text)
{
    size_t pos = 0; /* block bytes written */
    for (;;) {
        memcpy(out, block + pos, SCAN_BLOCK);
        size_t k = (size_t)__builtin_ctz(mask);
        out += k - pos;
        if (k == avail)
            return out;
        out += put_stop(out, s, i + k, len, text);
        pos = k + 1;
        mask &= mask - 1;
#if SCAN_BLOCK == 8
        if (pos < avail) /* the word scan is sure of its first stop only */
            mask = ((special_mask(block + pos, *text != TEXT_UTF8) << pos) & ((1u << avail) - 1)) | 1u << avail;
#endif
    }
}

/* The same for a block whose stops are all quotes and backslashes (most blocks of a JSON
 * body): a backslash before each, the byte itself copied with the run after it. */
static inline char *put_block_quotes(char *out, const unsigned char *block, unsigned mask, size_t avail)
{
    size_t pos = 0;
    for (;;) {
        memcpy(out, block + pos, SCAN_BLOCK);
        size_t k = (size_t)__builtin_ctz(mask);
        out += k - pos;
        if (k == avail)
            return out;
        *out++ = '\\';
        pos = k;
        mask &= mask - 1;
    }
}

/* The first avail bytes of block (s[i, i + avail), or a padded copy of them), escaped. */
__attribute__((always_inline)) static inline char *put_block(char *out, const unsigned char *block, size_t avail, const unsigned char *s, size_t i,
                              size_t len, enum text_kind *text)
{
    unsigned others, quotes = quote_mask(block, *text != TEXT_UTF8, &others);
    unsigned below = (1u << avail) - 1;
    if (!(others & below))
        return put_block_quotes(out, block, (quotes & below) | 1u << avail, avail);
    return put_block_stops(out, block, ((quotes | others) & below) | 1u << avail, avail, s, i, len, text);
}

/* Escapes s straight into the buffer, a chunk at a time (room for the worst case of one
 * chunk, 6 bytes out per byte in, and a block more is reserved up front). An unchecked
 * string is validated only when its first byte >= 0x80 comes up, and only from there (all
 * before it is ASCII, written the same either way): most keys and header values never
 * are. A block's mask of special bytes is computed once and walked stop by stop (JSON
 * bodies have a '"' every few bytes: what a stop costs is most of what a body costs).
 * Reading a block from any of a block's offsets takes two blocks of input, so the blocks
 * that have two before the string's end are read in place, and the last ones are scanned
 * in a zero-padded copy — a NUL stops the scan as any control byte does — and short
 * strings (keys, header values: dozens per record) take the same path as long ones. */
static void put_string_body(pm_jtext *t, const unsigned char *s, size_t len, enum text_kind text)
{
    unsigned char last[2 * SCAN_BLOCK];
    for (size_t base = 0; base < len; base += ESCAPE_CHUNK) {
        size_t end = len - base < ESCAPE_CHUNK ? len : base + ESCAPE_CHUNK;
        if (!reserve(t, 6 * (end - base) + SCAN_BLOCK))
            return;
        char *out = t->buf + t->len;
        size_t i = base;
        if (end - base >= SCAN_BLOCK && len >= 2 * SCAN_BLOCK) {
            size_t in_place = end - SCAN_BLOCK < len - 2 * SCAN_BLOCK ? end - SCAN_BLOCK : len - 2 * SCAN_BLOCK;
            for (; i <= in_place; i += SCAN_BLOCK)
                out = put_block(out, s + i, SCAN_BLOCK, s, i, len, &text);
        }
        while (i < end) {
            size_t avail = end - i < SCAN_BLOCK ? end - i : SCAN_BLOCK;
            memset(last, 0, sizeof last);
            memcpy(last, s + i, avail);
            out = put_block(out, last, avail, s, i, len, &text);
            i += avail;
        }
        t->len = (size_t)(out - t->buf);
        t->buf[t->len] = '\0';
    }
}

/* A string's token: escaped when it came out longer than it went in (every escape is),
 * holding \u0000 when a NUL went in. */
static void follow_string(pm_jtext *t, const char *s, size_t len, size_t at, uint8_t flags)
{
    if (!following(t))
        return;
    if (t->len - at != len)
        flags |= PM_JTOK_ESCAPED | (memchr(s, 0, len) ? PM_JTOK_NUL : 0);
    follow(t, PM_JSTR, flags, at, t->len);
}

/* Keys and short strings of plain ASCII (most header values, the names in a record's
 * head) are checked whole and copied with their quotes: the block escaper's set-up costs
 * more than such a string (callgrind). */
#define SHORT_STRING 32

/* True when one of 8 bytes at p is a control byte, '"', '\\' or >= 0x80 (the "has zero
 * byte" and "has less than" word tests: exact as yes or no). */
static bool word_special(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t v, quote, backslash;
    memcpy(&v, p, 8);
    quote = v ^ (ones * '"');
    backslash = v ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((v - ones * 0x20) & ~v) | v) & highs;
}

/* True when no byte of s[0, len) (len <= SHORT_STRING) needs more than a copy in ASCII:
 * two overlapping blocks or words cover it. */
static bool plain_ascii(const unsigned char *s, size_t len)
{
#if defined(__SSE2__)
    if (len >= 16)
        return !special_mask(s, true) && !special_mask(s + len - 16, true);
#endif
    if (len >= 8 && len <= 16)
        return !word_special(s) && !word_special(s + len - 8);
    unsigned special = 0;
    for (size_t i = 0; i < len; i++)
        special |= needs_escape[s[i]] | (s[i] >> 7);
    return !special;
}

/* A short plain key: its quotes, itself and the colon. */
static void put_plain_key(pm_jtext *t, const char *key, size_t n)
{
    if (reserve(t, n + 3)) {
        char *o = t->buf + t->len;
        o[0] = '"';
        memcpy(o + 1, key, n);
        o[n + 1] = '"';
        o[n + 2] = ':';
        t->len += n + 3;
        t->buf[t->len] = '\0';
        follow(t, PM_JSTR, PM_JTOK_KEY, (size_t)(o + 1 - t->buf), (size_t)(o + 1 + n - t->buf));
    }
}

void pm_jtext_key_plain(pm_jtext *t, const char *key, size_t n)
{
    assert(n <= SHORT_STRING && plain_ascii((const unsigned char *)key, n));
    separate(t);
    put_plain_key(t, key, n);
}

void pm_jtext_key(pm_jtext *t, const char *key)
{
    /* Keys are literals, nearly always short plain ASCII: a record has dozens. */
    size_t n = strlen(key);
    separate(t);
    if (n <= SHORT_STRING && plain_ascii((const unsigned char *)key, n)) {
        put_plain_key(t, key, n);
        return;
    }
    put_byte(t, '"');
    size_t at = t->len;
    put_string_body(t, (const unsigned char *)key, n, TEXT_UNCHECKED);
    follow_string(t, key, n, at, PM_JTOK_KEY);
    put(t, "\":", 2);
}

/* s as a JSON string when it is short plain ASCII (the caller has reserved room); false,
 * with nothing written, for any other. */
static bool put_short_plain(pm_jtext *t, const char *s, size_t len)
{
    if (len > SHORT_STRING || !plain_ascii((const unsigned char *)s, len))
        return false;
    char *o = t->buf + t->len;
    o[0] = '"';
    memcpy(o + 1, s, len);
    o[len + 1] = '"';
    t->len += len + 2;
    t->buf[t->len] = '\0';
    return true;
}

static void put_string(pm_jtext *t, const char *s, size_t len, enum text_kind text)
{
    separate(t);
    if (!reserve(t, len + len / 8 + 2))
        return;
    size_t at = t->len + 1; /* the string's first byte */
    if (put_short_plain(t, s, len)) {
        follow(t, PM_JSTR, 0, at, at + len);
        return;
    }
    put_byte(t, '"');
    put_string_body(t, (const unsigned char *)s, len, text);
    follow_string(t, s, len, at, 0);
    put_byte(t, '"');
}

void pm_jtext_string_utf8(pm_jtext *t, const char *s, size_t len)
{
    put_string(t, s, len, TEXT_UTF8);
}

void pm_jtext_string(pm_jtext *t, const char *s, size_t len)
{
    put_string(t, s, len, TEXT_UNCHECKED);
}

void pm_jtext_cstring(pm_jtext *t, const char *s)
{
    if (s)
        pm_jtext_string(t, s, strlen(s));
    else
        pm_jtext_null(t);
}

void pm_jtext_int(pm_jtext *t, int64_t v)
{
    /* what "%lld" writes, without printf's machinery (several per record) */
    char num[24], *p = num + sizeof num;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    separate(t);
    size_t at = t->len;
    put(t, p, (size_t)(num + sizeof num - p));
    follow(t, PM_JNUM, PM_JTOK_INTEGER, at, t->len);
}

void pm_jtext_bool(pm_jtext *t, bool v)
{
    separate(t);
    size_t at = t->len;
    put(t, v ? "true" : "false", v ? 4 : 5);
    follow(t, v ? PM_JTRUE : PM_JFALSE, 0, at, t->len);
}

void pm_jtext_null(pm_jtext *t)
{
    separate(t);
    size_t at = t->len;
    put(t, "null", 4);
    follow(t, PM_JNULL, 0, at, t->len);
}

/* A value as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) writes it:
 * reals (rare here, and jansson's formatting is its own) and subtrees deeper than the
 * comma bits reach. */
static void put_dumped(pm_jtext *t, const json_t *value)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) {
        t->failed = true;
        return;
    }
    separate(t);
    size_t at = t->len;
    put(t, s, strlen(s));
    free(s);
    follow_parsed(t, at, false);
}

/* The same JSON as json_dumps gives (members in order; strings escaped as pm_jtext does,
 * which spells \b and \f as \u0008 and \u000c), written straight into the buffer: the
 * tee's shadow writes every redacted result this way. */
static void put_tree(pm_jtext *t, const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        if (t->depth >= MAX_DEPTH - 1) {
            put_dumped(t, value);
            return;
        }
        pm_jtext_object_begin(t);
        const char *key;
        const json_t *member;
        json_object_foreach((json_t *)value, key, member) {
            pm_jtext_key(t, key);
            put_tree(t, member);
        }
        pm_jtext_object_end(t);
        return;
    }
    case JSON_ARRAY: {
        if (t->depth >= MAX_DEPTH - 1) {
            put_dumped(t, value);
            return;
        }
        pm_jtext_array_begin(t);
        size_t i;
        const json_t *element;
        json_array_foreach(value, i, element)
            put_tree(t, element);
        pm_jtext_array_end(t);
        return;
    }
    case JSON_STRING:
        pm_jtext_string(t, json_string_value(value), json_string_length(value));
        return;
    case JSON_INTEGER:
        pm_jtext_int(t, json_integer_value(value));
        return;
    case JSON_TRUE:
        pm_jtext_bool(t, true);
        return;
    case JSON_FALSE:
        pm_jtext_bool(t, false);
        return;
    case JSON_NULL:
        pm_jtext_null(t);
        return;
    default: /* JSON_REAL */
        put_dumped(t, value);
        return;
    }
}

void pm_jtext_json(pm_jtext *t, const json_t *value)
{
    if (!value) {
        t->failed = true;
        return;
    }
    put_tree(t, value);
}

void pm_jtext_raw(pm_jtext *t, const char *json, size_t len)
{
    separate(t);
    size_t at = t->len;
    put(t, json, len);
    follow_parsed(t, at, false);
}

void pm_jtext_raw_key(pm_jtext *t, const char *quoted, size_t len)
{
    separate(t);
    size_t at = t->len;
    put(t, quoted, len);
    follow_parsed(t, at, true);
    put(t, ":", 1);
}

/* src[i]'s text: a string's with its quotes. */
static const char *span_of(const pm_jtape *src, size_t i, size_t *len)
{
    const pm_jtok *k = &src->tok[i];
    size_t from = k->type == PM_JSTR ? k->start - 1 : k->start;
    *len = (k->type == PM_JSTR ? k->end + 1 : k->end) - from;
    return src->text + from;
}

void pm_jtext_raw_from(pm_jtext *t, const pm_jtape *src, size_t i)
{
    size_t len;
    const char *json = span_of(src, i, &len);
    separate(t);
    size_t at = t->len;
    put(t, json, len);
    follow_copy(t, src, i, at - (size_t)(json - src->text), 0, PM_JTOK_KEY);
}

void pm_jtext_raw_key_from(pm_jtext *t, const pm_jtape *src, size_t i)
{
    size_t len;
    const char *quoted = span_of(src, i, &len);
    if (src->tok[i].type != PM_JSTR || (src->tok[i].flags & PM_JTOK_NUL)) {
        t->failed = true; /* not a key */
        return;
    }
    separate(t);
    size_t at = t->len;
    put(t, quoted, len);
    follow_copy(t, src, i, at - (size_t)(quoted - src->text), PM_JTOK_KEY, 0);
    put(t, ":", 1);
}
