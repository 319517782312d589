/* SPDX-License-Identifier: Apache-2.0 */
/*
 * body.c — bodies as the servers meant them, then compared by what they are.
 *
 * Decoding: the recorded bytes (body or body_b64), with gzip or deflate undone when
 * Content-Encoding says so or the gzip magic bytes do (servers lie), and a cap on the
 * decoded size so a compression bomb is `too_large`, never memory exhaustion.
 * Dispatch: JSON media types (application/json, +json, OCI and Docker manifests) are
 * compared structurally; an event stream (text/event-stream) as its list of events, each
 * event's data as JSON when it is (core/sse.c; keep-alive comments are not events); other text line by line, reporting the first differing line;
 * anything else by length and SHA-256. Byte-equal bodies are equal without parsing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "diff_internal.h"

/* wbits: 15 + 32 (a gzip or zlib header) or -15 (raw deflate). A stream cut short counts
 * (what decoded is taken), but not a guess at raw deflate: plain text often inflates to a
 * few bytes of garbage before running out. */
static int inflate_all(const unsigned char *in, size_t len, int wbits, size_t max, diff_body *out,
                       const char **error)
{
    unsigned char *buf;
    size_t n;
    pm_inflate_status st = pm_zlib_inflate(in, len, wbits, max, false, &buf, &n, NULL);
    if (st == PM_INFLATE_TOO_LARGE) {
        *error = "too_large";
        return -1;
    }
    if (st == PM_INFLATE_BAD || (st == PM_INFLATE_CUT && wbits < 0)) {
        free(buf);
        *error = "decode";
        return -1;
    }
    out->data = buf;
    out->len = n;
    return 0;
}

/* The answer's bytes as recorded: its body unescaped, or its body_b64 decoded. */
static int raw_bytes(const diff_answer *ans, diff_body *out)
{
    out->present = ans->body != NULL;
    if (!ans->body) {
        out->data = (unsigned char *)"";
        out->borrowed = true;
        return 0;
    }
    const char *text = ans->body;
    size_t len = ans->body_len;
    char *unescaped = NULL;
    if (ans->body_escaped) {
        unescaped = malloc(len + 1);
        if (!unescaped || pm_jstr_unescape(text, len, unescaped, &len) != 0) {
            free(unescaped);
            return -1;
        }
        text = unescaped;
    }
    if (!ans->body_b64) {
        if (unescaped) {
            out->data = (unsigned char *)unescaped;
        } else {
            out->data = (unsigned char *)text; /* in the line: no copy */
            out->borrowed = true;
        }
        out->len = len;
        return 0;
    }
    int rc = pm_base64_decode(text, len, false, &out->data, &out->len);
    free(unescaped);
    return rc == 0 ? 0 : -1;
}

int diff_body_decode(const diff_answer *answer, size_t max_decoded, diff_body *out, const char **error)
{
    memset(out, 0, sizeof *out);
    *error = NULL;
    if (raw_bytes(answer, out) != 0) {
        memset(out, 0, sizeof *out);
        *error = "decode";
        return -1;
    }
    unsigned char *raw = out->data;
    size_t len = out->len;
    bool borrowed = out->borrowed;
    memset(out, 0, sizeof *out);
    out->present = answer->body != NULL;
    char *encoding = diff_answer_header(answer, "content-encoding");
    bool gzip_magic = len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
    bool gzip = gzip_magic || (encoding && strcasecmp(encoding, "gzip") == 0);
    bool deflate = !gzip && encoding && strcasecmp(encoding, "deflate") == 0;
    free(encoding);
    if (gzip || deflate) {
        int rc = inflate_all(raw, len, 15 + 32, max_decoded, out, error);
        if (rc == -1 && deflate && strcmp(*error, "decode") == 0) /* raw deflate, as some servers send it */
            rc = inflate_all(raw, len, -15, max_decoded, out, error);
        if (rc == -1 && gzip_magic && strcmp(*error, "decode") == 0) { /* looked like gzip, is not: the bytes */
            *error = NULL;
            rc = -3;
        }
        if (rc == 0 || rc == -1) {
            if (!borrowed)
                free(raw);
            return rc;
        }
    }
    out->data = raw;
    out->len = len;
    out->borrowed = borrowed;
    return 0;
}

void diff_body_free(diff_body *b)
{
    if (!b->borrowed)
        free(b->data);
    memset(b, 0, sizeof *b);
}

static bool is_json_type(const char *type)
{
    if (!type)
        return false;
    size_t n = strcspn(type, ";");
    while (n > 0 && type[n - 1] == ' ')
        n--;
    return (n >= 16 && strncasecmp(type, "application/json", 16) == 0) ||
           (n >= 5 && strncasecmp(type + n - 5, "+json", 5) == 0) ||
           strncasecmp(type, "application/vnd.docker.distribution.manifest", 44) == 0 ||
           strncasecmp(type, "application/vnd.oci.image", 25) == 0;
}

static bool is_text_type(const char *type)
{
    return type && (strncasecmp(type, "text/", 5) == 0 || strncasecmp(type, "application/xml", 15) == 0 ||
                    strncasecmp(type, "application/javascript", 22) == 0);
}

/* A line as a JSON string; bytes that are not UTF-8 (a latin-1 text/plain) become U+FFFD,
 * so the diff record stays valid JSON. */
static json_t *line_value(const unsigned char *s, size_t n)
{
    if (pm_utf8_valid(s, n))
        return json_stringn((const char *)s, n);
    char *out = malloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < n;) {
        size_t k = s[i] < 0x80 ? 1 : s[i] >= 0xc2 && s[i] <= 0xdf ? 2 : s[i] >= 0xe0 && s[i] <= 0xef ? 3
                 : s[i] >= 0xf0 && s[i] <= 0xf4 ? 4 : 0;
        if (k && i + k <= n && pm_utf8_valid(s + i, k)) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *v = out ? json_stringn(out, o) : NULL;
    free(out);
    return v;
}

/* Where the line that starts at `from` ends: past its '\n', or at the end of the text. */
static size_t line_end(const diff_body *t, size_t from)
{
    const unsigned char *nl = from < t->len ? memchr(t->data + from, '\n', t->len - from) : NULL;
    return nl ? (size_t)(nl - t->data) + 1 : t->len;
}

/* The first differing line (1-based) of two texts, each side's line shown whole, with its
 * '\n' when only one side has it (a missing trailing newline is the difference). When one
 * text ends there (kind extra or missing), the longer one's value runs through its next
 * line too, so what it has more is seen. */
static void diff_text(diff_ctx *c, const diff_body *a, const diff_body *b)
{
    size_t line = 1, i = 0, start = 0;
    size_t n = a->len < b->len ? a->len : b->len;
    while (i < n && a->data[i] == b->data[i]) {
        if (a->data[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    char path[32];
    snprintf(path, sizeof path, "line %zu", line);
    const char *kind = i >= a->len ? "extra" : i >= b->len ? "missing" : "value";
    size_t ea = line_end(a, start), eb = line_end(b, start);
    if (i >= a->len && eb < b->len)
        eb = line_end(b, eb);
    if (i >= b->len && ea < a->len)
        ea = line_end(a, ea);
    if (ea > start && eb > start && a->data[ea - 1] == '\n' && b->data[eb - 1] == '\n') {
        ea--; /* the same terminator on both sides says nothing: "three" vs "THREE" */
        eb--;
    }
    json_t *va = line_value(a->data + start, ea - start);
    json_t *vb = line_value(b->data + start, eb - start);
    diff_add(c, "body", path, kind, va, vb);
    json_decref(va);
    json_decref(vb);
}

/* An event stream as a document: {"events": [{"event", "data", "id"?, "retry"?}, ...]}, each
 * event's data parsed when it is JSON. Keep-alive comments and timing are not in it. */
static json_t *stream_document(const diff_body *b)
{
    json_t *events = pm_sse_events(b->data, b->len, NULL);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        const char *text = json_string_value(json_object_get(ev, "data"));
        json_t *parsed = text ? diff_json_parse((const unsigned char *)text, strlen(text)) : NULL;
        if (parsed)
            json_object_set_new(ev, "data", parsed);
    }
    return events ? json_pack("{s:o}", "events", events) : NULL;
}

void diff_bodies(diff_ctx *c, const char *content_type, const diff_body *a, const diff_body *b)
{
    if (a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0))
        return; /* byte-equal: equal, whatever they are */
    if (pm_sse_is_stream_type(content_type)) { /* events as a list: $.events[1].data.foo */
        json_t *ja = stream_document(a), *jb = stream_document(b);
        if (ja && jb)
            diff_json(c, ja, jb);
        json_decref(ja);
        json_decref(jb);
        if (ja && jb)
            return;
    }
    if (is_json_type(content_type) || (!content_type && a->len && (a->data[0] == '{' || a->data[0] == '['))) {
        /* the tapes first; the trees when the tapes cannot tell (see tape_diff.c) */
        if (c->tapes && pm_utf8_valid(a->data, a->len) && pm_utf8_valid(b->data, b->len) &&
            pm_jtape_parse(&c->tapes[0], (const char *)a->data, a->len, JSON_PARSER_MAX_DEPTH) == 0 &&
            pm_jtape_parse(&c->tapes[1], (const char *)b->data, b->len, JSON_PARSER_MAX_DEPTH) == 0 &&
            diff_tape_compare(c, &c->tapes[0], &c->tapes[1]) == 0)
            return;
        json_t *ja = diff_json_parse(a->data, a->len), *jb = diff_json_parse(b->data, b->len);
        if (ja && jb) {
            diff_json(c, ja, jb);
            json_decref(ja);
            json_decref(jb);
            return;
        }
        json_decref(ja);
        json_decref(jb);
    }
    if (is_text_type(content_type) || (pm_utf8_valid(a->data, a->len) && pm_utf8_valid(b->data, b->len))) {
        diff_text(c, a, b);
        return;
    }
    char ha[65], hb[65];
    pm_sha256_hex(a->data ? (const void *)a->data : "", a->len, ha);
    pm_sha256_hex(b->data ? (const void *)b->data : "", b->len, hb);
    json_t *va = json_pack("{s:I,s:s}", "len", (json_int_t)a->len, "sha256", ha);
    json_t *vb = json_pack("{s:I,s:s}", "len", (json_int_t)b->len, "sha256", hb);
    diff_add(c, "body", "", "value", va, vb);
    json_decref(va);
    json_decref(vb);
}
