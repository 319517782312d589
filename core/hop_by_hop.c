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
    /* by first letter: most names (content-*, x-*, date, ...) are told apart by one
     * comparison at most; this runs for every header a proxy or a replayer passes on */
    switch (name[0] | 0x20) {
    case 'c': return strcasecmp(name, "connection") == 0;
    case 'k': return strcasecmp(name, "keep-alive") == 0;
    case 'p': return strcasecmp(name, "proxy-connection") == 0;
    case 't':
        return strcasecmp(name, "te") == 0 || strcasecmp(name, "trailer") == 0 ||
               strcasecmp(name, "transfer-encoding") == 0;
    case 'u': return strcasecmp(name, "upgrade") == 0;
    default: return false;
    }
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
