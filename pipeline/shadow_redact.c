/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shadow_redact.c — a shadow result redacted before anything reads it (shadow.c): the
 * request's target, headers and body, the recorded response's and every answer's headers
 * and body, each secret of the exchange (and each credential the suite sends) also
 * wherever else it shows up in them.
 *
 * Two ways to one text. The reference reads the whole result into a jansson tree, redacts
 * its messages in place (pm_redact_message) and writes the tree again. The splice, taken
 * whenever it can be, leaves the result as text on a tape: it decodes only what redaction
 * reads (the target, each message's headers and text body) and writes the line again from
 * its own bytes, with just the redacted values put in. Building and writing the tree, three
 * bodies included, was half of what a shadow copy cost with --record or --out-dir
 * (callgrind). Both learn every secret first and redact in the same order, so an echo is
 * redacted wherever it comes; and since the tee writes its records and replay its results
 * with pm_jtext, the bytes the splice keeps are the bytes the reference would write. The
 * reference remains for what the splice does not read the same way: a gzip or deflate body
 * kept as body_b64 (decoded, redacted and encoded again), an object touched here with a
 * duplicate key (a tree keeps the last of duplicates), an escaped key or a number jansson
 * refuses anywhere (the tree's verdict on the line stands). tests/unit/
 * test_shadow_redact.c holds the two to the same bytes.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESULT_MAX_DEPTH 2048 /* as jansson's parser */
#define MAX_MESSAGES 34       /* request, response and 32 answers; more: the reference */

/* ---- the reference: the whole result as a tree ------------------------------------------ */

static void redact_tree_messages(const pm_redactor *request, const pm_redactor *answers, json_t *result)
{
    json_t *req = json_object_get(result, "request");
    const char *target = json_string_value(json_object_get(req, "target"));
    if (target) {
        char *clean = pm_redact_target(request, target);
        if (clean)
            json_object_set_new(req, "target", json_string(clean));
        free(clean);
    }
    pm_redact_message(request, req);
    pm_redact_message(answers, json_object_get(result, "response"));
    const char *name;
    json_t *answer;
    json_object_foreach(json_object_get(result, "responses"), name, answer)
        pm_redact_message(answers, answer);
}

static int redact_tree(const pm_redactor *request, const pm_redactor *answers, const pm_jtape *t, pm_jtext *out)
{
    json_t *result = pm_jtape_json(t, 0);
    if (!json_is_object(result)) {
        json_decref(result);
        return -1;
    }
    json_t *req = json_object_get(result, "request");
    pm_redact_learn_target(request, json_string_value(json_object_get(req, "target")));
    pm_redact_learn_message(request, req);
    pm_redact_learn_message(answers, json_object_get(result, "response"));
    const char *name;
    json_t *answer;
    json_object_foreach(json_object_get(result, "responses"), name, answer)
        pm_redact_learn_message(answers, answer);
    redact_tree_messages(request, answers, result);
    pm_jtext_reset(out);
    pm_jtext_json(out, result);
    json_decref(result);
    return out->failed ? -1 : 0;
}

/* ---- the splice: the result's own text, redacted values put in -------------------------- */

/* One [name, value, ...] pair of a message's headers, decoded as a tree would hold it (a
 * NUL inside a string ends it, as json_string_value does). */
typedef struct header {
    long tok;                 /* the pair's array */
    char *name;
    char *value;              /* NULL: not a string */
    char *red;                /* the value redacted, to be written; NULL: kept */
} header;

/* One message (the request, the recorded response, an answer) as redaction reads it. */
typedef struct message {
    long obj;                 /* its object's token */
    const pm_redactor *r;
    long target_tok;          /* the request's target (a string), or -1 */
    char *target;             /* ... redacted, to be written; NULL: kept */
    long body_tok;            /* "body" when a string, or -1 */
    long flag_tok;            /* "body_redacted", or -1 */
    long headers_tok;         /* "headers", or -1 */
    header *h;                /* its pairs with a string name, in order */
    size_t nh;
    bool headers_new;         /* a value was redacted: the headers are written again */
    char *body;               /* the body decoded; then, when redacted, the text to write */
    size_t body_len;
    pm_body_fields fields;    /* the body's fields pass, from learning, for writing */
    char *learnt_type;        /* the Content-Type that pass read (NULL: none) */
    bool body_new;            /* body holds the redacted text */
    bool flag;                /* body_redacted becomes true */
} message;

typedef struct splice {
    const pm_jtape *t;
    message m[MAX_MESSAGES];
    size_t n;
} splice;

static bool key_is(const pm_jtape *t, size_t k, const char *name)
{
    size_t n = strlen(name);
    return t->tok[k].end - t->tok[k].start == n && memcmp(t->text + t->tok[k].start, name, n) == 0;
}

/* Whether the object at obj can be read by its keys as written: none escaped, none twice. */
static bool plain_keys(const pm_jtape *t, size_t obj)
{
    size_t k = obj + 1;
    for (uint32_t i = 0; i < t->tok[obj].count; i++, k = t->tok[k + 1].next) {
        const pm_jtok *a = &t->tok[k];
        if (a->flags & PM_JTOK_ESCAPED)
            return false;
        size_t j = t->tok[k + 1].next;
        for (uint32_t m = i + 1; m < t->tok[obj].count; m++, j = t->tok[j + 1].next)
            if (t->tok[j].end - t->tok[j].start == a->end - a->start &&
                memcmp(t->text + t->tok[j].start, t->text + a->start, a->end - a->start) == 0)
                return false;
    }
    return true;
}

/* The pairs of a headers array that have a string name: 0, or -1 on no memory. */
static int read_headers(const pm_jtape *t, message *m)
{
    long arr = m->headers_tok;
    if (t->tok[arr].type != PM_JARR || t->tok[arr].count == 0)
        return 0;
    if (!(m->h = calloc(t->tok[arr].count, sizeof *m->h)))
        return -1;
    size_t e = (size_t)arr + 1;
    for (uint32_t i = 0; i < t->tok[arr].count; i++, e = t->tok[e].next) {
        if (t->tok[e].type != PM_JARR || t->tok[e].count == 0 || t->tok[e + 1].type != PM_JSTR)
            continue;
        header *h = &m->h[m->nh++];
        h->tok = (long)e;
        if (!(h->name = pm_jtape_strdup(t, e + 1, NULL)))
            return -1;
        size_t v = t->tok[e + 1].next;
        if (t->tok[e].count >= 2 && t->tok[v].type == PM_JSTR && !(h->value = pm_jtape_strdup(t, v, NULL)))
            return -1;
    }
    return 0;
}

/* pm_headers_get on the message's headers as they are now (redacted values once redacted). */
static const char *header_get(const message *m, const char *name)
{
    for (size_t i = 0; i < m->nh; i++)
        if (strcasecmp(m->h[i].name, name) == 0)
            return m->h[i].red ? m->h[i].red : m->h[i].value;
    return NULL;
}

/* What the body passes read of the headers (pm_headers_get: the first Content-Type and
 * Content-Encoding), as a small tree for them. */
static json_t *body_headers(const message *m)
{
    json_t *a = json_array();
    static const char *const names[] = {"content-type", "content-encoding"};
    for (size_t k = 0; a && k < 2; k++)
        for (size_t i = 0; i < m->nh; i++)
            if (strcasecmp(m->h[i].name, names[k]) == 0) {
                const char *v = m->h[i].value;
                json_array_append_new(a, json_pack("[s,o]", m->h[i].name, v ? json_string(v) : json_null()));
                break;
            }
    return a;
}

/* Reads a message object: 0, 1 when only the reference reads it the same way, -1 on no
 * memory. */
static int read_message(splice *s, long obj, const pm_redactor *r, bool request)
{
    const pm_jtape *t = s->t;
    if (s->n == MAX_MESSAGES || !plain_keys(t, (size_t)obj))
        return 1;
    message *m = &s->m[s->n++];
    *m = (message){.obj = obj, .r = r, .target_tok = -1, .body_tok = -1, .flag_tok = -1, .headers_tok = -1};
    long b64 = -1;
    size_t k = (size_t)obj + 1;
    for (uint32_t i = 0; i < t->tok[obj].count; i++, k = t->tok[k + 1].next) {
        long v = (long)k + 1;
        if (key_is(t, k, "headers"))
            m->headers_tok = v;
        else if (key_is(t, k, "body") && t->tok[v].type == PM_JSTR)
            m->body_tok = v;
        else if (key_is(t, k, "body_b64") && t->tok[v].type == PM_JSTR)
            b64 = v;
        else if (key_is(t, k, "body_redacted"))
            m->flag_tok = v;
        else if (request && key_is(t, k, "target") && t->tok[v].type == PM_JSTR)
            m->target_tok = v;
    }
    if (m->headers_tok >= 0 && read_headers(t, m) != 0)
        return -1;
    if (b64 >= 0 && header_get(m, "content-encoding"))
        return 1; /* a coded body: decoded, redacted and encoded again by the reference */
    if (m->body_tok >= 0 && !(m->body = pm_jtape_strdup(t, (size_t)m->body_tok, &m->body_len)))
        return -1;
    return 0;
}

static void message_clear(message *m)
{
    for (size_t i = 0; i < m->nh; i++) {
        free(m->h[i].name);
        free(m->h[i].value);
        free(m->h[i].red);
    }
    free(m->h);
    free(m->body);
    free(m->target);
    free(m->learnt_type);
    pm_body_fields_clear(&m->fields);
}

/* The body's fields pass is kept for writing (a second one would give the same text). */
static int learn(message *m)
{
    for (size_t i = 0; i < m->nh; i++)
        if (m->h[i].value)
            pm_redact_learn_header(m->r, m->h[i].name, m->h[i].value);
    if (!m->body)
        return 0;
    const char *type = header_get(m, "content-type");
    json_t *headers = body_headers(m);
    if (!headers || (type && !(m->learnt_type = strdup(type)))) {
        json_decref(headers);
        return -1;
    }
    pm_redact_learn_body_fields(m->r, headers, (const unsigned char *)m->body, m->body_len, &m->fields);
    json_decref(headers);
    return 0;
}

/* The body redacted, as pm_redact_body_text would, reusing the fields pass when the
 * Content-Type it read is still the one (header redaction may have changed it). */
static char *redact_body(message *m, const char *type, size_t *n)
{
    bool same = (!type && !m->learnt_type) || (type && m->learnt_type && strcmp(type, m->learnt_type) == 0);
    if (m->fields.done && same)
        return pm_redact_body_text_learned(m->r, &m->fields, m->body, m->body_len, n);
    return pm_redact_body_text(m->r, type, m->body, m->body_len, n);
}

/* As pm_redact_message does it to a tree, with the request's target first. */
static void redact(const pm_jtape *t, message *m)
{
    if (m->target_tok >= 0) {
        char *target = pm_jtape_strdup(t, (size_t)m->target_tok, NULL);
        m->target = target ? pm_redact_target(m->r, target) : NULL;
        if (m->target && !pm_utf8_valid((const unsigned char *)m->target, strlen(m->target))) {
            free(m->target); /* json_string would refuse it: the tree keeps the target */
            m->target = NULL;
        }
        free(target);
    }
    for (size_t i = 0; i < m->nh; i++) { /* as pm_redact_headers */
        header *h = &m->h[i];
        if (h->value && (h->red = pm_redact_header_value(m->r, h->name, h->value)) &&
            !pm_utf8_valid((const unsigned char *)h->red, strlen(h->red))) {
            free(h->red); /* json_string would refuse it: the tree keeps the value */
            h->red = NULL;
        }
        m->headers_new |= h->red != NULL;
    }
    if (!m->body)
        return;
    const char *type = header_get(m, "content-type");
    size_t n = 0;
    char *red = redact_body(m, type, &n);
    if (!red)
        return;
    if (pm_utf8_valid((const unsigned char *)red, n)) { /* else json_stringn refuses it, as here */
        free(m->body);
        m->body = red;
        m->body_len = n;
        m->body_new = true;
    } else {
        free(red);
    }
    m->flag = !(type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0);
}

/* The value at token v as it is in the text (its tokens with it, when out follows). */
static void put_raw(pm_jtext *out, const pm_jtape *t, size_t v)
{
    pm_jtext_raw_from(out, t, v);
}

static void put_key(pm_jtext *out, const pm_jtape *t, size_t k)
{
    pm_jtext_raw_key_from(out, t, k);
}

/* The headers array, each redacted value put in its pair. */
static void write_headers(pm_jtext *out, const pm_jtape *t, const message *m)
{
    long arr = m->headers_tok;
    pm_jtext_array_begin(out);
    size_t e = (size_t)arr + 1, next = 0;
    for (uint32_t i = 0; i < t->tok[arr].count; i++, e = t->tok[e].next) {
        const header *h = next < m->nh && m->h[next].tok == (long)e ? &m->h[next++] : NULL;
        if (!h || !h->red) {
            put_raw(out, t, e);
            continue;
        }
        pm_jtext_array_begin(out);
        size_t x = e + 1;
        for (uint32_t j = 0; j < t->tok[e].count; j++, x = t->tok[x].next)
            if (j == 1)
                pm_jtext_cstring(out, h->red);
            else
                put_raw(out, t, x);
        pm_jtext_array_end(out);
    }
    pm_jtext_array_end(out);
}

static void write_message(pm_jtext *out, const pm_jtape *t, const message *m)
{
    pm_jtext_object_begin(out);
    size_t k = (size_t)m->obj + 1;
    for (uint32_t i = 0; i < t->tok[m->obj].count; i++, k = t->tok[k + 1].next) {
        long v = (long)k + 1;
        put_key(out, t, k);
        if (v == m->target_tok && m->target)
            pm_jtext_cstring(out, m->target);
        else if (v == m->headers_tok && m->headers_new)
            write_headers(out, t, m);
        else if (v == m->body_tok && m->body_new)
            pm_jtext_string(out, m->body, m->body_len);
        else if (v == m->flag_tok && m->flag)
            pm_jtext_bool(out, true);
        else
            put_raw(out, t, (size_t)v);
    }
    if (m->flag && m->flag_tok < 0) {
        pm_jtext_key_lit(out, "body_redacted");
        pm_jtext_bool(out, true);
    }
    pm_jtext_object_end(out);
}

static const message *message_at(const splice *s, size_t obj)
{
    for (size_t i = 0; i < s->n; i++)
        if ((size_t)s->m[i].obj == obj)
            return &s->m[i];
    return NULL;
}

/* The result, its messages written redacted. */
static void write_result(pm_jtext *out, const splice *s, long responses)
{
    const pm_jtape *t = s->t;
    pm_jtext_reset(out);
    pm_jtext_object_begin(out);
    size_t k = 1;
    for (uint32_t i = 0; i < t->tok[0].count; i++, k = t->tok[k + 1].next) {
        size_t v = k + 1;
        put_key(out, t, k);
        const message *m = message_at(s, v);
        if (m) {
            write_message(out, t, m);
        } else if ((long)v == responses) {
            pm_jtext_object_begin(out);
            size_t a = v + 1;
            for (uint32_t j = 0; j < t->tok[v].count; j++, a = t->tok[a + 1].next) {
                put_key(out, t, a);
                const message *answer = message_at(s, a + 1);
                if (answer)
                    write_message(out, t, answer);
                else
                    put_raw(out, t, a + 1);
            }
            pm_jtext_object_end(out);
        } else {
            put_raw(out, t, v);
        }
    }
    pm_jtext_object_end(out);
}

/* Whether a tree would hold the text's every value as written: no escaped key (jansson
 * refuses some, such as one holding \u0000) and no number it refuses. */
static bool tree_reads_as_written(const pm_jtape *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const pm_jtok *k = &t->tok[i];
        if (((k->flags & PM_JTOK_KEY) && (k->flags & PM_JTOK_ESCAPED)) ||
            (k->type == PM_JNUM && !pm_jtape_number_ok(t, k)))
            return false;
    }
    return true;
}

/* 0 (out written), 1 when the reference must do it, -1 on no memory. */
static int redact_splice(const pm_redactor *request, const pm_redactor *answers, const pm_jtape *t, pm_jtext *out)
{
    if (!tree_reads_as_written(t) || !plain_keys(t, 0))
        return 1;
    splice *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->t = t;
    long req = pm_jtape_find(t, 0, "request"), resp = pm_jtape_find(t, 0, "response");
    long responses = pm_jtape_find(t, 0, "responses");
    int rc = 0;
    if (req >= 0 && t->tok[req].type == PM_JOBJ)
        rc = read_message(s, req, request, true);
    if (rc == 0 && resp >= 0 && t->tok[resp].type == PM_JOBJ)
        rc = read_message(s, resp, answers, false);
    if (responses >= 0 && t->tok[responses].type == PM_JOBJ) {
        if (rc == 0 && !plain_keys(t, (size_t)responses))
            rc = 1;
        size_t a = (size_t)responses + 1;
        for (uint32_t j = 0; rc == 0 && j < t->tok[responses].count; j++, a = t->tok[a + 1].next)
            if (t->tok[a + 1].type == PM_JOBJ)
                rc = read_message(s, (long)a + 1, answers, false);
    }
    if (rc == 0) {
        for (size_t i = 0; i < s->n; i++) { /* every secret first: the target, then each message */
            if (s->m[i].target_tok >= 0) {
                char *target = pm_jtape_strdup(t, (size_t)s->m[i].target_tok, NULL);
                pm_redact_learn_target(request, target);
                free(target);
            }
            if (learn(&s->m[i]) != 0)
                rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < s->n; i++)
            redact(t, &s->m[i]);
        if (rc == 0) {
            write_result(out, s, responses);
            rc = out->failed ? -1 : 0;
        }
    }
    for (size_t i = 0; i < s->n; i++)
        message_clear(&s->m[i]);
    free(s);
    return rc;
}

int pipeline_shadow_redact(const pm_redactor *requests, const pm_redactor *answers, const pm_suite *suite,
                           const char *text, size_t len, const pm_jtape *tokens, pm_jtape *tape, pm_jtext *out,
                           bool reference)
{
    const pm_jtape *t = tokens && tokens->text == text && tokens->len == len ? tokens : NULL;
    if (!t) {
        if (!pm_utf8_valid((const unsigned char *)text, len) || pm_jtape_parse(tape, text, len, RESULT_MAX_DEPTH) != 0)
            return -1;
        t = tape;
    }
    if (t->tok[0].type != PM_JOBJ)
        return -1;
    /* each result its own set of secrets, shared by both views: an echo across is redacted */
    pm_secrets *secrets = pm_secrets_new();
    pm_redactor *request = secrets ? pm_redactor_spreading(requests, secrets, NULL) : NULL;
    pm_redactor *answer = request ? pm_redactor_spreading(answers, secrets, NULL) : NULL;
    int rc = answer && pm_secrets_add_suite(secrets, requests, suite) == 0 ? 1 : -1;
    if (rc == 1 && !reference)
        rc = redact_splice(request, answer, t, out);
    if (rc == 1) {
        /* the splice learnt nothing when it left the result to the reference */
        rc = redact_tree(request, answer, t, out);
    }
    pm_redactor_free(answer);
    pm_redactor_free(request);
    pm_secrets_free(secrets);
    return rc;
}
