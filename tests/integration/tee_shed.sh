#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tee_shed.sh — fair shedding (issue 18): two families at a 90/10 mix (REGISTRY_V2 and
# KEYS) sent through the tee much faster than a deliberately slow shadow (20 ms an answer,
# two at a time, --queue 8) can diff them. Each family must keep a share: the small
# family's coverage (diffed / seen) at least the big one's — and at least twice it, so
# that uniform dropping, which gives both about the same coverage, cannot pass by luck —
# and per family seen = diffed + shed, in /metrics and in report.json (families.F.shadow
# and the `shadow` rows), with the table in report.md and report.html. Loopback only,
# a few seconds.
source "$(dirname "$0")/lib.sh"
source "$HERE/tee_helpers.bash"

backend primary
P=$port
backend shadow --variant go --delay-ms 20
S=$port
start_tee shed --primary "http://127.0.0.1:$P" --shadow "http://127.0.0.1:$S" --queue 8 --concurrency 2 \
    --metrics 127.0.0.1:0 --out-dir "$WORK/report" --shadow-timeout 5 --shadow-nice 0
T=$tport
MURL=$(metrics_url shed)

# 2000 requests on 8 connections, every tenth one KEYS; prints what was sent per family
run python3 - "$T" <<'EOF'
import http.client, json, sys, threading
port, per_conn, sent, lock = int(sys.argv[1]), 250, {"REGISTRY_V2": 0, "KEYS": 0}, threading.Lock()
def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(per_conn):
        fam, path = ("KEYS", "/keys/services/quay/keys") if (i + k) % 10 == 0 else ("REGISTRY_V2", "/v2/acme/app/tags/list")
        c.request("GET", path)
        c.getresponse().read()
        with lock:
            sent[fam] += 1
threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(sent))
EOF
expect_rc 0 "the load"
sent=$out

# every copy diffed or shed: the front's and the shadow side's counts settle
settled() {
    curl -s "$MURL" | awk -v last="$(cat "$WORK/diffed" 2>/dev/null)" '$1 == "pmirror_tee_queue_depth" { q = $2 }
        /^pmirror_tee_exchanges_total/ { d += $2 } END { exit !(q == 0 && d "" == last) }'
    local rc=$?
    curl -s "$MURL" | awk '/^pmirror_tee_exchanges_total/ { d += $2 } END { print d + 0 }' >"$WORK/diffed"
    return $rc
}
sleep 0.5
wait_until 15 settled || bad "the shadow side did not settle"
curl -s "$MURL" >"$WORK/metrics.txt"

# coverage per family, from the counters that exist without fair shedding too: what the
# load sent, and the exchanges diffed per family
run python3 - "$WORK/metrics.txt" "$sent" <<'EOF'
import json, re, sys
sent = json.loads(sys.argv[2])
diffed = {f: 0 for f in sent}
for line in open(sys.argv[1]):
    m = re.match(r'pmirror_tee_exchanges_total\{family="([^"]+)",.*\} (\d+)', line)
    if m and m.group(1) in diffed:
        diffed[m.group(1)] += int(m.group(2))
cov = {f: diffed[f] / sent[f] for f in sent}
print(json.dumps({"sent": sent, "diffed": diffed, "coverage": cov}))
big, small = cov["REGISTRY_V2"], cov["KEYS"]
sys.exit(0 if big < 0.9 and small >= big and small >= 2 * big else 1)
EOF
[ "$rc" -eq 0 ] && ok || bad "coverage per family (small >= 2x big, big shed): $out"

# the new per-family series: seen = diffed + shed, seen = what the load sent, coverage
run python3 - "$WORK/metrics.txt" "$sent" <<'EOF'
import json, re, sys
sent, got = json.loads(sys.argv[2]), {}
for line in open(sys.argv[1]):
    m = re.match(r'pmirror_tee_shadow_(seen_total|diffed_total|shed_total|coverage)\{family="([^"]+)"\} (\S+)', line)
    if m:
        got.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
bad = []
for f, n in sent.items():
    g = got.get(f, {})
    if g.get("seen_total") != n or g.get("diffed_total", -1) + g.get("shed_total", -1) != n:
        bad.append(f"{f}: {g} (sent {n})")
    elif abs(g.get("coverage", -1) - g["diffed_total"] / n) > 1e-5:
        bad.append(f"{f}: coverage {g}")
if not bad and got["KEYS"]["coverage"] < got["REGISTRY_V2"]["coverage"]:
    bad.append(f"pmirror_tee_shadow_coverage: {got}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
[ "$rc" -eq 0 ] && ok || bad "metrics per family: $out"
grep -q '^pmirror_tee_shadow_dropped_total{reason="fair_share"} [1-9]' "$WORK/metrics.txt" && ok ||
    bad "fair_share drops counted: $(grep fair_share "$WORK/metrics.txt")"

# SIGTERM: the final report carries the same counts
kill -TERM "$shed_tee"
wait "$shed_tee"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exit $rc: $(cat "$WORK/shed.tee.err")"
run python3 - "$WORK/report/report.json" "$sent" <<'EOF'
import json, sys
r, sent = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
rows = {row["family"]: row for row in r.get("shadow", [])}
bad = []
for f, n in sent.items():
    s = r["families"].get(f, {}).get("shadow")
    row = rows.get(f)
    if not s or s["seen"] != n or s["diffed"] + s["shed"] != n:
        bad.append(f"families.{f}.shadow {s} (sent {n})")
    if not row or row["seen"] != n or row["diffed"] + row["shed"] != n:
        bad.append(f"shadow row {row}")
if not bad and rows["KEYS"]["coverage"] < rows["REGISTRY_V2"]["coverage"]:
    bad.append(f"coverage: {rows}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
[ "$rc" -eq 0 ] && ok || bad "report.json shadow counts: $out"
grep -q "Shadow coverage" "$WORK/report/report.md" && grep -qF "| \`KEYS\` | " "$WORK/report/report.md" && ok ||
    bad "report.md has no shadow coverage table: $(grep -A5 'Shadow coverage' "$WORK/report/report.md")"
grep -q 'id="shadow"' "$WORK/report/report.html" && ok || bad "report.html has no shadow coverage section"

finish
