/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg.c — libpq for queue capture: connecting to the source (timeouts and keepalives so a
 * dead server is noticed, a fallback application name the DBA can see in pg_stat_activity),
 * running a query with the failure said on one line, telling a lost connection from a
 * refused query, and showing a DSN without its password.
 *
 * A password can sit in a URI (postgresql://user:secret@host/db) or a key=value string
 * (password=secret); libpq's parse errors may echo the string they choke on, so every
 * message built from the DSN goes through mask_password first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_internal.h"

const char *wk_pg_message(const char *msg, char *buf, size_t size)
{
    size_t o = 0;
    bool broken = false; /* a line ended: the next text starts after "; " */
    for (const char *p = msg ? msg : ""; *p && o + 4 < size; p++) {
        if (*p == '\n' || *p == '\r') {
            broken = o > 0;
        } else if (*p == ' ' || *p == '\t') {
            if (!broken)
                buf[o++] = ' ';
        } else {
            if (broken) {
                memcpy(buf + o, "; ", 2);
                o += 2;
                broken = false;
            }
            buf[o++] = *p;
        }
    }
    buf[o] = 0;
    return buf;
}

/* The password written in dsn (a URI's user:PASSWORD@ or password=PASSWORD), or 0 length. */
static const char *find_password(const char *dsn, size_t *len)
{
    *len = 0;
    const char *scheme = strstr(dsn, "://");
    if (scheme) {
        const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', (size_t)(end - auth));
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            *len = (size_t)(at - colon - 1);
            return colon + 1;
        }
        const char *q = strstr(dsn, "password=");
        if (q) {
            *len = strcspn(q + 9, "&#");
            return q + 9;
        }
        return NULL;
    }
    const char *q = strstr(dsn, "password");
    if (!q)
        return NULL;
    q += 8;
    q += strspn(q, " \t");
    if (*q != '=')
        return NULL;
    q++;
    q += strspn(q, " \t");
    if (*q == '\'') {
        const char *e = q + 1;
        while (*e && *e != '\'')
            e += e[0] == '\\' && e[1] ? 2 : 1;
        *len = (size_t)(e - q - 1);
        return q + 1;
    }
    *len = strcspn(q, " \t");
    return q;
}

/* msg with every copy of the DSN's password replaced by "***", into buf. */
static const char *mask_password(const char *dsn, const char *msg, char *buf, size_t size)
{
    size_t plen;
    const char *pw = find_password(dsn, &plen);
    size_t o = 0;
    for (const char *p = msg; *p && o + 4 < size;) {
        if (plen && strncmp(p, pw, plen) == 0) {
            memcpy(buf + o, "***", 3);
            o += 3;
            p += plen;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = 0;
    return buf;
}

const char *worker_dsn_display(const char *dsn, char *buf, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
    if (!opts) {
        PQfreemem(errmsg);
        snprintf(buf, size, "(a DSN libpq cannot parse)");
        return buf;
    }
    const char *host = NULL, *port = NULL, *db = NULL, *user = NULL, *hostaddr = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
    }
    if (!host)
        host = hostaddr;
    snprintf(buf, size, "postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "", host ? host : "",
             port ? ":" : "", port ? port : "", db ? db : "");
    PQconninfoFree(opts);
    return buf;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *wk_pg_connect(const char *dsn, const char *display, pm_err *err)
{
    return wk_pg_connect_as(dsn, display, "--queue", "pmirror capture --queue", "10", err);
}

PGconn *wk_pg_connect_as(const char *dsn, const char *display, const char *what, const char *app,
                         const char *connect_timeout, pm_err *err)
{
    char *parse_error = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &parse_error);
    if (!opts) {
        char one[512], masked[512];
        wk_pg_message(parse_error ? parse_error : "out of memory", one, sizeof one);
        PQfreemem(parse_error);
        pm_err_set(err, "%s: not a PostgreSQL connection string or URI: %s", what,
                   mask_password(dsn, one, masked, sizeof masked));
        return NULL;
    }
    PQconninfoFree(opts);
    /* Keywords before dbname are defaults the DSN may override; the DSN is expanded in place. */
    const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "dbname", "fallback_application_name", NULL};
    const char *const values[] = {connect_timeout, "1", "10", "5", "3", dsn, app, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        pm_err_set(err, "cannot connect to %s: out of memory", display);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char one[700], masked[700];
        wk_pg_message(PQerrorMessage(conn), one, sizeof one);
        pm_err_set(err, "cannot connect to %s: %s", display, mask_password(dsn, one, masked, sizeof masked));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    if (PQsetClientEncoding(conn, "UTF8") != 0) {
        pm_err_set(err, "%s: cannot read in UTF-8", display);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

bool wk_pg_lost(PGconn *conn, const PGresult *res)
{
    if (PQstatus(conn) == CONNECTION_BAD)
        return true;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 08: connection exceptions; 57P: the server is going (shutdown, terminated backend) */
    return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
}

int wk_pg_exec(worker_capture *c, const char *what, const char *sql, int nparams, const char *const *params,
               PGresult **res, pm_err *err)
{
    *res = PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return 0;
    char one[700];
    wk_pg_message(*res ? PQresultErrorMessage(*res) : PQerrorMessage(c->conn), one, sizeof one);
    if (!one[0])
        wk_pg_message(PQerrorMessage(c->conn), one, sizeof one);
    if (wk_pg_lost(c->conn, *res))
        pm_err_set(err, "lost the connection to %s (%s): %s", c->dsn_display, what, one);
    else
        pm_err_set(err, "%s: %s: %s", c->dsn_display, what, one);
    PQclear(*res);
    *res = NULL;
    return -1;
}

char *wk_pg_dsn_with_db(const char *dsn, const char *dbname)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    if (!opts)
        return NULL;
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    bool ok = out != NULL;
    for (PQconninfoOption *o = opts; ok && o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!v)
            continue;
        /* keyword='value' with ' and \ escaped: at most twice the value, plus the rest */
        size_t need = len + strlen(o->keyword) + 2 * strlen(v) + 5;
        if (need > cap) {
            while (cap < need)
                cap *= 2;
            char *grown = realloc(out, cap);
            if (!(ok = grown != NULL))
                break;
            out = grown;
        }
        len += (size_t)sprintf(out + len, "%s%s='", len ? " " : "", o->keyword);
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                out[len++] = '\\';
            out[len++] = *c;
        }
        out[len++] = '\'';
        out[len] = 0;
    }
    PQconninfoFree(opts);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

json_t *wk_pg_rows(const PGresult *res)
{
    json_t *rows = json_array();
    int nf = PQnfields(res);
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *row = json_object();
        for (int c = 0; c < nf; c++)
            json_object_set_new(row, PQfname(res, c),
                                PQgetisnull(res, r, c)
                                    ? json_null()
                                    : wk_text_json(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c)));
        json_array_append_new(rows, row);
    }
    return rows;
}
