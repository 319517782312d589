#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# diff.sh — `pmirror diff` speed and memory against a plain Python 3 script measured in the
# same run, on the same generated result file (bench/gen_results.py: Quay-shaped exchanges
# answered by `python` and `go`, JSON bodies of 1-20 KiB encoded as each side's encoder
# does — key order, whitespace, escapes, 3.0 vs 3 — ~15% of bodies gzipped, times and
# tokens differing the way config/quay/rules.yaml allows, ~2% of records with a real
# difference):
#   pmirror  `pmirror diff -i RESULTS -o -` (stdout to /dev/null), the full normalization
#            under the shipped profile's rules;
#   peer     bench/diff_peer.py: json.loads each line and both bodies (gunzipped when
#            gzip), compare with == — stdlib only, no normalization.
# Goals (the issue): pmirror / peer records/s >= 3, and pmirror's peak RSS flat as the file
# grows (1x vs 4x the records; "flat" taken as 4x/1x <= 1.25).
# Each program runs 3 times on the 1x file, alternating, so drift on a shared machine hits
# both, and the medians are printed; the 4x file is run once, by pmirror only. MB/s is the
# result file's size over the time.
# One more run of pmirror on the 1x file, untimed, writes its diff records to a file: its
# verdicts are checked against what the generator did (every changed record a mismatch,
# every other one a match, so ~98% match); when they disagree the 5 most common
# differences on unchanged records (where, path with [*], kind) show which normalization
# is missing.
# Why `-o -` and not `-o /dev/null`: pmirror creates its outputs 0600 and fchmods an
# existing file to 0600, which as root would make /dev/null unusable to other users.
# Exit status: 1 when the verdict check or a record count fails, else 0 — goals are
# reported, not enforced: the machine is shared and noisy.
# Usage: bench/diff.sh [RECORDS]   (default 30000; the 4x file has 4 times as many)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-30000}
RUNS=3
GOAL_PEER=3 GOAL_RSS=1.25
BUILD=build-dbench

if ! [[ $RECORDS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bench/diff.sh [RECORDS]" >&2
    exit 2
fi

# ---------------------------------------------------------------- set-up
. bench/lib.sh
echo "building pmirror in $BUILD/ ..."
bench_build "$BUILD" pmirror
PMIRROR=$PWD/$BUILD/pmirror
bench_tmp

# ---------------------------------------------------------------- helpers
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# ---------------------------------------------------------------- the result files
X1=$TMP/x1.jsonl X4=$TMP/x4.jsonl EXPECT=$TMP/expect.txt
echo "generating $RECORDS and $((RECORDS * 4)) result records (bench/gen_results.py) ..."
read -r _ CHANGED1 SIZE1 BODY1 GZ1 EQ1 <<<"$(python3 bench/gen_results.py "$X1" "$RECORDS" --expect "$EXPECT")"
read -r _ _ SIZE4 _ _ _ <<<"$(python3 bench/gen_results.py "$X4" "$((RECORDS * 4))")"

# ---------------------------------------------------------------- the verdict check (untimed)
echo "checking one run's verdicts (1x, to a file) ..."
"$PMIRROR" diff -i "$X1" -o "$TMP/diffs.jsonl" 2>"$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
CHECK=$(python3 - "$TMP/diffs.jsonl" "$EXPECT" "$RECORDS" <<'PY'
import collections, json, re, sys
changed = {}
for line in open(sys.argv[2]):
    rid, how, where = line.split(None, 2)
    changed[rid] = "%s %s" % (how, where.strip())
records = int(sys.argv[3])
verdicts, shapes, missed, spurious = collections.Counter(), collections.Counter(), [], 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    verdicts[d["verdict"]] += 1
    if d["id"] in changed:
        if d["verdict"] != "mismatch":
            missed.append("%s (%s): %s" % (d["id"], changed[d["id"]], d["verdict"]))
    elif d["verdict"] != "match":
        spurious += 1
        for x in d["differences"]:
            shapes[(x["where"], re.sub(r"\[\d+\]", "[*]", x["path"]), x["kind"])] += 1
n = sum(verdicts.values())
ok = n == records and not missed and not spurious
print("pmirror: %d records: %d match (%.2f%%), %d mismatch, %d error, %d skipped" % (
    n, verdicts["match"], 100.0 * verdicts["match"] / max(n, 1), verdicts["mismatch"], verdicts["error"],
    verdicts["skipped"]))
print("generated: %d records with a real difference (%.2f%% unchanged, so that share should match)" % (
    len(changed), 100.0 * (records - len(changed)) / records))
print("check: %d of %d changed records found, %d unchanged records not a match: %s" % (
    len(changed) - len(missed), len(changed), spurious, "OK" if ok else "WRONG"))
for m in missed[:5]:
    print("  changed but %s" % m)
if shapes:
    print("  most common differences on unchanged records (where, path, kind: count):")
    for (where, path, kind), count in shapes.most_common(5):
        print("    %-7s %-40s %-8s %d" % (where, path, kind, count))
PY
)

# ---------------------------------------------------------------- timed runs on the 1x file
T="" K="" U="" PT="" PK="" PU="" PEER_N="" PEER_EQ=""
for i in $(seq "$RUNS"); do
    echo "run $i/$RUNS: pmirror diff, python peer ..."
    measure /dev/null "$PMIRROR" diff -i "$X1" -o -
    T+="$SECS " K+="$RSS_KB " U+="$CPU "
    measure "$TMP/peer.out" python3 bench/diff_peer.py "$X1"
    PT+="$SECS " PK+="$RSS_KB " PU+="$CPU "
    read -r n eq _ _ <"$TMP/peer.out"
    PEER_N+="$n " PEER_EQ=$eq
done
echo "run 1/1 on the 4x file: pmirror diff ..."
measure /dev/null "$PMIRROR" diff -i "$X4" -o -
T4=$SECS K4=$RSS_KB U4=$CPU

S1=$(med "$T") R1=$(med "$K") CPU1=$(med "$U")
SP=$(med "$PT") RP=$(med "$PK") CPUP=$(med "$PU")
RPS1=$(per_s "$RECORDS" "$S1") RPSP=$(per_s "$RECORDS" "$SP") RPS4=$(per_s "$((RECORDS * 4))" "$T4")
PEER_N=$(tr ' ' '\n' <<<"$PEER_N" | grep . | sort -u | paste -sd/)

# ---------------------------------------------------------------- the table
echo
printf 'diff bench: 1x = %d records, %s (%s of decoded bodies, 2 a record, 1-20 KiB; %d of %d bodies gzipped;\n' \
    "$RECORDS" "$(mb "$SIZE1")" "$(mb "$BODY1")" "$GZ1" "$((RECORDS * 2))"
printf '            %d records byte-equal, %d with a real difference); 4x = %d records, %s\n' \
    "$EQ1" "$CHANGED1" "$((RECORDS * 4))" "$(mb "$SIZE4")"
printf '%-32s %8s %8s %10s %8s %10s\n' "1x file (medians)" "seconds" "cpu s" "records/s" "MB/s" "peak RSS"
printf '%-32s %8s %8s %10s %8s %10s\n' "pmirror diff ($RUNS runs)" "$S1" "$CPU1" "$RPS1" "$(mbps "$SIZE1" "$S1")" \
    "$(human_kb "$R1")"
printf '%-32s %8s %8s %10s %8s %10s\n' "python json.loads + == ($RUNS runs)" "$SP" "$CPUP" "$RPSP" \
    "$(mbps "$SIZE1" "$SP")" "$(human_kb "$RP")"
printf '%-32s %8s %8s %10s %8s %10s\n' "4x file: pmirror diff (1 run)" "$T4" "$U4" "$RPS4" "$(mbps "$SIZE4" "$T4")" \
    "$(human_kb "$K4")"
echo
r_peer=$(awk -v a="$RPS1" -v b="$RPSP" 'BEGIN { printf "%.2f", a / b }')
r_rss=$(awk -v a="$K4" -v b="$R1" 'BEGIN { printf "%.2f", a / b }')
printf '%-32s %9s %9s %8s\n' "goal" "measured" "goal" "verdict"
printf '%-32s %9s %9s %8s\n' "pmirror / peer (records/s)" "${r_peer}x" ">= ${GOAL_PEER}x" \
    "$(verdict "$r_peer" ">=" "$GOAL_PEER")"
printf '%-32s %9s %9s %8s   (%s at 4x, %s at 1x)\n' "pmirror peak RSS 4x / 1x" "${r_rss}x" "<= ${GOAL_RSS}x" \
    "$(verdict "$r_rss" "<=" "$GOAL_RSS")" "$(human_kb "$K4")" "$(human_kb "$R1")"
echo
echo "verdicts (1x, one run to a file):"
sed 's/^/  /' <<<"$CHECK"
echo "  peer (plain ==, no normalization): $PEER_EQ of $PEER_N records equal"

status=0
[ "$PEER_N" = "$RECORDS" ] || { echo "peer read $PEER_N records, want $RECORDS: WRONG"; status=1; }
case $CHECK in *": OK"*) ;; *) status=1 ;; esac
exit $status
