/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_tape.c — JSON text → a flat "tape" of tokens, without building a tree.
 *
 * Hot paths (diffing a result line and its two bodies) must not pay for a jansson tree
 * of everything: most of a record is equal on both sides or is never looked at. The tape
 * validates the text as strictly as jansson does (RFC 8259 grammar, escapes, surrogate
 * pairs, bounded depth, no trailing bytes) and records each value's byte span, so a
 * caller compares spans, decodes only the strings it needs (pm_jstr_unescape) and hands
 * only the subtrees it must report to jansson (json_loadb over a span).
 *
 * What it does not check, on purpose: UTF-8 inside strings (callers that need it run
 * pm_utf8_valid over the whole text once, which is faster than per string), and whether
 * an integer fits 64 bits or a real is finite (pm_jtape_number_ok, asked only when a
 * number is compared). Like jansson, it refuses \u0000 in an object key. Objects are kept as written: duplicate keys are the caller's to
 * notice.
 *
 * Strings are scanned 16 bytes at a time with SSE2 where the compiler has it, else 8
 * bytes at a time with SWAR.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core.h"

void pm_jtape_free(pm_jtape *t)
{
    free(t->tok);
    memset(t, 0, sizeof *t);
}

int pm_jtape_copy(pm_jtape *dst, const pm_jtape *src)
{
    if (dst->cap < src->n) {
        pm_jtok *p = realloc(dst->tok, src->n * sizeof *p);
        if (!p)
            return -1;
        dst->tok = p;
        dst->cap = src->n;
    }
    memcpy(dst->tok, src->tok, src->n * sizeof *src->tok);
    dst->n = src->n;
    dst->text = src->text;
    dst->len = src->len;
    dst->error = src->error;
    dst->error_at = src->error_at;
    return 0;
}

bool pm_jtape_same(const pm_jtape *a, const pm_jtape *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const pm_jtok *x = &a->tok[i], *y = &b->tok[i];
        if (x->start != y->start || x->end != y->end || x->next != y->next || x->count != y->count ||
            x->type != y->type || x->flags != y->flags)
            return false;
    }
    return true;
}

static int fail(pm_jtape *t, const char *why, size_t at)
{
    t->error = why;
    t->error_at = at;
    return -1;
}

static int push(pm_jtape *t, uint8_t type, size_t start)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        pm_jtok *p = realloc(t->tok, cap * sizeof *p);
        if (!p)
            return -1;
        t->tok = p;
        t->cap = cap;
    }
    pm_jtok *k = &t->tok[t->n];
    k->start = (uint32_t)start;
    k->end = (uint32_t)start;
    k->next = (uint32_t)t->n + 1;
    k->count = 0;
    k->type = type;
    k->flags = 0;
    return (int)t->n++;
}

/* Index of the first '"', '\\' or byte < 0x20 at or after i (len when none). */
static size_t scan_string(const unsigned char *s, size_t i, size_t len)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                   _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)); /* v <= 0x1f */
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return i + (size_t)__builtin_ctz((unsigned)mask);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t zero_q = (q - ones) & ~q, zero_b = (b - ones) & ~b, low = (w - ones * 0x20) & ~w;
        if ((zero_q | zero_b | low) & highs)
            break; /* somewhere in these 8: find it byte by byte */
        i += 8;
    }
#endif
    while (i < len && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20)
        i++;
    return i;
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static long hex4(const unsigned char *s)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A \u escape at p (s[p] == '\\', s[p+1] == 'u'): checks its hex digits and surrogate
 * pairing; returns the length consumed (6, or 12 for a pair), or 0 when bad. */
static size_t u_escape(pm_jtape *t, int k, const unsigned char *s, size_t len, size_t p)
{
    if (p + 6 > len)
        return 0;
    long cp = hex4(s + p + 2);
    if (cp < 0)
        return 0;
    if (cp == 0)
        t->tok[k].flags |= PM_JTOK_NUL;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return 0; /* a low half alone */
    if (cp < 0xD800 || cp > 0xDBFF)
        return 6;
    /* a high surrogate needs its low half */
    if (p + 12 > len || s[p + 6] != '\\' || s[p + 7] != 'u')
        return 0;
    long lo = hex4(s + p + 8);
    return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* One escape at p (s[p] == '\\'): the length consumed, or 0 when bad. */
static size_t escape(pm_jtape *t, int k, const unsigned char *s, size_t len, size_t p)
{
    if (p + 1 >= len)
        return 0;
    switch (s[p + 1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 2;
    case 'u':
        return u_escape(t, k, s, len, p);
    default:
        return 0;
    }
}

#if defined(__SSE2__)
/* 64 bytes in four registers, and masks over them: bit i for byte i. */
typedef struct block64 {
    __m128i v[4];
} block64;

static inline void block_load(block64 *b, const unsigned char *s)
{
    for (int k = 0; k < 4; k++)
        b->v[k] = _mm_loadu_si128((const __m128i *)(s + 16 * k));
}

static inline uint64_t block_eq(const block64 *b, char c)
{
    const __m128i x = _mm_set1_epi8(c);
    uint64_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b->v[k], x)) << (16 * k);
    return m;
}

static inline uint64_t block_ctl(const block64 *b) /* bytes below 0x20 */
{
    const __m128i x = _mm_set1_epi8(0x1f);
    uint64_t m = 0;
    for (int k = 0; k < 4; k++)
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(b->v[k], x), x)) << (16 * k);
    return m;
}

/* The bytes escaped by a backslash in a 64-byte block (a backslash escapes the next byte
 * unless it is itself escaped: runs of backslashes pair up), given whether the block's
 * first byte is escaped (*carry), which is updated for the next block. */
static uint64_t escaped_bytes(uint64_t backslash, uint64_t *carry)
{
    const uint64_t even = 0x5555555555555555ULL;
    backslash &= ~*carry;                               /* an escaped backslash escapes nothing */
    uint64_t follows = backslash << 1 | *carry;         /* bytes right after a backslash */
    uint64_t odd_starts = backslash & ~even & ~follows; /* runs starting on an odd bit */
    uint64_t even_starts_sum;
    *carry = __builtin_add_overflow(odd_starts, backslash, &even_starts_sum);
    uint64_t invert = even_starts_sum << 1;             /* where a run's parity flips */
    return (even ^ invert) & follows;
}
#endif

/* s[i] is the opening quote; on success *end is past the closing quote. A string without
 * escapes is scanned 16 bytes at a time; from its first backslash on (a JSON body held
 * in a string has one every few bytes) it goes 64 bytes at a time: the closing quote is
 * the first quote not escaped, and the escaped bytes of a block are checked one by one. */
static int string_token(pm_jtape *t, const unsigned char *s, size_t len, size_t i, size_t *end)
{
    int k = push(t, PM_JSTR, i + 1);
    if (k < 0)
        return fail(t, "out of memory", i);
    size_t p = scan_string(s, i + 1, len);
    if (p < len && s[p] == '"') {
        t->tok[k].end = (uint32_t)p;
        *end = p + 1;
        return 0;
    }
#if defined(__SSE2__)
    static const bool letter[256] = {['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1,
                                     ['n'] = 1, ['r'] = 1, ['t'] = 1, ['u'] = 1};
    uint64_t carry = 0;
    size_t u_done = 0; /* \u escapes before this offset are checked (a pair's low half) */
    while (p + 64 <= len) {
        block64 b;
        block_load(&b, s + p);
        uint64_t quote = block_eq(&b, '"'), backslash = block_eq(&b, '\\');
        uint64_t esc = escaped_bytes(backslash, &carry);
        uint64_t closing = quote & ~esc;
        uint64_t upto = closing ? (closing & (0 - closing)) - 1 : ~0ULL; /* bytes before the close */
        uint64_t ctl = block_ctl(&b) & upto;
        if (ctl)
            return fail(t, "control character in a string", p + (size_t)__builtin_ctzll(ctl));
        if (backslash & upto)
            t->tok[k].flags |= PM_JTOK_ESCAPED;
        for (uint64_t e = esc & upto; e; e &= e - 1) {
            size_t at = p + (size_t)__builtin_ctzll(e); /* the escaped byte */
            if (!letter[s[at]])
                return fail(t, "bad escape in a string", at - 1);
            if (s[at] != 'u' || at - 1 < u_done)
                continue; /* not \u, or the low half of a pair already checked */
            size_t n = u_escape(t, k, s, len, at - 1);
            if (!n)
                return fail(t, "bad \\u escape", at - 1);
            u_done = at - 1 + n;
        }
        if (closing) {
            p += (size_t)__builtin_ctzll(closing);
            t->tok[k].end = (uint32_t)p;
            *end = p + 1;
            return 0;
        }
        p += 64;
        if (carry) { /* the block ended on a backslash escaping the next byte: finish it */
            p--;
            break;
        }
    }
    if (p < u_done)
        p = u_done; /* past a \u pair checked whole */
#endif
    for (;;) {
        p = scan_string(s, p, len);
        if (p >= len)
            return fail(t, "unterminated string", i);
        if (s[p] == '"')
            break;
        if (s[p] < 0x20)
            return fail(t, "control character in a string", p);
        t->tok[k].flags |= PM_JTOK_ESCAPED; /* a backslash */
        size_t n = escape(t, k, s, len, p);
        if (!n)
            return fail(t, p + 1 < len && s[p + 1] == 'u' ? "bad \\u escape" : "bad escape in a string", p);
        p += n;
    }
    t->tok[k].end = (uint32_t)p;
    *end = p + 1;
    return 0;
}

static bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int number_token(pm_jtape *t, const unsigned char *s, size_t len, size_t i, size_t *end)
{
    size_t p = i;
    bool integer = true;
    if (p < len && s[p] == '-')
        p++;
    if (p < len && s[p] == '0')
        p++;
    else if (p < len && digit(s[p]))
        while (p < len && digit(s[p]))
            p++;
    else
        return fail(t, "bad number", i);
    if (p < len && s[p] == '.') {
        integer = false;
        if (++p >= len || !digit(s[p]))
            return fail(t, "bad number", i);
        while (p < len && digit(s[p]))
            p++;
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        integer = false;
        p++;
        if (p < len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= len || !digit(s[p]))
            return fail(t, "bad number", i);
        while (p < len && digit(s[p]))
            p++;
    }
    int k = push(t, PM_JNUM, i);
    if (k < 0)
        return fail(t, "out of memory", i);
    t->tok[k].end = (uint32_t)p;
    if (integer)
        t->tok[k].flags |= PM_JTOK_INTEGER;
    *end = p;
    return 0;
}

static int literal_token(pm_jtape *t, const unsigned char *s, size_t len, size_t i, size_t *end)
{
    static const struct {
        const char *word;
        size_t n;
        uint8_t type;
    } words[] = {{"true", 4, PM_JTRUE}, {"false", 5, PM_JFALSE}, {"null", 4, PM_JNULL}};
    for (size_t w = 0; w < 3; w++)
        if (len - i >= words[w].n && memcmp(s + i, words[w].word, words[w].n) == 0) {
            int k = push(t, words[w].type, i);
            if (k < 0)
                return fail(t, "out of memory", i);
            t->tok[k].end = (uint32_t)(i + words[w].n);
            *end = i + words[w].n;
            return 0;
        }
    return fail(t, "unexpected character", i);
}

static size_t skip_ws(const unsigned char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

int pm_jtape_parse(pm_jtape *t, const char *text, size_t len, unsigned max_depth)
{
    const unsigned char *s = (const unsigned char *)text;
    t->n = 0;
    t->text = text;
    t->len = len;
    t->error = NULL;
    t->error_at = 0;
    if (len >= UINT32_MAX)
        return fail(t, "text too long", 0);
    uint32_t stack_small[64];
    uint32_t *stack = stack_small;
    size_t depth = 0, stack_cap = 64;
    int rc = -1;
    size_t i = skip_ws(s, 0, len);
    /* expect: a value (after '[', ',' in an array, ':' or at the top) */
    for (;;) {
        if (i >= len) {
            fail(t, "unexpected end of text", i);
            goto out;
        }
        unsigned char c = s[i];
        size_t end;
        if (c == '{' || c == '[') {
            if (depth >= max_depth) {
                fail(t, "nested too deep", i);
                goto out;
            }
            int k = push(t, c == '{' ? PM_JOBJ : PM_JARR, i);
            if (k < 0) {
                fail(t, "out of memory", i);
                goto out;
            }
            if (depth == stack_cap) {
                uint32_t *grown = malloc(stack_cap * 2 * sizeof *grown);
                if (!grown) {
                    fail(t, "out of memory", i);
                    goto out;
                }
                memcpy(grown, stack, depth * sizeof *grown);
                if (stack != stack_small)
                    free(stack);
                stack = grown;
                stack_cap *= 2;
            }
            stack[depth++] = (uint32_t)k;
            i = skip_ws(s, i + 1, len);
            if (i < len && s[i] == (c == '{' ? '}' : ']')) {
                end = i + 1;
                goto close;
            }
            if (c == '{')
                goto key;
            continue;
        }
        if (c == '"') {
            if (string_token(t, s, len, i, &end) != 0)
                goto out;
        } else if (c == '-' || digit(c)) {
            if (number_token(t, s, len, i, &end) != 0)
                goto out;
        } else {
            if (literal_token(t, s, len, i, &end) != 0)
                goto out;
        }
        /* after a value: ',' or a closer, or the end at the top */
        for (;;) {
            if (depth > 0)
                t->tok[stack[depth - 1]].count++;
            i = skip_ws(s, end, len);
            if (depth == 0) {
                if (i != len) {
                    fail(t, "trailing characters after the value", i);
                    goto out;
                }
                rc = 0;
                goto out;
            }
            pm_jtok *parent = &t->tok[stack[depth - 1]];
            if (i < len && s[i] == ',') {
                i = skip_ws(s, i + 1, len);
                if (parent->type == PM_JOBJ)
                    goto key;
                break; /* the next array element */
            }
            if (i < len && s[i] == (parent->type == PM_JOBJ ? '}' : ']')) {
                end = i + 1;
                goto close;
            }
            fail(t, parent->type == PM_JOBJ ? "expected ',' or '}'" : "expected ',' or ']'", i);
            goto out;
        close: {
            uint32_t k = stack[--depth];
            t->tok[k].end = (uint32_t)end;
            t->tok[k].next = (uint32_t)t->n;
            continue; /* the container is the value just ended */
        }
        key:
            if (i >= len || s[i] != '"') {
                fail(t, "expected a string key", i);
                goto out;
            }
            if (string_token(t, s, len, i, &end) != 0)
                goto out;
            if (t->tok[t->n - 1].flags & PM_JTOK_NUL) {
                fail(t, "NUL byte in an object key", i); /* as jansson */
                goto out;
            }
            t->tok[t->n - 1].flags |= PM_JTOK_KEY;
            i = skip_ws(s, end, len);
            if (i >= len || s[i] != ':') {
                fail(t, "expected ':'", i);
                goto out;
            }
            i = skip_ws(s, i + 1, len);
            break; /* the member's value */
        }
    }
out:
    if (stack != stack_small)
        free(stack);
    return rc;
}

bool pm_jtape_number_ok(const pm_jtape *t, const pm_jtok *k)
{
    char buf[64];
    size_t n = k->end - k->start;
    const char *s = t->text + k->start;
    if (k->flags & PM_JTOK_INTEGER) {
        if (n < 19 || (n == 19 && s[0] == '-'))
            return true; /* at most 18 digits always fit */
        if (n >= sizeof buf)
            return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        (void)strtoll(buf, NULL, 10);
        return errno != ERANGE;
    }
    if (n < 300 && !memchr(s, 'e', n) && !memchr(s, 'E', n))
        return true; /* fewer than 300 digits and no exponent: always finite */
    if (n >= sizeof buf) {
        char *copy = strndup(s, n);
        bool ok = copy && isfinite(strtod(copy, NULL));
        free(copy);
        return ok;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return isfinite(strtod(buf, NULL));
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(unsigned char *o, long cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int pm_jstr_unescape(const char *text, size_t len, char *out, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *o = (unsigned char *)out;
    size_t i = 0, n = 0;
    while (i < len) {
#if defined(__SSE2__)
        /* copy 16 bytes at a time up to the next backslash (escapes come every few
         * bytes in a JSON body held in a string: no call per run) */
        const __m128i slash = _mm_set1_epi8('\\');
        while (i + 16 <= len) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
            _mm_storeu_si128((__m128i *)(o + n), v);
            int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(v, slash));
            if (mask) {
                size_t run = (size_t)__builtin_ctz((unsigned)mask);
                n += run;
                i += run;
                break;
            }
            n += 16;
            i += 16;
        }
        if (i + 16 > len || s[i] != '\\')
#endif
        {
            const unsigned char *bs = memchr(s + i, '\\', len - i);
            size_t run = bs ? (size_t)(bs - (s + i)) : len - i;
            memmove(o + n, s + i, run);
            n += run;
            i += run;
        }
        if (i >= len)
            break;
        if (i + 1 >= len)
            return -1;
        unsigned char e = s[i + 1], plain;
        switch (e) {
        case '"': case '\\': case '/': plain = e; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        default: plain = 0;
        }
        if (plain) {
            o[n++] = plain;
            i += 2;
            continue;
        }
        if (e != 'u' || i + 6 > len)
            return -1;
        long cp = hex4(s + i + 2);
        i += 6;
        if (cp < 0)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u' ? hex4(s + i + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return -1;
        }
        n += put_utf8(o + n, cp);
    }
    *out_len = n;
    return 0;
}

long pm_jtape_find(const pm_jtape *t, size_t obj, const char *key)
{
    const pm_jtok *o = &t->tok[obj];
    if (o->type != PM_JOBJ)
        return -1;
    size_t klen = strlen(key);
    size_t k = obj + 1;
    for (uint32_t m = 0; m < o->count; m++) {
        const pm_jtok *name = &t->tok[k];
        if (!(name->flags & PM_JTOK_ESCAPED) && name->end - name->start == klen &&
            memcmp(t->text + name->start, key, klen) == 0)
            return (long)k + 1;
        k = t->tok[k + 1].next; /* past the value */
    }
    return -1;
}

char *pm_jtape_strdup(const pm_jtape *t, size_t i, size_t *len)
{
    const pm_jtok *k = &t->tok[i];
    size_t n = k->end - k->start;
    char *s = k->type == PM_JSTR ? malloc(n + 1) : NULL;
    if (!s)
        return NULL;
    if (!(k->flags & PM_JTOK_ESCAPED))
        memcpy(s, t->text + k->start, n);
    else if (pm_jstr_unescape(t->text + k->start, n, s, &n) != 0) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}
