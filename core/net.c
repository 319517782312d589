/*
 * net.c — the listening socket of `serve`, `tee` and the tee's metrics endpoint: one
 * spelling of --listen for all of them, one set of errors naming the address at fault.
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
#include <unistd.h>

int pm_listen_socket(const char *listen_addr, int backlog, bool reuse_port, struct sockaddr_storage *bound,
                     pm_err *err)
{
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
    if (ss->ss_family == AF_INET6) {
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
