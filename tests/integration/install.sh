#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install.sh — installed, pmirror works without its source tree (issue 21): cmake --install
# into a temporary prefix puts the binary, the Quay profile, the man page and the license
# where the README says; the prefix moved elsewhere still works (the profile is found
# relative to the binary), and from a directory outside the tree the installed binary's
# --version names the installed profile and the rule that found it, $PMIRROR_PROFILE still
# overrides it, `man` finds the page, and the demo's run (installed_demo.bash) uses the
# installed profile and gets the seeded outcome. The build tree's --version names the
# build tree's profile.
. "$(dirname "$0")/lib.sh"
. "$HERE/installed_demo.bash"
BUILD=${PMIRROR_BUILD_DIR:-$(dirname "$PMIRROR_BIN")}

run "$PMIRROR_BIN" --version
expect_rc 0 "--version in the build tree"
expect_out "^profile: $(cd "$SRC/config/quay" && pwd -P)\$" "the build tree's binary: the checkout's profile"
expect_out "^found by: build " "the build tree's binary: the rule"

run cmake --install "$BUILD" --prefix "$WORK/prefix"
expect_rc 0 "cmake --install"
mv "$WORK/prefix" "$WORK/moved" # a relocated prefix: nothing in it names where it was installed
P=$WORK/moved
for f in bin/pmirror share/man/man1/pmirror.1 share/doc/pmirror/LICENSE share/doc/pmirror/CHANGELOG.md; do
    [ -s "$P/$f" ] && ok || bad "not installed: PREFIX/$f"
done
for f in "$SRC"/config/quay/*.yaml; do
    cmp -s "$f" "$P/share/pmirror/profiles/quay/${f##*/}" && ok || bad "not installed: PREFIX/share/pmirror/profiles/quay/${f##*/}"
done

cd /tmp || exit 1
profile=$(cd "$P/share/pmirror/profiles/quay" && pwd -P)
run env -u PMIRROR_PROFILE "$P/bin/pmirror" --version
expect_rc 0 "installed --version"
expect_out "^pmirror [0-9]" "installed --version: the version"
expect_out "^profile: $profile\$" "installed --version: the installed profile"
expect_out "^found by: installed " "installed --version: the rule"
run env PMIRROR_PROFILE="$SRC/config/quay" "$P/bin/pmirror" --version
expect_out "^profile: $(cd "$SRC/config/quay" && pwd -P)\$" "\$PMIRROR_PROFILE overrides the installed profile"
expect_out "^found by: env " "\$PMIRROR_PROFILE: the rule"
run env -u PMIRROR_PROFILE "$P/bin/pmirror" classify GET /v2/
expect_rc 0 "installed classify"
expect_out '"family": *"REGISTRY_V2"' "installed classify: the installed map"
run env MANPATH="$P/share/man" man -w pmirror
expect_out "^$P/share/man/man1/pmirror.1" "man finds the installed page"

installed_demo "$P/bin/pmirror" "$profile"
finish
