/* SPDX-License-Identifier: Apache-2.0 */
/*
 * job_record.c — a held job as a job record (DESIGN.md "Files"), handed to the capture's
 * callback, and the counts that go with it.
 *
 *   {"v":1, "id", "ts" (enqueued), "kind":"job", "queue", "queue_name", "family",
 *    "capability", "switch", "cohort":{org,repo,user[,producer]},
 *    "job":{"body":<the body as JSON>, "available_after", "retries_remaining", "ordered"},
 *    "outcome" and "latency_us" (enqueue to outcome) when the source's outcome was seen,
 *    "queue_id" (the row's id), "program", "producer" when known (the map's template, else
 *    the capture's option; also in cohort, which reports count by), "claims", "capture"
 *    ("logical" | "poll"), "source" (the database as postgresql://USER@HOST:PORT/DB, never
 *    its password)}
 *
 * The body comes from a production database and is not trusted to be JSON: one that does not
 * parse is kept as "body_text" with "body_not_json": true (a body past max_body as
 * "body_text" with "body_truncated": true and "body_len"), counted, never dropped; bytes that
 * are not UTF-8 go to "body_b64". Secrets are redacted before anything is written: by the
 * worker map's fields in a JSON body, by the redactor's text scan in any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

static void count_queue(worker_capture_stats *st, const char *queue, size_t len, const char *outcome)
{
    worker_queue_count *row = NULL;
    for (size_t i = 0; i < st->nqueues && !row; i++)
        if (strlen(st->queues[i].queue) == len && memcmp(st->queues[i].queue, queue, len) == 0)
            row = &st->queues[i];
    if (!row && st->nqueues == WK_MAX_QUEUE_COUNTS) {
        row = &st->queues[WK_MAX_QUEUE_COUNTS - 1]; /* "(other)" */
    } else if (!row) {
        worker_queue_count *grown = realloc(st->queues, (st->nqueues + 1) * sizeof *grown);
        if (!grown)
            return;
        st->queues = grown;
        row = &st->queues[st->nqueues++];
        memset(row, 0, sizeof *row);
        row->queue = st->nqueues == WK_MAX_QUEUE_COUNTS ? strdup("(other)") : strndup(queue, len);
        if (!row->queue) {
            st->nqueues--;
            return;
        }
    }
    row->jobs++;
    if (!outcome)
        row->without_outcome++;
    else if (strcmp(outcome, "completed") == 0)
        row->completed++;
    else if (strcmp(outcome, "retried") == 0)
        row->retried++;
    else
        row->dead++;
}

/* job.body and its flags; *parsed is the JSON body (new reference) or NULL. */
static void set_body(worker_capture *c, const wk_job *j, json_t *job, json_t **parsed)
{
    const pm_redactor *r = c->o.redactor;
    const char *text = j->body ? j->body : "";
    size_t len = j->body ? j->body_len : 0;
    bool truncated = j->body_total > j->body_len;
    *parsed = NULL;
    if (!truncated && j->body)
        *parsed = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (*parsed)
        return; /* set by the caller after classification and redaction */
    size_t out_len = len;
    char *redacted = r ? pm_redact_body_text(r, "application/json", text, len, &out_len) : NULL;
    const char *keep = redacted ? redacted : text;
    if (pm_utf8_valid((const unsigned char *)keep, out_len) && !memchr(keep, 0, out_len)) {
        json_object_set_new(job, "body_text", json_stringn(keep, out_len));
    } else {
        char *b64 = pm_base64_encode((const unsigned char *)keep, out_len);
        json_object_set_new(job, "body_b64", b64 ? json_string(b64) : json_null());
        free(b64);
    }
    free(redacted);
    if (truncated) {
        json_object_set_new(job, "body_truncated", json_true());
        json_object_set_new(job, "body_len", json_integer((json_int_t)j->body_total));
        c->stats.bodies_truncated++;
    } else {
        json_object_set_new(job, "body_not_json", json_true());
        c->stats.bodies_not_json++;
    }
}

/* A JSON string of text from the source: bytes that are not UTF-8 (a SQL_ASCII database
 * holds any) become U+FFFD, so a key is never lost to jansson refusing its value. */
json_t *wk_text_json(const char *s, size_t n)
{
    if (pm_utf8_valid((const unsigned char *)s, n))
        return json_stringn(s, n);
    char *fixed = malloc(n * 3 + 1);
    if (!fixed)
        return json_null();
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t step = pm_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (step) {
            memcpy(fixed + o, s + i, step);
            o += step;
            i += step;
        } else {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *v = json_stringn(fixed, o);
    free(fixed);
    return v ? v : json_null();
}

static json_t *maybe_string(const char *s)
{
    return s ? wk_text_json(s, strlen(s)) : json_null();
}

int wk_job_write(worker_capture *c, const wk_job *j, pm_err *err)
{
    const char *qn = j->queue_name ? j->queue_name : "";
    size_t qlen = strcspn(qn, "/");
    json_t *job = json_object(), *body = NULL;
    set_body(c, j, job, &body);
    pm_job_class cls;
    pm_job_classify(c->o.map, qn, body, c->o.redactor, &cls);
    if (body) {
        pm_job_redact_body(cls.queue, c->o.redactor, body);
        json_object_set_new(job, "body", body);
    }
    int64_t when;
    char ts[40];
    if (j->available_after && pm_time_parse(j->available_after, &when)) {
        pm_time_rfc3339(when, ts, sizeof ts);
        json_object_set_new(job, "available_after", json_string(ts));
    } else {
        json_object_set_new(job, "available_after", json_null());
        if (j->available_after)
            json_object_set_new(job, "available_after_text", maybe_string(j->available_after));
    }
    json_object_set_new(job, "retries_remaining", j->has_retries ? json_integer(j->retries0) : json_null());
    json_object_set_new(job, "ordered", json_boolean(cls.queue && cls.queue->ordered));

    char id[64];
    snprintf(id, sizeof id, "%s-%lld", c->id_prefix, (long long)j->id);
    int64_t ts_us = j->ts_us ? j->ts_us : wk_wall_us();
    pm_time_rfc3339(ts_us, ts, sizeof ts);
    json_t *rec = pm_record_new();
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "ts", json_string(ts));
    json_object_set_new(rec, "kind", json_string("job"));
    json_object_set_new(rec, "queue", wk_text_json(qn, qlen));
    json_object_set_new(rec, "queue_name", maybe_string(qn));
    json_object_set_new(rec, "family", json_string(cls.family));
    json_object_set_new(rec, "capability", maybe_string(cls.capability));
    json_object_set_new(rec, "switch", maybe_string(cls.switch_name));
    const char *producer = cls.producer ? cls.producer : c->o.producer; /* the map's wins */
    json_t *cohort = json_pack("{s:o,s:o,s:o}", "org", maybe_string(cls.cohort.org), "repo",
                               maybe_string(cls.cohort.repo), "user", maybe_string(cls.cohort.user));
    if (producer)
        json_object_set_new(cohort, "producer", json_string(producer));
    json_object_set_new(rec, "cohort", cohort);
    json_object_set_new(rec, "job", job);
    if (j->outcome) {
        json_object_set_new(rec, "outcome", json_string(j->outcome));
        if (j->outcome_ts_us && j->ts_us)
            json_object_set_new(rec, "latency_us",
                                json_integer(j->outcome_ts_us > j->ts_us ? j->outcome_ts_us - j->ts_us : 0));
    }
    json_object_set_new(rec, "queue_id", json_integer(j->id));
    json_object_set_new(rec, "program", maybe_string(cls.queue ? cls.queue->program : NULL));
    if (producer)
        json_object_set_new(rec, "producer", json_string(producer));
    json_object_set_new(rec, "claims", json_integer(j->claims));
    json_object_set_new(rec, "capture", json_string(c->logical ? "logical" : "poll"));
    /* where it came from, without password: the replay refuses a target that is this database */
    json_object_set_new(rec, "source", wk_text_json(c->dsn_display, strlen(c->dsn_display)));

    if (!cls.queue)
        c->stats.unknown_queue++;
    if (cls.producer_refused)
        c->stats.producers_refused++;
    pm_job_class_clear(&cls);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    if (!text)
        return pm_err_set(err, "out of memory writing job %lld", (long long)j->id);
    int rc = c->fn(c->fn_ctx, text, strlen(text), err);
    free(text);
    if (rc != 0)
        return -1;
    c->stats.jobs++;
    if (!j->outcome)
        c->stats.without_outcome++;
    else if (strcmp(j->outcome, "completed") == 0)
        c->stats.completed++;
    else if (strcmp(j->outcome, "retried") == 0)
        c->stats.retried++;
    else
        c->stats.dead++;
    count_queue(&c->stats, qn, qlen, j->outcome);
    return 0;
}

int wk_write_due(worker_capture *c, bool all, pm_err *err)
{
    uint64_t now = pm_now_ms();
    bool evicted;
    wk_job *j;
    while ((j = wk_jobs_take_due(&c->jobs, now, c->o.outcome_wait_ms, c->o.max_held, all, &evicted))) {
        if (evicted)
            c->stats.evicted++;
        int rc = wk_job_write(c, j, err);
        wk_job_free(j);
        if (rc != 0)
            return -1;
    }
    return 0;
}
