/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_target.c — one worker target of the job replay: its sandbox database, reached through
 * one libpq connection, into which jobs are inserted as Quay's producer inserts them and whose
 * rows are then watched until each job's outcome.
 *
 * One look per poll is one statement, so one snapshot: the rows of the jobs watched here, and
 * the rows with a higher id than any seen before (what the worker enqueued in its turn). In
 * one snapshot a worker that enqueues a follow-up and completes its job in one transaction
 * shows both at once, which is what makes attribution exact:
 *   - the one job in flight whose `correlate` value (the worker map's: a notification's uuid,
 *     say) the effect's text contains — a webhook's target, headers and body, a new row's
 *     body —, when exactly one does;
 *   - else one job in flight on the target: a new row is that job's;
 *   - else several: the job whose outcome this same look saw, when exactly one did;
 *   - else it cannot be told: every job then in flight on the target is marked `ambiguous`
 *     (its answer becomes error `ambiguous_effects`, so diff counts an error, never a match
 *     or a mismatch built on a guess), the row goes to the oldest of them for the reader, and
 *     the target asks the loop to run one job at a time from then on (t->serialize);
 *   - no job in flight: counted as `unattributed`, in no result.
 * The second rule trusts that the job whose completion is seen with the row made it: exact
 * for a worker that enqueues and completes in one transaction, or that runs one job at a time
 * per queue; a deployment of several worker processes that enqueue outside their completing
 * transaction needs --concurrency 1 for exact effects.
 * A job of an ordered burst (replay.c) whose row the look still sees as inserted is not in
 * flight for these rules: the worker has not claimed it, so it made nothing (a claim commits
 * before the work). A worker that keeps a burst's order runs one of its jobs at a time, and that
 * one claimed job owns what appears; one that runs two at once falls under the third rule. (A
 * request to the sink is taken just after the look: one sent by a job claimed in between, the
 * length of a query, goes by this look's rule, as requests do under the second rule.)
 * A row committed late with an id below one seen already is not seen (as polling capture's
 * gaps; workers rarely enqueue concurrently in a sandbox).
 *
 * The same look gives each ordered job its order witness: when its row is first seen taken
 * (claimed: available false or another state_id; released; or gone), `taken_before` = the jobs
 * of its queue in flight with a lower id, claimable (retries left) and still as inserted. Jobs
 * first seen taken in one look do not count against each other: polling cannot order them.
 *
 * Every value read from the database is untrusted text: ids, counts and flags are parsed
 * with bounds, bodies are kept as JSON only when they parse, else as body_text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"
#include "worker_internal.h"

#define NEW_ROWS_MAX 1000     /* new rows read per look; the rest at the next */
#define BODY_MAX (1 << 20)    /* a new row's body is read up to this many bytes */

static void answer_error(wk_answer *a, const char *code, const char *message)
{
    if (a->error)
        return;
    a->error = code;
    free(a->message);
    a->message = message ? strdup(message) : NULL;
}

static void lost(wk_target *t)
{
    if (t->conn)
        PQfinish(t->conn);
    t->conn = NULL;
    t->reconnect_ms = pm_now_ms() + 1000;
}

/* Runs sql; NULL with msg filled (the server's words on one line) on failure. */
static PGresult *exec(wk_target *t, const char *sql, int n, const char *const *params, char *msg, size_t size)
{
    if (!t->conn) {
        snprintf(msg, size, "no connection to %s", t->display);
        return NULL;
    }
    PGresult *res = PQexecParams(t->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    char one[600];
    wk_pg_message(res ? PQresultErrorMessage(res) : PQerrorMessage(t->conn), one, sizeof one);
    bool gone = wk_pg_lost(t->conn, res);
    if (snprintf(msg, size, "%s%s: %s", gone ? "lost the connection to " : "", t->display, one) >= (int)size)
        memcpy(msg + size - 4, "...", 4); /* cut: say so */
    PQclear(res);
    if (gone)
        lost(t);
    return NULL;
}

PGresult *wk_target_exec(wk_target *t, const char *sql, int n, const char *const *params, char *msg, size_t size)
{
    return exec(t, sql, n, params, msg, size);
}

int wk_target_connect(wk_target *t, pm_err *err)
{
    char what[300], timeout[32];
    snprintf(what, sizeof what, "target %s: database", t->t->name);
    snprintf(timeout, sizeof timeout, "%.0f", t->t->connect_timeout_s > 1 ? t->t->connect_timeout_s : 1);
    pm_err inner;
    t->conn = wk_pg_connect_as(t->t->database, t->display, what, "pmirror worker", timeout, &inner);
    if (!t->conn) {
        t->reconnect_ms = pm_now_ms() + 1000;
        return pm_err_set(err, "target %s: %s", t->t->name, inner.msg);
    }
    char msg[700];
    /* writable, and where the highest id is now: rows above it are the workers' */
    PGresult *res = exec(t, "SELECT coalesce(max(id), 0)::text FROM queueitem", 0, NULL, msg,
                         sizeof msg);
    if (!res)
        return pm_err_set(err, "target %s: cannot read queueitem: %s", t->t->name, msg);
    char *end;
    long long top = strtoll(PQgetvalue(res, 0, 0), &end, 10);
    t->last_id = *end == 0 && top > 0 ? top : 0;
    PQclear(res);
    res = exec(t,
               "SELECT (has_table_privilege('queueitem', 'INSERT') AND has_table_privilege('queueitem', 'SELECT') "
               "AND has_table_privilege('queueitem', 'DELETE'))::text",
               0, NULL, msg, sizeof msg);
    bool may = res && strcmp(PQgetvalue(res, 0, 0), "true") == 0;
    PQclear(res);
    if (!may)
        return pm_err_set(err, "target %s: %s: may not insert into, read and delete from queueitem%s%s", t->t->name,
                          t->display, res ? "" : ": ", res ? "" : msg);
    return 0;
}

void wk_target_close(wk_target *t)
{
    if (t->conn)
        PQfinish(t->conn);
    t->conn = NULL;
}

/* The connection, reconnected when it was lost and a second has passed. */
static bool connected(wk_target *t)
{
    if (t->conn)
        return true;
    if (pm_now_ms() < t->reconnect_ms)
        return false;
    pm_err ignored;
    if (wk_target_connect(t, &ignored) != 0) {
        wk_target_close(t);
        return false;
    }
    return true;
}

void wk_target_enqueue(wk_target *t, size_t index, wk_flight *f)
{
    wk_answer *a = &f->answers[index];
    a->queue = json_array();
    if (t->sink)
        a->http = json_array();
    a->started_ms = pm_now_ms();
    a->taken = a->taken_now = false;
    a->taken_before = -1;
    if (!connected(t)) {
        char msg[600];
        snprintf(msg, sizeof msg, "no connection to %s", t->display);
        answer_error(a, "database", msg);
        return;
    }
    wk_uuid(a->state_id);
    char retries[32];
    snprintf(retries, sizeof retries, "%ld", f->retries);
    const char *params[] = {f->queue_name, f->body, retries, a->state_id};
    char msg[700];
    a->enqueued_us = wk_wall_us();
    PGresult *res = exec(t,
                         "INSERT INTO queueitem (queue_name, body, retries_remaining, available_after, available, "
                         "processing_expires, state_id) VALUES ($1, $2, $3::int, now() AT TIME ZONE 'utc', true, "
                         "NULL, $4) RETURNING id::text",
                         4, params, msg, sizeof msg);
    if (!res) {
        answer_error(a, "database", msg);
        return;
    }
    char *end;
    long long id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), &end, 10) : 0;
    PQclear(res);
    if (id <= 0) {
        answer_error(a, "database", "the insert returned no id");
        return;
    }
    a->row_id = id;
}

void wk_target_enqueue_together(wk_target *t, size_t index, wk_flight *const *fs, size_t n)
{
    char msg[700];
    PGresult *begun = n > 1 && connected(t) ? exec(t, "BEGIN", 0, NULL, msg, sizeof msg) : NULL;
    for (size_t k = 0; k < n; k++)
        wk_target_enqueue(t, index, fs[k]);
    if (!begun)
        return; /* one job, or no transaction to be had: each insert stood alone */
    PQclear(begun);
    const wk_answer *failed = NULL;
    for (size_t k = 0; k < n && !failed; k++)
        if (fs[k]->answers[index].error)
            failed = &fs[k]->answers[index];
    PGresult *done = failed ? NULL : exec(t, "COMMIT", 0, NULL, msg, sizeof msg);
    if (done) {
        PQclear(done);
        return;
    }
    if (failed) {
        char ignored[64];
        snprintf(msg, sizeof msg, "%s", failed->message ? failed->message : failed->error);
        PQclear(exec(t, "ROLLBACK", 0, NULL, ignored, sizeof ignored));
    }
    for (size_t k = 0; k < n; k++) { /* none of them is in the queue */
        wk_answer *a = &fs[k]->answers[index];
        answer_error(a, "database", msg);
        a->row_id = 0;
    }
}

/* ---- one look ------------------------------------------------------------------------- */

const char *wk_outcome_of(const char *inserted_state_id, long retries0, bool available, long retries, bool expired,
                          const char *state_id)
{
    bool released = available && strcmp(state_id, inserted_state_id) != 0;
    if (retries <= 0 && (released || expired || (available && retries0 <= 0)))
        return "dead";
    if (released || (expired && retries < retries0) || retries < retries0 - 1)
        return "retried";
    return NULL;
}

static json_t *row_body(const char *text, size_t len, bool cut)
{
    json_t *v = cut ? NULL : json_loadb(text, len, JSON_DECODE_ANY, NULL);
    return v ? v : wk_text_json(text, len);
}

/* May the job have made an effect this look sees: inserted, watched or finished in this look,
 * and, when it is ordered, taken: a row of an ordered burst still as inserted was not claimed,
 * the worker has not begun that job. */
static bool may_have_made(const wk_flight *f, const wk_answer *a)
{
    return a->row_id && !a->error && (!a->outcome || a->outcome_now) && (a->taken || !f->ordered);
}

/* The one job whose correlate value (the worker map's) is in text, among those that may have
 * made an effect, or NULL when none is, or several are. */
static wk_answer *by_correlation(wk_flight *flights, size_t index, const char *text)
{
    wk_answer *found = NULL;
    for (wk_flight *f = flights; text && f; f = f->next) {
        wk_answer *a = &f->answers[index];
        if (!f->correlation || !may_have_made(f, a) || !strstr(text, f->correlation))
            continue;
        if (found)
            return NULL;
        found = a;
    }
    return found;
}

wk_answer *wk_target_attribute(wk_target *t, size_t index, wk_flight *flights, const char *text)
{
    wk_answer *mine = by_correlation(flights, index, text);
    if (mine)
        return mine;
    wk_answer *only = NULL, *now = NULL, *oldest = NULL;
    size_t in_flight = 0, outcome_now = 0;
    for (wk_flight *f = flights; f; f = f->next) {
        wk_answer *a = &f->answers[index];
        if (!may_have_made(f, a))
            continue;
        if (a->outcome_now) {
            outcome_now++;
            now = a;
        }
        in_flight++;
        only = a;
        if (!oldest)
            oldest = a;
    }
    if (in_flight == 1)
        return only;
    if (outcome_now == 1)
        return now;
    for (wk_flight *f = flights; f; f = f->next) {
        wk_answer *a = &f->answers[index];
        if (may_have_made(f, a) && !a->ambiguous) {
            a->ambiguous = true;
            t->stats->ambiguous++;
        }
    }
    if (oldest)
        t->serialize = true;
    return oldest;
}

void wk_order_witness(wk_flight *flights, size_t index)
{
    for (wk_flight *f = flights; f; f = f->next) {
        wk_answer *a = &f->answers[index];
        if (!f->ordered || !a->taken_now)
            continue;
        a->taken_before = 0;
        for (const wk_flight *g = flights; g; g = g->next) {
            const wk_answer *b = &g->answers[index];
            if (g->ordered && b->row_id && b->row_id < a->row_id && !b->error && !b->taken && g->retries > 0 &&
                strcmp(g->queue, f->queue) == 0)
                a->taken_before++;
        }
    }
}

static wk_answer *watched(wk_flight *flights, size_t index, int64_t id, wk_flight **owner)
{
    for (wk_flight *f = flights; f; f = f->next)
        if (f->answers[index].row_id == id) {
            *owner = f;
            return &f->answers[index];
        }
    return NULL;
}

/* The requests the effects sink received up to now, each to the job it belongs to. Called
 * after the look's query: a request the worker sent before its job's outcome committed has
 * arrived by then, and goes by the same rule as the rows of that look. */
static void take_requests(wk_target *t, size_t index, wk_flight *flights)
{
    if (!t->sink)
        return;
    json_t *requests = wk_sink_take(t->sink);
    size_t i;
    json_t *req;
    json_array_foreach(requests, i, req) {
        char *text = json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY);
        wk_answer *a = wk_target_attribute(t, index, flights, text);
        free(text);
        if (a && a->http) {
            json_array_append(a->http, req);
            t->stats->http++;
        } else {
            t->stats->http_unattributed++;
        }
    }
    json_decref(requests);
}

static void look(wk_target *t, size_t index, wk_flight *flights);

void wk_target_poll(wk_target *t, size_t index, wk_flight *flights)
{
    look(t, index, flights);
    take_requests(t, index, flights);
}

static void look(wk_target *t, size_t index, wk_flight *flights)
{
    /* the ids watched, as a PostgreSQL array literal */
    size_t n = 0;
    for (wk_flight *f = flights; f; f = f->next) {
        n += f->answers[index].row_id && !f->answers[index].outcome && !f->answers[index].error;
        f->answers[index].outcome_now = f->answers[index].taken_now = false;
    }
    if (n == 0)
        return;
    char *ids = malloc(n * 21 + 3), *p = ids;
    if (!ids)
        return;
    *p++ = '{';
    for (wk_flight *f = flights; f; f = f->next) {
        const wk_answer *a = &f->answers[index];
        if (a->row_id && !a->outcome && !a->error)
            p += sprintf(p, "%s%lld", p[-1] == '{' ? "" : ",", (long long)a->row_id);
    }
    strcpy(p, "}");
    char last[32], limit[16], body_max[16];
    snprintf(last, sizeof last, "%lld", (long long)t->last_id);
    snprintf(limit, sizeof limit, "%d", NEW_ROWS_MAX);
    snprintf(body_max, sizeof body_max, "%d", BODY_MAX);
    const char *params[] = {ids, last, limit, body_max};
    char msg[700];
    uint64_t now_ms = pm_now_ms();
    PGresult *res = NULL;
    if (connected(t))
        res = exec(t,
                   "WITH now_utc AS (SELECT now() AT TIME ZONE 'utc' AS t) "
                   "(SELECT 'w', id::text, queue_name, '', available::text, retries_remaining::text, "
                   "coalesce(processing_expires <= (SELECT t FROM now_utc), false)::text, state_id, '0' "
                   "FROM queueitem WHERE id = ANY($1::int8[])) UNION ALL "
                   "(SELECT 'n', id::text, queue_name, left(body, $4::int), available::text, "
                   "retries_remaining::text, 'false', state_id, length(body)::text FROM queueitem "
                   "WHERE id > $2::int8 AND NOT id = ANY($1::int8[]) ORDER BY id LIMIT $3::int)",
                   4, params, msg, sizeof msg);
    free(ids);
    if (!res) {
        for (wk_flight *f = flights; f; f = f->next) {
            wk_answer *a = &f->answers[index];
            if (a->row_id && !a->outcome && !a->error) {
                answer_error(a, "database", msg);
                t->stats->errors++;
            }
        }
        return;
    }
    int rows = PQntuples(res);
    for (wk_flight *f = flights; f; f = f->next)
        f->answers[index].outcome_now = false;
    /* watched rows first: every watched id not in the snapshot is gone (completed) */
    for (wk_flight *f = flights; f; f = f->next) {
        wk_answer *a = &f->answers[index];
        if (!a->row_id || a->outcome || a->error)
            continue;
        bool present = false, taken = true; /* a row gone was taken */
        for (int r = 0; r < rows && !present; r++) {
            if (PQgetvalue(res, r, 0)[0] != 'w' || strtoll(PQgetvalue(res, r, 1), NULL, 10) != a->row_id)
                continue;
            present = true;
            char *end;
            errno = 0;
            long retries = strtol(PQgetvalue(res, r, 5), &end, 10);
            if (errno || *end)
                retries = f->retries; /* unreadable: as inserted */
            bool available = strcmp(PQgetvalue(res, r, 4), "true") == 0;
            a->outcome = wk_outcome_of(a->state_id, f->retries, available, retries,
                                       strcmp(PQgetvalue(res, r, 6), "true") == 0, PQgetvalue(res, r, 7));
            taken = !available || strcmp(PQgetvalue(res, r, 7), a->state_id) != 0;
        }
        if (!present)
            a->outcome = "completed";
        if (taken && !a->taken)
            a->taken = a->taken_now = true;
        if (a->outcome) {
            a->outcome_now = true;
            a->latency_us = wk_wall_us() - a->enqueued_us;
        } else if ((double)(now_ms - a->started_ms) >= f->timeout_s * 1000) {
            a->outcome = "timeout";
            a->outcome_now = true;
            a->latency_us = wk_wall_us() - a->enqueued_us;
        }
    }
    wk_order_witness(flights, index);
    /* then the new rows, in id order */
    for (int r = 0; r < rows; r++) {
        if (PQgetvalue(res, r, 0)[0] != 'n')
            continue;
        char *end;
        long long id = strtoll(PQgetvalue(res, r, 1), &end, 10);
        if (*end || id <= 0)
            continue;
        if (id > t->last_id)
            t->last_id = id;
        wk_flight *owner = NULL;
        if (watched(flights, index, id, &owner))
            continue; /* a job of ours (its outcome already seen) */
        const char *body = PQgetvalue(res, r, 3);
        size_t len = (size_t)PQgetlength(res, r, 3);
        wk_answer *a = wk_target_attribute(t, index, flights, body);
        if (!a) {
            t->stats->unattributed++;
            continue;
        }
        long long total = strtoll(PQgetvalue(res, r, 8), NULL, 10);
        json_t *row = json_object();
        json_object_set_new(row, "queue_name", wk_text_json(PQgetvalue(res, r, 2), strlen(PQgetvalue(res, r, 2))));
        json_object_set_new(row, "body", row_body(body, len, total > (long long)len));
        if (total > (long long)len)
            json_object_set_new(row, "body_truncated", json_true());
        long retries = strtol(PQgetvalue(res, r, 5), &end, 10);
        json_object_set_new(row, "retries_remaining", *end ? json_null() : json_integer(retries));
        json_array_append_new(a->queue, row);
        t->stats->enqueued++;
    }
    PQclear(res);
}

void wk_target_forget(wk_target *t, const wk_answer *a)
{
    if (!a->row_id || !t->conn)
        return;
    char id[32], msg[700];
    snprintf(id, sizeof id, "%lld", (long long)a->row_id);
    const char *params[] = {id};
    PQclear(exec(t, "DELETE FROM queueitem WHERE id = $1::int8", 1, params, msg, sizeof msg));
}

/* ---- probes ----------------------------------------------------------------------------- */

json_t *wk_target_probes(wk_target *t, const wk_flight *f)
{
    if (!f->wq || f->wq->nprobes == 0)
        return NULL;
    json_t *db = json_object();
    json_t *qid = json_object_get(f->record, "queue_id");
    int64_t id = json_is_integer(qid) ? json_integer_value(qid) : 0;
    for (size_t i = 0; i < f->wq->nprobes; i++) {
        const pm_worker_probe *probe = &f->wq->probes[i];
        char *values[16] = {0};
        const char *params[16] = {0};
        size_t np = probe->nparams < 16 ? probe->nparams : 16;
        for (size_t k = 0; k < np; k++)
            params[k] = values[k] = pm_worker_template_expand(probe->params[k], id, f->queue_name, f->body_json);
        char msg[700];
        PGresult *res = connected(t) ? exec(t, probe->sql, (int)np, params, msg, sizeof msg) : NULL;
        if (!res && !t->conn)
            snprintf(msg, sizeof msg, "no connection to %s", t->display);
        for (size_t k = 0; k < np; k++)
            free(values[k]);
        if (!res) { /* the server's words only: the target's DSN in it would differ between targets */
            size_t dl = strlen(t->display);
            const char *words = strncmp(msg, t->display, dl) == 0 && strncmp(msg + dl, ": ", 2) == 0 ? msg + dl + 2 : msg;
            json_object_set_new(db, probe->name, json_pack("{s:s}", "error", words));
            continue;
        }
        json_object_set_new(db, probe->name, wk_pg_rows(res));
        PQclear(res);
    }
    return db;
}
