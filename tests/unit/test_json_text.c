/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_json_text.c — pm_jtext's string escaper and integers against a byte-at-a-time
 * model of the same rules: the escaper reads blocks of 16 (or 8) bytes, copies each
 * whole before it knows where it stops, and validates UTF-8 only once a byte >= 0x80
 * comes up, so the cases are the ones those shortcuts could get wrong — a special byte at
 * every offset of a block, multibyte characters across block and 4 KiB chunk boundaries,
 * invalid UTF-8 found late, control bytes, the last bytes of a string.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* The model: s as a JSON string, quotes included, one byte at a time. */
static char *model_string(const unsigned char *s, size_t len)
{
    bool utf8 = pm_utf8_valid(s, len);
    char *out = malloc(6 * len + 3), *o = out;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            o += sprintf(o, "\\%c", c);
        else if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c == '\r')
            o += sprintf(o, "\\r");
        else if (c == '\t')
            o += sprintf(o, "\\t");
        else if (c < 0x20 || (c >= 0x80 && !utf8))
            o += sprintf(o, "\\u00%02x", c);
        else
            *o++ = (char)c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* s written by pm_jtext_string (and by pm_jtext_string_utf8 when it is valid UTF-8, and
 * as a key when it has no NUL) is what the model writes. */
static void check(const unsigned char *s, size_t len)
{
    char *want = model_string(s, len);
    pm_jtext t = {0};
    pm_jtext_string(&t, (const char *)s, len);
    cr_assert_str_eq(t.buf, want, "pm_jtext_string, %zu bytes", len);
    if (pm_utf8_valid(s, len)) {
        pm_jtext_reset(&t);
        pm_jtext_string_utf8(&t, (const char *)s, len);
        cr_assert_str_eq(t.buf, want, "pm_jtext_string_utf8, %zu bytes", len);
    }
    if (!memchr(s, 0, len)) {
        char *key = strndup((const char *)s, len);
        pm_jtext_reset(&t);
        pm_jtext_object_begin(&t);
        pm_jtext_key(&t, key);
        cr_assert_eq(t.len, strlen(want) + 2);
        cr_assert(memcmp(t.buf + 1, want, strlen(want)) == 0 && strcmp(t.buf + 1 + strlen(want), ":") == 0,
                  "pm_jtext_key, %zu bytes", len);
        free(key);
    }
    pm_jtext_free(&t);
    free(want);
}

Test(json_text, each_special_byte_at_each_offset)
{
    static const unsigned char specials[] = {'"', '\\', '\n', '\r', '\t', 0x00, 0x01, 0x1f, 0x7f, ' '};
    unsigned char s[80];
    for (size_t len = 0; len <= 70; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof specials; k++) {
                memset(s, 'a', len);
                s[at] = specials[k];
                check(s, len);
                if (at + 1 < len) { /* two in a row, and one at the very end */
                    s[at + 1] = '"';
                    s[len - 1] = '\\';
                    check(s, len);
                }
            }
}

Test(json_text, multibyte_utf8_across_blocks)
{
    static const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}; /* é € 😀 */
    unsigned char s[80];
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(chars[k]);
        for (size_t len = n; len <= 70; len++)
            for (size_t at = 0; at + n <= len; at++) {
                memset(s, 'x', len);
                memcpy(s + at, chars[k], n);
                check(s, len);
                s[len - 1] = '"'; /* an escape after it, maybe in the same block */
                if (at + n < len)
                    check(s, len);
            }
    }
}

Test(json_text, invalid_utf8_found_late_is_latin1_throughout)
{
    unsigned char s[80];
    for (size_t len = 1; len <= 70; len++)
        for (size_t at = 0; at < len; at++) {
            memset(s, 'y', len);
            s[at] = 0xc3; /* a lead byte cut short (at the end) or followed by ASCII */
            check(s, len);
            if (at > 2) { /* a valid character first, then the bad byte */
                memcpy(s, "\xc3\xa9", 2);
                check(s, len);
            }
            s[at] = 0x80; /* a lone continuation byte */
            check(s, len);
            s[at] = 0xff;
            check(s, len);
        }
}

Test(json_text, chunk_boundaries_of_long_strings)
{
    size_t len = 3 * 4096 + 37;
    unsigned char *s = malloc(len);
    for (size_t i = 0; i < len; i++)
        s[i] = (unsigned char)("{\"k\": [1, \"v\\\\\"]}\n"[i % 19]);
    check(s, len);
    /* a multibyte character across each 4 KiB chunk boundary, then an invalid byte at the end */
    for (size_t b = 4096; b < len; b += 4096)
        for (size_t back = 1; back <= 3; back++) {
            memcpy(s + b - back, "\xf0\x9f\x98\x80", 4);
            check(s, len);
        }
    s[len - 1] = 0xfe;
    check(s, len);
    memset(s, 'z', len);
    check(s, len);
    free(s);
}

/* Blocks of only quotes and backslashes take a path of their own (a backslash before
 * each, the byte copied with its run), blocks with any other stop the general one: dense
 * runs of both, every mix of the two in one block, and the blocks before and after. */
Test(json_text, quote_only_and_mixed_blocks)
{
    static const unsigned char alphabet[][2] = {{'a', 0}, {'"', 0}, {'\\', 0}, {'\n', 0}, {0x01, 0},
                                                {0xc3, 0xa9}, {0xff, 0}, {'"', '"'}};
    unsigned char s[140];
    uint32_t seed = 20261206;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t want = (seed >> 8) % 130, len = 0;
        unsigned mix = 2 + (seed >> 20) % 7; /* 2: only 'a' and '"', up to the whole alphabet */
        while (len < want) {
            seed = seed * 1103515245u + 12345u;
            const unsigned char *c = alphabet[(seed >> 16) % mix];
            s[len++] = c[0];
            if (c[1] && len < sizeof s)
                s[len++] = c[1];
        }
        check(s, len);
    }
    for (size_t len = 1; len <= 66; len++) { /* all quotes, all backslashes, alternating */
        memset(s, '"', len);
        check(s, len);
        memset(s, '\\', len);
        check(s, len);
        for (size_t i = 0; i < len; i++)
            s[i] = i % 2 ? '"' : '\\';
        check(s, len);
    }
}

Test(json_text, integers_as_printf_writes_them)
{
    static const int64_t values[] = {0, 1, -1, 9, 10, -10, 1234567890123LL, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)values[i]);
        pm_jtext t = {0};
        pm_jtext_int(&t, values[i]);
        cr_assert_str_eq(t.buf, want);
        pm_jtext_free(&t);
    }
}
