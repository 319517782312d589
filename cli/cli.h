/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h — the command layer: one entry point per subcommand (cmd_*.c) and the option
 * parser they share. Options are declared as a table per command, so `--help` is
 * generated from exactly what is parsed and cannot drift from it.
 *
 * Exit codes (DESIGN.md): 0 success, 1 a gate failed (gate, run), 2 usage or input error
 * with one line on stderr naming the file, line or field at fault.
 */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/core.h"
#include "reports/reports.h"

enum { CLI_OK = 0, CLI_GATE_FAILED = 1, CLI_USAGE = 2 };
/* What a command returns when standard output's reader has gone (`| head`): not an exit
 * status, main turns it into 0 (cli_fail returns it; stdout_closed.c). */
enum { CLI_STDOUT_CLOSED = 141 };

typedef struct {
    const char **items; /* point into argv */
    size_t n;
} cli_list;

/* What an option takes. The typed kinds parse and check their value in the parser, and
 * --help names the kind and its bounds from the same entry, so a command never checks a
 * number, a size or a word by hand. */
typedef enum {
    CLI_FLAG,   /* bool */
    CLI_STRING, /* const char *, pointing into argv */
    CLI_LIST,   /* cli_list: a repeatable CLI_STRING */
    CLI_INT,    /* long: a whole number from min to max */
    CLI_INTS,   /* cli_ints: a repeatable CLI_INT */
    CLI_NUMBER, /* double: a decimal number from min to max (NaN and inf refused) */
    CLI_SIZE,   /* uint64_t: bytes, or with a K, M or G suffix (powers of 1024), min to max */
    CLI_ENUM,   /* const char *: one of values, pointing at the table's own word */
    CLI_SHARD,  /* cli_shard: K/N with 1 <= K <= N */
} cli_opt_kind;

typedef struct {
    long *items;
    size_t n;
} cli_ints;

typedef struct {
    unsigned k, n; /* n 0: not given */
} cli_shard;

#define CLI_NO_MAX 1e300 /* a bound no value reaches: "min or more" */

typedef struct {
    char short_name; /* 0 when none */
    const char *long_name;
    cli_opt_kind kind;
    void *dest; /* as the kind says */
    const char *arg; /* CLI_STRING, CLI_LIST: the value's name in --help (typed kinds name theirs) */
    const char *help;
    double min, max;           /* CLI_INT, CLI_INTS, CLI_NUMBER, CLI_SIZE: inclusive bounds */
    const char *const *values; /* CLI_ENUM: the words, NULL-terminated */
} cli_opt;

/* One entry of a command's table (git's OPT_* macros): S is the short name or 0, L the
 * long name, V the destination. A table ends with CLI_OPT_END. */
#define CLI_OPT_FLAG(S, L, V, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_FLAG, .dest = (V), .help = (HELP)}
#define CLI_OPT_STRING(S, L, V, ARG, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_STRING, .dest = (V), .arg = (ARG), .help = (HELP)}
#define CLI_OPT_LIST(S, L, V, ARG, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_LIST, .dest = (V), .arg = (ARG), .help = (HELP)}
#define CLI_OPT_INT(S, L, V, MIN, MAX, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_INT, .dest = (V), .help = (HELP), .min = (MIN), .max = (MAX)}
#define CLI_OPT_INTS(S, L, V, MIN, MAX, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_INTS, .dest = (V), .help = (HELP), .min = (MIN), .max = (MAX)}
#define CLI_OPT_NUMBER(S, L, V, MIN, MAX, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_NUMBER, .dest = (V), .help = (HELP), .min = (MIN), .max = (MAX)}
#define CLI_OPT_SIZE(S, L, V, MIN, MAX, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_SIZE, .dest = (V), .help = (HELP), .min = (MIN), .max = (MAX)}
#define CLI_OPT_ENUM(S, L, V, VALUES, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_ENUM, .dest = (V), .help = (HELP), .values = (VALUES)}
#define CLI_OPT_SHARD(S, L, V, HELP) \
    {.short_name = (S), .long_name = (L), .kind = CLI_SHARD, .dest = (V), .help = (HELP)}
#define CLI_OPT_END {.long_name = NULL}

/* The words of every --progress: never, always, or auto (when stderr is a terminal). */
extern const char *const cli_when_values[];

typedef struct {
    const char *name;
    const char *usage;   /* after "pmirror NAME " */
    const char *summary; /* one line */
    const char *details; /* optional paragraphs after the options */
    const cli_opt *opts; /* terminated by an entry with long_name NULL */
    int min_args, max_args; /* positional arguments; max -1 = any */
} cli_command;

/* Parses argv (argv[0] is the subcommand name). Returns CLI_OK with the positional
 * arguments in *args, -1 after printing --help (the caller exits 0), or CLI_USAGE after
 * printing one error line. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_list *args);
void cli_help(const cli_command *cmd, FILE *out);

/* ----- pmirror.1, made from the same tables (`pmirror --man`, run by CMake; man.c) ----- */

/* What cli_help prints: --help's text, or the command's line of the page's SYNOPSIS, or
 * its section of the page (roff). Set once, by --man, before it asks each command. */
typedef enum { CLI_HELP_TEXT, CLI_HELP_ROFF_SYNOPSIS, CLI_HELP_ROFF } cli_help_style;
void cli_help_set_style(cli_help_style style);
/* text as roff: backslashes and dashes escaped, a line that would start with a control
 * character guarded. paragraphs: a blank line starts a new paragraph and a line indented
 * in the text (an example) is kept on its own line; else the text is one run of words.
 * Ends with a newline unless !paragraphs. */
void cli_roff_text(FILE *out, const char *text, bool paragraphs);
/* The page: SECTIONs around each command's help. date: the page's date (YYYY-MM-DD; NULL:
 * today's); help(style) prints every command's help in the style. */
typedef struct {
    const char *name, *summary;
} cli_man_command;
int cli_man(const char *date, const cli_man_command *commands, size_t n, void (*help)(void));
/* "pmirror NAME: message" on stderr; returns CLI_USAGE. When the failure is a write to a
 * standard output whose reader has gone (cli_stdout_closed), prints nothing and returns
 * CLI_STDOUT_CLOSED: the command stops, and ends with status 0. */
int cli_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg (a failure's message) is a write to standard output, or a stdio write to it failed,
 * and its reader (a pipe's, a socket's) has gone. (stdout_closed.c) */
bool cli_stdout_closed(const char *msg);
void cli_list_free(cli_list *l);
void cli_ints_free(cli_ints *l);
/* "16M", "64k", "1G", "16MiB", "65536" -> bytes (K, M, G are powers of 1024); -1 when not
 * a size or past what 64 bits hold. */
long long cli_parse_size(const char *s);
/* Writes the port to path through a temporary file renamed into place, so a script
 * polling for the file never reads it half written. CLI_OK, or CLI_USAGE after one error
 * line naming the file. (port_file.c) */
int cli_write_port_file(const char *cmd, const char *path, unsigned port);
/* "pmirror CMD: warning: TLS not verified for target A, B (insecure: true) ..." on stderr,
 * once; nothing when names (pm_suite_insecure_targets) is empty (insecure.c). */
void cli_warn_insecure(const char *cmd, const json_t *names);

/* ----- cmd_capture_queue.c: `capture --queue`, the options cmd_capture.c parsed for it ----- */

typedef struct cli_capture_queue_args {
    const char *dsn, *out, *key, *profile, *workers_path, *stats_path, *mode;
    const char *producer; /* --producer NAME, or NULL */
    const cli_list *queue_names;
    double duration, outcome_wait_s;
    long poll_ms;
    bool no_redact, quiet;
    bool wire_options; /* an option of the wire capture was given too */
} cli_capture_queue_args;
int cli_capture_queue(const cli_capture_queue_args *a);

int cmd_capture(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_profile_init(int argc, char **argv);
int cmd_profile_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tee(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_credentials(int argc, char **argv);

#endif
