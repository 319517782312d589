#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sanitized.sh LOGDIR CMD [ARG]... — runs one test of a sanitizer build (PMIRROR_SANITIZE)
# and fails it when any sanitizer wrote a report, whatever the test's own verdict.
#
# Why a wrapper: Criterion runs each test in a child process and reads its verdict before
# the child exits, so a leak LeakSanitizer finds at the child's exit does not fail the test;
# and an integration script captures pmirror's stderr (or throws it away), so a report
# there may never reach ctest. Every instrumented process of the test writes its reports to
# LOGDIR/<tool>.<pid> instead (ASan, LSan and UBSan's log_path); after the test this
# prints them and fails when there is one. Known leaks of third-party code are suppressed
# in tests/lsan.supp (nothing of ours may be listed there). Build with clang (make sanitize
# does): gcc's UBSan ignores log_path and reports on stderr, where only a test that checks
# exit codes or stderr would notice.
set -u
logdir=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$logdir" && mkdir -p "$logdir" || exit 1
# Leak checking on; every error ends the process (-fno-sanitize-recover=all does the same
# at compile time for UBSan); reports go to files. ASan's exitcode stays 1 and LSan's 23,
# so a test that checks exit codes sees them too. fast_unwind_on_malloc=0: leak stacks
# through libcriterion (built without frame pointers) are complete, so the suppression
# can name the Criterion runner function they pass through.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$logdir/asan:${PMIRROR_ASAN_EXTRA:-}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan"
"$@"
rc=$?
reports=$(find "$logdir" -type f -size +0 | sort)
if [ -n "$reports" ]; then
    for f in $reports; do
        echo "==== sanitizer report $f" >&2
        cat "$f" >&2
    done
    echo "FAIL: sanitizer reports (above) in $logdir" >&2
    exit 1
fi
exit $rc
