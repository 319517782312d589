/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_frame.c — the tee's verdict on a request head before anything of it goes on: the
 * request must be framed one way only (RFC 9112 §6), its fields well formed (§5) and its
 * target fit for a request line (§3.2), or the client gets 400 (501 for a transfer coding
 * it cannot have meant) and its connection is closed. Nothing a client sends reaches the
 * primary, or another client's connection to it, unframed.
 *
 * Why here and not in libmicrohttpd: 0.9.75 frames a body with the first of several
 * Content-Length fields, keeps blanks before a colon as part of the name, and joins an
 * obs-fold line to the field's name; curl would then frame the forwarded body from
 * another value than the one the front read, or send a Transfer-Encoding the front never
 * applied. So every field is checked against the grammar here, and the body's framing
 * the transfer uses is the one decided here, which is the one libmicrohttpd read by.
 *
 * Pure: the fields come one by one (tee_server.c walks libmicrohttpd's; fuzz_frame.c its
 * own), so the judgement is fuzzed against a model without a socket.
 */
#include "tee_internal.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* libmicrohttpd 0.9.75 keeps a field's name and value where they were in the request
 * head — the name, the NUL written over the colon, blanks, the value — except for a field
 * continued by obs-fold, whose name it moves to a new block to append the next line to
 * (process_broken_line). A value that does not follow its name that way was folded. Both
 * pointers are in the connection's memory pool, which is smaller than MAX_GAP; a newer
 * libmicrohttpd that folds into the value as RFC 9112 5.2 allows passes this check, and
 * its value is one line. */
#define MAX_GAP ((uintptr_t)1 << 20)
static bool was_folded(const char *name, const char *value)
{
    uintptr_t after_name = (uintptr_t)name + strlen(name) + 1, at = (uintptr_t)value;
    if (at < after_name || at - after_name > MAX_GAP)
        return true;
    for (const char *p = name + strlen(name) + 1; p < value; p++)
        if (*p != ' ' && *p != '\t')
            return true;
    return false;
}

/* 1*DIGIT (RFC 9110 8.6), trailing blanks allowed (libmicrohttpd skips the leading
 * ones), no sign, no list, no overflow. */
static bool parse_length(const char *s, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (p == s)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return false;
    *out = v;
    return true;
}

/* "chunked", any case, blanks around: the only transfer coding a request may come with
 * here (libmicrohttpd decodes no other, and a coding after chunked has no framing). */
static bool is_chunked(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncasecmp(s, "chunked", 7) != 0)
        return false;
    for (s += 7; *s == ' ' || *s == '\t'; s++)
        ;
    return *s == '\0';
}

void tee_frame_begin(tee_frame_walk *w)
{
    memset(w, 0, sizeof *w);
    w->frame.content_length = -1;
    w->field_ok = true;
}

bool tee_frame_field(tee_frame_walk *w, const char *name, const char *value)
{
    if (!value)
        value = "";
    if (!pm_field_name_is_token(name) || !pm_field_value_is_clean(value) || was_folded(name, value)) {
        w->field_ok = false;
        return false;
    }
    if (strcasecmp(name, "content-length") == 0) {
        w->lengths++;
        w->length_ok = w->lengths == 1 && parse_length(value, &w->frame.content_length);
    } else if (strcasecmp(name, "transfer-encoding") == 0) {
        w->encodings++;
        w->encoding_ok = w->encodings == 1 && is_chunked(value);
    }
    return true;
}

unsigned tee_frame_end(tee_frame_walk *w, const char *target, const char *version, tee_frame *f,
                       const char **why)
{
    f->content_length = -1;
    f->chunked = false;
    *why = "target";
    if (!target || !pm_target_is_clean(target))
        return MHD_HTTP_BAD_REQUEST;
    *why = "field";
    if (!w->field_ok)
        return MHD_HTTP_BAD_REQUEST;
    *why = "framing";
    if (w->lengths > 0 && (!w->length_ok || w->encodings > 0))
        return MHD_HTTP_BAD_REQUEST; /* several lengths, a bad one, or a length beside a coding */
    if (w->encodings > 0) {
        /* HTTP/1.0 has no chunked framing (RFC 9112 6.1): the body's end is unknowable */
        if (w->encodings > 1 || (version && strcmp(version, "HTTP/1.0") == 0))
            return MHD_HTTP_BAD_REQUEST;
        if (!w->encoding_ok)
            return MHD_HTTP_NOT_IMPLEMENTED;
        f->chunked = true;
    } else {
        f->content_length = w->lengths > 0 ? w->frame.content_length : -1;
    }
    *why = NULL;
    return 0;
}

