#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_smuggling.sh — the tee in proxy mode frames every request before anything reaches
# the primary (RFC 9112 §5, §6): a raw client (tee_raw.py send) sends each attack byte for
# byte, a raw primary (tee_raw.py primary) logs every request it framed and every byte it
# could not. For each case: the answer the client got, whether the tee closed the
# connection, what the primary saw, and that the next clients get their own answers (a
# smuggled request's answer would wait on the pooled upstream connection for them).
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"
RAW="python3 $HERE/tee_raw.py"

serve primary $RAW primary "$WORK/primary.log"
P=$port
serve shadow $RAW primary "$WORK/shadow.log"
S=$port
start_tee main --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --record "$WORK/record.jsonl" \
    --metrics 127.0.0.1:0 --shadow-nice 0 --no-redact
T=$tport
MURL=$(metrics_url main)

hex() { printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# send BYTES (printf %b escapes): the tee's answer as tee_raw.py's JSON, in $out
send() { run $RAW send "$T" "$(hex "$1")"; }
# j KEY: one value of that JSON (flat, no commas in values: no python start per look)
j() { sed -n "s/.*\"$1\": \"\{0,1\}\([^,}\"]*\).*/\1/p" <<<"$out"; }
primary_lines() { wc -l <"$WORK/primary.log"; }
# legit TAG: a well-formed request from a fresh connection gets the answer to itself
legit() {
    send "GET /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: $1\r\nConnection: close\r\n\r\n"
    [ "$(j status)" = 200 ] && [ "$(j answer_for)" = "$1" ] && ok || bad "$1: a client got someone else's answer: $out"
}
# the primary's log since line $1 holds exactly the tags given, each with X-Forwarded-For, no garbage
# (tee_raw.py logs what it saw first in each line: no python start per look)
primary_saw() {
    local from=$1
    shift
    local got
    got=$(tail -n +"$((from + 1))" "$WORK/primary.log" | sed 's/^{"saw": "\([^"]*\)".*/\1/' | paste -sd' ')
    [ "$got" = "$*" ] && ok || bad "$CASE: the primary saw [$got], want [$*]"
}
# rejected STATUS: the case's answer is STATUS and the tee closed the connection (the
# lengths libmicrohttpd refuses itself, it answers with its head written twice: the count of
# answers is not checked here; what the primary saw is)
rejected() {
    [ "$(j status)" = "$1" ] && [ "$(j closed)" = true ] && ok || bad "$CASE: want $1 and the connection closed: $out"
}

# ---------------------------------------------------------------- 1. Content-Length
smuggled='GET /v2/smuggled HTTP/1.1\r\nHost: q\r\nX-Client-Tag: smuggled\r\n\r\n'
body="abcd$smuggled"
len=$(printf '%b' "$body" | wc -c)
CASE="two Content-Length (44, then 4)"
n=$(primary_lines)
send "POST /v2/acme/app/blobs/uploads/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nContent-Length: $len\r\ncontent-length: 4\r\n\r\n$body"
rejected 400
legit after-cl-1
legit after-cl-2
primary_saw "$n" after-cl-1 after-cl-2

CASE="two Content-Length (4, then 100000)"
n=$(primary_lines)
send "POST /v2/acme/app/blobs/uploads/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nContent-Length: 4\r\nContent-Length: 100000\r\n\r\nabcd"
rejected 400
python3 -c 'import sys; sys.exit(float(sys.argv[1]) > 4)' "$(j elapsed_s)" && ok || bad "$CASE: the answer took $(j elapsed_s) s"
legit after-cl-3
primary_saw "$n" after-cl-3

for cl in "4, 4" "+4" "0x4" "4 4" "-1" "99999999999999999999999"; do
    CASE="Content-Length: $cl"
    n=$(primary_lines)
    send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nContent-Length: $cl\r\n\r\nabcd"
    [ "$cl" = 99999999999999999999999 ] && rejected 413 || rejected 400
    primary_saw "$n"
done

CASE="Content-Length beside Transfer-Encoding"
n=$(primary_lines)
send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
rejected 400
primary_saw "$n"

CASE="Transfer-Encoding other than chunked"
n=$(primary_lines)
send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
rejected 501
primary_saw "$n"

CASE="one valid Content-Length still goes through, framed as received"
n=$(primary_lines)
send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: fine\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"
[ "$(j status)" = 200 ] && [ "$(j answer_for)" = fine ] && ok || bad "$CASE: $out"
primary_saw "$n" fine
tail -n 1 "$WORK/primary.log" | grep -q '"body_len": 4' && ok || bad "$CASE: $(tail -n 1 "$WORK/primary.log")"

# ---------------------------------------------------------------- 2. header syntax
CASE="whitespace before the colon"
n=$(primary_lines)
send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\nabcd"
rejected 400
primary_saw "$n"

CASE="obs-fold into a value"
n=$(primary_lines)
send "GET /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nX-A: a\r\n  folded\r\n\r\n"
rejected 400
primary_saw "$n"

CASE="obs-fold that builds a Transfer-Encoding"
n=$(primary_lines)
send "POST /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\nContent-Length: 5\r\nTransfer-Encodin: x\r\n g: chunked\r\n\r\n0\r\n\r\n"
rejected 400
primary_saw "$n"
legit after-headers
primary_saw "$n" after-headers

# ---------------------------------------------------------------- 3. the target as received
CASE="dot segments reach the primary as sent"
n=$(primary_lines)
send "GET /v2/../api/v1/user HTTP/1.1\r\nHost: q\r\nX-Client-Tag: dots\r\nConnection: close\r\n\r\n"
[ "$(j status)" = 200 ] && ok || bad "$CASE: $out"
got=$(tail -n 1 "$WORK/primary.log" | python3 -c 'import json,sys; print(bytes.fromhex(json.load(sys.stdin)["target"]).decode())')
[ "$got" = "/v2/../api/v1/user" ] && ok || bad "$CASE: the primary saw $got"

CASE="a fragment reaches the primary as sent"
send "GET /v2/x#frag HTTP/1.1\r\nHost: q\r\nX-Client-Tag: frag\r\nConnection: close\r\n\r\n"
got=$(tail -n 1 "$WORK/primary.log" | python3 -c 'import json,sys; print(bytes.fromhex(json.load(sys.stdin)["target"]).decode())')
[ "$got" = "/v2/x#frag" ] && ok || bad "$CASE: the primary saw $got ($out)"

# ---------------------------------------------------------------- 4. control bytes in the target
for ctl in '\r' '\x01' '\t' '\x7f'; do
    CASE="control byte $ctl in the target"
    n=$(primary_lines)
    send "GET /v2/a${ctl}b HTTP/1.1\r\nHost: q\r\nX-Client-Tag: attacker\r\n\r\n"
    [ "$(j status)" = 400 ] && ok || bad "$CASE: want 400: $out"
    primary_saw "$n"
done
curl -s "$MURL" >"$WORK/metrics.txt"
awk '$1 == "pmirror_tee_primary_errors_total" { v = $2 } END { exit v != 0 }' "$WORK/metrics.txt" && ok ||
    bad "client errors were counted against the primary: $(grep primary_errors "$WORK/metrics.txt")"
awk '$1 ~ /^pmirror_tee_client_errors_total/ { v += $2 } END { exit v < 11 }' "$WORK/metrics.txt" && ok ||
    bad "client errors not counted: $(grep client_errors "$WORK/metrics.txt")"

# ---------------------------------------------------------------- 8. method overrides
CASE="a GET whose X-HTTP-Method-Override names DELETE"
send "GET /v2/ HTTP/1.1\r\nHost: q\r\nX-Client-Tag: override\r\nX-HTTP-Method-Override: DELETE\r\nConnection: close\r\n\r\n"
[ "$(j status)" = 200 ] && ok || bad "$CASE: the primary still answers it: $out"

# ---------------------------------------------------------------- 14. a target that is not UTF-8
CASE="invalid UTF-8 in the path"
send "GET /v2/acme/\xff\xfe/tags/list HTTP/1.1\r\nHost: q\r\nX-Client-Tag: latin\r\nConnection: close\r\n\r\n"
[ "$(j status)" = 200 ] && [ "$(j answer_for)" = latin ] && ok || bad "$CASE: $out"
want=$(hex '/v2/acme/\xff\xfe/tags/list')
wait_until 10 grep -q "\"target\": \"$want\"" "$WORK/shadow.log" && ok ||
    bad "$CASE: the shadow did not get the target as sent: $(cat "$WORK/shadow.log")"
kill -TERM "$main_tee"
wait "$main_tee"
CASE="a GET whose X-HTTP-Method-Override names DELETE"
grep -q '"tag": "override"' "$WORK/shadow.log" && bad "$CASE: it reached the shadow (sandbox: false)" || ok
CASE="invalid UTF-8 in the path"
grep -q "did not parse" "$WORK/main.tee.err" && bad "$CASE: $(grep 'did not parse' "$WORK/main.tee.err")" || ok
run "$PMIRROR" cat "$WORK/record.jsonl"
printf '%s\n' "$out" | python3 -c '
import base64, json, sys
want = bytes.fromhex(sys.argv[1])
for line in sys.stdin:
    r = json.loads(line)["request"]
    if "target_b64" in r and base64.b64decode(r["target_b64"]) == want:
        sys.exit(0)
sys.exit(1)' "$want" && ok || bad "$CASE: no record holds the target as sent: $out"
# ---------------------------------------------------------------- 3 and 14 in replay
# replay sends recorded targets as recorded too: dot segments, a fragment, bytes that are
# not UTF-8 (target_b64); one with a CR in it is refused (bad_target), never sent
CASE="replay sends targets as recorded"
python3 "$HERE/make_capture.py" "$WORK/targets.jsonl" '[
  {"id": "dots", "target": "/v2/../api/v1/user", "add_headers": [["X-Client-Tag", "r-dots"]]},
  {"id": "frag", "target": "/v2/x#frag", "add_headers": [["X-Client-Tag", "r-frag"]]},
  {"id": "latin", "target": "/v2/\u00ff", "extra": {}, "add_headers": [["X-Client-Tag", "r-latin"]]},
  {"id": "cr", "target": "/v2/a\rX: 1", "add_headers": [["X-Client-Tag", "r-cr"]]}
]' || bad "make_capture.py"
python3 - "$WORK/targets.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
for r in recs:
    if r["id"] == "latin":
        r["request"]["target_b64"] = "L3YyL/8="  # /v2/ then the byte 0xff
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in recs))
PY
printf 'targets:\n  - {name: raw, url: "http://127.0.0.1:%s", role: baseline}\n' "$P" >"$WORK/raw-suite.yaml"
run "$PMIRROR" replay -c "$WORK/raw-suite.yaml" -i "$WORK/targets.jsonl" -o "$WORK/replayed.jsonl" --progress never
expect_rc 0 "$CASE"
got=$(python3 -c '
import json, sys
seen = {r["tag"]: r["target"] for r in map(json.loads, open(sys.argv[1])) if "tag" in r and r["tag"].startswith("r-")}
print(" ".join("%s=%s" % (t, seen.get(t, "-")) for t in ("r-dots", "r-frag", "r-latin", "r-cr")))' "$WORK/primary.log")
want="r-dots=$(hex /v2/../api/v1/user) r-frag=$(hex '/v2/x#frag') r-latin=$(hex '/v2/\xff') r-cr=-"
[ "$got" = "$want" ] && ok || bad "$CASE: the primary saw $got, want $want"
grep -q '"bad_target"' "$WORK/replayed.jsonl" && ok || bad "$CASE: the target with a CR is not refused as bad_target"

finish
