# SPDX-License-Identifier: Apache-2.0
# classify.sh — `pmirror classify` on the foundation issue's examples, with the shipped
# Quay profile and with broken capability maps.
. "$(dirname "$0")/lib.sh"

run "$PMIRROR" classify GET /v2/acme/app/manifests/latest
expect_rc 0 "classify manifest"
expect_out '"family":"REGISTRY_V2"' "manifest family"
expect_out '"capability":"V2_MANIFEST_PULL"' "manifest capability"
expect_out '"switch":"ROUTE_OWNER_FAMILY_REGISTRY_V2"' "manifest switch"
expect_out '"org":"acme"' "manifest org"
expect_out '"repo":"acme/app"' "manifest repo"
expect_out '"route_id":"ROUTE-0327"' "manifest route id"

# Basic auth user name → cohort user; push scope → mutating
run "$PMIRROR" classify GET '/v2/auth?service=quay&scope=repository:acme/app:push,pull' \
    -H 'Authorization: Basic cm9ib3QrY2k6cGFzcw=='
expect_out '"user":"robot+ci"' "basic auth user"
expect_out '"mutating":true' "push scope mutates"

run "$PMIRROR" classify POST /api/v1/signin
expect_out '"mutating":false' "signin is not a write"
expect_out '"family":"API_V1"' "signin family"

run "$PMIRROR" classify GET /v2/nowhere
expect_rc 0 "unmatched is not an error"
expect_out '"family":"UNKNOWN"' "unmatched → UNKNOWN"

# --stdin: one JSON line per request line
printf 'GET /v2/\nHEAD /v1/_ping\nPOST /webhooks/stripe\n' >"$WORK/reqs"
run sh -c "\"$PMIRROR\" classify --stdin < \"$WORK/reqs\""
expect_rc 0 "classify --stdin"
[ "$(printf '%s\n' "$out" | grep -c '"family"')" -eq 3 ] && ok || bad "--stdin: want 3 lines: $out"
expect_out '"family":"WEBHOOKS"' "--stdin webhooks"

# broken maps: one line naming file:line:column, exit 2
printf 'version: 1\ntypes: {segment: x}\nfamilies:\n  A: [unclosed\n' >"$WORK/bad.yaml"
run "$PMIRROR" classify --map "$WORK/bad.yaml" GET /
expect_rc 2 "malformed YAML map"
expect_one_err_line "malformed YAML map"
expect_err "bad.yaml:[0-9]*:[0-9]*: YAML syntax error" "YAML error names file:line:col"

run "$PMIRROR" classify --map "$WORK/missing.yaml" GET /
expect_rc 2 "missing map"
expect_err "missing.yaml: cannot open" "missing map named"

run "$PMIRROR" classify --profile "$WORK/nowhere" GET /
expect_rc 2 "missing profile"
expect_err "nowhere/capabilities.yaml" "missing profile named"

finish
