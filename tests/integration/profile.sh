# SPDX-License-Identifier: Apache-2.0
# profile.sh — a profile for a service that is not Quay (issue 17, items 6-8): `profile init`
# writes one that loads, `profile check` lists its routes and names the file:line of a name
# the maps lack; `method: "*"`; the Quay-only keys left out; records classified again with
# the current map after a capability is split; the gate in force said in run.gate and on
# stderr, and the proposal's wording taken from the profile.
. "$(dirname "$0")/lib.sh"

P=$WORK/items
run "$PMIRROR" profile init "$P"
expect_rc 0 "profile init"
for f in capabilities rules gate correlation redact; do
    [ -s "$P/$f.yaml" ] && ok || bad "profile init wrote no $f.yaml"
done
[ ! -e "$P/workers.yaml" ] && ok || bad "workers.yaml is written only with --workers"
run "$PMIRROR" profile init "$P"
expect_rc 2 "profile init never overwrites"
expect_one_err_line "profile init over a profile"
expect_err "capabilities.yaml: already there" "names the file it will not overwrite"

run "$PMIRROR" profile check "$P"
expect_rc 0 "the skeleton checks"
expect_out "ITEMS  *ITEM_WRITE  *\*  */items/{id}/tags" "the any-method route is listed"
expect_out "HEALTH  *HEALTH_CHECK  *GET  */health" "routes with family and capability"
grep -q "types:\|^ *- {id:\|switch:" <(grep -v '^#' "$P/capabilities.yaml") && bad "the skeleton needs Quay's keys" || ok

# the fixture profile for another service checks too
run "$PMIRROR" profile check "$SRC/fixtures/profiles/items"
expect_rc 0 "fixtures/profiles/items checks"
expect_out "ITEMS  *ITEM_READ  *GET  */items/{id}/page" "the fixture's page route"

# method "*": one entry for every method; mutating as the request's method
run "$PMIRROR" classify --profile "$P" DELETE /items/3/tags
expect_out '"capability":"ITEM_WRITE"' "DELETE matches the * route"
expect_out '"mutating":true' "a DELETE is mutating"
expect_out '"switch":"ITEMS"' "a family without switch is its own"
run "$PMIRROR" classify --profile "$P" GET /items/3/tags
expect_out '"capability":"ITEM_WRITE"' "GET matches the * route"
expect_out '"mutating":false' "a GET is not"

# names the maps lack: file:line, exit 2, one line
cp -r "$P" "$WORK/bad"
printf '  - {kind: ignore_header, header: etag, capabilities: [ITEM_LIST], reason: x}\n' >>"$WORK/bad/rules.yaml"
run "$PMIRROR" profile check "$WORK/bad"
expect_rc 2 "a rule naming an unknown capability"
expect_one_err_line "unknown capability"
expect_err "rules.yaml:[0-9]*:[0-9]*: rule capabilities: unknown capability 'ITEM_LIST'" "names file:line"
cp "$P/rules.yaml" "$WORK/bad/rules.yaml"
sed -i 's/^  HEALTH:$/  HEALTHY:/' "$WORK/bad/gate.yaml"
run "$PMIRROR" profile check "$WORK/bad"
expect_rc 2 "a gate naming an unknown family"
expect_err "gate.yaml:[0-9]*:3: families: unknown family 'HEALTHY'" "names file:line"

# stale classification: the capture said ITEM_READ; the map now splits /items/{id}/meta off
# as ITEM_META, and a rule for ITEM_META must apply (and the record count as ITEM_META)
result() { # id target etag_go
    printf '{"v":1,"id":"%s","ts":"2026-11-01T10:00:00.000000Z","session":"s","seq":0,"family":"ITEMS","capability":"ITEM_READ","switch":"ITEMS","cap_switch":null,"route_id":null,"mutating":false,"cohort":{"org":null,"repo":null,"user":null},"request":{"method":"GET","target":"%s","version":"HTTP/1.1","headers":[],"body_len":0,"complete":true},"responses":{"py":{"role":"baseline","status":200,"headers":[["Content-Type","application/json"],["ETag","\\"a\\""]],"body":"{\\"id\\":7}","latency_us":100,"error":null},"go":{"role":"candidate","status":200,"headers":[["Content-Type","application/json"],["ETag","\\"%s\\""]],"body":"{\\"id\\":7}","latency_us":100,"error":null}}}\n' "$1" "$2" "$3"
}
{ result r1 /items/7/meta b; result r2 /items/7 a; } >"$WORK/results.jsonl"
cp -r "$P" "$WORK/split"
sed -i "s|      ITEM_WRITE:|      ITEM_META:\n        routes:\n          - {method: GET, path: '/items/{id}/meta'}\n      ITEM_WRITE:|" "$WORK/split/capabilities.yaml"
printf '  - {kind: ignore_header, header: etag, capabilities: [ITEM_META], reason: "meta answers are re-tagged"}\n' \
    >>"$WORK/split/rules.yaml"
run "$PMIRROR" profile check "$WORK/split"
expect_rc 0 "the split profile checks"
run "$PMIRROR" diff --profile "$WORK/split" -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "diff with the split map"
d=$(grep '"id":"r1"' "$WORK/diffs.jsonl")
grep -q '"capability":"ITEM_META"' <<<"$d" && ok || bad "the record is not classified again: $d"
grep -q '"verdict":"match"' <<<"$d" && ok || bad "the rule naming the new capability did not apply: $d"

# the gate in force: run.gate and the header; the proposal's wording from the profile
rm "$WORK/split/gate.yaml"
run "$PMIRROR" report --profile "$WORK/split" -i "$WORK/diffs.jsonl" --out-dir "$WORK/rep"
expect_rc 0 "report without gate.yaml"
expect_err "gate built-in defaults" "the header says the built-in gate is in force"
grep -q '"gate": *"built-in defaults"' "$WORK/rep/report.json" && ok || bad "run.gate: $(grep -o '"gate":[^,]*' "$WORK/rep/report.json")"
run "$PMIRROR" gate "$WORK/rep/report.json"
expect_out "owners proposed for the switch snapshot" "neutral wording by default"
grep -q "Quay" <<<"$out" && bad "the proposal names Quay on another profile: $out" || ok
printf 'snapshot_name: the items rollout flags\n' >"$WORK/split/gate.yaml"
run "$PMIRROR" report --profile "$WORK/split" -i "$WORK/diffs.jsonl" --out-dir "$WORK/rep2"
expect_err "gate $WORK/split/gate.yaml" "the header names the profile's gate"
run "$PMIRROR" gate "$WORK/rep2/report.json"
expect_out "owners proposed for the items rollout flags" "the profile's wording"

finish
