/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_capture_fixtures.c — every crafted pcap in fixtures/capture/ against the
 * exchanges it is known to hold (NAME.expect.jsonl, written by tools/make_pcaps.py with
 * exact sequence numbers): method, target, status, headers, bodies (length and SHA-256),
 * completeness, latency. A pcapng copy must give the very same records.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

#define FIXTURES PMIRROR_SOURCE_DIR "/fixtures/capture"
#define MAP_PATH PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml"
#define MAX_BODY 65536

static int collect(void *ctx, const char *record, size_t len, pm_err *err)
{
    (void)err;
    json_error_t jerr;
    json_t *v = json_loadb(record, len, JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(v, "capture wrote invalid JSON: %s: %.200s", jerr.text, record);
    cr_assert_null(memchr(record, '\n', len), "a record holds a newline");
    json_array_append_new(ctx, v);
    return 0;
}

/* Records in (connection, seq) order: connections are numbered as first seen. */
static int by_session_then_seq(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    const char *sx = strrchr(json_string_value(json_object_get(x, "session")), '-');
    const char *sy = strrchr(json_string_value(json_object_get(y, "session")), '-');
    long cx = atol(sx + 1), cy = atol(sy + 1);
    if (cx != cy)
        return cx < cy ? -1 : 1;
    json_int_t qx = json_integer_value(json_object_get(x, "seq")), qy = json_integer_value(json_object_get(y, "seq"));
    return qx < qy ? -1 : qx > qy;
}

static json_t *capture_file(const pm_capmap *map, const char *path, capture_stats *stats_out)
{
    capture_options o;
    capture_options_init(&o);
    o.file = path;
    o.map = map;
    o.max_body = MAX_BODY;
    pm_err err;
    capture_session *s = capture_open(&o, &err);
    cr_assert_not_null(s, "%s", err.msg);
    json_t *records = json_array();
    cr_assert_eq(capture_run(s, collect, records, NULL, &err), 0, "%s", err.msg);
    *stats_out = *capture_get_stats(s);
    stats_out->families = NULL;
    stats_out->nfamilies = 0;
    capture_close(s);
    size_t n = json_array_size(records);
    json_t **items = calloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(records, i);
    qsort(items, n, sizeof *items, by_session_then_seq);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, items[i]);
    free(items);
    json_decref(records);
    return sorted;
}

static void body_digest(const json_t *msg, char hex[65], size_t *len)
{
    unsigned char *data;
    pm_err err;
    cr_assert_eq(pm_record_get_body(msg, &data, len, &err), 0, "%s", err.msg);
    pm_sha256_hex(data, *len, hex);
    free(data);
}

static void expect_int(const json_t *want, const char *key, json_int_t got, const char *what)
{
    const json_t *v = json_object_get(want, key);
    if (json_is_integer(v))
        cr_expect_eq(json_integer_value(v), got, "%s: %s %lld, want %lld", what, key, (long long)got,
                     (long long)json_integer_value(v));
}

static void check_exchange(const char *fixture, size_t i, const json_t *want, const json_t *got)
{
    char what[128];
    snprintf(what, sizeof what, "%s exchange %zu", fixture, i);
    const json_t *req = json_object_get(got, "request");
    const json_t *resp = json_object_get(got, "response");
    cr_expect_str_eq(json_string_value(json_object_get(req, "method")),
                     json_string_value(json_object_get(want, "method")), "%s: method", what);
    cr_expect_str_eq(json_string_value(json_object_get(req, "target")),
                     json_string_value(json_object_get(want, "target")), "%s: target", what);
    if (json_object_get(want, "version"))
        cr_expect_str_eq(json_string_value(json_object_get(req, "version")),
                         json_string_value(json_object_get(want, "version")), "%s: version", what);
    if (json_object_get(want, "request_headers"))
        cr_expect(json_equal(json_object_get(req, "headers"), json_object_get(want, "request_headers")),
                  "%s: request headers differ", what);
    char hex[65];
    size_t len;
    body_digest(req, hex, &len);
    expect_int(want, "request_body_len", (json_int_t)len, what);
    if (json_is_string(json_object_get(want, "request_body_sha256")))
        cr_expect_str_eq(hex, json_string_value(json_object_get(want, "request_body_sha256")),
                         "%s: request body", what);

    bool has_response = json_is_true(json_object_get(want, "has_response"));
    cr_expect_eq(resp != NULL, has_response, "%s: response %s", what, resp ? "present" : "missing");
    if (!resp || !has_response)
        return;
    expect_int(want, "status", json_integer_value(json_object_get(resp, "status")), what);
    cr_expect_eq(json_is_true(json_object_get(resp, "complete")), json_is_true(json_object_get(want, "complete")),
                 "%s: complete", what);
    if (json_object_get(want, "response_headers"))
        cr_expect(json_equal(json_object_get(resp, "headers"), json_object_get(want, "response_headers")),
                  "%s: response headers differ", what);
    if (json_object_get(want, "response_trailers"))
        cr_expect(json_equal(json_object_get(resp, "trailers"), json_object_get(want, "response_trailers")),
                  "%s: trailers differ", what);
    expect_int(want, "latency_us", json_integer_value(json_object_get(resp, "latency_us")), what);
    expect_int(want, "response_body_len", json_integer_value(json_object_get(resp, "body_len")), what);
    body_digest(resp, hex, &len);
    const json_t *cut = json_object_get(want, "response_body_truncated_at_65536");
    if (json_is_true(cut)) {
        cr_expect(json_is_true(json_object_get(resp, "body_truncated")), "%s: body_truncated", what);
        cr_expect_eq(len, MAX_BODY, "%s: stored %zu bytes", what, len);
        cr_expect_str_eq(hex, json_string_value(json_object_get(want, "response_body_first_65536_sha256")),
                         "%s: stored prefix", what);
        cr_expect_str_eq(json_string_value(json_object_get(resp, "body_sha256")),
                         json_string_value(json_object_get(want, "response_body_sha256")), "%s: whole-body sha", what);
    } else if (json_is_string(json_object_get(want, "response_body_sha256"))) {
        cr_expect_str_eq(hex, json_string_value(json_object_get(want, "response_body_sha256")), "%s: response body",
                         what);
        cr_expect_null(json_object_get(resp, "body_truncated"), "%s: not truncated", what);
    }
}

/* The expect files' first line has no "v"; read them as plain JSON lines instead. */
static json_t *read_expect(const char *name, json_t **header)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "/%s.expect.jsonl", name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    json_t *list = json_array();
    char *line = NULL;
    size_t cap = 0;
    *header = NULL;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *v = json_loads(line, 0, &jerr);
        cr_assert_not_null(v, "%s: %s", path, jerr.text);
        if (!*header)
            *header = v;
        else
            json_array_append_new(list, v);
    }
    free(line);
    fclose(f);
    return list;
}

static void run_fixture(const char *name)
{
    pm_err err;
    pm_capmap *map = pm_capmap_load(MAP_PATH, &err);
    cr_assert_not_null(map, "%s", err.msg);
    json_t *header;
    json_t *want = read_expect(name, &header);
    char pcap[512];
    snprintf(pcap, sizeof pcap, FIXTURES "/%s.pcap", name);
    capture_stats stats;
    json_t *got = capture_file(map, pcap, &stats);
    /* A file cut mid-exchange may also yield that exchange, flagged incomplete. */
    size_t partial = json_array_size(json_object_get(header, "partial_exchanges"));
    cr_assert_eq(json_array_size(got), json_array_size(want) + partial, "%s: %zu records, want %zu", name,
                 json_array_size(got), json_array_size(want) + partial);
    for (size_t i = json_array_size(want); i < json_array_size(got); i++) {
        const json_t *resp = json_object_get(json_array_get(got, i), "response");
        cr_expect(!resp || json_is_false(json_object_get(resp, "complete")), "%s: partial exchange %zu flagged",
                  name, i);
    }
    cr_assert_eq((json_int_t)json_array_size(want), json_integer_value(json_object_get(header, "exchanges")));
    for (size_t i = 0; i < json_array_size(want); i++)
        check_exchange(name, i, json_array_get(want, i), json_array_get(got, i));
    char pcapng[512];
    snprintf(pcapng, sizeof pcapng, FIXTURES "/%s.pcapng", name);
    FILE *ng = fopen(pcapng, "r");
    if (ng) {
        fclose(ng);
        capture_stats ng_stats;
        json_t *again = capture_file(map, pcapng, &ng_stats);
        cr_expect(json_equal(got, again), "%s: pcapng gives other records than pcap", name);
        json_decref(again);
    }
    json_decref(got);
    json_decref(want);
    json_decref(header);
    pm_capmap_free(map);
}

#define FIXTURE_TEST(name) \
    Test(capture_fixtures, name) { run_fixture(#name); }

FIXTURE_TEST(basic_keepalive)
FIXTURE_TEST(pipelined)
FIXTURE_TEST(out_of_order)
FIXTURE_TEST(retransmission)
FIXTURE_TEST(chunked)
FIXTURE_TEST(close_delimited)
FIXTURE_TEST(head_204_304)
FIXTURE_TEST(continue_100)
FIXTURE_TEST(upgrade_connect)
FIXTURE_TEST(non_http)
FIXTURE_TEST(midstream)
FIXTURE_TEST(vlan)
FIXTURE_TEST(sll)
FIXTURE_TEST(sll2)
FIXTURE_TEST(null_loopback)
FIXTURE_TEST(raw_ip)
FIXTURE_TEST(ipv6)
FIXTURE_TEST(seq_wrap)
FIXTURE_TEST(large_body)
FIXTURE_TEST(reset_mid_body)
FIXTURE_TEST(no_response)
FIXTURE_TEST(truncated_file)
FIXTURE_TEST(gzip_body)
FIXTURE_TEST(many_headers)

Test(capture_fixtures, every_fixture_has_a_test)
{
    DIR *d = opendir(FIXTURES);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".expect.jsonl"))
            n++;
    closedir(d);
    cr_assert_eq(n, 24, "fixtures/capture has %d expect files; add a FIXTURE_TEST for each", n);
}

Test(capture_fixtures, non_http_stream_is_counted)
{
    pm_err err;
    pm_capmap *map = pm_capmap_load(MAP_PATH, &err);
    capture_stats stats;
    json_t *got = capture_file(map, FIXTURES "/non_http.pcap", &stats);
    cr_assert_eq(stats.non_http_streams, 1);
    cr_assert_eq(stats.exchanges, 1);
    json_decref(got);
    got = capture_file(map, FIXTURES "/truncated_file.pcap", &stats);
    cr_assert(stats.truncated_file, "a file cut mid-record is reported");
    json_decref(got);
    got = capture_file(map, FIXTURES "/reset_mid_body.pcap", &stats);
    cr_assert_eq(stats.incomplete_responses, 1);
    json_decref(got);
    got = capture_file(map, FIXTURES "/no_response.pcap", &stats);
    cr_assert_eq(stats.without_response, 1);
    json_decref(got);
    pm_capmap_free(map);
}
