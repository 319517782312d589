/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c — `pmirror SUBCOMMAND ...`: dispatches to cmd_*.c. The table lists every
 * subcommand with the one-line summary `pmirror --help` shows; an unknown name is one
 * error line and exit 2.
 */
#include "cli.h"

#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PMIRROR_VERSION
#define PMIRROR_VERSION "dev"
#endif
#ifndef PMIRROR_INSTALLED_PROFILE_REL
#define PMIRROR_INSTALLED_PROFILE_REL "../share/pmirror/profiles/quay"
#endif

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} subcommand;

static const subcommand subcommands[] = {
    {"capture", "wire -> capture file (libpcap, TCP reassembly, HTTP/1.x)", cmd_capture},
    {"tee", "live shadow traffic: inline proxy or mirror sink, diffed live", cmd_tee},
    {"replay", "capture -> results: every exchange to every target (--mixed: each flow split across two)", cmd_replay},
    {"diff", "results -> verdicts (normalized, noise learned)", cmd_diff},
    {"report", "verdicts -> report.json, report.md, junit.xml, report.html", cmd_report},
    {"gate", "exit 0 when every family in scope may be promoted, 1 otherwise; prints the switch proposal", cmd_gate},
    {"run", "replay + diff + report + gate in one streaming process", cmd_run},
    {"worker", "job records -> each worker target's sandbox queue -> job results", cmd_worker},
    {"serve", "a recorded backend: answers from recorded responses", cmd_serve},
    {"classify", "prints family, capability, switch, cohort as JSON", cmd_classify},
    {"profile", "init: a skeleton profile for another service; check: load it, list its routes", cmd_profile},
    {"cat", "prints any pmirror file as plain JSONL (gzip or not)", cmd_cat},
    {"credentials", "a capture's redacted: tokens, where they occur, and the suite's credentials: skeleton",
     cmd_credentials},
    {"import", "HAR 1.2 (devtools, proxies) -> capture file", cmd_import},
    {"export", "capture or result records -> HAR 1.2 for any HAR viewer", cmd_export},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmirror SUBCOMMAND [OPTIONS]\n\n"
            "pmirror %s — parity-testing shadow traffic mirror for Quay's Python -> Go rewrite.\n"
            "Captures or tees live requests, replays them against the Python and the Go\n"
            "backends, diffs the answers and gates each owner switch on parity.\n\n"
            "subcommands:\n",
            PMIRROR_VERSION);
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
        fprintf(out, "  %-11s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'pmirror SUBCOMMAND --help' describes one. Exit codes: 0 ok, 1 gate failed, "
                 "2 usage or input error.\n");
}

/* How each rule of core/profile.c found the profile, for --version. */
static const struct {
    const char *source, *how;
} profile_rules[] = {
    {"env", "$PMIRROR_PROFILE"},
    {"installed", "the installed layout beside the binary: BIN/" PMIRROR_INSTALLED_PROFILE_REL},
    {"build", "the build tree's beside the binary: BIN/../config/quay"},
    {"source", "the source tree's, compiled in"},
    {"default", "the installed path, compiled in"},
};

/* The version, and the profile a command run now would use and the rule that found it. */
static int version(void)
{
    pm_err err;
    pm_profile *p = pm_profile_find(NULL, &err);
    if (!p)
        return cli_fail("version", "%s", err.msg);
    char *real = realpath(p->dir, NULL);
    const char *how = p->source;
    for (size_t i = 0; i < sizeof profile_rules / sizeof *profile_rules; i++)
        if (strcmp(profile_rules[i].source, p->source) == 0)
            how = profile_rules[i].how;
    printf("pmirror %s\nprofile: %s\nfound by: %s (%s)\n", PMIRROR_VERSION, real ? real : p->dir, p->source, how);
    if (real && strcmp(real, p->dir) != 0)
        printf("as looked up: %s\n", p->dir);
    if (!p->capabilities.path)
        printf("warning: no readable %s: give --profile DIR or set $PMIRROR_PROFILE\n", p->capabilities.where);
    free(real);
    pm_profile_free(p);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("version", "cannot write to stdout");
    return CLI_OK;
}

/* profile's own subcommands (cmd_profile.c's table), for the page. */
static const char *const profile_subcommands[] = {"init", "check"};

/* For cli_man: every subcommand's --help (in the style cli_man set), in the table's
 * order; profile, which has subcommands of its own, once per one. */
static void each_help(void)
{
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++) {
        if (subcommands[i].run == cmd_profile) {
            for (size_t j = 0; j < sizeof profile_subcommands / sizeof *profile_subcommands; j++) {
                char *av[] = {"profile", (char *)profile_subcommands[j], "--help", NULL};
                cmd_profile(3, av);
            }
            continue;
        }
        char *av[] = {(char *)subcommands[i].name, "--help", NULL};
        subcommands[i].run(2, av);
    }
}

static int man(const char *date)
{
    cli_man_command list[sizeof subcommands / sizeof *subcommands];
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
        list[i] = (cli_man_command){subcommands[i].name, subcommands[i].summary};
    return cli_man(date, list, sizeof list / sizeof *list, each_help);
}

/* Every long command allocates and frees per request or record, often on two threads (a
 * reader or a front making what a writer or a shadow frees). With glibc's defaults each
 * arena's top is trimmed and grown again around that churn, and every page grown back is a
 * page fault: replay of 20 000 exchanges took 11 700 to 60 600 faults, 7 000 with these
 * (`perf stat -e page-faults`), and the tee 0.88 faults per request at 1 000 requests/s,
 * 0.24 with these. What stays is bounded anyway (replay's window, the tee's queue); a
 * block of 4 MiB or more (a large body) is still mapped and unmapped on its own. */
static void keep_heap(void)
{
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a failed write (EPIPE): cli_fail ends quietly */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    keep_heap();
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char *help_argv[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
                if (strcmp(subcommands[i].name, argv[2]) == 0)
                    return subcommands[i].run(2, help_argv);
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return version();
    if (strcmp(name, "--man") == 0) /* hidden: pmirror.1 from the tables (cli/man.c; CMake runs it) */
        return man(argc > 2 ? argv[2] : NULL);
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
        if (strcmp(subcommands[i].name, name) == 0) {
            int rc = subcommands[i].run(argc - 1, argv + 1);
            return rc == CLI_STDOUT_CLOSED ? CLI_OK : rc; /* `| head`: ends quietly, as coreutils do */
        }
    fprintf(stderr, "pmirror: unknown subcommand '%s' (see pmirror --help)\n", name);
    return CLI_USAGE;
}
