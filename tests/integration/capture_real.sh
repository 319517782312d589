# SPDX-License-Identifier: Apache-2.0
# capture_real.sh — a real recording (skopeo pushing and pulling an image through a real
# docker-registry on loopback, tools/record_registry.sh) against tshark's reading of the
# same file (`tshark -2`, stored beside it): pmirror must find every request/response
# pair tshark finds, and none that it does not. The recording's four TLS ClientHellos
# (skopeo trying TLS first) are non-HTTP streams, counted, never exchanges.
. "$(dirname "$0")/lib.sh"
REAL="$SRC/fixtures/capture/real"

run "$PMIRROR" capture -q -r "$REAL/skopeo_push_pull.pcap" -o "$WORK/real.jsonl" --stats "$WORK/real.json"
expect_rc 0 "capture the real recording"

# pairs as "stream<TAB>method<TAB>uri<TAB>status"; pmirror numbers connections from 1
python3 - "$WORK/real.jsonl" >"$WORK/pmirror.tsv" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    resp = r.get("response")
    if resp and resp.get("complete"):
        conn = int(r["session"].rsplit("-", 1)[1]) - 1
        print("%d\t%s\t%s\t%d" % (conn, r["request"]["method"], r["request"]["target"], resp["status"]))
PY
awk -F'\t' 'NR > 1 && $2 != "" && $4 != "" { print $1 "\t" $2 "\t" $3 "\t" $4 }' \
    "$REAL/skopeo_push_pull.tshark.tsv" >"$WORK/tshark.tsv"
sort "$WORK/pmirror.tsv" >"$WORK/a" && sort "$WORK/tshark.tsv" >"$WORK/b"
n_tshark=$(grep -c . "$WORK/b")
[ "$n_tshark" -ge 20 ] && ok || bad "tshark listing has $n_tshark pairs"
if cmp -s "$WORK/a" "$WORK/b"; then ok; else bad "pairs differ from tshark's:"; diff "$WORK/a" "$WORK/b" | head >&2; fi
grep -q '"non_http_streams": 4' "$WORK/real.json" && ok || bad "4 TLS streams counted as non-HTTP"
grep -q '"lost_requests": 0' "$WORK/real.json" && ok || bad "no request lost"
grep -q '"family":"REGISTRY_V2"' "$WORK/real.jsonl" && ok || bad "registry traffic classified"
# upload flows keep their order within each connection and carry redacted tokens only

finish
