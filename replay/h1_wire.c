/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h1_wire.c — HTTP/1.1 on the wire for replay's own client (h1.c): a request written as
 * libcurl would write it, and a response read with llhttp. No sockets here: bytes in,
 * bytes out, so the reading side is fuzzed (tests/fuzz/fuzz_h1.c) with any split.
 *
 * The request is the one libcurl sends for the same call, byte for byte, so a target sees
 * no difference between the two clients: the request line, Host (the call's own Host
 * header when it has one — a unix: target's recorded Host — else the URL's authority,
 * without the default port 80), then the call's headers in order, skipping what curl's
 * list syntax asks it to drop ("Name:" with nothing after it, as request.c writes for
 * Accept and Expect) and what curl would not send (a blank value).
 *
 * The response: interim 1xx answers are read and forgotten (their headers with them), as
 * curl does; a HEAD's answer has no body whatever its Content-Length says; one without a
 * length ends when the server closes. Limits as curl's: a header line of at most 100 KiB,
 * a head of at most 300 KiB in all; past them the answer is garbage.
 */
#include "replay_internal.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_LINE_MAX (100u << 10)
#define HEAD_MAX (300u << 10)

/* ---- the request ------------------------------------------------------------------------ */

static bool put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n == 0)
        return true;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 512;
        while (c < *len + n)
            c *= 2;
        char *p = realloc(*buf, c);
        if (!p)
            return false;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    return true;
}

#define PUT_LIT(s) put(buf, len, cap, s, sizeof s - 1)

/* "Name: value" with a value that is not blank; *colon at the ':' (NULL: no colon). */
static bool sends(const char *line, const char **colon)
{
    *colon = strchr(line, ':');
    if (!*colon)
        return false; /* curl's "Name;" (an empty header) is not written by request.c */
    const char *v = *colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v != '\0';
}

int rp_h1_request(char **buf, size_t *len, size_t *cap, const char *method, const char *request_target,
                  const char *authority, const struct curl_slist *headers)
{
    *len = 0;
    const struct curl_slist *host = NULL;
    const char *colon;
    for (const struct curl_slist *h = headers; h && !host; h = h->next)
        if (strncasecmp(h->data, "host:", 5) == 0 && sends(h->data, &colon))
            host = h;
    if (!put(buf, len, cap, method, strlen(method)) || !PUT_LIT(" ") ||
        !put(buf, len, cap, request_target, strlen(request_target)) || !PUT_LIT(" HTTP/1.1\r\n"))
        return -1;
    if (host) {
        if (!put(buf, len, cap, host->data, strlen(host->data)) || !PUT_LIT("\r\n"))
            return -1;
    } else if (!PUT_LIT("Host: ") || !put(buf, len, cap, authority, strlen(authority)) || !PUT_LIT("\r\n")) {
        return -1;
    }
    for (const struct curl_slist *h = headers; h; h = h->next) {
        if (h == host || !sends(h->data, &colon))
            continue;
        if (!put(buf, len, cap, h->data, strlen(h->data)) || !PUT_LIT("\r\n"))
            return -1;
    }
    return PUT_LIT("\r\n") ? 0 : -1;
}

/* ---- the response ----------------------------------------------------------------------- */

struct rp_h1_reader {
    llhttp_t parser;
    const rp_h1_sink *sink;
    void *ctx;
    bool head;            /* the answer to a HEAD: no body */
    bool started;         /* a byte of it arrived */
    bool final_head;      /* the final (not 1xx) head is complete */
    bool done, stopped;
    bool too_long;
    size_t head_bytes;    /* of the current head */
    char *field, *value;  /* the header being read */
    size_t flen, vlen, fcap, vcap;
};

static rp_h1_reader *of(llhttp_t *p)
{
    return (rp_h1_reader *)p->data;
}

static int grow(rp_h1_reader *r, char **b, size_t *blen, size_t *bcap, const char *at, size_t n)
{
    r->head_bytes += n;
    if (*blen + n > HEADER_LINE_MAX || r->head_bytes > HEAD_MAX) {
        r->too_long = true;
        return -1;
    }
    return put(b, blen, bcap, at, n) ? 0 : -1;
}

static int on_message_begin(llhttp_t *p)
{
    rp_h1_reader *r = of(p);
    r->sink->head(r->ctx); /* an interim answer's headers are forgotten */
    r->head_bytes = 0;
    return 0;
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    rp_h1_reader *r = of(p);
    return grow(r, &r->field, &r->flen, &r->fcap, at, n);
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    rp_h1_reader *r = of(p);
    return grow(r, &r->value, &r->vlen, &r->vcap, at, n);
}

static int on_value_complete(llhttp_t *p)
{
    rp_h1_reader *r = of(p);
    r->sink->header(r->ctx, r->field ? r->field : "", r->flen, r->value ? r->value : "", r->vlen);
    r->flen = r->vlen = 0;
    return 0;
}

static int on_field_complete(llhttp_t *p)
{
    of(p)->vlen = 0; /* a header with no value calls no on_value */
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    rp_h1_reader *r = of(p);
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101)
        return 0; /* interim: llhttp reads it as a message with no body; the next follows */
    r->final_head = true;
    return r->head ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    rp_h1_reader *r = of(p);
    if (!r->sink->body(r->ctx, at, n)) {
        r->stopped = true;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    rp_h1_reader *r = of(p);
    if (!r->final_head)
        return 0; /* the end of an interim answer */
    r->done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_field,
    .on_header_field_complete = on_field_complete,
    .on_header_value = on_value,
    .on_header_value_complete = on_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

rp_h1_reader *rp_h1_reader_new(void)
{
    return calloc(1, sizeof(rp_h1_reader));
}

void rp_h1_reader_free(rp_h1_reader *r)
{
    if (!r)
        return;
    free(r->field);
    free(r->value);
    free(r);
}

void rp_h1_reader_start(rp_h1_reader *r, bool head, const rp_h1_sink *sink, void *ctx)
{
    llhttp_init(&r->parser, HTTP_RESPONSE, &settings);
    r->parser.data = r;
    r->sink = sink;
    r->ctx = ctx;
    r->head = head;
    r->started = r->final_head = r->done = r->stopped = r->too_long = false;
    r->head_bytes = r->flen = r->vlen = 0;
}

static rp_h1_state failed(const rp_h1_reader *r)
{
    return r->stopped ? RP_H1_STOPPED : RP_H1_GARBAGE;
}

rp_h1_state rp_h1_reader_feed(rp_h1_reader *r, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (r->done)
        return RP_H1_DONE;
    if (len == 0)
        return RP_H1_MORE;
    r->started = true;
    llhttp_errno_t e = llhttp_execute(&r->parser, data, len);
    if (e == HPE_OK) {
        *used = len;
        return RP_H1_MORE;
    }
    if (e == HPE_PAUSED && r->done) {
        *used = (size_t)(llhttp_get_error_pos(&r->parser) - data);
        return RP_H1_DONE;
    }
    return failed(r);
}

rp_h1_state rp_h1_reader_eof(rp_h1_reader *r)
{
    if (r->done)
        return RP_H1_DONE;
    if (!r->started)
        return RP_H1_NOTHING;
    if (!r->final_head)
        return RP_H1_GARBAGE; /* closed inside a head */
    llhttp_errno_t e = llhttp_finish(&r->parser);
    if ((e == HPE_OK || e == HPE_PAUSED) && r->done)
        return RP_H1_DONE; /* a body that ends at the close */
    return r->stopped ? RP_H1_STOPPED : RP_H1_TRUNCATED;
}

bool rp_h1_reader_started(const rp_h1_reader *r)
{
    return r->started;
}

bool rp_h1_reader_keep_alive(const rp_h1_reader *r)
{
    return r->done && llhttp_should_keep_alive(&r->parser);
}

int rp_h1_reader_status(const rp_h1_reader *r)
{
    return r->final_head ? r->parser.status_code : 0;
}
