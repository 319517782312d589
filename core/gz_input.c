/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gz_input.c — a file read as it is, or inflated when it is gzip (core/compress.h), for the
 * JSON Lines reader.
 *
 * Why not zlib's gzread: when it meets damaged data, gzread reports the error and drops the
 * bytes it had already inflated in that call — a record flushed (Z_SYNC_FLUSH) before the
 * damage is lost with it, though a reading of the file cut just before the damage yields it
 * (found by tests/fuzz/fuzz_jsonl.c). Here every byte inflated before the damage is handed
 * out first, and the damage is the next call's answer.
 *
 * As gzread: the first two bytes decide (1f 8b: gzip, else the bytes pass through); members
 * that follow one another are read as one stream; bytes after a member that are not another
 * member end the stream (trailing garbage, as gzip(1) and gzread ignore it).
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define GZIN_CHUNK (128 * 1024)

struct pm_gzin {
    int fd;
    bool gzip, started, member_end, eof, inited;
    pm_gzin_status failed; /* an error to answer once what came before it is out */
    char message[160];
    z_stream z;
    unsigned char *in;     /* input read ahead: z.next_in / z.avail_in */
    off_t consumed;        /* input bytes read from the file */
};

pm_gzin *pm_gzin_open(int fd)
{
    pm_gzin *g = calloc(1, sizeof *g);
    if (!g || !(g->in = malloc(GZIN_CHUNK))) {
        free(g);
        return NULL;
    }
    g->fd = fd;
    g->z.next_in = g->in;
    return g;
}

/* More input into g->in (after what is left); 1 read, 0 end of file, -1 error. */
static int fill(pm_gzin *g)
{
    if (g->eof)
        return 0;
    if (g->z.avail_in > 0 && g->z.next_in != g->in)
        memmove(g->in, g->z.next_in, g->z.avail_in);
    g->z.next_in = g->in;
    ssize_t n;
    do
        n = read(g->fd, g->in + g->z.avail_in, GZIN_CHUNK - g->z.avail_in);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        snprintf(g->message, sizeof g->message, "%s", strerror(errno));
        g->failed = PM_GZIN_ERRNO;
        return -1;
    }
    if (n == 0) {
        g->eof = true;
        return 0;
    }
    g->z.avail_in += (uInt)n;
    g->consumed += n;
    return 1;
}

/* The first bytes: gzip or plain. */
static int start(pm_gzin *g)
{
    g->started = true;
    while (g->z.avail_in < 2 && fill(g) > 0)
        ;
    if (g->failed)
        return -1;
    g->gzip = g->z.avail_in >= 2 && g->in[0] == 0x1f && g->in[1] == 0x8b;
    if (g->gzip) {
        if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
            snprintf(g->message, sizeof g->message, "out of memory");
            g->failed = PM_GZIN_CORRUPT;
            return -1;
        }
        g->inited = true;
    }
    return 0;
}

/* After a member: another one follows (1), or the stream ends (0). */
static int next_member(pm_gzin *g)
{
    while (g->z.avail_in < 2 && fill(g) > 0)
        ;
    if (g->z.avail_in >= 2 && g->z.next_in[0] == 0x1f && g->z.next_in[1] == 0x8b && inflateReset(&g->z) == Z_OK) {
        g->member_end = false;
        return 1;
    }
    return 0; /* the end, or bytes that are not a member: ignored, as gzread does */
}

ssize_t pm_gzin_read(pm_gzin *g, void *buf, size_t n)
{
    if (!g->started && start(g) != 0)
        return -1;
    if (g->failed)
        return -1;
    if (!g->gzip) { /* plain: what is read ahead first, then the file */
        if (g->z.avail_in == 0 && fill(g) <= 0)
            return g->failed ? -1 : 0;
        size_t k = g->z.avail_in < n ? g->z.avail_in : n;
        memcpy(buf, g->z.next_in, k);
        g->z.next_in += k;
        g->z.avail_in -= (uInt)k;
        return (ssize_t)k;
    }
    g->z.next_out = buf;
    g->z.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    while (g->z.avail_out > 0) {
        if (g->member_end) {
            if (next_member(g) <= 0)
                break;
        }
        if (g->z.avail_in == 0) {
            int got = fill(g);
            if (got < 0)
                break;
            if (got == 0) { /* the file ends inside a member */
                snprintf(g->message, sizeof g->message, "unexpected end of file");
                g->failed = PM_GZIN_TRUNCATED;
                break;
            }
        }
        int rc = inflate(&g->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            g->member_end = true;
        } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && g->z.avail_in == 0)) {
            snprintf(g->message, sizeof g->message, "%s", g->z.msg ? g->z.msg : "corrupt data");
            g->failed = PM_GZIN_CORRUPT;
            break;
        }
    }
    size_t out = n - g->z.avail_out;
    if (out > 0)
        return (ssize_t)out; /* what came before an error first; the error at the next call */
    return g->failed ? -1 : 0;
}

pm_gzin_status pm_gzin_error(const pm_gzin *g, const char **message)
{
    *message = g->message;
    return g->failed;
}

off_t pm_gzin_offset(const pm_gzin *g)
{
    return g->consumed - (off_t)g->z.avail_in;
}

void pm_gzin_close(pm_gzin *g)
{
    if (!g)
        return;
    if (g->inited)
        inflateEnd(&g->z);
    close(g->fd);
    free(g->in);
    free(g);
}
