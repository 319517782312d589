/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.c — one recorded request rebuilt for one target.
 *
 * The URL is the target's base URL + the recorded path and query (an absolute-form
 * target is reduced to its path); Host comes from the target's URL, except for a unix:
 * target, whose URL names no host: it gets the recorded Host, as nginx passes the
 * client's on to a gunicorn socket; hop-by-hop headers,
 * Content-Length and Transfer-Encoding go (the body was de-chunked at capture and curl
 * frames it again); values earlier responses issued are swapped for this target's own
 * (correlate.c); the target's configured headers replace recorded ones of the same name;
 * its `credentials` replace redacted tokens. A header that still carries a `redacted:`
 * token after that cannot be sent: the call is skipped with `no_credentials`. A header that
 * is not a field (a name that is not a token, a value with a control byte: CR LF would
 * end the line and start another) is refused, `bad_header`, as a bad target is.
 */
#include "replay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Hop-by-hop headers, and those curl or the target's URL set again: Host, Content-Length,
 * Expect (curl's own), Proxy-Authenticate (for a proxy, not the next server). */
static bool is_dropped(const char *name)
{
    static const char *const framing[] = {"host", "content-length", "expect", "proxy-authenticate"};
    for (size_t i = 0; i < sizeof framing / sizeof *framing; i++)
        if (strcasecmp(name, framing[i]) == 0)
            return true;
    return pm_header_is_hop_by_hop(name);
}

/* Headers the recorded Connection header names are hop-by-hop too (RFC 9110, 7.6.1). */
static bool named_by_connection(const rp_header *headers, size_t nheaders, const char *name)
{
    for (size_t i = 0; i < nheaders; i++)
        if (strcasecmp(headers[i].name, "connection") == 0 && pm_connection_lists(headers[i].value, name))
            return true;
    return false;
}

static bool target_sets(const pm_target *t, const char *name)
{
    return pm_headers_get(t->headers, name) != NULL;
}

/* Replaces each "redacted:<16 hex>" token found in `credentials` by its value, in the
 * `len` bytes at `value` (a body may hold NUL bytes and need not end with one). The result
 * is NUL-terminated; its length goes to *out_len when asked for. */
static char *apply_credentials_n(const pm_target *t, const char *value, size_t len, size_t *out_len)
{
    char *cur = malloc(len + 1);
    if (!cur)
        return NULL;
    memcpy(cur, value, len);
    cur[len] = '\0';
    if (t->credentials) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)t->credentials, key, v) {
            size_t klen = strlen(key);
            char *hit = memmem(cur, len, key, klen);
            if (!hit)
                continue;
            const char *with = json_string_value(v);
            size_t wlen = strlen(with), at = (size_t)(hit - cur);
            char *next = malloc(len - klen + wlen + 1);
            if (!next) {
                free(cur);
                return NULL;
            }
            memcpy(next, cur, at);
            memcpy(next + at, with, wlen);
            memcpy(next + at + wlen, hit + klen, len - at - klen);
            len = len - klen + wlen;
            next[len] = '\0';
            free(cur);
            cur = next;
        }
    }
    if (out_len)
        *out_len = len;
    return cur;
}

static char *apply_credentials(const pm_target *t, const char *value)
{
    return apply_credentials_n(t, value, strlen(value), NULL);
}

/* Appends "name: value" to a header list: built with memcpy in a stack buffer when it
 * fits (curl_slist_append copies it), not snprintf'd into a malloc'd one per header. */
static int append_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value), len = nlen + vlen + 2;
    char small[512];
    char *line = len < sizeof small ? small : malloc(len + 1);
    if (!line)
        return -1;
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen + 1);
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (line != small)
        free(line);
    if (!grown)
        return -1;
    *list = grown;
    return 0;
}

static int fail(rp_call *call, const char *code, bool skipped)
{
    call->error = code;
    call->skipped = skipped;
    return -1;
}

int rp_request_build(rp_call *call, const pm_suite *suite, const rp_correlation *corr)
{
    const pm_target *t = &suite->targets[call->target];
    const rp_record *rec = call->x->rec;
    const char *missing = NULL;
    if (!rec->target)
        return fail(call, "bad_record", false);
    char *path = rp_correlation_apply(corr, call->target, pm_target_origin_form(rec->target), &missing);
    if (!path)
        return fail(call, "correlation", false);
    if (strstr(path, "redacted:")) { /* a secret query parameter, redacted at capture */
        char *filled = apply_credentials(t, path);
        free(path);
        if (!filled || strstr(filled, "redacted:")) {
            free(filled);
            return fail(call, "no_credentials", true);
        }
        path = filled;
    }
    /* the target as recorded, byte for byte: a control byte or space could end the
     * request line early (a recorded attack would smuggle a request into the backend) */
    if (!pm_target_is_clean(path)) {
        free(path);
        return fail(call, "bad_target", false);
    }
    if (pm_request_for(t->url, path, &call->url, &call->request_target) != 0) {
        free(path);
        return fail(call, "out_of_memory", false);
    }
    free(path);

    bool has_accept = false, has_connection = false;
    for (size_t h = 0; h < rec->n_req_headers && !has_connection; h++)
        has_connection = strcasecmp(rec->req_headers[h].name, "connection") == 0;
    for (size_t h = 0; h < rec->n_req_headers; h++) {
        const char *name = rec->req_headers[h].name, *value = rec->req_headers[h].value;
        bool recorded_host = strcasecmp(name, "host") == 0 && pm_is_unix_url(t->url);
        if ((is_dropped(name) && !recorded_host) || target_sets(t, name) ||
            (has_connection && named_by_connection(rec->req_headers, rec->n_req_headers, name)))
            continue;
        has_accept |= strcasecmp(name, "accept") == 0;
        char *correlated = rp_correlation_apply(corr, call->target, value, &missing);
        if (!correlated)
            return fail(call, "correlation", false);
        char *final = apply_credentials(t, correlated);
        free(correlated);
        if (!final)
            return fail(call, "out_of_memory", false);
        if (strstr(final, "redacted:")) {
            free(final);
            return fail(call, "no_credentials", true);
        }
        if (!pm_field_name_is_token(name) || !pm_field_value_is_clean(final)) {
            /* a CR or LF would end the line early: a recorded attack (or a hand-made or
             * imported capture) would add headers, or a request, to the backend's stream */
            free(final);
            return fail(call, "bad_header", false);
        }
        int added = append_header(&call->headers, name, final);
        free(final);
        if (added != 0)
            return fail(call, "out_of_memory", false);
    }
    size_t i;
    const json_t *pair;
    json_array_foreach(t->headers, i, pair) {
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *value = json_string_value(json_array_get(pair, 1));
        if (!pm_field_name_is_token(name) || !pm_field_value_is_clean(value))
            return fail(call, "bad_header", false);
        if (append_header(&call->headers, name, value) != 0)
            return fail(call, "out_of_memory", false);
        has_accept |= strcasecmp(name, "accept") == 0;
    }
    /* curl adds these unless told not to; the recording is what is sent */
    call->headers = curl_slist_append(call->headers, "Expect:");
    if (!has_accept)
        call->headers = curl_slist_append(call->headers, "Accept:");
    if (rp_record_request_body(rec, &call->body, &call->body_len) != 0)
        return fail(call, "bad_record", false);
    if (rec->req_body_redacted ||
        (call->body_len > 9 && memmem(call->body, call->body_len, "redacted:", 9))) {
        /* a secret field was replaced at capture: only configured credentials can fill it */
        size_t filled_len = 0;
        char *filled = apply_credentials_n(t, (const char *)call->body, call->body_len, &filled_len);
        if (!filled || memmem(filled, filled_len, "redacted:", 9)) {
            free(filled);
            return fail(call, "no_credentials", true);
        }
        free(call->body);
        call->body = (unsigned char *)filled;
        call->body_len = filled_len;
    }
    return 0;
}
