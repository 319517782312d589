/* SPDX-License-Identifier: Apache-2.0 */
/*
 * har_import.c — HAR 1.2 entries → capture records, as `pmirror capture` writes them.
 *
 * Each entry of log.entries (streamed by har_stream.c) is mapped onto the exchange a
 * capture would have seen, then classified, selected and redacted exactly as capture
 * does, and written with the same keys in the same order (capture/exchange_record.c).
 * The decisions a HAR forces, each documented in the README ("HAR"):
 *  - target: path and query of request.url (the fragment never goes on the wire); the
 *    URL's host becomes a Host header when the entry has none (HTTP/2's :authority
 *    first). HTTP/2 pseudo-headers are dropped. User info in the URL is dropped.
 *  - timing: ts = startedDateTime; request.done_us = blocked+dns+connect+send (what is
 *    known and >= 0: from ts to the request's last byte), latency_us = wait (the
 *    request's last byte to the response's first, capture's meaning), done_us = time.
 *  - bodies: devtools store response content decoded. A gzip/deflate body is compressed
 *    again (zlib, deterministic), so the record's Content-Encoding still describes its
 *    body; a coding zlib cannot redo (br, zstd) is removed from the headers instead and
 *    named in `content_encoding_removed`. A body the HAR does not hold (content.text
 *    absent) is unknown, not empty: no body, body_len as declared, body_truncated true
 *    and no body_sha256.
 *  - ids: session from `connection` (+ serverIPAddress), else one per entry; the id
 *    prefix from the first entry's time, as capture derives it from the first packet's.
 *  - `_pmirror` (written by `pmirror export`) restores what HAR has no field for: id,
 *    seq, the cohort's user, a target a URL cannot hold, completeness, cut or redacted
 *    bodies, trailers, a removed coding.
 * Header names and values with line breaks or NULs are refused: replay would send them.
 */
#include "har_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define CONN_SLOTS 8192 /* connections remembered at once; then forgotten (new sessions) */

typedef struct conn_slot {
    char *key;
    uint64_t number, next_seq;
} conn_slot;

struct har_importer {
    har_options o;
    char prefix[16];
    bool prefix_set;
    uint64_t next_session;
    conn_slot *conns;
    size_t nconns;
    const char *last_family; /* of the record last written (borrowed from the map) */
};

void har_options_init(har_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_body = PM_BODY_CAP_DEFAULT;
}

/* ---- small readers of a parsed entry ---------------------------------------------------- */

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A finite number at key (integer or real); false when absent or not a number. */
static bool jnum(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (d != d || d > 1e15 || d < -1e15)
        return false;
    *out = d;
    return true;
}

/* Milliseconds (HAR) → microseconds: negatives as 0, at most cap_ms (so that sums stay
 * exact in a double when exported again). */
static int64_t ms_to_us(double ms, double cap_ms)
{
    return ms > 0 ? (int64_t)((ms < cap_ms ? ms : cap_ms) * 1000.0 + 0.5) : 0;
}

#define PART_CAP_MS 1e11 /* one timing (about three years) */
#define TIME_CAP_MS 1e12

/* ---- request line ------------------------------------------------------------------------ */

static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Printable ASCII without spaces: what may stand as a request target or version. */
static bool token_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool method_ok(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)m[i]))
            return false;
    return true;
}

/* Appends s[0..n) to a new string, percent-encoding what cannot stand in a request line
 * (controls, space, non-ASCII: as a browser sends them). */
static char *encode_target(const char *s, size_t n)
{
    char *out = malloc(3 * n + 2), *o = out;
    if (!out)
        return NULL;
    if (n == 0 || s[0] == '?')
        *o++ = '/';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>')
            o += sprintf(o, "%%%02X", c);
        else
            *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

/* request.url → the request target (path and query, no fragment) and the authority
 * (host[:port], user info dropped; NULL for a URL that is only a path). */
static int split_url(const char *url, char **target, char **authority, pm_err *why)
{
    *target = *authority = NULL;
    size_t len = strlen(url);
    const char *end = memchr(url, '#', len);
    if (end)
        len = (size_t)(end - url);
    if (url[0] == '/') {
        *target = encode_target(url, len);
        return *target ? 1 : -1;
    }
    const char *colon = strstr(url, "://");
    if (!colon || colon == url || colon > url + len)
        return pm_err_set(why, "request.url '%.80s' is not an absolute URL", url), 0;
    for (const char *p = url; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return pm_err_set(why, "request.url '%.80s' has no valid scheme", url), 0;
    const char *auth = colon + 3, *stop = auth;
    while (stop < url + len && *stop != '/' && *stop != '?')
        stop++;
    const char *at = NULL;
    for (const char *p = auth; p < stop; p++)
        if (*p == '@')
            at = p;
    if (at)
        auth = at + 1;
    for (const char *p = auth; p < stop; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return pm_err_set(why, "request.url has a control character or space in its host"), 0;
    if (stop > auth && !(*authority = strndup(auth, (size_t)(stop - auth))))
        return -1;
    *target = encode_target(stop, (size_t)(url + len - stop));
    return *target ? 1 : -1;
}

/* httpVersion as HAR tools spell it → the record's version. */
static const char *map_version(const char *v, const char *fallback)
{
    static const struct {
        const char *given, *version;
    } names[] = {
        {"http/1.1", "HTTP/1.1"}, {"http/1.0", "HTTP/1.0"}, {"http/0.9", "HTTP/0.9"}, {"h2", "HTTP/2"},
        {"h2c", "HTTP/2"},        {"http/2", "HTTP/2"},     {"http/2.0", "HTTP/2"},   {"h3", "HTTP/3"},
        {"http/3", "HTTP/3"},     {"http/3.0", "HTTP/3"},
    };
    if (!v || !*v || strcasecmp(v, "unknown") == 0)
        return fallback;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(v, names[i].given) == 0)
            return names[i].version;
    if (strncasecmp(v, "h3-", 3) == 0)
        return "HTTP/3"; /* draft versions: h3-29 */
    return token_ok(v) && strlen(v) <= 16 ? v : fallback;
}

/* ---- headers ------------------------------------------------------------------------------- */

static bool header_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
            return false;
    return true;
}

/* HAR [{name, value}] → [[name, value], ...] in order. Pseudo-headers (":authority" and
 * the like) are dropped; :authority's value goes to *authority (when given). */
static json_t *convert_headers(const json_t *list, const char *field, char **authority, pm_err *why)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    if (list && !json_is_array(list)) {
        json_decref(out);
        pm_err_set(why, "%s is not an array", field);
        return NULL;
    }
    size_t i;
    const json_t *h;
    json_array_foreach(list, i, h) {
        const json_t *name = json_object_get(h, "name"), *value = json_object_get(h, "value");
        char num[32];
        const char *v = json_string_value(value);
        size_t vlen = json_string_length(value);
        if (json_is_integer(value)) { /* some tools write numeric values unquoted */
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(value));
            v = num;
            vlen = strlen(num);
        }
        const char *n = json_string_value(name);
        size_t nlen = json_string_length(name);
        bool pseudo = n && nlen > 1 && n[0] == ':';
        bool name_ok = n && nlen > 0 && nlen <= 1024;
        for (size_t k = pseudo ? 1 : 0; name_ok && k < nlen; k++)
            name_ok = is_tchar((unsigned char)n[k]);
        if (!name_ok || !v) {
            json_decref(out);
            pm_err_set(why, "%s[%zu] is not a {name, value} header", field, i);
            return NULL;
        }
        if (!header_value_ok(v, vlen)) {
            json_decref(out);
            pm_err_set(why, "%s[%zu] (%.40s) holds a line break or NUL", field, i, n);
            return NULL;
        }
        if (pseudo) {
            if (authority && strcmp(n, ":authority") == 0 && !*authority && vlen)
                *authority = strndup(v, vlen);
            continue;
        }
        json_t *pair = json_array();
        /* jansson checked the entry's UTF-8; line breaks and NULs were refused above */
        json_array_append_new(pair, json_stringn_nocheck(n, nlen));
        json_array_append_new(pair, json_stringn_nocheck(v, vlen));
        json_array_append_new(out, pair);
    }
    return out;
}

/* Removes every header of this name (case-insensitive). */
static void drop_header(json_t *headers, const char *name)
{
    for (size_t i = json_array_size(headers); i-- > 0;)
        if (strcasecmp(json_string_value(json_array_get(json_array_get(headers, i), 0)), name) == 0)
            json_array_remove(headers, i);
}

/* ---- bodies ---------------------------------------------------------------------------------- */

typedef struct har_body {
    unsigned char *data; /* the bytes the HAR holds (a prefix when cut) */
    size_t len;
    bool unknown;        /* the HAR does not hold it */
    uint64_t declared;   /* unknown: its length as the HAR declares it */
    bool exported;       /* _pmirror: data is as a record held it (cut or redacted): kept whole */
    bool cut;            /* ... a prefix of hint_len bytes */
    uint64_t hint_len;   /* ... the whole body's length */
    char hint_sha[65];
    bool redacted;       /* redacted before it was compressed, or _pmirror says so */
    bool from_base64;
    char *removed_coding; /* Content-Encoding removed because the body is decoded */
} har_body;

static void body_free(har_body *b)
{
    free(b->data);
    free(b->removed_coding);
}

/* The HAR's text (base64 when encoding says so) into b. */
static int body_from_text(har_body *b, const json_t *text, const char *encoding, const char *field, pm_err *why)
{
    const char *s = json_string_value(text);
    size_t n = json_string_length(text);
    if (encoding && strcasecmp(encoding, "base64") == 0) {
        /* some tools wrap base64 in lines: drop white space first */
        char *clean = malloc(n + 1);
        size_t m = 0;
        if (!clean)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!isspace((unsigned char)s[i]))
                clean[m++] = s[i];
        int rc = pm_base64_decode(clean, m, false, &b->data, &b->len);
        free(clean);
        if (rc != 0)
            return pm_err_set(why, "%s is not valid base64", field), 0;
        b->from_base64 = true;
        return 1;
    }
    b->data = malloc(n ? n : 1);
    if (!b->data)
        return -1;
    memcpy(b->data, s, n);
    b->len = n;
    return 1;
}

/* "a=1&b=x+y" from postData.params (url-encoded, as a form is sent). */
static char *form_from_params(const json_t *params)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    size_t i;
    const json_t *p;
    json_array_foreach(params, i, p) {
        const char *parts[2] = {jstr(p, "name"), jstr(p, "value")};
        for (int k = 0; k < 2 && out; k++) {
            const char *s = parts[k] ? parts[k] : "";
            size_t need = len + 3 * strlen(s) + 3;
            if (need > cap) {
                while (cap < need)
                    cap *= 2;
                char *q = realloc(out, cap);
                if (!q) {
                    free(out);
                    return NULL;
                }
                out = q;
            }
            if (k == 0 && i > 0)
                out[len++] = '&';
            if (k == 1)
                out[len++] = '=';
            for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (isalnum(c) || strchr("-._~", c))
                    out[len++] = (char)c;
                else if (c == ' ')
                    out[len++] = '+';
                else
                    len += (size_t)sprintf(out + len, "%%%02X", c);
            }
        }
    }
    if (out)
        out[len] = '\0';
    return out;
}

/* `_pmirror` hints for a body that pmirror exported: the record's body was cut (the
 * text is its prefix; body_len and body_sha256 are the whole body's) or redacted (the
 * text is the redacted form of body_len bytes), or unknown (cut, with no text). */
static void body_hints(har_body *b, const json_t *hint)
{
    if (!hint)
        return;
    const json_t *len = json_object_get(hint, "body_len");
    const char *sha = jstr(hint, "body_sha256");
    bool truncated = json_is_true(json_object_get(hint, "body_truncated"));
    b->redacted = json_is_true(json_object_get(hint, "body_redacted"));
    if (sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64)
        memcpy(b->hint_sha, sha, 65);
    if (!json_is_integer(len) || json_integer_value(len) < 0)
        return;
    if (truncated && (b->unknown || b->len == 0)) {
        b->unknown = true;
        b->declared = (uint64_t)json_integer_value(len);
    } else if (!b->unknown && (truncated || b->redacted)) {
        b->exported = true;
        b->cut = truncated;
        b->hint_len = (uint64_t)json_integer_value(len);
    }
}

static int request_body(const json_t *req, har_body *b, pm_err *why)
{
    const json_t *post = json_object_get(req, "postData");
    double size = -1;
    jnum(req, "bodySize", &size);
    if (json_is_object(post)) {
        const json_t *text = json_object_get(post, "text");
        const json_t *params = json_object_get(post, "params");
        const char *mime = jstr(post, "mimeType");
        if (json_is_string(text))
            return body_from_text(b, text, jstr(post, "encoding"), "request.postData.text", why);
        if (json_array_size(params) > 0 && (!mime || !*mime || strstr(mime, "x-www-form-urlencoded"))) {
            b->data = (unsigned char *)form_from_params(params);
            if (!b->data)
                return -1;
            b->len = strlen((char *)b->data);
            return 1;
        }
        if (json_array_size(params) > 0 || size > 0) { /* multipart parts, or nothing kept */
            b->unknown = true;
            b->declared = size > 0 ? (uint64_t)size : 0;
        }
        return 1;
    }
    if (size > 0) {
        b->unknown = true;
        b->declared = (uint64_t)size;
    }
    return 1;
}

static int response_body(const json_t *resp, int status, const char *method, har_body *b, pm_err *why)
{
    const json_t *content = json_object_get(resp, "content");
    const json_t *text = json_object_get(content, "text");
    if (json_is_string(text))
        return body_from_text(b, text, jstr(content, "encoding"), "response.content.text", why);
    double size = -1, body_size = -1;
    jnum(content, "size", &size);
    jnum(resp, "bodySize", &body_size);
    bool bodiless = status < 200 || status == 204 || status == 304 || strcmp(method, "HEAD") == 0;
    if (bodiless || size == 0 || (size < 0 && body_size == 0))
        return 1; /* known to be empty */
    b->unknown = true;
    b->declared = size > 0 ? (uint64_t)size : body_size > 0 ? (uint64_t)body_size : 0;
    return 1;
}

/* ---- content codings --------------------------------------------------------------------------- */

const char *har_zlib_coding(const char *ce)
{
    if (!ce)
        return NULL;
    while (*ce == ' ' || *ce == '\t')
        ce++;
    size_t n = strlen(ce);
    while (n && (ce[n - 1] == ' ' || ce[n - 1] == '\t'))
        n--;
    if ((n == 4 && strncasecmp(ce, "gzip", 4) == 0) || (n == 6 && strncasecmp(ce, "x-gzip", 6) == 0))
        return "gzip";
    if (n == 7 && strncasecmp(ce, "deflate", 7) == 0)
        return "deflate";
    return NULL;
}

bool har_looks_encoded(const char *coding, const unsigned char *d, size_t n)
{
    if (n < 2)
        return false;
    if (strcmp(coding, "gzip") == 0)
        return d[0] == 0x1f && d[1] == 0x8b;
    return (d[0] & 0x0f) == 8 && (d[0] >> 4) <= 7 && ((d[0] << 8) | d[1]) % 31 == 0;
}

static bool is_identity(const char *ce)
{
    while (*ce == ' ' || *ce == '\t')
        ce++;
    return !*ce || strncasecmp(ce, "identity", 8) == 0;
}

/* Devtools keep response content decoded while the headers still name the coding. Puts
 * the body back in the coding the headers name, or the headers in line with the body. */
static int match_coding(har_body *b, json_t *headers, const pm_redactor *r, har_stats *st)
{
    const char *ce = pm_headers_get(headers, "content-encoding");
    if (!ce || is_identity(ce) || b->unknown || b->len == 0)
        return 0;
    const char *coding = har_zlib_coding(ce);
    if (coding && b->from_base64 && har_looks_encoded(coding, b->data, b->len))
        return 0; /* the HAR kept the bytes as sent */
    if (coding && !b->cut && b->len <= HAR_MAX_DECODED) {
        /* redact the text now: once compressed nothing would find its secrets */
        char *red = NULL;
        size_t red_len = 0;
        if (r && pm_utf8_valid(b->data, b->len))
            red = pm_redact_body_text(r, pm_headers_get(headers, "content-type"), (const char *)b->data, b->len,
                                      &red_len);
        unsigned char *enc = NULL;
        size_t enc_len = 0;
        int rc = pm_zlib_deflate(red ? (unsigned char *)red : b->data, red ? red_len : b->len,
                                 strcmp(coding, "gzip") == 0 ? 31 : 15, &enc, &enc_len);
        if (rc == 0) {
            b->redacted = b->redacted || red;
            free(b->data);
            b->data = enc;
            b->len = enc_len;
            st->reencoded_bodies++;
        }
        free(red);
        return rc;
    }
    if (b->cut)
        return 0; /* a prefix: left as exported */
    if (!(b->removed_coding = strdup(ce)))
        return -1;
    drop_header(headers, "content-encoding");
    drop_header(headers, "content-length");
    st->decoded_bodies++;
    return 0;
}

/* ---- the record ---------------------------------------------------------------------------------- */

/* body | body_b64, body_len, body_truncated + body_sha256, as capture writes them. */
static void write_body(pm_jtext *t, const har_body *b, const json_t *headers, const har_options *o,
                       har_stats *st)
{
    if (b->unknown) {
        pm_jtext_key_lit(t, "body_len");
        pm_jtext_int(t, (int64_t)b->declared);
        pm_jtext_key_lit(t, "body_truncated");
        pm_jtext_bool(t, true);
        if (b->hint_sha[0]) {
            pm_jtext_key_lit(t, "body_sha256");
            pm_jtext_cstring(t, b->hint_sha);
        }
        st->unknown_bodies++;
        return;
    }
    /* a body exported by pmirror is kept as the record had it; any other is capped */
    size_t stored = b->exported || b->len < o->max_body ? b->len : o->max_body;
    uint64_t total = b->exported ? b->hint_len : b->len;
    bool truncated = b->exported ? b->cut : stored < total;
    if (stored > 0 && pm_utf8_valid(b->data, stored)) {
        char *red = NULL;
        size_t red_len = 0;
        if (o->redactor)
            red = pm_redact_body_text(o->redactor, pm_headers_get(headers, "content-type"), (const char *)b->data,
                                      stored, &red_len);
        pm_jtext_key_lit(t, "body");
        if (red)
            pm_jtext_string(t, red, red_len);
        else
            pm_jtext_string_utf8(t, (const char *)b->data, stored);
        if (red || b->redacted) {
            pm_jtext_key_lit(t, "body_redacted");
            pm_jtext_bool(t, true);
        }
        free(red);
    } else if (stored > 0) {
        char *b64 = pm_base64_encode(b->data, stored);
        pm_jtext_key_lit(t, "body_b64");
        pm_jtext_cstring(t, b64);
        free(b64);
        if (b->redacted) {
            pm_jtext_key_lit(t, "body_redacted");
            pm_jtext_bool(t, true);
        }
    }
    pm_jtext_key_lit(t, "body_len");
    pm_jtext_int(t, (int64_t)total);
    if (truncated) {
        char hex[65] = "";
        if (b->exported)
            memcpy(hex, b->hint_sha, sizeof hex);
        else
            pm_sha256_hex(b->data, b->len, hex);
        pm_jtext_key_lit(t, "body_truncated");
        pm_jtext_bool(t, true);
        if (hex[0]) {
            pm_jtext_key_lit(t, "body_sha256");
            pm_jtext_cstring(t, hex);
        }
        if (!b->exported)
            st->truncated_bodies++;
    }
}

/* ---- sessions --------------------------------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    return pm_fnv1a(PM_FNV1A_INIT, s, strlen(s));
}

static void conns_clear(har_importer *im)
{
    for (size_t i = 0; i < CONN_SLOTS; i++) {
        free(im->conns[i].key);
        im->conns[i].key = NULL;
    }
    im->nconns = 0;
}

/* The session number and next seq of a connection key (open addressing; the table is
 * emptied when it is three quarters full, so memory stays flat on endless input). */
static conn_slot *conn_lookup(har_importer *im, const char *key)
{
    if (im->nconns >= CONN_SLOTS * 3 / 4)
        conns_clear(im);
    size_t i = hash_str(key) % CONN_SLOTS;
    while (im->conns[i].key && strcmp(im->conns[i].key, key) != 0)
        i = (i + 1) % CONN_SLOTS;
    conn_slot *c = &im->conns[i];
    if (!c->key) {
        if (!(c->key = strdup(key)))
            return NULL;
        c->number = ++im->next_session;
        c->next_seq = 0;
        im->nconns++;
    }
    return c;
}

har_importer *har_importer_new(const har_options *o)
{
    har_importer *im = calloc(1, sizeof *im);
    if (!im || !(im->conns = calloc(CONN_SLOTS, sizeof *im->conns))) {
        free(im);
        return NULL;
    }
    im->o = *o;
    if (!im->o.max_body)
        im->o.max_body = PM_BODY_CAP_DEFAULT;
    return im;
}

void har_importer_free(har_importer *im)
{
    if (!im)
        return;
    conns_clear(im);
    free(im->conns);
    free(im);
}

/* ---- one entry ---------------------------------------------------------------------------------------- */

typedef struct entry_parts {
    const char *method, *version, *resp_version, *reason;
    char *target, *authority, *pseudo_authority, *user;
    json_t *req_headers, *resp_headers, *trailers;
    har_body req_body, resp_body;
    int status;
    bool has_response, resp_complete, req_complete;
    int64_t ts, req_done_us, latency_us, done_us;
    pm_class cls;
} entry_parts;

static void parts_free(entry_parts *p)
{
    free(p->target);
    free(p->authority);
    free(p->pseudo_authority);
    free(p->user);
    json_decref(p->req_headers);
    json_decref(p->resp_headers);
    json_decref(p->trailers);
    body_free(&p->req_body);
    body_free(&p->resp_body);
    pm_class_clear(&p->cls);
}

/* 1: the request side is in p; 0: not convertible (why); -1: out of memory. */
static int read_request(const json_t *entry, const json_t *hint, entry_parts *p, pm_err *why)
{
    const json_t *req = json_object_get(entry, "request");
    if (!json_is_object(req))
        return pm_err_set(why, "no request object"), 0;
    if (!pm_time_parse(jstr(entry, "startedDateTime"), &p->ts))
        return pm_err_set(why, "startedDateTime '%.40s' is not an ISO 8601 time",
                          jstr(entry, "startedDateTime") ? jstr(entry, "startedDateTime") : "(missing)"),
               0;
    p->method = jstr(req, "method");
    if (!method_ok(p->method))
        return pm_err_set(why, "request.method '%.40s' is not an HTTP method", p->method ? p->method : "(missing)"), 0;
    const char *url = jstr(req, "url");
    if (!url || !*url)
        return pm_err_set(why, "no request.url"), 0;
    int rc = split_url(url, &p->target, &p->authority, why);
    if (rc <= 0)
        return rc;
    const char *exact = jstr(hint, "target"); /* pmirror's: a target not in origin form */
    if (exact && *exact && token_ok(exact)) {
        free(p->target);
        if (!(p->target = strdup(exact)))
            return -1;
    } else if (strcmp(p->method, "CONNECT") == 0 && p->authority) { /* authority-form */
        free(p->target);
        if (!(p->target = strdup(p->authority)))
            return -1;
    }
    p->version = map_version(jstr(req, "httpVersion"), "HTTP/1.1");
    if (!(p->req_headers = convert_headers(json_object_get(req, "headers"), "request.headers", &p->pseudo_authority,
                                           why)))
        return why->msg[0] ? 0 : -1;
    if (!pm_headers_get(p->req_headers, "host") && !json_is_true(json_object_get(hint, "no_host"))) {
        const char *host = p->pseudo_authority ? p->pseudo_authority : p->authority;
        if (host && header_value_ok(host, strlen(host))) {
            json_t *pair = json_pack("[ss]", p->pseudo_authority ? "host" : "Host", host);
            if (!pair || json_array_insert_new(p->req_headers, 0, pair) != 0)
                return -1;
        }
    }
    if ((rc = request_body(req, &p->req_body, why)) <= 0)
        return rc;
    body_hints(&p->req_body, json_object_get(hint, "request"));
    p->req_complete = !json_is_false(json_object_get(json_object_get(hint, "request"), "complete"));
    return 1;
}

static int read_response(const json_t *entry, const json_t *hint, entry_parts *p, const pm_redactor *r,
                         har_stats *st, pm_err *why)
{
    const json_t *resp = json_object_get(entry, "response");
    const json_t *rhint = json_object_get(hint, "response");
    double status = 0;
    if (resp && !json_is_object(resp))
        return pm_err_set(why, "response is not an object"), 0;
    if (resp && json_object_get(resp, "status") && !jnum(resp, "status", &status))
        return pm_err_set(why, "response.status is not a number"), 0;
    if (status == 0)
        return 1; /* no answer was recorded (a failed or blocked request) */
    if (status != (int)status || status < 100 || status > 999)
        return pm_err_set(why, "response.status %g is not an HTTP status", status), 0;
    p->status = (int)status;
    p->has_response = true;
    p->reason = jstr(resp, "statusText") ? jstr(resp, "statusText") : "";
    p->resp_version = map_version(jstr(resp, "httpVersion"), p->version);
    if (!(p->resp_headers = convert_headers(json_object_get(resp, "headers"), "response.headers", NULL, why)))
        return why->msg[0] ? 0 : -1;
    const json_t *trailers = json_object_get(rhint, "trailers");
    if (json_array_size(trailers) > 0) { /* [[name, value], ...] as the record had them */
        json_t *list = json_array();
        size_t i;
        const json_t *pair;
        json_array_foreach(trailers, i, pair)
            json_array_append_new(list, json_pack("{s:O?,s:O?}", "name", json_array_get(pair, 0), "value",
                                                  json_array_get(pair, 1)));
        p->trailers = convert_headers(list, "_pmirror.response.trailers", NULL, why);
        json_decref(list);
        if (!p->trailers)
            return why->msg[0] ? 0 : -1;
    }
    int rc = response_body(resp, p->status, p->method, &p->resp_body, why);
    if (rc <= 0)
        return rc;
    body_hints(&p->resp_body, rhint);
    if (r) /* a Set-Cookie value echoed in a body about to be compressed */
        pm_redact_learn_headers(r, p->resp_headers);
    if (match_coding(&p->resp_body, p->resp_headers, r, st) != 0)
        return -1;
    const char *removed = jstr(rhint, "content_encoding_removed");
    if (removed && !p->resp_body.removed_coding && !(p->resp_body.removed_coding = strdup(removed)))
        return -1;
    const char *error = jstr(resp, "_error");
    p->resp_complete = !json_is_false(json_object_get(rhint, "complete")) && !(error && *error);
    return 1;
}

static void read_timings(const json_t *entry, entry_parts *p)
{
    const json_t *t = json_object_get(entry, "timings");
    double v, pre = 0, wait = 0, receive = 0, time = -1;
    static const char *const before[] = {"blocked", "dns", "connect", "send"};
    for (size_t i = 0; i < 4; i++)
        if (jnum(t, before[i], &v) && v > 0)
            pre += v;
    if (jnum(t, "wait", &v) && v > 0)
        wait = v;
    if (jnum(t, "receive", &v) && v > 0)
        receive = v;
    jnum(entry, "time", &time);
    p->req_done_us = ms_to_us(pre, PART_CAP_MS);
    p->latency_us = ms_to_us(wait, PART_CAP_MS);
    p->done_us = time >= 0 ? ms_to_us(time, TIME_CAP_MS) : ms_to_us(pre + wait + receive, TIME_CAP_MS);
    if (p->done_us < p->req_done_us + p->latency_us)
        p->done_us = p->req_done_us + p->latency_us;
}

/* The session, seq and id: `_pmirror`'s when the entry came from pmirror, else from the
 * entry's connection (one session per entry without one). */
static int identify(har_importer *im, const json_t *entry, const json_t *hint, const entry_parts *p, char *session,
                    size_t ssize, uint64_t *seq, char *id, size_t isize)
{
    if (!im->prefix_set) {
        snprintf(im->prefix, sizeof im->prefix, "%08llx",
                 (unsigned long long)((uint64_t)p->ts * 0x9E3779B97F4A7C15ULL >> 32));
        im->prefix_set = true;
    }
    const json_t *conn = json_object_get(entry, "connection");
    char conn_text[32];
    const char *c = json_string_value(conn);
    if (json_is_integer(conn)) {
        snprintf(conn_text, sizeof conn_text, "%lld", (long long)json_integer_value(conn));
        c = conn_text;
    }
    const char *hid = jstr(hint, "id");
    const json_t *hseq = json_object_get(hint, "seq");
    if (c && *c && hid && json_is_integer(hseq) && json_integer_value(hseq) >= 0) {
        snprintf(session, ssize, "%s", c);
        snprintf(id, isize, "%s", hid);
        *seq = (uint64_t)json_integer_value(hseq);
        return 0;
    }
    uint64_t number;
    if (c && *c) {
        const char *ip = jstr(entry, "serverIPAddress");
        char *key = malloc(strlen(c) + (ip ? strlen(ip) : 0) + 2);
        if (!key)
            return -1;
        sprintf(key, "%s@%s", c, ip ? ip : "");
        conn_slot *slot = conn_lookup(im, key);
        free(key);
        if (!slot)
            return -1;
        number = slot->number;
        *seq = slot->next_seq++;
    } else {
        number = ++im->next_session;
        *seq = 0;
    }
    snprintf(session, ssize, "%s-%llu", im->prefix, (unsigned long long)number);
    snprintf(id, isize, "%s-%llu", session, (unsigned long long)*seq);
    return 0;
}

static void write_record(pm_jtext *t, const entry_parts *p, const char *id, const char *session, uint64_t seq,
                         const har_options *o, har_stats *st)
{
    pm_jtext_reset(t);
    pm_record_head(t, id, p->ts, session, seq, NULL, &p->cls);

    pm_jtext_key_lit(t, "request");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "method");
    pm_jtext_cstring(t, p->method);
    pm_jtext_key_lit(t, "target");
    char *red = o->redactor ? pm_redact_target(o->redactor, p->target) : NULL;
    pm_jtext_cstring(t, red ? red : p->target);
    free(red);
    pm_jtext_key_lit(t, "version");
    pm_jtext_cstring(t, p->version);
    pm_record_headers(t, "headers", p->req_headers, o->redactor);
    write_body(t, &p->req_body, p->req_headers, o, st);
    pm_jtext_key_lit(t, "complete");
    pm_jtext_bool(t, p->req_complete);
    if (p->req_complete) {
        pm_jtext_key_lit(t, "done_us");
        pm_jtext_int(t, p->req_done_us);
    }
    pm_jtext_object_end(t);

    if (p->has_response) {
        pm_jtext_key_lit(t, "response");
        pm_jtext_object_begin(t);
        pm_jtext_key_lit(t, "status");
        pm_jtext_int(t, p->status);
        pm_jtext_key_lit(t, "reason");
        pm_jtext_cstring(t, p->reason);
        pm_jtext_key_lit(t, "version");
        pm_jtext_cstring(t, p->resp_version);
        pm_record_headers(t, "headers", p->resp_headers, o->redactor);
        if (p->trailers)
            pm_record_headers(t, "trailers", p->trailers, o->redactor);
        write_body(t, &p->resp_body, p->resp_headers, o, st);
        if (p->resp_body.removed_coding) {
            pm_jtext_key_lit(t, "content_encoding_removed");
            pm_jtext_cstring(t, p->resp_body.removed_coding);
        }
        pm_jtext_key_lit(t, "complete");
        pm_jtext_bool(t, p->resp_complete);
        pm_jtext_key_lit(t, "latency_us");
        pm_jtext_int(t, p->latency_us);
        if (p->resp_complete) {
            pm_jtext_key_lit(t, "done_us");
            pm_jtext_int(t, p->done_us);
        }
        pm_jtext_object_end(t);
    }
    pm_jtext_object_end(t);
}

/* What a spreading redactor learns of one part before the record is written. */
static void learn_part(const pm_redactor *r, const json_t *headers, const har_body *b)
{
    pm_redact_learn_headers(r, headers);
    if (!b->unknown)
        pm_redact_learn_body(r, headers, b->data, b->len);
}

/* One entry, its secrets redacted by r (a spreading redactor, or NULL): the request's are
 * learned before the response is read (a compressed answer is redacted as it is read), the
 * answer's before anything is written. */
static int entry_to_record(har_importer *im, const json_t *entry, const pm_redactor *r, pm_jtext *t,
                           har_stats *st, pm_err *why)
{
    if (!json_is_object(entry)) {
        st->skipped++;
        return pm_err_set(why, "not an object"), 0;
    }
    const json_t *hint = json_object_get(entry, "_pmirror");
    if (!json_is_object(hint))
        hint = NULL;
    entry_parts p;
    memset(&p, 0, sizeof p);
    int rc = read_request(entry, hint, &p, why);
    if (rc > 0 && r) {
        pm_redact_learn_target(r, p.target);
        learn_part(r, p.req_headers, &p.req_body);
    }
    if (rc > 0)
        rc = read_response(entry, hint, &p, r, st, why);
    if (rc > 0 && r && p.has_response) {
        learn_part(r, p.resp_headers, &p.resp_body);
        pm_redact_learn_headers(r, p.trailers);
    }
    if (rc <= 0) {
        if (rc == 0)
            st->skipped++;
        parts_free(&p);
        return rc;
    }
    read_timings(entry, &p);
    char *user = pm_cohort_user_from_authorization(pm_headers_get(p.req_headers, "authorization"));
    if (!user && jstr(hint, "user"))
        user = strdup(jstr(hint, "user"));
    pm_classify_user(im->o.map, p.method, p.target, user, &p.cls);
    pm_classify_overrides(&p.cls, p.req_headers);
    free(user);
    /* numbered before selection, as capture numbers every exchange of a connection */
    char session[160], id[200];
    uint64_t seq = 0;
    if (identify(im, entry, hint, &p, session, sizeof session, &seq, id, sizeof id) != 0) {
        parts_free(&p);
        return -1;
    }
    if (!pm_selection_matches(im->o.selection, p.cls.family, &p.cls.cohort)) {
        st->not_selected++;
        parts_free(&p);
        return 0;
    }
    if (!p.has_response)
        st->without_response++;
    har_options o = im->o;
    o.redactor = r;
    write_record(t, &p, id, session, seq, &o, st);
    im->last_family = p.cls.family ? p.cls.family : "UNKNOWN";
    parts_free(&p);
    return t->failed ? -1 : 1;
}

int har_entry_to_record(har_importer *im, const json_t *entry, pm_jtext *t, har_stats *st, pm_err *why)
{
    why->msg[0] = '\0';
    if (!im->o.redactor)
        return entry_to_record(im, entry, NULL, t, st, why);
    pm_secrets *secrets = pm_secrets_new();
    pm_redactor *r = secrets ? pm_redactor_spreading(im->o.redactor, secrets, why) : NULL;
    int rc = r ? entry_to_record(im, entry, r, t, st, why) : -1;
    pm_redactor_free(r);
    pm_secrets_free(secrets);
    return rc;
}

/* ---- the whole file ------------------------------------------------------------------------------------- */

int har_import(const har_options *o, pm_record_fn fn, void *ctx, har_stats *st,
                       pm_err *err)
{
    memset(st, 0, sizeof *st);
    if (!o->map)
        return pm_err_set(err, "no capability map");
    const char *name = o->path ? o->path : "-";
    har_stream *s = har_stream_open(name, o->data, o->len, err);
    if (!s)
        return -1;
    har_importer *im = har_importer_new(o);
    pm_jtext t;
    memset(&t, 0, sizeof t);
    int rc = im ? 0 : pm_err_set(err, "out of memory");
    while (rc == 0) {
        json_t *entry = NULL;
        uint64_t index = 0;
        int got = har_stream_next(s, &entry, &index, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        st->entries++;
        pm_err why;
        int conv = har_entry_to_record(im, entry, &t, st, &why);
        json_decref(entry);
        if (conv < 0) {
            rc = pm_err_set(err, "%s: log.entries[%llu]: out of memory", name, (unsigned long long)index);
        } else if (conv == 0 && why.msg[0] && o->warn) {
            char msg[sizeof why.msg + 256];
            snprintf(msg, sizeof msg, "%s: log.entries[%llu]: %s (skipped)", name, (unsigned long long)index,
                     why.msg);
            o->warn(ctx, msg);
        } else if (conv == 1) {
            st->records++;
            pm_family_count_add(&st->families, &st->nfamilies, im->last_family);
            if (fn(ctx, t.buf, t.len, err) != 0)
                rc = -1;
        }
    }
    pm_jtext_free(&t);
    har_importer_free(im);
    har_stream_close(s);
    return rc;
}

void har_stats_clear(har_stats *st)
{
    free(st->families);
    st->families = NULL;
    st->nfamilies = 0;
}
