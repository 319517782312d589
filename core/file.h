/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/file.h — files: writing an output safely (no link followed, 0600, whole or not at all)
 * and reading a whole file (output_file.c, config.c). One part of core's public interface;
 * core/core.h includes every part.
 */
#ifndef PM_CORE_FILE_H
#define PM_CORE_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* Opens PATH for writing (created or truncated, mode 0600 when a regular file) and returns
 * the descriptor; a symbolic link at PATH is refused, never written through, with an error
 * naming it ("PATH: is a symbolic link; ..."). -1 with err on failure. */
int pm_output_open(const char *path, pm_err *err);

/* A file a reader must see whole (a report, a port file): written to a temporary with an
 * unpredictable name in PATH's directory (mkostemp: created exclusively, 0600, close-on-
 * exec), then renamed over PATH, which replaces a link there instead of following it. */
typedef struct pm_output_tmp {
    char *path; /* the final name */
    char *tmp;  /* the temporary's name, beside it */
    FILE *file; /* write here between open and commit */
} pm_output_tmp;

/* 0, or -1 with err (o is then empty). */
int pm_output_tmp_open(pm_output_tmp *o, const char *path, pm_err *err);
/* Flushes, syncs and closes o->file and renames the temporary over the final name; on any
 * failure the temporary is removed and err names the final path. o is empty afterwards. */
int pm_output_tmp_commit(pm_output_tmp *o, pm_err *err);
/* Closes and removes the temporary (a render failed); o is empty afterwards. */
void pm_output_tmp_discard(pm_output_tmp *o);
/* Reads a whole file into a new NUL-terminated buffer. */
char *pm_read_file(const char *path, size_t *len, pm_err *err);

#endif
