/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_reasm.h — TCP reassembly of one direction of one connection (private to capture/).
 *
 * A tcp_half turns segments, in whatever order the wire delivered them, into the byte
 * stream the receiving application saw: it follows sequence numbers (with wrap-around),
 * holds out-of-order segments until the hole before them fills, drops duplicates and
 * trims overlapping retransmissions byte-exactly (the first copy of a byte wins), and
 * reports the end of the stream (FIN reached in order, or RST). What it cannot deliver
 * it reports as a gap of N bytes, never silently: when the buffer limit is hit, or when
 * the connection ends or expires with a hole still open.
 *
 * Bounds: each half holds at most `max_pending` bytes out of order, and all halves that
 * share one tcp_counters hold at most counters->max_total bytes together. When either
 * bound would be exceeded, the half gives up on its first hole (gap callback, counter
 * given_up) and delivers what it holds after the hole.
 */
#ifndef PM_CAPTURE_TCP_REASM_H
#define PM_CAPTURE_TCP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP header flag bits, as on the wire. */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* Shared by every half of one capture: counters for the final statistics, and the
 * global bound on buffered bytes. */
typedef struct tcp_counters {
    uint64_t segments;       /* segments fed (with or without payload) */
    uint64_t out_of_order;   /* segments that arrived ahead of a hole and were buffered */
    uint64_t retransmitted;  /* segments wholly made of bytes already delivered or held */
    uint64_t overlap_bytes;  /* bytes trimmed from partially overlapping segments */
    uint64_t gap_bytes;      /* bytes never seen, reported through gap callbacks */
    uint64_t gaps;           /* holes given up on */
    uint64_t given_up;       /* holes given up on because a buffer limit was hit */
    size_t buffered;         /* bytes held out of order right now, all halves */
    size_t buffered_peak;
    size_t max_total;        /* bound on `buffered`; 0 = no bound */
} tcp_counters;

typedef struct tcp_callbacks {
    /* In-order bytes; ts_us is the capture time of the segment that carried them. */
    void (*data)(void *ctx, const uint8_t *data, size_t len, int64_t ts_us);
    /* `missing` bytes will never be delivered; the next data call continues after them. */
    void (*gap)(void *ctx, uint64_t missing, int64_t ts_us);
    /* The stream ended: FIN reached in order (reset false) or RST (reset true). Called
     * at most once; nothing is delivered after it. */
    void (*end)(void *ctx, bool reset, int64_t ts_us);
} tcp_callbacks;

typedef struct tcp_segment tcp_segment; /* a held out-of-order segment (tcp_reasm.c) */

typedef struct tcp_half {
    tcp_callbacks cb;
    void *ctx;
    tcp_counters *counters;
    size_t max_pending;   /* bound for this half */
    size_t pending_bytes; /* bytes held by this half */
    tcp_segment *pending; /* held segments, sorted by sequence, non-overlapping */
    uint32_t next_seq;    /* the next byte to deliver */
    uint32_t fin_seq;     /* sequence number of the FIN, when fin_seen */
    bool started;         /* next_seq is known (from the SYN, or the first data segment) */
    bool fin_seen;
    bool ended;           /* end callback made */
} tcp_half;

void tcp_half_init(tcp_half *h, const tcp_callbacks *cb, void *ctx, tcp_counters *counters,
                   size_t max_pending);
/* Feeds one segment of this direction: seq is the segment's sequence number, flags its
 * TCP flags, data/len its payload (may be empty). A SYN sets the initial sequence
 * (the first data byte is seq + 1). Without a SYN, the first segment with payload or
 * FIN starts the stream at its own seq (a connection already open when the capture
 * began). */
void tcp_half_feed(tcp_half *h, uint32_t seq, uint8_t flags, const uint8_t *data, size_t len,
                   int64_t ts_us);
/* Gives up on every hole: delivers what is held, in order, with a gap before each
 * missing range. Then, if the FIN has been reached, calls end. Used when the
 * connection closes, expires, or the capture ends. */
void tcp_half_drain(tcp_half *h, int64_t ts_us);
/* Frees held segments (no callbacks). */
void tcp_half_free(tcp_half *h);

#endif
