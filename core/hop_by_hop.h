/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/hop_by_hop.h — hop-by-hop headers: RFC 9110's fixed set and the names a Connection
 * header lists (hop_by_hop.c). One part of core's public interface; core/core.h includes every
 * part.
 */
#ifndef PM_CORE_HOP_BY_HOP_H
#define PM_CORE_HOP_BY_HOP_H

#include <stdbool.h>

/* Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (any
 * case): RFC 9110 7.6.1's fixed hop-by-hop set. */
bool pm_header_is_hop_by_hop(const char *name);
/* Whether a Connection header's value (a comma list; NULL: none) names `name` (any case):
 * such a header is hop-by-hop too. */
bool pm_connection_lists(const char *connection, const char *name);

#endif
