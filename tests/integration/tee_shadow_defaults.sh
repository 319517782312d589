# SPDX-License-Identifier: Apache-2.0
# tee_shadow_defaults.sh — the shadow side's threads when nothing is said: the CPUs the
# front's event loops leave, at least two, each at niceness 2 (README "Shadow workers"), and
# what --shadow-workers / --shadow-nice set instead. Read off /proc: the threads are named
# tee-loop and tee-shadow.
. "$(dirname "$0")/lib.sh"
. "$HERE/tee_helpers.bash"

start_server primary
primary=$port
start_server shadow
shadow=$port

# threads NAME PID → how many of PID's threads are named NAME; nices NAME PID → their nice
# values, one per line (field 19 of /proc/PID/task/TID/stat, after the command's parentheses)
threads() { grep -lx "$1" /proc/"$2"/task/*/comm 2>/dev/null | wc -l; }
has_threads() { [ "$(threads "$1" "$2")" -ge "$3" ]; } # NAME PID N
nices() {
    local comm
    for comm in /proc/"$2"/task/*/comm; do
        [ "$(cat "$comm" 2>/dev/null)" = "$1" ] || continue
        sed 's/.*) //' "${comm%/comm}/stat" | awk '{ print $17 }'
    done
}

cpus=$(getconf _NPROCESSORS_ONLN)
loops=$((cpus / 2 > 0 ? cpus / 2 : 1))
want=$((cpus - loops > 2 ? cpus - loops : 2))

start_tee defaults --primary "http://127.0.0.1:$primary" --shadow "http://127.0.0.1:$shadow" -q
wait_for 30 has_threads tee-shadow "$defaults_tee" "$want"
got=$(threads tee-shadow "$defaults_tee")
[ "$got" -eq "$want" ] && ok || bad "$got shadow threads by default on $cpus CPUs ($loops loops), want $want"
[ "$(threads tee-loop "$defaults_tee")" -eq "$loops" ] && ok || bad "$(threads tee-loop "$defaults_tee") event loops, want $loops"
# the process's own niceness (0 unless the test runs niced): the loops keep it; the shadow
# threads go to 2 (an unprivileged thread cannot go below what it has)
base=$(sed 's/.*) //' /proc/"$defaults_tee"/stat | awk '{ print $17 }')
want_nice=$((base > 2 ? base : 2))
niced=$(nices tee-shadow "$defaults_tee" | sort -u | tr '\n' ' ')
[ "$niced" = "$want_nice " ] && ok || bad "the shadow threads' nice values: '$niced', want $want_nice each"
[ "$(nices tee-loop "$defaults_tee" | sort -u | tr '\n' ' ')" = "$base " ] && ok ||
    bad "the loops' nice values: $(nices tee-loop "$defaults_tee" | tr '\n' ' '), want the process's $base"
kill "$defaults_tee"
wait "$defaults_tee" 2>/dev/null

start_tee given --primary "http://127.0.0.1:$primary" --shadow "http://127.0.0.1:$shadow" -q \
    --workers 1 --shadow-workers 1 --shadow-nice 0
wait_for 30 has_threads tee-shadow "$given_tee" 1
[ "$(threads tee-shadow "$given_tee")" -eq 1 ] && ok || bad "--shadow-workers 1 gave $(threads tee-shadow "$given_tee") threads"
[ "$(nices tee-shadow "$given_tee" | tr '\n' ' ')" = "$base " ] && ok || bad "--shadow-nice 0 gave '$(nices tee-shadow "$given_tee")', want the process's $base"
kill "$given_tee"
wait "$given_tee" 2>/dev/null

finish
