/*
 * capture.h — the public header of capture/: wire → exchanges.
 *
 * A capture session reads packets with libpcap (a pcap/pcapng file or a live
 * interface), reassembles each TCP connection in both directions, parses HTTP/1.x with
 * llhttp, pairs requests with responses in order, classifies and redacts each exchange,
 * and hands it to a callback as a capture record (DESIGN.md, "Files"). Everything it
 * could not keep is counted in capture_stats; nothing is dropped without a counter.
 */
#ifndef PM_CAPTURE_H
#define PM_CAPTURE_H

#include <stdio.h>

#include "core/core.h"

typedef struct capture_options {
    const char *file;       /* -r: pcap or pcapng ("-": stdin); one of file, stream, iface */
    FILE *stream;           /* an open pcap/pcapng stream, owned by the session from capture_open
                             * on, even when it fails (file names it in messages) */
    const char *iface;      /* -i: live interface ("any" for every one) */
    const char *bpf;        /* -f: extra BPF filter, ANDed with the port filter */
    const int *ports;       /* --port: server ports; 0 ports = every TCP stream */
    size_t nports;
    size_t max_body;            /* stored body cap, default 16 MiB */
    size_t max_stream_buffer;   /* out-of-order bytes per direction, default 4 MiB */
    size_t max_total_buffer;    /* out-of-order bytes in all, default 256 MiB */
    size_t max_header_bytes;    /* request/response head size cap, default 1 MiB */
    int64_t idle_timeout_us;    /* idle streams expire, default 120 s */
    const pm_capmap *map;       /* required */
    const pm_redactor *redactor; /* NULL: no redaction (--no-redact) */
    const pm_selection *selection; /* NULL: keep every exchange */
} capture_options;

/* Fills the defaults above. */
void capture_options_init(capture_options *o);

typedef struct capture_family_count {
    const char *family; /* borrowed from the capability map, or "UNKNOWN" */
    uint64_t exchanges;
} capture_family_count;

typedef struct capture_stats {
    uint64_t packets, bytes;
    uint64_t not_tcp;            /* packets that were not TCP over IPv4/IPv6 */
    uint64_t fragments;          /* IP fragments (not reassembled), counted and skipped */
    uint64_t truncated_packets;  /* captured length shorter than the packet (snaplen) */
    uint64_t bad_packets;        /* malformed or unsupported headers */
    uint64_t streams;            /* TCP connections seen */
    uint64_t http_streams;       /* ... that carried HTTP */
    uint64_t non_http_streams;   /* ... whose client bytes were not HTTP */
    uint64_t expired_streams;    /* closed by the idle timeout */
    uint64_t midstream_streams;  /* picked up without their SYN */
    uint64_t skipped_bytes;      /* bytes before the first request line of such streams */
    uint64_t exchanges;          /* records handed to the callback */
    uint64_t not_selected;       /* exchanges outside --family / --select */
    uint64_t incomplete_responses; /* response complete: false */
    uint64_t without_response;   /* request seen, response never */
    uint64_t orphan_responses;   /* responses without a request (stream picked up late) */
    uint64_t lost_requests;      /* requests broken by a gap before they completed */
    uint64_t http_errors;        /* parse errors after a stream had been HTTP */
    uint64_t upgraded_streams;   /* Upgrade / CONNECT: stream stopped after the exchange */
    uint64_t truncated_bodies;   /* bodies cut by --max-body */
    bool truncated_file;         /* the pcap file ended mid-record (see capture_warning) */
    uint64_t kernel_drops;       /* pcap_stats ps_drop (live) */
    uint64_t interface_drops;    /* pcap_stats ps_ifdrop (live) */
    /* TCP reassembly */
    uint64_t segments, out_of_order, retransmitted, overlap_bytes, gaps, gap_bytes, given_up;
    size_t buffered_peak;
    capture_family_count *families;
    size_t nfamilies;
} capture_stats;

/* Receives each capture record as one line of compact JSON text, without its newline
 * (borrowed: valid during the call). Returning non-zero stops the capture with that
 * error. Records are text, not json_t, because building trees was capture's cost. */
typedef int (*capture_record_fn)(void *ctx, const char *record, size_t len, pm_err *err);

typedef struct capture_session capture_session;

capture_session *capture_open(const capture_options *o, pm_err *err);
/* Reads until the file ends, capture_stop() is called, or the callback fails; then
 * drains every connection (what is still open is emitted with its flags). For live
 * captures, `tick` (may be NULL) is called about every 100 ms with the stats, and a
 * non-zero return ends the capture (duration, max exchanges, rotation are the caller's).
 * fn runs on a second thread, in the order exchanges finished, never at the same time as
 * tick; every record is through fn when capture_run returns. */
int capture_run(capture_session *s, capture_record_fn fn, void *ctx,
                int (*tick)(void *ctx, const capture_stats *stats), pm_err *err);
/* Async-signal-safe: asks capture_run to finish. */
void capture_stop(capture_session *s);
const capture_stats *capture_get_stats(const capture_session *s);
/* What went wrong with the input, when it ended early (a truncated file); else NULL. */
const char *capture_warning(const capture_session *s);
/* Pretty stats as a JSON object (new reference). */
json_t *capture_stats_json(const capture_stats *stats);
void capture_close(capture_session *s);

/* ===== tee: live traffic, an inline proxy or a mirror sink ========================== */

/* The tee's HTTP front (libmicrohttpd). In proxy mode each client request goes to the
 * primary and the primary's answer back to the client as it came (status, headers,
 * body streamed); in sink mode (primary NULL) copies sent by nginx `mirror` or Envoy
 * `request_mirror_policies` are answered 204 at once. Either way each exchange in scope
 * becomes a shadow copy — a capture record, with the primary's response in proxy mode —
 * put on a bounded queue that the caller drains (capture_tee_next) on its own thread.
 * A full queue drops the copy and counts it: the client's path never waits for the
 * shadow side. Records on the queue are NOT redacted (the shadow needs the real
 * credentials): redact what you write. */
typedef struct capture_tee_options {
    const char *listen;            /* "127.0.0.1:8080", "[::1]:8080", ":8080" (loopback), "0.0.0.0:8080" */
    const char *primary;           /* proxy mode: the primary's base URL; NULL = sink mode */
    const char *uri_header;        /* sink: header holding the original target (default X-Original-URI) */
    size_t queue;                  /* shadow copies waiting at most (default 1024) */
    size_t queue_bytes;            /* ... holding at most this many body bytes (default 256 MiB) */
    size_t max_body;               /* a request body above it is not shadowed (counted); a
                                    * primary response body is stored cut to it (default 16 MiB) */
    double primary_timeout_s;      /* proxy: the primary may stay silent this long (default 300) */
    double primary_connect_timeout_s; /* proxy (default 5) */
    unsigned max_connections;      /* client connections at once (default 1024); proxy mode:
                                    * past it a connection is refused at once, counted */
    unsigned max_per_ip;           /* proxy: client connections from one address at once, over
                                    * all workers; past it refused at once, counted (default 64;
                                    * 0 = no limit: behind a front proxy, whose address is
                                    * every client's) */
    double header_timeout_s;       /* proxy: a request head must arrive whole this long after
                                    * the connection opened or the previous answer ended, or
                                    * the connection is closed, counted (default 10; 0 = none) */
    unsigned workers;              /* proxy: event-loop threads (default 0: one per CPU) */
    bool shadow_writes;            /* mutating requests will reach a shadow (sandbox and
                                    * --allow-writes): keep their bodies; else only count them */
    const pm_capmap *map;          /* required */
    const pm_selection *selection; /* NULL: every exchange */
    /* Called from a front thread when a copy was queued while the consumer waited
     * (capture_tee_next returned CAPTURE_TEE_WAIT): wake it. May be NULL. */
    void (*on_queued)(void *ctx);
    void *ctx;
} capture_tee_options;

void capture_tee_options_init(capture_tee_options *o);

typedef struct capture_tee_stats {
    uint64_t requests;             /* client requests received */
    uint64_t primary_errors;       /* proxy: answered 502/504 because the primary failed */
    uint64_t client_aborts;        /* the client went away before its answer was sent */
    uint64_t rejected_target;      /* answered 400: a control byte or space in the target */
    uint64_t rejected_field;       /* answered 400: a malformed or folded header field */
    uint64_t rejected_framing;     /* answered 400/501: the body's framing is ambiguous */
    uint64_t not_selected;         /* outside --family / --select */
    uint64_t queued;               /* shadow copies put on the queue */
    uint64_t dropped_full;         /* ... dropped: the queue held `queue` copies */
    uint64_t dropped_memory;       /* ... dropped: the queue held `queue_bytes` */
    uint64_t dropped_too_large;    /* ... dropped: request body above max_body */
    uint64_t dropped_incomplete;   /* ... dropped: the primary failed or the client left */
    uint64_t dropped_stopping;     /* ... dropped: arrived while the tee was stopping */
    uint64_t queue_depth, queue_capacity, queue_bytes;
    uint64_t in_flight;            /* client requests being answered now */
    uint64_t connections;          /* proxy: client connections open now */
    uint64_t head_timeouts;        /* proxy: connections closed for a head late past header_timeout_s */
    uint64_t refused_per_ip;       /* proxy: connections refused over max_per_ip */
    uint64_t refused_limit;        /* proxy: connections refused over max_connections */
} capture_tee_stats;

typedef struct capture_tee capture_tee;

/* Binds, and serves from background threads until capture_tee_stop. */
capture_tee *capture_tee_start(const capture_tee_options *o, pm_err *err);
uint16_t capture_tee_port(const capture_tee *t);
/* "http://127.0.0.1:PORT/" as bound (borrowed). */
const char *capture_tee_url(const capture_tee *t);
bool capture_tee_is_sink(const capture_tee *t);

/* The consumer's side (one thread): 1 = *text is the next shadow copy's capture record
 * (JSON text, malloc'd, yours; *len its length); CAPTURE_TEE_WAIT = none now (on_queued
 * will be called when one comes); 0 = the tee has stopped and the queue is empty. */
#define CAPTURE_TEE_WAIT 2
int capture_tee_next(capture_tee *t, char **text, size_t *len);

/* Stops: no new connections; requests being answered get up to timeout_s to finish,
 * then every connection is closed; then the queue takes no more copies (what it holds
 * is still handed out by capture_tee_next). */
void capture_tee_stop(capture_tee *t, double timeout_s);
/* A consistent-enough snapshot (each counter read atomically). Thread-safe. */
void capture_tee_get_stats(const capture_tee *t, capture_tee_stats *out);
/* Stops if needed; frees what the queue still holds. */
void capture_tee_free(capture_tee *t);

/* ----- tee metrics: Prometheus text exposition ----------------------------------------- */

/* Live counters per family, capability and verdict, latency histograms per target and
 * family, parity and its Wilson 95% lower bound per family, plus the front's counters
 * (drops, queue depth). Observations come from whoever diffs the shadow copies; the
 * text is served on GET /metrics by capture_tee_metrics_serve. Thread-safe. */
typedef struct capture_tee_metrics capture_tee_metrics;

typedef struct capture_tee_observation {
    const char *family, *capability, *verdict; /* verdict: match | mismatch | error | skipped */
    const char *const *targets;    /* target names ... */
    const int64_t *latency_us;     /* ... and their latency to the first byte, -1 = none */
    size_t ntargets;
} capture_tee_observation;

capture_tee_metrics *capture_tee_metrics_new(void);
void capture_tee_metrics_observe(capture_tee_metrics *m, const capture_tee_observation *obs);
/* The whole exposition (malloc'd text); tee may be NULL (no front counters). */
char *capture_tee_metrics_text(capture_tee_metrics *m, const capture_tee *tee);
/* Serves GET /metrics (and / ) on listen from a background thread; tee as above. */
int capture_tee_metrics_serve(capture_tee_metrics *m, const capture_tee *tee, const char *listen, pm_err *err);
/* The metrics server's "http://HOST:PORT/metrics" (borrowed), or NULL when not serving. */
const char *capture_tee_metrics_url(const capture_tee_metrics *m);
void capture_tee_metrics_free(capture_tee_metrics *m);

/* ===== HAR 1.2: browser and proxy recordings in, any HAR viewer out ================== */

/* Import turns each entry of a HAR (Chrome and Firefox devtools, Charles, mitmproxy,
 * Postman) into the capture record `pmirror capture` would have written for it:
 * classified, selected, redacted, bodies capped the same way. The document is streamed
 * (one entry in memory at a time). An entry that cannot be converted is skipped and
 * reported through `warn`, never dropped silently. The mapping and what a HAR cannot
 * hold are in the README ("HAR"). */
typedef struct capture_har_options {
    const char *path;              /* the HAR ("-": stdin; gzip or plain) */
    const void *data;              /* or an in-memory HAR (path then only names it) */
    size_t len;
    size_t max_body;               /* stored body cap, default 16 MiB (as capture) */
    const pm_capmap *map;          /* required */
    const pm_redactor *redactor;   /* NULL: no redaction (--no-redact) */
    const pm_selection *selection; /* NULL: keep every entry */
    /* One call per skipped entry: "FILE: log.entries[3]: no request.url (skipped)".
     * May be NULL. ctx is capture_har_import's. */
    void (*warn)(void *ctx, const char *message);
} capture_har_options;

void capture_har_options_init(capture_har_options *o);

typedef struct capture_har_stats {
    uint64_t entries;          /* elements of log.entries read */
    uint64_t records;          /* records handed to the callback */
    uint64_t skipped;          /* entries that could not be converted (one warning each) */
    uint64_t not_selected;     /* outside the selection */
    uint64_t without_response; /* status 0: no answer was recorded (record without response) */
    uint64_t unknown_bodies;   /* bodies the HAR did not hold (body_truncated, no body) */
    uint64_t reencoded_bodies; /* gzip/deflate content stored decoded, compressed again */
    uint64_t decoded_bodies;   /* other codings stored decoded: Content-Encoding removed */
    uint64_t truncated_bodies; /* bodies cut by max_body */
    capture_family_count *families;
    size_t nfamilies;
} capture_har_stats;

/* Reads the whole HAR, handing each record to fn (as capture_run does). 0 when the
 * document was whole; -1 with err naming the file (and the entry) when it is not a HAR,
 * is not valid JSON, or ends early — every record before the damage was handed over. */
int capture_har_import(const capture_har_options *o, capture_record_fn fn, void *ctx,
                       capture_har_stats *stats, pm_err *err);
void capture_har_stats_clear(capture_har_stats *stats);

/* Export: capture or result records → one HAR 1.2 document, written as records arrive
 * (one entry in memory). PATH: ".gz" is gzip, "-" stdout, created 0600. target NULL
 * exports each record's `response`; a name exports a result record's responses[NAME]. */
typedef struct capture_har_writer capture_har_writer;

capture_har_writer *capture_har_writer_open(const char *path, const char *creator_version,
                                            const char *target, pm_err *err);
int capture_har_writer_add(capture_har_writer *w, const json_t *record, pm_err *err);
uint64_t capture_har_writer_count(const capture_har_writer *w);
/* Ends the document and closes; frees w even on error. */
int capture_har_writer_close(capture_har_writer *w, pm_err *err);

#endif
