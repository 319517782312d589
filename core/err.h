/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/err.h — errors: the error value every function fills, and the libcurl result code table
 * (err.c, curl_error.c). One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_ERR_H
#define PM_CORE_ERR_H

#include <stdarg.h>

typedef struct pm_err {
    char msg[1024];
} pm_err;

/* Fills err (if not NULL) with a printf-style message; always returns -1. */
int pm_err_set(pm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error code of a libcurl transfer result (a CURLcode, as an int: core links no
 * libcurl): NULL for CURLE_OK, else `refused`, `timeout`, `reset`, `truncated` (closed
 * before the announced length), `garbage`, `tls` or `other`. (core/curl_error.c) */
const char *pm_curl_error_code(int curl_result);

#endif
