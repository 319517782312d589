/* SPDX-License-Identifier: Apache-2.0 */
/*
 * headers.c — response headers compared: names case-insensitively, values per name in
 * order (several values of one name are a list), under the profile's header rules:
 * ignored headers (Date, Server, ...), shapes (a random UUID), values normalized for
 * each target's own host and for random UUIDs (upload Locations).
 *
 * The [name, value] pairs are read off the result line's tape, where they are: building
 * them as jansson arrays only to read them once, and a copy per name compared, was most of
 * the cost of comparing headers. Strings are unescaped only when written with escapes, and
 * read as jansson would give them (up to a NUL): the same names, values and differences.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diff_internal.h"

static int compare_lines(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Several values of one header ("a\nb\nc") in sorted order: for headers whose values
 * form a set (an array_set rule on a header). */
static char *sorted_values(const char *joined)
{
    char *copy = strdup(joined);
    size_t n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == '\n';
    char **lines = calloc(n, sizeof *lines);
    if (!copy || !lines) {
        free(copy);
        free(lines);
        return NULL;
    }
    size_t k = 0;
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l && k < n; l = strtok_r(NULL, "\n", &save))
        lines[k++] = l;
    qsort(lines, k, sizeof *lines, compare_lines);
    char *out = malloc(strlen(joined) + 2);
    size_t len = 0;
    for (size_t i = 0; out && i < k; i++) {
        size_t m = strlen(lines[i]);
        memcpy(out + len, lines[i], m);
        len += m;
        out[len++] = '\n';
    }
    if (out)
        out[len] = '\0';
    free(lines);
    free(copy);
    return out;
}

static void compare_one(diff_ctx *c, const char *name, const char *va, const char *vb)
{
    const unsigned kinds = 1u << RULE_IGNORE_HEADER | 1u << RULE_SHAPE | 1u << RULE_NORMALIZE |
                           1u << RULE_URL_HOST | 1u << RULE_JWT | 1u << RULE_ARRAY_SET;
    const diff_rule *r = diff_rule_for_header(c->rules, c->nrules, kinds, name);
    bool expired = r && r->expired;
    const diff_rule *expired_rule = r;
    if (expired)
        r = NULL; /* not applied; counted below when it would have hidden a difference */
    if (r && r->kind == RULE_IGNORE_HEADER)
        return;
    uint64_t before = c->count;
    const char *kind = NULL; /* the difference, if any */
    if (!va || !vb) {
        kind = va ? "missing" : "extra";
    } else if (r && r->kind == RULE_SHAPE) {
        if (!diff_shape_matches(r->shape, va) || !diff_shape_matches(r->shape, vb))
            kind = "value";
    } else if (r && (r->kind == RULE_NORMALIZE || r->kind == RULE_URL_HOST)) {
        char *na = strdup(va), *nb = strdup(vb);
        if (r->kind == RULE_URL_HOST || r->hosts) {
            na = diff_normalize_hosts(c, na);
            nb = diff_normalize_hosts(c, nb);
        }
        if (r->uuids) {
            na = diff_normalize_uuids(na);
            nb = diff_normalize_uuids(nb);
        }
        if (r->params) {
            na = diff_normalize_params(na, r->params);
            nb = diff_normalize_params(nb, r->params);
        }
        if (r->drop_params) {
            na = diff_drop_params(na, r->drop_params);
            nb = diff_drop_params(nb, r->drop_params);
        }
        if (!na || !nb || strcmp(na, nb) != 0)
            kind = "value";
        free(na);
        free(nb);
    } else if (r && r->kind == RULE_ARRAY_SET) {
        char *sa = sorted_values(va), *sb = sorted_values(vb);
        if (!sa || !sb || strcmp(sa, sb) != 0)
            kind = "value";
        free(sa);
        free(sb);
    } else if (strcmp(va, vb) != 0) {
        kind = "value";
    }
    if (kind) { /* the values as JSON only for a difference: most headers have none */
        json_t *ja = va ? json_string(va) : NULL, *jb = vb ? json_string(vb) : NULL;
        diff_add(c, "header", name, kind, ja, jb);
        json_decref(ja);
        json_decref(jb);
    }
    if (expired)
        diff_expired_hit(c, expired_rule, c->count - before);
}

/* ---- the headers arrays, read off the line's tape --------------------------------------------- */

/* The first pair of an answer's headers (iterate with tok[p].next), their number in *n. */
static size_t first_pair(const diff_answer *a, size_t *n)
{
    const pm_jtok *k = a->headers >= 0 ? &a->tape->tok[a->headers] : NULL;
    *n = k && k->type == PM_JARR ? k->count : 0;
    return (size_t)a->headers + 1;
}

/* A pair's name and value tokens; 0 (the record, never a string) where the pair has none. */
static void pair_tokens(const pm_jtape *t, size_t p, size_t *name, size_t *value)
{
    const pm_jtok *k = &t->tok[p];
    *name = k->type == PM_JARR && k->count >= 1 ? p + 1 : 0;
    *value = k->type == PM_JARR && k->count >= 2 ? t->tok[p + 1].next : 0;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* Whether token i is a string reading name (any case); unescaped only when escaped. */
static bool token_is(const pm_jtape *t, size_t i, const char *name, size_t len)
{
    const pm_jtok *k = &t->tok[i];
    if (k->type != PM_JSTR)
        return false;
    if (!(k->flags & PM_JTOK_ESCAPED))
        return same_name(t->text + k->start, k->end - k->start, name, len);
    char *s = pm_jtape_strdup(t, i, NULL);
    bool same = s && same_name(s, strlen(s), name, len);
    free(s);
    return same;
}

char *diff_answer_header(const diff_answer *a, const char *name)
{
    const pm_jtape *t = a->tape;
    size_t n, p = first_pair(a, &n), len = strlen(name);
    for (size_t m = 0; m < n; m++, p = t->tok[p].next) {
        size_t ni, vi;
        pair_tokens(t, p, &ni, &vi);
        if (token_is(t, ni, name, len))
            return pm_jtape_strdup(t, vi, NULL);
    }
    return NULL;
}

/* One header of either list. Pairs of one name (any case) are chained in order, baseline's
 * then candidate's, from the first, which is where the name is compared. */
typedef struct hpair {
    const char *name, *value; /* a name not a string reads "", with no value (never joined) */
    size_t name_len, value_len;
    uint32_t hash, next, last; /* next: 0 ends the chain (the first pair is never a next) */
    bool candidate, first;
} hpair;

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i])) * 16777619u; /* as strncasecmp */
    return h;
}

/* The pairs of one answer into p, escaped strings unescaped into *text (advanced). */
static void collect(const diff_answer *a, bool candidate, hpair *p, char **text)
{
    const pm_jtape *t = a->tape;
    size_t n, at = first_pair(a, &n);
    for (size_t m = 0; m < n; m++, at = t->tok[at].next) {
        size_t ni, vi;
        pair_tokens(t, at, &ni, &vi);
        hpair *h = &p[m];
        memset(h, 0, sizeof *h);
        h->candidate = candidate;
        h->name = diff_tape_string(t, ni, *text, &h->name_len);
        *text += h->name == *text ? h->name_len : 0;
        h->value = diff_tape_string(t, vi, *text, &h->value_len);
        *text += h->value == *text ? h->value_len : 0;
        if (!h->name) {
            h->name = "";
            h->name_len = 0;
            h->value = NULL;
        }
        h->hash = name_hash(h->name, h->name_len);
    }
}

/* Chains each pair to the first of its name, found in an open-addressed table of firsts. */
static void group(hpair *p, size_t n, uint32_t *slot, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        size_t s = p[i].hash & (cap - 1);
        for (; slot[s]; s = (s + 1) & (cap - 1)) {
            hpair *f = &p[slot[s] - 1];
            if (f->hash == p[i].hash && same_name(f->name, f->name_len, p[i].name, p[i].name_len))
                break;
        }
        if (slot[s]) {
            hpair *f = &p[slot[s] - 1];
            p[f->last].next = (uint32_t)i;
            f->last = (uint32_t)i;
        } else {
            slot[s] = (uint32_t)i + 1;
            p[i].first = true;
            p[i].last = (uint32_t)i;
        }
    }
}

/* The values of the name first named at f on one side, joined with "\n" into out (NULL when
 * that side has none). */
static const char *joined(const hpair *p, size_t f, bool candidate, char *out)
{
    size_t len = 0;
    bool any = false;
    for (size_t i = f;; i = p[i].next) {
        if (p[i].candidate == candidate && p[i].value) {
            if (any)
                out[len++] = '\n';
            memcpy(out + len, p[i].value, p[i].value_len);
            len += p[i].value_len;
            any = true;
        }
        if (!p[i].next)
            break;
    }
    out[len] = '\0';
    return any ? out : NULL;
}

static size_t span(const diff_answer *a)
{
    size_t n;
    first_pair(a, &n);
    return n ? a->tape->tok[a->headers].end - a->tape->tok[a->headers].start : 0;
}

void diff_headers(diff_ctx *c, const diff_answer *baseline, const diff_answer *candidate)
{
    /* every string of a list, unescaped, and the values of one name joined, each fit in the
     * list's text: one allocation, on the stack for the usual few dozen headers */
    size_t na, nb, sa = span(baseline), sb = span(candidate), cap = 2;
    first_pair(baseline, &na);
    first_pair(candidate, &nb);
    while (cap < 2 * (na + nb))
        cap <<= 1;
    size_t need = (na + nb) * sizeof(hpair) + cap * sizeof(uint32_t) + 3 * (sa + sb) + 3;
    uint64_t small[1024];
    char *arena = need <= sizeof small ? (char *)small : malloc(need);
    if (!arena)
        return;
    hpair *p = (hpair *)arena;
    uint32_t *slot = (uint32_t *)(p + na + nb);
    memset(slot, 0, cap * sizeof *slot);
    char *text = (char *)(slot + cap);
    collect(baseline, false, p, &text);
    collect(candidate, true, p + na, &text);
    group(p, na + nb, slot, cap);
    char *va = text, *vb = va + sa + 1, *name = vb + sb + 1;
    for (size_t i = 0; i < na + nb; i++) {
        if (!p[i].first)
            continue;
        for (size_t k = 0; k < p[i].name_len; k++)
            name[k] = (char)tolower((unsigned char)p[i].name[k]);
        name[p[i].name_len] = '\0';
        compare_one(c, name, joined(p, i, false, va), joined(p, i, true, vb));
    }
    if (arena != (char *)small)
        free(arena);
}
