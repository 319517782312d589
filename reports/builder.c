/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder.c — reports_new / reports_add / reports_free: diff records in, counts out, one
 * record at a time. What is kept per record is a handful of counters, one histogram
 * bucket per target, and at most one exemplar per difference signature; every table has
 * a cap (reports_internal.h), so memory depends on how many families, capabilities,
 * cohorts and signatures there are, never on how many records. Everything kept is
 * order-independent (sums, fixed-bucket histograms, the smallest id as exemplar), so
 * reading shards in any order gives the report one file would.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "reports_internal.h"

const char *const rpt_cohort_kinds[RPT_COHORT_KINDS] = {"org", "repo", "user", "producer"};

void reports_options_init(reports_options *o)
{
    memset(o, 0, sizeof *o);
    o->top_cohorts = 10;
    o->top_differences = 10;
}

/* ----- freeing ------------------------------------------------------------------------ */

static void scope_clear(rpt_scope *s)
{
    pm_table_free(s->errors);
    pm_table_free(s->skip_reasons);
    for (size_t i = 0; i < s->nlatency; i++) {
        free(s->latency[i].name);
        free(s->latency[i].role);
        reports_histogram_free(s->latency[i].h);
    }
}

static void free_capability(void *p)
{
    rpt_capability *c = p;
    if (!c)
        return;
    free(c->cap_switch);
    rpt_mixed_free(c->mixed);
    scope_clear(&c->s);
    free(c);
}

static void free_signature(void *p)
{
    rpt_signature *s = p;
    if (!s)
        return;
    free(s->capability);
    free(s->exemplar_id);
    json_decref(s->shape);
    json_decref(s->differences);
    json_decref(s->request);
    json_decref(s->status);
    free(s);
}

static void free_family(void *p)
{
    rpt_family *f = p;
    if (!f)
        return;
    free(f->switch_name);
    rpt_mixed_free(f->mixed);
    scope_clear(&f->s);
    pm_table_free(f->capabilities);
    for (int k = 0; k < RPT_COHORT_KINDS; k++)
        pm_table_free(f->cohorts[k]);
    pm_table_free(f->signatures);
    free(f);
}

static void free_noise(void *p)
{
    rpt_noise *n = p;
    if (!n)
        return;
    free(n->capability);
    free(n->shape);
    free(n);
}

static void free_expired(void *p)
{
    rpt_expired *e = p;
    if (!e)
        return;
    json_decref(e->rule);
    free(e);
}

void reports_free(reports_builder *b)
{
    if (!b)
        return;
    rpt_gate_free(b->gate);
    rpt_catalog_free(b->catalog);
    json_decref(b->switches);
    json_decref(b->previous);
    pm_table_free(b->families);
    pm_table_free(b->noise);
    pm_table_free(b->expired);
    free(b);
}

reports_builder *reports_new(const reports_options *o, pm_err *err)
{
    reports_builder *b = calloc(1, sizeof *b);
    if (!b) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    if (o)
        b->o = *o;
    else
        reports_options_init(&b->o);
    /* Not kept: only what they load or copy (the caller may free them after this call). */
    b->o.gate_path = b->o.capabilities_path = NULL;
    b->o.names = NULL; /* used while loading the gate only (the caller's, freed after) */
    b->o.switches = b->o.previous = NULL;
    if (!(b->gate = rpt_gate_load(o ? o->gate_path : NULL, o ? o->names : NULL, err)))
        goto fail;
    if (o && o->capabilities_path && !(b->catalog = rpt_catalog_load(o->capabilities_path, err)))
        goto fail;
    if (o && o->switches) {
        if (!rpt_owner_map(o->switches)) {
            pm_err_set(err, "the switch snapshot is not a mapping of SWITCH: owner");
            goto fail;
        }
        b->switches = json_deep_copy(o->switches);
    }
    if (o && o->previous)
        b->previous = json_deep_copy(o->previous);
    b->families = pm_table_new(free_family);
    b->noise = pm_table_new(free_noise);
    b->expired = pm_table_new(free_expired);
    if (!b->families || !b->noise || !b->expired) {
        pm_err_set(err, "out of memory");
        goto fail;
    }
    return b;
fail:
    reports_free(b);
    return NULL;
}

int reports_set_switches(reports_builder *b, const json_t *switches, pm_err *err)
{
    json_t *copy = NULL;
    if (switches) {
        if (!rpt_owner_map(switches))
            return pm_err_set(err, "the switch snapshot is not a mapping of SWITCH: owner");
        if (!(copy = json_deep_copy(switches)))
            return pm_err_set(err, "out of memory");
    }
    json_decref(b->switches);
    b->switches = copy;
    return 0;
}

/* ----- one record --------------------------------------------------------------------- */

typedef enum { V_MATCH, V_MISMATCH, V_ERROR, V_SKIPPED, V_MIXED } verdict;

/* What reports_add reads from a record, checked once. */
typedef struct {
    const char *id, *family, *capability, *switch_name, *cap_switch, *signature;
    verdict v;
    const json_t *latency, *roles, *error, *differences, *noise, *expired, *cohort;
    const json_t *request, *status, *skipped; /* what names the exchange; skip reasons */
    bool baseline_failed, candidate_failed;
} record_view;

static const char *string_or_null(const json_t *record, const char *key, bool *bad)
{
    const json_t *v = json_object_get(record, key);
    if (v && !json_is_string(v) && !json_is_null(v))
        *bad = true;
    return json_string_value(v);
}

static const char *role_of(const json_t *roles, const char *target)
{
    return json_string_value(json_object_get(roles, target));
}

static int view_record(const json_t *r, record_view *rv, pm_err *err)
{
    memset(rv, 0, sizeof *rv);
    if (!json_is_object(r))
        return pm_err_set(err, "not a diff record (not a JSON object)");
    const char *v = json_string_value(json_object_get(r, "verdict"));
    if (!v)
        return pm_err_set(err, "not a diff record (no \"verdict\"; is it a diff file?)");
    if (strcmp(v, "match") == 0)
        rv->v = V_MATCH;
    else if (strcmp(v, "mismatch") == 0)
        rv->v = V_MISMATCH;
    else if (strcmp(v, "error") == 0)
        rv->v = V_ERROR;
    else if (strcmp(v, "skipped") == 0)
        rv->v = V_SKIPPED;
    else if (strcmp(v, "mixed") == 0) /* a --mixed flow step: its own dimension (mixed.c) */
        rv->v = V_MIXED;
    else
        return pm_err_set(err, "verdict \"%.40s\": not match, mismatch, error, skipped or mixed", v);
    bool bad = false;
    rv->id = string_or_null(r, "id", &bad);
    rv->family = string_or_null(r, "family", &bad);
    rv->capability = string_or_null(r, "capability", &bad);
    rv->switch_name = string_or_null(r, "switch", &bad);
    rv->cap_switch = string_or_null(r, "cap_switch", &bad);
    rv->signature = string_or_null(r, "signature", &bad);
    if (bad)
        return pm_err_set(err, "id, family, capability, switch, cap_switch and signature must be strings or null");
    if (!rv->family || !*rv->family)
        rv->family = "UNKNOWN";
    if (!rv->capability || !*rv->capability)
        rv->capability = "UNKNOWN";
    struct {
        const char *key;
        const json_t **dest;
        bool array;
    } parts[] = {{"latency", &rv->latency, false},          {"roles", &rv->roles, false},
                 {"error", &rv->error, false},              {"cohort", &rv->cohort, false},
                 {"differences", &rv->differences, true},   {"noise", &rv->noise, true},
                 {"expired_rules", &rv->expired, true},     {"request", &rv->request, false},
                 {"status", &rv->status, false},            {"skipped", &rv->skipped, false}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        const json_t *x = json_object_get(r, parts[i].key);
        if (!x || json_is_null(x))
            continue;
        if (parts[i].array ? !json_is_array(x) : !json_is_object(x))
            return pm_err_set(err, "\"%s\" must be %s", parts[i].key, parts[i].array ? "a list" : "an object");
        *parts[i].dest = x;
    }
    const char *target;
    const json_t *code, *us;
    json_object_foreach((json_t *)rv->latency, target, us)
        if (!json_is_integer(us) || json_integer_value(us) < 0)
            return pm_err_set(err, "latency.%.64s must be a whole number of microseconds", target);
    if (json_object_size(rv->latency) > RPT_MAX_TARGETS)
        return pm_err_set(err, "latency of more than %d targets", RPT_MAX_TARGETS);
    json_object_foreach((json_t *)rv->error, target, code) {
        const char *role = role_of(rv->roles, target);
        if (strcmp(target, "baseline") == 0 || (role && strcmp(role, "baseline") == 0))
            rv->baseline_failed = true;
        if (strcmp(target, "candidate") == 0 || (role && strcmp(role, "candidate") == 0))
            rv->candidate_failed = true;
    }
    return 0;
}

static void count_verdict(uint64_t *total, uint64_t *match, uint64_t *mismatch, uint64_t *error, uint64_t *skipped,
                          verdict v)
{
    if (v == V_MIXED) /* not a sample of parity: reports_add gives it to mixed.c */
        return;
    (*total)++;
    switch (v) {
    case V_MATCH:
        (*match)++;
        break;
    case V_MISMATCH:
        (*mismatch)++;
        break;
    case V_ERROR:
        (*error)++;
        break;
    case V_SKIPPED:
        (*skipped)++;
        break;
    case V_MIXED:
        break;
    }
}

static rpt_latency *latency_slot(rpt_scope *s, const char *target, const char *role)
{
    for (size_t i = 0; i < s->nlatency; i++)
        if (strcmp(s->latency[i].name, target) == 0) {
            if (!s->latency[i].role && role)
                s->latency[i].role = strdup(role);
            return &s->latency[i];
        }
    if (s->nlatency == RPT_MAX_TARGETS)
        return NULL;
    rpt_latency *l = &s->latency[s->nlatency];
    l->name = strdup(target);
    l->role = role ? strdup(role) : NULL;
    l->h = reports_histogram_new();
    if (!l->name || !l->h || (role && !l->role)) {
        free(l->name);
        free(l->role);
        reports_histogram_free(l->h);
        memset(l, 0, sizeof *l);
        return NULL;
    }
    s->nlatency++;
    return l;
}

/* One more of code in a scope's table of codes (error codes, skip reasons), created on
 * first use; a code past RPT_MAX_ERROR_CODES distinct ones is counted in *dropped. */
static int count_code(pm_table **table, uint64_t *dropped, const char *code, pm_err *err)
{
    if (!*table && !(*table = pm_table_new(free)))
        return pm_err_set(err, "out of memory");
    uint64_t *n = pm_table_get(*table, code);
    if (!n && pm_table_size(*table) >= RPT_MAX_ERROR_CODES) {
        (*dropped)++;
        return 0;
    }
    if (!n && (!(n = calloc(1, sizeof *n)) || pm_table_put(*table, code, n) != 0)) {
        free(n);
        return pm_err_set(err, "out of memory");
    }
    (*n)++;
    return 0;
}

/* The target name of a role in a record's map of target -> value (status, skipped): by
 * the record's roles, or a target named after the role. */
static const json_t *by_role(const json_t *map, const json_t *roles, const char *role)
{
    const char *target;
    const json_t *v;
    json_object_foreach((json_t *)map, target, v) {
        const char *r = role_of(roles, target);
        if ((r && strcmp(r, role) == 0) || (!r && strcmp(target, role) == 0))
            return v;
    }
    return NULL;
}

/* Why a skipped record was skipped: the baseline's reason, else the candidate's, else any
 * target's, else "unknown" (a diff file from before diff wrote reasons). */
static const char *skip_reason(const record_view *rv)
{
    const json_t *why = by_role(rv->skipped, rv->roles, "baseline");
    if (!json_is_string(why))
        why = by_role(rv->skipped, rv->roles, "candidate");
    if (!json_is_string(why)) {
        const char *target;
        const json_t *v;
        json_object_foreach((json_t *)rv->skipped, target, v)
            if (json_is_string(v) && !why)
                why = v;
    }
    return json_is_string(why) ? json_string_value(why) : "unknown";
}

static int count_scope(rpt_scope *s, const record_view *rv, pm_err *err)
{
    count_verdict(&s->total, &s->match, &s->mismatch, &s->error, &s->skipped, rv->v);
    s->baseline_errors += rv->v == V_ERROR && rv->baseline_failed;
    s->candidate_errors += rv->v == V_ERROR && rv->candidate_failed;
    if (!s->errors && !(s->errors = pm_table_new(free)))
        return pm_err_set(err, "out of memory");
    if (rv->v == V_SKIPPED && count_code(&s->skip_reasons, &s->skip_reasons_dropped, skip_reason(rv), err) != 0)
        return -1;
    const char *target;
    const json_t *v;
    json_object_foreach((json_t *)rv->error, target, v) {
        if (count_code(&s->errors, &s->errors_dropped, json_is_string(v) ? json_string_value(v) : "other", err) != 0)
            return -1;
    }
    json_object_foreach((json_t *)rv->latency, target, v) {
        if (json_object_get(rv->error, target))
            continue; /* a failed target's time says nothing about its speed */
        rpt_latency *l = latency_slot(s, target, role_of(rv->roles, target));
        if (!l) /* out of memory, or a scope that has seen RPT_MAX_TARGETS names already */
            continue;
        reports_histogram_add(l->h, (uint64_t)json_integer_value(v));
    }
    return 0;
}

static rpt_family *family_of(reports_builder *b, const record_view *rv, pm_err *err)
{
    rpt_family *f = pm_table_get(b->families, rv->family);
    if (!f) {
        if (pm_table_size(b->families) >= RPT_MAX_FAMILIES) {
            pm_err_set(err, "more than %d families (is it a pmirror diff file?)", RPT_MAX_FAMILIES);
            return NULL;
        }
        f = calloc(1, sizeof *f);
        bool ok = f && (f->capabilities = pm_table_new(free_capability)) && (f->signatures = pm_table_new(free_signature));
        for (int k = 0; ok && k < RPT_COHORT_KINDS; k++)
            ok = (f->cohorts[k] = pm_table_new(free)) != NULL;
        if (!ok || pm_table_put(b->families, rv->family, f) != 0) {
            free_family(f);
            pm_err_set(err, "out of memory");
            return NULL;
        }
    }
    if (!f->switch_name && rv->switch_name && !(f->switch_name = strdup(rv->switch_name))) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    return f;
}

static rpt_capability *capability_of(rpt_family *f, const record_view *rv, pm_err *err)
{
    rpt_capability *c = pm_table_get(f->capabilities, rv->capability);
    if (!c) {
        if (pm_table_size(f->capabilities) >= RPT_MAX_CAPABILITIES) {
            pm_err_set(err, "family %s: more than %d capabilities", rv->family, RPT_MAX_CAPABILITIES);
            return NULL;
        }
        if (!(c = calloc(1, sizeof *c)) || pm_table_put(f->capabilities, rv->capability, c) != 0) {
            free(c);
            pm_err_set(err, "out of memory");
            return NULL;
        }
    }
    if (!c->cap_switch && rv->cap_switch && !(c->cap_switch = strdup(rv->cap_switch))) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    return c;
}

static int count_cohorts(rpt_family *f, const record_view *rv, pm_err *err)
{
    for (int k = 0; k < RPT_COHORT_KINDS; k++) {
        const char *name = json_string_value(json_object_get(rv->cohort, rpt_cohort_kinds[k]));
        if (!name)
            continue;
        rpt_cohort *c = pm_table_get(f->cohorts[k], name);
        if (!c && pm_table_size(f->cohorts[k]) >= RPT_MAX_COHORTS) {
            f->cohorts_dropped[k]++;
            continue;
        }
        if (!c && (!(c = calloc(1, sizeof *c)) || pm_table_put(f->cohorts[k], name, c) != 0)) {
            free(c);
            return pm_err_set(err, "out of memory");
        }
        count_verdict(&c->total, &c->match, &c->mismatch, &c->error, &c->skipped, rv->v);
    }
    return 0;
}

/* "$.tags[3].name" -> "$.tags[*].name": one shape for every element of an array. */
static char *shape_path(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '[' && isdigit((unsigned char)path[i + 1])) {
            size_t j = i + 1;
            while (isdigit((unsigned char)path[j]))
                j++;
            if (path[j] == ']') {
                memcpy(out + o, "[*]", 3);
                o += 3;
                i = j;
                continue;
            }
        }
        out[o++] = path[i];
    }
    out[o] = '\0';
    return out;
}

/* [{where, path, kind}] of a differences list, indexes as [*], each shape once. */
static json_t *shape_of(const json_t *differences)
{
    json_t *shape = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(differences, i, d) {
        const char *where = json_string_value(json_object_get(d, "where"));
        const char *path = json_string_value(json_object_get(d, "path"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        char *p = shape_path(path ? path : "");
        json_t *one = json_pack("{s:s?, s:s?, s:s?}", "where", where, "path", p, "kind", kind);
        free(p);
        bool seen = false;
        size_t j;
        const json_t *other;
        json_array_foreach(shape, j, other)
            seen = seen || json_equal(other, one);
        if (seen || !one)
            json_decref(one);
        else
            json_array_append_new(shape, one);
    }
    return shape;
}

static int set_exemplar(rpt_signature *s, const record_view *rv, pm_err *err)
{
    char *id = strdup(rv->id ? rv->id : "");
    json_t *differences = json_array();
    if (!id || !differences) {
        free(id);
        json_decref(differences);
        return pm_err_set(err, "out of memory");
    }
    size_t i;
    const json_t *d;
    json_array_foreach(rv->differences, i, d) {
        if (i >= RPT_EXEMPLAR_DIFFERENCES)
            break;
        json_array_append_new(differences, json_deep_copy(d));
    }
    free(s->exemplar_id);
    json_decref(s->shape);
    json_decref(s->differences);
    json_decref(s->request);
    json_decref(s->status);
    s->exemplar_id = id;
    s->differences = differences;
    s->difference_count = json_array_size(rv->differences);
    s->shape = shape_of(rv->differences);
    s->request = rv->request ? json_deep_copy(rv->request) : NULL;
    s->status = NULL;
    const json_t *base = by_role(rv->status, rv->roles, "baseline"), *cand = by_role(rv->status, rv->roles, "candidate");
    if (base || cand)
        s->status = json_pack("{s:O?, s:O?}", "baseline", base, "candidate", cand);
    return 0;
}

static int count_signature(rpt_family *f, const record_view *rv, pm_err *err)
{
    if (rv->v != V_MISMATCH || !rv->signature)
        return 0;
    rpt_signature *s = pm_table_get(f->signatures, rv->signature);
    if (!s) {
        if (pm_table_size(f->signatures) >= RPT_MAX_SIGNATURES) {
            f->signatures_dropped++;
            return 0;
        }
        if (!(s = calloc(1, sizeof *s)) || !(s->capability = strdup(rv->capability)) ||
            pm_table_put(f->signatures, rv->signature, s) != 0) {
            free_signature(s);
            return pm_err_set(err, "out of memory");
        }
    }
    s->count++;
    const char *id = rv->id ? rv->id : "";
    if (!s->exemplar_id || strcmp(id, s->exemplar_id) < 0)
        return set_exemplar(s, rv, err);
    return 0;
}

static int count_noise(reports_builder *b, const record_view *rv, pm_err *err)
{
    size_t i;
    const json_t *d;
    json_array_foreach(rv->noise, i, d) {
        const char *where = json_string_value(json_object_get(d, "where"));
        const char *path = json_string_value(json_object_get(d, "path"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        char *p = shape_path(path ? path : "");
        if (!p)
            return pm_err_set(err, "out of memory");
        size_t size = strlen(rv->capability) + strlen(p) + 64 + (where ? strlen(where) : 0) + (kind ? strlen(kind) : 0);
        char *key = malloc(size), *shape;
        if (!key) {
            free(p);
            return pm_err_set(err, "out of memory");
        }
        int cap_len = snprintf(key, size, "%s\x1f", rv->capability);
        snprintf(key + cap_len, size - (size_t)cap_len, "%s|%s|%s", where ? where : "?", p, kind ? kind : "?");
        shape = key + cap_len;
        free(p);
        rpt_noise *n = pm_table_get(b->noise, key);
        if (!n && pm_table_size(b->noise) >= RPT_MAX_NOISE) {
            b->noise_dropped++;
            free(key);
            continue;
        }
        if (!n) {
            n = calloc(1, sizeof *n);
            if (!n || !(n->capability = strdup(rv->capability)) || !(n->shape = strdup(shape)) ||
                pm_table_put(b->noise, key, n) != 0) {
                free_noise(n);
                free(key);
                return pm_err_set(err, "out of memory");
            }
        }
        n->count++;
        free(key);
    }
    return 0;
}

static int count_expired(reports_builder *b, const record_view *rv, pm_err *err)
{
    size_t i;
    const json_t *e;
    json_array_foreach(rv->expired, i, e) {
        const char *rule = json_string_value(json_object_get(e, "rule"));
        const char *expires = json_string_value(json_object_get(e, "expires"));
        if (!rule)
            continue;
        char key[1024];
        snprintf(key, sizeof key, "%s\x1f%s", rule, expires ? expires : "");
        rpt_expired *x = pm_table_get(b->expired, key);
        if (!x && pm_table_size(b->expired) >= RPT_MAX_EXPIRED)
            continue;
        if (!x) {
            x = calloc(1, sizeof *x);
            if (!x || !(x->rule = json_pack("{s:s, s:O?, s:O?, s:s?}", "rule", rule, "reason",
                                             json_object_get(e, "reason"), "owner", json_object_get(e, "owner"),
                                             "expires", expires)) ||
                pm_table_put(b->expired, key, x) != 0) {
                free_expired(x);
                return pm_err_set(err, "out of memory");
            }
        }
        const json_t *hits = json_object_get(e, "hits");
        x->hits += json_is_integer(hits) && json_integer_value(hits) > 0 ? (uint64_t)json_integer_value(hits) : 1;
    }
    return 0;
}

int reports_add(reports_builder *b, const json_t *diff_record, pm_err *err)
{
    record_view rv;
    if (view_record(diff_record, &rv, err) != 0)
        return -1;
    rpt_family *f = family_of(b, &rv, err);
    rpt_capability *c = f ? capability_of(f, &rv, err) : NULL;
    if (!c)
        return -1;
    if (rv.v == V_MIXED) { /* a --mixed flow step: its own dimension, no parity sample */
        const json_t *mixed = json_object_get(diff_record, "mixed");
        if (rpt_mixed_add(&f->mixed, mixed, rv.id, err) != 0 || rpt_mixed_add(&c->mixed, mixed, rv.id, err) != 0)
            return -1;
        b->records++;
        return 0;
    }
    if (count_scope(&f->s, &rv, err) != 0 || count_scope(&c->s, &rv, err) != 0 || count_cohorts(f, &rv, err) != 0 ||
        count_signature(f, &rv, err) != 0 || count_noise(b, &rv, err) != 0 || count_expired(b, &rv, err) != 0)
        return -1;
    b->records++;
    return 0;
}
