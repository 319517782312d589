#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# container.sh — the Containerfile (issue 21; ctest label `container`, make test): built with
# podman build --isolation chroot on a Debian bookworm base made here (debootstrap
# --variant=minbase, podman import; no registry is asked: --pull=never), then checked
# through chroot, since containers cannot be run on these machines (no cgroups for crun):
# the image's pmirror finds its installed profile (--version) and classifies with it, as
# the image's user (uid 10001), the entrypoint is pmirror, and no compiler came along.
#
# Kept between runs, to keep make test short: the debootstrap'd tree
# (BUILD/container/bookworm), the base image localhost/bookworm-base, podman's layer cache
# and the image localhost/pmirror:test (each run replaces it). Skipped (77) without root or
# without podman and debootstrap.
. "$(dirname "$0")/lib.sh"
BUILD=${PMIRROR_BUILD_DIR:-$(dirname "$PMIRROR_BIN")}
CACHE=$BUILD/container
BASE=localhost/bookworm-base
IMAGE=localhost/pmirror:test

skip() { echo "container.sh: skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "debootstrap, podman build and chroot need root"
command -v podman >/dev/null || skip "no podman (make deps installs it)"
command -v debootstrap >/dev/null || skip "no debootstrap (make deps installs it)"
t0=$SECONDS

# the base: debootstrap'd once, imported once
mkdir -p "$CACHE"
if [ ! -e "$CACHE/bookworm/.complete" ]; then
    rm -rf "$CACHE/bookworm" "$CACHE/bookworm.tmp"
    debootstrap --variant=minbase bookworm "$CACHE/bookworm.tmp" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
        { bad "debootstrap failed: $(tail -5 "$CACHE/debootstrap.log")"; finish; exit 1; }
    rm -rf "$CACHE"/bookworm.tmp/var/cache/apt/archives/*.deb "$CACHE"/bookworm.tmp/var/lib/apt/lists/*
    mv "$CACHE/bookworm.tmp" "$CACHE/bookworm" && touch "$CACHE/bookworm/.complete"
    podman rmi -f "$BASE" >/dev/null 2>&1
fi
if ! podman image exists "$BASE"; then
    tar -C "$CACHE/bookworm" --exclude ./.complete -c . | podman import - "$BASE" >"$WORK/import.log" 2>&1 ||
        { bad "podman import: $(cat "$WORK/import.log")"; finish; exit 1; }
fi
ok
echo "container.sh: base ready after $((SECONDS - t0)) s"

run podman build --isolation chroot --pull=never --build-arg BASE="$BASE" -f "$SRC/Containerfile" -t "$IMAGE" "$SRC"
expect_rc 0 "podman build"
[ "$rc" -eq 0 ] || { echo "$out" | tail -30; finish; exit 1; }
echo "container.sh: image built after $((SECONDS - t0)) s"

run podman image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "$IMAGE"
expect_out '^10001:10001 \["pmirror"\]$' "the image runs pmirror as uid 10001"

MNT=$(podman image mount "$IMAGE") && [ -d "$MNT" ] && ok || { bad "podman image mount: $MNT"; finish; exit 1; }
at_exit "umount '$MNT/proc' 2>/dev/null; podman image unmount '$IMAGE' >/dev/null 2>&1"
mount -t proc proc "$MNT/proc" && ok || bad "cannot mount /proc in $MNT" # as a container has it

run chroot --userspec=10001:10001 "$MNT" pmirror --version
expect_rc 0 "chroot: pmirror --version"
expect_out "^profile: /usr/share/pmirror/profiles/quay\$" "chroot: --version names the installed profile"
expect_out "^found by: installed " "chroot: the rule that found it"
run chroot --userspec=10001:10001 "$MNT" pmirror classify GET /v2/
expect_rc 0 "chroot: pmirror classify GET /v2/"
expect_out '"family": *"REGISTRY_V2"' "chroot: classify with the installed map"
run chroot "$MNT" ldd /usr/bin/pmirror
expect_rc 0 "chroot: ldd pmirror"
grep -q "not found" <<<"$out" && bad "libraries missing in the image: $out" || ok
for f in /usr/bin/gcc /usr/bin/cmake /usr/include/curl /src /build; do
    [ ! -e "$MNT$f" ] && ok || bad "the runtime image has $f (build stage only)"
done
[ -s "$MNT/usr/share/man/man1/pmirror.1" ] && ok || bad "the image has no man page"
grep -q '^pmirror:x:10001:' "$MNT/etc/passwd" && ok || bad "no user pmirror (10001) in the image"
echo "container.sh: $((SECONDS - t0)) s in all"
finish
