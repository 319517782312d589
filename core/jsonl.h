/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/jsonl.h — JSON Lines files (DESIGN.md "Files"): the streaming writer and reader, gzip by
 * file name, the line and body caps, and the parallel line map (jsonl_writer.c, jsonl_reader.c,
 * line_pool.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_JSONL_H
#define PM_CORE_JSONL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Opens PATH for writing records: gzip when it ends in ".gz", stdout when "-".
 * Files are created 0600 (they may hold traffic); a symbolic link at PATH is refused
 * (pm_output_open). The gzip writer issues Z_SYNC_FLUSH
 * at least every flush_ms milliseconds of writing, so a killed process loses at most
 * that interval; the plain writer writes whole lines only. */
typedef struct pm_jsonl_writer pm_jsonl_writer;

#define PM_JSONL_FLUSH_MS_DEFAULT 1000

pm_jsonl_writer *pm_jsonl_writer_open(const char *path, pm_err *err);
/* The gzip level (1 fastest .. 9 smallest; 6 unless set) of a .gz writer, before its first
 * record: 0, or -1 when w is not gzip, the level is out of range or records were written.
 * Replay's results take 1: deflate at 6 cost more CPU than the replay loop itself
 * (bench/replay.sh), 1 is about twice as fast for files about a fifth larger. */
int pm_jsonl_writer_set_gzip_level(pm_jsonl_writer *w, int level);
/* Changes the flush interval (milliseconds, > 0). */
void pm_jsonl_writer_set_flush_ms(pm_jsonl_writer *w, unsigned flush_ms);
/* Appends one record as one line. The record should start with "v": 1 (pm_record_new). */
int pm_jsonl_writer_write(pm_jsonl_writer *w, const json_t *record, pm_err *err);
/* Flushes when the interval has passed; call it from idle loops. */
int pm_jsonl_writer_tick(pm_jsonl_writer *w, pm_err *err);
int pm_jsonl_writer_flush(pm_jsonl_writer *w, pm_err *err);
/* Flushes, finishes the gzip stream, closes; frees w even on error. */
int pm_jsonl_writer_close(pm_jsonl_writer *w, pm_err *err);
uint64_t pm_jsonl_writer_count(const pm_jsonl_writer *w);

/* Streams records from PATH ("-" = stdin), gzip or plain whatever the name says.
 * Damage at the end (a truncated last line, a truncated gzip stream) is not an error:
 * every complete record is yielded, then pm_jsonl_reader_warning() says what was lost
 * and after which record. A malformed line in the middle is an error naming file:line;
 * with skip_bad set it is skipped and counted instead. */
typedef struct pm_jsonl_reader pm_jsonl_reader;

/* The stored body cap every stage defaults to (capture, har import, the tee, replay;
 * --max-body changes it per run). */
#define PM_BODY_CAP_DEFAULT ((size_t)16 << 20)
/* The longest line a JSON Lines reader accepts: 64 MiB plus eight body caps (192 MiB).
 * A result record holds the request's body and up to five answers' (the recorded one,
 * baseline, candidate, secondaries), each cut at the body cap; base64 makes a binary one
 * 4/3 as long, so six capped binary bodies take 128 MiB, and the rest of a record is
 * small: pmirror never refuses a line it wrote with the default caps. A longer line is an
 * error naming file:line (with skip_bad, a counted skip), found without holding more than
 * the cap of it: a reader's memory stays bounded whatever the input. */
#define PM_JSONL_LINE_MAX (((size_t)64 << 20) + 8 * PM_BODY_CAP_DEFAULT)

pm_jsonl_reader *pm_jsonl_reader_open(const char *path, pm_err *err);
void pm_jsonl_reader_set_skip_bad(pm_jsonl_reader *r, bool skip_bad);
/* Changes the line cap (bytes, newline excluded; 0: PM_JSONL_LINE_MAX). For tests and
 * tools; commands use the default. */
void pm_jsonl_reader_set_max_line(pm_jsonl_reader *r, size_t max_line);
/* 1: *record is a new reference; 0: end of input; -1: error. */
int pm_jsonl_reader_next(pm_jsonl_reader *r, json_t **record, pm_err *err);
/* The next record's line as text, not parsed (the caller validates it; see
 * pm_jsonl_reader_line for its line number): 1 with *text borrowed until the next call,
 * 0 at the end, -1 on a read error. A last line cut short is a warning, as above. */
int pm_jsonl_reader_next_text(pm_jsonl_reader *r, const char **text, size_t *len, pm_err *err);
/* The next record's line checked as pm_jsonl_reader_next checks it (a JSON object with
 * "v": 1, the same errors and warnings) and tokenized into *tape, without a tree: for hot
 * paths that look at a few fields. The tape's offsets hold for a copy of the text too. */
struct pm_jtape;
int pm_jsonl_reader_next_tape(pm_jsonl_reader *r, struct pm_jtape *tape, const char **text, size_t *len,
                              pm_err *err);
/* Maps every line of `in` through fn on `workers` threads (worker i gets worker_ctx[i]),
 * calling emit with each output in input order, on the calling thread. fn writes one
 * output per line into out (reset for it); a non-zero return stops the run with err
 * prefixed by path:line. Memory: a few batches of lines, whatever the input size. */
struct pm_jtext;
typedef int (*pm_line_fn)(void *worker_ctx, const char *line, size_t len, struct pm_jtext *out, pm_err *err);
typedef int (*pm_line_emit_fn)(void *ctx, const char *text, size_t len, pm_err *err);
int pm_lines_map(pm_jsonl_reader *in, const char *path, unsigned workers, void **worker_ctx, pm_line_fn fn,
                 pm_line_emit_fn emit, void *emit_ctx, pm_err *err);
/* How much of the input has been read, 0..1 (compressed bytes for gzip), or -1 when
 * unknown (stdin, a pipe): for progress lines and ETAs. */
double pm_jsonl_reader_progress(const pm_jsonl_reader *r);
/* The text of the record last returned (its line without the newline; borrowed, valid
 * until the next call): for writers that extend a record without re-serializing it. */
const char *pm_jsonl_reader_text(const pm_jsonl_reader *r, size_t *len);
/* Borrowed; NULL when the input ended cleanly. Valid until close. */
const char *pm_jsonl_reader_warning(const pm_jsonl_reader *r);
uint64_t pm_jsonl_reader_line(const pm_jsonl_reader *r);    /* line last read */
uint64_t pm_jsonl_reader_records(const pm_jsonl_reader *r); /* records yielded */
uint64_t pm_jsonl_reader_skipped(const pm_jsonl_reader *r); /* bad lines skipped */
void pm_jsonl_reader_close(pm_jsonl_reader *r);

/* Appends one already-serialized record (a JSON object, no newline) as one line. For
 * hot paths that write records with pm_jtext instead of building json_t trees. */
int pm_jsonl_writer_write_line(pm_jsonl_writer *w, const char *line, size_t len, pm_err *err);

/* ---- a JSON Lines file in numbered parts (rotating_writer.c) ------------------------- */

/* `capture --rotate-size/--rotate-seconds`: OUT=capture.jsonl.gz is written as
 * capture.0001.jsonl.gz, capture.0002.jsonl.gz, ... (pm_rotating_writer_part_name), a new
 * part once a line takes the current one to max_bytes (the lines' length, before gzip) or
 * at a tick once it is max_seconds old. Neither limit, or OUT "-": one pm_jsonl_writer. */
typedef struct pm_rotating_writer pm_rotating_writer;

pm_rotating_writer *pm_rotating_writer_open(const char *path, uint64_t max_bytes, long max_seconds, pm_err *err);
/* Appends one line (pm_jsonl_writer_write_line), then opens the next part when due. */
int pm_rotating_writer_write_line(pm_rotating_writer *w, const char *line, size_t len, pm_err *err);
/* From idle loops: the flush interval (pm_jsonl_writer_tick), and the next part when the
 * current one's time is up. */
int pm_rotating_writer_tick(pm_rotating_writer *w, pm_err *err);
/* The names of the files opened so far, in order (borrowed; it grows as parts open, and
 * dies with w: json_incref it to keep it). "-" is never listed. */
json_t *pm_rotating_writer_files(const pm_rotating_writer *w);
/* Closes the current part (pm_jsonl_writer_close) and frees w. NULL: nothing. */
int pm_rotating_writer_close(pm_rotating_writer *w, pm_err *err);
/* Part `part` of path: "dir/capture.jsonl.gz", 3 → "dir/capture.0003.jsonl.gz" (the
 * number before the first dot of the file's name; at the end when it has none); part 0:
 * path itself. */
void pm_rotating_writer_part_name(const char *path, unsigned part, char *buf, size_t size);

#endif
