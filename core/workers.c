/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workers.c — loads and checks the worker map (config/quay/workers.yaml, core/workers.h).
 *
 *   workers:
 *     notification:                     # the queue: queue_name's first segment
 *       program: notificationworker     # the tracker's program name (required)
 *       tracker: PROC-023               # the tracker's process id (optional)
 *       family: WORKER_...              # optional; default WORKER_<PROGRAM>
 *       switch: WORKER_OWNER_...        # optional; default WORKER_OWNER_<PROGRAM>
 *       namespaced: true                # queue_name's segment 1 is the namespace
 *       ordered: false                  # lowest id first (the build queue)
 *       capability: {body: PATH, segment_in: [WORD...], default: WORD}
 *       cohort: {org: TEMPLATE(S), repo: TEMPLATE(S), user: TEMPLATE(S)}
 *       producer: TEMPLATE(S)           # who enqueued the job (mixed mode), e.g. "{body._producer}"
 *       redact: [PATH...]               # body fields whose strings are secrets
 *       urls: [PATH...]                 # body fields holding URLs with secret query parameters
 *       probes: [{name: NAME, sql: "SELECT ... $1", params: [TEMPLATE...]}]
 *       correlate: TEMPLATE             # a value of the job found in the effects it causes
 *   scheduled:
 *     gcworker:                         # a scheduled program: the tracker's name
 *       tracker, family, switch         # as above
 *       probes: [{name: NAME, sql: "SELECT ..."}]   # no params: run before and after the run
 *
 * Strict, like every profile file: an unknown key is an error (a misspelt `redcat:` would
 * leave a secret in the clear), and every error names file:line:column. The strings stay in
 * the loaded tree; the map borrows them.
 */
#include "core.h"
#include "workers_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const queue_keys[] = {"program", "tracker", "family", "switch", "namespaced", "ordered",
                                         "capability", "cohort", "producer", "redact", "urls", "probes", "correlate",
                                         NULL};
static const char *const capability_keys[] = {"body", "segment_in", "default", NULL};
static const char *const cohort_keys[] = {"org", "repo", "user", NULL};
static const char *const probe_keys[] = {"name", "sql", "params", NULL};
static const char *const scheduled_keys[] = {"tracker", "family", "switch", "probes", NULL};

/* Every byte of s is in the class: 'a' lowercase words, 'A' uppercase words (plus digits, '_'
 * and, for 'a', '-'). */
static bool is_word(const char *s, char kind)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool ok = isdigit(*p) || *p == '_' || (kind == 'a' ? (islower(*p) || *p == '-') : isupper(*p));
        if (!ok)
            return false;
    }
    return true;
}

/* A dotted body path: non-empty segments without braces. */
static bool is_path(const char *s)
{
    if (!*s || *s == '.')
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '{' || *p == '}')
            return false;
        if (*p == '.' && (p[1] == '.' || p[1] == 0))
            return false;
    }
    return true;
}

static int get_string(const pm_config *cfg, const json_t *obj, const char *key, const char *what,
                      const char **out, pm_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
        return pm_config_error_at(cfg, v, err, "%s.%s: want a non-empty string", what, key);
    *out = json_string_value(v);
    return 0;
}

static int get_bool(const pm_config *cfg, const json_t *obj, const char *key, const char *what, bool *out,
                    pm_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return pm_config_error_at(cfg, v, err, "%s.%s: want true or false", what, key);
    *out = json_is_true(v);
    return 0;
}

/* A `producer:` template: well formed, and its literal text could be part of a producer name
 * (a value that is not one anyway counts as none when a job is classified). */
static const char *producer_template_check(const char *tmpl)
{
    const char *why = pm_worker_template_check(tmpl);
    if (why)
        return why;
    size_t literal = 0;
    for (const char *p = tmpl; *p; p++) {
        if (*p == '{')
            p = strchr(p, '}'); /* there is one: the template is well formed */
        else if (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '_')
            literal++;
        else
            return "want lowercase letters, digits, - and _ around the placeholders (a producer name such as go)";
    }
    return literal > PM_PRODUCER_MAX ? "longer than a producer name may be" : NULL;
}

typedef enum { ITEM_WORD, ITEM_PATH, ITEM_TEMPLATE, ITEM_PRODUCER } item_kind;

/* A string or (when one_or_many) a list of strings, or a list, each checked as kind. */
static int get_strings(const pm_config *cfg, const json_t *v, const char *what, item_kind kind, bool one_or_many,
                       pm_strings *out, pm_err *err)
{
    if (!v)
        return 0;
    bool single = json_is_string(v);
    if (!json_is_array(v) && !(single && one_or_many))
        return pm_config_error_at(cfg, v, err, "%s: want a list%s", what, one_or_many ? " or a string" : "");
    size_t n = single ? 1 : json_array_size(v);
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!out->items)
        return pm_err_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *item = single ? v : json_array_get(v, i);
        const char *s = json_string_value(item);
        if (!s || !*s || strlen(s) != json_string_length(item))
            return pm_config_error_at(cfg, item, err, "%s[%zu]: want a non-empty string", what, i);
        const char *why = NULL;
        if (kind == ITEM_PATH && !is_path(s))
            why = "want a body path such as event_data.repository";
        else if (kind == ITEM_TEMPLATE)
            why = pm_worker_template_check(s);
        else if (kind == ITEM_PRODUCER)
            why = producer_template_check(s);
        if (why)
            return pm_config_error_at(cfg, item, err, "%s: '%s': %s", what, s, why);
        out->items[out->n++] = s;
    }
    return 0;
}

static int load_capability(const pm_config *cfg, const json_t *v, const char *what, pm_worker_spec *s, pm_err *err)
{
    if (!v)
        return 0;
    if (pm_config_check_keys(cfg, v, what, capability_keys, err) != 0)
        return -1;
    if (get_string(cfg, v, "body", what, &s->cap_body, err) != 0 ||
        get_string(cfg, v, "default", what, &s->cap_default, err) != 0)
        return -1;
    if (s->cap_body && !is_path(s->cap_body))
        return pm_config_error_at(cfg, json_object_get(v, "body"), err,
                                  "%s.body: '%s': want a body path such as event_data.kind", what, s->cap_body);
    char sub[300];
    snprintf(sub, sizeof sub, "%s.segment_in", what);
    return get_strings(cfg, json_object_get(v, "segment_in"), sub, ITEM_WORD, false, &s->cap_segments, err);
}

static int load_cohort(const pm_config *cfg, const json_t *v, const char *what, pm_worker_spec *s, pm_err *err)
{
    if (!v)
        return 0;
    if (pm_config_check_keys(cfg, v, what, cohort_keys, err) != 0)
        return -1;
    for (int k = 0; k < PM_COHORT_KEYS; k++) {
        char sub[300];
        snprintf(sub, sizeof sub, "%s.%s", what, cohort_keys[k]);
        if (get_strings(cfg, json_object_get(v, cohort_keys[k]), sub, ITEM_TEMPLATE, true, &s->cohort[k], err) != 0)
            return -1;
    }
    return 0;
}

/* The highest $N an SQL text names (0 when none). Dollar-quoted strings ($$, $tag$) have no
 * digit after the dollar and do not count. */
static unsigned long highest_parameter(const char *sql)
{
    unsigned long most = 0;
    for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$'))
        if (isdigit((unsigned char)p[1])) {
            unsigned long n = strtoul(p + 1, NULL, 10);
            if (n > most)
                most = n;
        }
    return most;
}

static int load_probes(const pm_config *cfg, const json_t *v, const char *what, pm_worker_spec *s, pm_err *err)
{
    if (!v)
        return 0;
    if (!json_is_array(v))
        return pm_config_error_at(cfg, v, err, "%s: want a list of {name, sql, params}", what);
    size_t n = json_array_size(v);
    s->probes = calloc(n ? n : 1, sizeof *s->probes);
    if (!s->probes)
        return pm_err_set(err, "out of memory");
    s->pub.probes = s->probes;
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(v, i);
        char sub[300];
        snprintf(sub, sizeof sub, "%s[%zu]", what, i);
        pm_worker_probe *probe = &s->probes[s->pub.nprobes++];
        if (pm_config_check_keys(cfg, p, sub, probe_keys, err) != 0 || get_string(cfg, p, "name", sub, &probe->name, err) != 0 ||
            get_string(cfg, p, "sql", sub, &probe->sql, err) != 0)
            return -1;
        if (!probe->name || !probe->sql)
            return pm_config_error_at(cfg, p, err, "%s: want both name and sql", sub);
        if (!is_word(probe->name, 'a'))
            return pm_config_error_at(cfg, json_object_get(p, "name"), err,
                                      "%s.name: '%s': want lowercase letters, digits, - and _", sub, probe->name);
        for (size_t j = 0; j + 1 < s->pub.nprobes; j++)
            if (strcmp(s->probes[j].name, probe->name) == 0)
                return pm_config_error_at(cfg, json_object_get(p, "name"), err, "%s.name: '%s' is named twice", sub,
                                          probe->name);
        pm_strings params = {0};
        char psub[320];
        snprintf(psub, sizeof psub, "%s.params", sub);
        int rc = get_strings(cfg, json_object_get(p, "params"), psub, ITEM_TEMPLATE, false, &params, err);
        probe->params = params.items;
        probe->nparams = params.n;
        if (rc != 0)
            return -1;
        unsigned long highest = highest_parameter(probe->sql);
        if (highest > probe->nparams)
            return pm_config_error_at(cfg, json_object_get(p, "sql"), err, "%s.sql: uses $%lu but params gives %zu",
                                      sub, highest, probe->nparams);
    }
    return 0;
}

/* "WORKER_" + the program in capitals, '-' as '_'. */
static char *derived_name(const char *prefix, const char *program)
{
    size_t n = strlen(prefix) + strlen(program) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    char *o = s + snprintf(s, n, "%s", prefix);
    for (const char *p = program; *p; p++)
        *o++ = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    *o = 0;
    return s;
}

/* tracker, family and switch: the last two derived from the program when the map does not
 * name them. */
static int load_names(const pm_config *cfg, const json_t *v, const char *what, pm_worker_spec *s, pm_err *err)
{
    if (get_string(cfg, v, "tracker", what, &s->pub.tracker_id, err) != 0 ||
        get_string(cfg, v, "family", what, &s->pub.family, err) != 0 ||
        get_string(cfg, v, "switch", what, &s->pub.switch_name, err) != 0)
        return -1;
    if (s->pub.family && !is_word(s->pub.family, 'A'))
        return pm_config_error_at(cfg, json_object_get(v, "family"), err,
                                  "%s.family: '%s': want capitals, digits and _", what, s->pub.family);
    if (s->pub.switch_name && !is_word(s->pub.switch_name, 'A'))
        return pm_config_error_at(cfg, json_object_get(v, "switch"), err,
                                  "%s.switch: '%s': want capitals, digits and _", what, s->pub.switch_name);
    if (!s->pub.family && !(s->pub.family = s->family_owned = derived_name("WORKER_", s->pub.program)))
        return pm_err_set(err, "out of memory");
    if (!s->pub.switch_name && !(s->pub.switch_name = s->switch_owned = derived_name("WORKER_OWNER_", s->pub.program)))
        return pm_err_set(err, "out of memory");
    return 0;
}

static int load_queue(const pm_config *cfg, const char *queue, const json_t *v, pm_worker_spec *s, pm_err *err)
{
    char what[200];
    snprintf(what, sizeof what, "workers.%.150s", queue);
    if (pm_config_check_keys(cfg, v, what, queue_keys, err) != 0)
        return -1;
    s->pub.queue = queue;
    if (get_string(cfg, v, "program", what, &s->pub.program, err) != 0 ||
        get_bool(cfg, v, "namespaced", what, &s->pub.namespaced, err) != 0 ||
        get_bool(cfg, v, "ordered", what, &s->pub.ordered, err) != 0)
        return -1;
    if (!s->pub.program)
        return pm_config_error_at(cfg, v, err, "%s: want a program (the worker tracker's name for it)", what);
    if (!is_word(s->pub.program, 'a'))
        return pm_config_error_at(cfg, json_object_get(v, "program"), err,
                                  "%s.program: '%s': want lowercase letters, digits, - and _", what, s->pub.program);
    if (load_names(cfg, v, what, s, err) != 0)
        return -1;
    char sub[260];
    snprintf(sub, sizeof sub, "%s.capability", what);
    if (load_capability(cfg, json_object_get(v, "capability"), sub, s, err) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%s.cohort", what);
    if (load_cohort(cfg, json_object_get(v, "cohort"), sub, s, err) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%s.producer", what);
    if (get_strings(cfg, json_object_get(v, "producer"), sub, ITEM_PRODUCER, true, &s->producer, err) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%s.redact", what);
    if (get_strings(cfg, json_object_get(v, "redact"), sub, ITEM_PATH, false, &s->redact, err) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%s.urls", what);
    if (get_strings(cfg, json_object_get(v, "urls"), sub, ITEM_PATH, false, &s->urls, err) != 0)
        return -1;
    if (get_string(cfg, v, "correlate", what, &s->pub.correlate, err) != 0)
        return -1;
    const char *why = s->pub.correlate ? pm_worker_template_check(s->pub.correlate) : NULL;
    if (why)
        return pm_config_error_at(cfg, json_object_get(v, "correlate"), err, "%s.correlate: '%s': %s", what,
                                  s->pub.correlate, why);
    snprintf(sub, sizeof sub, "%s.probes", what);
    return load_probes(cfg, json_object_get(v, "probes"), sub, s, err);
}

/* A scheduled program (DESIGN.md: a job record of kind "run"): its names and its probes, which
 * take no parameters because they run on the whole snapshot, before the run and after it. */
static int load_scheduled(const pm_config *cfg, const char *program, const json_t *v, pm_worker_spec *s,
                          pm_err *err)
{
    char what[200];
    snprintf(what, sizeof what, "scheduled.%.150s", program);
    if (pm_config_check_keys(cfg, v, what, scheduled_keys, err) != 0)
        return -1;
    s->pub.program = program;
    s->pub.scheduled = true;
    if (load_names(cfg, v, what, s, err) != 0)
        return -1;
    char sub[260];
    snprintf(sub, sizeof sub, "%s.probes", what);
    if (load_probes(cfg, json_object_get(v, "probes"), sub, s, err) != 0)
        return -1;
    for (size_t i = 0; i < s->pub.nprobes; i++)
        if (s->probes[i].nparams)
            return pm_config_error_at(cfg, json_array_get(json_object_get(v, "probes"), i), err,
                                      "%s[%zu]: a scheduled program's probe takes no params (it runs on the whole "
                                      "database, before the run and after it)",
                                      sub, i);
    return 0;
}


static int load(pm_workers *w, pm_err *err)
{
    const pm_config *cfg = w->cfg;
    const json_t *root = pm_config_root(cfg);
    static const char *const root_keys[] = {"workers", "scheduled", NULL};
    if (pm_config_check_keys(cfg, root, "the worker map", root_keys, err) != 0)
        return -1;
    const json_t *queues = json_object_get(root, "workers");
    if (!json_is_object(queues) || json_object_size(queues) == 0)
        return pm_config_error_at(cfg, queues ? queues : root, err,
                                  "workers: want a mapping of queue names to their worker");
    w->specs = calloc(json_object_size(queues), sizeof *w->specs);
    if (!w->specs)
        return pm_err_set(err, "out of memory");
    const char *queue;
    const json_t *v;
    json_object_foreach((json_t *)queues, queue, v) {
        if (!is_word(queue, 'a') || strchr(queue, '-'))
            return pm_config_key_error_at(cfg, queues, queue, err,
                                          "workers.%s: want a queue name (lowercase letters, digits and _)", queue);
        if (load_queue(cfg, queue, v, &w->specs[w->n++], err) != 0)
            return -1;
    }
    const json_t *programs = json_object_get(root, "scheduled");
    if (programs && !json_is_object(programs))
        return pm_config_error_at(cfg, programs, err, "scheduled: want a mapping of program names to their probes");
    w->programs = calloc(programs ? json_object_size(programs) + 1 : 1, sizeof *w->programs);
    if (!w->programs)
        return pm_err_set(err, "out of memory");
    const char *program;
    json_object_foreach((json_t *)programs, program, v) {
        if (!is_word(program, 'a'))
            return pm_config_key_error_at(cfg, programs, program, err,
                                          "scheduled.%s: want a program name (lowercase letters, digits, - and _)",
                                          program);
        if (load_scheduled(cfg, program, v, &w->programs[w->nprograms++], err) != 0)
            return -1;
    }
    /* one family, one switch: across queues and scheduled programs */
    size_t total = w->n + w->nprograms;
    for (size_t i = 0; i < total; i++)
        for (size_t j = 0; j < i; j++) {
            const pm_worker_queue *a = i < w->n ? &w->specs[i].pub : &w->programs[i - w->n].pub;
            const pm_worker_queue *b = j < w->n ? &w->specs[j].pub : &w->programs[j - w->n].pub;
            if (strcmp(a->family, b->family) == 0 && strcmp(a->switch_name, b->switch_name) != 0)
                return pm_config_error_at(cfg,
                                          a->queue ? json_object_get(queues, a->queue)
                                                   : json_object_get(programs, a->program),
                                          err, "%s.%s: family %s has switch %s here and %s for %s %s",
                                          a->queue ? "workers" : "scheduled", a->queue ? a->queue : a->program,
                                          a->family, a->switch_name, b->switch_name, b->queue ? "queue" : "program",
                                          b->queue ? b->queue : b->program);
        }
    return 0;
}

pm_workers *pm_workers_from_config(pm_config *cfg, pm_err *err)
{
    pm_workers *w = calloc(1, sizeof *w);
    if (!w) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    if (load(w, err) != 0) {
        w->cfg = NULL; /* the caller still owns cfg on failure */
        pm_workers_free(w);
        return NULL;
    }
    return w;
}

pm_workers *pm_workers_load(const char *path, pm_err *err)
{
    pm_config *cfg = pm_config_load(path, err);
    if (!cfg)
        return NULL;
    pm_workers *w = pm_workers_from_config(cfg, err);
    if (!w)
        pm_config_free(cfg);
    return w;
}

static void spec_clear(pm_worker_spec *s)
{
    free(s->cap_segments.items);
    for (int k = 0; k < PM_COHORT_KEYS; k++)
        free(s->cohort[k].items);
    free(s->producer.items);
    free(s->redact.items);
    free(s->urls.items);
    for (size_t p = 0; p < s->pub.nprobes; p++)
        free((void *)s->probes[p].params);
    free(s->probes);
    free(s->family_owned);
    free(s->switch_owned);
}

void pm_workers_free(pm_workers *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        spec_clear(&w->specs[i]);
    for (size_t i = 0; i < w->nprograms; i++)
        spec_clear(&w->programs[i]);
    free(w->specs);
    free(w->programs);
    pm_config_free(w->cfg);
    free(w);
}

size_t pm_workers_count(const pm_workers *w)
{
    return w ? w->n : 0;
}

const pm_worker_queue *pm_workers_at(const pm_workers *w, size_t i)
{
    return w && i < w->n ? &w->specs[i].pub : NULL;
}

size_t pm_workers_program_count(const pm_workers *w)
{
    return w ? w->nprograms : 0;
}

const pm_worker_queue *pm_workers_program_at(const pm_workers *w, size_t i)
{
    return w && i < w->nprograms ? &w->programs[i].pub : NULL;
}

const pm_worker_queue *pm_workers_find(const pm_workers *w, const char *queue, size_t len)
{
    for (size_t i = 0; w && i < w->n; i++)
        if (strlen(w->specs[i].pub.queue) == len && memcmp(w->specs[i].pub.queue, queue, len) == 0)
            return &w->specs[i].pub;
    return NULL;
}

const pm_worker_queue *pm_workers_find_program(const pm_workers *w, const char *program)
{
    for (size_t i = 0; w && program && i < w->nprograms; i++)
        if (strcmp(w->programs[i].pub.program, program) == 0)
            return &w->programs[i].pub;
    return NULL;
}
