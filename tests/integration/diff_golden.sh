# SPDX-License-Identifier: Apache-2.0
# diff_golden.sh — `pmirror diff` on the golden Quay cases (fixtures/diff, made by
# tools/make_diff_fixtures.py from quay-facts.md and DESIGN.md, not from the engine):
# every record gets exactly one diff record with the expected verdict and exactly the
# expected set of (where, path, kind) differences; legitimate differences are a match.
. "$(dirname "$0")/lib.sh"
FX="$SRC/fixtures/diff"
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

# --- the fixtures are what the generator writes (edit the script, not the files) --------------
python3 "$SRC/tools/make_diff_fixtures.py" "$WORK/fx" >/dev/null 2>"$WORK/gen.err" \
    && ok || bad "make_diff_fixtures.py failed: $(cat "$WORK/gen.err")"
for f in quay_golden.results.jsonl quay_golden.expect.jsonl README.md; do
    cmp -s "$WORK/fx/$f" "$FX/$f" && ok || bad "fixtures/diff/$f is out of date: re-run tools/make_diff_fixtures.py"
done

# --- diff ------------------------------------------------------------------------------------
run "$PMIRROR" diff -i "$FX/quay_golden.results.jsonl" -o "$WORK/d.jsonl"
expect_rc 0 "diff the golden results"
[ -s "$WORK/d.jsonl" ] && ok || bad "diff wrote no records"

# One line per check: "PASS id" or "FAIL id: why". Verdict exact; the set of (where, path,
# kind) exact (order and duplicates irrelevant; other keys of a difference not compared).
python3 - "$FX/quay_golden.expect.jsonl" "$WORK/d.jsonl" >"$WORK/compare.out" 2>&1 <<'EOF'
import gzip, json, sys

def records(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except ValueError as e:
                    print("FAIL %s line %d: not JSON (%s)" % (path, n, e))

def shape(diffs):
    out = set()
    for x in diffs:
        if not isinstance(x, dict):
            out.add(("?", repr(x), "?"))
        else:
            out.add((x.get("where"), x.get("path"), x.get("kind")))
    return out

def show(s):
    return "{" + ", ".join("%s %s %s" % (w, json.dumps(p), k) for w, p, k in sorted(s, key=repr)) + "}"

want = {r["id"]: r for _, r in records(sys.argv[1])}
got = {}
for n, r in records(sys.argv[2]):
    rid = r.get("id")
    if rid in got:
        print("FAIL %s: more than one diff record (line %d)" % (rid, n))
    elif rid not in want:
        print("FAIL %s: a diff record for an id not in the input (line %d)" % (rid, n))
    else:
        got[rid] = r

for rid, w in want.items():
    g = got.get(rid)
    if g is None:
        print("FAIL %s: no diff record (want %s)" % (rid, w["verdict"]))
        continue
    problems = []
    if g.get("v") != 1:
        problems.append('"v" is %r, want 1' % g.get("v"))
    if g.get("verdict") != w["verdict"]:
        problems.append("verdict %s, want %s" % (g.get("verdict"), w["verdict"]))
    diffs = g.get("differences")
    if not isinstance(diffs, list):
        problems.append("differences is %r, want a list" % (diffs,))
        diffs = []
    ws, gs = shape(w["differences"]), shape(diffs)
    if ws != gs:
        problems.append("differences %s, want %s (missing %s, unexpected %s)"
                        % (show(gs), show(ws), show(ws - gs), show(gs - ws)))
    if problems:
        print("FAIL %s: %s  [%s]" % (rid, "; ".join(problems), w["why"]))
    else:
        print("PASS %s" % rid)
EOF
[ -s "$WORK/compare.out" ] && ok || bad "the comparison printed nothing"
while IFS= read -r line; do
    case "$line" in
        PASS\ *) ok ;;
        FAIL\ *) bad "${line#FAIL }" ;;
        *) bad "compare: $line" ;;
    esac
done <"$WORK/compare.out"

finish
