/*
 * exchange_record.c — one exchange → the capture record of DESIGN.md ("Files").
 *
 * Classification and cohort were taken from the request as it arrived (the cohort needs
 * the Authorization header's user before redaction); here secrets are redacted from the
 * target, the headers and both bodies before anything is written. Timings: `ts` is the
 * request's first byte; `latency_us` runs from the request's last byte to the response's
 * first (the wait for the server, as the capture issue asks); `done_us` from `ts` to the
 * response's last byte; `request.done_us` from `ts` to the request's last byte.
 */
#include "http_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void set_body(json_t *obj, const http_message *m)
{
    char hex[65];
    const char *sha = NULL;
    if (m->body.truncated && http_body_sha256_hex(&m->body, hex) == 0)
        sha = hex;
    pm_record_set_body(obj, m->body.data, m->body.len, (size_t)m->body.total, sha);
}

static json_t *version_string(const http_message *m)
{
    char v[16];
    snprintf(v, sizeof v, "HTTP/%d.%d", m->major, m->minor);
    return json_string(v);
}

static json_t *request_object(const http_exchange *x, const capture_options *o)
{
    const http_message *m = &x->req;
    json_t *req = json_object();
    json_object_set_new(req, "method", json_string(m->method ? m->method : ""));
    char *target = o->redactor ? pm_redact_target(o->redactor, m->target ? m->target : "")
                               : strdup(m->target ? m->target : "");
    json_object_set_new(req, "target", json_string(target ? target : ""));
    free(target);
    json_object_set_new(req, "version", version_string(m));
    json_t *headers = m->headers ? json_deep_copy(m->headers) : json_array();
    if (o->redactor)
        pm_redact_headers(o->redactor, headers);
    json_object_set_new(req, "headers", headers);
    set_body(req, m);
    json_object_set_new(req, "complete", json_boolean(m->complete));
    if (m->complete && m->ts_last >= m->ts_first)
        json_object_set_new(req, "done_us", json_integer(m->ts_last - m->ts_first));
    if (o->redactor)
        pm_redact_record_body(o->redactor, req);
    return req;
}

static json_t *response_object(const http_exchange *x, const capture_options *o)
{
    const http_message *m = &x->resp;
    json_t *resp = json_object();
    json_object_set_new(resp, "status", json_integer(m->status));
    json_object_set_new(resp, "reason", json_string(m->reason ? m->reason : ""));
    json_object_set_new(resp, "version", version_string(m));
    json_t *headers = m->headers ? json_deep_copy(m->headers) : json_array();
    if (o->redactor)
        pm_redact_headers(o->redactor, headers);
    json_object_set_new(resp, "headers", headers);
    if (m->trailers) {
        json_t *trailers = json_deep_copy(m->trailers);
        if (o->redactor)
            pm_redact_headers(o->redactor, trailers);
        json_object_set_new(resp, "trailers", trailers);
    }
    set_body(resp, m);
    json_object_set_new(resp, "complete", json_boolean(m->complete));
    int64_t request_end = x->req.complete ? x->req.ts_last : x->req.ts_first;
    int64_t latency = m->ts_first - request_end;
    json_object_set_new(resp, "latency_us", json_integer(latency > 0 ? latency : 0));
    if (m->complete)
        json_object_set_new(resp, "done_us", json_integer(m->ts_last - x->req.ts_first));
    if (o->redactor)
        pm_redact_record_body(o->redactor, resp);
    return resp;
}

json_t *capture_exchange_record(const http_exchange *x, const capture_options *o, const char *session,
                                const char *id)
{
    json_t *rec = pm_record_new();
    char ts[40];
    pm_time_rfc3339(x->req.ts_first, ts, sizeof ts);
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "ts", json_string(ts));
    json_object_set_new(rec, "session", json_string(session));
    json_object_set_new(rec, "seq", json_integer((json_int_t)x->seq));
    const pm_class *c = &x->cls;
    json_object_set_new(rec, "family", json_string(c->family ? c->family : "UNKNOWN"));
    json_object_set_new(rec, "capability", json_string(c->capability ? c->capability : "UNKNOWN"));
    json_object_set_new(rec, "switch", string_or_null(c->switch_name));
    json_object_set_new(rec, "cap_switch", string_or_null(c->cap_switch));
    json_object_set_new(rec, "route_id", string_or_null(c->route_id));
    json_object_set_new(rec, "mutating", json_boolean(c->mutating));
    json_object_set_new(rec, "cohort", json_pack("{s:o,s:o,s:o}", "org", string_or_null(c->cohort.org), "repo",
                                                 string_or_null(c->cohort.repo), "user",
                                                 string_or_null(c->cohort.user)));
    json_object_set_new(rec, "request", request_object(x, o));
    if (x->has_response)
        json_object_set_new(rec, "response", response_object(x, o));
    return rec;
}
