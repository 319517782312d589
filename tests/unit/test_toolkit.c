/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_toolkit.c — core's shared toolkit, each piece the one copy every stage uses: the
 * RFC 3339 reader, the libcurl error codes, the hop-by-hop set, UTF-8 stepping, zlib.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <string.h>

#include "core/core.h"

/* ---- RFC 3339 ------------------------------------------------------------------------ */

static int64_t ts_of(const char *s)
{
    int64_t us = -1;
    cr_assert(pm_time_parse(s, &us), "%s not read", s);
    return us;
}

Test(time, reads_what_pmirror_writes)
{
    char buf[40];
    int64_t us = 1793527200000886; /* 2026-11-01T10:00:00.000886Z */
    pm_time_rfc3339(us, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-01T10:00:00.000886Z");
    cr_assert_eq(ts_of(buf), us);
    cr_assert_eq(ts_of("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(ts_of("2000-02-29T23:59:59.999999Z"), 951868799999999);
}

Test(time, offsets_are_applied)
{
    int64_t utc = ts_of("2026-11-20T09:15:02Z");
    cr_assert_eq(ts_of("2026-11-20T10:15:02+01:00"), utc);
    cr_assert_eq(ts_of("2026-11-20T04:15:02-05:00"), utc);
    cr_assert_eq(ts_of("2026-11-20T04:15:02-0500"), utc);
    cr_assert_eq(ts_of("2026-11-20T14:45:02+05:30"), utc);
    cr_assert_eq(ts_of("2026-11-21T00:15:02+15"), utc);
    cr_assert_eq(ts_of("2026-11-19T23:15:02-10:00"), utc, "an offset crosses the day");
    cr_assert_eq(ts_of("2026-11-20t09:15:02z"), utc);
    cr_assert_eq(ts_of("2026-11-20T09:15:02"), utc, "no offset: UTC");
}

Test(time, fractions_of_any_length)
{
    int64_t utc = ts_of("2026-11-20T09:15:02Z");
    cr_assert_eq(ts_of("2026-11-20T09:15:02.5Z"), utc + 500000);
    cr_assert_eq(ts_of("2026-11-20T09:15:02.123Z"), utc + 123000);
    cr_assert_eq(ts_of("2026-11-20T09:15:02.000250Z"), utc + 250);
    cr_assert_eq(ts_of("2026-11-20T09:15:02.1234567Z"), utc + 123456, "cut to µs, not rounded");
    cr_assert_eq(ts_of("2026-11-20T09:15:02.123456789+00:00"), utc + 123456);
    cr_assert_eq(ts_of("2026-11-20T09:15:02,25Z"), utc + 250000);
    cr_assert_eq(ts_of("2026-11-20 09:15"), utc - 2000000, "HAR's: seconds optional, a space for T");
}

Test(time, anything_else_is_not_a_time)
{
    static const char *const bad[] = {
        "", "yesterday", "2026-11-20", "2026-11-20T09", "2026-1-20T09:15:02Z", "2026-11-20X09:15:02Z",
        "2026-11-20T09:15:02.Z", "2026-11-20T09:15:02Z junk", " 2026-11-20T09:15:02Z", "2026-13-20T09:15:02Z",
        "2026-11-32T09:15:02Z", "2026-11-20T09:60:02Z", "2026-11-20T09:15:61Z", "2026-11-20T09:15:02+24:00",
        "2026-11-20T09:15:02+01:60", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t us = 42;
        cr_expect_not(pm_time_parse(bad[i], &us), "'%s' was read", bad[i]);
        cr_expect_eq(us, 42, "'%s': the output was written", bad[i]);
    }
    int64_t us;
    cr_expect_not(pm_time_parse(NULL, &us));
}

/* ---- libcurl error codes -------------------------------------------------------------- */

Test(curl_error, one_name_per_failure)
{
    cr_assert_null(pm_curl_error_code(CURLE_OK));
    cr_assert_str_eq(pm_curl_error_code(CURLE_COULDNT_CONNECT), "refused");
    cr_assert_str_eq(pm_curl_error_code(CURLE_OPERATION_TIMEDOUT), "timeout");
    cr_assert_str_eq(pm_curl_error_code(CURLE_RECV_ERROR), "reset");
    cr_assert_str_eq(pm_curl_error_code(CURLE_GOT_NOTHING), "reset");
    cr_assert_str_eq(pm_curl_error_code(CURLE_PARTIAL_FILE), "truncated");
    cr_assert_str_eq(pm_curl_error_code(CURLE_WEIRD_SERVER_REPLY), "garbage");
    cr_assert_str_eq(pm_curl_error_code(CURLE_PEER_FAILED_VERIFICATION), "tls");
    cr_assert_str_eq(pm_curl_error_code(CURLE_SSL_CONNECT_ERROR), "tls");
    cr_assert_str_eq(pm_curl_error_code(CURLE_OUT_OF_MEMORY), "other");
}

/* ---- hop-by-hop headers --------------------------------------------------------------- */

Test(hop_by_hop, the_fixed_set_and_what_connection_lists)
{
    static const char *const hop[] = {"Connection", "keep-alive", "PROXY-CONNECTION", "TE", "Trailer",
                                      "Transfer-Encoding", "Upgrade"};
    for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
        cr_expect(pm_header_is_hop_by_hop(hop[i]), "%s", hop[i]);
    static const char *const end_to_end[] = {"Host", "Content-Length", "Trailers", "Keep", "X-Upgrade", ""};
    for (size_t i = 0; i < sizeof end_to_end / sizeof *end_to_end; i++)
        cr_expect_not(pm_header_is_hop_by_hop(end_to_end[i]), "%s", end_to_end[i]);
    cr_expect(pm_connection_lists("close, X-Trace", "x-trace"));
    cr_expect(pm_connection_lists(" ,\tX-A,X-B", "X-B"));
    cr_expect_not(pm_connection_lists("X-Traced", "X-Trace"));
    cr_expect_not(pm_connection_lists("X-Trace", "X-Traced"));
    cr_expect_not(pm_connection_lists("", "X-Trace"));
    cr_expect_not(pm_connection_lists(NULL, "X-Trace"));
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

Test(utf8, steps_over_valid_sequences_only)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 'A'},         {"\xC3\xA9", 2, 0xE9},        {"\xE2\x80\xAE", 3, 0x202E},
        {"\xF0\x9F\x98\x80", 4, 0x1F600}, {"\xF4\x8F\xBF\xBF", 4, 0x10FFFF},
        {"\xC0\x80", 0, 0},    {"\xE0\x80\xAF", 0, 0},       {"\xED\xA0\x80", 0, 0}, /* overlong, surrogate */
        {"\xF4\x90\x80\x80", 0, 0}, {"\x80", 0, 0},           {"\xFF", 0, 0},         {"\xE2\x80", 0, 0},
        {"\xE2\x41\xAE", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const unsigned char *s = (const unsigned char *)cases[i].s;
        size_t n = strlen(cases[i].s);
        uint32_t cp = 0;
        cr_expect_eq(pm_utf8_next(s, n, &cp), cases[i].len, "case %zu", i);
        if (cases[i].len)
            cr_expect_eq(cp, cases[i].cp, "case %zu", i);
        cr_expect_eq(pm_utf8_valid(s, n), cases[i].len == n, "case %zu", i);
    }
    cr_expect(pm_utf8_valid((const unsigned char *)"plain ascii, long enough for words \xC3\xA9", 37));
    cr_expect_not(pm_utf8_valid((const unsigned char *)"plain ascii, long enough for words \xC3", 36));
    cr_expect_eq(pm_utf8_cut("ab\xE2\x80\xAE", 3), 2, "not inside a character");
    cr_expect_eq(pm_utf8_cut("ab\xE2\x80\xAE", 2), 2);
    cr_expect_eq(pm_utf8_cut("abcd", 2), 2);
}

/* ---- zlib ------------------------------------------------------------------------------- */

Test(zlib, round_trips_and_says_how_a_stream_ended)
{
    const char *text = "{\"token\":\"abc\",\"n\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}";
    size_t len = strlen(text);
    static const int wbits[] = {31, 15, -15};
    for (size_t w = 0; w < 3; w++) {
        unsigned char *z = NULL, *back = NULL;
        size_t zlen = 0, blen = 0, rest = 99;
        cr_assert_eq(pm_zlib_deflate((const unsigned char *)text, len, wbits[w], &z, &zlen), 0);
        int in = wbits[w] < 0 ? -15 : 15 + 32;
        cr_assert_eq(pm_zlib_inflate(z, zlen, in, 1 << 20, false, &back, &blen, &rest), PM_INFLATE_END);
        cr_assert_eq(blen, len);
        cr_assert_eq(memcmp(back, text, len), 0);
        cr_assert_eq(rest, 0);
        free(back);
        cr_assert_eq(pm_zlib_inflate(z, zlen, in, len - 1, false, &back, &blen, NULL), PM_INFLATE_TOO_LARGE);
        cr_assert_null(back);
        cr_assert_eq(pm_zlib_inflate(z, zlen, in, len, false, &back, &blen, NULL), PM_INFLATE_END, "exactly max");
        free(back);
        if (wbits[w] > 0) {
            cr_assert_eq(pm_zlib_inflate(z, zlen - 6, in, 1 << 20, false, &back, &blen, NULL), PM_INFLATE_CUT);
            cr_assert_leq(blen, len);
            free(back);
        }
        free(z);
    }
    unsigned char *back = NULL;
    size_t blen = 0;
    cr_assert_eq(pm_zlib_inflate((const unsigned char *)"plain text", 10, 15 + 32, 1 << 20, false, &back, &blen, NULL),
                 PM_INFLATE_BAD);
    cr_assert_null(back);
}

Test(zlib, gzip_members_one_after_the_other)
{
    unsigned char *a = NULL, *b = NULL, *back = NULL;
    size_t alen, blen, n, rest;
    cr_assert_eq(pm_zlib_deflate((const unsigned char *)"first ", 6, 31, &a, &alen), 0);
    cr_assert_eq(pm_zlib_deflate((const unsigned char *)"second", 6, 31, &b, &blen), 0);
    unsigned char *both = malloc(alen + blen);
    memcpy(both, a, alen);
    memcpy(both + alen, b, blen);
    cr_assert_eq(pm_zlib_inflate(both, alen + blen, 31, 1 << 20, true, &back, &n, &rest), PM_INFLATE_END);
    cr_assert_eq(n, 12);
    cr_assert_eq(memcmp(back, "first second", 12), 0);
    free(back);
    cr_assert_eq(pm_zlib_inflate(both, alen + blen, 31, 1 << 20, false, &back, &n, &rest), PM_INFLATE_END);
    cr_assert_eq(n, 6, "one member only");
    cr_assert_eq(rest, blen, "the second is what is left");
    free(back);
    free(both);
    free(a);
    free(b);
}
