#!/usr/bin/env bash
# tee.sh — `pmirror tee` (proxy mode) against nginx `proxy_pass` + `mirror`, and against
# the primary alone, in one run on loopback.
#   backends  two nginx processes (Debian's, 1 worker each): the primary and the shadow,
#             serving the same Quay-shaped JSON of 1-8 KiB (bench/gen_capture.py's docroot:
#             manifests, tag lists, /api/v1 repositories);
#   (a) tee   pmirror tee --primary PRIMARY --shadow SHADOW (its defaults: one event loop
#             per CPU, the shadow side diffing at nice 19, queue 1024);
#   (b) mirror nginx `proxy_pass` to the primary + `mirror` to the shadow, as its users run
#             it: worker_processes auto, HTTP/1.1 keep-alive upstreams for both;
#   (c) direct wrk straight to the primary.
# Each is driven by `wrk -t2 -cCONNS -dSECONDS --latency`, rotating through the capture's
# own targets (a Lua script); the three alternate, RUNS times, and the medians of
# requests/s, p50 and p99 are printed with the ratio tee / mirror.
# Goals (the issue): tee's requests/s >= 1.5x mirror's, and tee's p99 below mirror's.
# A check, not a goal: every answer through the tee is a 2xx, and the shadow copies the
# tee diffed all match (the two backends serve the same files): exit 1 otherwise. The
# machine may be shared: goals are reported, not enforced.
# Usage: bench/tee.sh [SECONDS] [CONNS] [RUNS]   (defaults 10, 64, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10} CONNS=${2:-64} RUNS=${3:-3}
GOAL_RATIO=1.5
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
"$PMIRROR" tee --listen "127.0.0.1:$TEE" --primary "http://127.0.0.1:$PRIMARY" --shadow "http://127.0.0.1:$SHADOW" \
    --metrics "127.0.0.1:$METRICS" --progress never -q 2>"$TMP/tee.err" &
bench_track $!
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

# ---------------------------------------------------------------- the runs
declare -A R5 L50 L99 ERR
for name in tee mirror direct; do R5[$name]="" L50[$name]="" L99[$name]="" ERR[$name]=0; done
declare -A PORT=([tee]=$TEE [mirror]=$MIRROR [direct]=$PRIMARY)
echo "warming up (2 s each) ..."
for name in tee mirror direct; do wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:${PORT[$name]}/" >/dev/null 2>&1 || true; done
for i in $(seq "$RUNS"); do
    for name in tee mirror direct; do
        echo "run $i/$RUNS: $name (wrk -t2 -c$CONNS -d${SECS}s) ..."
        run_wrk "${PORT[$name]}"
        R5[$name]+="$RPS " L50[$name]+="$P50 " L99[$name]+="$P99 " ERR[$name]=$((ERR[$name] + BAD))
    done
done
curl -s "http://127.0.0.1:$METRICS/metrics" >"$TMP/metrics.txt"
sum_metric() { awk -v n="$1" '$1 ~ "^"n"({|$)" { s += $2 } END { printf "%d", s }' "$TMP/metrics.txt"; }
verdict_count() { awk -v v="$1" '/^pmirror_tee_exchanges_total/ && $0 ~ "verdict=\""v"\"" { s += $2 } END { printf "%d", s }' "$TMP/metrics.txt"; }

# ---------------------------------------------------------------- the table
echo
printf 'tee bench: wrk -t2 -c%d -d%ds, %d runs each, alternating; %d JSON files of 1-8 KiB; %s CPUs\n' \
    "$CONNS" "$SECS" "$RUNS" "$FILES" "$(nproc)"
printf 'backends: two nginx %s (1 worker each); mirror: nginx proxy_pass + mirror, worker_processes auto,\n' \
    "$NGINX_VERSION"
printf 'keep-alive upstreams; tee: pmirror tee defaults\n'
printf '%-34s %12s %9s %9s %8s\n' "(medians)" "requests/s" "p50 ms" "p99 ms" "errors"
for name in tee mirror direct; do
    case $name in
    tee) label="(a) pmirror tee (proxy mode)" ;;
    mirror) label="(b) nginx proxy_pass + mirror" ;;
    direct) label="(c) straight to the primary" ;;
    esac
    printf '%-34s %12.0f %9s %9s %8s\n' "$label" "$(med "${R5[$name]}")" "$(med "${L50[$name]}")" \
        "$(med "${L99[$name]}")" "${ERR[$name]}"
done
ratio=$(awk -v a="$(med "${R5[tee]}")" -v b="$(med "${R5[mirror]}")" 'BEGIN { printf "%.2f", a / b }')
tp99=$(med "${L99[tee]}") mp99=$(med "${L99[mirror]}")
echo
printf '%-34s %10s %12s %8s\n' "goal" "measured" "goal" "verdict"
printf '%-34s %10s %12s %8s\n' "tee / mirror (requests/s)" "${ratio}x" ">= ${GOAL_RATIO}x" \
    "$(awk -v r="$ratio" -v g="$GOAL_RATIO" 'BEGIN { print (r >= g) ? "PASS" : "MISS" }')"
printf '%-34s %10s %12s %8s\n' "tee p99 vs mirror p99 (ms)" "$tp99" "< $mp99" \
    "$(awk -v a="$tp99" -v b="$mp99" 'BEGIN { print (a < b) ? "PASS" : "MISS" }')"
echo
requests=$(sum_metric pmirror_tee_requests_total) queued=$(sum_metric pmirror_tee_shadow_queued_total)
dropped=$(sum_metric pmirror_tee_shadow_dropped_total)
match=$(verdict_count match) mismatch=$(verdict_count mismatch) error=$(verdict_count error)
printf 'tee shadow side: %s requests, %s copies shadowed and diffed (%s match, %s mismatch, %s error),\n' \
    "$requests" "$queued" "$match" "$mismatch" "$error"
printf '  %s dropped (the queue was full: the shadow side runs at nice 19 and yields the CPU to the\n' "$dropped"
printf '  client path when the machine is saturated, as it is here)\n'
if [ "${ERR[tee]}" -ne 0 ] || [ "$mismatch" -ne 0 ] || [ "$error" -ne 0 ] || [ "$match" -eq 0 ]; then
    echo "CHECK FAILED: answers through the tee must all be 2xx, and the diffed shadows all match"
    exit 1
fi
echo "check: every answer through the tee was a 2xx; every diffed shadow copy matched: OK"
