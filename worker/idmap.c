/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.c — queueitem id → held job: open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a long capture that adds and removes millions of jobs keeps
 * its probes short). core's pm_table is keyed by strings and never deletes; held jobs come
 * and go by integer id at every change the source decodes.
 */
#include <stdlib.h>

#include "worker_internal.h"

#define EMPTY INT64_MIN /* queueitem ids are serial: never this */

static size_t slot_of(int64_t key, size_t cap)
{
    uint64_t x = (uint64_t)key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 17) & (cap - 1);
}

void *wk_idmap_get(const wk_idmap *m, int64_t key)
{
    if (!m->cap || key == EMPTY)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return m->values[i];
        if (m->keys[i] == EMPTY)
            return NULL;
    }
}

static int grow(wk_idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    int64_t *keys = malloc(cap * sizeof *keys);
    void **values = malloc(cap * sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        keys[i] = EMPTY;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == EMPTY)
            continue;
        size_t j = slot_of(m->keys[i], cap);
        while (keys[j] != EMPTY)
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return 0;
}

int wk_idmap_put(wk_idmap *m, int64_t key, void *value)
{
    if (key == EMPTY)
        return -1;
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0) /* at most half full */
        return -1;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] != EMPTY)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->values[i] = value;
    m->n++;
    return 0;
}

void wk_idmap_del(wk_idmap *m, int64_t key)
{
    if (!m->cap || key == EMPTY)
        return;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] != key) {
        if (m->keys[i] == EMPTY)
            return;
        i = (i + 1) & (m->cap - 1);
    }
    /* backward shift: move later entries of the run into the hole when their home slot
     * allows it, so every lookup still finds its key before the first empty slot */
    for (size_t j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        if (m->keys[j] == EMPTY)
            break;
        size_t home = slot_of(m->keys[j], m->cap);
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (between)
            continue;
        m->keys[i] = m->keys[j];
        m->values[i] = m->values[j];
        i = j;
    }
    m->keys[i] = EMPTY;
    m->n--;
}

void wk_idmap_free(wk_idmap *m)
{
    free(m->keys);
    free(m->values);
    m->keys = NULL;
    m->values = NULL;
    m->cap = m->n = 0;
}
