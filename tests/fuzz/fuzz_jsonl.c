/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_jsonl.c — libFuzzer target for the JSON Lines reader and writer (core/jsonl_*.c).
 *
 * The reader's promise is that a file cut short still yields every complete record and
 * that nothing it yields is made up. Input: a flags byte, two bytes choosing a cut point,
 * then the file's content. Checked, for the content as it is (plain, or gzip when it
 * starts like gzip) and, with flag 1, gzip-compressed here with a sync flush after every
 * line (what the writer does at its flush interval):
 *  - pm_jsonl_reader_next and pm_jsonl_reader_next_text agree: the text lines that are
 *    valid records (a JSON object with "v": 1) are exactly the records, in order; a text
 *    line never holds a newline;
 *  - plain and gzip readings of the same content yield the same records and end alike;
 *  - cut at any byte: the records read are a prefix of the whole file's (the last may be a
 *    cut line that still parses), and every record whose line (plain) or sync flush (gzip)
 *    ended before the cut is there: loss is bounded by the flush;
 *  - the writer: the records written back through pm_jsonl_writer (plain, or gzip with
 *    flag 8), flushed one by one, read back equal, and from any cut of that file every
 *    record flushed before the cut comes back.
 * Flag 2 sets skip_bad. Files live in a memfd (read through /proc/self/fd) and a private
 * temporary directory (the writer picks gzip by the ".gz" name).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64

enum { FLAG_GZIP = 1, FLAG_SKIP_BAD = 2, FLAG_WRITER_GZ = 8 };

static int memfd = -1;
static char memfd_path[64];
static char gz_path[128], plain_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memfd = memfd_create("fuzz_jsonl", MFD_CLOEXEC);
    if (memfd < 0)
        abort();
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    char dir[] = "/tmp/fuzz_jsonl.XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(gz_path, sizeof gz_path, "%s/out.jsonl.gz", dir);
    snprintf(plain_path, sizeof plain_path, "%s/out.jsonl", dir);
    return 0;
}

/* What one reading of a file yielded. */
typedef struct {
    json_t *records[MAX_RECORDS];
    size_t n;
    int rc; /* 0 clean end (maybe with a warning), -1 error */
    bool warned;
    uint64_t skipped;
} reading;

static void reading_free(reading *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->records[i]);
    r->n = 0;
}

static void put_file(const void *data, size_t len)
{
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, len, 0) != (ssize_t)len)
        abort();
}

/* A valid record as the tree reader judges it (its parse_line, restated). */
static json_t *as_record(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    const json_t *ver = json_object_get(v, "v");
    if (!json_is_object(v) || !json_is_integer(ver) || json_integer_value(ver) != 1) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Reads path with trees into r, and checks the text reading against it. */
static void read_both(const char *path, bool skip_bad, reading *r)
{
    pm_err err;
    memset(r, 0, sizeof *r);
    pm_jsonl_reader *in = pm_jsonl_reader_open(path, &err);
    if (!in)
        abort(); /* the file exists */
    pm_jsonl_reader_set_skip_bad(in, skip_bad);
    json_t *rec;
    int got;
    while (r->n < MAX_RECORDS && (got = pm_jsonl_reader_next(in, &rec, &err)) == 1) {
        size_t len;
        const char *text = pm_jsonl_reader_text(in, &len);
        json_t *again = as_record(text, len);
        if (!again || !json_equal(again, rec))
            abort(); /* the record's text is not the record */
        json_decref(again);
        r->records[r->n++] = rec;
        double p = pm_jsonl_reader_progress(in);
        if (p != -1 && (p < 0 || p > 1))
            abort();
    }
    r->rc = r->n < MAX_RECORDS && got < 0 ? -1 : 0;
    r->warned = pm_jsonl_reader_warning(in) != NULL;
    r->skipped = pm_jsonl_reader_skipped(in);
    if (r->n > pm_jsonl_reader_records(in))
        abort();
    pm_jsonl_reader_close(in);

    /* Text mode: the valid lines among its texts are the records, up to where the tree
     * reading stopped. */
    in = pm_jsonl_reader_open(path, &err);
    if (!in)
        abort();
    size_t matched = 0;
    const char *text;
    size_t len;
    while (matched < r->n && (got = pm_jsonl_reader_next_text(in, &text, &len, &err)) == 1) {
        if (memchr(text, '\n', len))
            abort();
        json_t *v = as_record(text, len);
        if (v) {
            if (!json_equal(v, r->records[matched]))
                abort(); /* text and tree readings disagree */
            matched++;
        }
        json_decref(v);
    }
    if (matched != r->n)
        abort(); /* the text reading lost a record the tree reading found */
    pm_jsonl_reader_close(in);
}

/* A reading of a prefix of the file against the reading of the whole: the first
 * must_have records (those whose line or flush ended before the cut) are all there, and
 * nothing else is made up. Only the last may differ: a line cut short that still parses
 * as a record (`{"v":1} junk` cut after the brace) is indistinguishable from a whole one. */
static void check_cut(const reading *whole, const reading *cut, size_t must_have)
{
    if (cut->n < must_have || cut->n > whole->n + 1)
        abort(); /* lost a record that was flushed, or made some up */
    for (size_t i = 0; i + 1 < cut->n; i++)
        if (!json_equal(cut->records[i], whole->records[i]))
            abort();
}

/* The content, gzip-compressed with a Z_SYNC_FLUSH after every line. ends[i]: compressed
 * bytes after the flush of line i; *nlines set. Returns a malloc'd buffer. */
static unsigned char *gzip_lines(const uint8_t *data, size_t size, size_t *out_len, size_t *ends, size_t max_ends,
                                 size_t *nlines)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, size) + 64 + 16 * (size + 1);
    unsigned char *out = malloc(cap);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    size_t at = 0;
    *nlines = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) + 1 : size;
        z.next_in = (unsigned char *)data + at;
        z.avail_in = (uInt)(end - at);
        if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0)
            abort();
        if (nl && *nlines < max_ends)
            ends[(*nlines)++] = cap - z.avail_out;
        at = end;
    }
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* How many records of the whole reading lie in its first `lines` lines: the records are
 * counted in a plain re-reading of just those lines (same skip_bad). */
static size_t records_in_lines(const uint8_t *data, size_t size, size_t lines, bool skip_bad)
{
    size_t at = 0;
    for (size_t i = 0; i < lines; i++)
        at = (size_t)((const uint8_t *)memchr(data + at, '\n', size - at) - data) + 1;
    put_file(data, at);
    reading r;
    read_both(memfd_path, skip_bad, &r);
    size_t n = r.n;
    reading_free(&r);
    return n;
}

static void fuzz_content(const uint8_t *data, size_t size, unsigned flags, double cut_at)
{
    bool skip_bad = flags & FLAG_SKIP_BAD;
    bool is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    reading whole, other, cut;

    put_file(data, size);
    read_both(memfd_path, skip_bad, &whole);

    /* A cut of the content itself: for plain content, whole lines before the cut survive. */
    size_t c = (size_t)(cut_at * (double)size);
    put_file(data, c);
    read_both(memfd_path, skip_bad, &cut);
    size_t lines = 0;
    for (size_t i = 0; i < c; i++)
        lines += data[i] == '\n';
    check_cut(&whole, &cut, is_gzip ? 0 : records_in_lines(data, size, lines, skip_bad));
    reading_free(&cut);

    if ((flags & FLAG_GZIP) && !is_gzip) {
        size_t ends[MAX_RECORDS * 4], nends, zlen;
        unsigned char *z = gzip_lines(data, size, &zlen, ends, sizeof ends / sizeof *ends, &nends);
        put_file(z, zlen);
        read_both(memfd_path, skip_bad, &other);
        if (other.n != whole.n || other.rc != whole.rc || other.skipped != whole.skipped ||
            other.warned != whole.warned)
            abort(); /* gzip and plain readings of the same lines differ */
        for (size_t i = 0; i < whole.n; i++)
            if (!json_equal(other.records[i], whole.records[i]))
                abort();
        reading_free(&other);
        size_t zc = (size_t)(cut_at * (double)zlen);
        size_t flushed = 0; /* lines whose sync flush ended before the cut */
        while (flushed < nends && ends[flushed] <= zc)
            flushed++;
        put_file(z, zc);
        read_both(memfd_path, skip_bad, &cut);
        size_t must = flushed > 0 ? records_in_lines(data, size, flushed, skip_bad) : 0;
        check_cut(&whole, &cut, must);
        reading_free(&cut);
        free(z);
    }

    /* The writer: records back out, each flushed, then read back whole and cut. */
    if (whole.n > 0) {
        const char *path = flags & FLAG_WRITER_GZ ? gz_path : plain_path;
        pm_err err;
        pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
        if (!w)
            abort();
        size_t sizes[MAX_RECORDS];
        struct stat st;
        for (size_t i = 0; i < whole.n; i++) {
            if (pm_jsonl_writer_write(w, whole.records[i], &err) != 0 || pm_jsonl_writer_flush(w, &err) != 0 ||
                stat(path, &st) != 0)
                abort();
            sizes[i] = (size_t)st.st_size;
        }
        if (pm_jsonl_writer_count(w) != whole.n || pm_jsonl_writer_close(w, &err) != 0)
            abort();
        read_both(path, false, &other);
        if (other.rc != 0 || other.warned || other.n != whole.n)
            abort(); /* a cleanly closed file reads back whole */
        for (size_t i = 0; i < whole.n; i++)
            if (!json_equal(other.records[i], whole.records[i]))
                abort();
        size_t len;
        char *bytes = pm_read_file(path, &len, &err);
        if (!bytes)
            abort();
        size_t wc = (size_t)(cut_at * (double)len), flushed = 0;
        while (flushed < whole.n && sizes[flushed] <= wc)
            flushed++;
        put_file(bytes, wc);
        read_both(memfd_path, false, &cut);
        check_cut(&other, &cut, flushed);
        reading_free(&cut);
        reading_free(&other);
        free(bytes);
    }
    reading_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 64 * 1024)
        return 0;
    unsigned flags = data[0];
    double cut_at = (double)(data[1] | data[2] << 8) / 65535.0;
    fuzz_content(data + 3, size - 3, flags, cut_at);
    return 0;
}
