/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_serve.c — `pmirror serve`, the recorded backend, through its API: each test
 * writes a few capture (or result) records with pm_jsonl_writer, starts a server on
 * 127.0.0.1 port 0, asks it with libcurl, and checks what comes back against what was
 * recorded: matching (exact, in order, by body hash, without _state, without query,
 * 404), the answer (headers in order, hop-by-hop dropped, Date now, HEAD), upload UUIDs
 * handed out fresh and read back, --target, delays, and bad fixtures.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "replay/replay.h"

/* ---- temporary directory -------------------------------------------------------- */

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pm-serve-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
    curl_global_cleanup();
    if (dir[0])
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 30);

static const char *in_dir(const char *name)
{
    static char paths[4][300];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* ---- fixtures: capture records written with pm_jsonl_writer ---------------------- */

typedef struct {
    const char *ts;
    int seq;
    const char *method, *target, *request_body;
    int status;                 /* 0: the record has no response */
    const char *headers;        /* JSON text of [[name, value], ...], NULL = [] */
    const char *body;
    long latency_us;
} exchange_spec;

static json_t *message(const char *headers_json, const char *body)
{
    json_error_t jerr;
    json_t *headers = headers_json ? json_loads(headers_json, 0, &jerr) : json_array();
    cr_assert_not_null(headers, "bad headers in the test: %s", headers_json);
    json_t *m = json_object();
    json_object_set_new(m, "headers", headers);
    size_t len = body ? strlen(body) : 0;
    pm_record_set_body(m, (const unsigned char *)(body ? body : ""), len, len, NULL);
    return m;
}

static json_t *capture_record(const exchange_spec *x)
{
    json_t *r = pm_record_new();
    char id[32];
    snprintf(id, sizeof id, "t-%d", x->seq);
    json_object_set_new(r, "id", json_string(id));
    json_object_set_new(r, "ts", json_string(x->ts ? x->ts : "2026-11-01T10:00:00.000000Z"));
    json_object_set_new(r, "session", json_string("t-1"));
    json_object_set_new(r, "seq", json_integer(x->seq));
    json_t *req = message("[[\"Host\",\"quay.example.test\"]]", x->request_body);
    json_object_set_new(req, "method", json_string(x->method));
    json_object_set_new(req, "target", json_string(x->target));
    json_object_set_new(r, "request", req);
    if (x->status) {
        json_t *resp = message(x->headers, x->body);
        json_object_set_new(resp, "status", json_integer(x->status));
        if (x->latency_us)
            json_object_set_new(resp, "latency_us", json_integer(x->latency_us));
        json_object_set_new(r, "response", resp);
    }
    return r;
}

static void write_file(const char *path, json_t **records, size_t n)
{
    pm_err err;
    pm_jsonl_writer *w = pm_jsonl_writer_open(path, &err);
    cr_assert_not_null(w, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(pm_jsonl_writer_write(w, records[i], &err), 0, "%s", err.msg);
        json_decref(records[i]);
    }
    cr_assert_eq(pm_jsonl_writer_close(w, &err), 0, "%s", err.msg);
}

static const char *write_capture(const exchange_spec *xs, size_t n)
{
    const char *path = in_dir("capture.jsonl");
    json_t *records[32];
    cr_assert_leq(n, 32);
    for (size_t i = 0; i < n; i++)
        records[i] = capture_record(&xs[i]);
    write_file(path, records, n);
    return path;
}

static replay_server *start_with(const char *fixture, unsigned delay_ms, bool recorded_latency, const char *target)
{
    replay_serve_options o = {.fixture = fixture, .listen = "127.0.0.1:0", .target = target,
                              .delay_ms = delay_ms, .recorded_latency = recorded_latency};
    pm_err err;
    replay_server *s = replay_serve_start(&o, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_neq(replay_serve_port(s), 0);
    return s;
}

static replay_server *start(const exchange_spec *xs, size_t n)
{
    return start_with(write_capture(xs, n), 0, false, NULL);
}

/* ---- HTTP through libcurl --------------------------------------------------------- */

typedef struct {
    long status;
    char body[65536];
    size_t body_len;
    char headers[16384]; /* the raw header block */
    size_t headers_len;
    double seconds;
    long new_connections;
    curl_off_t content_length;
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t len = size * n;
    cr_assert_lt(r->body_len + len, sizeof r->body);
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t len = size * n;
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0)
        r->headers_len = 0; /* a 100 Continue's headers are not the answer's */
    cr_assert_lt(r->headers_len + len, sizeof r->headers);
    memcpy(r->headers + r->headers_len, data, len);
    r->headers_len += len;
    r->headers[r->headers_len] = '\0';
    return len;
}

/* One request on easy (a handle kept for keep-alive) or on a fresh one when NULL. */
static void http_on(CURL *easy, const char *method, const char *url, const char *body, reply *r)
{
    CURL *own = easy ? NULL : curl_easy_init();
    CURL *c = easy ? easy : own;
    memset(r, 0, sizeof *r);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (strcmp(method, "HEAD") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->new_connections);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
    if (own)
        curl_easy_cleanup(own);
}

static void http(const replay_server *s, const char *method, const char *target, const char *body, reply *r)
{
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)replay_serve_port(s), target);
    http_on(NULL, method, url, body, r);
}

/* The value of the n-th header called name (0-based), into out; false when absent. */
static bool header_nth(const reply *r, const char *name, int n, char *out, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = r->headers; *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0 && n-- == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(len - (size_t)(v - line)), v);
            return true;
        }
        line += len + (eol ? 2 : 0);
    }
    return false;
}

static bool header(const reply *r, const char *name, char *out, size_t size)
{
    return header_nth(r, name, 0, out, size);
}

/* ---- matching ---------------------------------------------------------------------- */

Test(serve, exact_match_answers_status_headers_and_body)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "GET", .target = "/v2/acme/app/tags/list", .status = 200,
         .headers = "[[\"Content-Type\",\"application/json\"],[\"X-Registry\",\"quay\"]]",
         .body = "{\"name\":\"acme/app\",\"tags\":[\"v1\"]}"},
        {.seq = 1, .method = "GET", .target = "/v2/acme/app/manifests/v1", .status = 401,
         .headers = "[[\"WWW-Authenticate\",\"Bearer realm=\\\"x\\\"\"]]", .body = "denied"},
    };
    replay_server *s = start(xs, 2);
    cr_assert_eq(replay_serve_count(s), 2);
    cr_assert_eq(replay_serve_skipped(s), 0);
    reply r;
    char v[256];
    http(s, "GET", "/v2/acme/app/tags/list", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "{\"name\":\"acme/app\",\"tags\":[\"v1\"]}");
    cr_assert(header(&r, "Content-Type", v, sizeof v));
    cr_assert_str_eq(v, "application/json");
    cr_assert(header(&r, "X-Registry", v, sizeof v));
    cr_assert_str_eq(v, "quay");
    http(s, "GET", "/v2/acme/app/manifests/v1", NULL, &r);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(r.body, "denied");
    cr_assert(header(&r, "WWW-Authenticate", v, sizeof v));
    cr_assert_str_eq(v, "Bearer realm=\"x\"");
    cr_assert_eq(replay_serve_answered(s), 2);
    cr_assert_eq(replay_serve_unmatched(s), 0);
    replay_serve_stop(s);
}

Test(serve, repeated_key_answers_in_recorded_order_then_repeats_the_last)
{
    /* written out of order (capture files are in completion order): ts decides */
    exchange_spec xs[] = {
        {.ts = "2026-11-01T10:00:03.000000Z", .seq = 0, .method = "GET", .target = "/v2/acme/app/tags/list",
         .status = 200, .body = "third"},
        {.ts = "2026-11-01T10:00:01.000000Z", .seq = 0, .method = "GET", .target = "/v2/acme/app/tags/list",
         .status = 200, .body = "first"},
        {.ts = "2026-11-01T10:00:02Z", .seq = 0, .method = "GET", .target = "/v2/acme/app/tags/list",
         .status = 404, .body = "second"},
    };
    replay_server *s = start(xs, 3);
    const char *want[] = {"first", "second", "third", "third", "third"};
    long want_status[] = {200, 404, 200, 200, 200};
    for (size_t i = 0; i < 5; i++) {
        reply r;
        http(s, "GET", "/v2/acme/app/tags/list", NULL, &r);
        cr_assert_str_eq(r.body, want[i], "request %zu", i);
        cr_assert_eq(r.status, want_status[i], "request %zu", i);
    }
    replay_serve_stop(s);
}

Test(serve, request_body_hash_chooses_among_same_method_and_target)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "PUT", .target = "/v2/acme/app/manifests/v1", .request_body = "{\"layers\":[\"a\"]}",
         .status = 201, .body = "stored A"},
        {.seq = 1, .method = "PUT", .target = "/v2/acme/app/manifests/v1", .request_body = "{\"layers\":[\"b\"]}",
         .status = 400, .body = "refused B"},
    };
    replay_server *s = start(xs, 2);
    reply r;
    http(s, "PUT", "/v2/acme/app/manifests/v1", "{\"layers\":[\"b\"]}", &r); /* B first: order alone says A */
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(r.body, "refused B");
    http(s, "PUT", "/v2/acme/app/manifests/v1", "{\"layers\":[\"a\"]}", &r);
    cr_assert_eq(r.status, 201);
    cr_assert_str_eq(r.body, "stored A");
    http(s, "PUT", "/v2/acme/app/manifests/v1", "{\"layers\":[\"b\"]}", &r);
    cr_assert_str_eq(r.body, "refused B");
    http(s, "PUT", "/v2/acme/app/manifests/v1", "something else", &r); /* no hash matches: order */
    cr_assert_str_eq(r.body, "refused B");
    replay_serve_stop(s);
}

Test(serve, falls_back_to_the_path_without_query)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "GET", .target = "/api/v1/repository?namespace=acme&page=1", .status = 200,
         .body = "page one"},
        {.seq = 1, .method = "GET", .target = "/api/v1/repository?namespace=acme&page=2", .status = 200,
         .body = "page two"},
    };
    replay_server *s = start(xs, 2);
    reply r;
    http(s, "GET", "/api/v1/repository?namespace=acme&page=2", NULL, &r); /* exact wins */
    cr_assert_str_eq(r.body, "page two");
    http(s, "GET", "/api/v1/repository?namespace=other", NULL, &r); /* path only: the first unused */
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "page one");
    http(s, "GET", "/api/v1/repository", NULL, &r); /* all used: the last */
    cr_assert_str_eq(r.body, "page two");
    http(s, "POST", "/api/v1/repository?namespace=acme&page=1", "", &r); /* the method must match */
    cr_assert_eq(r.status, 404);
    replay_serve_stop(s);
}

Test(serve, a_different_state_parameter_still_matches_the_other_parameters)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "PUT", .target = "/v2/acme/app/blobs/uploads/u1?_state=AAA&digest=sha256%3A01",
         .status = 201, .body = "digest 01"},
        {.seq = 1, .method = "PUT", .target = "/v2/acme/app/blobs/uploads/u1?_state=BBB&digest=sha256%3A02",
         .status = 201, .body = "digest 02"},
    };
    replay_server *s = start(xs, 2);
    reply r;
    /* path-only would answer "digest 01" first; the other parameters say 02 */
    http(s, "PUT", "/v2/acme/app/blobs/uploads/u1?_state=ZZZ&digest=sha256%3A02", NULL, &r);
    cr_assert_eq(r.status, 201);
    cr_assert_str_eq(r.body, "digest 02");
    http(s, "PUT", "/v2/acme/app/blobs/uploads/u1?digest=sha256%3A01&_state=", NULL, &r);
    cr_assert_str_eq(r.body, "digest 01");
    replay_serve_stop(s);
}

Test(serve, unknown_request_is_a_json_404_with_a_count)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/", .status = 200, .body = "{}"}};
    replay_server *s = start(xs, 1);
    reply r;
    for (int i = 1; i <= 2; i++) {
        http(s, "DELETE", "/v2/acme/app/manifests/v9?x=1", NULL, &r);
        cr_assert_eq(r.status, 404);
        json_error_t jerr;
        json_t *doc = json_loads(r.body, 0, &jerr);
        cr_assert_not_null(doc, "404 body is not JSON: %s", r.body);
        cr_assert_str_eq(json_string_value(json_object_get(doc, "error")), "pmirror serve: no recorded exchange");
        cr_assert_str_eq(json_string_value(json_object_get(doc, "method")), "DELETE");
        cr_assert_str_eq(json_string_value(json_object_get(doc, "target")), "/v2/acme/app/manifests/v9?x=1");
        cr_assert_eq(json_integer_value(json_object_get(doc, "unmatched")), i);
        json_decref(doc);
    }
    char v[128];
    cr_assert(header(&r, "Content-Type", v, sizeof v));
    cr_assert_str_eq(v, "application/json");
    cr_assert_eq(replay_serve_unmatched(s), 2);
    cr_assert_eq(replay_serve_answered(s), 2);
    replay_serve_stop(s);
}

/* ---- the answer ---------------------------------------------------------------------- */

Test(serve, head_and_304_keep_the_recorded_length_and_send_no_body)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "HEAD", .target = "/v2/acme/app/blobs/sha256:aa", .status = 200,
         .headers = "[[\"Content-Length\",\"1234\"],[\"Docker-Content-Digest\",\"sha256:aa\"]]"},
        {.seq = 1, .method = "GET", .target = "/v2/acme/app/manifests/v1", .status = 200,
         .headers = "[[\"Content-Type\",\"application/json\"]]", .body = "{\"schemaVersion\":2}"},
        {.seq = 2, .method = "GET", .target = "/v2/acme/app/manifests/v0", .status = 304,
         .headers = "[[\"ETag\",\"\\\"sha256:bb\\\"\"],[\"Content-Length\",\"777\"]]"},
    };
    replay_server *s = start(xs, 3);
    reply r;
    char v[128];
    http(s, "HEAD", "/v2/acme/app/blobs/sha256:aa", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    cr_assert(header(&r, "Content-Length", v, sizeof v));
    cr_assert_str_eq(v, "1234");
    cr_assert(header(&r, "Docker-Content-Digest", v, sizeof v));
    /* no HEAD recorded: the GET's answer without its body */
    http(s, "HEAD", "/v2/acme/app/manifests/v1", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    cr_assert(header(&r, "Content-Length", v, sizeof v));
    cr_assert_str_eq(v, "19");
    /* ... without taking the GET's turn */
    http(s, "GET", "/v2/acme/app/manifests/v1", NULL, &r);
    cr_assert_str_eq(r.body, "{\"schemaVersion\":2}");
    /* 304 keeps the recorded length too, sends no body, and the connection lives on */
    char url[128];
    snprintf(url, sizeof url, "%sv2/acme/app/manifests/v0", replay_serve_url(s));
    CURL *easy = curl_easy_init();
    http_on(easy, "GET", url, NULL, &r);
    cr_assert_eq(r.status, 304);
    cr_assert_eq(r.body_len, 0);
    cr_assert(header(&r, "Content-Length", v, sizeof v));
    cr_assert_str_eq(v, "777");
    cr_assert(header(&r, "ETag", v, sizeof v));
    cr_assert_str_eq(v, "\"sha256:bb\"");
    http_on(easy, "GET", url, NULL, &r);
    cr_assert_eq(r.status, 304);
    cr_assert_eq(r.new_connections, 0);
    curl_easy_cleanup(easy);
    replay_serve_stop(s);
}

Test(serve, date_is_now)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/", .status = 200,
                           .headers = "[[\"Date\",\"Sun, 01 Nov 2020 10:00:00 GMT\"],[\"X-After\",\"1\"]]"}};
    replay_server *s = start(xs, 1);
    reply r;
    http(s, "GET", "/v2/", NULL, &r);
    char v[128];
    cr_assert(header(&r, "Date", v, sizeof v));
    cr_assert_str_neq(v, "Sun, 01 Nov 2020 10:00:00 GMT");
    time_t when = curl_getdate(v, NULL);
    cr_assert_neq(when, (time_t)-1, "Date '%s' is not an HTTP date", v);
    cr_assert_leq(labs((long)(when - time(NULL))), 5, "Date '%s' is not now", v);
    cr_assert_not(header_nth(&r, "Date", 1, v, sizeof v), "two Date headers");
    replay_serve_stop(s);
}

Test(serve, hop_by_hop_headers_dropped_order_kept_connection_reused)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/_catalog", .status = 200,
                           .headers = "[[\"X-First\",\"1\"],[\"Connection\",\"close\"],[\"Keep-Alive\",\"timeout=5\"],"
                                      "[\"Transfer-Encoding\",\"chunked\"],[\"Content-Length\",\"999\"],"
                                      "[\"Proxy-Authenticate\",\"Basic\"],[\"Trailer\",\"X-T\"],[\"Upgrade\",\"h2c\"],"
                                      "[\"Set-Cookie\",\"a=1\"],[\"Set-Cookie\",\"b=2\"],[\"X-Last\",\"2\"]]",
                           .body = "{\"repositories\":[]}"}};
    replay_server *s = start(xs, 1);
    char url[128], v[128];
    snprintf(url, sizeof url, "%s%s", replay_serve_url(s), "v2/_catalog");
    CURL *easy = curl_easy_init();
    reply r;
    http_on(easy, "GET", url, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "{\"repositories\":[]}");
    const char *dropped[] = {"Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Authenticate", "Trailer",
                             "Upgrade"};
    for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++)
        cr_assert_not(header(&r, dropped[i], v, sizeof v), "%s was sent: %s", dropped[i], r.headers);
    cr_assert(header(&r, "Content-Length", v, sizeof v));
    cr_assert_str_eq(v, "19");
    cr_assert(header_nth(&r, "Set-Cookie", 1, v, sizeof v));
    cr_assert_str_eq(v, "b=2");
    const char *first = strstr(r.headers, "X-First"), *cookie = strstr(r.headers, "Set-Cookie: a=1"),
               *last = strstr(r.headers, "X-Last");
    cr_assert(first && cookie && last && first < cookie && cookie < last, "order lost: %s", r.headers);
    cr_assert_eq(r.new_connections, 1);
    http_on(easy, "GET", url, NULL, &r); /* the recorded "Connection: close" did not close it */
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.new_connections, 0, "the connection was not kept alive");
    curl_easy_cleanup(easy);
    replay_serve_stop(s);
}

/* ---- uploads --------------------------------------------------------------------------- */

#define REC_UUID "04e5fcfc-aae7-4104-b835-0691b269f38c"

static const exchange_spec upload_flow[] = {
    {.ts = "2026-11-01T10:00:00.000001Z", .seq = 0, .method = "POST", .target = "/v2/acme/app/blobs/uploads/",
     .status = 202,
     .headers = "[[\"Location\",\"https://quay.example.test/v2/acme/app/blobs/uploads/" REC_UUID "?_state=S1\"],"
                "[\"Range\",\"0-0\"],[\"Docker-Upload-UUID\",\"" REC_UUID "\"]]"},
    {.ts = "2026-11-01T10:00:00.000002Z", .seq = 0, .method = "PATCH",
     .target = "/v2/acme/app/blobs/uploads/" REC_UUID "?_state=S1", .request_body = "abc", .status = 202,
     .headers = "[[\"Location\",\"https://quay.example.test/v2/acme/app/blobs/uploads/" REC_UUID "?_state=S2\"],"
                "[\"Range\",\"0-2\"],[\"Docker-Upload-UUID\",\"" REC_UUID "\"]]"},
    {.ts = "2026-11-01T10:00:00.000003Z", .seq = 0, .method = "PUT",
     .target = "/v2/acme/app/blobs/uploads/" REC_UUID "?_state=S2&digest=sha256%3Aba78", .status = 201,
     .headers = "[[\"Location\",\"https://quay.example.test/v2/acme/app/blobs/sha256:ba78\"],"
                "[\"Docker-Content-Digest\",\"sha256:ba78\"]]"},
};

Test(serve, upload_uuid_is_fresh_and_read_back_through_patch_and_put)
{
    replay_server *s = start(upload_flow, 3);
    unsigned port = replay_serve_port(s);
    reply r;
    char location[512], uuid[128], host[64];
    snprintf(host, sizeof host, "http://127.0.0.1:%u/", port);

    http(s, "POST", "/v2/acme/app/blobs/uploads/", "", &r);
    cr_assert_eq(r.status, 202);
    cr_assert(header(&r, "Docker-Upload-UUID", uuid, sizeof uuid));
    cr_assert_str_neq(uuid, REC_UUID, "the recorded UUID was handed out again");
    cr_assert_eq(strlen(uuid), 36);
    cr_assert_eq(uuid[14], '4', "not a version 4 UUID: %s", uuid);
    cr_assert(header(&r, "Location", location, sizeof location));
    char want[512];
    snprintf(want, sizeof want, "%sv2/acme/app/blobs/uploads/%s?_state=S1", host, uuid);
    cr_assert_str_eq(location, want);

    /* PATCH to the fresh URL: the recorded PATCH answers, speaking of the fresh UUID */
    http_on(NULL, "PATCH", location, "abc", &r);
    cr_assert_eq(r.status, 202, "PATCH %s: %s", location, r.body);
    char range[64], uuid2[128];
    cr_assert(header(&r, "Range", range, sizeof range));
    cr_assert_str_eq(range, "0-2");
    cr_assert(header(&r, "Docker-Upload-UUID", uuid2, sizeof uuid2));
    cr_assert_str_eq(uuid2, uuid);
    cr_assert(header(&r, "Location", location, sizeof location));
    snprintf(want, sizeof want, "%sv2/acme/app/blobs/uploads/%s?_state=S2", host, uuid);
    cr_assert_str_eq(location, want);

    char put[600];
    snprintf(put, sizeof put, "%s&digest=sha256%%3Aba78", location);
    http_on(NULL, "PUT", put, NULL, &r);
    cr_assert_eq(r.status, 201);
    cr_assert(header(&r, "Location", location, sizeof location));
    snprintf(want, sizeof want, "%sv2/acme/app/blobs/sha256:ba78", host);
    cr_assert_str_eq(location, want);
    cr_assert_eq(replay_serve_unmatched(s), 0);

    /* a second upload gets another UUID */
    http(s, "POST", "/v2/acme/app/blobs/uploads/", "", &r);
    cr_assert(header(&r, "Docker-Upload-UUID", uuid2, sizeof uuid2));
    cr_assert_str_neq(uuid2, uuid);
    cr_assert_str_neq(uuid2, REC_UUID);
    replay_serve_stop(s);
}

Test(serve, location_follows_the_host_header)
{
    replay_server *s = start(upload_flow, 3);
    char url[128];
    snprintf(url, sizeof url, "%sv2/acme/app/blobs/uploads/", replay_serve_url(s));
    CURL *easy = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Host: registry.test:5000");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    reply r;
    http_on(easy, "POST", url, "", &r);
    char location[512];
    cr_assert(header(&r, "Location", location, sizeof location));
    cr_assert(strncmp(location, "http://registry.test:5000/v2/acme/app/blobs/uploads/", 52) == 0, "%s", location);
    curl_slist_free_all(h);
    curl_easy_cleanup(easy);
    replay_serve_stop(s);
}

/* ---- --target, delays, bad input ---------------------------------------------------------- */

static json_t *result_record(int seq, const char *target, const char *go_json)
{
    exchange_spec x = {.seq = seq, .method = "GET", .target = target, .status = 200, .body = "recorded"};
    json_t *r = capture_record(&x);
    json_t *python = message("[[\"X-Who\",\"python\"]]", "from python");
    json_object_set_new(python, "role", json_string("baseline"));
    json_object_set_new(python, "status", json_integer(200));
    json_object_set_new(python, "error", json_null());
    json_error_t jerr;
    json_t *go = json_loads(go_json, 0, &jerr);
    cr_assert_not_null(go);
    json_object_set_new(r, "responses", json_pack("{s:o, s:o}", "python", python, "go", go));
    return r;
}

Test(serve, target_serves_one_targets_responses_of_a_result_file)
{
    const char *path = in_dir("results.jsonl.gz");
    json_t *records[] = {
        result_record(0, "/v2/a", "{\"role\":\"candidate\",\"status\":null,\"error\":\"timeout\"}"),
        result_record(1, "/v2/b", "{\"role\":\"candidate\",\"status\":503,\"headers\":[[\"X-Who\",\"go\"]],"
                                  "\"body\":\"from go\",\"error\":null}"),
        result_record(2, "/v2/c", "{\"role\":\"candidate\",\"error\":null}"),
    };
    write_file(path, records, 3);
    reply r;
    char v[64];
    replay_server *s = start_with(path, 0, false, "go");
    cr_assert_eq(replay_serve_count(s), 1);
    cr_assert_eq(replay_serve_skipped(s), 2);
    http(s, "GET", "/v2/b", NULL, &r);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(r.body, "from go");
    cr_assert(header(&r, "X-Who", v, sizeof v));
    cr_assert_str_eq(v, "go");
    http(s, "GET", "/v2/a", NULL, &r);
    cr_assert_eq(r.status, 404);
    replay_serve_stop(s);

    s = start_with(path, 0, false, "python");
    cr_assert_eq(replay_serve_count(s), 3);
    http(s, "GET", "/v2/a", NULL, &r);
    cr_assert_str_eq(r.body, "from python");
    replay_serve_stop(s);

    s = start_with(path, 0, false, NULL); /* the capture's own response */
    http(s, "GET", "/v2/c", NULL, &r);
    cr_assert_str_eq(r.body, "recorded");
    replay_serve_stop(s);
}

Test(serve, records_without_response_are_skipped)
{
    exchange_spec xs[] = {
        {.seq = 0, .method = "GET", .target = "/v2/", .status = 200},
        {.seq = 1, .method = "GET", .target = "/v2/lost"},
    };
    replay_server *s = start(xs, 2);
    cr_assert_eq(replay_serve_count(s), 1);
    cr_assert_eq(replay_serve_skipped(s), 1);
    replay_serve_stop(s);
}

Test(serve, delay_ms_and_recorded_latency_slow_the_answer)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/", .status = 200, .latency_us = 400000}};
    const char *path = write_capture(xs, 1);
    reply r;
    replay_server *s = start_with(path, 300, false, NULL);
    http(s, "GET", "/v2/", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_geq(r.seconds, 0.3, "answered in %.3f s", r.seconds);
    replay_serve_stop(s);

    s = start_with(path, 0, true, NULL);
    http(s, "GET", "/v2/", NULL, &r);
    cr_assert_geq(r.seconds, 0.4, "answered in %.3f s", r.seconds);
    http(s, "GET", "/nothing", NULL, &r); /* no recorded latency for a 404 */
    cr_assert_lt(r.seconds, 0.4);
    replay_serve_stop(s);

    s = start(xs, 1);
    http(s, "GET", "/v2/", NULL, &r);
    cr_assert_lt(r.seconds, 0.3, "no delay asked, answered in %.3f s", r.seconds);
    replay_serve_stop(s);
}

static void *slow_request(void *arg)
{
    const replay_server *s = arg;
    char url[128];
    snprintf(url, sizeof url, "%sv2/", replay_serve_url(s));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c); /* cut off by the stop, or answered: either is fine */
    curl_easy_cleanup(c);
    return NULL;
}

Test(serve, stop_does_not_wait_for_a_delayed_answer)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/", .status = 200}};
    replay_server *s = start_with(write_capture(xs, 1), 15000, false, NULL);
    pthread_t t;
    pthread_create(&t, NULL, slow_request, s);
    usleep(300 * 1000);
    uint64_t before = pm_now_ms();
    replay_serve_stop(s);
    cr_assert_lt(pm_now_ms() - before, 3000, "stop took %llu ms", (unsigned long long)(pm_now_ms() - before));
    pthread_join(t, NULL);
}

Test(serve, bad_fixture_line_names_file_and_line)
{
    const char *path = in_dir("bad.jsonl");
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"},\"response\":{\"status\":200}}\n"
               "{\"v\":1, this is not json\n"
               "{\"v\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"},\"response\":{\"status\":200}}\n");
    fclose(f);
    replay_serve_options o = {.fixture = path, .listen = "127.0.0.1:0"};
    pm_err err;
    cr_assert_null(replay_serve_start(&o, &err));
    char want[400];
    snprintf(want, sizeof want, "%s:2", path);
    cr_assert(strstr(err.msg, want), "error does not name %s: %s", want, err.msg);

    f = fopen(path, "w");
    fprintf(f, "{\"v\":1,\"response\":{\"status\":200}}\n");
    fclose(f);
    cr_assert_null(replay_serve_start(&o, &err));
    snprintf(want, sizeof want, "%s:1", path);
    cr_assert(strstr(err.msg, want) && strstr(err.msg, "request"), "%s", err.msg);

    o.fixture = in_dir("missing.jsonl");
    cr_assert_null(replay_serve_start(&o, &err));
    cr_assert(strstr(err.msg, "missing.jsonl"), "%s", err.msg);
}

Test(serve, listen_addresses)
{
    exchange_spec xs[] = {{.seq = 0, .method = "GET", .target = "/v2/", .status = 200, .body = "hello"}};
    const char *path = write_capture(xs, 1);
    pm_err err;
    replay_serve_options o = {.fixture = path, .listen = ":0"};
    replay_server *s = replay_serve_start(&o, &err);
    cr_assert_not_null(s, "%s", err.msg);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%u/", (unsigned)replay_serve_port(s));
    cr_assert_str_eq(replay_serve_url(s), want, ":PORT is loopback");
    /* the port is taken now */
    char taken[32];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", (unsigned)replay_serve_port(s));
    replay_serve_options o2 = {.fixture = path, .listen = taken};
    cr_assert_null(replay_serve_start(&o2, &err));
    cr_assert(strstr(err.msg, taken), "%s", err.msg);
    replay_serve_stop(s);
    s = replay_serve_start(&o2, &err); /* stop closed the listening socket */
    cr_assert_not_null(s, "%s", err.msg);
    replay_serve_stop(s);

    o.listen = "[::1]:0";
    s = replay_serve_start(&o, &err);
    if (s) { /* where the machine has IPv6 loopback */
        char url[128];
        snprintf(url, sizeof url, "http://[::1]:%u/v2/", (unsigned)replay_serve_port(s));
        reply r;
        http_on(NULL, "GET", url, NULL, &r);
        cr_assert_str_eq(r.body, "hello");
        replay_serve_stop(s);
    }
    const char *bad[] = {"127.0.0.1:http", "127.0.0.1:70000", "[::1", "127.0.0.1:", "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.listen = bad[i];
        cr_assert_null(replay_serve_start(&o, &err), "%s accepted", bad[i]);
        cr_assert(strstr(err.msg, bad[i]), "%s", err.msg);
    }
}
