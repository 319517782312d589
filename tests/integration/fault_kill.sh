# SPDX-License-Identifier: Apache-2.0
# fault_kill.sh — `kill -9` in the middle of a capture and of a replay, plain and gzip
# outputs: the file reads back (`pmirror cat` exit 0; a gzip stream cut short is a warning,
# a plain file ends on a whole line), every record read back is whole and right, and the
# loss is bounded by the flush interval (PM_JSONL_FLUSH_MS_DEFAULT, 1 s): every record the
# process had produced more than 1 s (plus 0.5 s of slack) before the kill is there.
#
# What "produced by then" means is measured, not guessed: the capture reads the pcap from a
# pipe fed by a feeder that logs how many bytes it had written when; capturing the bytes
# fed by (kill - 1.5 s), less what the pipe and stdio may still have held, gives the
# exchanges that must be in the file. Fed steadily (200 KB/s), and fed then paused (the
# writer of the pipe goes quiet, as `tcpdump -w -` on an idle link does: the capture must
# still flush what it has). The replay's backend logs when each request arrived
# (fault_server.py, /slow/150: the result is written 150 ms later). The tee (`pmirror tee
# --record`, proxy mode) gets a steady stream of requests; its shadow (tee_backend.py) logs
# when each copy arrived, and every copy answered more than 1.5 s before the kill is due.
. "$(dirname "$0")/lib.sh"
. "$HERE/tee_helpers.bash"

now() { python3 -c 'import time; print(time.monotonic())'; }
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key" && chmod 600 "$WORK/key"

# read_back NAME FILE EXT: exit 0; gzip: a warning about the cut stream; plain: whole lines
read_back() {
    run "$PMIRROR" cat "$2"
    expect_rc 0 "$1: pmirror cat of the killed run's file"
    if [ "$3" = jsonl.gz ]; then
        expect_err "warning: .*gzip stream ends early" "$1: the cut gzip stream is a warning"
    else
        [ -z "$err" ] && ok || bad "$1: a plain file is written in whole lines, yet: $err"
        [ ! -s "$2" ] || [ "$(tail -c 1 "$2" | od -An -c | tr -d ' ')" = '\n' ] && ok \
            || bad "$1: the plain file ends inside a line"
    fi
    printf '%s\n' "$out" >"$WORK/readback.jsonl"
}

# --- capture -----------------------------------------------------------------------------------
python3 "$SRC/bench/gen_pcap.py" "$WORK/traffic.pcap" 2000 >/dev/null || { echo "FAIL: gen_pcap.py"; exit 1; }
run "$PMIRROR" capture -q -r "$WORK/traffic.pcap" --key "$WORK/key" -o "$WORK/all.jsonl"
expect_rc 0 "capture of the whole pcap"
cat >"$WORK/feed.py" <<'PY'
import select, sys, time
data = open(sys.argv[1], "rb").read()
log = open(sys.argv[2], "w")
rate, pause_at = int(sys.argv[3]), int(sys.argv[4])  # bytes/s; bytes after which it goes quiet
chunk, at, start = 8192, 0, time.monotonic()
try:
    while at < len(data):
        if at >= pause_at:  # quiet until the reader is gone (the pipe then reports an error)
            quiet = select.poll()
            quiet.register(sys.stdout.fileno(), select.POLLERR)
            quiet.poll(60000)
        sys.stdout.buffer.write(data[at:at + chunk]); sys.stdout.flush()
        at += len(data[at:at + chunk])
        log.write("%f %d\n" % (time.monotonic(), at)); log.flush()
        time.sleep(max(0, start + at / rate - time.monotonic()))
except BrokenPipeError:
    pass
PY
for mode in steady paused; do
for ext in jsonl jsonl.gz; do
    name="capture, $mode feed ($ext)"
    out_file=$WORK/killed-capture.$ext
    : >"$WORK/feed.log"
    if [ $mode = steady ]; then # 200 KB/s; killed when 1 MB was fed
        feed="200000 99999999" kill_after=1000000 settle=0 slack=131072
    else # 400 KB at 2 MB/s, then quiet; killed 2.5 s into the quiet; all it was fed is due
        feed="2000000 400000" kill_after=400000 settle=2.5 slack=0
    fi
    python3 "$WORK/feed.py" "$WORK/traffic.pcap" "$WORK/feed.log" $feed 2>/dev/null \
        | "$PMIRROR" capture -q -r - --key "$WORK/key" -o "$out_file" 2>"$WORK/capture.err" &
    pid=$!
    for _ in $(seq 300); do # at most 30 s
        fed=$(tail -1 "$WORK/feed.log" | cut -d' ' -f2)
        [ "${fed:-0}" -ge $kill_after ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep $settle
    kill_at=$(now)
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    read_back "$name" "$out_file" "$ext"
    # what was fed 1.5 s before the kill, less what the pipe and stdio may have held
    fed=$(awk -v t="$kill_at" '$1 <= t - 1.5 {n = $2} END {print n + 0}' "$WORK/feed.log")
    head -c $((fed > slack ? fed - slack : 0)) "$WORK/traffic.pcap" >"$WORK/prefix.pcap"
    "$PMIRROR" capture -q -r "$WORK/prefix.pcap" --key "$WORK/key" -o "$WORK/prefix.jsonl" 2>/dev/null
    python3 - "$WORK/all.jsonl" "$WORK/prefix.jsonl" "$WORK/readback.jsonl" <<'PY' >"$WORK/check" 2>&1
import json, sys
def load(p):
    return [json.loads(l) for l in open(p) if l.strip()]
full = {r["id"]: r for r in load(sys.argv[1])}
# exchanges the killed run had surely written: complete ones in the earlier prefix
due = [r["id"] for r in load(sys.argv[2]) if (r.get("response") or {}).get("complete")]
got = load(sys.argv[3])
ids = {r["id"] for r in got}
print("due", len(due), "got", len(got), "of", len(full))
print("missing", len([i for i in due if i not in ids]))
print("wrong", len([r for r in got if full.get(r["id"]) != r]) + len(got) - len(ids))
PY
    read -r _ n_due _ n_got _ n_all < <(grep '^due' "$WORK/check")
    echo "  $name: killed after $(tail -1 "$WORK/feed.log" | cut -d' ' -f2) bytes fed: $n_got records read back, $n_due due"
    [ "${n_due:-0}" -gt 0 ] && [ "$n_got" -lt "$n_all" ] && ok \
        || bad "$name: the kill did not land mid-run: $(cat "$WORK/check")"
    grep -q '^missing 0$' "$WORK/check" && ok \
        || bad "$name: records older than the flush interval were lost: $(cat "$WORK/check")"
    grep -q '^wrong 0$' "$WORK/check" && ok \
        || bad "$name: records read back differ from the full capture's: $(cat "$WORK/check")"
done
done

# --- replay ------------------------------------------------------------------------------------
start_server slow
# one after another (each request began after the previous answer ended): 60 × 150 ms
python3 - >"$WORK/spec.json" <<'PY'
import json
print(json.dumps([{"id": "s%02d" % i, "target": "/slow/150/%d" % i, "at_us": i * 1000000,
                   "done_us": 500000} for i in range(60)]))
PY
python3 "$HERE/make_capture.py" "$WORK/slow.jsonl" - <"$WORK/spec.json" || { echo "FAIL: make_capture.py"; exit 1; }
printf 'targets:\n  - {name: slow, url: "http://127.0.0.1:%s", role: baseline, timeout: 10}\n' "$port" >"$WORK/suite.yaml"
for ext in jsonl jsonl.gz; do
    : >"$WORK/slow.log"
    out_file=$WORK/killed-results.$ext
    "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/slow.jsonl" -o "$out_file" --progress never \
        2>"$WORK/replay.err" &
    pid=$!
    for _ in $(seq 600); do
        [ "$(wc -l <"$WORK/slow.log")" -ge 10 ] && break
        sleep 0.05
    done
    sleep 2
    kill_at=$(now)
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    read_back "replay ($ext)" "$out_file" "$ext"
    python3 - "$WORK/slow.log" "$WORK/readback.jsonl" "$kill_at" <<'PY' >"$WORK/check" 2>&1
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
kill_at = float(sys.argv[3])
# answered 150 ms after arrival; due when that was more than 1 s + 0.5 s before the kill
due = {"s%02d" % int(e["path"].rsplit("/", 1)[1]) for e in log if e["t"] + 0.15 < kill_at - 1.5}
sent = {"s%02d" % int(e["path"].rsplit("/", 1)[1]) for e in log}
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ids = [r["id"] for r in got]
print("due", len(due), "got", len(got), "of", len(log))
print("missing", len(due - set(ids)))
ok = all(r["responses"]["slow"].get("status") == 200 and int(r["request"]["target"].rsplit("/", 1)[1]) == int(r["id"][1:])
         for r in got)
print("wrong", int(not ok) + len([i for i in ids if i not in sent]) + len(ids) - len(set(ids)))
PY
    read -r _ n_due _ n_got _ n_sent < <(grep '^due' "$WORK/check")
    echo "  replay ($ext): $n_sent requests sent before the kill: $n_got results read back, $n_due due"
    [ "${n_due:-0}" -gt 0 ] && [ "$n_sent" -lt 60 ] && ok || bad "replay ($ext): the kill did not land mid-run: $(cat "$WORK/check")"
    grep -q '^missing 0$' "$WORK/check" && ok \
        || bad "replay ($ext): results older than the flush interval were lost: $(cat "$WORK/check")"
    grep -q '^wrong 0$' "$WORK/check" && ok || bad "replay ($ext): results read back are wrong: $(cat "$WORK/check")"
done

# --- tee --record --------------------------------------------------------------------------------
backend primary
P=$port
backend shadow
S=$port
cat >"$WORK/load.py" <<'PY'
import http.client, sys, time
# one request after another (keep-alive), 50 a second, until the tee is gone
port, log = int(sys.argv[1]), open(sys.argv[2], "w")
conn, i = http.client.HTTPConnection("127.0.0.1", port, timeout=5), 0
try:
    while True:
        conn.request("GET", "/k/%d" % i)
        conn.getresponse().read()
        log.write("%d\n" % i); log.flush()
        i += 1
        time.sleep(0.02)
except Exception:
    pass
PY
for ext in jsonl jsonl.gz; do
    out_file=$WORK/killed-tee.$ext
    rm -f "$out_file"
    : >"$WORK/shadow.log"
    start_tee killed --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --record "$out_file" \
        --key "$WORK/key" --shadow-nice 0
    python3 "$WORK/load.py" "$tport" "$WORK/load.log" &
    load=$!
    pids+=($load)
    wait_until 30 sh -c "[ \$(wc -l <'$WORK/shadow.log') -ge 100 ]" || bad "tee ($ext): the shadow got no load"
    sleep 0.5
    kill_at=$(now)
    kill -9 "$killed_tee"
    wait "$killed_tee" 2>/dev/null
    wait "$load" 2>/dev/null
    read_back "tee --record ($ext)" "$out_file" "$ext"
    python3 - "$WORK/shadow.log" "$WORK/readback.jsonl" "$kill_at" <<'PY' >"$WORK/check" 2>&1
import json, sys
kill_at = float(sys.argv[3])
log = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sent = {e["path"] for e in log}
# the shadow answers at once and the result is written when it has: due when the copy
# reached the shadow more than 1 s + 0.5 s before the kill
due = {e["path"] for e in log if e["t"] < kill_at - 1.5}
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
targets = [r["request"]["target"] for r in got]
print("due", len(due), "got", len(got), "of", len(sent))
print("missing", len(due - set(targets)))
ok = all(r["request"]["method"] == "GET" and r["responses"]["primary"].get("status") == 200 and
         r["responses"]["shadow"].get("status") == 200 for r in got)
print("wrong", int(not ok) + len([t for t in targets if t not in sent]) + len(targets) - len(set(targets)))
PY
    read -r _ n_due _ n_got _ n_sent < <(grep '^due' "$WORK/check")
    echo "  tee --record ($ext): $n_sent copies shadowed before the kill: $n_got records read back, $n_due due"
    [ "${n_due:-0}" -gt 0 ] && ok || bad "tee ($ext): the kill did not land mid-run: $(cat "$WORK/check")"
    grep -q '^missing 0$' "$WORK/check" && ok \
        || bad "tee ($ext): records older than the flush interval were lost: $(cat "$WORK/check")"
    grep -q '^wrong 0$' "$WORK/check" && ok || bad "tee ($ext): records read back are wrong: $(cat "$WORK/check")"
done

finish
