/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_conn.h — HTTP/1.x over one reassembled TCP connection (private to capture/).
 *
 * An http_conn receives the in-order bytes of both directions (from tcp_reasm), parses
 * each with llhttp, pairs responses with requests in order, and hands every finished
 * exchange to the session's emit callback. It owns the exchanges until then.
 */
#ifndef PM_CAPTURE_HTTP_CONN_H
#define PM_CAPTURE_HTTP_CONN_H

#include "auth_users.h"
#include "capture.h"
#include "http_fields.h"

/* Who ended an event-stream answer's window. */
typedef enum http_closed_by { HTTP_CLOSED_NONE, HTTP_CLOSED_CLIENT, HTTP_CLOSED_SERVER, HTTP_CLOSED_CAPTURE } http_closed_by;

/* An event stream's body length at a packet's time: where each event arrived. */
typedef struct http_mark {
    uint64_t body_len;
    int64_t ts;
} http_mark;

typedef struct http_message {
    char *method;  /* requests */
    char *target;  /* requests */
    int status;    /* responses */
    char *reason;  /* responses */
    int major, minor;
    http_fields headers;
    http_fields trailers; /* chunked trailers (none: n is 0) */
    pm_body body; /* hashed only when cut; its limit set at its first bytes (core/body.c) */
    bool fields_none; /* the body is UTF-8 text whose redaction fields pass finds nothing
                       * (capture_exchange_prepare) */
    int64_t ts_first, ts_last; /* capture times of the first and last byte; a stream's
                                * ts_last is when its window ended */
    bool complete;
    /* Responses: a 2xx event stream (Content-Type text/event-stream, or the route's
     * `streaming: true`) is complete for its window when the client or the capture ended
     * it; closed_by says which side did, marks when its body's bytes arrived. */
    bool stream;
    http_closed_by closed_by;
    http_mark *marks;
    size_t nmarks, marks_cap;
} http_message;

typedef struct http_exchange {
    struct http_exchange *next;
    uint64_t seq; /* order within the connection */
    http_message req, resp;
    bool has_response;
    pm_class cls;
    bool classified, selected;
} http_exchange;

/* What every connection of one session shares. */
typedef struct http_env {
    const capture_options *opts;
    capture_stats *stats;
    /* Takes a finished exchange. It may move x's contents out (leaving x zeroed); the
     * caller then clears and frees what is left. Non-zero: stop. */
    int (*emit)(void *ctx, http_exchange *x, uint64_t conn_id);
    void *ctx;
    auth_users *users; /* the cohort user of each Authorization value */
    pm_classify_cache *classes; /* the routes of paths seen before (NULL: no map) */
} http_env;

typedef struct http_conn http_conn;

/* midstream: the connection was picked up without its SYN; both directions then skip
 * to the next message start instead of failing on the tail of an earlier one. */
http_conn *http_conn_new(const http_env *env, uint64_t conn_id, bool midstream);
void http_conn_data(http_conn *c, bool from_client, const uint8_t *data, size_t len, int64_t ts_us);
void http_conn_gap(http_conn *c, bool from_client, uint64_t missing, int64_t ts_us);
/* One direction ended: FIN in order (reset false) or RST. */
void http_conn_end(http_conn *c, bool from_client, bool reset, int64_t ts_us);
/* The connection is over (both ends, expiry, end of capture): every exchange still
 * held is emitted with its completeness flags. */
void http_conn_close(http_conn *c, int64_t ts_us);
/* True once the stream stopped being parsed (non-HTTP, upgraded, or a callback error). */
bool http_conn_stopped(const http_conn *c);
/* True once the emit callback failed (the session holds the error). */
bool http_conn_failed(const http_conn *c);
void http_conn_free(http_conn *c);

/* The name of a closed_by ("client", "server", "capture"), NULL for none. */
const char *http_closed_by_name(http_closed_by by);
/* Frees an exchange's contents (not the struct). */
void http_exchange_clear(http_exchange *x);
/* The part of an exchange's record that needs nothing but the exchange, done before it
 * goes to the record thread (on the packet loop): which bodies have no secret fields. */
void capture_exchange_prepare(http_exchange *x, const capture_options *o);
/* Writes the capture record of DESIGN.md for an exchange into t (reset first);
 * -1 when memory ran out. secrets: an empty set the exchange's secrets are learned into
 * while redacting, left empty again (NULL: one is made for the call). */
int capture_exchange_record(const http_exchange *x, const capture_options *o, const char *session,
                            const char *id, pm_secrets *secrets, pm_jtext *t);

#endif
