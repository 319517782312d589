/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_h1.c — libFuzzer target for replay/h1_wire.c's answer reader, which reads what a
 * target sends replay's own client. The first input byte picks a HEAD request (bit 0) and
 * a chunk size (the rest); the remaining bytes are the server's. They are read twice: in
 * one piece, and in pieces of that size (as recv(2) may hand them over). Both readings
 * must give the same heads, headers, body bytes, end state, status and keep-alive; the
 * body is never longer than the input; a header's name and value lie within it too; the
 * bytes used by a complete answer are within what was fed; and the end of the input read
 * as a close must not change a completed answer. Any input may end in any state, never in
 * a crash or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char *log; /* every event, in order, as text; the body's bytes at the end */
    size_t len, cap;
    char *body;
    size_t body_len;
    size_t input;
} reading;

static void note(reading *r, const char *tag, const char *a, size_t alen)
{
    size_t need = r->len + strlen(tag) + alen + 2;
    if (need > r->cap) {
        r->cap = need * 2;
        r->log = realloc(r->log, r->cap);
        if (!r->log)
            abort();
    }
    memcpy(r->log + r->len, tag, strlen(tag));
    r->len += strlen(tag);
    memcpy(r->log + r->len, a, alen);
    r->len += alen;
    r->log[r->len++] = '\n';
}

static void on_head(void *ctx)
{
    note(ctx, "head", "", 0);
}

static void on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
    reading *r = ctx;
    if (nlen > r->input || vlen > r->input)
        abort(); /* more than was sent */
    note(r, "name:", name, nlen);
    note(r, "value:", value, vlen);
}

static bool on_body(void *ctx, const char *data, size_t len)
{
    reading *r = ctx;
    if (r->body_len + len > r->input)
        abort();
    r->body = realloc(r->body, r->body_len + len + 1);
    if (!r->body)
        abort();
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    return true;
}

static const rp_h1_sink sink = {on_head, on_header, on_body};

/* Reads data in pieces of `piece` bytes (0: one piece); the log gets the end state. */
static void read_all(reading *r, const uint8_t *data, size_t size, bool head, size_t piece)
{
    rp_h1_reader *rd = rp_h1_reader_new();
    if (!rd)
        abort();
    rp_h1_reader_start(rd, head, &sink, r);
    rp_h1_state st = RP_H1_MORE;
    size_t off = 0, used = 0;
    while (off < size && st == RP_H1_MORE) {
        size_t n = piece && size - off > piece ? piece : size - off;
        st = rp_h1_reader_feed(rd, (const char *)data + off, n, &used);
        if (st == RP_H1_DONE && used > n)
            abort();
        off += st == RP_H1_DONE ? used : n;
    }
    bool more = st == RP_H1_MORE;
    if (more)
        st = rp_h1_reader_eof(rd);
    else if (st == RP_H1_DONE && rp_h1_reader_eof(rd) != RP_H1_DONE)
        abort(); /* a close after a complete answer changed it */
    char end[96];
    snprintf(end, sizeof end, "state %d at %zu%s status %d keep %d", (int)st, st == RP_H1_DONE && !more ? off : 0,
             more ? " (closed)" : "", rp_h1_reader_status(rd), rp_h1_reader_keep_alive(rd));
    note(r, "body:", r->body ? r->body : "", r->body_len);
    note(r, "end:", end, strlen(end));
    rp_h1_reader_free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool head = data[0] & 1;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    data++, size--;
    reading whole = {.input = size}, pieces = {.input = size};
    read_all(&whole, data, size, head, 0);
    read_all(&pieces, data, size, head, piece);
    if (whole.len != pieces.len || memcmp(whole.log, pieces.log, whole.len) != 0) {
        fprintf(stderr, "one piece:\n%.*s\npieces of %zu:\n%.*s\n", (int)whole.len, whole.log, piece,
                (int)pieces.len, pieces.log);
        abort();
    }
    free(whole.log);
    free(pieces.log);
    free(whole.body);
    free(pieces.body);
    return 0;
}
