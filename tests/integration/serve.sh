# SPDX-License-Identifier: Apache-2.0
# serve.sh — `pmirror serve` as the replay tests, the demo and a team reproducing a
# parity failure use it: the real skopeo/docker-registry recording captured at test time
# and served back to curl — the blob and manifest bytes exact (their sha256 is their
# digest), the upload flow POST -> PATCH -> PUT on fresh UUIDs, Date now, hop-by-hop
# headers gone, keep-alive; then --target, --delay-ms, the start line and --port-file,
# SIGTERM, and bad input (one error line naming file:line or the flag, exit 2).
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/capture"
command -v curl >/dev/null || { echo "curl missing"; exit 1; }

server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$WORK"' EXIT

# start_server FIXTURE [OPTIONS...]: serves on a free loopback port; sets $server, $port, $base
start_server() {
    rm -f "$WORK/port"
    "$PMIRROR" serve --fixture "$@" --listen 127.0.0.1:0 --port-file "$WORK/port" 2>"$WORK/serve.err" &
    server=$!
    for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
    port=$(cat "$WORK/port" 2>/dev/null)
    base="http://127.0.0.1:$port"
}

# stop_server: SIGTERM, then a clean exit 0 with the counts (under ASan: no leak report)
stop_server() {
    kill -TERM "$server"
    wait "$server"; server_rc=$?
    server=
    [ "$server_rc" -eq 0 ] && ok || bad "SIGTERM: exit $server_rc: $(cat "$WORK/serve.err")"
    grep -q "^pmirror serve: stopped by SIGTERM: [0-9]* answered, [0-9]* unmatched$" "$WORK/serve.err" && ok ||
        bad "end line: $(tail -1 "$WORK/serve.err")"
}

# fetch METHOD URL [curl options...]: sets $status, body in $WORK/body, headers in $WORK/headers
fetch() {
    local method=$1 url=$2
    shift 2
    if [ "$method" = HEAD ]; then set -- -I "$@"; else set -- -X "$method" "$@"; fi
    status=$(curl -s --max-time 10 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@" "$url")
}

# hdr NAME: the header's value in the last answer (case-insensitive, no CR)
hdr() { grep -i "^$1:" "$WORK/headers" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }

expect_status() { [ "$status" = "$1" ] && ok || bad "$2: status $status, want $1"; }
body_sha() { sha256sum "$WORK/body" | cut -d' ' -f1; }

# --- the real registry recording --------------------------------------------------------
run "$PMIRROR" capture -q -r "$FX/real/skopeo_push_pull.pcap" --no-redact -o "$WORK/skopeo.jsonl"
expect_rc 0 "capture skopeo_push_pull.pcap"
start_server "$WORK/skopeo.jsonl"
[ -n "$port" ] && ok || bad "no --port-file written: $(cat "$WORK/serve.err")"
grep -q "^pmirror serve: http://127.0.0.1:$port/ answers from $WORK/skopeo.jsonl (20 exchanges, 0 skipped)$" \
    "$WORK/serve.err" && ok || bad "start line: $(cat "$WORK/serve.err")"

fetch GET "$base/v2/"
expect_status 200 "GET /v2/"
[ "$(cat "$WORK/body")" = "{}" ] && ok || bad "GET /v2/ body: $(cat "$WORK/body")"
[ -z "$(hdr Connection)" ] && ok || bad "recorded 'Connection: close' was sent: $(hdr Connection)"
now=$(date -u +%s)
answered=$(date -u -d "$(hdr Date)" +%s 2>/dev/null || echo 0)
[ $((answered - now)) -ge -5 ] && [ $((answered - now)) -le 5 ] && ok || bad "Date is not now: $(hdr Date)"

LAYER=sha256:29e3f5c7b13c36c385ca3663848dc8938cf299b6982359d3662b72a3156899df
CONFIG=sha256:df7194876abdea6d276a4431bf52943672ae7ed2f1a0fd1f1f48cf7170fb3265
MANIFEST=sha256:2159b9c171d9e595bd933d88cb378928679d538e4471b49af074f3ea481c7799

# the pulled bytes are the recorded bytes: their sha256 is their digest
fetch GET "$base/v2/acme/app/blobs/$LAYER"
expect_status 200 "GET layer"
[ "sha256:$(body_sha)" = "$LAYER" ] && ok || bad "layer served with sha256 $(body_sha)"
cp "$WORK/body" "$WORK/layer"
fetch GET "$base/v2/acme/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json'
expect_status 200 "GET manifest"
[ "sha256:$(body_sha)" = "$MANIFEST" ] && ok || bad "manifest served with sha256 $(body_sha)"
cp "$WORK/body" "$WORK/manifest"
[ "$(hdr Content-Length)" = "$(wc -c <"$WORK/manifest" | tr -d ' ')" ] && ok || bad "Content-Length $(hdr Content-Length)"

# HEAD: the recorded 404 with its Content-Length, no body
fetch HEAD "$base/v2/acme/app/blobs/$LAYER"
expect_status 404 "HEAD layer (recorded before the push)"
[ "$(hdr Content-Length)" = 157 ] && ok || bad "HEAD Content-Length: $(hdr Content-Length), want the recorded 157"

# the push: POST -> PATCH -> PUT on a fresh upload UUID
recorded_uuid=7bd390bd-5d0e-40da-b001-e728f8944d19
fetch POST "$base/v2/acme/app/blobs/uploads/" -H 'Content-Length: 0'
expect_status 202 "POST upload"
uuid=$(hdr Docker-Upload-Uuid)
location=$(hdr Location)
printf '%s' "$uuid" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' && ok ||
    bad "upload UUID '$uuid' is not a fresh v4 UUID"
[ "$uuid" != "$recorded_uuid" ] && ok || bad "the recorded upload UUID was handed out"
case "$location" in
"$base/v2/acme/app/blobs/uploads/$uuid?_state="?*) ok ;;
*) bad "POST Location: $location" ;;
esac
fetch PATCH "$location" -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/layer"
expect_status 202 "PATCH to the fresh Location"
[ "$(hdr Range)" = 0-183 ] && ok || bad "PATCH Range: $(hdr Range)"
[ "$(hdr Docker-Upload-Uuid)" = "$uuid" ] && ok || bad "PATCH answered UUID $(hdr Docker-Upload-Uuid), want $uuid"
location=$(hdr Location)
case "$location" in "$base/v2/acme/app/blobs/uploads/$uuid?_state="?*) ok ;; *) bad "PATCH Location: $location" ;; esac
fetch PUT "$location&digest=${LAYER/:/%3A}" -H 'Content-Length: 0'
expect_status 201 "PUT to finish the upload"
[ "$(hdr Docker-Content-Digest)" = "$LAYER" ] && ok || bad "PUT digest: $(hdr Docker-Content-Digest)"
[ "$(hdr Location)" = "$base/v2/acme/app/blobs/$LAYER" ] && ok || bad "PUT Location: $(hdr Location)"

# the second upload (the config): another fresh UUID, and its own recorded answers
fetch POST "$base/v2/acme/app/blobs/uploads/" -H 'Content-Length: 0'
uuid2=$(hdr Docker-Upload-Uuid)
[ -n "$uuid2" ] && [ "$uuid2" != "$uuid" ] && ok || bad "second upload UUID '$uuid2' (first '$uuid')"
fetch PATCH "$(hdr Location)" --data-binary 'anything'
[ "$(hdr Range)" = 0-317 ] && ok || bad "second PATCH Range: $(hdr Range)"
fetch PUT "$(hdr Location)&digest=${CONFIG/:/%3A}" -H 'Content-Length: 0'
expect_status 201 "second PUT"
fetch PUT "$base/v2/acme/app/manifests/v1" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$WORK/manifest"
expect_status 201 "PUT manifest"
[ "$(hdr Docker-Content-Digest)" = "$MANIFEST" ] && ok || bad "manifest digest: $(hdr Docker-Content-Digest)"

# keep-alive: two requests on one connection, although every recorded answer said close
conns=$(curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{num_connects} ' "$base/v2/" "$base/v2/acme/app/tags/list")
[ "$conns" = "1 0 " ] && ok || bad "keep-alive: new connections per request '$conns', want '1 0 '"

fetch GET "$base/v2/acme/app/manifests/v2?x=1"
expect_status 404 "unrecorded request"
grep -q '"error":"pmirror serve: no recorded exchange","method":"GET","target":"/v2/acme/app/manifests/v2?x=1"' \
    "$WORK/body" && ok || bad "404 body: $(cat "$WORK/body")"

stop_server
grep -q "answered, 1 unmatched" "$WORK/serve.err" && ok || bad "end line: $(tail -1 "$WORK/serve.err")"

# --- a crafted Quay-like recording: chunked answers, https Location ---------------------
run "$PMIRROR" capture -q -r "$FX/chunked.pcap" --no-redact -o "$WORK/chunked.jsonl"
start_server "$WORK/chunked.jsonl"
fetch GET "$base/v2/acme/app/manifests/latest"
expect_status 200 "chunked manifest"
[ -z "$(hdr Transfer-Encoding)$(hdr Trailer)" ] && ok || bad "Transfer-Encoding/Trailer sent"
[ "$(hdr Content-Length)" = "$(wc -c <"$WORK/body" | tr -d ' ')" ] && [ -s "$WORK/body" ] && ok ||
    bad "de-chunked body with Content-Length: $(hdr Content-Length)"
fetch POST "$base/v2/acme/app/blobs/uploads/"
case "$(hdr Location)" in
"$base/v2/acme/app/blobs/uploads/$(hdr Docker-Upload-UUID)") ok ;;
*) bad "https://quay.example.test Location not moved here: $(hdr Location)" ;;
esac
fetch PATCH "$(hdr Location)" --data-binary 'abc'
expect_status 202 "PATCH after a Quay POST"
[ "$(hdr Range)" = 0-2999 ] && ok || bad "crafted PATCH Range: $(hdr Range)"
stop_server

# --- --target: a result file, one target's answers -------------------------------------
cat >"$WORK/results.jsonl" <<'EOF'
{"v":1,"id":"a","ts":"2026-11-01T10:00:00.000001Z","request":{"method":"GET","target":"/v2/acme/app/tags/list"},"response":{"status":200,"headers":[],"body":"recorded"},"responses":{"python":{"role":"baseline","status":200,"headers":[["Content-Type","application/json"]],"body":"{\"tags\":[\"py\"]}","error":null},"go":{"role":"candidate","status":500,"headers":[],"body":"go says no","error":null}}}
{"v":1,"id":"b","ts":"2026-11-01T10:00:00.000002Z","request":{"method":"GET","target":"/v2/"},"response":{"status":200,"headers":[],"body":"{}"},"responses":{"python":{"role":"baseline","status":200,"headers":[],"body":"{}","error":null},"go":{"role":"candidate","status":null,"error":"timeout"}}}
EOF
start_server "$WORK/results.jsonl" --target go
grep -q "(1 exchanges, 1 skipped)" "$WORK/serve.err" && ok || bad "--target go counts: $(cat "$WORK/serve.err")"
fetch GET "$base/v2/acme/app/tags/list"
expect_status 500 "--target go"
[ "$(cat "$WORK/body")" = "go says no" ] && ok || bad "--target go body: $(cat "$WORK/body")"
stop_server
start_server "$WORK/results.jsonl" --target python
fetch GET "$base/v2/acme/app/tags/list"
[ "$(cat "$WORK/body")" = '{"tags":["py"]}' ] && ok || bad "--target python body: $(cat "$WORK/body")"
stop_server

# --- --delay-ms: a slow backend ----------------------------------------------------------
start_server "$WORK/skopeo.jsonl" --delay-ms 600
curl -s --max-time 0.2 -o /dev/null "$base/v2/"; crc=$?
[ "$crc" -eq 28 ] && ok || bad "--delay-ms 600: a 0.2 s client should time out (curl exit $crc)"
t=$(curl -s --max-time 10 -o /dev/null -w '%{time_total}' "$base/v2/")
awk -v t="$t" 'BEGIN { exit !(t >= 0.6) }' && ok || bad "--delay-ms 600 answered in $t s"
stop_server

# --- bad input: one line, exit 2 -----------------------------------------------------------
printf '%s\n' '{"v":1,"request":{"method":"GET","target":"/"},"response":{"status":200}}' '{"v":1,' >"$WORK/bad.jsonl"
printf '%s\n' '{"v":1,"request":{"method":"GET","target":"/"},"response":{"status":200}}' >>"$WORK/bad.jsonl"
run "$PMIRROR" serve --fixture "$WORK/bad.jsonl" --listen 127.0.0.1:0
expect_rc 2 "bad fixture line"
expect_one_err_line "bad fixture line"
expect_err "bad.jsonl:2" "bad fixture names file:line"
run "$PMIRROR" serve --fixture "$WORK/missing.jsonl" --listen 127.0.0.1:0
expect_rc 2 "missing fixture"
expect_err "missing.jsonl" "missing fixture named"
run "$PMIRROR" serve --listen 127.0.0.1:0
expect_rc 2 "no --fixture"
expect_err "--fixture" "no --fixture named"
run "$PMIRROR" serve --fixture "$WORK/skopeo.jsonl" --listen 127.0.0.1:http
expect_rc 2 "bad --listen"
expect_one_err_line "bad --listen"
expect_err "127.0.0.1:http" "bad --listen named"
run "$PMIRROR" serve --fixture "$WORK/skopeo.jsonl" --listen :0 --delay-ms -5
expect_rc 2 "negative --delay-ms"
run "$PMIRROR" serve --help
expect_rc 0 "serve --help"
expect_out "--recorded-latency" "--help lists the options"

finish
