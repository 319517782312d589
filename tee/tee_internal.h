/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_internal.h — what the tee's files share (private to capture/): the shadow copy of
 * one exchange, the bounded queue it travels on, the connection to the primary, and
 * the server state the MHD callbacks of proxy and sink mode work on.
 *
 * Files: tee_server.c (callbacks, copies, start and stop), tee_frame.c (the verdict on a
 * request head: framing, fields, target), tee_worker.c (the event loops),
 * tee_proxy.c (proxy mode's MHD side), tee_upstream.c (transfers to the primary through
 * libcurl, streamed both ways), tee_sink.c (sink mode), tee_queue.c (the bounded queue),
 * tee_exchange.c (shadow copies and their capture records), tee_guard.c (proxy mode's
 * defences against slowloris: connections per client address, the total limit, request
 * head deadlines), tee_shed.c (fair shedding per family), tee_metrics.c (Prometheus text
 * and /metrics).
 */
#ifndef PM_TEE_INTERNAL_H
#define PM_TEE_INTERNAL_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "tee.h"

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

/* ---- a request head's framing (tee_frame.c) ------------------------------------------- */

typedef struct tee_frame {
    int64_t content_length;     /* -1: none */
    bool chunked;
} tee_frame;

/* The verdict on a request head, its fields given one by one (tee_server.c walks
 * libmicrohttpd's). A field's value must sit where libmicrohttpd leaves an unfolded one:
 * after the name's NUL and blanks, in the same buffer. tee_frame_end: 0 when the request
 * may go on, its body's framing in *f; else the status to answer it with (400, or 501 for
 * a transfer coding other than chunked) and *why the counter it goes to: "target",
 * "field" or "framing". */
typedef struct tee_frame_walk {
    tee_frame frame;
    unsigned lengths, encodings;
    bool length_ok, encoding_ok, field_ok;
} tee_frame_walk;
void tee_frame_begin(tee_frame_walk *w);
/* false: the field is malformed (the rest need not be looked at) */
bool tee_frame_field(tee_frame_walk *w, const char *name, const char *value);
unsigned tee_frame_end(tee_frame_walk *w, const char *target, const char *version, tee_frame *f,
                       const char **why);

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
    int64_t handed_us;        /* wall time the answer's last byte went to libmicrohttpd (0: not yet):
                               * done_us is taken from it, not from the completion notice, which
                               * an event loop may deliver after the client's next request began
                               * (replay's causal order needs end <= the next request's start) */
    const char *mode;         /* "proxy" | "sink" */
    const char *stream_closed_by; /* an event-stream answer: "client" | "server"; NULL: none */
    int64_t stream_window_us; /* how long the client held it: its first byte to the close */
    struct tee_family *fam;   /* its family's counters (tee_shed.c); NULL: none */
    bool handed;              /* went to the shadow side: not shed when freed */
} tee_exchange;

tee_exchange *tee_exchange_new(size_t max_body);
/* Memory the copy holds, for the queue's byte budget. */
size_t tee_exchange_bytes(const tee_exchange *x);
/* The capture record (DESIGN.md "Files") as JSON text, unredacted; NULL when out of memory.
 * With `tape`, its tokens are kept there as it is written, and *tokens is that tape (NULL
 * when they could not be: see pm_jtext_tape_done). */
char *tee_exchange_record(const tee_exchange *x, size_t *len, pm_jtape *tape, const pm_jtape **tokens);
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

/* One consumer's queue, and whether it waits to be woken (tee_server.c). */
typedef struct tee_lane {
    tee_queue *queue;
    atomic_bool consumer_waiting;
} tee_lane;

/* ---- fair shedding per family (tee_shed.c) ------------------------------------------- */

typedef struct tee_family tee_family;
typedef struct tee_shed tee_shed;

tee_shed *tee_shed_new(size_t capacity);
void tee_shed_free(tee_shed *s);
/* The family's slot, added when new (never NULL: past the table's room, one shared slot). */
tee_family *tee_shed_family(tee_shed *s, const char *name);
/* A copy of the family is in scope (now_us: any clock, the same each call). */
void tee_shed_seen(tee_shed *s, tee_family *f, int64_t now_us);
/* Whether the queue (queue_depth copies now) takes one more of the family: true
 * reserves its place (tee_shed_left gives it back when the copy leaves the queue or
 * the push fails). */
bool tee_shed_admit(tee_shed *s, tee_family *f, size_t queue_depth);
/* The same question without reserving: a copy not worth making. */
bool tee_shed_over_share(tee_shed *s, tee_family *f, size_t queue_depth);
void tee_shed_left(tee_family *f);
/* A copy of the family is gone: handed to the shadow side, or shed. */
void tee_shed_count(tee_family *f, bool handed);
size_t tee_shed_stats(const tee_shed *s, tee_family_stats *out, size_t max);

/* ---- the server: workers, connections, requests ------------------------------------- */

typedef struct tee_request tee_request;
typedef struct tee_conn tee_conn;

/* A client address as a key: IPv4 in its IPv4-mapped IPv6 form. */
typedef struct tee_addr {
    uint8_t bytes[16];
} tee_addr;

/* One event loop (proxy mode: one per core): a libmicrohttpd daemon polled from outside
 * (epoll) and a libcurl multi handle for the primary, driven by the same thread, so a
 * request and its transfer never cross threads. Sink mode has one pseudo-worker whose
 * daemon runs its own thread pool (no transfers). */
typedef struct tee_worker {
    tee_front *tee;
    pthread_t thread;
    bool running;
    struct MHD_Daemon *daemon;
    int listen_fd;
    bool owns_fd;               /* listen_fd is ours to close (no daemon took it) */
    CURLM *multi;               /* proxy mode */
    CURLU *origin;              /* the primary's origin, parsed once for every handle (NULL:
                                 * each transfer gives curl the URL as text) */
    pm_classify_cache *classes; /* proxy mode: this thread's remembered routes (NULL: none) */
    CURL **idle;                /* finished easy handles, kept with their settings */
    size_t nidle, cap_idle;
    tee_request *active;        /* requests whose transfer runs or that wait suspended */
    bool resumed;               /* a connection was resumed: run the daemon before waiting */
    /* tee_guard.c (proxy mode; this thread only) */
    bool guarded;
    unsigned open, limit;       /* client connections admitted and not closed; at most */
    bool pending, pending_counted; /* admitted by the accept policy, not STARTED yet */
    tee_addr pending_addr;
    tee_conn *waiting_head, *waiting_tail; /* connections whose head deadline runs, earliest first */
} tee_worker;

struct tee_conn {
    uint64_t id, seq;
    char client_ip[INET6_ADDRSTRLEN];
    char *last_authorization;   /* the cohort user of the last Authorization seen */
    char *last_user;
    /* tee_guard.c */
    struct MHD_Connection *mhd;
    int fd;                     /* libmicrohttpd's: shut down at the deadline, never closed */
    bool admitted, counted;     /* holds a slot of the worker's limit; of addr's --max-per-ip */
    tee_addr addr;
    bool waiting, cut;          /* in the worker's deadline list; shut down at its deadline */
    int64_t head_deadline_us;   /* monotonic */
    tee_conn *wait_prev, *wait_next;
};

/* Proxy mode: one request's transfer to the primary. Everything here is touched by the
 * worker's thread only (curl callbacks and MHD callbacks both run inside its loop). */
typedef struct tee_transfer {
    CURL *easy;                 /* NULL when not attached to the worker's multi handle */
    struct curl_slist *headers;
    char *url;                  /* the primary's origin: scheme://authority/ */
    char *request_target;       /* the client's target, sent verbatim (CURLOPT_REQUEST_TARGET) */
    bool begun, head_done, done;
    /* request body: bytes received from the client that curl has not taken yet */
    char *send_buf;
    size_t send_off, send_len;
    bool send_eof, send_paused;
    /* response */
    int status;
    tee_headers resp_headers;
    int64_t first_byte_us;      /* wall clock */
    char *buf;                  /* body bytes not yet handed to the client */
    size_t buf_off, buf_len, buf_cap;
    bool recv_paused;
    CURLcode result;
    unsigned sends;             /* requests curl sent for it: 2 or more when it retried */
    const char *error;          /* refused | timeout | reset | garbage | other */
    char curl_error[CURL_ERROR_SIZE];
} tee_transfer;

struct tee_request {
    tee_worker *worker;
    tee_conn *conn;
    struct MHD_Connection *mhd;
    char *target;               /* as sent, from MHD's URI log callback */
    bool started, answered, suspended, listed;
    bool rejected;              /* answered by the front (tee_frame.c): nothing goes on */
    tee_frame frame;
    tee_exchange *x;            /* the shadow copy, NULL when there is none */
    int64_t ts_us;
    tee_transfer xfer;
    tee_request *prev, *next;   /* the worker's active list */
};

/* ---- proxy mode: the transfer (tee_upstream.c) and the MHD side (tee_proxy.c) --------- */

typedef struct tee_transfer_request {
    const char *method;
    bool has_body;
    int64_t content_length;     /* -1: unknown (sent chunked) */
    double timeout_s, connect_timeout_s;
} tee_transfer_request;

/* The primary's origin (scheme://authority/), parsed for CURLOPT_CURLU: curl otherwise
 * parses the URL text again and prints it back for every transfer. NULL when it cannot be. */
CURLU *tee_origin_parse(const tee_front *t);
/* Starts rq's transfer (rq->xfer.url and .headers set) on the worker's multi handle. */
int tee_transfer_begin(tee_worker *w, tee_request *rq, const tee_transfer_request *tr);
/* Copies up to len request body bytes for curl; returns how many it took (0: the buffer
 * is full until curl sends some). */
size_t tee_transfer_feed(tee_request *rq, const char *data, size_t len);
/* The request body is over. */
void tee_transfer_finish_body(tee_request *rq);
/* Copies buffered response body bytes out (resuming a paused transfer); 0 when none. */
size_t tee_transfer_take(tee_request *rq, char *buf, size_t max);
/* The transfer ended (or was stopped): its handle goes back to the worker's pool; an
 * unfinished one is abandoned, closing its connection to the primary. */
void tee_transfer_release(tee_worker *w, tee_request *rq);
/* Finished transfers of the worker's multi handle: marked done, their requests woken. */
void tee_transfer_collect(tee_worker *w);
void tee_transfer_free(tee_request *rq);

/* Resumes rq's connection when it waits (suspended) for its transfer. */
void tee_request_wake(tee_request *rq);
void tee_request_suspend(tee_request *rq);

enum MHD_Result tee_proxy_handle(tee_worker *w, tee_request *rq, const char *method, const char *upload,
                                 size_t *upload_size);
void tee_proxy_completed(tee_worker *w, tee_request *rq, enum MHD_RequestTerminationCode toe);
enum MHD_Result tee_sink_handle(tee_front *t, tee_request *rq, const char *upload, size_t *upload_size);

/* ---- holding the front (tee_guard.c, proxy mode) -------------------------------------- */

typedef struct tee_guard tee_guard; /* the per-address counts all workers share */

tee_guard *tee_guard_new(unsigned max_per_ip, size_t max_connections);
void tee_guard_free(tee_guard *g);
/* One more connection from a, unless a has max_per_ip already (thread-safe); and one less. */
bool tee_guard_reserve(tee_guard *g, const tee_addr *a);
void tee_guard_release(tee_guard *g, const tee_addr *a);
/* libmicrohttpd's accept policy (cls: the worker): MHD_NO, counted, over the worker's
 * share of --max-connections or over --max-per-ip. */
enum MHD_Result tee_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* NOTIFY_STARTED / NOTIFY_CLOSED of a connection; its head deadline starts. */
void tee_guard_opened(tee_worker *w, tee_conn *conn, struct MHD_Connection *c);
void tee_guard_closed(tee_worker *w, tee_conn *conn);
/* A request of c ended: the deadline of its next head starts. */
void tee_guard_request_done(tee_worker *w, struct MHD_Connection *c);
/* Shuts down the connections whose head is late; milliseconds to the next deadline, -1
 * when none runs. */
int tee_guard_sweep(tee_worker *w);
/* Raises the soft RLIMIT_NOFILE towards want (at most the hard limit). */
void tee_guard_raise_fd_limit(size_t want);

/* ---- workers (tee_worker.c) ----------------------------------------------------------- */

int tee_workers_start(tee_front *t, const int *listen_fds, size_t n, pm_err *err);
/* Stops taking connections, lets requests in flight finish until the deadline (µs,
 * monotonic), then closes everything and joins the threads. */
void tee_workers_stop(tee_front *t, int64_t deadline_us);

struct tee_front {
    tee_options o;
    char *primary;              /* base URL without a trailing slash */
    char primary_socket[PM_UNIX_PATH_MAX + 1]; /* a unix: primary's socket path; "" over TCP */
    char *uri_header;
    tee_worker *workers;
    size_t nworkers;
    uint16_t port;
    char url[128];
    struct sockaddr_storage bound; /* the --listen address: a Unix socket's file goes at the end */
    char id_prefix[16];         /* 8 hex of the start time: ids unique per run */
    tee_lane *lanes;            /* one queue per consumer */
    size_t nlanes;
    size_t capacity;            /* every lane's together */
    tee_shed *shed;
    struct MHD_Response *no_content; /* sink: the shared 204 */
    atomic_bool stopping, closing, stopped;
    atomic_uint_fast64_t next_connection;
    atomic_uint_fast64_t requests, primary_errors, client_aborts, not_selected, queued;
    atomic_uint_fast64_t rejected_target, rejected_field, rejected_framing;
    atomic_uint_fast64_t dropped_full, dropped_memory, dropped_too_large, dropped_incomplete, dropped_stopping,
        dropped_share;
    atomic_uint_fast64_t in_flight;
    tee_guard *guard;
    atomic_uint_fast64_t head_timeouts, refused_per_ip, refused_limit, connections;
};

/* The daemon callbacks both modes share (tee_server.c). */
void *tee_on_request_line(void *cls, const char *uri, struct MHD_Connection *c);
enum MHD_Result tee_on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls);
void tee_on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe);
void tee_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);

int64_t tee_wall_us(void);
int64_t tee_mono_us(void);

/* Both modes: the request's classification (through classes, the calling thread's own,
 * when not NULL), and its shadow copy when it is in scope (NULL and counted when not). */
tee_exchange *tee_copy_begin(tee_front *t, pm_classify_cache *classes, tee_conn *conn, struct MHD_Connection *c,
                             const char *method, const char *target, const char *version, int64_t ts_us);
/* Adds request body bytes to the copy; false when the body outgrew max_body (the copy
 * is dropped and counted). */
bool tee_copy_body(tee_front *t, tee_request *rq, const char *data, size_t len);
/* Hands the finished copy to the queue (or drops it, counted); takes rq->x. */
void tee_copy_finish(tee_front *t, tee_request *rq);

#endif
