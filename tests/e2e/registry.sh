# SPDX-License-Identifier: Apache-2.0
# registry.sh — end to end against real software (ctest label e2e): two CNCF registries
# (Debian's docker-registry) on loopback, skopeo pushing and pulling a real image through
# `pmirror tee` in proxy mode while `pmirror capture -i lo` records the same traffic, then
# `pmirror run`:
#  1. the pull traffic replayed against two registries holding the same image: every
#     family promotes (exit 0);
#  2. the push traffic replayed with --allow-writes into two fresh sandbox registries:
#     every upload completes on both (the final PUTs answer 201 on both sides), and every
#     exchange is a match (the upload Location's per-process `_state` absorbed);
#  3. two registries seeded with different images under one tag: the gate fails (exit 1)
#     and REGISTRY_V2's top difference is the manifest digest.
# The tee shadows the push too (--sandbox --allow-writes: the shadow registry is a
# sandbox), so both registries end up with the image; its record of the whole session is
# diffable (every pull a match, every write sent) and its metrics count the exchanges.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/registry_lib.bash"
# a gate for a handful of exchanges: the default asks for 200 samples per family. One or two
# manifest answers are too few for a parity interval to decide (0 of 1: 0..0.793); a digest
# mismatch is decided by the hard budget, as PB-REG-PUSH's "no digest mismatch"
printf 'defaults: {min_samples: 1, min_parity_lower: 0.2, max_error_rate: 0.5, min_capability_coverage: 0, max_p95_ratio: null}\nfamilies: {REGISTRY_V2: {capabilities: {V2_MANIFEST_PULL: {max_mismatches: 0}}}}\n' \
    >"$WORK/gate.yaml"

make_image "$WORK/img-a" "hello from acme/app"
make_image "$WORK/img-b" "hello from another build of acme/app"

# --- skopeo through the tee, recorded by capture -------------------------------------------
start_registry origin origin
start_registry shadow shadow
tee_port=$(free_port)
metrics_port=$(free_port)
"$PMIRROR" tee -q --listen "127.0.0.1:$tee_port" --primary "http://127.0.0.1:$origin" \
    --shadow "http://127.0.0.1:$shadow" --sandbox --allow-writes --record "$WORK/tee.jsonl" --metrics "127.0.0.1:$metrics_port" \
    --out-dir "$WORK/tee-report" 2>"$WORK/tee.err" &
tee_pid=$!
pids+=($tee_pid)
wait_port "$tee_port" || { echo "FAIL: tee did not start: $(cat "$WORK/tee.err")"; exit 1; }
"$PMIRROR" capture -q -i lo --port "$tee_port" -o "$WORK/push.jsonl" 2>"$WORK/cap-push.err" &
cap=$!
sleep 1
push "$WORK/img-a" "$tee_port" acme/app:v1
sleep 1
kill -TERM $cap; wait $cap || bad "capture (push) exit $?: $(cat "$WORK/cap-push.err")"
"$PMIRROR" capture -q -i lo --port "$tee_port" -o "$WORK/pull.jsonl" 2>"$WORK/cap-pull.err" &
cap=$!
sleep 1
"${sk[@]}" copy -q --src-tls-verify=false "docker://127.0.0.1:$tee_port/acme/app:v1" "dir:$WORK/pulled" ||
    bad "skopeo pull through the tee"
sleep 1
kill -TERM $cap; wait $cap || bad "capture (pull) exit $?: $(cat "$WORK/cap-pull.err")"
[ -s "$WORK/pulled/manifest.json" ] && ok || bad "the pull through the tee brought no manifest"
for m in POST PATCH PUT; do
    grep -q "\"method\":\"$m\"" "$WORK/push.jsonl" && ok || bad "the push capture has no $m"
done
grep -q '"capability":"V2_MANIFEST_PULL"' "$WORK/pull.jsonl" && ok || bad "the pull capture has no manifest GET"
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics")
printf '%s' "$metrics" | grep -q 'family="REGISTRY_V2"' && ok || bad "tee metrics count no REGISTRY_V2 exchange"
kill -TERM $tee_pid; wait $tee_pid; rc=$?
[ "$rc" -eq 0 ] && ok || bad "tee SIGTERM: exit $rc: $(cat "$WORK/tee.err")"
[ -s "$WORK/tee-report/report.json" ] && ok || bad "tee wrote no final report"
run "$PMIRROR" diff -i "$WORK/tee.jsonl" -o "$WORK/tee-diffs.jsonl" --progress never
expect_rc 0 "the tee's record diffs"
python3 - "$WORK/tee-diffs.jsonl" >"$WORK/tee-check" <<'PY'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
pulls = [r for r in d if r["capability"] in ("V2_MANIFEST_PULL", "V2_BLOB_PULL")]
bad = [(r["id"], r["verdict"], r["differences"][:1], r.get("error")) for r in pulls if r["verdict"] != "match"]
writes = [r for r in d if r["capability"] in ("V2_BLOB_UPLOAD", "V2_MANIFEST_PUSH")]
unsent = [r["id"] for r in writes if r["verdict"] == "skipped"]
print("ok" if pulls and writes and not bad and not unsent else
      "pulls %d, not matching: %s; writes %d, skipped: %s" % (len(pulls), bad, len(writes), unsent))
PY
[ "$(cat "$WORK/tee-check")" = ok ] && ok || bad "tee record: $(cat "$WORK/tee-check")"

# --- 1. pull traffic against two registries with the same image: every family promotes -----
start_registry same1 r1
start_registry same2 r2
push "$WORK/img-a" "$r1" acme/app:v1
push "$WORK/img-a" "$r2" acme/app:v1
suite "$WORK/same.yaml" "$r1" "$r2"
run "$PMIRROR" run -c "$WORK/same.yaml" -i "$WORK/pull.jsonl" --out-dir "$WORK/out-same" --gate "$WORK/gate.yaml" \
    --progress never
expect_rc 0 "run: the same image on both sides promotes"
expect_out "ROUTE_OWNER_FAMILY_REGISTRY_V2: go" "the proposal moves REGISTRY_V2 to go"

# --- 2. push traffic with --allow-writes into two fresh sandbox registries ------------------
start_registry write1 w1
start_registry write2 w2
suite "$WORK/write.yaml" "$w1" "$w2" true
run "$PMIRROR" run -c "$WORK/write.yaml" -i "$WORK/push.jsonl" --out-dir "$WORK/out-write" --gate "$WORK/gate.yaml" \
    --allow-writes --keep-results --progress never
[ "$rc" -le 1 ] && ok || bad "run (push): exit $rc: $err"
python3 - "$WORK/out-write/results.jsonl.gz" >"$WORK/write-check" <<'PY'
import gzip, json, sys
rs = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")]
puts = [r for r in rs if r["request"]["method"] == "PUT"]
bad = [(r["request"]["target"][:60], {n: (a.get("status"), a.get("error")) for n, a in r["responses"].items()})
       for r in puts if any(a.get("status") != 201 for a in r["responses"].values())]
print("ok" if puts and not bad else "PUTs %d, not 201 on both: %s" % (len(puts), bad))
PY
[ "$(cat "$WORK/write-check")" = ok ] && ok || bad "push replay: $(cat "$WORK/write-check")"
# ... and every exchange of it a match: distribution signs its upload Location's `_state`
# per process, which the shipped Location rule absorbs (params: [_state])
python3 - "$WORK/out-write/diffs.jsonl.gz" >"$WORK/write-match" <<'PY'
import gzip, json, sys
ds = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")]
bad = [(d["request"]["method"] if "request" in d else d.get("capability"), d["verdict"],
        [x.get("path") for x in d.get("differences", [])][:2]) for d in ds if d["verdict"] != "match"]
print("ok" if ds and not bad else "%d exchanges, not matching: %s" % (len(ds), bad[:4]))
PY
[ "$(cat "$WORK/write-match")" = ok ] && ok || bad "push replay verdicts: $(cat "$WORK/write-match")"
for port in "$w1" "$w2"; do
    "${sk[@]}" inspect --tls-verify=false "docker://127.0.0.1:$port/acme/app:v1" >/dev/null 2>&1 && ok ||
        bad "the sandbox registry on $port does not serve the replayed push"
done

# --- 3. different images under one tag: the gate fails on the manifest digest ---------------
start_registry diff1 d1
start_registry diff2 d2
push "$WORK/img-a" "$d1" acme/app:v1
push "$WORK/img-b" "$d2" acme/app:v1
push "$WORK/img-a" "$d2" acme/app:old # the recorded blobs exist on both: only the tag differs
suite "$WORK/diff.yaml" "$d1" "$d2"
run "$PMIRROR" run -c "$WORK/diff.yaml" -i "$WORK/pull.jsonl" --out-dir "$WORK/out-diff" --gate "$WORK/gate.yaml" \
    --progress never
expect_rc 1 "run: different images under one tag fail the gate"
python3 - "$WORK/out-diff/report.json" >"$WORK/diff-check" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["families"]["REGISTRY_V2"]
top = f["top_differences"][0]
paths = {d["path"].lower() for d in top["shape"]}
ok = f["decision"] in ("hold", "rollback") and top["capability"] == "V2_MANIFEST_PULL" and \
    "docker-content-digest" in paths
print("ok" if ok else "decision %s, top %s" % (f["decision"], json.dumps(top)[:400]))
PY
[ "$(cat "$WORK/diff-check")" = ok ] && ok || bad "seeded difference: $(cat "$WORK/diff-check")"
finish
