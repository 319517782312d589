#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# classify.sh — classifier speed with the whole Quay map, against a named peer measured
# in the same run: the same map in Python's stdlib `re` (bench/classify_peer.py).
# Requests: every tracker route made concrete (GET routes also as HEAD), plus unmatched
# ones. Prints medians (ns/request) and the ratio. Usage: bench/classify.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-21}
cmake -S . -B build >/dev/null
cmake --build build --target bench_classify -j 2 >/dev/null
MAP=config/quay/capabilities.yaml
REQS=$(mktemp)
trap 'rm -f "$REQS"' EXIT
# Concrete requests from the map's own patterns (sample value per type).
sed -n "s/.*method: \([A-Z]*\), path: '\([^']*\)'.*/\1 \2/p" "$MAP" | sed \
    -e 's/{[a-z_]*:repo}/acme\/app/g' -e 's/{[a-z_]*:webrepo}/acme\/app/g' \
    -e 's/{[a-z_]*:digest}/sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/g' \
    -e 's/{[a-z_]*:tag}/latest/g' -e 's/{[a-z_]*:path}/some\/where/g' -e 's/{[a-z_]*:fileid}/abc-123/g' \
    -e 's/{[a-z_]*:webns}/acme/g' -e 's/{[a-z_]*}/x1/g' >"$REQS"
sed -n 's/^GET /HEAD /p' "$REQS" >>"$REQS.head" && cat "$REQS.head" >>"$REQS" && rm -f "$REQS.head"
printf 'GET /v2/nothing\nPOST /nowhere\nGET /api/v1/nothing/here/at/all\n' >>"$REQS"
read -r c_ns n c_matched < <(build/bench/bench_classify "$MAP" "$REQS" "$ROUNDS")
read -r py_ns _ py_matched < <(python3 bench/classify_peer.py "$MAP" "$REQS" "$(( (ROUNDS + 1) / 2 ))")
echo "requests: $n (matched: pmirror $c_matched, peer $py_matched)"
echo "pmirror pm_classify:        ${c_ns} ns/request (median of $ROUNDS passes)"
echo "peer python3 stdlib re:     ${py_ns} ns/request"
awk -v c="$c_ns" -v p="$py_ns" 'BEGIN { printf "ratio peer/pmirror: %.1fx faster\n", p / c }'
