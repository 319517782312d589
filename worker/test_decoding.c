/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_decoding.c — reads the text of test_decoding's changes (format: test_decoding.h).
 *
 * Queue capture in logical mode sees every change of the source database through this
 * parser, and the text holds whatever production wrote into job bodies, so it is written as
 * a scanner over (pointer, end) that checks every step against the end: quoted names and
 * literals are unquoted into the change's scratch buffer (never longer than twice the line),
 * and anything that does not follow the format is an error with its offset, not a guess.
 * tests/fuzz/fuzz_test_decoding.c runs it on arbitrary bytes.
 */
#include "test_decoding.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

typedef struct {
    const char *p, *start, *end;
    char *out; /* next free byte of the scratch */
    const char *why;
} scanner;

static bool at_text(const scanner *s, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(s->end - s->p) >= n && memcmp(s->p, lit, n) == 0;
}

static bool eat(scanner *s, const char *lit)
{
    if (!at_text(s, lit))
        return false;
    s->p += strlen(lit);
    return true;
}

static int fail(scanner *s, const char *why)
{
    s->why = why;
    return -1;
}

/* Copies n bytes to the scratch, NUL-terminated; returns where they start. */
static const char *keep(scanner *s, const char *from, size_t n)
{
    char *at = s->out;
    memcpy(at, from, n);
    at[n] = 0;
    s->out += n + 1;
    return at;
}

/* An identifier as quote_identifier prints it: "…" with "" for a quote, or bare up to one
 * of the stop bytes. Unquoted into the scratch. */
static const char *identifier(scanner *s, const char *stops)
{
    if (s->p < s->end && *s->p == '"') {
        char *at = s->out;
        for (s->p++;; s->p++) {
            if (s->p >= s->end) {
                fail(s, "a quoted name does not end");
                return NULL;
            }
            if (*s->p == '"') {
                if (s->p + 1 < s->end && s->p[1] == '"') {
                    *s->out++ = '"';
                    s->p++;
                    continue;
                }
                s->p++;
                break;
            }
            *s->out++ = *s->p;
        }
        *s->out++ = 0;
        return at;
    }
    const char *from = s->p;
    while (s->p < s->end && !strchr(stops, *s->p) && *s->p != 0)
        s->p++;
    if (s->p == from) {
        fail(s, "a name is missing");
        return NULL;
    }
    return keep(s, from, (size_t)(s->p - from));
}

/* A type as format_type_be prints it, up to the "]:" that ends it (quoted parts skipped). */
static const char *type_name(scanner *s)
{
    const char *from = s->p;
    bool quoted = false;
    for (; s->p < s->end; s->p++) {
        if (*s->p == '"')
            quoted = !quoted;
        else if (!quoted && *s->p == ']' && s->p + 1 < s->end && s->p[1] == ':')
            break;
    }
    if (s->p >= s->end || s->p == from) {
        fail(s, s->p == from ? "a type is missing" : "a type does not end with ']:'");
        return NULL;
    }
    const char *t = keep(s, from, (size_t)(s->p - from));
    s->p += 2; /* "]:" */
    return t;
}

/* A quoted literal at s->p ('…' with '' for a quote) into col. */
static int quoted_literal(scanner *s, wk_td_column *col)
{
    char *at = s->out;
    for (s->p++;; s->p++) {
        if (s->p >= s->end)
            return fail(s, "a quoted value does not end");
        if (*s->p == '\'') {
            if (s->p + 1 < s->end && s->p[1] == '\'') {
                *s->out++ = '\'';
                s->p++;
                continue;
            }
            s->p++;
            break;
        }
        if (*s->p == 0)
            return fail(s, "a NUL byte inside a value");
        *s->out++ = *s->p;
    }
    col->value = at;
    col->value_len = (size_t)(s->out - at);
    *s->out++ = 0;
    col->quoted = true;
    return 0;
}

/* The end of a column's value: the end of the text or the space before the next part. */
static bool value_ends(const scanner *s)
{
    return s->p == s->end || *s->p == ' ';
}

static int column_value(scanner *s, wk_td_column *col)
{
    col->quoted = false;
    col->value = NULL;
    col->value_len = 0;
    if (s->p < s->end && *s->p == '\'') {
        col->kind = WK_TD_VALUE;
        if (quoted_literal(s, col) != 0)
            return -1;
    } else if (at_text(s, "B'")) { /* bit strings: B'0101' */
        s->p++;
        col->kind = WK_TD_VALUE;
        if (quoted_literal(s, col) != 0)
            return -1;
    } else {
        const char *from = s->p;
        while (s->p < s->end && *s->p != ' ' && *s->p != 0)
            s->p++;
        size_t n = (size_t)(s->p - from);
        if (n == 0)
            return fail(s, "a value is missing");
        if (n == 4 && memcmp(from, "null", 4) == 0) {
            col->kind = WK_TD_NULL;
        } else if (n == 21 && memcmp(from, "unchanged-toast-datum", 21) == 0) {
            col->kind = WK_TD_UNCHANGED_TOAST;
        } else {
            col->kind = WK_TD_VALUE;
            col->value = keep(s, from, n);
            col->value_len = n;
        }
    }
    if (!value_ends(s))
        return fail(s, "text after a value");
    return 0;
}

static wk_td_column *new_column(wk_td_change *c)
{
    if (c->ncols == c->cols_cap) {
        size_t cap = c->cols_cap ? c->cols_cap * 2 : 16;
        wk_td_column *cols = realloc(c->cols, cap * sizeof *cols);
        if (!cols)
            return NULL;
        c->cols = cols;
        c->cols_cap = cap;
    }
    return &c->cols[c->ncols++];
}

/* Columns until the end of the text or, when stop is given, the text stop (not eaten). */
static int tuple(scanner *s, wk_td_change *c, const char *stop)
{
    while (s->p < s->end) {
        if (stop && at_text(s, stop))
            return 0;
        if (!eat(s, " "))
            return fail(s, "want a space before a column");
        wk_td_column *col = new_column(c);
        if (!col)
            return fail(s, "out of memory");
        if (!(col->name = identifier(s, "[")))
            return -1;
        if (!eat(s, "["))
            return fail(s, "want '[' after a column's name");
        if (!(col->type = type_name(s)))
            return -1;
        if (column_value(s, col) != 0)
            return -1;
    }
    return stop ? fail(s, "an old key without its new tuple") : 0;
}

/* "table SCHEMA.TABLE: OP:" and what follows. */
static int table_change(scanner *s, wk_td_change *c)
{
    if (!(c->schema = identifier(s, ".: ")))
        return -1;
    if (eat(s, ".")) {
        if (!(c->table = identifier(s, ": ")))
            return -1;
    } else {
        c->table = c->schema;
        c->schema = NULL;
    }
    if (!eat(s, ": "))
        return fail(s, "want ': ' after the table's name");
    if (eat(s, "INSERT:"))
        c->kind = WK_TD_INSERT;
    else if (eat(s, "UPDATE:"))
        c->kind = WK_TD_UPDATE;
    else if (eat(s, "DELETE:"))
        c->kind = WK_TD_DELETE;
    else if (eat(s, "TRUNCATE:")) {
        c->kind = WK_TD_TRUNCATE;
        return 0; /* its flags do not matter here */
    } else
        return fail(s, "want INSERT, UPDATE, DELETE or TRUNCATE");
    if (c->kind == WK_TD_UPDATE && eat(s, " old-key:")) {
        if (tuple(s, c, " new-tuple:") != 0)
            return -1;
        eat(s, " new-tuple:");
        c->first_new = c->ncols;
    }
    if (eat(s, " (no-tuple-data)")) {
        c->no_tuple_data = true;
        return s->p == s->end ? 0 : fail(s, "text after (no-tuple-data)");
    }
    return tuple(s, c, NULL);
}

/* "COMMIT", "COMMIT 733", either followed by " (at TIMESTAMP)". */
static int commit(scanner *s, wk_td_change *c)
{
    c->kind = WK_TD_COMMIT;
    if (eat(s, " ") && s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        eat(s, " ");
    }
    if (!eat(s, "(at "))
        return 0; /* no timestamp asked for: nothing else to read */
    const char *close = memchr(s->p, ')', (size_t)(s->end - s->p));
    char ts[64];
    size_t n = close ? (size_t)(close - s->p) : 0;
    if (close && n < sizeof ts) {
        memcpy(ts, s->p, n);
        ts[n] = 0;
        c->has_commit_ts = pm_time_parse(ts, &c->commit_ts_us);
    }
    return 0;
}

int wk_td_parse(wk_td_change *c, const char *text, size_t len, const char **why, size_t *at)
{
    c->kind = WK_TD_OTHER;
    c->schema = c->table = NULL;
    c->ncols = c->first_new = 0;
    c->no_tuple_data = c->has_commit_ts = false;
    c->commit_ts_us = 0;
    /* unquoting never lengthens; each kept piece adds one NUL, and each column (at least
     * " x[t]:v", 7 bytes) keeps three */
    size_t need = 2 * len + 16;
    if (need > c->scratch_cap) {
        char *b = realloc(c->scratch, need);
        if (!b) {
            *why = "out of memory";
            *at = 0;
            return -1;
        }
        c->scratch = b;
        c->scratch_cap = need;
    }
    scanner s = {.p = text, .start = text, .end = text + len, .out = c->scratch};
    int rc = 0;
    if (eat(&s, "table "))
        rc = table_change(&s, c);
    else if (eat(&s, "BEGIN"))
        c->kind = WK_TD_BEGIN;
    else if (eat(&s, "COMMIT"))
        rc = commit(&s, c);
    if (rc != 0) {
        *why = s.why;
        *at = (size_t)(s.p - s.start);
    }
    return rc;
}

const wk_td_column *wk_td_find(const wk_td_change *c, const char *name)
{
    for (size_t i = c->first_new; i < c->ncols; i++)
        if (strcmp(c->cols[i].name, name) == 0)
            return &c->cols[i];
    return NULL;
}

void wk_td_change_free(wk_td_change *c)
{
    free(c->cols);
    free(c->scratch);
    memset(c, 0, sizeof *c);
}
