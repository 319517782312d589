# SPDX-License-Identifier: Apache-2.0
# run.sh — `pmirror run` is the four stages in one process: on the real skopeo/registry
# recording served back by two `pmirror serve` backends, `run` gives the report that
# replay + diff + report give one by one (every family's numbers, decisions, reasons),
# keeps results and diffs when asked, exits 0 when every family may be promoted and 1
# when a seeded difference (another manifest body on the "go" side) fails the gate, and
# 2 on bad input with one line.
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/capture"

servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# serve NAME FIXTURE: a recorded backend on a free port; sets $port
serve() {
    rm -f "$WORK/$1.port"
    "$PMIRROR" serve --fixture "$2" --listen 127.0.0.1:0 --port-file "$WORK/$1.port" 2>"$WORK/$1.err" &
    servers+=($!)
    for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
    port=$(cat "$WORK/$1.port" 2>/dev/null)
    [ -n "$port" ] || { echo "FAIL: serve $1 did not start: $(cat "$WORK/$1.err")"; exit 1; }
}

run "$PMIRROR" capture -q -r "$FX/real/skopeo_push_pull.pcap" -o "$WORK/capture.jsonl"
expect_rc 0 "capture the recording"

# the "go" backend answers one manifest with another body (a real-looking digest bug)
python3 - "$WORK/capture.jsonl" "$WORK/go_bad.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
changed = False
for line in open(sys.argv[1]):
    r = json.loads(line)
    resp = r.get("response") or {}
    if not changed and r["request"]["method"] == "GET" and "/manifests/" in r["request"]["target"] \
            and isinstance(resp.get("body"), str) and resp["body"].startswith("{"):
        doc = json.loads(resp["body"])
        doc["schemaVersion"] = 3
        resp["body"] = json.dumps(doc)
        changed = True
    out.write(json.dumps(r) + "\n")
assert changed, "no manifest GET with a JSON body in the recording"
PY

serve python "$WORK/capture.jsonl"; py=$port
serve go "$WORK/capture.jsonl"; go=$port
serve go_bad "$WORK/go_bad.jsonl"; bad_go=$port
cat >"$WORK/suite.yaml" <<YAML
targets:
  - {name: python, url: "http://127.0.0.1:$py", role: baseline}
  - {name: go, url: "http://127.0.0.1:$go", role: candidate}
YAML
sed "s/:$go\"/:$bad_go\"/" "$WORK/suite.yaml" >"$WORK/suite_bad.yaml"
# a few manifest answers are too few for a parity interval to decide; the seeded digest
# difference is decided by the hard budget, as PB-REG-PUSH's "no digest mismatch"
cat >"$WORK/gate.yaml" <<YAML
defaults: {min_samples: 1, min_parity_lower: 0.2, max_error_rate: 0.5, min_capability_coverage: 0, max_p95_ratio: null}
families: {REGISTRY_V2: {capabilities: {V2_MANIFEST_PULL: {max_mismatches: 0}}}}
YAML

# --- one process against the stages one by one -----------------------------------------
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --out-dir "$WORK/one" --gate "$WORK/gate.yaml" \
    --keep-results --progress never
expect_rc 0 "run: every family promotes"
expect_out "REGISTRY_V2" "run prints the family table"
expect_out "ROUTE_OWNER_FAMILY_REGISTRY_V2: go" "run prints the proposal"
expect_err "report.html" "run names the HTML report"
expect_err "pmirror run: profile .*, gate $WORK/gate.yaml" "run says the gate in force"
for f in report.json report.md junit.xml report.html proposal.yaml results.jsonl.gz diffs.jsonl.gz; do
    [ -s "$WORK/one/$f" ] && ok || bad "run wrote no $f"
done

run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" -o "$WORK/results.jsonl" --progress never
expect_rc 0 "replay"
run "$PMIRROR" diff -c "$WORK/suite.yaml" -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl" --progress never
expect_rc 0 "diff"
run "$PMIRROR" report -c "$WORK/suite.yaml" -i "$WORK/diffs.jsonl" --out-dir "$WORK/four" --gate "$WORK/gate.yaml" \
    --progress never
expect_rc 0 "report"
run "$PMIRROR" gate "$WORK/four/report.json"
expect_rc 0 "gate"

# the same numbers, decisions and reasons (latencies are measured anew in each replay)
same=$(python3 - "$WORK/one/report.json" "$WORK/four/report.json" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("latency", "run")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
a, b = (json.load(open(p)) for p in sys.argv[1:])
keys = ["total", "match", "mismatch", "error", "skipped", "parity", "parity_lower", "decision"]
fa, fb = a["families"], b["families"]
print("same" if fa.keys() == fb.keys() and all(fa[f][k] == fb[f][k] for f in fa for k in keys)
      and strip(a["proposal"]) == strip(b["proposal"]) else "differ: %s vs %s" % (
      {f: [fa[f][k] for k in keys] for f in fa}, {f: [fb[f][k] for k in keys] for f in fb}))
PY
)
[ "$same" = same ] && ok || bad "run and the four stages disagree: $same"
n_results=$("$PMIRROR" cat "$WORK/one/results.jsonl.gz" | grep -c .)
n_diffs=$("$PMIRROR" cat "$WORK/one/diffs.jsonl.gz" | grep -c .)
n_sep=$(grep -c . "$WORK/diffs.jsonl")
[ "$n_results" -eq "$n_sep" ] && [ "$n_diffs" -eq "$n_sep" ] && ok ||
    bad "kept files: $n_results results, $n_diffs diffs, want $n_sep"

# --- more exchanges than the queue between run's two threads holds (256) -----------------
# overlapping in the recording, so they run 32 at a time; "go" answers every 7th tag list
# with another body. The same numbers as the stages; the kept results and diffs whole, once
# each, and in the same order (the diffs follow the results).
python3 - "$WORK/many.json" "$WORK/many_go.json" <<'PY'
import json, sys
def spec(go):
    out = []
    for i in range(1200):
        tag = "t%d" % (i % 60)
        body = {"name": "acme/app", "tags": [tag, "latest"]}
        if go and i % 60 % 7 == 0:
            body["tags"] = None
        out.append({"id": "m%04d" % i, "target": "/v2/acme/app/tags/list?n=%d" % (i % 60), "at_us": i * 20,
                    "done_us": 9000000, "family": "REGISTRY_V2", "capability": "V2_TAGS_LIST",
                    "resp_headers": [["Content-Type", "application/json"]], "resp_body": json.dumps(body)})
    return out
json.dump(spec(False), open(sys.argv[1], "w"))
json.dump(spec(True), open(sys.argv[2], "w"))
PY
python3 "$HERE/make_capture.py" "$WORK/many.jsonl" - <"$WORK/many.json"
python3 "$HERE/make_capture.py" "$WORK/many_go.jsonl" - <"$WORK/many_go.json"
serve many_py "$WORK/many.jsonl"; many_py=$port
serve many_go "$WORK/many_go.jsonl"; many_go=$port
cat >"$WORK/many_suite.yaml" <<YAML
targets:
  - {name: python, url: "http://127.0.0.1:$many_py", role: baseline}
  - {name: go, url: "http://127.0.0.1:$many_go", role: candidate}
YAML
run "$PMIRROR" run -c "$WORK/many_suite.yaml" -i "$WORK/many.jsonl" --out-dir "$WORK/many_one" --gate "$WORK/gate.yaml" \
    --keep-results --progress never
many_rc=$rc
[ "$rc" -le 1 ] && ok || bad "run on 1200 exchanges: exit $rc ($err)"
run "$PMIRROR" replay -c "$WORK/many_suite.yaml" -i "$WORK/many.jsonl" -o "$WORK/many_results.jsonl" --progress never
expect_rc 0 "replay of 1200 exchanges"
run "$PMIRROR" diff -c "$WORK/many_suite.yaml" -i "$WORK/many_results.jsonl" -o "$WORK/many_diffs.jsonl" --progress never
expect_rc 0 "diff of 1200 results"
run "$PMIRROR" report -c "$WORK/many_suite.yaml" -i "$WORK/many_diffs.jsonl" --out-dir "$WORK/many_four" \
    --gate "$WORK/gate.yaml" --progress never
expect_rc 0 "report of 1200 diffs"
run "$PMIRROR" gate "$WORK/many_four/report.json"
[ "$rc" -eq "$many_rc" ] && ok || bad "run exits $many_rc, gate $rc"
"$PMIRROR" cat "$WORK/many_one/results.jsonl.gz" >"$WORK/many_kept_results.jsonl"
"$PMIRROR" cat "$WORK/many_one/diffs.jsonl.gz" >"$WORK/many_kept_diffs.jsonl"
same=$(python3 - "$WORK/many_one/report.json" "$WORK/many_four/report.json" "$WORK/many_kept_results.jsonl" \
    "$WORK/many_kept_diffs.jsonl" <<'PY'
import json, sys
a, b = (json.load(open(p))["families"] for p in sys.argv[1:3])
keys = ["total", "match", "mismatch", "error", "skipped", "decision"]
results = [json.loads(l)["id"] for l in open(sys.argv[3])]
diffs = [json.loads(l)["id"] for l in open(sys.argv[4])]
problems = []
if {f: [a[f][k] for k in keys] for f in a} != {f: [b[f][k] for k in keys] for f in b}:
    problems.append("reports: %s vs %s" % ({f: [a[f][k] for k in keys] for f in a}, {f: [b[f][k] for k in keys] for f in b}))
if a.get("REGISTRY_V2", {}).get("mismatch") != 1200 // 60 * 9:
    problems.append("mismatches: %s, want %d" % (a.get("REGISTRY_V2", {}).get("mismatch"), 1200 // 60 * 9))
if len(results) != 1200 or len(set(results)) != 1200:
    problems.append("%d kept results, %d distinct" % (len(results), len(set(results))))
if results != diffs:
    problems.append("kept diffs not in the kept results' order")
print("; ".join(problems) or "same")
PY
)
[ "$same" = same ] && ok || bad "run on 1200 exchanges: $same"

# --- a seeded difference fails the gate ----------------------------------------------------
run "$PMIRROR" run -c "$WORK/suite_bad.yaml" -i "$WORK/capture.jsonl" --out-dir "$WORK/bad" --gate "$WORK/gate.yaml" \
    --progress never
expect_rc 1 "run: the manifest difference fails the gate"
top=$(python3 -c "
import json; r = json.load(open('$WORK/bad/report.json'))
print(r['families']['REGISTRY_V2']['top_differences'][0]['shape'][0]['path'])")
[ "$top" = '$.schemaVersion' ] && ok || bad "top difference: '$top', want \$.schemaVersion"

# --- bad input ---------------------------------------------------------------------------
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/nothing.jsonl" --out-dir "$WORK/x"
expect_rc 2 "missing capture"
expect_one_err_line "missing capture"
expect_err "nothing.jsonl" "the error names the file"
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl"
expect_rc 2 "no --out-dir"
finish
