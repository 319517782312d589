/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.c — stepping through UTF-8, the one decoder every stage uses: validation (to
 * choose "body" or "body_b64"), the escapers of report.md, junit.xml and report.html
 * (a byte that starts no valid sequence is shown, not passed on), and cutting text on a
 * character boundary. Valid means RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF.
 */
#include "core.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

size_t pm_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range rules out overlong forms, surrogates, > U+10FFFF */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        *cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        *cp = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        *cp = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (i > 1 && (s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return len;
}

bool pm_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            /* ASCII runs, the common case, sixteen (SSE2) then eight bytes at a time */
#if defined(__SSE2__)
            while (i + 16 <= len && _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i))) == 0)
                i += 16;
#endif
            uint64_t word;
            while (i + 8 <= len && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ULL) == 0))
                i += 8;
            if (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        uint32_t cp;
        size_t n = pm_utf8_next(s + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t pm_utf8_cut(const char *s, size_t n)
{
    size_t cut = n;
    while (cut > 0 && n - cut < 4 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}
