/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_record.c — the record helpers of core/: "v" first, body vs body_b64 and the
 * truncation keys, header look-up, and the encodings every stage leans on (UTF-8
 * validation, base64, SHA-256, RFC 3339 timestamps).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* ---- records and bodies ----------------------------------------------------------- */

Test(record, new_record_starts_with_v_1)
{
    json_t *r = pm_record_new();
    cr_assert_not_null(r);
    void *it = json_object_iter(r);
    cr_assert_not_null(it);
    cr_assert_str_eq(json_object_iter_key(it), "v");
    cr_assert(json_is_integer(json_object_iter_value(it)));
    cr_assert_eq(json_integer_value(json_object_iter_value(it)), 1);
    cr_assert_eq(json_object_size(r), 1);
    json_decref(r);
}

Test(record, utf8_body_is_text)
{
    json_t *r = pm_record_new();
    const char *text = "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x90\xb3\"}";
    size_t n = strlen(text);
    cr_assert_eq(pm_record_set_body(r, (const unsigned char *)text, n, n, NULL), 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "body")), text);
    cr_assert_null(json_object_get(r, "body_b64"));
    cr_assert_eq(json_integer_value(json_object_get(r, "body_len")), (json_int_t)n);
    cr_assert_null(json_object_get(r, "body_truncated"));
    cr_assert_null(json_object_get(r, "body_sha256"));

    unsigned char *data = NULL;
    size_t len = 0;
    pm_err err = {{0}};
    cr_assert_eq(pm_record_get_body(r, &data, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, n);
    cr_assert_eq(memcmp(data, text, n), 0);
    free(data);
    json_decref(r);
}

Test(record, binary_body_is_base64_and_round_trips)
{
    json_t *r = pm_record_new();
    const unsigned char bytes[] = {0xff, 0x00, 0x41, 0x80, 0x00};
    cr_assert_eq(pm_record_set_body(r, bytes, sizeof bytes, sizeof bytes, NULL), 0);
    cr_assert_null(json_object_get(r, "body"));
    const char *b64 = json_string_value(json_object_get(r, "body_b64"));
    cr_assert_not_null(b64);
    cr_assert_str_eq(b64, "/wBBgAA=");
    cr_assert_eq(json_integer_value(json_object_get(r, "body_len")), 5);

    unsigned char *data = NULL;
    size_t len = 0;
    pm_err err = {{0}};
    cr_assert_eq(pm_record_get_body(r, &data, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, sizeof bytes);
    cr_assert_eq(memcmp(data, bytes, sizeof bytes), 0);
    free(data);
    json_decref(r);
}

Test(record, two_bytes_ff_00_round_trip)
{
    json_t *r = pm_record_new();
    const unsigned char bytes[] = {0xff, 0x00};
    cr_assert_eq(pm_record_set_body(r, bytes, 2, 2, NULL), 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "body_b64")), "/wA=");
    unsigned char *data = NULL;
    size_t len = 99;
    cr_assert_eq(pm_record_get_body(r, &data, &len, NULL), 0);
    cr_assert_eq(len, 2);
    cr_assert_eq(data[0], 0xff);
    cr_assert_eq(data[1], 0x00);
    free(data);
    json_decref(r);
}

Test(record, truncated_body_sets_flag_and_digest)
{
    json_t *r = pm_record_new();
    const char *whole = "hello, world";
    char hex[65];
    pm_sha256_hex(whole, strlen(whole), hex);
    cr_assert_eq(pm_record_set_body(r, (const unsigned char *)whole, 5, strlen(whole), hex), 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "body")), "hello");
    cr_assert_eq(json_integer_value(json_object_get(r, "body_len")), (json_int_t)strlen(whole));
    cr_assert(json_is_true(json_object_get(r, "body_truncated")));
    cr_assert_str_eq(json_string_value(json_object_get(r, "body_sha256")), hex);
    json_decref(r);
}

Test(record, empty_body_has_no_body_key)
{
    json_t *r = pm_record_new();
    cr_assert_eq(pm_record_set_body(r, (const unsigned char *)"", 0, 0, NULL), 0);
    cr_assert_null(json_object_get(r, "body"));
    cr_assert_null(json_object_get(r, "body_b64"));
    cr_assert_null(json_object_get(r, "body_truncated"));
    cr_assert(json_is_integer(json_object_get(r, "body_len")));
    cr_assert_eq(json_integer_value(json_object_get(r, "body_len")), 0);

    unsigned char *data = NULL;
    size_t len = 99;
    cr_assert_eq(pm_record_get_body(r, &data, &len, NULL), 0);
    cr_assert_eq(len, 0);
    free(data);
    json_decref(r);
}

Test(record, setting_a_body_again_replaces_the_old_one)
{
    json_t *r = pm_record_new();
    const unsigned char bin[] = {0xfe, 0xfe};
    cr_assert_eq(pm_record_set_body(r, bin, 2, 10, "00"), 0);
    cr_assert_eq(pm_record_set_body(r, (const unsigned char *)"ok", 2, 2, NULL), 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "body")), "ok");
    cr_assert_null(json_object_get(r, "body_b64"));
    cr_assert_null(json_object_get(r, "body_truncated"));
    cr_assert_null(json_object_get(r, "body_sha256"));
    cr_assert_eq(json_integer_value(json_object_get(r, "body_len")), 2);
    json_decref(r);
}

Test(record, bad_base64_body_is_an_error)
{
    json_t *r = json_pack("{s:i, s:s}", "v", 1, "body_b64", "not*base64");
    unsigned char *data = NULL;
    size_t len = 0;
    pm_err err = {{0}};
    cr_assert_eq(pm_record_get_body(r, &data, &len, &err), -1);
    cr_assert_neq(err.msg[0], '\0');
    json_decref(r);
}

/* ---- headers ---------------------------------------------------------------------- */

Test(record, headers_get_is_case_insensitive_and_first_wins)
{
    json_t *h = json_pack("[[s,s],[s,s],[s,s]]", "Content-Type", "text/plain", "X-Dup", "one",
                          "x-dup", "two");
    cr_assert_str_eq(pm_headers_get(h, "content-type"), "text/plain");
    cr_assert_str_eq(pm_headers_get(h, "CONTENT-TYPE"), "text/plain");
    cr_assert_str_eq(pm_headers_get(h, "X-DUP"), "one");
    cr_assert_null(pm_headers_get(h, "Accept"));
    cr_assert_null(pm_headers_get(NULL, "Accept"));
    json_t *empty = json_array();
    cr_assert_null(pm_headers_get(empty, "Accept"));
    json_decref(empty);
    json_decref(h);
}

/* ---- UTF-8 ------------------------------------------------------------------------ */

static bool valid(const char *bytes, size_t len)
{
    return pm_utf8_valid((const unsigned char *)bytes, len);
}

Test(utf8, accepts_ascii_and_multibyte)
{
    cr_assert(valid("", 0));
    cr_assert(valid("plain", 5));
    cr_assert(valid("\xc3\xa9", 2));             /* é */
    cr_assert(valid("\xe2\x82\xac", 3));         /* € */
    cr_assert(valid("\xf0\x9f\x98\x80", 4));     /* 😀 */
    cr_assert(valid("a\xf0\x9f\x98\x80z", 6));
    cr_assert(valid("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF */
    cr_assert(valid("\xed\x9f\xbf", 3));         /* U+D7FF, just below surrogates */
}

Test(utf8, rejects_overlong_forms)
{
    cr_assert_not(valid("\xc0\xaf", 2));
    cr_assert_not(valid("\xc1\xbf", 2));
    cr_assert_not(valid("\xe0\x80\xaf", 3));
    cr_assert_not(valid("\xe0\x9f\xbf", 3));
    cr_assert_not(valid("\xf0\x80\x80\xaf", 4));
    cr_assert_not(valid("\xf0\x8f\xbf\xbf", 4));
}

Test(utf8, rejects_surrogates_and_out_of_range)
{
    cr_assert_not(valid("\xed\xa0\x80", 3));
    cr_assert_not(valid("\xed\xbf\xbf", 3));
    cr_assert_not(valid("\xf4\x90\x80\x80", 4)); /* U+110000 */
    cr_assert_not(valid("\xf5\x80\x80\x80", 4));
    cr_assert_not(valid("\xff", 1));
    cr_assert_not(valid("\x80", 1));             /* lone continuation byte */
}

Test(utf8, rejects_sequences_cut_at_the_end)
{
    cr_assert_not(valid("abc\xc3", 4));
    cr_assert_not(valid("abc\xe2\x82", 5));
    cr_assert_not(valid("\xf0\x9f\x98", 3));
    /* The length, not a NUL, ends the buffer. */
    cr_assert_not(valid("\xf0\x9f\x98\x80", 3));
    cr_assert_not(valid("\xe2\x82\x41", 3)); /* continuation replaced by ASCII */
}

/* ---- base64 ----------------------------------------------------------------------- */

static void expect_decode(const char *in, bool url, const char *want, size_t want_len)
{
    unsigned char *out = NULL;
    size_t out_len = 12345;
    cr_assert_eq(pm_base64_decode(in, strlen(in), url, &out, &out_len), 0, "decode %s", in);
    cr_assert_eq(out_len, want_len, "decode %s: length %zu", in, out_len);
    cr_assert_eq(memcmp(out, want, want_len), 0, "decode %s", in);
    free(out);
}

static void expect_reject(const char *in, bool url)
{
    unsigned char *out = NULL;
    size_t out_len = 0;
    cr_assert_eq(pm_base64_decode(in, strlen(in), url, &out, &out_len), -1, "accepted %s", in);
}

Test(base64, standard_with_and_without_padding)
{
    expect_decode("", false, "", 0);
    expect_decode("Zg==", false, "f", 1);
    expect_decode("Zg", false, "f", 1);
    expect_decode("Zm8=", false, "fo", 2);
    expect_decode("Zm8", false, "fo", 2);
    expect_decode("Zm9v", false, "foo", 3);
    expect_decode("Zm9vYmFy", false, "foobar", 6);
    expect_decode("dXNlcjpwYXNz", false, "user:pass", 9);
    expect_decode("+/+/", false, "\xfb\xff\xbf", 3);
}

Test(base64, url_safe_with_and_without_padding)
{
    expect_decode("-_-_", true, "\xfb\xff\xbf", 3);
    expect_decode("eyJzdWIiOiJhbGljZSJ9", true, "{\"sub\":\"alice\"}", 15);
    expect_decode("_w", true, "\xff", 1);
    expect_decode("_w==", true, "\xff", 1);
}

Test(base64, rejects_invalid_input)
{
    expect_reject("Zm9v!", false);
    expect_reject("Zm 9v", false);
    expect_reject("Zm=9v", false);
    expect_reject("-_-_", false); /* URL-safe alphabet in standard mode */
    expect_reject("+/+/", true);  /* standard alphabet in URL-safe mode */
    expect_reject("Z", false);    /* one leftover character cannot hold a byte */
    expect_reject("Zm9vY", false);
}

Test(base64, encode_round_trips)
{
    const unsigned char bytes[] = {0, 1, 2, 0xfe, 0xff, 0x80, 0x7f};
    for (size_t n = 0; n <= sizeof bytes; n++) {
        char *enc = pm_base64_encode(bytes, n);
        cr_assert_not_null(enc);
        cr_assert_eq(strlen(enc), 4 * ((n + 2) / 3));
        unsigned char *dec = NULL;
        size_t len = 0;
        cr_assert_eq(pm_base64_decode(enc, strlen(enc), false, &dec, &len), 0);
        cr_assert_eq(len, n);
        cr_assert_eq(memcmp(dec, bytes, n), 0);
        free(dec);
        free(enc);
    }
}

/* ---- SHA-256 and time ------------------------------------------------------------- */

Test(sha256, known_digests)
{
    char hex[65];
    pm_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pm_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(time, rfc3339_with_microseconds)
{
    char buf[40];
    pm_time_rfc3339(1700000000123456LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2023-11-14T22:13:20.123456Z");
    pm_time_rfc3339(0, buf, sizeof buf);
    cr_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
    pm_time_rfc3339(1700000000000001LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2023-11-14T22:13:20.000001Z");
    pm_time_rfc3339(-1, buf, sizeof buf);
    cr_assert_str_eq(buf, "1969-12-31T23:59:59.999999Z");
}
