/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hop_by_hop.c — the headers that belong to one connection, not to the message (RFC 9110
 * 7.6.1): the fixed set, and the names a Connection header lists. A proxy or a replayer
 * must not pass them on; each caller adds what its own framing redoes (Content-Length,
 * Host, Expect).
 */
#include "core.h"

#include <string.h>
#include <strings.h>

bool pm_header_is_hop_by_hop(const char *name)
{
    static const char *const fixed[] = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return true;
    return false;
}

bool pm_connection_lists(const char *connection, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = connection; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t k = strcspn(p, " ,\t");
        if (k == n && strncasecmp(p, name, n) == 0)
            return true;
        p += k;
    }
    return false;
}
