/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_har.c — HAR import's corners, on in-memory documents: the streamed walk of the
 * document (members in any order, escaped names, a byte order mark, values it must skip,
 * where errors are reported), the mapping of one entry (times with offsets, versions,
 * HTTP/2 pseudo-headers and Host, bodies that are unknown, decoded gzip compressed again,
 * codings zlib cannot redo), and the exporter's entry for a record. The whole-file
 * behaviour is in tests/integration/har.sh, the devtools fixture in fixtures/har/.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "har/har_internal.h"

static pm_capmap *map;

static void setup(void)
{
    pm_err err;
    map = pm_capmap_load(PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml", &err);
    cr_assert_not_null(map, "%s", err.msg);
}

static void teardown(void)
{
    pm_capmap_free(map);
}

typedef struct {
    json_t *records;
    char warnings[4096];
} collected;

static int collect(void *ctx, const char *text, size_t len, pm_err *err)
{
    (void)err;
    collected *c = ctx;
    json_t *r = json_loadb(text, len, 0, NULL);
    cr_assert_not_null(r, "record is not JSON: %.*s", (int)len, text);
    json_array_append_new(c->records, r);
    return 0;
}

static void warn(void *ctx, const char *message)
{
    collected *c = ctx;
    strncat(c->warnings, message, sizeof c->warnings - strlen(c->warnings) - 2);
    strcat(c->warnings, "\n");
}

/* Imports text without redaction; returns the import's rc, records in c. */
static int import_text(const char *text, collected *c, pm_err *err)
{
    c->records = json_array();
    c->warnings[0] = '\0';
    har_options o;
    har_options_init(&o);
    o.path = "t.har";
    o.data = text;
    o.len = strlen(text);
    o.map = map;
    o.warn = warn;
    har_stats st;
    int rc = har_import(&o, collect, c, &st, err);
    har_stats_clear(&st);
    return rc;
}

/* One entry inside a minimal document. */
static json_t *import_entry(const char *entry)
{
    char doc[8192];
    snprintf(doc, sizeof doc, "{\"log\":{\"version\":\"1.2\",\"entries\":[%s]}}", entry);
    collected c;
    pm_err err;
    cr_assert_eq(import_text(doc, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(json_array_size(c.records), 1, "warnings: %s", c.warnings);
    json_t *r = json_incref(json_array_get(c.records, 0));
    json_decref(c.records);
    return r;
}

static const char *path_str(const json_t *r, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(r, a), b));
}

#define ENTRY(req, resp, extra)                                                                                \
    "{\"startedDateTime\":\"2026-11-20T09:15:02.123Z\",\"request\":" req ",\"response\":" resp extra "}"

/* ---- the document walk ----------------------------------------------------------------- */

TestSuite(har, .init = setup, .fini = teardown);

Test(har, members_in_any_order_escaped_names_bom_and_skipped_values)
{
    const char *doc = "\xef\xbb\xbf {\"x\": [1, {\"a\": \"]}\\\"\"}], \"l\\u006fg\": {\"pages\": [{\"id\": \"p\"}],"
                      " \"entries\": [" ENTRY("{\"method\":\"GET\",\"url\":\"http://h/v2/\"}", "{\"status\":200}", "")
                      "], \"version\": \"1.2\", \"comment\": -1.5e3, \"ok\": true, \"no\": null}, \"y\": \"z\"}";
    collected c;
    pm_err err;
    cr_assert_eq(import_text(doc, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(json_array_size(c.records), 1);
    json_decref(c.records);
}

Test(har, errors_name_the_file_and_the_entry)
{
    static const struct {
        const char *doc, *message;
    } cases[] = {
        {"", "t.har: not a HAR: the file is empty"},
        {"[]", "t.har: not a HAR: the document is not a JSON object (byte 0)"},
        {"{\"log\":{}}", "t.har: not a HAR: log has no \"entries\" array"},
        {"{\"other\":1}", "t.har: not a HAR: no \"log\" object"},
        {"{\"log\":{\"entries\":{}}}", "t.har: not a HAR: log.entries is not an array"},
        {"{\"log\":{\"entries\":[{},{\"a\":", "t.har: log.entries[1]: truncated: the file ends inside it"},
        {"{\"log\":{\"entries\":[{}", "t.har: truncated: the file ends in log.entries, after entry 0"},
        {"{\"log\":{\"entries\":[{} {}]}}", "t.har: byte 22: expected ',' or ']' in log.entries, after entry 0"},
        {"{\"log\":{\"entries\":[{\"a\":tru}]}}", "t.har: log.entries[0]: invalid JSON"},
        {"{\"log\":{\"entries\":[]},\"log\":{}}", "t.har: byte 28: a second \"log\" member"},
        {"{\"log\":{\"entries\":[]}} x", "t.har: byte 23: data after the end of the HAR document"},
        {"{\"log\":{\"version\":1.2.3,\"entries\":[]}}", "t.har: byte 18: not a JSON value in the log object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        collected c;
        pm_err err;
        cr_assert_eq(import_text(cases[i].doc, &c, &err), -1, "case %zu accepted", i);
        cr_assert(strncmp(err.msg, cases[i].message, strlen(cases[i].message)) == 0, "case %zu: '%s', want '%s'", i,
                  err.msg, cases[i].message);
        json_decref(c.records);
    }
}

Test(har, records_before_the_damage_are_handed_over)
{
    const char *doc = "{\"log\":{\"entries\":[" ENTRY("{\"method\":\"GET\",\"url\":\"http://h/a\"}", "{\"status\":200}",
                                                         "") ",{\"startedDateTime\":\"2026-11-20T09:15:02Z\",\"req";
    collected c;
    pm_err err;
    cr_assert_eq(import_text(doc, &c, &err), -1);
    cr_assert_eq(json_array_size(c.records), 1);
    cr_assert_str_eq(path_str(json_array_get(c.records, 0), "request", "target"), "/a");
    json_decref(c.records);
}

/* A gzip HAR whose first entry was flushed (Z_SYNC_FLUSH) before the stream was damaged: the
 * entry is handed over and the damage named. zlib's gzread dropped what it had inflated in
 * the call that met the damage, so this file read as "not a HAR" (the JSON Lines reader's
 * fuzz find, core/gz_input.c, and the same flaw here). */
Test(har, damaged_gzip_hands_over_what_came_before_the_damage)
{
    const char *doc = "{\"log\":{\"entries\":[" ENTRY("{\"method\":\"GET\",\"url\":\"http://h/a\"}", "{\"status\":200}",
                                                         "") ",";
    unsigned char out[4096];
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)doc;
    z.avail_in = (uInt)strlen(doc);
    z.next_out = out;
    z.avail_out = sizeof out;
    cr_assert_eq(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    size_t n = sizeof out - z.avail_out;
    deflateEnd(&z);
    static const unsigned char damage[] = {0x06, 0xff, 0x2d, 0x00}; /* a block of the reserved type */
    memcpy(out + n, damage, sizeof damage);
    n += sizeof damage;
    char path[] = "/tmp/pmirror-test-har-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, out, n), (ssize_t)n);
    close(fd);
    collected c = {.records = json_array()};
    har_options o;
    har_options_init(&o);
    o.path = path;
    o.map = map;
    o.warn = warn;
    har_stats st;
    pm_err err = {{0}};
    int rc = har_import(&o, collect, &c, &st, &err);
    har_stats_clear(&st);
    unlink(path);
    cr_assert_eq(rc, -1, "the damage is an error");
    cr_assert_eq(json_array_size(c.records), 1, "the entry inflated before the damage: %s", err.msg);
    cr_assert_str_eq(path_str(json_array_get(c.records, 0), "request", "target"), "/a");
    cr_assert(strstr(err.msg, "invalid block type"), "%s", err.msg);
    json_decref(c.records);
}

Test(har, skipped_entries_are_warned_about)
{
    const char *doc = "{\"log\":{\"entries\":[7," ENTRY("{\"method\":\"GET\",\"url\":\"ftp:/x\"}", "{\"status\":200}", "")
        "," ENTRY("{\"method\":\"GET\",\"url\":\"http://h/\"}", "{\"status\":42}", "") "]}}";
    collected c;
    pm_err err;
    cr_assert_eq(import_text(doc, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(json_array_size(c.records), 0);
    cr_assert(strstr(c.warnings, "t.har: log.entries[0]: not an object (skipped)"), "%s", c.warnings);
    cr_assert(strstr(c.warnings, "t.har: log.entries[1]: request.url 'ftp:/x' is not an absolute URL"), "%s",
              c.warnings);
    cr_assert(strstr(c.warnings, "t.har: log.entries[2]: response.status 42 is not an HTTP status"), "%s", c.warnings);
    json_decref(c.records);
}

/* ---- one entry -------------------------------------------------------------------------- */

Test(har, times_with_offsets_and_fractions)
{
    static const struct {
        const char *given, *ts;
    } cases[] = {
        {"2026-11-20T10:15:02.5+01:00", "2026-11-20T09:15:02.500000Z"},
        {"2026-11-20T09:15:02.1234567Z", "2026-11-20T09:15:02.123456Z"},
        {"2026-11-20T04:15:02-0500", "2026-11-20T09:15:02.000000Z"},
        {"2026-11-20 09:15", "2026-11-20T09:15:00.000000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char entry[512];
        snprintf(entry, sizeof entry,
                 "{\"startedDateTime\":\"%s\",\"request\":{\"method\":\"GET\",\"url\":\"http://h/\"}}", cases[i].given);
        json_t *r = import_entry(entry);
        cr_assert_str_eq(json_string_value(json_object_get(r, "ts")), cases[i].ts, "%s", cases[i].given);
        json_decref(r);
    }
}

Test(har, http2_pseudo_headers_give_host_and_versions_are_named)
{
    json_t *r = import_entry(ENTRY("{\"method\":\"GET\",\"url\":\"https://u:p@q.test:8443/v2/?a=1#f\",\"httpVersion\":"
                                   "\"h2\",\"headers\":[{\"name\":\":method\",\"value\":\"GET\"},{\"name\":\":authority\","
                                   "\"value\":\"q.test\"},{\"name\":\"accept\",\"value\":\"*/*\"}]}",
                                   "{\"status\":200,\"httpVersion\":\"h3-29\",\"headers\":[{\"name\":\":status\","
                                   "\"value\":\"200\"}],\"content\":{\"size\":0}}",
                                   ""));
    const json_t *req = json_object_get(r, "request");
    cr_assert_str_eq(path_str(r, "request", "target"), "/v2/?a=1");
    cr_assert_str_eq(path_str(r, "request", "version"), "HTTP/2");
    cr_assert_str_eq(path_str(r, "response", "version"), "HTTP/3");
    json_t *want = json_pack("[[ss][ss]]", "host", "q.test", "accept", "*/*");
    cr_assert(json_equal(json_object_get(req, "headers"), want), "%s", json_dumps(json_object_get(req, "headers"), 0));
    cr_assert_eq(json_array_size(json_object_get(json_object_get(r, "response"), "headers")), 0);
    json_decref(want);
    json_decref(r);

    /* no Host and no :authority: the URL's, without its user info */
    r = import_entry(ENTRY("{\"method\":\"GET\",\"url\":\"https://u:p@q.test:8443/x y\"}", "{\"status\":0}", ""));
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(json_object_get(r, "request"),
                                                                                      "headers"),
                                                                      0),
                                                      1)),
                     "q.test:8443");
    cr_assert_str_eq(path_str(r, "request", "target"), "/x%20y");
    cr_assert_null(json_object_get(r, "response"), "status 0 is no response");
    json_decref(r);
}

Test(har, timings_map_to_capture_meanings)
{
    json_t *r = import_entry(ENTRY("{\"method\":\"GET\",\"url\":\"http://h/\"}", "{\"status\":204}",
                                   ",\"time\":80.5,\"timings\":{\"blocked\":2,\"dns\":-1,\"connect\":30,\"ssl\":20,"
                                   "\"send\":1.25,\"wait\":40,\"receive\":4}"));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "request"), "done_us")), 33250);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "response"), "latency_us")), 40000);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "response"), "done_us")), 80500);
    json_decref(r);
}

Test(har, a_body_the_har_does_not_hold_is_unknown_not_empty)
{
    json_t *r = import_entry(ENTRY("{\"method\":\"POST\",\"url\":\"http://h/\",\"bodySize\":10}",
                                   "{\"status\":200,\"content\":{\"size\":2048,\"mimeType\":\"image/png\"}}", ""));
    for (int i = 0; i < 2; i++) {
        const json_t *m = json_object_get(r, i ? "response" : "request");
        cr_assert(json_is_true(json_object_get(m, "body_truncated")));
        cr_assert_null(json_object_get(m, "body"));
        cr_assert_null(json_object_get(m, "body_b64"));
        cr_assert_null(json_object_get(m, "body_sha256"));
        cr_assert_eq(json_integer_value(json_object_get(m, "body_len")), i ? 2048 : 10);
    }
    json_decref(r);
    /* a 204 or a HEAD has no body to miss */
    r = import_entry(ENTRY("{\"method\":\"HEAD\",\"url\":\"http://h/\"}",
                           "{\"status\":200,\"content\":{\"size\":2048}}", ""));
    cr_assert_null(json_object_get(json_object_get(r, "response"), "body_truncated"));
    json_decref(r);
}

Test(har, decoded_gzip_is_compressed_again_and_other_codings_are_removed)
{
    json_t *r = import_entry(ENTRY("{\"method\":\"GET\",\"url\":\"http://h/\"}",
                                   "{\"status\":200,\"headers\":[{\"name\":\"Content-Encoding\",\"value\":\"gzip\"}],"
                                   "\"content\":{\"size\":11,\"text\":\"hello world\"}}",
                                   ""));
    const json_t *resp = json_object_get(r, "response");
    unsigned char *gz = NULL, out[64];
    size_t gz_len = 0;
    cr_assert_eq(pm_base64_decode(path_str(r, "response", "body_b64"), strlen(path_str(r, "response", "body_b64")),
                                  false, &gz, &gz_len),
                 0);
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 31), Z_OK);
    z.next_in = gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = out;
    z.avail_out = sizeof out;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(z.total_out, 11);
    cr_assert(memcmp(out, "hello world", 11) == 0);
    inflateEnd(&z);
    free(gz);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(resp, "headers"), 0), 1)),
                     "gzip");
    json_decref(r);

    r = import_entry(ENTRY("{\"method\":\"GET\",\"url\":\"http://h/\"}",
                           "{\"status\":200,\"headers\":[{\"name\":\"Content-Encoding\",\"value\":\"br\"},{\"name\":"
                           "\"Content-Length\",\"value\":\"7\"},{\"name\":\"X\",\"value\":\"y\"}],"
                           "\"content\":{\"size\":11,\"text\":\"hello world\"}}",
                           ""));
    resp = json_object_get(r, "response");
    cr_assert_str_eq(json_string_value(json_object_get(resp, "body")), "hello world");
    cr_assert_str_eq(json_string_value(json_object_get(resp, "content_encoding_removed")), "br");
    cr_assert_eq(json_array_size(json_object_get(resp, "headers")), 1);
    json_decref(r);
}

/* ---- export ------------------------------------------------------------------------------ */

Test(har, export_entry_carries_what_har_cannot)
{
    json_t *rec = json_loads(
        "{\"v\":1,\"id\":\"s-1-0\",\"ts\":\"2026-11-20T09:15:02.123456Z\",\"session\":\"s-1\",\"seq\":0,"
        "\"cohort\":{\"org\":null,\"repo\":null,\"user\":\"alice\"},"
        "\"request\":{\"method\":\"OPTIONS\",\"target\":\"*\",\"version\":\"HTTP/1.1\",\"headers\":[],\"body_len\":0,"
        "\"complete\":true,\"done_us\":1000},"
        "\"response\":{\"status\":200,\"reason\":\"OK\",\"version\":\"HTTP/1.1\",\"headers\":[[\"Content-Type\","
        "\"text/plain\"]],\"body\":\"abc\",\"body_len\":9,\"body_truncated\":true,\"body_sha256\":\"" 
        "0000000000000000000000000000000000000000000000000000000000000000\",\"complete\":false,\"latency_us\":2000}}",
        0, NULL);
    cr_assert_not_null(rec);
    pm_err err;
    json_t *e = har_entry_from_record(rec, NULL, &err);
    cr_assert_not_null(e, "%s", err.msg);
    const json_t *hint = json_object_get(e, "_pmirror");
    cr_assert_str_eq(json_string_value(json_object_get(hint, "target")), "*");
    cr_assert(json_is_true(json_object_get(hint, "no_host")));
    cr_assert_str_eq(json_string_value(json_object_get(hint, "user")), "alice");
    cr_assert(json_is_false(json_object_get(json_object_get(hint, "response"), "complete")));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(hint, "response"), "body_len")), 9);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "request"), "url")), "http://localhost/*");
    cr_assert_str_eq(json_string_value(json_object_get(e, "connection")), "s-1");
    const json_t *t = json_object_get(e, "timings");
    cr_assert_float_eq(json_real_value(json_object_get(t, "send")), 1.0, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(t, "wait")), 2.0, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(e, "time")), 3.0, 1e-9);
    json_decref(e);

    /* a record without what an entry needs is refused */
    json_object_del(rec, "ts");
    cr_assert_null(har_entry_from_record(rec, NULL, &err));
    cr_assert(strstr(err.msg, "no ts"), "%s", err.msg);
    json_decref(rec);
}
