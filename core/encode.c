/*
 * encode.c — byte encodings every stage needs the same way: base64 (standard and
 * URL-safe, as JWTs use), UTF-8 validation (to choose "body" or "body_b64") and SHA-256
 * in hex (OpenSSL does the hashing).
 */
#include "core/core.h"

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

bool pm_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            /* ASCII runs, the common case, eight bytes at a time */
            uint64_t word;
            while (i + 8 <= len && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ULL) == 0))
                i += 8;
            if (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + need >= len)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
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
