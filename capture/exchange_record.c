/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exchange_record.c — one exchange → the capture record of DESIGN.md ("Files"), written
 * as JSON text (pm_jtext) straight from the parser's state: this is capture's hot path.
 *
 * Classification and cohort were taken from the request as it arrived (the cohort needs
 * the Authorization header's user before redaction); here secrets are redacted from the
 * target, the headers and both bodies as they are written. A spreading redactor first
 * learns every secret of the exchange (both messages), so that an echo of one anywhere
 * in it (a response body repeating the request's token) is written redacted too. Timings: `ts` is the
 * request's first byte; `latency_us` runs from the request's last byte to the response's
 * first (the wait for the server, as the capture issue asks); `done_us` from `ts` to the
 * response's last byte; `request.done_us` from `ts` to the request's last byte.
 *
 * An event-stream answer also gets `response.stream`: the window it was observed for
 * (its first byte to its close), who closed it, its events and comments counted, and
 * each event's offset in the window (from the packet times its bytes came in).
 */
#include "http_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void write_version(pm_jtext *t, const http_message *m)
{
    char v[16] = "HTTP/x.y";
    if (m->major >= 0 && m->major <= 9 && m->minor >= 0 && m->minor <= 9) { /* HTTP/1.x: no printf (every record) */
        v[5] = (char)('0' + m->major);
        v[7] = (char)('0' + m->minor);
    } else {
        snprintf(v, sizeof v, "HTTP/%d.%d", m->major, m->minor);
    }
    pm_jtext_key_lit(t, "version");
    pm_jtext_cstring(t, v);
}

/* body, body_len... (core/body.c), redacted by o->redactor (fields: its learning pass). */
static void write_body(pm_jtext *t, const http_message *m, const capture_options *o, pm_body_fields *fields)
{
    pm_body_to_jtext_typed(&m->body, o->redactor, http_fields_get(&m->headers, "content-type"),
                           http_fields_get(&m->headers, "content-encoding"), fields, t);
}

static void write_request(pm_jtext *t, const http_exchange *x, const capture_options *o, pm_body_fields *fields)
{
    const http_message *m = &x->req;
    pm_jtext_key_lit(t, "request");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "method");
    pm_jtext_cstring(t, m->method ? m->method : "");
    const char *target = m->target ? m->target : "";
    char *red = o->redactor ? pm_redact_target(o->redactor, target) : NULL;
    pm_jtext_target(t, red ? red : target);
    free(red);
    write_version(t, m);
    http_fields_write(t, "headers", &m->headers, o->redactor);
    write_body(t, m, o, fields);
    pm_jtext_key_lit(t, "complete");
    pm_jtext_bool(t, m->complete);
    if (m->complete && m->ts_last >= m->ts_first) {
        pm_jtext_key_lit(t, "done_us");
        pm_jtext_int(t, m->ts_last - m->ts_first);
    }
    pm_jtext_object_end(t);
}

/* When the byte at body offset `at` arrived: the first packet mark that reached it. */
static int64_t mark_time(const http_message *m, uint64_t at)
{
    size_t lo = 0, hi = m->nmarks; /* marks grow with body_len: a binary search */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->marks[mid].body_len < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->nmarks ? m->marks[lo].ts : m->ts_last;
}

/* response.stream: {window_us, closed_by, events, comments, offsets_us}. Events are
 * counted in the body as kept (a --max-body cut counts what is kept; an encoded body is
 * not read: no counts, no offsets). */
static void write_stream(pm_jtext *t, const http_message *m)
{
    pm_jtext_key_lit(t, "stream");
    pm_jtext_object_begin(t);
    int64_t end = m->complete ? m->ts_last : m->nmarks ? m->marks[m->nmarks - 1].ts : m->ts_first;
    pm_jtext_key_lit(t, "window_us");
    pm_jtext_int(t, end > m->ts_first ? end - m->ts_first : 0);
    pm_jtext_key_lit(t, "closed_by");
    pm_jtext_cstring(t, http_closed_by_name(m->closed_by));
    const char *encoding = http_fields_get(&m->headers, "content-encoding");
    size_t *ends = NULL;
    pm_sse_counts counts;
    json_t *events = encoding && strcasecmp(encoding, "identity") != 0
                         ? NULL
                         : pm_sse_events_at(m->body.data, m->body.len, &counts, &ends);
    if (events) {
        pm_jtext_key_lit(t, "events");
        pm_jtext_int(t, (int64_t)counts.events);
        pm_jtext_key_lit(t, "comments");
        pm_jtext_int(t, (int64_t)counts.comments);
        if (m->marks_cap != SIZE_MAX) { /* every packet's time was kept */
            pm_jtext_key_lit(t, "offsets_us");
            pm_jtext_array_begin(t);
            for (uint64_t i = 0; i < counts.events; i++) {
                int64_t at = mark_time(m, ends[i]) - m->ts_first;
                pm_jtext_int(t, at > 0 ? at : 0);
            }
            pm_jtext_array_end(t);
        }
    }
    free(ends);
    json_decref(events);
    pm_jtext_object_end(t);
}

static void write_response(pm_jtext *t, const http_exchange *x, const capture_options *o, pm_body_fields *fields)
{
    const http_message *m = &x->resp;
    pm_jtext_key_lit(t, "response");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "status");
    pm_jtext_int(t, m->status);
    pm_jtext_key_lit(t, "reason");
    pm_jtext_cstring(t, m->reason ? m->reason : "");
    write_version(t, m);
    http_fields_write(t, "headers", &m->headers, o->redactor);
    if (m->trailers.n)
        http_fields_write(t, "trailers", &m->trailers, o->redactor);
    write_body(t, m, o, fields);
    pm_jtext_key_lit(t, "complete");
    pm_jtext_bool(t, m->complete);
    int64_t request_end = x->req.complete ? x->req.ts_last : x->req.ts_first;
    int64_t latency = m->ts_first - request_end;
    pm_jtext_key_lit(t, "latency_us");
    pm_jtext_int(t, latency > 0 ? latency : 0);
    if (m->complete) {
        pm_jtext_key_lit(t, "done_us");
        pm_jtext_int(t, m->ts_last - x->req.ts_first);
    }
    if (m->stream)
        write_stream(t, m);
    pm_jtext_object_end(t);
}

/* Learns m's secrets; its body's fields pass is kept in *fields for writing it (a body
 * found without secret fields before has nothing to learn: the pass's result is known). */
static void learn_message(const pm_redactor *r, const http_message *m, pm_body_fields *fields)
{
    http_fields_learn(r, &m->headers);
    http_fields_learn(r, &m->trailers);
    if (m->fields_none) {
        *fields = (pm_body_fields){.done = true};
        return;
    }
    pm_redact_learn_body_fields_typed(r, http_fields_get(&m->headers, "content-type"),
                                      http_fields_get(&m->headers, "content-encoding"), m->body.data, m->body.len,
                                      fields);
}

static void prepare_message(http_message *m, const pm_redactor *r)
{
    const pm_body *b = &m->body;
    m->fields_none = b->len > 0 && pm_utf8_valid(b->data, b->len) &&
                     pm_redact_body_fields_none(r, http_fields_get(&m->headers, "content-type"),
                                                (const char *)b->data, b->len);
}

/* Work moved off the record thread, which is the slower of the two (callgrind): each
 * body's UTF-8 check and fields pass, read-only here (the redactor's lists), so that the
 * learning pass there skips the bodies it would find nothing in. */
void capture_exchange_prepare(http_exchange *x, const capture_options *o)
{
    if (!o->redactor)
        return;
    prepare_message(&x->req, o->redactor);
    if (x->has_response)
        prepare_message(&x->resp, o->redactor);
}

/* fields: the bodies' fields passes the learning pass kept (request, response), or NULL. */
static void write_exchange(const http_exchange *x, const capture_options *o, const char *session,
                           const char *id, pm_body_fields fields[2], pm_jtext *t)
{
    pm_jtext_reset(t);
    pm_record_head(t, id, x->req.ts_first, session, x->seq, NULL, &x->cls);
    write_request(t, x, o, fields ? &fields[0] : NULL);
    if (x->has_response)
        write_response(t, x, o, fields ? &fields[1] : NULL);
    pm_jtext_object_end(t);
}

int capture_exchange_record(const http_exchange *x, const capture_options *o, const char *session,
                            const char *id, pm_secrets *reused, pm_jtext *t)
{
    if (!o->redactor) {
        write_exchange(x, o, session, id, NULL, t);
        return t->failed ? -1 : 0;
    }
    capture_options spreading = *o;
    pm_secrets *secrets = reused ? reused : pm_secrets_new();
    pm_redactor *r = secrets ? pm_redactor_spreading(o->redactor, secrets, NULL) : NULL;
    if (!r) {
        if (!reused)
            pm_secrets_free(secrets);
        return -1;
    }
    spreading.redactor = r;
    pm_body_fields fields[2] = {{0}, {0}};
    pm_redact_learn_target(r, x->req.target);
    learn_message(r, &x->req, &fields[0]);
    if (x->has_response)
        learn_message(r, &x->resp, &fields[1]);
    write_exchange(x, &spreading, session, id, fields, t);
    pm_body_fields_clear(&fields[0]);
    pm_body_fields_clear(&fields[1]);
    pm_redactor_free(r);
    if (reused)
        pm_secrets_clear(secrets);
    else
        pm_secrets_free(secrets);
    return t->failed ? -1 : 0;
}
