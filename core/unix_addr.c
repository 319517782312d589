/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unix_addr.c — Unix domain sockets, for where Quay runs: nginx reaches gunicorn over
 * /tmp/gunicorn_*.sock, so the tee listens on a socket nginx's upstream names, and the
 * tee, replay and serve reach a gunicorn on its socket. Two parts:
 *
 * - The URL form. "unix:/PATH" and "unix:/PATH:/base/path", spelled as nginx spells a
 *   socket in proxy_pass (the path ends at its first ':', so a socket path with a ':' in
 *   it cannot be named). Callers keep the string as the target's URL; pm_request_for
 *   (target.c) turns it into "http://localhost/" and the base path, and the one who
 *   configures curl sets CURLOPT_UNIX_SOCKET_PATH from pm_unix_url_split. The Host header
 *   is the client's (the tee) or the recorded one (replay), never "localhost".
 *
 * - The socket file. A process killed with SIGKILL leaves its socket file behind, and
 *   bind() on it fails with EADDRINUSE; removing the file blindly would take the path
 *   from a live process. So the file is probed first: a non-blocking connect() that is
 *   refused means nobody accepts there (stale: removed and bound again); one that is
 *   accepted or would block (a full backlog) means a live process (refused, the caller
 *   exits 2). The same probe guards the removal at exit.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

bool pm_is_unix_url(const char *url)
{
    return url && strncmp(url, "unix:", 5) == 0;
}

int pm_unix_url_split(const char *url, char *path, size_t size, const char **base_path, pm_err *err)
{
    if (!pm_is_unix_url(url))
        return pm_err_set(err, "'%s': not a unix: address", url ? url : "");
    const char *p = url + 5;
    if (p[0] != '/')
        return pm_err_set(err, "'%s': want unix:/PATH or unix:/PATH:/base/path (an absolute socket path)", url);
    size_t n = strcspn(p, ":");
    if (n > PM_UNIX_PATH_MAX || n + 1 > size)
        return pm_err_set(err, "'%s': the socket path is longer than %d bytes", url, PM_UNIX_PATH_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return pm_err_set(err, "'%s': a control byte in the socket path", url);
    const char *base = p + n;
    if (*base == ':') {
        base++;
        if (base[0] != '/')
            return pm_err_set(err, "'%s': after the socket path's ':' want a base path starting with '/'", url);
        for (const unsigned char *b = (const unsigned char *)base; *b; b++)
            if (*b <= 0x20 || *b == 0x7f || *b == '?' || *b == '#')
                return pm_err_set(err, "'%s': the base path may not carry '%s'", url,
                                  *b == '?' ? "?" : *b == '#' ? "#" : "a space or control byte");
    }
    memcpy(path, p, n);
    path[n] = '\0';
    *base_path = base;
    return 0;
}

static int unix_address(const char *path, struct sockaddr_un *sa, pm_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa->sun_path)
        return pm_err_set(err, "socket path '%s': empty or longer than %zu bytes", path, sizeof sa->sun_path - 1);
    memcpy(sa->sun_path, path, n);
    return 0;
}

pm_unix_state pm_unix_socket_state(const char *path, pm_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return PM_UNIX_ABSENT;
        pm_err_set(err, "%s: %s", path, strerror(errno));
        return PM_UNIX_OTHER;
    }
    if (!S_ISSOCK(st.st_mode)) {
        pm_err_set(err, "%s exists and is not a socket (not removed)", path);
        return PM_UNIX_OTHER;
    }
    struct sockaddr_un sa;
    if (unix_address(path, &sa, err) != 0)
        return PM_UNIX_OTHER;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        pm_err_set(err, "%s: socket: %s", path, strerror(errno));
        return PM_UNIX_OTHER;
    }
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa), e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
        pm_err_set(err, "%s: another process is listening on it (a tee or gunicorn still running?)", path);
        return PM_UNIX_LIVE;
    }
    if (e == ECONNREFUSED)
        return PM_UNIX_STALE;
    if (e == ENOENT)
        return PM_UNIX_ABSENT;
    pm_err_set(err, "%s: cannot probe the socket: %s", path, strerror(e));
    return PM_UNIX_OTHER;
}

int pm_unix_listen(const char *path, int backlog, pm_err *err)
{
    struct sockaddr_un sa;
    if (unix_address(path, &sa, err) != 0)
        return -1;
    switch (pm_unix_socket_state(path, err)) {
    case PM_UNIX_LIVE:
    case PM_UNIX_OTHER:
        return -1;
    case PM_UNIX_STALE:
        if (unlink(path) != 0 && errno != ENOENT)
            return pm_err_set(err, "%s: a stale socket, but it cannot be removed: %s", path, strerror(errno));
        break;
    case PM_UNIX_ABSENT:
        break;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pm_err_set(err, "cannot listen on unix:%s: %s", path, strerror(errno));
    /* listen() comes after chmod: no one connects through a mode the umask chose */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return pm_err_set(err, "cannot listen on unix:%s: %s", path, strerror(e));
    }
    if (chmod(path, 0660) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return pm_err_set(err, "cannot listen on unix:%s: %s", path, strerror(e));
    }
    return fd;
}

void pm_unix_unlink(const char *path)
{
    pm_err err;
    if (pm_unix_socket_state(path, &err) == PM_UNIX_STALE)
        unlink(path);
}
