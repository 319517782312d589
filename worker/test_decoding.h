/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_decoding.h — a parser for the text PostgreSQL's built-in `test_decoding` output plugin
 * writes for each change a logical replication slot decodes (test_decoding.c). Private to
 * worker/; no libpq here, so the fuzz target links the parser alone.
 *
 *   BEGIN | BEGIN 733
 *   COMMIT | COMMIT 733 | COMMIT (at 2026-12-05 10:43:06.57837+00)
 *   table public.queueitem: INSERT: id[integer]:3 queue_name[character varying]:'it''s' ...
 *   table public.queueitem: UPDATE: [old-key: COLS new-tuple:] COLS | (no-tuple-data)
 *   table public.queueitem: DELETE: id[integer]:3 | (no-tuple-data)
 *   table public.queueitem: TRUNCATE: (no-flags)
 *
 * Each column is ` NAME[TYPE]:VALUE`: NAME as quote_identifier prints it (bare, or in double
 * quotes with "" for a quote), TYPE as format_type_be prints it ("integer[]", quoted parts
 * possible), VALUE `null`, `unchanged-toast-datum` (a large value the change did not touch),
 * a number or boolean bare, B'0101' for bits, or anything else in single quotes with '' for
 * a quote — and with newlines and any other byte as they are. The line's text is untrusted:
 * the parser reads only within its length and fails with a reason, never past it.
 */
#ifndef PM_WORKER_TEST_DECODING_H
#define PM_WORKER_TEST_DECODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    WK_TD_BEGIN,
    WK_TD_COMMIT,
    WK_TD_INSERT,
    WK_TD_UPDATE,
    WK_TD_DELETE,
    WK_TD_TRUNCATE,
    WK_TD_OTHER, /* a message (pg_logical_emit_message), a streamed block's marker, ... */
} wk_td_kind;

typedef enum {
    WK_TD_NULL,
    WK_TD_VALUE,
    WK_TD_UNCHANGED_TOAST, /* not in the change: the caller keeps what it knew */
} wk_td_value_kind;

typedef struct wk_td_column {
    const char *name; /* unquoted, NUL-terminated (in the change's scratch) */
    const char *type; /* as printed */
    wk_td_value_kind kind;
    const char *value; /* WK_TD_VALUE: the literal's text, unquoted, NUL-terminated */
    size_t value_len;  /* (a value may not hold NUL: PostgreSQL text cannot) */
    bool quoted;       /* the value was a quoted literal (a string, a timestamp, ...) */
} wk_td_column;

typedef struct wk_td_change {
    wk_td_kind kind;
    const char *schema, *table; /* INSERT, UPDATE, DELETE, TRUNCATE: unquoted */
    wk_td_column *cols;         /* cols[0..first_new): an UPDATE's old key; */
    size_t ncols, first_new;    /* cols[first_new..ncols): the new tuple, or a DELETE's key */
    bool no_tuple_data;
    bool has_commit_ts; /* COMMIT (at ...) */
    int64_t commit_ts_us;
    /* owned storage, reused from one parse to the next */
    size_t cols_cap;
    char *scratch;
    size_t scratch_cap;
} wk_td_change;

/* Parses one change's text into c (its storage reused). 0, or -1 with *why (a static string)
 * saying what was malformed and *at its byte offset; c is then undefined until the next
 * parse. */
int wk_td_parse(wk_td_change *c, const char *text, size_t len, const char **why, size_t *at);
/* The new tuple's (or a DELETE's key's) column called name, or NULL. */
const wk_td_column *wk_td_find(const wk_td_change *c, const char *name);
void wk_td_change_free(wk_td_change *c);

#endif
