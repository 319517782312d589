/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tcp_reasm.c — TCP reassembly of one direction: in-order and reordered delivery,
 * duplicates and byte-exact overlap trimming (first copy wins), gaps when the stream is
 * drained or a buffer bound is hit (per half and shared), FIN and RST endings, sequence
 * wrap-around, pick-up without a SYN, garbage segments, and the buffered-byte counters.
 *
 * A sink collects what the callbacks report: the delivered bytes, each data call, each
 * gap at its position in the stream, and the end. Its `pos` counts delivered plus
 * missing bytes, so gaps are asserted at exact stream offsets; with `expect` set, every
 * delivered byte is also checked against the original stream at that offset.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "capture/tcp_reasm.h"

/* ---- the sink ------------------------------------------------------------------------ */

typedef struct data_event {
    uint64_t at; /* stream position of the first byte */
    size_t len;
    int64_t ts_us;
} data_event;

typedef struct gap_event {
    uint64_t at; /* stream position of the first missing byte */
    uint64_t missing;
    int64_t ts_us;
} gap_event;

typedef struct sink {
    uint8_t *out; /* delivered bytes, concatenated */
    size_t len, cap;
    uint64_t pos; /* delivered + missing bytes so far */
    data_event *data;
    size_t ndata, data_cap;
    gap_event *gaps;
    size_t ngaps, gaps_cap;
    const uint8_t *expect; /* optional: the original stream, indexed by pos */
    size_t expect_len;
    size_t mismatches;    /* delivered bytes that differ from expect */
    size_t empty_calls;   /* data calls with len 0 (never expected) */
    size_t calls_after_end;
    int ends;
    bool reset;
    int64_t end_ts;
} sink;

static void *grow(void *p, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    p = realloc(p, n * item);
    cr_assert_not_null(p);
    *cap = n;
    return p;
}

static void sink_data(void *ctx, const uint8_t *data, size_t len, int64_t ts_us)
{
    sink *s = ctx;
    if (len == 0)
        s->empty_calls++;
    if (s->ends)
        s->calls_after_end++;
    if (s->expect)
        for (size_t i = 0; i < len; i++)
            if (s->pos + i >= s->expect_len || s->expect[s->pos + i] != data[i])
                s->mismatches++;
    s->out = grow(s->out, &s->cap, s->len + len, 1);
    memcpy(s->out + s->len, data, len);
    s->len += len;
    s->data = grow(s->data, &s->data_cap, s->ndata + 1, sizeof *s->data);
    s->data[s->ndata++] = (data_event){s->pos, len, ts_us};
    s->pos += len;
}

static void sink_gap(void *ctx, uint64_t missing, int64_t ts_us)
{
    sink *s = ctx;
    if (s->ends)
        s->calls_after_end++;
    s->gaps = grow(s->gaps, &s->gaps_cap, s->ngaps + 1, sizeof *s->gaps);
    s->gaps[s->ngaps++] = (gap_event){s->pos, missing, ts_us};
    s->pos += missing;
}

static void sink_end(void *ctx, bool reset, int64_t ts_us)
{
    sink *s = ctx;
    s->ends++;
    s->reset = reset;
    s->end_ts = ts_us;
}

static void sink_free(sink *s)
{
    free(s->out);
    free(s->data);
    free(s->gaps);
}

static const tcp_callbacks sink_callbacks = {sink_data, sink_gap, sink_end};

/* ---- harness: one half, its sink, its counters -------------------------------------- */

#define ISN 5000u
#define NO_LIMIT ((size_t)1 << 30)

typedef struct harness {
    tcp_counters c;
    tcp_half h;
    sink s;
    const uint8_t *stream; /* the original bytes; stream offset 0 is at `base` */
    uint32_t base;
} harness;

/* A deterministic xorshift generator: each test's "random" input is reproducible. */
static uint32_t rng_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static uint32_t rng_below(uint32_t *state, uint32_t n)
{
    return rng_next(state) % n;
}

/* n bytes whose value depends on the offset, so misplaced bytes are caught. */
static uint8_t *make_stream(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    uint32_t st = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(rng_next(&st) >> 11);
    return b;
}

static void harness_init(harness *t, size_t max_pending, const uint8_t *stream, uint32_t base)
{
    memset(t, 0, sizeof *t);
    tcp_half_init(&t->h, &sink_callbacks, &t->s, &t->c, max_pending);
    t->stream = stream;
    t->base = base;
}

static void harness_fini(harness *t)
{
    tcp_half_free(&t->h);
    sink_free(&t->s);
}

/* Feeds stream bytes [from, to) with the given flags. */
static void feed_range(harness *t, size_t from, size_t to, uint8_t flags, int64_t ts)
{
    tcp_half_feed(&t->h, t->base + (uint32_t)from, flags | TCP_FLAG_ACK, t->stream + from,
                  to - from, ts);
}

/* Feeds `len` bytes of `fill` at stream offset `from` (a copy differing from the stream). */
static void feed_fill(harness *t, size_t from, size_t len, uint8_t fill, int64_t ts)
{
    uint8_t buf[256];
    cr_assert(len <= sizeof buf);
    memset(buf, fill, len);
    tcp_half_feed(&t->h, t->base + (uint32_t)from, TCP_FLAG_ACK, buf, len, ts);
}

static void feed_syn(harness *t, int64_t ts)
{
    tcp_half_feed(&t->h, t->base - 1, TCP_FLAG_SYN, NULL, 0, ts);
}

static void feed_flags(harness *t, size_t at, uint8_t flags, int64_t ts)
{
    tcp_half_feed(&t->h, t->base + (uint32_t)at, flags | TCP_FLAG_ACK, NULL, 0, ts);
}

/* Asserts the delivered bytes are exactly these stream ranges, concatenated. */
static void assert_delivered_ranges(const harness *t, const size_t (*ranges)[2], size_t n)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = ranges[i][1] - ranges[i][0];
        cr_assert_leq(off + len, t->s.len, "delivered %zu bytes, expected more", t->s.len);
        cr_assert(memcmp(t->s.out + off, t->stream + ranges[i][0], len) == 0,
                  "range [%zu,%zu) delivered wrong", ranges[i][0], ranges[i][1]);
        off += len;
    }
    cr_assert_eq(t->s.len, off, "delivered %zu bytes, expected %zu", t->s.len, off);
    cr_assert_eq(t->s.empty_calls, 0);
    cr_assert_eq(t->s.calls_after_end, 0);
}

#define ASSERT_DELIVERED(t, ...)                                                              \
    do {                                                                                      \
        static const size_t ranges_[][2] = {__VA_ARGS__};                                     \
        assert_delivered_ranges((t), ranges_, sizeof ranges_ / sizeof ranges_[0]);            \
    } while (0)

static void assert_gap(const harness *t, size_t i, uint64_t at, uint64_t missing)
{
    cr_assert_gt(t->s.ngaps, i, "only %zu gaps", t->s.ngaps);
    cr_assert_eq(t->s.gaps[i].at, at, "gap %zu at %llu, expected %llu", i,
                 (unsigned long long)t->s.gaps[i].at, (unsigned long long)at);
    cr_assert_eq(t->s.gaps[i].missing, missing, "gap %zu of %llu, expected %llu", i,
                 (unsigned long long)t->s.gaps[i].missing, (unsigned long long)missing);
}

/* Asserts the half holds nothing and the shared counter agrees. */
static void assert_nothing_held(const harness *t)
{
    cr_assert_null(t->h.pending);
    cr_assert_eq(t->h.pending_bytes, 0);
    cr_assert_eq(t->c.buffered, 0);
}

/* ---- in order ------------------------------------------------------------------------- */

Test(tcp_reasm, in_order_delivery)
{
    uint8_t *st = make_stream(300, 1);
    harness t;
    harness_init(&t, NO_LIMIT, st, 1000);
    feed_range(&t, 0, 100, 0, 1);
    feed_range(&t, 100, 200, 0, 2);
    feed_range(&t, 200, 300, 0, 3);
    ASSERT_DELIVERED(&t, {0, 300});
    cr_assert_eq(t.s.ndata, 3);
    cr_assert_eq(t.s.data[2].ts_us, 3);
    cr_assert_eq(t.c.segments, 3);
    cr_assert_eq(t.c.out_of_order, 0);
    cr_assert_eq(t.c.retransmitted, 0);
    cr_assert_eq(t.c.overlap_bytes, 0);
    cr_assert_eq(t.c.gaps, 0);
    cr_assert_eq(t.c.buffered_peak, 0);
    cr_assert_eq(t.h.next_seq, 1300);
    cr_assert(t.h.started);
    cr_assert_eq(t.s.ends, 0);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, syn_then_data_then_fin)
{
    uint8_t *st = make_stream(120, 2);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 1);
    cr_assert(t.h.started);
    cr_assert_eq(t.h.next_seq, ISN + 1);
    feed_flags(&t, 0, 0, 2); /* the handshake's pure ACK */
    feed_range(&t, 0, 50, 0, 3);
    feed_range(&t, 50, 120, TCP_FLAG_FIN, 4);
    ASSERT_DELIVERED(&t, {0, 120});
    cr_assert_eq(t.s.ends, 1);
    cr_assert_not(t.s.reset);
    cr_assert_eq(t.s.end_ts, 4);
    cr_assert(t.h.fin_seen);
    cr_assert_eq(t.h.fin_seq, ISN + 121);
    cr_assert_eq(t.h.next_seq, ISN + 121);
    cr_assert(t.h.ended);
    cr_assert_eq(t.c.segments, 4);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, syn_retransmission_is_ignored)
{
    uint8_t *st = make_stream(20, 3);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 1);
    feed_range(&t, 0, 10, 0, 2);
    feed_syn(&t, 3);
    cr_assert_eq(t.h.next_seq, ISN + 11);
    feed_range(&t, 10, 20, 0, 4);
    ASSERT_DELIVERED(&t, {0, 20});
    cr_assert_eq(t.c.retransmitted, 0);
    cr_assert_eq(t.c.segments, 4);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, syn_with_payload_fast_open)
{
    uint8_t *st = make_stream(11, 4);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    tcp_half_feed(&t.h, ISN, TCP_FLAG_SYN, st, 5, 1);
    cr_assert_eq(t.h.next_seq, ISN + 6);
    feed_range(&t, 5, 11, 0, 2);
    ASSERT_DELIVERED(&t, {0, 11});
    tcp_half_feed(&t.h, ISN, TCP_FLAG_SYN, st, 5, 3); /* the SYN, retransmitted */
    ASSERT_DELIVERED(&t, {0, 11});
    cr_assert_eq(t.c.retransmitted, 1);
    cr_assert_eq(t.s.data[0].ts_us, 1);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, pure_acks_only_count_segments)
{
    uint8_t *st = make_stream(10, 5);
    harness t;
    harness_init(&t, NO_LIMIT, st, 700);
    tcp_half_feed(&t.h, 123, TCP_FLAG_ACK, NULL, 0, 1);
    tcp_half_feed(&t.h, 456, 0, NULL, 0, 2);
    cr_assert_not(t.h.started);
    cr_assert_eq(t.c.segments, 2);
    feed_range(&t, 0, 10, 0, 3);
    tcp_half_feed(&t.h, 0x80000000u, TCP_FLAG_ACK, NULL, 0, 4); /* any seq at all */
    tcp_half_feed(&t.h, 710, TCP_FLAG_ACK, NULL, 0, 5);
    cr_assert_eq(t.c.segments, 5);
    cr_assert_eq(t.c.retransmitted + t.c.out_of_order + t.c.overlap_bytes, 0);
    cr_assert_eq(t.c.gaps + t.c.gap_bytes + t.c.given_up, 0);
    cr_assert_eq(t.c.buffered + t.c.buffered_peak, 0);
    cr_assert_eq(t.h.next_seq, 710);
    cr_assert_eq(t.h.pending_bytes, 0);
    cr_assert_not(t.h.fin_seen);
    cr_assert_not(t.h.ended);
    cr_assert_eq(t.s.ends, 0);
    ASSERT_DELIVERED(&t, {0, 10});
    cr_assert_eq(t.s.ngaps, 0);
    harness_fini(&t);
    free(st);
}

/* ---- reordering ----------------------------------------------------------------------- */

Test(tcp_reasm, reverse_order_held_then_delivered_with_own_timestamps)
{
    uint8_t *st = make_stream(1000, 6);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    for (int i = 9; i >= 1; i--)
        feed_range(&t, (size_t)i * 100, (size_t)i * 100 + 100, 0, 100 + i);
    cr_assert_eq(t.s.len, 0);
    cr_assert_eq(t.c.out_of_order, 9);
    cr_assert_eq(t.h.pending_bytes, 900);
    cr_assert_eq(t.c.buffered, 900);
    cr_assert_eq(t.c.buffered_peak, 900);
    feed_range(&t, 0, 100, 0, 100);
    ASSERT_DELIVERED(&t, {0, 1000});
    cr_assert_eq(t.s.ndata, 10);
    for (size_t i = 0; i < 10; i++) {
        cr_assert_eq(t.s.data[i].at, i * 100);
        cr_assert_eq(t.s.data[i].ts_us, 100 + (int64_t)i, "segment %zu delivered at ts %lld",
                     i, (long long)t.s.data[i].ts_us);
    }
    assert_nothing_held(&t);
    cr_assert_eq(t.c.buffered_peak, 900);
    harness_fini(&t);
    free(st);
}

typedef struct piece {
    size_t from, to;
} piece;

/* Cuts [0, n) into segments of 1..max_len bytes. Returns the count; *out is owned. */
static size_t cut_stream(size_t n, size_t max_len, uint32_t *rng, piece **out)
{
    piece *p = malloc((n + 1) * sizeof *p);
    cr_assert_not_null(p);
    size_t count = 0;
    for (size_t off = 0; off < n;) {
        size_t len = 1 + rng_below(rng, (uint32_t)max_len);
        if (len > n - off)
            len = n - off;
        p[count++] = (piece){off, off + len};
        off += len;
    }
    *out = p;
    return count;
}

static void shuffle(piece *p, size_t n, uint32_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(rng, (uint32_t)i);
        piece tmp = p[i - 1];
        p[i - 1] = p[j];
        p[j] = tmp;
    }
}

/* A model of the reassembler for a permutation of a clean cut: which arrivals are out
 * of order and the most bytes held at once. */
static void model_reordering(const piece *order, size_t n, size_t stream_len,
                             uint64_t *out_of_order, size_t *peak)
{
    bool *have = calloc(stream_len + 1, 1);
    size_t *len_at = calloc(stream_len + 1, sizeof *len_at);
    cr_assert(have && len_at);
    size_t next = 0, held = 0;
    *out_of_order = 0;
    *peak = 0;
    for (size_t i = 0; i < n; i++) {
        const piece *p = &order[i];
        if (p->from != next) {
            have[p->from] = true;
            len_at[p->from] = p->to - p->from;
            held += p->to - p->from;
            (*out_of_order)++;
            if (held > *peak)
                *peak = held;
            continue;
        }
        next = p->to;
        while (next < stream_len && have[next]) {
            held -= len_at[next];
            next += len_at[next];
        }
    }
    free(have);
    free(len_at);
}

Test(tcp_reasm, shuffled_64k_permutations_deliver_the_exact_stream)
{
    enum { N = 64 * 1024 };
    for (uint32_t seed = 1; seed <= 24; seed++) {
        uint32_t rng = seed * 7919u;
        uint8_t *st = make_stream(N, seed);
        piece *p;
        size_t n = cut_stream(N, 1460, &rng, &p);
        shuffle(p, n, &rng);
        /* Half the runs start near the top of the sequence space, to wrap mid-stream. */
        uint32_t isn = (seed & 1) ? 0xFFFFFFFFu - rng_below(&rng, 40000) : rng_next(&rng);
        harness t;
        harness_init(&t, NO_LIMIT, st, isn + 1);
        feed_syn(&t, 0);
        for (size_t i = 0; i < n; i++)
            feed_range(&t, p[i].from, p[i].to, p[i].to == N ? TCP_FLAG_FIN : 0,
                       (int64_t)i + 1);
        cr_assert_eq(t.s.len, (size_t)N, "seed %u: delivered %zu bytes", seed, t.s.len);
        cr_assert(memcmp(t.s.out, st, N) == 0, "seed %u: stream differs", seed);
        uint64_t ooo;
        size_t peak;
        model_reordering(p, n, N, &ooo, &peak);
        cr_assert_eq(t.c.out_of_order, ooo, "seed %u", seed);
        cr_assert_eq(t.c.buffered_peak, peak, "seed %u", seed);
        cr_assert_eq(t.c.segments, n + 1);
        cr_assert_eq(t.c.retransmitted, 0);
        cr_assert_eq(t.c.overlap_bytes, 0);
        cr_assert_eq(t.c.gaps, 0);
        cr_assert_eq(t.s.ngaps, 0);
        cr_assert_eq(t.s.ends, 1, "seed %u: %d ends", seed, t.s.ends);
        cr_assert_not(t.s.reset);
        cr_assert_eq(t.h.next_seq, isn + 1 + N);
        assert_nothing_held(&t);
        harness_fini(&t);
        free(p);
        free(st);
    }
}

/* Two different cuts of the same stream, with a third of the second cut resent, all
 * shuffled together: every copy carries the stream's bytes, so whatever is trimmed the
 * result is the stream, and the fed bytes are fully accounted for. */
Test(tcp_reasm, shuffled_with_resegmented_retransmissions)
{
    enum { N = 64 * 1024 };
    for (uint32_t seed = 1; seed <= 12; seed++) {
        uint32_t rng = seed * 104729u;
        uint8_t *st = make_stream(N, seed + 100);
        piece *a, *b;
        size_t na = cut_stream(N, 1460, &rng, &a);
        size_t nb = cut_stream(N, 900, &rng, &b);
        piece *all = malloc((na + nb) * sizeof *all);
        cr_assert_not_null(all);
        memcpy(all, a, na * sizeof *a);
        size_t n = na;
        for (size_t i = 0; i < nb; i++)
            if (rng_below(&rng, 3) == 0)
                all[n++] = b[i];
        shuffle(all, n, &rng);
        harness t;
        harness_init(&t, NO_LIMIT, st, 0xFFFF0000u + seed);
        feed_syn(&t, 0);
        size_t fed = 0;
        for (size_t i = 0; i < n; i++) {
            feed_range(&t, all[i].from, all[i].to, 0, (int64_t)i + 1);
            fed += all[i].to - all[i].from;
        }
        cr_assert_eq(t.s.len, (size_t)N, "seed %u: delivered %zu", seed, t.s.len);
        cr_assert(memcmp(t.s.out, st, N) == 0, "seed %u: stream differs", seed);
        cr_assert_eq(t.c.gaps, 0);
        cr_assert_gt(t.c.retransmitted + t.c.overlap_bytes, 0);
        /* Each fed byte was delivered once, trimmed, or part of a wholly redundant one. */
        cr_assert_geq(fed, N + t.c.overlap_bytes);
        cr_assert_eq(t.c.segments, n + 1);
        assert_nothing_held(&t);
        harness_fini(&t);
        free(all);
        free(a);
        free(b);
        free(st);
    }
}

/* ---- duplicates and overlaps ---------------------------------------------------------- */

Test(tcp_reasm, exact_duplicates_are_retransmissions)
{
    uint8_t *st = make_stream(30, 7);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 0, 10, 0, 2); /* duplicate of delivered bytes */
    feed_range(&t, 20, 30, 0, 3);
    feed_range(&t, 20, 30, 0, 4); /* duplicate of held bytes */
    cr_assert_eq(t.c.retransmitted, 2);
    cr_assert_eq(t.c.out_of_order, 1);
    cr_assert_eq(t.h.pending_bytes, 10);
    cr_assert_eq(t.c.buffered_peak, 10);
    feed_range(&t, 10, 20, 0, 5);
    ASSERT_DELIVERED(&t, {0, 30});
    cr_assert_eq(t.s.data[2].ts_us, 3, "the first copy's time is kept");
    cr_assert_eq(t.c.overlap_bytes, 0);
    cr_assert_eq(t.c.segments, 6);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

/* Asserts the delivered bytes against an expected image built from the stream and fills. */
static void assert_out(const harness *t, const uint8_t *want, size_t n)
{
    cr_assert_eq(t->s.len, n, "delivered %zu bytes, expected %zu", t->s.len, n);
    cr_assert(memcmp(t->s.out, want, n) == 0, "delivered bytes differ");
}

Test(tcp_reasm, overlap_with_start_of_held_range)
{
    uint8_t *st = make_stream(20, 8);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 10, 20, 0, 1);
    feed_fill(&t, 5, 10, 'X', 2); /* [5,15): its [10,15) is already held */
    cr_assert_eq(t.c.overlap_bytes, 5);
    cr_assert_eq(t.c.out_of_order, 2);
    cr_assert_eq(t.h.pending_bytes, 15);
    feed_range(&t, 0, 5, 0, 3);
    uint8_t want[20];
    memcpy(want, st, 20);
    memset(want + 5, 'X', 5);
    assert_out(&t, want, 20);
    cr_assert_eq(t.c.retransmitted, 0);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, overlap_with_end_of_held_range)
{
    uint8_t *st = make_stream(25, 9);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 10, 20, 0, 1);
    feed_fill(&t, 15, 10, 'Y', 2); /* [15,25): its [15,20) is already held */
    cr_assert_eq(t.c.overlap_bytes, 5);
    cr_assert_eq(t.h.pending_bytes, 15);
    feed_range(&t, 0, 10, 0, 3);
    uint8_t want[25];
    memcpy(want, st, 20);
    memset(want + 20, 'Y', 5);
    assert_out(&t, want, 25);
    cr_assert_eq(t.s.ndata, 3);
    cr_assert_eq(t.s.data[2].ts_us, 2);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, overlap_covering_several_held_ranges)
{
    uint8_t *st = make_stream(45, 10);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 10, 20, 0, 1);
    feed_range(&t, 30, 40, 0, 2);
    feed_fill(&t, 5, 40, 'Z', 3); /* [5,45) spans both */
    cr_assert_eq(t.c.overlap_bytes, 20);
    cr_assert_eq(t.h.pending_bytes, 40);
    cr_assert_eq(t.c.buffered_peak, 40);
    cr_assert_eq(t.c.out_of_order, 3);
    feed_range(&t, 0, 5, 0, 4);
    uint8_t want[45];
    memcpy(want, st, 45);
    memset(want + 5, 'Z', 5);
    memset(want + 20, 'Z', 10);
    memset(want + 40, 'Z', 5);
    assert_out(&t, want, 45);
    cr_assert_eq(t.s.ndata, 6);
    const int64_t ts[] = {4, 3, 1, 3, 2, 3};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(t.s.data[i].ts_us, ts[i], "data call %zu", i);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, in_order_segment_spanning_held_ranges_is_interleaved)
{
    uint8_t *st = make_stream(50, 11);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 10, 20, 0, 1);
    feed_range(&t, 30, 40, 0, 2);
    feed_fill(&t, 0, 50, 'W', 3); /* fills the hole and runs past both held ranges */
    uint8_t want[50];
    memset(want, 'W', 50);
    memcpy(want + 10, st + 10, 10);
    memcpy(want + 30, st + 30, 10);
    assert_out(&t, want, 50);
    cr_assert_eq(t.c.overlap_bytes, 20);
    cr_assert_eq(t.s.ndata, 5);
    const int64_t ts[] = {3, 1, 3, 2, 3};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(t.s.data[i].ts_us, ts[i], "data call %zu", i);
    cr_assert_eq(t.h.next_seq, ISN + 51);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, retransmission_over_delivered_bytes_plus_new_ones)
{
    uint8_t *st = make_stream(150, 12);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 100, 0, 1);
    uint8_t seg[100];
    memset(seg, 'R', 50); /* a different copy of [50,100): must not be delivered */
    memcpy(seg + 50, st + 100, 50);
    tcp_half_feed(&t.h, ISN + 51, TCP_FLAG_ACK, seg, 100, 2);
    ASSERT_DELIVERED(&t, {0, 150});
    cr_assert_eq(t.c.overlap_bytes, 50);
    cr_assert_eq(t.c.retransmitted, 0);
    cr_assert_eq(t.s.ndata, 2);
    cr_assert_eq(t.s.data[1].len, 50);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, retransmission_over_delivered_and_held_bytes)
{
    uint8_t *st = make_stream(30, 13);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 20, 30, 0, 2);
    feed_range(&t, 5, 25, 0, 3);
    ASSERT_DELIVERED(&t, {0, 30});
    cr_assert_eq(t.c.overlap_bytes, 10);
    cr_assert_eq(t.c.retransmitted, 0);
    cr_assert_eq(t.s.data[2].ts_us, 2);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

/* ---- holes ------------------------------------------------------------------------------ */

Test(tcp_reasm, drain_reports_each_hole_exactly)
{
    uint8_t *st = make_stream(350, 14);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 300, 350, 0, 2);
    feed_range(&t, 100, 200, 0, 3);
    tcp_half_drain(&t.h, 99);
    ASSERT_DELIVERED(&t, {0, 10}, {100, 200}, {300, 350});
    cr_assert_eq(t.s.ngaps, 2);
    assert_gap(&t, 0, 10, 90);
    assert_gap(&t, 1, 200, 100);
    cr_assert_eq(t.s.gaps[0].ts_us, 99);
    cr_assert_eq(t.s.data[1].ts_us, 3);
    cr_assert_eq(t.s.data[2].ts_us, 2);
    cr_assert_eq(t.c.gaps, 2);
    cr_assert_eq(t.c.gap_bytes, 190);
    cr_assert_eq(t.c.given_up, 0);
    cr_assert_eq(t.s.ends, 0, "no FIN: the stream did not end");
    cr_assert_eq(t.h.next_seq, ISN + 351);
    assert_nothing_held(&t);
    tcp_half_drain(&t.h, 100); /* again: nothing more to say */
    cr_assert_eq(t.s.ngaps, 2);
    cr_assert_eq(t.s.ndata, 3);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, drain_with_hole_before_fin_ends_the_stream)
{
    uint8_t *st = make_stream(60, 15);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 50, 60, TCP_FLAG_FIN, 2);
    cr_assert(t.h.fin_seen);
    cr_assert_eq(t.s.ends, 0);
    tcp_half_drain(&t.h, 7);
    ASSERT_DELIVERED(&t, {0, 10}, {50, 60});
    cr_assert_eq(t.s.ngaps, 1);
    assert_gap(&t, 0, 10, 40);
    cr_assert_eq(t.s.ends, 1);
    cr_assert_not(t.s.reset);
    cr_assert_eq(t.s.end_ts, 7);
    tcp_half_drain(&t.h, 8);
    cr_assert_eq(t.s.ends, 1);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, drain_gap_up_to_a_bare_fin)
{
    uint8_t *st = make_stream(10, 16);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_flags(&t, 100, TCP_FLAG_FIN, 2); /* FIN after 90 bytes never seen */
    cr_assert_eq(t.s.ends, 0);
    tcp_half_drain(&t.h, 3);
    assert_gap(&t, 0, 10, 90);
    cr_assert_eq(t.c.gap_bytes, 90);
    cr_assert_eq(t.s.ends, 1);
    cr_assert_not(t.s.reset);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, drain_of_an_unstarted_half_does_nothing)
{
    harness t;
    harness_init(&t, NO_LIMIT, NULL, 0);
    tcp_half_drain(&t.h, 1);
    cr_assert_eq(t.s.ngaps + t.s.ndata + (size_t)t.s.ends, 0);
    cr_assert_eq(t.c.gaps, 0);
    harness_fini(&t);
}

/* Random cut, some segments lost, some resent, all shuffled, FIN on the last; drained at
 * the end. Without a bound every byte seen is delivered and each unseen run is exactly
 * one gap at its own offset. */
Test(tcp_reasm, lost_segments_become_exact_gaps)
{
    enum { N = 64 * 1024 };
    for (uint32_t seed = 1; seed <= 12; seed++) {
        uint32_t rng = seed * 31337u;
        uint8_t *st = make_stream(N, seed + 200);
        piece *p;
        size_t n = cut_stream(N, 1460, &rng, &p);
        piece *sent = malloc(2 * n * sizeof *sent);
        bool *seen = calloc(N, 1);
        cr_assert(sent && seen);
        size_t ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i].to != N && rng_below(&rng, 8) == 0)
                continue; /* lost */
            sent[ns++] = p[i];
            if (rng_below(&rng, 10) == 0)
                sent[ns++] = p[i]; /* resent */
            memset(seen + p[i].from, 1, p[i].to - p[i].from);
        }
        shuffle(sent, ns, &rng);
        harness t;
        harness_init(&t, NO_LIMIT, st, ISN + 1);
        t.s.expect = st;
        t.s.expect_len = N;
        feed_syn(&t, 0);
        for (size_t i = 0; i < ns; i++)
            feed_range(&t, sent[i].from, sent[i].to, sent[i].to == N ? TCP_FLAG_FIN : 0,
                       (int64_t)i + 1);
        tcp_half_drain(&t.h, 1000000);
        cr_assert_eq(t.s.mismatches, 0, "seed %u", seed);
        cr_assert_eq(t.s.pos, (uint64_t)N);
        size_t g = 0, seen_bytes = 0;
        for (size_t i = 0; i < N; i++) {
            seen_bytes += seen[i];
            if (seen[i] || (i > 0 && !seen[i - 1]))
                continue;
            size_t run = 0;
            while (i + run < N && !seen[i + run])
                run++;
            assert_gap(&t, g++, i, run);
        }
        cr_assert_eq(t.s.ngaps, g, "seed %u: %zu gaps, expected %zu", seed, t.s.ngaps, g);
        cr_assert_eq(t.s.len, seen_bytes);
        cr_assert_eq(t.c.gaps, g);
        cr_assert_eq(t.c.gap_bytes, N - seen_bytes);
        cr_assert_eq(t.c.given_up, 0);
        cr_assert_eq(t.s.ends, 1);
        cr_assert_not(t.s.reset);
        assert_nothing_held(&t);
        harness_fini(&t);
        free(seen);
        free(sent);
        free(p);
        free(st);
    }
}

/* The same traffic through a small per-half bound: whatever is given up, every byte
 * delivered sits at its true offset, the stream is fully accounted for, the bound holds. */
Test(tcp_reasm, bounded_half_keeps_the_stream_consistent)
{
    enum { N = 64 * 1024, MAX = 8 * 1024 };
    for (uint32_t seed = 1; seed <= 12; seed++) {
        uint32_t rng = seed * 65537u;
        uint8_t *st = make_stream(N, seed + 300);
        piece *p;
        size_t n = cut_stream(N, 1460, &rng, &p);
        piece *sent = malloc(n * sizeof *sent);
        cr_assert_not_null(sent);
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (p[i].to == N || rng_below(&rng, 10) != 0)
                sent[ns++] = p[i];
        shuffle(sent, ns, &rng);
        harness t;
        harness_init(&t, MAX, st, 0xFFFFF000u);
        t.s.expect = st;
        t.s.expect_len = N;
        feed_syn(&t, 0);
        for (size_t i = 0; i < ns; i++)
            feed_range(&t, sent[i].from, sent[i].to, sent[i].to == N ? TCP_FLAG_FIN : 0,
                       (int64_t)i + 1);
        tcp_half_drain(&t.h, 1000000);
        cr_assert_eq(t.s.mismatches, 0, "seed %u", seed);
        cr_assert_eq(t.s.pos, (uint64_t)N, "seed %u: %llu bytes accounted", seed,
                     (unsigned long long)t.s.pos);
        cr_assert_eq(t.s.len + t.c.gap_bytes, (uint64_t)N);
        cr_assert_eq(t.c.gaps, t.s.ngaps);
        cr_assert_gt(t.c.given_up, 0, "seed %u: the bound was never hit", seed);
        cr_assert_leq(t.c.buffered_peak, (size_t)MAX);
        cr_assert_eq(t.s.ends, 1);
        uint64_t sum = 0;
        for (size_t i = 0; i < t.s.ngaps; i++) {
            cr_assert_gt(t.s.gaps[i].missing, 0);
            sum += t.s.gaps[i].missing;
        }
        cr_assert_eq(sum, t.c.gap_bytes);
        assert_nothing_held(&t);
        harness_fini(&t);
        free(sent);
        free(p);
        free(st);
    }
}

/* ---- bounds ------------------------------------------------------------------------------ */

Test(tcp_reasm, per_half_limit_gives_up_the_first_hole)
{
    uint8_t *st = make_stream(1400, 17);
    harness t;
    harness_init(&t, 1000, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 100, 600, 0, 2);
    feed_range(&t, 700, 1200, 0, 3);
    cr_assert_eq(t.h.pending_bytes, 1000, "exactly at the bound is allowed");
    cr_assert_eq(t.c.given_up, 0);
    feed_range(&t, 1300, 1400, 0, 4);
    ASSERT_DELIVERED(&t, {0, 10}, {100, 600});
    cr_assert_eq(t.s.ngaps, 1);
    assert_gap(&t, 0, 10, 90);
    cr_assert_eq(t.s.gaps[0].ts_us, 4);
    cr_assert_eq(t.c.gaps, 1);
    cr_assert_eq(t.c.given_up, 1);
    cr_assert_eq(t.c.gap_bytes, 90);
    cr_assert_eq(t.c.out_of_order, 3);
    cr_assert_eq(t.h.pending_bytes, 600);
    cr_assert_eq(t.c.buffered, 600);
    cr_assert_eq(t.c.buffered_peak, 1000);
    cr_assert_eq(t.h.next_seq, ISN + 601);
    tcp_half_drain(&t.h, 5);
    ASSERT_DELIVERED(&t, {0, 10}, {100, 600}, {700, 1200}, {1300, 1400});
    assert_gap(&t, 1, 600, 100);
    assert_gap(&t, 2, 1200, 100);
    cr_assert_eq(t.c.given_up, 1);
    cr_assert_eq(t.c.gaps, 3);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, per_half_limit_repeats_until_the_segment_fits)
{
    uint8_t *st = make_stream(1600, 18);
    harness t;
    harness_init(&t, 1000, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 100, 200, 0, 2);
    feed_range(&t, 300, 400, 0, 3);
    feed_range(&t, 500, 1000, 0, 4);
    cr_assert_eq(t.h.pending_bytes, 700);
    feed_range(&t, 1100, 1600, 0, 5); /* 1200 > 1000: two holes must go */
    ASSERT_DELIVERED(&t, {0, 10}, {100, 200}, {300, 400});
    cr_assert_eq(t.s.ngaps, 2);
    assert_gap(&t, 0, 10, 90);
    assert_gap(&t, 1, 200, 100);
    cr_assert_eq(t.c.given_up, 2);
    cr_assert_eq(t.c.gap_bytes, 190);
    cr_assert_eq(t.h.pending_bytes, 1000);
    cr_assert_eq(t.c.buffered, 1000);
    cr_assert_eq(t.c.buffered_peak, 1000);
    cr_assert_eq(t.c.out_of_order, 4);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, limit_never_skips_the_bytes_of_the_new_segment)
{
    uint8_t *st = make_stream(200, 19);
    harness t;
    harness_init(&t, 100, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 100, 200, 0, 2);
    feed_range(&t, 50, 60, 0, 3); /* inside the first hole, and over the bound */
    ASSERT_DELIVERED(&t, {0, 10}, {50, 60});
    assert_gap(&t, 0, 10, 40);
    cr_assert_eq(t.c.given_up, 1);
    cr_assert_eq(t.c.out_of_order, 1);
    cr_assert_eq(t.h.pending_bytes, 100);
    feed_range(&t, 10, 50, 0, 4); /* given up on: too late */
    cr_assert_eq(t.c.retransmitted, 1);
    feed_range(&t, 60, 100, 0, 5);
    ASSERT_DELIVERED(&t, {0, 10}, {50, 200});
    cr_assert_eq(t.s.ngaps, 1);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, segment_larger_than_the_limit_is_delivered_after_a_gap)
{
    uint8_t *st = make_stream(200, 20);
    harness t;
    harness_init(&t, 50, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 100, 200, 0, 2);
    ASSERT_DELIVERED(&t, {0, 10}, {100, 200});
    assert_gap(&t, 0, 10, 90);
    cr_assert_eq(t.c.given_up, 1);
    cr_assert_eq(t.c.out_of_order, 0);
    cr_assert_eq(t.c.buffered_peak, 0);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, zero_max_pending_never_holds)
{
    uint8_t *st = make_stream(30, 21);
    harness t;
    harness_init(&t, 0, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 20, 30, 0, 2);
    ASSERT_DELIVERED(&t, {0, 10}, {20, 30});
    assert_gap(&t, 0, 10, 10);
    cr_assert_eq(t.c.given_up, 1);
    cr_assert_eq(t.c.buffered_peak, 0);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, global_limit_is_shared_by_halves)
{
    uint8_t *st = make_stream(1300, 22);
    harness a, b;
    harness_init(&a, NO_LIMIT, st, ISN + 1);
    harness_init(&b, NO_LIMIT, st, 90000);
    tcp_counters shared = {.max_total = 1000};
    tcp_half_init(&a.h, &sink_callbacks, &a.s, &shared, NO_LIMIT);
    tcp_half_init(&b.h, &sink_callbacks, &b.s, &shared, NO_LIMIT);
    feed_syn(&a, 0);
    feed_range(&a, 0, 10, 0, 1);
    feed_range(&a, 100, 700, 0, 2); /* A holds 600 */
    feed_range(&b, 0, 10, 0, 3);
    feed_range(&b, 100, 400, 0, 4); /* B holds 300: 900 in all */
    cr_assert_eq(shared.buffered, 900);
    feed_range(&b, 500, 700, 0, 5); /* 1100 > 1000: B gives up its own first hole */
    ASSERT_DELIVERED(&b, {0, 10}, {100, 400});
    cr_assert_eq(b.s.ngaps, 1);
    assert_gap(&b, 0, 10, 90);
    cr_assert_eq(b.h.pending_bytes, 200);
    cr_assert_eq(a.h.pending_bytes, 600, "the other half is untouched");
    cr_assert_eq(a.s.ngaps, 0);
    cr_assert_eq(shared.buffered, 800);
    cr_assert_eq(shared.buffered_peak, 900);
    cr_assert_eq(shared.given_up, 1);
    cr_assert_eq(shared.gap_bytes, 90);
    /* 800 + 500: B gives up [400,500), delivers [500,700); 600 + 500 still does not fit,
     * so B gives up the hole before the new segment and delivers it at once. */
    feed_range(&b, 800, 1300, 0, 6);
    ASSERT_DELIVERED(&b, {0, 10}, {100, 400}, {500, 700}, {800, 1300});
    cr_assert_eq(b.s.ngaps, 3);
    assert_gap(&b, 1, 400, 100);
    assert_gap(&b, 2, 700, 100);
    cr_assert_eq(shared.given_up, 3);
    cr_assert_eq(shared.gaps, 3);
    cr_assert_eq(shared.gap_bytes, 290);
    cr_assert_eq(shared.buffered, 600);
    cr_assert_eq(b.h.pending_bytes, 0);
    cr_assert_eq(a.h.pending_bytes, 600);
    cr_assert_eq(shared.segments, 7);
    harness_fini(&a);
    harness_fini(&b);
    cr_assert_eq(shared.buffered, 0);
    free(st);
}

/* ---- FIN and RST ----------------------------------------------------------------------- */

Test(tcp_reasm, fin_waits_for_the_hole_before_it)
{
    uint8_t *st = make_stream(30, 23);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 20, 30, TCP_FLAG_FIN, 2);
    cr_assert(t.h.fin_seen);
    cr_assert_eq(t.h.fin_seq, ISN + 31);
    cr_assert_eq(t.s.ends, 0);
    ASSERT_DELIVERED(&t, {0, 10});
    feed_range(&t, 10, 20, 0, 3);
    ASSERT_DELIVERED(&t, {0, 30});
    cr_assert_eq(t.s.ends, 1);
    cr_assert_not(t.s.reset);
    cr_assert_eq(t.s.end_ts, 3);
    feed_range(&t, 20, 30, TCP_FLAG_FIN, 4); /* the FIN, retransmitted */
    cr_assert_eq(t.s.ends, 1);
    cr_assert_eq(t.c.retransmitted, 1);
    cr_assert_eq(t.s.ngaps, 0);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, fin_with_data_and_bare_fin)
{
    uint8_t *st = make_stream(20, 24);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 20, TCP_FLAG_FIN, 1);
    ASSERT_DELIVERED(&t, {0, 20});
    cr_assert_eq(t.s.ends, 1);
    cr_assert_eq(t.s.end_ts, 1);
    harness_fini(&t);

    harness u;
    harness_init(&u, NO_LIMIT, st, ISN + 1);
    feed_syn(&u, 0);
    feed_range(&u, 0, 20, 0, 1);
    cr_assert_eq(u.s.ends, 0);
    feed_flags(&u, 20, TCP_FLAG_FIN, 2);
    feed_flags(&u, 20, TCP_FLAG_FIN, 3);
    ASSERT_DELIVERED(&u, {0, 20});
    cr_assert_eq(u.s.ends, 1);
    cr_assert_eq(u.s.end_ts, 2);
    cr_assert_eq(u.c.retransmitted, 0, "a bare FIN after the end carries no data");
    harness_fini(&u);
    free(st);
}

Test(tcp_reasm, bytes_beyond_the_fin_are_dropped)
{
    uint8_t *st = make_stream(50, 25);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 15, 40, 0, 2);
    feed_flags(&t, 20, TCP_FLAG_FIN, 3);
    cr_assert_eq(t.h.pending_bytes, 5, "held bytes past the FIN are discarded");
    cr_assert_eq(t.c.buffered, 5);
    feed_range(&t, 40, 50, 0, 4);
    cr_assert_eq(t.c.retransmitted, 1);
    feed_range(&t, 10, 30, 0, 5);
    ASSERT_DELIVERED(&t, {0, 20});
    cr_assert_eq(t.s.ends, 1);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, rst_drains_held_data_then_ends_once)
{
    uint8_t *st = make_stream(45, 26);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 20, 30, 0, 2);
    feed_range(&t, 40, 45, 0, 3);
    feed_flags(&t, 10, TCP_FLAG_RST, 9);
    ASSERT_DELIVERED(&t, {0, 10}, {20, 30}, {40, 45});
    cr_assert_eq(t.s.ngaps, 2);
    assert_gap(&t, 0, 10, 10);
    assert_gap(&t, 1, 30, 10);
    cr_assert_eq(t.s.gaps[1].ts_us, 9);
    cr_assert_eq(t.s.ends, 1);
    cr_assert(t.s.reset);
    cr_assert_eq(t.s.end_ts, 9);
    cr_assert_eq(t.c.gaps, 2);
    cr_assert_eq(t.c.gap_bytes, 20);
    cr_assert_eq(t.c.given_up, 0);
    assert_nothing_held(&t);
    feed_flags(&t, 45, TCP_FLAG_RST, 10);
    feed_range(&t, 10, 20, 0, 11);
    tcp_half_drain(&t.h, 12);
    cr_assert_eq(t.s.ends, 1);
    cr_assert_eq(t.s.ngaps, 2);
    cr_assert_eq(t.c.retransmitted, 1);
    ASSERT_DELIVERED(&t, {0, 10}, {20, 30}, {40, 45});
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, rst_after_an_unfinished_fin_is_a_reset)
{
    uint8_t *st = make_stream(30, 27);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    feed_range(&t, 20, 30, TCP_FLAG_FIN, 2);
    feed_flags(&t, 31, TCP_FLAG_RST, 3);
    ASSERT_DELIVERED(&t, {0, 10}, {20, 30});
    assert_gap(&t, 0, 10, 10);
    cr_assert_eq(t.s.ends, 1);
    cr_assert(t.s.reset);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, rst_before_any_data_ends_the_half)
{
    harness t;
    harness_init(&t, NO_LIMIT, NULL, 0);
    tcp_half_feed(&t.h, 77, TCP_FLAG_RST, NULL, 0, 5);
    cr_assert_eq(t.s.ends, 1);
    cr_assert(t.s.reset);
    cr_assert_eq(t.s.end_ts, 5);
    cr_assert_eq(t.s.ndata + t.s.ngaps, 0);
    harness_fini(&t);
}

Test(tcp_reasm, segments_after_the_end_are_ignored)
{
    uint8_t *st = make_stream(40, 28);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, TCP_FLAG_FIN, 1);
    cr_assert_eq(t.s.ends, 1);
    feed_range(&t, 10, 20, 0, 2);            /* past the FIN */
    feed_range(&t, 30, 40, 0, 3);            /* would have been held */
    feed_flags(&t, 10, 0, 4);                /* pure ACK */
    feed_range(&t, 10, 20, TCP_FLAG_RST, 5); /* RST with data */
    tcp_half_drain(&t.h, 6);
    ASSERT_DELIVERED(&t, {0, 10});
    cr_assert_eq(t.s.ends, 1);
    cr_assert_not(t.s.reset);
    cr_assert_eq(t.s.ngaps, 0);
    cr_assert_eq(t.c.retransmitted, 3);
    cr_assert_eq(t.c.segments, 6);
    cr_assert_eq(t.c.out_of_order, 0);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

/* ---- sequence space ---------------------------------------------------------------------- */

Test(tcp_reasm, wraparound_with_reordering_across_the_wrap)
{
    enum { N = 1000 };
    const uint32_t isn = 0xFFFFFF00u; /* the wrap falls at stream offset 255 */
    uint8_t *st = make_stream(N, 29);
    harness t;
    harness_init(&t, NO_LIMIT, st, isn + 1);
    feed_syn(&t, 0);
    const int order[] = {5, 3, 9, 1, 7, 2, 8, 4, 6, 0};
    for (size_t i = 0; i < 10; i++) {
        size_t k = (size_t)order[i];
        feed_range(&t, k * 100, k * 100 + 100, k == 9 ? TCP_FLAG_FIN : 0, (int64_t)i + 1);
        if (k == 1) {
            /* a copy of [150,300), between held [100,200) and [300,400): only its
             * [200,300) is new, and that range straddles the wrap */
            feed_range(&t, 150, 300, 0, 50);
            cr_assert_eq(t.c.overlap_bytes, 50);
            cr_assert_eq(t.h.pending_bytes, 500);
        }
    }
    ASSERT_DELIVERED(&t, {0, N});
    cr_assert_eq(t.s.ends, 1);
    cr_assert_eq(t.h.next_seq, 0x2E9u);
    cr_assert_eq(t.h.fin_seq, 0x2E9u);
    cr_assert_eq(t.c.retransmitted, 1, "segment 2 came after its copy");
    cr_assert_eq(t.c.out_of_order, 9);
    cr_assert_eq(t.s.data[2].ts_us, 50, "the copy's bytes were first");
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, wraparound_hole_drained_across_the_wrap)
{
    uint8_t *st = make_stream(100, 30);
    harness t;
    harness_init(&t, NO_LIMIT, st, 0xFFFFFFD0u);
    feed_range(&t, 0, 10, 0, 1); /* pick-up without SYN, 48 bytes below the wrap */
    feed_range(&t, 60, 100, 0, 2);
    tcp_half_drain(&t.h, 3);
    ASSERT_DELIVERED(&t, {0, 10}, {60, 100});
    assert_gap(&t, 0, 10, 50);
    cr_assert_eq(t.h.next_seq, 0x34u);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, pickup_mid_stream_without_syn)
{
    uint8_t *st = make_stream(100, 31);
    harness t;
    harness_init(&t, NO_LIMIT, st, 123456);
    feed_range(&t, 20, 30, 0, 1); /* the first segment seen starts the stream */
    cr_assert(t.h.started);
    cr_assert_eq(t.h.next_seq, 123486);
    feed_range(&t, 0, 20, 0, 2); /* before the pick-up point: old */
    feed_range(&t, 40, 50, 0, 3);
    feed_range(&t, 30, 40, 0, 4);
    ASSERT_DELIVERED(&t, {20, 50});
    cr_assert_eq(t.c.retransmitted, 1);
    cr_assert_eq(t.c.out_of_order, 1);
    harness_fini(&t);

    harness u; /* a bare FIN can be the first thing seen */
    harness_init(&u, NO_LIMIT, st, 9);
    feed_flags(&u, 0, TCP_FLAG_FIN, 1);
    cr_assert(u.h.started);
    cr_assert_eq(u.s.ends, 1);
    cr_assert_eq(u.s.ndata + u.s.ngaps, 0);
    harness_fini(&u);
    free(st);
}

Test(tcp_reasm, absurd_segments_are_dropped_without_allocating)
{
    uint8_t *st = make_stream(100, 32);
    harness t;
    harness_init(&t, (size_t)1 << 31, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 0, 10, 0, 1);
    uint32_t next = t.h.next_seq;
    tcp_half_feed(&t.h, next + 0x7FFFFFF0u, 0, st, 100, 2); /* ~2 GiB ahead */
    tcp_half_feed(&t.h, next + 0x80000000u, 0, st, 100, 3); /* half the space away */
    tcp_half_feed(&t.h, next - 0x50000000u, 0, st, 100, 4);  /* 1.25 GiB behind */
    tcp_half_feed(&t.h, next + 0x60000000u, TCP_FLAG_FIN, NULL, 0, 5);
    /* A length beyond any TCP segment is refused before the buffer is read. */
    tcp_half_feed(&t.h, next, 0, st, ((size_t)1 << 30) + 1, 6);
    cr_assert_eq(t.c.retransmitted, 5);
    cr_assert_not(t.h.fin_seen);
    cr_assert_eq(t.c.out_of_order, 0);
    cr_assert_eq(t.c.buffered_peak, 0);
    assert_nothing_held(&t);
    ASSERT_DELIVERED(&t, {0, 10});
    cr_assert_eq(t.h.next_seq, next);
    /* 512 MiB ahead is far but plausible: held, with only its own bytes allocated. */
    tcp_half_feed(&t.h, next + (1u << 29), 0, st + 10, 90, 7);
    cr_assert_eq(t.h.pending_bytes, 90);
    cr_assert_eq(t.c.buffered_peak, 90);
    tcp_half_drain(&t.h, 8);
    assert_gap(&t, 0, 10, (uint64_t)1 << 29);
    cr_assert_eq(t.s.len, 100);
    cr_assert(memcmp(t.s.out + 10, st + 10, 90) == 0);
    harness_fini(&t);
    free(st);
}

/* ---- buffered bytes ------------------------------------------------------------------------ */

Test(tcp_reasm, free_releases_buffered_bytes_without_callbacks)
{
    uint8_t *st = make_stream(1000, 33);
    harness a, b;
    harness_init(&a, NO_LIMIT, st, ISN + 1);
    harness_init(&b, NO_LIMIT, st, 777);
    tcp_counters shared = {0};
    tcp_half_init(&a.h, &sink_callbacks, &a.s, &shared, NO_LIMIT);
    tcp_half_init(&b.h, &sink_callbacks, &b.s, &shared, NO_LIMIT);
    feed_syn(&a, 0);
    feed_range(&a, 100, 300, 0, 1);
    feed_range(&a, 400, 500, 0, 2);
    feed_range(&b, 0, 10, 0, 3);
    feed_range(&b, 500, 700, 0, 4);
    cr_assert_eq(shared.buffered, 500);
    tcp_half_free(&a.h);
    cr_assert_eq(shared.buffered, 200);
    cr_assert_null(a.h.pending);
    cr_assert_eq(a.h.pending_bytes, 0);
    cr_assert_eq(a.s.ndata + a.s.ngaps + (size_t)a.s.ends, 0, "free made a callback");
    tcp_half_free(&a.h); /* twice is harmless */
    tcp_half_free(&b.h);
    cr_assert_eq(shared.buffered, 0);
    cr_assert_eq(shared.buffered_peak, 500);
    cr_assert_eq(b.s.ngaps, 0);
    harness_fini(&a);
    harness_fini(&b);
    free(st);
}

Test(tcp_reasm, buffered_returns_to_zero_after_drain)
{
    uint8_t *st = make_stream(500, 34);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 100, 200, 0, 1);
    feed_range(&t, 300, 500, 0, 2);
    cr_assert_eq(t.c.buffered, 300);
    tcp_half_drain(&t.h, 3);
    assert_nothing_held(&t);
    cr_assert_eq(t.c.buffered_peak, 300);
    harness_fini(&t);
    free(st);
}

Test(tcp_reasm, buffered_peak_tracks_the_highest_level)
{
    uint8_t *st = make_stream(1000, 35);
    harness t;
    harness_init(&t, NO_LIMIT, st, ISN + 1);
    feed_syn(&t, 0);
    feed_range(&t, 100, 200, 0, 1);
    cr_assert_eq(t.c.buffered_peak, 100);
    feed_range(&t, 200, 400, 0, 2);
    cr_assert_eq(t.c.buffered_peak, 300);
    feed_range(&t, 0, 100, 0, 3); /* everything delivered */
    cr_assert_eq(t.c.buffered, 0);
    feed_range(&t, 450, 500, 0, 4);
    cr_assert_eq(t.c.buffered, 50);
    cr_assert_eq(t.c.buffered_peak, 300);
    feed_range(&t, 500, 900, 0, 5);
    cr_assert_eq(t.c.buffered, 450);
    cr_assert_eq(t.c.buffered_peak, 450);
    feed_range(&t, 400, 450, 0, 6);
    ASSERT_DELIVERED(&t, {0, 900});
    cr_assert_eq(t.c.buffered_peak, 450);
    assert_nothing_held(&t);
    harness_fini(&t);
    free(st);
}
