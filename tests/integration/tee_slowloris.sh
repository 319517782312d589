#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_slowloris.sh — proxy mode holds under slowloris, on loopback only, in about 30 s:
# 1 100 connections from 127.0.0.2 dribble one byte of a request head every 2 s (a closed
# one comes back at its next tick) while a client on 127.0.0.1 makes 400 ordinary GETs,
# one new connection each, 20 ms apart (about 9 s: four rounds of cuts and reconnects). Every GET must be answered, p99 under 100 ms; the attacker
# gets --max-per-ip (64) connections at once across both workers, the rest are refused at
# once, and the 64 are closed at --header-timeout (2 s here) because their heads never
# end; the metrics count both. A keep-alive client's idle time counts towards its next
# head. (tee_slowloris.py is both sides.)
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"
SLOW="python3 $HERE/tee_slowloris.py"

# the attacker's 1 100 sockets (and the tee's, which raises its own soft limit as needed)
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 1200 ] || { echo "FAIL: ulimit -n $(ulimit -n) < 1200"; exit 1; }

run "$PMIRROR" tee --help
for flag in --header-timeout --max-per-ip; do expect_out "$flag" "tee --help lists $flag"; done
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary http://127.0.0.1:1 --shadow http://127.0.0.1:1 --header-timeout x
expect_rc 2 "--header-timeout x"
expect_one_err_line "--header-timeout x"

backend primary
P=$port
start_tee main --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$P" --workers 2 --header-timeout 2 \
    --max-per-ip 64 --metrics 127.0.0.1:0
T=$tport
MURL=$(metrics_url main)

# a keep-alive connection: answered twice (1 s idle between), then closed ~2 s after its
# last answer (run beside the attack: it shares nothing with it)
$SLOW idle "$T" "$WORK/idle.json" &
idle_pid=$!
pids+=("$idle_pid")

# the attack lasts until the client is done (30 s at most)
$SLOW attack "$T" 30 "$WORK/attack.json" --stop-file "$WORK/stop" >"$WORK/attack.out" 2>"$WORK/attack.err" &
attack_pid=$!
pids+=("$attack_pid")
wait_until 15 grep -q READY "$WORK/attack.out" || { bad "the attacker did not start: $(cat "$WORK/attack.err")"; finish; exit; }
sleep 1 # the refused ones have been refused, the first deadlines are near
$SLOW client "$T" 400 "$WORK/client.json" --budget 15 --timeout 2
touch "$WORK/stop"
wait "$attack_pid"
wait "$idle_pid"
eval "$($SLOW vars client="$WORK/client.json" attack="$WORK/attack.json" idle="$WORK/idle.json")"
echo "client: $client_json"
echo "attacker: $attack_json"
echo "keep-alive: $idle_json"

# every legitimate request answered, fast
[ "${client_answered:-0}" -eq 400 ] && [ "${client_unanswered:-1}" -eq 0 ] && ok ||
    bad "legitimate requests unanswered under slowloris: $client_json"
awk -v p="${client_p99_ms:-}" 'BEGIN { exit !(p != "" && p < 100) }' && ok ||
    bad "legitimate p99 under slowloris is not under 100 ms: $client_json"

# the attacker: 64 connections at once over both workers, the others refused at once;
# the 64 cut at the 2 s deadline (swept at most a loop turn late; none lives to 3.5 s)
n=${attack_max_established:-0}
[ "$n" -le 64 ] && [ "$n" -ge 32 ] && ok || bad "attacker connections held at once: $n, want 64 at most: $attack_json"
[ "${attack_refused:-0}" -ge 1000 ] && ok || bad "connections over --max-per-ip refused at once: $attack_json"
[ "${attack_cut:-0}" -ge 64 ] && ok || bad "dribbling connections cut at --header-timeout: $attack_json"
awk -v lo="${attack_cut_min_s:-0}" -v hi="${attack_cut_max_s:-99}" -v max="${attack_max_age_s:-99}" \
    'BEGIN { exit !(lo >= 1.9 && hi < 3.5 && max < 3.5) }' && ok ||
    bad "a dribbling connection lived outside [2 s, 3.5 s) of the 2 s deadline: $attack_json"

# keep-alive: the idle time after an answer counts towards the next head
[ "${idle_first:-}" = 200 ] && [ "${idle_second:-}" = 200 ] && ok ||
    bad "a keep-alive connection idle 1 s is served again: $idle_json"
awk -v s="${idle_idle_s:-99}" 'BEGIN { exit !(s >= 1.9 && s < 3.5) }' && ok ||
    bad "an idle keep-alive connection is closed 2 s after its answer: $idle_json"

# the metrics count it all
n=$(scrape "$MURL" 'pmirror_tee_connections_refused_total{reason="per_ip"}')
[ "$n" -ge 1000 ] && ok || bad "per-ip refusals counted: $n"
curl -s "$MURL" | grep -q '^pmirror_tee_connections_refused_total{reason="limit"} ' && ok ||
    bad "limit refusals not exposed"
n=$(scrape "$MURL" pmirror_tee_head_timeouts_total)
[ "$n" -ge 64 ] && ok || bad "head timeouts counted: $n"
# all closed, nothing left counted against 127.0.0.2: it may hold 64 connections again
open_now() { [ "$(scrape "$MURL" pmirror_tee_connections)" -eq 0 ]; }
wait_until 5 open_now && ok || bad "connections open after the attack: $(scrape "$MURL" pmirror_tee_connections)"
$SLOW attack "$T" 1 "$WORK/again.json" --conns 64 --every 5 >/dev/null
grep -q '"refused": 0,' "$WORK/again.json" && ok || bad "after the attack 127.0.0.2 may have 64 again: $(cat "$WORK/again.json")"

kill -TERM "$main_tee"
wait "$main_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exit $rc: $(cat "$WORK/main.tee.err")"
grep -q "refused over --max-per-ip" "$WORK/main.tee.err" && ok || bad "summary: $(cat "$WORK/main.tee.err")"

finish
