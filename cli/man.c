/* SPDX-License-Identifier: Apache-2.0 */
/*
 * man.c — pmirror(1), the one man page, made from the tables that print --help
 * (`pmirror --man [DATE]` prints it; cli/CMakeLists.txt runs that into build/pmirror.1 at
 * build time and installs it). The commands' synopses and sections come from each
 * command's own table through cli_help (options.c, in roff); this file holds the rest of
 * the page — what pmirror is, the files, the environment, exit codes, signals, examples —
 * and the one roff escaper both use. The page is man(7), checked by `mandoc -T lint`
 * (tests/integration/man_page.sh).
 */
#include "cli.h"

#include <string.h>
#include <time.h>

#ifndef PMIRROR_VERSION
#define PMIRROR_VERSION "dev"
#endif

/* One character as roff: the backslash and the dash escaped, the rest as itself. Returns
 * the bytes written. */
static int roff_char(FILE *out, char c)
{
    if (c == '\\')
        return fputs("\\e", out) < 0 ? 0 : 2;
    if (c == '-')
        return fputs("\\-", out) < 0 ? 0 : 2;
    fputc(c, out);
    return 1;
}

/* Output lines are broken between words past this many bytes (mandoc's style check wants
 * input lines of at most 80; in fill mode a line break between words is a space). */
enum { ROFF_WRAP = 68, ROFF_MAX = 78 }; /* mandoc's style check: lines of at most 80 bytes */

void cli_roff_text(FILE *out, const char *text, bool paragraphs)
{
    int col = 0;           /* bytes on the output line so far: 0, a '.' or '\'' would be a request */
    bool indented = false; /* the text's line is indented (an example): it ends with a break */
    for (const char *p = text; *p; p++) {
        if (*p == '\n' && paragraphs) {
            fputc('\n', out);
            col = 0;
            if (p[1] == '\n') { /* a blank line: a new paragraph */
                while (p[1] == '\n')
                    p++;
                fputs(".PP\n", out);
                indented = false;
            } else if (p[1] == ' ') { /* an indented line (an example): on its own */
                fputs(".br\n", out);
                while (p[1] == ' ')
                    p++;
                col = fprintf(out, "\\ \\ "); /* its indent, without a leading space (a roff break) */
                indented = true;
            } else if (indented) {
                fputs(".br\n", out);
                indented = false;
            }
            continue;
        }
        if (*p == ' ' || *p == '\n') { /* (a newline outside paragraphs is a space) */
            size_t word = strcspn(p + 1, " \n"); /* the next word goes on this line only if it fits */
            if ((col >= ROFF_WRAP || col + 1 + (int)word > ROFF_MAX) && p[1] && p[1] != '\n') {
                fputc('\n', out);
                col = 0;
                while (p[1] == ' ')
                    p++;
            } else if (col > 0) {
                fputc(' ', out);
                col++;
            }
            continue;
        }
        if (col == 0 && (*p == '.' || *p == '\''))
            col += fprintf(out, "\\&");
        col += roff_char(out, *p);
    }
    if (paragraphs && col > 0)
        fputc('\n', out);
}

/* The page's parts that are not a command's: each a section heading and its roff. */
static const char *const head =
    ".nh\n" /* (option names and paths are not to be hyphenated) */
    ".ad l\n"
    ".SH NAME\n"
    "pmirror \\- parity\\-testing shadow traffic mirror\n"
    ".SH SYNOPSIS\n"
    ".nf\n"
    "\\fBpmirror\\fR \\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n"
    "\\fBpmirror \\-\\-help\\fR | \\fBpmirror help\\fR \\fISUBCOMMAND\\fR\n"
    "\\fBpmirror \\-\\-version\\fR\n"
    ".fi\n";

static const char *const description =
    ".SH DESCRIPTION\n"
    "pmirror tests a rewrite of a service for parity with the service it replaces.\n"
    "It captures live requests (or tees them live), replays them against the old\n"
    "(baseline) and the new (candidate) backends, diffs the answers under the\n"
    "profile's\n"
    "normalization rules and gates each owner switch on the parity measured.\n"
    "The shipped profile describes Quay.\n"
    ".PP\n"
    "Every subcommand has \\fB\\-h\\fR, \\fB\\-\\-help\\fR, which prints what this page\n"
    "says of it; both come from the same option table.\n"
    "An option takes its value as \\fB\\-\\-name\\fR \\fIVALUE\\fR,\n"
    "\\fB\\-\\-name=\\fR\\fIVALUE\\fR,\n"
    "\\fB\\-x\\fR \\fIVALUE\\fR or \\fB\\-x\\fR\\fIVALUE\\fR; \\fB\\-\\-\\fR ends the options.\n"
    ".PP\n"
    "The subcommands:\n";

static const char *const tail =
    ".SH FILES\n"
    ".TP\n"
    "\\fIPREFIX\\fR/share/pmirror/profiles/quay/\n"
    "The shipped profile (Quay): capabilities.yaml (the capability map), rules.yaml\n"
    "(the diff's normalization rules), gate.yaml (the gate's thresholds),\n"
    "correlation.yaml (replay's correlation rules), redact.yaml (extra secret\n"
    "names)\n"
    "and workers.yaml (the worker map).\n"
    ".TP\n"
    "The profile a command uses\n"
    "The first of: \\fB\\-\\-profile\\fR \\fIDIR\\fR; the suite file's \\fBprofile\\fR;\n"
    "\\fB$PMIRROR_PROFILE\\fR; \\fIBIN\\fR/../share/pmirror/profiles/quay beside the\n"
    "running\n"
    "binary (an installed prefix, wherever it was moved);\n"
    "\\fIBIN\\fR/../config/quay beside it\n"
    "(a build tree); the source tree's config/quay, compiled in; the installed\n"
    "path compiled\n"
    "in. Beside the binary and in the source tree a profile counts when its\n"
    "capabilities.yaml is readable.\n"
    "\\fBpmirror \\-\\-version\\fR names the profile directory in use and the rule\n"
    "that found it.\n"
    ".TP\n"
    "\\fISUITE\\fR.yaml\n"
    "A suite: the targets (baseline, candidate; URLs, sandbox, credentials) and\n"
    "the profile.\n"
    ".TP\n"
    "\\fB.pmirror\\-key\\fR\n"
    "The redaction key a capture's secrets are coded with; read only when no\n"
    "other user may\n"
    "read it.\n"
    ".SH ENVIRONMENT\n"
    ".TP\n"
    ".B PMIRROR_PROFILE\n"
    "The profile directory, unless \\fB\\-\\-profile\\fR or the suite names one.\n"
    "Empty counts as unset.\n"
    ".SH EXIT STATUS\n"
    ".TP\n"
    ".B 0\n"
    "Success (\\fBgate\\fR, \\fBrun\\fR: every family in scope may be promoted).\n"
    "A closed standard output (\\fBpmirror cat ... | head\\fR) ends a command\n"
    "quietly with 0.\n"
    ".TP\n"
    ".B 1\n"
    "A gate failed (\\fBgate\\fR, \\fBrun\\fR): a family in scope may not be promoted.\n"
    ".TP\n"
    ".B 2\n"
    "A usage or input error, with one line on standard error naming the file,\n"
    "line or\n"
    "field at fault.\n"
    ".SH SIGNALS\n"
    ".TP\n"
    "\\fBSIGINT\\fR, \\fBSIGTERM\\fR\n"
    "\\fBcapture\\fR (\\fB\\-\\-queue\\fR too), \\fBreplay\\fR, \\fBrun\\fR, \\fBserve\\fR and\n"
    "\\fBtee\\fR stop cleanly: nothing new is started, what is in flight finishes,\n"
    "the files\n"
    "are flushed and closed.\n"
    "\\fBtee\\fR drains its shadows for at most \\fB\\-\\-drain\\-seconds\\fR and writes\n"
    "its final\n"
    "report. \\fBworker\\fR sends SIGTERM to each program's process group, SIGKILL\n"
    "2 s later.\n"
    ".TP\n"
    ".B SIGHUP\n"
    "\\fBtee\\fR writes a report snapshot into \\fB\\-\\-out\\-dir\\fR.\n"
    ".TP\n"
    ".B SIGPIPE\n"
    "Ignored: a closed pipe is a failed write, which ends the command quietly.\n"
    ".SH EXAMPLES\n"
    "Capture six seconds of traffic from a recording, secrets redacted:\n"
    ".PP\n"
    ".RS\n"
    ".nf\n"
    "pmirror capture \\-r quay.pcap \\-o capture.jsonl.gz \\-\\-key demo.key\n"
    ".fi\n"
    ".RE\n"
    ".PP\n"
    "Replay it against a suite's two backends, diff, report and gate in one\n"
    "process:\n"
    ".PP\n"
    ".RS\n"
    ".nf\n"
    "pmirror run \\-c suite.yaml \\-i capture.jsonl.gz \\-\\-out\\-dir out\n"
    ".fi\n"
    ".RE\n"
    ".PP\n"
    "The same in three shards (e.g. an Indexed Job), merged by report, then gated:\n"
    ".PP\n"
    ".RS\n"
    ".nf\n"
    "pmirror run \\-c suite.yaml \\-i capture.jsonl.gz \\-\\-shard 1/3 \\e\n"
    "    \\-\\-keep\\-results \\-\\-out\\-dir s1\n"
    "pmirror report \\-c suite.yaml \\-i s1/diffs.jsonl.gz \\-i s2/diffs.jsonl.gz \\e\n"
    "    \\-i s3/diffs.jsonl.gz \\-\\-out\\-dir out\n"
    "pmirror gate out/report.json\n"
    ".fi\n"
    ".RE\n"
    ".PP\n"
    "What the capability map makes of a request:\n"
    ".PP\n"
    ".RS\n"
    ".nf\n"
    "pmirror classify GET /v2/acme/app/manifests/latest\n"
    ".fi\n"
    ".RE\n"
    ".SH SEE ALSO\n"
    "The README and docs/ of the source tree: the tee, worker parity, profiles,\n"
    "guarantees.\n";

int cli_man(const char *date, const cli_man_command *commands, size_t n, void (*help)(void))
{
    char today[16];
    if (!date) {
        time_t now = time(NULL);
        strftime(today, sizeof today, "%Y-%m-%d", gmtime(&now));
        date = today;
    }
    printf(".TH PMIRROR 1 %s \"pmirror %s\" \"User Commands\"\n", date, PMIRROR_VERSION);
    fputs(head, stdout);
    cli_help_set_style(CLI_HELP_ROFF_SYNOPSIS);
    help();
    fputs(description, stdout);
    for (size_t i = 0; i < n; i++) {
        printf(".TP\n.B %s\n", commands[i].name);
        cli_roff_text(stdout, commands[i].summary, true);
    }
    fputs(".SH COMMANDS\n", stdout);
    cli_help_set_style(CLI_HELP_ROFF);
    help();
    cli_help_set_style(CLI_HELP_TEXT);
    fputs(tail, stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("--man", "cannot write to stdout");
    return CLI_OK;
}
