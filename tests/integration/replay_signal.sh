# SPDX-License-Identifier: Apache-2.0
# replay_signal.sh — SIGINT and SIGTERM during `pmirror replay`: nothing new starts, what
# is in flight finishes (bounded by the targets' timeouts), the result file is closed
# whole (every line a complete result), the summary is printed, exit 0.
. "$(dirname "$0")/lib.sh"
start_server s
printf 'targets:\n  - {name: s, url: "http://127.0.0.1:%s", role: candidate, timeout: 5}\n' "$port" >"$WORK/s.yaml"
# 200 exchanges of 100 ms each, all overlapping, 4 at a time: about 5 s in all
python3 -c 'import json; print(json.dumps([{"id": "x%d" % i, "target": "/slow/100", "at_us": i, "done_us": 100000} for i in range(200)]))' \
    | python3 "$HERE/make_capture.py" "$WORK/cap.jsonl.gz" -

for sig in INT TERM; do
    start=$(date +%s.%N)
    "$PMIRROR" replay --progress never --concurrency 4 -c "$WORK/s.yaml" -i "$WORK/cap.jsonl.gz" \
        -o "$WORK/res-$sig.jsonl.gz" 2>"$WORK/err-$sig" &
    pid=$!
    sleep 1
    kill -$sig $pid
    wait $pid; rc=$?
    took=$(python3 -c "import time; print(round(time.time() - $start, 1))")
    [ "$rc" -eq 0 ] && ok || bad "SIG$sig: exit $rc: $(cat "$WORK/err-$sig")"
    gzip -t "$WORK/res-$sig.jsonl.gz" && ok || bad "SIG$sig: the gzip stream was not finished"
    n=$("$PMIRROR" cat "$WORK/res-$sig.jsonl.gz" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    assert r["responses"]["s"]["status"] == 200, r["responses"]["s"]
    n += 1
print(n)') || bad "SIG$sig: a result is not whole"
    [ "$n" -gt 0 ] && [ "$n" -lt 200 ] && ok || bad "SIG$sig: $n results (want some, not all 200)"
    python3 -c "import sys; sys.exit(0 if $took < 4 else 1)" && ok || bad "SIG$sig: took ${took}s to stop"
    grep -q "exchanges replayed" "$WORK/err-$sig" && ok || bad "SIG$sig: no summary"
done

finish
