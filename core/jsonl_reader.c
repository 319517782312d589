/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonl_reader.c — streams records from a JSON Lines file, gzip or plain.
 *
 * pm_gzin (gz_input.c) reads both (it passes plain bytes through), so the reader trusts the
 * bytes, not the name; unlike gzread, it hands out what it inflated before damage. Memory
 * is one line at a time. The contract that matters most:
 * a file cut short — by a crash, a kill, a full disk — still yields every complete
 * record, and the damage is reported once, as a warning naming the record after which
 * it happened, instead of failing the whole file. A line longer than the line cap
 * (PM_JSONL_LINE_MAX) is an error naming file:line as soon as the cap is passed, so one
 * hostile line cannot make the reader hold (and jansson parse) hundreds of megabytes.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

struct pm_jsonl_reader {
    char *path;
    pm_gzin *gz;
    char *buf;
    size_t start, end, cap; /* unread bytes are buf[start, end) */
    bool eof;
    bool skip_bad;
    size_t max_line;  /* the line cap, newline excluded */
    uint64_t line, records, skipped;
    char *warning;
    const char *text; /* the last record's line, inside buf (valid until the next call) */
    off_t size;       /* the file's size when it is a regular file, else -1 */
    size_t text_len;
    pm_jtape tape;    /* reused: lines become trees through a tape (see tree_of) */
};

pm_jsonl_reader *pm_jsonl_reader_open(const char *path, pm_err *err)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pm_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    pm_jsonl_reader *r = calloc(1, sizeof *r);
    if (!r) {
        close(fd);
        pm_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    struct stat st;
    r->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? st.st_size : -1;
    r->gz = pm_gzin_open(fd);
    if (!r->gz) {
        close(fd);
        free(r);
        pm_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    r->path = strdup(path);
    r->max_line = PM_JSONL_LINE_MAX;
    r->cap = READ_CHUNK * 2;
    r->buf = malloc(r->cap);
    return r;
}

void pm_jsonl_reader_set_skip_bad(pm_jsonl_reader *r, bool skip_bad)
{
    r->skip_bad = skip_bad;
}

void pm_jsonl_reader_set_max_line(pm_jsonl_reader *r, size_t max_line)
{
    r->max_line = max_line ? max_line : PM_JSONL_LINE_MAX;
}

static void set_warning(pm_jsonl_reader *r, const char *what)
{
    if (r->warning)
        return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s after record %llu (line %llu); %llu complete records read",
             r->path, what, (unsigned long long)r->records, (unsigned long long)r->line,
             (unsigned long long)r->records);
    r->warning = strdup(msg);
}

/* Reads more bytes into the buffer. 1: got some; 0: end (clean or damaged); -1: error. */
static int fill(pm_jsonl_reader *r, pm_err *err)
{
    if (r->eof)
        return 0;
    if (r->start > 0 && r->start == r->end)
        r->start = r->end = 0;
    if (r->cap - r->end < READ_CHUNK) {
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        if (r->cap - r->end < READ_CHUNK) {
            /* next_line calls with at most max_line unread bytes: the buffer never needs
             * more than max_line + READ_CHUNK */
            size_t cap = r->cap * 2, limit = r->max_line + READ_CHUNK;
            if (cap > limit)
                cap = limit > r->end + READ_CHUNK ? limit : r->end + READ_CHUNK;
            char *p = realloc(r->buf, cap);
            if (!p)
                return pm_err_set(err, "%s: out of memory", r->path);
            r->buf = p;
            r->cap = cap;
        }
    }
    ssize_t n = pm_gzin_read(r->gz, r->buf + r->end, READ_CHUNK);
    if (n > 0) {
        r->end += (size_t)n;
        return 1;
    }
    r->eof = true;
    const char *msg;
    pm_gzin_status code = pm_gzin_error(r->gz, &msg);
    if (n == 0)
        return 0;
    if (code == PM_GZIN_TRUNCATED) { /* "unexpected end of file": a truncated gzip stream */
        set_warning(r, "gzip stream ends early (truncated file)");
        return 0;
    }
    if (code == PM_GZIN_ERRNO)
        return pm_err_set(err, "%s: read failed: %s", r->path, msg);
    if (r->records == 0 && r->end == r->start)
        return pm_err_set(err, "%s: not a JSON Lines file: corrupt gzip data (%s)", r->path, msg);
    set_warning(r, "corrupt gzip data");
    return 0;
}

/* A line that is not a record: the end's damage (a warning), skipped (skip_bad), or the
 * error naming file:line. 0 or -1. */
static int bad_line(pm_jsonl_reader *r, bool last_unterminated, const char *problem, const char *detail,
                    pm_err *err)
{
    if (last_unterminated) {
        set_warning(r, "truncated last line");
        return 0;
    }
    if (r->skip_bad) {
        r->skipped++;
        return 0;
    }
    return pm_err_set(err, "%s:%llu: %s%s", r->path, (unsigned long long)r->line, problem, detail);
}

/* Parses one line; 1 record, 0 skipped (blank or bad with skip_bad), -1 error. */
/* Without a tree (record == NULL): the line is the caller's to check, except a last line
 * without its newline, which is a record only when it is whole JSON. */
static int take_line(pm_jsonl_reader *r, char *line, size_t len, bool last_unterminated)
{
    if (last_unterminated) {
        pm_jtape t = {0};
        int whole = pm_jtape_parse(&t, line, len, JSON_PARSER_MAX_DEPTH) == 0;
        pm_jtape_free(&t);
        if (!whole) {
            set_warning(r, "truncated last line");
            return 0;
        }
    }
    r->records++;
    r->text = line;
    r->text_len = len;
    return 1;
}

static int next_line(pm_jsonl_reader *r, json_t **record, pm_jtape *tape, pm_err *err);

/* A line's tree the fast way (pm_jtape_json: tokenized, then built; about twice
 * json_loadb's speed on capture lines, measured by bench/run.sh), or NULL when the line
 * is not plain valid JSON: then jansson parses it, and says why when it cannot. */
static json_t *tree_of(pm_jsonl_reader *r, const char *line, size_t len)
{
    if (!pm_utf8_valid((const unsigned char *)line, len) ||
        pm_jtape_parse(&r->tape, line, len, JSON_PARSER_MAX_DEPTH) != 0)
        return NULL;
    return pm_jtape_json(&r->tape, 0);
}

/* What is wrong with a line as a record, checked on its tape (NULL: nothing); detail gets
 * the specifics. The same checks as the tree's below. */
static const char *tape_problem(pm_jtape *t, const char *line, size_t len, char *detail, size_t size)
{
    if (!pm_utf8_valid((const unsigned char *)line, len)) {
        snprintf(detail, size, " (invalid UTF-8)");
        return "not JSON";
    }
    if (pm_jtape_parse(t, line, len, JSON_PARSER_MAX_DEPTH) != 0) {
        snprintf(detail, size, " (%s at column %zu)", t->error, t->error_at + 1);
        return "not JSON";
    }
    if (t->tok[0].type != PM_JOBJ)
        return "not a JSON object";
    long v = pm_jtape_find(t, 0, "v");
    if (v < 0 || t->tok[v].type != PM_JNUM || !(t->tok[v].flags & PM_JTOK_INTEGER) || !pm_jtape_number_ok(t, &t->tok[v]))
        return "record has no \"v\" version key";
    const char *num = line + t->tok[v].start;
    if (t->tok[v].end - t->tok[v].start != 1 || *num != '1') {
        snprintf(detail, size, " (v=%.*s; this pmirror reads v=1)", (int)(t->tok[v].end - t->tok[v].start), num);
        return "unsupported record version";
    }
    return NULL;
}

static int parse_line(pm_jsonl_reader *r, char *line, size_t len, bool last_unterminated,
                      json_t **record, pm_jtape *tape, pm_err *err)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    if (!record && !tape)
        return take_line(r, line, len, last_unterminated);
    const char *problem = NULL;
    char detail[256] = "";
    if (tape) {
        if (!(problem = tape_problem(tape, line, len, detail, sizeof detail))) {
            r->records++;
            r->text = line;
            r->text_len = len;
            return 1;
        }
        return bad_line(r, last_unterminated, problem, detail, err);
    }
    json_error_t jerr;
    /* DECODE_ANY: a line holding `"x"` or `42` is JSON, just not a record object. */
    json_t *v = tree_of(r, line, len);
    if (!v)
        v = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr); /* bodies may hold NUL */
    if (!v) {
        problem = "not JSON";
        snprintf(detail, sizeof detail, " (%s at column %d)", jerr.text, jerr.column);
    } else if (!json_is_object(v)) {
        problem = "not a JSON object";
    } else {
        json_t *ver = json_object_get(v, "v");
        if (!json_is_integer(ver))
            problem = "record has no \"v\" version key";
        else if (json_integer_value(ver) != 1) {
            problem = "unsupported record version";
            snprintf(detail, sizeof detail, " (v=%lld; this pmirror reads v=1)",
                     (long long)json_integer_value(ver));
        }
    }
    if (!problem) {
        *record = v;
        r->records++;
        r->text = line;
        r->text_len = len;
        return 1;
    }
    json_decref(v);
    return bad_line(r, last_unterminated, problem, detail, err);
}

int pm_jsonl_reader_next(pm_jsonl_reader *r, json_t **record, pm_err *err)
{
    *record = NULL;
    return next_line(r, record, NULL, err);
}

int pm_jsonl_reader_next_tape(pm_jsonl_reader *r, pm_jtape *tape, const char **text, size_t *len, pm_err *err)
{
    int rc = next_line(r, NULL, tape, err);
    *text = rc == 1 ? r->text : NULL;
    *len = rc == 1 ? r->text_len : 0;
    return rc;
}

int pm_jsonl_reader_next_text(pm_jsonl_reader *r, const char **text, size_t *len, pm_err *err)
{
    int rc = next_line(r, NULL, NULL, err);
    *text = rc == 1 ? r->text : NULL;
    *len = rc == 1 ? r->text_len : 0;
    return rc;
}

/* Line r->line is longer than the cap: skipped and counted (skip_bad, 0) or the error
 * naming file:line (-1). */
static int line_too_long(pm_jsonl_reader *r, pm_err *err)
{
    if (r->skip_bad) {
        r->skipped++;
        return 0;
    }
    return pm_err_set(err, "%s:%llu: line longer than %zu bytes (the JSON Lines line cap)", r->path,
                      (unsigned long long)r->line, r->max_line);
}

/* Drops the rest of an over-long line, up to and including its newline, reading on as
 * needed but holding no more than a read's worth. 1: dropped; 0: the input ended; -1. */
static int drop_rest_of_line(pm_jsonl_reader *r, pm_err *err)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            r->start = (size_t)(nl - r->buf) + 1;
            return 1;
        }
        r->start = r->end;
        int rc = fill(r, err);
        if (rc <= 0)
            return rc;
    }
}

static int next_line(pm_jsonl_reader *r, json_t **record, pm_jtape *tape, pm_err *err)
{
    size_t scanned = 0; /* bytes after r->start already known to hold no newline */
    for (;;) {
        char *from = r->buf + r->start + scanned;
        char *nl = memchr(from, '\n', r->end - r->start - scanned);
        if (nl) {
            char *line = r->buf + r->start;
            size_t len = (size_t)(nl - line);
            r->start += len + 1;
            scanned = 0;
            r->line++;
            int rc = len > r->max_line ? line_too_long(r, err) : parse_line(r, line, len, false, record, tape, err);
            if (rc != 0)
                return rc;
            continue;
        }
        scanned = r->end - r->start;
        if (scanned > r->max_line) { /* no newline within the cap: stop holding this line */
            r->line++;
            if (line_too_long(r, err) != 0)
                return -1;
            int rc = drop_rest_of_line(r, err);
            if (rc <= 0)
                return rc;
            scanned = 0;
            continue;
        }
        int rc = fill(r, err); /* may move the unread bytes to the front */
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (r->start == r->end)
                return 0;
            /* A last line without its newline: a record if it parses, else damage. */
            char *line = r->buf + r->start;
            size_t len = r->end - r->start;
            r->start = r->end;
            r->line++;
            rc = parse_line(r, line, len, true, record, tape, err);
            return rc < 0 ? -1 : rc;
        }
    }
}

double pm_jsonl_reader_progress(const pm_jsonl_reader *r)
{
    if (r->size <= 0)
        return -1;
    off_t at = pm_gzin_offset(r->gz);
    return at < 0 ? -1 : (double)at / (double)r->size;
}

const char *pm_jsonl_reader_text(const pm_jsonl_reader *r, size_t *len)
{
    *len = r->text_len;
    return r->text;
}

const char *pm_jsonl_reader_warning(const pm_jsonl_reader *r)
{
    return r->warning;
}

uint64_t pm_jsonl_reader_line(const pm_jsonl_reader *r)
{
    return r->line;
}

uint64_t pm_jsonl_reader_records(const pm_jsonl_reader *r)
{
    return r->records;
}

uint64_t pm_jsonl_reader_skipped(const pm_jsonl_reader *r)
{
    return r->skipped;
}

void pm_jsonl_reader_close(pm_jsonl_reader *r)
{
    if (!r)
        return;
    pm_gzin_close(r->gz);
    free(r->buf);
    free(r->path);
    free(r->warning);
    pm_jtape_free(&r->tape);
    free(r);
}
