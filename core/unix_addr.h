/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/unix_addr.h — Unix domain sockets as addresses: the "unix:/PATH" and
 * "unix:/PATH:/base/path" URL forms (the tee's --primary and --shadow, suite targets' url),
 * and the state of a socket file that --listen unix:/PATH is about to take (unix_addr.c).
 * One part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_UNIX_ADDR_H
#define PM_CORE_UNIX_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The longest socket path a sockaddr_un carries (sun_path less its terminating NUL). */
#define PM_UNIX_PATH_MAX 107

/* Whether url names a Unix socket: it starts with "unix:". */
bool pm_is_unix_url(const char *url);

/* Splits "unix:/PATH" or "unix:/PATH:/base/path" (nginx's spelling: the socket path ends at
 * its first ':'): the socket path into path (size >= PM_UNIX_PATH_MAX + 1), and *base_path
 * (borrowed from url) the path the requests are sent under, "" when none. The socket path
 * is absolute; the base path starts with '/' and carries no space, control byte, '?' or
 * '#'. 0, or -1 with err naming url and what is wrong. */
int pm_unix_url_split(const char *url, char *path, size_t size, const char **base_path, pm_err *err);

/* What is at a socket path --listen wants: nothing (ABSENT), a socket nobody accepts on
 * (STALE: connect() refused; a tee or serve that died left it), a socket a live process
 * accepts on (LIVE, also when its backlog is full), or something else (OTHER: a file that
 * is not a socket, or a path we cannot probe; err says which). */
typedef enum { PM_UNIX_ABSENT, PM_UNIX_STALE, PM_UNIX_LIVE, PM_UNIX_OTHER } pm_unix_state;
pm_unix_state pm_unix_socket_state(const char *path, pm_err *err);

/* A bound, listening Unix socket (close-on-exec) at path, the file mode 0660: a stale
 * socket there is replaced, a live one or any other file refused. The fd, or -1 with err
 * naming the path. */
int pm_unix_listen(const char *path, int backlog, pm_err *err);

/* After the socket at path has been closed: its file removed, unless a live process
 * accepts on it now (another took the path over) or it is no longer a socket. */
void pm_unix_unlink(const char *path);

#endif
