# SPDX-License-Identifier: Apache-2.0
# mixed.sh — end to end (ctest label e2e): an upload started on one implementation must
# finish on the other (issue 23). A real skopeo push is captured (`pmirror capture -i lo`)
# and replayed with `pmirror run --mixed` into two docker-registry processes (distribution,
# the Go registry's core) that share one storage directory:
#  1. with one http.secret (as instances behind one load balancer): for each pattern
#     (alternate, baseline-first, candidate-first), into fresh storage so that no upload
#     is answered from an earlier one, every upload's steps succeed as recorded, the
#     family's mixed flows all complete, and both registries then serve the image with the
#     recorded manifest and blob digests (and `run` exits 0: nothing failed);
#     and a paginated listing's next page is served by the other one;
#  2. with two different secrets: the upload Location's `_state` one signed is refused by
#     the other, the continuation fails, REGISTRY_V2 and the push capability switch hold
#     (exit 1) and the report (json, md, html) names the step that failed: the PATCH the
#     other instance answered 404.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/registry_lib.bash"
# a gate for a handful of exchanges (as registry.sh's): one image is two uploads
printf 'defaults: {min_samples: 1, min_parity_lower: 0.2, max_error_rate: 0.5, min_capability_coverage: 0, max_p95_ratio: null}\n' \
    >"$WORK/gate.yaml"
make_image "$WORK/img" "hello from acme/app, pushed across implementations"

# --- the push, captured ------------------------------------------------------------------------
start_registry origin origin
"$PMIRROR" capture -q -i lo --port "$origin" -o "$WORK/push.jsonl" 2>"$WORK/cap.err" &
cap=$!
sleep 1
push "$WORK/img" "$origin" acme/app:v1
sleep 1
kill -TERM $cap; wait $cap || bad "capture exit $?: $(cat "$WORK/cap.err")"
# what the recording says the push stored: the manifest's digest and each uploaded blob's
python3 - "$WORK/push.jsonl" >"$WORK/recorded" <<'PY'
import json, re, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
def header(r, name):
    return next((v for n, v in r.get("response", {}).get("headers", []) if n.lower() == name), None)
manifest = [header(r, "docker-content-digest") for r in rs
            if r["request"]["method"] == "PUT" and "/manifests/" in r["request"]["target"]]
blobs = [re.search(r"digest=(sha256(?::|%3A)[0-9a-f]{64})", r["request"]["target"]).group(1).replace("%3A", ":")
         for r in rs if r["request"]["method"] == "PUT" and "/blobs/uploads/" in r["request"]["target"]]
posts = [r for r in rs if r["request"]["method"] == "POST"]
print(manifest[0] if len(manifest) == 1 and manifest[0] else "-", len(posts), " ".join(blobs))
PY
read -r manifest uploads blobs <"$WORK/recorded"
# a paginated listing, captured: the catalog one repository a page, its Link followed
push "$WORK/img" "$origin" acme/other:v1
"$PMIRROR" capture -q -i lo --port "$origin" -o "$WORK/list.jsonl" 2>"$WORK/cap-list.err" &
cap=$!
sleep 1
next=$(curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:$origin/v2/_catalog?n=1" | sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p')
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$origin$next"
sleep 1
kill -TERM $cap; wait $cap || bad "capture (listing) exit $?: $(cat "$WORK/cap-list.err")"
[ -n "$next" ] && ok || bad "the catalog gave no Link to its next page"
[ "$manifest" != - ] && [ "$uploads" -ge 2 ] && [ -n "$blobs" ] && ok ||
    bad "the capture holds no complete push: manifest $manifest, $uploads uploads, blobs '$blobs'"

# check_mixed DIR: every mixed flow of the run in DIR completed; prints what did not
check_mixed() {
    python3 - "$1/report.json" "$1/diffs.jsonl.gz" "$uploads" <<'PY'
import gzip, json, sys
rep = json.load(open(sys.argv[1]))
f = rep["families"].get("REGISTRY_V2", {})
m = f.get("mixed", {})
ds = [json.loads(l) for l in gzip.open(sys.argv[2], "rt")]
steps = [d for d in ds if d["verdict"] == "mixed"]
failed = [d["mixed"].get("failure") for d in steps if not d["mixed"]["ok"]]
targets = {d["mixed"]["target"] for d in steps}
puts = [d for d in steps if d["mixed"]["kind"] == "upload" and d["request"]["method"] == "PUT"]
want = int(sys.argv[3])
problems = []
if m.get("flows") != want or m.get("completed") != want:
    problems.append("mixed %s, want %d flows completed" % (json.dumps(m)[:300], want))
if failed:
    problems.append("failed steps: %s" % failed[:3])
if targets != {"python", "go"}:
    problems.append("steps answered by %s only" % sorted(targets))
if len(puts) != want:
    problems.append("%d upload PUTs among the steps, want %d" % (len(puts), want))
if any(d["verdict"] == "mismatch" for d in ds):
    problems.append("mismatches: %s" % [d["differences"][:1] for d in ds if d["verdict"] == "mismatch"][:2])
print("ok" if not problems else "; ".join(problems))
PY
}
# serves_image PORT: the manifest and every recorded blob, by the recorded digests
serves_image() {
    local got
    got=$(curl -s -o /dev/null -w '%{http_code} %header{docker-content-digest}' --max-time 5 -I \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$1/v2/acme/app/manifests/v1")
    [ "$got" = "200 $manifest" ] || { echo "manifest: $got, want 200 $manifest"; return; }
    for b in $blobs; do
        got=$(curl -s -o /dev/null -w '%{http_code} %header{docker-content-digest}' --max-time 5 -I \
            "http://127.0.0.1:$1/v2/acme/app/blobs/$b")
        [ "$got" = "200 $b" ] || { echo "blob $b: $got"; return; }
    done
    echo ok
}

# --- 1. one secret: every pattern completes every upload ---------------------------------------
for pattern in alternate baseline-first candidate-first; do
    start_registry "py-$pattern" py "$WORK/storage-$pattern" "one shared secret"
    start_registry "go-$pattern" go "$WORK/storage-$pattern" "one shared secret"
    suite "$WORK/suite-$pattern.yaml" "$py" "$go" true
    run "$PMIRROR" run -c "$WORK/suite-$pattern.yaml" -i "$WORK/push.jsonl" --out-dir "$WORK/out-$pattern" \
        --gate "$WORK/gate.yaml" --allow-writes --mixed "$pattern" --keep-results --progress never
    expect_rc 0 "run --mixed $pattern, one secret"
    [ -s "$WORK/out-$pattern/report.json" ] || { bad "--mixed $pattern wrote no report: $err"; continue; }
    result=$(check_mixed "$WORK/out-$pattern")
    [ "$result" = ok ] && ok || bad "--mixed $pattern: $result"
    for port in "$py" "$go"; do
        result=$(serves_image "$port")
        [ "$result" = ok ] && ok || bad "--mixed $pattern: the registry on $port: $result"
    done
done
expect_err "mixed step" "run names the mixed steps in its summary"

# --- a paginated listing: its next page asked of the other implementation ---------------------
push "$WORK/img" "$go" acme/other:v1 # the last pattern's registries: both hold both repositories now
run "$PMIRROR" run -c "$WORK/suite-candidate-first.yaml" -i "$WORK/list.jsonl" --out-dir "$WORK/out-list" \
    --gate "$WORK/gate.yaml" --mixed alternate --keep-results --progress never
expect_rc 0 "run --mixed alternate on the listing"
python3 - "$WORK/out-list/diffs.jsonl.gz" >"$WORK/list-check" <<'PY'
import gzip, json, sys
steps = [d for d in map(json.loads, gzip.open(sys.argv[1], "rt")) if d["verdict"] == "mixed"]
got = [(d["mixed"]["kind"], d["mixed"]["step"], d["mixed"]["target"], d["mixed"]["ok"]) for d in steps]
print("ok" if got == [("listing", 0, "python", True), ("listing", 1, "go", True)] else got)
PY
[ "$(cat "$WORK/list-check")" = ok ] && ok || bad "listing across implementations: $(cat "$WORK/list-check")"

# --- 2. two secrets: the continuation fails, the family does not promote -----------------------
start_registry py-apart py "$WORK/storage-apart" "the python secret"
start_registry go-apart go "$WORK/storage-apart" "another secret"
suite "$WORK/suite-apart.yaml" "$py" "$go" true
run "$PMIRROR" run -c "$WORK/suite-apart.yaml" -i "$WORK/push.jsonl" --out-dir "$WORK/out-apart" \
    --gate "$WORK/gate.yaml" --allow-writes --mixed baseline-first --keep-results --progress never
expect_rc 1 "run --mixed baseline-first, two secrets: the gate fails"
python3 - "$WORK/out-apart/report.json" >"$WORK/apart-check" <<'PY'
import json, re, sys
rep = json.load(open(sys.argv[1]))
f = rep["families"]["REGISTRY_V2"]
m = f.get("mixed", {})
step = m.get("first_failure", {}).get("failure", "")
reasons = " ".join(f["reasons"])
# hold, not insufficient: a failed continuation is no sampling noise; no push switch moves
ok = (f["decision"] == "hold" and m.get("failed", 0) >= 1 and
      re.match(r"PATCH /v2/acme/app/blobs/uploads/\S* answered 4\d\d by go, recorded 202$", step) and
      step in reasons and "ROUTE_OWNER_FAMILY_REGISTRY_V2" not in rep["proposal"] and
      "ROUTE_OWNER_CAP_V2_PUSH" not in rep["proposal"])
print("ok" if ok else "decision %s, mixed %s, reasons %s" % (f["decision"], json.dumps(m)[:400], reasons[:400]))
PY
[ "$(cat "$WORK/apart-check")" = ok ] && ok || bad "two secrets: $(cat "$WORK/apart-check")"
grep -q "answered 4[0-9][0-9] by go" "$WORK/out-apart/report.md" && ok || bad "report.md does not name the failed step"
grep -q "answered 4[0-9][0-9] by go" "$WORK/out-apart/report.html" && ok || bad "report.html does not name the failed step"

# --- replay alone: one answer per step, the split said in the summary; a suite without one
# baseline and one candidate refused -----------------------------------------------------------
run "$PMIRROR" replay -c "$WORK/suite-alternate.yaml" -i "$WORK/push.jsonl" -o "$WORK/alone.jsonl" --mixed alternate \
    --allow-writes --progress never
expect_rc 0 "replay --mixed alternate"
expect_err "were steps of $uploads flows" "replay's summary counts the flows"
python3 - "$WORK/alone.jsonl" >"$WORK/alone-check" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rs if "mixed" in r]
bad = [r["id"] for r in steps if list(r["responses"]) != [r["mixed"]["target"]]]
others = [r["id"] for r in rs if "mixed" not in r and sorted(r["responses"]) != ["go", "python"]]
print("ok" if steps and not bad and not others else "steps %d, not one answer: %s; others not on both: %s"
      % (len(steps), bad, others))
PY
[ "$(cat "$WORK/alone-check")" = ok ] && ok || bad "replay --mixed results: $(cat "$WORK/alone-check")"
printf 'targets:\n  - {name: a, url: "http://127.0.0.1:%s", role: baseline}\n  - {name: b, url: "http://127.0.0.1:%s", role: secondary}\n' \
    "$py" "$go" >"$WORK/no-candidate.yaml"
run "$PMIRROR" replay -c "$WORK/no-candidate.yaml" -i "$WORK/push.jsonl" -o "$WORK/r.jsonl" --mixed alternate
expect_rc 2 "replay --mixed without a candidate"
expect_err "exactly one baseline and one candidate" "the refusal says why"
expect_one_err_line "replay --mixed without a candidate"
finish
