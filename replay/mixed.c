/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixed.c — `replay --mixed PATTERN`: which flow each exchange belongs to, which step of
 * it it is, and which one target answers it.
 *
 * While a capability's ownership is shared (a canary cohort, a rollback in the middle of a
 * push), one client flow crosses implementations: Python answers the POST that opens a
 * blob upload, Go the PATCH and PUT that continue it. A flow is opened by
 *   - an upload: POST /v2/NAME/blobs/uploads/ (kind "upload"),
 *   - a paginated listing: a recorded answer with `Link: <...>; rel="next"` or a JSON
 *     `next_page` (kind "listing"),
 *   - a token: a recorded answer whose JSON body issues `token` / `access_token`
 *     (kind "token", e.g. GET /v2/auth),
 * and continued by every later request that carries a value one of its steps' recorded
 * answers issued (the upload Location and UUID, the next link, the token), in request
 * order, whatever connection it came on. A request carrying both an upload's Location and
 * a token continues the upload (the more specific flow). Step 0 opens the flow; the
 * pattern maps each step's index to the baseline or the candidate (rp_mixed_role).
 * Exchanges in no flow are not mixed: the engine sends them to every target as usual,
 * and they are diffed as usual.
 *
 * Memory is bounded: the last MAX_FLOWS flows and MAX_VALUES issued values are kept (an
 * older flow's later requests then count as exchanges in no flow). The values are indexed
 * by their last 8 bytes, so finding which ones a request carries costs one probe per
 * byte of its target and headers, however many flows are open.
 */
#include "replay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FLOWS 1024
#define MAX_VALUES 4096
#define NBUCKETS 8192   /* a power of two, twice MAX_VALUES */
#define MIN_VALUE_LEN 8 /* as correlate.c: shorter values occur by chance */

const char *const replay_mixed_names[] = {"alternate", "baseline-first", "candidate-first", NULL};

replay_mixed_pattern replay_mixed_from_name(const char *name)
{
    for (size_t i = 0; name && replay_mixed_names[i]; i++)
        if (strcmp(name, replay_mixed_names[i]) == 0)
            return (replay_mixed_pattern)(REPLAY_MIXED_ALTERNATE + i);
    return REPLAY_MIXED_OFF;
}

const char *replay_mixed_name(replay_mixed_pattern p)
{
    return p >= REPLAY_MIXED_ALTERNATE && p <= REPLAY_MIXED_CANDIDATE_FIRST ? replay_mixed_names[p - 1] : NULL;
}

pm_role rp_mixed_role(replay_mixed_pattern p, unsigned step)
{
    switch (p) {
    case REPLAY_MIXED_BASELINE_FIRST:
        return step == 0 ? PM_ROLE_BASELINE : PM_ROLE_CANDIDATE;
    case REPLAY_MIXED_CANDIDATE_FIRST:
        return step == 0 ? PM_ROLE_CANDIDATE : PM_ROLE_BASELINE;
    default:
        return step % 2 == 0 ? PM_ROLE_BASELINE : PM_ROLE_CANDIDATE;
    }
}

/* Flow kinds, most specific first: a request carrying values of two flows continues the
 * one of the lower rank. */
enum { RANK_UPLOAD, RANK_LISTING, RANK_TOKEN };
static const char *const kind_names[] = {"upload", "listing", "token"};

typedef struct {
    char *id;       /* the opening record's id (or "flow-N") */
    int rank;
    unsigned steps; /* steps so far */
    uint64_t gen;   /* which flow holds this slot (slots are reused, oldest first) */
} mixed_flow;

typedef struct {
    char *value;    /* a recorded value one of the flow's steps issued */
    size_t len;
    uint64_t tail;  /* its last 8 bytes: the index's key (as correlate.c's) */
    int next;       /* the next value in its bucket, -1 */
    size_t slot;    /* its flow */
    uint64_t gen;   /* the flow's gen then: a reused slot makes the value stale */
} issued_value;

struct rp_mixed {
    replay_mixed_pattern pattern;
    size_t baseline, candidate;
    mixed_flow flows[MAX_FLOWS];
    size_t next_flow;
    uint64_t gen;
    issued_value values[MAX_VALUES];
    size_t nvalues, next_value;
    int buckets[NBUCKETS]; /* values by the hash of their last 8 bytes, -1: none */
};

rp_mixed *rp_mixed_new(replay_mixed_pattern pattern, const pm_suite *suite, pm_err *err)
{
    size_t nb = 0, nc = 0, b = 0, c = 0;
    for (size_t i = 0; i < suite->ntargets; i++) {
        if (suite->targets[i].recorded)
            continue;
        if (suite->targets[i].role == PM_ROLE_BASELINE)
            nb++, b = i;
        else if (suite->targets[i].role == PM_ROLE_CANDIDATE)
            nc++, c = i;
    }
    if (nb != 1 || nc != 1) {
        pm_err_set(err, "--mixed needs a suite with exactly one baseline and one candidate target (it has %zu and %zu)",
                   nb, nc);
        return NULL;
    }
    rp_mixed *m = calloc(1, sizeof *m);
    if (!m) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < NBUCKETS; i++)
        m->buckets[i] = -1;
    m->pattern = pattern;
    m->baseline = b;
    m->candidate = c;
    return m;
}

void rp_mixed_free(rp_mixed *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < MAX_FLOWS; i++)
        free(m->flows[i].id);
    for (size_t i = 0; i < m->nvalues; i++)
        free(m->values[i].value);
    free(m);
}

void rp_mixed_step_free(rp_mixed_step *step)
{
    if (!step)
        return;
    free(step->flow);
    free(step);
}

/* ---- what a recorded answer issues ------------------------------------------------------ */

#define MAX_ISSUED 8

typedef struct {
    char *values[MAX_ISSUED];
    size_t n;
    bool next_link, next_page, token;
} issued_set;

static void issued_add(issued_set *s, char *value)
{
    if (value && strlen(value) >= MIN_VALUE_LEN && s->n < MAX_ISSUED)
        s->values[s->n++] = value;
    else
        free(value);
}

static void issued_clear(issued_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->values[i]);
    s->n = 0;
}

static void issued_by(const rp_record *rec, issued_set *s)
{
    memset(s, 0, sizeof *s);
    if (rec->response < 0)
        return;
    const rp_header *h = rec->resp_headers;
    size_t n = rec->n_resp_headers;
    issued_add(s, rp_url_path(rp_headers_get(h, n, "location")));
    const char *uuid = rp_headers_get(h, n, "docker-upload-uuid");
    issued_add(s, uuid ? strdup(uuid) : NULL);
    const char *link = rp_headers_get(h, n, "link");
    if (link && strstr(link, "rel=\"next\"")) {
        s->next_link = true;
        issued_add(s, rp_link_target(link));
    }
    if (rec->resp_body < 0)
        return;
    size_t len = 0;
    char *text = rp_record_string(rec, rec->resp_body, &len);
    json_t *doc = text && (memmem(text, len, "token", 5) || memmem(text, len, "next_page", 9))
                      ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    static const char *const fields[] = {"token", "access_token", "next_page"};
    for (size_t i = 0; json_is_object(doc) && i < 3; i++) {
        const char *v = json_string_value(json_object_get(doc, fields[i]));
        if (!v)
            continue;
        if (i < 2)
            s->token = true;
        else
            s->next_page = true;
        issued_add(s, strdup(v));
    }
    json_decref(doc);
}

/* POST /v2/NAME/blobs/uploads/ (any query: a mount or a monolithic upload opens one too). */
static bool opens_upload(const rp_record *rec)
{
    if (!rec->method || strcmp(rec->method, "POST") != 0 || !rec->target)
        return false;
    const char *path = pm_target_origin_form(rec->target);
    size_t len = strcspn(path, "?");
    static const char suffix[] = "/blobs/uploads/";
    size_t sl = sizeof suffix - 1;
    if (len > 0 && path[len - 1] != '/')
        sl--; /* ".../blobs/uploads" */
    return strncmp(path, "/v2/", 4) == 0 && len > sl && strncmp(path + len - sl, suffix, sl) == 0;
}

/* ---- flows ------------------------------------------------------------------------------ */

static uint64_t tail_of(const char *p, size_t len)
{
    uint64_t h;
    memcpy(&h, p + len - 8, sizeof h);
    return h;
}

static size_t bucket_of(uint64_t tail)
{
    return (size_t)((tail * 0x9E3779B97F4A7C15ull) >> 51) & (NBUCKETS - 1);
}

typedef struct {
    long best; /* the flow slot found, -1 */
    size_t best_len;
} join_state;

/* Every live value that occurs in s, one bucket probe per byte of s (correlate.c finds
 * recorded values in headers the same way): the flow of the lowest rank, then of the
 * longest value, wins. */
static void scan_for_values(const rp_mixed *m, const char *s, join_state *js)
{
    size_t len = strlen(s);
    for (size_t end = MIN_VALUE_LEN; end <= len; end++) {
        uint64_t tail = tail_of(s, end);
        for (int i = m->buckets[bucket_of(tail)]; i >= 0; i = m->values[i].next) {
            const issued_value *v = &m->values[i];
            const mixed_flow *f = &m->flows[v->slot];
            if (v->tail != tail || v->len > end || f->gen != v->gen || !f->id ||
                memcmp(s + end - v->len, v->value, v->len) != 0)
                continue;
            if (js->best >= 0) {
                int best_rank = m->flows[js->best].rank;
                if (f->rank > best_rank || (f->rank == best_rank && v->len <= js->best_len))
                    continue;
            }
            js->best = (long)v->slot;
            js->best_len = v->len;
        }
    }
}

/* The flow whose issued value the request carries (in its target or a header but Host),
 * or -1. */
static long joined_flow(const rp_mixed *m, const rp_record *rec)
{
    join_state js = {.best = -1};
    if (rec->target)
        scan_for_values(m, rec->target, &js);
    for (size_t i = 0; i < rec->n_req_headers; i++)
        if (strcasecmp(rec->req_headers[i].name, "host") != 0)
            scan_for_values(m, rec->req_headers[i].value, &js);
    return js.best;
}

static size_t open_flow(rp_mixed *m, const rp_record *rec, int rank)
{
    size_t slot = m->next_flow;
    m->next_flow = (m->next_flow + 1) % MAX_FLOWS;
    mixed_flow *f = &m->flows[slot];
    free(f->id);
    char fallback[32];
    snprintf(fallback, sizeof fallback, "flow-%llu", (unsigned long long)m->gen + 1);
    f->id = strdup(rec->id ? rec->id : fallback);
    f->rank = rank;
    f->steps = 0;
    f->gen = ++m->gen;
    return slot;
}

static void unlink_value(rp_mixed *m, int index)
{
    int *link = &m->buckets[bucket_of(m->values[index].tail)];
    while (*link >= 0 && *link != index)
        link = &m->values[*link].next;
    if (*link == index)
        *link = m->values[index].next;
}

/* Keeps value (taken; at least MIN_VALUE_LEN bytes) as flow slot's; the oldest value goes
 * when MAX_VALUES are kept. */
static void remember(rp_mixed *m, size_t slot, char *value)
{
    int index;
    if (m->nvalues < MAX_VALUES) {
        index = (int)m->nvalues++;
    } else {
        index = (int)m->next_value;
        m->next_value = (m->next_value + 1) % MAX_VALUES;
        unlink_value(m, index);
        free(m->values[index].value);
    }
    issued_value *v = &m->values[index];
    v->value = value;
    v->len = strlen(value);
    v->tail = tail_of(value, v->len);
    v->slot = slot;
    v->gen = m->flows[slot].gen;
    size_t b = bucket_of(v->tail);
    v->next = m->buckets[b];
    m->buckets[b] = index;
}

rp_mixed_step *rp_mixed_assign(rp_mixed *m, const rp_record *rec)
{
    issued_set is;
    issued_by(rec, &is);
    int opens = opens_upload(rec) ? RANK_UPLOAD
                : is.next_link || is.next_page ? RANK_LISTING
                : is.token ? RANK_TOKEN : -1;
    long joined = joined_flow(m, rec);
    long slot;
    if (joined >= 0 && (m->flows[joined].rank < RANK_TOKEN || opens < 0))
        slot = joined; /* an upload or listing continued, or a request carrying a token */
    else if (opens >= 0)
        slot = (long)open_flow(m, rec, opens);
    else {
        issued_clear(&is);
        return NULL; /* in no flow */
    }
    mixed_flow *f = &m->flows[slot];
    rp_mixed_step *step = calloc(1, sizeof *step);
    if (!step || !(step->flow = strdup(f->id))) {
        free(step);
        issued_clear(&is);
        return NULL;
    }
    step->kind = kind_names[f->rank];
    step->step = f->steps++;
    step->pattern = m->pattern;
    step->target = rp_mixed_role(m->pattern, step->step) == PM_ROLE_BASELINE ? m->baseline : m->candidate;
    /* what this step's recorded answer issued continues the flow; a finished upload's
     * Location names the blob (a later read of it is no step of the upload) */
    bool continues = f->rank != RANK_UPLOAD || rec->resp_status == 202;
    for (size_t i = 0; i < is.n; i++) {
        if (continues)
            remember(m, (size_t)slot, is.values[i]);
        else
            free(is.values[i]);
    }
    return step;
}
