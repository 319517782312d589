/*
 * tee_internal.h — what the tee's files share (private to capture/): the shadow copy of
 * one exchange, the bounded queue it travels on, the connection to the primary, and
 * the server state the MHD callbacks of proxy and sink mode work on.
 *
 * Files: tee_server.c (daemon, connections, stop), tee_proxy.c (proxy mode's MHD side),
 * tee_upstream.c (the primary, through libcurl, streamed both ways), tee_sink.c (sink
 * mode), tee_queue.c (the bounded queue), tee_exchange.c (shadow copies and their
 * capture records), tee_metrics.c (Prometheus text and /metrics).
 */
#ifndef PM_TEE_INTERNAL_H
#define PM_TEE_INTERNAL_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "capture.h"

/* ---- header lists: (name, value) pairs in one buffer, "name\0value\0..." ------------- */

typedef struct tee_headers {
    char *buf;
    size_t len, cap, count;
} tee_headers;

int tee_headers_add(tee_headers *h, const char *name, size_t name_len, const char *value, size_t value_len);
/* First value of name (case-insensitive), borrowed; NULL when absent. */
const char *tee_headers_get(const tee_headers *h, const char *name);
/* Iteration: p = NULL starts; returns the next name (value after its NUL), NULL at the end. */
const char *tee_headers_next(const tee_headers *h, const char *p, const char **value);
void tee_headers_free(tee_headers *h);

/* Hop-by-hop (RFC 9110 7.6.1): Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding, Upgrade, and every name the message's Connection header lists. */
bool tee_hop_by_hop(const tee_headers *h, const char *name);

/* ---- the shadow copy of one exchange ------------------------------------------------- */

typedef struct tee_exchange {
    int64_t ts_us;            /* wall clock: the request's first byte */
    int64_t request_done_us;  /* from ts to the request's last byte */
    uint64_t connection, seq;
    const char *id_prefix;    /* the server's (borrowed) */
    char *method, *target, *version;
    tee_headers req_headers;
    pm_body req_body;         /* kept whole (a bigger body drops the copy) ... */
    bool req_body_kept;       /* ... unless the request will not be sent (mutating, no writes) */
    uint64_t req_body_total;
    pm_class cls;
    bool has_response;        /* proxy mode: the primary's answer */
    int status;
    tee_headers resp_headers;
    pm_body resp_body;        /* cut at max_body, SHA-256 of the whole */
    bool resp_complete;
    int64_t latency_us, done_us;
    const char *mode;         /* "proxy" | "sink" */
} tee_exchange;

tee_exchange *tee_exchange_new(size_t max_body);
/* Memory the copy holds, for the queue's byte budget. */
size_t tee_exchange_bytes(const tee_exchange *x);
/* The capture record (DESIGN.md "Files") as JSON text, unredacted; NULL when out of memory. */
char *tee_exchange_record(const tee_exchange *x, size_t *len);
void tee_exchange_free(tee_exchange *x);

/* ---- the bounded queue: many producers (front threads), one consumer ------------------- */

typedef struct tee_queue tee_queue;

typedef enum { TEE_QUEUED, TEE_QUEUE_FULL, TEE_QUEUE_MEMORY, TEE_QUEUE_CLOSED } tee_push_result;

tee_queue *tee_queue_new(size_t capacity, size_t byte_limit);
/* Never waits: a full queue refuses. On success the queue owns x. */
tee_push_result tee_queue_push(tee_queue *q, tee_exchange *x);
/* The oldest copy, or NULL when empty. Consumer thread only. */
tee_exchange *tee_queue_pop(tee_queue *q);
void tee_queue_close(tee_queue *q);
bool tee_queue_closed(const tee_queue *q);
size_t tee_queue_depth(const tee_queue *q);
size_t tee_queue_bytes(const tee_queue *q);
size_t tee_queue_capacity(const tee_queue *q);
/* Frees what is left, then the queue. */
void tee_queue_free(tee_queue *q);

/* ---- the primary, over libcurl: one per client connection ----------------------------- */

typedef struct tee_upstream tee_upstream;

typedef struct tee_upstream_request {
    const char *url;
    const char *method;
    struct curl_slist *headers; /* borrowed until tee_upstream_end */
    bool has_body;
    int64_t content_length;     /* -1: unknown (sent chunked) */
    double timeout_s, connect_timeout_s;
    const atomic_bool *abort;   /* checked while waiting: the server is closing */
} tee_upstream_request;

tee_upstream *tee_upstream_new(void);
int tee_upstream_begin(tee_upstream *u, const tee_upstream_request *rq);
/* Hands request body bytes to the primary; returns when all are taken (or the transfer
 * ended: the rest is not needed). */
void tee_upstream_send(tee_upstream *u, const char *data, size_t len);
/* The request body is over; waits for the response head. 0, or -1 when the transfer
 * failed first (tee_upstream_error names it). */
int tee_upstream_wait_head(tee_upstream *u);
int tee_upstream_status(const tee_upstream *u);
const tee_headers *tee_upstream_headers(const tee_upstream *u);
int64_t tee_upstream_first_byte_us(const tee_upstream *u); /* wall clock */
/* Response body: > 0 bytes, 0 the end, -1 the transfer failed. */
ssize_t tee_upstream_read(tee_upstream *u, char *buf, size_t max);
/* "refused" | "timeout" | "reset" | "garbage" | "other" (NULL: none). */
const char *tee_upstream_error(const tee_upstream *u);
/* Ends the request: a finished transfer leaves its connection open for the next one;
 * an unfinished one is abandoned (its connection closed). */
void tee_upstream_end(tee_upstream *u);
void tee_upstream_free(tee_upstream *u);

/* ---- the server ------------------------------------------------------------------------- */

typedef struct tee_conn {
    capture_tee *tee;
    uint64_t id, seq;
    char client_ip[INET6_ADDRSTRLEN];
    tee_upstream *up;           /* proxy: the primary for this client connection */
    char *last_authorization;   /* the cohort user of the last Authorization seen */
    char *last_user;
} tee_conn;

typedef struct tee_request {
    tee_conn *conn;
    char *target;               /* as sent, from MHD's URI log callback */
    bool started, answered, upstream_begun;
    tee_exchange *x;            /* the shadow copy, NULL when there is none */
    int64_t ts_us, mono_start_us;
    struct curl_slist *up_headers;
    char *url;
} tee_request;

struct capture_tee {
    capture_tee_options o;
    char *primary;              /* base URL without a trailing slash */
    char *uri_header;
    struct MHD_Daemon *daemon;
    int listen_fd;
    uint16_t port;
    char url[96];
    char id_prefix[16];         /* 8 hex of the start time: ids unique per run */
    tee_queue *queue;
    struct MHD_Response *no_content; /* sink: the shared 204 */
    atomic_bool stopping, closing;
    atomic_uint_fast64_t next_connection;
    atomic_uint_fast64_t requests, primary_errors, client_aborts, not_selected, queued;
    atomic_uint_fast64_t dropped_full, dropped_memory, dropped_too_large, dropped_incomplete, dropped_stopping;
    atomic_uint_fast64_t in_flight;
    atomic_bool consumer_waiting;
};

int64_t tee_wall_us(void);
int64_t tee_mono_us(void);

/* Both modes: the request's classification, and its shadow copy when it is in scope
 * (NULL and counted when not). */
tee_exchange *tee_copy_begin(capture_tee *t, tee_conn *conn, struct MHD_Connection *c, const char *method,
                             const char *target, const char *version, int64_t ts_us);
/* Adds request body bytes to the copy; false when the body outgrew max_body (the copy
 * is dropped and counted). */
bool tee_copy_body(capture_tee *t, tee_request *rq, const char *data, size_t len);
/* Hands the finished copy to the queue (or drops it, counted); takes rq->x. */
void tee_copy_finish(capture_tee *t, tee_request *rq);

enum MHD_Result tee_proxy_handle(capture_tee *t, tee_request *rq, struct MHD_Connection *c, const char *method,
                                 const char *version, const char *upload, size_t *upload_size);
void tee_proxy_completed(capture_tee *t, tee_request *rq, enum MHD_RequestTerminationCode toe);
enum MHD_Result tee_sink_handle(capture_tee *t, tee_request *rq, struct MHD_Connection *c, const char *method,
                                const char *version, const char *upload, size_t *upload_size);

/* Binds listen (loopback unless the address names another interface). */
int tee_listen_socket(const char *listen, struct sockaddr_storage *bound, pm_err *err);
/* "127.0.0.1:8080" / "[::1]:8080" of a bound address into buf. */
void tee_describe_address(const struct sockaddr_storage *ss, char *buf, size_t size, uint16_t *port);

#endif
