# SPDX-License-Identifier: Apache-2.0
# registry_lib.bash — what the e2e tests share (sourced after integration/lib.sh; not a
# test itself: ctest runs tests/e2e/*.sh): the tools they need, free loopback ports,
# Debian's docker-registry started on one, a tiny OCI image made on disk, a skopeo push,
# and a two-target suite file.
for tool in docker-registry skopeo python3 curl; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (make deps installs it)"; exit 1; }
done
export HOME=$WORK/home
mkdir -p "$HOME"
sk=(skopeo --insecure-policy)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# start_registry NAME VAR [STORAGE [SECRET]]: a registry on a free port, VAR set to it (no
# $(...): the pid must reach the exit trap). STORAGE: its root directory (default its own;
# two registries given one share their blobs and uploads); SECRET: its http.secret, which
# signs the upload Location's _state (default: one the process picks).
start_registry() {
    local port dir=$WORK/reg-$1 storage=${3:-$WORK/reg-$1/storage} secret=
    port=$(free_port)
    mkdir -p "$dir"
    [ -n "${4:-}" ] && secret=", secret: \"$4\""
    printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}, maintenance: {uploadpurging: {enabled: false}}}\nhttp: {addr: "127.0.0.1:%s"%s}\n' \
        "$storage" "$port" "$secret" >"$dir/config.yml"
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    pids+=($!)
    wait_port "$port" || { echo "FAIL: registry $1 did not start: $(cat "$dir/log")" >&2; exit 1; }
    printf -v "$2" %s "$port"
}

# make_image DIR TEXT: a tiny OCI image layout whose one layer holds TEXT, tagged v1
make_image() {
    local img=$1 root=$WORK/rootfs-$RANDOM
    mkdir -p "$root/app" "$img/blobs/sha256"
    printf '%s\n' "$2" >"$root/app/hello.txt"
    tar --sort=name --mtime='2026-11-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -C "$root" -cf "$root.tar" app
    gzip -n -9 <"$root.tar" >"$root.tar.gz"
    blob() { local hex; hex=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$img/blobs/sha256/$hex"; echo "sha256:$hex $(stat -c %s "$1")"; }
    local layer layer_size config config_size manifest manifest_size
    read -r layer layer_size < <(blob "$root.tar.gz")
    printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$(sha256sum "$root.tar" | cut -d' ' -f1)" >"$root.config.json"
    read -r config config_size < <(blob "$root.config.json")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" >"$root.manifest.json"
    read -r manifest manifest_size < <(blob "$root.manifest.json")
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
        "$manifest" "$manifest_size" >"$img/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
}
push() { "${sk[@]}" copy -q --dest-tls-verify=false "oci:$1:v1" "docker://127.0.0.1:$2/$3" || bad "skopeo push to $2/$3"; }
suite() { # suite FILE BASE_PORT CAND_PORT [sandbox]
    local sb=${4:-false}
    printf 'targets:\n  - {name: python, url: "http://127.0.0.1:%s", role: baseline, sandbox: %s}\n  - {name: go, url: "http://127.0.0.1:%s", role: candidate, sandbox: %s}\n' \
        "$2" "$sb" "$3" "$sb" >"$1"
}
