/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_coded.c — secrets inside compressed bodies.
 *
 * Bodies are stored as sent (DESIGN.md: Content-Encoding is kept, decoded only by diff),
 * so a gzip-encoded body lands in a record as base64 of compressed bytes, where no search
 * for a secret finds it: a /v2/auth answer gzipped for docker still carries a working
 * registry token. This decodes such a body, redacts its text as pm_redact_body_text does,
 * and encodes it again with the same coding, so the record keeps saying how it was sent
 * while holding no secret. Decoding is capped (a bomb is left alone: a record holds at
 * most its body cap of compressed bytes anyway, and nothing here may use more memory than
 * the cap); a stream cut short (a body cut by --max-body) is redacted as far as it goes.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define MAX_DECODED ((size_t)64 << 20)

typedef enum { CODING_NONE, CODING_GZIP, CODING_DEFLATE } coding;

static coding coding_of(const char *content_encoding)
{
    if (!content_encoding)
        return CODING_NONE;
    while (*content_encoding == ' ' || *content_encoding == '\t')
        content_encoding++;
    size_t n = strlen(content_encoding);
    while (n > 0 && (content_encoding[n - 1] == ' ' || content_encoding[n - 1] == '\t'))
        n--;
    if ((n == 4 && strncasecmp(content_encoding, "gzip", 4) == 0) ||
        (n == 6 && strncasecmp(content_encoding, "x-gzip", 6) == 0))
        return CODING_GZIP;
    if (n == 7 && strncasecmp(content_encoding, "deflate", 7) == 0)
        return CODING_DEFLATE;
    return CODING_NONE; /* identity, br, zstd, or a list of codings: left as sent */
}

/* Inflates with window bits wbits (gzip members one after the other too) into a new
 * buffer; NULL when nothing decodes or the text would pass MAX_DECODED. A stream cut
 * short gives what decoded. */
static unsigned char *inflate_all(const unsigned char *data, size_t len, int wbits, size_t *out_len)
{
    unsigned char *buf;
    pm_inflate_status st = pm_zlib_inflate(data, len, wbits, MAX_DECODED, wbits == 15 + 16, &buf, out_len, NULL);
    if ((st == PM_INFLATE_END || st == PM_INFLATE_CUT) && *out_len > 0)
        return buf;
    free(buf);
    return NULL;
}

char *pm_redact_coded_body(const pm_redactor *r, const char *content_encoding, const char *content_type,
                           const unsigned char *data, size_t len, size_t *out_len)
{
    coding c = coding_of(content_encoding);
    if (c == CODING_NONE || len == 0 || len > MAX_DECODED)
        return NULL;
    /* deflate is zlib-wrapped by the RFC, raw in some servers' hands: try both */
    int wbits = c == CODING_GZIP ? 15 + 16 : 15;
    size_t text_len = 0;
    unsigned char *text = inflate_all(data, len, wbits, &text_len);
    if (!text && c == CODING_DEFLATE)
        text = inflate_all(data, len, wbits = -15, &text_len);
    if (!text)
        return NULL;
    char *red = NULL;
    size_t red_len = 0;
    if (pm_utf8_valid(text, text_len))
        red = pm_redact_body_text(r, content_type, (const char *)text, text_len, &red_len);
    free(text);
    if (!red)
        return NULL;
    unsigned char *coded = NULL;
    if (pm_zlib_deflate((const unsigned char *)red, red_len, wbits, &coded, out_len) != 0)
        coded = NULL;
    free(red);
    return (char *)coded;
}

void pm_redact_message(const pm_redactor *r, json_t *message)
{
    if (!json_is_object(message))
        return;
    json_t *headers = json_object_get(message, "headers");
    const char *coding = pm_headers_get(headers, "content-encoding");
    const json_t *b64 = json_object_get(message, "body_b64");
    if (coding && json_is_string(b64)) {
        unsigned char *data = NULL;
        size_t len = 0, n = 0;
        if (pm_base64_decode(json_string_value(b64), json_string_length(b64), false, &data, &len) == 0) {
            char *clean = pm_redact_coded_body(r, coding, pm_headers_get(headers, "content-type"), data, len, &n);
            char *text = clean ? pm_base64_encode((const unsigned char *)clean, n) : NULL;
            if (text) {
                json_object_set_new(message, "body_b64", json_string(text));
                json_object_set_new(message, "body_redacted", json_true());
            }
            free(text);
            free(clean);
        }
        free(data);
    }
    pm_redact_headers(r, headers);
    pm_redact_record_body(r, message);
}
