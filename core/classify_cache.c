/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classify_cache.c — what classifying a path found, kept for the next request of the same
 * method and path (pm_classify_cache, capmap.h).
 *
 * Why: routes are tried through PCRE2 one candidate at a time, several per request (the
 * memcmp pre-filter of classify.c leaves about four), and that was a fifth of capture's
 * packet loop (callgrind, bench/capture.sh). Traffic repeats its paths — the same
 * manifests, tags and API objects asked for again and again — so the match is remembered:
 * the route and the byte spans of its namespace and repository groups, a function of the
 * map, the method and the path alone. What depends on the rest of the request (the user,
 * the query's push scope) is applied afresh each time (pm_classify_finish), so a cached
 * answer is the uncached one, byte for byte.
 *
 * The table is direct-mapped: a slot per hash, a new path replacing the one before it.
 * Memory is fixed when the cache is made (SLOT_PATH bytes of path a slot; longer paths
 * are classified every time), so a capture's memory stays flat however long it runs.
 */
#include "capmap_internal.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_PATH 192  /* longest path kept (registry paths with a digest are ~110 bytes) */
#define SLOT_METHOD 16 /* longest method kept, its NUL included */

typedef struct {
    uint64_t hash; /* 0: empty */
    pm_path_match match;
    uint16_t path_len;
    char method[SLOT_METHOD];
    char path[SLOT_PATH];
} slot;

struct pm_classify_cache {
    const pm_capmap *map;
    slot *slots;
    size_t mask;
};

pm_classify_cache *pm_classify_cache_new(const pm_capmap *map, size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n *= 2;
    pm_classify_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->slots = calloc(n, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    c->map = map;
    c->mask = n - 1;
    return c;
}

void pm_classify_cache_free(pm_classify_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

/* FNV-1a over the method, a NUL, and the path; never 0 (the empty slot's mark). */
static uint64_t hash_of(const char *method, size_t method_len, const char *path, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i <= method_len; i++)
        h = (h ^ (unsigned char)method[i]) * 0x100000001b3ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)path[i]) * 0x100000001b3ULL;
    return h ? h : 1;
}

void pm_classify_cached(pm_classify_cache *c, const char *method, const char *target, const char *user,
                        pm_class *out)
{
    const char *path;
    size_t len;
    pm_classify_start(method, target, user, out, &path, &len);
    if (len == 0 || path[0] != '/')
        return;
    size_t method_len = strlen(method);
    pm_path_match match;
    if (len > SLOT_PATH || method_len >= SLOT_METHOD) {
        pm_classify_path(c->map, method, path, len, &match);
        pm_classify_finish(&match, method, path, len, out);
        return;
    }
    uint64_t h = hash_of(method, method_len, path, len);
    slot *s = &c->slots[h & c->mask];
    if (s->hash == h && s->path_len == len && memcmp(s->path, path, len) == 0 && strcmp(s->method, method) == 0) {
        match = s->match;
    } else {
        pm_classify_path(c->map, method, path, len, &match);
        s->hash = h;
        s->match = match;
        s->path_len = (uint16_t)len;
        memcpy(s->path, path, len);
        memcpy(s->method, method, method_len + 1);
    }
    pm_classify_finish(&match, method, path, len, out);
}
