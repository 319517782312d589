#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ab.sh — the working tree against an earlier commit, on the same inputs in the same run:
# did a change (a refactor, a new check on a hot path) move capture, replay, diff, run or
# the tee? Both are built here with the same flags (tests off); then every round times
# each command once per build, in alternating order (A first on odd rounds, B first on
# even ones), so drift on a shared machine hits both sides alike. Printed per command: the
# median wall and CPU seconds of each side and B/A (above 1: the working tree is slower).
# The tee's figure is requests/s through it (wrk, WRK_SECS each) with the shadow diffing,
# so there B/A above 1 means faster.
#   capture  `capture -r` of a generated pcap (bench/gen_pcap.py, EXCHANGES exchanges)
#   replay   `replay` of a generated capture (bench/gen_capture.py) to two nginx backends
#   diff     `diff` of a generated result file (bench/gen_results.py)
#   run      `run` of the replay's capture (replay + diff + report + gate)
#   tee      the tee between wrk and one nginx, a second one as its shadow
# The outputs of A and B are compared too (capture records, with one redaction key for
# both, and diff records byte for byte; the run's report.json without its timings): a
# refactor must not change them. Exit 1 when they differ; the timings are reported, not
# judged.
# Usage: bench/ab.sh [REV|BINARY] [EXCHANGES] [RUNS]   (defaults HEAD, 20000, 5)
# BINARY: an A already built (a path to a pmirror). AB_CMDS="replay tee": only those.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-HEAD} EXCHANGES=${2:-20000} RUNS=${3:-5} WRK_SECS=${WRK_SECS:-3}
for v in "$EXCHANGES" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/ab.sh [REV] [EXCHANGES] [RUNS]" >&2; exit 2; }
done
if [ -f "$REV" ] && [ -x "$REV" ]; then
    A=$(realpath "$REV") A_NAME=$A
else
    git rev-parse --verify -q "$REV^{commit}" >/dev/null || { echo "bench/ab.sh: $REV: not a commit or a pmirror binary" >&2; exit 2; }
    A= A_NAME=$(git rev-parse --short "$REV")
fi
read -r -a CMDS <<<"${AB_CMDS:-capture replay diff run tee}"
for c in "${CMDS[@]}"; do
    case $c in capture | replay | diff | run | tee) ;; *) echo "bench/ab.sh: AB_CMDS: no command '$c'" >&2; exit 2 ;; esac
done

. bench/lib.sh
bench_need nginx wrk
bench_tmp

# ---------------------------------------------------------------- the two builds
if [ -z "$A" ]; then
    echo "building A ($A_NAME) ..."
    mkdir "$TMP/a"
    git archive "$REV" | tar -x -C "$TMP/a"
    (cd "$TMP/a" && bench_build build pmirror)
    A=$TMP/a/build/pmirror
fi
echo "building B (the working tree) ..."
bench_build build-ab pmirror
B=$PWD/build-ab/pmirror

# ---------------------------------------------------------------- inputs and servers
echo "generating $EXCHANGES exchanges: a pcap, a capture with its docroot, a result file ..."
python3 bench/gen_pcap.py "$TMP/in.pcap" "$EXCHANGES" >/dev/null
python3 bench/gen_capture.py "$TMP/capture.jsonl" "$EXCHANGES" --docroot "$TMP/root" --urls "$TMP/urls.txt" >/dev/null
python3 bench/gen_results.py "$TMP/results.jsonl" "$EXCHANGES" >/dev/null
read -r P1 P2 TEE <<<"$(free_ports 3)"
server() { # PORT
    echo "server { listen 127.0.0.1:$1; root $TMP/root; location / { try_files \$uri =404; } }"
}
nginx_start nginx "$(cat <<EOF
worker_processes 1;
events { worker_connections 4096; }
http {
    $(nginx_http_common "$TMP/nginx")
    $(server "$P1")
    $(server "$P2")
}
EOF
)"
wait_port "$P1" && wait_port "$P2" || { nginx_logs nginx >&2; exit 1; }
bench_suite "$TMP/suite.yaml" "$P1" "$P2"
wrk_rotation_lua "$TMP/urls.lua"
(umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$TMP/key")

# one SIDE CMD: runs CMD for SIDE (a or b), output under $TMP/out-SIDE-CMD; appends the
# wall and CPU seconds (or the tee's requests/s) to $TMP/t-SIDE-CMD.
one() {
    local side=$1 cmd=$2 bin o
    bin=$([ "$side" = a ] && echo "$A" || echo "$B")
    o=$TMP/out-$side-$cmd
    rm -rf "$o" && mkdir -p "$o"
    case $cmd in
    capture) measure /dev/null "$bin" capture -q -r "$TMP/in.pcap" -o "$o/capture.jsonl" --key "$TMP/key" ;;
    replay) measure /dev/null "$bin" replay -c "$TMP/suite.yaml" -i "$TMP/capture.jsonl" -o "$o/results.jsonl" --progress never ;;
    diff) measure "$o/diffs.jsonl" "$bin" diff -i "$TMP/results.jsonl" -o - --progress never ;;
    run) MEASURE_MAX_RC=1 measure /dev/null "$bin" run -c "$TMP/suite.yaml" -i "$TMP/capture.jsonl" --out-dir "$o/report" --progress never ;;
    tee)
        "$bin" tee --listen "127.0.0.1:$TEE" --primary "http://127.0.0.1:$P1" --shadow "http://127.0.0.1:$P2" \
            --progress never -q 2>"$o/tee.err" &
        local pid=$!
        wait_port "$TEE" || { cat "$o/tee.err" >&2; exit 1; }
        wrk -t2 -c32 -d"${WRK_SECS}s" -s "$TMP/urls.lua" "http://127.0.0.1:$TEE" -- "$TMP/urls.txt" >"$o/wrk.out" 2>&1
        kill -INT "$pid" && wait "$pid" || true
        awk '/^Requests\/sec/ { print $2, 0 }' "$o/wrk.out" >>"$TMP/t-$side-$cmd"
        return
        ;;
    esac
    echo "$SECS $CPU" >>"$TMP/t-$side-$cmd"
}

for r in $(seq "$RUNS"); do
    printf 'round %d/%d\r' "$r" "$RUNS" >&2
    for cmd in "${CMDS[@]}"; do
        if [ $((r % 2)) -eq 1 ]; then one a "$cmd"; one b "$cmd"; else one b "$cmd"; one a "$cmd"; fi
    done
done
echo >&2

# ---------------------------------------------------------------- same outputs?
same=0
first_difference() { # A B: the first line where two record files differ, key by key
    python3 - "$1" "$2" <<'PY'
import itertools, json, sys
a, b = open(sys.argv[1]), open(sys.argv[2])
for n, (x, y) in enumerate(itertools.zip_longest(a, b), 1):
    if x == y:
        continue
    if x is None or y is None:
        print("  line %d: only in %s" % (n, "B" if x is None else "A"))
        break
    x, y = json.loads(x), json.loads(y)
    keys = [k for k in dict.fromkeys(list(x) + list(y)) if x.get(k) != y.get(k)]
    print("  line %d: %s" % (n, ", ".join("%s: %.80s | %.80s" % (k, json.dumps(x.get(k)), json.dumps(y.get(k))) for k in keys) or "same values, other bytes"))
    break
PY
}
for f in capture/capture.jsonl diff/diffs.jsonl; do
    cmd=${f%%/*}
    [ -d "$TMP/out-a-$cmd" ] || continue
    cmp -s "$TMP/out-a-$f" "$TMP/out-b-$f" && continue
    echo "$cmd: A and B wrote different records"
    first_difference "$TMP/out-a-$f" "$TMP/out-b-$f"
    same=1
done
report_counts() { # the report without what is measured (latencies, times, paths)
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out = {}
for name, f in sorted(r.get("families", {}).items()):
    out[name] = {k: f.get(k) for k in ("total", "match", "mismatch", "error", "skipped", "parity", "decision")}
print(json.dumps(out, sort_keys=True))
PY
}
if [ -d "$TMP/out-a-run" ] &&
    [ "$(report_counts "$TMP/out-a-run/report/report.json")" != "$(report_counts "$TMP/out-b-run/report/report.json")" ]; then
    echo "run: A's and B's report.json count or decide differently"
    same=1
fi

# ---------------------------------------------------------------- table
printf '\n%-8s %12s %12s %8s %10s %10s %8s\n' command "A wall s" "B wall s" "B/A" "A cpu s" "B cpu s" "B/A"
for cmd in "${CMDS[@]}"; do
    aw=$(cut -d' ' -f1 "$TMP/t-a-$cmd" | median) bw=$(cut -d' ' -f1 "$TMP/t-b-$cmd" | median)
    ac=$(cut -d' ' -f2 "$TMP/t-a-$cmd" | median) bc=$(cut -d' ' -f2 "$TMP/t-b-$cmd" | median)
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }'; }
    if [ "$cmd" = tee ]; then
        printf '%-8s %12s %12s %8s   (requests/s through the tee: B/A above 1 is faster)\n' tee "$aw" "$bw" "$(ratio "$aw" "$bw")"
    else
        printf '%-8s %12s %12s %8s %10s %10s %8s\n' "$cmd" "$aw" "$bw" "$(ratio "$aw" "$bw")" "$ac" "$bc" "$(ratio "$ac" "$bc")"
    fi
done
echo "medians of $RUNS rounds, $EXCHANGES exchanges; A = $A_NAME, B = the working tree"
[ "$same" -eq 0 ] && echo "outputs: A and B wrote the same records and report counts (of the commands run)"
exit "$same"
