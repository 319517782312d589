# SPDX-License-Identifier: Apache-2.0
# cli_basics.sh — the command line contract of DESIGN.md: help, unknown subcommands,
# exit codes, one clear error line for bad input, and the typed options.
. "$(dirname "$0")/lib.sh"

run "$PMIRROR" --help
expect_rc 0 "--help"
for sub in capture tee replay diff report gate run serve classify cat; do
    expect_out "  $sub " "--help lists $sub"
done

run "$PMIRROR"
expect_rc 2 "no subcommand"

run "$PMIRROR" frobnicate
expect_rc 2 "unknown subcommand"
expect_one_err_line "unknown subcommand"
expect_err "unknown subcommand 'frobnicate'" "unknown subcommand"

for sub in capture classify cat replay serve diff report gate tee run import export; do
    run "$PMIRROR" "$sub" --help
    expect_rc 0 "$sub --help"
    expect_out "usage: pmirror $sub" "$sub --help"
done

run "$PMIRROR" classify GET
expect_rc 2 "classify without a target"
run "$PMIRROR" classify --bogus GET /
expect_rc 2 "classify with an unknown option"
expect_err "unknown option '--bogus'" "unknown option named"
run "$PMIRROR" classify GET /v2/ -H 'no colon here'
expect_rc 2 "malformed -H"
expect_one_err_line "malformed -H"

# Typed options (cli/options.c): every byte size takes a suffix, numbers have bounds, words
# come from a set, and a bad value is one line naming the option and the value, exit 2,
# before any other check. "are required" / "is required" below means the value was taken
# and parsing went on to the command's own checks.
accepted() { # accepted WHAT CMD...: the options parsed; the command then wants its inputs
    local what=$1; shift
    run "$PMIRROR" "$@"
    expect_rc 2 "$what"
    expect_err "required" "$what: the value is taken"
}
refused() { # refused WHAT WANT CMD...: one line naming the option and the value
    local what=$1 want=$2; shift 2
    run "$PMIRROR" "$@"
    expect_rc 2 "$what"
    expect_one_err_line "$what"
    expect_err "$want" "$what"
}
accepted "replay --max-body 16M" replay --max-body 16M
accepted "replay --max-body 65536" replay --max-body 65536
accepted "tee --max-body 1G --queue-bytes 64MiB" tee --max-body 1G --queue-bytes 64MiB
accepted "diff --max-decoded 64M" diff --max-decoded 64M
accepted "capture --max-body 512K --rotate-size 1G" capture -r x --max-body 512K --rotate-size 1G
accepted "run --shard 2/3 --progress never" run --shard 2/3 --progress never
refused "replay --max-body 16Q" "--max-body '16Q': not a size" replay --max-body 16Q
refused "tee --max-body 0" "--max-body '0': want a size" tee --max-body 0
refused "capture --max-body 99999999999G" "--max-body '99999999999G'" capture --max-body 99999999999G
refused "tee --shadow-nice 20" "--shadow-nice '20': want a whole number from 0 to 19" tee --shadow-nice 20
refused "tee --workers 65" "--workers '65'" tee --workers 65
refused "tee --queue 0" "--queue '0'" tee --queue 0
refused "tee --primary-timeout 0" "--primary-timeout '0': want a number" tee --primary-timeout 0
refused "tee --drain-seconds 5x" "--drain-seconds '5x'" tee --drain-seconds 5x
refused "replay --progress sometimes" "--progress 'sometimes': want one of never|always|auto" replay --progress sometimes
refused "report --progress loud" "--progress 'loud'" report --progress loud
refused "replay --concurrency 0" "--concurrency '0'" replay --concurrency 0
refused "replay --rate nan" "--rate 'nan'" replay --rate nan
refused "run --shard 3/2" "--shard '3/2': want K/N with 1 <= K <= N" run --shard 3/2
refused "run --shard 1/2x" "--shard '1/2x'" run --shard 1/2x
refused "diff --jobs 0" "--jobs '0': want a whole number from 1 to 16" diff --jobs 0
refused "diff --noise-relative abc" "--noise-relative 'abc'" diff --noise-relative abc
refused "report --top-cohorts -1" "--top-cohorts '-1'" report --top-cohorts -1
refused "capture --port 70000" "--port '70000'" capture --port 70000
refused "serve --delay-ms -5" "--delay-ms '-5'" serve --delay-ms -5

# --help names each kind and its bounds from the table the parser reads
run "$PMIRROR" replay --help
expect_out "--max-body SIZE" "replay --help: --max-body is a size"
expect_out "--progress WORD .*\[one of never|always|auto\]" "replay --help: --progress's words"
expect_out "--shard K/N" "replay --help: --shard"
run "$PMIRROR" tee --help
expect_out "--shadow-nice N .*\[whole number from 0 to 19\]" "tee --help: --shadow-nice's bounds"
expect_out "--queue-bytes SIZE" "tee --help: --queue-bytes is a size"

finish
