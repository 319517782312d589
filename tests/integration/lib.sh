# SPDX-License-Identifier: Apache-2.0
# lib.sh — shared helpers for the integration tests: each test script sources it, runs
# the built binary ($PMIRROR_BIN) in a temporary directory and counts its checks.
# Sourced, not run (its name has no test of its own: ctest runs *.sh except this one).
set -u
PMIRROR=${PMIRROR_BIN:?PMIRROR_BIN must name the built pmirror}
SRC=${PMIRROR_SOURCE_DIR:?PMIRROR_SOURCE_DIR must name the source tree}
WORK=$(mktemp -d /tmp/pmirror-it.XXXXXX)
# PMIRROR_WRAPPER (e.g. "valgrind --error-exitcode=99 ..."; the ctest label `valgrind` sets
# it): every run of the binary goes through it. $PMIRROR becomes a two-line script, so the
# tests need not know, and a test's $! or kill still reaches the wrapped process (exec).
if [ -n "${PMIRROR_WRAPPER:-}" ]; then
    mkdir -p "$WORK/.wrapper"
    printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$PMIRROR_WRAPPER" "$PMIRROR" >"$WORK/.wrapper/pmirror"
    chmod +x "$WORK/.wrapper/pmirror"
    PMIRROR=$WORK/.wrapper/pmirror
fi
# python3 resolved once: when the python3 on PATH is a version manager's shim (pyenv's is a
# bash script that runs `pyenv exec`: 0.3 s to over 1 s a start on a busy machine), a link
# to the interpreter it picks goes first on PATH, for this script and all it starts. The
# tests start Python hundreds of times; the interpreter they get is the same. ctest gives
# that interpreter in PMIRROR_PYTHON (found at configure time, tests/CMakeLists.txt); run
# by hand, the shim is asked.
pm_python=$(command -v python3 || true)
if [ -n "$pm_python" ] && [ "$(head -c 2 "$pm_python" 2>/dev/null)" = '#!' ]; then
    if [ -n "${PMIRROR_PYTHON:-}" ] && [ -x "$PMIRROR_PYTHON" ]; then
        pm_python=$PMIRROR_PYTHON
    else
        pm_python=$("$pm_python" -c 'import sys; print(sys.executable)' 2>/dev/null)
    fi
    if [ -x "$pm_python" ]; then
        mkdir -p "$WORK/.bin" && ln -s "$pm_python" "$WORK/.bin/python3" && export PATH="$WORK/.bin:$PATH"
    fi
fi
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# run CMD... : runs it, capturing $out, $err and $rc
run() {
    out=$("$@" 2>"$WORK/.stderr"); rc=$?
    err=$(<"$WORK/.stderr")
}

# (grep reads here-strings: a process fewer than printf | grep, thousands of times a suite;
# an empty text matches nothing, as grep on no input)
expect_rc() { [ "$rc" -eq "$1" ] && ok || bad "$2: exit $rc, want $1 (stderr: $err)"; }
expect_out() { [ -n "$out" ] && grep -q -- "$1" <<<"$out" && ok || bad "$2: stdout lacks '$1': $out"; }
expect_err() { [ -n "$err" ] && grep -q -- "$1" <<<"$err" && ok || bad "$2: stderr lacks '$1': $err"; }
expect_one_err_line() {
    n=$(grep -c . <<<"$err")
    [ "$n" -eq 1 ] && ok || bad "$1: want one stderr line, got $n: $err"
}

# Background servers the test starts: killed, and $WORK removed, at exit; before that, the
# commands a test registered with `at_exit CMD` (e.g. unmounting what it mounted) run.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pids=()
exit_hooks=()
at_exit() { exit_hooks+=("$1"); }
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null
      for h in "${exit_hooks[@]}"; do eval "$h"; done; rm -rf "$WORK"' EXIT

# start_server NAME: a fault_server.py on a free loopback port, logging every request to
# $WORK/NAME.log; sets $port.
start_server() {
    command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }
    : >"$WORK/$1.log"; : >"$WORK/$1.port"
    python3 "$HERE/fault_server.py" 0 "$WORK/$1.log" >"$WORK/$1.port" 2>"$WORK/$1.err" &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^PORT //p' "$WORK/$1.port")
        [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "FAIL: fault_server $1 did not start: $(cat "$WORK/$1.err")"; exit 1
}

# wait_for SECONDS CMD...: until CMD succeeds (true) or the time is up (false)
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

# nginx_conf_head: the start of the nginx.conf a test runs Debian's nginx with, in the
# foreground, its pid, logs and temporary files under $WORK/nginx; the caller adds its
# upstreams and servers and closes the http block.
nginx_conf_head() {
    cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
EOF
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
