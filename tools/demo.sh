#!/usr/bin/env bash
# demo.sh — what `make demo` shows: the whole parity pipeline on bundled data.
#
#   1. capture   fixtures/demo/quay.pcap (six seconds of Quay-shaped traffic over six
#                families, made by tools/make_demo.py) -> a capture file, secrets redacted
#   2. serve     two recorded backends on free loopback ports: "python" answers what the
#                recording answered, "go" answers fixtures/demo/go.jsonl.gz — the same
#                exchanges as a Go rewrite answers them, with legitimate differences the
#                profile's rules absorb and a few seeded bugs (tools/make_demo.py says which)
#   3. run       replay + diff + report + gate in one process, writes included (both
#                backends are sandboxes), then the per-family table and out/demo/report.html
#
# The gate fails — on purpose: the seeded bugs must hold their families back. This script
# exits 0 when the outcome is the seeded one (API_V1, OAUTH, REGISTRY_V1 held; REGISTRY_V2,
# KEYS, WELLKNOWN promoted), 1 when it is not, 2 when a step fails.
#
# Usage: tools/demo.sh [PMIRROR [OUT_DIR]]     (default: build/pmirror, out/demo)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PMIRROR=${1:-$ROOT/build/pmirror}
OUT=${2:-out/demo}
FX=$ROOT/fixtures/demo
SEEDED_HOLD="API_V1 OAUTH REGISTRY_V1"
SEEDED_PROMOTE="KEYS REGISTRY_V2 WELLKNOWN"

die() { echo "demo.sh: $*" >&2; exit 2; }
step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
[ -x "$PMIRROR" ] || die "$PMIRROR is not an executable (make build first)"
mkdir -p "$OUT" || die "cannot create $OUT"
rm -f "$OUT"/*.port

servers=()
stop_servers() {
    for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

step "1. capture  $FX/quay.pcap"
# pmirror uses a key file only when nobody else may read it; git checks demo.key out 0644
install -m 600 "$FX/demo.key" "$OUT/demo.key"
"$PMIRROR" capture -r "$FX/quay.pcap" -o "$OUT/capture.jsonl.gz" --key "$OUT/demo.key" 2>"$OUT/capture.log" ||
    die "capture failed: $(cat "$OUT/capture.log")"
sed 's/^pmirror capture: /   /' "$OUT/capture.log"
# The python backend stands in for a live Quay, which issues real tokens that replay then
# correlates: it answers from the same recording with its secrets kept (they are fake).
"$PMIRROR" capture -q -r "$FX/quay.pcap" -o "$OUT/python-backend.jsonl.gz" --no-redact 2>/dev/null ||
    die "capture --no-redact failed"

# serve NAME FIXTURE: a recorded backend on a free port, answering after each exchange's
# recorded latency (so latency budgets mean something); sets $port.
serve() {
    "$PMIRROR" serve --fixture "$2" --listen 127.0.0.1:0 --port-file "$OUT/$1.port" --recorded-latency \
        2>"$OUT/$1.log" &
    servers+=($!)
    port=
    for _ in $(seq 200); do
        [ -s "$OUT/$1.port" ] && port=$(cat "$OUT/$1.port") && break
        kill -0 "${servers[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] || die "serve $1 did not start: $(cat "$OUT/$1.log")"
    echo "   $1: http://127.0.0.1:$port/ answers from ${2#"$ROOT"/}"
}
step "2. serve    two recorded backends"
serve python "$OUT/python-backend.jsonl.gz"
py=$port
serve go "$FX/go.jsonl.gz"
go=$port

# The suite: both targets are sandboxes (recorded backends, nothing to damage), so with
# --allow-writes the pushes, uploads and API writes are replayed to both and compared;
# each target's credentials put the demo's (fake) secrets back into the redacted requests.
{
    echo "# written by tools/demo.sh: the demo's two recorded backends"
    echo "profile: $ROOT/config/quay"
    echo "targets:"
    echo "  - name: python"
    echo "    url: http://127.0.0.1:$py"
    echo "    role: baseline"
    echo "    sandbox: true"
    echo "    credentials: &credentials"
    sed 's/^/      /' "$FX/credentials.yaml"
    echo "  - name: go"
    echo "    url: http://127.0.0.1:$go"
    echo "    role: candidate"
    echo "    sandbox: true"
    echo "    credentials: *credentials"
} >"$OUT/suite.yaml"

step "3. run      pmirror run -c $OUT/suite.yaml -i $OUT/capture.jsonl.gz --out-dir $OUT --allow-writes"
"$PMIRROR" run -c "$OUT/suite.yaml" -i "$OUT/capture.jsonl.gz" --out-dir "$OUT" --allow-writes --concurrency 128 \
    --progress never >"$OUT/run.md" 2>"$OUT/run.log"
rc=$?
[ "$rc" -le 1 ] || die "pmirror run failed (exit $rc): $(cat "$OUT/run.log")"
stop_servers
servers=()
sed 's/^pmirror run: /   /' "$OUT/run.log"
echo
sed '/^$/,$d' "$OUT/run.md" # the family table (the proposal follows it, in proposal.yaml)

# decision FAMILY: from the gate's own summary of report.json
"$PMIRROR" gate "$OUT/report.json" >"$OUT/gate.yaml" 2>/dev/null
decision() { sed -n "s/^# note $1: \([a-z]*\).*/\1/p" "$OUT/gate.yaml"; }
held=() promoted=() unexpected=()
for f in $SEEDED_HOLD; do
    d=$(decision "$f")
    [ "$d" = hold ] && held+=("$f") || unexpected+=("$f: $d (seeded: hold)")
done
for f in $SEEDED_PROMOTE; do
    d=$(decision "$f")
    [ "$d" = promote ] && promoted+=("$f") || unexpected+=("$f: $d (seeded: promote)")
done

step "The gate fails (exit $rc) for ${held[*]:-nothing}, as seeded; ${promoted[*]:-nothing} may move to go."
cat <<EOF
   API_V1       Go omits an empty repository description (omitempty) and answers tags: null
                for a repository without tags (a nil slice)
   REGISTRY_V1  Go answers 404 for /v1 tag names with a dot (its route pattern lacks '.')
   OAUTH        Go's token endpoints: the slower half of the answers 2.5x slower (p95 budget)
   Absorbed by config/quay/rules.yaml on every family: Date, Server, cookies, X-Docker-Token,
   fresh JWTs and tokens, RFC 2822 times, next_page tokens, signed storage URLs, upload
   UUIDs, Go's JSON encoding and gzip.
EOF
echo
echo "Proposal: $OUT/proposal.yaml   Report: $OUT/report.html (also report.md, report.json, junit.xml)"
if [ "${#unexpected[@]}" -gt 0 ]; then
    printf 'demo.sh: not the seeded outcome: %s\n' "${unexpected[@]}" >&2
    exit 1
fi
exit 0
