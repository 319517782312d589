/* SPDX-License-Identifier: Apache-2.0 */
/*
 * har_internal.h — HAR 1.2 import and export, private to capture/ (and its tests and
 * fuzz target): the streaming reader of a HAR document (har_stream.c), the conversion of
 * one entry into a capture record (har_import.c) and of one record into an entry
 * (har_export.c). The public face is the har_* block of capture.h.
 */
#ifndef PM_CAPTURE_HAR_INTERNAL_H
#define PM_CAPTURE_HAR_INTERNAL_H

#include "har.h"

/* ---- har_stream.c: log.entries[] one at a time -------------------------------------- */

/* A HAR document read as a stream. The skeleton ({"log": {..., "entries": [...]}}) is
 * walked byte by byte; each entry is parsed on its own by jansson, so memory holds one
 * entry (and any other member of `log` while it is skipped), never the whole file. */
typedef struct har_stream har_stream;

/* From path ("-": stdin; gzip or plain, whatever the name), or, when data is not NULL,
 * from memory (path then only names it in messages). */
har_stream *har_stream_open(const char *path, const void *data, size_t len, pm_err *err);
/* 1: *entry is the next element of log.entries (a new reference; any JSON value, the
 * caller checks it is an object) and *index its position; 0: the document ended and was
 * whole; -1: err says what is wrong and where ("FILE: log.entries[12]: ..."). */
int har_stream_next(har_stream *s, json_t **entry, uint64_t *index, pm_err *err);
void har_stream_close(har_stream *s);

/* ---- har_import.c: one entry → one capture record ------------------------------------ */

typedef struct har_importer har_importer;

har_importer *har_importer_new(const har_options *o);
void har_importer_free(har_importer *im);
/* Writes the capture record of one entry into t (reset first). 1: written; 0: not
 * taken — not selected (stats->not_selected, why empty), or not convertible (why says
 * why, without file or index; stats->skipped); -1: out of memory. */
int har_entry_to_record(har_importer *im, const json_t *entry, pm_jtext *t, har_stats *stats, pm_err *why);

/* ---- har_export.c: one record → one entry -------------------------------------------- */

/* The HAR entry for a capture record (target NULL: its `response`) or for a result
 * record's responses[target]; NULL with err filled when the record lacks what an entry
 * needs (request.method, request.target, ts). */
json_t *har_entry_from_record(const json_t *record, const char *target, pm_err *err);

/* ---- shared ------------------------------------------------------------------------- */

/* Largest body either direction inflates (gzip/deflate) or deflates: past it a body is
 * left as it is. */
#define HAR_MAX_DECODED ((size_t)64 << 20)

/* The single content coding of a Content-Encoding value this code can undo and redo with
 * zlib: "gzip" (also x-gzip) or "deflate"; NULL for identity, absent, anything else. */
const char *har_zlib_coding(const char *content_encoding);
/* True when the bytes already look encoded by coding (gzip magic, zlib header). */
bool har_looks_encoded(const char *coding, const unsigned char *data, size_t len);

#endif
