/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/workers.h — the profile's worker map (config/quay/workers.yaml) and what it says about
 * one queue job: its program, family, owner switch, capability and cohort, and which of its
 * body fields are secrets (workers.c loads and checks the map, job.c applies it to a job).
 * One part of core's public interface; core/core.h includes every part.
 *
 * The map is to queue jobs what the capability map is to requests: queue capture classifies
 * every job with it, the worker replay finds each queue's ordering and probes in it, and the
 * reports name worker families and switches from it. A queue is the first segment of a job's
 * canonical queue_name (`notification` in `notification/acme/web/repo_push/`).
 *
 * Templates name a job's values for cohorts and probe parameters: literal text with
 * placeholders `{id}`, `{queue_name}`, `{name.N}` (segment N of queue_name; 0 is the queue)
 * and `{body.a.b}` (a field of the JSON body; a number segment indexes an array). A template
 * whose placeholder has no value (a missing field, null, an object) has no value as a whole.
 *
 * Producer (mixed mode): which implementation enqueued a job — the queue row does not say. A
 * queue's `producer:` templates name it when producers mark their jobs (`{body._producer}`);
 * a value that is not a producer name (pm_worker_producer_ok) counts as none. Queue capture
 * falls back to its --producer flag, so the map's value, when there is one, wins.
 */
#ifndef PM_CORE_WORKERS_H
#define PM_CORE_WORKERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capmap.h"
#include "config.h"
#include "err.h"
#include "redact.h"

typedef struct pm_workers pm_workers;

/* SQL run against a worker target's database after a job's outcome (a scheduled program's:
 * before and after its run); its rows are effects. */
typedef struct pm_worker_probe {
    const char *name;
    const char *sql;           /* parameters $1.. are params[0].. */
    const char *const *params; /* templates */
    size_t nparams;
} pm_worker_probe;

/* A queue's worker, or (scheduled) a program that runs on a schedule and scans the database. */
typedef struct pm_worker_queue {
    const char *queue;       /* "notification"; NULL for a scheduled program */
    const char *program;     /* "notificationworker": the tracker's program name */
    const char *family;      /* "WORKER_NOTIFICATIONWORKER" (WORKER_<PROGRAM> unless the map says) */
    const char *switch_name; /* "WORKER_OWNER_NOTIFICATIONWORKER" (likewise) */
    const char *tracker_id;  /* "PROC-023", or NULL */
    bool namespaced;         /* queue_name carries the namespace as segment 1 */
    bool ordered;            /* jobs are claimed lowest id first (the build queue) */
    bool scheduled;          /* a scheduled program (the map's `scheduled:`): its probes take no params */
    const char *correlate;   /* a template: the job's value that the effects it causes carry (a
                              * webhook's body, a follow-up job's), for attribution; or NULL */
    const pm_worker_probe *probes;
    size_t nprobes;
} pm_worker_queue;

/* Loads and checks a worker map; every error names file:line:column. */
pm_workers *pm_workers_load(const char *path, pm_err *err);
/* Takes ownership of cfg when it succeeds; the caller keeps it on failure. */
pm_workers *pm_workers_from_config(pm_config *cfg, pm_err *err);
void pm_workers_free(pm_workers *w);
size_t pm_workers_count(const pm_workers *w);
const pm_worker_queue *pm_workers_at(const pm_workers *w, size_t i);
/* The scheduled programs (`scheduled:`), in the file's order. */
size_t pm_workers_program_count(const pm_workers *w);
const pm_worker_queue *pm_workers_program_at(const pm_workers *w, size_t i);
/* The queue named by the first len bytes of queue (no NUL needed), or NULL. */
const pm_worker_queue *pm_workers_find(const pm_workers *w, const char *queue, size_t len);
/* The scheduled program of that name, or NULL. */
const pm_worker_queue *pm_workers_find_program(const pm_workers *w, const char *program);

/* ---- one job (job.c) ---------------------------------------------------------------- */

typedef struct pm_job_class {
    const pm_worker_queue *queue; /* NULL: the queue is not in the map */
    const char *family;           /* borrowed; "UNKNOWN" when the queue is not in the map */
    const char *switch_name;      /* borrowed; NULL when the queue is not in the map */
    char *capability;             /* owned: from the body or queue_name as the map says, else the queue */
    pm_cohort cohort;             /* owned; the user is hashed (pm_redact_value) when it looks like
                                   * an e-mail address and a redactor is given */
    char *producer;               /* owned: the first `producer:` template whose value is a
                                   * producer name, or NULL */
    bool producer_refused;        /* a template's value was not a producer name (skipped) */
} pm_job_class;

/* Classifies a job by its canonical queue_name and body (any JSON, or NULL when the body is
 * not JSON). Never fails: a queue outside the map is family UNKNOWN, out of memory leaves
 * fields NULL. r may be NULL (nothing hashed). */
void pm_job_classify(const pm_workers *w, const char *queue_name, const json_t *body, const pm_redactor *r,
                     pm_job_class *out);
void pm_job_class_clear(pm_job_class *c);
/* In place: the redactor's secret fields at any depth (pm_redact_json), then the queue's own
 * `redact:` fields (every string under them) and `urls:` fields (secret query parameters).
 * q may be NULL. Returns how many values were replaced. */
size_t pm_job_redact_body(const pm_worker_queue *q, const pm_redactor *r, json_t *body);
/* A template's value for a job (a new string), or NULL when it has none. */
char *pm_worker_template_expand(const char *tmpl, int64_t id, const char *queue_name, const json_t *body);
/* NULL when tmpl is a well-formed template, else why not (a static string). */
const char *pm_worker_template_check(const char *tmpl);

#define PM_PRODUCER_MAX 32
/* A producer name: 1 to PM_PRODUCER_MAX bytes of lowercase letters, digits, - and _ ("python",
 * "go"): what --producer takes and a `producer:` template's value must be. */
bool pm_worker_producer_ok(const char *name);

#endif
