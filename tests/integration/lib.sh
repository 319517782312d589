# lib.sh — shared helpers for the integration tests: each test script sources it, runs
# the built binary ($PMIRROR_BIN) in a temporary directory and counts its checks.
# Sourced, not run (its name has no test of its own: ctest runs *.sh except this one).
set -u
PMIRROR=${PMIRROR_BIN:?PMIRROR_BIN must name the built pmirror}
SRC=${PMIRROR_SOURCE_DIR:?PMIRROR_SOURCE_DIR must name the source tree}
WORK=$(mktemp -d /tmp/pmirror-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# run CMD... : runs it, capturing $out, $err and $rc
run() {
    out=$("$@" 2>"$WORK/.stderr"); rc=$?
    err=$(cat "$WORK/.stderr")
}

expect_rc() { [ "$rc" -eq "$1" ] && ok || bad "$2: exit $rc, want $1 (stderr: $err)"; }
expect_out() { printf '%s' "$out" | grep -q -- "$1" && ok || bad "$2: stdout lacks '$1': $out"; }
expect_err() { printf '%s' "$err" | grep -q -- "$1" && ok || bad "$2: stderr lacks '$1': $err"; }
expect_one_err_line() {
    n=$(printf '%s\n' "$err" | grep -c .)
    [ "$n" -eq 1 ] && ok || bad "$1: want one stderr line, got $n: $err"
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
