/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record.c — helpers for the records of DESIGN.md ("Files"): every record starts with
 * "v": 1; bodies are "body" when they are UTF-8 text and "body_b64" otherwise, with
 * "body_len", and "body_truncated" + "body_sha256" when a size cap cut them; headers are
 * [[name, value], ...] in wire order with duplicates kept.
 */
#include "core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pm_json_append_printf(json_t *array, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *s = json_vsprintf(fmt, ap);
    va_end(ap);
    if (s)
        json_array_append_new(array, s);
}

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

void pm_record_head(pm_jtext *t, const char *id, int64_t ts_us, const char *session, uint64_t seq,
                    const char *source, const pm_class *c)
{
    char ts[40];
    pm_time_rfc3339(ts_us, ts, sizeof ts);
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "v");
    pm_jtext_int(t, 1);
    pm_jtext_key_lit(t, "id");
    pm_jtext_cstring(t, id);
    pm_jtext_key_lit(t, "ts");
    pm_jtext_cstring(t, ts);
    pm_jtext_key_lit(t, "session");
    pm_jtext_cstring(t, session);
    pm_jtext_key_lit(t, "seq");
    pm_jtext_int(t, (int64_t)seq);
    if (source) {
        pm_jtext_key_lit(t, "source");
        pm_jtext_cstring(t, source);
    }
    pm_jtext_key_lit(t, "family");
    pm_jtext_cstring(t, c->family ? c->family : "UNKNOWN");
    pm_jtext_key_lit(t, "capability");
    pm_jtext_cstring(t, c->capability ? c->capability : "UNKNOWN");
    pm_jtext_key_lit(t, "switch");
    pm_jtext_cstring(t, c->switch_name);
    pm_jtext_key_lit(t, "cap_switch");
    pm_jtext_cstring(t, c->cap_switch);
    pm_jtext_key_lit(t, "route_id");
    pm_jtext_cstring(t, c->route_id);
    pm_jtext_key_lit(t, "mutating");
    pm_jtext_bool(t, c->mutating);
    pm_jtext_key_lit(t, "cohort");
    pm_jtext_object_begin(t);
    pm_jtext_key_lit(t, "org");
    pm_jtext_cstring(t, c->cohort.org);
    pm_jtext_key_lit(t, "repo");
    pm_jtext_cstring(t, c->cohort.repo);
    pm_jtext_key_lit(t, "user");
    pm_jtext_cstring(t, c->cohort.user);
    pm_jtext_object_end(t);
}

void pm_record_headers(pm_jtext *t, const char *key, const json_t *headers, const pm_redactor *r)
{
    pm_jtext_key(t, key);
    pm_jtext_array_begin(t);
    size_t i;
    const json_t *pair;
    json_array_foreach(headers, i, pair) {
        const json_t *name = json_array_get(pair, 0), *value = json_array_get(pair, 1);
        char *red = r ? pm_redact_header_value(r, json_string_value(name), json_string_value(value)) : NULL;
        pm_jtext_array_begin(t);
        pm_jtext_string(t, json_string_value(name), json_string_length(name));
        if (red)
            pm_jtext_cstring(t, red);
        else
            pm_jtext_string(t, json_string_value(value), json_string_length(value));
        pm_jtext_array_end(t);
        free(red);
    }
    pm_jtext_array_end(t);
}

void pm_family_count_add(pm_family_count **families, size_t *n, const char *family)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*families)[i].family, family) == 0) {
            (*families)[i].exchanges++;
            return;
        }
    pm_family_count *p = realloc(*families, (*n + 1) * sizeof *p);
    if (!p)
        return;
    *families = p;
    p[(*n)++] = (pm_family_count){family, 1};
}
