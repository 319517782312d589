# SPDX-License-Identifier: Apache-2.0
# outputs.sh — pmirror never writes through a symbolic link. `-o LINK` (plain, gzip, for
# capture and import) is refused with one line naming the link, exit 2, and the link's target
# keeps its bytes and its mode; `-o -` still writes to stdout; --port-file's temporary has an
# unpredictable name, so a link planted at the old fixed name (PATH.tmp) is never followed.
# (Report temporaries: test_report.c; the writer and the temporaries helper: test_jsonl.c,
# test_output_file.c.)
. "$(dirname "$0")/lib.sh"

PCAP=$SRC/fixtures/capture/basic_keepalive.pcap
printf 'precious\n' >"$WORK/victim"
chmod 644 "$WORK/victim"

victim_intact() { # NAME
    [ "$(tr -d '\0' <"$WORK/victim")" = precious ] && [ "$(stat -c %a "$WORK/victim")" = 644 ] && ok ||
        bad "$1: the link's target was changed: mode $(stat -c %a "$WORK/victim"), $(head -c 80 "$WORK/victim" | tr -cd "[:print:]")"
}

for name in link.jsonl link.jsonl.gz; do
    ln -s "$WORK/victim" "$WORK/$name"
    run "$PMIRROR" capture -q -r "$PCAP" -o "$WORK/$name"
    expect_rc 2 "capture -o $name (a symlink)"
    expect_err "$WORK/$name: .*symbolic link" "capture -o $name: the link named"
    expect_one_err_line "capture -o $name"
    victim_intact "capture -o $name"
    [ -L "$WORK/$name" ] && ok || bad "capture -o $name: the link was replaced"
done

ln -s "$WORK/victim" "$WORK/import.jsonl"
run "$PMIRROR" import -q --har "$SRC/fixtures/har/devtools.har" -o "$WORK/import.jsonl"
expect_rc 2 "import -o LINK"
expect_err "import.jsonl: .*symbolic link" "import -o LINK: the link named"
expect_one_err_line "import -o LINK"
victim_intact "import -o LINK"

# a dangling link is refused too (O_CREAT would otherwise create its target)
ln -s "$WORK/created-by-pmirror" "$WORK/dangling.jsonl"
run "$PMIRROR" capture -q -r "$PCAP" -o "$WORK/dangling.jsonl"
expect_rc 2 "capture -o DANGLING-LINK"
[ ! -e "$WORK/created-by-pmirror" ] && ok || bad "capture -o DANGLING-LINK created the link's target"

# stdout still works, and a plain file is still written 0600
run "$PMIRROR" capture -q -r "$PCAP" -o -
expect_rc 0 "capture -o -"
expect_out '"v":1' "capture -o - writes records to stdout"
run "$PMIRROR" capture -q -r "$PCAP" -o "$WORK/plain.jsonl.gz"
expect_rc 0 "capture -o FILE"
[ "$(stat -c %a "$WORK/plain.jsonl.gz")" = 600 ] && ok || bad "capture -o FILE: mode $(stat -c %a "$WORK/plain.jsonl.gz")"

# --port-file: a link planted at the old temporary name is not followed
ln -s "$WORK/victim" "$WORK/serve.port.tmp"
"$PMIRROR" serve --fixture "$WORK/plain.jsonl.gz" --listen 127.0.0.1:0 --port-file "$WORK/serve.port" \
    2>"$WORK/serve.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/serve.port" ] && break; sleep 0.05; done
grep -qx '[0-9][0-9]*' "$WORK/serve.port" 2>/dev/null && ok || bad "serve --port-file: no port: $(cat "$WORK/serve.err")"
[ -f "$WORK/serve.port" ] && [ ! -L "$WORK/serve.port" ] && ok || bad "serve --port-file is not a regular file"
victim_intact "serve --port-file with a planted PATH.tmp link"
n=$(find "$WORK" -maxdepth 1 -name 'serve.port?*' ! -name serve.port.tmp | wc -l)
[ "$n" -eq 0 ] && ok || bad "serve --port-file left $n temporaries"

finish
