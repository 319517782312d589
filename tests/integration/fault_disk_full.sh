# SPDX-License-Identifier: Apache-2.0
# fault_disk_full.sh — every writing command (capture, replay, diff, cat) on a full disk: a
# clean error naming the file and the cause, exit 2, and every record before the failure
# readable by `pmirror cat` (exit 0, the damage at the end a warning), each one equal to
# the record a run on a roomy disk wrote at the same place. The full disk is a 256 KiB
# tmpfs (as root; unmounted at exit) with a filler file leaving a chosen amount free;
# /dev/full (always full) covers the same errors without root.
. "$(dirname "$0")/lib.sh"

ENOSPC="No space left on device"
ROOMY=$WORK/roomy
mkdir -p "$ROOMY"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key" && chmod 600 "$WORK/key"

MNT=
if [ "$(id -u)" -eq 0 ]; then
    MNT=$(mktemp -d /tmp/pmirror-full.XXXXXX)
    if mount -t tmpfs -o size=256k,mode=0700 pmirror-disk-full "$MNT" 2>/dev/null; then
        at_exit 'umount "$MNT"; rmdir "$MNT"'
    else
        rmdir "$MNT"
        MNT=
    fi
fi
[ -n "$MNT" ] || echo "note: not root or no tmpfs mount: only /dev/full is tested"

# leave_free KIB: empties the tmpfs, then fills it up to KIB KiB free.
leave_free() {
    rm -f "$MNT"/* "$MNT"/.pmirror-key
    local avail
    avail=$(df -k --output=avail "$MNT" | tail -1)
    [ "$avail" -gt "$1" ] && head -c $(((avail - $1) * 1024)) /dev/zero >"$MNT/filler"
}

# same_prefix NAME FULL PART: PART (a `pmirror cat` output) holds at least one record and
# fewer than FULL, and they are FULL's first records, in order, byte for byte as JSON.
same_prefix() {
    python3 - "$2" "$3" <<'PY' && ok || bad "$1: the records read back are not the full run's first records"
import gzip, json, sys
def records(path):
    f = gzip.open(path, "rt") if open(path, "rb").read(2) == b"\x1f\x8b" else open(path)
    return [json.loads(l) for l in f if l.strip()]
full, part = records(sys.argv[1]), records(sys.argv[2])
print("  %d of %d records survived" % (len(part), len(full)))
sys.exit(0 if 0 < len(part) < len(full) and part == full[:len(part)] else 1)
PY
}

# read_back NAME FILE: `pmirror cat` reads what was written: exit 0, the end a warning.
read_back() {
    run "$PMIRROR" cat "$2"
    expect_rc 0 "$1: pmirror cat of the cut file"
    expect_err "warning: .*$(basename "$2")" "$1: pmirror cat warns about the damaged end"
    printf '%s\n' "$out" >"$WORK/readback.jsonl"
}

# wrote_error NAME FILE: exit 2 and an error line naming FILE and the cause
wrote_error() {
    expect_rc 2 "$1"
    expect_err "$2: write failed: $ENOSPC" "$1: the error names the file and the cause"
}

# --- inputs ------------------------------------------------------------------------------------
python3 "$SRC/bench/gen_pcap.py" "$WORK/traffic.pcap" 2000 >/dev/null || { echo "FAIL: gen_pcap.py"; exit 1; }
python3 "$SRC/bench/gen_results.py" "$WORK/results.jsonl" 800 >/dev/null || { echo "FAIL: gen_results.py"; exit 1; }
start_server backend
body=$(printf 'x%.0s' $(seq 2000))
python3 - "$WORK/spec.json" "$body" <<'PY'
import json, sys
json.dump([{"id": "r%03d" % i, "target": "/ok/%d" % i, "at_us": i * 10, "done_us": 9000000,
            "resp_body": sys.argv[2]} for i in range(300)], open(sys.argv[1], "w"))
PY
python3 "$HERE/make_capture.py" "$WORK/capture.jsonl" - <"$WORK/spec.json" || { echo "FAIL: make_capture.py"; exit 1; }
cat >"$WORK/suite.yaml" <<EOF
targets:
  - {name: a, url: "http://127.0.0.1:$port", role: baseline, timeout: 10}
  - {name: b, url: "http://127.0.0.1:$port", role: candidate, timeout: 10}
EOF

# --- capture --------------------------------------------------------------------------------------
for ext in jsonl jsonl.gz; do
    run "$PMIRROR" capture -q -r "$WORK/traffic.pcap" --key "$WORK/key" -o "$ROOMY/capture.$ext"
    expect_rc 0 "capture to a roomy disk ($ext)"
    run "$PMIRROR" capture -q -r "$WORK/traffic.pcap" --key "$WORK/key" -o /dev/full
    wrote_error "capture to /dev/full" /dev/full
    [ -n "$MNT" ] || continue
    leave_free 64
    run "$PMIRROR" capture -q -r "$WORK/traffic.pcap" --key "$WORK/key" -o "$MNT/capture.$ext"
    wrote_error "capture to a full disk ($ext)" "$MNT/capture.$ext"
    expect_one_err_line "capture to a full disk ($ext)"
    read_back "capture ($ext)" "$MNT/capture.$ext"
    same_prefix "capture ($ext)" "$ROOMY/capture.$ext" "$WORK/readback.jsonl"
done

# --- replay ----------------------------------------------------------------------------------------
# results carry latencies, so runs differ: every record read back is one exchange, whole,
# once, answered by both targets
for ext in jsonl jsonl.gz; do
    run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --key "$WORK/key" -o /dev/full --progress never
    wrote_error "replay to /dev/full" /dev/full
    [ -n "$MNT" ] || continue
    leave_free $([ "$ext" = jsonl ] && echo 128 || echo 8)
    run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --key "$WORK/key" -o "$MNT/results.$ext" --progress never
    wrote_error "replay to a full disk ($ext)" "$MNT/results.$ext"
    expect_one_err_line "replay to a full disk ($ext)"
    read_back "replay ($ext)" "$MNT/results.$ext"
    python3 - "$WORK/capture.jsonl" "$WORK/readback.jsonl" <<'PY' && ok || bad "replay ($ext): results read back are not whole, distinct exchanges"
import json, sys
captured = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
results = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ids = [r["id"] for r in results]
print("  %d of %d results survived" % (len(results), len(captured)))
good = 0 < len(results) < len(captured) and len(set(ids)) == len(ids) and all(
    i in captured for i in ids) and all(
    r["request"] == captured[r["id"]]["request"] and r["responses"]["a"].get("status") == 200 and
    r["responses"]["b"].get("status") == 200 for r in results)
sys.exit(0 if good else 1)
PY
done

# --- run --keep-results -----------------------------------------------------------------------------
# the kept files are written by run's second thread: its failure stops the replay and is the
# one error line, naming the file and the cause
if [ -n "$MNT" ]; then
    leave_free 8
    run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --out-dir "$MNT/run" --keep-results --progress never
    expect_rc 2 "run --keep-results on a full disk"
    expect_err "$MNT/run/[a-z.]*: .*$ENOSPC" "run on a full disk: the error names the file and the cause"
    expect_one_err_line "run --keep-results on a full disk"
    rm -rf "$MNT/run"
fi

# --- diff ------------------------------------------------------------------------------------------
for ext in jsonl jsonl.gz; do
    run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$ROOMY/diffs.$ext" --progress never
    expect_rc 0 "diff to a roomy disk ($ext)"
    run "$PMIRROR" diff -i "$WORK/results.jsonl" -o /dev/full --progress never
    wrote_error "diff to /dev/full" /dev/full
    [ -n "$MNT" ] || continue
    leave_free $([ "$ext" = jsonl ] && echo 128 || echo 8)
    run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$MNT/diffs.$ext" --progress never
    wrote_error "diff to a full disk ($ext)" "$MNT/diffs.$ext"
    expect_one_err_line "diff to a full disk ($ext)"
    read_back "diff ($ext)" "$MNT/diffs.$ext"
    same_prefix "diff ($ext)" "$ROOMY/diffs.$ext" "$WORK/readback.jsonl"
done

# --- cat (standard output) ------------------------------------------------------------------------
run sh -c "\"$PMIRROR\" cat \"$WORK/results.jsonl\" >/dev/full"
expect_rc 2 "cat to /dev/full"
expect_err "standard output: write failed: $ENOSPC" "cat to /dev/full: the error names the output and the cause"
expect_one_err_line "cat to /dev/full"
if [ -n "$MNT" ]; then
    leave_free 128
    run sh -c "\"$PMIRROR\" cat \"$WORK/results.jsonl\" >\"$MNT/cat.jsonl\""
    expect_rc 2 "cat to a full disk"
    expect_err "standard output: write failed: $ENOSPC" "cat to a full disk: the error"
    expect_one_err_line "cat to a full disk"
    read_back "cat" "$MNT/cat.jsonl"
    same_prefix "cat" "$WORK/results.jsonl" "$WORK/readback.jsonl"
fi

finish
