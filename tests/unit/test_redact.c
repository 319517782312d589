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

Test(redact, rules_replace_the_defaults)
{
    json_t *rules = json_pack("{s:[s], s:[s], s:[s]}", "headers", "X-Api-Key", "query", "apikey",
                              "json_fields", "pin");
    pm_err err = {{0}};
    pm_redactor *r = pm_redactor_new_with_key(test_key, sizeof test_key - 1, rules, &err);
    cr_assert_not_null(r, "%s", err.msg);
    json_t *h = json_pack("[[s,s],[s,s]]", "x-api-key", "k123", "Authorization", "Basic abc");
    pm_redact_headers(r, h);
    cr_assert(is_token(json_string_value(json_array_get(json_array_get(h, 0), 1))));
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(h, 1), 1)), "Basic abc");
    char *t = pm_redact_target(r, "/x?apikey=K&access_token=T");
    cr_assert_null(strstr(t, "apikey=K"));
    cr_assert_not_null(strstr(t, "access_token=T"));
    free(t);
    json_t *doc = json_pack("{s:s, s:s}", "pin", "1234", "password", "p");
    cr_assert_eq(pm_redact_json(r, doc), 1);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "password")), "p");
    json_decref(doc);
    json_decref(h);
    json_decref(rules);
    pm_redactor_free(r);
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
