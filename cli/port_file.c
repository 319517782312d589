/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port_file.c — --port-file of `serve` and `tee`: the bound port, for scripts that listen
 * on port 0 and poll for the file. Written whole through pm_output_tmp (a temporary with an
 * unpredictable name, renamed into place), so a poller never reads half a number and a link
 * planted in a shared directory is never written through.
 */
#include "cli.h"

#include <stdio.h>

int cli_write_port_file(const char *cmd, const char *path, unsigned port)
{
    pm_err err;
    pm_output_tmp out;
    if (pm_output_tmp_open(&out, path, &err) != 0)
        return cli_fail(cmd, "--port-file %s", err.msg);
    if (fprintf(out.file, "%u\n", port) < 0) {
        pm_output_tmp_discard(&out);
        return cli_fail(cmd, "--port-file %s: cannot write", path);
    }
    if (pm_output_tmp_commit(&out, &err) != 0)
        return cli_fail(cmd, "--port-file %s", err.msg);
    return CLI_OK;
}
