/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_reader.c — the capture read ahead on a thread (replay/reader.c): it gives
 * the records the window gives on the loop's thread, in the same order and with the same
 * `late` count, across many batches; a bad line mid-file comes after every record before
 * it, as the error; and freeing it before the end (--limit, a signal) stops its thread.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "replay/replay_internal.h"

#define RECORDS 1000

/* A capture of RECORDS records in completion order: every 7th began 40 records earlier
 * than its place, every 97th later than the window can put right (late); with bad_at > 0
 * line bad_at is not JSON. Returns its path (free it, unlink it). */
static char *capture(int bad_at)
{
    char *path = strdup("/tmp/pm_test_reader_XXXXXX"); /* mkstemp's template */
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < RECORDS; i++) {
        int at = i % 7 == 0 ? i - 40 : i % 97 == 0 ? i - 300 : i;
        if (i + 1 == bad_at) {
            fputs("{not json\n", f);
            continue;
        }
        fprintf(f,
                "{\"v\":1,\"id\":\"r%d\",\"ts\":\"2026-12-05T10:%02d:%02d.000000Z\",\"request\":{\"method\":\"GET\","
                "\"target\":\"/v2/x/%d\",\"headers\":[[\"Accept\",\"*/*\"]]}}\n",
                i, (at + 400) / 60, (at + 400) % 60, i);
    }
    fclose(f);
    return path;
}

/* Every record through the window (threaded or not): their ids joined, and the count. */
static int drain(const char *path, bool threaded, char *ids, size_t size, uint64_t *late, pm_err *err)
{
    pm_jsonl_reader *in = pm_jsonl_reader_open(path, err);
    cr_assert_not_null(in, "%s", err->msg);
    rp_reader *r = threaded ? rp_reader_start(in, 64, err) : NULL;
    rp_window *w = threaded ? NULL : rp_window_new(in, 64);
    cr_assert(r || w);
    size_t len = 0;
    ids[0] = '\0';
    *late = 0;
    int rc;
    for (;;) {
        rp_record *rec = NULL;
        rc = threaded ? rp_reader_next(r, &rec, late, err) : rp_window_next(w, &rec, late, err);
        if (rc != 1)
            break;
        len += (size_t)snprintf(ids + len, size - len, "%s,", rec->id);
        cr_assert(len < size);
        rp_record_free(rec);
    }
    rp_reader_free(r);
    rp_window_free(w);
    pm_jsonl_reader_close(in);
    return rc;
}

Test(reader, same_records_order_and_late_count_as_the_window)
{
    char *path = capture(0);
    static char alone[RECORDS * 8], ahead[RECORDS * 8];
    uint64_t late_alone, late_ahead;
    pm_err err = {0};
    cr_assert_eq(drain(path, false, alone, sizeof alone, &late_alone, &err), 0, "%s", err.msg);
    cr_assert_eq(drain(path, true, ahead, sizeof ahead, &late_ahead, &err), 0, "%s", err.msg);
    cr_assert_gt(late_alone, 0, "the capture should hold records the window cannot put right");
    cr_assert_eq(late_ahead, late_alone);
    cr_assert_str_eq(ahead, alone);
    cr_assert_eq(strlen(alone), strlen("r000,") * 900 + strlen("r00,") * 90 + strlen("r0,") * 10);
    unlink(path);
    free(path);
}

Test(reader, a_bad_line_comes_after_the_records_before_it)
{
    char *path = capture(700);
    static char alone[RECORDS * 8], ahead[RECORDS * 8];
    uint64_t late_alone, late_ahead;
    pm_err err_alone = {0}, err_ahead = {0};
    cr_assert_eq(drain(path, false, alone, sizeof alone, &late_alone, &err_alone), -1);
    cr_assert_eq(drain(path, true, ahead, sizeof ahead, &late_ahead, &err_ahead), -1);
    cr_assert_str_eq(err_ahead.msg, err_alone.msg);
    cr_assert_str_eq(ahead, alone);
    cr_assert_eq(late_ahead, late_alone);
    unlink(path);
    free(path);
}

Test(reader, freed_before_the_end_stops_its_thread)
{
    char *path = capture(0);
    pm_err err = {0};
    for (int taken = 0; taken < 300; taken += 37) { /* within the first batch, and later */
        pm_jsonl_reader *in = pm_jsonl_reader_open(path, &err);
        rp_reader *r = rp_reader_start(in, 64, &err);
        cr_assert_not_null(r, "%s", err.msg);
        for (int i = 0; i < taken; i++) {
            rp_record *rec = NULL;
            cr_assert_eq(rp_reader_next(r, &rec, NULL, &err), 1);
            rp_record_free(rec);
        }
        rp_reader_free(r); /* joins: a thread left waiting for room would hang the test */
        pm_jsonl_reader_close(in);
    }
    unlink(path);
    free(path);
}
