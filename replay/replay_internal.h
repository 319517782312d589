/*
 * replay_internal.h — what replay's files share (private to replay/): the exchange in
 * flight and its per-target calls, the reorder window, the correlation tables.
 */
#ifndef PM_REPLAY_INTERNAL_H
#define PM_REPLAY_INTERNAL_H

#include <curl/curl.h>

#include "replay.h"

/* ---- one exchange in flight, one call per target ------------------------------------ */

typedef struct replay_exchange rp_exchange; /* public as replay_exchange (hand-off) */

typedef struct rp_call {
    rp_exchange *x;
    size_t target;          /* index into the suite's targets */
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    unsigned char *body;    /* request body */
    size_t body_len;
    int status;
    json_t *resp_headers;   /* [[name, value], ...] of the final response */
    pm_body resp_body;
    const char *error;      /* NULL, or a DESIGN.md error code */
    bool skipped;
    bool done;
    bool too_large;
    int retries;
    int64_t sent_us, first_byte_us, done_us; /* wall clock, µs */
    char curl_error[CURL_ERROR_SIZE];
} rp_call;

struct replay_exchange {
    const pm_suite *suite;  /* borrowed from the session, as the redactor */
    const pm_redactor *redactor;
    json_t *record;         /* the capture record (owned) */
    char *text;             /* ... and its line as read (owned) */
    size_t text_len;
    int64_t ts_us;          /* recorded request start */
    int64_t end_us;         /* recorded response end; INT64_MAX when unknown */
    uint64_t order;         /* position in request order */
    rp_call *calls;         /* suite->ntargets */
    size_t pending;
    bool mutating;          /* set when started: goes only to sandbox targets */
    rp_exchange *next;      /* in-flight list */
};

/* ---- request order: a bounded window over the capture file ------------------------- */

typedef struct rp_window rp_window;

/* Reads records from `in` and gives them back in request order (by ts, then session and
 * seq) as long as no record arrives more than `size` records late. */
rp_window *rp_window_new(pm_jsonl_reader *in, size_t size);
/* 1: *record (new reference) and *text, its line as read (owned by the caller); 0: end;
 * -1: error. */
int rp_window_next(rp_window *w, json_t **record, char **text, size_t *text_len, uint64_t *late, pm_err *err);
/* The ts (µs) of the next record without taking it; false at the end. */
bool rp_window_peek_ts(rp_window *w, int64_t *ts_us, pm_err *err);
void rp_window_free(rp_window *w);

/* Parses an RFC 3339 timestamp (as capture writes it) into µs since the epoch. */
bool rp_parse_ts(const char *s, int64_t *us);

/* ---- correlation ---------------------------------------------------------------------- */

typedef struct rp_correlation rp_correlation;

/* rules: the profile's correlation.yaml ({headers: [...], json_fields: [...]}) or NULL. */
rp_correlation *rp_correlation_new(size_t ntargets, const json_t *rules);
void rp_correlation_free(rp_correlation *c);
/* Learns what the recorded response and each target's response issued (upload
 * Location and UUID, /v2/auth tokens, pagination links): recorded value → target value. */
void rp_correlation_learn(rp_correlation *c, const rp_exchange *x);
/* Rewrites s for a target: every recorded value the target has its own value for is
 * replaced. Returns a new string, or NULL with *missing set to the recorded value the
 * target never received (a failed correlation: never send the recorded value). */
char *rp_correlation_apply(const rp_correlation *c, size_t target, const char *s, const char **missing);

/* ---- building one target's request ---------------------------------------------------- */

/* Fills call->url, headers and body from the record for the call's target: Host and
 * absolute URLs rewritten, hop-by-hop headers dropped, the target's headers and
 * credentials applied, correlated values substituted. Returns 0, or sets call->error
 * ("correlation", "no_credentials") and call->skipped where that applies, and returns -1. */
int rp_request_build(rp_call *call, const pm_suite *suite, const rp_correlation *corr);

/* Stable shard of a record (repository, else user, else connection) among n. */
unsigned rp_shard_of(const json_t *record, unsigned n);

#endif
