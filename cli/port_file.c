/*
 * port_file.c — --port-file of `serve` and `tee`: the bound port, for scripts that listen
 * on port 0 and poll for the file.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_write_port_file(const char *cmd, const char *path, unsigned port)
{
    size_t size = strlen(path) + 8;
    char *tmp = malloc(size);
    if (!tmp)
        return cli_fail(cmd, "out of memory");
    snprintf(tmp, size, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%u\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    int e = errno;
    if (!ok)
        remove(tmp);
    free(tmp);
    return ok ? CLI_OK : cli_fail(cmd, "--port-file %s: cannot write: %s", path, strerror(e));
}
