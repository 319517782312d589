#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# record_registry.sh — records a real container client talking to a real registry, for
# the capture stage's tests: fixtures/capture/real/skopeo_push_pull.pcap.
#
# The crafted pcaps (tools/make_pcaps.py) cover the edge cases one at a time; this one is
# what a real client really sends: skopeo (containers/image, Go's net/http) pushing a
# small image to docker-registry (distribution 2.x), inspecting it and pulling it back,
# over HTTP on loopback. It also records what tshark makes of the file, so a test can
# compare capture's exchanges with an independent dissector:
#   skopeo_push_pull.tshark.tsv           one line per request/response pair tshark
#                                         found (stream, method, URI, status, ...)
#   skopeo_push_pull.tshark-requests.tsv  one line per HTTP request tshark found
#   README.md                             tool versions, port, counts (written here)
#
# Everything stays on 127.0.0.1. Needs root (apt-get for missing tools, tcpdump on lo).
# Usage: tools/record_registry.sh     (re-recording changes the pcap: timing, ports,
#                                      upload UUIDs and dates differ from run to run)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/fixtures/capture/real
PCAP=$OUT/skopeo_push_pull.pcap
NAME=acme/app
TAG=v1

die() { echo "record_registry: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (apt-get and tcpdump on lo need it)"

# --- tools, installed only when missing -----------------------------------------------
missing=()
for pair in docker-registry:docker-registry skopeo:skopeo tcpdump:tcpdump tshark:tshark; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "record_registry: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

TMP=$(mktemp -d /tmp/record_registry.XXXXXX)
REG_PID="" TD_PID=""
cleanup() {
    [ -n "$TD_PID" ] && kill -INT "$TD_PID" 2>/dev/null && wait "$TD_PID" 2>/dev/null || true
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# --- a tiny OCI image built by hand ----------------------------------------------------
mkdir -p "$TMP/rootfs/app" "$TMP/oci/blobs/sha256"
printf 'hello from acme/app\n' >"$TMP/rootfs/app/hello.txt"
printf '#!/bin/sh\ncat /app/hello.txt\n' >"$TMP/rootfs/app/run.sh"
chmod 755 "$TMP/rootfs/app/run.sh"
tar --sort=name --mtime='2026-11-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
    -C "$TMP/rootfs" -cf "$TMP/layer.tar" app
gzip -n -9 <"$TMP/layer.tar" >"$TMP/layer.tar.gz"
blob() {  # blob FILE -> prints "sha256:HEX SIZE" and stores it in the layout
    local hex size
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    cp "$1" "$TMP/oci/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}
diff_id=sha256:$(sha256sum "$TMP/layer.tar" | cut -d' ' -f1)
read -r layer_digest layer_size < <(blob "$TMP/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","created":"2026-11-01T00:00:00Z","config":{"Cmd":["/app/run.sh"],"WorkingDir":"/app"},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created":"2026-11-01T00:00:00Z","created_by":"record_registry.sh"}]}' \
    "$diff_id" >"$TMP/config.json"
read -r config_digest config_size < <(blob "$TMP/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$TMP/manifest.json"
read -r manifest_digest manifest_size < <(blob "$TMP/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$TAG" >"$TMP/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$TMP/oci/oci-layout"

# --- record ---------------------------------------------------------------------------
# One attempt: a fresh registry (empty storage, so the push uploads every blob) on a free
# port, tcpdump on lo, push, inspect, pull, stop both. The caller then checks that the
# capture is whole: on this kind of VM the packet ring now and then loses a few packets.
export HOME=$TMP/home  # no stray credentials or registries.conf overrides from the caller
mkdir -p "$HOME" "$OUT"
sk=(skopeo --insecure-policy)
record_once() {
    local n=$1
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    REF=docker://127.0.0.1:$PORT/$NAME:$TAG
    cat >"$TMP/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $TMP/storage.$n
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$PORT
  headers:
    X-Content-Type-Options: [nosniff]
EOF
    docker-registry serve "$TMP/config.yml" >"$TMP/registry.log" 2>&1 &
    REG_PID=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { cat "$TMP/registry.log" >&2; die "registry did not start"; }

    rm -f "$PCAP"
    # -Z root: Debian's tcpdump would otherwise drop to its own user before writing.
    # --immediate-mode: without it libpcap hands packets over a ring-buffer block at a
    # time, and the packets of a block not yet handed over when tcpdump stops are lost.
    tcpdump -i lo --immediate-mode -B 16384 -U -s 0 -Z root -w "$PCAP" "tcp port $PORT" \
        2>"$TMP/tcpdump.log" &
    TD_PID=$!
    for _ in $(seq 50); do grep -q "listening on" "$TMP/tcpdump.log" && break; sleep 0.1; done
    grep -q "listening on" "$TMP/tcpdump.log" || { cat "$TMP/tcpdump.log" >&2; die "tcpdump did not start"; }

    rm -rf "$TMP/pulled"
    "${sk[@]}" copy -q --dest-tls-verify=false "oci:$TMP/oci:$TAG" "$REF"
    "${sk[@]}" inspect --tls-verify=false "$REF" >"$TMP/inspect.json"
    "${sk[@]}" copy -q --src-tls-verify=false "$REF" "dir:$TMP/pulled"
    sleep 1.5  # let the last FINs and ACKs reach the capture
    kill -INT "$TD_PID"; wait "$TD_PID" || true; TD_PID=""
    kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; REG_PID=""

    cmp -s "$TMP/pulled/${layer_digest#sha256:}" "$TMP/layer.tar.gz" || die "pulled layer differs from the pushed one"
    grep -q "\"Digest\": \"$manifest_digest\"" "$TMP/inspect.json" || die "inspect shows another digest"
}
capture_is_whole() {  # every connection has its handshake, and no segment is missing
    local streams syns synacks lost
    streams=$(tshark -r "$PCAP" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
    syns=$(tshark -r "$PCAP" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | wc -l)
    synacks=$(tshark -r "$PCAP" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' 2>/dev/null | wc -l)
    lost=$(tshark -r "$PCAP" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)
    echo "record_registry: $streams connections, $syns SYN, $synacks SYN-ACK, $lost lost-segment" \
         "marks; tcpdump: $(grep -h 'captured\|dropped' "$TMP/tcpdump.log" | paste -sd, -)"
    [ "$streams" -gt 0 ] && [ "$syns" -eq "$streams" ] && [ "$synacks" -eq "$streams" ] && [ "$lost" -eq 0 ]
}
for attempt in 1 2 3 4 5; do
    record_once "$attempt"
    capture_is_whole && break
    [ "$attempt" -lt 5 ] || die "every attempt lost packets"
    echo "record_registry: packets lost, recording again"
done

# --- what tshark finds ------------------------------------------------------------------
ts=(tshark -2 -r "$PCAP" -d "tcp.port==$PORT,http" -o tcp.reassemble_out_of_order:TRUE)
"${ts[@]}" -Y http.request -T fields -E header=y -E separator=/t \
    -e frame.number -e tcp.stream -e http.request.method -e http.request.uri \
    -e http.content_length -e http.transfer_encoding 2>/dev/null >"$OUT/skopeo_push_pull.tshark-requests.tsv"
"${ts[@]}" -Y http.response -T fields -E separator=/t \
    -e http.request_in -e frame.number -e tcp.stream -e http.response.code -e http.time \
    -e http.response_for.uri 2>/dev/null >"$TMP/responses.tsv"
# Pairs: tshark puts the method on the request frame only; join on the request's frame.
awk -F'\t' -v OFS='\t' '
    NR == FNR { if (FNR > 1) { method[$1] = $3; uri[$1] = $4 } next }
    FNR == 1 { print "tcp.stream", "http.request.method", "http.request.uri", "http.response.code",
               "http.response_for.uri", "request_frame", "response_frame", "http.time" }
    { print $3, method[$1], uri[$1], $4, $6, $1, $2, $5 }
' "$OUT/skopeo_push_pull.tshark-requests.tsv" "$TMP/responses.tsv" >"$OUT/skopeo_push_pull.tshark.tsv"

pairs=$(($(wc -l <"$OUT/skopeo_push_pull.tshark.tsv") - 1))
requests=$(($(wc -l <"$OUT/skopeo_push_pull.tshark-requests.tsv") - 1))
answered=$(awk -F'\t' 'NR > 1 && $2 != ""' "$OUT/skopeo_push_pull.tshark.tsv" | wc -l)
hellos=$(tshark -r "$PCAP" -d "tcp.port==$PORT,tls" -Y 'tls.handshake.type == 1' 2>/dev/null | wc -l)
badsum=$(tshark -r "$PCAP" -o tcp.check_checksum:TRUE -Y 'tcp.checksum.status == 0' 2>/dev/null | wc -l)
packets=$(tshark -r "$PCAP" 2>/dev/null | wc -l)
streams=$(tshark -r "$PCAP" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
size=$(stat -c %s "$PCAP")
[ "$packets" -gt 0 ] || die "tcpdump captured nothing"
[ "$size" -lt 2097152 ] || die "recording is $size bytes, over 2 MiB"

cat >"$OUT/README.md" <<EOF
# Real recording: skopeo against docker-registry on loopback

Made by \`tools/record_registry.sh\` (run as root; re-running replaces these files).

- \`skopeo_push_pull.pcap\` — \`tcpdump -i lo -s 0 'tcp port $PORT'\` (linktype 1, Ethernet
  on lo) while skopeo, on 127.0.0.1:$PORT, plain HTTP, no auth:
  1. \`skopeo copy oci:DIR:$TAG $REF\` (push: one gzip layer of $layer_size bytes, a config,
     an OCI manifest),
  2. \`skopeo inspect $REF\`,
  3. \`skopeo copy $REF dir:DIR\` (pull).
  $packets packets, $streams TCP connections, $size bytes.
  Manifest $manifest_digest, layer $layer_digest.
- \`skopeo_push_pull.tshark.tsv\` — every response tshark found, with its request: $pairs
  lines, $answered of them pairs with a request. The other $((pairs - answered)) are skopeo's HTTPS
  attempts: each time it pings the registry it tries TLS first (a TLS ClientHello,
  $hellos times here), the plain-HTTP registry answers \`HTTP/1.1 400 Bad Request\` and
  closes, and skopeo retries over HTTP. Such a connection is TLS from the client and
  HTTP from the server: a non-HTTP stream, no exchange. Made with
  \`tshark -2 -d tcp.port==$PORT,http -Y http.response\`; the method and URI come from the
  request frame the response names (\`http.request_in\`), since tshark sets them on request
  frames only. Columns: tcp.stream, method, URI, status, http.response_for.uri, request
  frame, response frame, http.time (seconds).
- \`skopeo_push_pull.tshark-requests.tsv\` — every HTTP request tshark found: $requests
  (\`-Y http.request\`: frame, tcp.stream, method, URI, Content-Length, Transfer-Encoding).

Other things a capture test meets here and not in the crafted fixtures: skopeo sends
\`Connection: close\`, so every request has its own connection; the TCP checksums are not
computed on lo (checksum offload: $badsum of $packets packets have a "bad" checksum), so
a capture stage must not drop segments for their checksum; TCP timestamps and window
scaling options; the upload flow POST -> PATCH (with a \`_state\` query) -> PUT
?digest=; HEAD blob answered 404 before each upload.

The registry port is not 8080: a capture test must pass the port (tshark needed
\`-d tcp.port==$PORT,http\` too).

## Tool versions

- $(skopeo --version)
- $(docker-registry --version)
- $(tcpdump --version 2>&1 | head -1), $(tcpdump --version 2>&1 | sed -n 2p)
- $(tshark --version 2>/dev/null | head -1)
- $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)
EOF
echo "record_registry: $PCAP ($size bytes, $packets packets); tshark: $pairs pairs, $requests requests"
