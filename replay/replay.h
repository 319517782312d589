/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.h — the public header of replay/: captured exchanges → every target of a suite
 * (replay_run), and the other direction, a recorded backend that answers from recorded
 * exchanges (replay_serve_*).
 */
#ifndef PM_REPLAY_H
#define PM_REPLAY_H

#include <stdint.h>

#include "core/core.h"

/* ===== replay: capture → results ================================================= */

/* --mixed (mixed.c): each flow (an upload's POST, PATCHes and PUT; a token and the
 * requests that carry it; a paginated listing) split across the baseline and the
 * candidate, one target per step, to show that each implementation continues what the
 * other started. */
typedef enum {
    REPLAY_MIXED_OFF,             /* every exchange to every target (the default) */
    REPLAY_MIXED_ALTERNATE,       /* steps 0, 2, 4... to the baseline, 1, 3... to the candidate */
    REPLAY_MIXED_BASELINE_FIRST,  /* step 0 to the baseline, every later step to the candidate */
    REPLAY_MIXED_CANDIDATE_FIRST, /* step 0 to the candidate, every later step to the baseline */
} replay_mixed_pattern;

/* The patterns' names, NULL-terminated, in the enum's order from ALTERNATE (the CLI's
 * word list). */
extern const char *const replay_mixed_names[];
/* The pattern a name says; REPLAY_MIXED_OFF for NULL or an unknown name. */
replay_mixed_pattern replay_mixed_from_name(const char *name);
/* The name of a pattern ("alternate", ...); NULL for REPLAY_MIXED_OFF. */
const char *replay_mixed_name(replay_mixed_pattern p);

typedef struct replay_options {
    const pm_suite *suite;   /* targets, pacing defaults, selection */
    long concurrency;        /* exchanges in flight at most (default: the suite's, 32) */
    double rate;             /* exchanges started per second, 0 = as fast as order allows */
    double speed;            /* the recording's own timing x speed, 0 = off */
    long limit;              /* the first N exchanges in scope, 0 = all */
    unsigned shard_k, shard_n; /* --shard K/N (1-based K); shard_n 0 = no sharding */
    bool allow_writes;       /* mutating requests may go to sandbox targets */
    size_t max_body;         /* stored response body cap, default 16 MiB */
    size_t window;           /* records read ahead to restore request order, default 4096 */
    double stream_window_s;  /* --stream-window: hold each event stream this long; 0 = its
                              * recorded window, at most the target's timeout (stream.c) */
    bool order_writes_only;  /* live input (tee): only a mutating exchange holds back the
                              * exchanges that began after it ended; reads overlap freely */
    const char *correlation_path; /* correlation rules ({headers: [...], json_fields: [...]}):
                              * the profile's correlation.yaml (pm_profile.correlation.path);
                              * NULL: the built-in ones alone */
    bool hash_uncut;         /* body_sha256 of every answer, as the results format promises
                              * (default); false: only of a body cut by max_body, as capture
                              * does (the tee's shadow when no record keeps its results) */
    const pm_redactor *redactor; /* secrets in the targets' answers (Set-Cookie, issued tokens)
                              * are redacted in the results with it; NULL: kept (tests only).
                              * Give it keep_jwt_claims: diff compares issued JWTs' claims. */
    replay_mixed_pattern mixed; /* --mixed: flows split across baseline and candidate; the
                              * suite must have exactly one of each (replay_new refuses) */
    bool result_tokens;      /* hand each result's tokens with its text (replay_result.tokens):
                              * for a reader that would parse it again (the tee's shadow) */
} replay_options;

void replay_options_init(replay_options *o);

typedef struct replay_target_stats {
    uint64_t sent, answered, skipped_unsafe, no_credentials, correlation, errors;
} replay_target_stats;

typedef struct replay_stats {
    uint64_t read;           /* records read from the capture */
    uint64_t in_scope;       /* after selection, shard and limit */
    uint64_t done;           /* result records written */
    uint64_t out_of_order;   /* records beyond the reorder window (replayed late, counted) */
    uint64_t unreadable;     /* a replay_source's records that did not parse (passed over) */
    uint64_t mixed_flows, mixed_steps; /* --mixed: flows opened, exchanges sent as their steps */
    double input_read;       /* share of the input file read so far, -1 when unknown */
    replay_target_stats *targets; /* one per suite target, in suite order */
    size_t ntargets;
} replay_stats;

/* One finished exchange: its result record as one line of JSON text (the capture
 * record's own text extended with `responses` and `send_skew_us`, not re-serialized),
 * and what a summary needs without parsing it. All borrowed for the call. */
typedef struct replay_result {
    const char *text;
    size_t len;
    const pm_jtape *tokens;    /* with o.result_tokens: the text's tape (pm_jtext_tape_done),
                                * or NULL: the reader parses the text */
    const char *family;
    const char *const *errors; /* per suite target: NULL or the error code */
    const bool *skipped;       /* per suite target */
} replay_result;

/* Receives each result. Non-zero stops the replay. */
typedef int (*replay_result_fn)(void *ctx, const replay_result *result, pm_err *err);
/* Called about every 200 ms with the stats (progress lines). */
typedef void (*replay_progress_fn)(void *ctx, const replay_stats *stats, double exchanges_per_s);

typedef struct replay_session replay_session;

replay_session *replay_new(const replay_options *o, pm_err *err);
/* Replays every record of `in` in scope; each exchange's result goes to fn once every
 * target has answered, failed or been skipped. Returns 0, or -1 with err. */
int replay_run(replay_session *s, pm_jsonl_reader *in, replay_result_fn fn, replay_progress_fn progress,
               void *ctx, pm_err *err);
/* Async-signal-safe: start nothing new, finish what is in flight. */
void replay_stop(replay_session *s);

/* Records from memory instead of a file (the tee's shadow queue). next() returns 1 with
 * *record (a new reference, or NULL: replay reads only the text) and *text, its JSON
 * text (malloc'd; ownership passes; a text that does not parse is counted in
 * stats.unreadable and passed over) and *tokens, the text's tape when the source wrote it
 * following (pm_jtext_tape_done; read before the next call) or NULL, 0 when
 * the input has ended, REPLAY_SOURCE_WAIT when nothing is ready yet (replay_wakeup ends
 * the wait; it is at most 50 ms anyway), or -1 with err. Records are taken in the order
 * given (no reorder window). */
#define REPLAY_SOURCE_WAIT 2
typedef struct replay_source {
    int (*next)(void *ctx, json_t **record, char **text, size_t *len, const pm_jtape **tokens, pm_err *err);
    void *ctx;
} replay_source;

int replay_run_source(replay_session *s, const replay_source *src, replay_result_fn fn, replay_progress_fn progress,
                      void *ctx, pm_err *err);

/* Hand-off: each finished exchange given away whole instead of as text, so another
 * thread pays for writing its result (and whatever follows: `run` diffs and scores it
 * there) while the replay loop goes on. The correlation tables and the stats have seen
 * it already. fn owns it from the call on, also when fn fails (non-zero stops the
 * replay); it lives at most as long as the session. */
typedef struct replay_exchange replay_exchange;
typedef int (*replay_handoff_fn)(void *ctx, replay_exchange *x, pm_err *err);
int replay_run_handoff(replay_session *s, pm_jsonl_reader *in, replay_handoff_fn fn, replay_progress_fn progress,
                       void *ctx, pm_err *err);
/* Its result record's text, as replay_result.text would be, written into out (reset
 * first; keep one per thread). Any thread; x is only read. 0, or -1 (out of memory). */
int replay_exchange_text(const replay_exchange *x, pm_jtext *out);
/* What replay_result gives of a handed-off exchange: its family, and per suite target its
 * error code (NULL when answered) and whether it was skipped. Any thread; x only read. */
const char *replay_exchange_family(const replay_exchange *x);
const char *replay_exchange_error(const replay_exchange *x, size_t target, bool *skipped);
void replay_exchange_free(replay_exchange *x);
/* Thread-safe: wakes replay_run_source from its wait (a record is ready). */
void replay_wakeup(replay_session *s);
/* Thread-safe: return as soon as possible, abandoning what is in flight (no results for
 * it): the end of a bounded drain. */
void replay_abort(replay_session *s);
const replay_stats *replay_get_stats(const replay_session *s);
void replay_free(replay_session *s);

/* ===== serve: a recorded backend ================================================= */

typedef struct replay_serve_options {
    const char *fixture; /* capture or result records (JSONL, .gz or plain) */
    const char *listen;  /* "127.0.0.1:8001", "[::1]:8001", ":8001"; port 0 = any free port */
    const char *target;  /* with result records: whose answers to serve (default: the
                          * capture's own recorded response) */
    unsigned delay_ms;   /* added to every answer (a slow backend for tests) */
    bool recorded_latency; /* wait each exchange's recorded latency before answering */
    const char *tls_cert;  /* PEM certificate (chain): serve HTTPS; NULL: HTTP */
    const char *tls_key;   /* PEM key of tls_cert (NULL: in tls_cert's file) */
} replay_serve_options;

typedef struct replay_server replay_server;

/* Loads the fixture, binds, and serves from a background thread until stopped. */
replay_server *replay_serve_start(const replay_serve_options *o, pm_err *err);
/* The bound port (useful with port 0). */
uint16_t replay_serve_port(const replay_server *s);
/* Exchanges loaded from the fixture. */
size_t replay_serve_count(const replay_server *s);
/* Records not served: no response (or, with a target, its error or no status). */
size_t replay_serve_skipped(const replay_server *s);
/* "http://127.0.0.1:PORT/" as bound (borrowed). */
const char *replay_serve_url(const replay_server *s);
/* The fixture's damage at its end (a truncated last line), or NULL (borrowed). */
const char *replay_serve_warning(const replay_server *s);
/* Requests answered so far, and how many matched nothing (answered 404). */
uint64_t replay_serve_answered(const replay_server *s);
uint64_t replay_serve_unmatched(const replay_server *s);
void replay_serve_stop(replay_server *s);

#endif
