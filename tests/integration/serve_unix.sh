# SPDX-License-Identifier: Apache-2.0
# serve_unix.sh — replay and serve over Unix sockets (issue 20): `pmirror serve --listen
# unix:/PATH` answers a capture on a socket file (mode 0660; a second serve on the live
# socket refused, exit 2; the file removed on SIGTERM, and a stale one left by SIGKILL
# replaced), and `pmirror replay` reaches suite targets given as unix:/PATH and
# unix:/PATH:/base/path — every exchange answered as recorded, the base path prefixed to
# the target.
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/capture"
chmod 755 "$WORK"

run "$PMIRROR" capture -q -r "$FX/basic_keepalive.pcap" --no-redact -o "$WORK/cap.jsonl"
expect_rc 0 "capture"

# serve NAME: pmirror serve on $WORK/NAME.sock; sets NAME_pid
serve_on() {
    "$PMIRROR" serve --fixture "$WORK/cap.jsonl" --listen "unix:$WORK/$1.sock" 2>"$WORK/$1.err" &
    pids+=($!)
    eval "$1_pid=$!"
    wait_for 10 grep -qs "answers from" "$WORK/$1.err" || bad "serve $1 did not start: $(cat "$WORK/$1.err")"
}
serve_on python
serve_on go
grep -q "^pmirror serve: unix:$WORK/python.sock answers from $WORK/cap.jsonl (3 exchanges, 0 skipped)$" \
    "$WORK/python.err" && ok || bad "start line: $(cat "$WORK/python.err")"
[ "$(stat -c %a "$WORK/python.sock")" = 660 ] && ok || bad "serve's socket is mode $(stat -c %a "$WORK/python.sock")"
status=$(curl -s -o "$WORK/body" -w '%{http_code}' --unix-socket "$WORK/python.sock" \
    http://quay.example.test/v2/acme/app/manifests/latest)
[ "$status" = 200 ] && ok || bad "curl --unix-socket to serve: $status"

run "$PMIRROR" serve --fixture "$WORK/cap.jsonl" --listen "unix:$WORK/python.sock"
expect_rc 2 "a second serve on the live socket"
expect_err "another process is listening" "a second serve on the live socket"
expect_one_err_line "a second serve on the live socket"

cat >"$WORK/suite.yaml" <<EOF
targets:
  - {name: python, url: "unix:$WORK/python.sock", role: baseline}
  - {name: go, url: "unix:$WORK/go.sock:/", role: candidate}
  - {name: mounted, url: "unix:$WORK/go.sock:/quay", role: secondary}
EOF
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/cap.jsonl" -o "$WORK/results.jsonl"
expect_rc 0 "replay to unix: targets"
python3 - "$WORK/results.jsonl" <<'PY' && ok || bad "replay over unix: sockets: the results above"
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n += 1
    want = r["response"]
    for name in ("python", "go"):
        got = r["responses"][name]
        if got.get("error") or got["status"] != want["status"] or \
                got.get("body_b64", got.get("body")) != want.get("body_b64", want.get("body")):
            sys.exit(f"{r['request']['target']}: {name} answered {got.get('status')} {got.get('error')}")
    m = r["responses"]["mounted"]
    if m["status"] != 404 or "/quay" + r["request"]["target"][:10] not in m.get("body", ""):
        sys.exit(f"{r['request']['target']}: no base path: {m.get('status')} {m.get('body', '')[:200]}")
if n != 3:
    sys.exit(f"{n} results, want 3")
PY

cat >"$WORK/bad.yaml" <<EOF
targets:
  - {name: python, url: "unix:relative.sock", role: baseline}
  - {name: go, url: "unix:$WORK/go.sock:quay", role: candidate}
EOF
run "$PMIRROR" replay -c "$WORK/bad.yaml" -i "$WORK/cap.jsonl" -o "$WORK/r2.jsonl"
expect_rc 2 "a bad unix: url"
expect_err "bad.yaml:2" "a bad unix: url names its line"
expect_one_err_line "a bad unix: url"

# SIGTERM removes the file; SIGKILL leaves it, and the next serve replaces it
kill -TERM "$python_pid"
wait "$python_pid"
[ $? -eq 0 ] && ok || bad "serve SIGTERM: $(cat "$WORK/python.err")"
[ ! -e "$WORK/python.sock" ] && ok || bad "serve left its socket file after SIGTERM"
kill -KILL "$go_pid"
wait "$go_pid" 2>/dev/null
test -S "$WORK/go.sock" && ok || bad "SIGKILL left no socket file"
serve_on go
status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK/go.sock" \
    http://quay.example.test/v2/acme/app/manifests/latest)
[ "$status" = 200 ] && ok || bad "a serve on the stale socket: $status: $(cat "$WORK/go.err")"
finish
