#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# man_page.sh — pmirror(1) (issue 21): the page the build made (build/pmirror.1, from
# `pmirror --man`, cli/man.c) is what the binary prints now; mandoc -T lint finds nothing
# in it (not even a style note); man -l renders it; and it cannot drift from --help: every
# subcommand and every option each subcommand's --help lists is in the page, with the
# same words.
. "$(dirname "$0")/lib.sh"

PAGE=${PMIRROR_BUILD_DIR:-$(dirname "$PMIRROR_BIN")}/pmirror.1
[ -s "$PAGE" ] && ok || { bad "the build made no $PAGE"; finish; exit 1; }

run "$PMIRROR" --man 2000-01-01
expect_rc 0 "pmirror --man"
[ "$(sed 1d <<<"$out")" = "$(sed 1d "$PAGE")" ] && ok || bad "$PAGE is not what pmirror --man prints now (rebuild)"
expect_out '^\.TH PMIRROR 1 2000-01-01 "pmirror ' "the date given is the page's"

if command -v mandoc >/dev/null; then
    lint=$(mandoc -T lint -W style "$PAGE" 2>&1)
    [ -z "$lint" ] && ok || bad "mandoc -T lint: $lint"
else
    bad "mandoc is not installed (make deps installs it)"
fi
if command -v man >/dev/null; then
    text=$(MANWIDTH=100 man -l "$PAGE" 2>"$WORK/man.err" | col -b)
    [ -s "$WORK/man.err" ] && bad "man -l: $(cat "$WORK/man.err")" || ok
    for section in NAME SYNOPSIS DESCRIPTION COMMANDS FILES ENVIRONMENT "EXIT STATUS" SIGNALS EXAMPLES; do
        grep -q "^$section\$" <<<"$text" && ok || bad "man -l: no section $section"
    done
else
    bad "man is not installed (make deps installs man-db)"
    text=""
fi

# From --help to the page: every subcommand (profile's two as well) and every option with
# the start of its words (one Python process: the machine may be busy, processes are dear).
printf '%s\n' "$text" >"$WORK/page.txt"
run python3 - "$PMIRROR" "$WORK/page.txt" <<'PY'
import re, subprocess, sys
exe = sys.argv[1]
page = " ".join(open(sys.argv[2]).read().split())  # man fills and breaks the words: compare them as one line
top = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
subs = re.findall(r"^  ([a-z]+) ", top, re.M)
problems = [] if len(subs) >= 15 else ["pmirror --help lists too few subcommands: %s" % subs]
checked = 0
for sub in subs:
    cmds = [[sub]]
    if sub == "profile":  # subcommands of its own, as its --help lists them
        own = subprocess.run([exe, "profile", "--help"], capture_output=True, text=True).stdout
        cmds = [["profile", s] for s in re.findall(r"^  ([a-z]+) ", own, re.M)]
        if len(cmds) < 2:
            problems.append("pmirror profile --help lists too few subcommands: %s" % cmds)
    for cmd in cmds:
        name = " ".join(cmd)
        if "pmirror %s " % name not in page:
            problems.append("the page has no section for pmirror %s" % name)
        help = subprocess.run([exe, *cmd, "--help"], capture_output=True, text=True).stdout
        for m in re.finditer(r"^ *(?:-., )?--([a-z0-9-]+)(?: \S+)? {2,}(.*)$", help, re.M):
            opt, words = m.group(1), " ".join(m.group(2).split()[:4])
            if opt == "help":
                continue
            checked += 1
            if "--" + opt not in page:
                problems.append("pmirror %s --%s: not in the page" % (name, opt))
            elif words not in page:
                problems.append("pmirror %s --%s: its help (%r) not in the page" % (name, opt, words))
print("%d options checked" % checked)
print("\n".join(problems), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
expect_rc 0 "every subcommand and option of --help in the page"
expect_out "options checked" "the options were read"

finish
