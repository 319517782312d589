# SPDX-License-Identifier: Apache-2.0
# fault_pcap.sh — malformed pcap and pcapng files (capture.sh covers random bytes, an empty
# file and one cut mid-record): a file libpcap cannot open is one error line naming it and
# exit 2; damage inside a file is a warning naming it, every exchange before it kept, exit
# 0; packets cut by a small snaplen are counted, not trusted. Never a crash: the exit code
# is 0 or 2 and the output reads back. The files are basic_keepalive.pcap/.pcapng (three
# exchanges in 18 packets) rewritten by the script below.
. "$(dirname "$0")/lib.sh"

FX=$SRC/fixtures/capture
python3 - "$FX/basic_keepalive.pcap" "$FX/basic_keepalive.pcapng" "$WORK" <<'PY' || { echo "FAIL: making the pcaps"; exit 1; }
import struct, sys
src, ng, out = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
magic, vmaj, vmin, tz, sig, snap, lt = struct.unpack("<IHHiIII", src[:24])
recs, at = [], 24
while at + 16 <= len(src):
    ts, us, cap, orig = struct.unpack("<IIII", src[at:at + 16])
    recs.append([ts, us, cap, orig, src[at + 16:at + 16 + cap]])
    at += 16 + cap
assert len(recs) == 18
def pcap(name, records, snap=snap, magic=magic, lt=lt):
    body = b"".join(struct.pack("<IIII", *r[:4]) + r[4] for r in records)
    open("%s/%s" % (out, name), "wb").write(struct.pack("<IHHiIII", magic, vmaj, vmin, tz, sig, snap, lt) + body)
def changed(i, **kw):  # the records with record i's fields changed
    rs = [list(r) for r in recs]
    for k, v in kw.items():
        rs[i][{"cap": 2, "orig": 3, "data": 4}[k]] = v
    return rs
open(out + "/truncated_header.pcap", "wb").write(src[:12])
pcap("wrong_magic.pcap", recs, magic=0xa1b2c3d5)
pcap("unknown_linktype.pcap", recs, lt=147)
pcap("snaplen_96.pcap", [r[:2] + [min(r[2], 96), r[3], r[4][:96]] for r in recs], snap=96)
pcap("caplen_over_snaplen.pcap", recs, snap=96)
pcap("huge_snaplen.pcap", recs, snap=0xffffffff)
pcap("impossible_caplen.pcap", changed(16, cap=0x7fffff00))
pcap("caplen_over_origlen.pcap", changed(16, orig=10))
pcap("zero_length_packet.pcap", changed(16, cap=0, orig=0, data=b""))
pcap("short_packet.pcap", changed(2, cap=20, data=recs[2][4][:20]))
blocks, at = [], 0
while at + 12 <= len(ng):
    length = struct.unpack("<I", ng[at + 4:at + 8])[0]
    blocks.append(ng[at:at + length])
    at += length
def pcapng(name, bs):
    open("%s/%s" % (out, name), "wb").write(b"".join(bs))
def with_length(b, n):
    return b[:4] + struct.pack("<I", n) + b[8:-4] + struct.pack("<I", n)
late = len(blocks) - 2  # an EPB near the end: the exchanges before it are whole
pcapng("ng_huge_block.pcapng", blocks[:late] + [with_length(blocks[late], 0x7ffffff0)] + blocks[late + 1:])
pcapng("ng_tiny_block.pcapng", blocks[:late] + [blocks[late][:4] + struct.pack("<I", 8)] + blocks[late + 1:])
pcapng("ng_unaligned.pcapng", blocks[:late] + [with_length(blocks[late], len(blocks[late]) + 1)] + blocks[late + 1:])
epb = bytearray(blocks[late]); struct.pack_into("<I", epb, 20, 0x100000)  # captured length past the block
pcapng("ng_epb_caplen.pcapng", blocks[:late] + [bytes(epb)] + blocks[late + 1:])
pcapng("ng_truncated_shb.pcapng", [blocks[0][:10]])
pcapng("ng_no_idb.pcapng", [blocks[0]] + blocks[2:])
PY

# capture_of NAME: runs the capture (stats in $WORK/NAME.json); never a crash
capture_of() {
    run "$PMIRROR" capture -q -r "$WORK/$1" -o "$WORK/$1.jsonl" --stats "$WORK/$1.json"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] && ok || bad "$1: exit $rc (a crash?): $err"
}
stat_of() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get(sys.argv[2], d["tcp"].get(sys.argv[2])))' "$WORK/$1.json" "$2"; }
records_in() { run "$PMIRROR" cat "$WORK/$1.jsonl"; [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -c '"v":1'; }

# --- cannot be opened: one line, naming the file, exit 2 ----------------------------------------
for f in truncated_header.pcap wrong_magic.pcap unknown_linktype.pcap ng_truncated_shb.pcapng ng_no_idb.pcapng; do
    capture_of "$f"
    expect_rc 2 "$f"
    expect_one_err_line "$f"
    expect_err "$f" "$f: the error names the file"
done
capture_of unknown_linktype.pcap
expect_err "link type .*147.* not supported" "unknown link type: said so (not a BPF error)"

# --- damaged inside: a warning naming the file, the exchanges before it kept ----------------------
for f in impossible_caplen.pcap ng_huge_block.pcapng ng_tiny_block.pcapng ng_unaligned.pcapng ng_epb_caplen.pcapng; do
    capture_of "$f"
    expect_rc 0 "$f"
    expect_err "warning: .*$f" "$f: a warning names the file"
    n=$(records_in "$f")
    [ "${n:-0}" -ge 2 ] && ok || bad "$f: $n records read back; the exchanges before the damage are lost"
done

# --- packets cut by the snaplen: counted as truncated, their gaps counted, nothing made up --------
for f in snaplen_96.pcap caplen_over_snaplen.pcap; do
    capture_of "$f"
    expect_rc 0 "$f"
    n=$(records_in "$f")
    gaps=$(stat_of "$f" gaps)
    [ "${gaps:-0}" -gt 0 ] && [ "${n:-1}" -eq 0 ] && ok \
        || bad "$f: $n records, $gaps gaps: the bytes past the snaplen must be counted as missing, not invented"
done
[ "$(stat_of snaplen_96.pcap truncated_packets)" -gt 0 ] && ok || bad "snaplen_96: truncated packets not counted"

# --- odd but readable: nothing lost that the file holds ---------------------------------------------
for f in huge_snaplen.pcap caplen_over_origlen.pcap zero_length_packet.pcap short_packet.pcap; do
    capture_of "$f"
    expect_rc 0 "$f"
    n=$(records_in "$f")
    [ -n "$n" ] && [ "$n" -ge 2 ] && ok || bad "$f: $n records read back"
done
[ "$(records_in huge_snaplen.pcap)" -eq 3 ] && ok || bad "a huge snaplen in the header changes nothing"

finish
