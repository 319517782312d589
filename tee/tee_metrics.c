/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_metrics.c — the tee's live numbers in Prometheus text exposition format (0.0.4),
 * served on GET /metrics.
 *
 * What a team watches during a canary: shadowed exchanges by family, capability and
 * verdict; the parity of each family (match / (match + mismatch)) with its Wilson 95%
 * lower bound, the number the promotion gate reads; latency histograms per target and
 * family; and the front's health: requests, primary failures, shadow copies queued and
 * dropped (by reason), queue depth; in proxy mode, open connections, connections refused
 * (per address, total) and heads that missed their deadline; per family, the copies
 * seen, diffed and shed, and the coverage (diffed / seen) that fair shedding
 * (tee_shed.c) keeps up for the rare families; and the --on-rollback hooks run per
 * family (pipeline/rollback.c counts them here). Observations arrive from
 * the thread that diffs the shadow copies; scrapes come from the metrics server's
 * thread; one mutex keeps them apart. The client's path never touches it: the front's
 * counters are atomics read at scrape time.
 */
#include "tee_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1,     2.5,   5,     10};
#define NBUCKETS (sizeof bucket_bounds / sizeof *bucket_bounds)

static const char *const verdicts[] = {"match", "mismatch", "error", "skipped"};
#define NVERDICTS 4

typedef struct capability_row {
    char *family, *capability;
    uint64_t verdicts[NVERDICTS];
} capability_row;

typedef struct latency_row {
    char *target, *family;
    uint64_t buckets[NBUCKETS]; /* not cumulative: written cumulative */
    uint64_t count;
    double sum;
} latency_row;

typedef struct rollback_row {
    char *family;
    uint64_t count;
} rollback_row;

struct tee_metrics {
    pthread_mutex_t lock;
    rollback_row *rollbacks; /* --on-rollback hooks run, per family (tee_metrics_count_rollback) */
    size_t nrollbacks;
    capability_row *caps;
    size_t ncaps, cap_caps;
    latency_row *lats;
    size_t nlats, cap_lats;
    uint64_t observed;
    struct MHD_Daemon *daemon;
    const tee_front *tee;
    char url[112];
};

tee_metrics *tee_metrics_new(void)
{
    tee_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void tee_metrics_free(tee_metrics *m)
{
    if (!m)
        return;
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    for (size_t i = 0; i < m->ncaps; i++) {
        free(m->caps[i].family);
        free(m->caps[i].capability);
    }
    for (size_t i = 0; i < m->nlats; i++) {
        free(m->lats[i].target);
        free(m->lats[i].family);
    }
    for (size_t i = 0; i < m->nrollbacks; i++)
        free(m->rollbacks[i].family);
    free(m->rollbacks);
    free(m->caps);
    free(m->lats);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* ---- observations ------------------------------------------------------------------------ */

static capability_row *capability_of(tee_metrics *m, const char *family, const char *capability)
{
    for (size_t i = 0; i < m->ncaps; i++)
        if (strcmp(m->caps[i].family, family) == 0 && strcmp(m->caps[i].capability, capability) == 0)
            return &m->caps[i];
    if (m->ncaps == m->cap_caps) {
        size_t cap = m->cap_caps ? 2 * m->cap_caps : 32;
        capability_row *p = realloc(m->caps, cap * sizeof *p);
        if (!p)
            return NULL;
        m->caps = p;
        m->cap_caps = cap;
    }
    capability_row *r = &m->caps[m->ncaps];
    memset(r, 0, sizeof *r);
    r->family = strdup(family);
    r->capability = strdup(capability);
    if (!r->family || !r->capability) {
        free(r->family);
        free(r->capability);
        return NULL;
    }
    m->ncaps++;
    return r;
}

static latency_row *latency_of(tee_metrics *m, const char *target, const char *family)
{
    for (size_t i = 0; i < m->nlats; i++)
        if (strcmp(m->lats[i].target, target) == 0 && strcmp(m->lats[i].family, family) == 0)
            return &m->lats[i];
    if (m->nlats == m->cap_lats) {
        size_t cap = m->cap_lats ? 2 * m->cap_lats : 32;
        latency_row *p = realloc(m->lats, cap * sizeof *p);
        if (!p)
            return NULL;
        m->lats = p;
        m->cap_lats = cap;
    }
    latency_row *r = &m->lats[m->nlats];
    memset(r, 0, sizeof *r);
    r->target = strdup(target);
    r->family = strdup(family);
    if (!r->target || !r->family) {
        free(r->target);
        free(r->family);
        return NULL;
    }
    m->nlats++;
    return r;
}

void tee_metrics_observe(tee_metrics *m, const tee_observation *obs)
{
    const char *family = obs->family ? obs->family : "UNKNOWN";
    const char *capability = obs->capability ? obs->capability : "UNKNOWN";
    int v = -1;
    for (int i = 0; i < NVERDICTS; i++)
        if (obs->verdict && strcmp(obs->verdict, verdicts[i]) == 0)
            v = i;
    pthread_mutex_lock(&m->lock);
    m->observed++;
    capability_row *row = v >= 0 ? capability_of(m, family, capability) : NULL;
    if (row)
        row->verdicts[v]++;
    for (size_t i = 0; i < obs->ntargets; i++) {
        if (obs->latency_us[i] < 0 || !obs->targets[i])
            continue;
        latency_row *l = latency_of(m, obs->targets[i], family);
        if (!l)
            continue;
        double s = (double)obs->latency_us[i] / 1e6;
        size_t b = 0;
        while (b < NBUCKETS && s > bucket_bounds[b])
            b++;
        if (b < NBUCKETS)
            l->buckets[b]++;
        l->count++;
        l->sum += s;
    }
    pthread_mutex_unlock(&m->lock);
}

void tee_metrics_count_rollback(tee_metrics *m, const char *family)
{
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    while (i < m->nrollbacks && strcmp(m->rollbacks[i].family, family) != 0)
        i++;
    if (i == m->nrollbacks) {
        rollback_row *p = realloc(m->rollbacks, (m->nrollbacks + 1) * sizeof *p);
        char *name = p ? strdup(family) : NULL;
        if (p)
            m->rollbacks = p;
        if (name)
            m->rollbacks[m->nrollbacks++] = (rollback_row){name, 0};
    }
    if (i < m->nrollbacks)
        m->rollbacks[i].count++;
    pthread_mutex_unlock(&m->lock);
}

/* ---- the exposition ------------------------------------------------------------------------ */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void emit(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = t->buf ? vsnprintf(t->buf + t->len, room, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? 2 * t->cap : 16384;
        while (n >= 0 && cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(t->buf, cap);
        if (!p) {
            t->failed = true;
            return;
        }
        t->buf = p;
        t->cap = cap;
    }
}

/* A label value with \, " and newline escaped (the exposition format's rule). */
static const char *label(const char *v, char *buf, size_t size)
{
    size_t o = 0;
    for (const char *p = v; *p && o + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            buf[o++] = '\\';
            buf[o++] = *p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            buf[o++] = *p;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void header(text *t, const char *name, const char *type, const char *help)
{
    emit(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Proxy mode's defences (tee_guard.c). */
static void guard_metrics(text *t, const tee_stats *st)
{
    header(t, "pmirror_tee_connections", "gauge", "Client connections open now.");
    emit(t, "pmirror_tee_connections %llu\n", (unsigned long long)st->connections);
    header(t, "pmirror_tee_connections_refused_total", "counter",
           "Client connections refused at once, by reason: per_ip (over --max-per-ip), limit (over "
           "--max-connections).");
    emit(t, "pmirror_tee_connections_refused_total{reason=\"per_ip\"} %llu\n", (unsigned long long)st->refused_per_ip);
    emit(t, "pmirror_tee_connections_refused_total{reason=\"limit\"} %llu\n", (unsigned long long)st->refused_limit);
    header(t, "pmirror_tee_head_timeouts_total", "counter",
           "Client connections closed because a request head was not whole within --header-timeout.");
    emit(t, "pmirror_tee_head_timeouts_total %llu\n", (unsigned long long)st->head_timeouts);
}

static void front_metrics(text *t, const tee_front *tee)
{
    tee_stats st;
    tee_get_stats(tee, &st);
    header(t, "pmirror_tee_requests_total", "counter", "Client requests the tee received.");
    emit(t, "pmirror_tee_requests_total %llu\n", (unsigned long long)st.requests);
    header(t, "pmirror_tee_primary_errors_total", "counter",
         "Proxy mode: requests answered 502/504 because the primary failed.");
    emit(t, "pmirror_tee_primary_errors_total %llu\n", (unsigned long long)st.primary_errors);
    header(t, "pmirror_tee_client_aborts_total", "counter", "Clients that went away before their answer was sent.");
    emit(t, "pmirror_tee_client_aborts_total %llu\n", (unsigned long long)st.client_aborts);
    header(t, "pmirror_tee_client_errors_total", "counter",
           "Requests the front answered 400/501 itself, by reason (target, field, framing); never forwarded.");
    const struct {
        const char *reason;
        uint64_t n;
    } rejects[] = {{"target", st.rejected_target}, {"field", st.rejected_field}, {"framing", st.rejected_framing}};
    for (size_t i = 0; i < sizeof rejects / sizeof *rejects; i++)
        emit(t, "pmirror_tee_client_errors_total{reason=\"%s\"} %llu\n", rejects[i].reason,
             (unsigned long long)rejects[i].n);
    header(t, "pmirror_tee_not_selected_total", "counter", "Requests outside --family/--select (not shadowed).");
    emit(t, "pmirror_tee_not_selected_total %llu\n", (unsigned long long)st.not_selected);
    header(t, "pmirror_tee_shadow_queued_total", "counter", "Shadow copies put on the queue.");
    emit(t, "pmirror_tee_shadow_queued_total %llu\n", (unsigned long long)st.queued);
    header(t, "pmirror_tee_shadow_dropped_total", "counter", "Shadow copies dropped, by reason (never waited for).");
    const struct {
        const char *reason;
        uint64_t n;
    } drops[] = {{"queue_full", st.dropped_full},         {"queue_memory", st.dropped_memory},
                 {"too_large", st.dropped_too_large},     {"incomplete", st.dropped_incomplete},
                 {"stopping", st.dropped_stopping},       {"fair_share", st.dropped_share}};
    for (size_t i = 0; i < sizeof drops / sizeof *drops; i++)
        emit(t, "pmirror_tee_shadow_dropped_total{reason=\"%s\"} %llu\n", drops[i].reason,
             (unsigned long long)drops[i].n);
    header(t, "pmirror_tee_queue_depth", "gauge", "Shadow copies waiting in the queue.");
    emit(t, "pmirror_tee_queue_depth %llu\n", (unsigned long long)st.queue_depth);
    header(t, "pmirror_tee_queue_capacity", "gauge", "Shadow copies the queue holds at most (--queue).");
    emit(t, "pmirror_tee_queue_capacity %llu\n", (unsigned long long)st.queue_capacity);
    header(t, "pmirror_tee_queue_bytes", "gauge", "Memory held by the queued shadow copies.");
    emit(t, "pmirror_tee_queue_bytes %llu\n", (unsigned long long)st.queue_bytes);
    header(t, "pmirror_tee_in_flight", "gauge", "Client requests being answered now.");
    emit(t, "pmirror_tee_in_flight %llu\n", (unsigned long long)st.in_flight);
    if (!tee_is_sink(tee))
        guard_metrics(t, &st);
}

static void verdict_metrics(text *t, const tee_metrics *m)
{
    char l1[256], l2[256], l3[256];
    header(t, "pmirror_tee_exchanges_total", "counter",
           "Shadowed exchanges diffed, by family, capability and verdict.");
    for (size_t i = 0; i < m->ncaps; i++)
        for (int v = 0; v < NVERDICTS; v++)
            emit(t, "pmirror_tee_exchanges_total{family=\"%s\",capability=\"%s\",verdict=\"%s\"} %llu\n",
                 label(m->caps[i].family, l1, sizeof l1), label(m->caps[i].capability, l2, sizeof l2), verdicts[v],
                 (unsigned long long)m->caps[i].verdicts[v]);
    /* parity per family: the capability rows summed (rows of one family are not adjacent) */
    header(t, "pmirror_tee_parity", "gauge", "match / (match + mismatch) per family, since the tee started.");
    text lower = {0};
    header(&lower, "pmirror_tee_parity_lower", "gauge", "Wilson 95% lower bound of the parity per family.");
    for (size_t i = 0; i < m->ncaps; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->caps[j].family, m->caps[i].family) == 0;
        if (seen)
            continue;
        uint64_t match = 0, mismatch = 0;
        for (size_t j = i; j < m->ncaps; j++)
            if (strcmp(m->caps[j].family, m->caps[i].family) == 0) {
                match += m->caps[j].verdicts[0];
                mismatch += m->caps[j].verdicts[1];
            }
        if (match + mismatch == 0)
            continue; /* no sample: no parity (0 would read as a failure) */
        label(m->caps[i].family, l1, sizeof l1);
        emit(t, "pmirror_tee_parity{family=\"%s\"} %.6f\n", l1, (double)match / (double)(match + mismatch));
        emit(&lower, "pmirror_tee_parity_lower{family=\"%s\"} %.6f\n", l1, pm_wilson_lower(match, match + mismatch));
    }
    if (lower.buf)
        emit(t, "%s", lower.buf);
    t->failed |= lower.failed;
    free(lower.buf);
    header(t, "pmirror_tee_latency_seconds", "histogram",
           "Time to the first byte of each target's answer, per target and family.");
    for (size_t i = 0; i < m->nlats; i++) {
        const latency_row *r = &m->lats[i];
        label(r->target, l1, sizeof l1);
        label(r->family, l3, sizeof l3);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += r->buckets[b];
            emit(t, "pmirror_tee_latency_seconds_bucket{target=\"%s\",family=\"%s\",le=\"%g\"} %llu\n", l1, l3,
                 bucket_bounds[b], (unsigned long long)cumulative);
        }
        emit(t, "pmirror_tee_latency_seconds_bucket{target=\"%s\",family=\"%s\",le=\"+Inf\"} %llu\n", l1, l3,
             (unsigned long long)r->count);
        emit(t, "pmirror_tee_latency_seconds_sum{target=\"%s\",family=\"%s\"} %.6f\n", l1, l3, r->sum);
        emit(t, "pmirror_tee_latency_seconds_count{target=\"%s\",family=\"%s\"} %llu\n", l1, l3,
             (unsigned long long)r->count);
    }
    header(t, "pmirror_tee_diffed_total", "counter", "Shadow results diffed (every verdict).");
    emit(t, "pmirror_tee_diffed_total %llu\n", (unsigned long long)m->observed);
    header(t, "pmirror_tee_rollbacks_total", "counter",
           "--on-rollback commands run, per family (a go switch the sequential decision rolled back).");
    for (size_t i = 0; i < m->nrollbacks; i++)
        emit(t, "pmirror_tee_rollbacks_total{family=\"%s\"} %llu\n", label(m->rollbacks[i].family, l1, sizeof l1),
             (unsigned long long)m->rollbacks[i].count);
}

static uint64_t family_diffed(const tee_metrics *m, const char *family)
{
    uint64_t n = 0;
    for (size_t i = 0; i < m->ncaps; i++)
        if (strcmp(m->caps[i].family, family) == 0)
            for (int v = 0; v < NVERDICTS; v++)
                n += m->caps[i].verdicts[v];
    return n;
}

uint64_t tee_metrics_family_diffed(tee_metrics *m, const char *family)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = family_diffed(m, family);
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* Per family: seen, diffed, shed, and the coverage, diffed / seen. */
static void coverage_metrics(text *t, const tee_metrics *m, const tee_front *tee)
{
    tee_family_stats fs[256];
    size_t n = tee_get_family_stats(tee, fs, sizeof fs / sizeof *fs);
    char l[256];
    const char *names[] = {"pmirror_tee_shadow_seen_total", "pmirror_tee_shadow_diffed_total",
                           "pmirror_tee_shadow_shed_total", "pmirror_tee_shadow_coverage"};
    const char *helps[] = {"Requests in scope per family (each one a shadow copy to make).",
                           "Shadow copies diffed per family.",
                           "Shadow copies shed per family (every drop reason, fair share included).",
                           "Shadow copies diffed / requests in scope, per family, since the tee started."};
    for (int k = 0; k < 4; k++) {
        header(t, names[k], k == 3 ? "gauge" : "counter", helps[k]);
        for (size_t i = 0; i < n; i++) {
            uint64_t diffed = family_diffed(m, fs[i].family);
            label(fs[i].family, l, sizeof l);
            if (k == 3) {
                if (fs[i].seen)
                    emit(t, "%s{family=\"%s\"} %.6f\n", names[k], l, (double)diffed / (double)fs[i].seen);
                continue;
            }
            uint64_t v = k == 0 ? fs[i].seen : k == 1 ? diffed : fs[i].shed;
            emit(t, "%s{family=\"%s\"} %llu\n", names[k], l, (unsigned long long)v);
        }
    }
}

char *tee_metrics_text(tee_metrics *m, const tee_front *tee)
{
    text t = {0};
    if (tee)
        front_metrics(&t, tee);
    pthread_mutex_lock(&m->lock);
    verdict_metrics(&t, m);
    if (tee)
        coverage_metrics(&t, m, tee);
    pthread_mutex_unlock(&m->lock);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

/* ---- GET /metrics --------------------------------------------------------------------------- */

static enum MHD_Result on_scrape(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    tee_metrics *m = cls;
    if (!*con_cls) { /* first call: the head only */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/") == 0;
    if (!known || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
        static const char nope[] = "pmirror tee: metrics are at GET /metrics\n";
        struct MHD_Response *r = MHD_create_response_from_buffer(sizeof nope - 1, (void *)nope, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result q = MHD_queue_response(c, known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return q;
    }
    char *body = tee_metrics_text(m, m->tee);
    if (!body)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result q = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return q;
}

int tee_metrics_serve(tee_metrics *m, const tee_front *tee, const char *listen, pm_err *err)
{
    struct sockaddr_storage bound;
    int fd = pm_listen_socket(listen, 128, false, &bound, err);
    if (fd < 0)
        return -1;
    char authority[80];
    uint16_t port;
    pm_describe_address(&bound, authority, sizeof authority, &port);
    m->tee = tee;
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_scrape, m,
                                 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!m->daemon) {
        close(fd);
        return pm_err_set(err, "cannot start the metrics server on %s", listen);
    }
    snprintf(m->url, sizeof m->url, "http://%s/metrics", authority);
    return 0;
}

const char *tee_metrics_url(const tee_metrics *m)
{
    return m->daemon ? m->url : NULL;
}
