/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tee_worker.c — the proxy's event loops: one thread per worker (default: one per CPU),
 * each with its own libmicrohttpd daemon on its own SO_REUSEPORT socket (the kernel
 * spreads client connections over them) and its own libcurl multi handle for the primary.
 * On a Unix socket (--listen unix:/PATH) the workers share one listening socket instead,
 * each daemon with its own duplicate of the descriptor (tee_server.c's listen_unix).
 *
 * One thread drives both sides: curl_multi_poll waits on curl's sockets and on the
 * daemon's epoll descriptor at once, then MHD_run handles the clients and
 * curl_multi_perform the primary. A request and its transfer never leave their worker,
 * so nothing on this path takes a lock, and a busy loop handles many requests per
 * wake-up instead of paying two context switches per request (the thread-per-connection
 * design this replaced ran at half the speed; see bench/tee.sh).
 *
 * Each wait is also bounded by the first request head deadline of the worker's
 * connections (tee_guard.c), which the loop enforces before it waits.
 *
 * Sink mode has a single pseudo-worker whose daemon runs its own small thread pool: its
 * requests never wait for anything.
 *
 * Stopping: `stopping` makes each worker quiesce its daemon (no new connections) and go
 * on until its requests are answered; `closing` ends the loops: transfers still running
 * are abandoned, their requests resumed so libmicrohttpd can close them, and the daemon
 * stopped by its own thread.
 */
#include "tee_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TEE_CLASSIFY_SLOTS 4096 /* paths whose routes a loop remembers (about 1 MB; core/classify_cache.c) */

static void *worker_run(void *arg)
{
    tee_worker *w = arg;
    tee_front *t = w->tee;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct curl_waitfd daemon_fd = {.fd = info ? info->epoll_fd : -1, .events = CURL_WAIT_POLLIN};
    bool quiesced = false;
    while (!atomic_load(&t->closing)) {
        if (!quiesced && atomic_load(&t->stopping)) {
            MHD_socket fd = MHD_quiesce_daemon(w->daemon);
            if (fd != MHD_INVALID_SOCKET)
                close(fd);
            w->listen_fd = -1;
            quiesced = true;
        }
        int timeout_ms = 1000;
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        if (MHD_get_timeout(w->daemon, &mhd_ms) == MHD_YES && mhd_ms < (MHD_UNSIGNED_LONG_LONG)timeout_ms)
            timeout_ms = (int)mhd_ms;
        long curl_ms = -1;
        curl_multi_timeout(w->multi, &curl_ms);
        if (curl_ms >= 0 && curl_ms < timeout_ms)
            timeout_ms = (int)curl_ms;
        int guard_ms = tee_guard_sweep(w);
        if (guard_ms >= 0 && guard_ms < timeout_ms)
            timeout_ms = guard_ms;
        /* a resumed connection does not wake the daemon's epoll descriptor in this
         * mode: the daemon runs again at once instead */
        if (w->resumed)
            timeout_ms = 0;
        curl_multi_poll(w->multi, &daemon_fd, 1, timeout_ms, NULL);
        w->resumed = false;
        MHD_run(w->daemon);
        int running = 0;
        curl_multi_perform(w->multi, &running);
        tee_transfer_collect(w);
    }
    /* closing: what still waits on the primary is given up, and every request resumed */
    while (w->active) {
        tee_request *rq = w->active;
        tee_transfer_release(w, rq);
        rq->xfer.done = true;
        rq->xfer.result = CURLE_ABORTED_BY_CALLBACK;
        rq->xfer.error = "other";
        tee_request_wake(rq);
    }
    MHD_run(w->daemon); /* the resumed requests end here: none stays suspended */
    MHD_stop_daemon(w->daemon);
    w->daemon = NULL;
    return NULL;
}

static void wake_all(tee_front *t)
{
    for (size_t i = 0; i < t->nworkers; i++)
        if (t->workers[i].multi)
            curl_multi_wakeup(t->workers[i].multi);
}

int tee_workers_start(tee_front *t, const int *listen_fds, size_t n, pm_err *err)
{
    t->workers = calloc(n, sizeof *t->workers);
    if (!t->workers) {
        for (size_t i = 0; i < n; i++)
            close(listen_fds[i]);
        return pm_err_set(err, "out of memory");
    }
    t->nworkers = n;
    for (size_t i = 0; i < n; i++) {
        t->workers[i].tee = t;
        t->workers[i].listen_fd = listen_fds[i];
        t->workers[i].owns_fd = true; /* until a daemon takes it */
    }
    unsigned limit = t->o.max_connections ? t->o.max_connections : 1024;
    for (size_t i = 0; i < n; i++) {
        tee_worker *w = &t->workers[i];
        unsigned flags, pool = 0;
        w->limit = limit / n > 0 ? limit / n : 1;
        unsigned mhd_limit = w->limit;
        if (t->primary) {
            /* tee_guard_accept refuses at w->limit, counted; the daemon's own limit (one
             * above) would only stop accepting */
            w->guarded = true;
            mhd_limit = w->limit + 1;
            flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
            if (!(w->multi = curl_multi_init()))
                return pm_err_set(err, "out of memory");
            /* keep a connection to the primary for every request that may be in flight */
            curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)(limit / n + 16));
            w->origin = tee_origin_parse(t); /* NULL: the URL goes as text, as before */
            /* the routes of paths seen before, remembered (only this thread classifies;
             * a sink's daemon runs a pool of threads and classifies without) */
            w->classes = pm_classify_cache_new(t->o.map, TEE_CLASSIFY_SLOTS);
        } else {
            flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
            pool = 2;
        }
        w->daemon = MHD_start_daemon(
            flags, 0, w->guarded ? tee_guard_accept : NULL, w, tee_on_access, w, MHD_OPTION_LISTEN_SOCKET, w->listen_fd,
            MHD_OPTION_URI_LOG_CALLBACK, tee_on_request_line, w, MHD_OPTION_NOTIFY_COMPLETED, tee_on_completed, w,
            MHD_OPTION_NOTIFY_CONNECTION, tee_on_connection, w, MHD_OPTION_CONNECTION_LIMIT,
            mhd_limit, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 << 10, pool ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
            pool, MHD_OPTION_END);
        if (!w->daemon)
            return pm_err_set(err, "cannot start the tee's HTTP server on %s", t->o.listen);
        w->owns_fd = false;
        if (t->primary) {
            if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
                return pm_err_set(err, "cannot start a tee worker thread");
            pthread_setname_np(w->thread, "tee-loop"); /* top -H, /proc, bench/tee.sh's CPU split */
            w->running = true;
        }
    }
    return 0;
}

void tee_workers_stop(tee_front *t, int64_t deadline_us)
{
    atomic_store(&t->stopping, true);
    if (!t->primary) /* the sink's daemon has its own threads */
        for (size_t i = 0; i < t->nworkers; i++)
            if (t->workers[i].daemon) {
                MHD_socket fd = MHD_quiesce_daemon(t->workers[i].daemon);
                if (fd != MHD_INVALID_SOCKET)
                    close(fd);
                t->workers[i].listen_fd = -1;
            }
    wake_all(t);
    while (atomic_load(&t->in_flight) > 0 && tee_mono_us() < deadline_us)
        usleep(5000);
    atomic_store(&t->closing, true);
    wake_all(t);
    for (size_t i = 0; i < t->nworkers; i++) {
        tee_worker *w = &t->workers[i];
        if (w->running) {
            pthread_join(w->thread, NULL);
            w->running = false;
        } else if (w->daemon) {
            MHD_stop_daemon(w->daemon);
            w->daemon = NULL;
        }
    }
}
