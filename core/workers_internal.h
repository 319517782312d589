/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/workers_internal.h — the worker map as workers.c builds it and job.c reads it: each
 * queue's public part (pm_worker_queue, first, so a pointer to it is a pointer to its spec)
 * and the rules the public header does not show. Private to core.
 */
#ifndef PM_CORE_WORKERS_INTERNAL_H
#define PM_CORE_WORKERS_INTERNAL_H

#include "workers.h"

enum { PM_COHORT_ORG, PM_COHORT_REPO, PM_COHORT_USER, PM_COHORT_KEYS };

/* A list of strings borrowed from the config tree (the array is owned). */
typedef struct pm_strings {
    const char **items;
    size_t n;
} pm_strings;

typedef struct pm_worker_spec {
    pm_worker_queue pub;          /* first: pm_workers_at hands out &pub */
    const char *cap_body;         /* capability from this body path, or NULL */
    pm_strings cap_segments;      /* ... else the first queue_name segment listed here */
    const char *cap_default;      /* ... else this; NULL: the queue's name */
    pm_strings cohort[PM_COHORT_KEYS]; /* templates, the first with a value wins */
    pm_strings producer;          /* templates, the first whose value is a producer name wins */
    pm_strings redact, urls;      /* body paths */
    pm_worker_probe *probes;      /* pub.probes points here */
    char *family_owned, *switch_owned; /* derived names (NULL when the map gives them) */
} pm_worker_spec;

struct pm_workers {
    pm_config *cfg; /* owns every borrowed string */
    pm_worker_spec *specs;        /* the queues */
    size_t n;
    pm_worker_spec *programs;     /* the scheduled programs (pub.queue NULL, pub.scheduled) */
    size_t nprograms;
};

/* The JSON value at a dotted path ("a.b.0.c") under value, or NULL. (job.c) */
const json_t *pm_job_body_path(const json_t *value, const char *path, size_t len);

#endif
