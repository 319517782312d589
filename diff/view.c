/* SPDX-License-Identifier: Apache-2.0 */
/*
 * view.c — a result record's line seen through a tape: the few small fields a diff
 * record copies (as the diff record's start), and each target's answer: its small fields
 * (role, status, error...) as jansson values, its headers and body left where they are in
 * the line, still escaped.
 *
 * Bodies are most of a result line; parsing them into a jansson string only to parse
 * them again as JSON was most of `pmirror diff`'s time. Here a body is a span, decoded
 * (unescaped, base64, gunzipped) only by body.c when it is compared.
 *
 * A job result's answer (pmirror worker) has `outcome` where an answer has `status`, and
 * `effects` (a JSON object) where it has a body: the outcome is kept as a status is, the
 * effects' text is the body's span (plain JSON, no escapes to undo), so the same
 * comparison runs.
 *
 * Headers are read once, to be compared: headers.c reads them off the tape, no tree built.
 *
 * What a reviewer needs to find the exchange again is copied into the diff record as well:
 * `request` {method, target}, `status` {TARGET: status or outcome} and, for the targets that
 * were not sent the request, `skipped` {TARGET: the reason replay gave (skipped_unsafe,
 * no_credentials, ...)}.
 */
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

#define RECORD_MAX_DEPTH 2048 /* as jansson's parser */

json_t *diff_tape_json(const pm_jtape *t, size_t i)
{
    return pm_jtape_json(t, i); /* the text's UTF-8 was checked whole (diff_view_parse, body.c) */
}

const char *diff_tape_string(const pm_jtape *t, size_t i, char *buf, size_t *len)
{
    const pm_jtok *k = &t->tok[i];
    if (k->type != PM_JSTR)
        return NULL;
    *len = k->end - k->start;
    if (!(k->flags & PM_JTOK_ESCAPED))
        return t->text + k->start; /* the tape refuses raw control bytes: no NUL */
    pm_jstr_unescape(t->text + k->start, *len, buf, len); /* the tape checked the escapes */
    *len = strnlen(buf, *len);
    return buf;
}

void diff_view_clear(diff_view *v)
{
    json_decref(v->fields);
    v->fields = NULL;
    json_decref(v->method);
    v->method = NULL;
    for (size_t i = 0; i < v->n; i++) {
        diff_answer *a = &v->answers[i];
        json_t **kept[] = {&a->role, &a->status, &a->outcome, &a->error, &a->skipped, &a->latency_us};
        for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++)
            json_decref(*kept[k]);
        free(v->answers[i].name);
    }
    v->n = 0;
}

void diff_view_free(diff_view *v)
{
    diff_view_clear(v);
    pm_jtape_free(&v->tape);
}

/* Whether the value at i has only numbers jansson takes: a tree of it would be built. */
static bool numbers_ok(const pm_jtape *t, size_t i)
{
    for (size_t k = i; k < t->tok[i].next; k++)
        if (t->tok[k].type == PM_JNUM && !pm_jtape_number_ok(t, &t->tok[k]))
            return false;
    return true;
}

/* Where an answer keeps the small field named ks (kn bytes), NULL when it is not one. */
static json_t **kept_slot(diff_answer *a, const char *ks, size_t kn)
{
    const struct {
        const char *key;
        size_t len;
        json_t **slot;
    } kept[] = {{"role", 4, &a->role},   {"status", 6, &a->status},   {"outcome", 7, &a->outcome},
                {"error", 5, &a->error}, {"skipped", 7, &a->skipped}, {"latency_us", 10, &a->latency_us}};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (kept[i].len == kn && memcmp(kept[i].key, ks, kn) == 0)
            return kept[i].slot;
    return NULL;
}

static int parse_answer(diff_view *v, size_t name_tok, size_t obj, pm_err *err)
{
    const pm_jtape *t = &v->tape;
    if (v->n == DIFF_VIEW_MAX_ANSWERS)
        return pm_err_set(err, "more than %d targets in one record", DIFF_VIEW_MAX_ANSWERS);
    char *name = pm_jtape_strdup(t, name_tok, NULL); /* a key: never a NUL in it */
    if (!name)
        return pm_err_set(err, "a target name is not valid UTF-8");
    diff_answer *a = &v->answers[v->n++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->tape = t;
    a->headers = -1;
    if (t->tok[obj].type != PM_JOBJ)
        return pm_err_set(err, "responses.%s is not an object", a->name);
    size_t k = obj + 1;
    for (uint32_t m = 0; m < t->tok[obj].count; m++) {
        const pm_jtok *key = &t->tok[k];
        size_t val = k + 1;
        const char *ks = t->text + key->start;
        size_t kn = key->end - key->start;
        json_t **slot;
        if (kn == 4 && memcmp(ks, "body", 4) == 0 && t->tok[val].type == PM_JSTR) {
            a->body = t->text + t->tok[val].start;
            a->body_len = t->tok[val].end - t->tok[val].start;
            a->body_escaped = t->tok[val].flags & PM_JTOK_ESCAPED;
            a->body_b64 = false;
        } else if (kn == 8 && memcmp(ks, "body_b64", 8) == 0 && t->tok[val].type == PM_JSTR) {
            a->body = t->text + t->tok[val].start;
            a->body_len = t->tok[val].end - t->tok[val].start;
            a->body_escaped = t->tok[val].flags & PM_JTOK_ESCAPED;
            a->body_b64 = true;
        } else if (kn == 7 && memcmp(ks, "effects", 7) == 0 && t->tok[val].type == PM_JOBJ) {
            /* a job result's effects: compared as a JSON body, its text as it is in the line */
            a->body = t->text + t->tok[val].start;
            a->body_len = t->tok[val].end - t->tok[val].start;
            a->body_escaped = false;
            a->body_b64 = false;
        } else if (!(key->flags & PM_JTOK_ESCAPED) && kn == 7 && memcmp(ks, "headers", 7) == 0) {
            /* read where it is (headers.c); refused as a tree would be, the last one kept */
            if (!numbers_ok(t, val))
                return pm_err_set(err, "responses.%s.%.*s is not valid JSON text", a->name, (int)kn, ks);
            a->headers = (long)val;
        } else if (!(key->flags & PM_JTOK_ESCAPED) && (slot = kept_slot(a, ks, kn))) {
            json_t *value = diff_tape_json(t, val);
            if (!value)
                return pm_err_set(err, "responses.%s.%.*s is not valid JSON text", a->name, (int)kn, ks);
            json_decref(*slot); /* the last of duplicate keys, as a tree would have it */
            *slot = value;
        }
        k = t->tok[val].next;
    }
    return 0;
}

/* request {method, target}, status {TARGET: ...} and skipped {TARGET: reason} into fields. */
static int copy_exchange_fields(diff_view *v, pm_err *err)
{
    const pm_jtape *t = &v->tape;
    long request = pm_jtape_find(t, 0, "request");
    if (request >= 0 && t->tok[request].type == PM_JOBJ) {
        json_t *r = json_object();
        static const char *const keys[] = {"method", "target"};
        for (size_t k = 0; k < 2; k++) {
            long i = pm_jtape_find(t, (size_t)request, keys[k]);
            json_t *value = i >= 0 && t->tok[i].type == PM_JSTR ? diff_tape_json(t, (size_t)i) : NULL;
            if (value)
                json_object_set_new(r, keys[k], value);
        }
        json_object_set_new(v->fields, "request", r);
    }
    json_t *status = json_object(), *skipped = json_object();
    if (!status || !skipped) {
        json_decref(status);
        json_decref(skipped);
        return pm_err_set(err, "out of memory");
    }
    for (size_t i = 0; i < v->n; i++) {
        const diff_answer *a = &v->answers[i];
        const json_t *s = a->status;
        if (!s)
            s = a->outcome;
        if (json_is_integer(s) || json_is_string(s))
            json_object_set(status, a->name, (json_t *)s);
        if (json_is_true(a->skipped)) {
            const json_t *why = a->error;
            json_object_set_new(skipped, a->name, json_is_string(why) ? json_copy((json_t *)why) : json_string("skipped"));
        }
    }
    json_object_set_new(v->fields, "status", status);
    if (json_object_size(skipped))
        json_object_set_new(v->fields, "skipped", skipped);
    else
        json_decref(skipped);
    return 0;
}

int diff_view_parse(diff_view *v, const char *line, size_t len, const pm_jtape *tokens, pm_err *err)
{
    diff_view_clear(v);
    pm_jtape *t = &v->tape;
    if (tokens && tokens->text == line && tokens->len == len) {
        if (pm_jtape_copy(t, tokens) != 0)
            return pm_err_set(err, "out of memory");
    } else {
        if (!pm_utf8_valid((const unsigned char *)line, len))
            return pm_err_set(err, "not UTF-8");
        if (pm_jtape_parse(t, line, len, RECORD_MAX_DEPTH) != 0)
            return pm_err_set(err, "not JSON (%s at column %zu)", t->error, t->error_at + 1);
    }
    if (t->tok[0].type != PM_JOBJ)
        return pm_err_set(err, "not a JSON object");
    static const char *const copied[] = {"id", "ts", "family", "capability", "switch", "cap_switch", "route_id",
                                         "cohort", NULL};
    v->fields = pm_record_new(); /* the diff record's start: diff_result_text takes it as it is */
    for (const char *const *name = copied; *name; name++) {
        long i = pm_jtape_find(t, 0, *name);
        if (i < 0)
            continue;
        json_t *value = diff_tape_json(t, (size_t)i);
        if (!value)
            return pm_err_set(err, "\"%s\" is not valid JSON text", *name);
        json_object_set_new(v->fields, *name, value);
    }
    /* request.method: rules limited to methods (not copied: the diff record's keys stay) */
    long request = pm_jtape_find(t, 0, "request");
    long method = request >= 0 && t->tok[request].type == PM_JOBJ ? pm_jtape_find(t, (size_t)request, "method") : -1;
    if (method >= 0 && t->tok[method].type == PM_JSTR)
        v->method = diff_tape_json(t, (size_t)method);
    long responses = pm_jtape_find(t, 0, "responses");
    if (responses < 0 || t->tok[responses].type != PM_JOBJ) {
        json_t *id = json_object_get(v->fields, "id");
        return pm_err_set(err, "record %s has no \"responses\" (is it a result file?)",
                          json_is_string(id) ? json_string_value(id) : "?");
    }
    size_t k = (size_t)responses + 1;
    for (uint32_t m = 0; m < t->tok[responses].count; m++) {
        if (parse_answer(v, k, k + 1, err) != 0)
            return -1;
        k = t->tok[k + 1].next;
    }
    return copy_exchange_fields(v, err);
}

const diff_answer *diff_view_answer(const diff_view *v, const char *role)
{
    for (size_t i = 0; i < v->n; i++) {
        const char *r = json_string_value(v->answers[i].role);
        if (r && strcmp(r, role) == 0)
            return &v->answers[i];
    }
    return NULL;
}
