/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_key.c — where a redactor's key comes from, and when a key file may be trusted.
 *
 * The key is the text of a file: the one --key names, or `.pmirror-key` beside the output
 * (in the working directory when the output is stdout or a device), created with 32 random
 * bytes, mode 0600, when absent. A command that reads a capture and writes what it made of it
 * (replay, run) uses the capture's own key when one lies beside it (pm_redact_key_of_input):
 * one run, one key, so a secret has the same token in the capture, the results, the diffs and
 * the reports. Whoever can read the key can recompute any `redacted:`
 * token and test guessed passwords offline; whoever can write it, or swap it, chooses the
 * key. So a key file is used only when it is a regular file owned by the user running
 * pmirror, neither readable nor writable by group or others, and not a symbolic link.
 * The checks are made on the open descriptor (O_NOFOLLOW, then fstat), so nothing can be
 * swapped between the check and the read.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES 32
#define KEY_FILE_MAX (64 * 1024) /* a key file is a line of hex; anything this big is not one */

/* The key file's path: key_path, or .pmirror-key beside the output; for stdout or a
 * device (-o /dev/null) in the working directory, not in /dev. */
static void key_file_path(const char *key_path, const char *output_path, char *path, size_t size)
{
    if (key_path) {
        snprintf(path, size, "%s", key_path);
        return;
    }
    struct stat st;
    bool beside = output_path && strcmp(output_path, "-") != 0 &&
                  !(stat(output_path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", beside ? output_path : "./-");
    snprintf(path, size, "%s/.pmirror-key", dirname(copy));
}

/* Opens an existing key file without following a symbolic link (and without blocking on
 * a FIFO planted in its place). 1: *fd is open; 0: there is no such file; -1: err says why. */
static int key_file_open(const char *path, int *fd, pm_err *err)
{
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (*fd >= 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    if (errno == ELOOP)
        return pm_err_set(err, "%s: redaction key file is a symbolic link; refusing it (use the file itself)", path);
    return pm_err_set(err, "%s: cannot open redaction key: %s", path, strerror(errno));
}

/* The file behind fd may hold the key: a regular file of ours that nobody else may read
 * or write. 0, or -1 with err naming the file and the remedy. */
static int key_file_check(int fd, const char *path, pm_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return pm_err_set(err, "%s: cannot inspect redaction key: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pm_err_set(err, "%s: redaction key is not a regular file; refusing it", path);
    if (st.st_uid != geteuid())
        return pm_err_set(err, "%s: redaction key file is owned by uid %lu, not by the user running pmirror "
                          "(uid %lu); refusing it", path, (unsigned long)st.st_uid, (unsigned long)geteuid());
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))
        return pm_err_set(err, "%s: redaction key file is readable or writable by group or others (mode %04o); "
                          "refusing it (chmod 600 it, or make a new key)", path, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* The key file's text without trailing white space: a new buffer, *len bytes (> 0). */
static char *key_file_read(int fd, const char *path, size_t *len, pm_err *err)
{
    char *text = malloc(KEY_FILE_MAX + 1);
    if (!text) {
        pm_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, text + n, KEY_FILE_MAX + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            pm_err_set(err, "%s: cannot read redaction key: %s", path, strerror(errno));
            free(text);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > KEY_FILE_MAX) {
            pm_err_set(err, "%s: redaction key file is larger than %d bytes; not a key", path, KEY_FILE_MAX);
            free(text);
            return NULL;
        }
    }
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0) {
        pm_err_set(err, "%s: redaction key file is empty", path);
        free(text);
        return NULL;
    }
    *len = n;
    return text;
}

/* Writes 32 random bytes as hex plus a newline, and leaves the hex text in hex: the key
 * material is always the file's text, whether it was just created or read back later. */
static int key_file_create(const char *path, char hex[2 * KEY_BYTES + 2], pm_err *err)
{
    unsigned char key[KEY_BYTES];
    if (RAND_bytes(key, KEY_BYTES) != 1)
        return pm_err_set(err, "%s: no randomness for a redaction key", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return pm_err_set(err, "%s: cannot create redaction key: %s", path, strerror(errno));
    for (int i = 0; i < KEY_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    hex[2 * KEY_BYTES] = '\n';
    bool ok = write(fd, hex, 2 * KEY_BYTES + 1) == 2 * KEY_BYTES + 1;
    ok = close(fd) == 0 && ok;
    return ok ? 0 : pm_err_set(err, "%s: cannot write redaction key", path);
}

const char *pm_redact_key_of_input(const char *input_path, char *path, size_t size)
{
    struct stat st;
    key_file_path(NULL, input_path, path, size);
    /* lstat: a link or a bad file there is refused by pm_redactor_new, naming it, rather
     * than passed over for a new key that would make other tokens */
    return lstat(path, &st) == 0 ? path : NULL;
}

pm_redactor *pm_redactor_new(const char *key_path, const char *output_path, const json_t *rules, pm_err *err)
{
    char path[4096];
    key_file_path(key_path, output_path, path, sizeof path);
    int fd;
    int found = key_file_open(path, &fd, err);
    if (found < 0)
        return NULL;
    if (found == 0) {
        char hex[2 * KEY_BYTES + 2];
        if (key_path) {
            pm_err_set(err, "%s: redaction key not found", path);
            return NULL;
        }
        if (key_file_create(path, hex, err) != 0)
            return NULL;
        return pm_redactor_new_with_key((unsigned char *)hex, 2 * KEY_BYTES, rules, err);
    }
    size_t len = 0;
    char *text = key_file_check(fd, path, err) == 0 ? key_file_read(fd, path, &len, err) : NULL;
    close(fd);
    if (!text)
        return NULL;
    pm_redactor *r = pm_redactor_new_with_key((unsigned char *)text, len, rules, err);
    free(text);
    return r;
}
