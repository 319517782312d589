/* SPDX-License-Identifier: Apache-2.0 */
/*
 * noise.c — noise learned instead of guessed (Diffy's rule, counted per capability).
 *
 * With a `secondary` target (a second Python), a first pass counts, per capability and
 * per difference shape (where, path with [*], kind), how many exchanges differ between
 * baseline and candidate (raw) and between baseline and secondary (noise). A shape is
 * noise when the two Pythons disagree there too and about as often: the relative
 * difference |raw - noise| / (raw + noise) is at most `relative` (20%), or the absolute
 * difference |raw - noise| / exchanges of the capability at most `absolute` (0.03%).
 * Unlike Diffy, a shape on which the two Pythons never differ is never noise: a rare
 * real bug must not hide below the absolute threshold. Memory: one counter per shape
 * seen (bounded; past the bound new shapes are not learned, and that is counted).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

#define MAX_SHAPES 200000

struct diff_noise {
    json_t *counts;   /* "CAP\tSHAPE" → [raw, noise] */
    json_t *totals;   /* CAP → exchanges with all three answers */
    double relative, absolute;
    uint64_t dropped; /* shapes not learned past MAX_SHAPES */
    bool decided;
};

diff_noise *diff_noise_new(double relative, double absolute)
{
    diff_noise *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->counts = json_object();
    n->totals = json_object();
    n->relative = relative;
    n->absolute = absolute;
    return n;
}

void diff_noise_free(diff_noise *n)
{
    if (!n)
        return;
    json_decref(n->counts);
    json_decref(n->totals);
    free(n);
}

static void bump(diff_noise *n, const char *capability, const char *shape, int which)
{
    char key[800];
    snprintf(key, sizeof key, "%s\t%s", capability, shape);
    json_t *c = json_object_get(n->counts, key);
    if (!c) {
        if (json_object_size(n->counts) >= MAX_SHAPES) {
            n->dropped++;
            return;
        }
        c = json_pack("[i,i]", 0, 0);
        json_object_set_new(n->counts, key, c);
    }
    json_array_set_new(c, (size_t)which, json_integer(json_integer_value(json_array_get(c, (size_t)which)) + 1));
}

/* Counts each distinct shape of a difference list once. */
static void count_shapes(diff_noise *n, const char *capability, const json_t *differences, int which)
{
    json_t *seen = json_object();
    size_t i;
    const json_t *d;
    json_array_foreach(differences, i, d) {
        char shape[600];
        diff_shape_key(d, shape, sizeof shape);
        if (json_object_get(seen, shape))
            continue;
        json_object_set_new(seen, shape, json_true());
        bump(n, capability, shape, which);
    }
    json_decref(seen);
}

void diff_noise_count(diff_noise *n, const char *capability, const json_t *raw, const json_t *noise)
{
    const char *cap = capability ? capability : "UNKNOWN";
    json_object_set_new(n->totals, cap, json_integer(json_integer_value(json_object_get(n->totals, cap)) + 1));
    count_shapes(n, cap, raw, 0);
    count_shapes(n, cap, noise, 1);
}

void diff_noise_decide(diff_noise *n)
{
    n->decided = true;
}

bool diff_noise_ready(const diff_noise *n)
{
    return n && n->decided;
}

static bool counts_are_noise(const diff_noise *n, double raw, double noise, double total)
{
    if (noise <= 0 || raw <= 0)
        return false;
    double gap = fabs(raw - noise);
    return gap / (raw + noise) <= n->relative || (total > 0 && gap / total <= n->absolute);
}

bool diff_noise_is(const diff_noise *n, const char *capability, const json_t *difference)
{
    char shape[600], key[800];
    diff_shape_key(difference, shape, sizeof shape);
    snprintf(key, sizeof key, "%s\t%s", capability ? capability : "UNKNOWN", shape);
    const json_t *c = json_object_get(n->counts, key);
    if (!c)
        return false;
    double total = (double)json_integer_value(json_object_get(n->totals, capability ? capability : "UNKNOWN"));
    return counts_are_noise(n, (double)json_integer_value(json_array_get(c, 0)),
                            (double)json_integer_value(json_array_get(c, 1)), total);
}

json_t *diff_noise_table(const diff_noise *n)
{
    json_t *rows = json_array();
    const char *key;
    const json_t *c;
    json_object_foreach(n->counts, key, c) {
        const char *tab = strchr(key, '\t');
        if (!tab)
            continue;
        char *cap = strndup(key, (size_t)(tab - key));
        json_int_t raw = json_integer_value(json_array_get(c, 0)), noise = json_integer_value(json_array_get(c, 1));
        json_int_t total = json_integer_value(json_object_get(n->totals, cap));
        if (counts_are_noise(n, (double)raw, (double)noise, (double)total))
            json_array_append_new(rows, json_pack("{s:s,s:s,s:I,s:I,s:I}", "capability", cap, "shape", tab + 1,
                                                  "raw", raw, "noise", noise, "exchanges", total));
        free(cap);
    }
    return rows;
}

uint64_t diff_noise_dropped(const diff_noise *n)
{
    return n->dropped;
}
