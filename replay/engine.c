/*
 * engine.c — the replay loop: one libcurl multi handle, every target of an exchange sent
 * at the same moment, results in the order exchanges finish.
 *
 * Order (DESIGN.md "Order and correlation"): exchanges start in request order; one whose
 * recorded request began after another's recorded response ended waits until that one
 * is finished here too, whatever connection either used (a registry client uploads a
 * blob over three connections). Exchanges that overlapped in the recording may overlap
 * here, up to the concurrency. Pacing on top: --rate (starts per second) and --speed
 * (the recording's timing, faster or slower). Each exchange's answers feed the
 * correlation tables before any later exchange is built.
 *
 * Side effects: a mutating exchange (the record's `mutating`) goes only to sandbox
 * targets, and only with allow_writes; elsewhere it is `skipped_unsafe`.
 */
#include "replay_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRANSFER ((curl_off_t)1 << 30) /* an endless body is an error, not memory */

struct replay_session {
    replay_options o;
    pm_config *rules; /* the profile's correlation.yaml, when it has one */
    const pm_suite *suite;
    CURLM *multi;
    rp_correlation *corr;
    rp_exchange *in_flight;
    size_t n_in_flight;
    uint64_t next_order;
    replay_stats stats;
    pm_jtext text; /* the result being written, reused */
    replay_handoff_fn handoff; /* replay_run_handoff: exchanges given away, not written */
    CURL **idle;   /* finished easy handles, reset and kept for the next transfers */
    size_t nidle;
    volatile sig_atomic_t stop;
    int64_t first_ts_us, started_wall_us;
    bool first_ts_set;
    double rate_tokens;
    int64_t rate_last_us;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void replay_options_init(replay_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_body = 16u << 20;
    o->window = 4096;
}

replay_session *replay_new(const replay_options *o, pm_err *err)
{
    replay_session *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->suite = o->suite;
    if (s->o.concurrency <= 0)
        s->o.concurrency = o->suite->concurrency > 0 ? o->suite->concurrency : 32;
    if (s->o.rate <= 0)
        s->o.rate = o->suite->rate;
    if (s->o.speed <= 0)
        s->o.speed = o->suite->speed;
    if (s->o.limit <= 0)
        s->o.limit = o->suite->limit;
    s->o.allow_writes = o->allow_writes || o->suite->allow_writes;
    s->multi = curl_multi_init();
    char rules_path[4200];
    snprintf(rules_path, sizeof rules_path, "%s/correlation.yaml", s->suite->profile_dir);
    if (access(rules_path, F_OK) == 0) {
        s->rules = pm_config_load(rules_path, err);
        if (!s->rules) {
            replay_free(s);
            return NULL;
        }
        if (!json_is_object(pm_config_root(s->rules))) {
            pm_config_error_at(s->rules, pm_config_root(s->rules), err, "correlation rules must be a mapping");
            replay_free(s);
            return NULL;
        }
    }
    s->corr = rp_correlation_new(s->suite->ntargets, s->rules ? pm_config_root(s->rules) : NULL);
    s->stats.ntargets = s->suite->ntargets;
    s->stats.targets = calloc(s->suite->ntargets, sizeof *s->stats.targets);
    if (!s->multi || !s->corr || !s->stats.targets) {
        replay_free(s);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->o.concurrency);
    return s;
}

void replay_stop(replay_session *s)
{
    s->stop = 1;
}

void replay_abort(replay_session *s)
{
    s->stop = 2;
    curl_multi_wakeup(s->multi);
}

void replay_wakeup(replay_session *s)
{
    curl_multi_wakeup(s->multi);
}

const replay_stats *replay_get_stats(const replay_session *s)
{
    return &s->stats;
}

/* ---- responses -------------------------------------------------------------------- */

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    rp_call *call = ctx;
    size_t len = size * n;
    if (call->first_byte_us == 0)
        call->first_byte_us = now_us();
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a status line: a new response (1xx) */
        json_decref(call->resp_headers);
        call->resp_headers = json_array();
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || !call->resp_headers)
        return len;
    size_t vlen = len - (size_t)(colon + 1 - data);
    const char *v = colon + 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    json_t *pair = json_pack("[s#,s#]", data, (int)(colon - data), v, (int)vlen);
    if (pair)
        json_array_append_new(call->resp_headers, pair);
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    rp_call *call = ctx;
    size_t len = size * n;
    if ((curl_off_t)(call->resp_body.total + len) > MAX_TRANSFER) {
        call->too_large = true;
        return 0; /* aborts the transfer */
    }
    return pm_body_append(&call->resp_body, data, len) == 0 ? len : 0;
}

static const char *error_code(CURLcode rc, const rp_call *call)
{
    if (call->too_large)
        return "too_large";
    switch (rc) {
    case CURLE_OK:
        return NULL;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return "refused";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return "reset";
    case CURLE_PARTIAL_FILE:
        return "truncated";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "garbage";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    default:
        return "other";
    }
}

/* ---- requests ------------------------------------------------------------------------ */

static int start_transfer(replay_session *s, rp_call *call)
{
    const pm_target *t = &s->suite->targets[call->target];
    const json_t *req = json_object_get(call->x->record, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    CURL *e = s->nidle > 0 ? s->idle[--s->nidle] : curl_easy_init();
    if (!e)
        return -1;
    call->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->curl_error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(t->timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(t->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL); /* bodies as sent: diff decodes */
    if (t->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (method && strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method ? method : "GET");
        if (call->body_len > 0 || (method && strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0 &&
                                   strcmp(method, "OPTIONS") != 0)) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? (char *)call->body : "");
        }
    }
    pm_body_init(&call->resp_body, s->o.max_body);
    call->resp_headers = json_array();
    call->sent_us = now_us();
    s->stats.targets[call->target].sent++;
    return curl_multi_add_handle(s->multi, e) == CURLM_OK ? 0 : -1;
}

static bool target_may_write(const replay_session *s, const pm_target *t)
{
    return t->sandbox && s->o.allow_writes;
}

/* Answers as the capture recorded them (the `recorded` pseudo-target). */
static void answer_from_record(rp_call *call)
{
    const json_t *resp = json_object_get(call->x->record, "response");
    call->done = true;
    if (!resp) {
        call->error = "no_recording";
        return;
    }
    call->status = (int)json_integer_value(json_object_get(resp, "status"));
    call->resp_headers = json_deep_copy(json_object_get(resp, "headers"));
}

static void start_exchange(replay_session *s, rp_exchange *x)
{
    /* The record's flag (the capability map's GETs that write), and in any case every
     * method but GET/HEAD/OPTIONS: a hand-made or imported capture may lack the flag. */
    const char *method = json_string_value(json_object_get(json_object_get(x->record, "request"), "method"));
    const bool mutating = json_is_true(json_object_get(x->record, "mutating")) || !method ||
                          (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0);
    x->mutating = mutating;
    for (size_t i = 0; i < s->suite->ntargets; i++) {
        rp_call *call = &x->calls[i];
        const pm_target *t = &s->suite->targets[i];
        call->x = x;
        call->target = i;
        replay_target_stats *ts = &s->stats.targets[i];
        if (t->recorded) {
            answer_from_record(call);
            continue;
        }
        if (mutating && !target_may_write(s, t)) {
            call->error = "skipped_unsafe";
            call->skipped = call->done = true;
            ts->skipped_unsafe++;
            continue;
        }
        if (rp_request_build(call, s->suite, s->corr) != 0) {
            call->done = true;
            if (call->error && strcmp(call->error, "no_credentials") == 0)
                ts->no_credentials++;
            else if (call->error && strcmp(call->error, "correlation") == 0)
                ts->correlation++;
            continue;
        }
        if (start_transfer(s, call) != 0) {
            call->error = "other";
            call->done = true;
            continue;
        }
        x->pending++;
    }
}

/* ---- results ------------------------------------------------------------------------- */

/* One target's answer as a JSON object, written straight as text, its secrets (a session
 * cookie, a token the backend issued) redacted as a capture's are. */
static void write_response(pm_jtext *t, const rp_exchange *x, const rp_call *call, const pm_target *target,
                           const pm_redactor *r)
{
    if (target->recorded) { /* the capture's own response, with the target's keys added */
        const json_t *resp = json_object_get(x->record, "response");
        json_t *copy = resp ? json_deep_copy(resp) : json_object();
        json_object_set_new(copy, "role", json_string(pm_role_name(target->role)));
        json_object_set_new(copy, "error", call->error ? json_string(call->error) : json_null());
        pm_jtext_json(t, copy);
        json_decref(copy);
        return;
    }
    pm_jtext_object_begin(t);
    pm_jtext_key(t, "role");
    pm_jtext_cstring(t, pm_role_name(target->role));
    if (call->skipped) {
        pm_jtext_key(t, "skipped");
        pm_jtext_bool(t, true);
    }
    if (call->status) {
        pm_jtext_key(t, "status");
        pm_jtext_int(t, call->status);
        pm_jtext_key(t, "headers");
        pm_jtext_array_begin(t);
        size_t i;
        const json_t *pair;
        json_array_foreach(call->resp_headers, i, pair) {
            const json_t *n = json_array_get(pair, 0), *v = json_array_get(pair, 1);
            char *red = r ? pm_redact_header_value(r, json_string_value(n), json_string_value(v)) : NULL;
            pm_jtext_array_begin(t);
            pm_jtext_string(t, json_string_value(n), json_string_length(n));
            if (red)
                pm_jtext_cstring(t, red);
            else
                pm_jtext_string(t, json_string_value(v), json_string_length(v));
            pm_jtext_array_end(t);
            free(red);
        }
        pm_jtext_array_end(t);
        pm_body_to_jtext_redacted(&call->resp_body, r, call->resp_headers, t);
    }
    if (call->sent_us) {
        pm_jtext_key(t, "latency_us");
        pm_jtext_int(t, call->first_byte_us ? call->first_byte_us - call->sent_us : 0);
        pm_jtext_key(t, "done_us");
        pm_jtext_int(t, call->done_us - call->sent_us);
    }
    pm_jtext_key(t, "error");
    pm_jtext_cstring(t, call->error);
    if (call->error && call->curl_error[0]) {
        pm_jtext_key(t, "error_detail");
        pm_jtext_cstring(t, call->curl_error);
    }
    pm_jtext_object_end(t);
}

/* The capture record's own text, its closing brace replaced by the replay's keys: the
 * recorded bodies are not parsed and escaped a second time. */
static int result_text(const rp_exchange *x, pm_jtext *t)
{
    const pm_suite *suite = x->suite;
    pm_jtext_object_reopen(t, x->text, x->text_len);
    pm_jtext_key(t, "responses");
    pm_jtext_object_begin(t);
    int64_t first_sent = INT64_MAX, last_sent = 0;
    for (size_t i = 0; i < suite->ntargets; i++) {
        const rp_call *call = &x->calls[i];
        pm_jtext_key(t, suite->targets[i].name);
        write_response(t, x, call, &suite->targets[i], x->redactor);
        if (call->sent_us && call->sent_us < first_sent)
            first_sent = call->sent_us;
        if (call->sent_us > last_sent)
            last_sent = call->sent_us;
    }
    pm_jtext_object_end(t);
    if (first_sent != INT64_MAX) {
        pm_jtext_key(t, "send_skew_us");
        pm_jtext_int(t, last_sent - first_sent);
    }
    pm_jtext_object_end(t);
    return t->failed ? -1 : 0;
}

int replay_exchange_text(const replay_exchange *x, pm_jtext *out)
{
    return result_text(x, out);
}

static void free_exchange(rp_exchange *x)
{
    for (size_t i = 0; i < x->suite->ntargets; i++) {
        rp_call *c = &x->calls[i];
        curl_slist_free_all(c->headers);
        free(c->url);
        free(c->body);
        json_decref(c->resp_headers);
        pm_body_free(&c->resp_body);
    }
    free(x->calls);
    json_decref(x->record);
    free(x->text);
    free(x);
}

void replay_exchange_free(replay_exchange *x)
{
    if (x)
        free_exchange(x);
}

/* Learns from a finished exchange, counts it, and gives it away (hand-off) or writes its
 * result for fn and frees it: x is gone after the call. */
static int finish_exchange(replay_session *s, rp_exchange *x, replay_result_fn fn, void *ctx, pm_err *err)
{
    rp_correlation_learn(s->corr, x);
    for (size_t i = 0; i < s->suite->ntargets; i++) {
        const rp_call *c = &x->calls[i];
        if (c->status && !c->error)
            s->stats.targets[i].answered++;
        else if (c->error && !c->skipped && strcmp(c->error, "correlation") != 0)
            s->stats.targets[i].errors++;
    }
    if (s->handoff) {
        s->stats.done++;
        return s->handoff(ctx, x, err);
    }
    if (result_text(x, &s->text) != 0) {
        pm_err_set(err, "record %s: cannot write its result", json_string_value(json_object_get(x->record, "id")));
        free_exchange(x);
        return -1;
    }
    const char *errors[s->suite->ntargets ? s->suite->ntargets : 1];
    bool skipped[s->suite->ntargets ? s->suite->ntargets : 1];
    for (size_t i = 0; i < s->suite->ntargets; i++) {
        errors[i] = x->calls[i].error;
        skipped[i] = x->calls[i].skipped;
    }
    replay_result r = {s->text.buf, s->text.len, json_string_value(json_object_get(x->record, "family")), errors,
                       skipped};
    int rc = fn(ctx, &r, err);
    s->stats.done++;
    free_exchange(x);
    return rc;
}

/* Keeps a finished handle for the next transfer (its allocations and DNS/connection
 * state with it) instead of freeing it: bounded by the concurrency. */
static void release_handle(replay_session *s, CURL *e)
{
    size_t cap = 2 * (size_t)s->o.concurrency * (s->suite->ntargets ? s->suite->ntargets : 1);
    if (!s->idle)
        s->idle = calloc(cap, sizeof *s->idle);
    if (s->idle && s->nidle < cap) {
        curl_easy_reset(e);
        s->idle[s->nidle++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* Finished transfers: retry a refused connection once, else close the call. */
static void collect_transfers(replay_session *s)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        rp_call *call = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(s->multi, m->easy_handle);
        if (rc == CURLE_COULDNT_CONNECT && call->retries == 0 && call->first_byte_us == 0) {
            call->retries++; /* nothing was sent: one more try is safe */
            json_decref(call->resp_headers);
            call->resp_headers = json_array();
            curl_multi_add_handle(s->multi, m->easy_handle);
            continue;
        }
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        call->error = error_code(rc, call);
        call->status = call->error ? 0 : (int)status;
        call->done_us = now_us();
        call->done = true;
        release_handle(s, m->easy_handle);
        call->easy = NULL;
        call->x->pending--;
    }
}

/* ---- scheduling ------------------------------------------------------------------------ */

/* May an exchange that began at ts start now? Not while an exchange that ended before
 * ts in the recording is still in flight here (with order_writes_only: a mutating one). */
static bool causally_free(const replay_session *s, int64_t ts)
{
    for (const rp_exchange *x = s->in_flight; x; x = x->next)
        if (x->end_us <= ts && (x->mutating || !s->o.order_writes_only))
            return false;
    return true;
}

/* µs to wait before the next start by --rate / --speed; 0 = now. */
static int64_t pacing_wait(replay_session *s, int64_t next_ts)
{
    int64_t now = now_us();
    int64_t wait = 0;
    if (s->o.speed > 0 && s->first_ts_set) {
        int64_t due = s->started_wall_us + (int64_t)((double)(next_ts - s->first_ts_us) / s->o.speed);
        if (due > now)
            wait = due - now;
    }
    if (s->o.rate > 0) {
        s->rate_tokens += (double)(now - s->rate_last_us) * s->o.rate / 1e6;
        s->rate_last_us = now;
        if (s->rate_tokens > 1)
            s->rate_tokens = 1;
        if (s->rate_tokens < 1) {
            int64_t need = (int64_t)((1 - s->rate_tokens) * 1e6 / s->o.rate);
            if (need > wait)
                wait = need;
        }
    }
    return wait;
}

static bool in_scope(replay_session *s, const json_t *rec)
{
    const json_t *cohort = json_object_get(rec, "cohort");
    pm_cohort c = {(char *)json_string_value(json_object_get(cohort, "org")),
                   (char *)json_string_value(json_object_get(cohort, "repo")),
                   (char *)json_string_value(json_object_get(cohort, "user"))};
    const char *family = json_string_value(json_object_get(rec, "family"));
    if (!pm_selection_matches(s->suite->selection, family ? family : "UNKNOWN", &c))
        return false;
    if (s->o.shard_n > 0 && rp_shard_of(rec, s->o.shard_n) != s->o.shard_k - 1)
        return false;
    return true;
}

static rp_exchange *new_exchange(replay_session *s, json_t *rec, char *text, size_t text_len)
{
    rp_exchange *x = calloc(1, sizeof *x);
    if (x)
        x->calls = calloc(s->suite->ntargets, sizeof *x->calls);
    if (!x || !x->calls) {
        free(x);
        json_decref(rec);
        free(text);
        return NULL;
    }
    x->suite = s->suite;
    x->redactor = s->o.redactor;
    x->record = rec;
    x->text = text;
    x->text_len = text_len;
    x->order = s->next_order++;
    rp_parse_ts(json_string_value(json_object_get(rec, "ts")), &x->ts_us);
    const json_t *done = json_object_get(json_object_get(rec, "response"), "done_us");
    x->end_us = json_is_integer(done) ? x->ts_us + json_integer_value(done) : INT64_MAX;
    return x;
}

/* Where records come from: a file through the reorder window, or a replay_source. */
typedef struct rp_input {
    rp_window *window;
    pm_jsonl_reader *reader;
    const replay_source *source;
} rp_input;

static int input_next(replay_session *s, rp_input *in, json_t **record, char **text, size_t *len, pm_err *err)
{
    if (in->source)
        return in->source->next(in->source->ctx, record, text, len, err);
    return rp_window_next(in->window, record, text, len, &s->stats.out_of_order, err);
}

static int run_loop(replay_session *s, rp_input *in, replay_result_fn fn, replay_progress_fn progress, void *ctx,
                    pm_err *err)
{
    json_t *next = NULL; /* the next record in scope, not started yet */
    char *next_text = NULL;
    size_t next_len = 0;
    bool input_done = false, waiting = false;
    int rc = 0;
    int64_t last_progress = now_us(), started = now_us();
    s->rate_last_us = now_us();
    s->rate_tokens = 1;
    while (rc == 0 && s->stop != 2) {
        /* start what order, concurrency and pacing allow */
        int64_t wait_us = 50000;
        while (!s->stop && (long)s->n_in_flight < s->o.concurrency) {
            if (!next && !input_done) {
                int got = input_next(s, in, &next, &next_text, &next_len, err);
                waiting = got == REPLAY_SOURCE_WAIT;
                if (got < 0) {
                    rc = -1;
                    break;
                }
                if (waiting)
                    break;
                if (got == 0) {
                    input_done = true;
                    break;
                }
                s->stats.read++;
                if (!in_scope(s, next) || (s->o.limit > 0 && (long)s->stats.in_scope >= s->o.limit)) {
                    json_decref(next);
                    free(next_text);
                    next = NULL;
                    next_text = NULL;
                    if (s->o.limit > 0 && (long)s->stats.in_scope >= s->o.limit)
                        input_done = true;
                    continue;
                }
                s->stats.in_scope++;
            }
            if (!next)
                break;
            int64_t ts = 0;
            rp_parse_ts(json_string_value(json_object_get(next, "ts")), &ts);
            if (!s->first_ts_set) {
                s->first_ts_us = ts;
                s->started_wall_us = now_us();
                s->first_ts_set = true;
            }
            if (!causally_free(s, ts))
                break;
            int64_t pace = pacing_wait(s, ts);
            if (pace > 0) {
                wait_us = pace < wait_us ? pace : wait_us;
                break;
            }
            if (s->o.rate > 0)
                s->rate_tokens -= 1;
            rp_exchange *x = new_exchange(s, next, next_text, next_len);
            next = NULL;
            next_text = NULL;
            if (!x) {
                rc = pm_err_set(err, "out of memory");
                break;
            }
            start_exchange(s, x);
            rp_exchange **tail = &s->in_flight; /* oldest first: results in start order */
            while (*tail)
                tail = &(*tail)->next;
            *tail = x;
            s->n_in_flight++;
        }
        if (rc != 0)
            break;
        if (s->n_in_flight == 0 && (input_done || s->stop) && !next)
            break;
        if (s->n_in_flight == 0 && s->stop)
            break;
        int running = 0;
        curl_multi_perform(s->multi, &running);
        collect_transfers(s);
        /* finish exchanges whose every call is done, oldest first */
        bool finished = false;
        for (rp_exchange **p = &s->in_flight; *p;) {
            rp_exchange *x = *p;
            if (x->pending > 0) {
                p = &x->next;
                continue;
            }
            *p = x->next;
            s->n_in_flight--;
            finished = true;
            if (rc != 0)
                free_exchange(x);
            else if (finish_exchange(s, x, fn, ctx, err) != 0)
                rc = -1;
        }
        if (progress && now_us() - last_progress >= 200000) {
            last_progress = now_us();
            s->stats.input_read = in->reader ? pm_jsonl_reader_progress(in->reader) : -1;
            double secs = (double)(last_progress - started) / 1e6;
            progress(ctx, &s->stats, secs > 0 ? (double)s->stats.done / secs : 0);
        }
        if (finished && next)
            continue; /* what waited on it may start now: no poll */
        if (running > 0 || s->n_in_flight > 0)
            curl_multi_poll(s->multi, NULL, 0, (int)(wait_us / 1000) + 1, NULL);
        else if ((wait_us > 0 && next) || waiting)
            curl_multi_poll(s->multi, NULL, 0, (int)(wait_us / 1000) + 1, NULL);
    }
    json_decref(next);
    free(next_text);
    /* an error or a stop: what is still in flight is abandoned with its calls' state */
    while (s->in_flight) {
        rp_exchange *x = s->in_flight;
        s->in_flight = x->next;
        for (size_t i = 0; i < s->suite->ntargets; i++)
            if (x->calls[i].easy) {
                curl_multi_remove_handle(s->multi, x->calls[i].easy);
                curl_easy_cleanup(x->calls[i].easy);
            }
        free_exchange(x);
    }
    s->n_in_flight = 0;
    if (progress) {
        s->stats.input_read = in->reader ? pm_jsonl_reader_progress(in->reader) : -1;
        double secs = (double)(now_us() - started) / 1e6;
        progress(ctx, &s->stats, secs > 0 ? (double)s->stats.done / secs : 0);
    }
    return rc;
}

int replay_run(replay_session *s, pm_jsonl_reader *in, replay_result_fn fn, replay_progress_fn progress, void *ctx,
               pm_err *err)
{
    rp_input input = {.window = rp_window_new(in, s->o.window), .reader = in};
    if (!input.window)
        return pm_err_set(err, "out of memory");
    int rc = run_loop(s, &input, fn, progress, ctx, err);
    rp_window_free(input.window);
    return rc;
}

int replay_run_handoff(replay_session *s, pm_jsonl_reader *in, replay_handoff_fn fn, replay_progress_fn progress,
                       void *ctx, pm_err *err)
{
    s->handoff = fn;
    int rc = replay_run(s, in, NULL, progress, ctx, err);
    s->handoff = NULL;
    return rc;
}

int replay_run_source(replay_session *s, const replay_source *src, replay_result_fn fn, replay_progress_fn progress,
                      void *ctx, pm_err *err)
{
    rp_input input = {.source = src};
    return run_loop(s, &input, fn, progress, ctx, err);
}

void replay_free(replay_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    free(s->idle);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    rp_correlation_free(s->corr);
    pm_config_free(s->rules);
    pm_jtext_free(&s->text);
    free(s->stats.targets);
    free(s);
}
