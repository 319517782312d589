/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/body.h — bodies with a cap: the first bytes kept, the whole length counted and hashed
 * (body.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_BODY_H
#define PM_CORE_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_text.h"
#include "redact.h"

/* A body as pmirror stores it: the first `limit` bytes kept, the whole length counted,
 * and the SHA-256 of the whole body computed — always, or (capture's hot path) only once
 * the cap cuts it, the kept bytes saying the rest exactly. */
typedef struct pm_body {
    unsigned char *data;
    size_t len, cap, limit;
    uint64_t total;
    void *sha; /* EVP_MD_CTX */
    bool sha_always; /* pm_body_init's; else (a zeroed body too) body_sha256 only when cut */
} pm_body;

void pm_body_init(pm_body *b, size_t limit);
/* The same, hashing only once the cap cuts (a capture's bodies): body_sha256 is then
 * written only for a cut body. A zeroed pm_body is one of these with limit 0. */
void pm_body_init_sha_when_cut(pm_body *b, size_t limit);
int pm_body_append(pm_body *b, const void *data, size_t n);
/* Room for n more bytes at once (a declared Content-Length), within the limit: the body
 * then grows without doubling. 0, or -1 (out of memory). */
int pm_body_reserve(pm_body *b, size_t n);
/* Sets body | body_b64, body_len, body_sha256, and body_truncated when cut, on obj (for
 * pm_body_init's bodies). */
int pm_body_to_json(const pm_body *b, json_t *obj);
/* The same keys written as JSON text into an open object. */
int pm_body_to_jtext(const pm_body *b, pm_jtext *t);
/* The same with secrets redacted (r may be NULL: none), as a capture writes bodies: text
 * by pm_redact_body_text, gzip/deflate by pm_redact_coded_body (headers: the message's
 * [[name, value], ...], for Content-Type and Content-Encoding); "body_redacted": true
 * when something was. body_len and body_sha256 stay those of the body as received. */
int pm_body_to_jtext_redacted(const pm_body *b, const pm_redactor *r, const json_t *headers, pm_jtext *t);
/* The same for a body whose fields pass the learning pass kept (f, from
 * pm_redact_learn_body_fields on these bytes; f->done false: as pm_body_to_jtext_redacted).
 * The same text out; f->red is taken. */
int pm_body_to_jtext_learned(const pm_body *b, const pm_redactor *r, const json_t *headers, pm_body_fields *f,
                             pm_jtext *t);
/* The same with the message's Content-Type and Content-Encoding values given (NULL: none)
 * instead of its headers: for a caller that keeps headers outside jansson (capture). */
int pm_body_to_jtext_typed(const pm_body *b, const pm_redactor *r, const char *content_type,
                           const char *content_encoding, pm_body_fields *f, pm_jtext *t);
void pm_body_free(pm_body *b);

#endif
