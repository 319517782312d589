/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_exchange.c — the shadow copy of one live exchange and its capture record.
 *
 * A front thread fills the copy as the exchange goes by (headers into one buffer, bodies
 * into pm_body), which costs it a few copies and no JSON; the consumer turns it into the
 * capture record of DESIGN.md ("Files") with pm_jtext, off the client's path. The record
 * is the one `pmirror capture` would write for the same exchange, plus `source`
 * ("tee-proxy" / "tee-sink"), and it is not redacted: the replay engine sends it to the
 * shadow, which needs the real credentials. Whoever writes it redacts it.
 */
#include "tee_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- header lists ------------------------------------------------------------------- */

int tee_headers_add(tee_headers *h, const char *name, size_t name_len, const char *value, size_t value_len)
{
    size_t need = h->len + name_len + value_len + 2;
    if (need > h->cap) {
        size_t cap = h->cap ? h->cap : 512;
        while (cap < need)
            cap *= 2;
        char *p = realloc(h->buf, cap);
        if (!p)
            return -1;
        h->buf = p;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, name, name_len);
    h->buf[h->len + name_len] = '\0';
    memcpy(h->buf + h->len + name_len + 1, value, value_len);
    h->buf[h->len + name_len + 1 + value_len] = '\0';
    h->len = need;
    h->count++;
    return 0;
}

const char *tee_headers_next(const tee_headers *h, const char *p, const char **value)
{
    if (!p)
        p = h->buf;
    else
        p = *value + strlen(*value) + 1;
    if (!p || p >= h->buf + h->len)
        return NULL;
    *value = p + strlen(p) + 1;
    return p;
}

const char *tee_headers_get(const tee_headers *h, const char *name)
{
    const char *value = NULL;
    for (const char *n = tee_headers_next(h, NULL, &value); n; n = tee_headers_next(h, n, &value))
        if (strcasecmp(n, name) == 0)
            return value;
    return NULL;
}

void tee_headers_free(tee_headers *h)
{
    free(h->buf);
    memset(h, 0, sizeof *h);
}

bool tee_hop_by_hop(const tee_headers *h, const char *name)
{
    if (pm_header_is_hop_by_hop(name))
        return true;
    const char *value = NULL;
    /* the name's length is there for free (its value follows its NUL): most names are
     * not "connection" by length alone, and this runs for every header of every answer */
    for (const char *h_name = tee_headers_next(h, NULL, &value); h_name; h_name = tee_headers_next(h, h_name, &value))
        if (value - h_name == sizeof "connection" && strcasecmp(h_name, "connection") == 0 &&
            pm_connection_lists(value, name))
            return true;
    return false;
}

/* ---- the copy ------------------------------------------------------------------------- */

tee_exchange *tee_exchange_new(size_t max_body)
{
    tee_exchange *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    /* a capture record: body_sha256 only of a body cut by max_body, as capture writes it
     * (the front hashes nothing it does not have to) */
    pm_body_init_sha_when_cut(&x->req_body, max_body);
    pm_body_init_sha_when_cut(&x->resp_body, max_body);
    x->req_body_kept = true;
    return x;
}

size_t tee_exchange_bytes(const tee_exchange *x)
{
    return sizeof *x + x->req_headers.cap + x->resp_headers.cap + x->req_body.cap + x->resp_body.cap +
           (x->target ? strlen(x->target) : 0);
}

void tee_exchange_free(tee_exchange *x)
{
    if (!x)
        return;
    if (x->fam) /* every copy of a family that never reached the shadow side was shed */
        tee_shed_count(x->fam, x->handed);
    free(x->method);
    free(x->target);
    free(x->version);
    tee_headers_free(&x->req_headers);
    tee_headers_free(&x->resp_headers);
    pm_body_free(&x->req_body);
    pm_body_free(&x->resp_body);
    pm_class_clear(&x->cls);
    free(x);
}

/* ---- the record ----------------------------------------------------------------------- */

static void write_headers(pm_jtext *t, const tee_headers *h)
{
    pm_jtext_key_lit(t, "headers");
    pm_jtext_array_begin(t);
    const char *value = NULL;
    for (const char *name = tee_headers_next(h, NULL, &value); name; name = tee_headers_next(h, name, &value)) {
        pm_jtext_array_begin(t);
        pm_jtext_string(t, name, strlen(name));
        pm_jtext_string(t, value, strlen(value));
        pm_jtext_array_end(t);
    }
    pm_jtext_array_end(t);
}

static void write_request(pm_jtext *t, const tee_exchange *x)
{
    pm_jtext_key_lit(t, "request");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "method");
    pm_jtext_cstring(t, x->method);
    pm_jtext_target(t, x->target);
    pm_jtext_key_lit(t, "version");
    pm_jtext_cstring(t, x->version ? x->version : "HTTP/1.1");
    write_headers(t, &x->req_headers);
    if (x->req_body_kept) {
        pm_body_to_jtext(&x->req_body, t);
    } else { /* not sent to any shadow: only its size is known */
        pm_jtext_key_lit(t, "body_len");
        pm_jtext_int(t, (int64_t)x->req_body_total);
        pm_jtext_key_lit(t, "body_not_kept");
        pm_jtext_bool(t, true);
    }
    pm_jtext_key_lit(t, "complete");
    pm_jtext_bool(t, true);
    pm_jtext_key_lit(t, "done_us");
    pm_jtext_int(t, x->request_done_us);
    pm_jtext_object_end(t);
}

/* response.stream as capture writes it: the window the client held the stream, who closed
 * it, its events and keep-alive comments (in the body as kept). */
static void write_stream(pm_jtext *t, const tee_exchange *x)
{
    pm_sse_counts counts;
    json_t *events = pm_sse_events(x->resp_body.data, x->resp_body.len, &counts);
    pm_jtext_key_lit(t, "stream");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "window_us");
    pm_jtext_int(t, x->stream_window_us);
    pm_jtext_key_lit(t, "closed_by");
    pm_jtext_cstring(t, x->stream_closed_by);
    if (events) {
        pm_jtext_key_lit(t, "events");
        pm_jtext_int(t, (int64_t)counts.events);
        pm_jtext_key_lit(t, "comments");
        pm_jtext_int(t, (int64_t)counts.comments);
    }
    json_decref(events);
    pm_jtext_object_end(t);
}

static void write_response(pm_jtext *t, const tee_exchange *x)
{
    pm_jtext_key_lit(t, "response");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "status");
    pm_jtext_int(t, x->status);
    write_headers(t, &x->resp_headers);
    pm_body_to_jtext(&x->resp_body, t);
    pm_jtext_key_lit(t, "complete");
    pm_jtext_bool(t, x->resp_complete);
    pm_jtext_key_lit(t, "latency_us");
    pm_jtext_int(t, x->latency_us);
    pm_jtext_key_lit(t, "done_us");
    pm_jtext_int(t, x->done_us);
    if (x->stream_closed_by)
        write_stream(t, x);
    pm_jtext_object_end(t);
}

char *tee_exchange_record(const tee_exchange *x, size_t *len, pm_jtape *tape, const pm_jtape **tokens)
{
    char id[64], session[32], source[16];
    snprintf(id, sizeof id, "%s-%llu-%llu", x->id_prefix ? x->id_prefix : "tee", (unsigned long long)x->connection,
             (unsigned long long)x->seq);
    snprintf(session, sizeof session, "tee-%llu", (unsigned long long)x->connection);
    snprintf(source, sizeof source, "tee-%s", x->mode ? x->mode : "proxy");
    pm_jtext t = {0};
    if (tape)
        pm_jtext_tape_start(&t, tape);
    pm_record_head(&t, id, x->ts_us, session, x->seq, source, &x->cls);
    write_request(&t, x);
    if (x->has_response)
        write_response(&t, x);
    pm_jtext_object_end(&t);
    if (tokens)
        *tokens = tape ? pm_jtext_tape_done(&t, JSON_PARSER_MAX_DEPTH) : NULL;
    return pm_jtext_release(&t, len);
}
