/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_guard.c — what keeps one client from taking proxy mode's front away from the others
 * (slowloris): a limit on connections per client address shared by every worker, the
 * total limit made countable, and a deadline for each complete request head.
 *
 * libmicrohttpd 0.9.75 has neither a head deadline (its idle timeout restarts on every
 * byte) nor a per-address limit that holds across daemons (each worker has its own daemon
 * on a shared SO_REUSEPORT port, so MHD_OPTION_PER_IP_CONNECTION_LIMIT would allow N per
 * worker). Both are built from its callbacks:
 *
 * - The accept policy callback (tee_guard_accept) refuses at once, counted, a connection
 *   over the worker's share of --max-connections or over --max-per-ip for its address
 *   (one table for all workers, behind a mutex taken once per accept and once per close).
 *   The daemon's own limit is set one above the worker's share, so this callback is what
 *   refuses: at its own limit MHD would stop accepting and leave clients in the kernel's
 *   backlog, uncounted. MHD calls the policy, then NOTIFY_STARTED on the same thread, but
 *   may fail in between (memory) without telling us: the admission is kept as the
 *   worker's `pending` one until STARTED claims it, and an unclaimed one is given back at
 *   the next accept.
 * - The head deadline: from the connection's start, and again from the end of each
 *   answer (the idle time of a keep-alive connection counts towards its next head), to
 *   the moment libmicrohttpd has the whole head. Each worker keeps the connections whose
 *   deadline runs in a list ordered by deadline (one timeout for all: appending keeps it
 *   sorted). Its loop waits no longer than the first deadline and then asks libmicrohttpd
 *   whether the head is whole (MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE answers only once
 *   it is): if not, the socket is shut down (shutdown(2), never close(2): the descriptor
 *   is libmicrohttpd's), libmicrohttpd reads the end and closes the connection itself.
 *   Nothing on a request's path costs more than a clock read and a list move.
 *
 * Proxy mode only: a sink's only client is the proxy that mirrors to it, all from one
 * address, and its daemon runs its own threads.
 */
#include "tee_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ===== the per-address table (all workers) ============================================= */

typedef struct ip_slot {
    tee_addr addr;
    unsigned count;             /* 0: empty */
} ip_slot;

struct tee_guard {
    pthread_mutex_t lock;
    unsigned max_per_ip;
    ip_slot *slots;             /* open addressing; never more than half full */
    size_t mask;
};

tee_guard *tee_guard_new(unsigned max_per_ip, size_t max_connections)
{
    tee_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->max_per_ip = max_per_ip;
    if (max_per_ip) {
        /* an address in the table has an open connection: at most max_connections (plus
         * one pending admission per worker, at most 64) */
        size_t n = 256;
        while (n < 2 * (max_connections + 64))
            n *= 2;
        if (!(g->slots = calloc(n, sizeof *g->slots))) {
            free(g);
            return NULL;
        }
        g->mask = n - 1;
    }
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void tee_guard_free(tee_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->slots);
    free(g);
}

static size_t addr_hash(const tee_addr *a)
{
    uint64_t h = pm_fnv1a(PM_FNV1A_INIT, a->bytes, sizeof a->bytes);
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding a, or the empty one where it would go. Lock held. */
static size_t slot_of(const tee_guard *g, const tee_addr *a)
{
    size_t i = addr_hash(a) & g->mask;
    while (g->slots[i].count && memcmp(&g->slots[i].addr, a, sizeof *a) != 0)
        i = (i + 1) & g->mask;
    return i;
}

bool tee_guard_reserve(tee_guard *g, const tee_addr *a)
{
    pthread_mutex_lock(&g->lock);
    ip_slot *s = &g->slots[slot_of(g, a)];
    bool ok = s->count < g->max_per_ip;
    if (ok && s->count++ == 0)
        s->addr = *a;
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void tee_guard_release(tee_guard *g, const tee_addr *a)
{
    pthread_mutex_lock(&g->lock);
    size_t i = slot_of(g, a);
    if (g->slots[i].count && --g->slots[i].count == 0) {
        /* backward-shift deletion: later slots of the probe run move into the gap */
        for (size_t j = (i + 1) & g->mask; g->slots[j].count; j = (j + 1) & g->mask) {
            size_t home = addr_hash(&g->slots[j].addr) & g->mask;
            if (((j - home) & g->mask) >= ((j - i) & g->mask)) {
                g->slots[i] = g->slots[j];
                g->slots[j].count = 0;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* ===== admission (the accept policy, cls: the worker) ==================================== */

static void addr_key(const struct sockaddr *sa, socklen_t len, tee_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        out->bytes[10] = out->bytes[11] = 0xff; /* ::ffff:a.b.c.d, as the same client over IPv6 */
        memcpy(out->bytes + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

/* An admission STARTED never claimed (libmicrohttpd failed after the policy): given back. */
static void drop_pending(tee_worker *w)
{
    if (!w->pending)
        return;
    w->pending = false;
    w->open--;
    if (w->pending_counted)
        tee_guard_release(w->tee->guard, &w->pending_addr);
}

enum MHD_Result tee_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    tee_worker *w = cls;
    tee_front *t = w->tee;
    drop_pending(w);
    if (w->open >= w->limit) {
        atomic_fetch_add(&t->refused_limit, 1);
        return MHD_NO;
    }
    tee_addr a;
    addr_key(addr, addrlen, &a);
    bool counted = t->o.max_per_ip > 0;
    if (counted && !tee_guard_reserve(t->guard, &a)) {
        atomic_fetch_add(&t->refused_per_ip, 1);
        return MHD_NO;
    }
    w->open++;
    w->pending = true;
    w->pending_addr = a;
    w->pending_counted = counted;
    return MHD_YES;
}

/* ===== head deadlines (the worker's thread) ================================================ */

static void unwait(tee_worker *w, tee_conn *conn)
{
    if (!conn->waiting)
        return;
    if (conn->wait_prev)
        conn->wait_prev->wait_next = conn->wait_next;
    else
        w->waiting_head = conn->wait_next;
    if (conn->wait_next)
        conn->wait_next->wait_prev = conn->wait_prev;
    else
        w->waiting_tail = conn->wait_prev;
    conn->wait_prev = conn->wait_next = NULL;
    conn->waiting = false;
}

/* The connection's next head is due header_timeout from now (the list's tail: every
 * deadline already in it is earlier). */
static void arm(tee_worker *w, tee_conn *conn)
{
    double timeout = w->tee->o.header_timeout_s;
    if (timeout <= 0 || conn->cut)
        return;
    unwait(w, conn);
    conn->head_deadline_us = tee_mono_us() + (int64_t)(timeout * 1e6);
    conn->wait_prev = w->waiting_tail;
    if (w->waiting_tail)
        w->waiting_tail->wait_next = conn;
    else
        w->waiting_head = conn;
    w->waiting_tail = conn;
    conn->waiting = true;
}

void tee_guard_opened(tee_worker *w, tee_conn *conn, struct MHD_Connection *c)
{
    conn->mhd = c;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn->fd = ci ? ci->connect_fd : -1;
    if (w->pending) { /* the admission the policy just made is this connection's */
        w->pending = false;
        conn->admitted = true;
        conn->counted = w->pending_counted;
        conn->addr = w->pending_addr;
    }
    atomic_fetch_add(&w->tee->connections, 1);
    arm(w, conn);
}

void tee_guard_closed(tee_worker *w, tee_conn *conn)
{
    unwait(w, conn);
    atomic_fetch_sub(&w->tee->connections, 1);
    if (!conn->admitted)
        return;
    w->open--;
    if (conn->counted)
        tee_guard_release(w->tee->guard, &conn->addr);
}

void tee_guard_request_done(tee_worker *w, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    tee_conn *conn = ci ? ci->socket_context : NULL;
    if (conn)
        arm(w, conn);
}

int tee_guard_sweep(tee_worker *w)
{
    if (!w->waiting_head)
        return -1;
    int64_t now = tee_mono_us();
    tee_conn *conn;
    while ((conn = w->waiting_head) && conn->head_deadline_us <= now) {
        unwait(w, conn);
        if (MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE))
            continue; /* the head is whole: its request runs, the deadline is armed again when it ends */
        conn->cut = true;
        if (conn->fd >= 0)
            shutdown(conn->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
        atomic_fetch_add(&w->tee->head_timeouts, 1);
    }
    if (!conn)
        return -1;
    return (int)((conn->head_deadline_us - now + 999) / 1000);
}

/* ===== descriptors ========================================================================= */

void tee_guard_raise_fd_limit(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? (rlim_t)want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl); /* short of it, accept(2) fails and libmicrohttpd waits */
}
