/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c — libFuzzer target for config loading (core/config.c) and what is built
 * from a loaded tree: the capability map (core/capmap.c, then the classifier on a fixed
 * set of requests) and the suite (core/suite.c).
 *
 * Input: a flags byte (bit 0: the document is named *.json, else *.yaml), then the text.
 * Config files are written by people, so the verdict is "no crash, no leak, no UB, and
 * every failure is one message naming the file": a parse error starts with "NAME:"; a
 * position given for any value or key of the tree (pm_config_error_at, ..._key_error_at)
 * is a line and column inside the text; a map that loads classifies every request into a
 * family with a capability and a cohort; a suite that loads has at least one target, each
 * named once, with an http(s) URL unless it is the recorded pseudo-target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_config.XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The message is "NAME: what" or "NAME:LINE:COL: what", with LINE inside the text. */
static void check_message(const char *msg, const char *name, const char *what, size_t lines)
{
    size_t n = strlen(name);
    if (!starts_with(msg, name) || msg[n] != ':')
        abort();
    const char *rest = msg + n + 1;
    unsigned line, col;
    int used = 0;
    if (sscanf(rest, "%u:%u:%n", &line, &col, &used) == 2 && used > 0) {
        if (line < 1 || line > lines + 1 || col < 1)
            abort();
        rest += used;
    }
    if (what && strcmp(rest, what) != 0)
        abort();
}

/* Asks for the position of every value and key; aliases make the tree a DAG that can be
 * exponentially large when walked, so the walk has a budget. */
static void walk(const pm_config *cfg, const json_t *v, const char *name, size_t lines, size_t *budget)
{
    if (*budget == 0)
        return;
    (*budget)--;
    pm_err err;
    pm_config_error_at(cfg, v, &err, "%s", "x");
    check_message(err.msg, name, " x", lines);
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child) {
            pm_config_key_error_at(cfg, v, key, &err, "%s", "k");
            check_message(err.msg, name, " k", lines);
            walk(cfg, child, name, lines, budget);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) walk(cfg, child, name, lines, budget);
    }
}

static void try_capmap(pm_config *cfg)
{
    static const char *const requests[][2] = {
        {"GET", "/v2/"},
        {"GET", "/v2/acme/app/manifests/latest"},
        {"HEAD", "/v2/acme/app/blobs/sha256:0123abcd"},
        {"POST", "/v2/acme/app/blobs/uploads/"},
        {"GET", "/v2/auth?service=quay&scope=repository:acme/app:push,pull"},
        {"GET", "/api/v1/repository/acme/app?includeTags=true"},
        {"DELETE", "/api/v1/organization/acme/robots/bot"},
        {"GET", "http://quay.example.test/v1/_ping"},
        {"OPTIONS", "*"},
        {"GET", ""},
    };
    pm_err err;
    pm_capmap *map = pm_capmap_from_config(cfg, &err);
    if (!map) {
        check_message(err.msg, pm_config_path(cfg), NULL, SIZE_MAX / 2);
        pm_config_free(cfg);
        return;
    }
    json_t *headers = json_pack("[[s,s]]", "Authorization", "Basic YWxpY2U6c2VjcmV0");
    for (size_t i = 0; i < sizeof requests / sizeof *requests; i++) {
        pm_class c;
        pm_classify(map, requests[i][0], requests[i][1], i & 1 ? headers : NULL, &c);
        if (!c.family || !c.capability)
            abort();
        json_decref(pm_class_to_json(&c));
        pm_class_clear(&c);
    }
    json_decref(headers);
    pm_capmap_free(map); /* frees cfg too */
}

static void try_suite(const uint8_t *text, size_t len, bool json)
{
    char path[64];
    snprintf(path, sizeof path, "%s/suite.%s", dir, json ? "json" : "yaml");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        abort();
    pm_err err;
    pm_suite *s = pm_suite_load(path, "/nonexistent/profile", &err);
    if (!s) {
        check_message(err.msg, path, NULL, SIZE_MAX / 2);
        return;
    }
    if (s->ntargets == 0 || !s->profile_dir)
        abort();
    for (size_t i = 0; i < s->ntargets; i++) {
        const pm_target *t = &s->targets[i];
        if (!t->name || (!t->recorded && (!t->url || !(starts_with(t->url, "http://") || starts_with(t->url, "https://")))))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->targets[j].name, t->name) == 0)
                abort();
    }
    pm_suite_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 128 * 1024)
        return 0;
    bool json = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const char *name = json ? "fuzz.json" : "fuzz.yaml";
    size_t lines = 1; /* at most: libyaml also breaks lines at U+0085, U+2028 and U+2029 */
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n' || text[i] == '\r' || (uint8_t)text[i] == 0x85 || (uint8_t)text[i] == 0xa8 ||
                 (uint8_t)text[i] == 0xa9;
    pm_err err;
    pm_config *cfg = pm_config_parse(name, text, len, &err);
    if (!cfg) {
        check_message(err.msg, name, NULL, lines);
    } else {
        size_t budget = 20000;
        walk(cfg, pm_config_root(cfg), name, lines, &budget);
        try_capmap(cfg);
    }
    try_suite(data + 1, len, json);
    return 0;
}
