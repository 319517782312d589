/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_classify.c — `pmirror classify METHOD TARGET [-H 'Name: value']...`: what the
 * capability map makes of one request (family, capability, switches, mutating, cohort).
 * With --stdin it classifies "METHOD TARGET" lines, one JSON object per line, which is
 * how the classifier is benchmarked and how a log can be sorted into families.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *headers_from_args(const cli_list *hs, int *bad)
{
    json_t *headers = json_array();
    *bad = -1;
    for (size_t i = 0; i < hs->n; i++) {
        const char *colon = strchr(hs->items[i], ':');
        if (!colon || colon == hs->items[i]) {
            *bad = (int)i;
            break;
        }
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        json_array_append_new(headers, json_pack("[s#,s]", hs->items[i],
                                                 (int)(colon - hs->items[i]), value));
    }
    return headers;
}

static int print_class(const pm_capmap *map, const char *method, const char *target,
                       const json_t *headers, size_t flags)
{
    pm_class c;
    pm_classify(map, method, target, headers, &c);
    json_t *out = pm_class_to_json(&c);
    pm_class_clear(&c);
    int rc = json_dumpf(out, stdout, flags | JSON_PRESERVE_ORDER);
    json_decref(out);
    fputc('\n', stdout);
    return rc;
}

static int classify_lines(const pm_capmap *map, const json_t *headers)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *sp = strchr(line, ' ');
        if (!sp) {
            free(line);
            return cli_fail("classify", "stdin:%lu: expected 'METHOD TARGET'", lineno);
        }
        *sp = '\0';
        print_class(map, line, sp + 1, headers, JSON_COMPACT);
    }
    free(line);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("classify", "cannot write to stdout");
    return CLI_OK;
}

int cmd_classify(int argc, char **argv)
{
    cli_list hs = {0};
    const char *map_path = NULL, *profile = NULL;
    bool from_stdin = false, compact = false;
    const cli_opt opts[] = {
        CLI_OPT_LIST('H', "header", &hs, "'NAME: VALUE'", "a request header (Authorization gives the user)"),
        CLI_OPT_STRING(0, "map", &map_path, "FILE", "capability map (default: PROFILE/capabilities.yaml)"),
        CLI_OPT_STRING(0, "profile", &profile, "DIR", "profile directory (default: config/quay)"),
        CLI_OPT_FLAG(0, "stdin", &from_stdin, "classify 'METHOD TARGET' lines from stdin, JSONL out"),
        CLI_OPT_FLAG(0, "compact", &compact, "one line of JSON (the default when not a terminal)"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "classify", "METHOD TARGET [-H 'Name: value']...  |  --stdin",
        "Prints what the capability map makes of a request: family, capability, switch\n"
        "(family owner switch), cap_switch, route_id, route_switch, mutating, and the\n"
        "cohort (org, repo, user). Unmatched requests are family UNKNOWN.",
        "example:\n  pmirror classify GET /v2/acme/app/manifests/latest -H 'Authorization: Basic YWxpY2U6cHc='",
        opts, 0, 2};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&hs);
        return rc < 0 ? CLI_OK : rc;
    }
    if (!from_stdin && args.n != 2) {
        cli_list_free(&hs);
        cli_list_free(&args);
        return cli_fail("classify", "needs METHOD and TARGET (or --stdin); see pmirror classify --help");
    }
    pm_err err;
    pm_profile *prof = pm_profile_find(profile, &err);
    pm_capmap *map = prof ? pm_capmap_load(map_path ? map_path : prof->capabilities.where, &err) : NULL;
    pm_profile_free(prof);
    int bad;
    json_t *headers = headers_from_args(&hs, &bad);
    if (!map) {
        rc = cli_fail("classify", "%s", err.msg);
    } else if (bad >= 0) {
        rc = cli_fail("classify", "-H '%s': expected 'Name: value'", hs.items[bad]);
    } else if (from_stdin) {
        rc = classify_lines(map, headers);
    } else {
        size_t flags = compact || !isatty(STDOUT_FILENO) ? JSON_COMPACT : JSON_INDENT(2);
        rc = print_class(map, args.items[0], args.items[1], headers, flags) == 0 ? CLI_OK
                                                                                 : cli_fail("classify", "cannot write to stdout");
    }
    json_decref(headers);
    pm_capmap_free(map);
    cli_list_free(&hs);
    cli_list_free(&args);
    return rc;
}
