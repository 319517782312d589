/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c — the error value. Every fallible function in pmirror fills a pm_err and
 * returns -1; only cli/ decides what to print and which exit code follows.
 */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>

int pm_err_set(pm_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}
