/* SPDX-License-Identifier: Apache-2.0 */
/*
 * body.c — a stored body with a cap (pm_body), the one capped body writer: the first
 * `limit` bytes kept, the whole length counted, the SHA-256 of the whole body computed, so
 * a record says exactly what a body was even when it had to cut it. Replay and tee hash
 * every answer and write body_sha256 always; capture, whose hot path this is, hashes only
 * once the cap cuts a body (the kept bytes say an uncut one exactly) and writes
 * body_sha256 only then. All write the body with its secrets redacted the same way
 * (pm_body_to_jtext_redacted).
 */
#include "core.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void pm_body_init(pm_body *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
    b->sha_always = true;
}

void pm_body_init_sha_when_cut(pm_body *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

static int sha_start(pm_body *b)
{
    b->sha = EVP_MD_CTX_new();
    return b->sha && EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int pm_body_reserve(pm_body *b, size_t n)
{
    size_t want = b->len < b->limit ? b->len + (n < b->limit - b->len ? n : b->limit - b->len) : b->len;
    if (want <= b->cap)
        return 0;
    unsigned char *p = realloc(b->data, want);
    if (!p)
        return -1;
    b->data = p;
    b->cap = want;
    return 0;
}

int pm_body_append(pm_body *b, const void *data, size_t n)
{
    if (!b->sha && b->sha_always && sha_start(b) != 0)
        return -1;
    b->total += n;
    size_t keep = b->len < b->limit ? b->limit - b->len : 0;
    if (keep > n)
        keep = n;
    if (keep > 0 && b->len + keep > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + keep)
            cap *= 2;
        if (cap > b->limit)
            cap = b->limit;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    if (keep > 0)
        memcpy(b->data + b->len, data, keep);
    b->len += keep;
    if (!b->sha_always && !b->sha) {
        if (keep == n)
            return 0;
        /* cut here: the hash starts with what was kept */
        if (sha_start(b) != 0 || EVP_DigestUpdate(b->sha, b->data, b->len) != 1)
            return -1;
        return EVP_DigestUpdate(b->sha, (const unsigned char *)data + keep, n - keep) == 1 ? 0 : -1;
    }
    return EVP_DigestUpdate(b->sha, data, n) == 1 ? 0 : -1;
}

/* SHA-256 of the whole body so far, in hex. */
static int body_sha256_hex(const pm_body *b, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!b->sha) {
        pm_sha256_hex("", 0, hex);
        return 0;
    }
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (!copy || EVP_MD_CTX_copy_ex(copy, b->sha) != 1 || EVP_DigestFinal_ex(copy, md, &n) != 1) {
        EVP_MD_CTX_free(copy);
        return -1;
    }
    EVP_MD_CTX_free(copy);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

int pm_body_to_jtext(const pm_body *b, pm_jtext *t)
{
    return pm_body_to_jtext_redacted(b, NULL, NULL, t);
}

int pm_body_to_jtext_redacted(const pm_body *b, const pm_redactor *r, const json_t *headers, pm_jtext *t)
{
    return pm_body_to_jtext_learned(b, r, headers, NULL, t);
}

/* A message's Content-Type and Content-Encoding: given, or looked up in its headers only
 * when asked for (most bodies need neither). */
typedef struct {
    const json_t *headers;
    const char *type, *encoding;
    bool given;
} body_types;

static const char *type_of(const body_types *m)
{
    return m->given ? m->type : pm_headers_get(m->headers, "content-type");
}

static const char *encoding_of(const body_types *m)
{
    return m->given ? m->encoding : pm_headers_get(m->headers, "content-encoding");
}

static int body_to_jtext(const pm_body *b, const pm_redactor *r, const body_types *m, pm_body_fields *f,
                         pm_jtext *t)
{
    char hex[65];
    bool cut = b->len < b->total, with_sha = cut || b->sha_always;
    if (with_sha && body_sha256_hex(b, hex) != 0)
        return -1;
    bool learned = r && f && f->done; /* a UTF-8 text body, its fields pass done */
    bool text = learned || (b->len > 0 && pm_utf8_valid(b->data, b->len));
    size_t red_len = 0;
    char *red = !r || b->len == 0 ? NULL
                : learned ? pm_redact_body_text_learned(r, f, (const char *)b->data, b->len, &red_len)
                : text ? pm_redact_body_text(r, type_of(m), (const char *)b->data,
                                             b->len, &red_len)
                       : pm_redact_coded_body(r, encoding_of(m),
                                              type_of(m), b->data, b->len, &red_len);
    const unsigned char *data = red ? (const unsigned char *)red : b->data;
    size_t len = red ? red_len : b->len;
    if (text) {
        pm_jtext_key_lit(t, "body");
        if (red) /* the redacted text is checked again (a body jansson rewrote) */
            pm_jtext_string(t, red, red_len);
        else
            pm_jtext_string_utf8(t, (const char *)data, len);
    } else if (len > 0) {
        char *b64 = pm_base64_encode(data, len);
        if (!b64) {
            free(red);
            return -1;
        }
        pm_jtext_key_lit(t, "body_b64");
        pm_jtext_cstring(t, b64);
        free(b64);
    }
    if (red) {
        pm_jtext_key_lit(t, "body_redacted");
        pm_jtext_bool(t, true);
    }
    free(red);
    pm_jtext_key_lit(t, "body_len");
    pm_jtext_int(t, (int64_t)b->total);
    if (cut) {
        pm_jtext_key_lit(t, "body_truncated");
        pm_jtext_bool(t, true);
    }
    if (with_sha) {
        pm_jtext_key_lit(t, "body_sha256");
        pm_jtext_cstring(t, hex);
    }
    return 0;
}

int pm_body_to_jtext_learned(const pm_body *b, const pm_redactor *r, const json_t *headers, pm_body_fields *f,
                             pm_jtext *t)
{
    body_types m = {.headers = headers};
    return body_to_jtext(b, r, &m, f, t);
}

int pm_body_to_jtext_typed(const pm_body *b, const pm_redactor *r, const char *content_type,
                           const char *content_encoding, pm_body_fields *f, pm_jtext *t)
{
    body_types m = {.type = content_type, .encoding = content_encoding, .given = true};
    return body_to_jtext(b, r, &m, f, t);
}

int pm_body_to_json(const pm_body *b, json_t *obj)
{
    char hex[65];
    if (body_sha256_hex(b, hex) != 0)
        return -1;
    if (pm_record_set_body(obj, b->data, b->len, (size_t)b->total, hex) != 0)
        return -1;
    json_object_set_new(obj, "body_sha256", json_string(hex));
    return 0;
}

void pm_body_free(pm_body *b)
{
    free(b->data);
    EVP_MD_CTX_free(b->sha);
    memset(b, 0, sizeof *b);
}
