# SPDX-License-Identifier: Apache-2.0
# report_html.sh — report.html in a real browser: the fixture reports (rendered by the
# unit test binary, fixtures/report/html/) opened in headless Chromium (one browser for
# every page, driven by chromium_pages.py). The hostile
# report's markup must reach the DOM as text (no <script>, no <img>, no onerror
# attribute), its control characters as visible escapes; the normal report must render
# to a real picture (a screenshot that is not blank). When `pmirror report` is built, the
# same checks run on a page it wrote from a diff of hostile traffic.
# PMIRROR_UPDATE_SCREENSHOT=1 also refreshes docs/report.png (shown in README.md).
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: chromium is not installed (Debian package 'chromium'; 'make deps' installs it)"
    exit 0
fi
TEST_HTML=$(dirname "$PMIRROR_BIN")/tests/test_html
[ -x "$TEST_HTML" ] || { echo "FAIL: $TEST_HTML not built"; exit 1; }

# browse JOB...: the pages in one headless Chromium with its own profile directory
# (chromium_pages.py: JOB is dom:PAGE:OUT, the DOM as --dump-dom writes it, or
# shot:PAGE:OUT, a 1280x2300 PNG as --screenshot takes it; at most 60 s a page). One browser
# for all: each start costs 3-4 s of CPU.
browse() {
    local profile
    profile=$(mktemp -d "$WORK/chromium.XXXXXX")
    timeout $((60 * $# + 30)) python3 "$HERE/chromium_pages.py" "$CHROMIUM" "$profile" 1280x2300 "$@" \
        2>>"$WORK/chromium.log"
}

mkdir -p "$WORK/pages"
run env PMIRROR_HTML_OUT="$WORK/pages" "$TEST_HTML" --filter 'html/render_fixtures'
expect_rc 0 "render the fixtures"
for p in normal minimal hostile hostile_bytes; do
    [ -s "$WORK/pages/$p.html" ] && ok || bad "no $p.html rendered"
done

# End to end, once `pmirror report` is built: hostile traffic → diff → report.html (checked
# below with the fixture pages).
E2E=
if "$PMIRROR" report --help >/dev/null 2>&1; then
    E2E=$WORK/report/report.html
    body_b='{"name":"<script>alert(1)</script>","x":1}'
    body_c='{"name":"</pre></textarea>\"><img src=x onerror=alert(1)>","x":1}'
    python3 - "$WORK/results.jsonl" "$body_b" "$body_c" <<'EOF'
import json, sys
path, body_b, body_c = sys.argv[1:]
def answer(role, body, us):
    return {"role": role, "status": 200, "headers": [["Content-Type", "application/json"]],
            "body": body, "latency_us": us, "error": None}
with open(path, "w") as f:
    for i in range(3):
        f.write(json.dumps({"v": 1, "id": f"x-{i}<script>", "ts": "2026-11-27T08:00:00.000000Z",
            "session": "s1", "seq": i, "family": "API_V1", "capability": "API_REPOSITORY_READ",
            "switch": "ROUTE_OWNER_FAMILY_API_V1",
            "cohort": {"org": "<script>alert(1)</script>", "repo": "a/b", "user": None},
            "request": {"method": "GET", "target": "/api/v1/repository/a/b", "version": "HTTP/1.1",
                        "headers": []},
            "responses": {"python": answer("baseline", body_b, 1000 + i),
                          "go": answer("candidate", body_c, 900 + i)}}) + "\n")
EOF
    run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
    expect_rc 0 "diff of hostile traffic"
    run "$PMIRROR" report -i "$WORK/diffs.jsonl" --out-dir "$WORK/report"
    expect_rc 0 "pmirror report"
fi

# Every page in one browser: the DOMs (PAGE.dom) and the normal report's screenshot.
shot="$WORK/normal.png"
jobs=()
for p in hostile hostile_bytes normal minimal; do jobs+=("dom:$WORK/pages/$p.html:$WORK/pages/$p.html.dom"); done
jobs+=("shot:$WORK/pages/normal.html:$shot")
[ -n "$E2E" ] && [ -s "$E2E" ] && jobs+=("dom:$E2E:$E2E.dom")
browse "${jobs[@]}"

# expect_inert PAGE: the payload shows as text and nothing from it became markup.
expect_inert() {
    local page=$1 dom=$1.dom
    [ -s "$dom" ] && ok || { bad "$page: chromium gave no DOM (chromium.log: $(tail -3 "$WORK/chromium.log"))"; return; }
    grep -q '</html>' "$dom" && ok || bad "$page: incomplete DOM"
    grep -qi '<script' "$dom" && bad "$page: a <script> element in the DOM" || ok
    grep -qi '<img' "$dom" && bad "$page: an <img> element in the DOM" || ok
    grep -qi '<textarea' "$dom" && bad "$page: a <textarea> element in the DOM" || ok
    # An onerror attribute (outside any quoted value: the serialized DOM quotes them all).
    grep -qiP '<[a-z][a-z0-9-]*(\s+[^\s="<>/]+(="[^"]*")?)*\s+on[a-z]+\s*=' "$dom" \
        && bad "$page: an element with an event handler attribute" || ok
    grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$dom" && ok || bad "$page: <script> not shown as text"
    grep -qF 'onerror=alert(1)&gt;' "$dom" && ok || bad "$page: the <img onerror> payload not shown as text"
    # Sections after the payload still exist: no tag was closed early.
    grep -q '<footer>' "$dom" && ok || bad "$page: the page was cut short (no footer)"
}

expect_inert "$WORK/pages/hostile.html"
dom="$WORK/pages/hostile.html.dom"
grep -qF '\u0001' "$dom" && grep -qF '\u001B' "$dom" && grep -qF '\u2028' "$dom" && ok \
    || bad "hostile: control characters not shown as escapes"
# Nothing raw: no C0 control byte but newline/tab, no U+2028.
LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$dom" && bad "hostile: raw control byte in the DOM" || ok
grep -qP '\x{2028}' "$dom" 2>/dev/null && bad "hostile: raw U+2028 in the DOM" || ok
[ "$(grep -o 'class="family"' "$dom" | wc -l)" -eq 2 ] && ok || bad "hostile: want 2 family sections"

expect_inert "$WORK/pages/hostile_bytes.html"
grep -qF $'\xEF\xBF\xBD' "$WORK/pages/hostile_bytes.html.dom" && ok || bad "hostile bytes: no U+FFFD"

# The normal report: every section in the DOM, and a real picture.
dom="$WORK/pages/normal.html.dom"
for id in overview parity latency trend proposal expired noise f-API_V1 f-REGISTRY_V1 f-KEYS; do
    grep -q "id=\"$id\"" "$dom" && ok || bad "normal: no #$id in the DOM"
done
[ "$(grep -o '<svg' "$dom" | wc -l)" -eq 8 ] && ok || bad "normal: want 8 charts"
grep -q 'No families in this report' "$WORK/pages/minimal.html.dom" && ok || bad "minimal: no empty-report note"

size=$(stat -c %s "$shot" 2>/dev/null || echo 0)
[ "$size" -gt 60000 ] && ok || bad "normal: screenshot is $size bytes (blank page?)"
# Not blank: the decoded pixels use many colours, and no one colour covers the page.
run python3 - "$shot" <<'EOF'
import struct, sys, zlib
from itertools import accumulate
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height, colour = 8, b"", 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, _, colour = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[colour]
rowlen = width * bpp
stride = rowlen + 1
# Unfiltered row by row (PNG §9.4), without a Python step per byte where none is needed
# (a byte-by-byte loop over the 1280x2300 picture took 4 s of CPU): Up adds whole rows as
# integers (the low 7 bits of each byte summed, the high bit by xor: no carry crosses a
# byte), Sub is a running sum per channel; Average and Paeth go byte by byte.
low7, high = int.from_bytes(b"\x7f" * rowlen, "big"), int.from_bytes(b"\x80" * rowlen, "big")
prev = bytes(rowlen)
counts = {}
for y in range(height):
    f, line = raw[y * stride], raw[y * stride + 1:(y + 1) * stride]
    if f == 1:
        out = bytearray(rowlen)
        for k in range(bpp):
            out[k::bpp] = bytes(v & 255 for v in accumulate(line[k::bpp]))
        line = bytes(out)
    elif f == 2:
        x, p = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
        line = (((x & low7) + (p & low7)) ^ ((x ^ p) & high)).to_bytes(rowlen, "big")
    elif f == 3:
        out = bytearray(line)
        for i in range(rowlen):
            out[i] = (out[i] + ((out[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        line = bytes(out)
    elif f == 4:
        out = bytearray(line)
        for i in range(bpp):
            out[i] = (out[i] + prev[i]) & 255  # a = c = 0: the predictor is b
        for i, b, c in zip(range(bpp, rowlen), prev[bpp:], prev):
            a = out[i - bpp]
            pa, pb = b - c, a - c  # |p - a|, |p - b|, |p - c| with p = a + b - c
            pc = abs(pa + pb)
            pa, pb = abs(pa), abs(pb)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        line = bytes(out)
    else:
        assert f == 0, "bad filter type %d" % f
    prev = line
    if y % 8 == 0:
        for x in range(0, width, 4):
            px = line[x * bpp:x * bpp + 3]
            counts[px] = counts.get(px, 0) + 1
total = sum(counts.values())
top = max(counts.values())
print(f"{width}x{height} colours={len(counts)} top_share={top / total:.2f}")
sys.exit(0 if len(counts) >= 50 and top / total < 0.9 else 1)
EOF
expect_rc 0 "normal: screenshot is a real picture ($out)"
if [ "${PMIRROR_UPDATE_SCREENSHOT:-}" = 1 ] && [ "$size" -gt 60000 ]; then
    cp "$shot" "$SRC/docs/report.png" && echo "updated docs/report.png"
fi

# Nothing tried to reach the network or run: a CSP violation would be logged (chromium_pages.py
# runs the browser with --enable-logging=stderr, which writes console messages there).
grep -qi 'Content Security Policy' "$WORK/chromium.log" && bad "CSP violation: $(grep -i 'Content Security' "$WORK/chromium.log" | head -1)" || ok

# End to end: the page `pmirror report` wrote from hostile traffic.
if [ -n "$E2E" ]; then
    [ -s "$E2E" ] && expect_inert "$E2E" || bad "pmirror report wrote no report.html"
else
    echo "note: pmirror report is not built yet: end-to-end check skipped"
fi

finish
