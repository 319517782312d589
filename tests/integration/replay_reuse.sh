# SPDX-License-Identifier: Apache-2.0
# replay_reuse.sh — a request is sent as recorded whatever the handle sending it sent
# before. Replay keeps each target's curl handles between transfers without resetting
# them (replay/handles.c), so a GET that follows a POST on the same handle must not carry
# the POST's body or method, a HEAD must be a HEAD, a body-less PUT must still say
# Content-Length: 0. One target (fault_server.py), --concurrency 1: every exchange waits
# for the one before and takes the handle it gave back; the methods in an order that puts
# each after each other one.
. "$(dirname "$0")/lib.sh"

start_server A
python3 - "$WORK/spec.json" <<'PY'
import json, sys
methods = ["GET", "POST", "HEAD", "PUT", "GET", "DELETE", "POST", "OPTIONS", "PATCH", "HEAD",
           "POST", "GET", "PUT", "DELETE", "HEAD", "GET", "OPTIONS", "POST", "PATCH", "GET"]
spec = []
for i, m in enumerate(methods):
    it = {"id": "r%02d" % i, "method": m, "target": "/ok/%s/%d" % (m.lower(), i)}
    if i % 3 != 2 and m in ("POST", "PUT", "PATCH", "DELETE"):
        it["body"] = "body-%d-" % i + "x" * (i * 7)
    spec.append(it)
json.dump(spec, open(sys.argv[1], "w"))
PY
python3 "$HERE/make_capture.py" "$WORK/mixed.jsonl" "$(cat "$WORK/spec.json")" || { echo "FAIL: make_capture.py"; exit 1; }
printf 'targets:\n  - {name: A, url: "http://127.0.0.1:%s", role: candidate, sandbox: true, timeout: 5}\n' "$port" >"$WORK/suite.yaml"

run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/r.jsonl" --progress never \
    --allow-writes --concurrency 1
expect_rc 0 "replay"
# Each request as the record says: method, path, body length, and Content-Length exactly
# when curl frames a body (a body, or a method other than GET/HEAD/DELETE/OPTIONS).
python3 - "$WORK/mixed.jsonl" "$WORK/A.log" >"$WORK/check" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
seen = {}
for e in map(json.loads, open(sys.argv[2])):
    seen.setdefault(e["path"], []).append(e)
for r in recs:
    q = r["request"]
    m, path, n = q["method"], q["target"], q.get("body_len", 0)
    got = seen.get(path, [])
    if len(got) != 1:
        print("WRONG %s %s: seen %d times" % (m, path, len(got)))
        continue
    e = got[0]
    cl = {k.lower(): v for k, v in e["header_list"]}.get("content-length")
    want_cl = str(n) if n > 0 or m not in ("GET", "HEAD", "DELETE", "OPTIONS") else None
    if e["method"] != m or e["body_len"] != n or cl != want_cl:
        print("WRONG %s %s: sent %s with %d body bytes, Content-Length %s (want %s, %d, %s)"
              % (m, path, e["method"], e["body_len"], cl, m, n, want_cl))
    else:
        print("ok", m, path)
PY
n=$(grep -c '^ok ' "$WORK/check")
[ "$n" -eq 20 ] && ok || bad "requests on reused handles differ from their records: $(grep -v '^ok ' "$WORK/check")"
python3 - "$WORK/r.jsonl" >"$WORK/results" <<'PY'
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    a = r["responses"]["A"]
    print(r["id"], a.get("status"), a.get("error"))
PY
n=$(grep -c ' 200 None$' "$WORK/results")
[ "$n" -eq 20 ] && ok || bad "want 20 answers with status 200: $(grep -v ' 200 None$' "$WORK/results")"

finish
