/* SPDX-License-Identifier: Apache-2.0 */
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

typedef pm_family_count capture_family_count;

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
    uint64_t event_streams;      /* event-stream answers (response.stream), complete for their window */
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

/* Each capture record as one line of text (pm_record_fn). */
typedef pm_record_fn capture_record_fn;

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

#endif
