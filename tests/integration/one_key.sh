# SPDX-License-Identifier: Apache-2.0
# one_key.sh — issue 17 item 10: one run, one key. A capture redacted with key K (the
# .pmirror-key import wrote beside it) is replayed and run without --key into other
# directories: what they write is redacted with K, so a secret the backends answer with (a
# Set-Cookie session, an issued token) has the same redacted: token in the results as in the
# capture, and no new key file appears beside the output. A capture with no key beside it
# still gets one beside the output; a key beside the capture that anyone else may read is
# refused, naming it.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/cap"
python3 "$HERE/creds_capture.py" "$WORK/spec.json" "$WORK/secrets.json"
python3 "$HERE/make_capture.py" "$WORK/clear.jsonl" - <"$WORK/spec.json"
"$PMIRROR" export --har "$WORK/clear.jsonl" -o "$WORK/clear.har" -q
run "$PMIRROR" import --har "$WORK/clear.har" -o "$WORK/cap/capture.jsonl.gz"
expect_rc 0 "import --har"
KEY=$WORK/cap/.pmirror-key
[ -f "$KEY" ] && ok || bad "import made no key beside the capture"

# two recorded backends answering with the clear responses (the session cookie, the issued token)
for t in a b; do
    "$PMIRROR" serve --fixture "$WORK/clear.jsonl" --listen 127.0.0.1:0 --port-file "$WORK/$t.port" \
        2>"$WORK/serve-$t.err" &
    pids+=($!)
done
wait_for 5 test -s "$WORK/a.port" -a -s "$WORK/b.port" || bad "serve did not start"
python3 - "$HERE" "$KEY" "$(cat "$WORK/a.port")" "$(cat "$WORK/b.port")" >"$WORK/suite.yaml" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import creds_capture as c
creds = {c.token(sys.argv[2], v): v for k, v in c.SECRETS.items() if k != "issued"}
print("targets:")
for name, role, port in (("a", "baseline", sys.argv[3]), ("b", "candidate", sys.argv[4])):
    print('  - {name: %s, url: "http://127.0.0.1:%s", role: %s, sandbox: true, credentials: %s}'
          % (name, port, role, json.dumps(creds)))
PY

# same_tokens RESULTS: the answers' session cookie and issued token are the capture's tokens
same_tokens() {
    python3 - "$HERE" "$KEY" "$WORK/cap/capture.jsonl.gz" "$1" <<'PY'
import gzip, json, re, sys
sys.path.insert(0, sys.argv[1])
import creds_capture as c
def load(path):
    f = gzip.open(path, "rt") if path.endswith(".gz") else open(path)
    return {r["id"]: r for r in map(json.loads, f)}
want = {"session": c.token(sys.argv[2], c.SECRETS["session"]), "issued": c.token(sys.argv[2], c.SECRETS["issued"])}
cap, res = load(sys.argv[3]), load(sys.argv[4])
def found(message):
    text = json.dumps(message)
    return set(re.findall(r"redacted:[0-9a-f]{16}", text))
ok = want["session"] in found(cap["x3"]["response"]) and want["issued"] in found(cap["x5"]["response"])
for t in ("a", "b"):
    ok = ok and want["session"] in found(res["x3"]["responses"][t]) and want["issued"] in found(res["x5"]["responses"][t])
    ok = ok and res["x3"]["responses"][t].get("status") == 200
if not ok:
    print("want %r; capture x3 %r x5 %r; results x3 %r x5 %r" % (want, found(cap["x3"]["response"]),
          found(cap["x5"]["response"]), found(res["x3"]["responses"]), found(res["x5"]["responses"])), file=sys.stderr)
sys.exit(not ok)
PY
}

# replay without --key, into another directory
mkdir -p "$WORK/out"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/cap/capture.jsonl.gz" -o "$WORK/out/results.jsonl" \
    --allow-writes --progress never
expect_rc 0 "replay"
same_tokens "$WORK/out/results.jsonl" && ok || bad "replay: the answers' tokens are not the capture's"
[ ! -e "$WORK/out/.pmirror-key" ] && ok || bad "replay created a new key beside its output"

# run without --key: its kept results (and so its diffs and reports) use the capture's key
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$WORK/cap/capture.jsonl.gz" --out-dir "$WORK/run" --keep-results \
    --allow-writes --progress never
[ "$rc" -le 1 ] && ok || bad "run: exit $rc: $err"
gzip -dc "$WORK/run/results.jsonl.gz" >"$WORK/run-results.jsonl"
same_tokens "$WORK/run-results.jsonl" && ok || bad "run: the answers' tokens are not the capture's"
[ ! -e "$WORK/run/.pmirror-key" ] && ok || bad "run created a new key beside its output"

# --key still chooses (here the same key, from elsewhere)
cp -p "$KEY" "$WORK/k"
mkdir -p "$WORK/out3"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/cap/capture.jsonl.gz" -o "$WORK/out3/results.jsonl" \
    --key "$WORK/k" --allow-writes --progress never
expect_rc 0 "replay --key"
same_tokens "$WORK/out3/results.jsonl" && ok || bad "replay --key: tokens differ"
[ ! -e "$WORK/out3/.pmirror-key" ] && ok || bad "replay --key created a key beside its output"

# no key beside the capture: a key beside the output, as before
mkdir -p "$WORK/nokey" "$WORK/out4"
cp "$WORK/cap/capture.jsonl.gz" "$WORK/nokey/"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/nokey/capture.jsonl.gz" -o "$WORK/out4/results.jsonl" \
    --allow-writes --progress never
expect_rc 0 "replay of a capture without its key"
[ -f "$WORK/out4/.pmirror-key" ] && ok || bad "replay without the capture's key made no key beside its output"

# a key beside the capture that others may read: refused, named, exit 2
chmod 644 "$KEY"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/cap/capture.jsonl.gz" -o "$WORK/out5.jsonl" \
    --allow-writes --progress never
expect_rc 2 "replay with a readable key beside the capture"
expect_err "cap/.pmirror-key: redaction key file is readable" "the refused key is named"
chmod 600 "$KEY"

finish
