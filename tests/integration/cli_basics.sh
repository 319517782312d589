# cli_basics.sh — the command line contract of DESIGN.md: help, unknown and unbuilt
# subcommands, exit codes, and one clear error line for bad input.
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

finish
