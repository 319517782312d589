/* SPDX-License-Identifier: Apache-2.0 */
/*
 * har.h — the public header of har/: HAR 1.2 recordings in (capture records), any HAR
 * viewer out (capture or result records).
 */
#ifndef PM_HAR_H
#define PM_HAR_H

#include "core/core.h"


/* Import turns each entry of a HAR (Chrome and Firefox devtools, Charles, mitmproxy,
 * Postman) into the capture record `pmirror capture` would have written for it:
 * classified, selected, redacted, bodies capped the same way. The document is streamed
 * (one entry in memory at a time). An entry that cannot be converted is skipped and
 * reported through `warn`, never dropped silently. The mapping and what a HAR cannot
 * hold are in the README ("HAR"). */
typedef struct har_options {
    const char *path;              /* the HAR ("-": stdin; gzip or plain) */
    const void *data;              /* or an in-memory HAR (path then only names it) */
    size_t len;
    size_t max_body;               /* stored body cap, default 16 MiB (as capture) */
    const pm_capmap *map;          /* required */
    const pm_redactor *redactor;   /* NULL: no redaction (--no-redact) */
    const pm_selection *selection; /* NULL: keep every entry */
    /* One call per skipped entry: "FILE: log.entries[3]: no request.url (skipped)".
     * May be NULL. ctx is har_import's. */
    void (*warn)(void *ctx, const char *message);
} har_options;

void har_options_init(har_options *o);

typedef struct har_stats {
    uint64_t entries;          /* elements of log.entries read */
    uint64_t records;          /* records handed to the callback */
    uint64_t skipped;          /* entries that could not be converted (one warning each) */
    uint64_t not_selected;     /* outside the selection */
    uint64_t without_response; /* status 0: no answer was recorded (record without response) */
    uint64_t unknown_bodies;   /* bodies the HAR did not hold (body_truncated, no body) */
    uint64_t reencoded_bodies; /* gzip/deflate content stored decoded, compressed again */
    uint64_t decoded_bodies;   /* other codings stored decoded: Content-Encoding removed */
    uint64_t truncated_bodies; /* bodies cut by max_body */
    pm_family_count *families;
    size_t nfamilies;
} har_stats;

/* Reads the whole HAR, handing each record to fn (as capture_run does). 0 when the
 * document was whole; -1 with err naming the file (and the entry) when it is not a HAR,
 * is not valid JSON, or ends early — every record before the damage was handed over. */
int har_import(const har_options *o, pm_record_fn fn, void *ctx,
                       har_stats *stats, pm_err *err);
void har_stats_clear(har_stats *stats);

/* Export: capture or result records → one HAR 1.2 document, written as records arrive
 * (one entry in memory). PATH: ".gz" is gzip, "-" stdout, created 0600. target NULL
 * exports each record's `response`; a name exports a result record's responses[NAME]. */
typedef struct har_writer har_writer;

har_writer *har_writer_open(const char *path, const char *creator_version,
                                            const char *target, pm_err *err);
int har_writer_add(har_writer *w, const json_t *record, pm_err *err);
uint64_t har_writer_count(const har_writer *w);
/* Ends the document and closes; frees w even on error. */
int har_writer_close(har_writer *w, pm_err *err);

#endif
