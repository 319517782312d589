/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_test_decoding.c — libFuzzer target for the parser of test_decoding's text
 * (worker/test_decoding.c), which reads every change a logical slot decodes on a production
 * database: job bodies are anybody's bytes.
 *
 * The input is copied into a buffer of exactly its length, so ASan catches any read past
 * the end. A line that parses must give back a model of itself: written out again in
 * test_decoding's own format (names and values quoted the way the plugin quotes them), it
 * parses to the same change — kind, table, every column's name, type, kind and value.
 * (Inputs with a NUL byte skip that check: names and types keep only what precedes one.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "worker/test_decoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* s in quotes q, each q inside doubled (quote_identifier's and the literal's rule). */
static void quoted(buf *b, const char *s, size_t n, char q)
{
    put(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == q)
            put(b, &q, 1);
        put(b, s + i, 1);
    }
    put(b, &q, 1);
}

static void write_column(buf *b, const wk_td_column *col)
{
    puts_(b, " ");
    quoted(b, col->name, strlen(col->name), '"');
    puts_(b, "[");
    puts_(b, col->type);
    puts_(b, "]:");
    if (col->kind == WK_TD_NULL)
        puts_(b, "null");
    else if (col->kind == WK_TD_UNCHANGED_TOAST)
        puts_(b, "unchanged-toast-datum");
    else if (col->quoted)
        quoted(b, col->value, col->value_len, '\'');
    else
        put(b, col->value, col->value_len);
}

static void write_change(buf *b, const wk_td_change *c)
{
    static const char *const ops[] = {[WK_TD_INSERT] = "INSERT:", [WK_TD_UPDATE] = "UPDATE:",
                                      [WK_TD_DELETE] = "DELETE:", [WK_TD_TRUNCATE] = "TRUNCATE:"};
    if (c->kind == WK_TD_BEGIN) {
        puts_(b, "BEGIN");
        return;
    }
    if (c->kind == WK_TD_COMMIT) {
        puts_(b, "COMMIT");
        if (c->has_commit_ts) {
            char ts[40];
            pm_time_rfc3339(c->commit_ts_us, ts, sizeof ts);
            puts_(b, " (at ");
            puts_(b, ts);
            puts_(b, ")");
        }
        return;
    }
    puts_(b, "table ");
    if (c->schema) {
        quoted(b, c->schema, strlen(c->schema), '"');
        puts_(b, ".");
    }
    quoted(b, c->table, strlen(c->table), '"');
    puts_(b, ": ");
    puts_(b, ops[c->kind]);
    if (c->kind == WK_TD_TRUNCATE)
        return;
    size_t i = 0;
    if (c->kind == WK_TD_UPDATE && c->first_new > 0) {
        puts_(b, " old-key:");
        for (; i < c->first_new; i++)
            write_column(b, &c->cols[i]);
        puts_(b, " new-tuple:");
    }
    if (c->no_tuple_data)
        puts_(b, " (no-tuple-data)");
    for (; i < c->ncols; i++)
        write_column(b, &c->cols[i]);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const wk_td_change *a, const wk_td_change *b)
{
    if (a->kind != b->kind || !same_text(a->schema, b->schema) || !same_text(a->table, b->table) ||
        a->ncols != b->ncols || a->first_new != b->first_new || a->no_tuple_data != b->no_tuple_data ||
        a->has_commit_ts != b->has_commit_ts || (a->has_commit_ts && a->commit_ts_us != b->commit_ts_us))
        abort();
    for (size_t i = 0; i < a->ncols; i++) {
        const wk_td_column *x = &a->cols[i], *y = &b->cols[i];
        if (strcmp(x->name, y->name) != 0 || strcmp(x->type, y->type) != 0 || x->kind != y->kind)
            abort();
        if (x->kind == WK_TD_VALUE &&
            (x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len) != 0 || x->quoted != y->quoted))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *exact = malloc(size ? size : 1);
    if (!exact)
        return 0;
    memcpy(exact, data, size);
    static wk_td_change c, again;
    const char *why = NULL;
    size_t at = 0;
    int rc = wk_td_parse(&c, exact, size, &why, &at);
    if (rc == 0 && c.kind != WK_TD_OTHER && !memchr(exact, 0, size)) {
        for (size_t i = 0; i < c.ncols; i++)
            if (c.cols[i].kind == WK_TD_VALUE && (!c.cols[i].value || c.cols[i].value[c.cols[i].value_len] != 0))
                abort(); /* values are NUL-terminated at their length */
        buf b = {0};
        write_change(&b, &c);
        if (wk_td_parse(&again, b.s, b.len, &why, &at) != 0) {
            fprintf(stderr, "re-written change does not parse (%s at %zu): %s\n", why, at, b.s);
            abort();
        }
        check_same(&c, &again);
        free(b.s);
    } else if (rc != 0 && (at > size || !why)) {
        abort(); /* an error says why, at an offset inside the text */
    }
    free(exact);
    return 0;
}
