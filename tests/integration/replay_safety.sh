# SPDX-License-Identifier: Apache-2.0
# replay_safety.sh — the side-effect policy of `pmirror replay`: no mutating request
# (every method but GET/HEAD/OPTIONS, and a GET the record marks mutating) ever reaches a
# target unless that target has `sandbox: true` AND the run allows writes (--allow-writes
# or `allow_writes: true` in the suite). Two recording backends (fault_server.py on
# 127.0.0.1): A with sandbox: false, B with sandbox: true; their logs are the proof.
. "$(dirname "$0")/lib.sh"

start_server A; port_a=$port
start_server B; port_b=$port

# Safe: GET, HEAD, OPTIONS. Mutating: POST, PUT, PATCH, DELETE, a GET the record marks
# mutating; and two records without the "mutating" key (it is not among DESIGN.md's
# pinned capture keys, so a capture from elsewhere may lack it): a PUT and a DELETE are
# mutating by their method alone. (A POST the profile's map declares `mutating: false`,
# like /api/v1/signin, is still held back by replay: runs 5-8, from a pcap.)
python3 "$HERE/make_capture.py" "$WORK/mixed.jsonl" '[
  {"id": "get",      "method": "GET",     "target": "/ok/get"},
  {"id": "head",     "method": "HEAD",    "target": "/ok/head"},
  {"id": "post",     "method": "POST",    "target": "/ok/post", "body": "{\"name\":\"x\"}",
   "add_headers": [["Content-Type", "application/json"]]},
  {"id": "put",      "method": "PUT",     "target": "/ok/put", "body": "layer-bytes"},
  {"id": "patch",    "method": "PATCH",   "target": "/ok/patch", "body": "chunk"},
  {"id": "delete",   "method": "DELETE",  "target": "/ok/delete"},
  {"id": "mutget",   "method": "GET",     "target": "/ok/mutget", "mutating": true},
  {"id": "options",  "method": "OPTIONS", "target": "/ok/options"},
  {"id": "get2",     "method": "GET",     "target": "/ok/get2"},
  {"id": "put_noflag",     "method": "PUT", "target": "/ok/put_noflag", "body": "z", "extra": {"mutating": null}},
  {"id": "delete_noflag",  "method": "DELETE", "target": "/ok/delete_noflag", "extra": {"mutating": null}}
]' || { echo "FAIL: make_capture.py"; exit 1; }
# make_capture writes "mutating": null for delete_noflag; drop the key altogether
python3 - "$WORK/mixed.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
for r in recs:
    if r["mutating"] is None:
        del r["mutating"]
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in recs))
PY
SAFE_PATHS="/ok/get /ok/head /ok/options /ok/get2"
FLAGGED="post put patch delete mutget"      # the record says mutating: true
UNFLAGGED="put_noflag delete_noflag"       # the record has no "mutating" key

write_suite() { # write_suite FILE [EXTRA-TOP-LEVEL-LINE]
    {
        [ -n "${2:-}" ] && echo "$2"
        echo "targets:"
        echo "  - {name: A, url: \"http://127.0.0.1:$port_a\", role: baseline, sandbox: false, timeout: 5}"
        echo "  - {name: B, url: \"http://127.0.0.1:$port_b\", role: candidate, sandbox: true, timeout: 5}"
    } >"$1"
}
write_suite "$WORK/suite.yaml"

# check RESULTS LABEL B_WRITES: one line per finding in $WORK/LABEL.check
check() {
    python3 - "$1" "$WORK/A.log" "$WORK/B.log" "$3" >"$WORK/$2.check" <<'PY'
import json, sys
results = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
logs = {name: [json.loads(l) for l in open(path)] for name, path in (("A", sys.argv[2]), ("B", sys.argv[3]))}
b_writes = sys.argv[4] == "1"
safe = {"get", "head", "options", "get2"}
print("count", len(results))
for name, entries in logs.items():
    for e in entries:
        kind = "safe" if e["path"] in ("/ok/get", "/ok/head", "/ok/options", "/ok/get2") else \
            "unflagged" if e["path"] in ("/ok/put_noflag", "/ok/delete_noflag") else "mutating"
        print("seen", name, kind, e["method"], e["path"], e["body_len"])
for id_, r in sorted(results.items()):
    for name in ("A", "B"):
        resp = r["responses"][name]
        may = id_ in safe or (name == "B" and b_writes)
        if may:
            ok = resp.get("error") is None and resp.get("status") == 200 and not resp.get("skipped")
        else:
            ok = resp.get("error") == "skipped_unsafe" and resp.get("skipped") is True and "status" not in resp
        print("result", id_, name, "ok" if ok else "WRONG", resp.get("error"), resp.get("skipped"), resp.get("status"))
PY
}

# seen_mutating LABEL TARGET → the flagged mutating requests TARGET's log holds
seen_mutating() { grep "^seen $2 mutating" "$WORK/$1.check"; }
result_ok() { grep -q "^result $2 $3 ok" "$WORK/$1.check"; }
# method_decides LABEL B_WRITES: the PUT and the DELETE whose records have no "mutating"
# key are mutating by their method: they reach B only when B may write, A never
method_decides() {
    local leaked wrong
    leaked=$(grep "^seen A unflagged" "$WORK/$1.check")
    [ "$2" = 0 ] && leaked="$leaked$(grep "^seen B unflagged" "$WORK/$1.check")"
    wrong=$(for id in $UNFLAGGED; do grep "^result $id [AB] WRONG" "$WORK/$1.check"; done)
    [ -z "$leaked$wrong" ] && ok || bad "$1: BUG: a PUT/DELETE whose record has no \"mutating\" key is sent as if safe: reached: $(echo $leaked) results: $(echo $wrong)"
}

# --- run 1: no --allow-writes: nothing mutating leaves, on either target ------------------------
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/r1.jsonl" --progress never
expect_rc 0 "run 1 (no --allow-writes)"
check "$WORK/r1.jsonl" r1 0
grep -q '^count 11$' "$WORK/r1.check" && ok || bad "run 1: $(grep '^count' "$WORK/r1.check") results, want 11"
for t in A B; do
    [ -z "$(seen_mutating r1 $t)" ] && ok || bad "run 1: a mutating request reached $t: $(seen_mutating r1 $t | head -3)"
    n=$(grep -c "^seen $t safe" "$WORK/r1.check")
    [ "$n" -eq 4 ] && ok || bad "run 1: $t saw $n of the 4 safe requests"
done
for id in $FLAGGED; do
    for t in A B; do
        result_ok r1 $id $t && ok || bad "run 1: $id on $t: want skipped_unsafe: $(grep "^result $id $t " "$WORK/r1.check")"
    done
done
for id in get head options get2; do
    result_ok r1 $id A && result_ok r1 $id B && ok || bad "run 1: safe $id not answered on both: $(grep "^result $id " "$WORK/r1.check")"
done
grep -q "A: [57] skipped_unsafe" <<<"$err" && grep -q "B: [57] skipped_unsafe" <<<"$err" && ok \
    || bad "run 1: the summary counts the skips: $err"
method_decides r1 0

# --- run 2: --allow-writes: only the sandbox target B gets the writes ----------------------------
: >"$WORK/A.log"; : >"$WORK/B.log"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/r2.jsonl" --progress never --allow-writes
expect_rc 0 "run 2 (--allow-writes)"
check "$WORK/r2.jsonl" r2 1
[ -z "$(seen_mutating r2 A)" ] && ok || bad "run 2: a mutating request reached A (sandbox: false): $(seen_mutating r2 A | head -3)"
for id in $FLAGGED; do
    m=$(python3 -c 'import json,sys; print({r["id"]: r["request"]["method"] for r in map(json.loads, open(sys.argv[1]))}[sys.argv[2]])' "$WORK/mixed.jsonl" "$id")
    n=$(grep -c "^seen B mutating $m /ok/$id " "$WORK/r2.check")
    [ "$n" -eq 1 ] && ok || bad "run 2: B (sandbox) saw $m /ok/$id $n times, want once"
    result_ok r2 $id A && ok || bad "run 2: $id on A: want skipped_unsafe: $(grep "^result $id A " "$WORK/r2.check")"
    result_ok r2 $id B && ok || bad "run 2: $id on B: want answered: $(grep "^result $id B " "$WORK/r2.check")"
done
# request bodies arrive whole
grep -q '^seen B mutating POST /ok/post 12$' "$WORK/r2.check" && grep -q '^seen B mutating PUT /ok/put 11$' "$WORK/r2.check" \
    && ok || bad "run 2: request bodies: $(grep '^seen B mutating P' "$WORK/r2.check")"
method_decides r2 1

# --- run 3: allow_writes: true in the suite acts like the flag ------------------------------------
: >"$WORK/A.log"; : >"$WORK/B.log"
write_suite "$WORK/suite-aw.yaml" "allow_writes: true"
run "$PMIRROR" replay -c "$WORK/suite-aw.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/r3.jsonl" --progress never
expect_rc 0 "run 3 (allow_writes: true)"
check "$WORK/r3.jsonl" r3 1
[ -z "$(seen_mutating r3 A)" ] && ok || bad "run 3: a mutating request reached A: $(seen_mutating r3 A | head -3)"
n=$(grep -c '^seen B mutating' "$WORK/r3.check")
[ "$n" -eq 5 ] && ok || bad "run 3: B saw $n mutating requests, want 5"
for id in $FLAGGED; do
    result_ok r3 $id A && result_ok r3 $id B && ok || bad "run 3: $id: $(grep "^result $id " "$WORK/r3.check")"
done
method_decides r3 1

# --- run 4: allow_writes: false in the suite, no flag: nothing mutating leaves ---------------------
: >"$WORK/A.log"; : >"$WORK/B.log"
write_suite "$WORK/suite-no.yaml" "allow_writes: false"
run "$PMIRROR" replay -c "$WORK/suite-no.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/r4.jsonl" --progress never
expect_rc 0 "run 4 (allow_writes: false)"
check "$WORK/r4.jsonl" r4 0
[ -z "$(seen_mutating r4 A)$(seen_mutating r4 B)" ] && ok || bad "run 4: mutating requests left: $(seen_mutating r4 A; seen_mutating r4 B)"
for id in $FLAGGED; do
    result_ok r4 $id A && result_ok r4 $id B && ok || bad "run 4: $id: $(grep "^result $id " "$WORK/r4.check")"
done
method_decides r4 0

# --- runs 5-8: from the wire, the capability map decides --------------------------------------------
# A pcap through `pmirror capture`: GET /v2/auth asking for push is mutating by the map (a
# token that may write), the pull one is not; POST /api/v1/signin the map calls safe, yet
# replay holds every POST back (a record's word never makes a write method safe); a PUT.
# Every combination of sandbox and --allow-writes: only the sandbox target of a run that
# allows writes ever sees the three writes.
python3 - "$SRC/tools" "$WORK/wire.pcap" <<'PY' || { echo "FAIL: making the pcap"; exit 1; }
import sys
sys.path.insert(0, sys.argv[1])
import make_pcaps as mp
cap = mp.Capture("replay_safety")
host = [("Host", "quay.example.test")]
for method, target, body in (("GET", "/v2/auth?service=quay&scope=repository%3Aacme%2Fapp%3Apush%2Cpull", b""),
                             ("GET", "/v2/auth?service=quay&scope=repository%3Aacme%2Fapp%3Apull", b""),
                             ("POST", "/api/v1/signin", b'{"username":"u"}'),  # no password: it would need credentials
                             ("PUT", "/v2/acme/app/manifests/latest", b"{}")):
    c = mp.Conn(cap)
    c.handshake()
    headers = host + ([("Content-Length", str(len(body)))] if body else [])
    cap.exchange(c, mp.request(method, target, headers, body),
                 lambda now: mp.response(200, "OK", [("Content-Length", "2")], b"{}"))
    c.close()
open(sys.argv[2], "wb").write(mp.pcap_bytes(cap.linktype, cap.frames()))
PY
run "$PMIRROR" capture -q -r "$WORK/wire.pcap" -o "$WORK/wire.jsonl"
expect_rc 0 "capture of the wire pcap"
n=$(grep -c '"mutating":true' "$WORK/wire.jsonl")
[ "$n" -eq 2 ] && ok || bad "the map marks the push-scope /v2/auth and the PUT mutating: $n records say so"
for allow in no yes; do
    : >"$WORK/A.log"; : >"$WORK/B.log"
    flag=(); [ $allow = yes ] && flag=(--allow-writes)
    run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/wire.jsonl" -o "$WORK/wire-$allow.jsonl" --progress never "${flag[@]}"
    expect_rc 0 "wire replay (--allow-writes: $allow)"
    writes() { python3 -c '
import json, sys
for e in map(json.loads, open(sys.argv[1])):
    if e["method"] != "GET" or "push" in e["path"]:
        print(e["method"], e["path"])' "$1" | wc -l; }
    a=$(writes "$WORK/A.log") b=$(writes "$WORK/B.log")
    [ "$a" -eq 0 ] && ok || bad "wire, --allow-writes $allow: A (sandbox: false) saw $a writes"
    want=$([ $allow = yes ] && echo 3 || echo 0)
    [ "$b" -eq "$want" ] && ok || bad "wire, --allow-writes $allow: B (sandbox: true) saw $b writes, want $want"
    n=$(grep -c '/v2/auth' "$WORK/A.log")
    [ "$n" -eq 1 ] && ok || bad "wire, --allow-writes $allow: A saw $n /v2/auth requests, want the pull one"
done

# --- method overrides: a GET whose X-HTTP-Method-Override (X-HTTP-Method, X-Method-Override)
# names DELETE deletes on frameworks that honour it: mutating for the policy, whatever the
# record's flag says (a capture from before the rule has "mutating": false), in replay and run
python3 "$HERE/make_capture.py" "$WORK/override.jsonl" '[
  {"id": "o1", "method": "GET", "target": "/ok/o1", "mutating": false, "add_headers": [["X-HTTP-Method-Override", "DELETE"]]},
  {"id": "o2", "method": "GET", "target": "/ok/o2", "mutating": false, "add_headers": [["x-http-method", "put"]]},
  {"id": "o3", "method": "POST", "target": "/ok/o3", "mutating": false, "add_headers": [["X-Method-Override", "PATCH"]]},
  {"id": "o4", "method": "GET", "target": "/ok/o4", "mutating": false, "add_headers": [["X-HTTP-Method-Override", "GET"]]}
]' || { echo "FAIL: make_capture.py"; exit 1; }
for cmd in replay run; do
    : >"$WORK/A.log"; : >"$WORK/B.log"
    if [ $cmd = replay ]; then
        run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/override.jsonl" -o "$WORK/ov.jsonl" --progress never
    else
        run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/override.jsonl" --out-dir "$WORK/ov-run" --progress never \
            --keep-results
        gzip -dc "$WORK/ov-run/results.jsonl.gz" >"$WORK/ov.jsonl"
    fi
    [ "$rc" -le 1 ] && ok || bad "override ($cmd): exit $rc: $err"
    got=$(python3 -c '
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    print(r["id"], *(r["responses"][t].get("error") or "sent" for t in ("A", "B")))' "$WORK/ov.jsonl" | sort | tr '\n' ' ')
    [ "$got" = "o1 skipped_unsafe skipped_unsafe o2 skipped_unsafe skipped_unsafe o3 skipped_unsafe skipped_unsafe o4 sent sent " ] &&
        ok || bad "override ($cmd): a method override is not mutating for the policy: $got"
    n=$(cat "$WORK/A.log" "$WORK/B.log" | grep -c '/ok/o[123]')
    [ "$n" -eq 0 ] && ok || bad "override ($cmd): $n overridden requests reached a target"
done

finish
