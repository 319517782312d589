/*
 * options.c — the one option parser every subcommand uses (after git's parse-options):
 * a command declares its options as a table; parsing, error messages and --help all
 * come from that table. Accepts --name VALUE, --name=VALUE, -x VALUE, -xVALUE, and "--"
 * to end options.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pmirror %s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}

void cli_list_free(cli_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int list_push(cli_list *l, const char *s)
{
    const char **p = realloc(l->items, (l->n + 1) * sizeof *p);
    if (!p)
        return -1;
    l->items = p;
    l->items[l->n++] = s;
    return 0;
}

void cli_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: pmirror %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->opts && cmd->opts[0].long_name)
        fprintf(out, "\noptions:\n");
    for (const cli_opt *o = cmd->opts; o && o->long_name; o++) {
        char left[96];
        int n = o->short_name ? snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->long_name)
                              : snprintf(left, sizeof left, "      --%s", o->long_name);
        if (o->kind != CLI_FLAG && n > 0 && (size_t)n < sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg ? o->arg : "VALUE");
        fprintf(out, "%-30s %s%s\n", left, o->help, o->kind == CLI_LIST ? " (repeatable)" : "");
    }
    fprintf(out, "%-30s %s\n", "  -h, --help", "show this help and exit");
    if (cmd->details)
        fprintf(out, "\n%s\n", cmd->details);
}

static const cli_opt *find_long(const cli_command *cmd, const char *name, size_t len)
{
    for (const cli_opt *o = cmd->opts; o && o->long_name; o++)
        if (strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
            return o;
    return NULL;
}

static const cli_opt *find_short(const cli_command *cmd, char c)
{
    for (const cli_opt *o = cmd->opts; o && o->long_name; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

static int store(const cli_command *cmd, const cli_opt *o, const char *value)
{
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->dest = true;
        return 0;
    case CLI_STRING:
        *(const char **)o->dest = value;
        return 0;
    case CLI_LIST:
        return list_push(o->dest, value) == 0 ? 0 : cli_fail(cmd->name, "out of memory");
    case CLI_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || !end || *end || end == value)
            return cli_fail(cmd->name, "--%s: '%s' is not a whole number", o->long_name, value);
        *(long *)o->dest = v;
        return 0;
    }
    }
    return CLI_USAGE;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_list *args)
{
    args->items = NULL;
    args->n = 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (list_push(args, a) != 0)
                return cli_fail(cmd->name, "out of memory");
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_help(cmd, stdout);
            cli_list_free(args);
            return -1;
        }
        const cli_opt *o;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(cmd, a + 2, len);
            if (!o) {
                cli_list_free(args);
                return cli_fail(cmd->name, "unknown option '%.*s' (see pmirror %s --help)",
                                (int)len + 2, a, cmd->name);
            }
            if (eq) {
                if (o->kind == CLI_FLAG) {
                    cli_list_free(args);
                    return cli_fail(cmd->name, "--%s takes no value", o->long_name);
                }
                value = eq + 1;
            }
        } else {
            o = find_short(cmd, a[1]);
            if (!o) {
                cli_list_free(args);
                return cli_fail(cmd->name, "unknown option '-%c' (see pmirror %s --help)", a[1], cmd->name);
            }
            if (a[2]) {
                if (o->kind == CLI_FLAG) {
                    cli_list_free(args);
                    return cli_fail(cmd->name, "-%c takes no value", a[1]);
                }
                value = a + 2;
            }
        }
        if (o->kind != CLI_FLAG && !value) {
            if (i + 1 >= argc) {
                cli_list_free(args);
                return cli_fail(cmd->name, "--%s needs a value (%s)", o->long_name, o->arg ? o->arg : "VALUE");
            }
            value = argv[++i];
        }
        if (store(cmd, o, value) != 0) {
            cli_list_free(args);
            return CLI_USAGE;
        }
    }
    if ((int)args->n < cmd->min_args || (cmd->max_args >= 0 && (int)args->n > cmd->max_args)) {
        cli_list_free(args);
        fprintf(stderr, "pmirror %s: wrong number of arguments\nusage: pmirror %s %s\n", cmd->name,
                cmd->name, cmd->usage);
        return CLI_USAGE;
    }
    return CLI_OK;
}
