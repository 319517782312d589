/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c — one result record → one diff record.
 *
 * The verdict: `error` when the baseline or the candidate failed (timeout, reset, ...),
 * `skipped` when either was not sent (side-effect policy, credentials), else `match`
 * or `mismatch` by what remains after the rules: status, then headers and body (still
 * compared when the status differs). With a `secondary` target (a second Python), noise
 * moves to `noise` and does not count: a shape the learned counts call noise (noise.c),
 * unless this exchange's secondary differs there in another way; without counts (the tee,
 * live), a difference this exchange's secondary shows too, varying the same way. The
 * signature is a stable hash
 * of the capability and the set of (where, path with indices as [*], kind), so a
 * thousand copies of one bug group into one row of the report. A --mixed flow step (one
 * answer, no pair) is judged against the recording instead (mixed.c): verdict `mixed`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_internal.h"

struct diff_engine {
    diff_options o;
    diff_rules *rules;
    diff_stats stats;
    char *hosts[3];    /* host:port of the baseline, the candidate and the secondary */
    diff_noise *noise; /* the learned model, after a first pass (diff_learn) */
    diff_view view;    /* the record being compared (reused) */
    pm_jtape tapes[2]; /* its two bodies (reused) */
    const char **tails; /* path rules' last keys, for the exchange at hand */
    size_t *tail_lens;
    size_t tails_cap;
};

void diff_options_init(diff_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_decoded = 64u << 20;
    o->max_differences = 50;
    o->max_value = 200;
    o->noise_relative = 0.20;
    o->noise_absolute = 0.0003;
}

/* "http://127.0.0.1:8001/x" → "127.0.0.1:8001" */
static char *host_of(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return NULL;
    p += 3;
    return strndup(p, strcspn(p, "/"));
}

diff_engine *diff_new(const diff_options *o, const char *rules_path, pm_err *err)
{
    diff_engine *e = calloc(1, sizeof *e);
    if (!e) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    e->o = *o;
    if (rules_path) {
        e->rules = diff_rules_load(rules_path, o->today, err);
        if (!e->rules || diff_rules_check_names(e->rules, o->names, err) != 0) {
            diff_rules_free(e->rules);
            free(e);
            return NULL;
        }
    }
    e->o.names = NULL; /* checked the rules at load; the caller may free them now */
    for (size_t i = 0; o->suite && i < o->suite->ntargets; i++) {
        const pm_target *t = &o->suite->targets[i];
        int slot = t->role == PM_ROLE_BASELINE ? 0 : t->role == PM_ROLE_CANDIDATE ? 1 : 2;
        if (t->url && !e->hosts[slot])
            e->hosts[slot] = host_of(t->url);
    }
    return e;
}

const diff_stats *diff_get_stats(const diff_engine *e)
{
    return &e->stats;
}

void diff_free(diff_engine *e)
{
    if (!e)
        return;
    diff_rules_free(e->rules);
    diff_noise_free(e->noise);
    diff_view_free(&e->view);
    pm_jtape_free(&e->tapes[0]);
    pm_jtape_free(&e->tapes[1]);
    free(e->tails);
    free(e->tail_lens);
    free(e->hosts[0]);
    free(e->hosts[1]);
    free(e->hosts[2]);
    free(e);
}

/* A value for a difference, cut to max_value characters. */
static json_t *shown(const diff_ctx *c, const json_t *v)
{
    if (!v)
        return json_null();
    if (json_is_string(v) && json_string_length(v) > c->o->max_value) {
        char *cut = strndup(json_string_value(v), pm_utf8_cut(json_string_value(v), c->o->max_value));
        json_t *s = json_sprintf("%s…", cut);
        free(cut);
        return s ? s : json_string("…");
    }
    if (json_is_object(v) || json_is_array(v)) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text && strlen(text) > c->o->max_value) {
            text[pm_utf8_cut(text, c->o->max_value)] = '\0';
            json_t *s = json_sprintf("%s…", text);
            free(text);
            return s ? s : json_string("…");
        }
        free(text);
    }
    return json_deep_copy(v);
}

void diff_add(diff_ctx *c, const char *where, const char *path, const char *kind, const json_t *baseline,
              const json_t *candidate)
{
    c->count++;
    if (c->counting_only || json_array_size(c->differences) >= c->o->max_differences)
        return;
    json_array_append_new(c->differences, json_pack("{s:s,s:s,s:s,s:o,s:o}", "where", where, "path", path, "kind",
                                                    kind, "baseline", shown(c, baseline), "candidate",
                                                    shown(c, candidate)));
}

void diff_expired_hit(diff_ctx *c, const diff_rule *r, uint64_t n)
{
    if (!n)
        return;
    c->expired_hits += n;
    for (size_t i = 0; i < c->nexpired; i++)
        if (c->expired_rules[i] == r)
            return;
    if (c->nexpired < sizeof c->expired_rules / sizeof c->expired_rules[0])
        c->expired_rules[c->nexpired++] = r;
}

/* [{rule, reason, owner, expires}] of the expired rules that would have hidden something. */
static json_t *expired_list(const diff_ctx *c)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->nexpired; i++) {
        const diff_rule *r = c->expired_rules[i];
        json_array_append_new(list, json_pack("{s:s,s:s?,s:s?,s:s?}", "rule", r->name, "reason", r->reason, "owner",
                                              r->owner, "expires", r->expires));
    }
    return list;
}

/* ---- comparing two answers ------------------------------------------------------------------ */

/* Both bodies recorded as the same text with no Content-Encoding: equal without decoding.
 * (Compressed or binary bodies are decoded even when equal: a gzip bomb is `too_large`
 * on both sides, never a match nobody looked at.) */
static bool same_plain_body(const diff_answer *x, const diff_answer *y)
{
    if (!x->body || !y->body || x->body_b64 || y->body_b64 || x->body_len != y->body_len ||
        memcmp(x->body, y->body, x->body_len) != 0)
        return false;
    char *ex = diff_answer_header(x, "content-encoding"), *ey = ex ? NULL : diff_answer_header(y, "content-encoding");
    bool plain = !ex && !ey;
    free(ex);
    free(ey);
    return plain;
}

static void compare_answers(diff_ctx *c, const diff_answer *x, const diff_answer *y, const char **error)
{
    const json_t *sa = x->status, *sb = y->status;
    bool differ = json_integer_value(sa) != json_integer_value(sb);
    const json_t *oa = x->outcome, *ob = y->outcome;
    if (oa || ob) { /* a job result: the queue row's outcome is its status */
        sa = oa;
        sb = ob;
        differ = !oa || !ob || !json_equal(oa, ob);
    }
    /* another status comes first, then what else differs: the reviewer needs to see what
     * the 404 said (its Content-Type, its body), counted in the same verdict */
    if (differ)
        diff_add(c, "status", "", "value", sa, sb);
    diff_headers(c, x, y);
    if (same_plain_body(x, y))
        return;
    diff_body ba, bb;
    const char *ea = NULL, *eb = NULL;
    int ra = diff_body_decode(x, c->o->max_decoded, &ba, &ea);
    int rb = diff_body_decode(y, c->o->max_decoded, &bb, &eb);
    if (ra == 0 && rb == 0) {
        char *type = diff_answer_header(x, "content-type");
        if (!type)
            type = diff_answer_header(y, "content-type");
        diff_bodies(c, type, &ba, &bb);
        free(type);
    } else {
        *error = ea ? ea : eb;
    }
    diff_body_free(&ba);
    diff_body_free(&bb);
}

/* where|path-with-[*]|kind, for signatures and noise matching. */
void diff_shape_key(const json_t *d, char *buf, size_t size)
{
    const char *path = json_string_value(json_object_get(d, "path"));
    size_t n = (size_t)snprintf(buf, size, "%s|", json_string_value(json_object_get(d, "where")));
    for (const char *p = path; p && *p && n + 4 < size; p++) {
        if (*p == '[' && p[1] >= '0' && p[1] <= '9') {
            memcpy(buf + n, "[*]", 3);
            n += 3;
            p = strchr(p, ']');
            if (!p)
                break;
        } else {
            buf[n++] = *p;
        }
    }
    snprintf(buf + n, size - n, "|%s", json_string_value(json_object_get(d, "kind")));
}

static int compare_keys(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static json_t *signature(const char *capability, const json_t *differences)
{
    size_t n = json_array_size(differences);
    if (n == 0)
        return json_null();
    char **keys = calloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        char buf[600];
        diff_shape_key(json_array_get(differences, i), buf, sizeof buf);
        keys[i] = strdup(buf);
    }
    qsort(keys, n, sizeof *keys, compare_keys);
    size_t total = strlen(capability) + 2;
    for (size_t i = 0; i < n; i++)
        total += strlen(keys[i]) + 1;
    char *text = malloc(total), *p = text;
    p += sprintf(p, "%s\n", capability);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
            continue; /* a set: the same shape twice is one */
        p += sprintf(p, "%s\n", keys[i]);
    }
    char hex[65];
    pm_sha256_hex(text, (size_t)(p - text), hex);
    hex[16] = '\0';
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(text);
    return json_string(hex);
}

static bool answered(const diff_answer *a)
{
    return a && !json_is_true(a->skipped) && (!a->error || json_is_null(a->error));
}

/* A comparison context for one exchange: its rules, and their last keys for the tapes. */
static diff_ctx context_for(diff_engine *e, const char *family, const char *capability, json_t *differences)
{
    const diff_rule **rules = NULL;
    size_t nrules = diff_rules_for(e->rules, family, capability, json_string_value(e->view.method), &rules);
    diff_ctx c = {.o = &e->o, .rules = rules, .nrules = nrules, .differences = differences,
                  .hosts = {e->hosts[0], e->hosts[1]}, .tapes = e->o.trees_only ? NULL : e->tapes};
    if (nrules > e->tails_cap) {
        const char **t = realloc(e->tails, nrules * sizeof *t);
        if (t)
            e->tails = t;
        size_t *l = t ? realloc(e->tail_lens, nrules * sizeof *l) : NULL;
        if (l)
            e->tail_lens = l;
        if (!t || !l) {
            c.tapes = NULL; /* the trees: slower but right */
            return c;
        }
        e->tails_cap = nrules;
    }
    for (size_t i = 0; i < nrules; i++) {
        if (!rules[i]->path_re)
            continue;
        if (rules[i]->path_tail) {
            e->tail_lens[c.ntails] = strlen(rules[i]->path_tail);
            e->tails[c.ntails++] = rules[i]->path_tail;
        } else {
            c.untailed = true;
        }
    }
    c.tails = e->tails;
    c.tail_lens = e->tail_lens;
    return c;
}

/* ---- noise, exchange by exchange ------------------------------------------------------------ */

/* The secondary's difference at d's very place (where, path, kind), or NULL. */
static const json_t *same_place(const json_t *d, const json_t *secondary)
{
    size_t i;
    const json_t *s;
    json_array_foreach(secondary, i, s)
        if (json_equal(json_object_get(d, "where"), json_object_get(s, "where")) &&
            json_equal(json_object_get(d, "path"), json_object_get(s, "path")) &&
            json_equal(json_object_get(d, "kind"), json_object_get(s, "kind")))
            return s;
    return NULL;
}

/* s with the hosts of one comparison (and any URL's authority) as {host} (new string). */
static char *without_hosts(const char *s, const char *h0, const char *h1)
{
    diff_ctx c = {.hosts = {h0, h1}};
    char *copy = strdup(s);
    return copy ? diff_normalize_hosts(&c, copy) : NULL;
}

/* Bytes a and b share at their start, and then at their end (not overlapping the start). */
static void common_ends(const char *a, const char *b, size_t *prefix, size_t *suffix)
{
    size_t la = strlen(a), lb = strlen(b), p = 0, q = 0;
    while (p < la && p < lb && a[p] == b[p])
        p++;
    while (q < la - p && q < lb - p && a[la - 1 - q] == b[lb - 1 - q])
        q++;
    *prefix = p;
    *suffix = q;
}

/* Whether the secondary's difference s shows the candidate's difference d: a second Python
 * varying there is noise only for a candidate that varies the same way. Two strings: the
 * candidate differs from the baseline only inside the span where the secondary does (hosts
 * taken out first: an echoed URL whose secondary differs by host:port does not excuse a
 * candidate whose query differs); a status: the same one; else values of the same type. */
static bool same_variation(const diff_engine *e, const json_t *d, const json_t *s)
{
    const json_t *base = json_object_get(d, "baseline"), *cand = json_object_get(d, "candidate");
    const json_t *other = json_object_get(s, "candidate");
    if (strcmp(json_string_value(json_object_get(d, "where")), "status") == 0)
        return json_equal(cand, other);
    if (!json_is_string(base) || !json_is_string(cand) || !json_is_string(other))
        return json_typeof(cand) == json_typeof(other) ||
               (json_is_number(cand) && json_is_number(other)); /* 1 and 1.5 vary alike */
    char *b = without_hosts(json_string_value(base), e->hosts[0], NULL);
    char *c = without_hosts(json_string_value(cand), e->hosts[0], e->hosts[1]);
    char *o = without_hosts(json_string_value(other), e->hosts[0], e->hosts[2]);
    bool same = false;
    if (b && c && o) {
        size_t cp, cs, op, os;
        common_ends(b, c, &cp, &cs);
        common_ends(b, o, &op, &os);
        /* a secondary that differs only by its host varies nowhere in what is left */
        same = strcmp(b, o) == 0 ? strcmp(b, c) == 0 : cp >= op && cs >= os;
    }
    free(b);
    free(c);
    free(o);
    return same;
}

/* Moves the differences judged noise from differences into the returned list. With a
 * learned model (two passes): a shape the counts call noise, unless this exchange's
 * secondary differs at the same place in another way. Without one (the tee, live): a
 * difference this exchange's secondary shows too, varying the same way. secondary: the
 * baseline-vs-secondary differences of this exchange (NULL: no secondary answer). */
static json_t *absorb_noise(const diff_engine *e, const char *capability, json_t *differences,
                            const json_t *secondary)
{
    json_t *noise = json_array(), *kept = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(differences, i, d) {
        const json_t *s = same_place(d, secondary);
        bool is_noise = diff_noise_ready(e->noise) ? diff_noise_is(e->noise, capability, d) &&
                                                         (!s || same_variation(e, d, s))
                                                   : s && same_variation(e, d, s);
        json_array_append(is_noise ? noise : kept, (json_t *)d);
    }
    json_array_clear(differences);
    json_array_extend(differences, kept);
    json_decref(kept);
    return noise;
}

/* The baseline-vs-secondary differences of this exchange under its rules (new reference),
 * with the secondary's own host:port taken out where the candidate's is. */
static json_t *secondary_differences(const diff_engine *e, const diff_ctx *c, const diff_answer *base,
                                     const diff_answer *second)
{
    json_t *list = json_array();
    diff_ctx nc = *c;
    nc.differences = list;
    nc.count = 0;
    nc.expired_hits = 0;
    nc.nexpired = 0;
    nc.hosts[1] = e->hosts[2];
    const char *ignored = NULL;
    compare_answers(&nc, base, second, &ignored);
    return list;
}

static const char *tape_string(const pm_jtape *t, long obj, const char *key, json_t **keep)
{
    long i = obj >= 0 && t->tok[obj].type == PM_JOBJ ? pm_jtape_find(t, (size_t)obj, key) : -1;
    *keep = i >= 0 ? diff_tape_json(t, (size_t)i) : NULL;
    return json_string_value(*keep);
}

/* A route record classified again with the current map (o.map): its family, capability,
 * switches and route_id are what the map says now, so rules and scores follow a map edited
 * since the capture. The cohort stays as recorded (its user came from credentials since
 * redacted); job records (no request) keep theirs. */
static void reclassify(diff_engine *e)
{
    if (!e->o.map)
        return;
    const pm_jtape *t = &e->view.tape;
    json_t *method, *target;
    long request = pm_jtape_find(t, 0, "request");
    const char *m = tape_string(t, request, "method", &method), *tg = tape_string(t, request, "target", &target);
    if (m && tg) {
        pm_class c;
        pm_classify_user(e->o.map, m, tg, NULL, &c);
        json_t *f = e->view.fields;
        json_object_set_new(f, "family", json_string(c.family));
        json_object_set_new(f, "capability", json_string(c.capability));
        json_object_set_new(f, "switch", c.switch_name ? json_string(c.switch_name) : json_null());
        json_object_set_new(f, "cap_switch", c.cap_switch ? json_string(c.cap_switch) : json_null());
        json_object_set_new(f, "route_id", c.route_id ? json_string(c.route_id) : json_null());
        pm_class_clear(&c);
    }
    json_decref(method);
    json_decref(target);
}

static const char *field(const diff_engine *e, const char *key)
{
    return json_string_value(json_object_get(e->view.fields, key));
}

int diff_learn_text(diff_engine *e, const char *line, size_t len, pm_err *err)
{
    if (diff_view_parse(&e->view, line, len, NULL, err) != 0)
        return -1;
    reclassify(e);
    const diff_answer *base = diff_view_answer(&e->view, "baseline");
    const diff_answer *cand = diff_view_answer(&e->view, "candidate");
    const diff_answer *second = diff_view_answer(&e->view, "secondary");
    if (!answered(base) || !answered(cand) || !answered(second))
        return 0;
    if (!e->noise)
        e->noise = diff_noise_new(e->o.noise_relative, e->o.noise_absolute);
    if (!e->noise)
        return pm_err_set(err, "out of memory");
    const char *capability = field(e, "capability");
    json_t *raw = json_array();
    diff_ctx c = context_for(e, field(e, "family"), capability, raw);
    const char *ignored = NULL;
    compare_answers(&c, base, cand, &ignored);
    json_t *noise = secondary_differences(e, &c, base, second);
    diff_noise_count(e->noise, capability, raw, noise);
    json_decref(raw);
    json_decref(noise);
    return 0;
}

/* Serialized once so that both entry points share one path. */
static char *record_text(const json_t *result, size_t *len, pm_err *err)
{
    char *text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        pm_err_set(err, "record cannot be serialized");
    else
        *len = strlen(text);
    return text;
}

int diff_learn(diff_engine *e, const json_t *result, pm_err *err)
{
    size_t len;
    char *text = record_text(result, &len, err);
    int rc = text ? diff_learn_text(e, text, len, err) : -1;
    free(text);
    return rc;
}

void diff_noise_done(diff_engine *e)
{
    if (e->noise)
        diff_noise_decide(e->noise);
}

json_t *diff_noise_report(const diff_engine *e)
{
    return e->noise ? diff_noise_table(e->noise) : json_array();
}

json_t *diff_result(diff_engine *e, const json_t *result, pm_err *err)
{
    size_t len;
    char *text = record_text(result, &len, err);
    json_t *d = text ? diff_result_text(e, text, len, err) : NULL;
    free(text);
    return d;
}

/* Whether the line holds the bytes `"mixed":`. In JSON they can only be a key written as is
 * followed by its colon (a string's own quotes are escaped), so the tape's few string tokens
 * answer it without searching the bodies' bytes; the same lines as a search of the text. */
static bool has_mixed_key(const pm_jtape *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const pm_jtok *k = &t->tok[i];
        if ((k->flags & (PM_JTOK_KEY | PM_JTOK_ESCAPED)) == PM_JTOK_KEY && k->end - k->start == 5 &&
            k->end + 1 < t->len && t->text[k->end + 1] == ':' && memcmp(t->text + k->start, "mixed", 5) == 0)
            return true;
    }
    return false;
}

json_t *diff_result_text(diff_engine *e, const char *line, size_t len, pm_err *err)
{
    return diff_result_tokens(e, line, len, NULL, err);
}

json_t *diff_result_tokens(diff_engine *e, const char *line, size_t len, const pm_jtape *tokens, pm_err *err)
{
    if (diff_view_parse(&e->view, line, len, tokens, err) != 0)
        return NULL;
    reclassify(e);
    const char *family = field(e, "family");
    const char *capability = field(e, "capability");
    json_t *d = e->view.fields; /* the fields are the record's start (diff_view_parse) */
    e->view.fields = NULL;
    const diff_answer *base = diff_view_answer(&e->view, "baseline");
    const diff_answer *cand = diff_view_answer(&e->view, "candidate");
    const diff_answer *second = diff_view_answer(&e->view, "secondary");
    json_t *latency = json_object(), *roles = json_object();
    for (size_t i = 0; i < e->view.n; i++) {
        const diff_answer *a = &e->view.answers[i];
        if (json_is_integer(a->latency_us))
            json_object_set(latency, a->name, a->latency_us);
        if (json_is_string(a->role))
            json_object_set(roles, a->name, a->role);
    }
    json_object_set_new(d, "latency", latency);
    json_object_set_new(d, "roles", roles);
    /* a --mixed flow step: one answer, judged against the recording (mixed.c) */
    if (has_mixed_key(&e->view.tape)) {
        int judged = diff_mixed_judge(line, len, d, err);
        if (judged < 0) {
            json_decref(d);
            return NULL;
        }
        if (judged == 0) {
            json_object_set_new(d, "signature", signature(capability ? capability : "UNKNOWN", NULL));
            e->stats.records++;
            e->stats.mixed++;
            e->stats.mixed_failed += !json_is_true(json_object_get(json_object_get(d, "mixed"), "ok"));
            return d;
        }
    }

    const char *verdict;
    json_t *differences = json_array(), *noise = json_array();
    json_t *errors = json_object();
    if (!base || !cand) {
        verdict = "error";
        json_object_set_new(errors, base ? "candidate" : "baseline", json_string("no_target"));
    } else if (json_is_true(base->skipped) || json_is_true(cand->skipped)) {
        verdict = "skipped";
    } else if (!json_is_null(base->error) && base->error) {
        verdict = "error";
        json_object_set(errors, base->name, base->error);
    } else if (!json_is_null(cand->error) && cand->error) {
        verdict = "error";
        json_object_set(errors, cand->name, cand->error);
    } else {
        diff_ctx c = context_for(e, family, capability, differences);
        const char *decode_error = NULL;
        compare_answers(&c, base, cand, &decode_error);
        e->stats.expired_rules_hit += c.expired_hits;
        if (decode_error) {
            verdict = "error"; /* an error carries no differences: they would be half of the story */
            json_array_clear(differences);
            json_object_set_new(errors, "body", json_string(decode_error));
        } else {
            bool has_second = answered(second);
            if (json_array_size(differences) > 0 && (has_second || diff_noise_ready(e->noise))) {
                json_t *second_diffs = has_second ? secondary_differences(e, &c, base, second) : NULL;
                json_decref(noise);
                noise = absorb_noise(e, capability, differences, second_diffs);
                json_decref(second_diffs);
            }
            verdict = json_array_size(differences) == 0 ? "match" : "mismatch";
        }
        if (c.expired_hits) {
            json_object_set_new(d, "expired_rules_hit", json_integer((json_int_t)c.expired_hits));
            json_object_set_new(d, "expired_rules", expired_list(&c));
        }
    }
    json_object_set_new(d, "verdict", json_string(verdict));
    json_object_set_new(d, "differences", differences);
    json_object_set_new(d, "noise", noise);
    json_object_set_new(d, "signature", signature(capability ? capability : "UNKNOWN", differences));
    if (json_object_size(errors))
        json_object_set_new(d, "error", errors);
    else
        json_decref(errors);
    e->stats.records++;
    if (strcmp(verdict, "match") == 0)
        e->stats.match++;
    else if (strcmp(verdict, "mismatch") == 0)
        e->stats.mismatch++;
    else if (strcmp(verdict, "error") == 0)
        e->stats.error++;
    else
        e->stats.skipped++;
    return d;
}
