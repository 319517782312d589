/* SPDX-License-Identifier: Apache-2.0 */
/*
 * poll.c — queue capture by polling, for a source without wal_level=logical (or a role
 * without REPLICATION).
 *
 * Each poll is at most three bounded queries, each served by the primary key, never a scan
 * of the table:
 *  - new rows:  WHERE id > $last ORDER BY id LIMIT batch (repeated while batches are full);
 *  - holes:     ids skipped by a later row may belong to a transaction that has not
 *               committed yet, so each skipped range is looked at again until it fills or
 *               hole_wait passes; then its ids count as gaps (a gap is a job that may have
 *               been enqueued and completed between two polls, or an insert rolled back —
 *               the table cannot say which, nor which queue it was: the row is gone);
 *  - outcomes:  the held jobs' rows by id (WHERE id = ANY($1), at most batch of them, round
 *               the held jobs in turn): a row gone is completed, a row available again after
 *               a claim is retried (or dead).
 * A job is stamped with the time it was first seen (the poll interval is its error). Bodies
 * of queues outside --queue-name are not fetched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

#define BATCHES_PER_POLL 10
#define MAX_HOLES 1024

/* The columns every row query reads; $3 the selected queues (text[] or NULL), $4 the body cap. */
#define ROW_COLUMNS                                                                                                    \
    "q.id, q.queue_name, CASE WHEN $3::text[] IS NULL OR split_part(q.queue_name, '/', 1) = ANY($3::text[]) "         \
    "THEN substr(q.body, 1, $4::int) END, octet_length(q.body), q.available_after, q.available, "                     \
    "q.retries_remaining, q.state_id"

/* "{"a","b"}": the --queue-name values as a text[] literal, or NULL for all queues. */
static char *queue_array(const worker_capture *c)
{
    if (!c->o.nqueues)
        return NULL;
    size_t n = 3;
    for (size_t i = 0; i < c->o.nqueues; i++)
        n += 2 * strlen(c->o.queues[i]) + 3;
    char *s = malloc(n), *o = s;
    if (!s)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < c->o.nqueues; i++) {
        if (i)
            *o++ = ',';
        *o++ = '"';
        for (const char *p = c->o.queues[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = 0;
    return s;
}

static bool cell_int(const PGresult *res, int row, int col, long long *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    char *end;
    errno = 0;
    *out = strtoll(PQgetvalue(res, row, col), &end, 10);
    return errno == 0 && *end == 0 && end != PQgetvalue(res, row, col);
}

static const char *cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Row i of a ROW_COLUMNS result (id at column 0). */
static void row_at(const PGresult *res, int i, wk_row *row)
{
    memset(row, 0, sizeof *row);
    long long v;
    row->id = cell_int(res, i, 0, &v) ? v : 0;
    row->queue_name = cell(res, i, 1);
    row->body = cell(res, i, 2);
    row->body_len = row->body ? (size_t)PQgetlength(res, i, 2) : 0;
    row->body_total = cell_int(res, i, 3, &v) && v > 0 ? (size_t)v : row->body_len;
    row->available_after = cell(res, i, 4);
    const char *available = cell(res, i, 5);
    row->available = !available ? -1 : *available == 't' ? 1 : 0;
    if (cell_int(res, i, 6, &v) && v >= -1000000 && v <= 1000000) {
        row->has_retries = true;
        row->retries = (long)v;
    }
    row->state_id = cell(res, i, 7);
}

/* A row seen for the first time: held when its queue is selected. */
static int take_row(worker_capture *c, const wk_row *row, pm_err *err)
{
    c->stats.changes++;
    if (!row->body || !wk_selected(c, row->queue_name)) {
        c->stats.not_selected++;
        return 0;
    }
    wk_job *j = wk_jobs_add(&c->jobs, row, wk_wall_us(), pm_now_ms(), c->o.max_body);
    if (!j)
        return wk_jobs_get(&c->jobs, row->id) ? 0 : pm_err_set(err, "out of memory holding job %lld",
                                                                (long long)row->id);
    if (row->available == 0) {
        /* first seen already claimed: as enqueued it was available, with the retry the claim took */
        j->claims = 1;
        if (j->has_retries)
            j->retries0 = j->retries + 1;
    }
    return 0;
}

static void add_hole(worker_capture *c, int64_t lo, int64_t hi, uint64_t now, bool counted);

/* Polling starts after the last id handed out: the id sequence's last value when the role may
 * read it (pg_sequences shows NULL otherwise), else the highest id in the table — and then the
 * ids between that and the first new row may have been taken before the capture began. Ids
 * taken before the start are watched like holes (a transaction open at the start commits
 * late) but never counted as gaps: their jobs were not this capture's to miss. */
int wk_poll_start(worker_capture *c, pm_err *err)
{
    static const char sql[] =
        "SELECT coalesce((SELECT max(id) FROM queueitem), 0), "
        "(SELECT s.last_value FROM pg_sequences s WHERE pg_get_serial_sequence('queueitem', 'id') IS NOT NULL "
        "AND format('%I.%I', s.schemaname, s.sequencename)::regclass = "
        "pg_get_serial_sequence('queueitem', 'id')::regclass)";
    PGresult *res;
    if (wk_pg_exec(c, "reading the highest id", sql, 0, NULL, &res, err) != 0)
        return -1;
    long long highest = 0, sequence = 0;
    cell_int(res, 0, 0, &highest);
    bool known = cell_int(res, 0, 1, &sequence);
    PQclear(res);
    c->last_id = highest;
    if (known && sequence > highest) { /* taken before the start: committed late, or never */
        add_hole(c, highest + 1, sequence, pm_now_ms(), false);
        c->last_id = sequence;
    }
    c->start_unknown = !known;
    return 0;
}

static int read_new(worker_capture *c, const char *queues, const char *cap, pm_err *err)
{
    static const char sql[] = "SELECT " ROW_COLUMNS " FROM queueitem q WHERE q.id > $1 ORDER BY q.id LIMIT $2::int";
    char last[24], batch[24];
    snprintf(batch, sizeof batch, "%u", c->o.batch);
    for (int round = 0; round < BATCHES_PER_POLL; round++) {
        snprintf(last, sizeof last, "%lld", (long long)c->last_id);
        const char *params[] = {last, batch, queues, cap};
        PGresult *res;
        c->stats.reads++;
        if (wk_pg_exec(c, "reading new jobs", sql, 4, params, &res, err) != 0)
            return -1;
        int n = PQntuples(res);
        uint64_t now = pm_now_ms();
        int rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            wk_row row;
            row_at(res, i, &row);
            if (row.id <= c->last_id)
                continue; /* cannot happen with ORDER BY id; a guard against a strange source */
            if (row.id > c->last_id + 1)
                add_hole(c, c->last_id + 1, row.id - 1, now, !c->start_unknown);
            c->start_unknown = false;
            c->last_id = row.id;
            rc = take_row(c, &row, err);
        }
        PQclear(res);
        if (rc != 0)
            return -1;
        if ((unsigned)n < c->o.batch)
            break;
    }
    return 0;
}

/* ---- holes: ids a later row skipped ------------------------------------------------ */

/* A hole that will not fill: gaps, or ids taken before the start. */
static void give_up(worker_capture *c, const wk_range *h)
{
    uint64_t n = (uint64_t)(h->hi - h->lo + 1);
    if (!h->counted) {
        c->stats.ids_before_start += n;
        return;
    }
    c->stats.gaps += n;
    if (c->ngap_ranges < WK_MAX_GAP_RANGES)
        c->gap_ranges[c->ngap_ranges++] = *h;
}

static void add_hole(worker_capture *c, int64_t lo, int64_t hi, uint64_t now, bool counted)
{
    wk_range h = {lo, hi, now, counted};
    if (c->nholes == MAX_HOLES) { /* the oldest hole has waited longest: it is given up */
        give_up(c, &c->holes[0]);
        memmove(c->holes, c->holes + 1, (c->nholes - 1) * sizeof *c->holes);
        c->nholes--;
    }
    if (c->nholes == c->holes_cap) {
        size_t cap = c->holes_cap ? c->holes_cap * 2 : 16;
        wk_range *grown = realloc(c->holes, cap * sizeof *grown);
        if (!grown) {
            give_up(c, &h); /* cannot wait for it: counted at once */
            return;
        }
        c->holes = grown;
        c->holes_cap = cap;
    }
    c->holes[c->nholes++] = h;
}

/* A row found inside a hole: the hole is split around it. */
static void fill_hole(worker_capture *c, int64_t id)
{
    for (size_t i = 0; i < c->nholes; i++) {
        wk_range *h = &c->holes[i];
        if (id < h->lo || id > h->hi)
            continue;
        if (h->lo == h->hi) {
            memmove(h, h + 1, (c->nholes - i - 1) * sizeof *h);
            c->nholes--;
        } else if (id == h->lo) {
            h->lo++;
        } else if (id == h->hi) {
            h->hi--;
        } else {
            wk_range right = {id + 1, h->hi, h->since_ms, h->counted};
            h->hi = id - 1;
            add_hole(c, right.lo, right.hi, right.since_ms, right.counted); /* order among holes does not matter */
        }
        return;
    }
}

static void expire_holes(worker_capture *c, uint64_t now, bool all)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->nholes; i++) {
        if (all || now - c->holes[i].since_ms >= c->o.hole_wait_ms)
            give_up(c, &c->holes[i]);
        else
            c->holes[kept++] = c->holes[i];
    }
    c->nholes = kept;
}

/* "{1,5,9}" of the holes' lo (or hi) ends. */
static char *hole_ends(const worker_capture *c, bool hi)
{
    char *s = malloc(c->nholes * 22 + 3), *o = s;
    if (!s)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < c->nholes; i++)
        o += sprintf(o, "%s%lld", i ? "," : "", (long long)(hi ? c->holes[i].hi : c->holes[i].lo));
    *o++ = '}';
    *o = 0;
    return s;
}

static int read_holes(worker_capture *c, const char *queues, const char *cap, pm_err *err)
{
    static const char sql[] = "SELECT " ROW_COLUMNS " FROM queueitem q JOIN unnest($1::bigint[], $2::bigint[]) "
                              "AS h(lo, hi) ON q.id BETWEEN h.lo AND h.hi ORDER BY q.id";
    if (!c->nholes)
        return 0;
    char *los = hole_ends(c, false), *his = hole_ends(c, true);
    if (!los || !his) {
        free(los);
        free(his);
        return pm_err_set(err, "out of memory");
    }
    const char *params[] = {los, his, queues, cap};
    PGresult *res;
    c->stats.reads++;
    int rc = wk_pg_exec(c, "looking again at skipped ids", sql, 4, params, &res, err);
    free(los);
    free(his);
    if (rc != 0)
        return -1;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        wk_row row;
        row_at(res, i, &row);
        fill_hole(c, row.id);
        c->stats.late_rows++;
        rc = take_row(c, &row, err);
    }
    PQclear(res);
    expire_holes(c, pm_now_ms(), false);
    return rc;
}

/* ---- outcomes of held jobs ---------------------------------------------------------- */

static int read_outcomes(worker_capture *c, pm_err *err)
{
    static const char sql[] =
        "SELECT id, available, retries_remaining, state_id FROM queueitem WHERE id = ANY($1::bigint[])";
    size_t cap = c->o.batch, n = 0;
    wk_job **batch = malloc(cap * sizeof *batch);
    char *ids = malloc(cap * 22 + 3);
    if (!batch || !ids) {
        free(batch);
        free(ids);
        return pm_err_set(err, "out of memory");
    }
    char *o = ids;
    *o++ = '{';
    for (wk_job *j = c->jobs.head; j && n < cap; j = j->next)
        if (!j->outcome && j->id > c->check_after) {
            o += sprintf(o, "%s%lld", n ? "," : "", (long long)j->id);
            batch[n++] = j;
        }
    *o++ = '}';
    *o = 0;
    c->check_after = n > 0 && n == cap ? batch[n - 1]->id : 0; /* next time from here, or round again */
    int rc = 0;
    if (n) {
        const char *params[] = {ids};
        PGresult *res;
        c->stats.reads++;
        rc = wk_pg_exec(c, "reading the held jobs' states", sql, 1, params, &res, err);
        int64_t now_us = wk_wall_us();
        for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
            long long id, v;
            if (!cell_int(res, i, 0, &id))
                continue;
            wk_job *j = wk_jobs_get(&c->jobs, id);
            if (!j)
                continue;
            wk_row row = {.id = id, .available = !cell(res, i, 1) ? -1 : *cell(res, i, 1) == 't' ? 1 : 0,
                          .state_id = cell(res, i, 3)};
            if (cell_int(res, i, 2, &v) && v >= -1000000 && v <= 1000000) {
                row.has_retries = true;
                row.retries = (long)v;
            }
            wk_job_observe(j, &row, now_us);
            j->polled = true;
        }
        for (size_t k = 0; rc == 0 && k < n; k++) {
            if (!batch[k]->polled)
                wk_job_deleted(batch[k], now_us);
            batch[k]->polled = false;
        }
        if (rc == 0)
            PQclear(res);
    }
    free(batch);
    free(ids);
    return rc;
}

int wk_poll_read(worker_capture *c, pm_err *err)
{
    char cap[24];
    snprintf(cap, sizeof cap, "%zu", c->o.max_body > 0x7fffffff ? (size_t)0x7fffffff : c->o.max_body);
    char *queues = queue_array(c);
    if (c->o.nqueues && !queues)
        return pm_err_set(err, "out of memory");
    int rc = read_new(c, queues, cap, err);
    if (rc == 0)
        rc = read_holes(c, queues, cap, err);
    if (rc == 0)
        rc = read_outcomes(c, err);
    free(queues);
    return rc;
}

void wk_poll_finish(worker_capture *c)
{
    expire_holes(c, pm_now_ms(), true);
}
