# SPDX-License-Identifier: Apache-2.0
# tee_helpers.bash — what tee_proxy.sh and tee_sink.sh share (sourced after lib.sh; not a
# test of its own: ctest runs *.sh). Backends and tees on free loopback ports, killed at
# exit with lib.sh's other servers, and readers for tee_check.py's JSON.
CHECK="python3 $HERE/tee_check.py"

# serve NAME CMD...: a server that prints "PORT n" once it listens, logging to $WORK/NAME.log
# (CMD's business); sets $port and NAME_pid
serve() {
    local name=$1
    shift
    : >"$WORK/$name.log"
    : >"$WORK/$name.port"
    "$@" >"$WORK/$name.port" 2>"$WORK/$name.err" &
    pids+=($!)
    eval "${name}_pid=$!"
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^PORT //p' "$WORK/$name.port")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "FAIL: server $name did not start: $(cat "$WORK/$name.err")"
    exit 1
}
# backend NAME ARGS...: a tee_backend.py on a free port; sets $port and NAME_pid
backend() {
    local name=$1
    shift
    serve "$name" python3 "$HERE/tee_backend.py" 0 "$WORK/$name.log" "$@"
}

# start_tee NAME ARGS...: pmirror tee on a free port; sets $tport and NAME_tee (its pid)
start_tee() {
    local name=$1
    shift
    rm -f "$WORK/$name.tport"
    "$PMIRROR" tee --listen 127.0.0.1:0 --port-file "$WORK/$name.tport" --progress never "$@" \
        2>"$WORK/$name.tee.err" &
    pids+=($!)
    eval "${name}_tee=$!"
    for _ in $(seq 200); do
        [ -s "$WORK/$name.tport" ] && { tport=$(cat "$WORK/$name.tport"); return 0; }
        sleep 0.05
    done
    echo "FAIL: tee $name did not start: $(cat "$WORK/$name.tee.err")"
    exit 1
}

# metric FILE NAME{LABELS}: a sample's value from tee_check.py metrics output (or 0);
# has_metric FILE NAME{LABELS}: whether the sample is there at all
metric() {
    python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["samples"].get(sys.argv[2], 0)))' "$1" "$2"
}
has_metric() {
    python3 -c 'import json,sys; sys.exit(sys.argv[2] not in json.load(open(sys.argv[1]))["samples"])' "$1" "$2"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# field JSON KEY: one value of a flat JSON object given as text whose values hold no comma,
# brace or quote (tee_check.py load's: numbers), without a Python start per look
field() { sed -n "s/.*\"$2\": \"\{0,1\}\([^,}\"]*\).*/\1/p" <<<"$1"; }
# metrics_url NAME: the metrics URL on tee NAME's start line
metrics_url() { sed -n 's/.*metrics \(http[^ ]*\).*/\1/p' "$WORK/$1.tee.err"; }
# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or the time is up (1)
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}
# scrape URL NAME: one unlabelled sample of a tee's /metrics (0 when absent)
scrape() { curl -s "$1" | awk -v n="$2" '$1 == n { v = $2 } END { printf "%d", v }'; }
# all_diffed URL: every request has had its copy queued or dropped (or was not in scope, or
# the front refused it),
# and every queued copy has been diffed
all_diffed() {
    curl -s "$1" | awk '$1 == "pmirror_tee_requests_total" { r = $2 } $1 == "pmirror_tee_not_selected_total" { r -= $2 }
        $1 == "pmirror_tee_primary_errors_total" { r -= $2 } $1 ~ /^pmirror_tee_client_errors_total/ { r -= $2 }
        $1 ~ /^pmirror_tee_shadow_dropped_total/ { d += $2 }
        $1 == "pmirror_tee_shadow_queued_total" { q = $2 } $1 == "pmirror_tee_diffed_total" { n = $2 }
        END { exit !(q + d >= r && n == q) }'
}
