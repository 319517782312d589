/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logical.c — queue capture by logical decoding: a temporary replication slot with the
 * built-in test_decoding plugin, read with pg_logical_slot_get_changes.
 *
 * The slot is created TEMPORARY, so it dies with this session: a capture that crashes or
 * loses its connection never leaves a slot holding WAL back on the source. Creating it needs
 * REPLICATION and nothing else (no publication, no write to any table). Reading it consumes
 * what was read; the decoding output of every table comes through the plugin, and the query
 * keeps only queueitem's lines and the transaction markers (so the wire carries the queue's
 * changes, not the database's). Whole transactions arrive in commit order: the jobs and
 * outcomes of one transaction are stamped with its commit time when its COMMIT line comes.
 * Rows are taken one at a time (libpq's single-row mode), so a large batch never sits in
 * memory whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_decoding.h"
#include "worker_internal.h"

/* Calls of pg_logical_slot_get_changes per read when each returns rows (catching up). */
#define CALLS_PER_READ 16

/* Creating a slot waits for the transactions running on the source to end (it needs a
 * consistent starting point); one left open for hours would hold the capture silently, so the
 * wait is bounded. */
#define SLOT_WAIT "30s"

int wk_logical_start(worker_capture *c, pm_err *err)
{
    snprintf(c->slot, sizeof c->slot, "pmirror_capture_%d_%llx", (int)getpid(),
             (unsigned long long)(wk_wall_us() & 0xffffffffULL));
    const char *params[] = {c->slot};
    PGresult *res;
    if (wk_pg_exec(c, "bounding the slot's wait", "SELECT set_config('statement_timeout', '" SLOT_WAIT "', false)",
                   0, NULL, &res, err) != 0)
        return -1;
    PQclear(res);
    int rc = wk_pg_exec(c, "creating a temporary logical replication slot (waiting at most " SLOT_WAIT
                           " for the transactions open on the source)",
                        "SELECT lsn FROM pg_create_logical_replication_slot($1, 'test_decoding', true)", 1, params,
                        &res, err);
    PQclear(res);
    pm_err reset_err;
    if (wk_pg_exec(c, "resetting statement_timeout", "SELECT set_config('statement_timeout', '0', false)", 0, NULL,
                   &res, rc == 0 ? err : &reset_err) != 0)
        return -1;
    PQclear(res);
    if (rc != 0)
        return -1;
    c->logical = true;
    return 0;
}

static bool parse_int(const wk_td_column *col, long long *out)
{
    if (!col || col->kind != WK_TD_VALUE || col->value_len == 0 || col->value_len > 20)
        return false;
    char *end;
    errno = 0;
    *out = strtoll(col->value, &end, 10);
    return errno == 0 && *end == 0;
}

static const char *text_of(const wk_td_column *col)
{
    return col && col->kind == WK_TD_VALUE ? col->value : NULL;
}

/* The change's tuple as a row; false when it names no id. */
static bool row_of(const wk_td_change *ch, wk_row *row)
{
    memset(row, 0, sizeof *row);
    long long v;
    if (!parse_int(wk_td_find(ch, "id"), &v) || v <= 0) /* a serial's ids start at 1 */
        return false;
    row->id = v;
    row->queue_name = text_of(wk_td_find(ch, "queue_name"));
    const wk_td_column *body = wk_td_find(ch, "body");
    if (body && body->kind == WK_TD_VALUE) {
        row->body = body->value;
        row->body_len = row->body_total = body->value_len;
    }
    row->available_after = text_of(wk_td_find(ch, "available_after"));
    const char *available = text_of(wk_td_find(ch, "available"));
    row->available = !available ? -1 : strcmp(available, "true") == 0 ? 1 : strcmp(available, "false") == 0 ? 0 : -1;
    if (parse_int(wk_td_find(ch, "retries_remaining"), &v) && v >= -1000000 && v <= 1000000) {
        row->has_retries = true;
        row->retries = (long)v;
    }
    row->state_id = text_of(wk_td_find(ch, "state_id"));
    return true;
}

static void remember_bad(worker_capture *c, const char *why, size_t at)
{
    c->stats.bad_changes++;
    if (!c->warning[0])
        snprintf(c->warning, sizeof c->warning, "a queueitem change did not parse (%s, at byte %zu); skipped",
                 why, at);
}

static int touched(worker_capture *c, wk_job *j)
{
    if (c->nxact == c->xact_cap) {
        size_t cap = c->xact_cap ? c->xact_cap * 2 : 64;
        wk_job **grown = realloc(c->xact_jobs, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->xact_jobs = grown;
        c->xact_cap = cap;
    }
    c->xact_jobs[c->nxact++] = j;
    return 0;
}

/* A COMMIT: the transaction's jobs and outcomes get its time. */
static void committed(worker_capture *c, const wk_td_change *ch)
{
    int64_t ts = ch->has_commit_ts ? ch->commit_ts_us : wk_wall_us();
    for (size_t i = 0; i < c->nxact; i++) {
        wk_job *j = c->xact_jobs[i];
        if (!j->ts_us)
            j->ts_us = ts;
        if (j->outcome && !j->outcome_ts_us)
            j->outcome_ts_us = ts;
    }
    c->nxact = 0;
}

static int apply(worker_capture *c, wk_td_change *ch, const char *text, size_t len, bool *truncated, pm_err *err)
{
    const char *why;
    size_t at;
    if (wk_td_parse(ch, text, len, &why, &at) != 0) {
        if (len >= strlen(c->table_prefix) && memcmp(text, c->table_prefix, strlen(c->table_prefix)) == 0)
            remember_bad(c, why, at);
        return 0;
    }
    if (ch->kind == WK_TD_BEGIN) {
        c->nxact = 0;
        return 0;
    }
    if (ch->kind == WK_TD_COMMIT) {
        committed(c, ch);
        return 0;
    }
    if (ch->kind == WK_TD_OTHER || !ch->table || strcmp(ch->table, "queueitem") != 0)
        return 0; /* the query lets only queueitem's lines through; anything else is not ours */
    c->stats.changes++;
    if (ch->kind == WK_TD_TRUNCATE) {
        c->stats.truncates++;
        *truncated = true;
        return 0;
    }
    wk_row row;
    if (!row_of(ch, &row)) {
        remember_bad(c, "no id", 0);
        return 0;
    }
    wk_job *j = wk_jobs_get(&c->jobs, row.id);
    if (ch->kind == WK_TD_INSERT) {
        if (!wk_selected(c, row.queue_name)) {
            c->stats.not_selected++;
            return 0;
        }
        if (j) {
            remember_bad(c, "an id inserted twice", 0);
            return 0;
        }
        j = wk_jobs_add(&c->jobs, &row, 0, pm_now_ms(), c->o.max_body);
        if (!j)
            return pm_err_set(err, "out of memory holding job %lld", (long long)row.id);
    } else if (!j) {
        c->stats.untracked_changes++;
        return 0;
    } else if (ch->kind == WK_TD_UPDATE) {
        wk_job_observe(j, &row, 0);
    } else {
        wk_job_deleted(j, 0);
    }
    return touched(c, j) == 0 ? 0 : pm_err_set(err, "out of memory");
}

/* A failed read: the connection lost (or going), or the query refused; res may be NULL. */
static int lost_or_failed(worker_capture *c, const PGresult *res, pm_err *err)
{
    char one[700];
    wk_pg_message(res ? PQresultErrorMessage(res) : "", one, sizeof one);
    if (!one[0])
        wk_pg_message(PQerrorMessage(c->conn), one, sizeof one);
    if (wk_pg_lost(c->conn, res))
        return pm_err_set(err, "lost the connection to %s (reading the slot): %s", c->dsn_display, one);
    return pm_err_set(err, "%s: reading the slot: %s", c->dsn_display, one);
}

/* One call of pg_logical_slot_get_changes, its rows applied as they come; *rows counted. */
static int read_once(worker_capture *c, wk_td_change *ch, size_t *rows, bool *truncated, pm_err *err)
{
    static const char sql[] =
        "SELECT data FROM pg_logical_slot_get_changes($1, NULL, $2::int, 'include-xids', '0', "
        "'include-timestamp', '1', 'skip-empty-xacts', '1') "
        "WHERE left(data, length($3)) = $3 OR data LIKE 'BEGIN%' OR data LIKE 'COMMIT%'";
    char batch[24];
    snprintf(batch, sizeof batch, "%u", c->o.batch);
    const char *params[] = {c->slot, batch, c->table_prefix};
    c->stats.reads++;
    *rows = 0;
    if (!PQsendQueryParams(c->conn, sql, 3, NULL, params, NULL, NULL, 0))
        return lost_or_failed(c, NULL, err);
    PQsetSingleRowMode(c->conn); /* when it cannot, the rows come in one result: read alike */
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(c->conn))) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
            for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
                (*rows)++;
                rc = apply(c, ch, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), truncated, err);
            }
        } else if (rc == 0) {
            rc = lost_or_failed(c, res, err);
        }
        PQclear(res);
    }
    if (rc == 0 && PQstatus(c->conn) == CONNECTION_BAD)
        rc = lost_or_failed(c, NULL, err);
    return rc;
}

int wk_logical_read(worker_capture *c, pm_err *err)
{
    wk_td_change ch = {0};
    bool truncated = false;
    int rc = 0;
    for (int call = 0; call < CALLS_PER_READ && rc == 0; call++) {
        size_t rows;
        rc = read_once(c, &ch, &rows, &truncated, err);
        if (rows == 0)
            break;
    }
    wk_td_change_free(&ch);
    if (rc == 0 && truncated) /* the table was emptied: what is held has no outcome to wait for */
        rc = wk_write_due(c, true, err);
    return rc;
}

int wk_logical_settle(worker_capture *c, unsigned wait_ms, pm_err *err)
{
    PGresult *res;
    if (wk_pg_exec(c, "the WAL position", "SELECT pg_current_wal_insert_lsn()::text", 0, NULL, &res, err) != 0)
        return -1;
    char lsn[64];
    snprintf(lsn, sizeof lsn, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "0/0");
    PQclear(res);
    const char *params[] = {lsn};
    for (uint64_t until = pm_now_ms() + wait_ms;;) {
        if (wk_pg_exec(c, "the WAL flush position", "SELECT (pg_current_wal_flush_lsn() >= $1::pg_lsn)::text", 1,
                       params, &res, err) != 0)
            return -1;
        bool flushed = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "true") == 0;
        PQclear(res);
        if (flushed || pm_now_ms() >= until)
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
