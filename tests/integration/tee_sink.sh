#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_sink.sh — `pmirror tee --sink`: mirrored copies (curl with the original-URI header,
# then Debian's nginx with a `mirror` directive) are answered 204 at once, replayed to the
# suite's two targets under their original target, and diffed: verdicts in the metrics,
# the --record file and the report. With nginx in front of a primary, the sink's final
# report counts exactly the requests nginx logged.
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

backend python --delay-ms 300 # a slow baseline: the 204 must not wait for it
PY=$port
backend go --variant go
GO=$port
cat >"$WORK/suite.yaml" <<EOF
profile: $SRC/config/quay
targets:
  - {name: python, url: "http://127.0.0.1:$PY", role: baseline}
  - {name: go, url: "http://127.0.0.1:$GO", role: candidate, sandbox: true}
EOF
start_tee sink --sink -c "$WORK/suite.yaml" --record "$WORK/results.jsonl" --metrics 127.0.0.1:0 \
    --out-dir "$WORK/report" --shadow-nice 0
T=$tport
grep -q "sink http://127.0.0.1:$T/ replays to python, go" "$WORK/sink.tee.err" && ok ||
    bad "start line: $(cat "$WORK/sink.tee.err")"

# a copy is answered 204 at once, whatever the targets take
run curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'X-Original-URI: /v2/acme/app/tags/list' \
    "http://127.0.0.1:$T/mirror"
read -r code secs <<<"$out"
[ "$code" = 204 ] && ok || bad "sink answer: $code, want 204"
awk -v s="$secs" 'BEGIN { exit !(s < 0.2) }' && ok || bad "the 204 waited for the targets: $secs s"
for i in $(seq 9); do
    curl -s -o /dev/null -H 'X-Original-URI: /v2/acme/app/tags/list' "http://127.0.0.1:$T/mirror"
done
curl -s -o /dev/null -H 'X-Original-URI: /v2/' "http://127.0.0.1:$T/mirror"
curl -s -o /dev/null -X POST -d '{"repository":"x"}' -H 'X-Original-URI: /api/v1/repository' "http://127.0.0.1:$T/m"
wait_until 30 all_diffed "$(metrics_url sink)" && ok || bad "copies diffed: $(curl -s "$(metrics_url sink)" | grep -E 'queued|diffed')"
n=$(grep -c '"path": "/v2/acme/app/tags/list"' "$WORK/python.log")
m=$(grep -c '"path": "/v2/acme/app/tags/list"' "$WORK/go.log")
[ "$n" -eq 10 ] && [ "$m" -eq 10 ] && ok || bad "both targets get each copy at its original URI: $n, $m"
grep -qi 'x-original-uri' "$WORK/python.log" && bad "the original-URI header was forwarded" || ok
grep -q '"POST"' "$WORK/go.log" && bad "a mutating copy was replayed without --allow-writes" || ok
$CHECK metrics "$(metrics_url sink)" >"$WORK/m.json" && ok || bad "metrics parse: $(cat "$WORK/m.json")"
n=$(metric "$WORK/m.json" 'pmirror_tee_exchanges_total{family="REGISTRY_V2",capability="V2_TAGS_LIST",verdict="mismatch"}')
[ "$n" -eq 10 ] && ok || bad "tags/list mismatches: $n, want 10"
n=$(metric "$WORK/m.json" 'pmirror_tee_exchanges_total{family="REGISTRY_V2",capability="V2_BASE",verdict="match"}')
[ "$n" -eq 1 ] && ok || bad "/v2/ match: $n, want 1"
n=$(metric "$WORK/m.json" 'pmirror_tee_exchanges_total{family="API_V1",capability="API_REPOSITORY_WRITE",verdict="skipped"}')
[ "$n" -eq 1 ] && ok || bad "the POST skipped: $n, want 1"
has_metric "$WORK/m.json" 'pmirror_tee_latency_seconds_count{target="python",family="REGISTRY_V2"}' && ok ||
    bad "python latency histogram"
kill -TERM "$sink_tee"
wait "$sink_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exit $rc: $(cat "$WORK/sink.tee.err")"
run "$PMIRROR" cat "$WORK/results.jsonl"
n=$(printf '%s\n' "$out" | grep -c '"source":"tee-sink"')
[ "$n" -eq 12 ] && ok || bad "record: $n results, want 12"
printf '%s\n' "$out" | head -1 | grep -q '"python":{"role":"baseline"' && ok || bad "results carry both targets"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["total"])' "$WORK/report/report.json")
[ "$total" -eq 12 ] && ok || bad "final report total $total, want 12"

# ---------------------------------------------------------------- behind Debian's nginx `mirror`
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
    bad "nginx is not installed (make deps installs it)"
    finish
    exit
fi
backend primary
PRIMARY=$port
start_tee nsink --sink -c "$WORK/suite.yaml" --out-dir "$WORK/nreport" --metrics 127.0.0.1:0 --shadow-nice 0
SINK=$tport
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx/tmp"
chmod 755 "$WORK" "$WORK/nginx"
chmod 777 "$WORK/nginx/tmp"
# The configuration README.md documents: the mirror location passes the original URI in a
# header, and the sink is the mirror's upstream.
cat >"$WORK/nginx.conf" <<EOF
$(nginx_conf_head)
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            mirror /_pmirror;
            proxy_pass http://127.0.0.1:$PRIMARY;
        }
        location = /_pmirror {
            internal;
            proxy_pass http://127.0.0.1:$SINK;
            proxy_set_header X-Original-URI \$request_uri;
            proxy_set_header Host \$host;
        }
    }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx/out" 2>&1 &
pids+=($!)
nginx_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null && break; sleep 0.05; done
load=$($CHECK load "$NPORT" 200 4 /v2/acme/app/tags/list)
[ "$(field "$load" errors)" -eq 0 ] && ok || bad "client load through nginx: $load"
for path in /v2/ /api/v1/repository/acme/app /v2/acme/app/manifests/latest; do
    curl -s -o /dev/null "http://127.0.0.1:$NPORT$path"
done
nm=$(metrics_url nsink)
wait_until 30 eval '[ "$(scrape "$nm" pmirror_tee_requests_total)" -ge 203 ] && all_diffed "$nm"' ||
    bad "the sink did not take and diff the copies: $(curl -s "$nm" | grep -E '^pmirror_tee_(requests|shadow|diffed)')"
kill "$nginx_pid"
wait "$nginx_pid" 2>/dev/null
logged=$(grep -c . "$WORK/nginx/access.log")
kill -TERM "$nsink_tee"
wait "$nsink_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "sink behind nginx: exit $rc: $(cat "$WORK/nsink.tee.err")"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["total"])' "$WORK/nreport/report.json")
[ "$logged" -eq 203 ] && [ "$total" -eq "$logged" ] && ok ||
    bad "nginx logged $logged requests, the sink's report counts $total"
grep -c '"path": "/v2/acme/app/tags/list"' "$WORK/go.log" | grep -q '^210$' && ok ||
    bad "the candidate got every mirrored copy: $(grep -c '"path": "/v2/acme/app/tags/list"' "$WORK/go.log")"

finish
