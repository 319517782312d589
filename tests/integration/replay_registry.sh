# SPDX-License-Identifier: Apache-2.0
# replay_registry.sh — replay against real registries (the CNCF distribution registry,
# Debian's docker-registry), with traffic from a real client (skopeo) recorded by
# `pmirror capture -i lo`:
#  - push traffic replayed with --allow-writes into two fresh sandbox registries: every
#    upload completes on both (POST, PATCH and PUT reach each registry's own upload URL,
#    the final PUTs answer 201) and both registries then serve the image;
#  - pull traffic replayed against both: identical statuses and bodies.
. "$(dirname "$0")/lib.sh"
for tool in docker-registry skopeo python3; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (make deps installs it)"; exit 1; }
done
export HOME=$WORK/home
mkdir -p "$HOME"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_registry() { # start_registry NAME VAR: sets VAR to its port (no $(...): the pid must reach the exit trap)
    local port dir=$WORK/reg-$1
    port=$(free_port)
    mkdir -p "$dir"
    printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}, maintenance: {uploadpurging: {enabled: false}}}\nhttp: {addr: "127.0.0.1:%s"}\n' \
        "$dir/storage" "$port" >"$dir/config.yml"
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    printf -v "$2" %s "$port"
}
capture_start() { # capture_start PORT OUT
    "$PMIRROR" capture -q -i lo --port "$1" -o "$2" 2>"$2.err" &
    cap_pid=$!
    sleep 1
}
capture_stop() {
    sleep 1
    kill -TERM "$cap_pid"
    wait "$cap_pid" || bad "capture exit $?: $(cat "$1.err")"
}

# --- a tiny OCI image, built by hand ----------------------------------------------------
img=$WORK/oci
mkdir -p "$WORK/rootfs/app" "$img/blobs/sha256"
printf 'hello from acme/app\n' >"$WORK/rootfs/app/hello.txt"
tar --sort=name --mtime='2026-11-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -C "$WORK/rootfs" -cf "$WORK/layer.tar" app
gzip -n -9 <"$WORK/layer.tar" >"$WORK/layer.tar.gz"
blob() { local hex; hex=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$img/blobs/sha256/$hex"; echo "sha256:$hex $(stat -c %s "$1")"; }
read -r layer layer_size < <(blob "$WORK/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)" >"$WORK/config.json"
read -r config config_size < <(blob "$WORK/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$WORK/manifest.json"
read -r manifest manifest_size < <(blob "$WORK/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest" "$manifest_size" >"$img/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
sk=(skopeo --insecure-policy)

# --- record a push and a pull ---------------------------------------------------------------
start_registry src src
capture_start "$src" "$WORK/push.jsonl"
"${sk[@]}" copy -q --dest-tls-verify=false "oci:$img:v1" "docker://127.0.0.1:$src/acme/app:v1" || bad "skopeo push"
capture_stop "$WORK/push.jsonl"
capture_start "$src" "$WORK/pull.jsonl"
"${sk[@]}" copy -q --src-tls-verify=false "docker://127.0.0.1:$src/acme/app:v1" "dir:$WORK/pulled" || bad "skopeo pull"
capture_stop "$WORK/pull.jsonl"
for m in POST PATCH PUT; do
    grep -q "\"method\":\"$m\"" "$WORK/push.jsonl" && ok || bad "the push capture has no $m"
done
grep -q '"capability":"V2_MANIFEST_PULL"' "$WORK/pull.jsonl" && ok || bad "the pull capture has no manifest GET"

# --- push replay into two fresh sandbox registries --------------------------------------------
start_registry r1 r1
start_registry r2 r2
printf 'targets:\n  - {name: python, url: "http://127.0.0.1:%s", role: baseline, sandbox: true}\n  - {name: go, url: "http://127.0.0.1:%s", role: candidate, sandbox: true}\n' \
    "$r1" "$r2" >"$WORK/suite.yaml"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/push.jsonl" -o "$WORK/push-results.jsonl" --allow-writes
expect_rc 0 "push replay"
python3 - "$WORK/push.jsonl" "$WORK/push-results.jsonl" >"$WORK/push-check" <<'PY'
import json, sys
captured = [json.loads(l) for l in open(sys.argv[1])]
results = [json.loads(l) for l in open(sys.argv[2])]
print("count", len(captured), len(results), len({r["id"] for r in results}))
for r in results:
    m, t = r["request"]["method"], r["request"]["target"]
    for name, resp in sorted(r["responses"].items()):
        if resp.get("error"):
            print("error", name, m, t, resp["error"])
        elif m in ("PUT", "PATCH", "POST") and not 200 <= resp["status"] < 300:
            print("failed", name, m, t, resp["status"])
        elif m == "PUT":
            print("put", name, resp["status"])
PY
read -r _ n_cap n_res n_ids < <(grep '^count' "$WORK/push-check")
[ "$n_cap" -eq "$n_res" ] && [ "$n_res" -eq "$n_ids" ] && ok || bad "push: $n_cap captured, $n_res results, $n_ids ids"
grep -q '^error\|^failed' "$WORK/push-check" && bad "push replay: $(grep '^error\|^failed' "$WORK/push-check" | head -3)" || ok
n_put=$(grep -c '^put python 201' "$WORK/push-check"); n_put2=$(grep -c '^put go 201' "$WORK/push-check")
[ "$n_put" -ge 3 ] && [ "$n_put" -eq "$n_put2" ] && ok || bad "final PUTs answered 201: python $n_put, go $n_put2"
for port in "$r1" "$r2"; do
    "${sk[@]}" inspect --tls-verify=false "docker://127.0.0.1:$port/acme/app:v1" >"$WORK/inspect.$port" 2>&1 \
        && grep -q "\"Digest\": \"$manifest\"" "$WORK/inspect.$port" && ok || bad "registry $port does not serve the image"
done

# --- pull replay against both: the same answers -------------------------------------------------
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/pull.jsonl" -o "$WORK/pull-results.jsonl"
expect_rc 0 "pull replay"
python3 - "$WORK/pull-results.jsonl" >"$WORK/pull-check" <<'PY'
import json, sys
n = same = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    a, b = r["responses"]["python"], r["responses"]["go"]
    n += 1
    if a.get("error") is None and a.get("status") == b.get("status") and a.get("body_sha256") == b.get("body_sha256"):
        same += 1
    else:
        print("differs", r["request"]["method"], r["request"]["target"], a.get("status"), b.get("status"), a.get("error"), b.get("error"))
print("total", n, same)
PY
read -r _ n same < <(grep '^total' "$WORK/pull-check")
[ "$n" -gt 3 ] && [ "$n" -eq "$same" ] && ok || bad "pull replay: $same of $n identical: $(grep differs "$WORK/pull-check" | head -3)"

finish
