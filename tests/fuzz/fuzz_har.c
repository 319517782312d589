/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_har.c — libFuzzer target for HAR import (har/har_stream.c, har_import.c) and,
 * on what import accepts, export (har_export.c).
 *
 * Any input: no crash, no leak, no hang; import either finishes or fails with a message.
 * Every record it writes must be a JSON object starting with "v": 1 and a request. And
 * the round trip must be exact: each record, exported as a HAR entry and imported again
 * (with the same redactor, which leaves redacted values alone), gives the same record —
 * the property `pmirror export` + `pmirror import` promise (README, "HAR").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "har/har_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    har_options o;
} fuzz_ctx;

static const pm_capmap *map(void)
{
    static pm_capmap *m;
    if (!m) {
        pm_err err;
        m = pm_capmap_load(PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml", &err);
        if (!m) {
            fprintf(stderr, "fuzz_har: %s\n", err.msg);
            abort();
        }
    }
    return m;
}

static const pm_redactor *redactor(void)
{
    static pm_redactor *r;
    if (!r) {
        pm_err err;
        r = pm_redactor_new_with_key((const unsigned char *)"fuzz", 4, NULL, &err);
    }
    return r;
}

/* The record again, through export and a second import. */
static void round_trip(const har_options *o, const json_t *record)
{
    pm_err err;
    json_t *entry = har_entry_from_record(record, NULL, &err);
    if (!entry) {
        fprintf(stderr, "export refused an imported record: %s\n", err.msg);
        abort();
    }
    har_importer *im = har_importer_new(o);
    har_stats st;
    memset(&st, 0, sizeof st);
    pm_jtext t;
    memset(&t, 0, sizeof t);
    int rc = har_entry_to_record(im, entry, &t, &st, &err);
    if (rc != 1) {
        fprintf(stderr, "the exported entry did not import again (%d): %s\n", rc, err.msg);
        abort();
    }
    json_t *again = json_loadb(t.buf, t.len, JSON_ALLOW_NUL, NULL);
    if (!again || !json_equal(again, record)) {
        char *a = json_dumps(record, JSON_COMPACT), *b = again ? json_dumps(again, JSON_COMPACT) : NULL;
        fprintf(stderr, "round trip differs:\n  first:  %s\n  second: %s\n", a, b ? b : "(not JSON)");
        abort();
    }
    json_decref(again);
    pm_jtext_free(&t);
    har_importer_free(im);
    har_stats_clear(&st);
    json_decref(entry);
}

static int on_record(void *ctx, const char *text, size_t len, pm_err *err)
{
    (void)err;
    fuzz_ctx *f = ctx;
    json_t *rec = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "v")) != 1 ||
        !json_is_object(json_object_get(rec, "request"))) {
        fprintf(stderr, "not a record: %.*s\n", (int)len, text);
        abort();
    }
    round_trip(&f->o, rec);
    json_decref(rec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ctx f;
    har_options_init(&f.o);
    f.o.path = "fuzz.har";
    f.o.data = data;
    f.o.len = size;
    f.o.map = map();
    f.o.redactor = redactor();
    f.o.max_body = 64; /* small, so cut bodies are common */
    har_stats st;
    pm_err err;
    har_import(&f.o, on_record, &f, &st, &err);
    har_stats_clear(&st);
    return 0;
}
