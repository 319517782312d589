/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encode.c — byte encodings every stage needs the same way: base64 (standard and
 * URL-safe, as JWTs use) and SHA-256 in hex (OpenSSL does the hashing). UTF-8 is utf8.c's.
 */
#include "core.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* value + 1 of each byte in the two alphabets (0: not base64), built on first use */
static unsigned char base64_table[2][256];

static void base64_tables(void)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; i++) {
        base64_table[0][(unsigned char)std[i]] = (unsigned char)(i + 1);
        base64_table[1][(unsigned char)url[i]] = (unsigned char)(i + 1);
    }
}

int pm_base64_decode(const char *in, size_t in_len, bool url, unsigned char **out,
                     size_t *out_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, base64_tables);
    const unsigned char *table = base64_table[url ? 1 : 0];
    const unsigned char *s = (const unsigned char *)in;
    while (in_len > 0 && in[in_len - 1] == '=')
        in_len--;
    if (in_len % 4 == 1)
        return -1;
    unsigned char *buf = malloc(in_len / 4 * 3 + 3);
    if (!buf)
        return -1;
    size_t n = 0, i = 0;
    for (; i + 4 <= in_len; i += 4) { /* whole quads: 4 characters, 3 bytes */
        unsigned a = table[s[i]], b = table[s[i + 1]], c = table[s[i + 2]], d = table[s[i + 3]];
        if (!a || !b || !c || !d) {
            free(buf);
            return -1;
        }
        uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
        buf[n++] = (unsigned char)(v >> 16);
        buf[n++] = (unsigned char)(v >> 8);
        buf[n++] = (unsigned char)v;
    }
    uint32_t acc = 0;
    int bits = 0;
    for (; i < in_len; i++) { /* the unpadded tail */
        unsigned v = table[s[i]];
        if (!v) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

char *pm_base64_encode(const unsigned char *in, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    if (len > INT32_MAX) {
        free(out);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

void pm_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}
