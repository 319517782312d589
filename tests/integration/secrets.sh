# SPDX-License-Identifier: Apache-2.0
# secrets.sh — no credential is left on disk. Known secrets are planted in the traffic, in
# requests and in responses: a Basic password, a Bearer JWT, an OAuth token in a query
# string, session and CSRF cookies, a robot password and a robot token in JSON bodies,
# registry tokens in a /v2/auth answer, one of them in a gzip-encoded body. The pcap goes
# through capture → replay (against two `pmirror serve` backends answering with the
# recorded, secret-bearing responses, as real backends do; the suite maps each redacted
# credential back to its value so every request is answered) → diff → report, and every
# artifact — capture, results, diffs, report.json/.md/.html, junit.xml, every command's
# stderr — is searched for each secret, as text and inside decoded base64/gzip bodies:
# zero hits. With --no-redact, the capture holds every one of them (so the search can
# fail). Every file pmirror writes is mode 0600.
# Issue 14: the newer default names (X-Api-Key, X-Auth-Token, api_key/apikey, passwd) and a
# profile's own (redact.yaml: X-Acme-Key, acme_sig, acme_pin) are redacted by capture, HAR
# import, tee --record, replay and run; a request's Bearer token echoed by the backend (a
# header, the body) is redacted there too, in the capture, the results and the diff records.
. "$(dirname "$0")/lib.sh"

ART=$WORK/artifacts
mkdir -p "$ART"
PROFILE=$WORK/profile
cp -r "$SRC/config/quay" "$PROFILE"
cat >"$PROFILE/redact.yaml" <<'EOF2'
redact:
  headers: [X-Acme-Key]
  query: [acme_sig]
  json_fields: [acme_pin]
EOF2

# --- the traffic -----------------------------------------------------------------------------------
python3 - "$SRC/tools" "$WORK/secrets.pcap" "$WORK/secrets.txt" <<'PY' || { echo "FAIL: making the pcap"; exit 1; }
import base64, gzip, json, sys
sys.path.insert(0, sys.argv[1])
import make_pcaps as mp

S = {  # every value is unique and occurs nowhere else
    "basic_pw": "BasicPw-5ecr3t-a1", "jwt_sig": "JwtSig-5ecr3t-b2", "oauth_query": "OauthQ-5ecr3t-c3",
    "session_req": "SessReq-5ecr3t-d4", "csrf": "Csrf-5ecr3t-e5", "session_resp": "SessResp-5ecr3t-f6",
    "robot_pw": "RobotPw-5ecr3t-g7", "robot_token": "RobotTok-5ecr3t-h8", "registry_sig": "RegSig-5ecr3t-i9",
    "gzip_token": "GzTok-5ecr3t-j0", "registry_sig_b": "RegSigB-5ecr3t-k2",
    "api_key_header": "ApiKeyH-5ecr3t-l1", "auth_token_header": "AuthTokH-5ecr3t-l2",
    "api_key_query": "ApiKeyQ-5ecr3t-l3", "apikey_query": "ApiKeyQ2-5ecr3t-l4", "passwd": "Passwd-5ecr3t-l5",
    "secret_field": "SecretF-5ecr3t-l6", "private_key": "PrivKey-5ecr3t-l7",
    "acme_header": "AcmeH-5ecr3t-p1", "acme_query": "AcmeQ-5ecr3t-p2", "acme_pin": "AcmePin-5ecr3t-p3",
    "echo_token": "EchoTok-5ecr3t-m3",
}
basic = base64.b64encode(("alice:" + S["basic_pw"]).encode()).decode()
jwt = ".".join([mp.b64url(b'{"alg":"RS256","typ":"JWT"}'),
                mp.b64url(b'{"sub":"bob","iss":"quay","aud":"quay.example.test","exp":1893456000}'), S["jwt_sig"]])
# the registry token /v2/auth issues: a JWT whose claims diff compares (they must survive)
claims = ".".join([mp.b64url(b'{"alg":"RS256","typ":"JWT","kid":"k1"}'),
                   mp.b64url(b'{"sub":"alice","access":[{"type":"repository","name":"acme/app","actions":["pull"]}]}')])
S["basic_header"], S["jwt"], S["registry_token"] = basic, jwt, claims + "." + S["registry_sig"]
open(sys.argv[3] + ".claims", "w").write(claims + ".\n")

cap = mp.Capture("secrets")
host = [("Host", "quay.example.test"), ("User-Agent", "secrets-test/1")]
def js(obj):
    return mp.compact(obj)
def exchange(req, status, headers, body):
    c = mp.Conn(cap)
    c.handshake()
    headers = [("Content-Length", str(len(body)))] + headers
    cap.exchange(c, req, lambda now: mp.response(status, "OK", headers, body))
    c.close()
auth = "/v2/auth?account=alice&scope=repository%3Aacme%2Fapp%3Apull&service=quay.example.test"
exchange(mp.request("GET", auth, host + [("Authorization", "Basic " + basic)]), 200,
         [("Content-Type", "application/json")],
         js({"token": S["registry_token"], "access_token": S["registry_token"], "expires_in": 300}))
exchange(mp.request("GET", auth + "&client_id=gz", host + [("Authorization", "Basic " + basic),
                                                         ("Accept-Encoding", "gzip")]), 200,
         [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
         gzip.compress(js({"token": S["gzip_token"], "expires_in": 300}), mtime=0))
exchange(mp.request("GET", "/v2/acme/app/manifests/latest", host + [("Authorization", "Bearer " + jwt)]), 200,
         [("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
         js({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}))
exchange(mp.request("GET", "/api/v1/user/?access_token=" + S["oauth_query"], host), 200,
         [("Content-Type", "application/json"), ("Set-Cookie", "session=%s; Path=/; HttpOnly" % S["session_resp"])],
         js({"username": "alice", "anonymous": False}))
exchange(mp.request("GET", "/api/v1/repository/acme/app",
                    host + [("Cookie", "session=%s; _csrf_token=%s" % (S["session_req"], S["csrf"]))]), 200,
         [("Content-Type", "application/json")], js({"namespace": "acme", "name": "app"}))
body = js({"username": "acme+bot", "password": S["robot_pw"]})
exchange(mp.request("POST", "/api/v1/signin", host + [("Content-Type", "application/json"),
                                                     ("Content-Length", str(len(body)))], body), 200,
         [("Content-Type", "application/json")], js({"success": True}))
exchange(mp.request("GET", "/api/v1/organization/acme/robots/bot", host + [("Authorization", "Bearer " + jwt)]), 200,
         [("Content-Type", "application/json")], js({"name": "acme+bot", "token": S["robot_token"]}))
# the newer default names and the profile's own
body = js({"username": "acme+bot", "passwd": S["passwd"], "acme_pin": S["acme_pin"]})
exchange(mp.request("POST", "/api/v1/user/?api_key=%s&apikey=%s&acme_sig=%s" % (S["api_key_query"], S["apikey_query"],
                                                                                S["acme_query"]),
                    host + [("X-Api-Key", S["api_key_header"]), ("X-Auth-Token", S["auth_token_header"]),
                            ("X-Acme-Key", S["acme_header"]), ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))], body), 200,
         [("Content-Type", "application/json")], js({"secret": S["secret_field"], "private_key": S["private_key"]}))
# a backend echoing the request's credential: in a header nobody lists, and in the body
exchange(mp.request("GET", "/api/v1/user/", host + [("Authorization", "Bearer " + S["echo_token"])]), 200,
         [("Content-Type", "application/json"), ("X-Echo", S["echo_token"])],
         js({"you_sent": "Bearer " + S["echo_token"], "note": "EchoMark"}))
open(sys.argv[2], "wb").write(mp.pcap_bytes(cap.linktype, cap.frames()))
open(sys.argv[3], "w").write("".join("%s %s\n" % kv for kv in S.items()))
PY

# find_secrets FILE...: "NAME FILE" for every secret found, in the text or in a decoded
# body (body_b64 decoded, gzip inflated) of a JSON Lines record
find_secrets() {
    python3 - "$WORK/secrets.txt" "$@" <<'PY'
import base64, gzip, json, re, sys, zlib
secrets = dict(l.split() for l in open(sys.argv[1]))
def texts(path):
    raw = open(path, "rb").read()
    yield raw
    for b64 in re.findall(rb"Basic ([A-Za-z0-9+/=]{8,})", raw):  # a Basic header's user:password
        yield base64.b64decode(b64 + b"==")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
        yield raw
        for b64 in re.findall(rb"Basic ([A-Za-z0-9+/=]{8,})", raw):
            yield base64.b64decode(b64 + b"==")
    for line in raw.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        stack = [rec]
        while stack:
            v = stack.pop()
            if isinstance(v, dict):
                stack.extend(v.values())
                b64 = v.get("body_b64")
                if isinstance(b64, str):
                    data = base64.b64decode(b64 + "==")
                    yield data
                    try:
                        yield zlib.decompress(data, 47)
                    except zlib.error:
                        pass
            elif isinstance(v, list):
                stack.extend(v)
for path in sys.argv[2:]:
    found = set()
    for t in texts(path):
        found |= {name for name, value in secrets.items() if value.encode() in t}
    for name in sorted(found):
        print(name, path)
PY
}
n_secrets=$(grep -vc '^registry_sig_b ' "$WORK/secrets.txt") # all but b's own token are in the pcap

# --- --no-redact: the secrets are there (the search works) -------------------------------------------
run "$PMIRROR" capture -q -r "$WORK/secrets.pcap" --no-redact -o "$WORK/clear.jsonl"
expect_rc 0 "capture --no-redact"
n=$(find_secrets "$WORK/clear.jsonl" | wc -l)
[ "$n" -eq "$n_secrets" ] && ok || bad "--no-redact: $n of $n_secrets secrets found in the capture: $(find_secrets "$WORK/clear.jsonl")"
n=$(grep -c '"v":1' "$WORK/clear.jsonl")
[ "$n" -eq 9 ] && ok || bad "the pcap holds 9 exchanges, the capture $n"

# --- capture → replay → diff → report -----------------------------------------------------------------
run "$PMIRROR" capture -r "$WORK/secrets.pcap" --profile "$PROFILE" -o "$ART/capture.jsonl.gz"
expect_rc 0 "capture"
printf '%s\n' "$err" >"$ART/capture.stderr"
run "$PMIRROR" capture -q -r "$WORK/secrets.pcap" --profile "$PROFILE" -o "$ART/capture-plain.jsonl"
expect_rc 0 "capture (plain)"
# the echo is the request's own token, as the Authorization header stores it
python3 - "$ART/capture-plain.jsonl" <<'PY' && ok || bad "capture: the echoed Bearer token is not the header's redacted value"
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["request"]["target"] == "/api/v1/user/" and r["request"]["method"] == "GET":
        auth = dict(r["request"]["headers"])["Authorization"]
        echo = dict(r["response"]["headers"])["X-Echo"]
        body = json.loads(r["response"]["body"])
        sys.exit(not (auth.startswith("Bearer redacted:") and body["you_sent"] == auth and "Bearer " + echo == auth))
sys.exit(1)
PY
# HAR import: the clear capture exported to HAR and imported again
run "$PMIRROR" export --har "$WORK/clear.jsonl" -o "$WORK/clear.har"
expect_rc 0 "export --har"
run "$PMIRROR" import --har "$WORK/clear.har" --profile "$PROFILE" -o "$ART/import.jsonl"
expect_rc 0 "import --har"

# two recorded backends answering with the clear responses (the secrets real backends send);
# b issues its own registry token: another signature over the same claims
# and b echoes something else than the credential it was sent: a difference whose baseline is
# the (redacted) echo
sed -e "s/RegSig-5ecr3t-i9/RegSigB-5ecr3t-k2/g" -e 's/\\"you_sent\\":\\"Bearer EchoTok-5ecr3t-m3\\"/\\"you_sent\\":\\"Bearer not-the-token\\"/' \
    "$WORK/clear.jsonl" >"$WORK/clear-b.jsonl"
grep -q 'not-the-token' "$WORK/clear-b.jsonl" && ok || bad "the b fixture's echo was not changed"
cp "$WORK/clear.jsonl" "$WORK/clear-a.jsonl"
for t in a b; do
    "$PMIRROR" serve --fixture "$WORK/clear-$t.jsonl" --listen 127.0.0.1:0 --port-file "$WORK/$t.port" \
        2>"$ART/serve-$t.stderr" &
    pids+=($!)
done
for _ in $(seq 100); do [ -s "$WORK/a.port" ] && [ -s "$WORK/b.port" ] && break; sleep 0.05; done
# credentials: each redacted token of the capture → the clear value at the same place
python3 - "$WORK/clear.jsonl" "$ART/capture-plain.jsonl" "$(cat "$WORK/a.port")" "$(cat "$WORK/b.port")" \
    "$PROFILE" >"$WORK/suite.yaml" <<'PY'
import json, re, sys
clear = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
creds = {}
def align(red, plain):
    parts = re.split(r"(redacted:[0-9a-f]{16})", red)
    if len(parts) == 1:
        return
    m = re.fullmatch("".join("(.*?)" if p.startswith("redacted:") else re.escape(p) for p in parts), plain)
    if m:
        creds.update(zip([p for p in parts if p.startswith("redacted:")], m.groups()))
for r in map(json.loads, open(sys.argv[2])):
    c = clear[r["id"]]["request"]
    align(r["request"]["target"], c["target"])
    for (n, v), (_, cv) in zip(r["request"]["headers"], c["headers"]):
        align(v, cv)
    align(r["request"].get("body", ""), c.get("body", ""))
print("profile: %s" % sys.argv[5])
print("targets:")
for name, role, port in (("a", "baseline", sys.argv[3]), ("b", "candidate", sys.argv[4])):
    print('  - {name: %s, url: "http://127.0.0.1:%s", role: %s, sandbox: true, credentials: %s}' % (name, port, role, json.dumps(creds)))
PY
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$ART/capture.jsonl.gz" -o "$ART/results.jsonl.gz" --progress never --allow-writes
expect_rc 0 "replay"
printf '%s\n' "$err" >"$ART/replay.stderr"
# every exchange answered 200 by both (serve found its recorded, secret-bearing answer)
n=$(gzip -dc "$ART/results.jsonl.gz" | python3 -c '
import json, sys
print(sum(1 for r in map(json.loads, sys.stdin) for t in ("a", "b") if r["responses"][t].get("status") == 200))')
[ "$n" -eq 18 ] && ok || bad "replay: $n of 18 answers were the recorded 200s: $err"
run "$PMIRROR" diff -i "$ART/results.jsonl.gz" -o "$ART/diffs.jsonl.gz" --progress never
expect_rc 0 "diff"
printf '%s\n' "$err" >"$ART/diff.stderr"
run "$PMIRROR" report -i "$ART/diffs.jsonl.gz" --out-dir "$ART/report" --progress never
expect_rc 0 "report"
printf '%s\n%s\n' "$out" "$err" >"$ART/report.output"
ls "$ART/report/report.json" "$ART/report/report.md" "$ART/report/report.html" "$ART/report/junit.xml" >/dev/null \
    && ok || bad "report files: $(ls "$ART/report")"

# the same in one process: run's kept files and reports are redacted like the stages'
run "$PMIRROR" run -c "$WORK/suite.yaml" -i "$ART/capture.jsonl.gz" --out-dir "$ART/run" --keep-results \
    --allow-writes --progress never
[ "$rc" -le 1 ] && ok || bad "run: exit $rc: $err"
printf '%s\n%s\n' "$out" "$err" >"$ART/run.output"
[ -s "$ART/run/results.jsonl.gz" ] && [ -s "$ART/run/diffs.jsonl.gz" ] && ok || bad "run kept no results/diffs"

# tee --record: a mirrored copy carrying the profile's names and the newer defaults
. "$HERE/tee_helpers.bash"
start_tee sink --sink -c "$WORK/suite.yaml" --record "$ART/tee.jsonl" --shadow-nice 0
curl -s -o /dev/null -H "X-Original-URI: /api/v1/user/?acme_sig=$(awk '$1 == "acme_query" { print $2 }' "$WORK/secrets.txt")" \
    -H "X-Acme-Key: $(awk '$1 == "acme_header" { print $2 }' "$WORK/secrets.txt")" \
    -H "X-Api-Key: $(awk '$1 == "api_key_header" { print $2 }' "$WORK/secrets.txt")" \
    -H "Authorization: Bearer $(awk '$1 == "echo_token" { print $2 }' "$WORK/secrets.txt")" \
    "http://127.0.0.1:$tport/mirror"
sleep 0.5
kill -TERM "$sink_tee"
wait "$sink_tee"
[ -s "$ART/tee.jsonl" ] && ok || bad "tee --record wrote nothing: $(cat "$WORK/sink.tee.err")"

# the diff record of the echo: the baseline holds the redacted echo, not the token
gzip -dc "$ART/diffs.jsonl.gz" "$ART/run/diffs.jsonl.gz" | python3 -c '
import json, sys
seen = 0
for r in map(json.loads, sys.stdin):
    for d in r.get("differences", []):
        if d.get("path", "").endswith("you_sent"):
            seen += 1
            if not str(d.get("baseline")).startswith("Bearer redacted:"):
                sys.exit("baseline %r" % d.get("baseline"))
sys.exit(0 if seen == 2 else "%d echo differences, want 2" % seen)' && ok || bad "diff records of the echo"

# --- zero hits --------------------------------------------------------------------------------------
hits=$(find_secrets $(find "$ART" -type f | sort))
[ -z "$hits" ] && ok || bad "secrets left on disk (secret file): $(echo $hits)"

# the registry token's header and claims are kept (diff's jwt rule compares them), its
# signature is not
n=$(gzip -dc "$ART/results.jsonl.gz" | grep -o "$(cat "$WORK/secrets.txt.claims")redacted:[0-9a-f]\{16\}" | wc -l)
[ "$n" -ge 4 ] && ok || bad "results: the issued JWT lost its claims (or kept its signature): $n tokens with claims"
n=$(gzip -dc "$ART/diffs.jsonl.gz" | grep -c '"verdict":"match"')
[ "$n" -eq 8 ] && ok || bad "diff: $n of 8 matches (equal answers, equally redacted; the two registry tokens by their claims)"

# the key of a run writing to a device is made in the working directory, not in /dev
mkdir -p "$WORK/cwd"
(cd "$WORK/cwd" && "$PMIRROR" capture -q -r "$WORK/secrets.pcap" -o /dev/null) && [ -f "$WORK/cwd/.pmirror-key" ] \
    && ok || bad "capture -o /dev/null: no redaction key in the working directory"

# --- a key file someone else could read, write or swap is refused ----------------------------------
# A planted world-readable .pmirror-key beside the output would let anyone recompute the tokens;
# a group-writable --key file or a symlink could be swapped. Each: exit 2, one line naming it.
mkdir -p "$WORK/planted" "$WORK/linked"
printf '0123456789abcdef0123456789abcdef\n' >"$WORK/planted/.pmirror-key"
chmod 644 "$WORK/planted/.pmirror-key"
run "$PMIRROR" capture -q -r "$WORK/secrets.pcap" -o "$WORK/planted/capture.jsonl"
expect_rc 2 "planted world-readable key beside the output"
expect_err "planted/.pmirror-key: redaction key file is readable or writable by group or others" "planted key named"
expect_one_err_line "planted key"
[ ! -e "$WORK/planted/capture.jsonl" ] && ok || bad "capture wrote with a planted key"
cp "$WORK/planted/.pmirror-key" "$WORK/group-writable.key" && chmod 620 "$WORK/group-writable.key"
run "$PMIRROR" capture -q -r "$WORK/secrets.pcap" --key "$WORK/group-writable.key" -o "$WORK/planted/out.jsonl"
expect_rc 2 "group-writable --key"
expect_err "group-writable.key: redaction key file is readable or writable" "group-writable key named"
expect_one_err_line "group-writable --key"
cp "$WORK/planted/.pmirror-key" "$WORK/linked/real.key" && chmod 600 "$WORK/linked/real.key"
ln -s real.key "$WORK/linked/.pmirror-key"
# replay uses the capture's key (one run, one key: beside its input), so the link goes there
cp "$ART/capture.jsonl.gz" "$WORK/linked/capture.jsonl.gz"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/linked/capture.jsonl.gz" -o "$WORK/linked/results.jsonl"
expect_rc 2 "symlinked key beside the capture"
expect_err "linked/.pmirror-key: redaction key file is a symbolic link" "symlinked key named"
expect_one_err_line "symlinked key"

# --- 0600 -------------------------------------------------------------------------------------------
# tee proxy: the shadow answers with the client's credential in a value that differs from the
# primary's, so the diff record, the report's examples and the record all hold it unless the
# result is redacted before it is diffed
backend tp
TP=$port
backend ts --variant go
TS=$port
start_tee proxy --primary "http://127.0.0.1:$TP" --shadow "http://127.0.0.1:$TS" --record "$ART/tee-proxy.jsonl" \
    --out-dir "$ART/tee-report" --shadow-nice 0
for i in 1 2; do
    curl -s -o /dev/null -H "Authorization: Bearer TeeEcho-5ecr3t-$i" "http://127.0.0.1:$tport/t/whoami"
done
kill -TERM "$proxy_tee"
wait "$proxy_tee"
grep -q '"mismatch": *2' "$ART/tee-report/report.json" && ok || bad "tee proxy: want 2 mismatches: $(cat "$WORK/proxy.tee.err")"
leaks=$(grep -l "TeeEcho-5ecr3t" "$ART/tee-proxy.jsonl" "$ART/tee-report/"*)
[ -z "$leaks" ] && ok || bad "tee proxy: the echoed credential is in clear in: $(echo $leaks)"
grep -q 'you_sent' "$ART/tee-report/report.md" && grep -q 'Bearer redacted:' "$ART/tee-report/report.md" && ok ||
    bad "tee proxy: the report shows the difference, redacted: $(grep -A3 you_sent "$ART/tee-report/report.md" | head -5)"

for f in "$ART/capture.jsonl.gz" "$ART/capture-plain.jsonl" "$ART/results.jsonl.gz" "$ART/diffs.jsonl.gz" \
    "$ART/report/report.json" "$ART/report/report.md" "$ART/report/report.html" "$ART/report/junit.xml" \
    "$WORK/clear.jsonl" "$ART/.pmirror-key" "$WORK/cwd/.pmirror-key"; do
    mode=$(stat -c %a "$f" 2>/dev/null)
    [ "$mode" = 600 ] && ok || bad "$f: mode $mode, want 600"
done

finish
