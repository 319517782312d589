/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcap_floor.c — the floor for bench/capture.sh: the least any libpcap-based reader can
 * spend on a pcap file. It opens the file with pcap_open_offline and walks every packet
 * with pcap_next_ex, touching each one (its length and one byte of it) so the loop cannot
 * be optimized away, and does nothing else: no decoding, no reassembly, no output but one
 * line. pmirror's capture time is compared against this.
 *
 * Usage: bench_pcap_floor FILE.pcap   → prints "PACKETS BYTES CHECKSUM"
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_pcap_floor FILE.pcap\n");
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], errbuf);
    if (!p) {
        fprintf(stderr, "bench_pcap_floor: %s\n", errbuf);
        return 2;
    }
    uint64_t packets = 0, bytes = 0, sum = 0;
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        packets++;
        bytes += hdr->caplen;
        if (hdr->caplen)
            sum += data[hdr->caplen - 1];
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "bench_pcap_floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    pcap_close(p);
    printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", packets, bytes, sum);
    return 0;
}
