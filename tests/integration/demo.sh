# SPDX-License-Identifier: Apache-2.0
# demo.sh — keeps `make demo` honest: tools/demo.sh runs the real pipeline (capture ->
# two recorded backends -> pmirror run) on fixtures/demo/ with the built binary, and the
# outcome must be the one tools/make_demo.py seeded: REGISTRY_V2, KEYS and WELLKNOWN
# promote with no mismatch; API_V1, REGISTRY_V1 and OAUTH hold, each for its seeded bug —
# the top difference of API_V1 is the omitempty `description` (with the null `tags` among
# its differences), of REGISTRY_V1 the 404 status, and OAUTH holds on its p95 alone.
# Every replayed request found its recorded answer on both backends. The workers: 240
# notification jobs captured from a real PostgreSQL and replayed to the two test workers are
# all mismatches on the seeded renamed webhook field (WORKER_NOTIFICATIONWORKER holds), each
# webhook attributed to its job by the map's correlate value though four jobs were in flight;
# the one GC run on a snapshot matches and is insufficient (its gate wants three runs).
. "$(dirname "$0")/lib.sh"

run bash "$SRC/tools/demo.sh" "$PMIRROR" "$WORK/demo"
expect_rc 0 "tools/demo.sh: the seeded outcome"
expect_out "| \`REGISTRY_V2\` |" "the family table"
expect_out "$WORK/demo/report.html" "the report's path"
expect_out "The gate fails (exit 1) for API_V1 OAUTH REGISTRY_V1 WORKER_NOTIFICATIONWORKER, as seeded" \
    "the seeded failures named"
expect_out "| \`WORKER_NOTIFICATIONWORKER\` | \`WORKER_OWNER_NOTIFICATIONWORKER\` | 240 |" "the table's worker rows"
expect_out "240 jobs (logical)" "the queue capture's summary"
grep -q "could not be attributed" "$WORK/demo/worker.log" && bad "ambiguous effects: $(cat "$WORK/demo/worker.log")" || ok
for f in capture.jsonl.gz report.json report.md report.html junit.xml proposal.yaml suite.yaml jobs.jsonl.gz \
    worker-results.jsonl.gz worker-diffs.jsonl.gz workers-suite.yaml; do
    [ -s "$WORK/demo/$f" ] && ok || bad "the demo wrote no $f"
done
for side in python go; do
    grep -q " answered, 0 unmatched" "$WORK/demo/$side.log" && ok ||
        bad "$side backend: requests without a recorded answer: $(cat "$WORK/demo/$side.log")"
done

# The report, family by family, against what tools/make_demo.py seeded.
check=$(python3 - "$WORK/demo/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
fam = r["families"]
problems = []

def want(cond, what):
    if not cond:
        problems.append(what)

for f in ("REGISTRY_V2", "KEYS", "WELLKNOWN"):
    s = fam.get(f, {})
    want(s.get("decision") == "promote", "%s: %s, want promote (%s)" % (f, s.get("decision"), s.get("reasons")))
    want(s.get("mismatch") == 0 and s.get("error") == 0, "%s: %s mismatches, %s errors" % (f, s.get("mismatch"), s.get("error")))
    want(s.get("samples", 0) >= 381, "%s: %s samples" % (f, s.get("samples")))
for f in ("API_V1", "REGISTRY_V1", "OAUTH"):
    want(fam.get(f, {}).get("decision") == "hold", "%s: %s, want hold" % (f, fam.get(f, {}).get("decision")))

api = [(t["capability"], [(d["where"], d["path"], d["kind"]) for d in t["shape"]]) for t in fam["API_V1"]["top_differences"]]
want(api and api[0] == ("API_REPOSITORY_READ", [("body", "$.description", "missing")]),
     "API_V1 top difference %s, want $.description missing" % (api[:1],))
want(("API_TAG_READ", [("body", "$.tags", "type")]) in api, "API_V1: no $.tags null-for-[] difference in %s" % api)
want(len(api) == 2, "API_V1: %d difference signatures, want the 2 seeded" % len(api))
v1 = [(t["capability"], [(d["where"], d["path"], d["kind"]) for d in t["shape"]]) for t in fam["REGISTRY_V1"]["top_differences"]]
# one signature: the status first, then what the 404 said (its Content-Type, its body)
want(len(v1) == 1 and v1[0][0] == "V1_TAG_READ" and ("status", "", "value") in v1[0][1] and
     ("header", "content-type", "value") in v1[0][1] and any(d[0] == "body" for d in v1[0][1]),
     "REGISTRY_V1 differences %s, want one: the status, then the 404's Content-Type and body" % v1)
ex = fam["REGISTRY_V1"]["top_differences"][0]["exemplar"]["differences"][0]
want((ex.get("baseline"), ex.get("candidate")) == (200, 404), "REGISTRY_V1 exemplar %s, want 200 -> 404" % ex)

oauth = fam["OAUTH"]
want(oauth["mismatch"] == 0 and oauth["error"] == 0 and oauth["samples"] >= 381,
     "OAUTH: %s mismatches, %s errors, %s samples: latency must be its only failure" % (
         oauth["mismatch"], oauth["error"], oauth["samples"]))
want(oauth["reasons"][0].startswith("candidate p95 "), "OAUTH reasons: %s" % oauth["reasons"][:2])
lat = {l["role"]: l for l in oauth["latency"].values()}
want(lat["candidate"]["p95"] > 1.1 * lat["baseline"]["p95"], "OAUTH p95 %s" % lat)

prop = r["proposal"]
want(all(prop.get("ROUTE_OWNER_FAMILY_" + f) == "go" for f in ("REGISTRY_V2", "KEYS", "WELLKNOWN"))
     and prop.get("ROUTE_OWNER_CAP_V2_PULL") == "go",
     "proposal %s lacks a promoted family" % prop)
want(not any("ROUTE_OWNER_FAMILY_" + f in prop for f in ("API_V1", "REGISTRY_V1", "OAUTH")),
     "proposal %s moves a held family" % prop)
note = fam.get("WORKER_NOTIFICATIONWORKER", {})
want(note.get("decision") == "hold" and note.get("mismatch") == 240 and note.get("error") == 0,
     "WORKER_NOTIFICATIONWORKER: %s" % {k: note.get(k) for k in ("decision", "mismatch", "error")})
shape = [(d["where"], d["path"], d["kind"]) for d in note.get("top_differences", [{}])[0].get("shape", [])]
want(sorted(shape) == [("body", "$.http[*].body.repo", "extra"), ("body", "$.http[*].body.repository", "missing")],
     "WORKER_NOTIFICATIONWORKER difference %s" % shape)
gc = fam.get("WORKER_GCWORKER", {})
want(gc.get("decision") == "insufficient" and gc.get("match") == 1 and gc.get("switch") == "WORKER_OWNER_GCWORKER",
     "WORKER_GCWORKER: %s" % {k: gc.get(k) for k in ("decision", "match", "switch")})
print("\n".join(problems) if problems else "ok")
PY
)
[ "$check" = ok ] && ok || bad "the demo's report is not the seeded one: $check"
finish
