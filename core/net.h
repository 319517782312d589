/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/net.h — listening sockets for --listen, and how a bound address is written (net.c). One
 * part of core's public interface; core/core.h includes every part.
 */
#ifndef PM_CORE_NET_H
#define PM_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A bound, listening TCP socket (close-on-exec) for --listen: "127.0.0.1:8001",
 * "[::1]:8001", ":8001" or "8001" (both: loopback); port 0 takes any free one. The bound
 * address goes to *bound. reuse_port sets SO_REUSEPORT (one socket per worker). Or a Unix
 * socket for "unix:/PATH" (pm_unix_listen, unix_addr.h; reuse_port ignored; *bound is its
 * sockaddr_un). The fd, or -1 with err naming the address. (core/net.c) */
struct sockaddr_storage;
int pm_listen_socket(const char *listen_addr, int backlog, bool reuse_port, struct sockaddr_storage *bound,
                     pm_err *err);
/* "127.0.0.1:8001", "[::1]:8001" or "unix:/PATH" for a bound address, and its port (0 for
 * a Unix socket). */
void pm_describe_address(const struct sockaddr_storage *ss, char *buf, size_t size, uint16_t *port);
/* Once the socket bound at *bound is closed: a Unix socket's file removed (unless another
 * process listens there now); nothing for TCP. */
void pm_listen_release(const struct sockaddr_storage *bound);

#endif
