/* SPDX-License-Identifier: Apache-2.0 */
/*
 * insecure.c — the one warning a run prints when a target's certificate is not checked
 * (`insecure: true` in the suite): a parity run that carries production credentials to a
 * target it cannot authenticate says so once, on stderr, and its report's
 * run.insecure_targets keeps the names (core/tls.h has what to give instead: `ca`).
 */
#include <stdio.h>

#include "cli.h"

void cli_warn_insecure(const char *cmd, const json_t *names)
{
    if (json_array_size(names) == 0)
        return;
    fprintf(stderr, "pmirror %s: warning: TLS not verified for target%s", cmd, json_array_size(names) > 1 ? "s" : "");
    size_t i;
    const json_t *name;
    json_array_foreach(names, i, name)
        fprintf(stderr, "%s %s", i ? "," : "", json_string_value(name));
    fprintf(stderr, " (insecure: true): anyone on the path can answer and read the credentials sent; "
                    "give the target's ca instead\n");
}
