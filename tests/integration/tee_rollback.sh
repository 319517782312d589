#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_rollback.sh — the tee acting on its live decisions (issue 19 item 4): a proxy tee in
# front of a primary, the snapshot saying KEYS is `go`, --on-rollback a command that logs
# its environment and flips the switch file to python. The shadow answers like the primary
# for 60 requests, then (a file appears) answers wrongly. The hook must run exactly once,
# with the family, switch and reasons in its environment, within 40 answers of the break
# (the sequential test needs about 5 wrong answers after 60 right ones; the rest is the
# one-second decision tick at 20 requests a second); pmirror_tee_rollbacks_total{family}
# says 1; a report snapshot is written; the re-read snapshot (python) is never acted on;
# a python switch is never acted on. Loopback only, a few seconds.
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

# one small server for both sides: {"path", "ok": true}, or "ok": false once BREAK exists
cat >"$WORK/flip.py" <<'EOF'
import http.server, json, os, socketserver, sys
brk = sys.argv[1] if len(sys.argv) > 1 else None
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        ok = not (brk and os.path.exists(brk))
        body = json.dumps({"path": self.path, "ok": ok}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print("PORT %d" % s.server_address[1], flush=True)
s.serve_forever()
EOF
serve primary python3 "$WORK/flip.py"
P=$port
serve shadow python3 "$WORK/flip.py" "$WORK/break"
S=$port

printf 'switches:\n  ROUTE_OWNER_FAMILY_KEYS: go\n  ROUTE_OWNER_FAMILY_API_V1: python\n' >"$WORK/switches.yaml"
cat >"$WORK/hook.sh" <<'EOF'
#!/bin/sh
# the rollback hook: logs what it was told, then flips the switch in the file, in one change
env | grep '^PMIRROR_' | sort >>"$HOOK_LOG"
echo --- >>"$HOOK_LOG"
sed "s/^\(  *$PMIRROR_SWITCH:\) go$/\1 python/" "$PMIRROR_SWITCHES_FILE" >"$PMIRROR_SWITCHES_FILE.new" &&
    mv "$PMIRROR_SWITCHES_FILE.new" "$PMIRROR_SWITCHES_FILE"
EOF
chmod +x "$WORK/hook.sh"
export HOOK_LOG=$WORK/hook.log
start_tee rb --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --metrics 127.0.0.1:0 \
    --out-dir "$WORK/report" --switches "$WORK/switches.yaml" --on-rollback "$WORK/hook.sh"
T=$tport
MURL=$(metrics_url rb)

diffed() { curl -s "$MURL" | awk '/^pmirror_tee_exchanges_total/ { d += $2 } END { print d + 0 }'; }
# send N PATH PAUSE: N GETs one after the other, PAUSE seconds apart
send() {
    python3 - "$T" "$1" "$2" "$3" <<'EOF'
import http.client, sys, time
port, n, path, pause = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for i in range(n):
    c.request("GET", path)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    time.sleep(pause)
EOF
}

# 60 right answers, all diffed before the break; an API_V1 family failing but python
send 60 /keys/services/quay/keys 0 || bad "the load before the break"
send 30 /api/v1/repository/acme/app 0 || bad "the API_V1 load"
wait_until 10 test "$(diffed)" -ge 90 || bad "the 90 answers before the break were not diffed: $(diffed)"
sleep 1.2 # a tick or more with nothing failing: no hook
[ ! -s "$HOOK_LOG" ] && ok || bad "a hook ran before the break: $(cat "$HOOK_LOG")"

touch "$WORK/break"
# after the break: KEYS answers wrong, 20 a second; API_V1 (python) wrong too
send 20 /api/v1/repository/acme/app 0 || bad "the API_V1 load after the break"
send 80 /keys/services/quay/keys 0.05 || bad "the load after the break"
wait_until 5 test -s "$HOOK_LOG" || bad "the hook did not run"
sleep 2.5 # more ticks: the hook must not run again
send 20 /keys/services/quay/keys 0 || bad "the load after the hook"
sleep 1.5

runs=$(grep -c '^---$' "$HOOK_LOG" 2>/dev/null || echo 0)
[ "$runs" -eq 1 ] && ok || bad "the hook ran $runs times, want once: $(cat "$HOOK_LOG" 2>/dev/null)"
grep -q '^PMIRROR_FAMILY=KEYS$' "$HOOK_LOG" && ok || bad "PMIRROR_FAMILY: $(cat "$HOOK_LOG")"
grep -q '^PMIRROR_SWITCH=ROUTE_OWNER_FAMILY_KEYS$' "$HOOK_LOG" && ok || bad "PMIRROR_SWITCH: $(cat "$HOOK_LOG")"
grep -q '^PMIRROR_REASONS=parity under 0.990 by the sequential test' "$HOOK_LOG" && ok ||
    bad "PMIRROR_REASONS: $(cat "$HOOK_LOG")"
grep -q "^PMIRROR_REPORT_DIR=$WORK/report\$" "$HOOK_LOG" && ok || bad "PMIRROR_REPORT_DIR: $(cat "$HOOK_LOG")"
! grep -q 'API_V1' "$HOOK_LOG" && ok || bad "a python switch was acted on: $(cat "$HOOK_LOG")"
# within 40 answers of the break: 60 KEYS answers came before it
samples=$(sed -n 's/^PMIRROR_SAMPLES=//p' "$HOOK_LOG" | head -1)
mismatches=$(sed -n 's/^PMIRROR_MISMATCHES=//p' "$HOOK_LOG" | head -1)
[ -n "$samples" ] && [ "$((samples - 60))" -le 40 ] && [ "$mismatches" -ge 1 ] && ok ||
    bad "rolled back at $samples samples ($mismatches mismatches), want within 40 of the break at 60"
grep -q 'ROUTE_OWNER_FAMILY_KEYS: python' "$WORK/switches.yaml" && ok || bad "the hook did not flip the switch"

curl -s "$MURL" >"$WORK/metrics.txt"
grep -q '^pmirror_tee_rollbacks_total{family="KEYS"} 1$' "$WORK/metrics.txt" && ok ||
    bad "pmirror_tee_rollbacks_total: $(grep rollbacks "$WORK/metrics.txt")"
# the snapshot the rollback wrote: KEYS decided rollback on the sequential test
run python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["run"]["snapshot"], r["run"]["decisions"], r["families"]["KEYS"]["decision"])' "$WORK/report/report.json"
[ "$out" = "rollback sequential rollback" ] || [ "$out" = "rollback sequential hold" ] && ok ||
    bad "report snapshot: $out $err"
grep -q "rollback: KEYS (ROUTE_OWNER_FAMILY_KEYS go -> python): --on-rollback started" "$WORK/rb.tee.err" && ok ||
    bad "the log line: $(cat "$WORK/rb.tee.err")"
grep -q "switches.yaml re-read" "$WORK/rb.tee.err" && ok || bad "the re-read: $(cat "$WORK/rb.tee.err")"

# --on-rollback without --switches: a usage error
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" \
    --on-rollback true
expect_rc 2 "--on-rollback alone"
expect_err "needs --switches" "--on-rollback alone"
finish
