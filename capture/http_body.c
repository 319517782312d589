/*
 * http_body.c — a message body as capture stores it: the first `cap` bytes kept, the
 * whole length counted, and once the cap is reached a SHA-256 over the whole body, so
 * a truncated record still says exactly what the body was.
 */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>

int http_body_append(http_body *b, const uint8_t *data, size_t n, size_t cap_limit)
{
    b->total += n;
    if (!b->truncated) {
        size_t room = cap_limit - b->len;
        size_t keep = n < room ? n : room;
        if (b->len + keep > b->cap) {
            size_t cap = b->cap ? b->cap : 1024;
            while (cap < b->len + keep)
                cap *= 2;
            if (cap > cap_limit)
                cap = cap_limit;
            unsigned char *p = realloc(b->data, cap);
            if (!p)
                return -1;
            b->data = p;
            b->cap = cap;
        }
        if (keep)
            memcpy(b->data + b->len, data, keep);
        b->len += keep;
        if (keep == n)
            return 0;
        b->truncated = true;
        b->sha = EVP_MD_CTX_new();
        if (!b->sha || EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL) != 1)
            return -1;
        EVP_DigestUpdate(b->sha, b->data, b->len);
        data += keep;
        n -= keep;
    }
    return EVP_DigestUpdate(b->sha, data, n) == 1 ? 0 : -1;
}

int http_body_sha256_hex(const http_body *b, char hex[65])
{
    if (!b->truncated) {
        pm_sha256_hex(b->data ? (const void *)b->data : "", b->len, hex);
        return 0;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (!copy || EVP_MD_CTX_copy_ex(copy, b->sha) != 1 || EVP_DigestFinal_ex(copy, md, &n) != 1) {
        EVP_MD_CTX_free(copy);
        return -1;
    }
    EVP_MD_CTX_free(copy);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

void http_body_clear(http_body *b)
{
    free(b->data);
    EVP_MD_CTX_free(b->sha);
    memset(b, 0, sizeof *b);
}
