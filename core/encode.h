/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/encode.h — byte encodings: UTF-8 checking and stepping, SHA-256 in hex, base64 (utf8.c,
 * encode.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_ENCODE_H
#define PM_CORE_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether s is valid UTF-8 (RFC 3629). (core/utf8.c) */
bool pm_utf8_valid(const unsigned char *s, size_t len);
/* The length (1-4) of the valid UTF-8 sequence at s (n > 0 bytes left) with its code point
 * in *cp, or 0 when s does not start one (overlong, surrogate, past U+10FFFF, cut short). */
size_t pm_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* n, or less so that cutting s (longer than n) before s[n] splits no character: back over
 * at most 3 continuation bytes. */
size_t pm_utf8_cut(const char *s, size_t n);
/* Lower-case hex SHA-256 of data into hex (65 bytes). */
void pm_sha256_hex(const void *data, size_t len, char hex[65]);

/* Base64 (standard, or URL-safe when url is true; padding optional) into a new buffer. */
int pm_base64_decode(const char *in, size_t in_len, bool url, unsigned char **out,
                     size_t *out_len);
char *pm_base64_encode(const unsigned char *in, size_t len);

#endif
