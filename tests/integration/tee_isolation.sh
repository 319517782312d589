#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_isolation.sh — `pmirror tee` in proxy mode: the shadow side never slows the primary
# path. A healthy run, then a stopped shadow (SIGSTOP: connections hang), a refusing one
# and one that answers after 10 s: the client sees zero errors and about the same p99
# (tee_check.py load), the copies the shadow cannot take are dropped and counted, memory
# stays bounded; SIGTERM with shadows in flight drains at most --drain-seconds, writes the
# final report, exit 0. It compares latencies, so it runs alone (RUN_SERIAL,
# tests/CMakeLists.txt); the rest of proxy mode is tee_proxy.sh.
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

backend primary
P=$port

backend iso_shadow
ISO=$port
start_tee iso --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$ISO" --queue 16 --concurrency 4 \
    --shadow-timeout 20 --metrics 127.0.0.1:0
IT=$tport
IM=$(metrics_url iso)
load() { $CHECK load "$IT" 400 8 /v2/acme/app/tags/list; }
within() { awk -v b="$1" -v g="$2" 'BEGIN { exit !(b <= 1.5 * g + 10) }'; } # p99 within 1.5x (+10 ms slack)
# isolated: the load up to 3 times, kept when its p99 is within bounds: on a shared machine
# one hiccup makes a slow p99 of 400 requests, while a real isolation bug is slow every
# time. Sets $res (the run with the lowest p99) and $errs (client errors over all runs).
isolated() {
    res= errs=0
    for _ in 1 2 3; do
        local r
        r=$(load)
        errs=$((errs + $(field "$r" errors)))
        if [ -z "$res" ] || awk -v a="$(field "$r" p99_ms)" -v b="$(field "$res" p99_ms)" 'BEGIN { exit !(a < b) }'; then
            res=$r
        fi
        within "$(field "$res" p99_ms)" "$good_p99" && break
    done
}
good=$(load)
good_p99=$(field "$good" p99_ms)
[ "$(field "$good" errors)" -eq 0 ] && ok || bad "healthy run errors: $good"
kill -STOP "$iso_shadow_pid"
isolated
stopped=$res
[ "$errs" -eq 0 ] && ok || bad "stopped shadow: $errs client errors: $stopped"
within "$(field "$stopped" p99_ms)" "$good_p99" && ok || bad "stopped shadow slows the primary: $stopped vs $good"
$CHECK metrics "$IM" >"$WORK/m2.json"
n=$(metric "$WORK/m2.json" 'pmirror_tee_shadow_dropped_total{reason="queue_full"}')
[ "$n" -gt 0 ] && ok || bad "stopped shadow: drops counted ($n)"
rss=$(rss_kb "$iso_tee")
[ "$rss" -lt 204800 ] && ok || bad "memory while the shadow is stopped: $rss KiB"
kill -CONT "$iso_shadow_pid"
kill "$iso_shadow_pid"
wait "$iso_shadow_pid" 2>/dev/null
isolated
refused=$res
[ "$errs" -eq 0 ] && ok || bad "refusing shadow: $errs client errors: $refused"
within "$(field "$refused" p99_ms)" "$good_p99" && ok || bad "refusing shadow slows the primary: $refused vs $good"
kill -TERM "$iso_tee"
wait "$iso_tee"

backend slow_shadow --delay-ms 10000
start_tee slow --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$port" --queue 16 --concurrency 4 \
    --shadow-timeout 30 --drain-seconds 2 --out-dir "$WORK/slow-report" --metrics 127.0.0.1:0
IT=$tport
IM=$(metrics_url slow)
isolated
slow=$res
[ "$errs" -eq 0 ] && ok || bad "10-second shadow: $errs client errors: $slow"
within "$(field "$slow" p99_ms)" "$good_p99" && ok || bad "10-second shadow slows the primary: $slow vs $good"
$CHECK metrics "$IM" >"$WORK/m3.json"
n=$(metric "$WORK/m3.json" 'pmirror_tee_shadow_dropped_total{reason="queue_full"}')
[ "$n" -gt 0 ] && ok || bad "10-second shadow: drops counted ($n)"
# SIGTERM with shadows in flight: at most --drain-seconds, then the final report, exit 0
t0=$(date +%s%N)
kill -TERM "$slow_tee"
wait "$slow_tee"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" -eq 0 ] && ok || bad "drain exit $rc: $(cat "$WORK/slow.tee.err")"
[ "$ms" -lt 6000 ] && ok || bad "drain took $ms ms (--drain-seconds 2)"
grep -q "abandoned" "$WORK/slow.tee.err" && ok || bad "drain reports abandoned shadows: $(cat "$WORK/slow.tee.err")"
[ -s "$WORK/slow-report/report.json" ] && ok || bad "final report after a bounded drain"

finish
