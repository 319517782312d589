/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record.c — a capture record as replay reads it: its line tokenized once (pm_jtape),
 * the few fields replay looks at decoded into one block, and no jansson tree.
 *
 * Why: perf on `pmirror run` (bench/run.sh) showed building each capture line's jansson
 * tree and freeing it again at ~18% of the replay loop's CPU, and that loop is what bounds
 * run's speed. Replay needs a dozen strings and two header lists of a record; the rest of
 * the line (bodies, classification) only goes into the result as the text it already is.
 * The recorded response as a tree, which only the `recorded` pseudo-target answers with,
 * is built on demand (rp_record_json).
 *
 * One allocation holds the struct, a copy of the tokens, the decoded strings and the
 * header lists; the line itself is the other. Keys are matched as jansson would read them
 * (escapes undone, the last of duplicate keys wins).
 */
#include "replay_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_MAX_DEPTH 2048 /* as jansson's parser */

/* The value of `key` in the object at token obj, or -1. */
static long member(const pm_jtape *t, long obj, const char *key)
{
    if (obj < 0 || t->tok[obj].type != PM_JOBJ)
        return -1;
    size_t want = strlen(key);
    long found = -1;
    size_t at = (size_t)obj + 1;
    for (uint32_t m = 0; m < t->tok[obj].count; m++) {
        const pm_jtok *k = &t->tok[at];
        const char *s = t->text + k->start;
        size_t n = k->end - k->start;
        char buf[64];
        if ((k->flags & PM_JTOK_ESCAPED) && n < sizeof buf && pm_jstr_unescape(s, n, buf, &n) == 0)
            s = buf;
        if (n == want && memcmp(s, key, n) == 0)
            found = (long)at + 1;
        at = t->tok[at + 1].next;
    }
    return found;
}

static long member_of_type(const pm_jtape *t, long obj, const char *key, int type)
{
    long v = member(t, obj, key);
    return v >= 0 && t->tok[v].type == type ? v : -1;
}

typedef struct {
    const char *name;
    size_t len;
} key;

#define KEY(s) {s, sizeof s - 1}

/* member for n keys at once, in one pass over the object's members: out[i] is the value
 * of keys[i] (the last of duplicates), -1 when absent or obj is not an object. */
static void members(const pm_jtape *t, long obj, const key *keys, long *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = -1;
    if (obj < 0 || t->tok[obj].type != PM_JOBJ)
        return;
    size_t at = (size_t)obj + 1;
    for (uint32_t m = 0; m < t->tok[obj].count; m++) {
        const pm_jtok *k = &t->tok[at];
        const char *s = t->text + k->start;
        size_t len = k->end - k->start;
        char buf[64];
        if ((k->flags & PM_JTOK_ESCAPED) && len < sizeof buf && pm_jstr_unescape(s, len, buf, &len) == 0)
            s = buf;
        for (size_t i = 0; i < n; i++)
            if (keys[i].len == len && memcmp(s, keys[i].name, len) == 0) {
                out[i] = (long)at + 1;
                break;
            }
        at = t->tok[at + 1].next;
    }
}

static long of_type(const pm_jtape *t, long v, int type)
{
    return v >= 0 && t->tok[v].type == type ? v : -1;
}

/* Where decoded strings go: the block's string area, filled in order. */
typedef struct {
    char *at, *end;
} strings;

/* A string token decoded into the string area (NUL-terminated; a \u0000 inside ends it
 * as a C string, as jansson's json_string_value does), or NULL when tok is not a string. */
static const char *decode(const pm_jtape *t, long tok, strings *out)
{
    if (tok < 0 || t->tok[tok].type != PM_JSTR)
        return NULL;
    const pm_jtok *k = &t->tok[tok];
    size_t n = k->end - k->start, len = n;
    if ((size_t)(out->end - out->at) < n + 1)
        return NULL; /* cannot happen: the area is sized for every string token */
    char *dst = out->at;
    if (!(k->flags & PM_JTOK_ESCAPED))
        memcpy(dst, t->text + k->start, n);
    else if (pm_jstr_unescape(t->text + k->start, n, dst, &len) != 0)
        return NULL;
    dst[len] = '\0';
    out->at += len + 1;
    return dst;
}

/* A base64 string token decoded in place into the string area, as bytes ending in a
 * NUL (the decoded bytes are shorter than the token's text); NULL when it is not base64
 * or holds a NUL byte (a C string would end there: not the bytes that were sent). */
static const char *decode_b64(const pm_jtape *t, long tok, strings *out)
{
    char *text = (char *)decode(t, tok, out);
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!text || pm_base64_decode(text, strlen(text), false, &raw, &n) != 0 || memchr(raw, 0, n)) {
        free(raw);
        return NULL;
    }
    memcpy(text, raw, n);
    text[n] = '\0';
    free(raw);
    out->at = text + n + 1;
    return text;
}

/* Counts the [name, value] string pairs of a headers array. */
static size_t count_headers(const pm_jtape *t, long arr)
{
    if (arr < 0 || t->tok[arr].type != PM_JARR)
        return 0;
    size_t n = 0, at = (size_t)arr + 1;
    for (uint32_t i = 0; i < t->tok[arr].count; i++) {
        const pm_jtok *p = &t->tok[at];
        if (p->type == PM_JARR && p->count >= 2 && t->tok[at + 1].type == PM_JSTR &&
            t->tok[t->tok[at + 1].next].type == PM_JSTR)
            n++;
        at = p->next;
    }
    return n;
}

/* Fills h with the pairs count_headers counted; returns how many. */
static size_t decode_headers(const pm_jtape *t, long arr, rp_header *h, strings *out)
{
    if (arr < 0 || t->tok[arr].type != PM_JARR)
        return 0;
    size_t n = 0, at = (size_t)arr + 1;
    for (uint32_t i = 0; i < t->tok[arr].count; i++) {
        const pm_jtok *p = &t->tok[at];
        if (p->type == PM_JARR && p->count >= 2 && t->tok[at + 1].type == PM_JSTR &&
            t->tok[t->tok[at + 1].next].type == PM_JSTR) {
            h[n].name = decode(t, (long)at + 1, out);
            h[n].value = decode(t, (long)t->tok[at + 1].next, out);
            if (h[n].name && h[n].value)
                n++;
        }
        at = p->next;
    }
    return n;
}

static bool integer_of(const pm_jtape *t, long tok, int64_t *v)
{
    if (tok < 0 || t->tok[tok].type != PM_JNUM || !(t->tok[tok].flags & PM_JTOK_INTEGER) ||
        !pm_jtape_number_ok(t, &t->tok[tok]))
        return false;
    *v = strtoll(t->text + t->tok[tok].start, NULL, 10); /* stops at the token's end */
    return true;
}

rp_record *rp_record_new(char *text, size_t len, const pm_jtape *parsed, pm_err *err)
{
    pm_jtape local = {0};
    const pm_jtape *t = parsed;
    if (!t) {
        if (!pm_utf8_valid((const unsigned char *)text, len) || pm_jtape_parse(&local, text, len, RECORD_MAX_DEPTH) != 0) {
            pm_err_set(err, "not JSON (%s)", local.error ? local.error : "invalid UTF-8");
            pm_jtape_free(&local);
            free(text);
            return NULL;
        }
        t = &local;
    }
    if (t->tok[0].type != PM_JOBJ) {
        pm_jtape_free(&local);
        free(text);
        pm_err_set(err, "not a JSON object");
        return NULL;
    }
    /* the keys replay reads, each object's found in one pass */
    enum { K_ID, K_SESSION, K_FAMILY, K_TS, K_MUTATING, K_COHORT, K_REQUEST, K_RESPONSE, NTOP };
    static const key top_keys[NTOP] = {KEY("id"), KEY("session"), KEY("family"), KEY("ts"),
                                       KEY("mutating"), KEY("cohort"), KEY("request"), KEY("response")};
    enum { Q_METHOD, Q_TARGET_B64, Q_TARGET, Q_HEADERS, Q_BODY, Q_BODY_B64, Q_BODY_REDACTED, NREQ };
    static const key req_keys[NREQ] = {KEY("method"), KEY("target_b64"), KEY("target"), KEY("headers"),
                                       KEY("body"), KEY("body_b64"), KEY("body_redacted")};
    enum { S_HEADERS, S_BODY, S_STATUS, S_DONE_US, S_STREAM, NRESP };
    static const key resp_keys[NRESP] = {KEY("headers"), KEY("body"), KEY("status"), KEY("done_us"), KEY("stream")};
    enum { C_ORG, C_REPO, C_USER, NCOHORT };
    static const key cohort_keys[NCOHORT] = {KEY("org"), KEY("repo"), KEY("user")};
    long top[NTOP], rq[NREQ], rs[NRESP], co[NCOHORT];
    members(t, 0, top_keys, top, NTOP);
    long request = of_type(t, top[K_REQUEST], PM_JOBJ);
    long response = of_type(t, top[K_RESPONSE], PM_JOBJ);
    members(t, request, req_keys, rq, NREQ);
    members(t, response, resp_keys, rs, NRESP);
    members(t, of_type(t, top[K_COHORT], PM_JOBJ), cohort_keys, co, NCOHORT);
    long req_headers = rq[Q_HEADERS], resp_headers = rs[S_HEADERS];
    size_t nh = count_headers(t, req_headers) + count_headers(t, resp_headers);
    size_t nstr = 0;
    for (size_t i = 0; i < t->n; i++)
        nstr += t->tok[i].type == PM_JSTR;
    /* the block: struct, headers, tokens, strings (never longer than their escaped text):
     * each part's alignment is no stricter than the one before's */
    size_t tok_bytes = t->n * sizeof *t->tok, head_bytes = nh * sizeof(rp_header);
    rp_record *r = malloc(sizeof *r + tok_bytes + head_bytes + len + nstr + 1);
    if (!r) {
        pm_jtape_free(&local);
        free(text);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->text = text;
    r->text_len = len;
    rp_header *headers = (rp_header *)(r + 1);
    r->tape.tok = (pm_jtok *)((char *)headers + head_bytes);
    memcpy(r->tape.tok, t->tok, tok_bytes);
    r->tape.n = r->tape.cap = t->n;
    r->tape.text = text;
    r->tape.len = len;
    pm_jtape_free(&local);
    t = &r->tape;
    char *area = (char *)r->tape.tok + tok_bytes;
    strings out = {area, area + len + nstr + 1};

    r->request = request;
    r->response = response;
    r->id = decode(t, top[K_ID], &out);
    r->session = decode(t, top[K_SESSION], &out);
    r->family = decode(t, top[K_FAMILY], &out);
    r->has_ts = pm_time_parse(decode(t, top[K_TS], &out), &r->ts_us);
    r->mutating = of_type(t, top[K_MUTATING], PM_JTRUE) >= 0;
    r->org = decode(t, co[C_ORG], &out);
    r->repo = decode(t, co[C_REPO], &out);
    r->user = decode(t, co[C_USER], &out);
    r->method = decode(t, rq[Q_METHOD], &out);
    /* target_b64: the target's bytes when they are not UTF-8 ("target" then shows them
     * as Latin-1, which is not what was sent) */
    long target_b64 = of_type(t, rq[Q_TARGET_B64], PM_JSTR);
    r->target = target_b64 >= 0 ? decode_b64(t, target_b64, &out) : NULL;
    if (!r->target)
        r->target = decode(t, rq[Q_TARGET], &out);
    r->req_headers = headers;
    r->n_req_headers = decode_headers(t, req_headers, headers, &out);
    r->resp_headers = headers + r->n_req_headers;
    r->n_resp_headers = decode_headers(t, resp_headers, headers + r->n_req_headers, &out);
    r->resp_headers_tok = resp_headers;
    r->req_body = of_type(t, rq[Q_BODY], PM_JSTR);
    if (r->req_body < 0 && (r->req_body = of_type(t, rq[Q_BODY_B64], PM_JSTR)) >= 0)
        r->req_body_b64 = true;
    r->req_body_redacted = of_type(t, rq[Q_BODY_REDACTED], PM_JTRUE) >= 0;
    r->resp_body = of_type(t, rs[S_BODY], PM_JSTR);
    int64_t v;
    r->resp_status = integer_of(t, rs[S_STATUS], &v) ? (int)v : 0;
    r->end_us = r->has_ts && integer_of(t, rs[S_DONE_US], &v) ? r->ts_us + v : INT64_MAX;
    r->resp_stream = of_type(t, rs[S_STREAM], PM_JOBJ);
    return r;
}

bool rp_record_integer(const rp_record *r, long obj, const char *key, int64_t *v)
{
    return integer_of(&r->tape, member(&r->tape, obj, key), v);
}

void rp_record_free(rp_record *r)
{
    if (!r)
        return;
    free(r->text);
    free(r);
}

json_t *rp_record_json(const rp_record *r, long tok)
{
    return tok >= 0 ? pm_jtape_json(&r->tape, (size_t)tok) : NULL;
}

char *rp_record_string(const rp_record *r, long tok, size_t *len)
{
    if (tok < 0 || r->tape.tok[tok].type != PM_JSTR)
        return NULL;
    const pm_jtok *k = &r->tape.tok[tok];
    size_t n = k->end - k->start;
    char *s = malloc(n + 1);
    if (!s || pm_jstr_unescape(r->text + k->start, n, s, len) != 0) {
        free(s);
        return NULL;
    }
    s[*len] = '\0';
    return s;
}

int rp_record_request_body(const rp_record *r, unsigned char **data, size_t *len)
{
    if (r->req_body < 0) {
        *data = calloc(1, 1);
        *len = 0;
        return *data ? 0 : -1;
    }
    char *s = rp_record_string(r, r->req_body, len);
    if (!s)
        return -1;
    if (!r->req_body_b64) {
        *data = (unsigned char *)s;
        return 0;
    }
    int rc = pm_base64_decode(s, *len, false, data, len);
    free(s);
    return rc;
}

size_t rp_record_body_bytes(const rp_record *r)
{
    size_t n = 0;
    const long bodies[] = {r->req_body, r->resp_body, member_of_type(&r->tape, r->response, "body_b64", PM_JSTR)};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        if (bodies[i] >= 0)
            n += r->tape.tok[bodies[i]].end - r->tape.tok[bodies[i]].start;
    return n;
}

const char *rp_headers_get(const rp_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}
