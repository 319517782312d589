/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotating_writer.c — a JSON Lines output in numbered parts: a long live capture starts a
 * new file after about so many bytes or seconds, so that each finished part can be moved,
 * replayed or deleted while the capture goes on.
 *
 * OUT=capture.jsonl.gz is written as capture.0001.jsonl.gz, capture.0002.jsonl.gz, ...
 * (the number goes before the first dot of the file's name, so the suffixes that choose
 * gzip stay last). Without a limit, or to stdout, it is one plain pm_jsonl_writer at OUT.
 * Sizes are approximate: the lines' lengths as written, before gzip. A part is due when a
 * line takes it to the size, or at a tick once its time is up; the next part is opened
 * at once (so the last part may be empty), and every name opened is listed for the
 * capture's statistics.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pm_rotating_writer {
    char *path;
    uint64_t max_bytes; /* 0: never by size */
    long max_seconds;   /* 0: never by time */
    unsigned part;      /* the current part's number; 0: no rotation */
    pm_jsonl_writer *writer;
    uint64_t bytes_in_part, part_started_ms;
    json_t *files;      /* the names opened, in order */
};

void pm_rotating_writer_part_name(const char *path, unsigned part, char *buf, size_t size)
{
    if (part == 0) {
        snprintf(buf, size, "%s", path);
        return;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strchr(base, '.');
    if (!dot)
        snprintf(buf, size, "%s.%04u", path, part);
    else
        snprintf(buf, size, "%.*s.%04u%s", (int)(dot - path), path, part, dot);
}

static int open_part(pm_rotating_writer *w, pm_err *err)
{
    char name[4096];
    pm_rotating_writer_part_name(w->path, w->part, name, sizeof name);
    if (!(w->writer = pm_jsonl_writer_open(name, err)))
        return -1;
    w->bytes_in_part = 0;
    w->part_started_ms = pm_now_ms();
    if (strcmp(name, "-") != 0)
        json_array_append_new(w->files, json_string(name));
    return 0;
}

pm_rotating_writer *pm_rotating_writer_open(const char *path, uint64_t max_bytes, long max_seconds, pm_err *err)
{
    pm_rotating_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path)) || !(w->files = json_array())) {
        if (w)
            free(w->path);
        free(w);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    w->max_bytes = max_bytes;
    w->max_seconds = max_seconds > 0 ? max_seconds : 0;
    w->part = (max_bytes || w->max_seconds) && strcmp(path, "-") != 0 ? 1 : 0;
    if (open_part(w, err) != 0) {
        pm_rotating_writer_close(w, NULL);
        return NULL;
    }
    return w;
}

/* The next part when this one is full or its time is up. */
static int rotate_if_due(pm_rotating_writer *w, pm_err *err)
{
    if (w->part == 0)
        return 0;
    bool by_size = w->max_bytes && w->bytes_in_part >= w->max_bytes;
    bool by_time = w->max_seconds > 0 && pm_now_ms() - w->part_started_ms >= (uint64_t)w->max_seconds * 1000;
    if (!by_size && !by_time)
        return 0;
    int rc = pm_jsonl_writer_close(w->writer, err);
    w->writer = NULL;
    if (rc != 0)
        return -1;
    w->part++;
    return open_part(w, err);
}

int pm_rotating_writer_write_line(pm_rotating_writer *w, const char *line, size_t len, pm_err *err)
{
    if (!w->writer)
        return pm_err_set(err, "%s: not open (an earlier part failed)", w->path);
    if (pm_jsonl_writer_write_line(w->writer, line, len, err) != 0)
        return -1;
    w->bytes_in_part += len + 1;
    return rotate_if_due(w, err);
}

int pm_rotating_writer_tick(pm_rotating_writer *w, pm_err *err)
{
    if (!w->writer)
        return 0;
    if (pm_jsonl_writer_tick(w->writer, err) != 0)
        return -1;
    return rotate_if_due(w, err);
}

json_t *pm_rotating_writer_files(const pm_rotating_writer *w)
{
    return w->files;
}

int pm_rotating_writer_close(pm_rotating_writer *w, pm_err *err)
{
    if (!w)
        return 0;
    int rc = pm_jsonl_writer_close(w->writer, err);
    json_decref(w->files);
    free(w->path);
    free(w);
    return rc;
}
