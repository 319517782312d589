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
cat >"$WORK/gate.yaml" <<YAML
defaults: {min_samples: 1, min_parity_lower: 0.2, max_error_rate: 0.5, min_capability_coverage: 0, max_p95_ratio: null}
YAML

# --- one process against the stages one by one -----------------------------------------
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --out-dir "$WORK/one" --gate "$WORK/gate.yaml" \
    --keep-results --progress never
expect_rc 0 "run: every family promotes"
expect_out "REGISTRY_V2" "run prints the family table"
expect_out "ROUTE_OWNER_FAMILY_REGISTRY_V2: go" "run prints the proposal"
expect_err "report.html" "run names the HTML report"
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
