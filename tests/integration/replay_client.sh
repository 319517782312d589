# SPDX-License-Identifier: Apache-2.0
# replay_client.sh — `pmirror replay`'s own HTTP/1.1 client (replay/h1.c: bodiless calls to
# http:// targets at an IP address) against fault_server.py on 127.0.0.1, for what libcurl
# did before it and a target must not be able to tell apart:
#  - one connection kept alive per target for calls one after another (the server sees one
#    client port for all of them);
#  - a kept connection the server closes as the next request arrives (/once): the request
#    is sent again on a new connection, once, and answered; nothing is lost or doubled in
#    the results;
#  - a HEAD's answer has no body though it says Content-Length, and the connection carries
#    the next call in step (its answer is its own);
#  - the request the server reads: the target's Host first, then the recorded headers in
#    order, a header with a blank value left out (as curl leaves it out);
#  - OPTIONS and a 404 answered with their status;
#  - a recorded header value holding CR LF (a hand-made or imported capture) is refused,
#    `bad_header`, and nothing of it reaches the server (both clients sent it raw before,
#    which added a header of the capture's choosing to the request).
. "$(dirname "$0")/lib.sh"

start_server a; port_a=$port

# every exchange ends (done_us 1000) before the next begins (10 ms apart): causal order
# sends them one after another, so each finds the connection the one before left
python3 "$HERE/make_capture.py" "$WORK/capture.jsonl" '[
  {"id": "k0", "target": "/ok/0", "headers": [["Host", "quay.example.test"], ["User-Agent", "docker/24"],
                                              ["X-Blank", ""], ["Accept", "application/json"], ["X-Last", "z"]]},
  {"id": "k1", "target": "/ok/1"}, {"id": "k2", "target": "/ok/2"}, {"id": "k3", "target": "/ok/3"},
  {"id": "k4", "target": "/ok/4"}, {"id": "k5", "target": "/ok/5"}, {"id": "k6", "target": "/ok/6"},
  {"id": "k7", "target": "/ok/7"}, {"id": "k8", "target": "/ok/8"}, {"id": "k9", "target": "/ok/9"},
  {"id": "o1", "target": "/once/1"},
  {"id": "o2", "target": "/once/2"},
  {"id": "h1", "method": "HEAD", "target": "/ok/head"},
  {"id": "a1", "target": "/ok/after-head"},
  {"id": "d1", "method": "OPTIONS", "target": "/status/404"},
  {"id": "x1", "target": "/ok/inject", "add_headers": [["X-Inject", "a\r\nX-Evil: 1"]]}
]' || { echo "FAIL: make_capture.py"; exit 1; }
printf 'targets:\n  - {name: a, url: "http://127.0.0.1:%s", role: baseline, timeout: 5}\n' "$port_a" >"$WORK/suite.yaml"

run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/capture.jsonl" -o "$WORK/results.jsonl" --progress never
expect_rc 0 "replay"

python3 - "$WORK/results.jsonl" "$WORK/a.log" "$port_a" >"$WORK/check" <<'PY'
import hashlib, json, sys
results = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
log = [json.loads(l) for l in open(sys.argv[2])]
port = sys.argv[3]
print("results", len(results))
for rid, r in sorted(results.items()):
    a = r["responses"]["a"]
    body = a.get("body")
    print("answer", rid, a.get("status"), a.get("error"), "body" if body else "nobody",
          json.loads(body)["path"] if body else "-")
keep = [e["peer"] for e in log if e["path"].startswith("/ok/") and e["path"][4:].isdigit()]
print("keep", len(keep), len(set(keep)))
print("once", sum(1 for e in log if e["path"].startswith("/once/2")), len({e["peer"] for e in log if e["path"].startswith("/once/")}))
first = next(e for e in log if e["path"] == "/ok/0")
print("sent", "|".join("%s=%s" % (n, v) for n, v in first["header_list"]))
print("want", "|".join(["Host=127.0.0.1:" + port, "User-Agent=docker/24", "Accept=application/json", "X-Last=z"]))
head = next(e for e in log if e["path"] == "/ok/head")
print("head", head["method"])
print("evil", sum(1 for e in log for n, v in e["header_list"] if n.lower() == "x-evil" or "\n" in v),
      sum(1 for e in log if e["path"] == "/ok/inject"))
PY
[ "$(sed -n 's/^results //p' "$WORK/check")" = 16 ] && ok || bad "16 results: $(head -1 "$WORK/check")"
for i in 0 1 2 3 4 5 6 7 8 9; do
    grep -q "^answer k$i 200 None body /ok/$i\$" "$WORK/check" && ok || bad "k$i: $(grep "answer k$i " "$WORK/check")"
done
read -r _ n_keep n_peers < <(grep '^keep' "$WORK/check")
[ "$n_keep" = 10 ] && [ "$n_peers" = 1 ] && ok || bad "ten calls one after another on one kept connection: $n_keep calls from $n_peers client ports"
grep -q '^answer o1 200 None body /once/1$' "$WORK/check" && grep -q '^answer o2 200 None body /once/2$' "$WORK/check" && ok ||
    bad "a kept connection closed under a request: the request goes again, answered: $(grep 'answer o' "$WORK/check" | tr '\n' ' ')"
read -r _ n_o2 n_once_peers < <(grep '^once' "$WORK/check")
[ "$n_o2" = 2 ] && [ "$n_once_peers" = 2 ] && ok || bad "/once/2 read twice (closed, then sent again on a new connection): $n_o2 times over $n_once_peers connections"
grep -q '^answer h1 200 None nobody -$' "$WORK/check" && ok || bad "HEAD: 200 without a body: $(grep 'answer h1' "$WORK/check")"
grep -q '^head HEAD$' "$WORK/check" && ok || bad "the server read a HEAD: $(grep '^head' "$WORK/check")"
grep -q '^answer a1 200 None body /ok/after-head$' "$WORK/check" && ok || bad "the call after a HEAD gets its own answer: $(grep 'answer a1' "$WORK/check")"
grep -q '^answer d1 404 None body /status/404$' "$WORK/check" && ok || bad "OPTIONS /status/404: $(grep 'answer d1' "$WORK/check")"
grep -q '^answer x1 None bad_header nobody -$' "$WORK/check" && ok || bad "a header value with CR LF: want bad_header: $(grep 'answer x1' "$WORK/check")"
grep -q '^evil 0 0$' "$WORK/check" && ok || bad "the injected header reached the server (X-Evil lines, /ok/inject requests): $(grep '^evil' "$WORK/check")"
sent=$(sed -n 's/^sent //p' "$WORK/check") want=$(sed -n 's/^want //p' "$WORK/check")
[ "$sent" = "$want" ] && ok || bad "request headers: sent $sent, want $want"

finish
