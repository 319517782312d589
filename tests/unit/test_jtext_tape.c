/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jtext_tape.c — pm_jtext's following (core/json_text.c): the tape a writer keeps of
 * what it writes must be exactly the tape pm_jtape_parse makes of the text, or none. The
 * readers that take it (replay's record, the diff's view, the shadow's redaction) skip
 * their own parse, so a wrong span or count here would be a wrong verdict there. Cases:
 * every kind of value, strings that escape (quotes, control bytes, NUL, Latin-1) and
 * strings that do not, text written as it is (parsed on the way) and from its tokens
 * (copied), an object extended, reals through jansson, and each way a tape must be
 * refused; then random documents.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static pm_jtext w;
static pm_jtape followed, parsed;

static void setup(void)
{
    memset(&w, 0, sizeof w);
    pm_jtext_tape_start(&w, &followed);
}

static void teardown(void)
{
    pm_jtext_free(&w);
    pm_jtape_free(&followed);
    pm_jtape_free(&parsed);
}

TestSuite(jtext_tape, .init = setup, .fini = teardown);

/* The writer's tape against a parse of its text, token by token. */
static void expect_same(void)
{
    const pm_jtape *got = pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH);
    cr_assert_not_null(got, "no tape for %s", w.buf);
    cr_assert(pm_utf8_valid((const unsigned char *)w.buf, w.len));
    cr_assert_eq(pm_jtape_parse(&parsed, w.buf, w.len, JSON_PARSER_MAX_DEPTH), 0, "%s: %s", w.buf, parsed.error);
    cr_assert_eq(got->text, w.buf);
    cr_assert_eq(got->len, w.len);
    cr_assert_eq(got->n, parsed.n, "%s: %zu tokens followed, %zu parsed", w.buf, got->n, parsed.n);
    for (size_t i = 0; i < got->n; i++) {
        const pm_jtok *a = &got->tok[i], *b = &parsed.tok[i];
        cr_assert(a->start == b->start && a->end == b->end && a->next == b->next && a->count == b->count &&
                      a->type == b->type && a->flags == b->flags,
                  "%s: token %zu: followed %u-%u next %u count %u type %d flags %d; parsed %u-%u next %u count %u "
                  "type %d flags %d",
                  w.buf, i, a->start, a->end, a->next, a->count, a->type, a->flags, b->start, b->end, b->next,
                  b->count, b->type, b->flags);
    }
}

Test(jtext_tape, every_kind_of_value)
{
    pm_jtext_object_begin(&w);
    pm_jtext_key(&w, "plain");
    pm_jtext_cstring(&w, "abc");
    pm_jtext_key(&w, "quo\"ted");
    pm_jtext_string(&w, "a\"b\\c\n\x01", 7);
    pm_jtext_key(&w, "nul");
    pm_jtext_string(&w, "x\0y", 3);
    pm_jtext_key(&w, "latin1");
    pm_jtext_string(&w, "caf\xe9", 4);
    pm_jtext_key(&w, "utf8");
    pm_jtext_string_utf8(&w, "caf\xc3\xa9", 5);
    pm_jtext_key(&w, "ints");
    pm_jtext_array_begin(&w);
    pm_jtext_int(&w, 0);
    pm_jtext_int(&w, -42);
    pm_jtext_int(&w, INT64_MIN);
    pm_jtext_array_end(&w);
    pm_jtext_key(&w, "lits");
    pm_jtext_array_begin(&w);
    pm_jtext_bool(&w, true);
    pm_jtext_bool(&w, false);
    pm_jtext_null(&w);
    pm_jtext_cstring(&w, NULL);
    pm_jtext_array_end(&w);
    pm_jtext_key(&w, "empty");
    pm_jtext_object_begin(&w);
    pm_jtext_object_end(&w);
    pm_jtext_key(&w, "nested");
    pm_jtext_array_begin(&w);
    pm_jtext_array_begin(&w);
    pm_jtext_array_end(&w);
    pm_jtext_object_begin(&w);
    pm_jtext_key(&w, "");
    pm_jtext_string(&w, "", 0);
    pm_jtext_object_end(&w);
    pm_jtext_array_end(&w);
    pm_jtext_object_end(&w);
    expect_same();
    /* the escaped ones are flagged, and the NUL one: a reader decodes those */
    cr_assert(followed.tok[4].flags & PM_JTOK_ESCAPED);
    cr_assert(followed.tok[6].flags & PM_JTOK_NUL);
}

Test(jtext_tape, text_written_as_it_is)
{
    pm_jtext_object_reopen(&w, " {\"a\": [1, 2.5e3, {\"b\": null}] , \"c\":\"\\u00e9\" }  \n", 49);
    pm_jtext_key(&w, "raw");
    pm_jtext_raw(&w, " [true,\"x\\\"y\"] ", 15);
    pm_jtext_raw_key(&w, "\"k\\u0041\"", 9);
    pm_jtext_raw(&w, "-0.5", 4);
    pm_jtext_key(&w, "inner");
    pm_jtext_object_extend(&w, "{}", 2);
    pm_jtext_key(&w, "z");
    pm_jtext_int(&w, 1);
    pm_jtext_object_end(&w);
    pm_jtext_object_end(&w);
    expect_same();
}

Test(jtext_tape, text_written_from_its_tokens)
{
    const char *src_text = "{\"id\":\"e1\",\"request\":{\"method\":\"GET\",\"headers\":[[\"A\",\"b\\\"c\"]]},\"n\":12}";
    pm_jtape src = {0};
    cr_assert_eq(pm_jtape_parse(&src, src_text, strlen(src_text), 64), 0);
    pm_jtext_reset(&w);
    pm_jtext_object_extend_from(&w, &src, 0); /* a record reopened: replay's result */
    pm_jtext_key(&w, "responses");
    pm_jtext_object_begin(&w);
    pm_jtext_raw_key_from(&w, &src, 1);    /* "id" as a key */
    pm_jtext_raw_from(&w, &src, 3);        /* the request object */
    pm_jtext_key(&w, "a key as a value");
    pm_jtext_raw_from(&w, &src, 1);        /* loses its key flag */
    pm_jtext_object_end(&w);
    pm_jtext_object_end(&w);
    expect_same();
    pm_jtape_free(&src);
}

Test(jtext_tape, reals_through_jansson)
{
    json_t *v = json_pack("{s:f, s:[i, f, s], s:{}}", "pi", 3.25, "list", 7, -1e-7, "s\"", "o");
    pm_jtext_json(&w, v);
    json_decref(v);
    expect_same();
}

Test(jtext_tape, refused)
{
    /* text written as it is that is not JSON: no tape, the reader parses (and fails) */
    pm_jtext_array_begin(&w);
    pm_jtext_raw(&w, "{nope", 5);
    pm_jtext_array_end(&w);
    cr_assert_null(pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH));
    /* not UTF-8 */
    pm_jtext_reset(&w);
    pm_jtext_array_begin(&w);
    pm_jtext_raw(&w, "\"\xff\"", 3);
    pm_jtext_array_end(&w);
    cr_assert_null(pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH));
    /* a key with \u0000 (jansson refuses it) */
    pm_jtext_reset(&w);
    pm_jtext_object_begin(&w);
    pm_jtext_raw_key(&w, "\"a\\u0000\"", 9);
    pm_jtext_int(&w, 1);
    pm_jtext_object_end(&w);
    cr_assert_null(pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH));
    /* still open */
    pm_jtext_reset(&w);
    pm_jtext_object_begin(&w);
    cr_assert_null(pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH));
    /* deeper than the reader's limit */
    pm_jtext_reset(&w);
    for (int i = 0; i < 5; i++)
        pm_jtext_array_begin(&w);
    for (int i = 0; i < 5; i++)
        pm_jtext_array_end(&w);
    cr_assert_null(pm_jtext_tape_done(&w, 4));
    cr_assert_not_null(pm_jtext_tape_done(&w, 5));
    /* started after something was written: the tokens would not cover it */
    pm_jtext_reset(&w);
    pm_jtext_tape_start(&w, NULL);
    pm_jtext_int(&w, 1);
    pm_jtext_tape_start(&w, &followed);
    cr_assert_null(pm_jtext_tape_done(&w, JSON_PARSER_MAX_DEPTH));
    /* and a reset follows again */
    pm_jtext_reset(&w);
    pm_jtext_int(&w, 1);
    expect_same();
}

/* A random document of every call, `budget` values at most. */
static void random_value(unsigned *seed, int depth, int *budget)
{
    static const char *const words[] = {"", "a", "\"", "\\", "\n", "caf\xc3\xa9", "\xe9t\xe9", "x\x01y",
                                        "a long string with \"quotes\" and \\ slashes in it, past a block"};
    int pick = depth > 6 || --*budget <= 0 ? rand_r(seed) % 5 : rand_r(seed) % 9;
    const char *word = words[(size_t)rand_r(seed) % (sizeof words / sizeof *words)];
    switch (pick) {
    case 0: pm_jtext_cstring(&w, word); break;
    case 1: pm_jtext_int(&w, (int64_t)rand_r(seed) - RAND_MAX / 2); break;
    case 2: pm_jtext_bool(&w, rand_r(seed) & 1); break;
    case 3: pm_jtext_null(&w); break;
    case 4: pm_jtext_raw(&w, "[1,{\"r\":\"\\u00e9\"}]", 18); break;
    case 5:
    case 6: {
        pm_jtext_array_begin(&w);
        for (int n = rand_r(seed) % 4; n > 0; n--)
            random_value(seed, depth + 1, budget);
        pm_jtext_array_end(&w);
        break;
    }
    default: {
        if (pick == 8)
            pm_jtext_object_extend(&w, "{\"pre\":[true]}", 14);
        else
            pm_jtext_object_begin(&w);
        for (int n = rand_r(seed) % 4; n > 0; n--) {
            if (rand_r(seed) % 4 == 0)
                pm_jtext_raw_key(&w, "\"r\\tk\"", 6);
            else
                pm_jtext_key(&w, word);
            random_value(seed, depth + 1, budget);
        }
        pm_jtext_object_end(&w);
    }
    }
}

Test(jtext_tape, random_documents)
{
    for (unsigned seed = 1; seed <= 2000; seed++) {
        unsigned s = seed;
        int budget = 40;
        pm_jtext_reset(&w);
        random_value(&s, 0, &budget);
        expect_same();
    }
}

/* Keys written as literals (pm_jtext_key_lit: nothing looked at) are followed as any key,
 * and their text is pm_jtext_key's. */
Test(jtext_tape, literal_keys)
{
    pm_jtext_object_begin(&w);
    pm_jtext_key_lit(&w, "a");
    pm_jtext_int(&w, 1);
    pm_jtext_key_lit(&w, "request");
    pm_jtext_object_begin(&w);
    pm_jtext_key_lit(&w, "");
    pm_jtext_null(&w);
    pm_jtext_key_lit(&w, "a-key-of-thirty-two-bytes-long!!");
    pm_jtext_bool(&w, true);
    pm_jtext_object_end(&w);
    pm_jtext_object_end(&w);
    cr_assert_str_eq(w.buf, "{\"a\":1,\"request\":{\"\":null,\"a-key-of-thirty-two-bytes-long!!\":true}}");
    expect_same();
    pm_jtext t = {0};
    pm_jtext_object_begin(&t);
    pm_jtext_key(&t, "a");
    pm_jtext_int(&t, 1);
    pm_jtext_key(&t, "request");
    pm_jtext_object_begin(&t);
    pm_jtext_key(&t, "");
    pm_jtext_null(&t);
    pm_jtext_key(&t, "a-key-of-thirty-two-bytes-long!!");
    pm_jtext_bool(&t, true);
    pm_jtext_object_end(&t);
    pm_jtext_object_end(&t);
    cr_assert_str_eq(t.buf, w.buf);
    pm_jtext_free(&t);
}
