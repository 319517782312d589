/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode.h — link, IP and TCP headers → one TCP segment (private to capture/).
 * One function per link type in decode.c; adding a link type is adding one case.
 */
#ifndef PM_CAPTURE_DECODE_H
#define PM_CAPTURE_DECODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct capture_segment {
    int ip_version; /* 4 or 6 */
    uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *payload;
    size_t len;           /* captured payload bytes */
    size_t missing;       /* payload bytes the snaplen cut off */
} capture_segment;

typedef enum {
    DECODE_OK,
    DECODE_NOT_TCP,      /* ARP, UDP, ICMP, ... */
    DECODE_FRAGMENT,     /* an IP fragment */
    DECODE_TRUNCATED,    /* headers cut by the snaplen */
    DECODE_BAD,          /* impossible lengths, bad versions */
    DECODE_UNSUPPORTED,  /* a link type we do not read */
} decode_result;

/* linktype is libpcap's DLT_* value (pcap_datalink). */
decode_result capture_decode(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
                             capture_segment *out);
/* True when pmirror reads this link type. */
int capture_linktype_supported(int linktype);

#endif
