/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_shed.c — fair shedding: which shadow copies the queue takes when the shadow side
 * cannot keep up, per family, so that a rare family (OAUTH, KEYS) keeps a share of the
 * diffs while a busy one (REGISTRY_V2) floods the front.
 *
 * Each family has a slot in a fixed open-addressed table (found by the name's hash,
 * claimed with one CAS, never removed) holding atomic counters: copies seen, copies
 * waiting in the queue now, copies shed, copies handed to the shadow side. A copy is
 * admitted when its family holds fewer than its share of the queue — the queue's
 * capacity divided by the families seen in the last few seconds — or, while the queue
 * is less than half full, whatever its family holds (an uncongested queue wastes no
 * room on shares nobody uses). Over its share, a family's copies are shed; the room
 * they leave goes to the families under theirs. Everything on the front's path is a
 * few atomic operations: no lock, no walk over the families, except the recount of
 * the recent families, which one front thread does at most every RECOUNT_US.
 */
#include "tee_internal.h"

#include <stdlib.h>
#include <string.h>

#define NSLOTS 256                /* a power of two; the last slot takes any overflow */
#define RECENT_US 5000000         /* a family seen within this long has a share */
#define RECOUNT_US 100000

struct tee_family {
    _Atomic(const char *) name;   /* borrowed from the capability map (or a literal) */
    atomic_uint_fast64_t seen, waiting, shed, handed;
    atomic_int_fast64_t last_seen_us;
};

struct tee_shed {
    tee_family slots[NSLOTS];
    size_t capacity;
    atomic_size_t recent, families;
    atomic_int_fast64_t recounted_us;
};

tee_shed *tee_shed_new(size_t capacity)
{
    tee_shed *s = calloc(1, sizeof *s);
    if (s)
        s->capacity = capacity ? capacity : 1;
    return s;
}

void tee_shed_free(tee_shed *s)
{
    free(s);
}

static size_t name_hash(const char *p)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

tee_family *tee_shed_family(tee_shed *s, const char *name)
{
    if (!name)
        name = "UNKNOWN";
    size_t h = name_hash(name);
    for (size_t i = 0; i < NSLOTS - 1; i++) {
        tee_family *f = &s->slots[(h + i) % (NSLOTS - 1)];
        const char *have = atomic_load_explicit(&f->name, memory_order_acquire);
        if (!have) {
            if (atomic_compare_exchange_strong(&f->name, &have, name)) {
                atomic_fetch_add(&s->families, 1);
                atomic_fetch_add(&s->recent, 1); /* a share at once; the recount confirms it */
                return f;
            }
        }
        if (have == name || strcmp(have, name) == 0)
            return f;
    }
    tee_family *other = &s->slots[NSLOTS - 1];
    const char *none = NULL;
    if (atomic_compare_exchange_strong(&other->name, &none, "(other)"))
        atomic_fetch_add(&s->families, 1);
    return other;
}

/* The families seen within RECENT_US, counted again by one thread at a time. */
static void recount(tee_shed *s, int64_t now_us)
{
    int64_t last = atomic_load_explicit(&s->recounted_us, memory_order_relaxed);
    if (now_us - last < RECOUNT_US ||
        !atomic_compare_exchange_strong(&s->recounted_us, &last, now_us))
        return;
    size_t n = 0;
    for (size_t i = 0; i < NSLOTS; i++)
        if (atomic_load_explicit(&s->slots[i].name, memory_order_relaxed) &&
            now_us - atomic_load_explicit(&s->slots[i].last_seen_us, memory_order_relaxed) < RECENT_US)
            n++;
    atomic_store(&s->recent, n);
}

void tee_shed_seen(tee_shed *s, tee_family *f, int64_t now_us)
{
    atomic_fetch_add_explicit(&f->seen, 1, memory_order_relaxed);
    atomic_store_explicit(&f->last_seen_us, now_us, memory_order_relaxed);
    recount(s, now_us);
}

bool tee_shed_admit(tee_shed *s, tee_family *f, size_t queue_depth)
{
    size_t n = atomic_load_explicit(&s->recent, memory_order_relaxed);
    size_t share = s->capacity / (n ? n : 1);
    if (share == 0)
        share = 1;
    size_t held = atomic_fetch_add(&f->waiting, 1);
    if (held < share || queue_depth < s->capacity / 2)
        return true;
    atomic_fetch_sub(&f->waiting, 1);
    return false;
}

bool tee_shed_over_share(tee_shed *s, tee_family *f, size_t queue_depth)
{
    size_t n = atomic_load_explicit(&s->recent, memory_order_relaxed);
    size_t share = s->capacity / (n ? n : 1);
    return queue_depth >= s->capacity / 2 && atomic_load(&f->waiting) >= (share ? share : 1);
}

void tee_shed_left(tee_family *f)
{
    atomic_fetch_sub(&f->waiting, 1);
}

void tee_shed_count(tee_family *f, bool handed)
{
    atomic_fetch_add_explicit(handed ? &f->handed : &f->shed, 1, memory_order_relaxed);
}

size_t tee_shed_stats(const tee_shed *s, tee_family_stats *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NSLOTS && n < max; i++) {
        tee_family *f = (tee_family *)&s->slots[i]; /* atomics are read, not written */
        const char *name = atomic_load(&f->name);
        if (!name)
            continue;
        out[n++] = (tee_family_stats){.family = name, .seen = atomic_load(&f->seen), .shed = atomic_load(&f->shed),
                                      .handed = atomic_load(&f->handed), .waiting = atomic_load(&f->waiting)};
    }
    return n;
}
