/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redact.c — secrets at rest: the keyed token form, what each header keeps (scheme,
 * cookie names, Set-Cookie attributes), query parameters, JSON and form bodies, and the
 * key file a redactor creates and later finds again.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"

static const unsigned char test_key[] = "unit-test-key-0123456789";

static pm_redactor *redactor_with(const char *key)
{
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new_with_key((const unsigned char *)key, strlen(key), NULL, &err);
    cr_assert_not_null(r, "%s", err.msg);
    return r;
}

static pm_redactor *redactor(void)
{
    return redactor_with((const char *)test_key);
}

/* True when s is exactly "redacted:" followed by 16 lower-case hex digits. */
static bool is_token(const char *s)
{
    if (strncmp(s, "redacted:", 9) != 0 || strlen(s) != 25)
        return false;
    for (int i = 9; i < 25; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

/* Redacts one header and returns the new value (owned by the caller). */
static char *redact_one(const pm_redactor *r, const char *name, const char *value)
{
    json_t *h = json_pack("[[s,s]]", name, value);
    pm_redact_headers(r, h);
    char *out = strdup(json_string_value(json_array_get(json_array_get(h, 0), 1)));
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(h, 0), 0)), name,
                     "the header name changed");
    json_decref(h);
    return out;
}

/* ---- tokens ----------------------------------------------------------------------- */

Test(redact, value_token_form_and_stability)
{
    pm_redactor *r = redactor();
    char a[32], b[32], c[32];
    pm_redact_value(r, "s3cret", 6, a, sizeof a);
    pm_redact_value(r, "s3cret", 6, b, sizeof b);
    pm_redact_value(r, "other", 5, c, sizeof c);
    cr_assert(is_token(a), "%s", a);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);

    pm_redactor *other = redactor_with("another key");
    char d[32];
    pm_redact_value(other, "s3cret", 6, d, sizeof d);
    cr_assert(is_token(d));
    cr_assert_str_neq(a, d);
    pm_redactor_free(other);
    pm_redactor_free(r);
}

/* ---- headers ---------------------------------------------------------------------- */

Test(redact, authorization_basic_keeps_scheme)
{
    pm_redactor *r = redactor();
    char *v = redact_one(r, "Authorization", "Basic dXNlcjpwYXNz");
    cr_assert_eq(strncmp(v, "Basic ", 6), 0, "%s", v);
    cr_assert(is_token(v + 6), "%s", v);
    cr_assert_null(strstr(v, "dXNlcjpwYXNz"));
    char expect[32];
    pm_redact_value(r, "dXNlcjpwYXNz", 12, expect, sizeof expect);
    cr_assert_str_eq(v + 6, expect);
    free(v);
    pm_redactor_free(r);
}

Test(redact, authorization_bearer_same_and_different_secrets)
{
    pm_redactor *r = redactor();
    const char *jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    char bearer[256];
    snprintf(bearer, sizeof bearer, "Bearer %s", jwt);
    char *a = redact_one(r, "Authorization", bearer);
    char *b = redact_one(r, "authorization", bearer);
    char *c = redact_one(r, "Authorization", "Bearer another.jwt.value");
    cr_assert_eq(strncmp(a, "Bearer ", 7), 0, "%s", a);
    cr_assert(is_token(a + 7), "%s", a);
    cr_assert_null(strstr(a, jwt));
    cr_assert_null(strstr(a, "eyJ"));
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);

    pm_redactor *other = redactor_with("another key");
    char *d = redact_one(other, "Authorization", bearer);
    cr_assert_str_neq(a, d);
    free(a);
    free(b);
    free(c);
    free(d);
    pm_redactor_free(other);
    pm_redactor_free(r);
}

Test(redact, already_redacted_header_is_left_alone)
{
    pm_redactor *r = redactor();
    char *once = redact_one(r, "Authorization", "Bearer abc.def.ghi");
    char *twice = redact_one(r, "Authorization", once);
    cr_assert_str_eq(once, twice);
    free(once);
    free(twice);
    pm_redactor_free(r);
}

Test(redact, cookie_values_redacted_names_kept)
{
    pm_redactor *r = redactor();
    char *v = redact_one(r, "Cookie", "a=1; _csrf_token=abc");
    char t1[32], tabc[32], want[128];
    pm_redact_value(r, "1", 1, t1, sizeof t1);
    pm_redact_value(r, "abc", 3, tabc, sizeof tabc);
    snprintf(want, sizeof want, "a=%s; _csrf_token=%s", t1, tabc);
    cr_assert_str_eq(v, want);
    cr_assert_null(strstr(v, "abc;"));
    free(v);
    pm_redactor_free(r);
}

Test(redact, set_cookie_keeps_attributes)
{
    pm_redactor *r = redactor();
    char *v = redact_one(r, "Set-Cookie", "session=xyz; Path=/; HttpOnly");
    char t[32], want[128];
    pm_redact_value(r, "xyz", 3, t, sizeof t);
    snprintf(want, sizeof want, "session=%s; Path=/; HttpOnly", t);
    cr_assert_str_eq(v, want);
    cr_assert_null(strstr(v, "xyz"));
    free(v);
    pm_redactor_free(r);
}

Test(redact, other_headers_untouched_and_names_case_insensitive)
{
    pm_redactor *r = redactor();
    json_t *h = json_pack("[[s,s],[s,s],[s,s],[s,s]]", "Content-Type", "application/json",
                          "AUTHORIZATION", "Bearer tok", "X-Docker-Token", "signature=abc",
                          "Accept", "*/*");
    pm_redact_headers(r, h);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(h, 0), 1)), "application/json");
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(h, 3), 1)), "*/*");
    const char *auth = json_string_value(json_array_get(json_array_get(h, 1), 1));
    cr_assert_eq(strncmp(auth, "Bearer ", 7), 0, "%s", auth);
    cr_assert(is_token(auth + 7), "%s", auth);
    const char *docker = json_string_value(json_array_get(json_array_get(h, 2), 1));
    cr_assert(is_token(docker), "%s", docker);
    cr_assert_eq(json_array_size(h), 4);
    json_decref(h);
    pm_redactor_free(r);
}

/* ---- targets ---------------------------------------------------------------------- */

Test(redact, target_redacts_only_secret_parameters)
{
    pm_redactor *r = redactor();
    char *t = pm_redact_target(r, "/oauth/authorize?client_id=c&access_token=SECRET&x=1");
    char tok[32], want[128];
    pm_redact_value(r, "SECRET", 6, tok, sizeof tok);
    snprintf(want, sizeof want, "/oauth/authorize?client_id=c&access_token=%s&x=1", tok);
    cr_assert_str_eq(t, want);
    cr_assert_null(strstr(t, "SECRET"));
    free(t);

    t = pm_redact_target(r, "/v2/library/busybox/manifests/latest");
    cr_assert_str_eq(t, "/v2/library/busybox/manifests/latest");
    free(t);

    t = pm_redact_target(r, "/api/v1/find/all?query=x&limit=5");
    cr_assert_str_eq(t, "/api/v1/find/all?query=x&limit=5");
    free(t);
    pm_redactor_free(r);
}

Test(redact, target_first_and_last_parameters)
{
    pm_redactor *r = redactor();
    char *t = pm_redact_target(r, "/v2/auth?token=AAA&service=quay&code=BBB");
    cr_assert_null(strstr(t, "AAA"));
    cr_assert_null(strstr(t, "BBB"));
    cr_assert_not_null(strstr(t, "&service=quay&code=redacted:"), "%s", t);
    cr_assert_eq(strncmp(t, "/v2/auth?token=redacted:", 24), 0, "%s", t);
    free(t);
    pm_redactor_free(r);
}

/* ---- JSON and bodies -------------------------------------------------------------- */

Test(redact, json_fields_at_any_depth)
{
    pm_redactor *r = redactor();
    json_t *doc = json_loads("{\"user\":\"alice\",\"password\":\"hunter2\","
                             "\"nested\":{\"token\":\"t0k\",\"keep\":\"me\"},"
                             "\"list\":[{\"token\":\"in-array\"},{\"name\":\"x\"},[{\"password\":\"deep\"}]]}",
                             0, NULL);
    cr_assert_not_null(doc);
    cr_assert_eq(pm_redact_json(r, doc), 4);
    char *out = json_dumps(doc, JSON_COMPACT);
    cr_assert_null(strstr(out, "hunter2"));
    cr_assert_null(strstr(out, "t0k"));
    cr_assert_null(strstr(out, "in-array"));
    cr_assert_null(strstr(out, "deep"));
    free(out);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "user")), "alice");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "nested"), "keep")), "me");
    cr_assert(is_token(json_string_value(json_object_get(doc, "password"))));
    cr_assert(is_token(json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "list"), 0), "token"))));
    char want[32];
    pm_redact_value(r, "hunter2", 7, want, sizeof want);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "password")), want);

    /* A second pass finds nothing new and changes nothing. */
    json_t *copy = json_deep_copy(doc);
    cr_assert_eq(pm_redact_json(r, doc), 0);
    cr_assert(json_equal(doc, copy));
    json_decref(copy);
    json_decref(doc);
    pm_redactor_free(r);
}

Test(redact, record_body_json)
{
    pm_redactor *r = redactor();
    json_t *msg = json_loads("{\"headers\":[[\"Content-Type\",\"application/json\"]],"
                             "\"body\":\"{\\\"token\\\":\\\"s3cret\\\",\\\"n\\\":1}\"}",
                             0, NULL);
    cr_assert_not_null(msg);
    pm_redact_record_body(r, msg);
    const char *body = json_string_value(json_object_get(msg, "body"));
    cr_assert_not_null(body);
    cr_assert_null(strstr(body, "s3cret"), "%s", body);
    json_t *doc = json_loads(body, 0, NULL);
    cr_assert_not_null(doc, "body is no longer JSON: %s", body);
    cr_assert(is_token(json_string_value(json_object_get(doc, "token"))));
    cr_assert_eq(json_integer_value(json_object_get(doc, "n")), 1);
    json_decref(doc);
    json_decref(msg);
    pm_redactor_free(r);
}

Test(redact, record_body_form)
{
    pm_redactor *r = redactor();
    json_t *msg = json_pack("{s:[[s,s]], s:s}", "headers", "content-type",
                            "application/x-www-form-urlencoded; charset=utf-8", "body",
                            "username=alice&password=hunter2&remember=1");
    pm_redact_record_body(r, msg);
    const char *body = json_string_value(json_object_get(msg, "body"));
    cr_assert_null(strstr(body, "hunter2"), "%s", body);
    char tok[32], want[128];
    pm_redact_value(r, "hunter2", 7, tok, sizeof tok);
    snprintf(want, sizeof want, "username=alice&password=%s&remember=1", tok);
    cr_assert_str_eq(body, want);
    json_decref(msg);
    pm_redactor_free(r);
}

Test(redact, record_body_without_secrets_unchanged)
{
    pm_redactor *r = redactor();
    json_t *msg = json_pack("{s:[[s,s]], s:s}", "headers", "Content-Type", "text/plain", "body",
                            "{\"name\": \"x\"}");
    pm_redact_record_body(r, msg);
    cr_assert_str_eq(json_string_value(json_object_get(msg, "body")), "{\"name\": \"x\"}");
    json_decref(msg);
    pm_redactor_free(r);
}

/* ---- the key file ----------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

Test(redact, key_file_created_0600_and_reused)
{
    char dir[] = "/tmp/pm-redact-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[300], key[300];
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    snprintf(key, sizeof key, "%s/.pmirror-key", dir);

    pm_err err = {{0}};
    pm_redactor *a = pm_redactor_new(NULL, out, NULL, &err);
    cr_assert_not_null(a, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(key, &st), 0, "no key file at %s", key);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_gt(st.st_size, 0);

    pm_redactor *b = pm_redactor_new(NULL, out, NULL, &err);
    cr_assert_not_null(b, "%s", err.msg);
    pm_redactor *c = pm_redactor_new(key, NULL, NULL, &err);
    cr_assert_not_null(c, "%s", err.msg);
    char ta[32], tb[32], tc[32];
    pm_redact_value(a, "s3cret", 6, ta, sizeof ta);
    pm_redact_value(b, "s3cret", 6, tb, sizeof tb);
    pm_redact_value(c, "s3cret", 6, tc, sizeof tc);
    cr_assert_str_eq(ta, tb, "a created key and the same key read back differ");
    cr_assert_str_eq(ta, tc);

    /* A different directory means a different key. */
    char dir2[] = "/tmp/pm-redact-XXXXXX";
    cr_assert_not_null(mkdtemp(dir2));
    char out2[300];
    snprintf(out2, sizeof out2, "%s/out.jsonl.gz", dir2);
    pm_redactor *d = pm_redactor_new(NULL, out2, NULL, &err);
    cr_assert_not_null(d, "%s", err.msg);
    char td[32];
    pm_redact_value(d, "s3cret", 6, td, sizeof td);
    cr_assert_str_neq(ta, td);

    pm_redactor_free(a);
    pm_redactor_free(b);
    pm_redactor_free(c);
    pm_redactor_free(d);
    remove_tree(dir);
    remove_tree(dir2);
}

Test(redact, missing_key_file_names_the_path)
{
    pm_err err = {{0}};
    const char *path = "/tmp/pm-no-such-dir-for-redact/key";
    pm_redactor *r = pm_redactor_new(path, "/tmp/out.jsonl", NULL, &err);
    cr_assert_null(r);
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
}

Test(redact, rules_add_to_the_defaults)
{
    json_t *rules = json_pack("{s:[s], s:[s], s:[s]}", "headers", "X-Acme-Key", "query", "acme_sig",
                              "json_fields", "pin");
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new_with_key(test_key, sizeof test_key - 1, rules, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *h = json_pack("[[s,s],[s,s]]", "x-acme-key", "k123", "Authorization", "Basic abc");
    pm_redact_headers(r, h);
    cr_assert(is_token(json_string_value(json_array_get(json_array_get(h, 0), 1))));
    cr_assert_str_neq(json_string_value(json_array_get(json_array_get(h, 1), 1)), "Basic abc",
                      "a profile's names replaced the defaults instead of adding to them");
    char *t = pm_redact_target(r, "/x?acme_sig=K&access_token=T");
    cr_assert_null(strstr(t, "acme_sig=K"), "%s", t);
    cr_assert_null(strstr(t, "access_token=T"), "%s", t);
    free(t);
    json_t *doc = json_pack("{s:s, s:s}", "pin", "1234", "password", "p");
    cr_assert_eq(pm_redact_json(r, doc), 2);
    json_decref(doc);
    json_decref(h);
    json_decref(rules);
    pm_redactor_free(r);
}

/* Issue 14, item 9: API keys, auth tokens and the other secret names found in clear. */
Test(redact, default_names_cover_api_keys_and_more)
{
    pm_redactor *r = redactor();
    static const char *const headers[] = {"X-Api-Key", "X-Auth-Token", "x-api-key"};
    for (size_t i = 0; i < 3; i++) {
        char *v = redact_one(r, headers[i], "k3y-0123456789");
        cr_assert(is_token(v), "%s kept in clear: %s", headers[i], v);
        free(v);
    }
    char *t = pm_redact_target(r, "/api/v1/x?api_key=AK-0123456789&page=2&apikey=AK-9876543210");
    cr_assert_null(strstr(t, "AK-"), "query parameters kept in clear: %s", t);
    cr_assert_not_null(strstr(t, "&page=2&"), "%s", t);
    free(t);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "passwd", "pw-01234567", "secret", "se-01234567",
                            "private_key", "pk-01234567", "api_key", "ak-01234567", "apikey", "ak-76543210",
                            "name", "keep");
    cr_assert_eq(pm_redact_json(r, doc), 5);
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
        if (strcmp(key, "name") != 0)
            cr_assert(is_token(json_string_value(v)), "JSON field %s kept in clear", key);
    json_decref(doc);
    size_t n = 0;
    const char *form = "user=a&passwd=pw-01234567&apikey=ak-01234567";
    char *red = pm_redact_body_text(r, "application/x-www-form-urlencoded", form, strlen(form), &n);
    cr_assert_not_null(red, "form fields kept in clear");
    cr_assert_null(strstr(red, "-01234567"), "%s", red);
    free(red);
    pm_redactor_free(r);
}

/* A profile directory holding `redact.yaml`: its names reach the redactor. */
static char *profile_with(const char *yaml)
{
    char *dir = strdup("/tmp/pm-redact-profile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/redact.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    fclose(f);
    return dir;
}

Test(redact, profile_redact_yaml_adds_names)
{
    char *dir = profile_with("# extra names\nredact:\n  headers: [X-Acme-Key]\n  query:\n    - acme_sig\n"
                             "  json_fields: [acme_pin]\n");
    json_t *rules = NULL;
    pm_err err = {{0}};
    char path[256];
    snprintf(path, sizeof path, "%s/redact.yaml", dir);
    cr_assert_eq(pm_redact_rules_load(path, &rules, &err), 0, "%s", err.msg);
    pm_redactor *r = pm_redactor_new_with_key(test_key, sizeof test_key - 1, rules, &err);
    cr_assert_not_null(r, "%s", err.msg);
    char *v = redact_one(r, "X-Acme-Key", "acme-0123456789");
    cr_assert(is_token(v), "%s", v);
    free(v);
    v = redact_one(r, "Authorization", "Bearer abc.def.ghi");
    cr_assert(is_token(v + 7), "the defaults were lost: %s", v);
    free(v);
    char *t = pm_redact_target(r, "/x?acme_sig=S-0123456789");
    cr_assert_null(strstr(t, "S-0123456789"), "%s", t);
    free(t);
    json_t *doc = json_pack("{s:s}", "acme_pin", "0000-1111");
    cr_assert_eq(pm_redact_json(r, doc), 1);
    json_decref(doc);
    pm_redactor_free(r);
    json_decref(rules);
    remove_tree(dir);
    free(dir);

    /* no redact.yaml (pm_profile.redact.path NULL): no extras, no error */
    rules = json_true();
    cr_assert_eq(pm_redact_rules_load(NULL, &rules, &err), 0, "%s", err.msg);
    cr_assert_null(rules);
}

Test(redact, profile_redact_yaml_errors_name_the_place)
{
    static const char *const bad[] = {
        "redact:\n  headers: [X-A, 12]\n",       /* a name that is not a string */
        "redact:\n  header: [X-A]\n",            /* an unknown list */
        "redact:\n  query: acme_sig\n",          /* not a list */
        "redaction:\n  headers: [X-A]\n",        /* no redact section */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *dir = profile_with(bad[i]);
        char path[256];
        snprintf(path, sizeof path, "%s/redact.yaml", dir);
        json_t *rules = NULL;
        pm_err err = {{0}};
        cr_assert_eq(pm_redact_rules_load(path, &rules, &err), -1, "accepted: %s", bad[i]);
        cr_assert_null(rules);
        cr_assert_not_null(strstr(err.msg, "redact.yaml:"), "%s", err.msg);
        remove_tree(dir);
        free(dir);
    }
}

/* ---- the secret never survives ---------------------------------------------------- */

Test(redact, secret_never_appears_in_output)
{
    pm_redactor *r = redactor();
    const char *secret = "Zx9SECRETvalue42";
    char buf[256];
    json_t *msg = json_object();
    snprintf(buf, sizeof buf, "Bearer %s", secret);
    json_t *headers = json_pack("[[s,s],[s,s],[s,s],[s,s]]", "Authorization", buf, "Cookie",
                                "sid=Zx9SECRETvalue42", "Set-Cookie",
                                "sid=Zx9SECRETvalue42; Secure", "Proxy-Authorization", secret);
    json_object_set_new(msg, "headers", headers);
    snprintf(buf, sizeof buf, "{\"a\":[{\"secret\":\"%s\"}],\"client_secret\":\"%s\"}", secret,
             secret);
    json_object_set_new(msg, "body", json_string(buf));
    pm_redact_headers(r, headers);
    pm_redact_record_body(r, msg);
    snprintf(buf, sizeof buf, "/t?refresh_token=%s&password=%s", secret, secret);
    char *target = pm_redact_target(r, buf);
    json_object_set_new(msg, "target", json_string(target));
    free(target);
    char *all = json_dumps(msg, JSON_COMPACT);
    cr_assert_null(strstr(all, secret), "%s", all);
    cr_assert_null(strstr(all, "SECRET"), "%s", all);
    free(all);
    json_decref(msg);
    pm_redactor_free(r);
}

/* The body pre-check must not be fooled by escaped quotes or escaped key names. */
Test(redact, record_body_secret_behind_escapes)
{
    pm_redactor *r = redactor();
    const char *bodies[] = {
        "{\"note\":\"he said \\\"hi\\\"\",\"token\":\"s3cret-A\"}",
        "{\"\\u0074oken\":\"s3cret-A\"}",
        "[{\"a\":\"\\\\\"},{\"Password\":\"s3cret-A\"}]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        json_t *msg = json_pack("{s:[[s,s]],s:s}", "headers", "Content-Type", "application/json", "body", bodies[i]);
        pm_redact_record_body(r, msg);
        const char *out = json_string_value(json_object_get(msg, "body"));
        cr_expect(out && !strstr(out, "s3cret-A"), "body %zu leaked: %s", i, out ? out : "(null)");
        json_decref(msg);
    }
    pm_redactor_free(r);
}

/* The text scan finds each string's end with memchr (quote, then a backslash before it)
 * instead of walking bytes: strings that end the text, a backslash as the last byte, an
 * escaped quote or backslash just before a key, long strings around a key. What is not a
 * listed key's string value stays byte for byte; "PW" stands for the token of s3cret-A, "P2"
 * for that of s3cret-A and a backslash. */
Test(redact, json_text_scan_finds_string_ends)
{
    pm_redactor *r = redactor();
    char *tok = pm_redact_secret(r, "s3cret-A", 8), *tok2 = pm_redact_secret(r, "s3cret-A\\", 9);
    cr_assert(tok && tok2);
    char pad[300];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    struct {
        const char *in, *want; /* want NULL: unchanged */
    } cases[] = {
        {"{\"token\":\"s3cret-A\"}", "{\"token\":\"PW\"}"},
        {"{\"a\":\"x\\\\\",\"token\":\"s3cret-A\"}", "{\"a\":\"x\\\\\",\"token\":\"PW\"}"},
        {"{\"a\":\"q\\\"\",\"token\":\"s3cret-A\",\"b\":\"\\\\\\\"\"}", "{\"a\":\"q\\\"\",\"token\":\"PW\",\"b\":\"\\\\\\\"\"}"},
        {"{\"a\":\"token\",\"b\":\"token\"}", NULL},
        {"{\"token\" \n :  \"s3cret-A\"  }", "{\"token\" \n :  \"PW\"  }"},
        {"{\"token\":\"s3cret-A", "{\"token\":\"PW"}, /* cut in the value: redacted as far as it goes */
        {"{\"token\":\"s3cret-A\\", "{\"token\":\"P2"}, /* a backslash ends it: jansson cannot, the text is hashed */
        {"{\"token", NULL},
        {"\"", NULL},
        {"", NULL},
        {"{\"token\":12345678,\"Secret\":\"s3cret-A\"}", "{\"token\":12345678,\"Secret\":\"PW\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int padded = 0; padded < 2; padded++) {
            /* padded: a long string before, so the ends are found far from the start */
            char *in = NULL, *want = NULL;
            cr_assert_gt(asprintf(&in, "%s%s%s", padded ? "[\"" : "", padded ? pad : "", padded ? "\"," : ""), -1);
            char *full = NULL;
            cr_assert_gt(asprintf(&full, "%s%s", in, cases[i].in), -1);
            size_t n = 0;
            char *out = pm_redact_body_text(r, "application/json", full, strlen(full), &n);
            if (!cases[i].want) {
                cr_expect_null(out, "case %zu/%d: %s", i, padded, out);
            } else {
                char *w = strdup(cases[i].want), *at = strstr(w, "PW"), *at2 = strstr(w, "P2");
                if (!at)
                    at = at2;
                cr_assert_gt(asprintf(&want, "%s%.*s%s%s", in, (int)(at - w), w, at == at2 ? tok2 : tok, at + 2), -1);
                cr_expect(out && n == strlen(want) && memcmp(out, want, n) == 0, "case %zu/%d: %s, want %s", i,
                          padded, out ? out : "(unchanged)", want);
                free(w);
            }
            free(out);
            free(in);
            free(full);
            free(want);
        }
    }
    free(tok);
    free(tok2);
    pm_redactor_free(r);
}

/* ---- a secret's value, wherever it shows up (issue 14, item 10) --------------------- */

/* A spreading redactor over a fresh set, with r's key and lists. */
static pm_redactor *spreading(const pm_redactor *r, pm_secrets **s)
{
    pm_err err = {{0}};
    *s = pm_secrets_new();
    cr_assert_not_null(*s);
    pm_redactor *v = pm_redactor_spreading(r, *s, &err);
    cr_assert_not_null(v, "%s", err.msg);
    return v;
}

static char *body_of(const pm_redactor *r, const char *type, const char *text)
{
    size_t n = 0;
    char *out = pm_redact_body_text(r, type, text, strlen(text), &n);
    return out ? out : strdup(text);
}

Test(redact, spread_request_secrets_over_the_exchange)
{
    pm_redactor *r = redactor();
    pm_secrets *s;
    pm_redactor *v = spreading(r, &s);
    const char *jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    char bearer[256], cookie[] = "session=Sess-0123456789abcdef; theme=dark";
    snprintf(bearer, sizeof bearer, "Bearer %s", jwt);
    json_t *req = json_pack("[[s,s],[s,s],[s,s]]", "Authorization", bearer, "Cookie", cookie, "X-Trace", "t-1");
    pm_redact_learn_headers(v, req);
    cr_assert_geq(pm_secrets_count(s), 2);

    /* an echo in another header, the target, a JSON and a text body, as the header stores it */
    char *stored_auth = pm_redact_header_value(r, "Authorization", bearer);
    char tok[32];
    pm_redact_value(r, "Sess-0123456789abcdef", 21, tok, sizeof tok);
    char *echo = pm_redact_header_value(v, "X-Echo", bearer);
    cr_assert_not_null(echo, "an echoed Authorization value in another header is kept in clear");
    cr_assert_str_eq(echo, stored_auth);
    cr_assert_null(pm_redact_header_value(v, "X-Trace", "t-1"), "a header holding no secret changed");
    char *target = pm_redact_target(v, "/next?s=Sess-0123456789abcdef&page=2");
    char want[128];
    snprintf(want, sizeof want, "/next?s=%s&page=2", tok);
    cr_assert_str_eq(target, want);
    char text[512];
    snprintf(text, sizeof text, "{\"headers\":{\"authorization\":\"%s\",\"cookie\":\"%s\"},\"jwt\":\"%s\"}", bearer,
             cookie, jwt);
    char *body = body_of(v, "application/json", text);
    cr_assert_null(strstr(body, jwt), "%s", body);
    cr_assert_null(strstr(body, "Sess-0123456789abcdef"), "%s", body);
    cr_assert_not_null(strstr(body, stored_auth), "%s", body);
    cr_assert_not_null(strstr(body, tok), "%s", body);
    free(body);
    body = body_of(v, "text/plain", jwt);
    cr_assert_str_eq(body, stored_auth + 7, "a plain text echo");
    free(body);
    free(target);
    free(echo);
    free(stored_auth);
    json_decref(req);
    pm_redactor_free(v);
    pm_secrets_free(s);
    pm_redactor_free(r);
}

Test(redact, spread_basic_password_and_body_secrets)
{
    pm_redactor *r = redactor();
    pm_secrets *s;
    pm_redactor *v = spreading(r, &s);
    /* "alice:Pw-0123456789" */
    pm_redact_learn_header(v, "Authorization", "Basic YWxpY2U6UHctMDEyMzQ1Njc4OQ==");
    const char *login = "{\"password\":\"Robot-0123456789\",\"user\":\"acme+bot\"}";
    pm_redact_learn_body(v, NULL, (const unsigned char *)login, strlen(login));
    char pw[32], robot[32];
    pm_redact_value(r, "Pw-0123456789", 13, pw, sizeof pw);
    pm_redact_value(r, "Robot-0123456789", 16, robot, sizeof robot);
    char *body = body_of(v, "application/json",
                         "{\"error\":\"bad password Pw-0123456789\",\"was\":\"Robot-0123456789\",\"n\":1}");
    char want[256];
    snprintf(want, sizeof want, "{\"error\":\"bad password %s\",\"was\":\"%s\",\"n\":1}", pw, robot);
    cr_assert_str_eq(body, want);
    free(body);
    pm_redactor_free(v);
    pm_secrets_free(s);
    pm_redactor_free(r);
}

Test(redact, spread_minimum_length_and_tokens_left_alone)
{
    pm_redactor *r = redactor();
    pm_secrets *s;
    pm_redactor *v = spreading(r, &s);
    /* a 7-byte password is redacted where it is named, not searched for elsewhere */
    const char *login = "{\"password\":\"1234567\",\"secret\":\"redacted\",\"token\":\"deadbeef\"}";
    char *red = body_of(v, "application/json", login);
    cr_assert_null(strstr(red, "1234567"), "%s", red);
    free(red);
    cr_assert_eq(pm_secrets_count(s), 2, "only values of 8 bytes or more are spread");
    red = body_of(v, "text/plain", "page 1234567 of 2");
    cr_assert_str_eq(red, "page 1234567 of 2");
    free(red);
    /* known values inside existing redacted: tokens do not break them */
    char tok[32], text[128];
    pm_redact_value(r, "x", 1, tok, sizeof tok);
    snprintf(text, sizeof text, "%s deadbeef redacted", tok);
    red = body_of(v, "text/plain", text);
    char dead[32], word[32], want[128];
    pm_redact_value(r, "deadbeef", 8, dead, sizeof dead);
    pm_redact_value(r, "redacted", 8, word, sizeof word);
    snprintf(want, sizeof want, "%s %s %s", tok, dead, word);
    cr_assert_str_eq(red, want);
    free(red);
    pm_redactor_free(v);
    pm_secrets_free(s);
    pm_redactor_free(r);
}

Test(redact, spread_longest_value_first_and_seeded_sets)
{
    pm_redactor *r = redactor();
    pm_secrets *base = pm_secrets_new();
    cr_assert_eq(pm_secrets_add(base, r, "abcdefgh", 8, NULL), 0);
    cr_assert_eq(pm_secrets_add(base, r, "abcdefgh-ijklmnop", 17, "redacted:0123456789abcdef"), 0);
    cr_assert_eq(pm_secrets_add(base, r, "short", 5, NULL), 0);
    cr_assert_eq(pm_secrets_count(base), 2);
    pm_secrets *s = pm_secrets_new();
    cr_assert_eq(pm_secrets_add_all(s, base), 0);
    size_t n = 0;
    const char *text = "x abcdefgh-ijklmnop y abcdefgh";
    char *out = pm_secrets_spread(s, text, strlen(text), &n);
    char a[32], want[128];
    pm_redact_value(r, "abcdefgh", 8, a, sizeof a);
    snprintf(want, sizeof want, "x redacted:0123456789abcdef y %s", a);
    cr_assert_not_null(out);
    cr_assert_str_eq(out, want);
    cr_assert_eq(n, strlen(want));
    free(out);
    cr_assert_null(pm_secrets_spread(s, "nothing", 7, &n));
    pm_secrets_free(s);
    pm_secrets_free(base);
    pm_redactor_free(r);
}

Test(redact, spread_into_gzip_bodies_and_record_messages)
{
    pm_redactor *r = redactor();
    pm_secrets *s;
    pm_redactor *v = spreading(r, &s);
    const char *secret = "Echo-0123456789abcdef";
    cr_assert_eq(pm_secrets_add(s, r, secret, strlen(secret), NULL), 0);
    char tok[32];
    pm_redact_value(r, secret, strlen(secret), tok, sizeof tok);

    /* tee --record redacts record trees: an answer echoing the secret */
    json_t *msg = json_pack("{s:[[s,s],[s,s]], s:s}", "headers", "Content-Type", "text/plain", "X-Seen", secret,
                            "body", "you sent Echo-0123456789abcdef");
    pm_redact_message(v, msg);
    char *dump = json_dumps(msg, JSON_COMPACT);
    cr_assert_null(strstr(dump, secret), "%s", dump);
    cr_assert_not_null(strstr(dump, tok), "%s", dump);
    free(dump);
    json_decref(msg);

    /* a gzip body: decoded, spread, encoded again */
    static const unsigned char gz[] = { /* gzip of "you sent Echo-0123456789abcdef" */
        31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 204, 47, 85, 40, 78, 205, 43, 81, 112, 77, 206, 200,
        215, 53, 48, 52, 50, 54, 49, 53, 51, 183, 176, 76, 76, 74, 78, 73, 77, 3, 0, 216, 231, 23, 202, 30, 0, 0, 0};
    size_t n = 0;
    char *coded = pm_redact_coded_body(v, "gzip", "text/plain", gz, sizeof gz, &n);
    cr_assert_not_null(coded, "a secret in a gzip body is kept");
    unsigned char plain[128];
    z_stream z = {0};
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)coded;
    z.avail_in = (uInt)n;
    z.next_out = plain;
    z.avail_out = sizeof plain - 1;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    plain[sizeof plain - 1 - z.avail_out] = '\0';
    inflateEnd(&z);
    char want[64];
    snprintf(want, sizeof want, "you sent %s", tok);
    cr_assert_str_eq((char *)plain, want);
    pm_redactor_free(v);
    pm_secrets_free(s);
    pm_redactor_free(r);
    free(coded);
}

/* Bodies are JSON text searched as bytes: a replacement never breaks the syntax. */
Test(redact, spread_keeps_json_valid)
{
    pm_redactor *r = redactor();
    pm_secrets *s = pm_secrets_new();
    cr_assert_eq(pm_secrets_add(s, r, "12345678", 8, NULL), 0); /* could be a number */
    cr_assert_eq(pm_secrets_add(s, r, "ab\"cd:efgh", 10, NULL), 0); /* a quote */
    cr_assert_eq(pm_secrets_count(s), 0);
    cr_assert_eq(pm_secrets_add(s, r, "00e9abcdefgh", 12, NULL), 0);
    cr_assert_eq(pm_secrets_add(s, r, "nQ7-secret", 10, NULL), 0);
    cr_assert_eq(pm_secrets_count(s), 2);
    const char *text = "{\"n\":12345678,\"a\":\"\\u00e9abcdefgh\",\"b\":\"x\\nQ7-secret\",\"c\":\"nQ7-secret\"}";
    size_t n = 0;
    char *out = pm_secrets_spread(s, text, strlen(text), &n);
    cr_assert_not_null(out);
    json_t *doc = json_loadb(out, n, 0, NULL);
    cr_assert_not_null(doc, "no longer JSON: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(doc, "n")), 12345678);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "b")), "x\nQ7-secret");
    cr_assert_str_neq(json_string_value(json_object_get(doc, "c")), "nQ7-secret");
    json_decref(doc);
    free(out);
    pm_secrets_free(s);
    pm_redactor_free(r);
}

/* ---- the fields pass kept from learning to writing (pm_body_to_jtext_learned) ----------- */

/* Two bodies of one exchange written the way capture did (learn both, then write each with
 * pm_body_to_jtext_redacted) and the way it does (the fields passes kept): the same text. */
static char *write_pair(const pm_redactor *r, const char *types[2], const pm_body bodies[2], bool keep)
{
    pm_secrets *s = NULL;
    pm_redactor *v = spreading(r, &s);
    json_t *headers[2];
    pm_body_fields fields[2];
    for (int i = 0; i < 2; i++) {
        headers[i] = types[i] ? json_pack("[[s,s]]", "Content-Type", types[i]) : json_array();
        if (types[i] && strcmp(types[i], "text/plain+gzip") == 0)
            json_array_append_new(headers[i], json_pack("[s,s]", "Content-Encoding", "gzip"));
        if (keep)
            pm_redact_learn_body_fields(v, headers[i], bodies[i].data, bodies[i].len, &fields[i]);
        else
            pm_redact_learn_body(v, headers[i], bodies[i].data, bodies[i].len);
    }
    pm_jtext t = {0};
    pm_jtext_object_begin(&t);
    for (int i = 0; i < 2; i++) {
        pm_jtext_key(&t, i ? "response" : "request");
        pm_jtext_object_begin(&t);
        cr_assert_eq(keep ? pm_body_to_jtext_learned(&bodies[i], v, headers[i], &fields[i], &t)
                          : pm_body_to_jtext_redacted(&bodies[i], v, headers[i], &t), 0);
        pm_jtext_object_end(&t);
        if (keep)
            pm_body_fields_clear(&fields[i]);
        json_decref(headers[i]);
    }
    pm_jtext_object_end(&t);
    char *out = strdup(t.buf);
    pm_jtext_free(&t);
    pm_redactor_free(v);
    pm_secrets_free(s);
    return out;
}

Test(redact, body_fields_kept_from_learning_write_the_same)
{
    static const unsigned char gz[] = { /* gzip of "you sent Echo-0123456789abcdef" */
        31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 204, 47, 85, 40, 78, 205, 43, 81, 112, 77, 206, 200,
        215, 53, 48, 52, 50, 54, 49, 53, 51, 183, 176, 76, 76, 74, 78, 73, 77, 3, 0, 216, 231, 23, 202, 30, 0, 0, 0};
    static const unsigned char binary[] = {0xff, 0xfe, 'E', 'c', 'h', 'o', 0};
    struct {
        const char *types[2];
        const void *data[2];
        size_t len[2]; /* 0: strlen */
        size_t limit;  /* the body cap (0: none): a body cut by --max-body */
    } cases[] = {
        {{"application/json", "application/json"},
         {"{\"token\":\"Echo-0123456789abcdef\"}", "{\"seen\":\"Echo-0123456789abcdef\",\"n\":1}"}, {0, 0}, 0},
        {{"application/json", "application/json"},
         {"{\"a\":1}", "{\"refresh_token\":\"R-abcdefgh12345\",\"echo\":\"x R-abcdefgh12345\"}"}, {0, 0}, 0},
        {{"application/json", NULL}, {"{\"\\u0074oken\":\"Echo-0123456789abcdef\"}", "Echo-0123456789abcdef!"}, {0, 0}, 0},
        {{"application/x-www-form-urlencoded", "text/plain"},
         {"user=a&password=Echo-0123456789abcdef", "you sent Echo-0123456789abcdef"}, {0, 0}, 0},
        {{"application/json", "text/plain+gzip"}, {"{\"secret\":\"Echo-0123456789abcdef\"}", gz}, {0, sizeof gz}, 0},
        {{"application/json", "application/octet-stream"},
         {"{\"password\":\"Echo-0123456789abcdef\"}", binary}, {0, sizeof binary}, 0},
        {{"application/json", "application/json"}, {"", "{}"}, {0, 0}, 0},
        {{"application/json", "application/json"},
         {"{\"token\":\"Echo-0123456789abcdef\",\"more\":\"xxxxxxxxxxxxxxxxxxxx\"}", "{\"token\":\"Echo-0123456789abcdef\"}"},
         {0, 0}, 24},
    };
    pm_redactor *r = redactor();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        pm_body bodies[2];
        for (int i = 0; i < 2; i++) {
            pm_body_init_sha_when_cut(&bodies[i], cases[c].limit ? cases[c].limit : 1 << 20);
            size_t n = cases[c].len[i] ? cases[c].len[i] : strlen(cases[c].data[i]);
            cr_assert_eq(pm_body_append(&bodies[i], cases[c].data[i], n), 0);
        }
        char *old = write_pair(r, cases[c].types, bodies, false);
        char *kept = write_pair(r, cases[c].types, bodies, true);
        cr_expect_str_eq(kept, old, "case %zu", c);
        cr_expect_null(strstr(old, "Echo-0123456789abcdef"), "case %zu leaked: %s", c, old);
        free(old);
        free(kept);
        pm_body_free(&bodies[0]);
        pm_body_free(&bodies[1]);
    }
    pm_redactor_free(r);
}

/* pm_redact_body_fields_none (capture asks it on the packet loop to skip learning a body):
 * true only where the fields pass finds nothing, which the learning pass then confirms
 * (done, nothing redacted, nothing learned); false for a listed field or parameter holding
 * a value, a key spelled with escapes, and a form body holding a NUL. A listed key whose
 * value is no string to redact may go either way (the check may be cautious). */
Test(redact, body_fields_none_where_the_fields_pass_finds_nothing)
{
    static const struct {
        const char *type, *text;
        size_t len; /* 0: strlen */
        int none;   /* 1: must be, 0: must not be, -1: either */
    } cases[] = {
        {"application/json", "{\"schemaVersion\":2,\"layers\":[{\"digest\":\"sha256:abc\"}]}", 0, 1},
        {"application/json", "{\"token\":\"Echo-0123456789abcdef\"}", 0, 0},
        {"application/json", "{\"a\":{\"password\" : \"x\"}}", 0, 0},
        {"application/json", "{\"a\":{\"passwordsandmore\":\"x\", \"b\": \"token\"}}", 0, 1},
        {"application/json", "{\"token\":123,\"secret\":null}", 0, -1},
        {"application/json", "{\"token\":\"redacted:0123456789abcdef\"}", 0, -1},
        {"application/json", "{\"\\u0074oken\":\"Echo-0123456789abcdef\"}", 0, 0},
        {"application/json", "{\"a\\\"b\":\"x\",\"n\":1}", 0, 0},
        {"application/json", "[\"token\", \"password\"]", 0, 1},
        {"application/json", "\"token\":\"x\"", 0, 0},
        {NULL, "{\"access_token\":\"Echo-0123456789abcdef\"}", 0, 0},
        {"application/x-www-form-urlencoded", "user=a&password=Echo-0123456789abcdef", 0, 0},
        {"application/x-www-form-urlencoded", "user=a&note=hello&password=", 0, 1},
        {"application/x-www-form-urlencoded", "user=a\0b&x=y", 12, 0},
        {"text/plain", "password: hunter2-0123456789", 0, 1},
    };
    pm_redactor *base = redactor();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t len = cases[c].len ? cases[c].len : strlen(cases[c].text);
        bool none = pm_redact_body_fields_none(base, cases[c].type, cases[c].text, len);
        if (cases[c].none >= 0)
            cr_expect_eq(none, cases[c].none == 1, "case %zu", c);
        if (!none)
            continue;
        pm_secrets *s = pm_secrets_new();
        pm_redactor *r = pm_redactor_spreading(base, s, NULL);
        pm_body_fields f;
        pm_redact_learn_body_fields_typed(r, cases[c].type, NULL, (const unsigned char *)cases[c].text, len, &f);
        cr_expect(f.done && !f.red && pm_secrets_count(s) == 0, "case %zu: the fields pass found something", c);
        pm_body_fields_clear(&f);
        pm_redactor_free(r);
        pm_secrets_free(s);
    }
    pm_redactor_free(base);
}

/* Which values a set takes (spreadable: the bytes that bar one are found eight at a time
 * past the first that cannot stand outside a JSON string): a barring byte at every place
 * of a long value, in and out of the word loop, keeps it out; digits-only values stay out. */
Test(redact, spread_values_with_barring_bytes_anywhere_left_out)
{
    pm_redactor *r = redactor();
    const char bar[] = {'"', '\\', '\n', 0x01, 0x1f, 0x7f};
    for (size_t at = 0; at < 40; at++)
        for (size_t b = 0; b < sizeof bar; b++) {
            char v[41];
            memset(v, 'k', 40);
            v[at] = bar[b];
            v[40] = '\0';
            pm_secrets *s = pm_secrets_new();
            cr_assert_eq(pm_secrets_add(s, r, v, 40, NULL), 0);
            cr_expect_eq(pm_secrets_count(s), 0, "byte 0x%02x at %zu taken", (unsigned)(unsigned char)bar[b], at);
            pm_secrets_free(s);
        }
    const char *taken[] = {"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "12345678x", "truefalse-x9", "0000000000000000\x80"};
    const char *left[] = {"1234567890123456", "truefalse", "1e10,2e20 {}[]:", "-.+eE 123"};
    for (size_t i = 0; i < 4; i++) {
        pm_secrets *s = pm_secrets_new();
        pm_secrets_add(s, r, taken[i], strlen(taken[i]), NULL);
        pm_secrets_add(s, r, left[i], strlen(left[i]), NULL);
        cr_expect_eq(pm_secrets_count(s), 1, "%s / %s", taken[i], left[i]);
        pm_secrets_free(s);
    }
    pm_redactor_free(r);
}

/* A remembering redactor (capture's record writer) gives every value the token a plain one
 * gives: asked again, after more values than its table holds took the slots over, values
 * too long to remember, short output buffers, and through spreading views of it. */
Test(redact, remembering_gives_the_same_tokens)
{
    pm_redactor *r = redactor();
    pm_err err = {{0}};
    pm_redactor *m = pm_redactor_remembering(r, &err);
    cr_assert_not_null(m, "%s", err.msg);
    char *big = malloc(5001);
    memset(big, 'b', 5000);
    big[5000] = '\0';
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < 3000; i++) {
            char v[64], want[32], got[32];
            int n = snprintf(v, sizeof v, "Bearer eyJ-token-%u", round == 1 ? 2999 - i : i);
            pm_redact_value(r, v, (size_t)n, want, sizeof want);
            pm_redact_value(m, v, (size_t)n, got, sizeof got);
            cr_assert_str_eq(got, want, "%s", v);
            pm_redact_value(m, v, (size_t)n, got, 12); /* cut as snprintf cuts */
            cr_assert_eq(strncmp(got, want, 11), 0);
            cr_assert_eq(strlen(got), 11);
        }
    char want[32], got[32];
    for (int i = 0; i < 2; i++) {
        pm_redact_value(r, big, 5000, want, sizeof want);
        pm_redact_value(m, big, 5000, got, sizeof got);
        cr_assert_str_eq(got, want);
    }
    pm_secrets *s = NULL;
    pm_redactor *sv = spreading(m, &s), *plain_sv = NULL;
    pm_secrets *ps = NULL;
    plain_sv = spreading(r, &ps);
    const char *header = "Bearer eyJ-token-77-and-more";
    char *a = pm_redact_header_value(sv, "Authorization", header);
    char *b = pm_redact_header_value(plain_sv, "Authorization", header);
    cr_assert(a && b);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    pm_redactor_free(sv);
    pm_secrets_free(s);
    pm_redactor_free(plain_sv);
    pm_secrets_free(ps);
    free(big);
    pm_redactor_free(m);
    pm_redactor_free(r);
}
