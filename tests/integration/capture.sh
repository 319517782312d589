# SPDX-License-Identifier: Apache-2.0
# capture.sh — `pmirror capture` as a user runs it: redaction by default (no secret of
# an Authorization or Cookie header in the file), --no-redact, gzip output, selection,
# rotation, statistics, and bad input (one clear error line, exit 2). First, the crafted
# pcaps are what tools/make_pcaps.py writes.
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/capture"
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

# --- the fixtures are what the generator writes (edit the script, not the files) --------------
python3 "$SRC/tools/make_pcaps.py" "$WORK/fx" >/dev/null 2>"$WORK/gen.err" \
    && ok || bad "make_pcaps.py failed: $(cat "$WORK/gen.err")"
made=0
for f in "$FX"/*.pcap "$FX"/*.pcapng "$FX"/*.expect.jsonl; do
    made=$((made + 1))
    cmp -s "$WORK/fx/${f##*/}" "$f" && ok \
        || bad "fixtures/capture/${f##*/} is not what tools/make_pcaps.py writes: re-run it"
done
[ "$(ls "$WORK/fx" | wc -l)" -eq "$made" ] && ok \
    || bad "make_pcaps.py writes files fixtures/capture lacks: $(ls "$WORK/fx" | tr '\n' ' ')"

# --- redaction -------------------------------------------------------------------------
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --no-redact -o "$WORK/clear.jsonl"
expect_rc 0 "capture --no-redact"
expect_err "warning: --no-redact" "--no-redact warns"
# every credential the traffic carried, as sent
secrets=$(grep -o '"\(Authorization\|Cookie\)","[^"]*"' "$WORK/clear.jsonl" | sed 's/.*","\([^ "]* \)\{0,1\}\([^"]*\)"$/\2/' | sort -u)
[ -n "$secrets" ] && ok || bad "the fixture should carry credentials"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" -o "$WORK/safe.jsonl"
expect_rc 0 "capture (redacted)"
leaks=0
for s in $secrets; do grep -qF -- "$s" "$WORK/safe.jsonl" && leaks=$((leaks + 1)); done
[ "$leaks" -eq 0 ] && ok || bad "$leaks secrets leaked into the capture file"
grep -q 'Bearer redacted:[0-9a-f]\{16\}' "$WORK/safe.jsonl" && ok || bad "Authorization keeps its scheme"
[ "$(stat -c %a "$WORK/safe.jsonl")" = 600 ] && ok || bad "capture file mode $(stat -c %a "$WORK/safe.jsonl")"
[ "$(stat -c %a "$WORK/.pmirror-key")" = 600 ] && ok || bad "key file missing or not 0600"
# the same secret redacts the same way in a second run (same key)
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" -o "$WORK/safe2.jsonl"
cmp -s "$WORK/safe.jsonl" "$WORK/safe2.jsonl" && ok || bad "two captures of one pcap differ"

# writing to a device leaves its mode alone (-o /dev/null run as root must not lock it)
if mknod "$WORK/null" c 1 3 2>/dev/null; then
    chmod 666 "$WORK/null"
    run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" -o "$WORK/null"
    [ "$(stat -c %a "$WORK/null")" = 666 ] && ok || bad "-o DEVICE changed its mode to $(stat -c %a "$WORK/null")"
fi

# --- gzip, pcapng, stdin -------------------------------------------------------------------
run "$PMIRROR" capture -q -r "$FX/chunked.pcapng" -o "$WORK/c.jsonl.gz"
expect_rc 0 "pcapng to gzip"
gzip -t "$WORK/c.jsonl.gz" && ok || bad "output is not gzip"
run "$PMIRROR" cat "$WORK/c.jsonl.gz"
[ "$(printf '%s\n' "$out" | grep -c '"v":1')" -eq 3 ] && ok || bad "chunked.pcapng: want 3 records"
run sh -c "\"$PMIRROR\" capture -q -r - -o - < \"$FX/pipelined.pcap\""
expect_rc 0 "pcap from stdin to stdout"
[ "$(printf '%s\n' "$out" | grep -c '"v":1')" -eq 3 ] && ok || bad "stdin: want 3 records"

# --- selection and ports -------------------------------------------------------------------
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --family API_V1 -o "$WORK/api.jsonl" --stats "$WORK/api.json"
expect_rc 0 "--family"
[ "$(grep -c '"family":"API_V1"' "$WORK/api.jsonl")" -eq "$(grep -c . "$WORK/api.jsonl")" ] && ok || bad "--family kept other families"
grep -q '"not_selected": 2' "$WORK/api.json" && ok || bad "not_selected counted: $(grep not_selected "$WORK/api.json")"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --select repo=nobody/nothing -o "$WORK/none.jsonl"
[ ! -s "$WORK/none.jsonl" ] && ok || bad "--select repo=nobody/nothing kept records"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --select org=acme -o "$WORK/acme.jsonl"
[ "$(grep -c . "$WORK/acme.jsonl")" -eq 3 ] && ok || bad "--select org=acme: want 3"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --select percent=abc -o "$WORK/x.jsonl"
expect_rc 2 "bad --select"
expect_one_err_line "bad --select"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --port 9999 -o "$WORK/p.jsonl"
[ ! -s "$WORK/p.jsonl" ] && ok || bad "--port 9999 kept traffic of port 8080"
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --port 8080 -f 'host 10.0.0.2' -o "$WORK/p.jsonl"
[ "$(grep -c . "$WORK/p.jsonl")" -eq 3 ] && ok || bad "--port 8080 -f: want 3"

run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --max-exchanges 2 -o "$WORK/max.jsonl"
[ "$(grep -c . "$WORK/max.jsonl")" -eq 2 ] && ok || bad "--max-exchanges 2 wrote $(grep -c . "$WORK/max.jsonl")"

# --- rotation and statistics ---------------------------------------------------------------
run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --rotate-size 1 -o "$WORK/rot.jsonl" --stats "$WORK/rot.json"
expect_rc 0 "rotation"
ls "$WORK"/rot.0001.jsonl "$WORK"/rot.0002.jsonl >/dev/null 2>&1 && ok || bad "rotation made: $(ls "$WORK" | grep rot)"
[ "$(cat "$WORK"/rot.0*.jsonl | grep -c '"v":1')" -eq 3 ] && ok || bad "rotated files hold 3 records"
grep -q '"files"' "$WORK/rot.json" && ok || bad "stats list the files"

# --- damage: counters or one clear error ------------------------------------------------------
run "$PMIRROR" capture -r "$FX/truncated_file.pcap" -o "$WORK/t.jsonl"
expect_rc 0 "truncated pcap"
expect_err "warning: .*truncated" "truncated pcap warning"
run "$PMIRROR" capture -r "$FX/non_http.pcap" -o "$WORK/n.jsonl"
expect_err "1 non-HTTP" "non-HTTP stream counted"
head -c 3000 /dev/urandom >"$WORK/garbage.pcap"
run "$PMIRROR" capture -r "$WORK/garbage.pcap" -o "$WORK/g.jsonl"
expect_rc 2 "garbage file"
expect_one_err_line "garbage file"
expect_err "garbage.pcap" "garbage file named"
: >"$WORK/empty.pcap"
run "$PMIRROR" capture -r "$WORK/empty.pcap" -o "$WORK/e.jsonl"
expect_rc 2 "empty file"
run "$PMIRROR" capture -r "$WORK/missing.pcap" -o "$WORK/m.jsonl"
expect_rc 2 "missing file"
expect_err "missing.pcap" "missing file named"
run "$PMIRROR" capture -r "$FX/basic_keepalive.pcap"
expect_rc 2 "no -o"
run "$PMIRROR" capture -r "$FX/basic_keepalive.pcap" -i lo -o "$WORK/x.jsonl"
expect_rc 2 "-r and -i together"
run "$PMIRROR" capture -r "$FX/basic_keepalive.pcap" -f 'this is not bpf' -o "$WORK/x.jsonl"
expect_rc 2 "bad BPF"
expect_one_err_line "bad BPF"
run "$PMIRROR" capture -r "$FX/basic_keepalive.pcap" --max-body 12Q -o "$WORK/x.jsonl"
expect_rc 2 "bad --max-body"
run "$PMIRROR" capture -q -r "$FX/large_body.pcap" --max-body 64K -o "$WORK/l.jsonl"
grep -q '"body_truncated":true' "$WORK/l.jsonl" && grep -q '"body_sha256":"[0-9a-f]\{64\}"' "$WORK/l.jsonl" \
    && ok || bad "--max-body marks body_truncated with the whole body's sha256"

# A pcap file is read a megabyte at a time, not in libpcap's 4 KiB stdio reads: counted
# with strace on the bare binary (not the test's wrapper), the reads of the pcap's own fd.
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true 2>/dev/null; then
    python3 "$SRC/bench/gen_pcap.py" "$WORK/big.pcap" 1500 >/dev/null
    size=$(stat -c %s "$WORK/big.pcap")
    # (LeakSanitizer cannot run under ptrace: in a sanitizer build its exit check is off here)
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -e trace=openat,read -e read=none -o "$WORK/reads.log" \
        "$PMIRROR_BIN" capture -q -r "$WORK/big.pcap" -o "$WORK/big.jsonl" >/dev/null 2>&1
    reads=$(python3 - "$WORK/reads.log" "$WORK/big.pcap" <<'PY'
import re, sys
fd, n = None, 0
for line in open(sys.argv[1]):
    m = re.search(r'openat\(.*"%s".*\) = (\d+)' % re.escape(sys.argv[2]), line)
    if m:
        fd = m.group(1)
    elif fd is not None and re.search(r'\bread\(%s,' % fd, line):
        n += 1
print(n if fd is not None else -1)
PY
)
    want=$((size / (512 << 10) + 8))
    [ "$reads" -ge 1 ] && [ "$reads" -le "$want" ] && ok \
        || bad "a $size-byte pcap took $reads read(2) calls on its fd (want 1 to $want: 1 MiB at a time)"
else
    echo "note: no strace that may trace here (not installed, or ptrace refused): the pcap read-size check is skipped"
fi

finish
