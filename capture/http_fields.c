/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_fields.c — a message's header fields kept as the bytes that came (http_fields.h).
 *
 * Why not jansson: the packet loop used to build each field as a [name, value] array of
 * two strings — four allocations a field, a dozen fields a message, freed again after the
 * record thread wrote them — and that was a third of the loop's instructions (callgrind,
 * bench/capture.sh). Here a message's fields share one byte buffer and one array of
 * offsets, both grown by doubling, and the record thread writes them straight from it.
 * What the record says is unchanged: names and values are written as pm_record_headers
 * writes a jansson list (bytes that are not UTF-8 escaped as Latin-1 by pm_jtext).
 */
#include "http_fields.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIRST_BYTES 512
#define FIRST_ITEMS 16

static int reserve_bytes(http_fields *f, size_t more)
{
    if (f->len + more <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : FIRST_BYTES;
    while (cap < f->len + more)
        cap *= 2;
    char *p = realloc(f->bytes, cap);
    if (!p)
        return -1;
    f->bytes = p;
    f->cap = cap;
    return 0;
}

int http_fields_add(http_fields *f, const char *name, size_t name_len, const char *value, size_t value_len)
{
    if (f->n == f->items_cap) {
        size_t cap = f->items_cap ? f->items_cap * 2 : FIRST_ITEMS;
        http_field *p = realloc(f->items, cap * sizeof *p);
        if (!p)
            return -1;
        f->items = p;
        f->items_cap = cap;
    }
    if (reserve_bytes(f, name_len + value_len + 2) != 0)
        return -1;
    http_field *it = &f->items[f->n++];
    it->name = f->len;
    it->name_len = name_len;
    if (name_len)
        memcpy(f->bytes + f->len, name, name_len);
    f->len += name_len;
    f->bytes[f->len++] = '\0';
    it->value = f->len;
    it->value_len = value_len;
    if (value_len)
        memcpy(f->bytes + f->len, value, value_len);
    f->len += value_len;
    f->bytes[f->len++] = '\0';
    return 0;
}

void http_fields_free(http_fields *f)
{
    free(f->bytes);
    free(f->items);
    memset(f, 0, sizeof *f);
}

const char *http_fields_get(const http_fields *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcasecmp(http_fields_name(f, i), name) == 0)
            return http_fields_value(f, i);
    return NULL;
}

bool http_fields_override_mutating(const http_fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (pm_header_overrides_to_mutating(http_fields_name(f, i), http_fields_value(f, i)))
            return true;
    return false;
}

void http_fields_write(pm_jtext *t, const char *key, const http_fields *f, const pm_redactor *r)
{
    pm_jtext_key(t, key);
    pm_jtext_array_begin(t);
    for (size_t i = 0; i < f->n; i++) {
        const http_field *it = &f->items[i];
        const char *name = f->bytes + it->name, *value = f->bytes + it->value;
        char *red = r ? pm_redact_header_value(r, name, value) : NULL;
        pm_jtext_array_begin(t);
        pm_jtext_string(t, name, it->name_len);
        if (red)
            pm_jtext_cstring(t, red);
        else
            pm_jtext_string(t, value, it->value_len);
        pm_jtext_array_end(t);
        free(red);
    }
    pm_jtext_array_end(t);
}

void http_fields_learn(const pm_redactor *r, const http_fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        pm_redact_learn_header(r, http_fields_name(f, i), http_fields_value(f, i));
}
