/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job.c — the worker map applied to one queue job (core/workers.h): its class (family,
 * switch, capability, cohort, producer), its body's secrets, and the templates probes, cohorts
 * and producers are written in.
 *
 * Everything here reads values that came out of a production database: queue names and
 * bodies are untrusted. A template never fails loudly; it has no value, and the caller moves
 * on to the next one (cohorts) or reports the probe's parameter as missing.
 */
#include "core.h"
#include "workers_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- templates ---------------------------------------------------------------------- */

/* Segment n of a canonical queue name ("notification/acme/web/" → 0 notification, 1 acme);
 * *len 0 when there is none (the empty segment after the last '/' is none). */
static const char *name_segment(const char *queue_name, unsigned long n, size_t *len)
{
    const char *p = queue_name;
    for (unsigned long i = 0; i < n && p; i++) {
        p = strchr(p, '/');
        if (p)
            p++;
    }
    if (!p) {
        *len = 0;
        return NULL;
    }
    const char *end = strchr(p, '/');
    *len = end ? (size_t)(end - p) : strlen(p);
    return p;
}

const json_t *pm_job_body_path(const json_t *value, const char *path, size_t len)
{
    const char *p = path, *end = path + len;
    while (value && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        if (json_is_object(value)) {
            value = json_object_getn(value, p, n);
        } else if (json_is_array(value)) {
            char *stop;
            char digits[24];
            if (n == 0 || n >= sizeof digits)
                return NULL;
            memcpy(digits, p, n);
            digits[n] = 0;
            unsigned long i = strtoul(digits, &stop, 10);
            value = *stop || digits[0] < '0' || digits[0] > '9' ? NULL : json_array_get(value, i);
        } else {
            return NULL;
        }
        p += n + (dot ? 1 : 0);
    }
    return value;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *b = realloc(*buf, c);
        if (!b)
            return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return true;
}

/* Appends a scalar's text to buf; false for null, objects and arrays. */
static bool append_json(char **buf, size_t *len, size_t *cap, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        /* a NUL inside would end the text early: such a value has no template text */
        if (strlen(json_string_value(v)) != json_string_length(v))
            return false;
        return append(buf, len, cap, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return append(buf, len, cap, num, strlen(num));
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        return append(buf, len, cap, num, strlen(num));
    case JSON_TRUE:
        return append(buf, len, cap, "true", 4);
    case JSON_FALSE:
        return append(buf, len, cap, "false", 5);
    default:
        return false;
    }
}

/* A placeholder's name is well formed: id, queue_name, name.N or body.PATH. */
static bool placeholder_ok(const char *p, size_t n)
{
    if ((n == 2 && memcmp(p, "id", 2) == 0) || (n == 10 && memcmp(p, "queue_name", 10) == 0))
        return true;
    if (n > 5 && memcmp(p, "name.", 5) == 0) {
        for (size_t i = 5; i < n; i++)
            if (p[i] < '0' || p[i] > '9')
                return false;
        return n - 5 <= 6;
    }
    if (n > 5 && memcmp(p, "body.", 5) == 0) {
        for (size_t i = 5; i < n; i++)
            if (p[i] == '.' && (i == 5 || i + 1 == n || p[i + 1] == '.'))
                return false;
        return true;
    }
    return false;
}

const char *pm_worker_template_check(const char *tmpl)
{
    if (!*tmpl)
        return "an empty template";
    for (const char *p = tmpl; *p; p++) {
        if (*p == '}')
            return "a '}' without its '{'";
        if (*p != '{')
            continue;
        const char *close = strpbrk(p + 1, "{}");
        if (!close || *close != '}')
            return "a '{' without its '}'";
        if (!placeholder_ok(p + 1, (size_t)(close - p - 1)))
            return "want placeholders {id}, {queue_name}, {name.N} or {body.PATH}";
        p = close;
    }
    return NULL;
}

char *pm_worker_template_expand(const char *tmpl, int64_t id, const char *queue_name, const json_t *body)
{
    if (pm_worker_template_check(tmpl))
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = append(&buf, &len, &cap, "", 0);
    for (const char *p = tmpl; *p && ok; p++) {
        if (*p != '{') {
            const char *brace = strchr(p, '{');
            size_t n = brace ? (size_t)(brace - p) : strlen(p);
            ok = append(&buf, &len, &cap, p, n);
            p += n - 1;
            continue;
        }
        const char *name = p + 1, *close = strchr(p, '}');
        size_t n = (size_t)(close - name);
        if (n == 2 && memcmp(name, "id", 2) == 0) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)id);
            ok = id > 0 && append(&buf, &len, &cap, num, strlen(num));
        } else if (n == 10 && memcmp(name, "queue_name", 10) == 0) {
            ok = queue_name && *queue_name && append(&buf, &len, &cap, queue_name, strlen(queue_name));
        } else if (memcmp(name, "name.", 5) == 0) {
            size_t seglen = 0;
            const char *seg = queue_name ? name_segment(queue_name, strtoul(name + 5, NULL, 10), &seglen) : NULL;
            ok = seg && seglen > 0 && append(&buf, &len, &cap, seg, seglen);
        } else {
            const json_t *v = pm_job_body_path(body, name + 5, n - 5);
            ok = v && append_json(&buf, &len, &cap, v);
        }
        p = close;
    }
    if (!ok || len == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- classification ------------------------------------------------------------------- */

static const pm_worker_spec *spec_of(const pm_worker_queue *q)
{
    return (const pm_worker_spec *)q; /* pub is the spec's first member */
}

static char *capability_of(const pm_worker_spec *s, const char *queue_name, const json_t *body)
{
    if (s->cap_body) {
        const json_t *v = pm_job_body_path(body, s->cap_body, strlen(s->cap_body));
        if (json_is_string(v) && json_string_length(v) > 0 && strlen(json_string_value(v)) == json_string_length(v))
            return strdup(json_string_value(v));
    }
    /* segments 1, 2, ... in one pass (a hostile queue_name may have thousands) */
    for (const char *seg = strchr(queue_name, '/'); seg && s->cap_segments.n; seg = strchr(seg, '/')) {
        size_t len = strcspn(++seg, "/");
        if (len == 0)
            break;
        for (size_t k = 0; k < s->cap_segments.n; k++)
            if (strlen(s->cap_segments.items[k]) == len && memcmp(s->cap_segments.items[k], seg, len) == 0)
                return strdup(s->cap_segments.items[k]);
    }
    return strdup(s->cap_default ? s->cap_default : s->pub.queue);
}

static char *cohort_value(const pm_strings *templates, const char *queue_name, const json_t *body)
{
    for (size_t i = 0; i < templates->n; i++) {
        char *v = pm_worker_template_expand(templates->items[i], 0, queue_name, body);
        if (v)
            return v;
    }
    return NULL;
}

bool pm_worker_producer_ok(const char *name)
{
    size_t n = 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return n > 0 && n <= PM_PRODUCER_MAX;
}

/* The first producer template whose value is a producer name; *refused when one had a value
 * that is not (a body's `_producer: "Go!"` is no producer, and says so in the counts). */
static char *producer_value(const pm_strings *templates, const char *queue_name, const json_t *body, bool *refused)
{
    for (size_t i = 0; i < templates->n; i++) {
        char *v = pm_worker_template_expand(templates->items[i], 0, queue_name, body);
        if (v && pm_worker_producer_ok(v))
            return v;
        if (v)
            *refused = true;
        free(v);
    }
    return NULL;
}

void pm_job_classify(const pm_workers *w, const char *queue_name, const json_t *body, const pm_redactor *r,
                     pm_job_class *out)
{
    memset(out, 0, sizeof *out);
    out->family = "UNKNOWN";
    if (!queue_name)
        return;
    const char *slash = strchr(queue_name, '/');
    size_t qlen = slash ? (size_t)(slash - queue_name) : strlen(queue_name);
    out->queue = pm_workers_find(w, queue_name, qlen);
    if (!out->queue) {
        out->capability = strndup(queue_name, qlen);
        return;
    }
    const pm_worker_spec *s = spec_of(out->queue);
    out->family = s->pub.family;
    out->switch_name = s->pub.switch_name;
    out->capability = capability_of(s, queue_name, body);
    out->cohort.org = cohort_value(&s->cohort[PM_COHORT_ORG], queue_name, body);
    out->cohort.repo = cohort_value(&s->cohort[PM_COHORT_REPO], queue_name, body);
    out->cohort.user = cohort_value(&s->cohort[PM_COHORT_USER], queue_name, body);
    out->producer = producer_value(&s->producer, queue_name, body, &out->producer_refused);
    if (r && out->cohort.user && strchr(out->cohort.user, '@')) {
        char token[64];
        pm_redact_value(r, out->cohort.user, strlen(out->cohort.user), token, sizeof token);
        free(out->cohort.user);
        out->cohort.user = strdup(token);
    }
}

void pm_job_class_clear(pm_job_class *c)
{
    free(c->capability);
    free(c->cohort.org);
    free(c->cohort.repo);
    free(c->cohort.user);
    free(c->producer);
    memset(c, 0, sizeof *c);
}

/* ---- redaction ------------------------------------------------------------------------ */

/* Every string at or under v replaced by its redacted token; returns how many. */
static size_t redact_all(const pm_redactor *r, json_t *parent, const char *key, size_t index, json_t *v)
{
    size_t count = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strncmp(s, "redacted:", 9) == 0)
            return 0;
        char token[64];
        pm_redact_value(r, s, json_string_length(v), token, sizeof token);
        if (key)
            json_object_set_new(parent, key, json_string(token));
        else
            json_array_set_new(parent, index, json_string(token));
        return 1;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, child)
            count += redact_all(r, v, k, 0, child);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            count += redact_all(r, v, NULL, i, json_array_get(v, i));
    }
    return count;
}

/* The parent object of path's last segment, and that segment (the key), or NULL. */
static json_t *path_parent(json_t *body, const char *path, const char **key)
{
    const char *dot = strrchr(path, '.');
    *key = dot ? dot + 1 : path;
    json_t *parent = dot ? (json_t *)pm_job_body_path(body, path, (size_t)(dot - path)) : body;
    return json_is_object(parent) ? parent : NULL;
}

/* A URL with its secret query parameters and the password of its user information
 * ("https://user:secret@host/...") redacted: a new string. */
static char *redact_url(const pm_redactor *r, const char *url)
{
    char *target = pm_redact_target(r, url);
    const char *scheme = target ? strstr(target, "://") : NULL;
    if (!scheme)
        return target;
    const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', (size_t)(end - auth));
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon || colon + 1 == at || strncmp(colon + 1, "redacted:", 9) == 0)
        return target;
    char token[64];
    pm_redact_value(r, colon + 1, (size_t)(at - colon - 1), token, sizeof token);
    size_t head = (size_t)(colon + 1 - target), n = head + strlen(token) + strlen(at) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%.*s%s%s", (int)head, target, token, at);
    free(target);
    return out;
}

size_t pm_job_redact_body(const pm_worker_queue *q, const pm_redactor *r, json_t *body)
{
    if (!r || !body)
        return 0;
    size_t count = pm_redact_json(r, body);
    if (!q)
        return count;
    const pm_worker_spec *s = spec_of(q);
    for (size_t i = 0; i < s->redact.n; i++) {
        const char *key;
        json_t *parent = path_parent(body, s->redact.items[i], &key);
        json_t *v = parent ? json_object_get(parent, key) : NULL;
        if (v)
            count += redact_all(r, parent, key, 0, v);
    }
    for (size_t i = 0; i < s->urls.n; i++) {
        const char *key;
        json_t *parent = path_parent(body, s->urls.items[i], &key);
        json_t *v = parent ? json_object_get(parent, key) : NULL;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            continue;
        char *target = redact_url(r, json_string_value(v));
        if (target && strcmp(target, json_string_value(v)) != 0) {
            json_object_set_new(parent, key, json_string(target));
            count++;
        }
        free(target);
    }
    return count;
}
