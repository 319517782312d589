/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_capture.c — libFuzzer target for the capture stage.
 *
 * Input that starts like a pcap or pcapng file goes through the whole stage as a file
 * (libpcap → decode → TCP reassembly → HTTP → records). Anything else is a script for
 * one connection's byte streams: each chunk is a control byte (bit 0: client or server,
 * bits 1-2: data, gap, or end of that side; bits 3-7 and the next byte: the length)
 * followed by its bytes, fed straight to the HTTP layer. Records are built (and
 * redacted) and dropped; the verdict is "no crash, no leak, no UB", and for the streams
 * that each request's classification, made through a 4-slot cache of paths (slots taken
 * over again and again), is the uncached one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/http_conn.h"

static pm_capmap *map;
static pm_redactor *redactor;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pm_err err;
    map = pm_capmap_load(PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml", &err);
    if (!map) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    redactor = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
    return 0;
}

/* Every record must be one valid JSON object: parse it back. */
static int check_record(void *ctx, const char *record, size_t len, pm_err *err)
{
    (void)ctx;
    (void)err;
    json_t *v = json_loadb(record, len, JSON_ALLOW_NUL, NULL);
    if (!v || !json_is_object(v) || memchr(record, '\n', len))
        abort();
    json_decref(v);
    return 0;
}

static capture_options options(void)
{
    capture_options o;
    capture_options_init(&o);
    o.map = map;
    o.redactor = redactor;
    o.max_body = 4096;
    o.max_stream_buffer = 65536;
    o.max_total_buffer = 1 << 20;
    o.max_header_bytes = 8192;
    return o;
}

static void fuzz_pcap(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return;
    capture_options o = options();
    o.stream = f;
    pm_err err;
    capture_session *s = capture_open(&o, &err); /* owns the FILE from here on */
    if (!s)
        return;
    capture_run(s, check_record, NULL, NULL, &err);
    json_decref(capture_stats_json(capture_get_stats(s)));
    capture_close(s);
}

typedef struct {
    capture_options opts;
    capture_stats stats;
    pm_jtext text;
} stream_ctx;

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* x's classification (cached) against pm_classify_user's; the override headers may have
 * made it mutating since. */
static void check_class(const http_exchange *x)
{
    pm_class want;
    pm_classify_user(map, x->req.method, x->req.target ? x->req.target : "/", x->cls.cohort.user, &want);
    const pm_class *got = &x->cls;
    bool overridden = http_fields_override_mutating(&x->req.headers);
    if (!same_text(want.family, got->family) || !same_text(want.capability, got->capability) ||
        !same_text(want.route_id, got->route_id) || !same_text(want.cohort.org, got->cohort.org) ||
        !same_text(want.cohort.repo, got->cohort.repo) || want.matched != got->matched ||
        want.streaming != got->streaming || (!overridden && want.mutating != got->mutating))
        abort();
    pm_class_clear(&want);
}

static int emit(void *ctx, http_exchange *x, uint64_t conn_id)
{
    stream_ctx *c = ctx;
    (void)conn_id;
    if (!x->classified)
        return 0;
    check_class(x);
    if (capture_exchange_record(x, &c->opts, "fuzz", "fuzz-1", NULL, &c->text) != 0)
        return 0;
    return check_record(NULL, c->text.buf, c->text.len, NULL);
}

static void fuzz_streams(const uint8_t *data, size_t size)
{
    stream_ctx ctx = {.opts = options()};
    http_env env = {.opts = &ctx.opts, .stats = &ctx.stats, .emit = emit, .ctx = &ctx, .users = auth_users_new(),
                    .classes = pm_classify_cache_new(map, 4)};
    bool midstream = size > 0 && (data[0] & 1);
    http_conn *c = http_conn_new(&env, 1, midstream);
    int64_t ts = 1;
    size_t i = size > 0 ? 1 : 0;
    while (i + 2 <= size) {
        uint8_t control = data[i];
        size_t len = ((size_t)(control >> 3) << 8 | data[i + 1]) + 1;
        i += 2;
        if (len > size - i)
            len = size - i;
        bool client = control & 1;
        switch ((control >> 1) & 3) {
        case 0:
        case 3:
            http_conn_data(c, client, data + i, len, ts);
            i += len;
            break;
        case 1:
            http_conn_gap(c, client, len, ts);
            break;
        case 2:
            http_conn_end(c, client, len & 1, ts);
            break;
        }
        ts += 7;
    }
    http_conn_close(c, ts);
    http_conn_free(c);
    auth_users_free(env.users);
    pm_classify_cache_free(env.classes);
    free(ctx.stats.families);
    pm_jtext_free(&ctx.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t magics[][4] = {
        {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0x4d, 0x3c, 0xb2, 0xa1},
        {0xa1, 0xb2, 0x3c, 0x4d}, {0x0a, 0x0d, 0x0d, 0x0a}};
    for (size_t m = 0; m < sizeof magics / sizeof *magics; m++)
        if (size >= 4 && memcmp(data, magics[m], 4) == 0) {
            fuzz_pcap(data, size);
            return 0;
        }
    fuzz_streams(data, size);
    return 0;
}
