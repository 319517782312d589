# SPDX-License-Identifier: Apache-2.0
# diff_noise.sh — noise learned from a secondary target (Diffy's rule, per capability):
# a field the two Pythons disagree on about as often as Python and Go is noise, absorbed
# and listed; one they never disagree on is a real difference; the thresholds hold at
# their boundaries; --learn-noise writes the noise as reviewable rules.
. "$(dirname "$0")/lib.sh"

# make RAW_X NOISE_X RAW_Y TOTAL OUT: TOTAL exchanges; $.x differs python/go in RAW_X of
# them and python/python2 in NOISE_X; $.y differs python/go in RAW_Y (never python/python2)
make() {
    python3 - "$@" <<'PY'
import json, sys
raw_x, noise_x, raw_y, total, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(out, "w") as f:
    for i in range(total):
        base = {"x": 1, "y": 1, "i": i}
        go = dict(base, x=2 if i < raw_x else 1, y=2 if i < raw_y else 1)
        py2 = dict(base, x=3 if i >= total - noise_x else 1)
        def answer(role, body):
            return {"role": role, "status": 200, "headers": [["Content-Type", "application/json"]],
                    "body": json.dumps(body), "error": None}
        rec = {"v": 1, "id": "r%d" % i, "family": "API_V1", "capability": "API_TEST_READ",
               "responses": {"python": answer("baseline", base), "go": answer("candidate", go),
                             "python2": answer("secondary", py2)}}
        f.write(json.dumps(rec) + "\n")
PY
}
count() { grep -c "\"verdict\":\"$1\"" "$2"; }

make 50 48 30 100 "$WORK/r1.jsonl"
run "$PMIRROR" diff -i "$WORK/r1.jsonl" -o "$WORK/d1.jsonl" --learn-noise "$WORK/noise.yaml"
expect_rc 0 "diff with a secondary"
[ "$(count mismatch "$WORK/d1.jsonl")" -eq 30 ] && ok || bad "want 30 mismatches (\$.y), got $(count mismatch "$WORK/d1.jsonl")"
grep -q '"noise":\[{"where":"body","path":"$.x"' "$WORK/d1.jsonl" && ok || bad "\$.x not listed as noise"
grep -q "path: '\$.x'" "$WORK/noise.yaml" && ok || bad "--learn-noise lacks \$.x: $(cat "$WORK/noise.yaml")"
grep -q "path: '\$.y'" "$WORK/noise.yaml" && bad "\$.y learned as noise" || ok

# relative threshold: 20% by default. raw 60, noise 40: |20|/100 = 20% -> noise (at);
# raw 61, noise 40: 21/101 > 20% and 21/1000 > 0.03% -> not noise (just above)
make 60 40 0 1000 "$WORK/r2.jsonl"
run "$PMIRROR" diff -i "$WORK/r2.jsonl" -o "$WORK/d2.jsonl"
[ "$(count mismatch "$WORK/d2.jsonl")" -eq 0 ] && ok || bad "at 20%: want noise, got $(count mismatch "$WORK/d2.jsonl") mismatches"
make 61 40 0 1000 "$WORK/r3.jsonl"
run "$PMIRROR" diff -i "$WORK/r3.jsonl" -o "$WORK/d3.jsonl"
[ "$(count mismatch "$WORK/d3.jsonl")" -eq 61 ] && ok || bad "above 20%: want 61 mismatches, got $(count mismatch "$WORK/d3.jsonl")"
# absolute threshold: raw 6, noise 3 of 10000 exchanges: relative 33% but |3|/10000 = 0.03% -> noise;
# raw 7, noise 3: 4/10000 = 0.04% and 40% -> not noise
make 6 3 0 10000 "$WORK/r4.jsonl"
run "$PMIRROR" diff -i "$WORK/r4.jsonl" -o "$WORK/d4.jsonl"
[ "$(count mismatch "$WORK/d4.jsonl")" -eq 0 ] && ok || bad "at 0.03%: want noise, got $(count mismatch "$WORK/d4.jsonl")"
make 7 3 0 10000 "$WORK/r5.jsonl"
run "$PMIRROR" diff -i "$WORK/r5.jsonl" -o "$WORK/d5.jsonl"
[ "$(count mismatch "$WORK/d5.jsonl")" -eq 7 ] && ok || bad "above 0.03%: want 7 mismatches, got $(count mismatch "$WORK/d5.jsonl")"
# a field the two Pythons never disagree on is never noise, however rare
make 1 0 0 10000 "$WORK/r6.jsonl"
run "$PMIRROR" diff -i "$WORK/r6.jsonl" -o "$WORK/d6.jsonl"
[ "$(count mismatch "$WORK/d6.jsonl")" -eq 1 ] && ok || bad "a rare real difference was absorbed"
# thresholds are flags
run "$PMIRROR" diff -i "$WORK/r3.jsonl" -o "$WORK/d7.jsonl" --noise-relative 0.25
[ "$(count mismatch "$WORK/d7.jsonl")" -eq 0 ] && ok || bad "--noise-relative 0.25 should absorb raw 61 / noise 40"

finish
