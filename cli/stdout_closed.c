/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stdout_closed.c — when the reader of standard output goes away (`pmirror cat FILE | head`),
 * the output is no longer wanted: the command ends quietly, as coreutils do, instead of
 * printing "write failed: Broken pipe". SIGPIPE is ignored (main.c), so the loss shows up as
 * a failed write (EPIPE) that travels back as an error message like any other; cli_fail asks
 * here whether that failure is a write to a standard output whose reader has gone.
 */
#include "cli.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

/* A pipe, FIFO or socket whose other end is closed reports POLLERR (or POLLHUP) on its
 * write side; a file or a terminal never does. */
static bool stdout_reader_gone(void)
{
    struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLNVAL);
}

bool cli_stdout_closed(const char *msg)
{
    /* the message is about standard output (the JSONL writer's "standard output: write
     * failed: …"), or a stdio write to it failed; and its reader is really gone, so an input
     * error that happens while a reader has left (`cat missing | true`) is still told */
    bool about_stdout = ferror(stdout) || (msg && strstr(msg, "standard output"));
    return about_stdout && stdout_reader_gone();
}
