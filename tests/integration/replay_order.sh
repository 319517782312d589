# SPDX-License-Identifier: Apache-2.0
# replay_order.sh — how `pmirror replay` sends what it sends, seen from backends it starts
# itself (fault_server.py on 127.0.0.1, which logs every request with its arrival time):
#  - causal order across connections: an exchange recorded after another's response ended
#    waits for that one here too; one that overlapped it in the recording does not;
#  - pacing: --rate, --limit, --concurrency;
#  - sharding: --shard K/N splits by repository, keeps a flow together, loses nothing;
#  - credentials, the Host header, hop-by-hop headers;
#  - the `recorded` pseudo-target;
#  - bad input: one stderr line naming file:line(:column), exit 2.
. "$(dirname "$0")/lib.sh"
clear_logs() { : >"$WORK/S.log"; : >"$WORK/T.log"; : >"$WORK/U.log"; }
capture() { python3 "$HERE/make_capture.py" "$@" || { echo "FAIL: make_capture.py $1"; exit 1; }; }
replay() { run "$PMIRROR" replay --progress never "$@"; }
# pyq FILE... <<'PY' : a python check over files (argv[1:]), its output in $out
pyq() { out=$(python3 - "$@"); }

start_server S; port_s=$port
start_server T; port_t=$port
start_server U; port_u=$port
one_target() { # one_target FILE PORT [EXTRA KEYS]
    printf 'targets:\n  - {name: s, url: "http://127.0.0.1:%s", role: baseline, timeout: 5%s}\n' "$2" "${3:+, $3}" >"$1"
}
one_target "$WORK/s.yaml" "$port_s"

# ===== causal order across connections =============================================================
# E1 (session s1) takes 400 ms here; recorded: ts T, done_us 1000. E3 (s3) began at T+500,
# while E1 was still running in the recording: it may start at once. E2 (s2) began at
# T+2000, after E1's recorded end: it must wait for E1's answer. The file is in completion
# order (as capture writes it), not request order.
capture "$WORK/causal.jsonl" '[
  {"id": "e3", "session": "s3", "at_us": 500,  "target": "/ok/e3", "done_us": 100},
  {"id": "e1", "session": "s1", "at_us": 0,    "target": "/slow/400", "done_us": 1000},
  {"id": "e2", "session": "s2", "at_us": 2000, "target": "/ok/e2", "done_us": 100}
]'
replay -c "$WORK/s.yaml" -i "$WORK/causal.jsonl" -o "$WORK/causal-results.jsonl"
expect_rc 0 "causal replay"
pyq "$WORK/S.log" "$WORK/causal-results.jsonl" <<'PY'
import json, sys
t = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    t[e["path"]] = e["t"]
res = [json.loads(l) for l in open(sys.argv[2])]
errors = [(r["id"], r["responses"]["s"].get("error")) for r in res if r["responses"]["s"].get("error")]
print("seen %d results %d errors %s" % (len(t), len(res), errors))
if len(t) == 3:
    print("e2_after_e1 %.3f" % (t["/ok/e2"] - t["/slow/400"]))
    print("e3_after_e1 %.3f" % (t["/ok/e3"] - t["/slow/400"]))
PY
grep -q '^seen 3 results 3 errors \[\]' <<<"$out" && ok || bad "causal: $out"
# E1 is logged on arrival, then the server sleeps 400 ms before answering
d=$(sed -n 's/^e2_after_e1 //p' <<<"$out")
python3 -c "import sys; sys.exit(0 if $d >= 0.4 else 1)" 2>/dev/null && ok \
    || bad "causal: E2 (recorded after E1's end, other connection) arrived ${d}s after E1, before E1's answer (400 ms)"
d=$(sed -n 's/^e3_after_e1 //p' <<<"$out")
python3 -c "import sys; sys.exit(0 if $d < 0.35 else 1)" 2>/dev/null && ok \
    || bad "causal: E3 (overlapping E1 in the recording) arrived ${d}s after E1: it waited for E1"

# a chain: each of 10 quick exchanges began after the previous one ended (one waits for
# the other, on separate connections). Each must start as soon as its predecessor is
# answered: the median gap between arrivals stays far below a poll interval (50 ms).
chain=$(python3 -c 'import json; print(json.dumps([{"id": "k%d" % i, "target": "/ok/k%d" % i, "at_us": i * 10000, "done_us": 1000} for i in range(10)]))')
capture "$WORK/chain.jsonl" "$chain"
: >"$WORK/S.log"
replay -c "$WORK/s.yaml" -i "$WORK/chain.jsonl" -o "$WORK/chain-results.jsonl"
expect_rc 0 "chain replay"
gap=$(python3 -c '
import json, statistics, sys
ts = [json.loads(l)["t"] for l in open(sys.argv[1])]
print(round(statistics.median(b - a for a, b in zip(ts, ts[1:])), 4) if len(ts) == 10 else 99)' "$WORK/S.log")
python3 -c "import sys; sys.exit(0 if $gap < 0.04 else 1)" && ok \
    || bad "BUG: chain: each causally-waiting exchange starts ${gap}s (median) after its predecessor's start, on a backend answering in ~1 ms (the engine polls 50 ms after finishing the exchange that unblocks the next)"

# ===== pacing ===========================================================================================
# ten quick exchanges, all overlapping in the recording: nothing but pacing holds them back
ten=$(python3 -c 'import json; print(json.dumps([{"id": "p%d" % i, "target": "/ok/p%d" % i, "at_us": i * 100, "done_us": 500000} for i in range(10)]))')
capture "$WORK/ten.jsonl" "$ten"
clear_logs
start=$EPOCHREALTIME
replay -c "$WORK/s.yaml" -i "$WORK/ten.jsonl" -o "$WORK/rate.jsonl" --rate 20
elapsed=$(python3 -c "print(round($EPOCHREALTIME - $start, 3))")
expect_rc 0 "--rate 20"
n=$(grep -c . "$WORK/rate.jsonl")
[ "$n" -eq 10 ] && ok || bad "--rate 20: $n results, want 10"
# 10 starts at 20/s: 9 gaps of 50 ms (lower bounds only: a slow machine takes longer)
python3 -c "import sys; sys.exit(0 if $elapsed >= 0.44 else 1)" && ok || bad "--rate 20: 10 exchanges took ${elapsed}s, want >= 0.45 s"
spread=$(python3 -c '
import json, sys
ts = [json.loads(l)["t"] for l in open(sys.argv[1])]
print(round(max(ts) - min(ts), 3) if len(ts) == 10 else -1)' "$WORK/S.log")
python3 -c "import sys; sys.exit(0 if $spread >= 0.4 else 1)" && ok \
    || bad "--rate 20: the backend saw the 10 requests within ${spread}s, want about 0.45 s (>= 0.4)"

clear_logs
replay -c "$WORK/s.yaml" -i "$WORK/ten.jsonl" -o "$WORK/limit.jsonl" --limit 3
expect_rc 0 "--limit 3"
ids=$(python3 -c 'import json, sys; print(" ".join(sorted(json.loads(l)["id"] for l in open(sys.argv[1]))))' "$WORK/limit.jsonl")
[ "$ids" = "p0 p1 p2" ] && ok || bad "--limit 3: results '$ids', want p0 p1 p2"
n=$(grep -c . "$WORK/S.log")
[ "$n" -eq 3 ] && ok || bad "--limit 3: the backend saw $n requests"
expect_err "3 exchanges replayed" "--limit 3: summary"

# --concurrency 1: four 150 ms exchanges that overlapped in the recording run one by one
clear_logs
capture "$WORK/four.jsonl" '[
  {"id": "c0", "target": "/slow/150?c0", "at_us": 0,   "done_us": 900000},
  {"id": "c1", "target": "/slow/150?c1", "at_us": 100, "done_us": 900000},
  {"id": "c2", "target": "/slow/150?c2", "at_us": 200, "done_us": 900000},
  {"id": "c3", "target": "/slow/150?c3", "at_us": 300, "done_us": 900000}
]'
replay -c "$WORK/s.yaml" -i "$WORK/four.jsonl" -o "$WORK/conc1.jsonl" --concurrency 1
expect_rc 0 "--concurrency 1"
pyq "$WORK/conc1.jsonl" "$WORK/S.log" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1])]
good = sum(1 for r in res if r["responses"]["s"].get("status") == 200 and r["responses"]["s"].get("error") is None)
ts = sorted(json.loads(l)["t"] for l in open(sys.argv[2]))
gaps = [round(b - a, 3) for a, b in zip(ts, ts[1:])]
print(len(res), good, len(ts), min(gaps) if gaps else -1)
PY
read -r n_res n_good n_seen min_gap <<<"$out"
[ "$n_res" -eq 4 ] && [ "$n_good" -eq 4 ] && [ "$n_seen" -eq 4 ] && ok \
    || bad "--concurrency 1: $n_res results, $n_good answered, $n_seen seen; want 4"
python3 -c "import sys; sys.exit(0 if $min_gap >= 0.15 else 1)" && ok \
    || bad "--concurrency 1: two requests in flight at once (smallest gap ${min_gap}s < 150 ms)"

# ===== sharding ==================================================================================
# 40 exchanges over 10 repositories, one connection each; acme/upload is a push: POST,
# PATCH and PUT on three connections (replayed with --allow-writes into sandbox targets)
python3 - >"$WORK/shard-spec.json" <<'PY'
import json
spec, i = [], 0
for r in range(9):
    repo = "org%d/repo%d" % (r % 3, r)
    for k in range(4):
        spec.append({"id": "g%02d" % i, "repo": repo, "user": "user%d" % (i % 5), "target": "/ok/v2/%s/manifests/t%d" % (repo, k),
                     "at_us": i * 10000, "done_us": 2000, "family": "REGISTRY_V2"})
        i += 1
up = "/ok/v2/acme/upload/blobs/uploads/"
for k, (method, target, body) in enumerate([("POST", up, None), ("PATCH", up + "u-1", "layer-bytes"),
                                            ("PUT", up + "u-1?digest=sha256:abc", ""), ("HEAD", "/ok/v2/acme/upload/blobs/sha256:abc", None)]):
    s = {"id": "up%d" % k, "repo": "acme/upload", "user": "pusher", "method": method, "target": target,
         "at_us": i * 10000, "done_us": 2000, "family": "REGISTRY_V2"}
    if body is not None:
        s["body"] = body
    spec.append(s)
    i += 1
print(json.dumps(spec))
PY
capture "$WORK/shard.jsonl" - <"$WORK/shard-spec.json"
cat >"$WORK/sandbox.yaml" <<EOF
targets:
  - {name: s, url: "http://127.0.0.1:$port_s", role: baseline, sandbox: true, timeout: 5}
  - {name: t, url: "http://127.0.0.1:$port_t", role: candidate, sandbox: true, timeout: 5}
EOF
clear_logs
for k in 1 2 3; do
    replay -c "$WORK/sandbox.yaml" -i "$WORK/shard.jsonl" -o "$WORK/shard$k.jsonl" --shard $k/3 --allow-writes
    expect_rc 0 "--shard $k/3"
done
pyq "$WORK/shard.jsonl" "$WORK/S.log" "$WORK/T.log" "$WORK/shard1.jsonl" "$WORK/shard2.jsonl" "$WORK/shard3.jsonl" <<'PY'
import json, sys
captured = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
ids, shard_of_repo, sizes, bad = [], {}, [], []
for k, path in enumerate(sys.argv[4:]):
    res = [json.loads(l) for l in open(path)]
    sizes.append(len(res))
    for r in res:
        ids.append(r["id"])
        shard_of_repo.setdefault(r["cohort"]["repo"], set()).add(k)
        for name in ("s", "t"):
            x = r["responses"][name]
            if x.get("error") is not None or x.get("status") != 200:
                bad.append((r["id"], name, x.get("error"), x.get("status")))
split = {repo: sorted(s) for repo, s in shard_of_repo.items() if len(s) > 1}
seen = [len(open(p).readlines()) for p in sys.argv[2:4]]
print("union", int(set(ids) == set(captured)), "total", len(ids), "distinct", len(set(ids)),
      "nonempty", sum(1 for n in sizes if n), "split", json.dumps(split), "bad", json.dumps(bad[:3]),
      "seen", *seen, "repos", len(shard_of_repo))
PY
sh_out=$out
grep -q 'union 1 total 40 distinct 40 ' <<<"$sh_out" && ok || bad "shards: the union must be all 40 ids, none twice: $sh_out"
grep -q 'split {}' <<<"$sh_out" && ok || bad "shards: a repository's exchanges spread over shards: $sh_out"
grep -q 'repos 10$' <<<"$sh_out" && grep -qv 'nonempty [01] ' <<<"$sh_out" && ok || bad "shards: want 10 repos over at least 2 shards: $sh_out"
grep -q 'bad \[\]' <<<"$sh_out" && ok || bad "shards: exchanges not answered: $sh_out"
grep -q 'seen 40 40 ' <<<"$sh_out" && ok || bad "shards: each backend should see each of the 40 exactly once over the 3 runs: $sh_out"
n=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["method"] in ("POST", "PATCH", "PUT")))' "$WORK/T.log")
[ "$n" -eq 3 ] && ok || bad "shards: the upload's POST, PATCH and PUT reached the sandbox $n times, want 3"

# ===== credentials, Host, hop-by-hop headers =========================================================
# S: no credentials; T: credentials for the redacted token; U: its own Authorization header
capture "$WORK/creds.jsonl" '[
  {"id": "auth",  "target": "/ok/auth", "add_headers": [["Authorization", "Bearer redacted:0123456789abcdef"]]},
  {"id": "plain", "target": "/ok/plain"},
  {"id": "query", "target": "/ok/query?access_token=redacted:0123456789abcdef&n=1"},
  {"id": "hop",   "target": "/ok/hop", "headers": [["Host", "quay.example.test"], ["Connection", "Upgrade, X-Hop-Private"],
      ["Keep-Alive", "timeout=5, max=100"], ["Transfer-Encoding", "chunked"], ["Upgrade", "websocket"],
      ["X-Hop-Private", "secret-hop"], ["Proxy-Connection", "keep-alive"], ["TE", "trailers"],
      ["Content-Length", "999"], ["X-End-To-End", "kept"]]}
]'
cat >"$WORK/creds.yaml" <<EOF
targets:
  - {name: s, url: "http://127.0.0.1:$port_s", role: baseline, timeout: 5}
  - name: t
    url: "http://127.0.0.1:$port_t"
    role: candidate
    timeout: 5
    credentials: {"redacted:0123456789abcdef": "real-token-123"}
  - {name: u, url: "http://127.0.0.1:$port_u", role: secondary, timeout: 5, headers: {Authorization: "Basic Zm9vOmJhcg=="}}
EOF
clear_logs
replay -c "$WORK/creds.yaml" -i "$WORK/creds.jsonl" -o "$WORK/creds-results.jsonl"
expect_rc 0 "credentials replay"
pyq "$WORK/creds-results.jsonl" "$WORK/S.log" "$WORK/T.log" "$WORK/U.log" <<'PY'
import json, sys
res = {json.loads(l)["id"]: json.loads(l)["responses"] for l in open(sys.argv[1])}
logs = {n: {json.loads(l)["path"]: json.loads(l) for l in open(p)} for n, p in zip("STU", sys.argv[2:5])}
a = res["auth"]["s"]
print("s_auth", a.get("error"), a.get("skipped"), a.get("status"))
print("s_seen_auth", int("/ok/auth" in logs["S"]), "s_seen_plain", int("/ok/plain" in logs["S"]))
auths = lambda e: [v for k, v in e["header_list"] if k.lower() == "authorization"]
print("t_auth", json.dumps(auths(logs["T"]["/ok/auth"]) if "/ok/auth" in logs["T"] else None), res["auth"]["t"].get("error"))
print("u_auth", json.dumps(auths(logs["U"]["/ok/auth"]) if "/ok/auth" in logs["U"] else None), res["auth"]["u"].get("error"))
print("u_plain", json.dumps(auths(logs["U"]["/ok/plain"]) if "/ok/plain" in logs["U"] else None))
leaks = [(n, p) for n, log in logs.items() for p, e in log.items()
         if "redacted:" in json.dumps(e) and not p.startswith("/ok/query")]  # query: checked apart
print("leaks", json.dumps(leaks))
q = [p for p in logs["T"] if p.startswith("/ok/query")]
print("t_query", json.dumps(q), res["query"]["t"].get("error"))
print("s_query", json.dumps([p for p in logs["S"] if p.startswith("/ok/query")]), res["query"]["s"].get("error"))
hosts = {n: sorted({e["headers"].get("Host") for e in log.values()}) for n, log in logs.items()}
print("hosts", json.dumps(hosts))
hop = logs["T"].get("/ok/hop", {"header_list": []})["header_list"]
names = {k.lower(): v for k, v in hop}
print("hop_seen", int("/ok/hop" in logs["T"]))
print("hop_dropped", " ".join(h for h in ("keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te") if h not in names))
print("hop_connection", json.dumps(names.get("connection")))
print("hop_content_length", json.dumps(names.get("content-length")))
print("hop_private", json.dumps(names.get("x-hop-private")))
print("hop_e2e", json.dumps(names.get("x-end-to-end")))
PY
cr=$out
val() { sed -n "s/^$1 //p" <<<"$cr"; }
[ "$(val s_auth)" = "no_credentials True None" ] && ok || bad "no credentials: want error no_credentials, skipped, no status: $(val s_auth)"
[ "$(val s_seen_auth)" = "0 s_seen_plain 1" ] && ok || bad "no credentials: the backend saw the redacted request (or not the plain one): $(val s_seen_auth)"
[ "$(val t_auth)" = '["Bearer real-token-123"] None' ] && ok || bad "credentials: T got Authorization $(val t_auth)"
[ "$(val u_auth)" = '["Basic Zm9vOmJhcg=="] None' ] && ok || bad "target headers: U got Authorization $(val u_auth)"
[ "$(val u_plain)" = '["Basic Zm9vOmJhcg=="]' ] && ok || bad "target headers on a request without one: U got $(val u_plain)"
expect_err "s: 0 skipped_unsafe.*[12] no_credentials" "summary counts no_credentials"
for np in "S $port_s" "T $port_t" "U $port_u"; do
    set -- $np
    grep -qF "\"$1\": [\"127.0.0.1:$2\"]" <<<"$(val hosts)" && ok \
        || bad "Host: $1 saw $(val hosts), want only 127.0.0.1:$2 (not the recorded quay.example.test)"
done
# a token redacted in the query string (DESIGN.md "Redaction": capture does that) is a
# credential too: mapped back with `credentials`, or the request is not sent
[ "$(val t_query)" = '["/ok/query?access_token=real-token-123&n=1"] None' ] && ok \
    || bad "BUG: query-string credential: the target with credentials got $(val t_query) (want /ok/query?access_token=real-token-123&n=1)"
[ "$(val s_query)" = '[] no_credentials' ] && ok \
    || bad "BUG: query-string credential: the target without credentials got $(val s_query) (want nothing sent, error no_credentials)"
[ "$(val leaks)" = '[]' ] && ok || bad "a redacted: token in a header reached a backend: $(val leaks)"
# hop-by-hop headers as recorded do not reach the backend; end-to-end ones do
[ "$(val hop_seen)" = 1 ] && [ "$(val hop_e2e)" = '"kept"' ] && ok || bad "hop: the request or its end-to-end header is missing: $(val hop_e2e)"
[ "$(val hop_dropped)" = "keep-alive transfer-encoding upgrade proxy-connection te" ] && ok \
    || bad "hop: recorded hop-by-hop headers reached the backend (dropped only: $(val hop_dropped))"
[ "$(val hop_connection)" != '"Upgrade, X-Hop-Private"' ] && ok || bad "hop: the recorded Connection header was sent as recorded"
[ "$(val hop_content_length)" != '"999"' ] && ok || bad "hop: the recorded Content-Length 999 was sent"
[ "$(val hop_private)" = null ] && ok \
    || bad "BUG: hop: X-Hop-Private, named by the recorded Connection header (hop-by-hop, RFC 9110 7.6.1), reached the backend: $(val hop_private)"

# ===== the recorded pseudo-target ==================================================================
capture "$WORK/rec.jsonl" '[
  {"id": "tea",   "target": "/ok/tea", "status": 418, "resp_body": "i am a teapot",
   "resp_headers": [["Content-Type", "text/plain"], ["X-Recorded", "yes"]]},
  {"id": "nores", "target": "/ok/nores", "status": null}
]'
printf 'targets:\n  - {name: recorded, role: baseline}\n' >"$WORK/rec-only.yaml"
clear_logs
replay -c "$WORK/rec-only.yaml" -i "$WORK/rec.jsonl" -o "$WORK/rec-results.jsonl"
expect_rc 0 "recorded pseudo-target alone"
pyq "$WORK/rec-results.jsonl" <<'PY'
import json, sys
res = {json.loads(l)["id"]: json.loads(l)["responses"]["recorded"] for l in open(sys.argv[1])}
t = res.get("tea", {})
print("tea", t.get("role"), t.get("status"), json.dumps(t.get("body")), t.get("error"),
      int(["X-Recorded", "yes"] in t.get("headers", [])))
print("nores", res.get("nores", {}).get("error"), res.get("nores", {}).get("status"))
PY
[ "$(sed -n 's/^tea //p' <<<"$out")" = 'baseline 418 "i am a teapot" None 1' ] && ok \
    || bad "recorded: want the capture's own answer (baseline 418 teapot): $(sed -n 's/^tea //p' <<<"$out")"
[ "$(sed -n 's/^nores //p' <<<"$out")" = 'no_recording None' ] && ok \
    || bad "recorded: a record without a response: $(sed -n 's/^nores //p' <<<"$out")"
printf 'targets:\n  - {name: recorded, role: baseline}\n  - {name: s, url: "http://127.0.0.1:%s", role: candidate, timeout: 5}\n' \
    "$port_s" >"$WORK/rec-live.yaml"
replay -c "$WORK/rec-live.yaml" -i "$WORK/rec.jsonl" -o "$WORK/rec-live.jsonl"
expect_rc 0 "recorded + live"
pyq "$WORK/rec-live.jsonl" "$WORK/S.log" <<'PY'
import json, sys
r = {json.loads(l)["id"]: json.loads(l)["responses"] for l in open(sys.argv[1])}["tea"]
print(r["recorded"].get("status"), r["s"].get("status"), len(open(sys.argv[2]).readlines()))
PY
[ "$out" = "418 200 2" ] && ok || bad "recorded + live: recorded 418, live 200, the live backend sees each exchange once: $out"

# ===== bad input ===================================================================================
mkdir -p "$WORK/bad"
clear_logs
cat >"$WORK/bad/suite.yaml" <<EOF
targets:
  - {name: s, url: "http://127.0.0.1:$port_s", role: baseline, tiemout: 2}
EOF
replay -c "$WORK/bad/suite.yaml" -i "$WORK/ten.jsonl" -o "$WORK/bad.jsonl"
expect_rc 2 "suite with an unknown key"
expect_one_err_line "suite with an unknown key"
grep -q 'suite\.yaml:2:[0-9][0-9]*: .*tiemout' <<<"$err" && ok || bad "unknown key: want suite.yaml:2:COL naming tiemout: $err"
[ ! -s "$WORK/S.log" ] && ok || bad "a bad suite still sent requests"
# the typo suite.c itself names as the reason for the check: the value is a boolean
cat >"$WORK/bad/suite.yaml" <<EOF
targets:
  - name: s
    url: "http://127.0.0.1:$port_s"
    role: baseline
    sandox: true
EOF
replay -c "$WORK/bad/suite.yaml" -i "$WORK/ten.jsonl" -o "$WORK/bad.jsonl"
expect_rc 2 "suite with sandox: true"
expect_one_err_line "suite with sandox: true"
grep -q 'suite\.yaml:5:[0-9][0-9]*: .*sandox' <<<"$err" && ok \
    || bad "BUG: unknown key with a true/false/null value: the message has no LINE:COL (want suite.yaml:5:COL): $err"
[ ! -s "$WORK/S.log" ] && ok || bad "a bad suite still sent requests"
printf 'targets:\n  - {name: s, url: "http://127.0.0.1:%s", role: baseline}\npacing: {concurency: 2}\n' "$port_s" >"$WORK/bad/suite.yaml"
replay -c "$WORK/bad/suite.yaml" -i "$WORK/ten.jsonl" -o "$WORK/bad.jsonl"
expect_rc 2 "suite with an unknown pacing key"
grep -q 'suite\.yaml:3:[0-9][0-9]*:.*concurency' <<<"$err" && ok || bad "unknown pacing key: want suite.yaml:3:COL: $err"

replay -i "$WORK/ten.jsonl" -o "$WORK/bad.jsonl"
expect_rc 2 "missing -c"
expect_one_err_line "missing -c"

{ head -1 "$WORK/ten.jsonl"; echo 'this is { not json'; sed -n 2p "$WORK/ten.jsonl"; } >"$WORK/garbage.jsonl"
replay -c "$WORK/s.yaml" -i "$WORK/garbage.jsonl" -o "$WORK/bad.jsonl"
expect_rc 2 "capture with garbage"
n=$(printf '%s\n' "$err" | grep -c .)
[ "$n" -eq 1 ] && ok || bad "BUG: capture with garbage: DESIGN.md wants one clear stderr line on exit 2, got $n: $err"
expect_err "garbage.jsonl:2:" "capture with garbage names file:line"

finish
