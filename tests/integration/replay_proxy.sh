# SPDX-License-Identifier: Apache-2.0
# replay_proxy.sh — `pmirror replay` and the proxy environment: with no *_proxy variable
# replay tells curl "no proxy" itself (engine.c: curl would look each one up on every
# transfer); with one set, curl reads them as always. A fault_server.py stands in for the
# proxy: a target whose host never resolves (.invalid) is answered only through it, and
# no_proxy naming that host keeps the request away from it.
. "$(dirname "$0")/lib.sh"

start_server proxy; port_proxy=$port
start_server direct; port_direct=$port
python3 "$HERE/make_capture.py" "$WORK/cap.jsonl" '[{"id": "one", "target": "/ok/one"}]' ||
    { echo "FAIL: make_capture.py"; exit 1; }
cat >"$WORK/far.yaml" <<EOF
targets:
  - {name: far, url: "http://proxied.invalid:9", role: baseline, timeout: 5, connect_timeout: 2}
EOF
cat >"$WORK/near.yaml" <<EOF
targets:
  - {name: near, url: "http://127.0.0.1:$port_direct", role: baseline, timeout: 5, connect_timeout: 2}
EOF
clean_env=(env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY
           -u no_proxy -u NO_PROXY)

# replay_with SUITE OUT VAR=VALUE...: one replay with exactly those proxy variables
replay_with() {
    local suite=$1 out=$2
    shift 2
    run "${clean_env[@]}" "$@" "$PMIRROR" replay -c "$WORK/$suite" -i "$WORK/cap.jsonl" -o "$WORK/$out" --progress never
}

# status_of OUT TARGET: the answer's status, or its error code
status_of() {
    python3 - "$WORK/$1" "$2" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())["responses"][sys.argv[2]]
print(r.get("status") or r.get("error"))
PY
}
proxied() { grep -c '"/ok/one"' "$WORK/proxy.log"; }

# no proxy variable: straight to the target, the proxy sees nothing
replay_with near.yaml none.jsonl
expect_rc 0 "replay without a proxy variable"
[ "$(status_of none.jsonl near)" = 200 ] && ok || bad "no proxy variable: want 200, got $(status_of none.jsonl near)"
[ "$(proxied)" = 0 ] && ok || bad "no proxy variable: the proxy was asked"

# http_proxy: through it (the target's host resolves nowhere)
replay_with far.yaml http.jsonl "http_proxy=http://127.0.0.1:$port_proxy"
expect_rc 0 "replay with http_proxy"
[ "$(status_of http.jsonl far)" = 200 ] && ok || bad "http_proxy: want 200 through the proxy, got $(status_of http.jsonl far)"
[ "$(proxied)" = 1 ] && ok || bad "http_proxy: the proxy logged $(proxied) requests, want 1"
grep -q '"Host": "proxied.invalid:9"' "$WORK/proxy.log" && ok || bad "http_proxy: the proxy did not get the target's Host"

# ALL_PROXY: the same
replay_with far.yaml all.jsonl "ALL_PROXY=http://127.0.0.1:$port_proxy"
[ "$(status_of all.jsonl far)" = 200 ] && ok || bad "ALL_PROXY: want 200 through the proxy, got $(status_of all.jsonl far)"
[ "$(proxied)" = 2 ] && ok || bad "ALL_PROXY: the proxy logged $(proxied) requests, want 2"

# no_proxy naming the host: not through the proxy (and so no answer)
replay_with far.yaml noproxy.jsonl "http_proxy=http://127.0.0.1:$port_proxy" "no_proxy=proxied.invalid"
[ "$(status_of noproxy.jsonl far)" != 200 ] && ok || bad "no_proxy: answered, want an error"
[ "$(proxied)" = 2 ] && ok || bad "no_proxy: the proxy logged $(proxied) requests, want 2"

echo "replay_proxy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
