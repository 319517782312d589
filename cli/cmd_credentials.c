/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_credentials.c — `pmirror credentials -i CAPTURE`: which `redacted:` tokens a capture
 * holds and where (core/redact_inventory.c), and the `credentials:` skeleton a suite's
 * targets need, so mapping each token back to its real value is not guesswork. The whole
 * output is YAML: the listing as comments, then the skeleton, each value a placeholder with a
 * comment saying where the token was seen. Only tokens that requests carry go in the
 * skeleton (replay sends those; a token only in answers was issued, not sent).
 */
#include "cli.h"

#include <string.h>

#define PLACEHOLDER "FILL-IN"

/* "request header Authorization ×3, request query access_token ×1" into buf. */
static void places_text(const json_t *entry, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *where;
    const json_t *n;
    json_object_foreach(json_object_get(entry, "places"), where, n) {
        int w = snprintf(buf + used, size - used, "%s%s ×%lld", used ? ", " : "", where,
                         (long long)json_integer_value(n));
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

/* "GET /v2/acme/app/manifests/latest (record x1)" into buf. */
static void first_text(const json_t *entry, char *buf, size_t size)
{
    const json_t *first = json_object_get(entry, "first");
    const char *method = json_string_value(json_object_get(first, "method"));
    const char *path = json_string_value(json_object_get(first, "path"));
    const char *id = json_string_value(json_object_get(first, "id"));
    snprintf(buf, size, "%s %s (record %s)", method ? method : "?", path ? path : "?", id ? id : "?");
}

/* A comment's text on one line: no line breaks from a header name or a path. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

static void print_yaml(const pm_redacted_inventory *inv, const cli_list *inputs, FILE *out)
{
    const json_t *tokens = pm_redacted_inventory_json(inv);
    size_t sent = 0;
    const char *token;
    const json_t *entry;
    json_object_foreach((json_t *)tokens, token, entry)
        sent += json_is_true(json_object_get(entry, "in_request"));
    fprintf(out, "# pmirror credentials: %zu redacted values in %zu records of", json_object_size(tokens),
            pm_redacted_inventory_records(inv));
    for (size_t i = 0; i < inputs->n; i++)
        fprintf(out, " %s", inputs->items[i]);
    fprintf(out, "; %zu of them sent in requests\n", sent);
    char places[2048], first[1024];
    json_object_foreach((json_t *)tokens, token, entry) {
        places_text(entry, places, sizeof places);
        first_text(entry, first, sizeof first);
        one_line(places);
        one_line(first);
        fprintf(out, "#\n# %s  %lld×  %s\n#   first: %s%s\n", token,
                (long long)json_integer_value(json_object_get(entry, "count")), places, first,
                json_is_true(json_object_get(entry, "in_request")) ? "" : "\n#   only in answers: nothing to map");
    }
    fputs("#\n# Under each target of the suite: replace each " PLACEHOLDER " by the real value that target\n"
          "# should receive where the capture shows the token (replay sends it in its place).\n",
          out);
    if (sent == 0) {
        fputs("credentials: {}\n", out);
        return;
    }
    fputs("credentials:\n", out);
    json_object_foreach((json_t *)tokens, token, entry) {
        if (!json_is_true(json_object_get(entry, "in_request")))
            continue;
        places_text(entry, places, sizeof places);
        first_text(entry, first, sizeof first);
        one_line(places);
        one_line(first);
        fprintf(out, "  \"%s\": \"" PLACEHOLDER "\"   # %s; first %s\n", token, places, first);
    }
}

static void print_json(const pm_redacted_inventory *inv, FILE *out)
{
    const char *token;
    const json_t *entry;
    json_object_foreach((json_t *)pm_redacted_inventory_json(inv), token, entry) {
        json_t *line = json_pack("{s:s}", "token", token);
        json_object_update(line, (json_t *)entry);
        json_dumpf(line, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(line);
    }
}

/* Every record of path into inv. CLI_OK, or the failure naming path (and line). */
static int read_input(pm_redacted_inventory *inv, const char *path)
{
    pm_err err;
    pm_jsonl_reader *in = pm_jsonl_reader_open(path, &err);
    if (!in)
        return cli_fail("credentials", "%s", err.msg);
    int rc = CLI_OK, got;
    json_t *rec;
    while ((got = pm_jsonl_reader_next(in, &rec, &err)) == 1) {
        int arc = pm_redacted_inventory_add(inv, rec, &err);
        json_decref(rec);
        if (arc != 0) {
            rc = cli_fail("credentials", "%s:%llu: %s", path, (unsigned long long)pm_jsonl_reader_line(in), err.msg);
            break;
        }
    }
    if (got < 0)
        rc = cli_fail("credentials", "%s", err.msg);
    else if (rc == CLI_OK && pm_jsonl_reader_warning(in))
        fprintf(stderr, "pmirror credentials: warning: %s\n", pm_jsonl_reader_warning(in));
    pm_jsonl_reader_close(in);
    return rc;
}

int cmd_credentials(int argc, char **argv)
{
    cli_list inputs = {0};
    bool as_json = false;
    const cli_opt opts[] = {
        CLI_OPT_LIST('i', "input", &inputs, "CAPTURE", "capture or result file (.gz or plain, - = stdin); repeatable"),
        CLI_OPT_FLAG(0, "json", &as_json, "one JSON object per token instead of the YAML"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "credentials", "-i CAPTURE [-i CAPTURE]... [--json]",
        "Lists each distinct redacted: token of a capture with where it occurs (request or\n"
        "response header, cookie, query parameter, JSON or form field, path), how often, and\n"
        "the first exchange's method and path; then prints the `credentials:` skeleton a\n"
        "suite's targets need: each token a request carries, with the placeholder " PLACEHOLDER ".",
        "stdout: YAML (the listing as comments, then the skeleton); --json: one object per\n"
        "token ({token, count, in_request, first: {id, method, path}, places: {WHERE: N}}).\n"
        "Exit codes: 0 listed, 2 bad arguments or a line that is not a capture or result\n"
        "record (the message names file:line).",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK) {
        cli_list_free(&inputs);
        return rc < 0 ? CLI_OK : rc;
    }
    cli_list_free(&args);
    if (inputs.n == 0) {
        cli_list_free(&inputs);
        return cli_fail("credentials", "-i CAPTURE is required");
    }
    pm_redacted_inventory *inv = pm_redacted_inventory_new();
    rc = inv ? CLI_OK : cli_fail("credentials", "out of memory");
    for (size_t i = 0; rc == CLI_OK && i < inputs.n; i++)
        rc = read_input(inv, inputs.items[i]);
    if (rc == CLI_OK) {
        if (as_json)
            print_json(inv, stdout);
        else
            print_yaml(inv, &inputs, stdout);
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = cli_fail("credentials", "stdout: cannot write");
    }
    pm_redacted_inventory_free(inv);
    cli_list_free(&inputs);
    return rc;
}
