/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_sse.c — libFuzzer target for core/sse.c against a model written another way: the
 * input's line ends made LF first (CRLF, then CR), split into lines, and each line read
 * with string functions. For inputs whose bytes are valid UTF-8 and hold no NUL (the
 * model's strings cannot), both must find the same events — type, data, id, retry — and
 * agree on whether the stream was cut mid-event; for any input the parser must not fail,
 * and pm_sse_events_at must find the same events, each ending after the one before, just
 * past a line end, within the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct model_event {
    char *type, *data, *id;
    long long retry; /* -1: none */
} model_event;

static char *cat(char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    char *p = realloc(a, la + lb + 1);
    if (!p)
        abort();
    memcpy(p + la, b, lb + 1);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_sse_counts c;
    json_t *events = pm_sse_events(data, size, &c);
    if (!events)
        abort(); /* only memory can fail, and it does not here */
    if (json_array_size(events) != c.events)
        abort();
    pm_sse_counts c2;
    size_t *ends = NULL;
    json_t *again = pm_sse_events_at(data, size, &c2, &ends);
    if (!again || !ends || !json_equal(again, events) || c2.events != c.events || c2.comments != c.comments)
        abort();
    for (size_t i = 0; i < c2.events; i++)
        if (ends[i] == 0 || ends[i] > size || (i > 0 && ends[i] <= ends[i - 1]) ||
            (data[ends[i] - 1] != '\n' && data[ends[i] - 1] != '\r'))
            abort();
    free(ends);
    json_decref(again);
    if (memchr(data, '\0', size) || !pm_utf8_valid(data, size)) {
        json_decref(events);
        return 0;
    }
    /* the model */
    char *s = malloc(size + 1), *t = malloc(size + 1);
    if (!s || !t)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\r') {
            t[n++] = '\n';
            if (i + 1 < size && data[i + 1] == '\n')
                i++;
        } else {
            t[n++] = (char)data[i];
        }
    }
    t[n] = '\0';
    const char *p = t;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    model_event cur = {NULL, NULL, NULL, -1};
    bool has_data = false, pending = false;
    size_t got = 0;
    for (;;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            pending = pending || *p;
            break;
        }
        size_t len = (size_t)(nl - p);
        memcpy(s, p, len);
        s[len] = '\0';
        p = nl + 1;
        if (len == 0) {
            if (has_data) {
                const json_t *ev = json_array_get(events, got++);
                char *d = cur.data ? cur.data : strdup("");
                size_t dl = strlen(d);
                if (dl && d[dl - 1] == '\n')
                    d[dl - 1] = '\0';
                const char *type = cur.type && *cur.type ? cur.type : "message";
                const char *id = json_string_value(json_object_get(ev, "id"));
                const json_t *retry = json_object_get(ev, "retry");
                if (!ev || strcmp(json_string_value(json_object_get(ev, "data")), d) != 0 ||
                    strcmp(json_string_value(json_object_get(ev, "event")), type) != 0 || (!id) != (!cur.id) ||
                    (id && strcmp(id, cur.id) != 0) || (cur.retry < 0) != (retry == NULL) ||
                    (retry && json_integer_value(retry) != cur.retry))
                    abort();
                if (d != cur.data)
                    free(d);
            }
            free(cur.type);
            free(cur.data);
            free(cur.id);
            cur = (model_event){NULL, NULL, NULL, -1};
            has_data = pending = false;
            continue;
        }
        if (s[0] == ':')
            continue;
        pending = true;
        char *colon = strchr(s, ':');
        char *value = colon ? colon + 1 : s + len;
        if (colon)
            *colon = '\0';
        if (*value == ' ')
            value++;
        if (strcmp(s, "data") == 0) {
            cur.data = cat(cat(cur.data, value), "\n");
            has_data = true;
        } else if (strcmp(s, "event") == 0) {
            free(cur.type);
            cur.type = strdup(value);
        } else if (strcmp(s, "id") == 0) {
            free(cur.id);
            cur.id = strdup(value);
        } else if (strcmp(s, "retry") == 0 && *value && strspn(value, "0123456789") == strlen(value) &&
                   strlen(value) <= 15) {
            cur.retry = strtoll(value, NULL, 10);
        }
    }
    if (got != json_array_size(events) || pending != c.cut)
        abort();
    free(cur.type);
    free(cur.data);
    free(cur.id);
    free(s);
    free(t);
    json_decref(events);
    return 0;
}
