/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_frame.c — libFuzzer target for the tee's verdict on a request head
 * (tee/tee_frame.c) against a model written from RFC 9110/9112 directly.
 *
 * Input: a flags byte (bit 0: the request is HTTP/1.0), the target up to the first '\n',
 * then header lines separated by '\n'. Each line is laid out as libmicrohttpd 0.9.75
 * leaves it: "name\0" then the blanks after the colon skipped, the value up to the end of
 * the line, all in one buffer; a line that starts with a blank (obs-fold) is appended to
 * the previous field's name in a new block, as libmicrohttpd's process_broken_line does.
 * Inputs libmicrohttpd would refuse itself (a line without a colon, a NUL byte) are
 * skipped.
 *
 * Invariants: the verdict (go on, 400, 501) and, when it goes on, the body's framing are
 * the model's: go on only when the target has no byte <= 0x20 or DEL; every name is a
 * token and no line was folded; no value has a control byte but HTAB; at most one
 * Content-Length, of digits only (blanks after) that fit in 63 bits, and none beside a
 * Transfer-Encoding; at most one Transfer-Encoding, not in HTTP/1.0, whose value is
 * "chunked" (any case, blanks around; else 501).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tee/tee_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

typedef struct field {
    char *name, *value; /* value inside the line's buffer; name too, unless folded */
    bool folded;
} field;

static bool model_token(const char *s)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return *s && strspn(s, tchar) == strlen(s);
}

static bool model_value(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 32 && *s != '\t') || *s == 127)
            return false;
    return true;
}

/* digits, then only blanks; the number fits in int64 */
static bool model_length(const char *s, int64_t *out)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || strspn(s + digits, " \t") != strlen(s + digits))
        return false;
    while (digits > 1 && *s == '0') { /* leading zeros do not count towards the size */
        s++;
        digits--;
    }
    if (digits > 19 || (digits == 19 && strncmp(s, "9223372036854775807", 19) > 0))
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

static bool model_chunked(const char *s)
{
    char buf[64];
    s += strspn(s, " \t");
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n != 7)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return strcasecmp(buf, "chunked") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || memchr(data, 0, size))
        return 0;
    bool http10 = data[0] & 1;
    /* one block, like libmicrohttpd's connection pool: the head, then the names folding
     * moves (each at most the head's length, all of them at most twice that) */
    char *text = calloc(1, 4 * size + 16), *spare = text + size + 1;
    memcpy(text, data + 1, size - 1);
    char *save = NULL, *target = strtok_r(text, "\n", &save);
    if (!target) {
        free(text);
        return 0;
    }
    field fields[MAX_FIELDS];
    size_t n = 0;
    bool refused_by_mhd = false;
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if ((line[0] == ' ' || line[0] == '\t') && n > 0) { /* obs-fold: joined to the name */
            field *f = &fields[n - 1];
            const char *cont = line + strspn(line, " \t");
            size_t a = strlen(f->name), b = strlen(cont);
            if ((size_t)(spare - text) + a + b + 1 > 4 * size + 16) {
                refused_by_mhd = true; /* the pool is full: libmicrohttpd answers 431 itself */
                break;
            }
            memmove(spare, f->name, a);
            memcpy(spare + a, cont, b + 1);
            f->name = spare;
            spare += a + b + 1;
            f->folded = true;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || n == MAX_FIELDS) {
            refused_by_mhd = true;
            break;
        }
        *colon = '\0';
        char *value = colon + 1;
        value += strspn(value, " \t");
        fields[n++] = (field){.name = line, .value = value};
    }
    if (!refused_by_mhd) {
        tee_frame_walk w;
        tee_frame_begin(&w);
        for (size_t i = 0; i < n && tee_frame_field(&w, fields[i].name, fields[i].value); i++)
            ;
        tee_frame f;
        const char *why = NULL;
        unsigned got = tee_frame_end(&w, target, http10 ? "HTTP/1.0" : "HTTP/1.1", &f, &why);

        /* the model */
        unsigned want = 0;
        unsigned lengths = 0, codings = 0;
        int64_t length = -1;
        bool fields_ok = true, length_ok = true, chunked = true;
        for (size_t i = 0; i < n; i++) {
            fields_ok &= !fields[i].folded && model_token(fields[i].name) && model_value(fields[i].value);
            if (strcasecmp(fields[i].name, "content-length") == 0)
                length_ok &= ++lengths == 1 && model_length(fields[i].value, &length);
            if (strcasecmp(fields[i].name, "transfer-encoding") == 0)
                chunked &= ++codings == 1 && model_chunked(fields[i].value);
        }
        bool target_ok = *target != '\0';
        for (const unsigned char *p = (const unsigned char *)target; *p; p++)
            target_ok &= *p > 32 && *p != 127;
        if (!target_ok || !fields_ok || (lengths && (!length_ok || codings)) || (codings && (codings > 1 || http10)))
            want = 400;
        else if (codings && !chunked)
            want = 501;
        if (got != want) {
            fprintf(stderr, "verdict %u (%s), model %u\n", got, why ? why : "-", want);
            abort();
        }
        if (got == 0 && (f.chunked != (codings == 1) || f.content_length != (lengths ? length : -1))) {
            fprintf(stderr, "framing chunked=%d length=%lld, model chunked=%d length=%lld\n", f.chunked,
                    (long long)f.content_length, codings == 1, (long long)(lengths ? length : -1));
            abort();
        }
    }
    free(text);
    return 0;
}
