/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run.c — a scheduled program's single run (DESIGN.md: a job record of kind "run"; `pmirror
 * worker --run PROGRAM@SNAPSHOT`). gcworker, securityworker, autopruneworker and the other
 * scheduled programs consume no queue: each run scans the database and acts on what it finds.
 * So the same database is given to each implementation, and what each one changed is compared.
 *
 * Per worker target, at once:
 *   1. the snapshot is copied on the target's server: CREATE DATABASE pmirror_run_… TEMPLATE
 *      SNAPSHOT (PostgreSQL copies the files; the snapshot must exist there, nobody may be
 *      connected to it, and the target's role needs CREATEDB);
 *   2. the worker map's probes for the program run on the copy (`before`), and the highest
 *      queueitem id is noted;
 *   3. the target's `run:` argv is started once, in its own process group, with the copy's DSN,
 *      the effects sink's address and the program in its environment (PMIRROR_DSN,
 *      PMIRROR_DATABASE, PMIRROR_EFFECTS, PMIRROR_PROGRAM, PMIRROR_SNAPSHOT, PMIRROR_TARGET;
 *      `{dsn}`, `{database}`, `{effects}`, `{program}`, `{snapshot}` in an argument are replaced
 *      too), its output to a scratch file;
 *   4. when it exits (or, past the target's run_timeout, is killed: outcome `timeout`), the
 *      probes run again; each probe's effect is {deleted: rows, inserted: rows} — the rows of
 *      `before` missing after, and the rows after not in `before`, as multisets (a changed row
 *      is in both) —, `queue` the jobs it enqueued (rows above the noted id), `http` what it
 *      sent to the effects sink;
 *   5. the copy is dropped.
 * The outcome is `completed` for exit status 0, else `failed` with effects.exit (the status,
 * 128 + N for a signal) and the output's last lines as `message`. An error code instead when
 * the run could not be made: `snapshot` (the copy failed: no such database, no CREATEDB, the
 * template in use), `database`, `not_runnable` (no run: argv), `spawn`.
 *
 * A run is a barrier in the replay: the jobs before it are finished first, and the ones after
 * it wait (replay.c), so every effect seen during the run is the run's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "replay_internal.h"
#include "worker_internal.h"

extern char **environ;

#define RUN_MAX_ROWS 100000  /* a probe's rows at most, before and after */
#define RUN_MESSAGE_MAX 1500 /* the output's tail kept for a failed run */

/* One target's side of a run. */
typedef struct run_side {
    wk_target *t;
    char copy[64];       /* the copy's database name; "" until created */
    char *dsn;           /* the copy's DSN (owned; has the password: environment only) */
    PGconn *conn;        /* to the copy */
    int64_t top_id;      /* queueitem's highest id before the run; -1: no queueitem there */
    json_t *before;      /* {probe: rows} */
    pid_t pid;           /* 0: not running */
    int out;             /* the program's output (a scratch file), or -1 */
    int64_t started_us;
    uint64_t deadline_ms;
    int status;          /* as waitpid gives it */
    const char *outcome; /* completed, failed, timeout */
    const char *error;   /* a short code, or NULL */
    char message[RUN_MESSAGE_MAX + 200];
    int64_t latency_us;
    json_t *effects;
} run_side;

static void side_error(run_side *s, const char *code, const char *fmt, const char *detail)
{
    if (s->error)
        return;
    s->error = code;
    snprintf(s->message, sizeof s->message, fmt, detail);
}

/* ---- the copy -------------------------------------------------------------------------- */

/* The probes' rows on the copy: {probe: rows}, a probe that fails as {error}. */
static json_t *probe_all(run_side *s, const pm_worker_queue *wq)
{
    json_t *db = json_object();
    for (size_t i = 0; wq && i < wq->nprobes; i++) {
        PGresult *res = PQexec(s->conn, wq->probes[i].sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            char one[600];
            wk_pg_message(PQresultErrorMessage(res), one, sizeof one);
            json_object_set_new(db, wq->probes[i].name, json_pack("{s:s}", "error", one));
        } else if (PQntuples(res) > RUN_MAX_ROWS) {
            json_object_set_new(db, wq->probes[i].name,
                                json_pack("{s:s}", "error", "more than 100000 rows: narrow the probe"));
        } else {
            json_object_set_new(db, wq->probes[i].name, wk_pg_rows(res));
        }
        PQclear(res);
    }
    return db;
}

static int64_t top_id(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT coalesce(max(id), 0)::text FROM queueitem");
    int64_t top = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        char *end;
        long long v = strtoll(PQgetvalue(res, 0, 0), &end, 10);
        top = *end == 0 && v >= 0 ? v : -1;
    }
    PQclear(res);
    return top;
}

/* Copies the snapshot, connects to the copy and takes the `before` side. */
static void prepare(run_side *s, const char *snapshot, unsigned long serial, size_t index, const pm_worker_queue *wq)
{
    char msg[800];
    snprintf(s->copy, sizeof s->copy, "pmirror_run_%ld_%lu_%zu", (long)getpid(), serial, index);
    if (!s->t->conn) {
        s->copy[0] = 0;
        side_error(s, "database", "no connection to %s", s->t->display);
        return;
    }
    char *copy = PQescapeIdentifier(s->t->conn, s->copy, strlen(s->copy));
    char *tmpl = PQescapeIdentifier(s->t->conn, snapshot, strlen(snapshot));
    if (!copy || !tmpl) {
        PQfreemem(copy);
        PQfreemem(tmpl);
        s->copy[0] = 0;
        side_error(s, "database", "%s", "out of memory");
        return;
    }
    char sql[600];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", copy, tmpl);
    PQfreemem(copy);
    PQfreemem(tmpl);
    PGresult *res = wk_target_exec(s->t, sql, 0, NULL, msg, sizeof msg);
    if (!res) {
        s->copy[0] = 0;
        side_error(s, "snapshot", "cannot copy the snapshot: %s", msg);
        return;
    }
    PQclear(res);
    if (!(s->dsn = wk_pg_dsn_with_db(s->t->t->database, s->copy))) {
        side_error(s, "database", "%s", "the target's DSN does not parse");
        return;
    }
    pm_err err;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%.0f", s->t->t->connect_timeout_s > 1 ? s->t->t->connect_timeout_s : 1);
    if (!(s->conn = wk_pg_connect_as(s->dsn, s->t->display, "the snapshot's copy", "pmirror worker", timeout, &err))) {
        side_error(s, "database", "%s", err.msg);
        return;
    }
    s->top_id = top_id(s->conn);
    s->before = probe_all(s, wq);
}

static void drop_copy(run_side *s)
{
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
    if (!s->copy[0] || !s->t->conn)
        return;
    char *copy = PQescapeIdentifier(s->t->conn, s->copy, strlen(s->copy));
    if (!copy)
        return;
    char sql[200], msg[800];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", copy);
    PQfreemem(copy);
    PQclear(wk_target_exec(s->t, sql, 0, NULL, msg, sizeof msg));
    s->copy[0] = 0;
}

/* ---- the program ----------------------------------------------------------------------- */

/* arg with {dsn}, {database}, {effects}, {program} and {snapshot} replaced (new). */
static char *expand_arg(const char *arg, const char *const vars[][2])
{
    size_t cap = strlen(arg) + 1;
    for (const char *p = strchr(arg, '{'); p; p = strchr(p + 1, '{'))
        for (size_t v = 0; vars[v][0]; v++)
            cap += strlen(vars[v][1]);
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (const char *p = arg; *p;) {
        size_t v = 0;
        for (; vars[v][0]; v++)
            if (strncmp(p, vars[v][0], strlen(vars[v][0])) == 0)
                break;
        if (vars[v][0]) {
            o = stpcpy(o, vars[v][1]);
            p += strlen(vars[v][0]);
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

/* Whether program can be executed: a path, or a name found on PATH (as posix_spawnp looks).
 * Checked before spawning, because posix_spawnp may report a missing program only as the
 * child's exit status 127 (it does under valgrind), not as its own error. */
static int runnable(const char *program)
{
    if (strchr(program, '/'))
        return access(program, X_OK) == 0 ? 0 : errno;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        char full[4096];
        if (snprintf(full, sizeof full, "%.*s/%s", (int)len, len ? p : ".", program) < (int)sizeof full &&
            access(full, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return ENOENT;
}

/* Starts argv in its own process group, stdin /dev/null, stdout and stderr to out, with the
 * environment plus env (which replaces variables of the same names); 0 with *pid, or an errno.
 * posix_spawn, not fork: pmirror has threads (the effects sinks'), and a forked child may only
 * make async-signal-safe calls before exec, so the environment is built here. */
static int spawn(char **argv, const char *const env[][2], size_t nenv_extra, int out, pid_t *pid)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + nenv_extra + 1, sizeof *envp);
    if (!envp)
        return ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool ours = false; /* the variables set here replace the caller's of the same name */
        for (size_t v = 0; v < nenv_extra && !ours; v++) {
            size_t len = strlen(env[v][0]);
            ours = strncmp(environ[i], env[v][0], len) == 0 && environ[i][len] == '=';
        }
        if (!ours)
            envp[k++] = environ[i];
    }
    size_t first = k;
    int e = 0;
    for (size_t i = 0; i < nenv_extra && !e; i++)
        if (asprintf(&envp[k++], "%s=%s", env[i][0], env[i][1]) < 0) {
            envp[--k] = NULL;
            e = ENOMEM;
        }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, out, 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    if (!e)
        e = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (size_t i = first; i < k; i++)
        free(envp[i]);
    free(envp);
    return e;
}

static void start_program(run_side *s, const char *program, const char *snapshot)
{
    const pm_target *t = s->t->t;
    if (!t->run) {
        side_error(s, "not_runnable", "target %s has no run: argv for a scheduled program", t->name);
        return;
    }
    char effects[120] = "";
    if (t->effects)
        snprintf(effects, sizeof effects, "http://%s", t->effects);
    const char *const vars[][2] = {{"{dsn}", s->dsn},         {"{database}", s->copy}, {"{effects}", effects},
                                   {"{program}", program},    {"{snapshot}", snapshot}, {NULL, NULL}};
    char **argv = calloc(t->nrun + 1, sizeof *argv);
    bool ok = argv != NULL;
    for (size_t i = 0; ok && i < t->nrun; i++)
        ok = (argv[i] = expand_arg(t->run[i], vars)) != NULL;
    char path[] = "/tmp/pmirror-run-XXXXXX";
    s->out = ok ? mkstemp(path) : -1;
    if (s->out >= 0)
        unlink(path);
    if (!ok || s->out < 0) {
        side_error(s, "spawn", "cannot start the run: %s", ok ? strerror(errno) : "out of memory");
    } else {
        s->started_us = wk_wall_us();
        s->deadline_ms = pm_now_ms() + (uint64_t)(t->run_timeout_s * 1000);
        const char *const env[][2] = {{"PMIRROR_DSN", s->dsn},        {"PMIRROR_DATABASE", s->copy},
                                      {"PMIRROR_EFFECTS", effects},   {"PMIRROR_PROGRAM", program},
                                      {"PMIRROR_SNAPSHOT", snapshot}, {"PMIRROR_TARGET", t->name}};
        int e = runnable(argv[0]);
        if (e == 0)
            e = spawn(argv, env, sizeof env / sizeof env[0], s->out, &s->pid);
        if (e != 0) {
            char what[300];
            snprintf(what, sizeof what, "%s: %s", argv[0], strerror(e));
            side_error(s, "spawn", "cannot start the run: %s", what);
        }
    }
    for (size_t i = 0; argv && i < t->nrun; i++)
        free(argv[i]);
    free(argv);
}

/* The output's last lines, on one line, into s->message. */
static void output_tail(run_side *s)
{
    off_t end = lseek(s->out, 0, SEEK_END);
    off_t from = end > RUN_MESSAGE_MAX ? end - RUN_MESSAGE_MAX : 0;
    char buf[RUN_MESSAGE_MAX + 1];
    ssize_t n = end > 0 ? pread(s->out, buf, (size_t)(end - from), from) : 0;
    buf[n > 0 ? n : 0] = 0;
    char one[RUN_MESSAGE_MAX + 1];
    wk_pg_message(buf, one, sizeof one); /* newlines folded */
    size_t len = strlen(s->message);
    snprintf(s->message + len, sizeof s->message - len, "%s%s", *one ? ": " : "", one);
}

/* Waits for every side's program, killing those past their deadline; once *stop is set
 * (SIGINT, SIGTERM), each program gets SIGTERM, and SIGKILL 2 s later. */
static void wait_all(run_side *sides, size_t n, volatile sig_atomic_t *stop)
{
    uint64_t stopped_ms = 0;
    for (;;) {
        if (*stop && !stopped_ms) {
            stopped_ms = pm_now_ms();
            for (size_t i = 0; i < n; i++)
                if (sides[i].pid) {
                    kill(-sides[i].pid, SIGTERM);
                    sides[i].deadline_ms = stopped_ms + 2000;
                    sides[i].outcome = NULL;
                    side_error(&sides[i], "interrupted", "%s", "pmirror was stopped during the run");
                }
        }
        size_t running = 0;
        for (size_t i = 0; i < n; i++) {
            run_side *s = &sides[i];
            if (!s->pid)
                continue;
            pid_t got = waitpid(s->pid, &s->status, WNOHANG);
            if (got == 0 && pm_now_ms() >= s->deadline_ms) {
                kill(-s->pid, SIGKILL);
                got = waitpid(s->pid, &s->status, 0);
                s->outcome = s->error ? "interrupted" : "timeout";
            }
            if (got == 0) {
                running++;
                continue;
            }
            kill(-s->pid, SIGKILL); /* what it left behind in its group */
            s->pid = 0;
            s->latency_us = wk_wall_us() - s->started_us;
            if (s->outcome || s->error)
                continue;
            s->outcome = WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0 ? "completed" : "failed";
        }
        if (!running)
            return;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- what changed ---------------------------------------------------------------------- */

static char *row_key(const json_t *row)
{
    return json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void free_count(void *v)
{
    free(v);
}

/* The rows of a that b lacks, as multisets, in a's order (new). */
static json_t *rows_minus(const json_t *a, const json_t *b)
{
    pm_table *have = pm_table_new(free_count);
    json_t *out = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(b, i, row) {
        char *k = row_key(row);
        size_t *c = k ? pm_table_get(have, k) : NULL;
        if (c)
            (*c)++;
        else if (k && (c = calloc(1, sizeof *c)) && (*c = 1, pm_table_put(have, k, c) != 0))
            free(c);
        free(k);
    }
    json_array_foreach(a, i, row) {
        char *k = row_key(row);
        size_t *c = k ? pm_table_get(have, k) : NULL;
        if (c && *c)
            (*c)--;
        else
            json_array_append(out, (json_t *)row);
        free(k);
    }
    pm_table_free(have);
    return out;
}

/* {probe: {deleted, inserted}} from the before and after rows; a probe that failed on either
 * side keeps its error. */
static json_t *db_changes(const json_t *before, const json_t *after)
{
    json_t *db = json_object();
    const char *name;
    const json_t *b;
    json_object_foreach((json_t *)before, name, b) {
        const json_t *a = json_object_get(after, name);
        if (!json_is_array(b) || !json_is_array(a)) {
            json_object_set(db, name, json_is_array(b) ? (json_t *)a : (json_t *)b);
            continue;
        }
        json_object_set_new(db, name, json_pack("{s:o,s:o}", "deleted", rows_minus(b, a), "inserted", rows_minus(a, b)));
    }
    return db;
}

static json_t *new_jobs(run_side *s)
{
    if (s->top_id < 0)
        return json_array();
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)s->top_id);
    const char *params[] = {id};
    PGresult *res = PQexecParams(s->conn,
                                 "SELECT queue_name, body, retries_remaining FROM queueitem WHERE id > $1::int8 "
                                 "ORDER BY id LIMIT 100000",
                                 1, NULL, params, NULL, NULL, 0);
    json_t *rows = PQresultStatus(res) == PGRES_TUPLES_OK ? wk_pg_rows(res) : json_array();
    PQclear(res);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) { /* a body is JSON when it parses, as for jobs */
        const char *text = json_string_value(json_object_get(row, "body"));
        json_t *body = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        if (body)
            json_object_set_new(row, "body", body);
        const char *retries = json_string_value(json_object_get(row, "retries_remaining"));
        if (retries)
            json_object_set_new(row, "retries_remaining", json_integer(strtol(retries, NULL, 10)));
    }
    return rows;
}

static void collect(run_side *s, const pm_worker_queue *wq)
{
    json_t *effects = json_object();
    if (s->t->sink)
        json_object_set_new(effects, "http", wk_sink_take(s->t->sink));
    if (!s->conn) {
        s->effects = effects;
        return;
    }
    json_object_set_new(effects, "queue", new_jobs(s));
    if (wq && wq->nprobes) {
        json_t *after = probe_all(s, wq);
        json_object_set_new(effects, "db", db_changes(s->before, after));
        json_decref(after);
    }
    if (strcmp(s->outcome, "failed") == 0) {
        int code = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
        json_object_set_new(effects, "exit", json_integer(code));
        snprintf(s->message, sizeof s->message, "the run exited with %d", code);
        output_tail(s);
    } else if (strcmp(s->outcome, "timeout") == 0) {
        snprintf(s->message, sizeof s->message, "the run was killed after its run_timeout (%.0f s)",
                 s->t->t->run_timeout_s);
        output_tail(s);
    }
    s->effects = effects;
}

static json_t *side_json(const run_side *s)
{
    json_t *r = json_object();
    json_object_set_new(r, "role", json_string(pm_role_name(s->t->t->role)));
    bool ok = s->outcome && !s->error;
    json_object_set_new(r, "outcome", ok ? json_string(s->outcome) : json_null());
    json_object_set_new(r, "effects", s->effects ? json_incref(s->effects) : json_object());
    json_object_set_new(r, "latency_us", ok ? json_integer(s->latency_us) : json_null());
    json_object_set_new(r, "error", s->error ? json_string(s->error) : json_null());
    if (s->message[0])
        json_object_set_new(r, "message", wk_text_json(s->message, strlen(s->message)));
    return r;
}

int wk_run(worker_replay *r, json_t *record, pm_record_fn fn, void *ctx, pm_err *err)
{
    static unsigned long serial;
    const char *program = json_string_value(json_object_get(record, "program"));
    const char *snapshot = json_string_value(json_object_get(record, "snapshot"));
    if (!program || !*program || !snapshot || !*snapshot) {
        r->stats.bad_jobs++;
        return 0;
    }
    const pm_worker_queue *wq = pm_workers_find_program(r->o.map, program);
    run_side *sides = calloc(r->ntargets, sizeof *sides);
    if (!sides)
        return pm_err_set(err, "out of memory");
    serial++;
    for (size_t i = 0; i < r->ntargets; i++) {
        sides[i].t = &r->targets[i];
        sides[i].out = -1;
        sides[i].top_id = -1;
        prepare(&sides[i], snapshot, serial, i, wq);
    }
    for (size_t i = 0; i < r->ntargets; i++) { /* what arrived before the run is not the run's */
        if (sides[i].t->sink) {
            json_t *stale = wk_sink_take(sides[i].t->sink);
            r->targets[i].stats->http_unattributed += json_array_size(stale);
            json_decref(stale);
        }
    }
    for (size_t i = 0; i < r->ntargets; i++)
        if (!sides[i].error)
            start_program(&sides[i], program, snapshot);
    wait_all(sides, r->ntargets, &r->stop);
    for (size_t i = 0; i < r->ntargets; i++) {
        run_side *s = &sides[i];
        if (!s->error)
            collect(s, wq);
        if (s->error)
            r->targets[i].stats->errors++;
        else if (strcmp(s->outcome, "completed") == 0)
            r->targets[i].stats->completed++;
        else if (strcmp(s->outcome, "failed") == 0)
            r->targets[i].stats->failed++;
        else
            r->targets[i].stats->timeout++;
        drop_copy(s);
    }
    json_t *result = json_deep_copy(record);
    json_t *responses = json_object();
    for (size_t i = 0; i < r->ntargets; i++)
        json_object_set_new(responses, r->targets[i].t->name, side_json(&sides[i]));
    json_object_set_new(result, "responses", responses);
    char *text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(result);
    for (size_t i = 0; i < r->ntargets; i++) {
        if (sides[i].out >= 0)
            close(sides[i].out);
        free(sides[i].dsn);
        json_decref(sides[i].before);
        json_decref(sides[i].effects);
    }
    free(sides);
    if (!text)
        return pm_err_set(err, "out of memory writing the result of a run");
    int rc = fn(ctx, text, strlen(text), err);
    free(text);
    r->stats.runs++;
    return rc;
}

json_t *worker_run_record(const pm_workers *map, const char *spec, unsigned n, pm_err *err)
{
    const char *at = strchr(spec, '@');
    if (!at || at == spec || !at[1] || strchr(at + 1, '@')) {
        pm_err_set(err, "--run %s: want PROGRAM@SNAPSHOT (a scheduled program of the worker map, a database "
                        "on each target's server)",
                   spec);
        return NULL;
    }
    char program[128];
    snprintf(program, sizeof program, "%.*s", (int)(at - spec), spec);
    const pm_worker_queue *wq = pm_workers_find_program(map, program);
    if (!wq) {
        pm_err_set(err, "--run %s: %s is not a scheduled program of the worker map (its scheduled: section)", spec,
                   program);
        return NULL;
    }
    char id[64], ts[40];
    snprintf(id, sizeof id, "run-%u", n);
    pm_time_rfc3339(wk_wall_us(), ts, sizeof ts);
    json_t *rec = pm_record_new();
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "ts", json_string(ts));
    json_object_set_new(rec, "kind", json_string("run"));
    json_object_set_new(rec, "program", json_string(program));
    json_object_set_new(rec, "snapshot", json_string(at + 1));
    json_object_set_new(rec, "family", json_string(wq->family));
    json_object_set_new(rec, "capability", json_string(program));
    json_object_set_new(rec, "switch", json_string(wq->switch_name));
    json_object_set_new(rec, "cohort", json_pack("{s:n,s:n,s:n}", "org", "repo", "user"));
    return rec;
}
