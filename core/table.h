/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/table.h — the string-keyed hash table, and the FNV-1a hash every table in pmirror
 * uses (table.c). One part of core's public interface; core/core.h includes every part.
 *
 * pm_table is the general one: string keys, insertion order kept, for anything counted
 * or looked up by name (the report builder's families, capabilities, cohorts, signatures
 * and error codes). Three hot paths keep a structure of their own, each shaped by what
 * it must do that a general table cannot: capture's flow table (capture/flow.c: keyed by
 * both directions of a TCP 4-tuple, with idle eviction), replay's correlation index
 * (replay/correlate.c: finds any of many recorded values inside a header in one pass,
 * Rabin-Karp over their last 8 bytes) and the tee's per-address table (tee/tee_guard.c:
 * fixed size, shared by every worker behind one mutex, no allocation per connection).
 * They hash with pm_fnv1a too.
 */
#ifndef PM_CORE_TABLE_H
#define PM_CORE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define PM_FNV1A_INIT 0xcbf29ce484222325ULL

/* 64-bit FNV-1a of n bytes, continuing from h (PM_FNV1A_INIT to start). */
static inline uint64_t pm_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* Keys are copied; values are the caller's, freed with free_value (may be NULL) by
 * pm_table_free. Entries keep insertion order: pm_table_key/value(t, i), i < size. */
typedef struct pm_table pm_table;

pm_table *pm_table_new(void (*free_value)(void *));
void pm_table_free(pm_table *t);
size_t pm_table_size(const pm_table *t);
void *pm_table_get(const pm_table *t, const char *key);
/* Adds key → value (key must be absent). -1 on allocation failure. */
int pm_table_put(pm_table *t, const char *key, void *value);
const char *pm_table_key(const pm_table *t, size_t i);
void *pm_table_value(const pm_table *t, size_t i);

#endif
