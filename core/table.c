/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table.c — the string-keyed hash table (core/table.h); the report builder counts in it
 * (families, capabilities, cohorts, signatures, error codes). Entries live in one array in insertion
 * order (so iteration is simple and deterministic); an open-addressing index of FNV-1a
 * hashes finds them. Sizes are bounded by the callers (they stop adding at a cap), which
 * is what keeps the builder's memory independent of the number of records.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"

typedef struct {
    char *key;
    void *value;
    uint64_t hash;
} pm_table_entry;

struct pm_table {
    pm_table_entry *entries;
    size_t n, cap;
    int32_t *index; /* entry number + 1; 0 = empty */
    size_t index_size;  /* power of two */
    void (*free_value)(void *);
};

static uint64_t hash_key(const char *s)
{
    return pm_fnv1a(PM_FNV1A_INIT, s, strlen(s));
}

pm_table *pm_table_new(void (*free_value)(void *))
{
    pm_table *t = calloc(1, sizeof *t);
    if (t)
        t->free_value = free_value;
    return t;
}

void pm_table_free(pm_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->entries[i].key);
        if (t->free_value)
            t->free_value(t->entries[i].value);
    }
    free(t->entries);
    free(t->index);
    free(t);
}

size_t pm_table_size(const pm_table *t)
{
    return t ? t->n : 0;
}

static long find(const pm_table *t, const char *key, uint64_t h)
{
    if (!t->index_size)
        return -1;
    size_t mask = t->index_size - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        int32_t e = t->index[i];
        if (e == 0)
            return -1;
        const pm_table_entry *en = &t->entries[e - 1];
        if (en->hash == h && strcmp(en->key, key) == 0)
            return e - 1;
    }
}

void *pm_table_get(const pm_table *t, const char *key)
{
    long i = t ? find(t, key, hash_key(key)) : -1;
    return i < 0 ? NULL : t->entries[i].value;
}

static void index_insert(int32_t *index, size_t size, uint64_t h, int32_t entry)
{
    size_t mask = size - 1;
    size_t i = h & mask;
    while (index[i])
        i = (i + 1) & mask;
    index[i] = entry;
}

static int grow(pm_table *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        pm_table_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return -1;
        t->entries = e;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->index_size) {
        size_t size = t->index_size ? t->index_size * 2 : 32;
        int32_t *index = calloc(size, sizeof *index);
        if (!index)
            return -1;
        for (size_t i = 0; i < t->n; i++)
            index_insert(index, size, t->entries[i].hash, (int32_t)(i + 1));
        free(t->index);
        t->index = index;
        t->index_size = size;
    }
    return 0;
}

int pm_table_put(pm_table *t, const char *key, void *value)
{
    if (t->n >= INT32_MAX - 1 || grow(t) != 0)
        return -1;
    char *k = strdup(key);
    if (!k)
        return -1;
    uint64_t h = hash_key(key);
    t->entries[t->n] = (pm_table_entry){k, value, h};
    t->n++;
    index_insert(t->index, t->index_size, h, (int32_t)t->n);
    return 0;
}

const char *pm_table_key(const pm_table *t, size_t i)
{
    return t->entries[i].key;
}

void *pm_table_value(const pm_table *t, size_t i)
{
    return t->entries[i].value;
}
