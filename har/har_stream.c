/* SPDX-License-Identifier: Apache-2.0 */
/*
 * har_stream.c — a HAR document read as a stream, one entry at a time.
 *
 * A HAR is one JSON document, and devtools write them with whole response bodies
 * inline: hundreds of megabytes are common. Loading it with jansson would hold the
 * whole tree (several times the file) in memory, so instead the skeleton —
 * {"log": {..., "entries": [e0, e1, ...]}} — is walked here by hand, and each entry (and
 * each other member of the document or of `log`, to check it and skip it) is handed to
 * jansson alone. Memory is one entry, whatever the file's size.
 *
 * jansson reads through a callback; a pre-scan (strings, escapes, bracket depth) feeds it
 * exactly the bytes of one object or array, so it never reads past the value's end and
 * nothing is lost between values. Scalars between entries are checked here. The input
 * is read through core's gzip input (pm_gzin: a gzip HAR inflated, a plain one as it is; the
 * bytes inflated before damage are handed out before the damage is named).
 */
#include "har_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define KEY_MAX 64

enum { ST_START, ST_ROOT, ST_LOG, ST_ENTRIES, ST_TAIL, ST_DONE };

struct har_stream {
    char *name;
    pm_gzin *gz;                /* NULL: reading from memory */
    const unsigned char *data;  /* the current window: memory, or buf */
    unsigned char *buf;
    size_t pos, len;
    uint64_t base;              /* file offset of data[0] */
    bool eof;                   /* the input has no more bytes */
    char read_error[160];       /* the input's complaint (a damaged gzip stream) */
    int state;
    bool first;                 /* the container being walked has no member yet */
    bool seen_log, seen_entries;
    uint64_t index;             /* the next entry's position in log.entries */
    /* the value jansson is reading: scan state */
    int depth;
    bool in_string, escaped, value_done;
};

/* ---- bytes ---------------------------------------------------------------------------- */

static bool fill(har_stream *s)
{
    if (s->pos < s->len)
        return true;
    if (!s->gz || s->eof) {
        s->eof = true;
        return false;
    }
    s->base += s->len;
    s->pos = s->len = 0;
    ssize_t n = pm_gzin_read(s->gz, s->buf, READ_SIZE);
    if (n <= 0) {
        if (n < 0) {
            const char *msg = NULL;
            pm_gzin_error(s->gz, &msg);
            snprintf(s->read_error, sizeof s->read_error, "%s", msg && *msg ? msg : "read error");
        }
        s->eof = true;
        return false;
    }
    s->len = (size_t)n;
    return true;
}

static int peek(har_stream *s)
{
    return fill(s) ? s->data[s->pos] : -1;
}

static int next_byte(har_stream *s)
{
    return fill(s) ? s->data[s->pos++] : -1;
}

static uint64_t offset(const har_stream *s)
{
    return s->base + s->pos;
}

static int skip_space(har_stream *s)
{
    int c;
    while ((c = peek(s)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        s->pos++;
    return c;
}

/* ---- messages ------------------------------------------------------------------------- */

/* Where the walk is, for messages: "log.entries[12]", "after log.entries[11]", "log". */
static void where(const har_stream *s, char *buf, size_t size)
{
    switch (s->state) {
    case ST_START:
        snprintf(buf, size, "the start of the document");
        break;
    case ST_ROOT:
        snprintf(buf, size, "the top-level object");
        break;
    case ST_LOG:
        snprintf(buf, size, "the log object");
        break;
    case ST_ENTRIES:
        if (s->index == 0)
            snprintf(buf, size, "log.entries, before its first entry");
        else
            snprintf(buf, size, "log.entries, after entry %llu", (unsigned long long)(s->index - 1));
        break;
    default:
        snprintf(buf, size, "the end of the document");
    }
}

/* "FILE: truncated: the file ends inside log.entries[12]" or a syntax error at a byte
 * (counted from 0). */
static int fail_at_offset(har_stream *s, pm_err *err, const char *what, uint64_t at)
{
    char w[96];
    where(s, w, sizeof w);
    if (s->read_error[0])
        return pm_err_set(err, "%s: truncated or damaged (%s) in %s", s->name, s->read_error, w);
    if (s->eof)
        return pm_err_set(err, "%s: truncated: the file ends in %s", s->name, w);
    return pm_err_set(err, "%s: byte %llu: %s in %s", s->name, (unsigned long long)at, what, w);
}

static int fail_at(har_stream *s, pm_err *err, const char *what)
{
    return fail_at_offset(s, err, what, offset(s));
}

/* ---- values jansson reads --------------------------------------------------------------- */

/* Feeds jansson the bytes of one object or array and not one byte more. */
static size_t feed(void *buffer, size_t buflen, void *data)
{
    har_stream *s = data;
    if (s->value_done || !fill(s))
        return 0;
    size_t avail = s->len - s->pos;
    if (avail > buflen)
        avail = buflen;
    const unsigned char *p = s->data + s->pos;
    size_t n = 0;
    while (n < avail && !s->value_done) {
        unsigned char c = p[n++];
        if (s->in_string) {
            if (s->escaped)
                s->escaped = false;
            else if (c == '\\')
                s->escaped = true;
            else if (c == '"')
                s->in_string = false;
        } else if (c == '"') {
            s->in_string = true;
        } else if (c == '{' || c == '[') {
            s->depth++;
        } else if (c == '}' || c == ']') {
            if (--s->depth <= 0)
                s->value_done = true;
        }
    }
    memcpy(buffer, p, n);
    s->pos += n;
    return n;
}

/* Parses the object or array at the current position. *out: the value, or NULL. */
static int load_value(har_stream *s, json_t **out, const char *name, pm_err *err)
{
    uint64_t start = offset(s);
    s->depth = 0;
    s->in_string = s->escaped = s->value_done = false;
    json_error_t jerr;
    json_t *v = json_load_callback(feed, s, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        if (s->read_error[0])
            return pm_err_set(err, "%s: %s: truncated or damaged (%s)", s->name, name, s->read_error);
        if (s->eof && !s->value_done)
            return pm_err_set(err, "%s: %s: truncated: the file ends inside it", s->name, name);
        return pm_err_set(err, "%s: %s: invalid JSON at byte %llu: %s", s->name, name,
                          (unsigned long long)(start + (uint64_t)(jerr.position > 0 ? jerr.position - 1 : 0)),
                          jerr.text);
    }
    if (!s->value_done) { /* cannot happen for JSON jansson accepts; never lose sync silently */
        json_decref(v);
        return pm_err_set(err, "%s: %s: could not find the end of the value", s->name, name);
    }
    if (out)
        *out = v;
    else
        json_decref(v);
    return 0;
}

/* ---- scalars, checked and skipped here ------------------------------------------------- */

/* Reads a string at the current position (on its opening quote). Its decoded text goes
 * into key when it fits (*fits tells), so member names can be compared. */
static int read_string(har_stream *s, char *key, size_t key_size, bool *fits, pm_err *err)
{
    char raw[KEY_MAX * 6 + 1];
    size_t n = 0;
    bool long_string = false, escaped = false;
    s->pos++; /* the opening quote */
    for (;;) {
        int c = next_byte(s);
        if (c < 0)
            return fail_at(s, err, "unterminated string");
        if (c < 0x20) {
            s->pos--;
            return fail_at(s, err, "control character in a string");
        }
        if (escaped)
            escaped = false;
        else if (c == '\\')
            escaped = true;
        else if (c == '"')
            break;
        if (n < sizeof raw - 1)
            raw[n++] = (char)c;
        else
            long_string = true;
    }
    if (!key)
        return 0;
    size_t out_len = 0;
    *fits = !long_string && n < key_size && pm_jstr_unescape(raw, n, key, &out_len) == 0 && out_len < key_size;
    if (*fits)
        key[out_len] = '\0';
    return 0;
}

static bool number_ok(const char *t, size_t n)
{
    size_t i = 0;
    if (i < n && t[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (t[i] == '0')
        i++;
    else if (t[i] >= '1' && t[i] <= '9')
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    else
        return false;
    if (i < n && t[i] == '.') {
        size_t d = ++i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

/* Skips any value: objects and arrays through jansson (checked), scalars here. */
static int skip_value(har_stream *s, const char *name, pm_err *err)
{
    int c = skip_space(s);
    if (c == '{' || c == '[')
        return load_value(s, NULL, name, err);
    if (c == '"')
        return read_string(s, NULL, 0, NULL, err);
    char tok[40];
    size_t n = 0;
    uint64_t start = offset(s);
    while ((c = peek(s)) >= 0 && (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') ||
                                  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
        if (n < sizeof tok - 1)
            tok[n++] = (char)c;
        else
            n = sizeof tok; /* too long for any literal or sane number */
        s->pos++;
    }
    if (n == 0 && c < 0)
        return fail_at(s, err, "a value is missing");
    if (n == 0 || n >= sizeof tok)
        return fail_at_offset(s, err, "not a JSON value", start);
    tok[n] = '\0';
    if (strcmp(tok, "true") && strcmp(tok, "false") && strcmp(tok, "null") && !number_ok(tok, n))
        return fail_at_offset(s, err, "not a JSON value", start);
    return 0;
}

/* ---- the skeleton ------------------------------------------------------------------------ */

/* The next member of the object being walked: 1 with its name in key (fits false when
 * the name is too long to be one we look for), 0 at the object's closing brace. */
static int next_member(har_stream *s, char *key, bool *fits, pm_err *err)
{
    int c = skip_space(s);
    if (c == '}') {
        s->pos++;
        return 0;
    }
    if (!s->first) {
        if (c != ',')
            return fail_at(s, err, "expected ',' or '}'");
        s->pos++;
        c = skip_space(s);
    }
    s->first = false;
    if (c != '"')
        return fail_at(s, err, "expected a member name");
    if (read_string(s, key, KEY_MAX, fits, err) != 0)
        return -1;
    if (skip_space(s) != ':')
        return fail_at(s, err, "expected ':'");
    s->pos++;
    skip_space(s);
    return 1;
}

/* Opens the object or array that must be the current value. */
static int enter(har_stream *s, int open, int state, const char *what, pm_err *err)
{
    int c = skip_space(s);
    if (c != open) {
        if (c < 0)
            return fail_at(s, err, "a value is missing");
        return pm_err_set(err, "%s: not a HAR: %s is not %s (byte %llu)", s->name, what,
                          open == '{' ? "an object" : "an array", (unsigned long long)offset(s));
    }
    s->pos++;
    s->state = state;
    s->first = true;
    return 0;
}

/* One entry: 1 with it, 0 at the end of the array. */
static int next_entry(har_stream *s, json_t **entry, uint64_t *index, pm_err *err)
{
    int c = skip_space(s);
    if (c == ']') {
        s->pos++;
        return 0;
    }
    if (!s->first) {
        if (c != ',')
            return fail_at(s, err, "expected ',' or ']'");
        s->pos++;
        c = skip_space(s);
    }
    s->first = false;
    char name[64];
    snprintf(name, sizeof name, "log.entries[%llu]", (unsigned long long)s->index);
    if (c == '{' || c == '[') {
        if (load_value(s, entry, name, err) != 0)
            return -1;
    } else {
        if (c == ']')
            return fail_at(s, err, "a value is missing");
        if (skip_value(s, name, err) != 0)
            return -1;
        *entry = json_null(); /* not an object: the importer says so and skips it */
    }
    *index = s->index++;
    return 1;
}

int har_stream_next(har_stream *s, json_t **entry, uint64_t *index, pm_err *err)
{
    char key[KEY_MAX];
    bool fits = false;
    *entry = NULL;
    for (;;) {
        int rc;
        switch (s->state) {
        case ST_START: {
            int c = skip_space(s);
            if (c == 0xEF) { /* a UTF-8 byte order mark, as some Windows tools write */
                s->pos++;
                if (next_byte(s) != 0xBB || next_byte(s) != 0xBF)
                    return pm_err_set(err, "%s: not a HAR: not JSON (byte 0)", s->name);
                c = skip_space(s);
            }
            if (c < 0)
                return pm_err_set(err, "%s: not a HAR: %s", s->name,
                                  s->read_error[0] ? s->read_error : "the file is empty");
            if (c != '{')
                return pm_err_set(err, "%s: not a HAR: the document is not a JSON object (byte %llu)",
                                  s->name, (unsigned long long)offset(s));
            s->pos++;
            s->state = ST_ROOT;
            s->first = true;
            break;
        }
        case ST_ROOT:
            rc = next_member(s, key, &fits, err);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                s->state = ST_TAIL;
            } else if (fits && strcmp(key, "log") == 0) {
                if (s->seen_log)
                    return pm_err_set(err, "%s: byte %llu: a second \"log\" member", s->name,
                                      (unsigned long long)offset(s));
                s->seen_log = true;
                if (enter(s, '{', ST_LOG, "log", err) != 0)
                    return -1;
            } else if (skip_value(s, "a top-level member", err) != 0) {
                return -1;
            }
            break;
        case ST_LOG:
            rc = next_member(s, key, &fits, err);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                if (!s->seen_entries)
                    return pm_err_set(err, "%s: not a HAR: log has no \"entries\" array", s->name);
                s->state = ST_ROOT;
                s->first = false;
            } else if (fits && strcmp(key, "entries") == 0) {
                if (s->seen_entries)
                    return pm_err_set(err, "%s: byte %llu: a second \"entries\" member in log", s->name,
                                      (unsigned long long)offset(s));
                s->seen_entries = true;
                if (enter(s, '[', ST_ENTRIES, "log.entries", err) != 0)
                    return -1;
            } else {
                char name[KEY_MAX + 8];
                snprintf(name, sizeof name, "log.%s", fits ? key : "(member)");
                if (skip_value(s, name, err) != 0)
                    return -1;
            }
            break;
        case ST_ENTRIES:
            rc = next_entry(s, entry, index, err);
            if (rc != 0)
                return rc;
            s->state = ST_LOG;
            s->first = false;
            break;
        case ST_TAIL:
            if (skip_space(s) >= 0)
                return pm_err_set(err, "%s: byte %llu: data after the end of the HAR document", s->name,
                                  (unsigned long long)offset(s));
            if (s->read_error[0])
                return pm_err_set(err, "%s: damaged at its end (%s)", s->name, s->read_error);
            if (!s->seen_log)
                return pm_err_set(err, "%s: not a HAR: no \"log\" object", s->name);
            s->state = ST_DONE;
            return 0;
        default:
            return 0;
        }
    }
}

har_stream *har_stream_open(const char *path, const void *data, size_t len, pm_err *err)
{
    har_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(path ? path : "-"))) {
        free(s);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (data) {
        s->data = data;
        s->len = len;
        return s;
    }
    int fd = strcmp(s->name, "-") == 0 ? dup(STDIN_FILENO) : open(s->name, O_RDONLY | O_CLOEXEC);
    int open_errno = errno;
    s->gz = fd >= 0 ? pm_gzin_open(fd) : NULL;
    s->buf = malloc(READ_SIZE);
    if (!s->gz || !s->buf) {
        pm_err_set(err, "%s: cannot open: %s", s->name, fd >= 0 ? "out of memory" : strerror(open_errno));
        if (!s->gz && fd >= 0)
            close(fd);
        har_stream_close(s);
        return NULL;
    }
    s->data = s->buf;
    return s;
}

void har_stream_close(har_stream *s)
{
    if (!s)
        return;
    if (s->gz)
        pm_gzin_close(s->gz);
    free(s->buf);
    free(s->name);
    free(s);
}
