# SPDX-License-Identifier: Apache-2.0
# report_golden.sh — `pmirror report` and `pmirror gate` on the golden diff files of
# fixtures/report (tools/make_report_fixtures.py: result records made from a story, diffed
# by `pmirror diff`; expect.json computed by the script from the spec, not from reports/):
# every number, decision and reason; the proposal and the gate's YAML and exit codes;
# shards adding up to the whole; --previous regressions; junit.xml against the JUnit
# schema; report.md's table intact around traffic text; bad inputs exit 2 with one line.
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/report"
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

# --- expect.json is what the generator computes (edit the script, not the file) ------------
python3 "$SRC/tools/make_report_fixtures.py" --expect-only "$WORK/fx" >/dev/null 2>"$WORK/gen.err" \
    && ok || bad "make_report_fixtures.py failed: $(cat "$WORK/gen.err")"
cmp -s "$WORK/fx/expect.json" "$FX/expect.json" && ok \
    || bad "fixtures/report/expect.json is out of date: re-run tools/make_report_fixtures.py"

# --- compare a report.json with one expectation of expect.json --------------------------------
cat >"$WORK/check.py" <<'EOF'
import json, re, sys
exp = json.load(open(sys.argv[1]))[sys.argv[3]]
rep = json.load(open(sys.argv[2]))
bad = []
MS = re.compile(r"\d+\.\d+ ms")

def close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-6)

def same_reasons(e, g):
    # latencies in reasons come from the histogram (within 1%): compare them as "X ms"
    return isinstance(g, list) and len(e) == len(g) and all(MS.sub("X ms", x) == MS.sub("X ms", y) for x, y in zip(e, g))

def scope(where, e, g):
    for k in ("total", "match", "mismatch", "error", "skipped", "samples", "errors", "switch", "owner", "decision"):
        if e.get(k) != g.get(k):
            bad.append("%s.%s: %r, want %r" % (where, k, g.get(k), e.get(k)))
    for k in ("parity", "parity_lower", "error_rate"):
        if not close(e[k], g.get(k)):
            bad.append("%s.%s: %r, want %r" % (where, k, g.get(k), e[k]))
    for role in ("baseline", "candidate"):
        if not close(e["error_rate_by_role"][role], g["error_rate_by_role"][role]):
            bad.append("%s.error_rate_by_role.%s: %r" % (where, role, g["error_rate_by_role"][role]))
    if set(g["latency"]) != set(e["latency"]):
        bad.append("%s.latency targets %r, want %r" % (where, sorted(g["latency"]), sorted(e["latency"])))
    for t, l in e["latency"].items():
        gl = g["latency"].get(t, {})
        if gl.get("role") != l["role"] or gl.get("count") != l["count"]:
            bad.append("%s.latency.%s role/count %r/%r" % (where, t, gl.get("role"), gl.get("count")))
        for q in ("p50", "p95", "p99"):
            if not isinstance(gl.get(q), int) or abs(gl[q] - l[q]) > max(1, 0.01 * l[q]):
                bad.append("%s.latency.%s.%s: %r, exact %r (1%% allowed)" % (where, t, q, gl.get(q), l[q]))
    if not same_reasons(e["reasons"], g.get("reasons")):
        bad.append("%s.reasons:\n    got  %r\n    want %r" % (where, g.get("reasons"), e["reasons"]))
    for k, v in e["thresholds"].items():
        if not (g["thresholds"].get(k) == v or close(v, g["thresholds"].get(k))):
            bad.append("%s.thresholds.%s: %r, want %r" % (where, k, g["thresholds"].get(k), v))

if list(rep["families"]) != exp["family_order"]:
    bad.append("families %r, want %r (cutover order)" % (list(rep["families"]), exp["family_order"]))
for fam, e in exp["families"].items():
    g = rep["families"].get(fam)
    if g is None:
        continue
    scope(fam, e, g)
    if e["coverage"] != g.get("coverage"):
        bad.append("%s.coverage: %r, want %r" % (fam, g.get("coverage"), e["coverage"]))
    if set(g["capabilities"]) != set(e["capabilities"]):
        bad.append("%s capabilities %r" % (fam, sorted(g["capabilities"])))
    for cap, ce in e["capabilities"].items():
        if cap in g["capabilities"]:
            scope(fam + "." + cap, ce, g["capabilities"][cap])
    if set(g["cap_switches"]) != set(e["cap_switches"]):
        bad.append("%s cap_switches %r" % (fam, sorted(g["cap_switches"])))
    for sw, cs in e["cap_switches"].items():
        gs = g["cap_switches"].get(sw, {})
        got = {"capabilities": sorted(gs.get("capabilities", [])), "in_map": gs.get("in_map"), "decision": gs.get("decision")}
        if got != cs:
            bad.append("%s.cap_switches.%s: %r, want %r" % (fam, sw, got, cs))
    for kind, rows in e["cohorts"].items():
        got = [{k: r[k] for k in rows[0]} for r in g["cohorts"][kind]] if rows else g["cohorts"][kind]
        if got != rows:
            bad.append("%s.cohorts.%s: %r, want %r" % (fam, kind, got, rows))
    got = [(d["count"], d["capability"], [[s["where"], s["path"], s["kind"]] for s in d["shape"]], d["exemplar"]["id"])
           for d in g["top_differences"]]
    want = [(d["count"], d["capability"], d["shape"], d["exemplar"]) for d in e["top_differences"]]
    if sorted(got) != sorted(want) or [x[0] for x in got] != sorted((x[0] for x in got), reverse=True):
        bad.append("%s.top_differences: %r, want %r (by count)" % (fam, got, want))
    for d in g["top_differences"]:
        if not re.fullmatch(r"[0-9a-f]{16}", d["signature"]) or not d["exemplar"]["differences"]:
            bad.append("%s: signature/exemplar of %r" % (fam, d))
if rep["proposal"] != exp["proposal"]:
    bad.append("proposal %r, want %r" % (rep["proposal"], exp["proposal"]))
for k in ("total", "match", "mismatch", "error", "skipped", "samples"):
    if rep["totals"][k] != exp["totals"][k]:
        bad.append("totals.%s: %r, want %r" % (k, rep["totals"][k], exp["totals"][k]))
for k in ("parity", "parity_lower", "error_rate"):
    if not close(rep["totals"][k], exp["totals"][k]):
        bad.append("totals.%s: %r, want %r" % (k, rep["totals"][k], exp["totals"][k]))
if rep["v"] != 1 or rep["run"]["records"] != exp["records"]:
    bad.append("v / run.records")
for b in bad:
    print("FAIL " + b)
EOF
check() { # check REPORT.json EXPECTATION LABEL
    python3 "$WORK/check.py" "$FX/expect.json" "$1" "$2" >"$WORK/check.out" 2>&1 || echo "FAIL checker crashed" >>"$WORK/check.out"
    if grep -q '^FAIL' "$WORK/check.out"; then bad "$3: $(head -c 6000 "$WORK/check.out")"; else ok; fi
}

# --- the golden report --------------------------------------------------------------------------
run "$PMIRROR" report -i "$FX/current.diffs.jsonl.gz" --out-dir "$WORK/plain"
expect_rc 0 "report on the current run"
expect_out '| `API_V1` | `ROUTE_OWNER_FAMILY_API_V1` | 460 | 0.974 | 0.955 |' "stdout: the Markdown table"
expect_err "2585 records, 7 families (1 promote)" "stderr: the summary line"
for f in report.json report.md junit.xml report.html; do
    [ -s "$WORK/plain/$f" ] && ok || bad "$f not written"
    [ "$(stat -c %a "$WORK/plain/$f")" = 600 ] && ok || bad "$f is not mode 0600"
done
[ -z "$(ls -A "$WORK/plain" | grep -v -e '^report\.json$' -e '^report\.md$' -e '^junit\.xml$' -e '^report\.html$')" ] \
    && ok || bad "left-overs in the out dir: $(ls -A "$WORK/plain")"
check "$WORK/plain/report.json" current_without_switches "report without --switches"

run "$PMIRROR" report -i "$FX/current.diffs.jsonl.gz" --out-dir "$WORK/sw" --switches "$FX/switches.yaml"
expect_rc 0 "report with --switches"
check "$WORK/sw/report.json" current_with_switches "report with --switches"

# --- gate: exit codes and the YAML snippet ------------------------------------------------------
run "$PMIRROR" gate "$WORK/sw/report.json"
expect_rc 1 "gate over every family (some hold)"
expect_out '^ROUTE_OWNER_FAMILY_REGISTRY_V2: go$' "gate proposes REGISTRY_V2 -> go"
expect_out '^ROUTE_OWNER_CAP_V2_PULL: go$' "gate proposes the V2_PULL capability switch"
expect_out '^ROUTE_OWNER_FAMILY_API_V1: python$' "gate rolls API_V1 back"
expect_out '^# note API_V1: rollback (parity upper bound 0.985 < 0.990 at 460 samples): in the rollback above$' \
    "a note with the main reason (the bound that decided)"
# issue 19: every failing switch back to python as one block, the first thing printed
expect_out "^# rollback, in one change to Quay's switch snapshot: every failing switch (2) back to python$" \
    "the rollback's header"
gate_out=$out
sed -n '/^# rollback, in one change/,/^# end of the rollback$/p' <<<"$out" >"$WORK/rollback.yaml"
[ "$(grep -v '^#' "$WORK/rollback.yaml" | tr '\n' ' ')" = "ROUTE_OWNER_FAMILY_OAUTH: python ROUTE_OWNER_FAMILY_API_V1: python " ] \
    && ok || bad "the rollback block: $(cat "$WORK/rollback.yaml")"
[ "$(sed -n 2p <<<"$out")" = "$(head -1 "$WORK/rollback.yaml")" ] && ok || bad "the rollback comes before the notes: $out"
run "$PMIRROR" report -i "$FX/current.diffs.jsonl.gz" --out-dir "$WORK/rolled" --switches "$WORK/rollback.yaml"
expect_rc 0 "the rollback block alone is a switch snapshot"
python3 - "$WORK/rolled/report.json" >"$WORK/rolled.out" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))["families"]
print(*("%s:%s:%s" % (k, f[k]["owner"], f[k]["decision"]) for k in ("OAUTH", "API_V1")))
EOF
[ "$(cat "$WORK/rolled.out")" = "OAUTH:python:hold API_V1:python:hold" ] && ok \
    || bad "after the rollback, no switch is go and failing: $(cat "$WORK/rolled.out")"
out=$gate_out
expect_out '^# note KEYS: hold (error rate 0.049 > 0.010 (20 of 410)): switch unchanged$' "a hold is a note"
expect_out '^# 1 of 6 families in scope may be promoted: gate fails$' "the closing line (UNKNOWN has no switch)"
printf '%s\n' "$out" >"$WORK/gate.yaml"
# every line is a comment or SWITCH: owner, and the snippet is a snapshot pmirror reads back
if grep -v -E '^(#.*|ROUTE_OWNER_[A-Z0-9_]+: (go|python))$' "$WORK/gate.yaml" | grep -q .; then
    bad "gate output has lines that are neither notes nor owners: $(grep -v -E '^(#|ROUTE_OWNER_)' "$WORK/gate.yaml")"
else ok; fi
run "$PMIRROR" report -i "$FX/current.diffs.jsonl.gz" --out-dir "$WORK/after" --switches "$WORK/gate.yaml"
expect_rc 0 "the gate's snippet is a switch snapshot"
python3 - "$WORK/after/report.json" >"$WORK/after.out" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))["families"]
print(f["REGISTRY_V2"]["owner"], f["API_V1"]["owner"], f["REGISTRY_V2"]["capabilities"]["V2_MANIFEST_PULL"]["owner"])
EOF
[ "$(cat "$WORK/after.out")" = "go python go" ] && ok || bad "owners read back from the snippet: $(cat "$WORK/after.out")"

run "$PMIRROR" gate "$WORK/sw/report.json" --family REGISTRY_V2
expect_rc 0 "gate --family REGISTRY_V2 (promote)"
expect_out '^ROUTE_OWNER_FAMILY_REGISTRY_V2: go$' "gate --family REGISTRY_V2 proposes go"
run "$PMIRROR" gate "$WORK/sw/report.json" --family REGISTRY_V2 --family OAUTH
expect_rc 1 "gate --family REGISTRY_V2 --family OAUTH (OAUTH rolls back)"
run "$PMIRROR" gate "$WORK/sw/report.json" --family SECSCAN
expect_rc 1 "gate on a family with no traffic"
expect_out 'SECSCAN: not in this report' "a family absent from the report is named"
run "$PMIRROR" gate "$WORK/missing.json"
expect_rc 2 "gate on a missing file"
expect_one_err_line "gate on a missing file"
echo '{"v":1,"id":"x","verdict":"match"}' >"$WORK/notreport.json"
run "$PMIRROR" gate "$WORK/notreport.json"
expect_rc 2 "gate on a JSON file that is not a report"
expect_err "notreport.json: not a report.json" "gate names the file"
run "$PMIRROR" gate
expect_rc 2 "gate without a report"

# --- shards: three interleaved parts give exactly the report of the whole ------------------------
gzip -dc "$FX/current.diffs.jsonl.gz" >"$WORK/all.jsonl"
awk -v d="$WORK" '{ print > (d "/shard" (NR % 3) ".jsonl") }' "$WORK/all.jsonl"
gzip "$WORK/shard1.jsonl"
run "$PMIRROR" report -i "$WORK/shard2.jsonl" -i "$WORK/shard1.jsonl.gz" -i "$WORK/shard0.jsonl" \
    --out-dir "$WORK/shards" --switches "$FX/switches.yaml"
expect_rc 0 "report over three shards"
python3 - "$WORK/sw/report.json" "$WORK/shards/report.json" >"$WORK/merge.out" 2>&1 <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r.pop("run")
print("same" if json.dumps(a) == json.dumps(b) else "differ")
EOF
[ "$(cat "$WORK/merge.out")" = same ] && ok || bad "shards do not add up to the whole: $(cat "$WORK/merge.out")"

# --- --previous: trend and regressions ---------------------------------------------------------
run "$PMIRROR" report -i "$FX/previous.diffs.jsonl.gz" --out-dir "$WORK/prev"
expect_rc 0 "report on the previous run"
check "$WORK/prev/report.json" previous "previous run"
run "$PMIRROR" report -i "$FX/current.diffs.jsonl.gz" --out-dir "$WORK/trend" --previous "$WORK/prev/report.json"
expect_rc 0 "report with --previous"
python3 - "$FX/expect.json" "$WORK/trend/report.json" "$WORK/prev/report.json" >"$WORK/trend.out" 2>&1 <<'EOF'
import json, sys
exp = json.load(open(sys.argv[1]))
rep, prev = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
got = [{k: r[k] for k in ("family", "metric", "target")} for r in rep["regressions"]]
if got != exp["regressions"]:
    print("FAIL regressions %r, want %r" % (got, exp["regressions"]))
for r in rep["regressions"]:
    if r["threshold"] != exp["trend_limits"]["max_parity_drop" if r["metric"] == "parity" else "max_p95_increase"]:
        print("FAIL threshold of %r" % r)
for name, f in rep["families"].items():
    old = prev["families"].get(name)
    if old is None:
        if "trend" in f or "previous" in f:
            print("FAIL %s: a trend without a previous family" % name)
        continue
    if f["previous"]["parity"] != old["parity"] or f["previous"]["decision"] != old["decision"]:
        print("FAIL %s.previous %r" % (name, f["previous"]))
    if abs(f["trend"]["parity_delta"] - (f["parity"] - old["parity"])) > 1e-6:
        print("FAIL %s.trend.parity_delta %r" % (name, f["trend"]["parity_delta"]))
    for t, d in f["trend"]["p95_delta"].items():
        if abs(d - (f["latency"][t]["p95"] / old["latency"][t]["p95"] - 1)) > 1e-6:
            print("FAIL %s.trend.p95_delta.%s %r" % (name, t, d))
EOF
grep -q FAIL "$WORK/trend.out" && bad "trend: $(cat "$WORK/trend.out")" || ok
grep -q '^\*\*Regressions since the previous report:\*\*' "$WORK/trend/report.md" && ok || bad "report.md lists no regressions"

# --- junit.xml: the JUnit schema, counts that add up -------------------------------------------
if command -v xmllint >/dev/null; then
    xmllint --noout --schema "$HERE/junit.xsd" "$WORK/sw/junit.xml" 2>"$WORK/xmllint.err" && ok \
        || bad "junit.xml does not validate: $(cat "$WORK/xmllint.err")"
else
    bad "xmllint is not installed (Debian package libxml2-utils)"
fi
python3 - "$WORK/sw/junit.xml" "$WORK/sw/report.json" >"$WORK/junit.out" 2>&1 <<'EOF'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
rep = json.load(open(sys.argv[2]))
suites = root.findall("testsuite")
if [s.get("name") for s in suites] != list(rep["families"]):
    print("FAIL testsuites %r" % [s.get("name") for s in suites])
total = failures = 0
for s in suites:
    cases = s.findall("testcase")
    f = sum(1 for c in cases if c.find("failure") is not None)
    k = sum(1 for c in cases if c.find("skipped") is not None)
    if (int(s.get("tests")), int(s.get("failures")), int(s.get("skipped")), int(s.get("errors"))) != (len(cases), f, k, 0):
        print("FAIL counts of %s" % s.get("name"))
    fam = rep["families"][s.get("name")]
    if len(cases) != 1 + len(fam["capabilities"]):
        print("FAIL %s: a testcase per capability plus the family's" % s.get("name"))
    decisions = [fam["decision"]] + [c["decision"] for c in fam["capabilities"].values()]
    for c, d in zip(cases, decisions):
        kind = "failure" if d in ("hold", "rollback") else "skipped" if d == "insufficient" else None
        if kind and c.find(kind) is None or (kind is None and len(c)):
            print("FAIL %s/%s: decision %s" % (s.get("name"), c.get("name"), d))
    total += len(cases)
    failures += f
if (int(root.get("tests")), int(root.get("failures"))) != (total, failures):
    print("FAIL testsuites counts")
api = [s for s in suites if s.get("name") == "API_V1"][0].find("testcase").find("failure")
top_id = rep["families"]["API_V1"]["top_differences"][0]["exemplar"]["id"]
if api is None or "parity upper bound 0.985 < 0.990 at 460 samples" not in api.text or top_id not in api.text:
    print("FAIL API_V1's failure lacks its reason or its top difference")
if "<script>alert(1)</script>" not in api.text:
    print("FAIL the traffic text did not come back intact from the XML escapes")
EOF
grep -q FAIL "$WORK/junit.out" && bad "junit.xml: $(cat "$WORK/junit.out")" || ok

# --- report.md: traffic text cannot break the table ----------------------------------------------
python3 - "$WORK/sw/report.md" >"$WORK/md.out" 2>&1 <<'EOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
header = None
for n, line in enumerate(lines, 1):
    if line.startswith("|"):
        cells = len(re.findall(r"(?<!\\)\|", line))
        if header is None:
            header = cells
        elif cells != header:
            print("FAIL line %d has %d cell borders, its table %d: %s" % (n, cells, header, line))
    else:
        header = None
    if re.search(r"<script", line, re.I):
        print("FAIL line %d: a raw tag: %s" % (n, line))
    if any(ord(ch) < 32 for ch in line):
        print("FAIL line %d: a control character" % n)
if not any("$.email" in l for l in lines):
    print("FAIL the nasty difference is not listed")
EOF
grep -q FAIL "$WORK/md.out" && bad "report.md: $(cat "$WORK/md.out")" || ok

# --- bad inputs: exit 2, one line naming the file and line --------------------------------------
head -3 "$WORK/all.jsonl" >"$WORK/bad.jsonl"; echo '{"v":1,"verdict":' >>"$WORK/bad.jsonl"; head -2 "$WORK/all.jsonl" >>"$WORK/bad.jsonl"
run "$PMIRROR" report -i "$WORK/bad.jsonl" --out-dir "$WORK/bad"
expect_rc 2 "a malformed line"
expect_err "bad.jsonl:4:" "the malformed line's file:line"
expect_one_err_line "a malformed line"
[ ! -e "$WORK/bad/report.json" ] && ok || bad "a report was written from bad input"
head -2 "$SRC/fixtures/diff/quay_golden.results.jsonl" >"$WORK/results.jsonl"
run "$PMIRROR" report -i "$WORK/all.jsonl" -i "$WORK/results.jsonl" --out-dir "$WORK/bad"
expect_rc 2 "a result file instead of a diff file"
expect_err "results.jsonl:1: not a diff record" "names the record that is not a diff record"
expect_one_err_line "a result file"
run "$PMIRROR" report -i "$WORK/nope.jsonl" --out-dir "$WORK/bad"
expect_rc 2 "a missing input"
expect_one_err_line "a missing input"
run "$PMIRROR" report -i "$WORK/all.jsonl"
expect_rc 2 "no --out-dir"
printf 'defaults:\n  min_samples: 10\n  min_parity_lowr: 0.9\n' >"$WORK/gate-typo.yaml"
run "$PMIRROR" report -i "$WORK/all.jsonl" --out-dir "$WORK/bad" --gate "$WORK/gate-typo.yaml"
expect_rc 2 "a gate file with an unknown key"
expect_err "gate-typo.yaml:3:3: defaults: unknown key 'min_parity_lowr'" "the gate error names file:line:col"
printf 'families:\n  API_V1:\n    max_p95_ratio: -1\n' >"$WORK/gate-neg.yaml"
run "$PMIRROR" report -i "$WORK/all.jsonl" --out-dir "$WORK/bad" --gate "$WORK/gate-neg.yaml"
expect_rc 2 "a negative latency ratio"
expect_err "gate-neg.yaml:3:5: max_p95_ratio: a number > 0" "the bad value's position"
printf -- '- a\n- b\n' >"$WORK/switches-list.yaml"
run "$PMIRROR" report -i "$WORK/all.jsonl" --out-dir "$WORK/bad" --switches "$WORK/switches-list.yaml"
expect_rc 2 "a switch snapshot that is not a mapping"
expect_err "switches-list.yaml: not a switch snapshot" "names the snapshot"
run "$PMIRROR" report -i "$WORK/all.jsonl" --out-dir "$WORK/bad" --previous "$WORK/notreport.json"
expect_rc 2 "--previous that is not a report"
expect_one_err_line "--previous that is not a report"

# A gzip file cut short: every complete record counts, one warning, the loss is recorded.
head -c 20000 "$FX/current.diffs.jsonl.gz" >"$WORK/cut.jsonl.gz"
run "$PMIRROR" report -i "$WORK/cut.jsonl.gz" --out-dir "$WORK/cut"
expect_rc 0 "a truncated gzip input"
expect_err "warning: .*cut.jsonl.gz" "the truncation is a warning"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]; sys.exit(not (r["skipped_records"] == 1 and len(r["warnings"]) == 1 and 0 < r["records"] < 2585))' \
    "$WORK/cut/report.json" && ok || bad "the truncated input is not counted in run"

finish
