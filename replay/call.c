/* SPDX-License-Identifier: Apache-2.0 */
/*
 * call.c — reading a finished call's answer as the engine keeps it (replay_internal.h):
 * headers as "name\0value\0" pairs in order, the body's first body_limit bytes. For the
 * correlation tables and whoever writes the result.
 */
#include "replay_internal.h"

#include <string.h>
#include <strings.h>

const char *rp_call_header(const rp_call *c, const char *name)
{
    for (size_t at = 0; at < c->hdr_len;) {
        const char *n = c->hdr + at, *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0)
            return v;
        at = (size_t)(v + strlen(v) + 1 - c->hdr);
    }
    return NULL;
}

const unsigned char *rp_call_body(const rp_call *c, size_t *len)
{
    *len = c->spilled ? c->resp_body.len : c->data_len;
    return c->spilled ? c->resp_body.data : c->data;
}
