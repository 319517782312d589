/* SPDX-License-Identifier: Apache-2.0 */
/*
 * write_dir.c — reports_write_dir: every format of one report into a directory. Each
 * file is written under a temporary name in the same directory and renamed over the old
 * one (pm_output_tmp: an unpredictable name, created exclusively, so nothing planted in a
 * shared directory is written through), so a CI job or a browser never reads half a
 * report; a failure leaves the previous files as they were (and no temporary behind). Files are created 0600 like every pmirror
 * output: exemplars carry values from traffic.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "reports_internal.h"

typedef int (*renderer)(FILE *out, const json_t *report, pm_err *err);

static int make_dirs(const char *dir, pm_err *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return pm_err_set(err, "%s: path too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return pm_err_set(err, "%s: cannot create: %s", path, strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pm_err_set(err, "%s: not a directory", dir);
    return 0;
}

static int write_one(const char *dir, const char *name, renderer render, const json_t *report, pm_err *err)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return pm_err_set(err, "%s: path too long", dir);
    pm_output_tmp out;
    if (pm_output_tmp_open(&out, path, err) != 0)
        return -1;
    if (render(out.file, report, err) != 0) {
        pm_output_tmp_discard(&out);
        return -1;
    }
    return pm_output_tmp_commit(&out, err);
}

int reports_write_dir(const json_t *report, const char *dir, pm_err *err)
{
    static const struct {
        const char *name;
        renderer render;
    } files[] = {
        {"report.json", reports_write_json},
        {"report.md", reports_write_markdown},
        {"junit.xml", reports_write_junit},
        {"report.html", reports_write_html},
    };
    if (make_dirs(dir, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (write_one(dir, files[i].name, files[i].render, report, err) != 0)
            return -1;
    return 0;
}
