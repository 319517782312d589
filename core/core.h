/*
 * core.h — the one public header of core/, the layer every stage stands on.
 *
 * It owns what all stages share: the error value every function fills, the JSON Lines
 * files of DESIGN.md (streaming reader and writer, gzip by file name), config loading
 * (YAML or JSON into one jansson tree, with file:line:column for errors), redaction of
 * secrets at rest (keyed HMAC-SHA256), the exchange record helpers, and the Quay
 * capability map with its classifier and cohort extraction.
 *
 * Conventions: functions return 0 on success and -1 on failure with `pm_err` filled
 * (readers return 1 for "got one", 0 for "end"). Nothing here prints or exits; cli/ does.
 * Returned pointers are owned by the caller unless the comment says "borrowed".
 */
#ifndef PM_CORE_H
#define PM_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ===== errors ===================================================================== */

typedef struct pm_err {
    char msg[1024];
} pm_err;

/* Fills err (if not NULL) with a printf-style message; always returns -1. */
int pm_err_set(pm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error code of a libcurl transfer result (a CURLcode, as an int: core links no
 * libcurl): NULL for CURLE_OK, else `refused`, `timeout`, `reset`, `truncated` (closed
 * before the announced length), `garbage`, `tls` or `other`. (core/curl_error.c) */
const char *pm_curl_error_code(int curl_result);

/* ===== output files (output_file.c) =============================================== */

/* Opens PATH for writing (created or truncated, mode 0600 when a regular file) and returns
 * the descriptor; a symbolic link at PATH is refused, never written through, with an error
 * naming it ("PATH: is a symbolic link; ..."). -1 with err on failure. */
int pm_output_open(const char *path, pm_err *err);

/* A file a reader must see whole (a report, a port file): written to a temporary with an
 * unpredictable name in PATH's directory (mkostemp: created exclusively, 0600, close-on-
 * exec), then renamed over PATH, which replaces a link there instead of following it. */
typedef struct pm_output_tmp {
    char *path; /* the final name */
    char *tmp;  /* the temporary's name, beside it */
    FILE *file; /* write here between open and commit */
} pm_output_tmp;

/* 0, or -1 with err (o is then empty). */
int pm_output_tmp_open(pm_output_tmp *o, const char *path, pm_err *err);
/* Flushes, syncs and closes o->file and renames the temporary over the final name; on any
 * failure the temporary is removed and err names the final path. o is empty afterwards. */
int pm_output_tmp_commit(pm_output_tmp *o, pm_err *err);
/* Closes and removes the temporary (a render failed); o is empty afterwards. */
void pm_output_tmp_discard(pm_output_tmp *o);

/* ===== JSON Lines files =========================================================== */

/* Opens PATH for writing records: gzip when it ends in ".gz", stdout when "-".
 * Files are created 0600 (they may hold traffic); a symbolic link at PATH is refused
 * (pm_output_open). The gzip writer issues Z_SYNC_FLUSH
 * at least every flush_ms milliseconds of writing, so a killed process loses at most
 * that interval; the plain writer writes whole lines only. */
typedef struct pm_jsonl_writer pm_jsonl_writer;

#define PM_JSONL_FLUSH_MS_DEFAULT 1000

pm_jsonl_writer *pm_jsonl_writer_open(const char *path, pm_err *err);
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

/* ===== a JSON Lines file in numbered parts (core/rotating_writer.c) ================== */

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

/* ===== JSON text (hot-path serialization) ========================================== */

/* A growing buffer of compact JSON text. The capture stage writes each record straight
 * into one instead of building a jansson tree and dumping it: bench/capture.sh showed
 * jansson's allocation and dumping taking most of capture's time. Output is always valid
 * JSON (tests/fuzz/fuzz_capture.c parses every record written with it back with jansson,
 * and fuzz_har.c round-trips imported records): strings are escaped, and
 * bytes that are not UTF-8 are written as \u00XX (read as Latin-1). Commas between
 * members and elements are inserted automatically. */
typedef struct pm_jtext {
    char *buf;
    size_t len, cap;
    int depth;
    uint64_t need_comma; /* bit d: the container at depth d already has a member */
    bool failed;         /* an allocation failed: the text is incomplete */
} pm_jtext;

void pm_jtext_reset(pm_jtext *t);
void pm_jtext_free(pm_jtext *t);
void pm_jtext_object_begin(pm_jtext *t);
/* Resets t to an object already serialized (`object`: one JSON object's text), left open:
 * keys written next add members to it, pm_jtext_object_end closes it. The replay engine
 * extends each capture line this way instead of re-serializing it. Sets t->failed when
 * `object` does not look like an object. */
void pm_jtext_object_reopen(pm_jtext *t, const char *object, size_t len);
void pm_jtext_object_end(pm_jtext *t);
void pm_jtext_array_begin(pm_jtext *t);
void pm_jtext_array_end(pm_jtext *t);
/* An object member's key (then exactly one value call). */
void pm_jtext_key(pm_jtext *t, const char *key);
void pm_jtext_string(pm_jtext *t, const char *s, size_t len);
/* The same for text the caller has already checked with pm_utf8_valid. */
void pm_jtext_string_utf8(pm_jtext *t, const char *s, size_t len);
void pm_jtext_cstring(pm_jtext *t, const char *s); /* NULL writes null */
void pm_jtext_int(pm_jtext *t, int64_t v);
void pm_jtext_bool(pm_jtext *t, bool v);
void pm_jtext_null(pm_jtext *t);
/* A value already serialized as JSON by jansson (for rare, complex values). */
void pm_jtext_json(pm_jtext *t, const json_t *value);

/* ===== JSON tape (json_tape.c): validate and tokenize without building a tree ======= */

enum { PM_JOBJ, PM_JARR, PM_JSTR, PM_JNUM, PM_JTRUE, PM_JFALSE, PM_JNULL };
enum { PM_JTOK_ESCAPED = 1, PM_JTOK_INTEGER = 2, PM_JTOK_KEY = 4 };

/* One value. Strings span their content without the quotes; numbers, literals and
 * containers their whole text. An object's tokens after it are key, value, key, value...
 * (count = members); an array's are its elements (count = elements). `next` is the index
 * of the token after this value's subtree, so siblings are found without descending. */
typedef struct pm_jtok {
    uint32_t start, end, next, count;
    uint8_t type, flags;
} pm_jtok;

typedef struct pm_jtape {
    pm_jtok *tok;
    size_t n, cap;       /* reused between parses: keep one tape per hot loop */
    const char *text;    /* borrowed: the parsed text */
    size_t len;
    const char *error;   /* why the last parse failed, and where */
    size_t error_at;
} pm_jtape;

/* 0, or -1 with t->error / t->error_at (a static string and a byte offset). Strings'
 * UTF-8 is not checked (see json_tape.c); nesting beyond max_depth is an error. */
int pm_jtape_parse(pm_jtape *t, const char *text, size_t len, unsigned max_depth);
void pm_jtape_free(pm_jtape *t);
/* The value of key in the object at index obj (keys compared as written), or -1. */
long pm_jtape_find(const pm_jtape *t, size_t obj, const char *key);
/* Whether a number token fits what jansson accepts: an integer in 64 bits, a finite real. */
bool pm_jtape_number_ok(const pm_jtape *t, const pm_jtok *k);
/* The value at token i as a jansson tree (new reference), as json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL) would build it, faster; NULL for a number jansson refuses, a depth past
 * its limit, or out of memory. The caller has checked the text's UTF-8 (json_tape_tree.c). */
json_t *pm_jtape_json(const pm_jtape *t, size_t i);
/* A JSON string's escaped content → UTF-8 bytes; out has room for len bytes (never
 * longer). 0, or -1 on a bad escape or a lone surrogate. */
int pm_jstr_unescape(const char *s, size_t len, char *out, size_t *out_len);

/* ===== config ===================================================================== */

/* A loaded config file: YAML (.yaml/.yml, or anything not .json) through libyaml, JSON
 * through jansson, both as one jansson tree. For YAML it also remembers where each value
 * came from, so later checks can name file:line:column. */
typedef struct pm_config pm_config;

/* The deepest nesting of mappings and sequences a YAML config may have (the top level is
 * 1): deeper is an error naming file:line:column, raised as soon as the parser gets there
 * (libyaml's time grows with the square of the depth). Real configs nest a handful of
 * levels. JSON configs have jansson's own cap, JSON_PARSER_MAX_DEPTH (2048). */
#define PM_CONFIG_MAX_DEPTH 512

pm_config *pm_config_load(const char *path, pm_err *err);
/* Parses an in-memory document; name is used in messages. */
pm_config *pm_config_parse(const char *name, const char *text, size_t len, pm_err *err);
json_t *pm_config_root(const pm_config *cfg); /* borrowed */
const char *pm_config_path(const pm_config *cfg);
/* Fills err with "FILE:LINE:COL: message" for the value (or "FILE: message" when its
 * position is unknown); returns -1. */
int pm_config_error_at(const pm_config *cfg, const json_t *value, pm_err *err, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* The same, at the position of the key `key` of a mapping (for "unknown key" errors: the
 * key is what is wrong, and true/false/null values have no position of their own). */
int pm_config_key_error_at(const pm_config *cfg, const json_t *object, const char *key, pm_err *err,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pm_config_free(pm_config *cfg);

/* ===== records ==================================================================== */

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
/* Formats microseconds since the epoch as RFC 3339 UTC with microseconds into buf (≥ 32).
 * (core/rfc3339.c) */
void pm_time_rfc3339(int64_t epoch_us, char *buf, size_t size);
/* Reads an RFC 3339 time into microseconds since the epoch: "2026-11-01T10:00:00.000886Z",
 * any number of fraction digits (cut to µs), 'Z' or an offset ±hh:mm (also ±hhmm, ±hh)
 * applied; HAR's variants too (seconds optional, 't' or ' ' for 'T', ',' for '.', no
 * offset = UTC). False for anything else: trailing text, a field out of range, a time
 * before 1970. */
bool pm_time_parse(const char *s, int64_t *us);
/* Whether s is valid UTF-8 (RFC 3629). (core/utf8.c) */
bool pm_utf8_valid(const unsigned char *s, size_t len);
/* The length (1-4) of the valid UTF-8 sequence at s (n > 0 bytes left) with its code point
 * in *cp, or 0 when s does not start one (overlong, surrogate, past U+10FFFF, cut short). */
size_t pm_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* n, or less so that cutting s (longer than n) before s[n] splits no character: back over
 * at most 3 continuation bytes. */
size_t pm_utf8_cut(const char *s, size_t n);
/* Lower-case hex SHA-256 of data into hex (65 bytes). */
void pm_sha256_hex(const void *data, size_t len, char hex[65]);

/* ===== redaction ================================================================== */

/* Replaces secrets by "redacted:" + the first 16 hex of HMAC-SHA256(key, secret), so
 * equal secrets still compare equal and replay can map them to per-target credentials.
 * Authorization keeps its scheme ("Bearer redacted:…"); Cookie and Set-Cookie keep the
 * cookie names and attributes. */
typedef struct pm_redactor pm_redactor;

/* key_path: an existing key file, or NULL to use/create "<dir of output>/.pmirror-key".
 * A created key is 32 random bytes, hex, mode 0600. An existing key file is refused (NULL,
 * err naming it) unless it is a regular file owned by the user, neither readable nor
 * writable by group or others, and not a symbolic link (redact_key.c). rules: {"headers":
 * [...], "query": [...], "json_fields": [...]}, names added to the built-in defaults (NULL:
 * the defaults alone); pm_redact_rules_load reads them from a profile. */
pm_redactor *pm_redactor_new(const char *key_path, const char *output_path,
                             const json_t *rules, pm_err *err);
/* Tests and tools: a redactor from an explicit key. */
pm_redactor *pm_redactor_new_with_key(const unsigned char *key, size_t key_len,
                                      const json_t *rules, pm_err *err);
void pm_redactor_free(pm_redactor *r);
/* "redacted:<16 hex>" for value into out (≥ 26 bytes). */
void pm_redact_value(const pm_redactor *r, const char *value, size_t len, char *out, size_t size);
/* In place on a [[name, value], ...] array. */
void pm_redact_headers(const pm_redactor *r, json_t *headers);
/* Returns a new string: TARGET with secret query parameter values redacted. */
char *pm_redact_target(const pm_redactor *r, const char *target);
/* In place: every object key listed as a secret field, at any depth. Returns how many. */
size_t pm_redact_json(const pm_redactor *r, json_t *value);
/* Redacts a body held in a record object ("body" JSON text) when it parses as JSON. */
void pm_redact_record_body(const pm_redactor *r, json_t *message);
/* The redacted value of one header, or NULL when the header is not a secret. */
char *pm_redact_header_value(const pm_redactor *r, const char *name, const char *value);
/* The redacted form of a body (JSON or form-encoded by content_type) and its length in
 * *out_len (it may hold NUL bytes), or NULL when it holds nothing to redact. */
char *pm_redact_body_text(const pm_redactor *r, const char *content_type, const char *text, size_t len,
                          size_t *out_len);
/* The same for a body sent with Content-Encoding gzip, x-gzip or deflate, whose text no
 * search would see: decoded (up to 64 MiB; a cut stream as far as it goes), redacted, and
 * encoded again with the same coding. NULL when the coding is another, the body does not
 * decode to text, or it holds nothing to redact. */
char *pm_redact_coded_body(const pm_redactor *r, const char *content_encoding, const char *content_type,
                           const unsigned char *data, size_t len, size_t *out_len);
/* In place on a record's request or response object: its headers, its text body
 * (pm_redact_record_body) and a gzip or deflate body stored as body_b64
 * (pm_redact_coded_body; encoded again, body_redacted set). Not an object: nothing. */
void pm_redact_message(const pm_redactor *r, json_t *message);
/* From now on a JWT secret keeps its header and claims; only its signature (what makes
 * it a credential) becomes "redacted:…", as `HEADER.CLAIMS.redacted:<16 hex>` (the hex
 * of the whole token). For the answers replay stores: diff's `jwt` rule compares the
 * claims of tokens two backends issued. Off by default (captures redact whole tokens). */
void pm_redactor_keep_jwt_claims(pm_redactor *r, bool keep);
/* A profile's extra secret names: path (its redact.yaml: pm_profile.redact.path), a
 * `redact:` section with optional `headers:`, `query:` and `json_fields:` lists of names,
 * as *rules for pm_redactor_new (a new reference); path NULL (the profile has none): 0 with
 * *rules NULL. A malformed file is an error naming file:line:column. (redact_profile.c) */
int pm_redact_rules_load(const char *path, json_t **rules, pm_err *err);

/* ---- a secret's value, wherever it shows up (redact_spread.c) ----------------------
 * The secret values one exchange is known to hold (the Authorization credential, a
 * cookie, a redacted query parameter or field, a configured credential), each with the
 * token it is stored as, so that every other occurrence of the same bytes in the
 * exchange's stored text (an echo in a response body, another header, the target) is
 * replaced by the same token. Only values of PM_SECRET_MIN_LEN bytes or more are kept. */
#define PM_SECRET_MIN_LEN 8
typedef struct pm_secrets pm_secrets;

pm_secrets *pm_secrets_new(void);
void pm_secrets_free(pm_secrets *s);
/* Learns value, to be replaced by token (NULL: what r writes for it where it is named).
 * Short values, redacted ones and values already known are ignored. -1: out of memory. */
int pm_secrets_add(pm_secrets *s, const pm_redactor *r, const char *value, size_t len, const char *token);
/* Learns every value of from (a per-exchange set seeded from a per-session one). */
int pm_secrets_add_all(pm_secrets *s, const pm_secrets *from);
size_t pm_secrets_count(const pm_secrets *s);
/* The stored form of one secret value as r writes it where it is named: its token, or
 * HEADER.CLAIMS.token for a JWT under keep_jwt_claims. A new string. (redact.c) */
char *pm_redact_secret(const pm_redactor *r, const char *value, size_t len);
/* Learns what a suite sends its targets: each `credentials` value (stored as its
 * redacted: key, the token the request shows) and the secret parts of each target's
 * configured headers. An answer echoing them is redacted like the request. */
struct pm_suite;
int pm_secrets_add_suite(pm_secrets *s, const pm_redactor *r, const struct pm_suite *suite);
/* The token of a known value (borrowed), or NULL. */
const char *pm_secrets_token(const pm_secrets *s, const char *value, size_t len, size_t *token_len);
/* text with every known value replaced by its token, longest values first, existing
 * `redacted:` tokens left whole; NULL when none occurs (or out of memory). One memmem
 * pass over text per known value. The result may hold NUL bytes when text does. */
char *pm_secrets_spread(const pm_secrets *s, const char *text, size_t len, size_t *out_len);
/* A redactor that redacts as r does (same key, lists and JWT form; r must outlive it),
 * learns into s every secret it replaces, and spreads s's values over everything it is
 * given: pm_redact_header_value also answers for headers it does not list, and targets,
 * bodies and messages lose every known value. For one exchange (or one thread). */
pm_redactor *pm_redactor_spreading(const pm_redactor *r, pm_secrets *s, pm_err *err);
/* The learning pass of a spreading redactor: what it would replace in a header, headers
 * ([[name, value], ...]), a target, a body (text, or gzip/deflate by the message's
 * headers; binary bodies hold nothing to learn) or a record message, learned into its
 * set, nothing written. Called on every part of an exchange before any part is written,
 * so that a secret is spread over parts that come before it. No-ops for other redactors. */
void pm_redact_learn_header(const pm_redactor *r, const char *name, const char *value);
void pm_redact_learn_headers(const pm_redactor *r, const json_t *headers);
void pm_redact_learn_target(const pm_redactor *r, const char *target);
void pm_redact_learn_body(const pm_redactor *r, const json_t *headers, const unsigned char *data, size_t len);
void pm_redact_learn_message(const pm_redactor *r, const json_t *message);

/* ===== capability map and classifier ============================================== */

typedef struct pm_capmap pm_capmap;

typedef struct pm_cohort {
    char *org;  /* namespace (organization or user namespace), NULL if none */
    char *repo; /* "namespace/name", NULL if none */
    char *user; /* caller: Basic user name or Bearer JWT sub, NULL if unknown */
} pm_cohort;

typedef struct pm_class {
    const char *family;        /* borrowed from the map; "UNKNOWN" when unmatched */
    const char *capability;    /* borrowed; "UNKNOWN" when unmatched */
    const char *switch_name;   /* family switch, e.g. ROUTE_OWNER_FAMILY_REGISTRY_V2 */
    const char *cap_switch;    /* capability switch or NULL */
    const char *route_id;      /* tracker id or NULL */
    const char *route_switch;  /* per-route switch id or NULL */
    bool mutating;
    bool matched;
    pm_cohort cohort; /* owned: pm_class_clear frees it */
} pm_class;

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

/* Loads a capability map (e.g. config/quay/capabilities.yaml) and compiles every
 * pattern once. */
pm_capmap *pm_capmap_load(const char *path, pm_err *err);
/* Takes ownership of cfg when it succeeds; the caller keeps it on failure. */
pm_capmap *pm_capmap_from_config(pm_config *cfg, pm_err *err);
void pm_capmap_free(pm_capmap *map);
size_t pm_capmap_route_count(const pm_capmap *map);
/* Classifies one request. headers may be NULL ([[name, value], ...] otherwise). HEAD is
 * answered by a GET route when no HEAD route matches, as Flask does. Never fails: an
 * unmatched request is family UNKNOWN. */
void pm_classify(const pm_capmap *map, const char *method, const char *target,
                 const json_t *headers, pm_class *out);
/* The same with the caller's user (NULL: none) instead of the Authorization header's:
 * for callers that cache it per connection (decoding a JWT per request is costly). */
/* Marks out mutating when one of headers ([[name, value], ...]) is a method override to
 * a mutating method (pm_header_overrides_to_mutating); pm_classify does this itself. */
void pm_classify_overrides(pm_class *out, const json_t *headers);
void pm_classify_user(const pm_capmap *map, const char *method, const char *target, const char *user,
                      pm_class *out);
void pm_class_clear(pm_class *c);
/* {family, capability, switch, cap_switch, route_id, route_switch, mutating, cohort} */
json_t *pm_class_to_json(const pm_class *c);

/* Cohort pieces, exposed for capture/tee and tests. Each returns a new string or NULL. */
char *pm_cohort_user_from_authorization(const char *authorization);
/* The first repository named by a /v2/auth scope in a query string. */
char *pm_cohort_repo_from_scope(const char *query);
/* True when a /v2/auth query asks for push, delete or * on any repository. */
bool pm_cohort_scope_pushes(const char *query);

typedef struct pm_selection pm_selection;

/* ===== bodies with a cap ============================================================= */

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
/* Sets body | body_b64, body_len, body_sha256, and body_truncated when cut, on obj (for
 * pm_body_init's bodies). */
int pm_body_to_json(const pm_body *b, json_t *obj);
/* The same keys written as JSON text into an open object. */
typedef struct pm_jtext pm_jtext;
int pm_body_to_jtext(const pm_body *b, pm_jtext *t);
/* The same with secrets redacted (r may be NULL: none), as a capture writes bodies: text
 * by pm_redact_body_text, gzip/deflate by pm_redact_coded_body (headers: the message's
 * [[name, value], ...], for Content-Type and Content-Encoding); "body_redacted": true
 * when something was. body_len and body_sha256 stay those of the body as received. */
int pm_body_to_jtext_redacted(const pm_body *b, const pm_redactor *r, const json_t *headers, pm_jtext *t);
void pm_body_free(pm_body *b);

/* ===== suites ======================================================================= */

typedef enum { PM_ROLE_BASELINE, PM_ROLE_CANDIDATE, PM_ROLE_SECONDARY } pm_role;

typedef struct pm_target {
    const char *name;     /* borrowed from the suite's config tree */
    const char *url;      /* base URL without a trailing slash; NULL for `recorded` */
    pm_role role;
    bool sandbox;         /* mutating requests may go here (with --allow-writes) */
    bool insecure;        /* TLS without verification */
    bool recorded;        /* the pseudo-target that answers with the capture's response */
    json_t *headers;      /* [[name, value], ...] set on every request (owned) */
    json_t *credentials;  /* {"redacted:<hex>": "real value"} (borrowed) */
    double timeout_s, connect_timeout_s;
} pm_target;

typedef struct pm_suite {
    pm_config *cfg;
    char *profile_dir;    /* resolved: the suite's own `profile`, else default_profile */
    bool profile_named;   /* the suite file names its profile */
    pm_target *targets;
    size_t ntargets;
    long concurrency;     /* pacing: defaults 32, 0, 0, 0 (0 = unset) */
    double rate, speed;
    long limit;
    pm_selection *selection; /* NULL: everything */
    bool allow_writes;
} pm_suite;

/* Loads and checks a suite file (DESIGN.md "The suite file"; every key in the README).
 * A relative `profile` is taken from the working directory when it exists there, else
 * from the suite file's directory; default_profile when the suite names none. */
pm_suite *pm_suite_load(const char *path, const char *default_profile, pm_err *err);
void pm_suite_free(pm_suite *s);
const char *pm_role_name(pm_role role);

/* ===== profiles (core/profile.c) ===================================================== */

/* A profile is a directory (config/quay/ ships one): the capability map, the
 * normalization rules, the gate thresholds, replay's correlation rules and the extra
 * secret names. A command finds it once and takes every file's path from it. */

/* One file of a profile. */
typedef struct pm_profile_file {
    char *where;      /* DIR/NAME, always: where it is looked for (named by a command that
                       * cannot do without it, e.g. the map for capture) */
    const char *path; /* where, when the file is there; NULL when absent (a command that can
                       * do without it goes on without it) */
} pm_profile_file;

typedef struct pm_profile {
    char *dir;          /* as found (report.json's run.profile) */
    const char *source; /* how: "flag" (--profile), "suite" (the suite file's `profile`),
                         * "env" ($PMIRROR_PROFILE), "exe" (beside the binary), "default" */
    /* Absent means: not readable for these three (as commands have always judged them)... */
    pm_profile_file capabilities; /* capabilities.yaml: the map; the report's coverage */
    pm_profile_file rules;        /* rules.yaml: diff's normalization rules */
    pm_profile_file gate;         /* gate.yaml: the gate's thresholds */
    /* ... and not there at all for these two: one that is there but cannot be read is an
     * error when it is loaded, never skipped in silence. */
    pm_profile_file correlation;  /* correlation.yaml: replay's correlation rules */
    pm_profile_file redact;       /* redact.yaml: extra secret names (pm_redact_rules_load) */
} pm_profile;

/* Where a lookup looks, in this order (pm_profile_find fills it from the process). */
typedef struct pm_profile_lookup {
    const char *given;    /* --profile; NULL: not given */
    const char *env;      /* $PMIRROR_PROFILE; NULL or "": not set */
    const char *exe;      /* the running binary's path: a profile beside it (../config/quay)
                           * counts when its capabilities.yaml is readable; NULL: unknown */
    const char *fallback; /* the directory compiled in */
} pm_profile_lookup;

pm_profile *pm_profile_find_in(const pm_profile_lookup *l, pm_err *err);
/* given (--profile), else $PMIRROR_PROFILE, else ../config/quay beside /proc/self/exe,
 * else the directory compiled in (PMIRROR_DEFAULT_PROFILE). NULL only when out of memory. */
pm_profile *pm_profile_find(const char *given, pm_err *err);
/* The profile at dir, found by `source` (a string that outlives it). */
pm_profile *pm_profile_at(const char *dir, const char *source, pm_err *err);
/* A command's profile and suite together: the profile found (pm_profile_find), the suite
 * loaded with it as its default (when suite_path; else *suite is NULL), and the suite's
 * profile taken unless given. NULL with err (the suite's error) on failure. */
pm_profile *pm_profile_open(const char *given, const char *suite_path, pm_suite **suite, pm_err *err);
void pm_profile_free(pm_profile *p);
/* A redactor with the profile's extra secret names (redact.yaml) added to the defaults;
 * key and output as pm_redactor_new takes them. (core/redact_profile.c) */
pm_redactor *pm_profile_redactor(const pm_profile *p, const char *key, const char *output, pm_err *err);

/* ===== selection (capture --select, tee --select) ================================== */

/* Which requests to keep: by family, and by cohort as Quay's canary router selects them
 * (ROUTE_CANARY_ORGS / _REPOS / _USERS / _PERCENT): a request is in the cohort when its
 * org, repo or user is listed, or when its percent bucket is below `percent`. Parsed
 * from "org=acme,repo=acme/app,user=alice,percent=5[,salt=S]" (keys may repeat). */

pm_selection *pm_selection_new(void);
/* Adds one --family value. */
int pm_selection_add_family(pm_selection *s, const char *family, pm_err *err);
/* Adds one --select value. */
int pm_selection_parse(pm_selection *s, const char *spec, pm_err *err);
bool pm_selection_matches(const pm_selection *s, const char *family, const pm_cohort *cohort);
void pm_selection_free(pm_selection *s);
/* The selection of a command's --family and --select values; *out NULL (everything)
 * when there are none. 0, or -1 with err naming the first bad value. */
int pm_selection_from(const char *const *families, size_t nfamilies, const char *const *selects, size_t nselects,
                      pm_selection **out, pm_err *err);
/* The stable percent bucket (0..99) of a cohort: the first 4 bytes, big-endian, of
 * SHA-256(salt ":" key) modulo 100, key = repo, else user, else org. -1 when the cohort
 * has none of them. */
int pm_cohort_percent_bucket(const pm_cohort *cohort, const char *salt);

/* ===== request targets and methods (core/target.c, core/classify.c) ================ */

/* The path-and-query of a target: itself in origin form, the part from the first '/' after
 * the authority in absolute form ("/" when there is none). Borrowed from target. */
const char *pm_target_origin_form(const char *target);
/* Whether target may go on a request line as it is: not empty, and no byte <= 0x20 (space
 * and the control bytes) and no DEL. */
bool pm_target_is_clean(const char *target);
/* What a client library should send so the server reads target exactly: *origin_url, the
 * base URL's "scheme://authority/" (for CURLOPT_URL), and *request_target, the base URL's
 * path without trailing slashes followed by target in origin form (for
 * CURLOPT_REQUEST_TARGET). Both new; -1 when base_url has no scheme or out of memory. */
int pm_request_for(const char *base_url, const char *target, char **origin_url, char **request_target);
/* A record's "target" key and, when the target is not UTF-8, "target_b64": its bytes
 * exactly ("target" shows them as Latin-1 for people and classification). Readers that
 * send the request take target_b64 when it is there. */
void pm_jtext_target(pm_jtext *t, const char *target);
/* GET, HEAD and OPTIONS: the methods the side-effect policy lets through to any target. */
bool pm_method_is_safe(const char *method);
/* Whether a request header asks a framework to treat the request as another, mutating
 * method: X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override (any case) whose value
 * is not a safe method. Such a GET is mutating for the side-effect policy. */
bool pm_header_overrides_to_mutating(const char *name, const char *value);

/* ===== the bounded hand-off between two threads (core/handoff.c) =================== */

/* A producer thread moves items to one consumer thread, in order, through a bounded ring:
 * the producer waits while it is full; items the consumer is done with are freed on the
 * producer's thread. Used by capture (packet loop → record writer) and run (replay loop →
 * diff and report stages). */
#define PM_HANDOFF_CAP 256     /* items in the ring */
#define PM_HANDOFF_ITEM_MAX 32 /* bytes of one item at most (a pointer and a few words) */

typedef struct pm_handoff_ops {
    size_t item_size;                                /* bytes of one item, copied in and out */
    int (*take)(void *ctx, void *item, pm_err *err); /* consumer: the item's work; non-zero: fails */
    void (*free_item)(void *ctx, void *item);        /* producer's thread: frees what it holds */
    void (*idle)(void *ctx);                         /* consumer, wait_ms without items; may be NULL */
    unsigned wait_ms;                                /* 0: 50 */
    int nice;                                        /* the consumer's niceness (0: unchanged) */
} pm_handoff_ops;

typedef struct pm_handoff pm_handoff;

/* Starts the consumer thread (ctx goes to every callback). */
pm_handoff *pm_handoff_start(const pm_handoff_ops *ops, void *ctx, pm_err *err);
/* Copies item in (what it points to passes to the hand-off), waiting while the ring is
 * full. -1 with the consumer's error once it has failed (the item is freed). */
int pm_handoff_push(pm_handoff *h, const void *item, pm_err *err);
/* Items waiting now (any thread). */
size_t pm_handoff_depth(pm_handoff *h);
bool pm_handoff_failed(pm_handoff *h);
/* The consumer takes what is queued, then stops; frees h: 0, or -1 with its first error. */
int pm_handoff_finish(pm_handoff *h, pm_err *err);

/* ===== hop-by-hop headers (core/hop_by_hop.c) ====================================== */

/* Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (any
 * case): RFC 9110 7.6.1's fixed hop-by-hop set. */
bool pm_header_is_hop_by_hop(const char *name);
/* Whether a Connection header's value (a comma list; NULL: none) names `name` (any case):
 * such a header is hop-by-hop too. */
bool pm_connection_lists(const char *connection, const char *name);

/* ===== zlib: whole buffers (core/zlib.c) =========================================== */

/* How an inflate ended. END: the stream ended (bytes after it are *rest); CUT: the input
 * ended first (what decoded is kept); TOO_LARGE: more than max bytes would come out; BAD:
 * not a stream of this kind (or out of memory). */
typedef enum { PM_INFLATE_END, PM_INFLATE_CUT, PM_INFLATE_TOO_LARGE, PM_INFLATE_BAD } pm_inflate_status;
/* Inflates len bytes with zlib window bits wbits (15 + 32: gzip or zlib; 15 + 16: gzip;
 * 15: zlib; -15: raw deflate) into a new buffer (*out, *out_len; set for END and CUT
 * only, NULL otherwise). members: a gzip stream may be several members one after the
 * other. rest may be NULL. */
pm_inflate_status pm_zlib_inflate(const unsigned char *in, size_t len, int wbits, size_t max, bool members,
                                  unsigned char **out, size_t *out_len, size_t *rest);
/* Deflates with zlib's defaults (level 6, the same input always gives the same bytes) and
 * window bits wbits (31: gzip, RFC 1952; 15: zlib, RFC 1950; -15: raw) into a new buffer.
 * 0, or -1. */
int pm_zlib_deflate(const unsigned char *in, size_t len, int wbits, unsigned char **out, size_t *out_len);

/* ===== small shared helpers ======================================================= */

/* The Wilson score 95% lower bound of successes out of n (z = 1.959964), clamped to
 * 0..1; NAN when n == 0 (no sample, no bound: report.json writes null, the tee's metrics
 * leave the family out). (core/wilson.c) */
double pm_wilson_lower(uint64_t successes, uint64_t n);

/* Base64 (standard, or URL-safe when url is true; padding optional) into a new buffer. */
int pm_base64_decode(const char *in, size_t in_len, bool url, unsigned char **out,
                     size_t *out_len);
char *pm_base64_encode(const unsigned char *in, size_t len);
/* Milliseconds from a monotonic clock. */
uint64_t pm_now_ms(void);
/* Reads a whole file into a new NUL-terminated buffer. */
char *pm_read_file(const char *path, size_t *len, pm_err *err);

/* A bound, listening TCP socket (close-on-exec) for --listen: "127.0.0.1:8001",
 * "[::1]:8001", ":8001" or "8001" (both: loopback); port 0 takes any free one. The bound
 * address goes to *bound. reuse_port sets SO_REUSEPORT (one socket per worker). The fd, or
 * -1 with err naming the address. (core/net.c) */
struct sockaddr_storage;
int pm_listen_socket(const char *listen_addr, int backlog, bool reuse_port, struct sockaddr_storage *bound,
                     pm_err *err);
/* "127.0.0.1:8001" or "[::1]:8001" for a bound address, and its port. */
void pm_describe_address(const struct sockaddr_storage *ss, char *buf, size_t size, uint16_t *port);

#endif
