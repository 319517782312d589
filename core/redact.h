/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/redact.h — redaction of secrets at rest: the keyed redactor, the profile's extra names,
 * and the spreading of a secret's value wherever it shows up (redact*.c). One part of core's
 * public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_REDACT_H
#define PM_CORE_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

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
/* The key file beside input_path (in the working directory for stdin or a device), the
 * one the capture was redacted with: path, filled, when a file (or anything) is there,
 * else NULL. Commands that read a capture and redact what they write (replay, run) pass
 * it as key_path when no --key is given, so equal secrets keep equal tokens across the
 * capture and everything made from it; with neither, the key beside the output. */
const char *pm_redact_key_of_input(const char *input_path, char *path, size_t size);
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
/* Empties s for the next exchange (a set reused instead of made anew each time). */
void pm_secrets_clear(pm_secrets *s);
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
/* A redactor that redacts as r does (r must outlive it) and remembers the token of each
 * value it hashed (a bounded table: values up to 4 KiB, one a slot, a newer value taking
 * a slot over): for one thread redacting many exchanges that repeat the same credentials
 * (capture's record writer: the HMAC of each request's JWT was 14% of it, callgrind).
 * Not for sharing between threads. Spreading views of it share what it remembers. */
pm_redactor *pm_redactor_remembering(const pm_redactor *r, pm_err *err);
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
/* A text body's fields pass (what pm_redact_body_text redacts by name, before it spreads),
 * kept from the learning pass for the writing one: a spreading redactor's learning pass
 * runs it on every body to learn their secrets, and the writing pass gave the same text
 * again (a value's token is its known one, or its HMAC either way) — twice the scan of
 * every JSON body, a sixth of capture's record thread (callgrind, bench/capture.sh). */
typedef struct pm_body_fields {
    bool done;  /* the body was UTF-8 text and its fields pass ran: red is the result */
    char *red;  /* the text with its fields redacted, len bytes; NULL: nothing was */
    size_t len;
} pm_body_fields;
/* pm_redact_learn_body, keeping the fields pass of a text body in *f (zeroed first; done
 * stays false for other redactors, empty and non-text bodies). */
void pm_redact_learn_body_fields(const pm_redactor *r, const json_t *headers, const unsigned char *data, size_t len,
                                 pm_body_fields *f);
/* True only when the fields pass over a UTF-8 text body finds nothing to redact (no listed
 * JSON field holding a string, no listed form parameter holding a value; nothing spelled
 * with escapes): its pm_body_fields are then {done = true, red = NULL} without running it.
 * It may say false where the pass finds nothing (a listed key holding a number). Reads
 * only r's lists (any thread may ask while another redacts): capture asks on its packet
 * loop, so that its record thread does not scan each body twice. */
bool pm_redact_body_fields_none(const pm_redactor *r, const char *content_type, const char *text, size_t len);
/* The same with the body's Content-Type and Content-Encoding values given (NULL: none). */
void pm_redact_learn_body_fields_typed(const pm_redactor *r, const char *content_type, const char *content_encoding,
                                       const unsigned char *data, size_t len, pm_body_fields *f);
/* pm_redact_body_text(r, ..., text, len, out_len) for the body f was learned from (f->done):
 * only the spreading is left to do. Takes f->red (f is left empty). */
char *pm_redact_body_text_learned(const pm_redactor *r, pm_body_fields *f, const char *text, size_t len,
                                  size_t *out_len);
void pm_body_fields_clear(pm_body_fields *f);

/* ---- which tokens a capture holds, and where (redact_inventory.c) -----------------------
 * For `pmirror credentials`: every `redacted:` token of capture or result records with its
 * places ("request header Authorization", "request cookie session (Cookie)", "request
 * query access_token", "request field password", "response …", "answer of TARGET …"). */
typedef struct pm_redacted_inventory pm_redacted_inventory;

pm_redacted_inventory *pm_redacted_inventory_new(void);
void pm_redacted_inventory_free(pm_redacted_inventory *inv);
/* Counts the tokens of one record (its request, its response, each target's answer).
 * -1 with err when it is not a capture or result record (no request object). */
int pm_redacted_inventory_add(pm_redacted_inventory *inv, const json_t *record, pm_err *err);
/* {TOKEN: {"count": N, "in_request": bool, "first": {"id", "method", "path"}, "places":
 * {WHERE: N}}}, tokens and places in order of first sight (borrowed). */
const json_t *pm_redacted_inventory_json(const pm_redacted_inventory *inv);
size_t pm_redacted_inventory_records(const pm_redacted_inventory *inv);

#endif
