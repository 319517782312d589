/* SPDX-License-Identifier: Apache-2.0 */
/*
 * options.c — the one option parser every subcommand uses (after git's parse-options):
 * a command declares its options as a table; parsing, error messages and --help all
 * come from that table. Accepts --name VALUE, --name=VALUE, -x VALUE, -xVALUE, and "--"
 * to end options. Typed options (numbers with bounds, sizes, words from a set, shards)
 * are checked here, once: a bad value is one line naming the option and the value, and
 * --help prints each kind and its bounds from the entry the parser reads.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *name, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cli_stdout_closed(msg))
        return CLI_STDOUT_CLOSED; /* not an error: nobody reads any more (main exits 0) */
    fprintf(stderr, "pmirror %s: %s\n", name, msg);
    return CLI_USAGE;
}

void cli_list_free(cli_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void cli_ints_free(cli_ints *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

const char *const cli_when_values[] = {"never", "always", "auto", NULL};

long long cli_parse_size(const char *s)
{
    if (*s < '0' || *s > '9') /* strtoll would take a sign or spaces */
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    long long mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mult = 1024LL * 1024 * 1024, end++;
    if (mult > 1 && *end == 'i') /* KiB, MiB, GiB */
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v > INT64_MAX / mult)
        return -1;
    return v * mult;
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

/* The value's name in --help: typed kinds name their own. */
static const char *metavar(const cli_opt *o)
{
    switch (o->kind) {
    case CLI_INT:
    case CLI_INTS:
        return "N";
    case CLI_NUMBER:
        return "X";
    case CLI_SIZE:
        return "SIZE";
    case CLI_ENUM:
        return "WORD";
    case CLI_SHARD:
        return "K/N";
    default:
        return o->arg ? o->arg : "VALUE";
    }
}

/* "from 0 to 19", "1 or more": the bounds as the help and the errors say them. */
static void bounds_text(const cli_opt *o, char *buf, size_t size)
{
    const char *f = o->kind == CLI_NUMBER ? "%g" : "%.0f"; /* whole bounds in full: 10000000, not 1e+07 */
    /* lo and hi at most 39 bytes each: "from LO to HI" needs 88 bytes with its NUL (callers give 96) */
    char lo[40], hi[40];
    snprintf(lo, sizeof lo, f, o->min);
    snprintf(hi, sizeof hi, f, o->max);
    if (o->max >= CLI_NO_MAX)
        snprintf(buf, size, "%s or more", lo);
    else
        snprintf(buf, size, "from %s to %s", lo, hi);
}

/* What --help adds after an option's own words: its kind and bounds. */
static void kind_text(const cli_opt *o, char *buf, size_t size)
{
    char b[96]; /* "from " LO " to " HI, each at most 39 */
    bounds_text(o, b, sizeof b);
    buf[0] = 0;
    switch (o->kind) {
    case CLI_INT:
    case CLI_INTS:
        snprintf(buf, size, " [whole number %s]", b);
        break;
    case CLI_NUMBER:
        snprintf(buf, size, " [number %s]", b);
        break;
    case CLI_SIZE:
        snprintf(buf, size, " [bytes, or with K, M, G: 64K, 16M, 1G; %s]", b);
        break;
    case CLI_ENUM: {
        size_t n = (size_t)snprintf(buf, size, " [one of ");
        for (const char *const *v = o->values; *v && n < size; v++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", v == o->values ? "" : "|", *v);
        if (n < size)
            snprintf(buf + n, size - n, "]");
        break;
    }
    case CLI_SHARD:
        snprintf(buf, size, " [K/N with 1 <= K <= N]");
        break;
    default:
        break;
    }
}

/* How cli_help prints: --help's text unless `pmirror --man` asked for the page's roff. The
 * tables are each command's locals, reachable only through its --help; this is set once,
 * before any command runs. */
static cli_help_style help_style = CLI_HELP_TEXT;

void cli_help_set_style(cli_help_style style)
{
    help_style = style;
}

/* The command's entry in pmirror.1: its synopsis line, or its section (the same table,
 * words and bounds as the text below). */
static void help_roff(const cli_command *cmd, FILE *out)
{
    if (help_style == CLI_HELP_ROFF_SYNOPSIS) {
        fputs(".br\n\\fBpmirror ", out);
        cli_roff_text(out, cmd->name, false);
        fputs("\\fR\n", out);
        cli_roff_text(out, cmd->usage, true);
        return;
    }
    fputs(".SS \"pmirror ", out);
    cli_roff_text(out, cmd->name, false);
    fputs("\"\n\\fBpmirror ", out);
    cli_roff_text(out, cmd->name, false);
    fputs("\\fR\n", out);
    cli_roff_text(out, cmd->usage, true);
    fputs(".PP\n", out);
    cli_roff_text(out, cmd->summary, true);
    for (const cli_opt *o = cmd->opts; o && o->long_name; o++) {
        char kind[256];
        kind_text(o, kind, sizeof kind);
        fputs(".TP\n", out);
        if (o->short_name)
            fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", out);
        cli_roff_text(out, o->long_name, false);
        fputs("\\fR", out);
        if (o->kind != CLI_FLAG) {
            fputs(" \\fI", out);
            cli_roff_text(out, metavar(o), false);
            fputs("\\fR", out);
        }
        fputs("\n", out);
        char text[2048];
        snprintf(text, sizeof text, "%s%s%s", o->help, kind,
                 o->kind == CLI_LIST || o->kind == CLI_INTS ? " (repeatable)" : "");
        cli_roff_text(out, text, true);
    }
    if (cmd->details) {
        fputs(".PP\n", out);
        cli_roff_text(out, cmd->details, true);
    }
}

void cli_help(const cli_command *cmd, FILE *out)
{
    if (help_style != CLI_HELP_TEXT) {
        help_roff(cmd, out);
        return;
    }
    fprintf(out, "usage: pmirror %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->opts && cmd->opts[0].long_name)
        fprintf(out, "\noptions:\n");
    for (const cli_opt *o = cmd->opts; o && o->long_name; o++) {
        char left[96], kind[256];
        int n = o->short_name ? snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->long_name)
                              : snprintf(left, sizeof left, "      --%s", o->long_name);
        if (o->kind != CLI_FLAG && n > 0 && (size_t)n < sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", metavar(o));
        kind_text(o, kind, sizeof kind);
        fprintf(out, "%-30s %s%s%s\n", left, o->help, kind,
                o->kind == CLI_LIST || o->kind == CLI_INTS ? " (repeatable)" : "");
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

/* A whole number within the option's bounds into *v; else one error line. */
static int parse_int(const cli_command *cmd, const cli_opt *o, const char *value, long *v)
{
    char *end = NULL, b[96];
    errno = 0;
    *v = strtol(value, &end, 10);
    if (errno || end == value || *end || (double)*v < o->min || (double)*v > o->max) {
        bounds_text(o, b, sizeof b);
        return cli_fail(cmd->name, "--%s '%s': want a whole number %s", o->long_name, value, b);
    }
    return 0;
}

static int store(const cli_command *cmd, const cli_opt *o, const char *value)
{
    char b[256];
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->dest = true;
        return 0;
    case CLI_STRING:
        *(const char **)o->dest = value;
        return 0;
    case CLI_LIST:
        return list_push(o->dest, value) == 0 ? 0 : cli_fail(cmd->name, "out of memory");
    case CLI_INT:
        return parse_int(cmd, o, value, o->dest);
    case CLI_INTS: {
        long v;
        if (parse_int(cmd, o, value, &v) != 0)
            return CLI_USAGE;
        cli_ints *l = o->dest;
        long *p = realloc(l->items, (l->n + 1) * sizeof *p);
        if (!p)
            return cli_fail(cmd->name, "out of memory");
        l->items = p;
        l->items[l->n++] = v;
        return 0;
    }
    case CLI_NUMBER: {
        char *end = NULL;
        double v = strtod(value, &end);
        if (end == value || *end || !(v >= o->min && v <= o->max)) { /* NaN fails too */
            bounds_text(o, b, sizeof b);
            return cli_fail(cmd->name, "--%s '%s': want a number %s", o->long_name, value, b);
        }
        *(double *)o->dest = v;
        return 0;
    }
    case CLI_SIZE: {
        long long v = cli_parse_size(value);
        if (v < 0)
            return cli_fail(cmd->name, "--%s '%s': not a size (e.g. 65536, 64K, 16M, 1G)", o->long_name, value);
        if ((double)v < o->min || (double)v > o->max) {
            bounds_text(o, b, sizeof b);
            return cli_fail(cmd->name, "--%s '%s': want a size of %s bytes", o->long_name, value, b);
        }
        *(uint64_t *)o->dest = (uint64_t)v;
        return 0;
    }
    case CLI_ENUM:
        for (const char *const *v = o->values; *v; v++)
            if (strcmp(*v, value) == 0) {
                *(const char **)o->dest = *v;
                return 0;
            }
        kind_text(o, b, sizeof b); /* " [one of a|b|c]" */
        return cli_fail(cmd->name, "--%s '%s': want %.*s", o->long_name, value, (int)strlen(b) - 3, b + 2);
    case CLI_SHARD: {
        cli_shard *sh = o->dest;
        unsigned k = 0, n = 0;
        int used = 0;
        size_t digits = strspn(value, "0123456789"), digits_n = 0;
        if (value[digits] == '/')
            digits_n = strspn(value + digits + 1, "0123456789");
        if (digits == 0 || digits > 9 || digits_n == 0 || digits_n > 9 || /* no sign, no overflow */
            sscanf(value, "%u/%u%n", &k, &n, &used) != 2 || value[used] || n == 0 || k == 0 || k > n)
            return cli_fail(cmd->name, "--%s '%s': want K/N with 1 <= K <= N", o->long_name, value);
        sh->k = k;
        sh->n = n;
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
                return cli_fail(cmd->name, "--%s needs a value (%s)", o->long_name, metavar(o));
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
