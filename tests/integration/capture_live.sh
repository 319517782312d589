# SPDX-License-Identifier: Apache-2.0
# capture_live.sh — `pmirror capture -i lo` on live traffic: a real HTTP server on
# loopback (Python's http.server), real requests, and the two ways a live capture ends:
# --duration, and SIGTERM (a clean close: every exchange written, the file whole).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 missing"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/www/v2/acme/app/tags"
printf '{"name":"acme/app","tags":["v1","v2"]}' >"$WORK/www/v2/acme/app/tags/list"
(cd "$WORK/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.1; done

requests() { # N requests, each on its own connection, as registry clients do
    python3 - "$port" "$1" <<'PY'
import sys, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    req = urllib.request.Request("http://127.0.0.1:%d/v2/acme/app/tags/list?n=%d" % (port, i),
                                 headers={"Authorization": "Basic YWxpY2U6czNjcmV0LWxpdmU="})
    urllib.request.urlopen(req, timeout=5).read()
PY
}

# --duration: the capture stops by itself
"$PMIRROR" capture -q -i lo --port "$port" --duration 3 -o "$WORK/live.jsonl" --stats "$WORK/live.json" 2>"$WORK/live.err" &
cap=$!
sleep 1
requests 5
wait $cap; rc=$?
[ "$rc" -eq 0 ] && ok || bad "live capture exit $rc: $(cat "$WORK/live.err")"
n=$(grep -c '"v":1' "$WORK/live.jsonl")
[ "$n" -eq 5 ] && ok || bad "live capture: $n exchanges, want 5"
grep -q '"capability":"V2_TAGS_LIST"' "$WORK/live.jsonl" && ok || bad "live exchanges classified"
grep -q '"user":"alice"' "$WORK/live.jsonl" && ok || bad "cohort user from Basic auth"
grep -q 's3cret-live' "$WORK/live.jsonl" && bad "a password reached the file" || ok
grep -q '"kernel_drops": 0' "$WORK/live.json" && ok || bad "kernel drops reported: $(grep drops "$WORK/live.json")"

# SIGTERM: a clean close, the gzip stream finished
"$PMIRROR" capture -q -i lo --port "$port" -o "$WORK/term.jsonl.gz" 2>"$WORK/term.err" &
cap=$!
sleep 1
requests 3
sleep 0.5
kill -TERM $cap
wait $cap; rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exit $rc: $(cat "$WORK/term.err")"
gzip -t "$WORK/term.jsonl.gz" && ok || bad "gzip stream not finished after SIGTERM"
n=$("$PMIRROR" cat "$WORK/term.jsonl.gz" | grep -c '"v":1')
[ "$n" -eq 3 ] && ok || bad "after SIGTERM: $n exchanges, want 3"

finish
