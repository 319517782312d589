# SPDX-License-Identifier: Apache-2.0
# tls.sh — TLS as production has it (README "The suite file": ca, cert, key, server_name;
# insecure's warning): certificates made here with the openssl command (a CA, a server
# certificate for 127.0.0.1, one for another name, an expired one, a client certificate),
# Debian's nginx serving HTTPS with them on four loopback ports, one requiring a client
# certificate. Replay answers with `ca`; without it, with the wrong name, with the expired
# certificate and without the client certificate where one is required it is
# `error: "tls"` with error_detail naming which; server_name makes the wrong name pass.
# Then the suite's errors (an unreadable file: exit 2 naming it), `insecure` (one warning,
# report.json's run.insecure_targets), the tee with an HTTPS primary and shadow behind the
# same CA, and `serve --tls-cert` standing in for an HTTPS target.
. "$(dirname "$0")/lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v openssl >/dev/null || { echo "FAIL: openssl is not installed"; exit 1; }
[ -x "$NGINX" ] || { echo "FAIL: nginx is not installed (make deps installs it)"; exit 1; }

# ---------------------------------------------------------------- certificates
C=$WORK/certs
mkdir -p "$C"
ossl() { openssl "$@" 2>>"$C/openssl.log" || { echo "FAIL: openssl $*: $(cat "$C/openssl.log")"; exit 1; }; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
ossl req -x509 $ec -keyout "$C/ca.key" -out "$C/ca.pem" -subj "/CN=pmirror test CA" -days 30
# leaf NAME SAN DAYS [EKU]: NAME.pem and NAME.key signed by the CA (DAYS -1: expired yesterday)
leaf() {
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$2" "${4:-serverAuth}" >"$C/$1.ext"
    ossl req $ec -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$1"
    ossl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days "$3" \
        -extfile "$C/$1.ext" -out "$C/$1.pem"
}
leaf server IP:127.0.0.1 30
leaf other DNS:other.pmirror.test 30
leaf expired IP:127.0.0.1 -1
leaf client DNS:client.pmirror.test 30 clientAuth
# a second CA nobody trusts, for the client certificate the server refuses
ossl req -x509 $ec -keyout "$C/rogue-ca.key" -out "$C/rogue-ca.pem" -subj "/CN=rogue CA" -days 30
ossl req $ec -keyout "$C/rogue.key" -out "$C/rogue.csr" -subj "/CN=rogue"
ossl x509 -req -in "$C/rogue.csr" -CA "$C/rogue-ca.pem" -CAkey "$C/rogue-ca.key" -CAcreateserial -days 30 \
    -extfile "$C/client.ext" -out "$C/rogue.pem"

# ---------------------------------------------------------------- nginx: good, other, expired, mtls
read -r P_GOOD P_OTHER P_EXPIRED P_MTLS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
mkdir -p "$WORK/nginx/tmp"
chmod 755 "$WORK" "$WORK/nginx" "$C"
chmod 644 "$C"/*
chmod 777 "$WORK/nginx/tmp"
server_block() { # PORT CERT [extra directives]
    cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $C/$2.pem;
        ssl_certificate_key $C/$2.key;
        ${3:-}
        location / { default_type application/json; return 200 '{"port":$1,"client":"\$ssl_client_s_dn"}'; }
    }
EOF
}
cat >"$WORK/nginx.conf" <<EOF
$(nginx_conf_head)
$(server_block "$P_GOOD" server)
$(server_block "$P_OTHER" other)
$(server_block "$P_EXPIRED" expired)
$(server_block "$P_MTLS" server "ssl_verify_client on; ssl_client_certificate $C/ca.pem;")
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx/out" 2>&1 &
pids+=($!)
for p in $P_GOOD $P_OTHER $P_EXPIRED $P_MTLS; do
    wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null ||
        { echo "FAIL: nginx did not listen on $p: $(cat "$WORK/nginx/error.log" "$WORK/nginx/out")"; exit 1; }
done

# ---------------------------------------------------------------- replay: each case one target
python3 "$HERE/make_capture.py" "$WORK/capture.jsonl" '[{"id": "one", "target": "/ok"}]' ||
    { echo "FAIL: make_capture.py"; exit 1; }
# paths relative to the suite file's directory, replay run from elsewhere
cat >"$C/suite.yaml" <<EOF
targets:
  - {name: good, url: "https://127.0.0.1:$P_GOOD", role: baseline, ca: ca.pem}
  - {name: no_ca, url: "https://127.0.0.1:$P_GOOD", role: candidate}
  - {name: wrong_name, url: "https://127.0.0.1:$P_OTHER", role: secondary, ca: ca.pem}
  - {name: named, url: "https://127.0.0.1:$P_OTHER", role: secondary, ca: ca.pem, server_name: other.pmirror.test}
  - {name: expired, url: "https://127.0.0.1:$P_EXPIRED", role: secondary, ca: ca.pem}
  - {name: mtls_none, url: "https://127.0.0.1:$P_MTLS", role: secondary, ca: ca.pem}
  - {name: mtls_rogue, url: "https://127.0.0.1:$P_MTLS", role: secondary, ca: ca.pem, cert: rogue.pem, key: rogue.key}
  - {name: mtls, url: "https://127.0.0.1:$P_MTLS", role: secondary, ca: ca.pem, cert: client.pem, key: client.key}
EOF
(cd / && run "$PMIRROR" replay -c "$C/suite.yaml" -i "$WORK/capture.jsonl" -o "$WORK/results.jsonl" --progress never
 echo "$rc" >"$WORK/rc"; printf '%s' "$err" >"$WORK/err")
rc=$(cat "$WORK/rc"); err=$(cat "$WORK/err")
expect_rc 0 "replay to the HTTPS targets"
[ -z "$(grep -i warning <<<"$err")" ] && ok || bad "a verified run warns: $err"
python3 - "$WORK/results.jsonl" <<'PY' && ok || bad "replay's TLS outcomes (above)"
import json, sys
r = json.loads(open(sys.argv[1]).readline())["responses"]
want = {
    "good": (200, None, None),
    "no_ca": (None, "tls", "unknown_ca: "),
    "wrong_name": (None, "tls", "name_mismatch: "),
    "named": (200, None, None),
    "expired": (None, "tls", "expired: "),
    "mtls_none": (None, "tls", "client_cert_required: "),
    "mtls_rogue": (None, "tls", "client_cert_refused: "),
    "mtls": (200, None, None),
}
failed = False
for name, (status, error, detail) in want.items():
    got = r[name]
    ok = got.get("status") == status and got.get("error") == error and (
        detail is None or (got.get("error_detail") or "").startswith(detail))
    if not ok:
        failed = True
        print(f"FAIL: {name}: status {got.get('status')} error {got.get('error')} detail {got.get('error_detail')}",
              file=sys.stderr)
sys.exit(1 if failed else 0)
PY

# ---------------------------------------------------------------- the suite's errors: exit 2, named
cat >"$WORK/missing.yaml" <<EOF
targets:
  - {name: good, url: "https://127.0.0.1:$P_GOOD", role: baseline,
     ca: nowhere/ca.pem}
EOF
run "$PMIRROR" replay -c "$WORK/missing.yaml" -i "$WORK/capture.jsonl" -o "$WORK/r.jsonl"
expect_rc 2 "an unreadable ca"
expect_err "missing.yaml:3:10: target good: ca $WORK/nowhere/ca.pem: cannot be read: No such file or directory" \
    "the unreadable file named at its line"
expect_one_err_line "an unreadable ca"
cat >"$WORK/keyonly.yaml" <<EOF
targets:
  - {name: good, url: "https://127.0.0.1:$P_GOOD", role: baseline, ca: $C/ca.pem, key: $C/client.key}
EOF
run "$PMIRROR" replay -c "$WORK/keyonly.yaml" -i "$WORK/capture.jsonl" -o "$WORK/r.jsonl"
expect_rc 2 "key without cert"
expect_err "key without cert" "key without cert"
cat >"$WORK/typo.yaml" <<EOF
targets:
  - {name: good, url: "https://127.0.0.1:$P_GOOD", role: baseline, ca_file: $C/ca.pem}
EOF
run "$PMIRROR" replay -c "$WORK/typo.yaml" -i "$WORK/capture.jsonl" -o "$WORK/r.jsonl"
expect_rc 2 "an unknown target key"
expect_err "unknown key 'ca_file'" "ca_file is not a key"

# ---------------------------------------------------------------- insecure: still possible, said once, recorded
cat >"$WORK/insecure.yaml" <<EOF
targets:
  - {name: expired, url: "https://127.0.0.1:$P_EXPIRED", role: baseline, insecure: true}
  - {name: unknown, url: "https://127.0.0.1:$P_GOOD", role: candidate, insecure: true}
EOF
run "$PMIRROR" replay -c "$WORK/insecure.yaml" -i "$WORK/capture.jsonl" -o "$WORK/r.jsonl" --progress never
expect_rc 0 "replay with insecure targets"
[ "$(grep -c 'warning: TLS not verified for targets expired, unknown (insecure: true)' <<<"$err")" -eq 1 ] && ok ||
    bad "one insecure warning naming both targets: $err"
grep -q '"expired":{"role":"baseline","status":200' "$WORK/r.jsonl" && ok || bad "insecure reaches the expired: $(head -c 600 "$WORK/r.jsonl")"
run "$PMIRROR" run -c "$WORK/insecure.yaml" -i "$WORK/capture.jsonl" --out-dir "$WORK/report" --progress never
[ "$rc" -le 1 ] && ok || bad "run with insecure targets: exit $rc (1: the gate, the ports differ): $err"
[ "$(grep -c 'warning: TLS not verified' <<<"$err")" -eq 1 ] && ok || bad "run: one insecure warning: $err"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["run"].get("insecure_targets") != ["expired", "unknown"])' \
    "$WORK/report/report.json" && ok || bad "report.json run.insecure_targets: $(head -c 800 "$WORK/report/report.json")"

# ---------------------------------------------------------------- the tee: HTTPS primary and shadow, same CA
# start_tee NAME ARGS...: proxy on a free port; sets $tport and NAME's pid in $tee_pid
start_tee() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    "$PMIRROR" tee --listen 127.0.0.1:0 --port-file "$WORK/$name.port" --progress never --shadow-nice 0 "$@" \
        2>"$WORK/$name.err" &
    tee_pid=$!
    pids+=($tee_pid)
    wait_for 10 test -s "$WORK/$name.port" || { bad "tee $name did not start: $(cat "$WORK/$name.err")"; return 1; }
    tport=$(cat "$WORK/$name.port")
}
stop_tee() {
    kill -TERM "$tee_pid"
    wait "$tee_pid"
    local code=$?
    [ "$code" -eq 0 ] && ok || bad "tee SIGTERM: exit $code: $(cat "$WORK/$1.err")"
}
start_tee tee --primary "https://127.0.0.1:$P_MTLS" --primary-ca "$C/ca.pem" --primary-cert "$C/client.pem" \
    --primary-key "$C/client.key" --shadow "https://127.0.0.1:$P_OTHER" --shadow-ca "$C/ca.pem" \
    --shadow-server-name other.pmirror.test --record "$WORK/tee.jsonl" --no-redact
body=$(curl -s --max-time 10 -H 'Host: quay.example.test' "http://127.0.0.1:$tport/ok")
grep -q "\"port\":$P_MTLS,\"client\":\"CN=client\"" <<<"$body" && ok ||
    bad "the tee's primary (client certificate, CA): $body $(cat "$WORK/tee.err")"
wait_for 10 grep -q . "$WORK/tee.jsonl" || true
stop_tee tee
python3 - "$WORK/tee.jsonl" <<'PY' && ok || bad "the tee's shadow over HTTPS with server_name: $(head -c 1500 "$WORK/tee.jsonl")"
import json, sys
r = json.loads(open(sys.argv[1]).readline())["responses"]
shadow = [v for v in r.values() if v["role"] == "candidate"][0]
sys.exit(0 if shadow.get("status") == 200 and shadow.get("error") is None else 1)
PY
# the primary without its CA: 502 naming what failed
start_tee bare --primary "https://127.0.0.1:$P_GOOD" --shadow "https://127.0.0.1:$P_GOOD" --shadow-ca "$C/ca.pem"
status=$(curl -s --max-time 10 -o "$WORK/bare.body" -w '%{http_code}' "http://127.0.0.1:$tport/ok")
[ "$status" = 502 ] && grep -q "the primary failed (tls: unknown_ca: " "$WORK/bare.body" && ok ||
    bad "the tee's unverified primary: $status $(cat "$WORK/bare.body")"
stop_tee bare
run "$PMIRROR" tee --listen 127.0.0.1:0 --primary "https://127.0.0.1:$P_GOOD" --primary-ca "$WORK/none.pem" \
    --shadow "https://127.0.0.1:$P_GOOD"
expect_rc 2 "the tee with an unreadable --primary-ca"
expect_err "primary-ca $WORK/none.pem: cannot be read" "the tee names the file"

# ---------------------------------------------------------------- serve --tls-cert: a recorded HTTPS backend
rm -f "$WORK/serve.port"
"$PMIRROR" serve --fixture "$WORK/capture.jsonl" --listen 127.0.0.1:0 --port-file "$WORK/serve.port" \
    --tls-cert "$C/server.pem" --tls-key "$C/server.key" 2>"$WORK/serve.err" &
serve_pid=$!
pids+=($serve_pid)
wait_for 10 test -s "$WORK/serve.port" || bad "serve --tls-cert did not start: $(cat "$WORK/serve.err")"
sport=$(cat "$WORK/serve.port")
grep -q "pmirror serve: https://127.0.0.1:$sport/ answers" "$WORK/serve.err" && ok || bad "serve's start line: $(cat "$WORK/serve.err")"
# serve is pmirror itself: under memcheck (make valgrind) its TLS handshakes took over 5 s, the
# default connect timeout, on a loaded machine; the answers are what is checked here, not time
cat >"$WORK/served.yaml" <<EOF
targets:
  - {name: served, url: "https://127.0.0.1:$sport", role: baseline, ca: $C/ca.pem, connect_timeout: 60, timeout: 60}
  - {name: unverified, url: "https://127.0.0.1:$sport", role: candidate, connect_timeout: 60, timeout: 60}
EOF
run "$PMIRROR" replay -c "$WORK/served.yaml" -i "$WORK/capture.jsonl" -o "$WORK/served.jsonl" --progress never
expect_rc 0 "replay to serve --tls-cert"
grep -q '"served":{"role":"baseline","status":200' "$WORK/served.jsonl" && grep -q '"error":"tls","error_detail":"unknown_ca: ' "$WORK/served.jsonl" &&
    ok || bad "serve over HTTPS: $(head -c 1200 "$WORK/served.jsonl")"
kill -TERM "$serve_pid"
wait "$serve_pid" && ok || bad "serve --tls-cert SIGTERM: $(cat "$WORK/serve.err")"
finish
