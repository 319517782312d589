/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_inventory.c — which `redacted:` tokens a capture holds, and where: the raw material
 * of `pmirror credentials`, which turns a capture into the `credentials:` skeleton a suite
 * needs (each token a request carries must map to a target's real value, or replay skips the
 * exchange as no_credentials).
 *
 * A token is "redacted:" + 16 lowercase hex digits (redact.c). Its place is named as a
 * person looks for it: the header (for Cookie and Set-Cookie the cookie), the query
 * parameter, the JSON field (the nearest key; array items count under their array's key) or
 * form field of a body, or the path. Request, recorded response and each target's answer of
 * a result record are told apart. Memory grows with the distinct tokens and places, not with
 * the input.
 */
#include "core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_PREFIX "redacted:"
#define TOKEN_PREFIX_LEN 9
#define TOKEN_HEX 16
#define TOKEN_LEN (TOKEN_PREFIX_LEN + TOKEN_HEX)

struct pm_redacted_inventory {
    json_t *tokens; /* {TOKEN: {count, in_request, first: {id, method, path}, places: {WHERE: count}}} */
    size_t records;
};

/* What one record is, while its parts are scanned. */
typedef struct {
    pm_redacted_inventory *inv;
    const json_t *record;
    const char *part; /* "request", "response", "answer of NAME" */
    bool is_request;
} scan;

pm_redacted_inventory *pm_redacted_inventory_new(void)
{
    pm_redacted_inventory *inv = calloc(1, sizeof *inv);
    if (inv && !(inv->tokens = json_object())) {
        free(inv);
        return NULL;
    }
    return inv;
}

void pm_redacted_inventory_free(pm_redacted_inventory *inv)
{
    if (!inv)
        return;
    json_decref(inv->tokens);
    free(inv);
}

const json_t *pm_redacted_inventory_json(const pm_redacted_inventory *inv)
{
    return inv->tokens;
}

size_t pm_redacted_inventory_records(const pm_redacted_inventory *inv)
{
    return inv->records;
}

/* The length of a token at s (TOKEN_LEN), or 0 when s does not start one. */
static size_t token_at(const char *s, size_t left)
{
    if (left < TOKEN_LEN || memcmp(s, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return 0;
    for (size_t i = TOKEN_PREFIX_LEN; i < TOKEN_LEN; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    if (left > TOKEN_LEN && isxdigit((unsigned char)s[TOKEN_LEN]))
        return 0; /* a longer hex run is something else */
    return TOKEN_LEN;
}

/* The path of the record's request target, without its query. A new json string. */
static json_t *request_path(const json_t *record)
{
    const char *target = json_string_value(json_object_get(json_object_get(record, "request"), "target"));
    if (!target)
        return json_null();
    const char *q = strchr(target, '?');
    return json_stringn(target, q ? (size_t)(q - target) : strlen(target));
}

static int count_token(scan *sc, const char *token, const char *where)
{
    json_t *entry = json_object_get(sc->inv->tokens, token);
    if (!entry) {
        const json_t *req = json_object_get(sc->record, "request");
        const char *id = json_string_value(json_object_get(sc->record, "id"));
        const char *method = json_string_value(json_object_get(req, "method"));
        entry = json_pack("{s:i, s:b, s:{s:o, s:o, s:o}, s:{}}", "count", 0, "in_request", 0, "first", "id",
                          id ? json_string(id) : json_null(), "method", method ? json_string(method) : json_null(),
                          "path", request_path(sc->record), "places");
        if (!entry || json_object_set_new(sc->inv->tokens, token, entry) != 0)
            return -1;
    }
    json_object_set_new(entry, "count", json_integer(json_integer_value(json_object_get(entry, "count")) + 1));
    if (sc->is_request)
        json_object_set_new(entry, "in_request", json_true());
    json_t *places = json_object_get(entry, "places");
    return json_object_set_new(places, where, json_integer(json_integer_value(json_object_get(places, where)) + 1));
}

/* The name of a `name=value` pair whose value holds position at in text: back to the pair's
 * start (after one of seps, or text's start), up to its '='. into name; false when the pair
 * has no '=' before at. */
static bool pair_name(const char *text, size_t at, const char *seps, char *name, size_t size)
{
    size_t start = at;
    while (start > 0 && !strchr(seps, text[start - 1]))
        start--;
    while (start < at && text[start] == ' ')
        start++;
    const char *eq = memchr(text + start, '=', at - start);
    if (!eq || eq == text + start)
        return false;
    snprintf(name, size, "%.*s", (int)(eq - (text + start)), text + start);
    return true;
}

typedef enum { IN_HEADER, IN_COOKIE, IN_TARGET, IN_FORM, IN_STRING } text_kind;

/* Every token of text, each counted at the place kind and name say. */
static int scan_text(scan *sc, const char *text, size_t len, text_kind kind, const char *name)
{
    const char *query = kind == IN_TARGET ? memchr(text, '?', len) : NULL;
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), TOKEN_PREFIX, TOKEN_PREFIX_LEN));) {
        size_t n = token_at(p, len - (size_t)(p - text));
        if (!n) {
            p += TOKEN_PREFIX_LEN;
            continue;
        }
        char token[TOKEN_LEN + 1], where[512], pair[256];
        snprintf(token, sizeof token, "%.*s", (int)n, p);
        size_t at = (size_t)(p - text);
        switch (kind) {
        case IN_COOKIE:
            if (pair_name(text, at, ";,", pair, sizeof pair))
                snprintf(where, sizeof where, "%s cookie %s (%s)", sc->part, pair, name);
            else
                snprintf(where, sizeof where, "%s header %s", sc->part, name);
            break;
        case IN_TARGET:
            if (query && p > query && pair_name(text, at, "?&", pair, sizeof pair))
                snprintf(where, sizeof where, "%s query %s", sc->part, pair);
            else
                snprintf(where, sizeof where, "%s %s", sc->part, query && p > query ? "query" : "path");
            break;
        case IN_FORM:
            if (pair_name(text, at, "&", pair, sizeof pair))
                snprintf(where, sizeof where, "%s field %s", sc->part, pair);
            else
                snprintf(where, sizeof where, "%s body", sc->part);
            break;
        case IN_STRING:
            if (name)
                snprintf(where, sizeof where, "%s field %s", sc->part, name);
            else
                snprintf(where, sizeof where, "%s body", sc->part);
            break;
        default: /* Authorization: "Bearer redacted:…" names its scheme */
            if (at > 1 && text[at - 1] == ' ' && !memchr(text, ' ', at - 1) && !memchr(text, ',', at - 1))
                snprintf(where, sizeof where, "%s header %s (%.*s)", sc->part, name, (int)(at - 1), text);
            else
                snprintf(where, sizeof where, "%s header %s", sc->part, name);
        }
        if (count_token(sc, token, where) != 0)
            return -1;
        p += n;
    }
    return 0;
}

/* A JSON body: each string's tokens under the nearest object key. */
static int scan_json(scan *sc, const json_t *v, const char *key)
{
    if (json_is_string(v))
        return scan_text(sc, json_string_value(v), json_string_length(v), IN_STRING, key);
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            if (scan_json(sc, item, key) != 0)
                return -1;
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)v, k, item)
            if (scan_json(sc, item, k) != 0)
                return -1;
    }
    return 0;
}

static int scan_message(scan *sc, const json_t *message)
{
    if (!json_is_object(message))
        return 0;
    const json_t *target = json_object_get(message, "target");
    if (json_is_string(target) &&
        scan_text(sc, json_string_value(target), json_string_length(target), IN_TARGET, NULL) != 0)
        return -1;
    size_t i;
    const json_t *pair;
    json_array_foreach(json_object_get(message, "headers"), i, pair) {
        const char *name = json_string_value(json_array_get(pair, 0));
        const json_t *value = json_array_get(pair, 1);
        if (!name || !json_is_string(value))
            continue;
        bool cookie = strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0;
        if (scan_text(sc, json_string_value(value), json_string_length(value), cookie ? IN_COOKIE : IN_HEADER,
                      name) != 0)
            return -1;
    }
    const json_t *body = json_object_get(message, "body"); /* text only: body_b64 is binary */
    if (!json_is_string(body) || !memmem(json_string_value(body), json_string_length(body), TOKEN_PREFIX,
                                         TOKEN_PREFIX_LEN))
        return 0;
    json_t *doc = json_loadb(json_string_value(body), json_string_length(body), JSON_DECODE_ANY, NULL);
    int rc = doc ? scan_json(sc, doc, NULL)
                 : scan_text(sc, json_string_value(body), json_string_length(body), IN_FORM, NULL);
    json_decref(doc);
    return rc;
}

int pm_redacted_inventory_add(pm_redacted_inventory *inv, const json_t *record, pm_err *err)
{
    if (!json_is_object(json_object_get(record, "request")))
        return pm_err_set(err, "not a capture or result record (no request object)");
    scan sc = {.inv = inv, .record = record, .part = "request", .is_request = true};
    int rc = scan_message(&sc, json_object_get(record, "request"));
    sc.part = "response";
    sc.is_request = false;
    rc = rc ? rc : scan_message(&sc, json_object_get(record, "response"));
    const char *name;
    const json_t *answer;
    json_object_foreach(json_object_get(record, "responses"), name, answer) {
        char part[300];
        snprintf(part, sizeof part, "answer of %s", name);
        sc.part = part;
        rc = rc ? rc : scan_message(&sc, answer);
    }
    inv->records++;
    return rc ? pm_err_set(err, "out of memory") : 0;
}
