# SPDX-License-Identifier: Apache-2.0
# har.sh — `pmirror import --har` and `pmirror export --har`: a devtools HAR into the
# capture records its hand-written expectations name (fixtures/har/devtools.expect.json),
# secrets never on disk, captures of the fixture pcaps out as HAR 1.2 (har_check.py) and
# back in unchanged, result files with --target, and bad input (one error line naming the
# file and the entry, exit 2).
. "$(dirname "$0")/lib.sh"

HAR=$SRC/fixtures/har/devtools.har
# a key file is used only when nobody else may read it (git checks it out 0644): a private copy
KEY=$WORK/test.key
cp "$SRC/fixtures/har/test.key" "$KEY" && chmod 600 "$KEY"
CHECK=$HERE/har_check.py
EXPECT=$HERE/har_expect.py
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

# same_records A B: the two capture files hold the same records (key order aside)
same_records() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
if a != b:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print("record %d differs:\n  %s\n  %s" % (i, json.dumps(x, sort_keys=True)[:600], json.dumps(y, sort_keys=True)[:600]))
            break
    print("%d and %d records" % (len(a), len(b)))
    sys.exit(1)
EOF
}

# ---- import: the devtools fixture, field by field -------------------------------------
run "$PMIRROR" import --har "$HAR" --key "$KEY" -o "$WORK/dt.jsonl"
expect_rc 0 "import devtools.har"
expect_err "9 entries, 9 records (API_V1 5, REGISTRY_V2 3, OAUTH 1)" "import summary"
expect_err "1 without response, 1 bodies not in the HAR" "import summary of what is not whole"
run python3 "$EXPECT" "$SRC/fixtures/har/devtools.expect.json" "$WORK/dt.jsonl"
[ "$rc" -eq 0 ] && ok || bad "devtools.har records: $out"

run "$PMIRROR" cat "$WORK/dt.jsonl"
expect_rc 0 "cat the imported capture"
[ "$(printf '%s\n' "$out" | grep -c '^{"v":1,')" -eq 9 ] && ok || bad "cat: 9 records wanted: $out"
expect_out '"target":"/v2/auth?account=alice' "cat shows the /v2/auth target"
[ "$(stat -c %a "$WORK/dt.jsonl")" = 600 ] && ok || bad "capture file mode $(stat -c %a "$WORK/dt.jsonl")"

# secrets never reach the file, with the default key beside the output too
mkdir "$WORK/default"
run "$PMIRROR" import -q --har "$HAR" -o "$WORK/default/dt.jsonl.gz"
expect_rc 0 "import to gzip with the default key"
[ "$(stat -c %a "$WORK/default/.pmirror-key")" = 600 ] && ok || bad "default key not created 0600"
secrets="s3cr3t-Passw0rd! hunter2-Secret! Sup3r opaque-oauth-token secret-session-signature
dG9rZW4tc2lnbmF0dXJl YWxpY2U6czNjcjN0 Zm9vYmFyYmF6LWNzcmYtdG9rZW4 .eJwNyrEOgjAQANC_uVmwB0SHDsSq4GJikBBWpFjP9mpj69f7_gzCrR8W
c2lnbmF0dXJlLW5vdC1jaGVja2VkLWJ5LXBtaXJyb3I"
"$PMIRROR" cat "$WORK/default/dt.jsonl.gz" >"$WORK/default.txt" 2>&1
leaks=0
for s in $secrets; do grep -qF -- "$s" "$WORK/default.txt" && { leaks=$((leaks + 1)); echo "leak: $s" >&2; }; done
[ "$leaks" -eq 0 ] && ok || bad "$leaks secrets in the capture file"
[ "$(grep -o 'redacted:' "$WORK/default.txt" | wc -l)" -ge 12 ] && ok || bad "no redacted values in the capture"
# ... and the same grep does find them with --no-redact (the check can fail)
run "$PMIRROR" import --no-redact --har "$HAR" -o "$WORK/clear.jsonl"
expect_rc 0 "import --no-redact"
expect_err "warning: --no-redact" "--no-redact warns"
found=0
for s in $secrets; do grep -qF -- "$s" "$WORK/clear.jsonl" && found=$((found + 1)); done
[ "$found" -ge 9 ] && ok || bad "--no-redact: only $found secrets in the clear"

# gzip input and stdin give the same records
gzip -c "$HAR" >"$WORK/devtools.har.gz"
run "$PMIRROR" import -q --har "$WORK/devtools.har.gz" --key "$KEY" -o "$WORK/dt_gz.jsonl"
expect_rc 0 "import a gzip HAR"
run same_records "$WORK/dt.jsonl" "$WORK/dt_gz.jsonl"
[ "$rc" -eq 0 ] && ok || bad "gzip HAR records differ: $out"
run sh -c "\"$PMIRROR\" import -q --har - --key \"$KEY\" -o \"$WORK/dt_stdin.jsonl\" < \"$HAR\""
expect_rc 0 "import from stdin"
run same_records "$WORK/dt.jsonl" "$WORK/dt_stdin.jsonl"
[ "$rc" -eq 0 ] && ok || bad "stdin records differ: $out"

# selection, as capture's
run "$PMIRROR" import --har "$HAR" --key "$KEY" --family REGISTRY_V2 -o "$WORK/v2.jsonl"
expect_rc 0 "import --family"
[ "$(grep -c '"family":"REGISTRY_V2"' "$WORK/v2.jsonl")" -eq 3 ] && [ "$(wc -l <"$WORK/v2.jsonl")" -eq 3 ] \
    && ok || bad "--family REGISTRY_V2: $(cat "$WORK/v2.jsonl")"
expect_err "6 not selected" "not selected counted"
run "$PMIRROR" import -q --har "$HAR" --key "$KEY" --select user=alice -o "$WORK/alice.jsonl"
[ "$(wc -l <"$WORK/alice.jsonl")" -eq 3 ] && ok || bad "--select user=alice: $(wc -l <"$WORK/alice.jsonl") records"

# ---- export: captures of the fixture pcaps, checked and read back -------------------------
for name in real/skopeo_push_pull basic_keepalive chunked large_body upgrade_connect no_response reset_mid_body \
    head_204_304 gzip_body; do
    base=$(basename "$name")
    "$PMIRROR" capture -q -r "$SRC/fixtures/capture/$name.pcap" --max-body 65536 --key "$KEY" \
        -o "$WORK/$base.jsonl" 2>/dev/null
    n=$(wc -l <"$WORK/$base.jsonl")
    run "$PMIRROR" export --har "$WORK/$base.jsonl" -o "$WORK/$base.har"
    expect_rc 0 "export $base"
    expect_err "$n records -> " "export $base summary"
    run python3 "$CHECK" "$WORK/$base.har" --entries "$n"
    [ "$rc" -eq 0 ] && ok || bad "$base.har is not HAR 1.2: $out"
    [ "$(stat -c %a "$WORK/$base.har")" = 600 ] && ok || bad "$base.har mode"
    run "$PMIRROR" import -q --har "$WORK/$base.har" --key "$KEY" -o "$WORK/$base.back.jsonl"
    expect_rc 0 "import $base.har"
    if [ "$base" = gzip_body ]; then
        # the compressed bytes are compressed again on import: equal once decoded
        run python3 - "$WORK/$base.jsonl" "$WORK/$base.back.jsonl" <<'EOF'
import base64, gzip, json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
for x, y in zip(a, b):
    bx, by = (gzip.decompress(base64.b64decode(r["response"].pop("body_b64"))) for r in (x, y))
    x["response"].pop("body_len"); y["response"].pop("body_len")
    assert bx == by and x == y, (x, y)
assert len(a) == len(b) > 0
EOF
        [ "$rc" -eq 0 ] && ok || bad "gzip_body round trip: $out $err"
    else
        run same_records "$WORK/$base.jsonl" "$WORK/$base.back.jsonl"
        [ "$rc" -eq 0 ] && ok || bad "$base: capture -> export -> import changed the records: $out"
    fi
done
# what HAR viewers show: decoded content, the URL with its host, timings
run python3 - "$WORK/gzip_body.har" "$WORK/skopeo_push_pull.har" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))["log"]["entries"][0]
assert g["response"]["content"]["text"].startswith("{"), g["response"]["content"]
assert g["response"]["content"]["size"] > g["response"]["bodySize"], g["response"]
e = json.load(open(sys.argv[2]))["log"]
assert e["creator"]["name"] == "pmirror"
first = e["entries"][0]
assert first["request"]["url"].startswith("http://127.0.0.1:") and first["request"]["url"].endswith("/v2/"), first["request"]["url"]
assert first["timings"]["wait"] > 0 and first["connection"] and first["_pmirror"]["id"]
EOF
[ "$rc" -eq 0 ] && ok || bad "exported HAR content: $out $err"

# the devtools records out and in again: the same records
run "$PMIRROR" export -q --har "$WORK/dt.jsonl" -o "$WORK/dt.har.gz"
expect_rc 0 "export to gzip"
run python3 "$CHECK" "$WORK/dt.har.gz" --entries 9
[ "$rc" -eq 0 ] && ok || bad "dt.har.gz: $out"
run "$PMIRROR" import -q --har "$WORK/dt.har.gz" --key "$KEY" -o "$WORK/dt.back.jsonl"
run same_records "$WORK/dt.jsonl" "$WORK/dt.back.jsonl"
[ "$rc" -eq 0 ] && ok || bad "devtools round trip: $out"

# result records: a target's answers
run "$PMIRROR" export --har "$SRC/fixtures/diff/quay_golden.results.jsonl" --target go -o "$WORK/go.har"
expect_rc 0 "export --target go"
run python3 "$CHECK" "$WORK/go.har" --entries 47
[ "$rc" -eq 0 ] && ok || bad "go.har: $out"
run "$PMIRROR" export --har "$SRC/fixtures/diff/quay_golden.results.jsonl" --target nope -o "$WORK/nope.har"
expect_rc 2 "export --target with an unknown target"
expect_err "quay_golden.results.jsonl:1: no response from target 'nope'" "unknown target named with file:line"
expect_one_err_line "unknown target"
[ ! -e "$WORK/nope.har" ] && ok || bad "a failed export left a HAR behind"
printf '{"v":1,"id":"x"}\n' >"$WORK/notcapture.jsonl"
run "$PMIRROR" export --har "$WORK/notcapture.jsonl" -o "$WORK/x.har"
expect_rc 2 "export of a record without request"
expect_err "notcapture.jsonl:1: not a capture record" "bad record named"

# the checker itself fails on a broken HAR
python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); del d['log']['entries'][0]['response']['content']['mimeType']
d['log']['entries'][1]['time'] += 5; json.dump(d, open(sys.argv[2],'w'))" "$WORK/dt.har.gz" "$WORK/broken.har" 2>/dev/null \
    || python3 -c "
import gzip,json,sys; d=json.load(gzip.open(sys.argv[1])); del d['log']['entries'][0]['response']['content']['mimeType']
d['log']['entries'][1]['time'] += 5; json.dump(d, open(sys.argv[2],'w'))" "$WORK/dt.har.gz" "$WORK/broken.har"
run python3 "$CHECK" "$WORK/broken.har"
[ "$rc" -eq 1 ] && ok || bad "har_check.py accepted a broken HAR: $out"
expect_out "missing 'mimeType'" "har_check names the missing key"
expect_out "is not the sum of the timings" "har_check checks time"

# ---- bad input ---------------------------------------------------------------------------
printf 'hello\n' >"$WORK/notjson.har"
printf '{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"pages":[]}}' >"$WORK/noentries.har"
head -c 6000 "$HAR" >"$WORK/truncated.har"
: >"$WORK/empty.har"
for case in "notjson:not a HAR" "noentries:not a HAR: log has no \"entries\"" \
    "truncated:log.entries\[1\]: truncated" "empty:not a HAR: the file is empty" "missing:cannot open"; do
    f=${case%%:*}
    run "$PMIRROR" import --har "$WORK/$f.har" --key "$KEY" -o "$WORK/$f.jsonl"
    expect_rc 2 "import $f.har"
    expect_err "$f.har: ${case#*:}" "import $f.har message"
    expect_one_err_line "import $f.har"
done
[ ! -e "$WORK/notjson.jsonl" ] && ok || bad "a HAR that is not JSON left a capture file"
[ "$(wc -l <"$WORK/truncated.jsonl")" -eq 1 ] && ok || bad "truncated HAR: the record before the cut is not kept"

# entries that cannot be converted: skipped with a warning naming them, never silently
cat >"$WORK/skips.har" <<'EOF'
{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[
 {"startedDateTime":"2026-11-20T09:00:00Z","request":{"method":"GET","url":"http://quay.example.test/v2/"},"response":{"status":200,"content":{"size":0}}},
 {"startedDateTime":"2026-11-20T09:00:01Z","request":{"method":"GET"},"response":{"status":200}},
 {"startedDateTime":"2026-11-20T09:00:02Z","request":{"method":"G ET","url":"http://quay.example.test/"}},
 "not an entry",
 {"startedDateTime":"2026-11-20T09:00:03Z","request":{"method":"GET","url":"http://quay.example.test/","headers":[{"name":"X-A","value":"a\r\nInjected: 1"}]}},
 {"startedDateTime":"yesterday","request":{"method":"GET","url":"http://quay.example.test/"}}
]}}
EOF
run "$PMIRROR" import --har "$WORK/skips.har" --key "$KEY" -o "$WORK/skips.jsonl"
expect_rc 0 "import with skipped entries"
expect_err "log.entries\[1\]: no request.url (skipped)" "no url warning"
expect_err "log.entries\[2\]: request.method 'G ET' is not an HTTP method (skipped)" "bad method warning"
expect_err "log.entries\[3\]: not an object (skipped)" "non-object warning"
expect_err "log.entries\[4\]: request.headers\[0\] (X-A) holds a line break or NUL (skipped)" "header injection refused"
expect_err "log.entries\[5\]: startedDateTime 'yesterday' is not an ISO 8601 time (skipped)" "bad time warning"
expect_err "6 entries, 1 records" "skips counted in the summary"
expect_err "5 entries skipped" "skips counted"
[ "$(wc -l <"$WORK/skips.jsonl")" -eq 1 ] && ok || bad "skips.har: one record wanted"

# ---- usage -------------------------------------------------------------------------------
run "$PMIRROR" import "$HAR" -o "$WORK/x.jsonl"
expect_rc 2 "import without --har"
expect_err "--har" "the format is asked for"
run "$PMIRROR" export --har "$WORK/dt.jsonl"
expect_rc 2 "export without -o"
run "$PMIRROR" import --help
expect_rc 0 "import --help"
expect_out "Turns each entry of a HAR" "import help text"
run "$PMIRROR" export --help
expect_rc 0 "export --help"

finish
