/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jsonl.c — the JSON Lines files every stage reads and writes: round trips through
 * plain and gzip files, the 0600 mode, and above all what survives damage — a truncated
 * last line, a truncated gzip stream, a writer killed between flushes — next to what
 * must stay an error (a bad line in the middle, naming file:line).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"

/* ---- fixtures --------------------------------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pm-jsonl-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_dir(void)
{
    if (dir[0])
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(jsonl, .init = make_dir, .fini = remove_dir);

static char *in_dir(const char *name)
{
    static char paths[4][300];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static void append_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* Copies PATH's current bytes (through a separate descriptor) to COPY. */
static void copy_file(const char *path, const char *copy)
{
    int in = open(path, O_RDONLY);
    cr_assert_geq(in, 0);
    int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(out, 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* A record with id "r<i>", a non-ASCII string and a number; one in 50 also carries a
 * larger blob so gzip has something to chew on. */
static json_t *make_record(int i)
{
    json_t *r = pm_record_new();
    char id[32];
    snprintf(id, sizeof id, "r%d", i);
    json_object_set_new(r, "id", json_string(id));
    json_object_set_new(r, "n", json_integer(i));
    json_object_set_new(r, "text", json_string("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xb3"));
    char noise[200];
    unsigned x = (unsigned)i * 2654435761u;
    for (size_t k = 0; k < sizeof noise - 1; k++) {
        x = x * 1103515245u + 12345u;
        noise[k] = (char)('a' + (x >> 16) % 26);
    }
    noise[sizeof noise - 1] = '\0';
    json_object_set_new(r, "noise", json_string(noise));
    return r;
}

static json_t *make_big_record(void)
{
    size_t size = 1024 * 1024;
    char *big = malloc(size + 1);
    const char *pattern = "0123456789abcdef\xc3\xa9\xe2\x82\xac"; /* 21 bytes, whole chars */
    size_t plen = strlen(pattern), n = 0;
    while (n + plen <= size) {
        memcpy(big + n, pattern, plen);
        n += plen;
    }
    big[n] = '\0';
    json_t *r = pm_record_new();
    json_object_set_new(r, "id", json_string("big"));
    json_object_set_new(r, "big", json_string(big));
    free(big);
    return r;
}

static void write_records(const char *path, json_t **records, size_t n)
{
    pm_err err = {{0}};
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pm_jsonl_writer_write(w, records[i], &err), 0, "%s", err.msg);
    cr_assert_eq(pm_jsonl_writer_count(w), n);
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
}

/* Reads every record of PATH into out (up to max); returns the count and the reader's
 * last return code in *last (0 end, -1 error). The reader stays open in *reader. */
static size_t read_records(const char *path, json_t **out, size_t max, int *last,
                           pm_jsonl_reader **reader, pm_err *err)
{
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, err);
    cr_assert_not_null(r, "%s", err->msg);
    size_t n = 0;
    json_t *rec;
    int rc;
    while ((rc = pm_jsonl_reader_next(r, &rec, err)) == 1) {
        cr_assert_lt(n, max, "more records than written");
        out[n++] = rec;
    }
    cr_assert_null(rc == 1 ? NULL : rec);
    *last = rc;
    *reader = r;
    return n;
}

static void decref_all(json_t **records, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(records[i]);
}

/* Every line of the (decompressed) file starts with {"v":1 — the pinned first key. */
static void expect_lines_start_with_v(const char *path, size_t want_lines)
{
    gzFile gz = gzopen(path, "rb");
    cr_assert_not_null(gz);
    size_t cap = 4 << 20, len = 0;
    char *buf = malloc(cap);
    int n;
    while ((n = gzread(gz, buf + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)n;
        cr_assert_lt(len, cap);
    }
    gzclose(gz);
    size_t lines = 0;
    for (size_t at = 0; at < len;) {
        cr_assert_eq(strncmp(buf + at, "{\"v\":1,", 7), 0, "line %zu does not start with \"v\"",
                     lines + 1);
        char *nl = memchr(buf + at, '\n', len - at);
        cr_assert_not_null(nl, "last line has no newline");
        at = (size_t)(nl - buf) + 1;
        lines++;
    }
    cr_assert_eq(lines, want_lines);
    free(buf);
}

/* ---- round trips ------------------------------------------------------------------ */

static void round_trip(const char *name)
{
    enum { N = 6 };
    json_t *written[N];
    for (int i = 0; i < N; i++)
        written[i] = i == 3 ? make_big_record() : make_record(i);
    const char *path = in_dir(name);
    write_records(path, written, N);

    json_t *got[N];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, N, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, (size_t)N);
    cr_assert_null(pm_jsonl_reader_warning(r));
    cr_assert_eq(pm_jsonl_reader_records(r), (uint64_t)N);
    cr_assert_eq(pm_jsonl_reader_line(r), (uint64_t)N);
    for (int i = 0; i < N; i++) {
        cr_assert(json_equal(got[i], written[i]), "record %d differs", i);
        cr_assert_str_eq(json_object_iter_key(json_object_iter(got[i])), "v");
    }
    cr_assert_eq(json_string_length(json_object_get(got[3], "big")),
                 json_string_length(json_object_get(written[3], "big")));
    cr_assert_gt(json_string_length(json_object_get(got[3], "big")), 1000000);
    pm_jsonl_reader_close(r);
    expect_lines_start_with_v(path, N);
    decref_all(got, N);
    decref_all(written, N);
}

Test(jsonl, round_trip_plain)
{
    round_trip("records.jsonl");
}

Test(jsonl, round_trip_gzip)
{
    round_trip("records.jsonl.gz");
    /* .gz really is gzip */
    FILE *f = fopen(in_dir("records.jsonl.gz"), "rb");
    unsigned char magic[2] = {0};
    cr_assert_eq(fread(magic, 1, 2, f), 2);
    fclose(f);
    cr_assert(magic[0] == 0x1f && magic[1] == 0x8b);
}

/* Replay writes its .gz results at level 1 (jsonl.h): the same records read back, the
 * setter refused where it cannot apply (plain output, a level out of range, after the
 * first record). */
Test(jsonl, gzip_level_round_trip)
{
    enum { N = 300 };
    pm_err err = {{0}};
    json_t *records[N];
    for (int i = 0; i < N; i++)
        records[i] = make_record(i);
    const char *path = in_dir("fast.jsonl.gz");
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(pm_jsonl_writer_set_gzip_level(w, 0), -1);
    cr_assert_eq(pm_jsonl_writer_set_gzip_level(w, 10), -1);
    cr_assert_eq(pm_jsonl_writer_set_gzip_level(w, 1), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pm_jsonl_writer_write(w, records[i], &err), 0, "%s", err.msg);
    cr_assert_eq(pm_jsonl_writer_set_gzip_level(w, 6), -1, "after the first record");
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
    json_t *back[N];
    int last;
    pm_jsonl_reader *r;
    cr_assert_eq(read_records(path, back, N, &last, &r, &err), N);
    cr_assert_eq(last, 0, "%s", err.msg);
    for (int i = 0; i < N; i++)
        cr_assert(json_equal(records[i], back[i]), "record %d", i);
    pm_jsonl_reader_close(r);
    decref_all(back, N);
    decref_all(records, N);

    pm_jsonl_writer *plain = pm_jsonl_writer_open(in_dir("fast.jsonl"), &err);
    cr_assert_not_null(plain, "%s", err.msg);
    cr_assert_eq(pm_jsonl_writer_set_gzip_level(plain, 1), -1, "not gzip");
    cr_assert_eq(pm_jsonl_writer_close(plain, &err), 0, "%s", err.msg);
}

/* A plain file past the write-back step (8 MiB, jsonl_writer.c) reads back whole: twelve
 * records of 1 MiB, flushed in the middle too. */
Test(jsonl, plain_file_past_the_write_back_step)
{
    enum { N = 12 };
    pm_err err = {{0}};
    const char *path = in_dir("big.jsonl");
    json_t *big = make_big_record();
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(pm_jsonl_writer_write(w, big, &err), 0, "%s", err.msg);
        if (i == N / 2)
            cr_assert_eq(pm_jsonl_writer_flush(w, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
    json_t *back[N];
    int last;
    pm_jsonl_reader *r;
    cr_assert_eq(read_records(path, back, N, &last, &r, &err), N);
    cr_assert_eq(last, 0, "%s", err.msg);
    for (int i = 0; i < N; i++)
        cr_assert(json_equal(big, back[i]), "record %d", i);
    pm_jsonl_reader_close(r);
    decref_all(back, N);
    json_decref(big);
}

Test(jsonl, empty_file_is_a_clean_end)
{
    const char *path = in_dir("empty.jsonl.gz");
    write_records(path, NULL, 0);
    pm_err err = {{0}};
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *rec = (json_t *)1;
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 0);
    cr_assert_null(rec);
    cr_assert_null(pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
}

Test(jsonl, files_are_created_0600)
{
    const char *names[] = {"mode.jsonl", "mode.jsonl.gz"};
    for (int i = 0; i < 2; i++) {
        const char *path = in_dir(names[i]);
        /* an existing, more open file is tightened too */
        write_text(path, "old\n");
        chmod(path, 0644);
        json_t *rec = make_record(1);
        write_records(path, &rec, 1);
        json_decref(rec);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0600, "%s: mode %o", path, st.st_mode & 0777);
    }
    mode_t old = umask(0);
    const char *path = in_dir("umask0.jsonl");
    json_t *rec = make_record(1);
    write_records(path, &rec, 1);
    json_decref(rec);
    umask(old);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
}

/* -o LINK: a symbolic link where the output goes is refused, never written through (a
 * planted link would otherwise have pmirror truncate, fill and chmod 0600 its target). */
Test(jsonl, writer_refuses_a_symlink)
{
    const char *names[] = {"link.jsonl", "link.jsonl.gz"};
    const char *victim = in_dir("victim.txt");
    write_text(victim, "precious\n");
    chmod(victim, 0644);
    for (int i = 0; i < 2; i++) {
        const char *link = in_dir(names[i]);
        cr_assert_eq(symlink(victim, link), 0);
        pm_err err = {{0}};
        pm_jsonl_writer *w = pm_jsonl_writer_open(link, &err);
        if (w) {
            json_t *rec = make_record(1);
            pm_jsonl_writer_write(w, rec, &err);
            json_decref(rec);
            pm_jsonl_writer_close(w, &err);
        }
        cr_expect_null(w, "%s: opened through a symbolic link", link);
        cr_expect_not_null(strstr(err.msg, link), "error does not name %s: %s", link, err.msg);
        cr_expect_not_null(strstr(err.msg, "symbolic link"), "error does not say why: %s", err.msg);
        struct stat st;
        cr_assert_eq(stat(victim, &st), 0);
        cr_expect_eq(st.st_mode & 0777, 0644, "the link's target was chmodded to %o", st.st_mode & 0777);
        cr_expect_eq(st.st_size, 9, "the link's target was written (%lld bytes)", (long long)st.st_size);
        cr_assert_eq(lstat(link, &st), 0);
        cr_expect(S_ISLNK(st.st_mode), "the link itself was replaced");
    }
}

/* ---- damage at the end ------------------------------------------------------------ */

Test(jsonl, truncated_last_line_is_a_warning)
{
    const char *path = in_dir("cut.jsonl");
    json_t *written[3];
    for (int i = 0; i < 3; i++)
        written[i] = make_record(i);
    write_records(path, written, 3);
    append_text(path, "{\"v\":1,\"id\":\"x");

    json_t *got[4];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, 4, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(json_equal(got[i], written[i]));
    const char *warning = pm_jsonl_reader_warning(r);
    cr_assert_not_null(warning);
    cr_assert_not_null(strstr(warning, "after record 3"), "%s", warning);
    cr_assert_not_null(strstr(warning, path), "%s", warning);
    /* the end stays the end */
    json_t *rec;
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 0);
    pm_jsonl_reader_close(r);
    decref_all(got, n);
    decref_all(written, 3);
}

Test(jsonl, complete_last_line_without_newline_is_a_record)
{
    const char *path = in_dir("nonl.jsonl");
    write_text(path, "{\"v\":1,\"id\":\"a\"}\n{\"v\":1,\"id\":\"b\"}");
    json_t *got[3];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, 3, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(json_string_value(json_object_get(got[1], "id")), "b");
    cr_assert_null(pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
    decref_all(got, n);
}

Test(jsonl, truncated_gzip_yields_a_prefix_and_a_warning)
{
    enum { N = 200 };
    json_t *written[N];
    for (int i = 0; i < N; i++)
        written[i] = make_record(i);
    const char *path = in_dir("cut.jsonl.gz");
    write_records(path, written, N);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_gt(st.st_size, 1000);
    cr_assert_eq(truncate(path, st.st_size * 6 / 10), 0);

    json_t *got[N];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, N, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_gt(n, 0);
    cr_assert_lt(n, (size_t)N);
    for (size_t i = 0; i < n; i++)
        cr_assert(json_equal(got[i], written[i]), "record %zu differs", i);
    const char *warning = pm_jsonl_reader_warning(r);
    cr_assert_not_null(warning);
    cr_assert_not_null(strstr(warning, "gzip"), "%s", warning);
    cr_assert_not_null(strstr(warning, "truncated"), "%s", warning);
    char after[64];
    snprintf(after, sizeof after, "after record %zu", n);
    cr_assert_not_null(strstr(warning, after), "%s", warning);
    pm_jsonl_reader_close(r);
    decref_all(got, n);
    decref_all(written, N);
}

/* fuzz_jsonl's find: a gzip stream with a flushed line ({"v":1,"id":"a"}), a block holding
 * another ({"v":1,"id":"b"}), then a damaged block. zlib's gzread dropped what it had inflated
 * in the call that met the damage, so the whole file read as "not a JSON Lines file" while a
 * copy cut before the damage read both records. */
Test(jsonl, damaged_gzip_yields_what_came_before_the_damage)
{
    static const unsigned char bytes[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xaa, 0x56, 0x2a, 0x53, 0xb2,
        0x32, 0xd4, 0x51, 0xca, 0x4c, 0x51, 0xb2, 0x52, 0x4a, 0x54, 0xaa, 0xe5, 0x02, 0x00, 0x00,
        0x00, 0xff, 0xff, 0xaa, 0x46, 0x16, 0x48, 0x02, 0x0a, 0x00, 0x00, 0x00, 0x00, 0xff, 0x2d};
    const char *path = in_dir("damaged.jsonl.gz");
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, sizeof bytes, f), sizeof bytes);
    fclose(f);
    json_t *got[4];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, 4, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, 2, "the records inflated before the damage");
    cr_assert_str_eq(json_string_value(json_object_get(got[0], "id")), "a");
    cr_assert_str_eq(json_string_value(json_object_get(got[1], "id")), "b");
    const char *warning = pm_jsonl_reader_warning(r);
    cr_assert(warning && strstr(warning, "corrupt gzip data"), "%s", warning ? warning : "(none)");
    pm_jsonl_reader_close(r);
    decref_all(got, n);
}

Test(jsonl, killed_gzip_writer_loses_nothing_before_the_last_flush)
{
    enum { N = 40, MORE = 5 };
    json_t *written[N + MORE];
    for (int i = 0; i < N + MORE; i++)
        written[i] = make_record(i);
    const char *path = in_dir("live.jsonl.gz");
    const char *copy = in_dir("copy.jsonl.gz");
    pm_err err = {{0}};
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    pm_jsonl_writer_set_flush_ms(w, 1);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(pm_jsonl_writer_write(w, written[i], &err), 0, "%s", err.msg);
        usleep(1500);
        cr_assert_eq(pm_jsonl_writer_tick(w, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(pm_jsonl_writer_flush(w, &err), 0, "%s", err.msg);

    /* "kill": take the bytes on disk now, without closing */
    copy_file(path, copy);
    json_t *got[N + MORE];
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(copy, got, N + MORE, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, (size_t)N, "recovered %zu of %d flushed records", n, N);
    for (size_t i = 0; i < n; i++)
        cr_assert(json_equal(got[i], written[i]), "record %zu differs", i);
    cr_assert_not_null(pm_jsonl_reader_warning(r), "an unfinished gzip stream must be reported");
    pm_jsonl_reader_close(r);
    decref_all(got, n);

    /* a few more records, relying on the interval alone: still a prefix */
    for (int i = N; i < N + MORE; i++) {
        usleep(2000);
        cr_assert_eq(pm_jsonl_writer_write(w, written[i], &err), 0, "%s", err.msg);
    }
    copy_file(path, copy);
    n = read_records(copy, got, N + MORE, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_geq(n, (size_t)N + MORE - 1);
    for (size_t i = 0; i < n; i++)
        cr_assert(json_equal(got[i], written[i]), "record %zu differs", i);
    pm_jsonl_reader_close(r);
    decref_all(got, n);

    /* a proper close finishes the stream: everything, no warning */
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
    n = read_records(path, got, N + MORE, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, (size_t)N + MORE);
    cr_assert_null(pm_jsonl_reader_warning(r), "%s", pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
    decref_all(got, n);
    decref_all(written, N + MORE);
}

Test(jsonl, plain_writer_shows_whole_lines_only)
{
    enum { N = 30 };
    json_t *written[N];
    for (int i = 0; i < N; i++)
        written[i] = make_record(i);
    const char *path = in_dir("live.jsonl");
    const char *copy = in_dir("copy.jsonl");
    pm_err err = {{0}};
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pm_jsonl_writer_write(w, written[i], &err), 0, "%s", err.msg);
    cr_assert_eq(pm_jsonl_writer_flush(w, &err), 0, "%s", err.msg);
    copy_file(path, copy);
    json_t *got[N];
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(copy, got, N, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, (size_t)N);
    cr_assert_null(pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
    decref_all(got, n);
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
    decref_all(written, N);
}

/* ---- damage in the middle --------------------------------------------------------- */

Test(jsonl, garbage_mid_file_is_an_error_naming_the_line)
{
    const char *path = in_dir("bad.jsonl");
    write_text(path, "{\"v\":1,\"id\":\"a\"}\nnot json\n{\"v\":1,\"id\":\"c\"}\n");
    pm_err err = {{0}};
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *rec;
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 1);
    json_decref(rec);
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), -1);
    cr_assert_null(rec);
    char want[320];
    snprintf(want, sizeof want, "%s:2:", path);
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    pm_jsonl_reader_close(r);
}

Test(jsonl, skip_bad_counts_and_continues)
{
    const char *path = in_dir("bad.jsonl.gz");
    /* through the writer's gzip path for the good lines is not possible with garbage, so
     * write the gzip file by hand */
    gzFile gz = gzopen(path, "wb");
    gzputs(gz, "{\"v\":1,\"id\":\"a\"}\nnot json\n{\"v\":1,\"id\":\"c\"}\n");
    gzclose(gz);
    pm_err err = {{0}};
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    pm_jsonl_reader_set_skip_bad(r, true);
    json_t *rec;
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 1);
    cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "a");
    json_decref(rec);
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 1, "%s", err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "c");
    json_decref(rec);
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 0);
    cr_assert_eq(pm_jsonl_reader_skipped(r), 1);
    cr_assert_eq(pm_jsonl_reader_records(r), 2);
    cr_assert_null(pm_jsonl_reader_warning(r));
    pm_jsonl_reader_close(r);
}

/* ---- the line cap ----------------------------------------------------------------- */

/* A file whose line 2 is a record of exactly `size` bytes (before the newline), between
 * two small records; gzip when the name ends in .gz. */
static const char *file_with_line_of(const char *name, size_t size)
{
    const char *path = in_dir(name);
    const char *head = "{\"v\":1,\"id\":\"big\",\"pad\":\"";
    cr_assert_gt(size, strlen(head) + 2);
    char *line = malloc(size + 1);
    cr_assert_not_null(line);
    size_t pad = size - strlen(head) - 2;
    memcpy(line, head, strlen(head));
    memset(line + strlen(head), 'a', pad);
    memcpy(line + strlen(head) + pad, "\"}", 3);
    const char *first = "{\"v\":1,\"id\":\"a\"}\n", *last = "\n{\"v\":1,\"id\":\"c\"}\n";
    size_t n = strlen(name);
    if (n > 3 && strcmp(name + n - 3, ".gz") == 0) {
        gzFile gz = gzopen(path, "wb");
        cr_assert_not_null(gz);
        gzputs(gz, first);
        gzwrite(gz, line, (unsigned)size);
        gzputs(gz, last);
        gzclose(gz);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        fputs(first, f);
        fwrite(line, 1, size, f);
        fputs(last, f);
        fclose(f);
    }
    free(line);
    return path;
}

/* Reads path with the line cap set to cap: the records' ids joined by ',' into ids, the
 * last return code, and err. */
static int read_with_cap(const char *path, size_t cap, bool skip_bad, bool as_text, char *ids, size_t size,
                         pm_err *err, uint64_t *skipped)
{
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, err);
    cr_assert_not_null(r, "%s", err->msg);
    pm_jsonl_reader_set_max_line(r, cap);
    pm_jsonl_reader_set_skip_bad(r, skip_bad);
    ids[0] = '\0';
    int rc;
    for (;;) {
        json_t *rec = NULL;
        const char *text;
        size_t len;
        rc = as_text ? pm_jsonl_reader_next_text(r, &text, &len, err) : pm_jsonl_reader_next(r, &rec, err);
        if (rc != 1)
            break;
        if (as_text)
            rec = json_loadb(text, len, 0, NULL);
        snprintf(ids + strlen(ids), size - strlen(ids), "%s%s", ids[0] ? "," : "",
                 json_string_value(json_object_get(rec, "id")));
        json_decref(rec);
    }
    *skipped = pm_jsonl_reader_skipped(r);
    pm_jsonl_reader_close(r);
    return rc;
}

Test(jsonl, line_over_the_cap_is_an_error_naming_file_and_line)
{
    const char *names[] = {"long.jsonl", "long.jsonl.gz"};
    for (int i = 0; i < 2; i++) {
        for (int as_text = 0; as_text < 2; as_text++) {
            /* well past the cap (several read chunks), and one byte past it */
            const size_t sizes[] = {300000, 100001};
            for (int k = 0; k < 2; k++) {
                const char *path = file_with_line_of(names[i], sizes[k]);
                pm_err err = {{0}};
                char ids[64];
                uint64_t skipped;
                int rc = read_with_cap(path, 100000, false, as_text, ids, sizeof ids, &err, &skipped);
                cr_expect_eq(rc, -1, "%s (%zu bytes, text %d): a line over the cap was read (records %s)", path,
                             sizes[k], as_text, ids);
                char want[400];
                snprintf(want, sizeof want, "%s:2: line longer than 100000 bytes", path);
                cr_expect_eq(strncmp(err.msg, want, strlen(want)), 0, "want \"%s...\", got \"%s\"", want, err.msg);
                cr_expect_str_eq(ids, "a", "records before the long line");
            }
        }
    }
}

Test(jsonl, line_at_the_cap_is_read)
{
    const char *path = file_with_line_of("at-cap.jsonl", 100000);
    pm_err err = {{0}};
    char ids[64];
    uint64_t skipped;
    cr_assert_eq(read_with_cap(path, 100000, false, false, ids, sizeof ids, &err, &skipped), 0, "%s", err.msg);
    cr_assert_str_eq(ids, "a,big,c");
}

Test(jsonl, line_over_the_cap_is_skipped_with_skip_bad)
{
    const char *names[] = {"skip-long.jsonl", "skip-long.jsonl.gz"};
    for (int i = 0; i < 2; i++) {
        const char *path = file_with_line_of(names[i], 1000000);
        pm_err err = {{0}};
        char ids[64];
        uint64_t skipped;
        cr_assert_eq(read_with_cap(path, 100000, true, false, ids, sizeof ids, &err, &skipped), 0, "%s", err.msg);
        cr_expect_str_eq(ids, "a,c", "%s", path);
        cr_expect_eq(skipped, 1);
    }
}

/* The cap holds any record pmirror writes with the default caps: the request's body and
 * five answers cut at the body cap, binary (base64: 4/3 as long), with room to spare. */
Test(jsonl, default_line_cap_holds_a_result_with_six_capped_binary_bodies)
{
    cr_assert_eq(PM_BODY_CAP_DEFAULT, (size_t)16 << 20);
    cr_assert_eq(PM_JSONL_LINE_MAX, (size_t)(64 + 8 * 16) << 20);
    cr_assert_gt(PM_JSONL_LINE_MAX, 6 * (PM_BODY_CAP_DEFAULT / 3 * 4 + 4) + ((size_t)1 << 20));
}

static void expect_line_error(const char *name, const char *text, int line, const char *what)
{
    const char *path = in_dir(name);
    write_text(path, text);
    pm_err err = {{0}};
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *rec;
    int rc;
    while ((rc = pm_jsonl_reader_next(r, &rec, &err)) == 1)
        json_decref(rec);
    cr_assert_eq(rc, -1, "%s: no error", name);
    char want[320];
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, what), "%s", err.msg);
    pm_jsonl_reader_close(r);
}

Test(jsonl, lines_that_are_not_records)
{
    expect_line_error("array.jsonl", "{\"v\":1}\n[1,2]\n{\"v\":1}\n", 2, "not a JSON object");
    expect_line_error("string.jsonl", "\"v\"\n{\"v\":1}\n", 1, "not a JSON object");
    expect_line_error("nov.jsonl", "{\"v\":1}\n{\"v\":1}\n{\"id\":\"x\"}\n{\"v\":1}\n", 3, "\"v\"");
    expect_line_error("v2.jsonl", "{\"v\":1}\n{\"v\":2,\"id\":\"x\"}\n{\"v\":1}\n", 2, "version");
    expect_line_error("vstr.jsonl", "{\"v\":\"1\"}\n{\"v\":1}\n", 1, "\"v\"");
    expect_line_error("trailing.jsonl", "{\"v\":1} x\n{\"v\":1}\n", 1, "not JSON");
}

Test(jsonl, missing_file_names_the_path)
{
    pm_err err = {{0}};
    const char *path = in_dir("does-not-exist.jsonl.gz");
    cr_assert_null(pm_jsonl_reader_open(path, &err));
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);

    const char *unwritable = "/tmp/pm-no-such-dir-jsonl/out.jsonl";
    cr_assert_null(pm_jsonl_writer_open(unwritable, &err));
    cr_assert_not_null(strstr(err.msg, unwritable), "%s", err.msg);
}

Test(jsonl, blank_lines_and_crlf_are_tolerated)
{
    const char *path = in_dir("crlf.jsonl");
    write_text(path, "\r\n{\"v\":1,\"id\":\"a\"}\r\n\r\n   \n\t\n{\"v\":1,\"id\":\"b\"}\r\n\n"
                     "{\"v\":1,\"id\":\"c\"}\r\n");
    json_t *got[4];
    pm_err err = {{0}};
    int last;
    pm_jsonl_reader *r;
    size_t n = read_records(path, got, 4, &last, &r, &err);
    cr_assert_eq(last, 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(json_string_value(json_object_get(got[0], "id")), "a");
    cr_assert_str_eq(json_string_value(json_object_get(got[1], "id")), "b");
    cr_assert_str_eq(json_string_value(json_object_get(got[2], "id")), "c");
    cr_assert_null(pm_jsonl_reader_warning(r));
    cr_assert_eq(pm_jsonl_reader_skipped(r), 0);
    pm_jsonl_reader_close(r);
    decref_all(got, n);
}

Test(jsonl, lines_across_read_chunks)
{
    /* many mid-size lines so that lines straddle the reader's 64 KiB reads */
    enum { N = 3000 };
    const char *path = in_dir("many.jsonl");
    pm_err err = {{0}};
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        json_t *rec = make_record(i);
        cr_assert_eq(pm_jsonl_writer_write(w, rec, &err), 0, "%s", err.msg);
        json_decref(rec);
    }
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *rec;
    int i = 0, rc;
    while ((rc = pm_jsonl_reader_next(r, &rec, &err)) == 1) {
        json_t *want = make_record(i);
        cr_assert(json_equal(rec, want), "record %d differs", i);
        json_decref(want);
        json_decref(rec);
        i++;
    }
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(i, N);
    pm_jsonl_reader_close(r);
}

/* Bodies may hold NUL bytes: a record with \u0000 in a string is read back whole. */
Test(jsonl, nul_in_strings_round_trips)
{
    char dir[] = "/tmp/pm-jsonl-nul-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/nul.jsonl", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"v\":1,\"body\":\"a\\u0000b\"}\n", f);
    fclose(f);
    pm_err err;
    pm_jsonl_reader *r = pm_jsonl_reader_open(path, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *rec;
    cr_assert_eq(pm_jsonl_reader_next(r, &rec, &err), 1, "%s", err.msg);
    cr_assert_eq(json_string_length(json_object_get(rec, "body")), 3);
    json_decref(rec);
    pm_jsonl_reader_close(r);
    unlink(path);
    rmdir(dir);
}
