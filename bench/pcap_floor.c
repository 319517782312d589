/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcap_floor.c — the floor for bench/capture.sh: a bare libpcap read loop over a pcap
 * file. It walks every packet with pcap_next_ex, touching each one (its length and one
 * byte of it) so the loop cannot be optimized away, and does nothing else: no decoding, no
 * reassembly, no output but one line. pmirror's capture time is compared against this.
 *
 * Two ways to open the file: pcap_open_offline (libpcap's own stdio: st_blksize, 4 KiB, per
 * read(2)), the floor issue 18 measured against; and with --buffered, the file opened here
 * and read 1 MiB at a time (pcap_fopen_offline), as `pmirror capture -r` reads it: the
 * least any libpcap-based reader can spend. On a virtualized kernel the difference is
 * most of the floor (bench/capture.sh prints both).
 *
 * Usage: bench_pcap_floor [--buffered] FILE.pcap   → prints "PACKETS BYTES CHECKSUM"
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    bool buffered = argc == 3 && strcmp(argv[1], "--buffered") == 0;
    if (argc != 2 + buffered) {
        fprintf(stderr, "usage: bench_pcap_floor [--buffered] FILE.pcap\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    char errbuf[PCAP_ERRBUF_SIZE];
    static char buffer[1 << 20];
    FILE *f = buffered ? fopen(path, "rb") : NULL;
    if (f)
        setvbuf(f, buffer, _IOFBF, sizeof buffer);
    pcap_t *p = !buffered ? pcap_open_offline(path, errbuf) : f ? pcap_fopen_offline(f, errbuf) : NULL;
    if (!p) {
        fprintf(stderr, "bench_pcap_floor: %s: %s\n", path, buffered && !f ? "cannot open" : errbuf);
        if (f)
            fclose(f);
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
        fprintf(stderr, "bench_pcap_floor: %s: %s\n", path, pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    pcap_close(p);
    printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", packets, bytes, sum);
    return 0;
}
