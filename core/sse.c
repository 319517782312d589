/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sse.c — a Server-Sent Events stream read into its events (sse.h), line by line as the
 * WHATWG spec's event stream interpretation does, from bytes already in memory: a
 * captured or replayed answer's body. The buffers of the event being built grow with it;
 * nothing is kept of comments but their count.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static bool buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

/* The event being built. */
typedef struct event {
    buf data, type, id;
    bool has_data, has_id, has_retry, pending; /* pending: a field since the last dispatch */
    json_int_t retry;
    size_t end;    /* offset just past the current line's end */
    size_t *ends;  /* NULL, or where each dispatched event ended (pm_sse_events_at) */
    size_t ends_cap;
} event;

static void event_reset(event *e)
{
    e->data.len = e->type.len = e->id.len = 0;
    e->has_data = e->has_id = e->has_retry = e->pending = false;
}

/* UTF-8 text as a JSON string; invalid bytes become U+FFFD. */
static json_t *text(const char *s, size_t n)
{
    if (pm_utf8_valid((const unsigned char *)s, n))
        return json_stringn(s, n);
    buf b = {0};
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !pm_utf8_valid((const unsigned char *)s + i, k))
            k++;
        bool ok = k <= 4 && i + k <= n;
        if (!(ok ? buf_add(&b, s + i, k) : buf_add(&b, "\xEF\xBF\xBD", 3))) {
            free(b.p);
            return NULL;
        }
        i += ok ? k : 1;
    }
    json_t *v = json_stringn(b.p ? b.p : "", b.len);
    free(b.p);
    return v;
}

static int dispatch(event *e, json_t *events, pm_sse_counts *c)
{
    if (!e->has_data) { /* the spec: no data, nothing dispatched */
        event_reset(e);
        return 0;
    }
    size_t n = e->data.len;
    if (n > 0 && e->data.p[n - 1] == '\n')
        n--;
    json_t *ev = json_object();
    bool ok = ev &&
              !json_object_set_new(ev, "event", e->type.len ? text(e->type.p, e->type.len) : json_string("message")) &&
              !json_object_set_new(ev, "data", text(e->data.p ? e->data.p : "", n)) &&
              (!e->has_id || !json_object_set_new(ev, "id", text(e->id.p ? e->id.p : "", e->id.len))) &&
              (!e->has_retry || !json_object_set_new(ev, "retry", json_integer(e->retry)));
    if (ok && e->ends_cap > 0 && c->events == e->ends_cap) {
        size_t *p = realloc(e->ends, 2 * e->ends_cap * sizeof *p);
        ok = p != NULL;
        if (p) {
            e->ends = p;
            e->ends_cap *= 2;
        }
    }
    if (ok) {
        ok = json_array_append_new(events, ev) == 0; /* takes ev, also when it fails */
        ev = NULL;
    }
    if (ok && e->ends_cap > 0)
        e->ends[c->events] = e->end;
    json_decref(ev);
    int rc = ok ? 0 : -1;
    c->events += rc == 0;
    event_reset(e);
    return rc;
}

/* One line (without its end). */
static int line(event *e, const char *s, size_t n, json_t *events, pm_sse_counts *c)
{
    if (n == 0)
        return dispatch(e, events, c);
    if (s[0] == ':') {
        c->comments++;
        return 0;
    }
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    const char *value = colon ? colon + 1 : s + n;
    size_t value_len = (size_t)(s + n - value);
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    e->pending = true;
    if (name_len == 4 && memcmp(s, "data", 4) == 0) {
        e->has_data = true;
        return buf_add(&e->data, value, value_len) && buf_add(&e->data, "\n", 1) ? 0 : -1;
    }
    if (name_len == 5 && memcmp(s, "event", 5) == 0) {
        e->type.len = 0;
        return buf_add(&e->type, value, value_len) ? 0 : -1;
    }
    if (name_len == 2 && memcmp(s, "id", 2) == 0) {
        if (memchr(value, '\0', value_len))
            return 0; /* the spec ignores an id holding NUL */
        e->id.len = 0;
        e->has_id = true;
        return buf_add(&e->id, value, value_len) ? 0 : -1;
    }
    if (name_len == 5 && memcmp(s, "retry", 5) == 0) {
        json_int_t v = 0; /* digits only; more than 15 of them is not a delay anyone means */
        size_t i = 0;
        for (; i < value_len && i < 16 && value[i] >= '0' && value[i] <= '9'; i++)
            v = v * 10 + (value[i] - '0');
        if (value_len > 0 && value_len <= 15 && i == value_len) {
            e->retry = v;
            e->has_retry = true;
        }
    }
    return 0; /* other fields are ignored */
}

json_t *pm_sse_events(const unsigned char *data, size_t len, pm_sse_counts *counts)
{
    return pm_sse_events_at(data, len, counts, NULL);
}

json_t *pm_sse_events_at(const unsigned char *data, size_t len, pm_sse_counts *counts, size_t **ends)
{
    pm_sse_counts local;
    pm_sse_counts *c = counts ? counts : &local;
    memset(c, 0, sizeof *c);
    json_t *events = json_array();
    event e = {0};
    if (ends) {
        *ends = NULL;
        e.ends = malloc(16 * sizeof *e.ends);
        e.ends_cap = e.ends ? 16 : 0;
        if (!e.ends) {
            json_decref(events);
            return NULL;
        }
    }
    const char *s = (const char *)data;
    size_t i = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    int rc = events ? 0 : -1;
    while (rc == 0 && i < len) {
        size_t start = i;
        while (i < len && s[i] != '\n' && s[i] != '\r')
            i++;
        if (i == len) { /* no line end: the stream stops inside this line */
            e.pending = true;
            break;
        }
        size_t end = i + (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n' ? 2 : 1);
        e.end = end;
        rc = line(&e, s + start, i - start, events, c);
        i = end;
    }
    c->cut = rc == 0 && e.pending;
    free(e.data.p);
    free(e.type.p);
    free(e.id.p);
    if (rc != 0) {
        free(e.ends);
        json_decref(events);
        return NULL;
    }
    if (ends)
        *ends = e.ends;
    return events;
}

bool pm_sse_is_stream_type(const char *content_type)
{
    if (!content_type)
        return false;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t n = strcspn(content_type, "; \t");
    return n == 17 && strncasecmp(content_type, "text/event-stream", 17) == 0;
}
