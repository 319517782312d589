/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rotating_writer.c — core/rotating_writer.c: a JSON Lines output in numbered parts
 * (capture --rotate-size, --rotate-seconds): the part names, a new part once a line takes
 * the current one to the size or at a tick once its time is up, every name listed, and
 * one plain file without a limit or to stdout.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "scratch.h"

TestSuite(rotating_writer, .init = scratch_make, .fini = scratch_remove);

/* The records of one file (gzip or plain), -1 when it cannot be read. */
static int records_in(const char *path)
{
    pm_err err;
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    if (!r)
        return -1;
    json_t *rec;
    int n = 0;
    while (pm_jsonl_reader_next(r, &rec, &err) == 1) {
        json_decref(rec);
        n++;
    }
    pm_jsonl_reader_close(r);
    return n;
}

static void write_line(pm_rotating_writer *w, const char *line)
{
    pm_err err;
    cr_assert_eq(pm_rotating_writer_write_line(w, line, strlen(line), &err), 0, "%s", err.msg);
}

Test(rotating_writer, part_names)
{
    char buf[256];
    pm_rotating_writer_part_name("out/capture.jsonl.gz", 3, buf, sizeof buf);
    cr_assert_str_eq(buf, "out/capture.0003.jsonl.gz");
    pm_rotating_writer_part_name("capture.jsonl", 12, buf, sizeof buf);
    cr_assert_str_eq(buf, "capture.0012.jsonl");
    /* the first dot of the file's name, not of a directory's; none: at the end */
    pm_rotating_writer_part_name("run.d/cap", 1, buf, sizeof buf);
    cr_assert_str_eq(buf, "run.d/cap.0001");
    pm_rotating_writer_part_name("a.b/c.d.e", 2, buf, sizeof buf);
    cr_assert_str_eq(buf, "a.b/c.0002.d.e");
    pm_rotating_writer_part_name("out/capture.jsonl.gz", 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "out/capture.jsonl.gz");
}

Test(rotating_writer, a_new_part_once_a_line_reaches_the_size)
{
    pm_err err;
    char out[200];
    snprintf(out, sizeof out, "%s", scratch_path("cap.jsonl.gz"));
    pm_rotating_writer *w = pm_rotating_writer_open(out, 20, 0, &err); /* each line: 8 bytes with its newline */
    cr_assert_not_null(w, "%s", err.msg);
    for (int i = 0; i < 5; i++)
        write_line(w, "{\"v\":1}");
    json_t *files = json_incref(pm_rotating_writer_files(w));
    cr_assert_eq(pm_rotating_writer_close(w, &err), 0, "%s", err.msg);
    /* 8, 16, 24: due after the third line; 8, 16 in the second part */
    cr_assert_eq(json_array_size(files), 2);
    cr_assert_str_eq(json_string_value(json_array_get(files, 0)), scratch_path("cap.0001.jsonl.gz"));
    cr_assert_str_eq(json_string_value(json_array_get(files, 1)), scratch_path("cap.0002.jsonl.gz"));
    cr_assert_eq(records_in(scratch_path("cap.0001.jsonl.gz")), 3);
    cr_assert_eq(records_in(scratch_path("cap.0002.jsonl.gz")), 2);
    cr_assert_eq(access(out, F_OK), -1, "the unnumbered name was written too");
    json_decref(files);
}

Test(rotating_writer, a_full_last_part_leaves_an_empty_next_one)
{
    pm_err err;
    pm_rotating_writer *w = pm_rotating_writer_open(scratch_path("cap.jsonl"), 1, 0, &err);
    cr_assert_not_null(w, "%s", err.msg);
    write_line(w, "{\"v\":1}");
    write_line(w, "{\"v\":1}");
    cr_assert_eq(json_array_size(pm_rotating_writer_files(w)), 3);
    cr_assert_eq(pm_rotating_writer_close(w, &err), 0, "%s", err.msg);
    cr_assert_eq(records_in(scratch_path("cap.0001.jsonl")), 1);
    cr_assert_eq(records_in(scratch_path("cap.0002.jsonl")), 1);
    cr_assert_eq(records_in(scratch_path("cap.0003.jsonl")), 0);
}

Test(rotating_writer, a_new_part_at_a_tick_once_its_time_is_up)
{
    pm_err err;
    pm_rotating_writer *w = pm_rotating_writer_open(scratch_path("live.jsonl"), 0, 1, &err);
    cr_assert_not_null(w, "%s", err.msg);
    write_line(w, "{\"v\":1}");
    cr_assert_eq(pm_rotating_writer_tick(w, &err), 0, "%s", err.msg);
    cr_assert_eq(json_array_size(pm_rotating_writer_files(w)), 1, "rotated before its time");
    usleep(1100 * 1000);
    /* a line written once the time is up still goes into the current part; then the
     * next part opens (a tick would have opened it too) */
    write_line(w, "{\"v\":1}");
    cr_assert_eq(json_array_size(pm_rotating_writer_files(w)), 2);
    cr_assert_eq(pm_rotating_writer_tick(w, &err), 0, "%s", err.msg);
    cr_assert_eq(pm_rotating_writer_close(w, &err), 0, "%s", err.msg);
    cr_assert_eq(records_in(scratch_path("live.0001.jsonl")), 2);
    cr_assert_eq(records_in(scratch_path("live.0002.jsonl")), 0);
}

Test(rotating_writer, no_limit_is_one_plain_file)
{
    pm_err err;
    char out[200];
    snprintf(out, sizeof out, "%s", scratch_path("one.jsonl"));
    pm_rotating_writer *w = pm_rotating_writer_open(out, 0, 0, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        write_line(w, "{\"v\":1}");
    cr_assert_eq(pm_rotating_writer_tick(w, &err), 0, "%s", err.msg);
    json_t *files = pm_rotating_writer_files(w);
    cr_assert_eq(json_array_size(files), 1);
    cr_assert_str_eq(json_string_value(json_array_get(files, 0)), out);
    cr_assert_eq(pm_rotating_writer_close(w, &err), 0, "%s", err.msg);
    cr_assert_eq(records_in(out), 3);
}

Test(rotating_writer, stdout_is_never_rotated_nor_listed)
{
    pm_err err;
    pm_rotating_writer *w = pm_rotating_writer_open("-", 1, 1, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(json_array_size(pm_rotating_writer_files(w)), 0);
    cr_assert_eq(pm_rotating_writer_close(w, &err), 0, "%s", err.msg);
}

Test(rotating_writer, a_part_that_cannot_be_opened_is_an_error_naming_it)
{
    pm_err err;
    pm_rotating_writer *w = pm_rotating_writer_open(scratch_path("no/such/dir/cap.jsonl"), 1, 0, &err);
    cr_assert_null(w);
    cr_assert_not_null(strstr(err.msg, "cap.0001.jsonl"), "%s", err.msg);
}
