# SPDX-License-Identifier: Apache-2.0
# noise_run.sh — one noise rule whatever the input: `diff -i FILE`, `diff -i -` (a file or
# a pipe on stdin) and `run` give the same verdicts and differences (issue 17). The
# secondary (a second Python) differs from the baseline only by host:port in an echoed URL;
# the candidate differs in that URL's content (its query): a mismatch everywhere, never
# noise, whether the counts over the file call the shape noise (as many exchanges differ
# each way) or not (the secondary differs on every exchange, the candidate on one).
. "$(dirname "$0")/lib.sh"

servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# serve NAME FIXTURE: a recorded backend on a free port; sets $port
serve() {
    rm -f "$WORK/$1.port"
    "$PMIRROR" serve --fixture "$2" --listen 127.0.0.1:0 --port-file "$WORK/$1.port" 2>"$WORK/$1.err" &
    servers+=($!)
    for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
    port=$(cat "$WORK/$1.port" 2>/dev/null)
    [ -n "$port" ] || { echo "FAIL: serve $1 did not start: $(cat "$WORK/$1.err")"; exit 1; }
}

# spec N CHANGED WHO COUNTER: N exchanges GET /echo?i=I answering {"url": ..., "i": I}, as
# WHO (python: the baseline's host; python2: another host:port; go: the baseline's host,
# the query changed in the first CHANGED exchanges); COUNTER 1 adds "n", a per-process
# counter: go's differs in the first half of the exchanges, python2's in the second
spec() {
    python3 - "$@" <<'PY'
import json, sys
n, changed, who, counter = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
out = []
for i in range(n):
    host = "127.0.0.1:8003" if who == "python2" else "127.0.0.1:8001"
    query = "i=%d&lang=de" % i if who == "go" and i < changed else "i=%d" % i
    body = {"url": "http://%s/echo?%s" % (host, query), "i": i}
    if counter:
        body["n"] = i + 100 if (who == "go" and i < n // 2) or (who == "python2" and i >= n // 2) else i
    out.append({"id": "e%03d" % i, "target": "/echo?i=%d" % i, "at_us": i * 1000, "family": "API_V1",
                "capability": "API_ECHO", "resp_headers": [["Content-Type", "application/json"]],
                "resp_body": json.dumps(body)})
print(json.dumps(out))
PY
}

# verdicts FILE: "id verdict path,path..." per diff record, sorted
verdicts() {
    "$PMIRROR" cat "$1" | python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    d = json.loads(line)
    rows.append("%s %s %s" % (d["id"], d["verdict"], ",".join(x["path"] for x in d["differences"])))
print("\n".join(sorted(rows)))'
}

cat >"$WORK/gate.yaml" <<YAML
defaults: {min_samples: 1, min_parity_lower: 0, max_error_rate: 1, min_capability_coverage: 0, max_p95_ratio: null}
YAML

# case A: 10 exchanges, the candidate's query differs in 1 (the counts: not noise)
# case B: 2 exchanges, the candidate's query differs in both (the counts alone: noise)
# case C: 10 exchanges, the query never differs; "n" differs Python-vs-Go in 5 and
#         Python-vs-Python in the 5 others: noise by the counts (Diffy's rule), in every
#         exchange, although no single exchange shows it on both sides
for case in "A 10 1 0" "B 2 2 0" "C 10 0 1"; do
    set -- $case
    name=$1 n=$2 changed=$3 counter=$4
    for who in python python2 go; do
        spec "$n" "$changed" "$who" "$counter" | python3 "$HERE/make_capture.py" "$WORK/$name.$who.jsonl" -
    done
    serve "$name-py" "$WORK/$name.python.jsonl"; py=$port
    serve "$name-py2" "$WORK/$name.python2.jsonl"; py2=$port
    serve "$name-go" "$WORK/$name.go.jsonl"; go=$port
    cat >"$WORK/$name.suite.yaml" <<YAML
targets:
  - {name: python, url: "http://127.0.0.1:$py", role: baseline}
  - {name: go, url: "http://127.0.0.1:$go", role: candidate}
  - {name: python2, url: "http://127.0.0.1:$py2", role: secondary}
YAML
    run "$PMIRROR" run -c "$WORK/$name.suite.yaml" -i "$WORK/$name.python.jsonl" --out-dir "$WORK/$name.run" \
        --gate "$WORK/gate.yaml" --keep-results --progress never
    [ "$rc" -le 1 ] && ok || bad "$name: run: exit $rc ($err)"
    results="$WORK/$name.run/results.jsonl.gz"
    want=$(python3 -c "
import sys
n, c = $n, $changed
print('\n'.join(sorted('e%03d %s' % (i, 'mismatch \$.url' if i < c else 'match ') for i in range(n))))")
    run "$PMIRROR" diff -c "$WORK/$name.suite.yaml" -i "$results" -o "$WORK/$name.file.jsonl" --progress never
    expect_rc 0 "$name: diff -i FILE"
    run "$PMIRROR" diff -c "$WORK/$name.suite.yaml" -i - -o "$WORK/$name.stdin.jsonl" --progress never <"$results"
    expect_rc 0 "$name: diff -i - (a file)"
    out=$("$PMIRROR" cat "$results" | "$PMIRROR" diff -c "$WORK/$name.suite.yaml" -i - -o "$WORK/$name.pipe.jsonl" \
          --progress never 2>&1) && ok || bad "$name: diff -i - (a pipe): $out"
    for got in "$WORK/$name.run/diffs.jsonl.gz" "$WORK/$name.file.jsonl" "$WORK/$name.stdin.jsonl" "$WORK/$name.pipe.jsonl"; do
        v=$(verdicts "$got")
        [ "$v" = "$want" ] && ok || bad "$name: $(basename "$got"): verdicts
$v
want
$want"
    done
    # and the same records, byte for byte, from each way in (latencies are the results')
    cmp -s "$WORK/$name.file.jsonl" "$WORK/$name.stdin.jsonl" && cmp -s "$WORK/$name.file.jsonl" "$WORK/$name.pipe.jsonl" &&
        ok || bad "$name: diff -i FILE and diff -i - wrote different records"
    [ "$("$PMIRROR" cat "$WORK/$name.run/diffs.jsonl.gz")" = "$(cat "$WORK/$name.file.jsonl")" ] && ok ||
        bad "$name: run's diffs differ from diff's on its results"
done

finish
