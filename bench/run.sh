#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh — `pmirror run` end to end against the four stages run one by one, in the same run,
# on the same generated capture (bench/gen_capture.py: EXCHANGES Quay-shaped GET exchanges,
# 60% manifests, 20% tag lists, 20% /api/v1 repositories) replayed against two nginx
# backends on loopback (Debian's nginx, one process, one worker):
#   python  (baseline)  serves gen_capture.py's docroot;
#   go      (candidate) serves a copy of it in which every 6th /api/v1 repository document
#           has a seeded bug (a missing `description`, or `tags: null` instead of the list):
#           REGISTRY_V2 all match and promotes, API_V1 mismatches and holds, so diff and
#           report do real work and the gate fails (exit 1 from both paths).
#   run     `pmirror run -c SUITE -i CAPTURE --out-dir DIR` (replay + diff + report + gate);
#   stages  `pmirror replay -o RESULTS`, `pmirror diff -i RESULTS -o DIFFS`, `pmirror report
#           -i DIFFS --out-dir DIR`, `pmirror gate DIR/report.json`, each timed; their sum.
# The stages' files are plain JSONL: the cheapest the separate path can do (with .gz names
# each stage also pays gzip).
# Goals (the issue): run >= GOAL_XPS exchanges/s (whole process: reading the capture to the
# reports written), and run at least as fast as the four stages together (their summed time
# / run's time >= 1). Both use the shipped Quay profile's rules; the gate file is the
# shipped thresholds with the latency budgets and capability coverage off (the two backends
# are one nginx: a p95 ratio would only be noise and flip decisions between runs; the
# bench covers 3 capabilities), so the two paths' decisions must be equal.
# Each path runs RUNS times, alternating (run first on odd rounds, the stages first on even
# ones), so drift on a shared machine hits both; medians are printed (the sum's median is
# of each round's sum).
# Check, on the last round: run's report.json equals the stages' (every family's and
# capability's total, match, mismatch, error, skipped, parity, decision, reasons; the
# proposal), both exit with the same status, and the counts are the generator's: every
# exchange compared, the mismatches exactly the exchanges that fetched a seeded document.
# Exit status: 1 when the check fails, else 0 — goals are reported, not enforced: the
# machine is shared and noisy.
# Usage: bench/run.sh [EXCHANGES] [RUNS]   (defaults 100000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
EXCHANGES=${1:-100000} RUNS=${2:-3}
C=32                      # pmirror's default concurrency
GOAL_XPS=10000 GOAL_RATIO=1
BUILD=build-runbench

for v in "$EXCHANGES" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/run.sh [EXCHANGES] [RUNS]" >&2; exit 2; }
done

# ---------------------------------------------------------------- set-up
. bench/lib.sh
echo "building pmirror in $BUILD/ ..."
bench_build "$BUILD" pmirror
PMIRROR=$PWD/$BUILD/pmirror
bench_need nginx
bench_tmp

# ---------------------------------------------------------------- capture, docroots, server
CAP=$TMP/capture.jsonl ROOT=$TMP/docroot GOROOT=$TMP/docroot-go
echo "generating $EXCHANGES exchanges and the docroot (bench/gen_capture.py) ..."
read -r _ SESSIONS SIZE <<<"$(python3 bench/gen_capture.py "$CAP" "$EXCHANGES" --docroot "$ROOT")"
# The go docroot: hard links to python's files, but for the seeded documents (new files).
# Prints how many documents were seeded, of how many, and how many exchanges fetch one.
read -r SEEDED DOCS WANT_MISMATCH <<<"$(python3 - "$ROOT" "$GOROOT" "$CAP" <<'PY'
import json, os, shutil, sys
root, goroot, cap = sys.argv[1:]
shutil.copytree(root, goroot, copy_function=os.link)
repos = os.path.join("api", "v1", "repository")
docs = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(goroot, repos)) for f in fs)
seeded = set()
for i, path in enumerate(docs[::6]):
    doc = json.load(open(path))
    if i % 2:
        doc["tags"] = None          # null instead of []
    else:
        del doc["description"]      # a missing field
    os.unlink(path)                 # a new file: python's link stays as it was
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    seeded.add("/" + os.path.relpath(path, goroot))
fetched = sum(json.loads(line)["request"]["target"].split("?")[0] in seeded for line in open(cap))
print(len(seeded), len(docs), fetched)
PY
)"

read -r P1 P2 <<<"$(free_ports 2)"
server_conf() { # PORT ROOT
    cat <<EOF
    server {
        listen 127.0.0.1:$1;
        root $2;
        location /v2/ { try_files \$uri =404; }
        location /api/v1/repository/ { try_files \$uri =404; }
        location / { return 404; }
    }
EOF
}
nginx_start nginx "$(cat <<EOF
worker_processes 1;
events { worker_connections 1024; }
http {
    $(nginx_http_common "$TMP/nginx")
$(server_conf "$P1" "$ROOT")
$(server_conf "$P2" "$GOROOT")
}
EOF
)"
if ! wait_port "$P1" || ! wait_port "$P2"; then
    echo "nginx did not start:" >&2
    nginx_logs nginx >&2
    exit 1
fi

bench_suite "$TMP/suite.yaml" "$P1" "$P2"
cat >"$TMP/gate.yaml" <<EOF
# config/quay/gate.yaml's defaults, latency budgets and capability coverage off (see above)
defaults: {min_samples: 200, min_parity_lower: 0.99, max_error_rate: 0.01, max_p95_ratio: null,
           max_p99_ratio: null, min_capability_coverage: 0}
EOF

# ---------------------------------------------------------------- the two paths
SUITE=(-c "$TMP/suite.yaml")
run_one() { # → SECS, CPU, RSS_KB, RC of `pmirror run`
    rm -rf "$TMP/one"
    MEASURE_MAX_RC=1 measure "$TMP/run.out" "$PMIRROR" run "${SUITE[@]}" -i "$CAP" --out-dir "$TMP/one" \
        --gate "$TMP/gate.yaml" --concurrency "$C" --progress never
}
# shellcheck disable=SC2034  # K_<stage> are read by name in record_stages
run_stages() { # → S_<stage> (seconds), U_<stage> (cpu), K_<stage> (RSS), GATE_RC
    rm -rf "$TMP/four" "$TMP/results.jsonl" "$TMP/diffs.jsonl"
    measure "$TMP/replay.out" "$PMIRROR" replay "${SUITE[@]}" -i "$CAP" -o "$TMP/results.jsonl" --concurrency "$C" \
        --progress never
    S_replay=$SECS U_replay=$CPU K_replay=$RSS_KB
    measure "$TMP/diff.out" "$PMIRROR" diff "${SUITE[@]}" -i "$TMP/results.jsonl" -o "$TMP/diffs.jsonl" --progress never
    S_diff=$SECS U_diff=$CPU K_diff=$RSS_KB
    measure "$TMP/report.out" "$PMIRROR" report "${SUITE[@]}" -i "$TMP/diffs.jsonl" --out-dir "$TMP/four" \
        --gate "$TMP/gate.yaml" --progress never
    S_report=$SECS U_report=$CPU K_report=$RSS_KB
    MEASURE_MAX_RC=1 measure "$TMP/gate.out" "$PMIRROR" gate "$TMP/four/report.json"
    S_gate=$SECS U_gate=$CPU K_gate=$RSS_KB GATE_RC=$RC
    RESULTS_MB=$(awk -v b="$(stat -c %s "$TMP/results.jsonl")" 'BEGIN { printf "%.0f", b / 1e6 }')
    DIFFS_MB=$(awk -v b="$(stat -c %s "$TMP/diffs.jsonl")" 'BEGIN { printf "%.0f", b / 1e6 }')
}

declare -A T U K
for k in run replay diff report gate sum; do T[$k]="" U[$k]="" K[$k]=""; done
record_run() { T[run]+="$SECS " U[run]+="$CPU " K[run]+="$RSS_KB "; RUN_RC=$RC; }
record_stages() {
    local s
    for s in replay diff report gate; do
        local sv=S_$s uv=U_$s kv=K_$s
        T[$s]+="${!sv} " U[$s]+="${!uv} " K[$s]+="${!kv} "
    done
    T[sum]+="$(awk -v a="$S_replay" -v b="$S_diff" -v c="$S_report" -v d="$S_gate" 'BEGIN { printf "%.3f", a + b + c + d }') "
    U[sum]+="$(awk -v a="$U_replay" -v b="$U_diff" -v c="$U_report" -v d="$U_gate" 'BEGIN { printf "%.2f", a + b + c + d }') "
}
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) -eq 1 ]; then
        echo "round $i/$RUNS: pmirror run, then replay, diff, report, gate ..."
        run_one; record_run
        run_stages; record_stages
    else
        echo "round $i/$RUNS: replay, diff, report, gate, then pmirror run ..."
        run_stages; record_stages
        run_one; record_run
    fi
done

# ---------------------------------------------------------------- the check (last round)
CHECK=$(python3 - "$TMP/one/report.json" "$TMP/four/report.json" "$EXCHANGES" "$WANT_MISMATCH" "$RUN_RC" \
    "$GATE_RC" <<'PY'
import json, sys
one, four = (json.load(open(p)) for p in sys.argv[1:3])
exchanges, want_mismatch, run_rc, gate_rc = (int(v) for v in sys.argv[3:7])
keys = ["total", "match", "mismatch", "error", "skipped", "parity", "decision", "reasons"]
def view(report):
    out = {}
    for fam, f in report["families"].items():
        out[fam] = {k: f.get(k) for k in keys}
        for cap, c in (f.get("capabilities") or {}).items():
            out[fam + "/" + cap] = {k: c.get(k) for k in keys}
    return out
a, b = view(one), view(four)
problems = []
for name in sorted(set(a) | set(b)):
    if a.get(name) != b.get(name):
        problems.append("%s: run %s, stages %s" % (name, a.get(name), b.get(name)))
if one.get("proposal") != four.get("proposal"):
    problems.append("proposal: run %s, stages %s" % (one.get("proposal"), four.get("proposal")))
if run_rc != gate_rc:
    problems.append("exit: run %d, gate %d" % (run_rc, gate_rc))
fams = one["families"]
total = sum(f["total"] for f in fams.values())
mismatch = sum(f["mismatch"] for f in fams.values())
match = sum(f["match"] for f in fams.values())
if total != exchanges or mismatch != want_mismatch or match != exchanges - want_mismatch:
    problems.append("counts: %d exchanges, %d match, %d mismatch; generated %d exchanges, %d fetching a seeded "
                    "document" % (total, match, mismatch, exchanges, want_mismatch))
print("%s; %s; exit %d from both" % (
    ", ".join("%s %s (%d match, %d mismatch)" % (n, f["decision"], f["match"], f["mismatch"])
              for n, f in sorted(fams.items())), "OK" if not problems else "WRONG", run_rc))
for p in problems[:8]:
    print("  " + p)
PY
)

# ---------------------------------------------------------------- the table
S_RUN=$(med "${T[run]}") S_SUM=$(med "${T[sum]}")
XPS=$(per_s "$EXCHANGES" "$S_RUN")
echo
printf 'run bench: %d exchanges (%d sessions, %.1f MB capture), --concurrency %d, %d rounds, alternating\n' \
    "$EXCHANGES" "$SESSIONS" "$(awk -v b="$SIZE" 'BEGIN { print b / 1e6 }')" "$C" "$RUNS"
printf 'backends: nginx %s, 1 worker: python 127.0.0.1:%s, go 127.0.0.1:%s (%d of %d repository documents\n' \
    "$(nginx_version)" "$P1" "$P2" "$SEEDED" "$DOCS"
printf '  seeded with a bug: %d exchanges fetch one); the stages'"'"' files: plain JSONL, %s MB of results, %s MB of\n' \
    "$WANT_MISMATCH" "$RESULTS_MB" "$DIFFS_MB"
printf '  diffs; %s CPUs\n' "$(nproc)"
printf '%-32s %8s %8s %12s %10s\n' "(medians)" "seconds" "cpu s" "exchanges/s" "peak RSS"
row() { # LABEL KEY
    local s
    s=$(med "${T[$2]}")
    printf '%-32s %8s %8s %12s %10s\n' "$1" "$s" "$(med "${U[$2]}")" "$(per_s "$EXCHANGES" "$s")" \
        "$([ -n "${K[$2]}" ] && human_kb "$(med "${K[$2]}")" || echo -)"
}
row "pmirror run" run
row "pmirror replay" replay
row "pmirror diff" diff
row "pmirror report" report
row "pmirror gate" gate
row "the four stages (sum)" sum
echo
r_sep=$(awk -v a="$S_SUM" -v b="$S_RUN" 'BEGIN { printf "%.2f", a / b }')
printf '%-32s %9s %10s %8s\n' "goal" "measured" "goal" "verdict"
printf '%-32s %9s %10s %8s\n' "run exchanges/s" "$XPS" ">= $GOAL_XPS" "$(verdict "$XPS" ">=" "$GOAL_XPS")"
printf '%-32s %9s %10s %8s\n' "stages' time / run's time" "${r_sep}x" ">= ${GOAL_RATIO}x" \
    "$(verdict "$r_sep" ">=" "$GOAL_RATIO")"
echo
echo "check (last round): run's report.json against the stages':"
sed 's/^/  /' <<<"$CHECK"
case $CHECK in *"; OK; "*) exit 0 ;; *) exit 1 ;; esac
