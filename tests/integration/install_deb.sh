#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install_deb.sh — the Debian package (issue 21; ctest label `package`, make test): cpack -G
# DEB makes it from the build tree with Depends from the libraries the binary links
# (dpkg-shlibdeps); dpkg -i installs it on this machine; from /tmp, /usr/bin/pmirror's
# --version names /usr/share/pmirror/profiles/quay, `man pmirror` renders the page, and the
# demo's run (installed_demo.bash) uses the installed profile with the seeded outcome; at
# the end dpkg purges it, and the machine is as it was. Skipped (77) without root, or when a
# pmirror is installed already (it is not this test's to replace).
. "$(dirname "$0")/lib.sh"
. "$HERE/installed_demo.bash"
BUILD=${PMIRROR_BUILD_DIR:-$(dirname "$PMIRROR_BIN")}

skip() { echo "install_deb.sh: skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-shlibdeps (make deps installs dpkg-dev)"
dpkg-query -W -f='${Status}' pmirror 2>/dev/null | grep -q installed && skip "a pmirror package is installed already"
[ -e /usr/bin/pmirror ] && skip "/usr/bin/pmirror exists already"

run cpack -G DEB -B "$WORK/deb" --config "$BUILD/CPackConfig.cmake"
expect_rc 0 "cpack -G DEB"
deb=$(ls "$WORK"/deb/pmirror_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] && ok || { bad "cpack made no .deb: $out $err"; finish; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libcurl4 libjansson4 libmicrohttpd12 libpcap0.8 libpq5 libyaml-0-2 zlib1g; do
    grep -q "\b$lib\b" <<<"$depends" && ok || bad "Depends lacks $lib: $depends"
done
for f in ./usr/bin/pmirror ./usr/share/man/man1/pmirror.1 ./usr/share/pmirror/profiles/quay/capabilities.yaml \
    ./usr/share/doc/pmirror/LICENSE; do
    dpkg-deb -c "$deb" | grep -q " $f\$" && ok || bad "the package lacks $f"
done

at_exit 'dpkg -P pmirror >/dev/null 2>&1'
run dpkg -i "$deb"
expect_rc 0 "dpkg -i"
cd /tmp || exit 1
run env -u PMIRROR_PROFILE /usr/bin/pmirror --version
expect_rc 0 "installed --version"
expect_out "^profile: /usr/share/pmirror/profiles/quay\$" "--version names the installed profile"
expect_out "^found by: installed " "--version: the rule"
run man -w pmirror
expect_out "^/usr/share/man/man1/pmirror.1" "man -w pmirror"
run env MANWIDTH=80 man pmirror
expect_out "pmirror - parity-testing shadow traffic mirror" "man pmirror renders the page"

installed_demo /usr/bin/pmirror /usr/share/pmirror/profiles/quay

run dpkg -P pmirror
expect_rc 0 "dpkg -P"
[ ! -e /usr/bin/pmirror ] && [ ! -e /usr/share/pmirror ] && ok || bad "dpkg -P left files behind"
finish
