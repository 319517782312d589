/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c — the replay loop: every target of an exchange sent at the same moment,
 * results in the order exchanges finish. A call goes through replay's own HTTP/1.1 client
 * (h1.c) when that can take it (no body, a plain target), else through one libcurl multi
 * handle; one poll waits on both.
 *
 * Order (DESIGN.md "Order and correlation"): exchanges start in request order; one whose
 * recorded request began after another's recorded response ended waits until that one
 * is finished here too, whatever connection either used (a registry client uploads a
 * blob over three connections). Exchanges that overlapped in the recording may overlap
 * here, up to the concurrency. Pacing on top: --rate (starts per second) and --speed
 * (the recording's timing, faster or slower). Each exchange's answers feed the
 * correlation tables before any later exchange is built.
 *
 * Event streams (stream.c): held for their recorded window, then closed here without an
 * error; an exchange recorded while one was open waits only for its head on every target.
 *
 * Side effects: a mutating exchange (the record's `mutating`) goes only to sandbox
 * targets, and only with allow_writes; elsewhere it is `skipped_unsafe`.
 *
 * --mixed (mixed.c): an exchange that is a step of a flow goes to the one target the
 * pattern picks; its result holds that one answer and a `mixed` object.
 *
 * Elsewhere: a request built (request.c), the own client and its bytes on the wire (h1.c,
 * h1_wire.c), the easy handles kept per target (handles.c), a finished exchange's result
 * record written (result.c).
 */
#include "replay_internal.h"
#include "core/curl_sends.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRANSFER ((curl_off_t)1 << 30) /* an endless body is an error, not memory */
#define PRESIZE_MAX ((size_t)1 << 20)       /* a Content-Length sizes the body buffer up to this */

struct replay_session {
    replay_options o;
    pm_config *rules; /* the correlation rules (o.correlation_path), when given */
    const pm_suite *suite;
    CURLM *multi;
    rp_h1 *h1;        /* the calls libcurl is not needed for (h1.c) */
    rp_correlation *corr;
    rp_mixed *mixed;  /* --mixed: the flows seen so far; NULL: off */
    rp_exchange *in_flight;
    size_t n_in_flight;
    uint64_t next_order;
    replay_stats stats;
    pm_jtext text; /* the result being written, reused */
    pm_jtape text_tokens; /* its tokens, with o.result_tokens */
    pm_secrets *sent; /* what the suite's credentials and headers send (with a redactor) */
    replay_handoff_fn handoff; /* replay_run_handoff: exchanges given away, not written */
    rp_handles *handles; /* finished easy handles, kept per target for the next transfers */
    volatile sig_atomic_t stop;
    int64_t first_ts_us, started_wall_us;
    bool first_ts_set;
    double rate_tokens;
    int64_t rate_last_us;
};

static const rp_h1_sink h1_sink; /* below: where answers go */

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
    o->hash_uncut = true;
}

replay_session *replay_new(const replay_options *o, pm_err *err)
{
    replay_session *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < o->suite->ntargets; i++)
        if (o->suite->targets[i].database) {
            free(s);
            pm_err_set(err, "target %s is a worker target (database:): jobs are replayed by pmirror worker",
                       o->suite->targets[i].name);
            return NULL;
        }
    s->o = *o;
    if (o->result_tokens)
        pm_jtext_tape_start(&s->text, &s->text_tokens);
    s->suite = o->suite;
    if (o->redactor && (!(s->sent = pm_secrets_new()) || pm_secrets_add_suite(s->sent, o->redactor, o->suite) != 0)) {
        pm_secrets_free(s->sent);
        free(s);
        pm_err_set(err, "out of memory");
        return NULL;
    }
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
    if (o->correlation_path) {
        s->rules = pm_config_load(o->correlation_path, err);
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
    if (o->mixed != REPLAY_MIXED_OFF && !(s->mixed = rp_mixed_new(o->mixed, s->suite, err))) {
        replay_free(s);
        return NULL;
    }
    s->corr = rp_correlation_new(s->suite->ntargets, s->rules ? pm_config_root(s->rules) : NULL);
    s->stats.ntargets = s->suite->ntargets;
    s->stats.targets = calloc(s->suite->ntargets, sizeof *s->stats.targets);
    s->handles = rp_handles_new(s->suite, 2 * (size_t)s->o.concurrency); /* bounded by the concurrency */
    s->h1 = rp_h1_new(s->suite, 2 * (size_t)s->o.concurrency, &h1_sink);
    if (!s->multi || !s->h1 || !s->corr || !s->stats.targets || !s->handles) {
        replay_free(s);
        pm_err_set(err, "out of memory");
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->o.concurrency);
    /* keep a connection to every target for every exchange that may be in flight: curl's
     * default keeps 4 per transfer in flight at the moment one ends, so a shadow whose
     * copies come in bursts (the tee's) closed what the last burst opened and connected
     * again for the next */
    long targets = s->suite->ntargets ? (long)s->suite->ntargets : 1;
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->o.concurrency * targets);
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

/* Room for `more` bytes in a growing buffer. */
static bool reserve(void **buf, size_t len, size_t *cap, size_t more)
{
    if (len + more <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < len + more)
        c *= 2;
    void *p = realloc(*buf, c);
    if (!p)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

/* One "name: value" header line kept as a "name\0value\0" pair (a NUL inside ends it). */
static void add_header(rp_call *call, const char *name, size_t nlen, const char *v, size_t vlen)
{
    if (!reserve((void **)&call->hdr, call->hdr_len, &call->hdr_cap, nlen + vlen + 2))
        return;
    char *at = call->hdr + call->hdr_len;
    memcpy(at, name, nlen);
    at[nlen] = '\0';
    memcpy(at + nlen + 1, v, vlen);
    at[nlen + 1 + vlen] = '\0';
    call->hdr_len += nlen + vlen + 2;
}

/* ---- an answer as it arrives, from libcurl or rp_h1 ------------------------------------ */

static void call_head(void *ctx) /* a status line: a new answer (after a 1xx) */
{
    rp_call *call = ctx;
    if (call->first_byte_us == 0)
        call->first_byte_us = now_us();
    call->hdr_len = 0;
}

static void call_header(void *ctx, const char *name, size_t nlen, const char *v, size_t vlen)
{
    rp_call *call = ctx;
    if (call->first_byte_us == 0)
        call->first_byte_us = now_us();
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    add_header(call, name, nlen, v, vlen);
    if (nlen == 14 && strncasecmp(name, "content-length", 14) == 0 && !call->spilled) {
        /* the body's room at once, not by doublings (a claim, so within reason: a HEAD
         * or a 304 says a length and sends nothing) */
        char digits[24];
        size_t n = vlen < sizeof digits - 1 ? vlen : sizeof digits - 1;
        memcpy(digits, v, n);
        digits[n] = '\0';
        size_t want = (size_t)strtoull(digits, NULL, 10);
        if (want <= call->body_limit && want <= PRESIZE_MAX)
            reserve((void **)&call->data, call->data_len, &call->data_cap, want);
    }
}

static bool call_body(void *ctx, const char *data, size_t len)
{
    rp_call *call = ctx;
    if ((curl_off_t)(call->body_total + len) > MAX_TRANSFER) {
        call->too_large = true;
        return false; /* aborts the transfer */
    }
    call->body_total += len;
    if (!call->spilled && call->data_len + len <= call->body_limit) {
        if (!reserve((void **)&call->data, call->data_len, &call->data_cap, len))
            return false;
        memcpy(call->data + call->data_len, data, len);
        call->data_len += len;
        return true;
    }
    if (!call->spilled) { /* past the cap: count and hash from here on */
        call->spilled = true;
        pm_body_init(&call->resp_body, call->body_limit);
        if (pm_body_append(&call->resp_body, call->data, call->data_len) != 0)
            return false;
        free(call->data);
        call->data = NULL;
        call->data_len = call->data_cap = 0;
    }
    return pm_body_append(&call->resp_body, data, len) == 0;
}

static const rp_h1_sink h1_sink = {call_head, call_header, call_body};

/* libcurl's header callback: one raw line at a time */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a status line: a new response (1xx) */
        call_head(ctx);
        return len;
    }
    rp_call *call = ctx;
    if (call->first_byte_us == 0)
        call->first_byte_us = now_us();
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - data), vlen = len - nlen - 1;
    const char *v = colon + 1;
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    call_header(ctx, data, nlen, v, vlen);
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    return call_body(ctx, data, size * n) ? size * n : 0;
}

/* TLS failures are named in call->curl_error (tls.h); nginx's 400 refusing the client
 * certificate is one too, not the application's answer. */
static const char *error_code(CURL *e, CURLcode rc, rp_call *call, long status)
{
    if (call->too_large)
        return "too_large";
    const char *tls = pm_tls_error(e, (int)rc, call->curl_error);
    if (!tls && rc == CURLE_OK && status == 400) {
        size_t len;
        const unsigned char *body = rp_call_body(call, &len);
        tls = pm_tls_answer_error(status, body, len, call->curl_error);
    }
    return tls ? tls : pm_curl_error_code((int)rc);
}

/* ---- requests ------------------------------------------------------------------------ */

static int start_transfer(replay_session *s, rp_call *call)
{
    const pm_target *t = &s->suite->targets[call->target];
    const char *method = call->x->rec->method;
    long timeout_ms = rp_stream_timeout_ms(call->x, t, s->o.stream_window_s);
    if (rp_h1_serves(s->h1, call->target, method, call->body_len)) {
        call->body_limit = s->o.max_body;
        call->sent_us = now_us();
        s->stats.targets[call->target].sent++;
        call->on_h1 = rp_h1_start(s->h1, call, method, timeout_ms) == 0;
        return call->on_h1 ? 0 : -1;
    }
    CURL *e = rp_handles_take(s->handles, call->target, &call->sends);
    if (!e)
        return -1;
    call->easy = e;
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, call->request_target);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->curl_error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
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
    call->body_limit = s->o.max_body;
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
    const rp_record *rec = call->x->rec;
    call->done = true;
    if (rec->response < 0) {
        call->error = "no_recording";
        return;
    }
    call->status = rec->resp_status;
    for (size_t i = 0; i < rec->n_resp_headers; i++)
        add_header(call, rec->resp_headers[i].name, strlen(rec->resp_headers[i].name), rec->resp_headers[i].value,
                   strlen(rec->resp_headers[i].value));
}

static void start_exchange(replay_session *s, rp_exchange *x)
{
    /* The record's flag (the capability map's GETs that write), and in any case every
     * method but GET/HEAD/OPTIONS and every request whose method-override header names
     * another: a hand-made, imported or older capture may lack the flag. */
    const char *method = x->rec->method;
    bool mutating = x->rec->mutating || !method || !pm_method_is_safe(method);
    for (size_t h = 0; h < x->rec->n_req_headers && !mutating; h++)
        mutating = pm_header_overrides_to_mutating(x->rec->req_headers[h].name, x->rec->req_headers[h].value);
    x->mutating = mutating;
    if (s->mixed && (x->mixed = rp_mixed_assign(s->mixed, x->rec))) {
        s->stats.mixed_steps++;
        s->stats.mixed_flows += x->mixed->step == 0;
    }
    for (size_t i = 0; i < s->suite->ntargets; i++) {
        rp_call *call = &x->calls[i];
        const pm_target *t = &s->suite->targets[i];
        call->x = x;
        call->target = i;
        replay_target_stats *ts = &s->stats.targets[i];
        if (x->mixed && x->mixed->target != i) { /* another target's step: not sent, not written */
            call->error = "mixed";
            call->skipped = call->done = true;
            continue;
        }
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

const char *replay_exchange_family(const replay_exchange *x)
{
    return x->rec->family;
}

const char *replay_exchange_error(const replay_exchange *x, size_t target, bool *skipped)
{
    *skipped = x->calls[target].skipped;
    return x->calls[target].error;
}

static void free_exchange(rp_exchange *x)
{
    for (size_t i = 0; i < x->suite->ntargets; i++) {
        rp_call *c = &x->calls[i];
        curl_slist_free_all(c->headers);
        free(c->url);
        free(c->request_target);
        free(c->body);
        free(c->hdr);
        free(c->data);
        pm_body_free(&c->resp_body);
    }
    free(x->calls);
    rp_mixed_step_free(x->mixed);
    rp_record_free(x->rec);
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
    if (rp_result_text(x, &s->text) != 0) {
        pm_err_set(err, "record %s: cannot write its result", x->rec->id ? x->rec->id : "?");
        free_exchange(x);
        return -1;
    }
    const char *errors[s->suite->ntargets ? s->suite->ntargets : 1];
    bool skipped[s->suite->ntargets ? s->suite->ntargets : 1];
    for (size_t i = 0; i < s->suite->ntargets; i++) {
        errors[i] = x->calls[i].error;
        skipped[i] = x->calls[i].skipped;
    }
    const pm_jtape *tokens = s->o.result_tokens ? pm_jtext_tape_done(&s->text, JSON_PARSER_MAX_DEPTH) : NULL;
    replay_result r = {s->text.buf, s->text.len, tokens, x->rec->family, errors, skipped};
    int rc = fn(ctx, &r, err);
    s->stats.done++;
    free_exchange(x);
    return rc;
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
            call->hdr_len = 0;
            curl_multi_add_handle(s->multi, m->easy_handle);
            continue;
        }
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        call->error = rp_stream_window_over(call, (int)rc, status) ? NULL : error_code(m->easy_handle, rc, call, status);
        call->status = call->error ? 0 : (int)status;
        call->done_us = now_us();
        call->done = true;
        rp_handles_give(s->handles, call->target, m->easy_handle, pm_curl_sends_clean(rc, call->sends));
        call->easy = NULL;
        call->x->pending--;
    }
}

/* A call rp_h1 finished: as collect_transfers does for curl's. */
static void h1_done(void *ctx, rp_call *call, int code, int status)
{
    replay_session *s = ctx;
    if (code == CURLE_COULDNT_CONNECT && call->retries == 0 && call->first_byte_us == 0) {
        call->retries++; /* nothing was sent: one more try is safe */
        call->hdr_len = 0;
        call->curl_error[0] = '\0';
        if (rp_h1_start(s->h1, call, call->x->rec->method, rp_stream_timeout_ms(call->x, &s->suite->targets[call->target],
                                                                                  s->o.stream_window_s)) == 0)
            return;
        code = CURLE_OUT_OF_MEMORY;
    }
    if (call->too_large)
        call->error = "too_large";
    else
        call->error = rp_stream_window_over(call, code, status) ? NULL : pm_curl_error_code(code);
    call->status = call->error ? 0 : status;
    call->done_us = now_us();
    call->done = true;
    call->on_h1 = false;
    call->x->pending--;
}

/* ---- scheduling ------------------------------------------------------------------------ */

/* May an exchange that began at ts start now? Not while an exchange that ended before
 * ts in the recording is still in flight here (with order_writes_only: a mutating one). */
static bool causally_free(const replay_session *s, int64_t ts)
{
    for (const rp_exchange *x = s->in_flight; x; x = x->next)
        if ((x->end_us <= ts && (x->mutating || !s->o.order_writes_only)) || rp_stream_holds(x, ts))
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

static bool in_scope(replay_session *s, const rp_record *rec)
{
    pm_cohort c = {(char *)rec->org, (char *)rec->repo, (char *)rec->user};
    const char *family = rec->family;
    if (!pm_selection_matches(s->suite->selection, family ? family : "UNKNOWN", &c))
        return false;
    if (s->o.shard_n > 0 && rp_shard_of(rec, s->o.shard_n) != s->o.shard_k - 1)
        return false;
    return true;
}

static rp_exchange *new_exchange(replay_session *s, rp_record *rec)
{
    rp_exchange *x = calloc(1, sizeof *x);
    if (x)
        x->calls = calloc(s->suite->ntargets, sizeof *x->calls);
    if (!x || !x->calls) {
        free(x);
        rp_record_free(rec);
        return NULL;
    }
    x->suite = s->suite;
    x->redactor = s->o.redactor;
    x->hash_uncut = s->o.hash_uncut;
    x->sent = s->sent;
    x->rec = rec;
    x->order = s->next_order++;
    x->ts_us = rec->has_ts ? rec->ts_us : 0;
    x->end_us = rec->end_us;
    rp_stream_init(x);
    return x;
}

/* Where records come from: a file through the reorder window (run by a reader thread for
 * a regular file, reader.c), or a replay_source. */
typedef struct rp_input {
    rp_window *window;
    rp_reader *ahead;
    pm_jsonl_reader *reader;
    const replay_source *source;
} rp_input;

static int input_next(replay_session *s, rp_input *in, rp_record **record, pm_err *err)
{
    if (in->ahead)
        return rp_reader_next(in->ahead, record, &s->stats.out_of_order, err);
    if (!in->source)
        return rp_window_next(in->window, record, &s->stats.out_of_order, err);
    for (;;) {
        json_t *tree = NULL; /* the source's tree, if any: replay reads the text */
        char *text = NULL;
        size_t len = 0;
        const pm_jtape *tokens = NULL; /* when the source has them: no parse */
        int got = in->source->next(in->source->ctx, &tree, &text, &len, &tokens, err);
        json_decref(tree);
        if (got != 1)
            return got;
        pm_err why;
        if ((*record = rp_record_new(text, len, tokens, &why)))
            return 1;
        s->stats.unreadable++; /* live input: counted, and the next one taken */
    }
}

static double input_progress(rp_input *in)
{
    if (in->ahead)
        return rp_reader_progress(in->ahead);
    return in->reader ? pm_jsonl_reader_progress(in->reader) : -1;
}

static int run_loop(replay_session *s, rp_input *in, replay_result_fn fn, replay_progress_fn progress, void *ctx,
                    pm_err *err)
{
    rp_record *next = NULL; /* the next record in scope, not started yet */
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
                int got = input_next(s, in, &next, err);
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
                    rp_record_free(next);
                    next = NULL;
                    if (s->o.limit > 0 && (long)s->stats.in_scope >= s->o.limit)
                        input_done = true;
                    continue;
                }
                s->stats.in_scope++;
            }
            if (!next)
                break;
            int64_t ts = next->has_ts ? next->ts_us : 0;
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
            rp_exchange *x = new_exchange(s, next);
            next = NULL;
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
        rp_h1_run(s->h1, h1_done, s);
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
            s->stats.input_read = input_progress(in);
            double secs = (double)(last_progress - started) / 1e6;
            progress(ctx, &s->stats, secs > 0 ? (double)s->stats.done / secs : 0);
        }
        if (finished && next)
            continue; /* what waited on it may start now: no poll */
        if (running > 0 || s->n_in_flight > 0 || (wait_us > 0 && next) || waiting) {
            int64_t due = rp_h1_next_deadline(s->h1);
            if (due >= 0) {
                int64_t until = due - now_us();
                wait_us = until < 0 ? 0 : until < wait_us ? until : wait_us;
            }
            struct curl_waitfd h1_fd = {rp_h1_fd(s->h1), CURL_WAIT_POLLIN, 0};
            curl_multi_poll(s->multi, &h1_fd, 1, (int)(wait_us / 1000) + 1, NULL);
        }
    }
    rp_record_free(next);
    /* an error or a stop: what is still in flight is abandoned with its calls' state */
    while (s->in_flight) {
        rp_exchange *x = s->in_flight;
        s->in_flight = x->next;
        for (size_t i = 0; i < s->suite->ntargets; i++) {
            if (x->calls[i].easy) {
                curl_multi_remove_handle(s->multi, x->calls[i].easy);
                curl_easy_cleanup(x->calls[i].easy);
            }
            if (x->calls[i].on_h1)
                rp_h1_abandon(s->h1, &x->calls[i]);
        }
        free_exchange(x);
    }
    s->n_in_flight = 0;
    if (progress) {
        s->stats.input_read = input_progress(in);
        double secs = (double)(now_us() - started) / 1e6;
        progress(ctx, &s->stats, secs > 0 ? (double)s->stats.done / secs : 0);
    }
    return rc;
}

int replay_run(replay_session *s, pm_jsonl_reader *in, replay_result_fn fn, replay_progress_fn progress, void *ctx,
               pm_err *err)
{
    rp_input input = {.reader = in};
    if (pm_jsonl_reader_progress(in) >= 0) { /* a regular file: read ahead on a thread */
        if (!(input.ahead = rp_reader_start(in, s->o.window, err)))
            return -1;
    } else if (!(input.window = rp_window_new(in, s->o.window))) {
        return pm_err_set(err, "out of memory");
    }
    int rc = run_loop(s, &input, fn, progress, ctx, err);
    rp_reader_free(input.ahead);
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
    pm_secrets_free(s->sent);
    rp_handles_free(s->handles);
    rp_h1_free(s->h1);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    rp_correlation_free(s->corr);
    rp_mixed_free(s->mixed);
    pm_config_free(s->rules);
    pm_jtext_free(&s->text);
    pm_jtape_free(&s->text_tokens);
    free(s->stats.targets);
    free(s);
}
