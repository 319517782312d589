/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_profile.c — `pmirror profile (init|check) DIR`: dispatches to the profile's
 * subcommands (cmd_profile_init.c, cmd_profile_check.c), as main.c does to commands.
 */
#include <string.h>

#include "cli.h"

static const struct {
    const char *name, *summary;
    int (*run)(int argc, char **argv);
} profile_commands[] = {
    {"init", "writes a commented skeleton of every profile file into DIR", cmd_profile_init},
    {"check", "loads every file of DIR, cross-checks names, prints the routes", cmd_profile_check},
};

static void usage(FILE *out)
{
    fputs("usage: pmirror profile (init|check) DIR\n\n"
          "A profile is a directory: capabilities.yaml, rules.yaml, gate.yaml, correlation.yaml,\n"
          "redact.yaml and, for worker parity, workers.yaml (README: \"A profile for another service\").\n\n",
          out);
    for (size_t i = 0; i < sizeof profile_commands / sizeof *profile_commands; i++)
        fprintf(out, "  %-6s %s\n", profile_commands[i].name, profile_commands[i].summary);
    fputs("\n'pmirror profile SUBCOMMAND --help' describes one.\n", out);
}

int cmd_profile(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof profile_commands / sizeof *profile_commands; i++)
        if (strcmp(profile_commands[i].name, argv[1]) == 0)
            return profile_commands[i].run(argc - 1, argv + 1);
    return cli_fail("profile", "unknown subcommand '%s' (init or check)", argv[1]);
}
