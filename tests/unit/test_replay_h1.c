/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_replay_h1.c — replay's own HTTP/1.1 client on the wire (replay/h1_wire.c).
 *
 * The request: for the same call, the bytes rp_h1_request writes are the bytes libcurl
 * sends, read off a loopback socket with libcurl set up as replay sets it (HTTP/1.1,
 * CURLOPT_REQUEST_TARGET, the call's header list with request.c's "Accept:" and "Expect:",
 * a custom method or NOBODY) — GET, HEAD, DELETE, a header with a blank value, a call that
 * brings its own Host, and a port-80 URL whose Host has no port.
 *
 * The answer: interim 1xx heads forgotten, chunked bodies, a HEAD's answer without its
 * announced body, a body that ends at the close, a close inside a body (truncated) or
 * before any byte (nothing), bytes that are not HTTP, a header past 100 KiB, bytes after
 * a complete answer (not kept alive), HTTP/1.0 and Connection: close (not kept alive).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "replay/replay_internal.h"

/* ---- the request, against libcurl's ---------------------------------------------------- */

typedef struct {
    int listen_fd;
    char got[8192];
    size_t len;
} catcher;

/* Accepts one connection, keeps the request head, answers 204 and closes. */
static void *catch_one(void *arg)
{
    catcher *c = arg;
    int fd = accept(c->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    while (c->len < sizeof c->got - 1) {
        ssize_t n = recv(fd, c->got + c->len, sizeof c->got - 1 - c->len, 0);
        if (n <= 0)
            break;
        c->len += (size_t)n;
        c->got[c->len] = '\0';
        if (strstr(c->got, "\r\n\r\n"))
            break;
    }
    const char *answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    ssize_t w = send(fd, answer, strlen(answer), MSG_NOSIGNAL);
    (void)w;
    close(fd);
    return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return size * n;
}

/* What libcurl sends for the call, as replay's engine and handles.c set it up. */
static char *curl_sends(const char *method, const char *request_target, const struct curl_slist *headers)
{
    static catcher c;
    memset(&c, 0, sizeof c);
    c.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    cr_assert_eq(bind(c.listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(c.listen_fd, 1), 0);
    getsockname(c.listen_fd, (struct sockaddr *)&a, &alen);
    pthread_t th;
    pthread_create(&th, NULL, catch_one, &c);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(a.sin_port));
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, request_target);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    pthread_join(th, NULL);
    close(c.listen_fd);
    cr_assert_eq(rc, CURLE_OK, "curl: %s", curl_easy_strerror(rc));
    /* the port is the listener's: the same request to another port differs only there */
    char *got = strdup(c.got);
    char port[16];
    snprintf(port, sizeof port, ":%u", ntohs(a.sin_port));
    char *at = strstr(got, port);
    if (at)
        memmove(at, at + strlen(port), strlen(at + strlen(port)) + 1);
    return got;
}

static void same_as_curl(const char *method, const char *request_target, const char *const *lines)
{
    struct curl_slist *h = NULL;
    for (size_t i = 0; lines[i]; i++)
        h = curl_slist_append(h, lines[i]);
    char *want = curl_sends(method, request_target, h);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(rp_h1_request(&buf, &len, &cap, method, request_target, "127.0.0.1", h), 0);
    cr_assert_eq(len, strlen(want), "%s %s: h1 wrote\n%.*s\ncurl sent\n%s", method, request_target, (int)len, buf,
                 want);
    cr_assert(memcmp(buf, want, len) == 0, "%s %s: h1 wrote\n%.*s\ncurl sent\n%s", method, request_target, (int)len,
              buf, want);
    free(buf);
    free(want);
    curl_slist_free_all(h);
}

Test(h1_request, a_get_as_replay_builds_it_is_what_curl_sends)
{
    const char *lines[] = {"Authorization: Bearer abc.def", "User-Agent: docker/24.0", "Accept: application/json",
                           "X-Blank: ", "Docker-Distribution-Api-Version: registry/2.0", "Expect:", NULL};
    same_as_curl("GET", "/v2/org/repo/manifests/latest?x=1%20y", lines);
}

Test(h1_request, head_delete_and_options_are_what_curl_sends)
{
    const char *accept_dropped[] = {"X-Request-Id: 7", "Expect:", "Accept:", NULL};
    same_as_curl("HEAD", "/v2/org/repo/blobs/sha256:00", accept_dropped);
    same_as_curl("DELETE", "/api/v1/repository/org/repo/tag/old", accept_dropped);
    same_as_curl("OPTIONS", "*", accept_dropped);
}

Test(h1_request, a_call_with_its_own_host_sends_that_one_first)
{
    /* a unix: target's calls carry the recorded Host (request.c); curl puts it first */
    const char *lines[] = {"Cookie: a=b", "Host: quay.example", "Expect:", "Accept:", NULL};
    same_as_curl("GET", "/", lines);
}

Test(h1_request, the_authority_given_is_the_host)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(rp_h1_request(&buf, &len, &cap, "GET", "/a", "10.0.0.1", NULL), 0);
    cr_assert_eq(len, strlen("GET /a HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n"));
    cr_assert(memcmp(buf, "GET /a HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", len) == 0);
    free(buf);
}

/* ---- the answer -------------------------------------------------------------------------- */

typedef struct {
    int heads;
    char headers[4096];
    char body[4096];
    size_t body_len;
    bool refuse;
} answer;

static void a_head(void *ctx)
{
    answer *a = ctx;
    a->heads++;
    a->headers[0] = '\0'; /* as the engine: an interim head's headers are forgotten */
}

static void a_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
    answer *a = ctx;
    size_t at = strlen(a->headers);
    snprintf(a->headers + at, sizeof a->headers - at, "%.*s=%.*s;", (int)nlen, name, (int)vlen, value);
}

static bool a_body(void *ctx, const char *data, size_t len)
{
    answer *a = ctx;
    if (a->refuse)
        return false;
    cr_assert_leq(a->body_len + len, sizeof a->body);
    memcpy(a->body + a->body_len, data, len);
    a->body_len += len;
    return true;
}

static const rp_h1_sink sink = {a_head, a_header, a_body};

/* Feeds text a byte at a time; the state at the end (eof: then the close is read). */
static rp_h1_state read_answer(const char *text, bool head, bool eof, answer *a, size_t *used_total,
                               bool *keep, int *status)
{
    rp_h1_reader *r = rp_h1_reader_new();
    rp_h1_reader_start(r, head, &sink, a);
    rp_h1_state st = RP_H1_MORE;
    size_t off = 0, len = strlen(text), used = 0;
    while (off < len && st == RP_H1_MORE) {
        st = rp_h1_reader_feed(r, text + off, 1, &used);
        off += st == RP_H1_DONE ? used : 1;
    }
    if (st == RP_H1_MORE && eof)
        st = rp_h1_reader_eof(r);
    *used_total = off;
    *keep = rp_h1_reader_keep_alive(r);
    *status = rp_h1_reader_status(r);
    rp_h1_reader_free(r);
    return st;
}

Test(h1_answer, interim_heads_are_forgotten_and_a_chunked_body_read)
{
    answer a = {0};
    size_t used;
    bool keep;
    int status;
    const char *t = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nLocation: /v2/x\r\n\r\n"
                    "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n";
    cr_assert_eq(read_answer(t, false, false, &a, &used, &keep, &status), RP_H1_DONE);
    cr_assert_eq(status, 201);
    cr_assert_eq(a.heads, 2);
    cr_assert_str_eq(a.headers, "Transfer-Encoding=chunked;Location=/v2/x;");
    cr_assert_eq(a.body_len, 6);
    cr_assert(memcmp(a.body, "hello!", 6) == 0);
    cr_assert_eq(used, strlen(t));
    cr_assert(keep);
}

Test(h1_answer, a_heads_answer_has_no_body_whatever_its_length_says)
{
    answer a = {0};
    size_t used;
    bool keep;
    int status;
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    cr_assert_eq(read_answer(t, true, false, &a, &used, &keep, &status), RP_H1_DONE);
    cr_assert_eq(status, 200);
    cr_assert_eq(a.body_len, 0);
    cr_assert(keep);
    /* the same answer to a GET waits for its 1000 bytes, and a close cuts it short */
    answer b = {0};
    cr_assert_eq(read_answer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", false, true, &b, &used, &keep,
                             &status),
                 RP_H1_TRUNCATED);
    cr_assert_eq(b.body_len, 3);
}

Test(h1_answer, a_body_without_a_length_ends_at_the_close_and_is_not_kept)
{
    answer a = {0};
    size_t used;
    bool keep;
    int status;
    cr_assert_eq(read_answer("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the close", false, false, &a, &used, &keep,
                             &status),
                 RP_H1_MORE);
    answer b = {0};
    cr_assert_eq(read_answer("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the close", false, true, &b, &used, &keep,
                             &status),
                 RP_H1_DONE);
    cr_assert_eq(b.body_len, strlen("until the close"));
    cr_assert_not(keep);
    answer c = {0};
    cr_assert_eq(read_answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, false, &c,
                             &used, &keep, &status),
                 RP_H1_DONE);
    cr_assert_not(keep, "Connection: close");
}

Test(h1_answer, nothing_garbage_and_an_endless_header)
{
    answer a = {0};
    size_t used;
    bool keep;
    int status;
    cr_assert_eq(read_answer("", false, true, &a, &used, &keep, &status), RP_H1_NOTHING);
    cr_assert_eq(read_answer("NOT HTTP AT ALL\r\n\r\n", false, true, &a, &used, &keep, &status), RP_H1_GARBAGE);
    cr_assert_eq(read_answer("HTTP/1.1 200 OK\r\nContent-Le", false, true, &a, &used, &keep, &status),
                 RP_H1_GARBAGE, "closed inside the head");
    size_t n = 101 * 1024;
    char *big = malloc(n + 64);
    strcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ");
    size_t at = strlen(big);
    memset(big + at, 'a', n);
    strcpy(big + at + n, "\r\n\r\n");
    answer b = {0};
    cr_assert_eq(read_answer(big, false, false, &b, &used, &keep, &status), RP_H1_GARBAGE, "a 101 KiB header");
    free(big);
}

Test(h1_answer, bytes_after_the_answer_are_left_and_a_refused_body_stops)
{
    answer a = {0};
    size_t used;
    bool keep;
    int status;
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n";
    cr_assert_eq(read_answer(t, false, false, &a, &used, &keep, &status), RP_H1_DONE);
    cr_assert_eq(used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    answer b = {.refuse = true};
    cr_assert_eq(read_answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, false, &b, &used, &keep,
                             &status),
                 RP_H1_STOPPED);
}
