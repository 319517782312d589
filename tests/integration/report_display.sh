# SPDX-License-Identifier: Apache-2.0
# report_display.sh — what report.md, junit.xml and report.html say about a difference,
# through the command line (diff, then report): a trailing newline shows as "</html>\n", an
# extra key whose value is null as (absent) | null, each exemplar names its request and
# status pair, and a skipped exchange is counted by its reason (skipped_unsafe).
# (Each renderer on its own, byte by byte: tests/unit/test_display.c.)
. "$(dirname "$0")/lib.sh"

H='[["Content-Type","text/html"]]'
J='[["Content-Type","application/json"]]'
answer() { # ROLE STATUS HEADERS BODY(JSON string)
    printf '{"role":"%s","status":%s,"headers":%s,"body":%s,"error":null}' "$1" "$2" "$3" "$4"
}
record() { # ID METHOD TARGET BASELINE CANDIDATE
    printf '{"v":1,"id":"%s","family":"API_V1","capability":"API_REPO","request":{"method":"%s","target":"%s","version":"HTTP/1.1","headers":[]},"responses":{"py":%s,"go":%s}}\n' \
        "$1" "$2" "$3" "$4" "$5"
}
{
    record r1 GET /index.html "$(answer baseline 200 "$H" '"<p>\n</html>"')" "$(answer candidate 200 "$H" '"<p>\n</html>\n"')"
    record r2 GET /api/v1/x "$(answer baseline 200 "$J" '"{\"a\":1}"')" "$(answer candidate 200 "$J" '"{\"a\":1,\"n\":null}"')"
    record r3 DELETE /api/v1/x "$(answer baseline 204 '[]' '""')" '{"role":"candidate","skipped":true,"error":"skipped_unsafe"}'
} >"$WORK/results.jsonl"
# each family's one comparable answer differs: interval 0..0.793, wholly under 0.9, so it holds
# (and the renderers show its differences as failures)
printf 'defaults:\n  min_samples: 1\n  min_parity_lower: 0.9\n  min_capability_coverage: null\n' >"$WORK/gate.yaml"

run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "diff"
run "$PMIRROR" report -i "$WORK/diffs.jsonl" --gate "$WORK/gate.yaml" --out-dir "$WORK/out"
expect_rc 0 "report"

md=$(cat "$WORK/out/report.md")
has() { # FILE-TEXT WANT WHAT
    grep -qF -- "$2" <<<"$1" && ok || bad "$3 lacks '$2':
$1"
}
has "$md" '| line 2 | extra | "&lt;/html>" | "&lt;/html>\\n" |' "report.md: the trailing newline"
has "$md" '| $.n | extra | (absent) | null |' "report.md: absent vs null"
has "$md" 'r1: GET /index.html (200 → 200)' "report.md: the exemplar's request"
has "$md" '1 skipped (skipped_unsafe 1)' "report.md: skips by reason"

json=$(cat "$WORK/out/report.json")
python3 - "$WORK/out/report.json" <<'PY' && ok || bad "report.json: exemplars and skipped_by_reason"
import json, sys
r = json.load(open(sys.argv[1]))
# diff classifies the records again with the Quay map: /index.html is WEB, /api/v1/x UNKNOWN
fams = r["families"].values()
assert [f["skipped_by_reason"] for f in fams if f.get("skipped_by_reason")] == [{"skipped_unsafe": 1}], \
    [f.get("skipped_by_reason") for f in fams]
assert r["totals"]["skipped_by_reason"] == {"skipped_unsafe": 1}, r["totals"]
ex = {t["exemplar"]["id"]: t["exemplar"] for f in fams for t in f["top_differences"]}
assert ex["r1"]["request"] == {"method": "GET", "target": "/index.html"}, ex["r1"]
assert ex["r1"]["status"] == {"baseline": 200, "candidate": 200}, ex["r1"]
assert ex["r1"]["differences"][0]["candidate"] == "</html>\n", ex["r1"]
PY

xml=$(cat "$WORK/out/junit.xml")
has "$xml" '$.n extra: baseline (absent), candidate null' "junit.xml: absent vs null"
has "$xml" 'exemplar r1: GET /index.html (200 → 200)' "junit.xml: the exemplar's request"
html=$(cat "$WORK/out/report.html")
has "$html" '&lt;/html&gt;<span class="esc">\n</span>' "report.html: the trailing newline"
has "$html" '<pre><span class="absent">(absent)</span></pre><pre>null</pre>' "report.html: absent vs null"
has "$html" 'GET /index.html (200 → 200)' "report.html: the exemplar's request"
has "$html" '<code>skipped_unsafe</code> 1' "report.html: skips by reason"

finish
