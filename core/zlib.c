/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zlib.c — whole-buffer gzip/zlib/raw deflate, both ways, for the stages that undo or
 * redo a Content-Encoding: diff decodes bodies before comparing them, redaction decodes,
 * redacts and encodes again, HAR import encodes what devtools kept decoded and HAR
 * export decodes what a record kept encoded. One inflate loop with a cap on the output
 * (a compression bomb is too large, never memory exhaustion) that says how the stream
 * ended; each caller decides what it accepts.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

pm_inflate_status pm_zlib_inflate(const unsigned char *in, size_t len, int wbits, size_t max, bool members,
                                  unsigned char **out, size_t *out_len, size_t *rest)
{
    *out = NULL;
    *out_len = 0;
    if (rest)
        *rest = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK)
        return PM_INFLATE_BAD;
    /* the buffer grows to max + 1 at the most: one byte past the cap says "too large" */
    size_t cap = len * 4 + 1024, n = 0;
    if (cap > max + 1)
        cap = max + 1;
    unsigned char *buf = malloc(cap);
    pm_inflate_status st = PM_INFLATE_BAD;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (buf) {
        if (n == cap) {
            if (cap > max) {
                st = PM_INFLATE_TOO_LARGE;
                break;
            }
            size_t next = cap * 2 > max + 1 ? max + 1 : cap * 2;
            unsigned char *p = realloc(buf, next);
            if (!p)
                break;
            buf = p;
            cap = next;
        }
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n);
        int rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (rc == Z_STREAM_END) {
            if (members && z.avail_in > 0 && inflateReset(&z) == Z_OK)
                continue; /* another gzip member follows (anything else fails the next inflate) */
            st = n > max ? PM_INFLATE_TOO_LARGE : PM_INFLATE_END;
            break;
        }
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            st = n > max ? PM_INFLATE_TOO_LARGE : PM_INFLATE_CUT;
            break;
        }
        if (rc != Z_OK)
            break;
    }
    if (st == PM_INFLATE_END && rest)
        *rest = z.avail_in;
    inflateEnd(&z);
    if (st != PM_INFLATE_END && st != PM_INFLATE_CUT) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = n;
    return st;
}

int pm_zlib_deflate(const unsigned char *in, size_t len, int wbits, unsigned char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong cap = deflateBound(&z, (uLong)len);
    unsigned char *buf = malloc(cap ? cap : 1);
    int rc = -1;
    if (buf) {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)len;
        z.next_out = buf;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
            *out = buf;
            *out_len = z.total_out;
            buf = NULL;
            rc = 0;
        }
    }
    free(buf);
    deflateEnd(&z);
    return rc;
}
