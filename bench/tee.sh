#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee.sh — `pmirror tee` (proxy mode) against nginx `proxy_pass` + `mirror`, and against
# the primary alone, in one run on loopback, with the three goals of issue 18.
#   backends  two nginx processes (Debian's, 1 worker each): the primary and the shadow,
#             serving the same Quay-shaped JSON of 1-8 KiB (bench/gen_capture.py's docroot:
#             manifests, tag lists, /api/v1 repositories);
#   (a) tee   pmirror tee --primary PRIMARY --shadow SHADOW with its defaults (event loops
#             for half the CPUs, --shadow-workers: the CPUs those leave, at least two, the
#             shadow side at --shadow-nice 2, queue 1024), plus TEE_ARGS from the environment;
#   (b) mirror nginx `proxy_pass` to the primary + `mirror` to the shadow, as its users run
#             it: worker_processes auto, HTTP/1.1 keep-alive upstreams for both;
#   (c) direct straight to the primary.
# Goal 1, saturation: `wrk -t2 -cCONNS -dSECONDS --latency`, rotating through the capture's
# own targets (a Lua script); the three alternate, RUNS times; medians of requests/s, p50
# and p99, and the share of the tee's requests shadowed and diffed (the shadow side's
# verdicts over the front's requests, the queue drained after each run).
#   goals: tee >= 1.0x mirror's requests/s, and >= 95% of its requests diffed.
# Goal 2, a fixed rate: `h2load --h1 -c16 --rps=400` (6 400 requests/s) for SECONDS, to the
# tee and straight to the primary, RUNS times each; p99 from h2load's per-request log.
#   goals: >= 99% of the tee's requests diffed; the tee's p99 within 1 ms of the direct p99.
# Goal 3, overload with fair shedding: a 90/10 mix of two families (REGISTRY_V2 tag lists and
# manifests, API_V1 repositories) at 3x the rate the shadow side diffed at saturation
# (goal 1's tee runs), SECONDS once; coverage (diffed / seen) per family from /metrics.
#   goal: the small family's coverage >= the big one's.
# Also printed: the CPU (user + system) the front's loops spend per request and the shadow
# workers per copy diffed, from /proc (the threads are named tee-loop and tee-shadow): the
# two saturation goals trade against each other through these.
# A check, not a goal: every answer through the tee is a 2xx, and the shadow copies the
# tee diffed all match (the two backends serve the same files): exit 1 otherwise. The
# machine may be shared: goals are reported, not enforced.
# Usage: bench/tee.sh [SECONDS] [CONNS] [RUNS]   (defaults 10, 64, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10} CONNS=${2:-64} RUNS=${3:-3}
GOAL_RATIO=1.0 GOAL_DIFFED=95 GOAL_FIXED_DIFFED=99 GOAL_P99_MS=1.0 FIXED_RPS=6400
BUILD=build-tbench

for v in "$SECS" "$CONNS" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/tee.sh [SECONDS] [CONNS] [RUNS]" >&2; exit 2; }
done

# ---------------------------------------------------------------- set-up
. bench/lib.sh
echo "building pmirror in $BUILD/ ..."
bench_build "$BUILD" pmirror
PMIRROR=$PWD/$BUILD/pmirror
bench_need nginx wrk
command -v h2load >/dev/null 2>&1 || bench_need nghttp2-client
NGINX_VERSION=$(nginx_version)
bench_tmp

# ---------------------------------------------------------------- docroot and servers
ROOT=$TMP/docroot URLS=$TMP/urls.txt
echo "generating the docroot and the URL list (bench/gen_capture.py) ..."
python3 bench/gen_capture.py "$TMP/capture.jsonl" 20000 --docroot "$ROOT" --urls "$URLS" >/dev/null
FILES=$(find "$ROOT" -type f | wc -l)
read -r PRIMARY SHADOW MIRROR TEE METRICS <<<"$(free_ports 5)"

backend_conf() { # PORT NAME
    cat <<EOF
worker_processes 1;
events { worker_connections 4096; }
http {
    $(nginx_http_common "$TMP/$2")
    server {
        listen 127.0.0.1:$1;
        root $ROOT;
        location / { try_files \$uri =404; }
    }
}
EOF
}
nginx_start primary "$(backend_conf "$PRIMARY" primary)"
nginx_start shadow "$(backend_conf "$SHADOW" shadow)"
nginx_start mirror "$(cat <<EOF
worker_processes auto;
events { worker_connections 4096; }
http {
    $(nginx_http_common "$TMP/mirror")
    upstream primary { server 127.0.0.1:$PRIMARY; keepalive 256; }
    upstream shadow { server 127.0.0.1:$SHADOW; keepalive 256; }
    server {
        listen 127.0.0.1:$MIRROR;
        location / {
            mirror /_mirror;
            proxy_pass http://primary;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /_mirror {
            internal;
            proxy_pass http://shadow\$request_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
)"
# shellcheck disable=SC2086  # TEE_ARGS: words on purpose
"$PMIRROR" tee --listen "127.0.0.1:$TEE" --primary "http://127.0.0.1:$PRIMARY" --shadow "http://127.0.0.1:$SHADOW" \
    --metrics "127.0.0.1:$METRICS" --progress never -q ${TEE_ARGS:-} 2>"$TMP/tee.err" &
TEE_PID=$!
bench_track $TEE_PID
for p in "$PRIMARY" "$SHADOW" "$MIRROR" "$TEE" "$METRICS"; do
    wait_port "$p" || { echo "nothing listens on port $p" >&2; cat "$TMP"/*/error.log "$TMP/tee.err" >&2 2>/dev/null; exit 1; }
done

# wrk's requests: the capture's targets, pre-formatted once per thread, in rotation (each
# thread from its own start)
wrk_rotation_lua "$TMP/urls.lua"

# run_wrk PORT → RPS, P50, P99 (ms), BAD (non-2xx + socket errors)
run_wrk() {
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$TMP/urls.lua" "http://127.0.0.1:$1" -- "$URLS" >"$TMP/wrk.out" 2>&1 ||
        { echo "failed: wrk" >&2; cat "$TMP/wrk.out" >&2; return 1; }
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
    ms() { awk -v p="$1" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                                     f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f }' "$TMP/wrk.out"; }
    P50=$(ms 50%) P99=$(ms 99%)
    BAD=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) n += $i }
               END { print n + 0 }' "$TMP/wrk.out")
}

# ---------------------------------------------------------------- the tee's counters
metrics() { curl -s "http://127.0.0.1:$METRICS/metrics" >"$TMP/metrics.txt"; }
sum_metric() { awk -v n="$1" '$1 ~ "^"n"({|$)" { s += $2 } END { printf "%d", s }' "$TMP/metrics.txt"; }
verdict_count() { awk -v v="$1" '/^pmirror_tee_exchanges_total/ && $0 ~ "verdict=\""v"\"" { s += $2 } END { printf "%d", s }' "$TMP/metrics.txt"; }
family_metric() { # NAME FAMILY
    awk -v n="$1" -v f="family=\"$2\"" 'index($1, n "{") == 1 && index($1, f) { s += $2 } END { printf "%d", s }' "$TMP/metrics.txt"
}
# drained: waits (30 s at most) for the queue to empty and the verdicts to stop moving, then
# sets REQ (the front's requests) and DIFFED (the shadow side's verdicts) from /metrics.
drained() {
    local last=-1
    for _ in $(seq 300); do
        metrics
        DIFFED=$(sum_metric pmirror_tee_exchanges_total)
        [ "$(sum_metric pmirror_tee_queue_depth)" -eq 0 ] && [ "$DIFFED" -eq "$last" ] && break
        last=$DIFFED
        sleep 0.1
    done
    REQ=$(sum_metric pmirror_tee_requests_total)
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? 100 * a / b : 0 }'; }
# cpu_ticks NAME: user + system clock ticks of the tee's threads named NAME (tee-loop: the
# front's event loops; tee-shadow: the shadow workers), so far
cpu_ticks() {
    local n=0 t
    for t in /proc/"$TEE_PID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && n=$((n + $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)))
    done
    echo "$n"
}
# per_us TICKS COUNT: microseconds of CPU per item
per_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (n > 0) ? t * 1e6 / hz / n : 0 }'; }

# ---------------------------------------------------------------- goal 1: saturation (wrk)
declare -A R5 L50 L99 ERR
for name in tee mirror direct; do R5[$name]="" L50[$name]="" L99[$name]="" ERR[$name]=0; done
declare -A PORT=([tee]=$TEE [mirror]=$MIRROR [direct]=$PRIMARY)
SHARE="" DIFF_RATE="" FRONT_US="" COPY_US=""
echo "warming up (2 s each) ..."
for name in tee mirror direct; do wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:${PORT[$name]}/" >/dev/null 2>&1 || true; done
drained
for i in $(seq "$RUNS"); do
    for name in tee mirror direct; do
        echo "run $i/$RUNS: $name (wrk -t2 -c$CONNS -d${SECS}s) ..."
        [ "$name" = tee ] && { r0=$REQ d0=$DIFFED t0=$(date +%s.%N) f0=$(cpu_ticks tee-loop) s0=$(cpu_ticks tee-shadow); }
        run_wrk "${PORT[$name]}"
        R5[$name]+="$RPS " L50[$name]+="$P50 " L99[$name]+="$P99 " ERR[$name]=$((ERR[$name] + BAD))
        if [ "$name" = tee ]; then
            drained
            SHARE+="$(pct $((DIFFED - d0)) $((REQ - r0))) "
            FRONT_US+="$(per_us $(($(cpu_ticks tee-loop) - f0)) $((REQ - r0))) "
            COPY_US+="$(per_us $(($(cpu_ticks tee-shadow) - s0)) $((DIFFED - d0))) "
            DIFF_RATE+="$(awk -v d=$((DIFFED - d0)) -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", d / (b - a) }') "
        fi
    done
done

# ---------------------------------------------------------------- goal 2: a fixed rate (h2load)
# run_h2load PORT URLS RPS SECONDS → H2_RATE (achieved), H2_P99 (ms), H2_BAD
run_h2load() {
    sed "s|^|http://127.0.0.1:$1|" "$2" >"$TMP/h2urls.txt"
    rm -f "$TMP/h2.log"
    h2load --h1 -c16 --rps=$(($3 / 16)) -D "$4" -i "$TMP/h2urls.txt" --log-file="$TMP/h2.log" >"$TMP/h2.out" 2>&1 ||
        { echo "failed: h2load" >&2; cat "$TMP/h2.out" >&2; return 1; }
    H2_RATE=$(awk '/^finished in/ { printf "%.0f", $4 }' "$TMP/h2.out")
    H2_P99=$(awk '{ print $3 }' "$TMP/h2.log" | sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }')
    H2_BAD=$(awk '$2 < 200 || $2 > 299 { n++ } END { print n + 0 }' "$TMP/h2.log")
}
FX_SHARE="" FX_P99_TEE="" FX_P99_DIRECT="" FX_RATE_TEE="" FX_RATE_DIRECT="" FX_BAD=0
for i in $(seq "$RUNS"); do
    echo "run $i/$RUNS: fixed rate $FIXED_RPS requests/s (h2load --h1 -c16 --rps=$((FIXED_RPS / 16)) -D $SECS): tee, direct ..."
    drained
    r0=$REQ d0=$DIFFED
    run_h2load "$TEE" "$URLS" "$FIXED_RPS" "$SECS"
    FX_RATE_TEE+="$H2_RATE " FX_P99_TEE+="$H2_P99 " FX_BAD=$((FX_BAD + H2_BAD))
    drained
    FX_SHARE+="$(pct $((DIFFED - d0)) $((REQ - r0))) "
    run_h2load "$PRIMARY" "$URLS" "$FIXED_RPS" "$SECS"
    FX_RATE_DIRECT+="$H2_RATE " FX_P99_DIRECT+="$H2_P99 "
done

# ---------------------------------------------------------------- goal 3: overload, 90/10
CAP=$(med "$DIFF_RATE")
OVER=$((CAP * 3))
awk '/^\/v2\// { v2[n2++] = $0 } /^\/api\/v1\// { api[na++] = $0 }
     END { if (!n2 || !na) exit 1; for (i = 0; i < 10000; i++) print (i % 10 == 9) ? api[i % na] : v2[i % n2] }' \
    "$URLS" >"$TMP/mix.txt" || { echo "the URL list lacks /v2/ or /api/v1/ targets" >&2; exit 1; }
echo "overload: 90% REGISTRY_V2, 10% API_V1 at $OVER requests/s (3 x the $CAP/s diffed at saturation), ${SECS}s ..."
drained
declare -A SEEN0 DIFF0
for f in REGISTRY_V2 API_V1; do
    SEEN0[$f]=$(family_metric pmirror_tee_shadow_seen_total "$f") DIFF0[$f]=$(family_metric pmirror_tee_shadow_diffed_total "$f")
done
run_h2load "$TEE" "$TMP/mix.txt" "$OVER" "$SECS"
OV_RATE=$H2_RATE
drained
declare -A COV
for f in REGISTRY_V2 API_V1; do
    seen=$(($(family_metric pmirror_tee_shadow_seen_total "$f") - SEEN0[$f]))
    diffed=$(($(family_metric pmirror_tee_shadow_diffed_total "$f") - DIFF0[$f]))
    COV[$f]=$(pct "$diffed" "$seen")
    echo "  $f: $seen seen, $diffed diffed (${COV[$f]}%)"
done

# ---------------------------------------------------------------- the table
echo
printf 'tee bench: wrk -t2 -c%d -d%ds, %d runs each, alternating; %d JSON files of 1-8 KiB; %s CPUs\n' \
    "$CONNS" "$SECS" "$RUNS" "$FILES" "$(nproc)"
printf 'backends: two nginx %s (1 worker each); mirror: nginx proxy_pass + mirror, worker_processes auto,\n' \
    "$NGINX_VERSION"
printf 'keep-alive upstreams; tee: pmirror tee defaults%s\n' "${TEE_ARGS:+ + $TEE_ARGS}"
printf '%-34s %12s %9s %9s %8s %9s\n' "saturation (medians)" "requests/s" "p50 ms" "p99 ms" "errors" "diffed"
for name in tee mirror direct; do
    case $name in
    tee) label="(a) pmirror tee (proxy mode)" diffed="$(med "$SHARE")%" ;;
    mirror) label="(b) nginx proxy_pass + mirror" diffed="-" ;;
    direct) label="(c) straight to the primary" diffed="-" ;;
    esac
    printf '%-34s %12.0f %9s %9s %8s %9s\n' "$label" "$(med "${R5[$name]}")" "$(med "${L50[$name]}")" \
        "$(med "${L99[$name]}")" "${ERR[$name]}" "$diffed"
done
printf '%-34s %12s %9s %9s\n' "fixed rate $FIXED_RPS/s (medians)" "achieved/s" "p99 ms" "diffed"
printf '%-34s %12s %9s %9s\n' "(a) pmirror tee" "$(med "$FX_RATE_TEE")" "$(med "$FX_P99_TEE")" "$(med "$FX_SHARE")%"
printf '%-34s %12s %9s %9s\n' "(c) straight to the primary" "$(med "$FX_RATE_DIRECT")" "$(med "$FX_P99_DIRECT")" "-"
printf 'overload: 90/10 REGISTRY_V2/API_V1 at %s/s asked, %s/s achieved; the shadow side diffed %s/s at saturation\n' \
    "$OVER" "$OV_RATE" "$CAP"
# what bounds the two saturation goals together: on a machine the clients and backends share,
# requests/s x (front + diffed share x copy) is about constant
printf 'CPU at saturation (medians, user + system): front %s us per request, shadow %s us per copy diffed\n' \
    "$(med "$FRONT_US")" "$(med "$COPY_US")"

ratio=$(awk -v a="$(med "${R5[tee]}")" -v b="$(med "${R5[mirror]}")" 'BEGIN { printf "%.2f", a / b }')
p99_over=$(awk -v a="$(med "$FX_P99_TEE")" -v b="$(med "$FX_P99_DIRECT")" 'BEGIN { printf "%.2f", a - b }')
echo
printf '%-40s %10s %10s %8s\n' "goal" "measured" "goal" "verdict"
printf '%-40s %10s %10s %8s\n' "saturation: tee / mirror (requests/s)" "${ratio}x" ">= ${GOAL_RATIO}x" \
    "$(verdict "$ratio" ">=" "$GOAL_RATIO")"
printf '%-40s %10s %10s %8s\n' "saturation: requests diffed" "$(med "$SHARE")%" ">= ${GOAL_DIFFED}%" \
    "$(verdict "$(med "$SHARE")" ">=" "$GOAL_DIFFED")"
printf '%-40s %10s %10s %8s\n' "$FIXED_RPS/s: requests diffed" "$(med "$FX_SHARE")%" ">= ${GOAL_FIXED_DIFFED}%" \
    "$(verdict "$(med "$FX_SHARE")" ">=" "$GOAL_FIXED_DIFFED")"
printf '%-40s %10s %10s %8s\n' "$FIXED_RPS/s: p99 tee - p99 direct (ms)" "$p99_over" "<= $GOAL_P99_MS" \
    "$(verdict "$p99_over" "<=" "$GOAL_P99_MS")"
printf '%-40s %10s %10s %8s\n' "overload: API_V1 / REGISTRY_V2 coverage" "${COV[API_V1]}/${COV[REGISTRY_V2]}" ">= 1" \
    "$(awk -v a="${COV[API_V1]}" -v b="${COV[REGISTRY_V2]}" 'BEGIN { print (a >= b && a > 0) ? "PASS" : "MISS" }')"
echo
metrics
match=$(verdict_count match) mismatch=$(verdict_count mismatch) error=$(verdict_count error)
printf 'tee shadow side over the whole bench: %s requests, %s diffed (%s match, %s mismatch, %s error), %s shed\n' \
    "$(sum_metric pmirror_tee_requests_total)" "$((match + mismatch + error))" "$match" "$mismatch" "$error" \
    "$(sum_metric pmirror_tee_shadow_dropped_total)"
if [ "${ERR[tee]}" -ne 0 ] || [ "$FX_BAD" -ne 0 ] || [ "$mismatch" -ne 0 ] || [ "$error" -ne 0 ] || [ "$match" -eq 0 ]; then
    echo "CHECK FAILED: answers through the tee must all be 2xx, and the diffed shadows all match"
    exit 1
fi
echo "check: every answer through the tee was a 2xx; every diffed shadow copy matched: OK"
