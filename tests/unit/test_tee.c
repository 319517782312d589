/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tee.c — the tee's parts that need no network: the bounded shadow queue (limits,
 * order, many producers at once), the shadow copy's capture record, hop-by-hop header
 * names, the metrics exposition (counts, parity and its Wilson bound, histogram
 * buckets, label escapes), fair shedding per family, and the slowloris guard's per-address
 * table and accept policy. tests/integration/tee_*.sh drive the whole thing over HTTP.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tee/tee_internal.h"

static tee_exchange *numbered(uint64_t n)
{
    tee_exchange *x = tee_exchange_new(1024);
    cr_assert_not_null(x);
    x->seq = n;
    return x;
}

Test(tee_queue, keeps_order_and_refuses_past_its_capacity)
{
    tee_queue *q = tee_queue_new(3, (size_t)1 << 30);
    for (uint64_t i = 1; i <= 3; i++)
        cr_assert_eq(tee_queue_push(q, numbered(i)), TEE_QUEUED);
    tee_exchange *extra = numbered(4);
    cr_assert_eq(tee_queue_push(q, extra), TEE_QUEUE_FULL);
    cr_assert_eq(tee_queue_depth(q), 3);
    for (uint64_t i = 1; i <= 3; i++) {
        tee_exchange *x = tee_queue_pop(q);
        cr_assert_not_null(x);
        cr_assert_eq(x->seq, i);
        tee_exchange_free(x);
    }
    cr_assert_null(tee_queue_pop(q));
    cr_assert_eq(tee_queue_push(q, extra), TEE_QUEUED); /* room again */
    tee_queue_close(q);
    tee_exchange *late = numbered(5);
    cr_assert_eq(tee_queue_push(q, late), TEE_QUEUE_CLOSED);
    tee_exchange_free(late); /* refused: still the caller's */
    tee_queue_free(q); /* frees what it still holds (extra) */
}

Test(tee_queue, refuses_past_its_byte_budget)
{
    tee_exchange *probe = numbered(0);
    size_t one = tee_exchange_bytes(probe);
    tee_exchange_free(probe);
    tee_queue *q = tee_queue_new(100, 2 * one + one / 2);
    cr_assert_eq(tee_queue_push(q, numbered(1)), TEE_QUEUED);
    cr_assert_eq(tee_queue_push(q, numbered(2)), TEE_QUEUED);
    tee_exchange *third = numbered(3);
    cr_assert_eq(tee_queue_push(q, third), TEE_QUEUE_MEMORY);
    cr_assert_eq(tee_queue_bytes(q), 2 * one);
    tee_exchange_free(tee_queue_pop(q));
    cr_assert_eq(tee_queue_push(q, third), TEE_QUEUED);
    tee_queue_free(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

typedef struct {
    tee_queue *q;
    int id;
    uint64_t refused;
} producer;

static atomic_int producers_done;

static void *produce(void *arg)
{
    producer *p = arg;
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        tee_exchange *x = numbered((uint64_t)p->id * PER_PRODUCER + i);
        if (tee_queue_push(p->q, x) != TEE_QUEUED) {
            tee_exchange_free(x);
            p->refused++;
        }
    }
    atomic_fetch_add(&producers_done, 1);
    return NULL;
}

Test(tee_queue, many_producers_lose_nothing_they_were_told_was_queued)
{
    tee_queue *q = tee_queue_new(64, (size_t)1 << 30);
    producer ps[PRODUCERS];
    pthread_t th[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i] = (producer){q, i, 0};
        pthread_create(&th[i], NULL, produce, &ps[i]);
    }
    unsigned char *seen = calloc(PRODUCERS * PER_PRODUCER, 1);
    uint64_t last[PRODUCERS];
    memset(last, 0xff, sizeof last);
    uint64_t popped = 0;
    while (atomic_load(&producers_done) < PRODUCERS || tee_queue_depth(q) > 0) {
        tee_exchange *x = tee_queue_pop(q);
        if (!x)
            continue; /* empty, or a push still writing its cell */
        cr_assert_lt(x->seq, (uint64_t)PRODUCERS * PER_PRODUCER);
        cr_assert_eq(seen[x->seq], 0, "copy %llu popped twice", (unsigned long long)x->seq);
        seen[x->seq] = 1;
        int producer_id = (int)(x->seq / PER_PRODUCER);
        if (last[producer_id] != UINT64_MAX)
            cr_assert_gt(x->seq, last[producer_id], "one producer's copies come out in its order");
        last[producer_id] = x->seq;
        popped++;
        tee_exchange_free(x);
    }
    uint64_t refused = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        refused += ps[i].refused;
    }
    cr_assert_eq(popped + refused, (uint64_t)PRODUCERS * PER_PRODUCER);
    cr_assert_eq(tee_queue_bytes(q), 0);
    free(seen);
    tee_queue_free(q);
}

/* Fair shedding: an uncongested queue takes every family's copies; a congested one only
 * those of a family under its share (capacity / families seen lately), so the rare
 * family keeps its share while the busy one is shed; counts add up per family. */
Test(tee_shed, congestion_sheds_the_family_over_its_share_only)
{
    tee_shed *s = tee_shed_new(100);
    tee_family *big = tee_shed_family(s, "REGISTRY_V2"), *rare = tee_shed_family(s, "OAUTH");
    cr_assert_eq(tee_shed_family(s, "REGISTRY_V2"), big, "one slot per name");
    cr_assert_neq(big, rare);
    int64_t now = 1000000;
    tee_shed_seen(s, big, now);
    tee_shed_seen(s, rare, now);
    /* under half full: whatever the family holds */
    size_t depth = 0;
    for (int i = 0; i < 49; i++, depth++)
        cr_assert(tee_shed_admit(s, big, depth), "copy %d while the queue is under half full", i);
    /* congested: the big family (49 held) takes one more up to its share of 50, then no more */
    cr_assert(tee_shed_admit(s, big, depth++));
    cr_assert_not(tee_shed_admit(s, big, depth), "the big family is at its share");
    cr_assert(tee_shed_over_share(s, big, depth));
    tee_shed_count(big, false);
    /* ... while the rare one holds nothing and is admitted */
    cr_assert_not(tee_shed_over_share(s, rare, depth));
    cr_assert(tee_shed_admit(s, rare, depth++));
    tee_shed_count(rare, true);
    /* a copy of the big family leaves the queue: its place is free again */
    tee_shed_left(big);
    cr_assert(tee_shed_admit(s, big, depth));
    tee_family_stats st[4];
    size_t n = tee_shed_stats(s, st, 4);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        bool is_big = strcmp(st[i].family, "REGISTRY_V2") == 0;
        cr_assert_eq(st[i].seen, 1);
        cr_assert_eq(st[i].shed, is_big ? 1 : 0);
        cr_assert_eq(st[i].handed, is_big ? 0 : 1);
        cr_assert_eq(st[i].waiting, is_big ? 50 : 1);
    }
    tee_shed_free(s);
}

/* A family not seen for RECENT_US loses its share: the busy one may use the room. */
Test(tee_shed, a_family_gone_quiet_gives_its_share_back)
{
    tee_shed *s = tee_shed_new(100);
    tee_family *big = tee_shed_family(s, "REGISTRY_V2"), *rare = tee_shed_family(s, "KEYS");
    tee_shed_seen(s, big, 1000000);
    tee_shed_seen(s, rare, 1000000);
    for (size_t depth = 0; depth < 50; depth++)
        cr_assert(tee_shed_admit(s, big, depth));
    cr_assert_not(tee_shed_admit(s, big, 60), "two families: a share of 50");
    tee_shed_seen(s, big, 1000000 + 6000000); /* six seconds on, only the big family is seen */
    cr_assert(tee_shed_admit(s, big, 60), "one family lately: a share of the whole queue");
    tee_shed_free(s);
}

Test(tee_headers, hop_by_hop_includes_what_connection_names)
{
    tee_headers h = {0};
    tee_headers_add(&h, "Connection", 10, "keep-alive, X-Secret-Hop", 24);
    tee_headers_add(&h, "X-Secret-Hop", 12, "1", 1);
    tee_headers_add(&h, "X-End", 5, "2", 1);
    cr_assert(tee_hop_by_hop(&h, "connection"));
    cr_assert(tee_hop_by_hop(&h, "Transfer-Encoding"));
    cr_assert(tee_hop_by_hop(&h, "x-secret-hop"));
    cr_assert(!tee_hop_by_hop(&h, "X-End"));
    cr_assert(!tee_hop_by_hop(&h, "X-Secret")); /* a prefix of a listed name is not listed */
    cr_assert_str_eq(tee_headers_get(&h, "x-end"), "2");
    tee_headers_free(&h);
}

Test(tee_exchange, record_is_a_capture_record_with_the_primary_answer)
{
    tee_exchange *x = tee_exchange_new(8);
    x->ts_us = 1767225600000000LL; /* 2026-01-01T00:00:00Z */
    x->connection = 7;
    x->seq = 2;
    x->id_prefix = "abcd0123";
    x->mode = "proxy";
    x->method = strdup("GET");
    x->target = strdup("/v2/acme/app/tags/list");
    x->version = strdup("HTTP/1.1");
    tee_headers_add(&x->req_headers, "Set-Cookie", 10, "a=1", 3);
    tee_headers_add(&x->req_headers, "Set-Cookie", 10, "b=2", 3);
    x->cls.family = "REGISTRY_V2";
    x->cls.capability = "V2_TAGS_LIST";
    x->has_response = true;
    x->status = 200;
    pm_body_append(&x->resp_body, "0123456789abcdef", 16); /* cut at 8 */
    x->resp_complete = true;
    size_t len = 0;
    char *text = tee_exchange_record(x, &len, NULL, NULL);
    cr_assert_not_null(text);
    json_t *r = json_loadb(text, len, 0, NULL);
    cr_assert_not_null(r, "the record is JSON: %s", text);
    cr_assert_eq(json_integer_value(json_object_get(r, "v")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(r, "id")), "abcd0123-7-2");
    cr_assert_str_eq(json_string_value(json_object_get(r, "ts")), "2026-01-01T00:00:00.000000Z");
    cr_assert_str_eq(json_string_value(json_object_get(r, "source")), "tee-proxy");
    json_t *headers = json_object_get(json_object_get(r, "request"), "headers");
    cr_assert_eq(json_array_size(headers), 2, "repeated headers kept");
    json_t *resp = json_object_get(r, "response");
    cr_assert_eq(json_integer_value(json_object_get(resp, "status")), 200);
    cr_assert_str_eq(json_string_value(json_object_get(resp, "body")), "01234567");
    cr_assert_eq(json_integer_value(json_object_get(resp, "body_len")), 16);
    cr_assert(json_is_true(json_object_get(resp, "body_truncated")));
    cr_assert_str_eq(json_string_value(json_object_get(resp, "body_sha256")),
                     "9f9f5111f7b27a781f1f1ddde5ebc2dd2b796bfc7365c9c28b548e564176929f", "the whole body's hash");
    json_decref(r);
    free(text);
    tee_exchange_free(x);
}

/* As capture writes it: an uncut body is its own proof, so no body_sha256 (the front
 * hashes nothing it does not have to). */
Test(tee_exchange, an_uncut_body_has_no_hash)
{
    tee_exchange *x = tee_exchange_new(64);
    x->ts_us = 1767225600000000LL;
    x->id_prefix = "abcd0123";
    x->mode = "proxy";
    x->method = strdup("POST");
    x->target = strdup("/api/v1/repository");
    x->version = strdup("HTTP/1.1");
    pm_body_append(&x->req_body, "{\"a\":1}", 7);
    x->has_response = true;
    x->status = 201;
    pm_body_append(&x->resp_body, "{}", 2);
    x->resp_complete = true;
    size_t len = 0;
    char *text = tee_exchange_record(x, &len, NULL, NULL);
    cr_assert_not_null(text);
    json_t *r = json_loadb(text, len, 0, NULL);
    cr_assert_not_null(r, "the record is JSON: %s", text);
    json_t *req = json_object_get(r, "request"), *resp = json_object_get(r, "response");
    cr_expect_str_eq(json_string_value(json_object_get(req, "body")), "{\"a\":1}");
    cr_expect_str_eq(json_string_value(json_object_get(resp, "body")), "{}");
    cr_expect_null(json_object_get(req, "body_sha256"), "%s", text);
    cr_expect_null(json_object_get(resp, "body_sha256"), "%s", text);
    cr_expect_null(json_object_get(resp, "body_truncated"), "%s", text);
    json_decref(r);
    free(text);
    tee_exchange_free(x);
}

static void observe(tee_metrics *m, const char *family, const char *verdict, int64_t primary_us)
{
    const char *targets[] = {"primary", "shadow"};
    int64_t latency[] = {primary_us, -1};
    tee_observation o = {family, "CAP", verdict, targets, latency, 2};
    tee_metrics_observe(m, &o);
}

Test(tee_metrics, counts_parity_wilson_and_histograms)
{
    tee_metrics *m = tee_metrics_new();
    for (int i = 0; i < 9; i++)
        observe(m, "REGISTRY_V2", "match", 700);      /* 0.7 ms */
    observe(m, "REGISTRY_V2", "mismatch", 3000000);   /* 3 s */
    observe(m, "REGISTRY_V2", "skipped", -1);
    observe(m, "we\"ird\\fam", "error", 100);
    char *text = tee_metrics_text(m, NULL);
    cr_assert_not_null(text);
    cr_assert(strstr(text, "pmirror_tee_exchanges_total{family=\"REGISTRY_V2\",capability=\"CAP\",verdict=\"match\"} 9\n"));
    cr_assert(strstr(text, "verdict=\"skipped\"} 1\n"));
    cr_assert(strstr(text, "pmirror_tee_parity{family=\"REGISTRY_V2\"} 0.900000\n"));
    /* Wilson 95% lower bound of 9 of 10 */
    cr_assert(strstr(text, "pmirror_tee_parity_lower{family=\"REGISTRY_V2\"} 0.595"), "%s", text);
    /* a family with only errors has no parity: 0 would read as a failed gate */
    cr_assert_null(strstr(text, "pmirror_tee_parity{family=\"we"));
    cr_assert(strstr(text, "family=\"we\\\"ird\\\\fam\""), "label values escaped: %s", text);
    /* buckets are cumulative: the nine 0.7 ms answers from le=0.001 on, the 3 s one from le=5 */
    cr_assert(strstr(text, "pmirror_tee_latency_seconds_bucket{target=\"primary\",family=\"REGISTRY_V2\",le=\"0.001\"} 9\n"));
    cr_assert(strstr(text, "pmirror_tee_latency_seconds_bucket{target=\"primary\",family=\"REGISTRY_V2\",le=\"2.5\"} 9\n"));
    cr_assert(strstr(text, "pmirror_tee_latency_seconds_bucket{target=\"primary\",family=\"REGISTRY_V2\",le=\"5\"} 10\n"));
    cr_assert(strstr(text, "pmirror_tee_latency_seconds_count{target=\"primary\",family=\"REGISTRY_V2\"} 10\n"));
    cr_assert_null(strstr(text, "target=\"shadow\""), "no latency where there was none");
    cr_assert(strstr(text, "# TYPE pmirror_tee_latency_seconds histogram\n"));
    free(text);
    tee_metrics_free(m);
}

/* The per-address table against plain counts: 100 addresses colliding in a 256-slot
 * table, counts up and down in random order (deleting from a probe run must leave every
 * other address findable). */
Test(tee_guard, per_address_counts_match_plain_counts)
{
    enum { NADDR = 100, LIMIT = 3 };
    tee_guard *g = tee_guard_new(LIMIT, 64);
    cr_assert_not_null(g);
    unsigned model[NADDR] = {0};
    srand(7);
    for (int step = 0; step < 200000; step++) {
        unsigned k = (unsigned)rand() % NADDR;
        tee_addr a = {{0}};
        a.bytes[15] = (uint8_t)k;
        a.bytes[3] = (uint8_t)(k * 7);
        if (rand() % 2) {
            bool ok = tee_guard_reserve(g, &a);
            cr_assert_eq(ok, model[k] < LIMIT, "step %d, address %u: %d with %u open", step, k, ok, model[k]);
            model[k] += ok;
        } else if (model[k]) {
            tee_guard_release(g, &a);
            model[k]--;
        }
    }
    tee_guard_free(g);
}

static enum MHD_Result accept_from(tee_worker *w, const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return tee_guard_accept(w, (const struct sockaddr *)&sa, sizeof sa);
}

Test(tee_guard, accept_policy_counts_refusals_and_gives_back_what_never_started)
{
    tee_front *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    t->o.max_per_ip = 1;
    t->guard = tee_guard_new(1, 64);
    tee_worker w = {.tee = t, .limit = 2};
    cr_assert_eq(accept_from(&w, "127.0.0.2"), MHD_YES);
    /* libmicrohttpd failed before NOTIFY_STARTED: the next accept gives that slot back */
    cr_assert_eq(accept_from(&w, "127.0.0.2"), MHD_YES);
    cr_assert_eq(w.open, 1);
    w.pending = false; /* as tee_guard_opened does: the connection holds its slot */
    cr_assert_eq(accept_from(&w, "127.0.0.2"), MHD_NO);
    cr_assert_eq(atomic_load(&t->refused_per_ip), 1);
    cr_assert_eq(accept_from(&w, "127.0.0.3"), MHD_YES); /* another address */
    w.pending = false;
    cr_assert_eq(w.open, 2);
    cr_assert_eq(accept_from(&w, "127.0.0.4"), MHD_NO); /* the worker's share of --max-connections */
    cr_assert_eq(atomic_load(&t->refused_limit), 1);
    tee_guard_free(t->guard);
    free(t);
}
