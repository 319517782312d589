/* SPDX-License-Identifier: Apache-2.0 */
/*
 * har_export.c — capture (or result) records → one HAR 1.2 document, for any HAR viewer
 * (Chrome devtools' import, the common web viewers) and for other tools.
 *
 * The document is written as records arrive: a head line, one line per entry (built
 * with jansson, one entry at a time; the comma goes out with the next entry), and the
 * closing line. Memory holds one entry, whatever the number of records.
 *
 * Mapping (README, "HAR"): url = http:// + the Host header (else "localhost") + target;
 * timings send = request.done_us, wait = latency_us, receive = the rest of done_us (the
 * capture's own response; a target's response has send 0); response content decoded
 * from gzip/deflate when whole, as devtools show it; bodies that are not UTF-8 as base64.
 * What HAR has no field for — the record's id and seq, the cohort's user, completeness,
 * cut or redacted bodies, trailers — goes into `_pmirror` (custom fields start with an
 * underscore in HAR), which `pmirror import` reads back.
 */
#include "har_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- bodies ------------------------------------------------------------------------- */

/* gzip or zlib data → the decoded bytes, whole (trailing garbage or more than
 * HAR_MAX_DECODED is a failure: the body is then exported as it is). */
static int zlib_decode(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
    if (len > HAR_MAX_DECODED)
        return -1;
    size_t rest = 0;
    if (pm_zlib_inflate(in, len, 15 + 32, HAR_MAX_DECODED, false, out, out_len, &rest) == PM_INFLATE_END && rest == 0)
        return 0;
    free(*out);
    *out = NULL;
    return -1;
}

/* Sets text (or text + encoding "base64") on obj for data. */
static void set_text(json_t *obj, const unsigned char *data, size_t len)
{
    if (pm_utf8_valid(data, len)) {
        json_object_set_new(obj, "text", json_stringn_nocheck((const char *)data, len));
    } else {
        char *b64 = pm_base64_encode(data, len);
        json_object_set_new(obj, "text", json_string(b64 ? b64 : ""));
        json_object_set_new(obj, "encoding", json_string("base64"));
        free(b64);
    }
}

/* The record's body keys a HAR cannot say itself, for `_pmirror`; NULL when none. */
static json_t *body_hint(const json_t *msg)
{
    json_t *h = json_object();
    bool truncated = json_is_true(json_object_get(msg, "body_truncated"));
    bool redacted = json_is_true(json_object_get(msg, "body_redacted"));
    if (truncated)
        json_object_set_new(h, "body_truncated", json_true());
    if (redacted)
        json_object_set_new(h, "body_redacted", json_true());
    if ((truncated || redacted) && json_is_integer(json_object_get(msg, "body_len")))
        json_object_set(h, "body_len", json_object_get(msg, "body_len"));
    if (truncated && json_is_string(json_object_get(msg, "body_sha256")))
        json_object_set(h, "body_sha256", json_object_get(msg, "body_sha256"));
    if (json_object_size(h) == 0) {
        json_decref(h);
        return NULL;
    }
    return h;
}

static bool body_unknown(const json_t *msg)
{
    return !json_object_get(msg, "body") && !json_object_get(msg, "body_b64") &&
           json_is_true(json_object_get(msg, "body_truncated"));
}

static json_int_t body_len(const json_t *msg, size_t stored)
{
    const json_t *n = json_object_get(msg, "body_len");
    return json_is_integer(n) ? json_integer_value(n) : (json_int_t)stored;
}

/* ---- headers and URL ------------------------------------------------------------------ */

static json_t *har_headers(const json_t *pairs)
{
    json_t *out = json_array();
    size_t i;
    const json_t *pair;
    json_array_foreach(pairs, i, pair) {
        const json_t *n = json_array_get(pair, 0), *v = json_array_get(pair, 1);
        if (json_is_string(n) && json_is_string(v))
            json_array_append_new(out, json_pack("{s:O,s:O}", "name", n, "value", v));
    }
    return out;
}

/* A Host header fit for a URL's authority, else "localhost". */
static const char *url_host(const json_t *headers)
{
    const char *h = pm_headers_get(headers, "host");
    if (!h || !*h || strlen(h) > 255)
        return "localhost";
    for (const char *p = h; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("/?#@\\", *p))
            return "localhost";
    return h;
}

/* The entry's URL. A CONNECT's authority-form target is the URL's authority; an
 * asterisk-form one (OPTIONS *) cannot be a URL and travels in `_pmirror.target`. */
static char *request_url(const char *method, const char *target, const json_t *headers)
{
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)
        return strdup(target);
    const char *host = url_host(headers);
    if (strcmp(method, "CONNECT") == 0 && target[0] != '/') {
        host = target;
        target = "/";
    }
    size_t n = strlen(host) + strlen(target) + 16;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "http://%s%s%s", host, target[0] == '/' ? "" : "/", target);
    return url;
}

/* The query string's pairs, as written (not decoded). */
static json_t *query_string(const char *target)
{
    json_t *out = json_array();
    const char *q = strchr(target, '?');
    if (!q)
        return out;
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            json_t *name = json_stringn(p, kn);
            json_t *value = eq ? json_stringn(eq + 1, n - kn - 1) : json_string("");
            if (name && value)
                json_array_append_new(out, json_pack("{s:o,s:o}", "name", name, "value", value));
            else {
                json_decref(name);
                json_decref(value);
            }
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return out;
}

/* ---- one entry ---------------------------------------------------------------------------- */

static json_t *har_request(const json_t *req, json_t *hint, pm_err *err)
{
    const char *target = json_string_value(json_object_get(req, "target"));
    const json_t *headers = json_object_get(req, "headers");
    const char *version = json_string_value(json_object_get(req, "version"));
    const char *method = json_string_value(json_object_get(req, "method"));
    char *url = request_url(method, target, headers);
    if (target[0] != '/' || strcmp(method, "CONNECT") == 0) /* the URL alone would not say it */
        json_object_set_new(hint, "target", json_string(target));
    if (!pm_headers_get(headers, "host"))
        json_object_set_new(hint, "no_host", json_true());
    unsigned char *data = NULL;
    size_t len = 0;
    if (!url || pm_record_get_body(req, &data, &len, err) != 0) {
        free(url);
        if (!url)
            pm_err_set(err, "out of memory");
        return NULL;
    }
    json_t *r = json_pack("{s:O,s:s,s:s,s:[],s:o,s:o}", "method", json_object_get(req, "method"), "url", url,
                          "httpVersion", version ? version : "HTTP/1.1", "cookies", "headers", har_headers(headers),
                          "queryString", query_string(target));
    free(url);
    if (len > 0 || (json_is_true(json_object_get(req, "body_truncated")) && !body_unknown(req))) {
        const char *mime = pm_headers_get(headers, "content-type");
        json_t *post = json_pack("{s:s}", "mimeType", mime ? mime : "");
        set_text(post, data, len);
        json_object_set_new(r, "postData", post);
    }
    json_object_set_new(r, "headersSize", json_integer(-1));
    json_object_set_new(r, "bodySize", json_integer(body_len(req, len)));
    json_t *bh = body_hint(req);
    if (bh)
        json_object_set_new(hint, "request", bh);
    if (json_is_false(json_object_get(req, "complete"))) {
        json_t *rh = json_object_get(hint, "request");
        if (!rh)
            json_object_set_new(hint, "request", rh = json_object());
        json_object_set_new(rh, "complete", json_false());
    }
    free(data);
    return r;
}

static json_t *no_response(const char *error)
{
    json_t *r = json_pack("{s:i,s:s,s:s,s:[],s:[],s:{s:i,s:s},s:s,s:i,s:i}", "status", 0, "statusText", "",
                          "httpVersion", "", "cookies", "headers", "content", "size", 0, "mimeType", "x-unknown",
                          "redirectURL", "", "headersSize", -1, "bodySize", -1);
    if (error)
        json_object_set_new(r, "_error", json_string(error));
    return r;
}

static json_t *har_response(const json_t *resp, const char *req_version, json_t *hint, pm_err *err)
{
    const json_t *headers = json_object_get(resp, "headers");
    const char *reason = json_string_value(json_object_get(resp, "reason"));
    const char *version = json_string_value(json_object_get(resp, "version"));
    const char *mime = pm_headers_get(headers, "content-type");
    const char *location = pm_headers_get(headers, "location");
    unsigned char *data = NULL, *decoded = NULL;
    size_t len = 0, dlen = 0;
    if (pm_record_get_body(resp, &data, &len, err) != 0)
        return NULL;
    json_int_t wire_len = body_len(resp, len);
    json_t *content = json_pack("{s:I,s:s}", "size", wire_len, "mimeType", mime ? mime : "x-unknown");
    const char *coding = har_zlib_coding(pm_headers_get(headers, "content-encoding"));
    if (coding && !json_is_true(json_object_get(resp, "body_truncated")) && har_looks_encoded(coding, data, len) &&
        zlib_decode(data, len, &decoded, &dlen) == 0) {
        /* devtools show content decoded: size is the decoded length */
        json_object_set_new(content, "size", json_integer((json_int_t)dlen));
        json_object_set_new(content, "compression", json_integer((json_int_t)dlen - wire_len));
        set_text(content, decoded, dlen);
    } else if (!body_unknown(resp)) {
        set_text(content, data, len);
    }
    free(decoded);
    free(data);
    json_t *r = json_pack("{s:O,s:s,s:s,s:[],s:o,s:o,s:s,s:i,s:I}", "status", json_object_get(resp, "status"),
                          "statusText", reason ? reason : "", "httpVersion", version ? version : req_version,
                          "cookies", "headers", har_headers(headers), "content", content, "redirectURL",
                          location ? location : "", "headersSize", -1, "bodySize", wire_len);
    const char *error = json_string_value(json_object_get(resp, "error"));
    if (error)
        json_object_set_new(r, "_error", json_string(error));
    json_t *rh = body_hint(resp);
    if (json_is_false(json_object_get(resp, "complete"))) {
        if (!rh)
            rh = json_object();
        json_object_set_new(rh, "complete", json_false());
    }
    if (json_array_size(json_object_get(resp, "trailers")) > 0) {
        if (!rh)
            rh = json_object();
        json_object_set(rh, "trailers", json_object_get(resp, "trailers"));
    }
    if (json_is_string(json_object_get(resp, "content_encoding_removed"))) {
        if (!rh)
            rh = json_object();
        json_object_set(rh, "content_encoding_removed", json_object_get(resp, "content_encoding_removed"));
    }
    if (rh)
        json_object_set_new(hint, "response", rh);
    return r;
}

static json_int_t get_int(const json_t *obj, const char *key, json_int_t fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : fallback;
}

json_t *har_entry_from_record(const json_t *rec, const char *target, pm_err *err)
{
    const json_t *req = json_object_get(rec, "request");
    const char *ts = json_string_value(json_object_get(rec, "ts"));
    if (!json_is_object(req) || !json_is_string(json_object_get(req, "method")) ||
        !json_is_string(json_object_get(req, "target"))) {
        pm_err_set(err, "not a capture record: no request.method and request.target");
        return NULL;
    }
    if (!ts) {
        pm_err_set(err, "not a capture record: no ts");
        return NULL;
    }
    const json_t *resp = json_object_get(rec, "response");
    if (target) {
        const json_t *all = json_object_get(rec, "responses");
        if (!json_is_object(all)) {
            pm_err_set(err, "not a result record (no responses), as --target %s needs", target);
            return NULL;
        }
        if (!(resp = json_object_get(all, target))) {
            pm_err_set(err, "no response from target '%s'", target);
            return NULL;
        }
    }
    bool answered = json_is_object(resp) && json_is_integer(json_object_get(resp, "status")) &&
                    json_integer_value(json_object_get(resp, "status")) > 0;
    json_t *hint = json_object();
    json_object_set(hint, "id", json_object_get(rec, "id"));
    json_object_set(hint, "seq", json_object_get(rec, "seq"));
    json_t *user = json_object_get(json_object_get(rec, "cohort"), "user");
    if (json_is_string(user))
        json_object_set(hint, "user", user);
    const char *req_version = json_string_value(json_object_get(req, "version"));
    json_t *request = har_request(req, hint, err);
    json_t *response = !request ? NULL
                       : answered ? har_response(resp, req_version ? req_version : "HTTP/1.1", hint, err)
                                  : no_response(json_string_value(json_object_get(resp, "error")));
    if (!request || !response) {
        json_decref(request);
        json_decref(hint);
        return NULL;
    }
    /* µs → ms. The capture's response counts from ts (send = the request's own time); a
     * replayed target's from when it was sent. */
    json_int_t send = target ? 0 : get_int(req, "done_us", 0);
    json_int_t wait = answered ? get_int(resp, "latency_us", 0) : 0;
    json_int_t done = answered ? get_int(resp, "done_us", send + wait) : send;
    json_int_t receive = done > send + wait ? done - send - wait : 0;
    json_t *entry = json_pack("{s:s,s:f,s:o,s:o,s:{},s:{s:i,s:i,s:i,s:f,s:f,s:f,s:i}}", "startedDateTime", ts, "time",
                              (double)(send + wait + receive) / 1000.0, "request", request, "response", response,
                              "cache", "timings", "blocked", -1, "dns", -1, "connect", -1, "send",
                              (double)send / 1000.0, "wait", (double)wait / 1000.0, "receive",
                              (double)receive / 1000.0, "ssl", -1);
    json_t *session = json_object_get(rec, "session");
    if (json_is_string(session))
        json_object_set(entry, "connection", session);
    json_object_set_new(entry, "_pmirror", hint);
    return entry;
}

/* ---- the document -------------------------------------------------------------------------- */

struct har_writer {
    pm_jsonl_writer *out;
    char *target;
    char *pending; /* the last entry's line: it gets its comma when another follows */
    uint64_t count;
};

har_writer *har_writer_open(const char *path, const char *creator_version, const char *target,
                                            pm_err *err)
{
    har_writer *w = calloc(1, sizeof *w);
    if (!w || (target && !(w->target = strdup(target)))) {
        free(w);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (!(w->out = pm_jsonl_writer_open(path, err))) {
        free(w->target);
        free(w);
        return NULL;
    }
    json_t *creator = json_pack("{s:s,s:s}", "name", "pmirror", "version", creator_version ? creator_version : "dev");
    char *text = json_dumps(creator, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(creator);
    char head[512];
    int n = snprintf(head, sizeof head, "{\"log\":{\"version\":\"1.2\",\"creator\":%s,\"entries\":[", text ? text : "{}");
    free(text);
    if (n < 0 || (size_t)n >= sizeof head || pm_jsonl_writer_write_line(w->out, head, (size_t)n, err) != 0) {
        if (n < 0 || (size_t)n >= sizeof head)
            pm_err_set(err, "%s: creator version too long", path);
        pm_jsonl_writer_close(w->out, NULL);
        free(w->target);
        free(w);
        return NULL;
    }
    return w;
}

static int flush_pending(har_writer *w, bool more, pm_err *err)
{
    if (!w->pending)
        return 0;
    size_t n = strlen(w->pending);
    if (more)
        w->pending[n++] = ','; /* room was kept for it */
    int rc = pm_jsonl_writer_write_line(w->out, w->pending, n, err);
    free(w->pending);
    w->pending = NULL;
    return rc;
}

int har_writer_add(har_writer *w, const json_t *record, pm_err *err)
{
    json_t *entry = har_entry_from_record(record, w->target, err);
    if (!entry)
        return -1;
    char *text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(entry);
    char *line = text ? realloc(text, strlen(text) + 2) : NULL;
    if (!line) {
        free(text);
        return pm_err_set(err, "out of memory");
    }
    if (flush_pending(w, true, err) != 0) {
        free(line);
        return -1;
    }
    w->pending = line;
    w->count++;
    return 0;
}

uint64_t har_writer_count(const har_writer *w)
{
    return w->count;
}

int har_writer_close(har_writer *w, pm_err *err)
{
    if (!w)
        return 0;
    int rc = flush_pending(w, false, err);
    if (rc == 0)
        rc = pm_jsonl_writer_write_line(w->out, "]}}", 3, err);
    if (pm_jsonl_writer_close(w->out, rc == 0 ? err : NULL) != 0)
        rc = -1;
    free(w->pending);
    free(w->target);
    free(w);
    return rc;
}
