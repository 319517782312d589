/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/record.h — exchange records: the record callback, per-family counts, bodies and headers
 * of a record object, and a capture record's head and headers as JSON text (record.c, body.c).
 * One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_RECORD_H
#define PM_CORE_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capmap.h"
#include "err.h"
#include "json_text.h"
#include "redact.h"

/* Receives each record as one line of compact JSON text, without its newline (borrowed:
 * valid during the call). Returning non-zero stops the producer (capture, HAR import)
 * with that error. Records are text, not json_t, because building trees was capture's
 * cost. */
typedef int (*pm_record_fn)(void *ctx, const char *record, size_t len, pm_err *err);

/* Records per family, as a producer's stats count them. */
typedef struct pm_family_count {
    const char *family; /* borrowed from the capability map, or "UNKNOWN" */
    uint64_t exchanges;
} pm_family_count;
/* Counts one record of `family` (borrowed: it must outlive the array) in *families (n
 * rows, first-seen order), adding a row the first time. Out of memory: not counted.
 * (core/record.c) */
void pm_family_count_add(pm_family_count **families, size_t *n, const char *family);

/* Appends a printf-formatted string to a JSON array (reasons, events); nothing when out
 * of memory. (core/record.c) */
void pm_json_append_printf(json_t *array, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new record object whose first key is "v": 1. */
json_t *pm_record_new(void);
/* Sets "body" (valid UTF-8) or "body_b64" (anything else) on obj, plus "body_len" (the
 * whole body's length) and, when len < total_len, "body_truncated": true and
 * "body_sha256" of the whole body (hex, supplied by the caller who saw it all). */
int pm_record_set_body(json_t *obj, const unsigned char *data, size_t len, size_t total_len,
                       const char *total_sha256_hex);
/* Decodes "body" / "body_b64" of obj into a new buffer (*len set); NULL body → len 0.
 * Returns -1 on bad base64. */
int pm_record_get_body(const json_t *obj, unsigned char **data, size_t *len, pm_err *err);
/* First header value with this name (case-insensitive) in a [[name, value], ...] array;
 * borrowed, NULL when absent. */
const char *pm_headers_get(const json_t *headers, const char *name);

/* Opens a capture record in t (after pm_jtext_reset) and writes its head, as DESIGN.md
 * orders it: v, id, ts (RFC 3339 of ts_us), session, seq, source (when not NULL),
 * family, capability, switch, cap_switch, route_id, mutating, cohort. The caller adds
 * request and response and closes the object. (core/record.c) */
void pm_record_head(pm_jtext *t, const char *id, int64_t ts_us, const char *session, uint64_t seq,
                    const char *source, const pm_class *c);
/* Writes "key": headers ([[name, value], ...]) into an open object, each value with its
 * secrets redacted by r (NULL: as they are), as capture and HAR import write a message's
 * headers. (core/record.c) */
void pm_record_headers(pm_jtext *t, const char *key, const json_t *headers, const pm_redactor *r);

#endif
