/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_internal.h — what replay's files share (private to replay/): the exchange in
 * flight and its per-target calls, the reorder window, the correlation tables.
 */
#ifndef PM_REPLAY_INTERNAL_H
#define PM_REPLAY_INTERNAL_H

#include <curl/curl.h>

#include "replay.h"

/* ---- a capture record, read through a tape (record.c) ------------------------------- */

typedef struct rp_header {
    const char *name, *value;
} rp_header;

typedef struct rp_record {
    char *text;                   /* the line as read (owned): results extend it */
    size_t text_len;
    pm_jtape tape;                /* its tokens (over text, in the record's block) */
    /* decoded, NUL-terminated; NULL when absent or not a string */
    const char *id, *session, *family, *org, *repo, *user;
    const char *method, *target;  /* the request's */
    const rp_header *req_headers, *resp_headers; /* [name, value] string pairs, in order */
    size_t n_req_headers, n_resp_headers;
    bool has_ts;                  /* "ts" parsed into ts_us */
    int64_t ts_us;
    int64_t end_us;               /* ts + response.done_us; INT64_MAX when unknown */
    bool mutating;                /* "mutating": true */
    long request, response;       /* tokens of the objects; response -1: none recorded */
    long resp_headers_tok;        /* token of response.headers, -1 when absent */
    long req_body;                /* token of request.body or .body_b64, -1: no body */
    bool req_body_b64, req_body_redacted;
    long resp_body;               /* token of response.body (text bodies), -1 otherwise */
    int resp_status;              /* 0 when none */
    long resp_stream;             /* token of response.stream (an event stream), -1: none */
} rp_record;

/* A record from its line. Takes text (malloc'd; ownership passes, also on failure);
 * parsed: the line's tape when the reader has already checked and tokenized it, else
 * NULL (the line is checked here). NULL with err when it is not a JSON object. */
rp_record *rp_record_new(char *text, size_t len, const pm_jtape *parsed, pm_err *err);
void rp_record_free(rp_record *r);
/* A part of the record as a jansson tree (new reference), for the rare paths that need
 * one; NULL when tok is -1. */
json_t *rp_record_json(const rp_record *r, long tok);
/* A string token decoded into a new buffer (NUL-terminated, *len without it); NULL when
 * tok is not a string. */
char *rp_record_string(const rp_record *r, long tok, size_t *len);
/* The request body decoded (body, or body_b64 undone) into a new buffer, as
 * pm_record_get_body; 0, or -1 (bad base64, out of memory). */
int rp_record_request_body(const rp_record *r, unsigned char **data, size_t *len);
/* Bytes of body text the record holds (for the reorder window's memory bound). */
size_t rp_record_body_bytes(const rp_record *r);
/* The integer `key` of the object at token obj (e.g. r->response); false when it is not
 * there or not an integer. */
bool rp_record_integer(const rp_record *r, long obj, const char *key, int64_t *v);
/* First value of a header (case-insensitive name), or NULL. */
const char *rp_headers_get(const rp_header *h, size_t n, const char *name);

/* ---- one exchange in flight, one call per target ------------------------------------ */

typedef struct replay_exchange rp_exchange; /* public as replay_exchange (hand-off) */

typedef struct rp_call {
    rp_exchange *x;
    size_t target;          /* index into the suite's targets */
    CURL *easy;
    bool on_h1;             /* in flight on replay's own client (h1.c), not curl */
    int h1_code, h1_status; /* h1.c: how it ended, until reported */
    struct rp_call *h1_next; /* h1.c: the next finished call to report */
    struct curl_slist *headers;
    char *url;              /* the target's origin: scheme://authority/ */
    char *request_target;   /* sent verbatim (CURLOPT_REQUEST_TARGET): curl normalises no path */
    unsigned char *body;    /* request body */
    size_t body_len;
    int status;
    /* The final response as received, kept raw on the replay loop: hashing it, and making
     * jansson values of its headers, is done by whoever writes the result (another thread
     * in `run`). Headers: "name\0value\0" pairs in order (rp_call_header). Body: its first
     * body_limit bytes in data; one longer than that goes to resp_body (spilled), which
     * counts and hashes all of it as it arrives and keeps its first body_limit bytes. */
    char *hdr;
    size_t hdr_len, hdr_cap;
    unsigned char *data;
    size_t data_len, data_cap, body_limit;
    uint64_t body_total;
    pm_body resp_body;
    bool spilled;
    const char *error;      /* NULL, or a DESIGN.md error code */
    bool skipped;
    bool done;
    bool too_large;
    bool window_over;       /* an event stream pmirror closed at the end of its window */
    int retries;
    unsigned sends;         /* requests curl sent in this transfer (handles.c counts them) */
    int64_t sent_us, first_byte_us, done_us; /* wall clock, µs */
    char curl_error[CURL_ERROR_SIZE];
} rp_call;

struct replay_exchange {
    const pm_suite *suite;  /* borrowed from the session, as the redactor */
    const pm_redactor *redactor;
    bool hash_uncut;        /* the session's option */
    const pm_secrets *sent; /* the suite's credentials, for answers echoing them (borrowed) */
    rp_record *rec;         /* the capture record (owned) */
    int64_t ts_us;          /* recorded request start */
    int64_t end_us;         /* recorded response end; INT64_MAX when unknown */
    bool stream;            /* an event stream (stream.c): held for a window */
    int64_t stream_start_us; /* recorded: its response's first byte */
    int64_t stream_hold_us;  /* recorded: from its request's start to the stream's close;
                              * 0 when unknown */
    uint64_t order;         /* position in request order */
    rp_call *calls;         /* suite->ntargets */
    size_t pending;
    bool mutating;          /* set when started: goes only to sandbox targets */
    struct rp_mixed_step *mixed; /* --mixed: the flow step this exchange is (owned), NULL:
                             * sent to every target as usual */
    rp_exchange *next;      /* in-flight list */
};

/* The first value of a response header (case-insensitive name), or NULL. */
const char *rp_call_header(const rp_call *c, const char *name);
/* The stored body (its first body_limit bytes) and its length. */
const unsigned char *rp_call_body(const rp_call *c, size_t *len);

/* ---- request order: a bounded window over the capture file ------------------------- */

typedef struct rp_window rp_window;

/* Reads records from `in` and gives them back in request order (by ts, then arrival) as
 * long as no record arrives more than `size` records late. */
rp_window *rp_window_new(pm_jsonl_reader *in, size_t size);
/* 1: *record (the caller's); 0: end; -1: error. */
int rp_window_next(rp_window *w, rp_record **record, uint64_t *late, pm_err *err);
/* The ts (µs) of the next record without taking it; false at the end. */
bool rp_window_peek_ts(rp_window *w, int64_t *ts_us, pm_err *err);
void rp_window_free(rp_window *w);

/* The window run on a thread of its own (reader.c), for a regular file: rp_reader_next
 * gives what rp_window_next would, in the same order, with the same `late` counts. */
typedef struct rp_reader rp_reader;
rp_reader *rp_reader_start(pm_jsonl_reader *in, size_t window, pm_err *err);
int rp_reader_next(rp_reader *r, rp_record **record, uint64_t *late, pm_err *err);
/* pm_jsonl_reader_progress of the input as of the records read so far. */
double rp_reader_progress(rp_reader *r);
/* Stops the thread (whatever it has not handed over is freed) and frees r. */
void rp_reader_free(rp_reader *r);

/* ---- correlation ---------------------------------------------------------------------- */

typedef struct rp_correlation rp_correlation;

/* rules: the profile's correlation.yaml ({headers: [...], json_fields: [...]}) or NULL. */
rp_correlation *rp_correlation_new(size_t ntargets, const json_t *rules);
void rp_correlation_free(rp_correlation *c);
/* Learns what the recorded response and each target's response issued (upload
 * Location and UUID, /v2/auth tokens, pagination links): recorded value → target value. */
void rp_correlation_learn(rp_correlation *c, const rp_exchange *x);
/* A URL's path and query ("http://h:1/v2/x?y" → "/v2/x?y"; relative ones as they are),
 * and the path of the URL inside a Link header's <...>: new strings, NULL for NULL. */
char *rp_url_path(const char *v);
char *rp_link_target(const char *v);
/* Rewrites s for a target: every recorded value the target has its own value for is
 * replaced. Returns a new string, or NULL with *missing set to the recorded value the
 * target never received (a failed correlation: never send the recorded value). */
char *rp_correlation_apply(const rp_correlation *c, size_t target, const char *s, const char **missing);

/* ---- mixed mode: flows split across baseline and candidate (mixed.c) ------------------ */

typedef struct rp_mixed rp_mixed;

/* One exchange as a step of a flow: the flow's id (the id of the record that opened it),
 * its kind ("upload", "listing", "token"), the step's index (0: the opening one) and the
 * one target that answers it. */
typedef struct rp_mixed_step {
    char *flow;
    const char *kind;
    unsigned step;
    size_t target;
    replay_mixed_pattern pattern;
} rp_mixed_step;

/* NULL with err when the suite does not have exactly one baseline and one candidate. */
rp_mixed *rp_mixed_new(replay_mixed_pattern pattern, const pm_suite *suite, pm_err *err);
void rp_mixed_free(rp_mixed *m);
/* The step a record is (new; rp_mixed_step_free), or NULL when it is in no flow (sent to
 * every target). Called in request order: learns the values the record's recorded
 * response issues, so that the requests carrying them later join its flow. */
rp_mixed_step *rp_mixed_assign(rp_mixed *m, const rp_record *rec);
void rp_mixed_step_free(rp_mixed_step *step);
/* The role that answers step `step` of a flow under pattern p (PM_ROLE_BASELINE or
 * PM_ROLE_CANDIDATE). */
pm_role rp_mixed_role(replay_mixed_pattern p, unsigned step);

/* ---- building one target's request ---------------------------------------------------- */

/* Fills call->url, headers and body from the record for the call's target: Host and
 * absolute URLs rewritten, hop-by-hop headers dropped, the target's headers and
 * credentials applied, correlated values substituted. Returns 0, or sets call->error
 * ("correlation", "no_credentials") and call->skipped where that applies, and returns -1. */
int rp_request_build(rp_call *call, const pm_suite *suite, const rp_correlation *corr);

/* ---- event streams (stream.c) ----------------------------------------------------------- */

/* Marks x as an event stream when its record says so (response.stream, or a recorded
 * text/event-stream answer), with the recorded times stream.c needs. */
void rp_stream_init(rp_exchange *x);
/* CURLOPT_TIMEOUT_MS for a call of x to target t: for a stream, its window (window_s > 0:
 * --stream-window; else the recorded one, at most the target's timeout); else the
 * target's timeout. */
long rp_stream_timeout_ms(const rp_exchange *x, const pm_target *t, double window_s);
/* Whether x, in flight, holds back an exchange recorded as starting at ts: x is a stream
 * whose recorded answer had begun by ts, and a target has not answered its head yet. */
bool rp_stream_holds(const rp_exchange *x, int64_t ts);
/* Whether a transfer that ended with rc (a CURLcode) and status is a stream whose window
 * pmirror ended (a timeout after a 2xx head): its normal end, not an error. Sets
 * call->window_over. */
bool rp_stream_window_over(rp_call *call, int rc, long status);
/* Writes the `stream` key of a target's answer when it is an event stream:
 * {closed_by: "pmirror"|"server", window_us, events, comments}. */
void rp_stream_write(pm_jtext *t, const rp_call *call);

/* ---- the result record (result.c) ------------------------------------------------------- */

/* x's result written into t (reset first: the record's line, reopened): as
 * replay_exchange_text. 0, or -1 (out of memory). */
int rp_result_text(const rp_exchange *x, pm_jtext *t);

/* ---- HTTP/1.1 on the wire for replay's own client (h1_wire.c) ---------------------------- */

/* The request libcurl would send for a call without a body: request line, Host, headers
 * (curl's list syntax: "Name:" alone drops a header), blank line; written into *buf (grown,
 * *len set). 0, or -1 when out of memory. */
int rp_h1_request(char **buf, size_t *len, size_t *cap, const char *method, const char *request_target,
                  const char *authority, const struct curl_slist *headers);

/* Where an answer goes as it is read: a head begins (an interim 1xx one's headers are to be
 * forgotten), a header, body bytes (false: stop reading, the call refuses more). */
typedef struct rp_h1_sink {
    void (*head)(void *ctx);
    void (*header)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen);
    bool (*body)(void *ctx, const char *data, size_t len);
} rp_h1_sink;

typedef enum {
    RP_H1_MORE,      /* the answer goes on */
    RP_H1_DONE,      /* complete */
    RP_H1_NOTHING,   /* closed before its first byte */
    RP_H1_GARBAGE,   /* not HTTP/1.x, or a head past the limits */
    RP_H1_TRUNCATED, /* closed before the end its framing announced */
    RP_H1_STOPPED    /* the sink refused body bytes */
} rp_h1_state;

typedef struct rp_h1_reader rp_h1_reader;
rp_h1_reader *rp_h1_reader_new(void);
void rp_h1_reader_free(rp_h1_reader *r);
/* Ready for the answer to the next request (head: it was a HEAD, so no body). */
void rp_h1_reader_start(rp_h1_reader *r, bool head, const rp_h1_sink *sink, void *ctx);
/* Bytes as received; *used: how many belong to this answer when it is DONE (any after it
 * were not asked for). */
rp_h1_state rp_h1_reader_feed(rp_h1_reader *r, const char *data, size_t len, size_t *used);
/* The server closed the connection. */
rp_h1_state rp_h1_reader_eof(rp_h1_reader *r);
bool rp_h1_reader_started(const rp_h1_reader *r);
/* After DONE: whether the connection may carry another request. */
bool rp_h1_reader_keep_alive(const rp_h1_reader *r);
/* The final answer's status once its head is read, else 0. */
int rp_h1_reader_status(const rp_h1_reader *r);

/* ---- replay's own HTTP/1.1 client (h1.c) ---------------------------------------------------- */

typedef struct rp_h1 rp_h1;
/* A finished call: code is the CURLcode libcurl would have ended it with (detail in
 * call->curl_error), status the final answer's (0: none). */
typedef void (*rp_h1_done_fn)(void *ctx, rp_call *call, int code, int status);

/* For suite's targets, at most cap idle connections kept per target; answers go to sink
 * with the call as its ctx. NULL when out of memory. */
rp_h1 *rp_h1_new(const pm_suite *suite, size_t cap, const rp_h1_sink *sink);
void rp_h1_free(rp_h1 *h);
/* Whether a call to target with this method and body goes through rp_h1 (else libcurl). */
bool rp_h1_serves(const rp_h1 *h, size_t target, const char *method, size_t body_len);
/* Starts the call (its headers and request_target built); timeout_ms 0: none. 0, or -1
 * when out of memory. A failure to connect is reported by the next rp_h1_run. */
int rp_h1_start(rp_h1 *h, rp_call *call, const char *method, long timeout_ms);
/* Readable when a connection has something to do: for the loop's poll. */
int rp_h1_fd(const rp_h1 *h);
/* Does what is ready without waiting, ends what is past its deadline, then calls fn for
 * each finished call (fn may start calls). The number finished. */
int rp_h1_run(rp_h1 *h, rp_h1_done_fn fn, void *ctx);
/* The earliest deadline of a call in flight (µs, CLOCK_MONOTONIC), -1: none. */
int64_t rp_h1_next_deadline(const rp_h1 *h);
/* Forgets a call in flight (its connection closed), never reported. */
void rp_h1_abandon(rp_h1 *h, rp_call *call);

/* ---- easy handles kept per target (handles.c) ------------------------------------------ */

typedef struct rp_handles rp_handles;

/* Idle lists of at most cap handles per target of suite (borrowed: it outlives them). */
rp_handles *rp_handles_new(const pm_suite *suite, size_t cap);
void rp_handles_free(rp_handles *h);
/* A handle for target with the target's own options set (URL, unix socket, TLS, proxy,
 * HTTP/1.1, connect timeout) and a fresh handle's request defaults (a GET, no headers, no
 * body): the caller sets the request's. *sends counts the requests it sends in the
 * transfer (0 now); sends must stay valid until the handle is given back. NULL when out
 * of memory. */
CURL *rp_handles_take(rp_handles *h, size_t target, unsigned *sends);
/* A finished (removed from the multi) handle back to its target's list: kept as it is
 * when clean (no error, one request sent), else reset and set up again; freed when the
 * list is full. */
void rp_handles_give(rp_handles *h, size_t target, CURL *e, bool clean);

/* Stable shard of a record (repository, else user, else connection) among n. */
unsigned rp_shard_of(const rp_record *record, unsigned n);

#endif
