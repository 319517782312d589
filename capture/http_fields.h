/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_fields.h — the header (or trailer) fields of one parsed message, as the bytes that
 * came (http_fields.c), private to capture/.
 */
#ifndef PM_CAPTURE_HTTP_FIELDS_H
#define PM_CAPTURE_HTTP_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* One field: name and value as offsets into the list's bytes, each followed by a NUL
 * there (a name or value holding a NUL reads, as a C string, up to it). */
typedef struct http_field {
    size_t name, name_len, value, value_len;
} http_field;

/* Fields in wire order, duplicates kept. A zeroed list is empty. */
typedef struct http_fields {
    char *bytes;
    size_t len, cap;
    http_field *items;
    size_t n, items_cap;
} http_fields;

/* Appends one field; -1 when memory ran out. */
int http_fields_add(http_fields *f, const char *name, size_t name_len, const char *value, size_t value_len);
void http_fields_free(http_fields *f);
static inline const char *http_fields_name(const http_fields *f, size_t i)
{
    return f->bytes + f->items[i].name;
}
static inline const char *http_fields_value(const http_fields *f, size_t i)
{
    return f->bytes + f->items[i].value;
}
/* The value of the first field named name (any case), as pm_headers_get; NULL: none. */
const char *http_fields_get(const http_fields *f, const char *name);
/* True when a field asks for a mutating method (X-HTTP-Method-Override and the like). */
bool http_fields_override_mutating(const http_fields *f);
/* key: [[name, value], ...] into an open object, values redacted by r (may be NULL), as
 * pm_record_headers writes a jansson list. */
void http_fields_write(pm_jtext *t, const char *key, const http_fields *f, const pm_redactor *r);
/* A spreading redactor learns the secrets of the fields (pm_redact_learn_header). */
void http_fields_learn(const pm_redactor *r, const http_fields *f);

#endif
