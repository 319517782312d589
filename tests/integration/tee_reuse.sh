# SPDX-License-Identifier: Apache-2.0
# tee_reuse.sh — a kept connection the backend closed as a request came is no error.
# fault_server.py's /once answers the first request of each connection and closes the
# connection on the next one without answering: every request after the first finds its
# kept connection dead, and curl sends it again on a new one. curl counts those retries
# on the easy handle and, at the sixth, fails the transfer ("Connection died, tried 5
# times"); a handle kept for the next request without curl_easy_reset carries the count
# on. The tee's front (tee_upstream.c) and replay (replay/handles.c) keep handles: each
# must answer every request, one after another on one event loop, as the backend would.
# Then connections: the tee's shadow side gets its copies in bursts; the connections a
# burst opened to the shadow are kept for the next one, not closed as the load falls
# (curl's default connection cache holds 4 per transfer in flight when one ends).
. "$(dirname "$0")/lib.sh"
. "$HERE/tee_helpers.bash"
N=20

start_server primary
primary=$port
start_server shadow
shadow=$port

# the tee: N requests one after another through one loop, each on the handle the one
# before gave back
start_tee reuse --primary "http://127.0.0.1:$primary" --shadow "http://127.0.0.1:$shadow" --workers 1 -q
codes=""
for i in $(seq "$N"); do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$tport/once/$i") "
done
[ "$(tr ' ' '\n' <<<"$codes" | grep -c '^200$')" -eq "$N" ] && ok ||
    bad "the tee's answers on kept handles: $codes (want $N x 200)"
# the primary saw each request sent again after the first: they really were retried
sent=$(grep -c '"/once/' "$WORK/primary.log")
[ "$sent" -ge $((2 * N - 1)) ] && ok || bad "the primary logged $sent requests, want >= $((2 * N - 1)) (no retries: the test proves nothing)"
kill "$reuse_tee"
wait "$reuse_tee" 2>/dev/null

# replay: the same, --concurrency 1 to one target
python3 - "$WORK/spec.json" "$N" <<'PY'
import json, sys
json.dump([{"id": "g%02d" % i, "method": "GET", "target": "/once/r%d" % i} for i in range(int(sys.argv[2]))],
          open(sys.argv[1], "w"))
PY
python3 "$HERE/make_capture.py" "$WORK/once.jsonl" "$(cat "$WORK/spec.json")" || { echo "FAIL: make_capture.py"; exit 1; }
printf 'targets:\n  - {name: A, url: "http://127.0.0.1:%s", role: candidate, timeout: 5}\n' "$shadow" >"$WORK/suite.yaml"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/once.jsonl" -o "$WORK/r.jsonl" --progress never --concurrency 1
expect_rc 0 "replay"
answered=$(python3 -c 'import json,sys; print(sum(json.loads(l)["responses"]["A"].get("status") == 200 for l in open(sys.argv[1])))' "$WORK/r.jsonl")
[ "$answered" -eq "$N" ] && ok || bad "replay's answers on kept handles: $answered of $N are 200"

# the shadow's connections across bursts: B requests at once (each copy held 200 ms by the
# shadow, so B are in flight there), one request at a time for a while, then B at once again
B=16
start_server burst
burst=$port
start_tee bursts --primary "http://127.0.0.1:$primary" --shadow "http://127.0.0.1:$burst" --workers 1 \
    --shadow-workers 1 --metrics 127.0.0.1:0 -q
burst_of() { # TAG: B requests in parallel, then until the shadow logged them
    local urls=()
    for i in $(seq "$B"); do urls+=("http://127.0.0.1:$tport/slow/200?$1-$i"); done
    curl -s -o /dev/null --parallel --parallel-immediate --parallel-max "$B" --max-time 10 "${urls[@]}"
}
logged() { grep -c -- "$1" "$WORK/burst.log"; }
logged_at_least() { [ "$(logged "$1")" -ge "$2" ]; } # PATTERN N
burst_of first
wait_for 10 logged_at_least '?first-' "$B" || bad "the shadow got $(logged '?first-') of the first burst's $B copies"
for i in $(seq 12); do
    curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$tport/ok?one-$i"
    wait_for 10 logged_at_least "?one-$i\"" 1 || bad "copy one-$i never reached the shadow"
done
burst_of second
wait_for 10 logged_at_least '?second-' "$B" || bad "the shadow got $(logged '?second-') of the second burst's $B copies"
peers=$(python3 -c 'import json,sys; print(len({json.loads(l)["peer"] for l in open(sys.argv[1])}))' "$WORK/burst.log")
first=$(python3 -c 'import json,sys; print(len({json.loads(l)["peer"] for l in open(sys.argv[1]) if "?first-" in l}))' "$WORK/burst.log")
[ "$first" -ge $((B / 2)) ] && ok || bad "the first burst reached the shadow on $first connections: not a burst (the test proves nothing)"
[ "$peers" -le $((B + 2)) ] && ok || bad "the shadow saw $peers connections over two bursts of $B and $((12)) single requests: the first burst's were closed and opened again"
kill "$bursts_tee"
wait "$bursts_tee" 2>/dev/null

finish
