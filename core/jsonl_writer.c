/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonl_writer.c — writes records as JSON Lines, plain or gzip (by the ".gz" suffix).
 *
 * What a reader may see of a file being written is the point of this file:
 *  - plain files receive whole lines only: records gather in a buffer of complete lines
 *    that goes to write(2) when full or when the flush interval has passed;
 *  - gzip files get a Z_SYNC_FLUSH at the same interval, so everything written before
 *    the last flush decompresses even if the process is killed mid-stream (the reader
 *    then reports the truncated stream and yields every complete record).
 * A clean close leaves no partial line. Files are created 0600 (they hold traffic) and
 * never through a symbolic link (pm_output_open).
 * Close fsyncs. A plain file also starts the kernel's write-back of every WRITEBACK_BYTES
 * written (sync_file_range, not waiting for it): left to the close, a replay's 1 GB of
 * results held the close for seconds of a bench/replay.sh run, the disk idle until then.
 * After a failed write (a full disk) every later call fails with that first message, so
 * whoever reports the error names the file and the cause, not "an earlier write failed".
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PLAIN_BUFFER_SIZE (64 * 1024)
#define WRITEBACK_BYTES ((uint64_t)8 << 20)

struct pm_jsonl_writer {
    char *path;
    int fd;
    bool is_stdout;
    gzFile gz;          /* NULL for plain output */
    char *buf;          /* plain: complete lines not yet written */
    size_t len, cap;
    char *line;         /* scratch for one serialized record */
    size_t line_len, line_cap;
    unsigned flush_ms;
    uint64_t last_flush_ms;
    uint64_t count;
    uint64_t written, written_back; /* plain files: bytes written, and handed to write-back */
    bool failed;
    char failure[512]; /* the first failure's message, repeated by every later call */
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

pm_jsonl_writer *pm_jsonl_writer_open(const char *path, pm_err *err)
{
    pm_jsonl_writer *w = calloc(1, sizeof *w);
    if (!w) {
        pm_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    w->path = strdup(path);
    w->flush_ms = PM_JSONL_FLUSH_MS_DEFAULT;
    w->last_flush_ms = pm_now_ms();
    if (strcmp(path, "-") == 0) {
        w->fd = STDOUT_FILENO;
        w->is_stdout = true;
    } else {
        w->fd = pm_output_open(path, err); /* 0600, never through a symbolic link */
        if (w->fd < 0) {
            free(w->path);
            free(w);
            return NULL;
        }
    }
    if (!w->is_stdout && ends_with(path, ".gz")) {
        int fd2 = dup(w->fd);
        w->gz = fd2 >= 0 ? gzdopen(fd2, "wb6") : NULL;
        if (!w->gz) {
            if (fd2 >= 0)
                close(fd2);
            pm_err_set(err, "%s: cannot start gzip stream", path);
            close(w->fd);
            free(w->path);
            free(w);
            return NULL;
        }
        gzbuffer(w->gz, 128 * 1024);
    } else {
        w->cap = PLAIN_BUFFER_SIZE;
        w->buf = malloc(w->cap);
    }
    return w;
}

int pm_jsonl_writer_set_gzip_level(pm_jsonl_writer *w, int level)
{
    if (!w->gz || level < 1 || level > 9 || w->count > 0)
        return -1;
    return gzsetparams(w->gz, level, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
}

void pm_jsonl_writer_set_flush_ms(pm_jsonl_writer *w, unsigned flush_ms)
{
    if (flush_ms > 0)
        w->flush_ms = flush_ms;
}

uint64_t pm_jsonl_writer_count(const pm_jsonl_writer *w)
{
    return w->count;
}

/* Records the first failure (w->failure) and fills err with it; returns -1. */
static int fail(pm_jsonl_writer *w, pm_err *err, const char *cause)
{
    if (!w->failed) {
        w->failed = true;
        snprintf(w->failure, sizeof w->failure, "%s: write failed: %s",
                 w->is_stdout ? "standard output" : w->path, cause);
    }
    return pm_err_set(err, "%s", w->failure);
}

static int gz_fail(pm_jsonl_writer *w, pm_err *err)
{
    int code;
    const char *msg = gzerror(w->gz, &code);
    return fail(w, err, code == Z_ERRNO ? strerror(errno) : msg);
}

static int write_all(pm_jsonl_writer *w, const char *data, size_t len, pm_err *err)
{
    while (len > 0) {
        ssize_t n = write(w->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(w, err, strerror(errno));
        }
        data += n;
        len -= (size_t)n;
        w->written += (uint64_t)n;
    }
    if (!w->is_stdout && w->written - w->written_back >= WRITEBACK_BYTES) {
        /* a device or a pipe says ESPIPE or EINVAL: nothing to start, nothing lost */
        sync_file_range(w->fd, (off_t)w->written_back, (off_t)(w->written - w->written_back), SYNC_FILE_RANGE_WRITE);
        w->written_back = w->written;
    }
    return 0;
}

int pm_jsonl_writer_flush(pm_jsonl_writer *w, pm_err *err)
{
    w->last_flush_ms = pm_now_ms();
    if (w->failed)
        return pm_err_set(err, "%s", w->failure);
    if (w->gz)
        return gzflush(w->gz, Z_SYNC_FLUSH) == Z_OK ? 0 : gz_fail(w, err);
    if (w->len > 0) {
        int rc = write_all(w, w->buf, w->len, err);
        w->len = 0;
        return rc;
    }
    return 0;
}

int pm_jsonl_writer_tick(pm_jsonl_writer *w, pm_err *err)
{
    if (pm_now_ms() - w->last_flush_ms >= w->flush_ms)
        return pm_jsonl_writer_flush(w, err);
    return 0;
}

static int append_line(const char *data, size_t size, void *ctx)
{
    pm_jsonl_writer *w = ctx;
    if (w->line_len + size + 1 > w->line_cap) {
        size_t cap = w->line_cap ? w->line_cap : 4096;
        while (cap < w->line_len + size + 1)
            cap *= 2;
        char *p = realloc(w->line, cap);
        if (!p)
            return -1;
        w->line = p;
        w->line_cap = cap;
    }
    memcpy(w->line + w->line_len, data, size);
    w->line_len += size;
    return 0;
}

/* Appends w->line (one record plus its newline) to the output. */
static int emit_line(pm_jsonl_writer *w, pm_err *err)
{
    if (w->gz) {
        if (gzwrite(w->gz, w->line, (unsigned)w->line_len) != (int)w->line_len)
            return gz_fail(w, err);
    } else {
        if (w->len + w->line_len > w->cap && pm_jsonl_writer_flush(w, err) != 0)
            return -1;
        if (w->line_len > w->cap) {
            if (write_all(w, w->line, w->line_len, err) != 0)
                return -1;
        } else {
            memcpy(w->buf + w->len, w->line, w->line_len);
            w->len += w->line_len;
        }
    }
    w->count++;
    return pm_jsonl_writer_tick(w, err);
}

int pm_jsonl_writer_write(pm_jsonl_writer *w, const json_t *record, pm_err *err)
{
    if (w->failed)
        return pm_err_set(err, "%s", w->failure);
    w->line_len = 0;
    if (json_dump_callback(record, append_line, w, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
        return pm_err_set(err, "%s: cannot serialize record %llu", w->path,
                          (unsigned long long)w->count + 1);
    if (append_line("\n", 1, w) != 0)
        return pm_err_set(err, "%s: out of memory", w->path);
    return emit_line(w, err);
}

int pm_jsonl_writer_write_line(pm_jsonl_writer *w, const char *line, size_t len, pm_err *err)
{
    if (w->failed)
        return pm_err_set(err, "%s", w->failure);
    if (memchr(line, '\n', len))
        return pm_err_set(err, "%s: record %llu holds a newline", w->path, (unsigned long long)w->count + 1);
    if (w->gz || len + 1 > w->cap) { /* the rare and the compressed path: one contiguous line */
        w->line_len = 0;
        if (append_line(line, len, w) != 0 || append_line("\n", 1, w) != 0)
            return pm_err_set(err, "%s: out of memory", w->path);
        return emit_line(w, err);
    }
    if (w->len + len + 1 > w->cap && pm_jsonl_writer_flush(w, err) != 0)
        return -1;
    memcpy(w->buf + w->len, line, len);
    w->buf[w->len + len] = '\n';
    w->len += len + 1;
    w->count++;
    return pm_jsonl_writer_tick(w, err);
}

int pm_jsonl_writer_close(pm_jsonl_writer *w, pm_err *err)
{
    if (!w)
        return 0;
    int rc = 0;
    if (!w->failed && pm_jsonl_writer_flush(w, err) != 0)
        rc = -1;
    if (w->gz) {
        int zrc = gzclose(w->gz);
        if (zrc != Z_OK && rc == 0 && !w->failed)
            rc = pm_err_set(err, "%s: cannot finish gzip stream: %s", w->path,
                            zrc == Z_ERRNO ? strerror(errno) : "zlib error");
    }
    if (w->failed && rc == 0)
        rc = pm_err_set(err, "%s", w->failure);
    if (!w->is_stdout) {
        if (fsync(w->fd) != 0 && errno != EINVAL && rc == 0)
            rc = pm_err_set(err, "%s: %s", w->path, strerror(errno));
        if (close(w->fd) != 0 && rc == 0)
            rc = pm_err_set(err, "%s: %s", w->path, strerror(errno));
    }
    free(w->buf);
    free(w->line);
    free(w->path);
    free(w);
    return rc;
}
