/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_tee.c — libFuzzer target for the tee's request handling without sockets: the
 * header lists and hop-by-hop rule (tee/tee_exchange.c: tee_headers_*,
 * tee_hop_by_hop) and the shadow copy → capture record builder (tee_exchange_record),
 * with the classification tee_copy_begin does and the redaction `pmirror tee --record`
 * applies before writing (pipeline/shadow.c's redact_result, rebuilt here from core's
 * redactor: a cli/ file is not linked into a fuzzer).
 *
 * Input: flags byte, then method, target, request headers, request body, response
 * status, response headers, response body, separated by 0x1E (RS); header parts are
 * "Name: value" lines. Flags: bit 0 there is a response, bit 1 the request body is not
 * kept (mutating, no writes), bit 2 sink mode, bit 3 plant the Authorization secret
 * after the input's headers instead of before, bit 4 plant a Bearer token instead of
 * Basic, bits 5-7 max_body (16 << n).
 *
 * Invariants: no crash, UB, leak or hang; tee_headers_get/next agree with what was added;
 * tee_hop_by_hop agrees with an independent reading of RFC 9110 7.6.1, and the headers the
 * tee forwards (the ones it does not drop) carry no hop-by-hop one; the record parses with
 * jansson and has the capture record's keys; after redaction, the planted secret appears
 * nowhere in the record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tee/tee_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Basic base64("fuzzuser:Pw9sEcReTzq7Kx") and an opaque bearer token */
#define SECRET_PASSWORD "Pw9sEcReTzq7Kx"
#define SECRET_BASIC "ZnV6enVzZXI6UHc5c0VjUmVUenE3S3g="
#define SECRET_BEARER "tOk3nQz8Wv1SeCrEtXy5Lm2Np7Rs4Tu6"

static const pm_capmap *map(void)
{
    static pm_capmap *m;
    if (!m) {
        pm_err err;
        m = pm_capmap_load(PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml", &err);
        if (!m) {
            fprintf(stderr, "fuzz_tee: %s\n", err.msg);
            abort();
        }
    }
    return m;
}

static const pm_redactor *redactor(bool answers)
{
    static pm_redactor *r[2];
    if (!r[answers]) {
        pm_err err;
        r[answers] = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
        if (!r[answers]) {
            fprintf(stderr, "fuzz_tee: %s\n", err.msg);
            abort();
        }
        if (answers)
            pm_redactor_keep_jwt_claims(r[answers], true);
    }
    return r[answers];
}

typedef struct part {
    const char *p;
    size_t n;
} part;

static char *dup_part(part s)
{
    char *c = malloc(s.n + 1);
    if (!c)
        abort();
    memcpy(c, s.p, s.n);
    c[s.n] = '\0';
    return c;
}

/* The independent hop-by-hop reading: the fixed names, and every token of every
 * Connection field (comma / space / tab separated, case-insensitive). */
static bool oracle_hop(const tee_headers *h, const char *name)
{
    static const char *const fixed[] = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return true;
    const char *value = NULL;
    for (const char *n = tee_headers_next(h, NULL, &value); n; n = tee_headers_next(h, n, &value)) {
        if (strcasecmp(n, "connection") != 0)
            continue;
        char *copy = strdup(value);
        if (!copy)
            abort();
        bool hit = false;
        for (char *save = NULL, *tok = strtok_r(copy, ", \t", &save); tok && !hit; tok = strtok_r(NULL, ", \t", &save))
            hit = strcasecmp(tok, name) == 0;
        free(copy);
        if (hit)
            return true;
    }
    return false;
}

/* "Name: value" lines into h (names without NUL, ':' or whitespace; values without NUL,
 * as libmicrohttpd and curl hand them over); returns how many were added. */
static size_t parse_headers(tee_headers *h, part s)
{
    size_t added = 0;
    const char *p = s.p, *end = s.p + s.n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        bool name_ok = colon && colon > p && !memchr(p, '\0', (size_t)(eol - p));
        for (const char *c = p; name_ok && c < colon; c++)
            name_ok = *c != ' ' && *c != '\t' && *c != '\r';
        if (name_ok) {
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (tee_headers_add(h, p, (size_t)(colon - p), v, (size_t)(ve - v)) != 0)
                abort();
            added++;
        }
        p = eol + 1;
    }
    return added;
}

/* Every name tee_headers_next gives is found again by tee_headers_get; the count matches;
 * tee_hop_by_hop agrees with the oracle, and what the tee forwards holds no hop-by-hop
 * header. */
static void check_headers(const tee_headers *h)
{
    size_t count = 0;
    const char *value = NULL;
    for (const char *n = tee_headers_next(h, NULL, &value); n; n = tee_headers_next(h, n, &value)) {
        count++;
        if (!tee_headers_get(h, n)) {
            fprintf(stderr, "tee_headers_get lost %s\n", n);
            abort();
        }
        bool hop = tee_hop_by_hop(h, n);
        if (hop != oracle_hop(h, n)) {
            fprintf(stderr, "tee_hop_by_hop(%s) = %d, RFC 9110 7.6.1 says %d\n", n, hop, !hop);
            abort();
        }
    }
    if (count != h->count) {
        fprintf(stderr, "iterated %zu headers of %zu\n", count, h->count);
        abort();
    }
    /* the forwarded list, filtered as tee_proxy.c filters the primary's answer */
    tee_headers fwd = {0};
    for (const char *n = tee_headers_next(h, NULL, &value); n; n = tee_headers_next(h, n, &value))
        if (!tee_hop_by_hop(h, n) && strcasecmp(n, "content-length") != 0)
            if (tee_headers_add(&fwd, n, strlen(n), value, strlen(value)) != 0)
                abort();
    for (const char *n = tee_headers_next(&fwd, NULL, &value); n; n = tee_headers_next(&fwd, n, &value))
        if (oracle_hop(h, n)) {
            fprintf(stderr, "hop-by-hop header %s forwarded\n", n);
            abort();
        }
    tee_headers_free(&fwd);
}

/* What pipeline/shadow.c does to a result before --record (request whole, answers with JWT
 * claims kept), through the same pm_redact_message. */
static void redact_record(json_t *record)
{
    json_t *req = json_object_get(record, "request");
    const char *target = json_string_value(json_object_get(req, "target"));
    if (target && strchr(target, '?')) {
        char *clean = pm_redact_target(redactor(false), target);
        if (clean)
            json_object_set_new(req, "target", json_string(clean));
        free(clean);
    }
    pm_redact_message(redactor(false), req);
    pm_redact_message(redactor(true), json_object_get(record, "response"));
}

static void check_record(const char *text, size_t len, const tee_exchange *x, const char *secret, const char *plain)
{
    json_error_t jerr;
    json_t *r = json_loadb(text, len, JSON_ALLOW_NUL, &jerr); /* as pm_jsonl_reader reads: bodies may hold NUL */
    if (!json_is_object(r)) {
        fprintf(stderr, "the record is not a JSON object (%s): %.*s\n", jerr.text, (int)len, text);
        abort();
    }
    static const char *const keys[] = {"v",         "id",       "ts",       "session", "seq",    "source", "family",
                                       "capability", "mutating", "cohort", "request"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!json_object_get(r, keys[i])) {
            fprintf(stderr, "the record has no %s: %.*s\n", keys[i], (int)len, text);
            abort();
        }
    json_t *req = json_object_get(r, "request");
    if (json_integer_value(json_object_get(r, "v")) != 1 || !json_is_string(json_object_get(req, "method")) ||
        !json_is_string(json_object_get(req, "target")) || !json_is_array(json_object_get(req, "headers")) ||
        json_array_size(json_object_get(req, "headers")) != x->req_headers.count ||
        (x->has_response != (json_object_get(r, "response") != NULL))) {
        fprintf(stderr, "the record's request is not the copy's: %.*s\n", (int)len, text);
        abort();
    }
    if (x->has_response && !json_is_integer(json_object_get(json_object_get(r, "response"), "status"))) {
        fprintf(stderr, "the record's response has no status: %.*s\n", (int)len, text);
        abort();
    }
    if (secret) {
        redact_record(r);
        char *out = json_dumps(r, JSON_COMPACT);
        if (!out)
            abort();
        if (strstr(out, secret) || (plain && strstr(out, plain))) {
            fprintf(stderr, "the planted secret survived redaction: %s\n", out);
            abort();
        }
        free(out);
    }
    json_decref(r);
}

static bool contains(const uint8_t *data, size_t size, const char *s)
{
    return memmem(data, size, s, strlen(s)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    uint8_t flags = data[0];
    part parts[7] = {{0}};
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    for (size_t i = 0; i < 7; i++) {
        const char *rs = i < 6 ? memchr(p, 0x1E, (size_t)(end - p)) : NULL;
        parts[i].p = p;
        parts[i].n = (size_t)((rs ? rs : end) - p);
        p = rs ? rs + 1 : end;
    }
    char *method = dup_part(parts[0]), *target = dup_part(parts[1]);
    if (strlen(method) == 0 || strlen(method) != parts[0].n || strlen(target) != parts[1].n) {
        free(method); /* libmicrohttpd hands over neither an empty method nor a NUL in either */
        free(target);
        return 0;
    }

    bool bearer = flags & 0x10;
    const char *secret = bearer ? SECRET_BEARER : SECRET_BASIC;
    const char *plain = bearer ? NULL : SECRET_PASSWORD;
    /* an input that carries the secret itself is allowed to show it */
    bool plant = !contains(data, size, secret) && !contains(data, size, SECRET_PASSWORD);
    char auth[96];
    snprintf(auth, sizeof auth, "%s %s", bearer ? "Bearer" : "Basic", secret);

    tee_exchange *x = tee_exchange_new((size_t)16 << ((flags >> 5) & 7));
    if (!x)
        return 0;
    x->method = method;
    x->target = target;
    x->version = strdup("HTTP/1.1");
    x->ts_us = 1767225600000000LL + (int64_t)size;
    x->connection = size;
    x->seq = flags;
    x->id_prefix = "fuzz0001";
    x->mode = flags & 4 ? "sink" : "proxy";
    if (plant && !(flags & 8))
        tee_headers_add(&x->req_headers, "Authorization", 13, auth, strlen(auth));
    parse_headers(&x->req_headers, parts[2]);
    if (plant && (flags & 8))
        tee_headers_add(&x->req_headers, "Authorization", 13, auth, strlen(auth));
    check_headers(&x->req_headers);

    /* classification as tee_copy_begin does it: the first Authorization's user */
    const char *authorization = tee_headers_get(&x->req_headers, "Authorization");
    char *user = authorization ? pm_cohort_user_from_authorization(authorization) : NULL;
    pm_classify_user(map(), x->method, x->target, user, &x->cls);
    free(user);

    x->req_body_kept = !(flags & 2);
    x->req_body_total = parts[3].n;
    if (x->req_body_kept)
        pm_body_append(&x->req_body, parts[3].p, parts[3].n);
    x->request_done_us = 10;

    if (flags & 1) {
        x->has_response = true;
        char status[8] = {0};
        memcpy(status, parts[4].p, parts[4].n < 7 ? parts[4].n : 7);
        x->status = atoi(status);
        parse_headers(&x->resp_headers, parts[5]);
        check_headers(&x->resp_headers);
        pm_body_append(&x->resp_body, parts[6].p, parts[6].n);
        x->resp_complete = true;
        x->latency_us = 5;
        x->done_us = 20;
    }
    (void)tee_exchange_bytes(x);

    size_t len = 0;
    char *text = tee_exchange_record(x, &len, NULL, NULL);
    if (text)
        check_record(text, len, x, plant ? secret : NULL, plant ? plain : NULL);
    free(text);
    tee_exchange_free(x);
    return 0;
}
