/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c — a capture session: libpcap in, capture records out.
 *
 * Reads packets (a pcap/pcapng file, or a live interface with a 100 ms timeout so the
 * loop can notice a stop request, expire idle flows and call the caller's tick), decodes
 * them, feeds the flow table, and turns each finished exchange into a record for the
 * caller, which a second thread writes (record_thread.c: the loop moves the exchange there
 * and reads on; the caller's record callback runs on that thread, never at the same time as
 * its tick). Every packet or byte that does not become part of a record lands in a counter
 * of capture_stats. A file cut short is not an error: what it held is emitted and the
 * damage is reported in `truncated_file`.
 *
 * A pcap that arrives through a pipe (`-r -`, a FIFO: `tcpdump -w - | pmirror capture -r -`)
 * may pause for as long as its writer likes, and libpcap would sit in read(2) all that time:
 * the caller's tick (which flushes the output every second) would not run, and a kill
 * would lose far more than the flush interval. So a pipe is read through a stdio cookie
 * that waits at most LIVE_TIMEOUT_MS at a time and ticks in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow.h"
#include "record_thread.h"

#define LIVE_TIMEOUT_MS 100
#define LIVE_BUFFER_BYTES (64 << 20)
#define SNAPLEN 262144
#define CLASSIFY_SLOTS 4096 /* paths whose routes are remembered (about 1 MB; core/classify_cache.c) */
#define READ_BUFFER ((size_t)1 << 20) /* a pcap file is read this much at a time (open_file) */

struct capture_session {
    capture_options opts;
    pcap_t *pcap;
    char *read_buffer; /* a pcap file's stdio buffer (open_file): freed after pcap_close */
    int linktype;
    bool live;
    capture_stats stats;
    tcp_counters tcp;
    http_env env;
    flow_table *flows;
    capture_record_fn fn;
    void *fn_ctx;
    pm_err cb_err;
    bool cb_failed;
    volatile sig_atomic_t stop;
    int64_t now_us, last_expiry_us;
    char prefix[16];
    bool prefix_set;
    pm_jtext text; /* the record being written, reused (the record thread's) */
    pm_secrets *secrets; /* each exchange's secrets while its record is written, reused
                          * (the record thread's; made at its first redacted record) */
    pm_redactor *remembering; /* opts.redactor when redacting: the record thread's, it
                               * remembers each credential's token across exchanges */
    record_thread *writer; /* during capture_run */
    pthread_mutex_t fn_lock; /* the caller's fn (record thread) and tick (loop) never overlap */
    bool truncated_file;
    char file_warning[PCAP_ERRBUF_SIZE + 64];
    int (*tick)(void *ctx, const capture_stats *stats); /* capture_run's, for pipe_read */
    void *tick_ctx;
};

void capture_options_init(capture_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_body = PM_BODY_CAP_DEFAULT;
    o->max_stream_buffer = 4u << 20;
    o->max_total_buffer = 256u << 20;
    o->max_header_bytes = 1u << 20;
    o->idle_timeout_us = 120 * 1000000LL;
}

/* ---- records ------------------------------------------------------------------------ */

/* out = prefix + "-" + n, as "%s-%llu" writes it, without printf's machinery (twice a
 * record); out has room for 20 digits after the prefix (see write_exchange's sizes). */
static void dash_number(char *out, const char *prefix, uint64_t n)
{
    size_t len = strlen(prefix);
    memcpy(out, prefix, len);
    out[len++] = '-';
    char digits[20], *p = digits + sizeof digits;
    do
        *--p = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    memcpy(out + len, p, (size_t)(digits + sizeof digits - p));
    out[len + (size_t)(digits + sizeof digits - p)] = '\0';
}

/* On the record thread: the record's text, then the caller's fn. */
static int write_exchange(void *ctx, const http_exchange *x, uint64_t conn_id, pm_err *err)
{
    capture_session *s = ctx;
    char session[sizeof s->prefix + 21], id[sizeof session + 21];
    dash_number(session, s->prefix, conn_id);
    dash_number(id, session, x->seq);
    if (s->opts.redactor && !s->secrets)
        s->secrets = pm_secrets_new(); /* NULL: the record makes its own, and fails the same */
    if (capture_exchange_record(x, &s->opts, session, id, s->secrets, &s->text) != 0)
        return pm_err_set(err, "out of memory building record %s", id);
    pthread_mutex_lock(&s->fn_lock);
    int rc = s->fn(s->fn_ctx, s->text.buf, s->text.len, err);
    pthread_mutex_unlock(&s->fn_lock);
    return rc;
}

/* On the packet loop: counted, then its contents moved to the record thread. */
static int emit_exchange(void *ctx, http_exchange *x, uint64_t conn_id)
{
    capture_session *s = ctx;
    if (!x->classified)
        return 0; /* its request never got past the head: counted as lost_requests */
    if (!x->selected) {
        s->stats.not_selected++;
        return 0;
    }
    s->stats.exchanges++;
    pm_family_count_add(&s->stats.families, &s->stats.nfamilies, x->cls.family ? x->cls.family : "UNKNOWN");
    if (!x->has_response)
        s->stats.without_response++;
    else if (!x->resp.complete)
        s->stats.incomplete_responses++;
    if (x->has_response && x->resp.stream)
        s->stats.event_streams++;
    capture_exchange_prepare(x, &s->opts);
    http_exchange *moved = malloc(sizeof *moved);
    if (!moved) {
        s->cb_failed = true;
        return pm_err_set(&s->cb_err, "out of memory queueing an exchange");
    }
    *moved = *x;
    moved->next = NULL;
    memset(x, 0, sizeof *x); /* its buffers are moved's now */
    if (record_thread_push(s->writer, moved, conn_id) != 0) {
        s->cb_failed = true; /* the thread's error is taken when it is finished */
        return -1;
    }
    return 0;
}

/* The caller's tick, never while its fn runs on the record thread (both use its output). */
static int locked_tick(capture_session *s, int (*tick)(void *ctx, const capture_stats *stats), void *ctx)
{
    pthread_mutex_lock(&s->fn_lock);
    int rc = tick(ctx, &s->stats);
    pthread_mutex_unlock(&s->fn_lock);
    return rc;
}

/* ---- opening ----------------------------------------------------------------------- */

/* "tcp [and (port A or port B)] [and (BPF)]". On Ethernet the same again behind one and
 * two 802.1Q tags: BPF's "tcp" alone never matches a tagged frame. */
static char *port_filter(const capture_options *o, int linktype)
{
    size_t cap = 64 + o->nports * 16 + (o->bpf ? strlen(o->bpf) : 0);
    char *f = malloc(cap);
    char *all = malloc(3 * cap + 64);
    if (!f || !all) {
        free(f);
        free(all);
        return NULL;
    }
    size_t n = (size_t)snprintf(f, cap, "tcp");
    for (size_t i = 0; i < o->nports; i++)
        n += (size_t)snprintf(f + n, cap - n, "%s port %d", i == 0 ? " and (" : " or", o->ports[i]);
    if (o->nports)
        n += (size_t)snprintf(f + n, cap - n, ")");
    if (o->bpf && *o->bpf)
        snprintf(f + n, cap - n, " and (%s)", o->bpf);
    if (linktype == DLT_EN10MB)
        snprintf(all, 3 * cap + 64, "(%s) or (vlan and %s) or (vlan and vlan and %s)", f, f, f);
    else
        snprintf(all, 3 * cap + 64, "%s", f);
    free(f);
    return all;
}

static pcap_t *open_live(const char *iface, pm_err *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, errbuf);
    if (!p) {
        pm_err_set(err, "-i %s: %s", iface, errbuf);
        return NULL;
    }
    pcap_set_snaplen(p, SNAPLEN);
    pcap_set_promisc(p, 0);
    pcap_set_timeout(p, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(p, LIVE_BUFFER_BYTES);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
    pcap_set_immediate_mode(p, 1); /* deliver packets as they come, not per filled block */
    int rc = pcap_activate(p);
    if (rc < 0) {
        pm_err_set(err, "-i %s: %s", iface, pcap_geterr(p)[0] ? pcap_geterr(p) : pcap_statustostr(rc));
        pcap_close(p);
        return NULL;
    }
    /* Non-blocking, with our own poll(): libpcap's read timeout does not fire on Linux
     * while no packet arrives, and a capture must notice --duration and signals. */
    if (pcap_setnonblock(p, 1, errbuf) != 0 || pcap_get_selectable_fd(p) < 0) {
        pm_err_set(err, "-i %s: cannot poll the capture: %s", iface, errbuf);
        pcap_close(p);
        return NULL;
    }
    return p;
}

/* ---- pipes ---------------------------------------------------------------------------- */

typedef struct {
    int fd;
    capture_session *s;
    uint64_t last_tick_ms;
} pipe_reader;

static void copy_tcp_stats(capture_session *s);

/* Reads what the pipe has, ticking the caller at least every LIVE_TIMEOUT_MS while it
 * waits or trickles. A stop (a signal, or the tick asking for it) reads as the end. */
static ssize_t pipe_read(void *cookie, char *buf, size_t size)
{
    pipe_reader *pr = cookie;
    capture_session *s = pr->s;
    for (;;) {
        if (s->stop)
            return 0;
        if (s->tick && pm_now_ms() - pr->last_tick_ms >= LIVE_TIMEOUT_MS) {
            pr->last_tick_ms = pm_now_ms();
            copy_tcp_stats(s);
            if (locked_tick(s, s->tick, s->tick_ctx) != 0) {
                s->stop = 1;
                return 0;
            }
        }
        struct pollfd pfd = {.fd = pr->fd, .events = POLLIN};
        int n = poll(&pfd, 1, LIVE_TIMEOUT_MS);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0) {
            ssize_t got = read(pr->fd, buf, size);
            if (got >= 0 || errno != EINTR)
                return got;
        }
    }
}

static int pipe_close(void *cookie)
{
    pipe_reader *pr = cookie;
    int rc = close(pr->fd);
    free(pr);
    return rc;
}

/* A FILE reading path through pipe_read when it is a pipe (stdin "-", a FIFO, a socket);
 * NULL for a regular file (nothing to wait for), which libpcap opens itself. */
static FILE *open_pipe(capture_session *s, const char *path)
{
    struct stat st;
    bool is_stdin = strcmp(path, "-") == 0;
    if ((is_stdin ? fstat(STDIN_FILENO, &st) : stat(path, &st)) != 0 ||
        !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return NULL;
    pipe_reader *pr = calloc(1, sizeof *pr);
    if (!pr)
        return NULL;
    pr->s = s;
    pr->last_tick_ms = pm_now_ms();
    pr->fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    FILE *f = pr->fd >= 0 ? fopencookie(pr, "r", (cookie_io_functions_t){.read = pipe_read, .close = pipe_close})
                          : NULL;
    if (!f) {
        if (pr->fd >= 0)
            close(pr->fd);
        free(pr);
    }
    return f;
}

/* A regular file, opened here rather than by libpcap so that it is read a megabyte at a
 * time: libpcap's own fopen reads st_blksize (4 KiB) per read(2), 112 000 system calls
 * for bench/capture.sh's 460 MB pcap, each a costly trip on a virtualized kernel. The
 * error text is libpcap's ("PATH: reason"); pcap_close closes the file. */
static pcap_t *open_file(capture_session *s, const char *path, char *errbuf)
{
    if (strcmp(path, "-") == 0) /* stdin redirected from a file: libpcap's own, left open */
        return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* glibc ignores the size of a buffer it is to allocate itself: this one is the session's */
    if ((s->read_buffer = malloc(READ_BUFFER)))
        setvbuf(f, s->read_buffer, _IOFBF, READ_BUFFER);
    __fsetlocking(f, FSETLOCKING_BYCALLER); /* one reader (the packet loop): no lock per fread */
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p)
        fclose(f);
    return p;
}

static int linktype_error(const capture_session *s, pm_err *err)
{
    return pm_err_set(err, "%s: link type %s (%d) is not supported",
                      s->opts.file ? s->opts.file : s->opts.iface ? s->opts.iface : "pcap stream",
                      pcap_datalink_val_to_name(s->linktype) ? pcap_datalink_val_to_name(s->linktype) : "?",
                      s->linktype);
}

capture_session *capture_open(const capture_options *o, pm_err *err)
{
    if ((!o->file && !o->stream) == (!o->iface)) {
        pm_err_set(err, "give exactly one of -r FILE and -i IFACE");
        return NULL;
    }
    if (!o->map) {
        pm_err_set(err, "no capability map");
        return NULL;
    }
    capture_session *s = calloc(1, sizeof *s);
    if (!s) {
        pm_err_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->fn_lock, NULL);
    s->opts = *o;
    if (o->redactor && !(s->opts.redactor = s->remembering = pm_redactor_remembering(o->redactor, err))) {
        pthread_mutex_destroy(&s->fn_lock);
        free(s);
        return NULL;
    }
    s->tcp.max_total = o->max_total_buffer;
    s->env = (http_env){.opts = &s->opts, .stats = &s->stats, .emit = emit_exchange, .ctx = s,
                        .users = auth_users_new(),
                        .classes = o->map ? pm_classify_cache_new(o->map, CLASSIFY_SLOTS) : NULL};
    if (!s->env.users || (o->map && !s->env.classes)) {
        pm_err_set(err, "out of memory");
        auth_users_free(s->env.users);
        pm_classify_cache_free(s->env.classes);
        pm_redactor_free(s->remembering);
        pthread_mutex_destroy(&s->fn_lock);
        free(s);
        return NULL;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    FILE *pipe = !o->stream && o->file ? open_pipe(s, o->file) : NULL;
    if (o->stream || pipe) {
        FILE *stream = o->stream ? o->stream : pipe;
        s->pcap = pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
        if (!s->pcap) {
            pm_err_set(err, "%s: %s", o->file ? o->file : "pcap stream", errbuf);
            fclose(stream); /* the session owns the stream, whatever happens */
        }
    } else if (o->file) {
        s->pcap = open_file(s, o->file, errbuf);
        if (!s->pcap)
            pm_err_set(err, "%s: %s", o->file, errbuf);
    } else {
        s->live = true;
        s->pcap = open_live(o->iface, err);
    }
    if (!s->pcap) {
        auth_users_free(s->env.users);
        pm_classify_cache_free(s->env.classes);
        pm_redactor_free(s->remembering);
        pthread_mutex_destroy(&s->fn_lock);
        free(s->read_buffer); /* the file it buffered is closed */
        free(s);
        return NULL;
    }
    s->linktype = pcap_datalink(s->pcap);
    if (!capture_linktype_supported(s->linktype)) { /* before the filter, which would fail less clearly */
        linktype_error(s, err);
        capture_close(s);
        return NULL;
    }
    char *filter = port_filter(o, s->linktype);
    struct bpf_program prog;
    if (!filter || pcap_compile(s->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        pm_err_set(err, "-f '%s': %s", o->bpf ? o->bpf : "", filter ? pcap_geterr(s->pcap) : "out of memory");
        free(filter);
        capture_close(s);
        return NULL;
    }
    free(filter);
    int rc = pcap_setfilter(s->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        pm_err_set(err, "cannot apply the BPF filter: %s", pcap_geterr(s->pcap));
        capture_close(s);
        return NULL;
    }
    s->flows = flow_table_new(&s->env, &s->tcp);
    if (!s->flows) {
        pm_err_set(err, "out of memory");
        capture_close(s);
        return NULL;
    }
    return s;
}

/* ---- the loop ----------------------------------------------------------------------- */

static void packet(capture_session *s, const struct pcap_pkthdr *h, const uint8_t *data)
{
    /* Timestamps outside 1970..2100 (damaged or hostile files) are clamped so that time
     * arithmetic can never overflow. */
    int64_t secs = h->ts.tv_sec < 0 ? 0 : h->ts.tv_sec > 4102444800 ? 4102444800 : h->ts.tv_sec;
    int64_t usec = h->ts.tv_usec < 0 || h->ts.tv_usec > 999999 ? 0 : h->ts.tv_usec;
    int64_t ts = secs * 1000000 + usec;
    if (!s->prefix_set) {
        /* Deterministic ids: the same packets give the same records, file or pcapng. */
        snprintf(s->prefix, sizeof s->prefix, "%08llx",
                 (unsigned long long)((uint64_t)ts * 0x9E3779B97F4A7C15ULL >> 32));
        s->prefix_set = true;
    }
    if (ts > s->now_us)
        s->now_us = ts;
    s->stats.packets++;
    s->stats.bytes += h->len;
    if (h->caplen < h->len)
        s->stats.truncated_packets++;
    capture_segment seg;
    switch (capture_decode(s->linktype, data, h->caplen, h->len, &seg)) {
    case DECODE_OK:
        flow_table_segment(s->flows, &seg, ts);
        break;
    case DECODE_NOT_TCP:
        s->stats.not_tcp++;
        break;
    case DECODE_FRAGMENT:
        s->stats.fragments++;
        break;
    case DECODE_TRUNCATED:
    case DECODE_BAD:
    case DECODE_UNSUPPORTED:
        s->stats.bad_packets++;
        break;
    }
    if (s->now_us - s->last_expiry_us > 1000000) {
        flow_table_expire(s->flows, s->now_us);
        s->last_expiry_us = s->now_us;
    }
}

static void copy_tcp_stats(capture_session *s)
{
    s->stats.segments = s->tcp.segments;
    s->stats.out_of_order = s->tcp.out_of_order;
    s->stats.retransmitted = s->tcp.retransmitted;
    s->stats.overlap_bytes = s->tcp.overlap_bytes;
    s->stats.gaps = s->tcp.gaps;
    s->stats.gap_bytes = s->tcp.gap_bytes;
    s->stats.given_up = s->tcp.given_up;
    s->stats.buffered_peak = s->tcp.buffered_peak;
    if (s->live) {
        struct pcap_stat ps;
        if (pcap_stats(s->pcap, &ps) == 0) {
            s->stats.kernel_drops = ps.ps_drop;
            s->stats.interface_drops = ps.ps_ifdrop;
        }
    }
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    packet((capture_session *)user, h, data);
}

/* Offline: every packet of the file, then stop. */
static void read_file(capture_session *s)
{
    while (!s->stop && !s->cb_failed) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int got = pcap_next_ex(s->pcap, &h, &data);
        if (got == 1) {
            packet(s, h, data);
            continue;
        }
        if (got == PCAP_ERROR) {
            /* A file cut mid-record: keep what it held, say what happened. */
            snprintf(s->file_warning, sizeof s->file_warning, "%s: %s",
                     s->opts.file ? s->opts.file : "pcap stream", pcap_geterr(s->pcap));
            s->truncated_file = true;
            s->stats.truncated_file = true;
        }
        break; /* end of file (-2), or pcap_breakloop */
    }
}

static int64_t wall_clock_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Live: dispatch what is there, poll at most LIVE_TIMEOUT_MS, tick, until stopped. */
static int read_live(capture_session *s, int (*tick)(void *ctx, const capture_stats *stats), void *ctx,
                     pm_err *err)
{
    struct pollfd pfd = {.fd = pcap_get_selectable_fd(s->pcap), .events = POLLIN};
    uint64_t last_tick = pm_now_ms();
    while (!s->stop && !s->cb_failed) {
        int n = pcap_dispatch(s->pcap, 4096, on_packet, (u_char *)s);
        if (n == PCAP_ERROR_BREAK)
            break;
        if (n < 0)
            return pm_err_set(err, "-i %s: %s", s->opts.iface, pcap_geterr(s->pcap));
        if (n == 0)
            poll(&pfd, 1, LIVE_TIMEOUT_MS);
        if (pm_now_ms() - last_tick < LIVE_TIMEOUT_MS)
            continue;
        last_tick = pm_now_ms();
        if (n == 0) { /* quiet: age the flows by the wall clock */
            s->now_us = wall_clock_us();
            flow_table_expire(s->flows, s->now_us);
        }
        copy_tcp_stats(s);
        if (tick && locked_tick(s, tick, ctx) != 0)
            break;
    }
    return 0;
}

int capture_run(capture_session *s, capture_record_fn fn, void *ctx,
                int (*tick)(void *ctx, const capture_stats *stats), pm_err *err)
{
    if (!capture_linktype_supported(s->linktype))
        return linktype_error(s, err);
    s->fn = fn;
    s->fn_ctx = ctx;
    s->tick = tick;
    s->tick_ctx = ctx;
    pm_err werr;
    if (!(s->writer = record_thread_start(write_exchange, s, &werr))) {
        if (err)
            *err = werr;
        return -1;
    }
    int rc = 0;
    if (s->live)
        rc = read_live(s, tick, ctx, err);
    else
        read_file(s);
    flow_table_close_all(s->flows, s->live ? wall_clock_us() : s->now_us);
    copy_tcp_stats(s);
    int wrc = record_thread_finish(s->writer, &werr); /* every queued record written */
    s->writer = NULL;
    if (wrc != 0) { /* the output's error is the cause of any later one */
        s->cb_failed = true;
        s->cb_err = werr;
    }
    if (s->cb_failed) {
        if (err)
            *err = s->cb_err;
        rc = -1;
    }
    return rc;
}

void capture_stop(capture_session *s)
{
    s->stop = 1;
    if (s->pcap)
        pcap_breakloop(s->pcap);
}

const capture_stats *capture_get_stats(const capture_session *s)
{
    return &s->stats;
}

/* Borrowed; NULL when the input ended cleanly. */
const char *capture_warning(const capture_session *s)
{
    return s->truncated_file ? s->file_warning : NULL;
}

static void put(json_t *obj, const char *key, uint64_t value)
{
    json_object_set_new(obj, key, json_integer((json_int_t)value));
}

json_t *capture_stats_json(const capture_stats *st)
{
    json_t *o = json_object();
    put(o, "packets", st->packets);
    put(o, "bytes", st->bytes);
    put(o, "not_tcp", st->not_tcp);
    put(o, "fragments", st->fragments);
    put(o, "truncated_packets", st->truncated_packets);
    put(o, "bad_packets", st->bad_packets);
    json_object_set_new(o, "truncated_file", json_boolean(st->truncated_file));
    put(o, "streams", st->streams);
    put(o, "http_streams", st->http_streams);
    put(o, "non_http_streams", st->non_http_streams);
    put(o, "midstream_streams", st->midstream_streams);
    put(o, "expired_streams", st->expired_streams);
    put(o, "upgraded_streams", st->upgraded_streams);
    put(o, "skipped_bytes", st->skipped_bytes);
    put(o, "exchanges", st->exchanges);
    json_t *families = json_object();
    for (size_t i = 0; i < st->nfamilies; i++)
        put(families, st->families[i].family, st->families[i].exchanges);
    json_object_set_new(o, "exchanges_by_family", families);
    put(o, "not_selected", st->not_selected);
    put(o, "incomplete_responses", st->incomplete_responses);
    put(o, "event_streams", st->event_streams);
    put(o, "without_response", st->without_response);
    put(o, "orphan_responses", st->orphan_responses);
    put(o, "lost_requests", st->lost_requests);
    put(o, "http_errors", st->http_errors);
    put(o, "truncated_bodies", st->truncated_bodies);
    put(o, "kernel_drops", st->kernel_drops);
    put(o, "interface_drops", st->interface_drops);
    json_t *tcp = json_object();
    put(tcp, "segments", st->segments);
    put(tcp, "out_of_order", st->out_of_order);
    put(tcp, "retransmitted", st->retransmitted);
    put(tcp, "overlap_bytes", st->overlap_bytes);
    put(tcp, "gaps", st->gaps);
    put(tcp, "gap_bytes", st->gap_bytes);
    put(tcp, "given_up", st->given_up);
    put(tcp, "buffered_peak", st->buffered_peak);
    json_object_set_new(o, "tcp", tcp);
    return o;
}

void capture_close(capture_session *s)
{
    if (!s)
        return;
    flow_table_free(s->flows);
    auth_users_free(s->env.users);
    pm_classify_cache_free(s->env.classes);
    pm_redactor_free(s->remembering);
    if (s->pcap)
        pcap_close(s->pcap);
    free(s->read_buffer);
    free(s->stats.families);
    pm_jtext_free(&s->text);
    pm_secrets_free(s->secrets);
    pthread_mutex_destroy(&s->fn_lock);
    free(s);
}
