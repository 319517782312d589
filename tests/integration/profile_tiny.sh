# SPDX-License-Identifier: Apache-2.0
# profile_tiny.sh — pmirror on a service that is not Quay, as a new user would run it: the
# profile fixtures/profiles/tiny (written with `pmirror profile init`, edited, checked with
# `pmirror profile check`), live traffic to tiny_service.py captured on loopback, then `run`
# against the service and its "go" port, which differs the way real ports do. Every difference
# must be reported with the right path and a display that says something:
#  - Last-Modified "... UTC" against "... GMT" (http_date is strict; Date's own value is not);
#  - a 404 with a body where the service answers 200: the status, and what the 404 said;
#  - a page without its trailing newline: shown as "</html>\n" against "</html>";
#  - "deleted_at": null added: extra, shown as (absent) against null;
#  - HEAD without Content-Length (the rule ignoring it names GET only);
#  - /health: a match.
. "$(dirname "$0")/lib.sh"
PROFILE=$SRC/fixtures/profiles/tiny

run "$PMIRROR" profile check "$PROFILE"
expect_rc 0 "profile check on the fixture"
expect_out "ITEMS  *ITEM_READ  *GET  */items/{id}" "the routes are listed"

# start NAME FLAVOUR: tiny_service.py on a free port; sets $port
start() {
    python3 "$HERE/tiny_service.py" "$2" "$WORK/$1.port" 2>"$WORK/$1.err" &
    pids+=($!)
    wait_for 10 test -s "$WORK/$1.port" || { echo "FAIL: $1 did not start: $(cat "$WORK/$1.err")"; exit 1; }
    port=$(cat "$WORK/$1.port")
}
start recorded python
recorded=$port
start python python
py=$port
start go go
go=$port

# the capture: live on loopback, the requests a client makes, each on its own connection
"$PMIRROR" capture -q -i lo --port "$recorded" --profile "$PROFILE" -o "$WORK/capture.jsonl" 2>"$WORK/capture.err" &
cap=$!
pids+=("$cap")
sleep 1
python3 - "$recorded" <<'PY' || bad "the client failed"
import http.client, sys
port = int(sys.argv[1])
for method, path in [("GET", "/items/1"), ("GET", "/items/2"), ("HEAD", "/items/3"), ("GET", "/page"),
                     ("GET", "/health")]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path)
    c.getresponse().read()
    c.close()
PY
sleep 0.5
kill -TERM "$cap"
wait "$cap" && ok || bad "capture: $(cat "$WORK/capture.err")"
[ "$(grep -c '"v":1' "$WORK/capture.jsonl")" = 5 ] && ok || bad "captured $(grep -c '"v":1' "$WORK/capture.jsonl") exchanges, want 5"

cat >"$WORK/suite.yaml" <<EOF
profile: $PROFILE
targets:
  - {name: python, url: "http://127.0.0.1:$py", role: baseline}
  - {name: go, url: "http://127.0.0.1:$go", role: candidate}
EOF
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" --out-dir "$WORK/out" --keep-results --progress never
[ "$rc" -le 1 ] && ok || bad "run: exit $rc: $err"
expect_err "gate built-in\|gate $PROFILE/gate.yaml" "run says which gate is in force"

"$PMIRROR" cat "$WORK/out/diffs.jsonl.gz" >"$WORK/diffs.jsonl" || bad "no diffs kept"
python3 - "$WORK/diffs.jsonl" >"$WORK/check.out" 2>&1 <<'PY' && ok || bad "the differences: $(cat "$WORK/check.out")"
import json, sys
seen = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    req = d.get("request") or {}
    key = "%s %s" % (req.get("method"), req.get("target"))
    seen[key] = (d["verdict"], sorted((x["where"], x["path"], x["kind"]) for x in d["differences"]), d)
problems = []
def want(key, verdict, must, exact=False):
    if key not in seen:
        problems.append("%s: no diff record" % key)
        return
    v, shapes, d = seen[key]
    if v != verdict:
        problems.append("%s: verdict %s, want %s (%s)" % (key, v, verdict, shapes))
    for m in must:
        if m not in shapes:
            problems.append("%s: no %s in %s" % (key, m, shapes))
    if exact and sorted(must) != shapes:
        problems.append("%s: %s, want only %s" % (key, shapes, sorted(must)))
want("GET /items/1", "mismatch", [("header", "last-modified", "value"), ("body", "$.deleted_at", "extra")], True)
want("GET /items/2", "mismatch", [("status", "", "value"), ("body", "$.message", "extra"), ("body", "$.id", "missing")])
want("HEAD /items/3", "mismatch", [("header", "content-length", "missing"), ("header", "last-modified", "value")], True)
want("GET /page", "mismatch", [("body", "line 2", "missing")], True)
want("GET /health", "match", [], True)
# item 2: what the 404 said is there, after the status
if "GET /items/2" in seen:
    paths = [x["where"] for x in seen["GET /items/2"][2]["differences"]]
    if paths[0] != "status" or len(paths) < 2:
        problems.append("GET /items/2: the status first, then the rest: %s" % paths)
print("\n".join(problems) if problems else "ok")
sys.exit(1 if problems else 0)
PY

# the displays: a trailing newline and an absent side say what they are
md=$WORK/out/report.md
grep -qF '/html>\\n" | "' "$md" && ok || bad "report.md does not show the trailing newline escaped: $(grep -n 'line 2' "$md")"
grep -q '\$.deleted_at | extra | (absent) | null' "$md" && ok ||
    bad "report.md does not tell absent from null: $(grep -n 'deleted_at' "$md")"
grep -q 'UTC' "$md" && ok || bad "report.md does not show the UTC date: $(grep -n -i 'last-modified' "$md")"
finish
