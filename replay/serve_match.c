/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve_match.c — the book `pmirror serve` answers from: recorded exchanges loaded from
 * a capture or result file, and which one answers a given request.
 *
 * A request is looked up by method and exact target, then by its target without the
 * `_state` query parameter (docker-registry's upload state, which differs per run), then
 * by its path alone. Several exchanges under one key answer in recorded order, one per
 * request, and the last one keeps answering after that; when their request bodies
 * differ, the exchange whose body hash matches the incoming body is preferred.
 *
 * Uploads: registries name an upload by a UUID they make up (Docker-Upload-UUID, and in
 * Location). A live server makes a new one per upload, so serve does too: the answer
 * carries a fresh UUID, the book remembers which recorded UUID it stands for, and reads
 * it back in every later request's target before matching, so the PATCH and PUT to the
 * fresh URL find the recorded PATCH and PUT.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_internal.h"

/* ===== targets and keys ============================================================ */

/* The origin form of a target: an absolute-form one ("http://host/p?q") loses its scheme
 * and authority. Borrowed from target (or a literal "/"). */
static const char *origin_form(const char *target)
{
    const char *scheme = strstr(target, "://");
    if (target[0] == '/' || !scheme)
        return target;
    const char *path = strchr(scheme + 3, '/');
    return path ? path : "/";
}

static char *key_of(const char *method, const char *s, size_t len)
{
    size_t m = strlen(method);
    char *key = malloc(m + 1 + len + 1);
    if (!key)
        return NULL;
    memcpy(key, method, m);
    key[m] = ' ';
    memcpy(key + m + 1, s, len);
    key[m + 1 + len] = '\0';
    return key;
}

/* The target without any `_state=` query parameter (the others keep their order). */
static char *without_state(const char *target)
{
    size_t len = strlen(target);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    const char *q = strchr(target, '?');
    if (!q) {
        memcpy(out, target, len + 1);
        return out;
    }
    size_t n = (size_t)(q - target);
    memcpy(out, target, n);
    char sep = '?';
    for (const char *p = q + 1; *p;) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        bool is_state = plen >= 6 && strncmp(p, "_state", 6) == 0 && (plen == 6 || p[6] == '=');
        if (!is_state && plen > 0) {
            out[n++] = sep;
            memcpy(out + n, p, plen);
            n += plen;
            sep = '&';
        }
        p += plen + (end ? 1 : 0);
    }
    out[n] = '\0';
    return out;
}

static size_t path_length(const char *target)
{
    return strcspn(target, "?#");
}

/* ===== loading ===================================================================== */

typedef struct loaded {
    serve_exchange x;
    int64_t ts_us;     /* INT64_MIN when the record has none */
    char *session;
    int64_t seq;
    size_t file_order;
} loaded;

static int compare_loaded(const void *a, const void *b)
{
    const loaded *x = a, *y = b;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    int s = strcmp(x->session ? x->session : "", y->session ? y->session : "");
    if (s)
        return s;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->file_order < y->file_order ? -1 : x->file_order > y->file_order;
}

static void exchange_clear(serve_exchange *x)
{
    free(x->method);
    free(x->target);
    free(x->body);
    json_decref(x->headers);
}

/* The response to serve from one record: its own, or responses[target_name]. NULL when
 * there is none to serve (the record is skipped). Borrowed. */
static const json_t *response_of(const json_t *rec, const char *target_name)
{
    const json_t *resp = target_name ? json_object_get(json_object_get(rec, "responses"), target_name)
                                     : json_object_get(rec, "response");
    if (!json_is_object(resp))
        return NULL;
    const json_t *error = json_object_get(resp, "error");
    if (error && !json_is_null(error))
        return NULL;
    json_int_t status = json_integer_value(json_object_get(resp, "status"));
    return status >= 100 && status <= 999 ? resp : NULL;
}

/* SHA-256 of a stored request body: of the whole body even when the file kept only its
 * first bytes (body_sha256 says it then). */
static int request_body_sha256(const json_t *req, char hex[65], pm_err *err)
{
    const char *whole = json_string_value(json_object_get(req, "body_sha256"));
    if (json_is_true(json_object_get(req, "body_truncated")) && whole && strlen(whole) == 64) {
        memcpy(hex, whole, 65);
        return 0;
    }
    unsigned char *data;
    size_t len;
    if (pm_record_get_body(req, &data, &len, err) != 0)
        return -1;
    pm_sha256_hex(data, len, hex);
    free(data);
    return 0;
}

/* 1: *out filled; 0: skipped; -1: a record serve cannot read (err says why). */
static int load_record(const json_t *rec, const char *target_name, loaded *out, pm_err *err)
{
    const json_t *req = json_object_get(rec, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *target = json_string_value(json_object_get(req, "target"));
    if (!method || !target)
        return pm_err_set(err, "record has no request.method or request.target");
    const json_t *resp = response_of(rec, target_name);
    if (!resp)
        return 0;
    const json_t *headers = json_object_get(resp, "headers");
    if (headers && !json_is_array(headers))
        return pm_err_set(err, "response headers are not an array of [name, value] pairs");
    memset(out, 0, sizeof *out);
    serve_exchange *x = &out->x;
    if (request_body_sha256(req, x->request_sha256, err) != 0 ||
        pm_record_get_body(resp, &x->body, &x->body_len, err) != 0)
        return -1;
    x->method = strdup(method);
    x->target = strdup(origin_form(target));
    x->status = (int)json_integer_value(json_object_get(resp, "status"));
    x->headers = headers ? json_incref((json_t *)headers) : json_array();
    const json_t *latency = json_object_get(resp, "latency_us");
    x->latency_us = json_is_integer(latency) ? json_integer_value(latency) : -1;
    if (!pm_time_parse(json_string_value(json_object_get(rec, "ts")), &out->ts_us))
        out->ts_us = INT64_MIN;
    const char *session = json_string_value(json_object_get(rec, "session"));
    out->session = session ? strdup(session) : NULL;
    out->seq = json_integer_value(json_object_get(rec, "seq"));
    if (!x->method || !x->target || !x->headers || (session && !out->session)) {
        exchange_clear(x);
        free(out->session);
        return pm_err_set(err, "out of memory");
    }
    return 1;
}

static int index_add(json_t *index, const char *key, size_t i)
{
    if (!key)
        return -1;
    json_t *list = json_object_get(index, key);
    if (!list) {
        list = json_array();
        if (json_object_set_new(index, key, list) != 0)
            return -1;
    }
    return json_array_append_new(list, json_integer((json_int_t)i));
}

static int index_exchange(serve_book *book, size_t i)
{
    const serve_exchange *x = &book->exchanges[i];
    char *exact = key_of(x->method, x->target, strlen(x->target));
    char *stateless_target = without_state(x->target);
    char *stateless = stateless_target ? key_of(x->method, stateless_target, strlen(stateless_target)) : NULL;
    char *path = key_of(x->method, x->target, path_length(x->target));
    int rc = index_add(book->by_target, exact, i) | index_add(book->by_stateless, stateless, i) |
             index_add(book->by_path, path, i);
    free(exact);
    free(stateless_target);
    free(stateless);
    free(path);
    return rc;
}

/* Sorts into recorded order (when every record has a ts) and builds the indexes. */
static int book_fill(serve_book *book, loaded *items, size_t n, bool all_have_ts, pm_err *err)
{
    if (all_have_ts)
        qsort(items, n, sizeof *items, compare_loaded);
    book->exchanges = calloc(n ? n : 1, sizeof *book->exchanges);
    if (!book->exchanges)
        return pm_err_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        book->exchanges[i] = items[i].x;
        free(items[i].session);
    }
    book->count = n;
    for (size_t i = 0; i < n; i++)
        if (index_exchange(book, i) != 0)
            return pm_err_set(err, "out of memory");
    return 0;
}

int serve_book_load(serve_book *book, const char *path, const char *target_name, pm_err *err)
{
    memset(book, 0, sizeof *book);
    pthread_mutex_init(&book->lock, NULL);
    book->by_target = json_object();
    book->by_stateless = json_object();
    book->by_path = json_object();
    book->fresh_uuids = json_object();
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, err);
    if (!r)
        return -1;
    loaded *items = NULL;
    size_t n = 0, cap = 0;
    bool all_have_ts = true;
    int rc = 0;
    json_t *rec;
    int got;
    while ((got = pm_jsonl_reader_next(r, &rec, err)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            loaded *grown = realloc(items, cap * sizeof *items);
            if (!grown) {
                json_decref(rec);
                rc = pm_err_set(err, "out of memory");
                break;
            }
            items = grown;
        }
        pm_err why;
        int one = load_record(rec, target_name, &items[n], &why);
        json_decref(rec);
        if (one < 0) {
            rc = pm_err_set(err, "%s:%llu: %s", path, (unsigned long long)pm_jsonl_reader_line(r), why.msg);
            break;
        }
        if (one == 0) {
            book->skipped++;
            continue;
        }
        all_have_ts = all_have_ts && items[n].ts_us != INT64_MIN;
        items[n].file_order = n;
        n++;
    }
    if (got < 0)
        rc = -1;
    if (rc == 0 && pm_jsonl_reader_warning(r))
        book->warning = strdup(pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
    if (rc == 0) {
        rc = book_fill(book, items, n, all_have_ts, err);
    } else {
        for (size_t i = 0; i < n; i++) {
            exchange_clear(&items[i].x);
            free(items[i].session);
        }
    }
    free(items);
    return rc;
}

void serve_book_free(serve_book *book)
{
    for (size_t i = 0; i < book->count; i++)
        exchange_clear(&book->exchanges[i]);
    free(book->exchanges);
    free(book->warning);
    json_decref(book->by_target);
    json_decref(book->by_stateless);
    json_decref(book->by_path);
    json_decref(book->fresh_uuids);
    pthread_mutex_destroy(&book->lock);
    memset(book, 0, sizeof *book);
}

/* ===== upload UUIDs ================================================================ */

bool serve_is_uuid(const char *s, size_t len)
{
    if (len < SERVE_UUID_LEN)
        return false;
    for (size_t i = 0; i < SERVE_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* A random (version 4) UUID, lower-case. */
static bool make_uuid(char out[SERVE_UUID_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, SERVE_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return true;
}

static bool swap_known(const serve_match *m, const char *recorded)
{
    for (size_t i = 0; i < m->nswaps; i++)
        if (strcasecmp(m->swaps[i].recorded, recorded) == 0)
            return true;
    return false;
}

static void swap_add(serve_match *m, const char *recorded, const char *fresh)
{
    if (m->nswaps == SERVE_MAX_SWAPS || swap_known(m, recorded))
        return;
    memcpy(m->swaps[m->nswaps].recorded, recorded, SERVE_UUID_LEN + 1);
    memcpy(m->swaps[m->nswaps].fresh, fresh, SERVE_UUID_LEN + 1);
    m->nswaps++;
}

/* A copy of target with every fresh UUID it holds read back as its recorded one; each
 * such pair goes into m, so the answer speaks of the client's UUID again. */
static char *read_back_uuids(const serve_book *book, const char *target, serve_match *m)
{
    char *out = strdup(target);
    if (!out)
        return NULL;
    size_t len = strlen(out);
    for (size_t i = 0; i + SERVE_UUID_LEN <= len;) {
        if (!serve_is_uuid(out + i, len - i)) {
            i++;
            continue;
        }
        char fresh[SERVE_UUID_LEN + 1];
        memcpy(fresh, out + i, SERVE_UUID_LEN);
        fresh[SERVE_UUID_LEN] = '\0';
        const char *recorded = json_string_value(json_object_get(book->fresh_uuids, fresh));
        if (recorded) {
            memcpy(out + i, recorded, SERVE_UUID_LEN);
            swap_add(m, recorded, fresh);
        }
        i += SERVE_UUID_LEN;
    }
    return out;
}

/* An answer that hands out an upload UUID the client does not know yet gets a fresh one. */
static void freshen_upload_uuid(serve_book *book, const serve_exchange *x, serve_match *m)
{
    const char *recorded = pm_headers_get(x->headers, "Docker-Upload-UUID");
    if (!recorded || strlen(recorded) != SERVE_UUID_LEN || !serve_is_uuid(recorded, SERVE_UUID_LEN) ||
        swap_known(m, recorded))
        return;
    char fresh[SERVE_UUID_LEN + 1];
    if (!make_uuid(fresh) || json_object_set_new(book->fresh_uuids, fresh, json_string(recorded)) != 0)
        return; /* the recorded UUID is answered as it is */
    swap_add(m, recorded, fresh);
}

/* ===== matching ==================================================================== */

/* The exchange of a group (indexes in recorded order) whose turn it is: the first not
 * answered yet, else the last. Among several, those whose request body hash matches
 * the incoming body are preferred. */
static serve_exchange *pick(serve_book *book, const json_t *group, const char *body_sha256)
{
    size_t n = json_array_size(group);
    bool by_body = false;
    for (size_t i = 0; n > 1 && i < n && !by_body; i++) {
        const serve_exchange *x = &book->exchanges[json_integer_value(json_array_get(group, i))];
        by_body = strcmp(x->request_sha256, body_sha256) == 0;
    }
    serve_exchange *last = NULL;
    for (size_t i = 0; i < n; i++) {
        serve_exchange *x = &book->exchanges[json_integer_value(json_array_get(group, i))];
        if (by_body && strcmp(x->request_sha256, body_sha256) != 0)
            continue;
        if (x->uses == 0)
            return x;
        last = x;
    }
    return last;
}

static serve_exchange *find(serve_book *book, const char *method, const char *target,
                            const char *stateless, const char *body_sha256)
{
    const json_t *indexes[3] = {book->by_target, book->by_stateless, book->by_path};
    const char *forms[3] = {target, stateless, target};
    size_t lengths[3] = {strlen(target), stateless ? strlen(stateless) : 0, path_length(target)};
    for (size_t level = 0; level < 3; level++) {
        if (!forms[level])
            continue;
        char *key = key_of(method, forms[level], lengths[level]);
        const json_t *group = key ? json_object_get(indexes[level], key) : NULL;
        free(key);
        if (group)
            return pick(book, group, body_sha256);
    }
    return NULL;
}

void serve_book_match(serve_book *book, const char *method, const char *target,
                      const char *body_sha256, serve_match *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&book->lock);
    char *recorded_target = read_back_uuids(book, origin_form(target), out);
    char *stateless = recorded_target ? without_state(recorded_target) : NULL;
    if (recorded_target) {
        serve_exchange *x = find(book, method, recorded_target, stateless, body_sha256);
        bool claim = x != NULL;
        if (!x && strcmp(method, "HEAD") == 0) /* a GET's answer, its body not sent */
            x = find(book, "GET", recorded_target, stateless, body_sha256);
        if (x) {
            if (claim)
                x->uses++;
            freshen_upload_uuid(book, x, out);
            out->exchange = x;
        }
    }
    pthread_mutex_unlock(&book->lock);
    free(recorded_target);
    free(stateless);
}
