/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/compress.h — zlib on whole buffers: inflate with a cap and deflate (zlib.c); and a file
 * read as it is or inflated when it is gzip (gz_input.c). One part of core's public interface;
 * core/core.h includes every part.
 */
#ifndef PM_CORE_COMPRESS_H
#define PM_CORE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How an inflate ended. END: the stream ended (bytes after it are *rest); CUT: the input
 * ended first (what decoded is kept); TOO_LARGE: more than max bytes would come out; BAD:
 * not a stream of this kind (or out of memory). */
typedef enum { PM_INFLATE_END, PM_INFLATE_CUT, PM_INFLATE_TOO_LARGE, PM_INFLATE_BAD } pm_inflate_status;
/* Inflates len bytes with zlib window bits wbits (15 + 32: gzip or zlib; 15 + 16: gzip;
 * 15: zlib; -15: raw deflate) into a new buffer (*out, *out_len; set for END and CUT
 * only, NULL otherwise). members: a gzip stream may be several members one after the
 * other. rest may be NULL. */
pm_inflate_status pm_zlib_inflate(const unsigned char *in, size_t len, int wbits, size_t max, bool members,
                                  unsigned char **out, size_t *out_len, size_t *rest);
/* Deflates with zlib's defaults (level 6, the same input always gives the same bytes) and
 * window bits wbits (31: gzip, RFC 1952; 15: zlib, RFC 1950; -15: raw) into a new buffer.
 * 0, or -1. */
int pm_zlib_deflate(const unsigned char *in, size_t len, int wbits, unsigned char **out, size_t *out_len);

/* A file read as it is, or inflated when its first bytes are gzip's (gz_input.c). */
typedef struct pm_gzin pm_gzin;
typedef enum { PM_GZIN_OK, PM_GZIN_TRUNCATED, PM_GZIN_CORRUPT, PM_GZIN_ERRNO } pm_gzin_status;
/* Takes fd (closed by pm_gzin_close); NULL: out of memory (fd not closed). */
pm_gzin *pm_gzin_open(int fd);
/* Up to n bytes: > 0 read, 0 the end, -1 an error (pm_gzin_error says which). Bytes inflated
 * before damage are returned first; the damage is the next call's -1. */
ssize_t pm_gzin_read(pm_gzin *g, void *buf, size_t n);
/* Why the last read failed (TRUNCATED: the file ends inside a gzip member), with zlib's or
 * the system's words. */
pm_gzin_status pm_gzin_error(const pm_gzin *g, const char **message);
/* Bytes of the file consumed so far (for progress). */
off_t pm_gzin_offset(const pm_gzin *g);
void pm_gzin_close(pm_gzin *g);

#endif
