/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output_file.c — how pmirror creates the files it writes: never through a symbolic link,
 * mode 0600 (they hold traffic), and, for files a reader must see whole, under an
 * unpredictable temporary name that is renamed into place.
 *
 * Outputs often land in shared places (/tmp, a CI workspace). A link planted where an
 * output goes would have pmirror truncate, fill and chmod 0600 whatever the link points to,
 * with pmirror's rights; a temporary at a name others can predict (PATH.tmp, .NAME.PID.tmp)
 * can be planted the same way. So an output's last component is opened with O_NOFOLLOW (a
 * link there is refused with an error naming it), and temporaries are made by mkostemp in
 * the output's directory (a random name, created exclusively) and renamed over the final
 * name: rename replaces whatever is at that name, a link included; it never writes through.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pm_output_open(const char *path, pm_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ELOOP)
        return pm_err_set(err, "%s: is a symbolic link; pmirror does not write through one (name the file itself)",
                          path);
    if (fd < 0)
        return pm_err_set(err, "%s: cannot create: %s", path, strerror(errno));
    struct stat st; /* an existing file keeps its mode through O_TRUNC; never touch a device */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        fchmod(fd, 0600);
    return fd;
}

/* "DIR/.NAME.XXXXXX" for path "DIR/NAME": a new string, or NULL. */
static char *temporary_template(const char *path)
{
    char *dir_copy = strdup(path), *name_copy = strdup(path);
    char *tmpl = NULL;
    if (dir_copy && name_copy) {
        const char *dir = dirname(dir_copy), *name = basename(name_copy);
        size_t size = strlen(dir) + strlen(name) + 16;
        if ((tmpl = malloc(size)))
            snprintf(tmpl, size, "%s/.%s.XXXXXX", dir, name);
    }
    free(dir_copy);
    free(name_copy);
    return tmpl;
}

static void output_tmp_release(pm_output_tmp *o)
{
    free(o->path);
    free(o->tmp);
    *o = (pm_output_tmp){0};
}

int pm_output_tmp_open(pm_output_tmp *o, const char *path, pm_err *err)
{
    *o = (pm_output_tmp){.path = strdup(path), .tmp = temporary_template(path)};
    if (!o->path || !o->tmp) {
        output_tmp_release(o);
        return pm_err_set(err, "%s: out of memory", path);
    }
    int fd = mkostemp(o->tmp, O_CLOEXEC); /* mode 0600, O_EXCL */
    if (fd < 0) {
        int e = errno;
        output_tmp_release(o);
        return pm_err_set(err, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    if (!(o->file = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        output_tmp_release(o);
        return pm_err_set(err, "%s: %s", path, strerror(e));
    }
    return 0;
}

int pm_output_tmp_commit(pm_output_tmp *o, pm_err *err)
{
    int rc = 0;
    errno = 0;
    if (fflush(o->file) != 0 || ferror(o->file) || (fsync(fileno(o->file)) != 0 && errno != EINVAL))
        rc = pm_err_set(err, "%s: cannot write: %s", o->path, strerror(errno ? errno : EIO));
    if (fclose(o->file) != 0 && rc == 0)
        rc = pm_err_set(err, "%s: cannot write: %s", o->path, strerror(errno));
    if (rc == 0 && rename(o->tmp, o->path) != 0)
        rc = pm_err_set(err, "%s: cannot rename into place: %s", o->path, strerror(errno));
    if (rc != 0)
        unlink(o->tmp);
    output_tmp_release(o);
    return rc;
}

void pm_output_tmp_discard(pm_output_tmp *o)
{
    if (!o->file)
        return;
    fclose(o->file);
    unlink(o->tmp);
    output_tmp_release(o);
}
