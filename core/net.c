/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.c — the listening socket of `serve`, `tee` and the tee's metrics endpoint: one
 * spelling of --listen for all of them, one set of errors naming the address at fault.
 * "unix:/PATH" listens on a Unix socket instead (unix_addr.c: a stale file replaced, a
 * live one refused, mode 0660); pm_listen_release removes its file once it is closed.
 */
#include "core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* unix:/PATH: pm_unix_listen's socket, its address in *bound (reuse_port has no meaning) */
static int listen_unix(const char *listen_addr, int backlog, struct sockaddr_storage *bound, pm_err *err)
{
    const char *base = NULL;
    char path[PM_UNIX_PATH_MAX + 1];
    if (pm_unix_url_split(listen_addr, path, sizeof path, &base, err) != 0)
        return -1;
    if (*base)
        return pm_err_set(err, "--listen '%s': a socket to listen on has no base path", listen_addr);
    int fd = pm_unix_listen(path, backlog, err);
    if (fd < 0)
        return -1;
    struct sockaddr_un *sa = (struct sockaddr_un *)bound;
    memset(bound, 0, sizeof *bound);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return fd;
}

int pm_listen_socket(const char *listen_addr, int backlog, bool reuse_port, struct sockaddr_storage *bound,
                     pm_err *err)
{
    if (pm_is_unix_url(listen_addr))
        return listen_unix(listen_addr, backlog, bound, err);
    char host[256] = "", port[16];
    const char *colon = strrchr(listen_addr, ':');
    if (listen_addr[0] == '[') {
        const char *close_bracket = strchr(listen_addr, ']');
        if (!close_bracket || close_bracket[1] != ':' || (size_t)(close_bracket - listen_addr - 1) >= sizeof host)
            return pm_err_set(err, "--listen '%s': expected HOST:PORT, [IPv6]:PORT or :PORT", listen_addr);
        memcpy(host, listen_addr + 1, (size_t)(close_bracket - listen_addr - 1));
        colon = close_bracket + 1;
    } else if (colon) {
        if ((size_t)(colon - listen_addr) >= sizeof host)
            return pm_err_set(err, "--listen '%s': host name too long", listen_addr);
        memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    }
    const char *port_text = colon ? colon + 1 : listen_addr;
    char *end = NULL;
    long port_number = strtol(port_text, &end, 10);
    if (!*port_text || *end || port_number < 0 || port_number > 65535)
        return pm_err_set(err, "--listen '%s': '%s' is not a TCP port (0-65535; 0 = any free one)", listen_addr,
                          port_text);
    snprintf(port, sizeof port, "%ld", port_number);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    int gai = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &ai);
    if (gai != 0)
        return pm_err_set(err, "--listen '%s': %s", listen_addr, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuse_port)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    socklen_t len = sizeof *bound;
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return pm_err_set(err, "cannot listen on %s: %s", listen_addr, strerror(e));
    }
    freeaddrinfo(ai);
    return fd;
}

void pm_describe_address(const struct sockaddr_storage *ss, char *buf, size_t size, uint16_t *port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_UNIX) {
        *port = 0;
        snprintf(buf, size, "unix:%s", ((const struct sockaddr_un *)ss)->sun_path);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        *port = ntohs(a->sin6_port);
        snprintf(buf, size, "[%s]:%u", ip, (unsigned)*port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        *port = ntohs(a->sin_port);
        snprintf(buf, size, "%s:%u", ip, (unsigned)*port);
    }
}

void pm_listen_release(const struct sockaddr_storage *bound)
{
    if (bound->ss_family == AF_UNIX)
        pm_unix_unlink(((const struct sockaddr_un *)bound)->sun_path);
}
