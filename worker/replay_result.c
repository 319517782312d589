/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_result.c — a replayed job as a job result (DESIGN.md "Files"): the job record as it
 * was read, plus `responses: {TARGET: {role, outcome, effects, latency_us, error}}`.
 *
 * `outcome` is what the queue row said afterwards (completed | retried | dead | timeout), null
 * with an `error` code when the job could not be watched there (database: the connection or a
 * statement failed; `message` says which, without the DSN's password), or `ambiguous_effects`
 * with the outcome kept (an effect could not be told apart from another job's in flight). `effects` holds `queue`
 * (the rows the worker enqueued during the job) and, when the worker map has probes for the
 * queue, `db` ({probe: rows}), and for a job of an ordered queue `taken_before`, its order
 * witness (replay.c). diff reads `outcome` as a status and `effects` as a JSON body.
 * Also the fresh state_id a producer gives a row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "replay_internal.h"
#include "worker_internal.h"

void wk_uuid(char *buf)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy source: unique enough for a sandbox's state_id (time and a counter) */
        static unsigned long counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(x >> (8 * i));
        unsigned long c = ++counter;
        for (int i = 0; i < 8; i++)
            b[8 + i] = (unsigned char)(c >> (8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

json_t *wk_delivery_effects(const wk_answer *a)
{
    json_t *effects = json_object();
    json_object_set_new(effects, "queue", a->queue ? json_incref(a->queue) : json_array());
    if (a->http)
        json_object_set(effects, "http", a->http);
    if (a->db)
        json_object_set(effects, "db", a->db);
    if (a->taken_before >= 0)
        json_object_set_new(effects, "taken_before", json_integer(a->taken_before));
    return effects;
}

static json_t *answer_json(const wk_answer *a, const wk_target *t)
{
    json_t *effects;
    const char *outcome = a->outcome;
    int64_t latency = a->latency_us;
    if (a->first) { /* --redeliver: the first delivery is the answer, the second its own key */
        effects = json_deep_copy(a->first);
        json_t *again = wk_delivery_effects(a);
        json_object_set_new(again, "outcome", a->outcome && !a->error ? json_string(a->outcome) : json_null());
        json_object_set_new(effects, "redelivery", again);
        outcome = a->first_outcome;
        latency = a->first_latency_us;
    } else {
        effects = wk_delivery_effects(a);
    }
    json_t *r = json_object();
    json_object_set_new(r, "role", json_string(pm_role_name(t->t->role)));
    json_object_set_new(r, "outcome", outcome && !a->error ? json_string(outcome) : json_null());
    json_object_set_new(r, "effects", effects);
    json_object_set_new(r, "latency_us", outcome && !a->error ? json_integer(latency) : json_null());
    /* the outcome stands; the effects are not evidence when they could not be attributed */
    const char *error = a->error ? a->error : a->ambiguous ? "ambiguous_effects" : NULL;
    json_object_set_new(r, "error", error ? json_string(error) : json_null());
    if (a->message)
        json_object_set_new(r, "message", wk_text_json(a->message, strlen(a->message)));
    else if (!a->error && a->ambiguous)
        json_object_set_new(r, "message", json_string("an effect seen while several jobs were in flight on this "
                                                      "target could not be attributed (the run went on one job "
                                                      "at a time)"));
    if (a->row_id)
        json_object_set_new(r, "queue_id", json_integer(a->row_id));
    return r;
}

json_t *wk_job_result(const wk_flight *f, const wk_target *targets, size_t ntargets)
{
    json_t *rec = json_deep_copy(f->record);
    if (!rec)
        return NULL;
    json_t *responses = json_object();
    for (size_t i = 0; i < ntargets; i++)
        json_object_set_new(responses, targets[i].t->name, answer_json(&f->answers[i], &targets[i]));
    json_object_set_new(rec, "responses", responses);
    return rec;
}
