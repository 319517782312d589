# cat.sh — `pmirror cat` on plain and gzip files, on damaged files (every complete record
# first, then one warning), and on garbage (one error line naming file:line, exit 2).
. "$(dirname "$0")/lib.sh"

printf '{"v":1,"id":"a"}\n{"v":1,"id":"b"}\n' >"$WORK/two.jsonl"
gzip -c "$WORK/two.jsonl" >"$WORK/two.jsonl.gz"

run "$PMIRROR" cat "$WORK/two.jsonl"
expect_rc 0 "cat plain"
[ "$out" = "$(cat "$WORK/two.jsonl")" ] && ok || bad "cat plain output: $out"

run "$PMIRROR" cat "$WORK/two.jsonl.gz" "$WORK/two.jsonl"
expect_rc 0 "cat gz + plain"
[ "$(printf '%s\n' "$out" | grep -c '"v":1')" -eq 4 ] && ok || bad "cat two files: $out"

run sh -c "\"$PMIRROR\" cat - < \"$WORK/two.jsonl.gz\""
expect_rc 0 "cat gzip from stdin"
expect_out '"id":"b"' "stdin record"

# truncated gzip: complete records, then a warning
seq 1 3000 | sed 's/.*/{"v":1,"id":"r&","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}/' \
    | gzip -c >"$WORK/big.jsonl.gz"
size=$(stat -c %s "$WORK/big.jsonl.gz")
head -c $((size / 2)) "$WORK/big.jsonl.gz" >"$WORK/cut.jsonl.gz"
run "$PMIRROR" cat "$WORK/cut.jsonl.gz"
expect_rc 0 "truncated gzip is not an error"
expect_err "warning: .*cut.jsonl.gz: gzip stream ends early" "truncated gzip warning"
n=$(printf '%s\n' "$out" | grep -c '"v":1')
[ "$n" -gt 0 ] && [ "$n" -lt 3000 ] && ok || bad "truncated gzip yielded $n records"
# every yielded record is complete and in order
printf '%s\n' "$out" | awk -v n="$n" -F'"id":"r' '{split($2,a,"\""); if (a[1] != NR) bad=1} END {exit bad}' \
    && ok || bad "truncated gzip records out of order"

# truncated last line of a plain file
printf '{"v":1,"id":"a"}\n{"v":1,"id":"b' >"$WORK/cut.jsonl"
run "$PMIRROR" cat "$WORK/cut.jsonl"
expect_rc 0 "truncated plain file"
expect_out '"id":"a"' "record before the damage"
expect_err "truncated last line after record 1" "truncated line warning"

# garbage: one line, file:line, exit 2
printf '{"v":1,"id":"a"}\nthis is not json\n{"v":1}\n' >"$WORK/garbage.jsonl"
run "$PMIRROR" cat "$WORK/garbage.jsonl"
expect_rc 2 "garbage JSONL"
expect_err "garbage.jsonl:2: not JSON" "garbage names file:line"
expect_one_err_line "garbage JSONL"

run "$PMIRROR" cat --skip-bad "$WORK/garbage.jsonl"
expect_rc 0 "--skip-bad"
expect_err "skipped 1 malformed" "--skip-bad counts"

head -c 4096 /dev/urandom >"$WORK/random.bin"
run "$PMIRROR" cat "$WORK/random.bin"
expect_rc 2 "random bytes"
expect_one_err_line "random bytes"

run "$PMIRROR" cat "$WORK/does-not-exist.jsonl"
expect_rc 2 "missing file"
expect_err "does-not-exist.jsonl: cannot open" "missing file named"
expect_one_err_line "missing file"

run "$PMIRROR" cat
expect_rc 2 "cat without files"

finish
