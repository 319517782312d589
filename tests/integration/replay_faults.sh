# SPDX-License-Identifier: Apache-2.0
# replay_faults.sh — `pmirror replay` against backends that misbehave (fault_server.py on
# 127.0.0.1, and a port nothing listens on): each failure ends as its own error code in the
# result file (refused, reset, timeout, truncated, garbage), answers keep their status and
# body hash, every exchange is written exactly once, the run still exits 0, and the
# summary on stderr counts the errors.
. "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_server a; port_a=$port
start_server b; port_b=$port
port_dead=$(free_port) # bound and released: nothing listens there

# one exchange per fault; all overlapping in the recording (long done_us), so they may
# all be in flight at once and the two 2 s timeouts run side by side
python3 "$HERE/make_capture.py" "$WORK/faults.jsonl" '[
  {"id": "ok",        "target": "/ok",         "at_us": 0,   "done_us": 9000000},
  {"id": "reset",     "target": "/reset",      "at_us": 100, "done_us": 9000000},
  {"id": "truncated", "target": "/truncated",  "at_us": 200, "done_us": 9000000},
  {"id": "garbage",   "target": "/garbage",    "at_us": 300, "done_us": 9000000},
  {"id": "stall",     "target": "/stall",      "at_us": 400, "done_us": 9000000},
  {"id": "endless",   "target": "/endless",    "at_us": 500, "done_us": 9000000},
  {"id": "status503", "target": "/status/503", "at_us": 600, "done_us": 9000000},
  {"id": "slow",      "target": "/slow/200",   "at_us": 700, "done_us": 9000000}
]' || { echo "FAIL: make_capture.py"; exit 1; }
cat >"$WORK/suite.yaml" <<EOF
targets:
  - {name: a, url: "http://127.0.0.1:$port_a", role: baseline, timeout: 2, connect_timeout: 1}
  - {name: b, url: "http://127.0.0.1:$port_b/", role: candidate, timeout: 2, connect_timeout: 1}
  - {name: dead, url: "http://127.0.0.1:$port_dead", role: secondary, timeout: 2, connect_timeout: 1}
EOF

start=$EPOCHREALTIME
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/faults.jsonl" -o "$WORK/results.jsonl" --progress never
elapsed=$(python3 -c "print(round($EPOCHREALTIME - $start, 3))")
expect_rc 0 "replay against faulty backends"
python3 - "$elapsed" <<'PY' && ok || bad "the run took ${elapsed}s: the 2 s timeouts should bound it (and run side by side)"
import sys; sys.exit(0 if float(sys.argv[1]) < 7 else 1)
PY

# --- per target, per exchange: the error code, or the answer ----------------------------------
python3 - "$WORK/faults.jsonl" "$WORK/results.jsonl" "$WORK/a.log" "$WORK/b.log" >"$WORK/check" <<'PY'
import hashlib, json, sys
captured = [json.loads(l) for l in open(sys.argv[1])]
results = [json.loads(l) for l in open(sys.argv[2])]
ids = [r["id"] for r in results]
print("count", len(captured), len(results), len(set(ids)), int(set(ids) == {c["id"] for c in captured}))
want = {"ok": (None, 200), "reset": ("reset", None), "truncated": ("truncated", None),
        "garbage": ("garbage", None), "stall": ("timeout", None), "endless": ("timeout", None),
        "status503": (None, 503), "slow": (None, 200)}
for r in results:
    for name in ("a", "b", "dead"):
        resp = r["responses"].get(name)
        if resp is None:
            print("missing", r["id"], name)
            continue
        error, status = want[r["id"]] if name != "dead" else ("refused", None)
        got_error = resp.get("error", "<absent>")
        got_status = resp.get("status")
        if got_error != error or got_status != status:
            print("wrong", r["id"], name, "error", got_error, "status", got_status, "want", error, status,
                  "detail", resp.get("error_detail"))
            continue
        role = {"a": "baseline", "b": "candidate", "dead": "secondary"}[name]
        if resp.get("role") != role:
            print("role", r["id"], name, resp.get("role"))
        if status is not None:  # an answer: its body, byte count and hash are all there
            body = resp.get("body")
            if body is None or resp.get("body_len") != len(body.encode()) or \
                    resp.get("body_sha256") != hashlib.sha256(body.encode()).hexdigest() or \
                    json.loads(body).get("path") != r["request"]["target"]:
                print("body", r["id"], name, resp.get("body"), resp.get("body_len"), resp.get("body_sha256"))
            else:
                print("answered", r["id"], name, status)
        if error == "timeout" and not 1.8e6 <= resp.get("done_us", 0) <= 4e6:
            print("timeout-late", r["id"], name, resp.get("done_us"))
        if error is not None:
            print("error", r["id"], name, error)
# each backend saw each exchange exactly once
for log in sys.argv[3:5]:
    paths = [json.loads(l)["path"] for l in open(log)]
    for c in captured:
        n = paths.count(c["request"]["target"])
        if n != 1:
            print("seen", log.rsplit("/", 1)[1], c["request"]["target"], n)
PY
read -r _ n_cap n_res n_ids same_ids < <(grep '^count' "$WORK/check")
[ "$n_cap" -eq 8 ] && [ "$n_res" -eq 8 ] && [ "$n_ids" -eq 8 ] && [ "$same_ids" -eq 1 ] && ok \
    || bad "every exchange once: $n_cap captured, $n_res results, $n_ids distinct ids, same set: $same_ids"
grep -q '^missing\|^role' "$WORK/check" && bad "responses: $(grep '^missing\|^role' "$WORK/check" | head -3)" || ok
for t in a b; do
    for pair in "ok answered" "reset reset" "truncated truncated" "garbage garbage" "stall timeout" \
                "endless timeout" "status503 answered" "slow answered"; do
        set -- $pair
        if [ "$2" = answered ]; then
            grep -q "^answered $1 $t " "$WORK/check" && ok \
                || bad "$t /$1: want an answer: $(grep " $1 $t " "$WORK/check")"
        else
            grep -q "^error $1 $t $2\$" "$WORK/check" && ok \
                || bad "$t /$1: want error $2: $(grep " $1 $t " "$WORK/check")"
        fi
    done
done
n_refused=$(grep -c '^error [a-z0-9]* dead refused$' "$WORK/check")
[ "$n_refused" -eq 8 ] && ok || bad "dead: $n_refused of 8 refused: $(grep ' dead ' "$WORK/check" | head -3)"
grep -q '^timeout-late' "$WORK/check" && bad "timeouts not near 2 s: $(grep '^timeout-late' "$WORK/check")" || ok
grep -q '^seen' "$WORK/check" && bad "a backend saw an exchange other than once: $(grep '^seen' "$WORK/check" | head -3)" || ok
grep -q '^body' "$WORK/check" && bad "answer bodies: $(grep '^body' "$WORK/check" | head -3)" || ok

# --- the summary counts what the result file holds -----------------------------------------
expect_err "8 exchanges replayed of 8 read" "summary: exchanges"
expect_err "a: 3 answered, 5 errors, 0 skipped" "summary: a's errors"
expect_err "b: 3 answered, 5 errors, 0 skipped" "summary: b's errors"
expect_err "dead: 0 answered, 8 errors, 0 skipped" "summary: dead's errors"

# --- gzip results, and a backend that refuses everything alone ----------------------------------
printf 'targets:\n  - {name: dead, url: "http://127.0.0.1:%s", role: baseline, connect_timeout: 1}\n' \
    "$port_dead" >"$WORK/dead.yaml"
run "$PMIRROR" replay -c "$WORK/dead.yaml" -i "$WORK/faults.jsonl" -o "$WORK/dead.jsonl.gz" --progress never
expect_rc 0 "replay against a refusing backend only"
gzip -t "$WORK/dead.jsonl.gz" 2>/dev/null && ok || bad ".gz results are not gzip"
n=$(gzip -dc "$WORK/dead.jsonl.gz" | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if json.loads(l)["responses"]["dead"]["error"] == "refused"))')
[ "$n" = 8 ] && ok || bad "refusing backend alone: $n of 8 refused"

finish
