/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue_capture.c — the queue capture session (worker.h): connecting as a guest, checking
 * the table and the role, choosing logical decoding or polling, the read loop, and the
 * counters. The reading itself is logical.c's or poll.c's; the held jobs are jobs.c's.
 *
 * The session is read-only twice over: it sets default_transaction_read_only, so even a
 * mistake here could not write, and it issues no statement that writes. Its reads take only
 * the lock every SELECT takes, which no claim, update or delete of a row waits on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker_internal.h"

void worker_capture_options_init(worker_capture_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = WORKER_MODE_AUTO;
    o->poll_ms = 200;
    o->batch = 1000;
    o->outcome_wait_ms = 60000;
    o->hole_wait_ms = 5000;
    o->max_held = 100000;
    o->max_body = PM_BODY_CAP_DEFAULT;
}

int64_t wk_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool wk_selected(const worker_capture *c, const char *queue_name)
{
    if (!c->o.nqueues)
        return true;
    if (!queue_name)
        return false;
    size_t len = strcspn(queue_name, "/");
    for (size_t i = 0; i < c->o.nqueues; i++)
        if (strlen(c->o.queues[i]) == len && memcmp(c->o.queues[i], queue_name, len) == 0)
            return true;
    return false;
}

/* What the source and the role allow, and where queueitem is. */
typedef struct {
    bool wal_logical, replication, readable, found;
    char wal_level[32], user[128], search_path[256];
} source_facts;

static void copy_cell(const PGresult *res, int col, char *buf, size_t size)
{
    snprintf(buf, size, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

static int read_facts(worker_capture *c, source_facts *f, pm_err *err)
{
    static const char sql[] =
        "SELECT current_setting('wal_level'), "
        "coalesce((SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), false), "
        "current_user, current_setting('search_path'), "
        "format('table %I.%I:', n.nspname, k.relname), has_table_privilege(k.oid, 'SELECT') "
        "FROM (SELECT to_regclass('queueitem') AS oid) r "
        "LEFT JOIN pg_class k ON k.oid = r.oid LEFT JOIN pg_namespace n ON n.oid = k.relnamespace";
    PGresult *res;
    if (wk_pg_exec(c, "reading its settings", sql, 0, NULL, &res, err) != 0)
        return -1;
    memset(f, 0, sizeof *f);
    copy_cell(res, 0, f->wal_level, sizeof f->wal_level);
    f->wal_logical = strcmp(f->wal_level, "logical") == 0;
    f->replication = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    copy_cell(res, 2, f->user, sizeof f->user);
    copy_cell(res, 3, f->search_path, sizeof f->search_path);
    f->found = !PQgetisnull(res, 0, 4);
    copy_cell(res, 4, c->table_prefix, sizeof c->table_prefix);
    f->readable = !PQgetisnull(res, 0, 5) && strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    PQclear(res);
    if (!f->found)
        return pm_err_set(err, "%s: no table queueitem (search_path: %s)", c->dsn_display, f->search_path);
    if (!f->readable)
        return pm_err_set(err, "%s: role %s may not read queueitem (GRANT SELECT ON queueitem TO %s)",
                          c->dsn_display, f->user, f->user);
    return 0;
}

/* Picks and starts the mode. */
static int start(worker_capture *c, const source_facts *f, pm_err *err)
{
    if (c->o.mode == WORKER_MODE_LOGICAL) {
        if (!f->wal_logical)
            return pm_err_set(err, "%s: --mode logical needs wal_level=logical (it is '%s')", c->dsn_display,
                              f->wal_level);
        if (!f->replication)
            return pm_err_set(err, "%s: --mode logical needs a role with REPLICATION (ALTER ROLE %s REPLICATION)",
                              c->dsn_display, f->user);
        return wk_logical_start(c, err);
    }
    if (c->o.mode == WORKER_MODE_AUTO) {
        const char *why = NULL;
        char reason[400];
        pm_err slot_err;
        if (!f->wal_logical) {
            snprintf(reason, sizeof reason, "wal_level is '%s', not 'logical'", f->wal_level);
            why = reason;
        } else if (!f->replication) {
            snprintf(reason, sizeof reason, "role %s has no REPLICATION", f->user);
            why = reason;
        } else if (wk_logical_start(c, &slot_err) != 0) {
            if (PQstatus(c->conn) == CONNECTION_BAD)
                return pm_err_set(err, "%s", slot_err.msg);
            snprintf(reason, sizeof reason, "%.390s", slot_err.msg);
            why = reason;
        } else {
            return 0;
        }
        snprintf(c->note, sizeof c->note,
                 "polling, not logical decoding (%s): a job enqueued and completed between two polls is "
                 "missed, and counted as a gap",
                 why);
    }
    return wk_poll_start(c, err);
}

worker_capture *worker_capture_open(const worker_capture_options *o, pm_err *err)
{
    if (!o->dsn || !o->map) {
        pm_err_set(err, "queue capture needs a DSN and a worker map");
        return NULL;
    }
    if (o->producer && !pm_worker_producer_ok(o->producer)) {
        pm_err_set(err, "producer '%.64s': want a name of lowercase letters, digits, - and _ (python, go)",
                   o->producer);
        return NULL;
    }
    worker_capture *c = calloc(1, sizeof *c);
    if (!c) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    c->o = *o;
    if (!c->o.poll_ms)
        c->o.poll_ms = 200;
    if (!c->o.batch)
        c->o.batch = 1000;
    if (!c->o.max_held)
        c->o.max_held = 100000;
    if (!c->o.max_body)
        c->o.max_body = PM_BODY_CAP_DEFAULT;
    worker_dsn_display(o->dsn, c->dsn_display, sizeof c->dsn_display);
    uint64_t seed = (uint64_t)wk_wall_us() ^ ((uint64_t)getpid() << 32);
    snprintf(c->id_prefix, sizeof c->id_prefix, "%08llx",
             (unsigned long long)((seed * 0x9E3779B97F4A7C15ULL) >> 32));
    source_facts facts;
    PGresult *res = NULL;
    int rc = (c->conn = wk_pg_connect(o->dsn, c->dsn_display, err)) ? 0 : -1;
    if (rc == 0)
        rc = wk_pg_exec(c, "setting the session read-only",
                        "SELECT set_config('default_transaction_read_only', 'on', false), "
                        "set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false)",
                        0, NULL, &res, err);
    PQclear(res);
    if (rc == 0)
        rc = read_facts(c, &facts, err);
    if (rc == 0)
        rc = start(c, &facts, err);
    if (rc != 0) {
        worker_capture_close(c);
        return NULL;
    }
    c->stats.mode = c->logical ? "logical" : "poll";
    return c;
}

const char *worker_capture_note(const worker_capture *c)
{
    return c->note[0] ? c->note : NULL;
}

const char *worker_capture_warning(const worker_capture *c)
{
    return c->warning[0] ? c->warning : NULL;
}

void worker_capture_stop(worker_capture *c)
{
    if (c)
        c->stop = 1;
}

const worker_capture_stats *worker_capture_get_stats(const worker_capture *c)
{
    return &c->stats;
}

static int read_source(worker_capture *c, pm_err *err)
{
    return c->logical ? wk_logical_read(c, err) : wk_poll_read(c, err);
}

/* Sleeps until `until` (monotonic ms) or a stop, in short steps. */
static void wait_until(worker_capture *c, uint64_t until)
{
    for (uint64_t now = pm_now_ms(); now < until && !c->stop; now = pm_now_ms()) {
        uint64_t step = until - now < 20 ? until - now : 20;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int worker_capture_run(worker_capture *c, pm_record_fn fn, void *ctx,
                       int (*tick)(void *ctx, const worker_capture_stats *stats), pm_err *err)
{
    c->fn = fn;
    c->fn_ctx = ctx;
    int rc = 0;
    while (!c->stop) {
        uint64_t started = pm_now_ms();
        if ((rc = read_source(c, err)) != 0 || (rc = wk_write_due(c, false, err)) != 0)
            break;
        c->stats.held = c->jobs.n;
        if (tick && tick(ctx, &c->stats) != 0)
            break;
        wait_until(c, started + c->o.poll_ms);
    }
    if (rc == 0 && c->logical) /* what committed before the stop is read too, once flushed */
        rc = wk_logical_settle(c, 3000, err);
    if (rc == 0)
        rc = read_source(c, err);
    if (!c->logical)
        wk_poll_finish(c);
    pm_err later;
    int flushed = wk_write_due(c, true, rc == 0 ? err : &later); /* held jobs are written even after an error */
    c->stats.held = c->jobs.n;
    return rc != 0 ? rc : flushed;
}

json_t *worker_capture_stats_json(const worker_capture *c)
{
    const worker_capture_stats *st = &c->stats;
    json_t *queues = json_object();
    for (size_t i = 0; i < st->nqueues; i++) {
        const worker_queue_count *q = &st->queues[i];
        json_t *row = json_pack("{s:I,s:I,s:I,s:I,s:I}", "jobs", (json_int_t)q->jobs, "completed",
                                (json_int_t)q->completed, "retried", (json_int_t)q->retried, "dead",
                                (json_int_t)q->dead, "without_outcome", (json_int_t)q->without_outcome);
        json_t *key = wk_text_json(q->queue, strlen(q->queue));
        if (json_is_string(key))
            json_object_set_new(queues, json_string_value(key), row);
        else
            json_decref(row);
        json_decref(key);
    }
    const struct {
        const char *name;
        uint64_t value;
    } counters[] = {
        {"jobs", st->jobs},
        {"completed", st->completed},
        {"retried", st->retried},
        {"dead", st->dead},
        {"without_outcome", st->without_outcome},
        {"unknown_queue", st->unknown_queue},
        {"not_selected", st->not_selected},
        {"bodies_not_json", st->bodies_not_json},
        {"bodies_truncated", st->bodies_truncated},
        {"producers_refused", st->producers_refused},
        {"untracked_changes", st->untracked_changes},
        {"evicted", st->evicted},
        {"changes", st->changes},
        {"bad_changes", st->bad_changes},
        {"truncates", st->truncates},
        {"gaps", st->gaps},
        {"late_rows", st->late_rows},
        {"ids_before_start", st->ids_before_start},
        {"reads", st->reads},
    };
    json_t *js = json_object();
    json_object_set_new(js, "source", wk_text_json(c->dsn_display, strlen(c->dsn_display)));
    json_object_set_new(js, "mode", json_string(st->mode ? st->mode : "none"));
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        json_object_set_new(js, counters[i].name, json_integer((json_int_t)counters[i].value));
    json_object_set_new(js, "queues", queues);
    json_t *ranges = json_array();
    for (size_t i = 0; i < c->ngap_ranges; i++)
        json_array_append_new(ranges, json_pack("[I,I]", (json_int_t)c->gap_ranges[i].lo,
                                                (json_int_t)c->gap_ranges[i].hi));
    json_object_set_new(js, "gap_ranges", ranges);
    if (c->warning[0])
        json_object_set_new(js, "warning", wk_text_json(c->warning, strlen(c->warning)));
    if (c->note[0])
        json_object_set_new(js, "note", wk_text_json(c->note, strlen(c->note)));
    return js;
}

void worker_capture_close(worker_capture *c)
{
    if (!c)
        return;
    if (c->conn)
        PQfinish(c->conn); /* a temporary slot is dropped with the session */
    wk_jobs_free(&c->jobs);
    free(c->xact_jobs);
    free(c->holes);
    for (size_t i = 0; i < c->stats.nqueues; i++)
        free((void *)c->stats.queues[i].queue);
    free(c->stats.queues);
    free(c);
}
