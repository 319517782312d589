/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jobs.c — the jobs a capture holds until their outcome, and how a queue row's changes
 * become that outcome.
 *
 * Quay's queue (data/queue.py) leaves a trail in the row: a claim sets available=false and
 * takes one retry (retries_remaining - 1) under a new state_id; complete deletes the row;
 * incomplete makes it available again, later, with the retry given back or not; every save()
 * writes a new state_id. So, for the first delivery: the row deleted is `completed`, the row
 * available again after a claim is `retried` (or `dead` when no retry is left). Logical
 * decoding sees each step; polling sees the last state, and a release shows as the row
 * available under another state_id than the one last seen.
 *
 * Held jobs are written in enqueue order (so a replay may take the file's order for an
 * ordered queue), each as soon as it and every job before it is due: its outcome seen, or
 * held outcome_wait, or pushed out by max_held.
 */
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

static char *copy(const char *s)
{
    return s ? strdup(s) : NULL;
}

wk_job *wk_jobs_add(wk_jobs *jobs, const wk_row *row, int64_t ts_us, uint64_t now_ms, size_t max_body)
{
    if (wk_idmap_get(&jobs->by_id, row->id))
        return NULL;
    wk_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->id = row->id;
    j->ts_us = ts_us;
    j->held_ms = now_ms;
    j->queue_name = copy(row->queue_name);
    j->available_after = copy(row->available_after);
    j->state_id = copy(row->state_id);
    j->has_retries = row->has_retries;
    j->retries0 = j->retries = row->retries;
    j->available = row->available != 0; /* a first-seen row without the column: as enqueued */
    if (row->body) {
        size_t n = row->body_len > max_body ? pm_utf8_cut(row->body, max_body) : row->body_len;
        j->body = malloc(n + 1);
        if (j->body) {
            memcpy(j->body, row->body, n);
            j->body[n] = 0;
        }
        j->body_len = n;
        j->body_total = row->body_total > row->body_len ? row->body_total : row->body_len;
    }
    if ((row->queue_name && !j->queue_name) || (row->body && !j->body) ||
        wk_idmap_put(&jobs->by_id, j->id, j) != 0) {
        wk_job_free(j);
        return NULL;
    }
    if (jobs->tail)
        jobs->tail->next = j;
    else
        jobs->head = j;
    jobs->tail = j;
    jobs->n++;
    return j;
}

wk_job *wk_jobs_get(const wk_jobs *jobs, int64_t id)
{
    return wk_idmap_get(&jobs->by_id, id);
}

void wk_job_observe(wk_job *j, const wk_row *row, int64_t ts_us)
{
    unsigned claims_before = j->claims;
    if (row->has_retries && j->has_retries && row->retries < j->retries)
        j->claims += (unsigned)(j->retries - row->retries > 1000 ? 1000 : j->retries - row->retries);
    bool state_changed = row->state_id && j->state_id && strcmp(row->state_id, j->state_id) != 0;
    bool released = row->available == 1 && (!j->available || state_changed);
    if (released) {
        if (j->claims == claims_before && j->available) /* claimed and released between two looks */
            j->claims++;
        if (!j->outcome) {
            j->outcome = row->has_retries && row->retries <= 0 ? "dead" : "retried";
            j->outcome_ts_us = ts_us;
        }
    }
    if (row->available >= 0)
        j->available = row->available == 1;
    if (row->has_retries) {
        j->retries = row->retries;
        j->has_retries = true;
    }
    if (row->state_id && state_changed) {
        char *s = strdup(row->state_id);
        if (s) {
            free(j->state_id);
            j->state_id = s;
        }
    }
}

void wk_job_deleted(wk_job *j, int64_t ts_us)
{
    if (j->outcome)
        return;
    j->outcome = "completed";
    j->outcome_ts_us = ts_us;
}

wk_job *wk_jobs_take_due(wk_jobs *jobs, uint64_t now_ms, uint64_t wait_ms, size_t max_held, bool all,
                         bool *evicted)
{
    wk_job *j = jobs->head;
    *evicted = false;
    if (!j)
        return NULL;
    bool committed = j->ts_us != 0 && (!j->outcome || j->outcome_ts_us != 0);
    if (!all && !committed)
        return NULL;
    bool due = all || j->outcome || now_ms - j->held_ms >= wait_ms;
    if (!due && jobs->n > max_held)
        due = *evicted = true;
    if (!due)
        return NULL;
    jobs->head = j->next;
    if (!jobs->head)
        jobs->tail = NULL;
    jobs->n--;
    j->next = NULL;
    wk_idmap_del(&jobs->by_id, j->id);
    return j;
}

void wk_job_free(wk_job *j)
{
    if (!j)
        return;
    free(j->queue_name);
    free(j->body);
    free(j->available_after);
    free(j->state_id);
    free(j);
}

void wk_jobs_free(wk_jobs *jobs)
{
    for (wk_job *j = jobs->head, *next; j; j = next) {
        next = j->next;
        wk_job_free(j);
    }
    wk_idmap_free(&jobs->by_id);
    memset(jobs, 0, sizeof *jobs);
}
