/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c — YAML and JSON config files into one jansson tree: how YAML scalars
 * resolve, that both syntaxes give equal trees, and that every error (syntax, duplicate
 * keys, unknown aliases, later checks through pm_config_error_at) names file:line:col.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static pm_config *parse_ok(const char *name, const char *text)
{
    pm_err err = {{0}};
    pm_config *cfg = pm_config_parse(name, text, strlen(text), &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    return cfg;
}

/* Expects a parse error whose message starts with PREFIX ("name:line:" or more). */
static void parse_fails(const char *name, const char *text, const char *prefix)
{
    pm_err err = {{0}};
    pm_config *cfg = pm_config_parse(name, text, strlen(text), &err);
    cr_assert_null(cfg, "%s parsed but should not", name);
    cr_assert_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "message \"%s\" does not start with \"%s\"",
                 err.msg, prefix);
}

/* True when msg is "NAME:LINE:COL: ..." with these line and column. */
static bool has_position(const char *msg, const char *name, unsigned line, unsigned col)
{
    char want[400];
    snprintf(want, sizeof want, "%s:%u:%u: ", name, line, col);
    return strncmp(msg, want, strlen(want)) == 0;
}

/* ---- scalars ---------------------------------------------------------------------- */

Test(config, yaml_scalars_resolve_like_the_core_schema)
{
    pm_config *cfg = parse_ok("s.yaml", "n1: null\n"
                                        "n2: ~\n"
                                        "n3:\n"
                                        "t: true\n"
                                        "f: false\n"
                                        "i: 42\n"
                                        "neg: -7\n"
                                        "r: 1.5\n"
                                        "q1: '42'\n"
                                        "q2: \"true\"\n"
                                        "q3: 'null'\n"
                                        "s: hello world\n"
                                        "ver: 1.2.3\n"
                                        "hex: 0x1F\n"
                                        "oct: 0o17\n"
                                        "notoct: [0o, 0o 17, 0o8]\n"
                                        "exp: 1e3\n");
    json_t *root = pm_config_root(cfg);
    cr_assert(json_is_object(root));
    cr_assert(json_is_null(json_object_get(root, "n1")));
    cr_assert(json_is_null(json_object_get(root, "n2")));
    cr_assert(json_is_null(json_object_get(root, "n3")));
    cr_assert(json_is_true(json_object_get(root, "t")));
    cr_assert(json_is_false(json_object_get(root, "f")));
    cr_assert(json_is_integer(json_object_get(root, "i")));
    cr_assert_eq(json_integer_value(json_object_get(root, "i")), 42);
    cr_assert_eq(json_integer_value(json_object_get(root, "neg")), -7);
    cr_assert(json_is_real(json_object_get(root, "r")));
    cr_assert_float_eq(json_real_value(json_object_get(root, "r")), 1.5, 1e-12);
    cr_assert_str_eq(json_string_value(json_object_get(root, "q1")), "42");
    cr_assert_str_eq(json_string_value(json_object_get(root, "q2")), "true");
    cr_assert_str_eq(json_string_value(json_object_get(root, "q3")), "null");
    cr_assert_str_eq(json_string_value(json_object_get(root, "s")), "hello world");
    cr_assert_str_eq(json_string_value(json_object_get(root, "ver")), "1.2.3");
    cr_assert_eq(json_integer_value(json_object_get(root, "hex")), 31);
    cr_assert_eq(json_integer_value(json_object_get(root, "oct")), 15);
    json_t *notoct = json_object_get(root, "notoct");
    cr_assert_str_eq(json_string_value(json_array_get(notoct, 0)), "0o");
    cr_assert_str_eq(json_string_value(json_array_get(notoct, 1)), "0o 17");
    cr_assert_str_eq(json_string_value(json_array_get(notoct, 2)), "0o8");
    cr_assert(json_is_real(json_object_get(root, "exp")));
    cr_assert_float_eq(json_real_value(json_object_get(root, "exp")), 1000.0, 1e-9);
    cr_assert_str_eq(pm_config_path(cfg), "s.yaml");
    pm_config_free(cfg);
}

Test(config, nested_maps_lists_and_flow_style_keep_order)
{
    pm_config *cfg = parse_ok("n.yaml", "zeta: 1\n"
                                        "alpha:\n"
                                        "  inner:\n"
                                        "    - a\n"
                                        "    - {k: v}\n"
                                        "    - [1, 2]\n"
                                        "flow: {a: 1, b: [x, y]}\n"
                                        "middle: m\n");
    json_t *root = pm_config_root(cfg);
    const char *want[] = {"zeta", "alpha", "flow", "middle"};
    size_t i = 0;
    for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it), i++) {
        cr_assert_lt(i, 4);
        cr_assert_str_eq(json_object_iter_key(it), want[i]);
    }
    cr_assert_eq(i, 4);
    json_t *expect = json_loads("{\"zeta\":1,\"alpha\":{\"inner\":[\"a\",{\"k\":\"v\"},[1,2]]},"
                                "\"flow\":{\"a\":1,\"b\":[\"x\",\"y\"]},\"middle\":\"m\"}",
                                0, NULL);
    cr_assert(json_equal(root, expect));
    json_decref(expect);
    pm_config_free(cfg);
}

Test(config, yaml_and_json_give_equal_trees)
{
    const char *yaml = "targets:\n"
                       "  - {name: python, url: \"http://127.0.0.1:8001\", role: baseline}\n"
                       "  - name: go\n"
                       "    url: http://127.0.0.1:8002\n"
                       "    role: candidate\n"
                       "    sandbox: true\n"
                       "limits: {parity: 0.995, samples: 200, note: ~}\n";
    const char *json = "{\"targets\":[{\"name\":\"python\",\"url\":\"http://127.0.0.1:8001\","
                       "\"role\":\"baseline\"},{\"name\":\"go\",\"url\":\"http://127.0.0.1:8002\","
                       "\"role\":\"candidate\",\"sandbox\":true}],"
                       "\"limits\":{\"parity\":0.995,\"samples\":200,\"note\":null}}";
    pm_config *a = parse_ok("suite.yaml", yaml);
    pm_config *b = parse_ok("suite.json", json);
    cr_assert(json_equal(pm_config_root(a), pm_config_root(b)));
    pm_config_free(a);
    pm_config_free(b);
}

Test(config, empty_document_is_null)
{
    pm_config *cfg = parse_ok("empty.yaml", "");
    cr_assert(json_is_null(pm_config_root(cfg)));
    pm_config_free(cfg);
}

Test(config, numeric_looking_keys_stay_text)
{
    pm_config *cfg = parse_ok("k.yaml", "404: not found\n1.5: x\n010: y\n");
    json_t *root = pm_config_root(cfg);
    cr_assert_str_eq(json_string_value(json_object_get(root, "404")), "not found");
    cr_assert_str_eq(json_string_value(json_object_get(root, "1.5")), "x");
    cr_assert_str_eq(json_string_value(json_object_get(root, "010")), "y");
    pm_config_free(cfg);
}

/* ---- errors ----------------------------------------------------------------------- */

Test(config, unclosed_flow_sequence_names_the_line)
{
    parse_fails("bad.yaml", "a: [1, 2\nb: 3\n", "bad.yaml:2:");
}

Test(config, bad_indent_names_the_line)
{
    parse_fails("indent.yaml", "top:\n  a: 1\n b: 2\n", "indent.yaml:3:");
    parse_fails("indent2.yaml", "a: 1\nb: 2\n   c: 3\n", "indent2.yaml:3:");
}

Test(config, malformed_json_names_line_and_column)
{
    pm_err err = {{0}};
    const char *text = "{\n  \"a\": 1,\n  \"b\": ,\n}\n";
    pm_config *cfg = pm_config_parse("name.json", text, strlen(text), &err);
    cr_assert_null(cfg);
    cr_assert(has_position(err.msg, "name.json", 3, 8), "%s", err.msg);
}

Test(config, duplicate_keys)
{
    parse_fails("dup.yaml", "a: 1\nb: 2\na: 3\n", "dup.yaml:3:");
    parse_fails("dup2.yaml", "outer:\n  x: 1\n  y: 2\n  x: 3\n", "dup2.yaml:4:");
    parse_fails("dup.json", "{\"a\": 1,\n \"a\": 2}", "dup.json:2:");
}

Test(config, duplicate_key_message_names_the_key)
{
    pm_err err = {{0}};
    const char *text = "name: a\nname: b\n";
    cr_assert_null(pm_config_parse("d.yaml", text, strlen(text), &err));
    cr_assert_not_null(strstr(err.msg, "duplicate key"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "\"name\""), "%s", err.msg);
}

Test(config, more_than_one_document_is_an_error)
{
    parse_fails("two.yaml", "a: 1\n---\nb: 2\n", "two.yaml:2:");
}

/* ---- anchors ---------------------------------------------------------------------- */

Test(config, anchors_and_aliases)
{
    pm_config *cfg = parse_ok("a.yaml", "base: &b {x: 1, y: [p, q]}\n"
                                        "copy: *b\n"
                                        "name: &n hello\n"
                                        "again: *n\n"
                                        "list: [*n, *b]\n");
    json_t *root = pm_config_root(cfg);
    json_t *base = json_object_get(root, "base");
    cr_assert_eq(json_integer_value(json_object_get(base, "x")), 1);
    cr_assert(json_equal(json_object_get(root, "copy"), base));
    cr_assert_str_eq(json_string_value(json_object_get(root, "again")), "hello");
    json_t *list = json_object_get(root, "list");
    cr_assert_eq(json_array_size(list), 2);
    cr_assert_str_eq(json_string_value(json_array_get(list, 0)), "hello");
    cr_assert(json_equal(json_array_get(list, 1), base));
    pm_config_free(cfg);
}

Test(config, alias_to_unknown_anchor_is_an_error)
{
    pm_err err = {{0}};
    const char *text = "a: 1\nb: *nowhere\n";
    cr_assert_null(pm_config_parse("al.yaml", text, strlen(text), &err));
    cr_assert_eq(strncmp(err.msg, "al.yaml:2:", 10), 0, "%s", err.msg);
}

Test(config, recursive_alias_is_an_error_with_a_message)
{
    parse_fails("rec.yaml", "a: &x [1, *x]\n", "rec.yaml:1:");
    parse_fails("rec2.yaml", "a: &x\n  b: *x\n", "rec2.yaml:2:");
    parse_fails("rec3.yaml", "a: &x\n  b: [{c: *x}]\n", "rec3.yaml:2:");
    pm_err err = {{0}};
    const char *text = "a: &x [1, *x]\n";
    cr_assert_null(pm_config_parse("rec.yaml", text, strlen(text), &err));
    cr_assert_not_null(strstr(err.msg, "recursive"), "%s", err.msg);
}

/* ---- positions for later checks --------------------------------------------------- */

Test(config, error_at_reports_the_value_position)
{
    pm_config *cfg = parse_ok("suite.yaml", "targets:\n"
                                            "  - name: python\n"
                                            "    url: \"not a url\"\n"
                                            "    role: baseline\n"
                                            "  - {name: go, url: x, role: candidate}\n");
    json_t *root = pm_config_root(cfg);
    json_t *t0 = json_array_get(json_object_get(root, "targets"), 0);
    json_t *url = json_object_get(t0, "url");
    pm_err err = {{0}};
    cr_assert_eq(pm_config_error_at(cfg, url, &err, "targets[%d].url: not a URL", 0), -1);
    cr_assert_str_eq(err.msg, "suite.yaml:3:10: targets[0].url: not a URL");

    json_t *role = json_object_get(t0, "role");
    pm_config_error_at(cfg, role, &err, "bad role");
    cr_assert_str_eq(err.msg, "suite.yaml:4:11: bad role");

    json_t *t1 = json_array_get(json_object_get(root, "targets"), 1);
    pm_config_error_at(cfg, json_object_get(t1, "url"), &err, "bad");
    cr_assert_str_eq(err.msg, "suite.yaml:5:21: bad");

    /* A container reports where it starts. */
    pm_config_error_at(cfg, t1, &err, "bad target");
    cr_assert_str_eq(err.msg, "suite.yaml:5:5: bad target");

    /* A value not from the file has no position. */
    json_t *stranger = json_string("x");
    pm_config_error_at(cfg, stranger, &err, "stranger");
    cr_assert_str_eq(err.msg, "suite.yaml: stranger");
    json_decref(stranger);
    pm_config_free(cfg);
}

Test(config, error_at_never_gives_a_wrong_position_for_shared_constants)
{
    /* true/false/null are shared jansson values: one position cannot serve them all. */
    pm_config *cfg = parse_ok("b.yaml", "a:\n"
                                        "  sandbox: true\n"
                                        "b:\n"
                                        "  sandbox: true\n");
    json_t *root = pm_config_root(cfg);
    json_t *first = json_object_get(json_object_get(root, "a"), "sandbox");
    pm_err err = {{0}};
    pm_config_error_at(cfg, first, &err, "not here");
    cr_assert(strcmp(err.msg, "b.yaml:2:12: not here") == 0 || strcmp(err.msg, "b.yaml: not here") == 0,
              "%s", err.msg);
    pm_config_free(cfg);
}

Test(config, error_at_on_json_has_no_position)
{
    pm_config *cfg = parse_ok("name.json", "{\"a\": {\"b\": [1, 2, \"deep\"]}}");
    json_t *deep = json_array_get(json_object_get(json_object_get(pm_config_root(cfg), "a"), "b"), 2);
    pm_err err = {{0}};
    cr_assert_eq(pm_config_error_at(cfg, deep, &err, "bad %s", "value"), -1);
    cr_assert_str_eq(err.msg, "name.json: bad value");
    pm_config_free(cfg);
}

/* ---- files ------------------------------------------------------------------------ */

Test(config, load_missing_file_names_the_path)
{
    pm_err err = {{0}};
    const char *path = "/tmp/pm-no-such-dir-config/suite.yaml";
    cr_assert_null(pm_config_load(path, &err));
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
}

Test(config, load_from_file)
{
    char dir[] = "/tmp/pm-config-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/suite.yml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("profile: config/quay\ntargets:\n  - {name: python, role: baseline}\n  - bad: [\n", f);
    fclose(f);
    pm_err err = {{0}};
    cr_assert_null(pm_config_load(path, &err));
    char prefix[320];
    snprintf(prefix, sizeof prefix, "%s:", path);
    cr_assert_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);

    f = fopen(path, "w");
    fputs("profile: config/quay\ntargets:\n  - {name: python, role: baseline}\n", f);
    fclose(f);
    pm_config *cfg = pm_config_load(path, &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    cr_assert_str_eq(pm_config_path(cfg), path);
    cr_assert_str_eq(json_string_value(json_object_get(pm_config_root(cfg), "profile")), "config/quay");
    json_t *targets = json_object_get(pm_config_root(cfg), "targets");
    pm_config_error_at(cfg, json_array_get(targets, 0), &err, "x");
    char want[340];
    snprintf(want, sizeof want, "%s:3:5: x", path);
    cr_assert_str_eq(err.msg, want);
    pm_config_free(cfg);
    unlink(path);
    rmdir(dir);
}

/* ---- nesting depth ---------------------------------------------------------------- */

#define DEEP_HEAD "name: deep\nnote: generated\nvalue:"

/* head + open x depth + middle + close x depth: a new string. */
static char *nested_text(const char *head, const char *open, const char *middle, const char *close, size_t depth)
{
    size_t size = strlen(head) + depth * (strlen(open) + strlen(close)) + strlen(middle) + 2;
    char *text = malloc(size), *p = text;
    cr_assert_not_null(text);
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "%s", open);
    p += sprintf(p, "%s", middle);
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "%s", close);
    sprintf(p, "\n");
    return text;
}

/* Loads text from a file named name in a fresh directory; NULL with err filled, or the config. */
static pm_config *load_text(const char *name, const char *text, char *path, size_t size, pm_err *err)
{
    char dir[] = "/tmp/pm-config-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    pm_config *cfg = pm_config_load(path, err);
    unlink(path);
    rmdir(dir);
    return cfg;
}

/* A 100 000-deep YAML file (flow sequences, flow mappings, compact block sequences) is
 * rejected at the first level past PM_CONFIG_MAX_DEPTH, naming file:line:column, without
 * reading on (it once took 32 s; the time is bench material, not asserted here). */
Test(config, yaml_nested_100000_deep_is_rejected_at_the_depth_cap)
{
    static const struct {
        const char *head, *open, *middle, *close;
        unsigned line, column; /* of the container that is one level too deep */
    } shapes[] = {
        {DEEP_HEAD " ", "[", "", "]", 3, 7 + PM_CONFIG_MAX_DEPTH},
        {DEEP_HEAD " ", "{a: ", "1", "}", 3, 7 + 4 * (PM_CONFIG_MAX_DEPTH - 1) + 1},
        {DEEP_HEAD "\n", "- ", "x", "", 4, 1 + 2 * (PM_CONFIG_MAX_DEPTH - 1)},
    };
    cr_assert_eq(PM_CONFIG_MAX_DEPTH, 512);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        char *text = nested_text(shapes[i].head, shapes[i].open, shapes[i].middle, shapes[i].close, 100000);
        char path[300];
        pm_err err = {{0}};
        pm_config *cfg = load_text("deep.yaml", text, path, sizeof path, &err);
        free(text);
        pm_config_free(cfg);
        cr_assert_null(cfg, "shape %zu: a 100 000-deep file was accepted", i);
        cr_expect(has_position(err.msg, path, shapes[i].line, shapes[i].column), "shape %zu: want %s:%u:%u: ..., got %s",
                  i, path, shapes[i].line, shapes[i].column, err.msg);
        cr_expect_not_null(strstr(err.msg, "nested deeper than 512 levels"), "shape %zu: %s", i, err.msg);
    }
}

Test(config, yaml_nested_to_the_depth_cap_is_accepted)
{
    /* the root mapping is level 1: 511 more levels reach the cap exactly */
    char *text = nested_text(DEEP_HEAD " ", "[", "", "]", PM_CONFIG_MAX_DEPTH - 1);
    pm_config *cfg = parse_ok("cap.yaml", text);
    pm_config_free(cfg);
    free(text);
    text = nested_text(DEEP_HEAD " ", "[", "", "]", PM_CONFIG_MAX_DEPTH);
    parse_fails("cap.yaml", text, "cap.yaml:3:519: ");
    free(text);
}

/* JSON has jansson's own cap (JSON_PARSER_MAX_DEPTH, 2048): a deep file is an error naming
 * file:line:column, not a stack overflow. */
Test(config, json_nested_100000_deep_is_rejected)
{
    char *text = malloc(200001);
    cr_assert_not_null(text);
    memset(text, '[', 100000);
    memset(text + 100000, ']', 100000);
    text[200000] = '\0';
    char path[300];
    pm_err err = {{0}};
    pm_config *cfg = load_text("deep.json", text, path, sizeof path, &err);
    free(text);
    cr_assert_null(cfg);
    char prefix[320];
    snprintf(prefix, sizeof prefix, "%s:1:", path);
    cr_expect_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "maximum parsing depth"), "%s", err.msg);
}
