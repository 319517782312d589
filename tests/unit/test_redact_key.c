/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redact_key.c — the redaction key file is trusted only when it is the user's own:
 * a key planted beside the output (or given with --key) that someone else owns, that
 * group or others may read or write, or that is a symbolic link is refused with an error
 * naming the file, never used. (The key a redactor creates, and finds again, is in
 * test_redact.c.)
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

static const char KEY_TEXT[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

typedef struct {
    char dir[64];
    char out[128];  /* an output file in dir */
    char key[128];  /* dir/.pmirror-key: the key beside the output */
} scratch;

static void scratch_make(scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/pm-redact-key-XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->out, sizeof s->out, "%s/capture.jsonl", s->dir);
    snprintf(s->key, sizeof s->key, "%s/.pmirror-key", s->dir);
}

static void scratch_remove(scratch *s)
{
    char other[160];
    snprintf(other, sizeof other, "%s/elsewhere", s->dir);
    unlink(s->key);
    unlink(other);
    rmdir(s->dir);
}

/* Writes KEY_TEXT to path with the given mode (set explicitly: the umask does not apply). */
static void write_key(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(write(fd, KEY_TEXT, sizeof KEY_TEXT - 1), (ssize_t)(sizeof KEY_TEXT - 1));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

/* pm_redactor_new(key_path, output) must fail, naming the file and saying why. */
static void expect_refused(const char *key_path, const char *output, const char *named, const char *why)
{
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new(key_path, output, NULL, &err);
    if (r)
        pm_redactor_free(r);
    cr_assert_null(r, "key %s was used; it must be refused (%s)", named, why);
    cr_expect_not_null(strstr(err.msg, named), "error does not name %s: %s", named, err.msg);
    cr_expect_not_null(strstr(err.msg, why), "error does not say '%s': %s", why, err.msg);
    cr_expect_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
}

static void expect_accepted(const char *key_path, const char *output)
{
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new(key_path, output, NULL, &err);
    cr_assert_not_null(r, "%s", err.msg);
    pm_redactor_free(r);
}

Test(redact_key, own_0600_key_beside_the_output_is_used)
{
    scratch s;
    scratch_make(&s);
    write_key(s.key, 0600);
    expect_accepted(NULL, s.out);
    expect_accepted(s.key, NULL);
    write_key(s.key, 0400); /* read-only for its owner is fine too */
    expect_accepted(NULL, s.out);
    scratch_remove(&s);
}

Test(redact_key, planted_world_readable_key_beside_the_output_is_refused)
{
    scratch s;
    scratch_make(&s);
    write_key(s.key, 0644);
    expect_refused(NULL, s.out, s.key, "readable or writable by group or others");
    scratch_remove(&s);
}

Test(redact_key, group_or_other_permissions_refused_for_an_explicit_key)
{
    static const mode_t modes[] = {0640, 0620, 0604, 0602, 0660, 0666};
    scratch s;
    scratch_make(&s);
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        write_key(s.key, modes[i]);
        expect_refused(s.key, "/tmp/unused-output.jsonl", s.key, "readable or writable by group or others");
    }
    scratch_remove(&s);
}

Test(redact_key, symlinked_key_is_refused)
{
    scratch s;
    scratch_make(&s);
    char target[160];
    snprintf(target, sizeof target, "%s/elsewhere", s.dir);
    write_key(target, 0600); /* a good key, but reached through a link */
    cr_assert_eq(symlink(target, s.key), 0);
    expect_refused(NULL, s.out, s.key, "symbolic link");
    expect_refused(s.key, NULL, s.key, "symbolic link");
    scratch_remove(&s);
}

Test(redact_key, key_owned_by_someone_else_is_refused)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give a file to another user");
    scratch s;
    scratch_make(&s);
    write_key(s.key, 0600);
    cr_assert_eq(chown(s.key, 65534, 65534), 0);
    expect_refused(NULL, s.out, s.key, "owned by uid 65534");
    expect_refused(s.key, NULL, s.key, "owned by uid 65534");
    scratch_remove(&s);
}

Test(redact_key, a_directory_is_not_a_key)
{
    scratch s;
    scratch_make(&s);
    cr_assert_eq(mkdir(s.key, 0700), 0);
    expect_refused(s.key, NULL, s.key, "not a regular file");
    rmdir(s.key);
    scratch_remove(&s);
}
