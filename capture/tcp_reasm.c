/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_reasm.c — TCP reassembly of one direction of one connection (see tcp_reasm.h).
 *
 * A half keeps `next_seq`, the next byte owed to the application, and a sorted singly
 * linked list of held segments: non-overlapping byte ranges, each strictly after
 * next_seq, each carrying a private copy of its payload and its capture time. Sequence
 * numbers are compared modulo 2^32 as signed distances, which is sound because every
 * live number is kept within REASM_WINDOW (1 GiB) of next_seq: a segment farther ahead
 * or behind is garbage (another connection's numbers, a corrupt header) and is dropped
 * without allocating anything for it.
 *
 * An arriving payload is trimmed first against what was delivered (bytes before
 * next_seq), then against the FIN, then against the held ranges — the first copy of each
 * byte wins, as in most receiving stacks, and the trimmed bytes are counted. If what is
 * left starts at next_seq it is delivered straight from the caller's buffer (no copy on
 * the common in-order path), interleaved with the held segments it reaches. Otherwise
 * its new pieces are copied into the list. A segment that would break the per-half or
 * the global bound makes the half give up on its first hole first: the hole is reported
 * as a gap and the data behind it delivered, until the segment fits or can be delivered.
 */
#include "tcp_reasm.h"

#include <stdlib.h>
#include <string.h>

/* Farthest distance from next_seq, either way, that a segment may lie and still be
 * taken as part of this stream. Far below 2^31, so signed distances never wrap. */
#define REASM_WINDOW ((int64_t)1 << 30)

struct tcp_segment {
    tcp_segment *next;
    uint32_t seq;
    uint32_t len;
    int64_t ts_us;
    uint8_t data[];
};

/* ---- sequence arithmetic ------------------------------------------------------------ */

/* Signed distance from b to a, modulo 2^32. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static bool seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) <= 0;
}

static uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

static uint32_t segment_end(const tcp_segment *s)
{
    return s->seq + s->len;
}

/* ---- the held list -------------------------------------------------------------------- */

static void counters_add_buffered(tcp_counters *c, size_t n)
{
    c->buffered += n;
    if (c->buffered > c->buffered_peak)
        c->buffered_peak = c->buffered;
}

/* Unlinks and returns the first held segment, releasing its bytes from both bounds. */
static tcp_segment *half_pop(tcp_half *h)
{
    tcp_segment *s = h->pending;
    h->pending = s->next;
    h->pending_bytes -= s->len;
    h->counters->buffered -= s->len;
    return s;
}

/* Copies [seq, seq + len) and links it at *link. On allocation failure the bytes are
 * simply not held: they become part of a hole, reported as a gap later. */
static tcp_segment **half_hold_piece(tcp_half *h, tcp_segment **link, uint32_t seq,
                                     const uint8_t *data, size_t len, int64_t ts_us)
{
    tcp_segment *s = malloc(sizeof *s + len);
    if (!s)
        return link;
    s->seq = seq;
    s->len = (uint32_t)len;
    s->ts_us = ts_us;
    memcpy(s->data, data, len);
    s->next = *link;
    *link = s;
    h->pending_bytes += len;
    counters_add_buffered(h->counters, len);
    return &s->next;
}

/* Bytes of [seq, seq + len) that no held segment covers. */
static size_t half_count_fresh(const tcp_half *h, uint32_t seq, size_t len)
{
    uint32_t end = seq + (uint32_t)len;
    size_t covered = 0;
    for (const tcp_segment *s = h->pending; s && seq_lt(s->seq, end); s = s->next) {
        if (seq_le(segment_end(s), seq))
            continue;
        uint32_t from = seq_lt(s->seq, seq) ? seq : s->seq;
        covered += (uint32_t)(seq_min(segment_end(s), end) - from);
    }
    return len - covered;
}

/* Drops held bytes at or after `limit` (data a peer sent beyond its own FIN). */
static void half_discard_from(tcp_half *h, uint32_t limit)
{
    tcp_segment **link = &h->pending;
    while (*link && seq_le(segment_end(*link), limit))
        link = &(*link)->next;
    tcp_segment *s = *link;
    if (s && seq_lt(s->seq, limit)) {
        size_t cut = (uint32_t)(segment_end(s) - limit);
        s->len -= (uint32_t)cut;
        h->pending_bytes -= cut;
        h->counters->buffered -= cut;
        link = &s->next;
    }
    while (*link) {
        tcp_segment *gone = *link;
        *link = gone->next;
        h->pending_bytes -= gone->len;
        h->counters->buffered -= gone->len;
        free(gone);
    }
}

/* ---- delivery ------------------------------------------------------------------------- */

/* Delivers every held segment that now starts at next_seq, each with its own time. */
static void half_deliver_held(tcp_half *h)
{
    while (h->pending && h->pending->seq == h->next_seq) {
        tcp_segment *s = half_pop(h);
        h->next_seq += s->len;
        h->cb.data(h->ctx, s->data, s->len, s->ts_us);
        free(s);
    }
}

/* Reports [next_seq, to) as missing, moves past it and delivers what follows. */
static void half_skip_to(tcp_half *h, uint32_t to, int64_t ts_us)
{
    uint64_t missing = (uint32_t)(to - h->next_seq);
    h->counters->gaps++;
    h->counters->gap_bytes += missing;
    h->next_seq = to;
    h->cb.gap(h->ctx, missing, ts_us);
    half_deliver_held(h);
}

/* Delivers [seq, seq + len), which starts at or before next_seq and ends after it,
 * interleaved with the held segments it reaches (their bytes win where they overlap). */
static void half_deliver_from(tcp_half *h, uint32_t seq, const uint8_t *data, size_t len,
                              int64_t ts_us)
{
    while (len > 0) {
        size_t skip = seq_lt(seq, h->next_seq) ? (uint32_t)(h->next_seq - seq) : 0;
        if (skip >= len)
            return;
        seq += (uint32_t)skip;
        data += skip;
        len -= skip;
        size_t piece = len;
        if (h->pending && (uint32_t)(h->pending->seq - seq) < piece)
            piece = (uint32_t)(h->pending->seq - seq);
        h->next_seq += (uint32_t)piece;
        h->cb.data(h->ctx, data, piece, ts_us);
        seq += (uint32_t)piece;
        data += piece;
        len -= piece;
        half_deliver_held(h);
    }
}

/* Copies the pieces of [seq, seq + len) that no held segment covers into the list. */
static void half_hold(tcp_half *h, uint32_t seq, const uint8_t *data, size_t len,
                      int64_t ts_us)
{
    tcp_segment **link = &h->pending;
    while (len > 0) {
        while (*link && seq_le(segment_end(*link), seq))
            link = &(*link)->next;
        const tcp_segment *s = *link;
        size_t step;
        if (s && seq_le(s->seq, seq)) {
            step = (uint32_t)(segment_end(s) - seq);
            if (step > len)
                step = len;
        } else {
            step = len;
            if (s && (uint32_t)(s->seq - seq) < step)
                step = (uint32_t)(s->seq - seq);
            link = half_hold_piece(h, link, seq, data, step, ts_us);
        }
        seq += (uint32_t)step;
        data += step;
        len -= step;
    }
}

/* ---- bounds ----------------------------------------------------------------------------- */

static bool half_fits(const tcp_half *h, size_t more)
{
    const tcp_counters *c = h->counters;
    if (h->pending_bytes + more > h->max_pending)
        return false;
    return c->max_total == 0 || c->buffered + more <= c->max_total;
}

/* Gives up on the hole at next_seq, which ends at the first held segment or at `seq`
 * (the segment being placed), whichever comes first: no byte in hand is skipped. */
static void half_give_up_first_hole(tcp_half *h, uint32_t seq, int64_t ts_us)
{
    uint32_t to = h->pending ? seq_min(h->pending->seq, seq) : seq;
    h->counters->given_up++;
    half_skip_to(h, to, ts_us);
}

/* ---- segments ----------------------------------------------------------------------------- */

/* True when [seq, seq + len) is too far from next_seq to belong to this stream. */
static bool half_is_garbage(const tcp_half *h, uint32_t seq, size_t len)
{
    int64_t off = seq_diff(seq, h->next_seq);
    return (int64_t)len > REASM_WINDOW || off > REASM_WINDOW || off < -REASM_WINDOW;
}

/* Cuts from the segment the bytes already delivered and any past a known FIN. */
static void half_trim(const tcp_half *h, uint32_t *seq, const uint8_t **data, size_t *len)
{
    if (seq_lt(*seq, h->next_seq)) {
        size_t old = (uint32_t)(h->next_seq - *seq);
        old = old < *len ? old : *len;
        *seq += (uint32_t)old;
        *data += old;
        *len -= old;
    }
    if (h->fin_seen) {
        int32_t room = seq_diff(h->fin_seq, *seq);
        *len = room <= 0 ? 0 : ((size_t)room < *len ? (size_t)room : *len);
    }
}

/* Takes the payload of a segment of a started stream. */
static void half_take_payload(tcp_half *h, uint32_t seq, const uint8_t *data, size_t len,
                              int64_t ts_us)
{
    tcp_counters *c = h->counters;
    size_t sent = len;
    half_trim(h, &seq, &data, &len);
    size_t fresh = len ? half_count_fresh(h, seq, len) : 0;
    if (fresh == 0) {
        c->retransmitted++;
        return;
    }
    c->overlap_bytes += sent - fresh;
    for (;;) {
        if (seq_le(seq, h->next_seq)) {
            half_deliver_from(h, seq, data, len, ts_us);
            return;
        }
        if (half_fits(h, fresh)) {
            c->out_of_order++;
            half_hold(h, seq, data, len, ts_us);
            return;
        }
        half_give_up_first_hole(h, seq, ts_us);
    }
}

/* Records the FIN at `fin` unless one is known already or it contradicts what was
 * delivered; held bytes beyond it are dropped, so next_seq stops exactly at the FIN. */
static void half_note_fin(tcp_half *h, uint32_t fin)
{
    if (h->fin_seen || seq_lt(fin, h->next_seq))
        return;
    h->fin_seen = true;
    h->fin_seq = fin;
    half_discard_from(h, fin);
}

static void half_end(tcp_half *h, bool reset, int64_t ts_us)
{
    h->ended = true;
    h->cb.end(h->ctx, reset, ts_us);
}

static void half_end_if_fin_reached(tcp_half *h, int64_t ts_us)
{
    if (!h->ended && h->fin_seen && h->next_seq == h->fin_seq)
        half_end(h, false, ts_us);
}

/* Gives up on every hole: the ones between held segments and the one before the FIN. */
static void half_give_up_all(tcp_half *h, int64_t ts_us)
{
    if (!h->started)
        return;
    while (h->pending)
        half_skip_to(h, h->pending->seq, ts_us);
    if (h->fin_seen && h->next_seq != h->fin_seq)
        half_skip_to(h, h->fin_seq, ts_us);
}

static void half_start(tcp_half *h, uint32_t seq)
{
    h->next_seq = seq;
    h->started = true;
}

/* ---- public API ------------------------------------------------------------------------- */

void tcp_half_init(tcp_half *h, const tcp_callbacks *cb, void *ctx, tcp_counters *counters,
                   size_t max_pending)
{
    memset(h, 0, sizeof *h);
    h->cb = *cb;
    h->ctx = ctx;
    h->counters = counters;
    h->max_pending = max_pending;
}

void tcp_half_feed(tcp_half *h, uint32_t seq, uint8_t flags, const uint8_t *data, size_t len,
                   int64_t ts_us)
{
    h->counters->segments++;
    bool syn = flags & TCP_FLAG_SYN, fin = flags & TCP_FLAG_FIN, rst = flags & TCP_FLAG_RST;
    if (h->ended) {
        if (len > 0)
            h->counters->retransmitted++;
        return;
    }
    if (!syn && !fin && !rst && len == 0)
        return;
    uint32_t data_seq = syn ? seq + 1 : seq;
    if (!h->started && (syn || len > 0 || fin))
        half_start(h, data_seq);
    if (h->started && (len > 0 || fin)) {
        if (half_is_garbage(h, data_seq, len)) {
            h->counters->retransmitted++;
        } else {
            if (len > 0)
                half_take_payload(h, data_seq, data, len, ts_us);
            if (fin)
                half_note_fin(h, data_seq + (uint32_t)len);
        }
    }
    half_end_if_fin_reached(h, ts_us);
    if (rst && !h->ended) {
        half_give_up_all(h, ts_us);
        half_end(h, true, ts_us);
    }
}

void tcp_half_drain(tcp_half *h, int64_t ts_us)
{
    if (h->ended)
        return;
    half_give_up_all(h, ts_us);
    half_end_if_fin_reached(h, ts_us);
}

void tcp_half_free(tcp_half *h)
{
    while (h->pending)
        free(half_pop(h));
}
