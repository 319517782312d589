#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# valgrind.sh LOGDIR CMD [ARG]... — runs one integration test with every pmirror process it
# starts under valgrind's memcheck (label `valgrind`, see tests/CMakeLists.txt), and fails
# it when valgrind reported anything, whatever the test's own verdict.
#
# The test's $PMIRROR goes through PMIRROR_WRAPPER (tests/integration/lib.sh). Valgrind
# writes to LOGDIR/vg.<pid>, not to pmirror's stderr, so the tests' checks of stderr hold;
# -q leaves a file empty unless there was an error (invalid read or write, use of an
# uninitialised value, a bad free, a definite leak). --error-exitcode=99 makes the run
# fail too, for the tests that check exit codes. Third-party false positives are suppressed
# in tests/valgrind.supp.
set -u
logdir=$1
shift
rm -rf "$logdir" && mkdir -p "$logdir" || exit 1
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (apt-get install valgrind)"; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PMIRROR_WRAPPER="valgrind -q --suppressions=$here/valgrind.supp --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$logdir/vg.%p"
"$@"
rc=$?
reports=$(find "$logdir" -type f -size +0 | sort)
if [ -n "$reports" ]; then
    for f in $reports; do
        echo "==== valgrind report $f" >&2
        cat "$f" >&2
    done
    echo "FAIL: valgrind reports (above) in $logdir" >&2
    exit 1
fi
exit $rc
