/*
 * record.c — helpers for the records of DESIGN.md ("Files"): every record starts with
 * "v": 1; bodies are "body" when they are UTF-8 text and "body_b64" otherwise, with
 * "body_len", and "body_truncated" + "body_sha256" when a size cap cut them; headers are
 * [[name, value], ...] in wire order with duplicates kept.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *pm_record_new(void)
{
    json_t *r = json_object();
    if (r)
        json_object_set_new(r, "v", json_integer(1));
    return r;
}

int pm_record_set_body(json_t *obj, const unsigned char *data, size_t len, size_t total_len,
                       const char *total_sha256_hex)
{
    /* A body set again (e.g. after decoding or redaction) must not keep stale keys. */
    json_object_del(obj, "body");
    json_object_del(obj, "body_b64");
    json_object_del(obj, "body_truncated");
    json_object_del(obj, "body_sha256");
    if (len > 0 && pm_utf8_valid(data, len)) {
        /* validated just above: skip jansson's second UTF-8 check */
        json_object_set_new(obj, "body", json_stringn_nocheck((const char *)data, len));
    } else if (len > 0) {
        char *b64 = pm_base64_encode(data, len);
        if (!b64)
            return -1;
        json_object_set_new(obj, "body_b64", json_string(b64));
        free(b64);
    }
    json_object_set_new(obj, "body_len", json_integer((json_int_t)total_len));
    if (len < total_len) {
        json_object_set_new(obj, "body_truncated", json_true());
        if (total_sha256_hex)
            json_object_set_new(obj, "body_sha256", json_string(total_sha256_hex));
    }
    return 0;
}

int pm_record_get_body(const json_t *obj, unsigned char **data, size_t *len, pm_err *err)
{
    const json_t *text = json_object_get(obj, "body");
    const json_t *b64 = json_object_get(obj, "body_b64");
    if (json_is_string(text)) {
        size_t n = json_string_length(text);
        *data = malloc(n + 1);
        if (!*data)
            return pm_err_set(err, "out of memory");
        memcpy(*data, json_string_value(text), n + 1);
        *len = n;
        return 0;
    }
    if (json_is_string(b64)) {
        if (pm_base64_decode(json_string_value(b64), json_string_length(b64), false, data, len) != 0)
            return pm_err_set(err, "body_b64 is not valid base64");
        return 0;
    }
    *data = calloc(1, 1);
    *len = 0;
    return *data ? 0 : pm_err_set(err, "out of memory");
}

const char *pm_headers_get(const json_t *headers, const char *name)
{
    size_t i;
    const json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0));
        if (n && strcasecmp(n, name) == 0)
            return json_string_value(json_array_get(pair, 1));
    }
    return NULL;
}
