/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_target.c — request targets and methods as core sees them (core/target.c,
 * core/classify.c): the origin form of a target, which targets may go on a request line,
 * the origin URL and verbatim target a client library is given for a base URL (with a
 * base path, absolute-form targets, `*`), the record's target_b64 for bytes that are not
 * UTF-8, and the method-override headers that make a request mutating for the
 * side-effect policy, in classification too.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

Test(target, origin_form)
{
    cr_expect_str_eq(pm_target_origin_form("/v2/?a=1"), "/v2/?a=1");
    cr_expect_str_eq(pm_target_origin_form("http://quay.io/v2/x?y"), "/v2/x?y");
    cr_expect_str_eq(pm_target_origin_form("HTTPS://quay.io"), "/");
}

Test(target, clean_targets)
{
    cr_expect(pm_target_is_clean("/v2/../api#frag"));
    cr_expect(pm_target_is_clean("/v2/\xff\xfe"), "bytes >= 0x80 go on a request line as they came");
    const char *bad[] = {"", "/a b", "/a\rb", "/a\nb", "/a\tb", "/a\x01", "/a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect(!pm_target_is_clean(bad[i]), "target %zu", i);
}

static void expect_request(const char *base, const char *target, const char *origin, const char *sent)
{
    char *o = NULL, *t = NULL;
    cr_assert_eq(pm_request_for(base, target, &o, &t), 0, "%s + %s", base, target);
    cr_expect_str_eq(o, origin, "%s + %s", base, target);
    cr_expect_str_eq(t, sent, "%s + %s", base, target);
    free(o);
    free(t);
}

Test(target, request_for_a_base_url)
{
    expect_request("http://127.0.0.1:8001", "/v2/../x#f", "http://127.0.0.1:8001/", "/v2/../x#f");
    expect_request("http://h:1/", "/v2/", "http://h:1/", "/v2/");
    expect_request("https://h/quay//", "/v2/?n=1", "https://h/", "/quay/v2/?n=1");
    expect_request("http://h/quay?x=1#y", "/v2/", "http://h/", "/quay/v2/");
    expect_request("http://[::1]:8002/", "http://other/v2/a", "http://[::1]:8002/", "/v2/a");
    expect_request("http://h", "*", "http://h/", "*");
    expect_request("http://h/p", "v2", "http://h/", "/p/v2");
    char *o = (char *)"x", *t = (char *)"x";
    cr_expect_eq(pm_request_for("no-scheme", "/", &o, &t), -1);
    cr_expect_null(o);
    cr_expect_null(t);
}

Test(target, target_b64_only_when_not_utf8)
{
    pm_jtext t = {0};
    pm_jtext_object_begin(&t);
    pm_jtext_target(&t, "/v2/caf\xc3\xa9");
    pm_jtext_object_end(&t);
    cr_expect_str_eq(t.buf, "{\"target\":\"/v2/caf\xc3\xa9\"}", "UTF-8: target alone");
    pm_jtext_reset(&t);
    pm_jtext_object_begin(&t);
    pm_jtext_target(&t, "/v2/\xff");
    pm_jtext_object_end(&t);
    cr_expect_str_eq(t.buf, "{\"target\":\"/v2/\\u00ff\",\"target_b64\":\"L3YyL/8=\"}");
    pm_jtext_free(&t);
}

Test(method, overrides)
{
    cr_expect(pm_method_is_safe("GET") && pm_method_is_safe("HEAD") && pm_method_is_safe("OPTIONS"));
    cr_expect(!pm_method_is_safe("get"), "methods are case-sensitive (RFC 9110 9.1)");
    cr_expect(pm_header_overrides_to_mutating("X-HTTP-Method-Override", "DELETE"));
    cr_expect(pm_header_overrides_to_mutating("x-http-method", " put "));
    cr_expect(pm_header_overrides_to_mutating("X-Method-Override", "patch"));
    cr_expect(pm_header_overrides_to_mutating("X-HTTP-Method-Override", "PROPFINDANDMORE-LONG-NAME"));
    cr_expect(!pm_header_overrides_to_mutating("X-HTTP-Method-Override", "GET"));
    cr_expect(!pm_header_overrides_to_mutating("X-HTTP-Method-Override", "head"));
    cr_expect(!pm_header_overrides_to_mutating("X-HTTP-Method-Override", ""));
    cr_expect(!pm_header_overrides_to_mutating("X-Method", "DELETE"), "not a method-override header");
}

Test(method, classification_sees_overrides)
{
    pm_err err = {0};
    pm_capmap *map = pm_capmap_load(PMIRROR_SOURCE_DIR "/config/quay/capabilities.yaml", &err);
    cr_assert_not_null(map, "%s", err.msg);
    json_t *plain = json_pack("[[s,s]]", "Host", "q");
    json_t *over = json_pack("[[s,s],[s,s]]", "Host", "q", "X-HTTP-Method-Override", "DELETE");
    pm_class c;
    pm_classify(map, "GET", "/api/v1/user/", plain, &c);
    cr_expect(!c.mutating);
    pm_class_clear(&c);
    pm_classify(map, "GET", "/api/v1/user/", over, &c);
    cr_expect(c.mutating, "a GET overridden to DELETE is mutating");
    pm_class_clear(&c);
    json_decref(plain);
    json_decref(over);
    pm_capmap_free(map);
}
