/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_conn.c — HTTP/1.x on one reassembled connection: two llhttp parsers (requests
 * from the client, responses from the server) and a queue of exchanges in request order.
 *
 * The rules that keep every exchange and pair it right:
 *  - an exchange is queued when its request *begins*, so a response that starts before
 *    the request body ends (100 Continue, an early 401) still pairs with it;
 *  - each response pairs with the oldest exchange that has none; 1xx interim responses
 *    (but 101) are parsed and forgotten; HEAD answers and CONNECT 2xx have no body;
 *  - an exchange leaves the queue, in order, once neither side can add to it; what the
 *    wire broke (a gap, a reset, the end of the capture) leaves with complete: false;
 *  - after a gap or a parse error a side skips to the next line that starts a message
 *    (a request line, or a status line when a request awaits one), as it does for a
 *    connection picked up in the middle; a client whose very first bytes are not HTTP
 *    makes the stream `non_http`;
 *  - an event-stream answer (text/event-stream, or a route marked `streaming`) has no end
 *    of its own: the client's FIN or RST, or the end of the capture, ends its window and
 *    it leaves complete (closed_by says who closed it); other answers cut that way stay
 *    incomplete.
 */
#include "http_conn.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUEUED 4096
#define MAX_MARKS 65536 /* packets of one stream whose times are kept (event offsets) */
#define PRESIZE_MAX ((size_t)64 << 10) /* a Content-Length sizes the body buffer up to this: a claim, from
                                       * any client on the wire, so little per exchange */

typedef struct side {
    llhttp_t parser;
    bool client;
    bool resync;      /* skipping to the next message start */
    bool in_message;  /* between message begin and complete */
    bool headers_done;
    bool interim;     /* the response being parsed is 1xx (not 101) */
    bool ended;       /* FIN or RST seen */
    bool ever_parsed; /* a message head was parsed on this side */
    bool head_too_large;
    bool drained;     /* server side: a stream's window ended; what follows reached nobody */
    int64_t ts;
    char *field, *value; /* the header being accumulated */
    size_t field_len, value_len, field_cap, value_cap;
    size_t head_bytes;
    http_exchange *x; /* the exchange whose message this side is filling */
} side;

struct http_conn {
    const http_env *env;
    uint64_t id;
    side client, server;
    http_exchange *head, *tail;
    size_t queued;
    uint64_t next_seq;
    bool stopped; /* no more parsing: non-HTTP, upgraded */
    bool failed;  /* the emit callback failed: no more records */
    http_exchange orphan; /* receives responses nobody asked for */
};

/* Per-exchange flags kept beside the public struct: whether either side can still add
 * to the request or the response. */
typedef struct exchange_state {
    http_exchange x;
    bool req_done, resp_done;
} exchange_state;

static exchange_state *state_of(http_exchange *x)
{
    return (exchange_state *)x; /* x is the first member */
}

/* ---- small helpers ------------------------------------------------------------------ */

static int append_bytes(char **s, size_t *len, const char *at, size_t n)
{
    char *p = realloc(*s, *len + n + 1);
    if (!p)
        return -1;
    memcpy(p + *len, at, n);
    *len += n;
    p[*len] = '\0';
    *s = p;
    return 0;
}

static int append_string(char **s, const char *at, size_t n)
{
    size_t len = *s ? strlen(*s) : 0;
    return append_bytes(s, &len, at, n);
}

/* append_bytes into a buffer a side reuses for every header: grown, never shrunk. */
static int append_kept(char **s, size_t *len, size_t *cap, const char *at, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 128;
        while (want < *len + n + 1)
            want *= 2;
        char *p = realloc(*s, want);
        if (!p)
            return -1;
        *s = p;
        *cap = want;
    }
    memcpy(*s + *len, at, n);
    *len += n;
    (*s)[*len] = '\0';
    return 0;
}

static http_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static side *side_of(llhttp_t *p)
{
    http_conn *c = conn_of(p);
    return p == &c->client.parser ? &c->client : &c->server;
}

static http_message *message_of(side *s)
{
    if (!s->x)
        return NULL;
    return s->client ? &s->x->req : &s->x->resp;
}

static int count_head(side *s, size_t n, const capture_options *o)
{
    if (!s->x)
        return -1; /* the exchange was forced out of the queue: resynchronise */
    s->head_bytes += n;
    if (s->head_bytes > o->max_header_bytes) {
        s->head_too_large = true;
        return -1;
    }
    return 0;
}

void http_exchange_clear(http_exchange *x)
{
    http_message *msgs[2] = {&x->req, &x->resp};
    for (int i = 0; i < 2; i++) {
        free(msgs[i]->method);
        free(msgs[i]->target);
        free(msgs[i]->reason);
        http_fields_free(&msgs[i]->headers);
        http_fields_free(&msgs[i]->trailers);
        pm_body_free(&msgs[i]->body);
        free(msgs[i]->marks);
        memset(msgs[i], 0, sizeof *msgs[i]);
    }
    pm_class_clear(&x->cls);
}

static void message_reset(http_message *m)
{
    free(m->method);
    free(m->target);
    free(m->reason);
    http_fields_free(&m->headers);
    http_fields_free(&m->trailers);
    pm_body_free(&m->body);
    free(m->marks);
    memset(m, 0, sizeof *m);
}

const char *http_closed_by_name(http_closed_by by)
{
    static const char *const names[] = {NULL, "client", "server", "capture"};
    return by >= HTTP_CLOSED_NONE && by <= HTTP_CLOSED_CAPTURE ? names[by] : NULL;
}

/* Notes that a stream's body was body_len bytes long at ts (one mark per packet time).
 * Past MAX_MARKS no more are kept: the record then gives no offsets. */
static void stream_mark(http_message *m, int64_t ts)
{
    if (m->nmarks > 0 && m->marks[m->nmarks - 1].ts == ts) {
        m->marks[m->nmarks - 1].body_len = m->body.total;
        return;
    }
    if (m->nmarks == m->marks_cap) {
        size_t cap = m->marks_cap ? m->marks_cap * 2 : 16;
        http_mark *p = cap <= MAX_MARKS ? realloc(m->marks, cap * sizeof *p) : NULL;
        if (!p) {
            m->marks_cap = SIZE_MAX; /* no more marks, and none written */
            return;
        }
        m->marks = p;
        m->marks_cap = cap;
    }
    m->marks[m->nmarks++] = (http_mark){m->body.total, ts};
}

/* ---- the queue ---------------------------------------------------------------------- */

static http_exchange *queue_new(http_conn *c)
{
    exchange_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    http_exchange *x = &st->x;
    x->seq = c->next_seq++;
    if (c->tail)
        c->tail->next = x;
    else
        c->head = x;
    c->tail = x;
    c->queued++;
    return x;
}

static void emit_head(http_conn *c)
{
    http_exchange *x = c->head;
    c->head = x->next;
    if (!c->head)
        c->tail = NULL;
    c->queued--;
    if (c->client.x == x)
        c->client.x = NULL;
    if (c->server.x == x)
        c->server.x = NULL;
    if (!c->failed && c->env->emit(c->env->ctx, x, c->id) != 0) {
        c->failed = true;
        c->stopped = true;
    }
    http_exchange_clear(x);
    free(state_of(x));
}

/* An exchange a parser is still filling. */
static bool busy(const http_conn *c, const http_exchange *x)
{
    return x == c->client.x || x == c->server.x;
}

/* Emits, in order, every exchange at the head that neither side can add to. */
static void emit_ready(http_conn *c)
{
    while (c->head && !busy(c, c->head) && state_of(c->head)->req_done && state_of(c->head)->resp_done)
        emit_head(c);
    while (c->queued > MAX_QUEUED && !busy(c, c->head)) { /* a client that never reads */
        state_of(c->head)->req_done = state_of(c->head)->resp_done = true;
        emit_head(c);
    }
}

static http_exchange *awaiting_response(http_conn *c)
{
    for (http_exchange *x = c->head; x; x = x->next)
        if (!x->has_response && !state_of(x)->resp_done)
            return x;
    return NULL;
}

/* ---- llhttp callbacks --------------------------------------------------------------- */

static int on_message_begin(llhttp_t *p)
{
    http_conn *c = conn_of(p);
    side *s = side_of(p);
    s->in_message = true;
    s->headers_done = false;
    s->interim = false;
    s->head_bytes = 0;
    if (s->client) {
        s->x = queue_new(c);
        if (!s->x)
            return -1;
    } else {
        s->x = awaiting_response(c);
        if (!s->x) {
            c->env->stats->orphan_responses++;
            s->x = &c->orphan;
        }
        s->x->has_response = true;
    }
    http_message *m = message_of(s);
    m->headers.n = 0; /* a message begun again (an orphan's) starts empty */
    m->headers.len = 0;
    m->ts_first = s->ts;
    return 0;
}

/* Head bytes into one text field of the message being parsed (method, target, reason). */
enum head_field { HEAD_METHOD, HEAD_TARGET, HEAD_REASON };

static int append_head(llhttp_t *p, enum head_field field, const char *at, size_t n)
{
    side *s = side_of(p);
    if (count_head(s, n, conn_of(p)->env->opts) != 0)
        return -1;
    http_message *m = message_of(s);
    char **dest = field == HEAD_METHOD ? &m->method : field == HEAD_TARGET ? &m->target : &m->reason;
    return append_string(dest, at, n);
}

static int on_method(llhttp_t *p, const char *at, size_t n)
{
    return append_head(p, HEAD_METHOD, at, n);
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    return append_head(p, HEAD_TARGET, at, n);
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
    return append_head(p, HEAD_REASON, at, n);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    side *s = side_of(p);
    if (count_head(s, n, conn_of(p)->env->opts) != 0)
        return -1;
    return append_kept(&s->field, &s->field_len, &s->field_cap, at, n);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    side *s = side_of(p);
    if (count_head(s, n, conn_of(p)->env->opts) != 0)
        return -1;
    return append_kept(&s->value, &s->value_len, &s->value_cap, at, n);
}

static int on_header_value_complete(llhttp_t *p)
{
    side *s = side_of(p);
    http_message *m = message_of(s);
    if (!m)
        return -1;
    /* Header bytes that are not UTF-8 are kept as they came; the record writer (pm_jtext)
     * escapes them as Latin-1. */
    int rc = http_fields_add(s->headers_done ? &m->trailers : &m->headers, s->field, s->field_len, s->value,
                             s->value_len);
    s->field_len = s->value_len = 0;
    return rc;
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn *c = conn_of(p);
    side *s = side_of(p);
    http_message *m = message_of(s);
    if (!m)
        return -1;
    s->headers_done = true;
    s->ever_parsed = true;
    m->major = p->http_major;
    m->minor = p->http_minor;
    if (s->client) {
        if (!m->method)
            m->method = strdup(llhttp_method_name((llhttp_method_t)p->method));
        http_exchange *x = s->x;
        const char *auth = http_fields_get(&m->headers, "authorization");
        const char *user = auth ? auth_users_get(c->env->users, auth) : NULL;
        if (c->env->classes)
            pm_classify_cached(c->env->classes, m->method, m->target ? m->target : "/", user, &x->cls);
        else
            pm_classify_user(c->env->opts->map, m->method, m->target ? m->target : "/", user, &x->cls);
        if (http_fields_override_mutating(&m->headers))
            x->cls.mutating = true;
        x->classified = true;
        x->selected = pm_selection_matches(c->env->opts->selection, x->cls.family, &x->cls.cohort);
        return 0;
    }
    m->status = p->status_code;
    if (m->status >= 100 && m->status < 200 && m->status != 101) {
        s->interim = true;
        return 0;
    }
    const char *method = s->x->req.method;
    if ((method && strcmp(method, "HEAD") == 0) || m->status == 204 || m->status == 304)
        return 1; /* no body, whatever Content-Length says (RFC 9110, 6.4.1) */
    if (method && strcmp(method, "CONNECT") == 0 && m->status >= 200 && m->status < 300)
        return 2; /* a tunnel follows */
    /* an event stream: a 2xx answer (a 101 or an error on a streaming route is none) */
    m->stream = m->status >= 200 && m->status < 300 &&
                (s->x->cls.streaming || pm_sse_is_stream_type(http_fields_get(&m->headers, "content-type")));
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = conn_of(p);
    side *s = side_of(p);
    http_message *m = message_of(s);
    if (!m)
        return -1;
    if (m->body.total == 0 && !m->body.data) {
        pm_body_init_sha_when_cut(&m->body, c->env->opts->max_body);
        /* the declared length at once, not by doublings (a claim: within reason) */
        if ((p->flags & F_CONTENT_LENGTH) && pm_body_reserve(&m->body, n + (p->content_length < PRESIZE_MAX
                                                                                ? (size_t)p->content_length
                                                                                : PRESIZE_MAX)) != 0)
            return -1;
    }
    bool was_truncated = m->body.len < m->body.total;
    if (pm_body_append(&m->body, at, n) != 0)
        return -1;
    if (!was_truncated && m->body.len < m->body.total)
        c->env->stats->truncated_bodies++;
    if (m->stream && m->marks_cap != SIZE_MAX)
        stream_mark(m, s->ts);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_conn *c = conn_of(p);
    side *s = side_of(p);
    http_message *m = message_of(s);
    s->in_message = false;
    if (!m)
        return -1;
    if (s->client) {
        m->complete = true;
        m->ts_last = s->ts;
        state_of(s->x)->req_done = true;
    } else if (s->interim) {
        message_reset(m); /* 100 Continue is not the answer */
        s->x->has_response = false;
        s->interim = false;
    } else if (s->x == &c->orphan) {
        http_exchange_clear(&c->orphan);
        memset(&c->orphan, 0, sizeof c->orphan);
    } else {
        m->complete = true;
        m->ts_last = s->ts;
        if (m->stream && m->closed_by == HTTP_CLOSED_NONE)
            m->closed_by = HTTP_CLOSED_SERVER; /* it ended the stream itself */
        state_of(s->x)->resp_done = true;
    }
    s->x = NULL;
    emit_ready(c);
    return 0;
}

static const llhttp_settings_t request_settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static const llhttp_settings_t response_settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- connection ----------------------------------------------------------------------- */

static void side_init(http_conn *c, side *s, bool client, bool midstream)
{
    llhttp_init(&s->parser, client ? HTTP_REQUEST : HTTP_RESPONSE,
                client ? &request_settings : &response_settings);
    s->parser.data = c;
    /* We observe; we do not enforce. Keep parsing what a real peer accepted. */
    llhttp_set_lenient_keep_alive(&s->parser, 1);
    s->client = client;
    s->resync = midstream;
}

http_conn *http_conn_new(const http_env *env, uint64_t conn_id, bool midstream)
{
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->env = env;
    c->id = conn_id;
    side_init(c, &c->client, true, midstream);
    side_init(c, &c->server, false, midstream);
    return c;
}

bool http_conn_stopped(const http_conn *c)
{
    return c->stopped;
}

bool http_conn_failed(const http_conn *c)
{
    return c->failed;
}

static bool is_method_start(const uint8_t *p, size_t n)
{
    static const char *const methods[] = {"GET ",     "HEAD ",    "POST ",  "PUT ",  "DELETE ",
                                          "PATCH ",   "OPTIONS ", "CONNECT ", "TRACE ", NULL};
    for (const char *const *m = methods; *m; m++) {
        size_t k = strlen(*m);
        if (n >= k && memcmp(p, *m, k) == 0)
            return n > k ? (p[k] == '/' || p[k] == 'h' || p[k] == '*' || (p[k] >= 'a' && p[k] <= 'z') ||
                            (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9'))
                         : true;
    }
    return false;
}

static bool is_status_start(const uint8_t *p, size_t n)
{
    if (n < 12)
        return n >= 7 && memcmp(p, "HTTP/1.", 7) == 0;
    return memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ' && p[9] >= '1' && p[9] <= '5';
}

/* Offset of the first line start that begins a message on this side, or len. */
static size_t find_message_start(http_conn *c, side *s, const uint8_t *data, size_t len)
{
    if (!s->client && !awaiting_response(c))
        return len;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && data[i - 1] != '\n')
            continue;
        if (s->client ? is_method_start(data + i, len - i) : is_status_start(data + i, len - i))
            return i;
    }
    return len;
}

/* The message in progress on a side will never complete. */
static void abandon_message(http_conn *c, side *s)
{
    if (!s->in_message)
        return;
    if (s->client) {
        if (s->x) {
            c->env->stats->lost_requests++;
            state_of(s->x)->req_done = true;
        }
    } else if (s->x == &c->orphan) {
        http_exchange_clear(&c->orphan);
        memset(&c->orphan, 0, sizeof c->orphan);
    } else if (s->x) {
        if (s->interim) {
            message_reset(&s->x->resp);
            s->x->has_response = false;
        } else {
            state_of(s->x)->resp_done = true;
        }
    }
    s->in_message = false;
    s->x = NULL;
    s->field_len = s->value_len = 0;
}

static void start_resync(http_conn *c, side *s)
{
    abandon_message(c, s);
    llhttp_reset(&s->parser);
    s->resync = true;
    emit_ready(c);
}

static void stop_parsing(http_conn *c)
{
    c->stopped = true;
}

void http_conn_data(http_conn *c, bool from_client, const uint8_t *data, size_t len, int64_t ts_us)
{
    side *s = from_client ? &c->client : &c->server;
    s->ts = ts_us;
    if (s->drained)
        return;
    while (len > 0 && !c->stopped) {
        if (s->resync) {
            size_t off = find_message_start(c, s, data, len);
            c->env->stats->skipped_bytes += off;
            if (off == len)
                return;
            data += off;
            len -= off;
            s->resync = false;
        }
        llhttp_errno_t err = llhttp_execute(&s->parser, (const char *)data, len);
        if (err == HPE_OK)
            return;
        if (err == HPE_PAUSED_UPGRADE) {
            if (!from_client) { /* 101, or 2xx to CONNECT: a tunnel from here on */
                c->env->stats->upgraded_streams++;
                stop_parsing(c);
            }
            /* the client side waits: a refused upgrade goes on as HTTP */
            return;
        }
        if (from_client && !s->ever_parsed && !s->head_too_large) {
            /* The client's first bytes are not HTTP: not our stream. */
            c->env->stats->non_http_streams++;
            c->env->stats->http_streams--;
            s->in_message = false; /* nothing was a request: nothing is lost */
            stop_parsing(c);
            return;
        }
        c->env->stats->http_errors++;
        const char *pos = llhttp_get_error_pos(&s->parser);
        size_t done = pos && pos >= (const char *)data && pos <= (const char *)data + len
                          ? (size_t)(pos - (const char *)data)
                          : len;
        if (done == 0)
            done = 1; /* always make progress */
        s->head_too_large = false;
        start_resync(c, s);
        data += done;
        len -= done;
    }
}

void http_conn_gap(http_conn *c, bool from_client, uint64_t missing, int64_t ts_us)
{
    (void)missing;
    side *s = from_client ? &c->client : &c->server;
    s->ts = ts_us;
    if (c->stopped)
        return;
    start_resync(c, s);
}

/* Every exchange still waiting for an answer will never get one. */
static void no_more_responses(http_conn *c)
{
    for (http_exchange *x = c->head; x; x = x->next)
        state_of(x)->resp_done = true;
}

/* An event stream the server is still sending ends its window here, complete: whatever
 * the server sends after it reached nobody (dropped, not counted as skipped bytes).
 * False when the server side is not inside a stream's body. */
static bool close_stream(http_conn *c, http_closed_by by, int64_t ts)
{
    side *s = &c->server;
    if (c->stopped || s->resync || !s->in_message || !s->headers_done || !s->x || s->x == &c->orphan ||
        !s->x->resp.stream)
        return false;
    http_message *m = &s->x->resp;
    m->complete = true;
    m->ts_last = ts;
    m->closed_by = by;
    state_of(s->x)->resp_done = true;
    s->in_message = false;
    s->x = NULL;
    s->field_len = s->value_len = 0;
    llhttp_reset(&s->parser);
    s->resync = true;
    s->drained = by == HTTP_CLOSED_CLIENT;
    return true;
}

void http_conn_end(http_conn *c, bool from_client, bool reset, int64_t ts_us)
{
    side *s = from_client ? &c->client : &c->server;
    s->ts = ts_us;
    if (s->ended)
        return;
    s->ended = true;
    if (from_client && close_stream(c, HTTP_CLOSED_CLIENT, ts_us))
        no_more_responses(c); /* nothing pipelined behind a stream can be answered */
    if (!from_client && !c->stopped && !s->resync && s->in_message && s->x && s->x != &c->orphan &&
        s->x->resp.stream) {
        /* The server ended its stream with a FIN: a close-delimited body completes by
         * llhttp_finish (on_message_complete names the server), a chunked one cut here is
         * complete too. A reset broke it: it stays incomplete, as any answer would. */
        if (reset)
            s->x->resp.closed_by = HTTP_CLOSED_SERVER;
        else if (llhttp_message_needs_eof(&s->parser))
            llhttp_finish(&s->parser);
        else
            close_stream(c, HTTP_CLOSED_SERVER, ts_us);
    }
    if (!c->stopped && !s->resync && s->in_message) {
        /* A body delimited by the close completes at a FIN, never at a reset. */
        if (!reset && !s->client && llhttp_message_needs_eof(&s->parser))
            llhttp_finish(&s->parser);
        abandon_message(c, s);
    }
    if (!from_client || reset)
        no_more_responses(c);
    if (reset) {
        side *other = from_client ? &c->server : &c->client;
        abandon_message(c, other);
        for (http_exchange *x = c->head; x; x = x->next)
            state_of(x)->req_done = true;
    }
    emit_ready(c);
}

void http_conn_close(http_conn *c, int64_t ts_us)
{
    c->client.ts = c->server.ts = ts_us;
    close_stream(c, HTTP_CLOSED_CAPTURE, ts_us);
    abandon_message(c, &c->client);
    abandon_message(c, &c->server);
    for (http_exchange *x = c->head; x; x = x->next)
        state_of(x)->req_done = state_of(x)->resp_done = true;
    emit_ready(c);
}

void http_conn_free(http_conn *c)
{
    if (!c)
        return;
    while (c->head) {
        http_exchange *x = c->head;
        c->head = x->next;
        http_exchange_clear(x);
        free(state_of(x));
    }
    http_exchange_clear(&c->orphan);
    free(c->client.field);
    free(c->client.value);
    free(c->server.field);
    free(c->server.value);
    free(c);
}
