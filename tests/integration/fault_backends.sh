# SPDX-License-Identifier: Apache-2.0
# fault_backends.sh — misbehaving backends through the whole pipeline, replay then diff (what
# replay_faults.sh leaves out): a gzip bomb (1 GiB of zeros in ~1 MB) is stored as sent by
# replay and is `too_large` in diff, whose memory stays far below the bomb; refusals, resets,
# stalls, garbage and endless bodies end as verdict `error` naming the code; skipped writes
# are `skipped`; and the counters add up: per target in replay's summary, per verdict in
# diff's, each equal to what the files hold.
. "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_server backend
dead=$(free_port)
python3 "$HERE/make_capture.py" "$WORK/capture.jsonl" '[
  {"id": "ok1",      "target": "/ok/1",     "at_us": 0,   "done_us": 9000000},
  {"id": "ok2",      "target": "/ok/2",     "at_us": 100, "done_us": 9000000},
  {"id": "bomb",     "target": "/gzipbomb", "at_us": 200, "done_us": 9000000},
  {"id": "reset",    "target": "/reset",    "at_us": 300, "done_us": 9000000},
  {"id": "garbage",  "target": "/garbage",  "at_us": 400, "done_us": 9000000},
  {"id": "stall",    "target": "/stall",    "at_us": 500, "done_us": 9000000},
  {"id": "endless",  "target": "/endless",  "at_us": 600, "done_us": 9000000},
  {"id": "write",    "method": "POST", "target": "/ok/write", "body": "{}", "at_us": 700, "done_us": 9000000}
]' || { echo "FAIL: make_capture.py"; exit 1; }
cat >"$WORK/suite.yaml" <<EOF
targets:
  - {name: a, url: "http://127.0.0.1:$port", role: baseline, timeout: 3, connect_timeout: 1}
  - {name: b, url: "http://127.0.0.1:$port", role: candidate, timeout: 3, connect_timeout: 1}
EOF
# the same exchanges with the candidate's backend gone: every exchange an error
cat >"$WORK/dead.yaml" <<EOF
targets:
  - {name: a, url: "http://127.0.0.1:$port", role: baseline, timeout: 3, connect_timeout: 1}
  - {name: b, url: "http://127.0.0.1:$dead", role: candidate, timeout: 3, connect_timeout: 1}
EOF

# peak RSS of a command, in MiB, into $WORK/rss
measured() {
    python3 - "$WORK/rss" "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
sys.exit(rc)
PY
}

for suite in suite dead; do
    run "$PMIRROR" replay -c "$WORK/$suite.yaml" -i "$WORK/capture.jsonl" -o "$WORK/$suite-results.jsonl" --progress never
    expect_rc 0 "$suite: replay finishes"
    replay_err=$err
    run measured "$PMIRROR" diff -i "$WORK/$suite-results.jsonl" -o "$WORK/$suite-diffs.jsonl" --progress never
    expect_rc 0 "$suite: diff finishes"
    diff_err=$err
    python3 - "$WORK/$suite-results.jsonl" "$WORK/$suite-diffs.jsonl" "$suite" "$replay_err" "$diff_err" <<'PY' >"$WORK/check"
import json, re, sys
results = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
diffs = {d["id"]: d for d in map(json.loads, open(sys.argv[2]))}
suite, replay_err, diff_err = sys.argv[3:6]
problems = []
if set(results) != set(diffs) or len(results) != 8:
    problems.append("ids: %s vs %s" % (sorted(results), sorted(diffs)))
want = {"ok1": ("match", None), "ok2": ("match", None), "bomb": ("error", "too_large"),
        "reset": ("error", "reset"), "garbage": ("error", "garbage"), "stall": ("error", "timeout"),
        "endless": ("error", "timeout"), "write": ("skipped", None)}
if suite == "dead":  # where the baseline answered, the candidate's refusal is the error
    want.update({k: ("error", "refused") for k in ("ok1", "ok2", "bomb")})
for id_, (verdict, code) in want.items():
    d = diffs.get(id_, {})
    text = json.dumps(d.get("error"))
    if d.get("verdict") != verdict or (code and code not in text):
        problems.append("%s: verdict %s error %s, want %s %s" % (id_, d.get("verdict"), text, verdict, code))
# the bomb went through replay as sent: compressed, whole, its encoding header kept
bomb = results["bomb"]["responses"]["a"]
enc = [v for n, v in bomb.get("headers", []) if n.lower() == "content-encoding"]
if suite == "suite" and (bomb.get("status") != 200 or enc != ["gzip"] or not 500000 < bomb.get("body_len", 0) < 2000000
                         or bomb.get("body_truncated")):
    problems.append("bomb stored: status %s encoding %s body_len %s" % (bomb.get("status"), enc, bomb.get("body_len")))
# replay's summary counts what the result file holds, per target
for t in ("a", "b"):
    got = {"answered": 0, "errors": 0, "skipped": 0}
    for r in results.values():
        x = r["responses"][t]
        got["skipped" if x.get("skipped") else "errors" if x.get("error") else "answered"] += 1
    line = "%s: %d answered, %d errors, %d skipped" % (t, got["answered"], got["errors"], got["skipped"])
    if line not in replay_err:
        problems.append("replay summary lacks '%s': %s" % (line, replay_err))
# diff's summary counts the verdicts the diff file holds, and they add up to every record
n = {v: sum(1 for d in diffs.values() if d["verdict"] == v) for v in ("match", "mismatch", "error", "skipped")}
line = "%d records: %d match, %d mismatch, %d error, %d skipped" % (len(diffs), n["match"], n["mismatch"], n["error"], n["skipped"])
if line not in diff_err or sum(n.values()) != len(diffs):
    problems.append("diff summary lacks '%s': %s" % (line, diff_err))
print("\n".join(problems) or "fine")
PY
    [ "$(cat "$WORK/check")" = fine ] && ok || bad "$suite: $(cat "$WORK/check")"
    rss=$(cat "$WORK/rss")
    [ "$rss" -lt 512 ] && ok || bad "$suite: diff peaked at $rss MiB: the 1 GiB bomb was inflated past the cap"
    echo "  $suite: diff peak RSS $rss MiB"
done

finish
