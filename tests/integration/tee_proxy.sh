#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_proxy.sh — `pmirror tee` in proxy mode against Python backends it starts on loopback
# (tee_backend.py): what the client gets is exactly what the primary sent (status,
# headers in order with repeats, bodies chunked, gzip, large, binary; HEAD, 204, 304),
# request bodies stream to the primary whole, hop-by-hop headers go; mutating requests
# reach a shadow only as a sandbox with --allow-writes; a body over --max-body reaches the
# primary whole and its copy is dropped; a primary that is down is a 502; --record is
# readable by `pmirror cat` and `pmirror diff`, and replayed offline to the shadow it gives
# every exchange the verdict it had live (three shadow workers); /metrics parses as Prometheus text; SIGHUP
# writes a report snapshot, SIGTERM drains and writes the final report, exit 0. That the
# shadow side never slows the primary path is tee_isolation.sh (it times latencies, so it
# runs alone; this one need not).
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

# ---------------------------------------------------------------- arguments
run "$PMIRROR" tee --help
expect_rc 0 "tee --help"
expect_out "--primary" "tee --help names --primary"
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary http://127.0.0.1:1
expect_rc 2 "tee without --shadow"
expect_one_err_line "tee without --shadow"
run "$PMIRROR" tee --listen 127.0.0.1:0 --sink
expect_rc 2 "tee --sink without a suite"

# ---------------------------------------------------------------- fidelity
backend primary
P=$port
backend shadow --variant go
S=$port
# (functional checks: the shadow side at normal priority, so a busy machine cannot starve it;
# three shadow workers, so the record is what several lanes wrote together)
start_tee main --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --record "$WORK/results.jsonl" \
    --metrics 127.0.0.1:0 --out-dir "$WORK/report" --shadow-timeout 5 --shadow-nice 0 --shadow-workers 3
T=$tport
MURL=$(metrics_url main)
[ -n "$MURL" ] && ok || bad "start line names the metrics URL: $(cat "$WORK/main.tee.err")"

reqs=("GET /v2/acme/app/tags/list" "GET /t/chunked" "GET /t/gzip" "GET /t/large/3000000"
    "GET /t/large-chunked/2000000" "GET /t/binary" "GET /t/repeat" "GET /t/status/201" "GET /t/status/204"
    "GET /t/status/301" "GET /t/status/404" "GET /t/status/500" "GET /t/status/503" "GET /t/304" "GET /t/304cl"
    "GET /t/hop" "HEAD /t/chunked" "HEAD /t/large/1000" "HEAD /t/status/404" "DELETE /t/status/204"
    "GET /v2/acme/app/tags/list?n=5&last=a%2Fb")
# one tee_check.py for them all: a line per request, in order ("ok" or the difference)
args=()
for req in "${reqs[@]}"; do args+=(${req% *} "${req#* }"); done
run $CHECK compare "$P" "$T" "${args[@]}"
mapfile -t lines <<<"$out"
for i in "${!reqs[@]}"; do
    [ "${lines[i]:-}" = ok ] && ok || bad "fidelity: ${reqs[i]}: ${lines[i]:-no answer (exit $rc: $err)}"
done

# request bodies stream to the primary whole, chunked or not; hop-by-hop headers go
head -c 3000000 /dev/urandom >"$WORK/up.bin"
want=$(sha256sum "$WORK/up.bin" | cut -c1-64)
for mode in length chunked; do
    extra=()
    [ "$mode" = chunked ] && extra=(-H "Transfer-Encoding: chunked")
    run curl -s -X PUT "${extra[@]}" -H "Connection: X-Drop" -H "X-Drop: 1" -H "X-Forwarded-For: 10.1.2.3" \
        --data-binary @"$WORK/up.bin" "http://127.0.0.1:$T/t/echo"
    got=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); h=dict((k.lower(),v) for k,v in d["headers"]); print(d["body_sha256"], d["body_len"], h.get("x-drop","-"), h.get("x-forwarded-for"), h.get("transfer-encoding","-"))')
    want_te=-
    [ "$mode" = chunked ] && want_te=chunked
    [ "$got" = "$want 3000000 - 10.1.2.3, 127.0.0.1 $want_te" ] && ok || bad "upload ($mode): $got"
done

# ---------------------------------------------------------------- mutating requests
run curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"repository":"app","namespace":"acme"}' "http://127.0.0.1:$T/api/v1/repository"
[ "$out" = 200 ] && ok || bad "POST through the tee: $out"
grep -q '"POST", "path": "/api/v1/repository"' "$WORK/primary.log" && ok || bad "the primary got the POST"

# secrets reach the primary and the shadow as sent (a sink or proxy needs real credentials)
curl -s -o /dev/null -H 'Authorization: Bearer secret-token-xyz' "http://127.0.0.1:$T/v2/acme/app/tags/list?token=s3cret"
curl -s -o /dev/null "http://127.0.0.1:$T/t/token-gzip"
grep -q 'secret-token-xyz' "$WORK/primary.log" && ok || bad "the primary got the Authorization header"

# ---------------------------------------------------------------- shadows, record, metrics
for i in $(seq 20); do curl -s -o /dev/null "http://127.0.0.1:$T/v2/acme/app/tags/list"; done
wait_until 30 all_diffed "$MURL" && ok || bad "shadows diffed: $(curl -s "$MURL" | grep -E 'queued|diffed')"
grep -q '"POST"' "$WORK/shadow.log" && bad "a mutating request reached the shadow without --allow-writes" || ok
grep -q '"/v2/acme/app/tags/list"' "$WORK/shadow.log" && ok || bad "the shadow got the GETs"
run $CHECK metrics "$MURL"
[ "$rc" -eq 0 ] && ok || bad "metrics parse: $out"
printf '%s' "$out" >"$WORK/m1.json"
for name in 'pmirror_tee_requests_total{}' 'pmirror_tee_queue_depth{}' 'pmirror_tee_queue_capacity{}' \
    'pmirror_tee_shadow_dropped_total{reason="queue_full"}' 'pmirror_tee_parity{family="REGISTRY_V2"}' \
    'pmirror_tee_parity_lower{family="REGISTRY_V2"}' \
    'pmirror_tee_latency_seconds_count{target="shadow",family="REGISTRY_V2"}' \
    'pmirror_tee_latency_seconds_count{target="primary",family="REGISTRY_V2"}'; do
    has_metric "$WORK/m1.json" "$name" && ok || bad "metrics lack $name"
done
n=$(metric "$WORK/m1.json" 'pmirror_tee_exchanges_total{family="REGISTRY_V2",capability="V2_TAGS_LIST",verdict="mismatch"}')
[ "$n" -ge 21 ] && ok || bad "tags/list mismatches counted: $n (the shadow answers other tags)"
n=$(metric "$WORK/m1.json" 'pmirror_tee_exchanges_total{family="API_V1",capability="API_REPOSITORY_WRITE",verdict="skipped"}')
[ "$n" -eq 1 ] && ok || bad "the POST counted skipped: $n"

kill -HUP "$main_tee"
for _ in $(seq 50); do [ -s "$WORK/report/report.json" ] && break; sleep 0.1; done
[ -s "$WORK/report/report.json" ] && ok || bad "SIGHUP wrote no report snapshot"

# SIGTERM: drains, writes the final report and the record, exits 0
kill -TERM "$main_tee"
wait "$main_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exit $rc: $(cat "$WORK/main.tee.err")"
grep -q "stopped by SIGTERM" "$WORK/main.tee.err" && ok || bad "summary line: $(cat "$WORK/main.tee.err")"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["total"])' "$WORK/report/report.json")
records=$("$PMIRROR" cat "$WORK/results.jsonl" | wc -l)
[ "$records" -ge 40 ] && [ "$total" -eq "$records" ] && ok || bad "final report counts $total, record holds $records"
run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "pmirror diff on the --record file"
n=$(grep -c '"mismatch"' "$WORK/diffs.jsonl")
[ "$n" -ge 21 ] && ok || bad "offline diff finds the tags/list mismatches: $n"
live=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["match"], t["mismatch"], t["error"], t["skipped"])' "$WORK/report/report.json")
offline=$(for v in match mismatch error skipped; do grep -c "\"verdict\":\"$v\"" "$WORK/diffs.jsonl"; done | paste -sd' ')
[ "$live" = "$offline" ] && ok || bad "verdicts live ($live) and re-diffed from the redacted record ($offline) differ"
# ... and as an offline replay of the record to the same shadow, then diffed: the same verdict
# for every exchange (the primary's answer is the record's)
cat >"$WORK/offline.yaml" <<EOF
targets:
  - {name: primary, url: recorded, role: baseline}
  - {name: shadow, url: "http://127.0.0.1:$S", role: candidate, timeout: 5}
EOF
run "$PMIRROR" replay -c "$WORK/offline.yaml" -i "$WORK/results.jsonl" -o "$WORK/replayed.jsonl" --progress never
expect_rc 0 "offline replay of the --record file"
run "$PMIRROR" diff -i "$WORK/replayed.jsonl" -o "$WORK/rediffs.jsonl"
expect_rc 0 "pmirror diff on the offline replay"
run python3 - "$WORK/diffs.jsonl" "$WORK/rediffs.jsonl" <<'PY'
import json, sys
live, again = ({json.loads(l)["id"]: json.loads(l)["verdict"] for l in open(p)} for p in sys.argv[1:3])
wrong = ["%s: live %s, offline %s" % (i, v, again.get(i)) for i, v in sorted(live.items()) if again.get(i) != v]
print("%d exchanges" % len(live) if not wrong and len(live) == len(again) else "; ".join(wrong[:3]) or "counts differ")
PY
[[ $out =~ ^[0-9]+\ exchanges$ ]] && ok || bad "live verdicts and an offline replay + diff of the record differ: $out"
grep -q '"primary"' "$WORK/results.jsonl" && grep -q '"role":"candidate"' "$WORK/results.jsonl" && ok ||
    bad "result records name primary (baseline) and shadow (candidate)"
grep -q 'secret-token-xyz' "$WORK/shadow.log" && ok || bad "the shadow got the real Authorization header"
# ... but nothing written holds them: headers, query, and a gzip body's issued token
run python3 - "$WORK/results.jsonl" <<'PY'
import base64, gzip, json, sys
leaks = []
for line in open(sys.argv[1]):
    for s in ("secret-token-xyz", "s3cret", "issued-secret-123"):
        if s in line:
            leaks.append(s)
    r = json.loads(line)
    for m in [r.get("response", {})] + list(r.get("responses", {}).values()):
        if "body_b64" in m and any(k.lower() == "content-encoding" for k, _ in m.get("headers", [])):
            if b"issued-secret-123" in gzip.decompress(base64.b64decode(m["body_b64"])):
                leaks.append("issued-secret-123 (gzip body)")
print(" ".join(leaks) or "clean")
PY
[ "$out" = clean ] && ok || bad "secrets in the --record file: $out"

# ---------------------------------------------------------------- side effects: sandbox + --allow-writes
start_tee writes --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --sandbox --allow-writes \
    --shadow-nice 0
curl -s -o /dev/null -X POST -d '{"repository":"w"}' -H 'Content-Type: application/json' \
    "http://127.0.0.1:$tport/api/v1/repository"
wait_until 30 grep -q '"POST", "path": "/api/v1/repository"' "$WORK/shadow.log" && ok ||
    bad "with --sandbox --allow-writes the shadow gets the POST"
kill -TERM "$writes_tee"
wait "$writes_tee"

# ---------------------------------------------------------------- body cap, primary down
start_tee cap --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --max-body 1000000 --metrics 127.0.0.1:0 \
    --sandbox --allow-writes
run curl -s -X PUT --data-binary @"$WORK/up.bin" "http://127.0.0.1:$tport/t/echo"
printf '%s' "$out" | grep -q "\"body_sha256\": \"$want\"" && ok || bad "a body over --max-body reaches the primary whole"
$CHECK metrics "$(metrics_url cap)" >"$WORK/m4.json"
n=$(metric "$WORK/m4.json" 'pmirror_tee_shadow_dropped_total{reason="too_large"}')
[ "$n" -eq 1 ] && ok || bad "the copy over --max-body is dropped and counted ($n)"
kill -TERM "$cap_tee"
wait "$cap_tee"

start_tee down --primary "http://127.0.0.1:1" --shadow "http://127.0.0.1:$S"
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tport/v2/"
[ "$out" = 502 ] && ok || bad "primary down: $out, want 502"
kill -TERM "$down_tee"
wait "$down_tee"
grep -q "1 primary errors" "$WORK/down.tee.err" && ok || bad "primary errors counted: $(cat "$WORK/down.tee.err")"

finish
