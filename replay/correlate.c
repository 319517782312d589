/* SPDX-License-Identifier: Apache-2.0 */
/*
 * correlate.c — values a server issues and later requests carry back, per target.
 *
 * A replayed upload must PATCH each registry's *own* upload URL, a replayed pull must
 * carry each registry's *own* /v2/auth token: the recorded values mean nothing to the
 * targets. After each exchange, what the recorded response issued is paired with what
 * each target's response issued (Location, Docker-Upload-UUID, Link, and the JSON body's
 * `token` / `next_page`); before each request, every recorded value is replaced by the
 * target's. A recorded value a target never received is a failed correlation: the
 * request is not sent (never the recorded value blindly). The profile can declare more:
 * correlation.yaml `headers: [...]` and `json_fields: [...]` (top-level body fields). With
 * --mixed, the one target that answered a flow step issues the value for every target.
 * Tables are bounded (oldest
 * pairs go first), so memory does not grow with the capture.
 */
#include "replay_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PAIRS 4096
#define MIN_VALUE_LEN 8 /* shorter values are too likely to occur by chance */
#define NBUCKETS 8192   /* a power of two, twice MAX_PAIRS */

/* A table of recorded values (and what one target issued in their place), a ring of at
 * most MAX_PAIRS: the oldest pair goes first. Every recorded value is at least
 * MIN_VALUE_LEN bytes, so its last 8 bytes index it: finding which recorded values occur
 * in a header is one bucket probe per byte of the header (Rabin-Karp over many patterns)
 * instead of a search per pair, which with thousands of registry tokens was most of
 * replay's time. The last bytes, not the first: tokens share their beginnings
 * ("redacted:", "eyJhbGci", "/v2/org/") and differ at the end. A bucket chains the pairs
 * whose last 8 bytes hash to it. And the scan skips: `blocks` counts the 2-byte pieces of
 * the pairs' last 8 bytes (at any of their 7 offsets); where the 2 bytes before a place are
 * none of them, no value can end there or at the 6 places after it (its last 8 bytes would
 * hold them), so the scan moves on by 7. A target's value put in by a substitution (an
 * 800-byte registry token, scanned again for what else to replace) is mostly skipped. */
typedef struct {
    char *recorded, *value;
    size_t len;      /* of recorded */
    uint64_t tail;   /* its last 8 bytes */
    int next;        /* next pair in the bucket, -1 */
} pair;

typedef struct {
    pair *items;
    size_t n, oldest; /* ring: the oldest is at `oldest` once full */
    int *buckets;     /* NBUCKETS heads, -1 when empty */
    uint16_t *blocks; /* 65536 counts: pairs' tail pieces (at most 7 * MAX_PAIRS) */
} pair_table;

#define QUICK_MAX 128 /* names_field's longest quoted name */

typedef struct {
    const char *name; /* in wanted */
    size_t len;
} quick_name;

struct rp_correlation {
    pair_table *targets; /* one per target */
    pair_table issued;   /* recorded values (value unused), for failure detection */
    size_t ntargets;
    const json_t *rules; /* the profile's declared rules (borrowed), see below */
    json_t *wanted;      /* the JSON body fields to learn: built-in and declared */
    pm_jtape tape;       /* reused for every body read */
    /* The wanted names a body is checked for in one pass over its quotes (names_any):
     * those of at most QUICK_MAX bytes without a '"' in them; quick_lens has bit n set
     * when one is n bytes long. The others (slow_names) are looked for one by one. */
    quick_name *quick;
    size_t nquick;
    uint64_t quick_lens[QUICK_MAX / 64 + 1];
    bool slow_names;
};

rp_correlation *rp_correlation_new(size_t ntargets, const json_t *rules)
{
    rp_correlation *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rules = rules;
    c->targets = calloc(ntargets ? ntargets : 1, sizeof *c->targets);
    c->ntargets = c->targets ? ntargets : 0;
    /* /v2/auth tokens (redacted in the capture: the same secret gives the same redacted
     * value in later Authorization headers) and pagination tokens, and what the profile adds */
    static const char *const builtin_fields[] = {"token", "access_token", "next_page", NULL};
    c->wanted = json_array();
    for (const char *const *f = builtin_fields; *f; f++)
        json_array_append_new(c->wanted, json_string(*f));
    json_array_extend(c->wanted, json_object_get(rules, "json_fields"));
    if (!c->targets || !c->wanted || !(c->quick = calloc(json_array_size(c->wanted) + 1, sizeof *c->quick))) {
        rp_correlation_free(c);
        return NULL;
    }
    size_t i;
    const json_t *f;
    json_array_foreach(c->wanted, i, f) {
        if (!json_is_string(f))
            continue;
        const char *name = json_string_value(f);
        size_t len = json_string_length(f);
        if (len > QUICK_MAX || memchr(name, '"', len)) {
            c->slow_names = true;
            continue;
        }
        c->quick[c->nquick++] = (quick_name){name, len};
        c->quick_lens[len / 64] |= (uint64_t)1 << (len % 64);
    }
    return c;
}

static void table_free(pair_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].recorded);
        free(t->items[i].value);
    }
    free(t->items);
    free(t->buckets);
    free(t->blocks);
}

void rp_correlation_free(rp_correlation *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntargets; i++)
        table_free(&c->targets[i]);
    table_free(&c->issued);
    free(c->targets);
    json_decref(c->wanted);
    free(c->quick);
    pm_jtape_free(&c->tape);
    free(c);
}

static uint64_t tail_of(const char *p, size_t len)
{
    p += len - 8;
    uint64_t h;
    memcpy(&h, p, sizeof h);
    return h;
}

/* Adds d to the counts of a tail's 7 two-byte pieces. */
static void count_blocks(pair_table *t, uint64_t tail, int d)
{
    unsigned char b[8];
    memcpy(b, &tail, sizeof b);
    for (int j = 0; j < 7; j++) {
        uint16_t k;
        memcpy(&k, b + j, sizeof k);
        t->blocks[k] = (uint16_t)(t->blocks[k] + d);
    }
}

static size_t bucket_of(uint64_t tail)
{
    return (size_t)((tail * 0x9E3779B97F4A7C15ull) >> 51) & (NBUCKETS - 1);
}

/* The pair whose recorded value is `recorded` (len bytes), or -1. */
static int table_find(const pair_table *t, const char *recorded, size_t len)
{
    if (!t->buckets || len < MIN_VALUE_LEN)
        return -1;
    uint64_t tail = tail_of(recorded, len);
    for (int i = t->buckets[bucket_of(tail)]; i >= 0; i = t->items[i].next)
        if (t->items[i].tail == tail && t->items[i].len == len && memcmp(t->items[i].recorded, recorded, len) == 0)
            return i;
    return -1;
}

static void unlink_pair(pair_table *t, int slot)
{
    int *link = &t->buckets[bucket_of(t->items[slot].tail)];
    while (*link >= 0 && *link != slot)
        link = &t->items[*link].next;
    if (*link == slot)
        *link = t->items[slot].next;
}

static void table_put(pair_table *t, const char *recorded, const char *value)
{
    size_t len = strlen(recorded);
    int found = table_find(t, recorded, len);
    if (found >= 0) {
        free(t->items[found].value);
        t->items[found].value = value ? strdup(value) : NULL;
        return;
    }
    if (!t->items) {
        t->items = calloc(MAX_PAIRS, sizeof *t->items);
        t->buckets = malloc(NBUCKETS * sizeof *t->buckets);
        t->blocks = calloc(65536, sizeof *t->blocks);
        if (!t->items || !t->buckets || !t->blocks) {
            free(t->items);
            free(t->buckets);
            free(t->blocks);
            t->items = NULL;
            t->buckets = NULL;
            t->blocks = NULL;
            return;
        }
        for (size_t i = 0; i < NBUCKETS; i++)
            t->buckets[i] = -1;
    }
    int slot;
    if (t->n < MAX_PAIRS) {
        slot = (int)t->n++;
    } else {
        slot = (int)t->oldest;
        t->oldest = (t->oldest + 1) % MAX_PAIRS;
        unlink_pair(t, slot);
        count_blocks(t, t->items[slot].tail, -1);
        free(t->items[slot].recorded);
        free(t->items[slot].value);
    }
    pair *p = &t->items[slot];
    p->recorded = strdup(recorded);
    p->value = value ? strdup(value) : NULL;
    p->len = len;
    p->tail = tail_of(recorded, len);
    count_blocks(t, p->tail, +1);
    size_t b = bucket_of(p->tail);
    p->next = t->buckets[b];
    t->buckets[b] = slot;
}

/* Slots already replaced in one string: a few at most, so a short list, not a flag per
 * slot of the table (a 4 KiB calloc for every request that carried a value). */
typedef struct {
    int *slots;
    size_t n, cap;
    int small[16];
} slot_set;

static bool slot_set_has(const slot_set *u, int slot)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->slots[i] == slot)
            return true;
    return false;
}

static bool slot_set_add(slot_set *u, int slot)
{
    if (u->n == u->cap) {
        size_t cap = u->cap * 2;
        int *grown = u->slots == u->small ? malloc(cap * sizeof *grown) : realloc(u->slots, cap * sizeof *grown);
        if (!grown)
            return false;
        if (u->slots == u->small)
            memcpy(grown, u->small, sizeof u->small);
        u->slots = grown;
        u->cap = cap;
    }
    u->slots[u->n++] = slot;
    return true;
}

/* Calls found(slot) for each pair of t whose recorded value occurs in s (len bytes) and
 * that `skip` does not hold; stops when found returns false. */
static void table_scan(const pair_table *t, const char *s, size_t len, const slot_set *skip,
                       bool (*found)(void *ctx, int slot), void *ctx)
{
    if (!t->buckets || len < MIN_VALUE_LEN)
        return;
    for (size_t end = 8; end <= len; end++) { /* each place a value could end */
        uint16_t piece;
        memcpy(&piece, s + end - 2, sizeof piece);
        if (!t->blocks[piece]) {
            end += 6; /* none ends here nor at the 6 places after */
            continue;
        }
        uint64_t tail = tail_of(s, end);
        for (int i = t->buckets[bucket_of(tail)]; i >= 0; i = t->items[i].next) {
            const pair *p = &t->items[i];
            if (p->tail == tail && p->len <= end && !(skip && slot_set_has(skip, i)) &&
                memcmp(s + end - p->len, p->recorded, p->len) == 0 && !found(ctx, i))
                return;
        }
    }
}

/* "http://host:port/v2/x?y" → "/v2/x?y"; relative values unchanged. */
char *rp_url_path(const char *v)
{
    if (!v)
        return NULL;
    const char *p = v;
    const char *scheme = strstr(v, "://");
    if (scheme && scheme < strchr(v, '/') + 1) {
        p = strchr(scheme + 3, '/');
        if (!p)
            p = "/";
    }
    return strdup(p);
}

/* The URL inside a Link header's <...>. */
char *rp_link_target(const char *v)
{
    const char *open = v ? strchr(v, '<') : NULL;
    const char *close = open ? strchr(open, '>') : NULL;
    if (!close)
        return NULL;
    char *inner = strndup(open + 1, (size_t)(close - open - 1));
    char *path = rp_url_path(inner);
    free(inner);
    return path;
}

static void pair_up(rp_correlation *c, size_t target, const char *recorded, const char *value)
{
    if (!recorded || strlen(recorded) < MIN_VALUE_LEN)
        return;
    table_put(&c->issued, recorded, NULL);
    if (value && strcmp(recorded, value) != 0)
        table_put(&c->targets[target], recorded, value);
    else if (value) /* the same value: the target issued it too */
        table_put(&c->targets[target], recorded, value);
}

/* True when text holds a \u escape of a letter, digit or '_' ("\u0074oken"): a field
 * name could hide behind it. Servers do not write those (Python escapes non-ASCII, Go
 * also <, > and &), so bodies with ordinary escapes still go unparsed. */
static bool escapes_a_name_char(const char *text, size_t len)
{
    /* every backslash tried (memchr: bodies have few), not a memmem for "\u00" over all */
    const char *end = text + len;
    for (const char *p = memchr(text, '\\', len); p; p = memchr(p + 1, '\\', (size_t)(end - p - 1))) {
        if (end - p < 4 || memcmp(p, "\\u00", 4) != 0)
            continue;
        if (end - p < 6) /* cut short: nothing after it can be one */
            return false;
        char hex[3] = {p[4], p[5], '\0'};
        char *stop = NULL;
        long c = strtol(hex, &stop, 16);
        if (*stop == '\0' && (c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return true;
    }
    return false;
}

/* Whether text names field as a JSON key would ("token" with its quotes). */
static bool names_field(const char *text, size_t len, const char *field, size_t flen)
{
    char quoted[130];
    if (flen + 2 > sizeof quoted) /* a long declared name: unquoted, only ever more often */
        return memmem(text, len, field, flen) != NULL;
    quoted[0] = '"';
    memcpy(quoted + 1, field, flen);
    quoted[flen + 1] = '"';
    return memmem(text, len, quoted, flen + 2) != NULL;
}

/* Whether text names one of the quick names as a JSON key would ("token" with its
 * quotes): names_field for all of them in one pass. Every such occurrence begins at a
 * '"' and its name runs to the next '"', so each quote is tried as an opening one with
 * the bytes up to the next; a length no quick name has is passed over at once. */
static bool names_any(const rp_correlation *c, const char *text, size_t len)
{
    if (c->nquick == 0)
        return false;
    const char *end = text + len;
    for (const char *p = memchr(text, '"', len), *q; p; p = q) {
        if (!(q = memchr(p + 1, '"', (size_t)(end - p - 1))))
            return false;
        size_t n = (size_t)(q - p - 1);
        if (n > QUICK_MAX || !((c->quick_lens[n / 64] >> (n % 64)) & 1))
            continue;
        for (size_t i = 0; i < c->nquick; i++)
            if (c->quick[i].len == n && memcmp(c->quick[i].name, p + 1, n) == 0)
                return true;
    }
    return false;
}

/* The wanted top-level string fields of a body that is a JSON object, decoded: vals[i] for
 * wanted[i] (malloc'd; NULL when absent or not a string). False when it has none. Bodies
 * that name no wanted field as a key are not read at all; the others are read on a tape,
 * no tree built, except where an escape could hide a name: jansson reads those, as it
 * decodes keys. */
static bool body_fields(rp_correlation *c, const char *text, size_t len, char **vals)
{
    const json_t *wanted = c->wanted;
    size_t n = json_array_size(wanted), i;
    const json_t *f;
    for (i = 0; i < n; i++)
        vals[i] = NULL;
    if (!text || len == 0 || !memchr(text, '{', len < 64 ? len : 64))
        return false;
    bool named = names_any(c, text, len), escaped = escapes_a_name_char(text, len);
    if (!named && c->slow_names)
        json_array_foreach(wanted, i, f) {
            size_t flen = json_is_string(f) ? json_string_length(f) : 0;
            if (json_is_string(f) && (flen > QUICK_MAX || memchr(json_string_value(f), '"', flen)))
                named |= names_field(text, len, json_string_value(f), flen);
        }
    if (!named && !escaped)
        return false;
    bool found = false;
    if (escaped) {
        json_t *doc = json_loadb(text, len, 0, NULL);
        json_array_foreach(wanted, i, f) {
            const char *v = json_is_object(doc) ? json_string_value(json_object_get(doc, json_string_value(f))) : NULL;
            found |= v && (vals[i] = strdup(v)) != NULL;
        }
        json_decref(doc);
        return found;
    }
    if (pm_jtape_parse(&c->tape, text, len, 64) != 0 || c->tape.tok[0].type != PM_JOBJ)
        return false;
    json_array_foreach(wanted, i, f) {
        long v = json_is_string(f) ? pm_jtape_find(&c->tape, 0, json_string_value(f)) : -1;
        if (v >= 0 && c->tape.tok[v].type == PM_JSTR)
            found |= (vals[i] = pm_jtape_strdup(&c->tape, (size_t)v, NULL)) != NULL;
    }
    return found;
}

static void free_fields(char **vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
}

/* The response headers every exchange is learned from, found in one pass over a
 * response's headers (rp_call_header and rp_headers_get walk them once per name, a
 * strcasecmp per header each time): the first value of each, as those give. */
enum { H_LOCATION, H_CONTENT_LOCATION, H_UPLOAD_UUID, H_LINK, NLEARNED };
static const struct {
    const char *name;
    size_t len;
} learned[NLEARNED] = {{"location", 8}, {"content-location", 16}, {"docker-upload-uuid", 18}, {"link", 4}};

static void take_learned(const char *name, const char *value, const char **v)
{
    size_t len = strlen(name);
    for (int i = 0; i < NLEARNED; i++)
        if (!v[i] && len == learned[i].len && strcasecmp(name, learned[i].name) == 0) {
            v[i] = value;
            return;
        }
}

/* From a call's "name\0value\0" pairs (replay_internal.h). */
static void call_learned(const rp_call *c, const char **v)
{
    for (int i = 0; i < NLEARNED; i++)
        v[i] = NULL;
    for (size_t at = 0; at < c->hdr_len;) {
        const char *n = c->hdr + at, *value = n + strlen(n) + 1;
        take_learned(n, value, v);
        at = (size_t)(value + strlen(value) + 1 - c->hdr);
    }
}

/* From a record's headers. */
static void record_learned(const rp_header *h, size_t n, const char **v)
{
    for (int i = 0; i < NLEARNED; i++)
        v[i] = NULL;
    for (size_t i = 0; i < n; i++)
        take_learned(h[i].name, h[i].value, v);
}

/* Pairs what target t issued in the table of t; for a --mixed step (one target answered
 * it) in every target's table: the next step, whichever target it goes to, carries the
 * value the *issuing* target gave (a PATCH to Go uses the Location Python answered). */
static void pair_into(rp_correlation *c, const rp_exchange *x, size_t t, const char *recorded, const char *value)
{
    if (!x->mixed) {
        pair_up(c, t, recorded, value);
        return;
    }
    for (size_t u = 0; u < c->ntargets; u++)
        pair_up(c, u, recorded, value);
}

void rp_correlation_learn(rp_correlation *c, const rp_exchange *x)
{
    const rp_record *rec = x->rec;
    if (rec->response < 0)
        return;
    const rp_header *rec_headers = rec->resp_headers;
    const size_t nrec = rec->n_resp_headers;
    /* JSON bodies: the recorded body is read once; a target's only when the recorded one
     * issued something. */
    const size_t nwanted = json_array_size(c->wanted);
    char *rec_vals[nwanted ? nwanted : 1], *vals[nwanted ? nwanted : 1];
    bool rec_issued = false;
    if (rec->resp_body >= 0) {
        size_t len = 0;
        char *text = rp_record_string(rec, rec->resp_body, &len);
        rec_issued = body_fields(c, text, len, rec_vals);
        free(text);
    } else {
        memset(rec_vals, 0, sizeof rec_vals);
    }

    const char *rec_h[NLEARNED], *call_h[NLEARNED];
    record_learned(rec_headers, nrec, rec_h);
    for (size_t t = 0; t < c->ntargets; t++) {
        const rp_call *call = &x->calls[t];
        if (call->skipped || call->error || !call->status || (x->mixed && x->mixed->target != t))
            continue;
        call_learned(call, call_h);
        static const int url_headers[] = {H_LOCATION, H_CONTENT_LOCATION};
        for (size_t u = 0; u < 2; u++) {
            char *r = rp_url_path(rec_h[url_headers[u]]);
            char *v = rp_url_path(call_h[url_headers[u]]);
            pair_into(c, x, t, r, v);
            free(r);
            free(v);
        }
        pair_into(c, x, t, rec_h[H_UPLOAD_UUID], call_h[H_UPLOAD_UUID]);
        /* declared in the profile: more response headers whose values come back */
        size_t i;
        const json_t *h;
        json_array_foreach(json_object_get(c->rules, "headers"), i, h)
            if (json_is_string(h))
                pair_into(c, x, t, rp_headers_get(rec_headers, nrec, json_string_value(h)),
                        rp_call_header(call, json_string_value(h)));
        char *rl = rp_link_target(rec_h[H_LINK]);
        char *vl = rp_link_target(call_h[H_LINK]);
        pair_into(c, x, t, rl, vl);
        free(rl);
        free(vl);
        if (!rec_issued)
            continue;
        size_t body_len;
        const unsigned char *body = rp_call_body(call, &body_len);
        body_fields(c, (const char *)body, body_len, vals);
        for (i = 0; i < nwanted; i++)
            pair_into(c, x, t, rec_vals[i], vals[i]);
        free_fields(vals, nwanted);
    }
    free_fields(rec_vals, nwanted);
}

static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        count++;
    if (count == 0)
        return NULL;
    size_t n = strlen(s) + count * tl - count * fl + 1;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    const char *p = s;
    for (const char *q = strstr(p, from); q; q = strstr(p, from)) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

typedef struct {
    const pair_table *t;
    int best;       /* the longest recorded value found with a value to put in, -1 */
    const char *missing;
    const pair_table *target;
} scan_state;

static bool longest(void *ctx, int slot)
{
    scan_state *st = ctx;
    const pair *p = &st->t->items[slot];
    if (p->value && (st->best < 0 || p->len > st->t->items[st->best].len))
        st->best = slot;
    return true;
}

/* A recorded value the target has no value of its own for is a failed correlation. Checked
 * on the request as recorded, before any substitution: a shorter value inside it may be
 * mapped (a failed PATCH issued no new upload Location, but the upload's UUID in the old one
 * is mapped: replacing the UUID alone would send the recorded `_state`). */
static bool unissued(void *ctx, int slot)
{
    scan_state *st = ctx;
    const pair *r = &st->t->items[slot];
    int j = table_find(st->target, r->recorded, r->len);
    if (j >= 0 && st->target->items[j].value)
        return true;
    st->missing = r->recorded;
    return false;
}

char *rp_correlation_apply(const rp_correlation *c, size_t target, const char *s, const char **missing)
{
    *missing = NULL;
    const pair_table *t = &c->targets[target];
    scan_state before = {.t = &c->issued, .target = t};
    table_scan(&c->issued, s, strlen(s), NULL, unissued, &before);
    if (before.missing) {
        *missing = before.missing;
        return NULL;
    }
    char *cur = strdup(s);
    if (!cur)
        return NULL;
    /* longest recorded values first: an upload URL before the UUID inside it */
    slot_set used = {.n = 0, .cap = sizeof used.small / sizeof *used.small};
    used.slots = used.small;
    for (;;) {
        scan_state st = {.t = t, .best = -1};
        table_scan(t, cur, strlen(cur), &used, longest, &st);
        if (st.best < 0 || !slot_set_add(&used, st.best))
            break;
        char *next = replace_all(cur, t->items[st.best].recorded, t->items[st.best].value);
        if (next) {
            free(cur);
            cur = next;
        }
    }
    if (used.slots != used.small)
        free(used.slots);
    return cur;
}
