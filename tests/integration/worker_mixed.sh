# SPDX-License-Identifier: Apache-2.0
# worker_mixed.sh — mixed mode (issue 16): jobs one implementation's producer enqueued are
# consumed by the other's worker just as well, and the reports say which producer made each.
# Two captures of one source database (pg.sh), `--producer python` while Python-style producers
# enqueue (json.dumps: spaced, every key, nulls), `--producer go` while Go-style ones do
# (encoding/json: struct field order, compact, omitempty fields left out, <>& as \u003c...),
# then `pmirror worker` into two sandboxes consumed by queue_worker.py's python and go
# flavours, `diff` and `report`:
#  - every job record and job result carries its capture's producer (and cohort.producer);
#  - both workers complete every job, whoever produced it, with the same effects (the webhook
#    of a Go-produced namespacegc job as the Python worker sends it);
#  - report.json's worker families have cohorts.producer with python and go and their counts,
#    report.md its jobs-by-producer table, report.html a producer cohort table.
. "$(dirname "$0")/lib.sh"
. "$HERE/pg.sh"
PY=/usr/bin/python3
"$PY" -c 'import psycopg2' 2>/dev/null || { echo "FAIL: /usr/bin/python3 has no psycopg2 (Debian python3-psycopg2)"; exit 1; }

pg_start
pg_queue_table
pg_role capture 'capture-secret-123' REPLICATION
DSN=$(pg_dsn capture 'capture-secret-123')
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d "$db" "$@"; }
pg_sql -c "CREATE ROLE replayer LOGIN PASSWORD 'replayer-secret-321'" >/dev/null
for db in sandbox_py sandbox_go; do
    psql_db postgres -c "CREATE DATABASE $db" >/dev/null || pg_fail "cannot create $db"
    psql_db "$db" -f "$HERE/quay_queue.sql" >/dev/null || pg_fail "cannot create $db's queueitem"
    psql_db "$db" >/dev/null <<'SQL' || pg_fail "cannot seed $db"
CREATE TABLE deletednamespace (id integer PRIMARY KEY);
CREATE TABLE repositorybuild (uuid text PRIMARY KEY, phase text NOT NULL);
INSERT INTO deletednamespace VALUES (1), (2), (3), (4);
INSERT INTO repositorybuild VALUES ('b1', 'waiting'), ('b2', 'waiting');
GRANT SELECT, INSERT, UPDATE, DELETE ON queueitem TO replayer;
GRANT USAGE ON SEQUENCE queueitem_id_seq TO replayer;
GRANT SELECT ON deletednamespace, repositorybuild TO replayer;
SQL
done
pg_key_file "$WORK/key"

pg_test_workers

# capture PRODUCER SQL: one capture stamped --producer PRODUCER while SQL enqueues
capture() {
    "$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 50 --outcome-wait 0.2 --producer "$1" \
        -o "$WORK/jobs-$1.jsonl" --key "$WORK/key" -q 2>"$WORK/capture-$1.err" &
    local cap=$!
    pids+=("$cap")
    wait_for 15 slots_are 1 || bad "the $1 capture's slot did not appear: $(cat "$WORK/capture-$1.err")"
    pg_sql >"$WORK/producer-$1.out" 2>&1 <<<"$2" || bad "the $1 producer failed: $(cat "$WORK/producer-$1.out")"
    sleep 0.3
    kill -INT "$cap"
    wait "$cap" && ok || bad "capture --producer $1: $(cat "$WORK/capture-$1.err")"
    wait_for 10 slots_are 0 || bad "the $1 capture's slot outlived it"
}
started=$SECONDS
capture python "
SELECT qi_put('namespacegc/', '{\"marker_id\": 1, \"original_username\": \"olduser1\"}');
SELECT qi_put('namespacegc/', '{\"marker_id\": 2, \"original_username\": \"olduser2\"}');
SELECT qi_put('chunk_cleanup/', '{\"location\": \"local_us\", \"path\": \"uploads/u1\"}');
SELECT qi_put('dockerfilebuild/acme/web/', '{\"build_uuid\": \"b1\", \"pull_credentials\": null}', 3);"
capture go "
SELECT qi_put('namespacegc/', '{\"original_username\":\"go\\u003cuser3\\u003e\",\"marker_id\":3}');
SELECT qi_put('namespacegc/', '{\"original_username\":\"olduser4\",\"marker_id\":4}');
SELECT qi_put('chunk_cleanup/', '{\"path\":\"uploads/u2?a=1\\u0026b=2\",\"location\":\"local_us\"}');
SELECT qi_put('dockerfilebuild/acme/web/', '{\"build_uuid\":\"b2\"}', 3);"
cat "$WORK/jobs-python.jsonl" "$WORK/jobs-go.jsonl" >"$WORK/jobs.jsonl"

cat >"$WORK/suite.yaml" <<EOF
profile: $SRC/config/quay
targets:
  - {name: python, role: baseline, database: "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/sandbox_py", sandbox: true, effects: "127.0.0.1:$HOOKS_PY"}
  - {name: go, role: candidate, database: "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/sandbox_go", sandbox: true, effects: "127.0.0.1:$HOOKS_GO"}
EOF
run "$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/results.jsonl" --concurrency 1 \
    --job-timeout 2
expect_rc 0 "pmirror worker on jobs of both producers"
"$PY" - "$WORK/jobs.jsonl" "$WORK/results.jsonl" >"$WORK/results.out" 2>&1 <<'PY' && ok || bad "job results: $(cat "$WORK/results.out")"
import json, sys
jobs = [json.loads(l) for l in open(sys.argv[1])]
results = [json.loads(l) for l in open(sys.argv[2])]
assert len(jobs) == 8 and len(results) == 8, (len(jobs), len(results))
producers = [j.get("producer") for j in jobs]
assert producers == ["python"] * 4 + ["go"] * 4, producers
for r in results:
    p = r.get("producer")
    assert p in ("python", "go") and r["cohort"].get("producer") == p, ("the result keeps the producer", r)
    answers = {name: r["responses"][name] for name in ("python", "go")}
    for name, a in answers.items():
        assert a["outcome"] == "completed" and a["error"] is None, (p, "job consumed by", name, r["job"], a)
    assert answers["python"]["effects"] == answers["go"]["effects"], (p, r["job"], answers)
    if r["queue"] == "namespacegc":
        hooks = answers["python"]["effects"]["http"]
        assert len(hooks) == 1 and hooks[0]["body"]["namespace"] == r["job"]["body"]["original_username"], hooks
# the Go-style body kept its key order (its escapes are re-spelled by the replay's JSON encoder:
# the same string to any JSON parser)
go3 = [r for r in results if r["producer"] == "go" and r["queue"] == "namespacegc"][0]
assert list(go3["job"]["body"]) == ["original_username", "marker_id"], go3["job"]["body"]
assert go3["responses"]["python"]["effects"]["http"][0]["body"]["namespace"] == "go<user3>", go3
print("ok")
PY

run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "pmirror diff"
run "$PMIRROR" report -i "$WORK/diffs.jsonl" --out-dir "$WORK/report"
expect_rc 0 "pmirror report"
"$PY" - "$WORK/report/report.json" >"$WORK/report.out" 2>&1 <<'PY' && ok || bad "report: $(cat "$WORK/report.out")"
import json, sys
families = json.load(open(sys.argv[1]))["families"]
want = {"WORKER_NAMESPACEGCWORKER": 2, "WORKER_CHUNKCLEANUPWORKER": 1, "WORKER_BUILDER": 1}
assert set(families) == set(want), families.keys()
for name, n in want.items():
    cohorts = families[name]["cohorts"]
    got = {c["name"]: (c["total"], c["match"], c["mismatch"], c["error"]) for c in cohorts.get("producer", [])}
    assert got == {"python": (n, n, 0, 0), "go": (n, n, 0, 0)}, (name, "cohorts.producer", got)
    assert {"org", "repo", "user"} <= set(cohorts), cohorts
print("ok")
PY
grep -q '^| `WORKER_NAMESPACEGCWORKER` | `go` | 2 | 1.000 |' "$WORK/report/report.md" && ok ||
    bad "report.md lacks the go row of the jobs-by-producer table: $(cat "$WORK/report/report.md")"
grep -q '<th>producer</th>' "$WORK/report/report.html" && ok || bad "report.html has no producer cohort table"

[ -n "${PMIRROR_WRAPPER:-}" ] || [ $((SECONDS - started)) -le 30 ] && ok || bad "the test took $((SECONDS - started)) s"
finish
