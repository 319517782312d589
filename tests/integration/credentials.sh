# SPDX-License-Identifier: Apache-2.0
# credentials.sh — issue 17 item 9: `pmirror credentials -i CAPTURE` lists each distinct
# redacted: token of a capture with where it occurs (header and scheme, cookie, query
# parameter, JSON field; request or response), how often, and the first exchange's method
# and path, then prints the `credentials:` skeleton. The capture is made by pmirror itself
# (make_capture.py's clear records -> export --har -> import --har, which redacts with a new
# key beside it); the expected tokens are computed from that key. The skeleton, filled in
# with the clear values and put under two targets, is a suite that pm_suite_load accepts
# and replay uses: every exchange is sent, the backend receives the real secrets. Bad
# input: exit 2, one line naming file:line.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/cap"
python3 "$HERE/creds_capture.py" "$WORK/spec.json" "$WORK/secrets.json"
python3 "$HERE/make_capture.py" "$WORK/clear.jsonl" - <"$WORK/spec.json"
run "$PMIRROR" export --har "$WORK/clear.jsonl" -o "$WORK/clear.har" -q
expect_rc 0 "export --har"
run "$PMIRROR" import --har "$WORK/clear.har" -o "$WORK/cap/capture.jsonl.gz"
expect_rc 0 "import --har"
[ -f "$WORK/cap/.pmirror-key" ] && ok || bad "import made no key beside the capture"

run "$PMIRROR" credentials --help
expect_rc 0 "credentials --help"
expect_out "credentials -i CAPTURE" "credentials --help usage"
run "$PMIRROR" --help
expect_out "credentials" "pmirror --help lists credentials"

run "$PMIRROR" credentials -i "$WORK/cap/capture.jsonl.gz"
expect_rc 0 "credentials"
printf '%s\n' "$out" >"$WORK/credentials.yaml"
# the listing: each token (computed from the key) with its places, count and first exchange
python3 - "$HERE" "$WORK/cap/.pmirror-key" "$WORK/credentials.yaml" <<'PY' && ok || bad "credentials listing: $out"
import sys
sys.path.insert(0, sys.argv[1])
import creds_capture as c
S = c.SECRETS
t = {name: c.token(sys.argv[2], value) for name, value in S.items()}
text = open(sys.argv[3]).read()
want = [
    "# %s  2×  request header Authorization (Bearer) ×2\n#   first: GET /v2/acme/app/manifests/latest (record x0)" % t["bearer"],
    "# %s  1×  request query access_token ×1\n#   first: GET /api/v1/user/ (record x2)" % t["query"],
    "# %s  1×  request field password ×1\n#   first: POST /api/v1/signin (record x3)" % t["password"],
    "# %s  2×  response cookie session (Set-Cookie) ×1, request cookie session (Cookie) ×1\n"
    "#   first: POST /api/v1/signin (record x3)" % t["session"],
    "# %s  1×  response field token ×1\n#   first: GET /v2/auth (record x5)\n#   only in answers: nothing to map" % t["issued"],
    "# pmirror credentials: 5 redacted values in 6 records of",
    "; 4 of them sent in requests",
]
missing = [w for w in want if w not in text]
skeleton = text[text.index("\ncredentials:\n") + 1:]
keys = [l.split('"')[1] for l in skeleton.splitlines()[1:]]
ok = not missing and keys == [t["bearer"], t["query"], t["password"], t["session"]]
ok = ok and all('": "FILL-IN"   # ' in l for l in skeleton.splitlines()[1:])
if not ok:
    print("missing: %r; skeleton keys %r" % (missing, keys), file=sys.stderr)
sys.exit(not ok)
PY

# --json: one object per token
run "$PMIRROR" credentials -i "$WORK/cap/capture.jsonl.gz" --json
expect_rc 0 "credentials --json"
[ "$(grep -c '"token":"redacted:' <<<"$out")" -eq 5 ] && ok || bad "--json: want 5 lines: $out"
expect_out '"first":{"id":"x3","method":"POST","path":"/api/v1/signin"}' "--json first exchange"

# the skeleton, filled in: the suite of two targets (a recorded backend answering with the
# clear responses, and a logging backend) that replay accepts and sends the secrets with
"$PMIRROR" serve --fixture "$WORK/clear.jsonl" --listen 127.0.0.1:0 --port-file "$WORK/serve.port" \
    2>"$WORK/serve.err" &
pids+=($!)
start_server logged
wait_for 5 test -s "$WORK/serve.port" || bad "serve did not start: $(cat "$WORK/serve.err")"
python3 - "$HERE" "$WORK/cap/.pmirror-key" "$WORK/credentials.yaml" "$(cat "$WORK/serve.port")" "$port" \
    >"$WORK/suite.yaml" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import creds_capture as c
clear = {c.token(sys.argv[2], v): v for v in c.SECRETS.values()}
text = open(sys.argv[3]).read()
filled = []
for line in text.splitlines():
    if line.startswith('  "redacted:'):
        tok = line.split('"')[1]
        line = line.replace('"FILL-IN"', '"%s"' % clear[tok])
    filled.append("    " + line)
print("targets:")
for name, role, port in (("recorded", "baseline", sys.argv[4]), ("logged", "candidate", sys.argv[5])):
    print('  - name: %s\n    url: "http://127.0.0.1:%s"\n    role: %s\n    sandbox: true' % (name, port, role))
    print("\n".join(filled))
PY
grep -q '"FILL-IN"' "$WORK/suite.yaml" && bad "a placeholder was left in the suite" || ok
mkdir -p "$WORK/out"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/cap/capture.jsonl.gz" -o "$WORK/out/results.jsonl" \
    --allow-writes --progress never
expect_rc 0 "replay with the filled-in skeleton"
python3 - "$WORK/out/results.jsonl" "$WORK/logged.log" <<'PY' && ok || bad "replay with the filled skeleton: $(cat "$WORK/out/results.jsonl")"
import json, sys
results = [json.loads(l) for l in open(sys.argv[1])]
errors = [(r["id"], t, a.get("error")) for r in results for t, a in r["responses"].items() if a.get("error")]
log = [json.loads(l) for l in open(sys.argv[2])]
S = {"bearer": "BearerTok-7f00d1", "query": "QueryTok-5ecret99", "session": "SessVal-c00k1e42"}
got = {
    "bearer": sum(1 for e in log if e["headers"].get("Authorization") == "Bearer " + S["bearer"]),
    "query": sum(1 for e in log if e["path"] == "/api/v1/user/?access_token=" + S["query"]),
    "session": sum(1 for e in log if e["headers"].get("Cookie") == "session=" + S["session"]),
    "password": sum(1 for e in log if e["path"] == "/api/v1/signin" and e["body_len"] == len(
        '{"username":"alice","password":"Passw0rd-secret!x"}')),
}
ok = len(results) == 6 and not errors and got == {"bearer": 2, "query": 1, "session": 1, "password": 1}
if not ok:
    print("errors %r, received %r" % (errors, got), file=sys.stderr)
sys.exit(not ok)
PY

# bad input: exit 2, one line naming file:line
printf '{"v":1,"id":"a","request":{"method":"GET","target":"/"}}\n{"v":1,"id":"b"}\n' >"$WORK/notcap.jsonl"
run "$PMIRROR" credentials -i "$WORK/notcap.jsonl"
expect_rc 2 "credentials on a record without request"
expect_err "notcap.jsonl:2: not a capture or result record" "credentials names file:line"
expect_one_err_line "credentials on a bad record"
printf '{"v":1,"id":"a","request":{"method":"GET","target":"/"}}\nnot json\n' >"$WORK/garbage.jsonl"
run "$PMIRROR" credentials -i "$WORK/garbage.jsonl"
expect_rc 2 "credentials on garbage"
expect_err "garbage.jsonl:2" "credentials on garbage names file:line"
run "$PMIRROR" credentials
expect_rc 2 "credentials without -i"
# a capture without tokens: an empty mapping, still YAML
run "$PMIRROR" credentials -i "$WORK/clear.jsonl"
expect_rc 0 "credentials on a clear capture"
expect_out "^credentials: {}$" "credentials on a clear capture: empty skeleton"

finish
