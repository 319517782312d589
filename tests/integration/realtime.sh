# SPDX-License-Identifier: Apache-2.0
# realtime.sh — event streams end to end (issue 22): a live capture on loopback of a client
# that subscribes to /realtime/user/subscribe for ~3 s and calls /realtime/user/test in the
# middle (sse_server.py, a stand-in for Quay's endpoints/realtime.py), then `pmirror run`:
#  - the capture holds the subscription as a complete answer with response.stream
#    (closed_by client, its events and keep-alives counted);
#  - against two flavours that differ in the test event's field type: the subscription is a
#    mismatch at that event's field, nothing is an error, and the run lasts about the
#    recorded window (the streams are closed by pmirror, not by a 30 s timeout);
#  - against two servers of the same flavour: every exchange matches and REALTIME promotes;
#  - through the tee: the client's subscription is recorded complete for the time it held
#    it, and the shadow's copy is held as long and closed by pmirror, without an error.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

start_sse() { # start_sse NAME FLAVOUR: sets port_NAME
    : >"$WORK/$1.port"
    python3 "$HERE/sse_server.py" "$WORK/$1.port" "$2" 2>"$WORK/$1.err" &
    pids+=($!)
    local p=
    for _ in $(seq 100); do
        p=$(cat "$WORK/$1.port")
        [ -n "$p" ] && (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
        p=
        sleep 0.05
    done
    [ -n "$p" ] || { echo "FAIL: sse_server $1 did not start: $(cat "$WORK/$1.err")"; exit 1; }
    printf -v "port_$1" '%s' "$p"
}
start_sse a A
start_sse a2 A
start_sse b B

# --- the recording --------------------------------------------------------------------------
"$PMIRROR" capture -q -i lo --port "$port_a" -o "$WORK/cap.jsonl" --stats "$WORK/cap-stats.json" 2>"$WORK/cap.err" &
cap=$!
sleep 1
python3 - "$port_a" >"$WORK/client.out" 2>&1 <<'PY'
import socket, sys, threading, time, urllib.request
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"GET /realtime/user/subscribe HTTP/1.1\r\nHost: quay\r\nAccept: text/event-stream\r\n\r\n")
got = []
def read():
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return
            got.append(b)
    except OSError:
        pass
threading.Thread(target=read, daemon=True).start()
time.sleep(1.5)
urllib.request.urlopen("http://127.0.0.1:%d/realtime/user/test" % port, timeout=5).read()
time.sleep(1.5)
s.close()  # the client leaves: its FIN ends the stream's window
text = b"".join(got)
print("test event seen" if b'"foo": 2' in text else "no test event: %r" % text)
PY
sleep 0.5
kill -TERM $cap
wait $cap || bad "capture exit $?: $(cat "$WORK/cap.err")"
grep -q "test event seen" "$WORK/client.out" && ok || bad "the recording client: $(cat "$WORK/client.out")"

python3 - "$WORK/cap.jsonl" >"$WORK/cap.check" <<'PY'
import json, sys
recs = {json.loads(l)["capability"]: json.loads(l) for l in open(sys.argv[1])}
sub, test = recs.get("REALTIME_SUBSCRIBE"), recs.get("REALTIME_TEST")
problems = []
if not sub or not test:
    problems.append("capabilities recorded: %s" % sorted(recs))
else:
    r = sub["response"]
    st = r.get("stream") or {}
    if r.get("complete") is not True:
        problems.append("the subscription is not complete")
    if st.get("closed_by") != "client":
        problems.append("closed_by %r" % st.get("closed_by"))
    if st.get("events") != 2 or len(st.get("offsets_us", [])) != 2:
        problems.append("events %r offsets %r" % (st.get("events"), st.get("offsets_us")))
    if not st.get("comments"):
        problems.append("no keep-alive counted")
    if not 2500000 <= st.get("window_us", 0) <= 4500000:
        problems.append("window_us %r" % st.get("window_us"))
    if '"foo": 2' not in r.get("body", ""):
        problems.append("the body lacks the test event")
print("ok" if not problems else "; ".join(problems))
PY
[ "$(cat "$WORK/cap.check")" = ok ] && ok || bad "capture: $(cat "$WORK/cap.check")"
grep -q '"event_streams": 1' "$WORK/cap-stats.json" && grep -q '"incomplete_responses": 0' "$WORK/cap-stats.json" && ok ||
    bad "capture stats: $(grep -E 'event_streams|incomplete' "$WORK/cap-stats.json")"

# --- the replays ----------------------------------------------------------------------------
suite() { # suite FILE PORT PORT
    printf 'targets:\n  - {name: python, url: "http://127.0.0.1:%s", role: baseline, sandbox: true}\n  - {name: go, url: "http://127.0.0.1:%s", role: candidate, sandbox: true}\n' \
        "$2" "$3" >"$1"
}
# two exchanges are all there is: a gate that decides on so few
printf 'defaults: {min_samples: 1, min_parity_lower: 0.2, max_error_rate: 0.5, min_capability_coverage: 0, max_p95_ratio: null}\n' \
    >"$WORK/gate.yaml"
suite "$WORK/ab.yaml" "$port_a" "$port_b"
suite "$WORK/aa.yaml" "$port_a" "$port_a2"

# /realtime/user/test is mutating in the profile: sandbox targets and --allow-writes
start=$(date +%s%N)
run "$PMIRROR" run -c "$WORK/ab.yaml" -i "$WORK/cap.jsonl" --out-dir "$WORK/out-ab" --gate "$WORK/gate.yaml" \
    --allow-writes --keep-results --progress never
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 1 "run: a differing event fails the gate"
[ "$elapsed_ms" -le 7000 ] && ok || bad "run A/B took ${elapsed_ms} ms: the window is ~3 s"
python3 - "$WORK/out-ab" >"$WORK/ab.check" <<'PY'
import gzip, json, sys
d = {json.loads(l)["capability"]: json.loads(l) for l in gzip.open(sys.argv[1] + "/diffs.jsonl.gz", "rt")}
res = {json.loads(l)["capability"]: json.loads(l) for l in gzip.open(sys.argv[1] + "/results.jsonl.gz", "rt")}
problems = []
sub = d.get("REALTIME_SUBSCRIBE", {})
if sub.get("verdict") != "mismatch":
    problems.append("subscribe verdict %r %r" % (sub.get("verdict"), sub.get("error")))
paths = [x.get("path") for x in sub.get("differences", [])]
if not any(p and p.startswith("$.events[1].data") and p.endswith("foo") for p in paths):
    problems.append("differences at %r" % paths)
if d.get("REALTIME_TEST", {}).get("verdict") != "match":
    problems.append("test verdict %r" % d.get("REALTIME_TEST", {}).get("verdict"))
for name, a in res.get("REALTIME_SUBSCRIBE", {}).get("responses", {}).items():
    if a.get("error") is not None or (a.get("stream") or {}).get("closed_by") != "pmirror":
        problems.append("%s: error %r stream %r" % (name, a.get("error"), a.get("stream")))
    if "foo" not in a.get("body", ""):
        problems.append("%s: the test event is not in its answer" % name)
errors = [c for c, r in d.items() if r.get("verdict") == "error"]
if errors:
    problems.append("errors: %s" % errors)
print("ok" if not problems else "; ".join(problems))
PY
[ "$(cat "$WORK/ab.check")" = ok ] && ok || bad "run A/B: $(cat "$WORK/ab.check")"

run "$PMIRROR" run -c "$WORK/aa.yaml" -i "$WORK/cap.jsonl" --out-dir "$WORK/out-aa" --gate "$WORK/gate.yaml" \
    --allow-writes --keep-results --progress never
expect_rc 0 "run: the same flavour on both sides promotes"
expect_out "ROUTE_OWNER_FAMILY_REALTIME: go" "the proposal moves REALTIME to go"
n=$(python3 -c 'import gzip, json, sys; print(sum(json.loads(l)["verdict"] == "match" for l in gzip.open(sys.argv[1], "rt")))' \
    "$WORK/out-aa/diffs.jsonl.gz")
[ "$n" = 2 ] && ok || bad "run A/A: $n of 2 exchanges match"

# --stream-window: the window asked for, not the recorded one
start=$(date +%s%N)
run "$PMIRROR" replay -c "$WORK/aa.yaml" -i "$WORK/cap.jsonl" -o "$WORK/short.jsonl" --allow-writes \
    --stream-window 1 --progress never
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0 "replay --stream-window 1"
[ "$elapsed_ms" -lt 2500 ] && ok || bad "replay --stream-window 1 took ${elapsed_ms} ms"
grep -q '"closed_by":"pmirror"' "$WORK/short.jsonl" && ok || bad "replay: no stream closed by pmirror"

# --- the tee: a shadowed stream is held as long as the client held the primary's -------------
. "$HERE/tee_helpers.bash"
start_tee tee --primary "http://127.0.0.1:$port_a" --shadow "http://127.0.0.1:$port_b" --record "$WORK/tee.jsonl"
python3 - "$tport" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"GET /realtime/user/subscribe HTTP/1.1\r\nHost: quay\r\n\r\n")
time.sleep(1.5)
s.close()
PY
wait_for 15 grep -q '"v":1' "$WORK/tee.jsonl" || bad "the tee recorded no result for the subscription"
kill -TERM "$tee_tee"; wait "$tee_tee" || bad "tee exit $?: $(cat "$WORK/tee.tee.err")"
python3 - "$WORK/tee.jsonl" >"$WORK/tee.check" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
problems = [] if len(records) == 1 else ["%d records, want 1" % len(records)]
for r in records:
    st = r["response"].get("stream") or {}
    if r["response"].get("complete") is not True or st.get("closed_by") != "client":
        problems.append("primary: complete %r stream %r" % (r["response"].get("complete"), st))
    if not 1400000 <= st.get("window_us", 0) <= 3500000:
        problems.append("primary window_us %r" % st.get("window_us"))
    for name, a in r["responses"].items():
        ast = a.get("stream") or {}
        if a.get("error") is not None or (a["role"] != "baseline" and ast.get("closed_by") != "pmirror"):
            problems.append("%s: error %r stream %r" % (name, a.get("error"), ast))
        if a["role"] != "baseline" and not 1400000 <= a.get("done_us", 0) <= 4500000:
            problems.append("%s: held %r us" % (name, a.get("done_us")))
print("ok" if not problems else "; ".join(problems))
PY
[ "$(cat "$WORK/tee.check")" = ok ] && ok || bad "tee: $(cat "$WORK/tee.check")"

finish
