/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_output_file.c — core/output_file.c: outputs are never written through a symbolic
 * link (refused, naming the path; a dangling link creates nothing), are 0600, and a device
 * such as /dev/null still works; temporaries have unpredictable names beside the output,
 * are 0600, and commit replaces a link at the final name instead of writing through it.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "scratch.h"

TestSuite(output_file, .init = scratch_make, .fini = scratch_remove);

static void write_victim(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("precious\n", f);
    fclose(f);
    chmod(path, 0644);
}

static void expect_victim_intact(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_size, 9, "the link's target was written");
    cr_expect_eq(st.st_mode & 0777, 0644, "the link's target was chmodded to %o", st.st_mode & 0777);
}

/* Entries of scratch_dir whose name starts with prefix. */
static int count_entries(const char *prefix)
{
    DIR *d = opendir(scratch_dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

Test(output_file, open_refuses_a_symlink_and_names_it)
{
    const char *victim = scratch_path("victim"), *link = scratch_path("out.jsonl");
    write_victim(victim);
    cr_assert_eq(symlink(victim, link), 0);
    pm_err err = {{0}};
    int fd = pm_output_open(link, &err);
    cr_assert_lt(fd, 0);
    cr_expect_not_null(strstr(err.msg, link), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "symbolic link"), "%s", err.msg);
    expect_victim_intact(victim);

    const char *dangling = scratch_path("dangling.jsonl"), *target = scratch_path("would-be-created");
    cr_assert_eq(symlink(target, dangling), 0);
    cr_assert_lt(pm_output_open(dangling, &err), 0);
    cr_expect_neq(access(target, F_OK), 0, "a dangling link's target was created");
}

Test(output_file, open_creates_0600_and_tightens_an_existing_file)
{
    const char *path = scratch_path("out.jsonl");
    write_victim(path); /* an existing 0644 file of ours */
    pm_err err = {{0}};
    int fd = pm_output_open(path, &err);
    cr_assert_geq(fd, 0, "%s", err.msg);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    cr_expect_eq(st.st_size, 0, "not truncated");
    close(fd);
    fd = pm_output_open("/dev/null", &err);
    cr_assert_geq(fd, 0, "/dev/null: %s", err.msg);
    close(fd);
    cr_assert_eq(stat("/dev/null", &st), 0);
    cr_expect_eq(st.st_mode & 0666, 0666, "/dev/null was chmodded");
}

Test(output_file, temporaries_are_unpredictable_0600_and_beside_the_output)
{
    const char *path = scratch_path("report.json");
    pm_err err = {{0}};
    pm_output_tmp a, b;
    cr_assert_eq(pm_output_tmp_open(&a, path, &err), 0, "%s", err.msg);
    cr_assert_eq(pm_output_tmp_open(&b, path, &err), 0, "%s", err.msg);
    cr_expect_str_neq(a.tmp, b.tmp, "two temporaries share a name");
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s/.report.json.", scratch_dir);
    cr_expect_eq(strncmp(a.tmp, prefix, strlen(prefix)), 0, "%s is not beside %s", a.tmp, path);
    cr_expect_null(strstr(a.tmp + strlen(prefix), "tmp"), "%s", a.tmp);
    struct stat st;
    cr_assert_eq(stat(a.tmp, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    cr_expect_eq(count_entries(".report.json."), 2);
    fputs("{}\n", a.file);
    pm_output_tmp_discard(&b);
    cr_assert_eq(pm_output_tmp_commit(&a, &err), 0, "%s", err.msg);
    cr_expect_eq(count_entries(".report.json."), 0, "a temporary was left behind");
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_size, 3);
    cr_expect_eq(st.st_mode & 0777, 0600);
}

Test(output_file, commit_replaces_a_link_at_the_final_name)
{
    const char *victim = scratch_path("victim"), *link = scratch_path("proposal.yaml");
    write_victim(victim);
    cr_assert_eq(symlink(victim, link), 0);
    pm_err err = {{0}};
    pm_output_tmp o;
    cr_assert_eq(pm_output_tmp_open(&o, link, &err), 0, "%s", err.msg);
    fputs("switches: {}\n", o.file);
    cr_assert_eq(pm_output_tmp_commit(&o, &err), 0, "%s", err.msg);
    expect_victim_intact(victim);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_expect(S_ISREG(st.st_mode), "the final name is still a link");
}

Test(output_file, open_in_a_missing_directory_names_the_output)
{
    pm_err err = {{0}};
    pm_output_tmp o;
    cr_assert_eq(pm_output_tmp_open(&o, "/tmp/pm-no-such-dir/port", &err), -1);
    cr_expect_not_null(strstr(err.msg, "/tmp/pm-no-such-dir/port"), "%s", err.msg);
    cr_expect_null(o.file);
}
