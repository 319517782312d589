/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_spread.c — a secret's value, wherever it shows up in one exchange.
 *
 * Redaction by name (redact.c) replaces the Authorization credential, a cookie, a listed
 * query parameter or JSON field where it is named. The same bytes elsewhere in the same
 * exchange — a response body echoing the request, another header, a parameter nobody
 * listed — are as secret; this set remembers each value a redactor replaced (or a caller
 * knows, like the credentials replay sends) with the token it became, and replaces every
 * other occurrence by that same token, so an echo still compares equal to its source.
 *
 * Rules (README, "Redaction"): values shorter than PM_SECRET_MIN_LEN bytes are never
 * searched for (a "1" or a "true" would redact half a body; they stay redacted where they
 * are named); at most MAX_VALUES values per exchange (more are redacted where named only);
 * longest values first, so a secret that contains another one goes whole; a match inside a
 * `redacted:` token already written is left alone. Exact bytes: a value echoed in another
 * encoding (URL-escaped, JSON-escaped, base64) is not found. Cost: one memmem pass over
 * each text per known value, no state beyond the exchange.
 *
 * Bodies are mostly JSON text, searched as raw bytes, and a replacement must leave JSON
 * valid. So a value holding a quote, a backslash or a control byte is not searched for
 * (in JSON it would be escaped anyway, and a raw match could cut through the syntax), nor
 * is one made only of bytes that may stand outside a JSON string (digits, `true`, `,`...:
 * "12345678" could be a number); any other value can only match inside one string, and a
 * match that starts inside an escape sequence (`\n`, `\u00e9`) is skipped. Such values
 * stay redacted where they are named.
 */
#include "core.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_VALUES 64
#define TOKEN_PREFIX "redacted:"
#define TOKEN_LEN 25 /* "redacted:" + 16 hex */

typedef struct {
    char *value, *token;
    size_t len, token_len;
} secret;

struct pm_secrets {
    secret items[MAX_VALUES];
    size_t n;
};

pm_secrets *pm_secrets_new(void)
{
    return calloc(1, sizeof(pm_secrets));
}

void pm_secrets_clear(pm_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].value);
        free(s->items[i].token);
    }
    s->n = 0;
}

void pm_secrets_free(pm_secrets *s)
{
    if (!s)
        return;
    pm_secrets_clear(s);
    free(s);
}

size_t pm_secrets_count(const pm_secrets *s)
{
    return s->n;
}

const char *pm_secrets_token(const pm_secrets *s, const char *value, size_t len, size_t *token_len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].len == len && memcmp(s->items[i].value, value, len) == 0) {
            if (token_len)
                *token_len = s->items[i].token_len;
            return s->items[i].token;
        }
    return NULL;
}

static bool is_redacted(const char *v, size_t len)
{
    return len >= 9 && memcmp(v, TOKEN_PREFIX, 9) == 0;
}

static bool bars(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c == 0x7f;
}

/* True when a byte of v[0, len) bars a value from being searched for, eight at a time
 * (the "has zero byte" word tricks): a JWT credential is checked on every exchange, and a
 * byte loop over it was 8% of capture's record thread (callgrind). */
static bool any_bars(const char *v, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= len; i += 16) { /* sixteen at a time: a JWT is a kilobyte */
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(v + i));
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('"')), _mm_cmpeq_epi8(w, _mm_set1_epi8('\\'))),
                                   _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8(0x7f)),
                                                _mm_cmpeq_epi8(_mm_min_epu8(w, _mm_set1_epi8(0x1f)), w)));
        if (_mm_movemask_epi8(bad))
            return true;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, v + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\'), d = w ^ (ones * 0x7f);
        if (((q - ones) & ~q & highs) | ((b - ones) & ~b & highs) | ((d - ones) & ~d & highs) |
            ((w - ones * 0x20) & ~w & highs))
            return true;
    }
#endif
    for (; i < len; i++)
        if (bars((unsigned char)v[i]))
            return true;
    return false;
}

/* See the top: only values whose every match in JSON text lies inside one string. */
static bool spreadable(const char *v, size_t len)
{
    size_t i = 0;
    for (; i < len; i++) { /* up to the first byte that cannot stand outside a string */
        unsigned char c = (unsigned char)v[i];
        if (bars(c))
            return false;
        if (!strchr("0123456789+-.eE \t{}[],:truefalsn", c))
            break;
    }
    return i < len && !any_bars(v + i + 1, len - i - 1);
}

/* value is one pm_secrets_add checked, or one already in a set: not checked again (a JWT
 * credential is added on every exchange, twice, and spreadable reads all of it). */
static int add(pm_secrets *s, const char *value, size_t len, const char *token, size_t token_len)
{
    if (s->n == MAX_VALUES || pm_secrets_token(s, value, len, NULL))
        return 0;
    secret *e = &s->items[s->n];
    e->value = malloc(len + 1);
    e->token = malloc(token_len + 1);
    if (!e->value || !e->token) {
        free(e->value);
        free(e->token);
        return -1;
    }
    memcpy(e->value, value, len);
    e->value[len] = '\0';
    memcpy(e->token, token, token_len);
    e->token[token_len] = '\0';
    e->len = len;
    e->token_len = token_len;
    s->n++;
    return 0;
}

int pm_secrets_add(pm_secrets *s, const pm_redactor *r, const char *value, size_t len, const char *token)
{
    if (len < PM_SECRET_MIN_LEN || is_redacted(value, len) || !spreadable(value, len))
        return 0;
    if (token)
        return add(s, value, len, token, strlen(token));
    if (pm_secrets_token(s, value, len, NULL))
        return 0; /* known: no HMAC */
    char *made = pm_redact_secret(r, value, len);
    int rc = made ? add(s, value, len, made, strlen(made)) : -1;
    free(made);
    return rc;
}

int pm_secrets_add_all(pm_secrets *s, const pm_secrets *from)
{
    for (size_t i = 0; from && i < from->n; i++)
        if (add(s, from->items[i].value, from->items[i].len, from->items[i].token, from->items[i].token_len) != 0)
            return -1;
    return 0;
}

int pm_secrets_add_suite(pm_secrets *s, const pm_redactor *r, const pm_suite *suite)
{
    pm_redactor *view = pm_redactor_spreading(r, s, NULL);
    if (!view)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < suite->ntargets && rc == 0; i++) {
        const pm_target *t = &suite->targets[i];
        const char *token;
        json_t *value;
        json_object_foreach(t->credentials, token, value)
            if (rc == 0 && json_is_string(value))
                rc = pm_secrets_add(s, r, json_string_value(value), json_string_length(value), token);
        pm_redact_learn_headers(view, t->headers);
    }
    pm_redactor_free(view);
    return rc;
}

/* True when [at, at + n) overlaps a "redacted:<16 hex>" token of text. */
static bool inside_token(const char *text, size_t len, size_t at, size_t n)
{
    size_t from = at >= TOKEN_LEN - 1 ? at - (TOKEN_LEN - 1) : 0;
    size_t to = at + n; /* a token must start before the match ends */
    while (from < to) {
        const char *t = memmem(text + from, len - from, TOKEN_PREFIX, 9);
        if (!t || (size_t)(t - text) >= to)
            return false;
        size_t start = (size_t)(t - text), hex = 0;
        while (hex < 16 && start + 9 + hex < len && isxdigit((unsigned char)text[start + 9 + hex]))
            hex++;
        if (hex == 16 && start + TOKEN_LEN > at)
            return true;
        from = start + 1;
    }
    return false;
}

/* True when at is inside a JSON escape sequence of text: after an odd run of backslashes,
 * or among the four hex digits of a \uXXXX. */
static bool inside_escape(const char *text, size_t at)
{
    for (size_t k = 0; k <= 4 && k + 1 <= at; k++) {
        size_t slash = at - k - 1; /* k = 0: text[at - 1] itself */
        if (text[slash] != '\\' || (k > 0 && text[slash + 1] != 'u'))
            continue;
        bool hex = true;
        for (size_t i = slash + 2; i < at; i++)
            hex = hex && isxdigit((unsigned char)text[i]);
        size_t run = 0; /* backslashes before this one */
        while (run < slash && text[slash - 1 - run] == '\\')
            run++;
        if (hex && run % 2 == 0)
            return true;
    }
    return false;
}

/* The first occurrence of e's value in text[from, len), as memmem finds it. glibc's memmem
 * takes its two-way path for values over 256 bytes — a JWT credential, searched for in
 * every body: a tenth of capture's record thread (callgrind) — so with SSE2 the
 * candidates come first, 16 positions at a time: where the value's first and last bytes
 * both match (a JSON body rarely has both). The last positions are tried one by one. */
static const char *find_value(const secret *e, const char *text, size_t len, size_t from)
{
#if defined(__SSE2__)
    const __m128i first = _mm_set1_epi8(e->value[0]), last = _mm_set1_epi8(e->value[e->len - 1]);
    size_t i = from;
    for (; i + e->len - 1 + 16 <= len; i += 16) {
        __m128i at_first = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
        __m128i at_last = _mm_loadu_si128((const __m128i *)(const void *)(text + i + e->len - 1));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(at_first, first), _mm_cmpeq_epi8(at_last, last)));
        for (; m; m &= m - 1)
            if (memcmp(text + i + __builtin_ctz(m), e->value, e->len) == 0)
                return text + i + __builtin_ctz(m);
    }
    for (; i + e->len <= len; i++)
        if (memcmp(text + i, e->value, e->len) == 0)
            return text + i;
    return NULL;
#else
    return memmem(text + from, len - from, e->value, e->len);
#endif
}

/* One value over text: a new text when it occurs outside tokens, else NULL. */
static char *replace_one(const secret *e, const char *text, size_t len, size_t *out_len)
{
    char *out = NULL;
    size_t out_n = 0, copied = 0, from = 0;
    while (from + e->len <= len) {
        const char *hit = find_value(e, text, len, from);
        if (!hit)
            break;
        size_t at = (size_t)(hit - text);
        if (inside_token(text, len, at, e->len) || inside_escape(text, at)) {
            from = at + 1;
            continue;
        }
        if (!out) { /* worst case: every byte a match */
            size_t cap = len / e->len * (e->token_len > e->len ? e->token_len : e->len) + len + 1;
            if (!(out = malloc(cap)))
                return NULL;
        }
        memcpy(out + out_n, text + copied, at - copied);
        out_n += at - copied;
        memcpy(out + out_n, e->token, e->token_len);
        out_n += e->token_len;
        copied = from = at + e->len;
    }
    if (!out)
        return NULL;
    memcpy(out + out_n, text + copied, len - copied);
    out_n += len - copied;
    out[out_n] = '\0';
    *out_len = out_n;
    return out;
}

static int longer_first(const void *a, const void *b)
{
    const secret *x = *(const secret *const *)a, *y = *(const secret *const *)b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

char *pm_secrets_spread(const pm_secrets *s, const char *text, size_t len, size_t *out_len)
{
    if (!s || s->n == 0)
        return NULL;
    const secret *order[MAX_VALUES];
    bool fits = false; /* a value no longer than text: most header values are shorter than all */
    for (size_t i = 0; i < s->n; i++) {
        order[i] = &s->items[i];
        fits = fits || s->items[i].len <= len;
    }
    if (!fits)
        return NULL;
    if (s->n > 1)
        qsort(order, s->n, sizeof *order, longer_first);
    char *cur = NULL;
    size_t cur_len = len;
    for (size_t i = 0; i < s->n; i++) {
        size_t n = 0;
        char *next = replace_one(order[i], cur ? cur : text, cur_len, &n);
        if (next) {
            free(cur);
            cur = next;
            cur_len = n;
        }
    }
    if (cur)
        *out_len = cur_len;
    return cur;
}
