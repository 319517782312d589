/*
 * main.c — `pmirror SUBCOMMAND ...`: dispatches to cmd_*.c. The table lists every
 * subcommand DESIGN.md pins; one whose stage is not built yet says so and exits 2, so
 * scripts written against the contract fail loudly rather than silently.
 */
#include "cli.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef PMIRROR_VERSION
#define PMIRROR_VERSION "dev"
#endif

typedef struct {
    const char *name;
    const char *usage;
    const char *summary;
    int (*run)(int argc, char **argv); /* NULL: not built yet */
} subcommand;

static const subcommand subcommands[] = {
    {"capture", "(-r FILE.pcap[ng] | -i IFACE) [-f BPF] [--port N]... -o OUT",
     "wire -> capture file (libpcap, TCP reassembly, HTTP/1.x)", cmd_capture},
    {"tee", "--listen ADDR (--primary URL --shadow URL | --sink) [-c SUITE] [--record OUT] [--metrics ADDR]",
     "live shadow traffic: inline proxy or mirror sink, diffed live", cmd_tee},
    {"replay", "-c SUITE -i CAPTURE -o RESULTS", "capture -> results: every exchange to every target",
     cmd_replay},
    {"diff", "[-c SUITE] -i RESULTS -o DIFFS", "results -> verdicts (normalized, noise learned)", cmd_diff},
    {"report", "[-c SUITE] -i DIFFS [-i DIFFS]... --out-dir DIR [--previous REPORT.json]",
     "verdicts -> report.json, report.md, junit.xml, report.html", cmd_report},
    {"gate", "[-c SUITE] REPORT.json",
     "exit 0 when every family in scope may be promoted, 1 otherwise; prints the switch proposal", cmd_gate},
    {"run", "-c SUITE -i CAPTURE --out-dir DIR", "replay + diff + report + gate in one streaming process",
     cmd_run},
    {"serve", "--fixture FILE --listen ADDR", "a recorded backend: answers from recorded responses", cmd_serve},
    {"classify", "METHOD TARGET [-H 'Name: value']...",
     "prints family, capability, switch, cohort as JSON", cmd_classify},
    {"cat", "FILE...", "prints any pmirror file as plain JSONL (gzip or not)", cmd_cat},
    {"import", "--har FILE.har -o CAPTURE", "HAR 1.2 (devtools, proxies) -> capture file", cmd_import},
    {"export", "--har CAPTURE... -o FILE.har", "capture or result records -> HAR 1.2 for any HAR viewer",
     cmd_export},
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
        fprintf(out, "  %-9s %s%s\n", subcommands[i].name, subcommands[i].summary,
                subcommands[i].run ? "" : " [not built yet]");
    fprintf(out, "\n'pmirror SUBCOMMAND --help' describes one. Exit codes: 0 ok, 1 gate failed, "
                 "2 usage or input error.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error we report, not a kill */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char *help_argv[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
                if (strcmp(subcommands[i].name, argv[2]) == 0 && subcommands[i].run)
                    return subcommands[i].run(2, help_argv);
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("pmirror %s\n", PMIRROR_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++) {
        const subcommand *s = &subcommands[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (!s->run) {
            fprintf(stderr,
                    "pmirror %s: not built yet in this version (planned: pmirror %s %s)\n",
                    s->name, s->name, s->usage);
            return CLI_USAGE;
        }
        return s->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "pmirror: unknown subcommand '%s' (see pmirror --help)\n", name);
    return CLI_USAGE;
}
