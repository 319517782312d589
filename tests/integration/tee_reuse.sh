# SPDX-License-Identifier: Apache-2.0
# tee_reuse.sh — a kept connection the backend closed as a request came is no error.
# fault_server.py's /once answers the first request of each connection and closes the
# connection on the next one without answering: every request after the first finds its
# kept connection dead, and curl sends it again on a new one. curl counts those retries
# on the easy handle and, at the sixth, fails the transfer ("Connection died, tried 5
# times"); a handle kept for the next request without curl_easy_reset carries the count
# on. The tee's front (tee_upstream.c) and replay (replay/handles.c) keep handles: each
# must answer every request, one after another on one event loop, as the backend would.
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

finish
