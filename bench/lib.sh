# SPDX-License-Identifier: Apache-2.0
# lib.sh — what the benchmarks share, sourced by bench/*.sh (never run on its own): building
# pmirror in the script's own build directory, installing a missing peer, a scratch
# directory cleaned up on exit with the background servers it started, timing a command
# (wall clock, CPU and peak RSS), medians and ratios for the tables, free loopback ports, the
# two-target suite, nginx started from a config body, and the wrk script that rotates
# through a URL list.
# One copy of each, so every bench measures and prints the same way.
# shellcheck shell=bash disable=SC2034  # SECS, CPU, RSS_KB, TMP are the callers' to read

# bench_build DIR TARGET...: configures (tests off) and builds TARGET... in DIR.
bench_build() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -DPMIRROR_TESTS=OFF >/dev/null
    cmake --build "$dir" -j 2 --target "$@" >/dev/null
}

# bench_need PKG...: installs the Debian packages whose command is missing (the command is
# the package's name; nginx may live in /usr/sbin).
bench_need() {
    local missing=() p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing ${missing[*]} (apt-get) ..."
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# bench_tmp: TMP, a scratch directory (mode 755: nginx's workers run as nobody when
# started by root and must read a docroot in it), removed on exit after every process
# bench_track'ed is stopped.
BENCH_PIDS=()
bench_track() { BENCH_PIDS+=("$@"); }
bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
bench_tmp() {
    TMP=$(mktemp -d)
    chmod 755 "$TMP"
    trap bench_cleanup EXIT
}

# measure OUT CMD...: runs CMD (stdout to OUT, stderr to $TMP/err) and sets SECS (wall
# clock), CPU (user + system seconds), RSS_KB (peak resident set size of the child) and RC
# (its exit status). Fails when CMD exits with more than MEASURE_MAX_RC (default 0: a
# gate's 1 is a result, not a failure, with MEASURE_MAX_RC=1).
measure_failed() { # RC CMD...
    [ "$1" -le "${MEASURE_MAX_RC:-0}" ] && return 1
    echo "failed (exit $1): ${*:2}" >&2
    cat "$TMP/err" >&2
}
if /usr/bin/time -v true >/dev/null 2>&1; then
    measure() {
        local out=$1 t0 t1
        shift
        RC=0
        t0=$(date +%s%N)
        /usr/bin/time -v -o "$TMP/time" "$@" >"$out" 2>"$TMP/err" || RC=$?
        measure_failed "$RC" "$@" && return 1
        t1=$(date +%s%N)
        SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        RSS_KB=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$TMP/time")
        CPU=$(awk -F': *' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$TMP/time")
    }
else
    measure() {
        RC=0
        # No GNU time (package `time`): the child's rusage (ru_maxrss: KiB on Linux) via python3.
        python3 -c '
import resource, subprocess, sys, time
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
    t0 = time.perf_counter()
    rc = subprocess.call(sys.argv[4:], stdout=out, stderr=err)
    secs = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[3], "w") as f:
    f.write("%.3f %d %.2f\n" % (secs, ru.ru_maxrss, ru.ru_utime + ru.ru_stime))
sys.exit(rc)' "$1" "$TMP/err" "$TMP/time" "${@:2}" || RC=$?
        measure_failed "$RC" "${@:2}" && return 1
        read -r SECS RSS_KB CPU <"$TMP/time"
    }
fi

# median: of the numbers on stdin, one a line; med "A B C": of a space-separated list.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
human_kb() { awk -v k="$1" 'BEGIN { if (k >= 1048576) printf "%.2f GB", k / 1048576; else printf "%.1f MB", k / 1024 }'; }
# verdict VALUE OP GOAL: PASS or MISS (OP is >= or <=)
verdict() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? v >= g : v <= g; print ok ? "PASS" : "MISS" }'; }

free_ports() { # [N]: N (default 2) free TCP ports on 127.0.0.1, space-separated
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "${1:-2}"
}
wait_port() { # PORT: until something accepts there (5 s at most)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# bench_suite FILE PORT1 PORT2: a suite with the shipped Quay profile, `python` (baseline)
# on 127.0.0.1:PORT1 and `go` (candidate) on 127.0.0.1:PORT2.
bench_suite() {
    cat >"$1" <<EOF
profile: $PWD/config/quay
targets:
  - {name: python, url: "http://127.0.0.1:$2", role: baseline}
  - {name: go, url: "http://127.0.0.1:$3", role: candidate}
EOF
}

# ---------------------------------------------------------------- nginx
nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }
nginx_version() { "$(nginx_bin)" -v 2>&1 | sed 's/.*nginx\///'; }

# nginx_http_common DIR: the http-block directives every bench server shares (no logs, JSON
# by default, keep-alive for the whole run, temp paths in DIR).
nginx_http_common() {
    cat <<EOF
access_log off; types {} default_type application/json; sendfile on; tcp_nodelay on;
    keepalive_requests 100000000; keepalive_timeout 300s;
    client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
EOF
}

# nginx_start NAME CONFIG-BODY: one nginx in the foreground of a background job, its
# prefix, pid file and error log in $TMP/NAME (tracked: stopped on exit).
nginx_start() {
    local dir=$TMP/$1
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$2
EOF
    "$(nginx_bin)" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/out" 2>&1 &
    bench_track $!
}

# nginx_logs NAME: what it said (when it did not start).
nginx_logs() { cat "$TMP/$1/out" "$TMP/$1/error.log" 2>/dev/null; }

# ---------------------------------------------------------------- wrk
# wrk_rotation_lua FILE: writes the wrk script that sends the URL list given after `--`,
# each request pre-formatted once per thread, in rotation (each thread from its own start).
wrk_rotation_lua() {
    cat >"$1" <<'EOF'
local reqs, n, i, threads = {}, 0, 0, 0
function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end
function init(args)
    local headers = {["Host"] = "quay.example", ["Accept"] = "application/json"}
    for path in io.lines(args[1]) do
        n = n + 1
        reqs[n] = wrk.format("GET", path, headers)
    end
    i = ((id or 1) * 4999) % n
end
function request()
    i = i % n + 1
    return reqs[i]
end
EOF
}
