/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tape_diff.c — two JSON bodies compared on their tapes, the fast path of json_diff.c.
 *
 * Nearly every pair of bodies is equal up to key order, whitespace and number forms, or
 * differs in a few leaves a rule absorbs (a time, a token). Building two jansson trees to
 * learn that cost most of `pmirror diff`'s time. Here the two tapes are walked together:
 * objects matched key by key, arrays element by element, strings compared as written
 * (decoded only when they differ and hold escapes), numbers by value only when their
 * text differs. A node is handed to the tree comparison (json_diff.c), as two small
 * jansson values, only when a path rule may apply to it, when it differs, or when an
 * array is not equal element by element (the tree comparison tells `order` from
 * `value` there). So the verdicts and differences are those of json_diff.c by
 * construction; this file only decides where it need not be asked.
 *
 * It gives up (and the caller compares trees) where the tape and jansson could disagree:
 * a duplicate key (jansson keeps the last), an escaped key, a number jansson rejects.
 * Giving up undoes what was recorded, so nothing is reported twice.
 */
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

typedef struct walk {
    diff_ctx *c;
    const pm_jtape *ta, *tb;
    diff_path p;
    bool give_up;
    char *buf[2];          /* decoded strings */
    size_t buf_cap;
} walk;

/* The path rule that applies at the current path, if any. Exact, but asked of the rules
 * only when the last key is some rule's last key (or some rule has none). */
static const diff_rule *rule_at(walk *w, const char *key, size_t klen)
{
    diff_ctx *c = w->c;
    if (!c->nrules)
        return NULL;
    if (!c->untailed) {
        if (!key)
            return NULL; /* an index or the root: no rule ending in ".key" matches */
        bool tail = false;
        for (size_t i = 0; i < c->ntails && !tail; i++)
            tail = c->tail_lens[i] == klen && memcmp(c->tails[i], key, klen) == 0;
        if (!tail)
            return NULL;
    }
    const unsigned all = 1u << RULE_IGNORE_PATH | 1u << RULE_SHAPE | 1u << RULE_JWT | 1u << RULE_URL_HOST |
                         1u << RULE_TOLERANCE | 1u << RULE_ARRAY_SET;
    return diff_rule_for_path(c->rules, c->nrules, all, w->p.s);
}

/* The tree comparison for one node (a, b: tape indices, -1 = absent). */
static void by_tree(walk *w, long a, long b, int depth)
{
    json_t *ja = a >= 0 ? diff_tape_json(w->ta, (size_t)a) : NULL;
    json_t *jb = b >= 0 ? diff_tape_json(w->tb, (size_t)b) : NULL;
    if ((a >= 0 && !ja) || (b >= 0 && !jb))
        w->give_up = true; /* jansson would not have parsed the body */
    else
        diff_json_node(w->c, ja, jb, &w->p, depth);
    json_decref(ja);
    json_decref(jb);
}

static bool grow(walk *w, size_t n)
{
    if (n <= w->buf_cap)
        return true;
    char *x = realloc(w->buf[0], n), *y = x ? realloc(w->buf[1], n) : NULL;
    if (x)
        w->buf[0] = x;
    if (y)
        w->buf[1] = y;
    if (!x || !y)
        return false;
    w->buf_cap = n;
    return true;
}

static bool strings_equal(walk *w, const pm_jtok *x, const pm_jtok *y)
{
    size_t nx = x->end - x->start, ny = y->end - y->start;
    const char *sx = w->ta->text + x->start, *sy = w->tb->text + y->start;
    if (nx == ny && memcmp(sx, sy, nx) == 0)
        return true;
    if (!((x->flags | y->flags) & PM_JTOK_ESCAPED))
        return false;
    size_t lx, ly;
    if (!grow(w, (nx > ny ? nx : ny) + 1) || pm_jstr_unescape(sx, nx, w->buf[0], &lx) != 0 ||
        pm_jstr_unescape(sy, ny, w->buf[1], &ly) != 0) {
        w->give_up = true;
        return false;
    }
    return lx == ly && memcmp(w->buf[0], w->buf[1], lx) == 0;
}

static bool numbers_equal(walk *w, const pm_jtok *x, const pm_jtok *y)
{
    if (!pm_jtape_number_ok(w->ta, x) || !pm_jtape_number_ok(w->tb, y)) {
        w->give_up = true;
        return false;
    }
    size_t nx = x->end - x->start, ny = y->end - y->start;
    const char *sx = w->ta->text + x->start, *sy = w->tb->text + y->start;
    if (nx == ny && memcmp(sx, sy, nx) == 0)
        return true;
    /* differently written: by value, as jansson would (integers exactly, else as doubles) */
    json_t *jx = diff_tape_json(w->ta, (size_t)(x - w->ta->tok)), *jy = diff_tape_json(w->tb, (size_t)(y - w->tb->tok));
    bool equal = jx && jy &&
                 (json_is_integer(jx) && json_is_integer(jy) ? json_integer_value(jx) == json_integer_value(jy)
                                                             : json_number_value(jx) == json_number_value(jy));
    if (!jx || !jy)
        w->give_up = true;
    json_decref(jx);
    json_decref(jy);
    return equal;
}

static void compare(walk *w, long a, long b, int depth, const diff_rule *rule);

/* Keys of the object at index obj: their token indices, in order. */
static size_t keys_of(const pm_jtape *t, size_t obj, uint32_t *out)
{
    size_t k = obj + 1, n = t->tok[obj].count;
    for (size_t m = 0; m < n; m++) {
        out[m] = (uint32_t)k;
        k = t->tok[k + 1].next;
    }
    return n;
}

static bool same_key(const pm_jtape *ta, uint32_t x, const pm_jtape *tb, uint32_t y)
{
    const pm_jtok *kx = &ta->tok[x], *ky = &tb->tok[y];
    return kx->end - kx->start == ky->end - ky->start &&
           memcmp(ta->text + kx->start, tb->text + ky->start, kx->end - kx->start) == 0;
}

static bool duplicated(const pm_jtape *t, const uint32_t *keys, size_t n, size_t i)
{
    for (size_t j = 0; j < n; j++)
        if (j != i && same_key(t, keys[i], t, keys[j]))
            return true;
    return false;
}

static void compare_objects(walk *w, long a, long b, int depth)
{
    const pm_jtape *ta = w->ta, *tb = w->tb;
    size_t na = ta->tok[a].count, nb = tb->tok[b].count;
    uint32_t small[2][32];
    unsigned char used_small[32];
    uint32_t *ka = na <= 32 ? small[0] : malloc(na * sizeof *ka);
    uint32_t *kb = nb <= 32 ? small[1] : malloc(nb * sizeof *kb);
    unsigned char *used = nb <= 32 ? used_small : malloc(nb);
    long match_small[32];
    long *match = na <= 32 ? match_small : malloc(na * sizeof *match);
    if (!ka || !kb || !used || !match) {
        w->give_up = true;
        goto out;
    }
    keys_of(ta, (size_t)a, ka);
    keys_of(tb, (size_t)b, kb);
    memset(used, 0, nb);
    for (size_t i = 0; i < nb; i++)
        if (tb->tok[kb[i]].flags & PM_JTOK_ESCAPED)
            w->give_up = true;
    /* match a's keys in b's, searching from where the last match was: the same order on
     * both sides (the common case) costs one comparison per key */
    size_t from = 0;
    for (size_t i = 0; i < na && !w->give_up; i++) {
        match[i] = -1;
        if (ta->tok[ka[i]].flags & PM_JTOK_ESCAPED) {
            w->give_up = true;
            break;
        }
        for (size_t step = 0; step < nb; step++) {
            size_t j = (from + step) % nb;
            if (same_key(ta, ka[i], tb, kb[j])) {
                if (used[j])
                    w->give_up = true; /* a duplicate key in a */
                used[j] = 1;
                match[i] = (long)j;
                from = j + 1;
                break;
            }
        }
        if (match[i] < 0 && duplicated(ta, ka, na, i))
            w->give_up = true;
    }
    for (size_t j = 0; j < nb && !w->give_up; j++)
        if (!used[j] && duplicated(tb, kb, nb, j))
            w->give_up = true;
    if (w->give_up)
        goto out;
    for (size_t i = 0; i < na && !w->give_up; i++) {
        if (w->c->counting_only && w->c->count)
            break;
        const pm_jtok *key = &ta->tok[ka[i]];
        size_t old = diff_path_push_key(&w->p, ta->text + key->start, key->end - key->start);
        const diff_rule *rule = rule_at(w, ta->text + key->start, key->end - key->start);
        compare(w, (long)ka[i] + 1, match[i] >= 0 ? (long)kb[match[i]] + 1 : -1, depth + 1, rule);
        diff_path_pop(&w->p, old);
    }
    for (size_t j = 0; j < nb && !w->give_up; j++) {
        if (used[j] || (w->c->counting_only && w->c->count))
            continue;
        const pm_jtok *key = &tb->tok[kb[j]];
        size_t old = diff_path_push_key(&w->p, tb->text + key->start, key->end - key->start);
        by_tree(w, -1, (long)kb[j] + 1, depth + 1);
        diff_path_pop(&w->p, old);
    }
out:
    if (ka != small[0])
        free(ka);
    if (kb != small[1])
        free(kb);
    if (used != used_small)
        free(used);
    if (match != match_small)
        free(match);
}

/* Arrays: equal element by element (under the rules, recording nothing), or handed whole
 * to the tree comparison, which tells a reordering from changed values. */
static void compare_arrays(walk *w, long a, long b, int depth)
{
    const pm_jtape *ta = w->ta, *tb = w->tb;
    if (ta->tok[a].count != tb->tok[b].count) {
        by_tree(w, a, b, depth);
        return;
    }
    diff_ctx *c = w->c;
    bool was_quiet = c->counting_only;
    uint64_t count = c->count, expired = c->expired_hits;
    size_t nexpired = c->nexpired;
    c->counting_only = true;
    c->count = 0;
    size_t x = (size_t)a + 1, y = (size_t)b + 1;
    bool equal = true;
    for (uint32_t i = 0; i < ta->tok[a].count && equal && !w->give_up; i++) {
        size_t old = diff_path_push_index(&w->p, i);
        compare(w, (long)x, (long)y, depth + 1, rule_at(w, NULL, 0));
        diff_path_pop(&w->p, old);
        equal = c->count == 0;
        x = ta->tok[x].next;
        y = tb->tok[y].next;
    }
    c->counting_only = was_quiet;
    c->count = count;
    c->expired_hits = expired;
    c->nexpired = nexpired;
    if (!equal && !w->give_up) {
        if (was_quiet)
            c->count++; /* quiet: that it differs is all the caller asks */
        else
            by_tree(w, a, b, depth);
    }
}

/* The two rules that decide most nodes they apply to, decided on the tape when the
 * values allow (as json_diff.c's apply_rule would); false: ask the trees. */
static bool rule_on_tape(walk *w, const diff_rule *r, long a, long b)
{
    if (r->expired)
        return false; /* json_diff.c counts what it would have hidden */
    if (r->kind == RULE_IGNORE_PATH)
        return true;
    if (r->kind != RULE_SHAPE || a < 0 || b < 0)
        return false;
    const pm_jtok *x = &w->ta->tok[a], *y = &w->tb->tok[b];
    size_t nx = x->end - x->start, ny = y->end - y->start;
    const char *sx = w->ta->text + x->start, *sy = w->tb->text + y->start;
    if (x->type != y->type || x->type != PM_JSTR || ((x->flags | y->flags) & PM_JTOK_ESCAPED))
        return x->type == PM_JNUM && y->type == PM_JNUM && (x->flags & y->flags & PM_JTOK_INTEGER) &&
               diff_shape_is_time(r->shape) && pm_jtape_number_ok(w->ta, x) && pm_jtape_number_ok(w->tb, y); /* epoch seconds on both sides */
    if (nx == ny && memcmp(sx, sy, nx) == 0)
        return true; /* equal values need no rule */
    char bx[128], by[128];
    if (nx >= sizeof bx || ny >= sizeof by || memchr(sx, '\0', nx) || memchr(sy, '\0', ny))
        return false;
    memcpy(bx, sx, nx);
    bx[nx] = '\0';
    memcpy(by, sy, ny);
    by[ny] = '\0';
    return diff_shape_matches(r->shape, bx) && diff_shape_matches(r->shape, by); /* else the trees report it */
}

static void compare(walk *w, long a, long b, int depth, const diff_rule *rule)
{
    if (w->give_up || (w->c->counting_only && w->c->count))
        return;
    if (rule && rule_on_tape(w, rule, a, b))
        return;
    if (rule || a < 0 || b < 0 || depth > DIFF_MAX_DEPTH) {
        by_tree(w, a, b, depth);
        return;
    }
    const pm_jtok *x = &w->ta->tok[a], *y = &w->tb->tok[b];
    if (x->type != y->type) {
        by_tree(w, a, b, depth); /* a type difference, or 1 vs true... the tree decides */
        return;
    }
    switch (x->type) {
    case PM_JOBJ:
        compare_objects(w, a, b, depth);
        return;
    case PM_JARR:
        compare_arrays(w, a, b, depth);
        return;
    case PM_JSTR:
        if (!strings_equal(w, x, y) && !w->give_up)
            by_tree(w, a, b, depth);
        return;
    case PM_JNUM:
        if (!numbers_equal(w, x, y) && !w->give_up)
            by_tree(w, a, b, depth);
        return;
    default:
        return; /* true, false, null: the same type is the same value */
    }
}

int diff_tape_compare(diff_ctx *c, const pm_jtape *a, const pm_jtape *b)
{
    walk w = {.c = c, .ta = a, .tb = b, .p = {"$", 1}};
    uint64_t count = c->count, expired = c->expired_hits;
    size_t recorded = json_array_size(c->differences), nexpired = c->nexpired;
    compare(&w, 0, 0, 0, rule_at(&w, NULL, 0));
    free(w.buf[0]);
    free(w.buf[1]);
    if (!w.give_up)
        return 0;
    while (json_array_size(c->differences) > recorded)
        json_array_remove(c->differences, json_array_size(c->differences) - 1);
    c->count = count;
    c->expired_hits = expired;
    c->nexpired = nexpired;
    return -1;
}
