# SPDX-License-Identifier: Apache-2.0
# stdout_closed.sh — issue 17 item 14: when the reader of standard output goes away
# (`pmirror cat BIG | head -1`), a command ends quietly with status 0, as coreutils do, not
# with "write failed: Broken pipe" and exit 2: cat, diff -o -, export --har -o -, classify,
# report's Markdown table, gate's proposal. gate keeps its answer (1 when a family may not be
# promoted): a reader leaving early must not turn a failed gate into a pass. An input error
# while the reader has left is still told.
. "$(dirname "$0")/lib.sh"

for _ in $(seq 40); do cat "$SRC/fixtures/diff/quay_golden.results.jsonl"; done >"$WORK/big.jsonl" # 5 MB

# the shell's pipe: head reads one line and leaves
"$PMIRROR" cat "$WORK/big.jsonl" 2>"$WORK/head.err" | head -1 >"$WORK/head.out"
st=${PIPESTATUS[0]}
[ "$st" -eq 0 ] && ok || bad "cat BIG | head -1: exit $st, want 0 ($(cat "$WORK/head.err"))"
[ ! -s "$WORK/head.err" ] && ok || bad "cat BIG | head -1: stderr: $(cat "$WORK/head.err")"
[ "$(wc -l <"$WORK/head.out")" -eq 1 ] && ok || bad "head got no line"
(set -o pipefail; "$PMIRROR" cat "$WORK/big.jsonl" 2>/dev/null | head -c 10 >/dev/null) && ok \
    || bad "cat BIG | head -c 10 under pipefail: exit $?"

# closed_run WANT CMD...: CMD with a stdout whose reader has already gone (a pipe with its
# read end closed, so every write fails with EPIPE, whatever the timing); exit WANT, stderr
# empty
closed_run() {
    local want=$1
    shift
    python3 - "$want" "$@" <<'PY' && ok || bad "closed stdout: $*"
import os, subprocess, sys
want = int(sys.argv[1])
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[2:], stdout=w, stderr=subprocess.PIPE)
os.close(w)
# what a command says on stderr when all is well (which profile and gate) is not an error
said = b"".join(l for l in p.stderr.splitlines(True) if b": profile " not in l or b", gate " not in l)
if p.returncode != want or said:
    print("exit %d (want %d), stderr: %r" % (p.returncode, want, p.stderr.decode(errors="replace")[:300]), file=sys.stderr)
    sys.exit(1)
PY
}

closed_run 0 "$PMIRROR" cat "$WORK/big.jsonl"
closed_run 0 "$PMIRROR" cat - <"$WORK/big.jsonl"
closed_run 0 "$PMIRROR" diff -i "$SRC/fixtures/diff/quay_golden.results.jsonl" -o - --progress never
closed_run 0 "$PMIRROR" export --har "$WORK/big.jsonl" -o - -q
closed_run 0 "$PMIRROR" classify GET /v2/
printf 'GET /v2/\nPOST /api/v1/signin\n' >"$WORK/requests.txt"
closed_run 0 "$PMIRROR" classify --stdin <"$WORK/requests.txt"
closed_run 0 "$PMIRROR" report -i "$SRC/fixtures/report/current.diffs.jsonl.gz" --out-dir "$WORK/report" \
    --progress never
[ -s "$WORK/report/report.json" ] && ok || bad "report wrote no report.json"
# the fixture's report holds families on hold: the gate says 1 whether or not anyone reads
run "$PMIRROR" gate "$WORK/report/report.json"
gate_rc=$rc
[ "$gate_rc" -eq 1 ] && ok || bad "gate on the fixture's report: exit $gate_rc, want 1"
closed_run "$gate_rc" "$PMIRROR" gate "$WORK/report/report.json"

# an input error is still told, with a reader gone or not
python3 - "$PMIRROR" "$WORK/missing.jsonl" <<'PY' && ok || bad "cat MISSING with a closed stdout is not an error"
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run([sys.argv[1], "cat", sys.argv[2]], stdout=w, stderr=subprocess.PIPE)
sys.exit(not (p.returncode == 2 and b"missing.jsonl" in p.stderr))
PY
# a full disk is still an error (only a reader leaving is quiet)
if [ -w /dev/full ]; then
    run sh -c "\"$PMIRROR\" cat \"$WORK/big.jsonl\" >/dev/full"
    expect_rc 2 "cat >/dev/full"
    expect_err "write failed" "cat >/dev/full names the failure"
fi

finish
