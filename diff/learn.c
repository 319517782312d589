/* SPDX-License-Identifier: Apache-2.0 */
/*
 * learn.c — noise learned over a whole result file (pass 1 of `pmirror diff`, before any
 * verdict), and what was learned written out as rules a person can review and adopt into
 * the profile's rules.yaml (--learn-noise).
 *
 * Learning needs the file twice (learned first, then judged). Stdin cannot be read twice,
 * so it is first copied to a temporary file (unlinked at once) that then stands in for
 * stdin: `diff -i -` judges exactly as `diff -i FILE` does. Only results with a
 * `secondary` target (a second Python) teach anything, which the first record says. The
 * rules file is written to a temporary and renamed into place: a reader never sees half
 * of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"

/* Prefixes err's message with the file and line at fault. */
static void at_line(pm_err *err, const char *path, uint64_t line)
{
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    pm_err_set(err, "%s:%llu: %s", path, (unsigned long long)line, why);
}

/* Stdin copied to an unlinked temporary file ($TMPDIR, else /tmp), which becomes stdin,
 * read from its start. 0, or -1 with err. */
static int spool_stdin(pm_err *err)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/pmirror-stdin-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return pm_err_set(err, "-: cannot make a temporary copy of stdin in %s: %s", dir && *dir ? dir : "/tmp",
                          strerror(errno));
    unlink(path);
    char buf[1 << 16];
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = pm_err_set(err, "-: read failed: %s", strerror(errno));
        for (ssize_t done = 0; rc == 0 && done < got;) {
            ssize_t w = write(fd, buf + done, (size_t)(got - done));
            if (w >= 0)
                done += w;
            else if (errno != EINTR)
                rc = pm_err_set(err, "-: cannot copy stdin to a temporary file: %s", strerror(errno));
        }
    }
    if (rc == 0 && (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, STDIN_FILENO) < 0))
        rc = pm_err_set(err, "-: cannot read back the copy of stdin: %s", strerror(errno));
    close(fd);
    return rc;
}

int diff_learn_file(diff_engine *e, const char *path, bool *learned, pm_err *err)
{
    bool from_stdin = strcmp(path, "-") == 0;
    if (from_stdin && spool_stdin(err) != 0)
        return -1;
    pm_jsonl_reader *in = pm_jsonl_reader_open(path, err);
    if (!in)
        return -1;
    const char *line;
    size_t len;
    int got, rc = 0;
    bool secondary = false, first = true;
    while ((got = pm_jsonl_reader_next_text(in, &line, &len, err)) == 1) {
        if (first) {
            json_t *r = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
            const char *name;
            const json_t *resp;
            json_object_foreach(json_object_get(r, "responses"), name, resp) {
                const char *role = json_string_value(json_object_get(resp, "role"));
                secondary |= role && strcmp(role, "secondary") == 0;
            }
            json_decref(r);
            first = false;
        }
        if (secondary && (rc = diff_learn_text(e, line, len, err)) != 0)
            at_line(err, path, pm_jsonl_reader_line(in));
        if (!secondary || rc != 0)
            break;
    }
    pm_jsonl_reader_close(in);
    if (from_stdin && lseek(STDIN_FILENO, 0, SEEK_SET) != 0) /* the reader's dup shared the offset */
        return pm_err_set(err, "-: cannot read back the copy of stdin: %s", strerror(errno));
    if (got < 0 || rc != 0)
        return -1;
    diff_noise_done(e);
    *learned = secondary;
    return 0;
}

int diff_write_learned_rules(const diff_engine *e, const char *out, const char *source, pm_err *err)
{
    pm_output_tmp file;
    if (pm_output_tmp_open(&file, out, err) != 0)
        return -1;
    FILE *f = file.file;
    json_t *rows = diff_noise_report(e);
    fprintf(f, "# Learned by pmirror diff from %s: shapes where two Python backends differ about as\n"
               "# often as Python and Go. Review each before adopting it into the profile's rules.yaml.\n"
               "rules:\n", source);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        const char *shape = json_string_value(json_object_get(row, "shape"));
        char where[16] = "", path[512] = "";
        sscanf(shape, "%15[^|]|%511[^|]", where, path);
        if (strcmp(where, "status") == 0)
            continue;
        fprintf(f,
                "  - {kind: %s, %s: '%s', capabilities: [%s], reason: 'learned noise: %lld of %lld exchanges "
                "differ Python-vs-Go, %lld Python-vs-Python'}\n",
                strcmp(where, "header") == 0 ? "ignore_header" : "ignore_path",
                strcmp(where, "header") == 0 ? "header" : "path", path,
                json_string_value(json_object_get(row, "capability")),
                (long long)json_integer_value(json_object_get(row, "raw")),
                (long long)json_integer_value(json_object_get(row, "exchanges")),
                (long long)json_integer_value(json_object_get(row, "noise")));
    }
    json_decref(rows);
    return pm_output_tmp_commit(&file, err);
}
