/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode.c — from a captured frame to a TCP segment: link layers (Ethernet with 802.1Q
 * and QinQ tags, Linux cooked v1 and v2, BSD loopback/NULL, raw IP), IPv4 (fragments
 * counted, not reassembled) and IPv6 (extension headers walked), then TCP. Every length
 * is checked against what was captured; a frame cut by the snaplen still yields its
 * headers, with the payload bytes it lost counted in `missing`.
 */
#include "decode.h"

#include <pcap/dlt.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88A8
#define ETHERTYPE_QINQ_OLD 0x9100

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The IP packet's start and its version from the ethertype; -1 when not IP. */
static int ip_version_of_ethertype(uint16_t type)
{
    return type == ETHERTYPE_IPV4 ? 4 : type == ETHERTYPE_IPV6 ? 6 : -1;
}

static decode_result decode_tcp(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 20)
        return DECODE_TRUNCATED;
    size_t header = (size_t)(p[12] >> 4) * 4;
    if (header < 20 || header > wirelen)
        return DECODE_BAD;
    if (header > caplen)
        return DECODE_TRUNCATED;
    out->sport = be16(p);
    out->dport = be16(p + 2);
    out->seq = be32(p + 4);
    out->ack = be32(p + 8);
    out->flags = p[13];
    out->payload = p + header;
    out->len = caplen - header;
    out->missing = wirelen - header - out->len;
    return DECODE_OK;
}

/* p/caplen: from the IP header; wirelen: the IP packet's length as sent (unknown
 * trailer bytes of the link are trimmed by the IP length fields). */
static decode_result decode_ipv4(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 20)
        return DECODE_TRUNCATED;
    if ((p[0] >> 4) != 4)
        return DECODE_BAD;
    size_t ihl = (size_t)(p[0] & 15) * 4;
    size_t total = be16(p + 2);
    if (total == 0) /* TCP segmentation offload: the NIC fills the length in later */
        total = wirelen;
    if (ihl < 20 || total < ihl || total > wirelen)
        return DECODE_BAD;
    if (ihl > caplen)
        return DECODE_TRUNCATED;
    uint16_t frag = be16(p + 6);
    if ((frag & 0x2000) || (frag & 0x1FFF))
        return DECODE_FRAGMENT;
    if (p[9] != 6)
        return DECODE_NOT_TCP;
    out->ip_version = 4;
    memset(out->src, 0, sizeof out->src);
    memset(out->dst, 0, sizeof out->dst);
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    size_t cap = caplen < total ? caplen : total;
    return decode_tcp(p + ihl, cap - ihl, total - ihl, out);
}

static decode_result decode_ipv6(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 40)
        return DECODE_TRUNCATED;
    if ((p[0] >> 4) != 6)
        return DECODE_BAD;
    size_t total = 40 + (size_t)be16(p + 4);
    if (total > wirelen)
        return DECODE_BAD;
    uint8_t next = p[6];
    size_t off = 40;
    size_t cap = caplen < total ? caplen : total;
    for (int hops = 0; hops < 8; hops++) {
        if (next == 6)
            break;
        if (next == 44)
            return DECODE_FRAGMENT;
        if (next != 0 && next != 43 && next != 60)
            return DECODE_NOT_TCP;
        if (off + 8 > cap)
            return DECODE_TRUNCATED;
        size_t ext = 8 + (size_t)p[off + 1] * 8;
        next = p[off];
        off += ext;
        if (off > total)
            return DECODE_BAD;
    }
    if (next != 6)
        return DECODE_NOT_TCP;
    if (off > cap)
        return DECODE_TRUNCATED;
    out->ip_version = 6;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    return decode_tcp(p + off, cap - off, total - off, out);
}

static decode_result decode_ip(int version, const uint8_t *p, size_t caplen, size_t wirelen,
                               capture_segment *out)
{
    if (version == 4)
        return decode_ipv4(p, caplen, wirelen, out);
    if (version == 6)
        return decode_ipv6(p, caplen, wirelen, out);
    return DECODE_NOT_TCP;
}

static decode_result decode_ethernet(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    size_t off = 12;
    if (caplen < 14)
        return DECODE_TRUNCATED;
    uint16_t type = be16(p + off);
    while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
        off += 4;
        if (off + 2 > caplen)
            return DECODE_TRUNCATED;
        type = be16(p + off);
    }
    off += 2;
    return decode_ip(ip_version_of_ethertype(type), p + off, caplen - off, wirelen - off, out);
}

static decode_result decode_sll(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 16)
        return DECODE_TRUNCATED;
    return decode_ip(ip_version_of_ethertype(be16(p + 14)), p + 16, caplen - 16, wirelen - 16, out);
}

static decode_result decode_sll2(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 20)
        return DECODE_TRUNCATED;
    return decode_ip(ip_version_of_ethertype(be16(p)), p + 20, caplen - 20, wirelen - 20, out);
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order (NULL) or
 * in network order (LOOP). IPv6 is 10, 24, 28 or 30 depending on the OS. */
static decode_result decode_null(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 4)
        return DECODE_TRUNCATED;
    uint32_t le = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    uint32_t family = le < 256 ? le : be32(p);
    int version = family == 2 ? 4 : (family == 10 || family == 24 || family == 28 || family == 30) ? 6 : -1;
    return decode_ip(version, p + 4, caplen - 4, wirelen - 4, out);
}

static decode_result decode_raw(const uint8_t *p, size_t caplen, size_t wirelen, capture_segment *out)
{
    if (caplen < 1)
        return DECODE_TRUNCATED;
    return decode_ip(p[0] >> 4, p, caplen, wirelen, out);
}

int capture_linktype_supported(int linktype)
{
    switch (linktype) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
#if DLT_RAW != 101
    case 101: /* LINKTYPE_RAW as some writers leave it */
#endif
        return 1;
    default:
        return 0;
    }
}

decode_result capture_decode(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
                             capture_segment *out)
{
    if (wirelen < caplen)
        wirelen = caplen;
    switch (linktype) {
    case DLT_EN10MB:
        return decode_ethernet(data, caplen, wirelen, out);
    case DLT_LINUX_SLL:
        return decode_sll(data, caplen, wirelen, out);
    case DLT_LINUX_SLL2:
        return decode_sll2(data, caplen, wirelen, out);
    case DLT_NULL:
    case DLT_LOOP:
        return decode_null(data, caplen, wirelen, out);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
#if DLT_RAW != 101
    case 101:
#endif
        return decode_raw(data, caplen, wirelen, out);
    default:
        return DECODE_UNSUPPORTED;
    }
}
