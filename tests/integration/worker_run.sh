# SPDX-License-Identifier: Apache-2.0
# worker_run.sh — scheduled programs (`pmirror worker --run PROGRAM@SNAPSHOT`, records of kind
# "run") against a real PostgreSQL (pg.sh): one snapshot database (tags, manifests, blobs, a
# queue), copied per target with CREATE DATABASE ... TEMPLATE, a test garbage collector run
# once on each copy (gc_worker.py: "python", and "go" with a seeded difference: it also
# collects the tag that ended exactly at the cut-off), then diff, report and gate:
#  - each run's effects: the probes' rows deleted and inserted, the jobs it enqueued, its
#    webhook to the effects sink; the seeded difference is a mismatch with the right paths and
#    nothing else differs; WORKER_GCWORKER is a family with its switch, held;
#  - the copies are dropped and the snapshot is unchanged;
#  - a run record in -i is done in order among the jobs (a barrier), and `run` does it too;
#  - a failing run (exit 3) is outcome failed with effects.exit and its output as message; a
#    run past run_timeout is killed (timeout); a missing snapshot is error "snapshot"; a target
#    without run: is error "not_runnable"; --run of a program the map does not name: exit 2.
. "$(dirname "$0")/lib.sh"
. "$HERE/pg.sh"
PY=/usr/bin/python3
"$PY" -c 'import psycopg2' 2>/dev/null || { echo "FAIL: /usr/bin/python3 has no psycopg2 (Debian python3-psycopg2)"; exit 1; }

pg_start
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d "$db" "$@"; }
# replayer: what pmirror and the programs log in as; CREATEDB to copy the snapshot
psql_db postgres -c "CREATE ROLE replayer LOGIN CREATEDB PASSWORD 'replayer-secret-321'" >/dev/null ||
    pg_fail "cannot create the role"
for db in sandbox_py sandbox_go snap_gc; do
    psql_db postgres -c "CREATE DATABASE $db" >/dev/null || pg_fail "cannot create $db"
    psql_db "$db" -f "$HERE/quay_queue.sql" >/dev/null || pg_fail "cannot create $db's queueitem"
    psql_db "$db" -c "GRANT SELECT, INSERT, UPDATE, DELETE ON queueitem TO replayer;
                      GRANT USAGE ON SEQUENCE queueitem_id_seq TO replayer" >/dev/null || pg_fail "grants on $db"
done
# the snapshot: tags 1-2 ended long before the cut-off (1000 ms), tag 3 exactly at it, tag 4
# alive; manifests 10-13 each under one tag, 14 under none
psql_db snap_gc >/dev/null <<'SQL' || pg_fail "cannot seed the snapshot"
CREATE TABLE manifest (id integer PRIMARY KEY, repository_id integer, digest text);
CREATE TABLE tag (id integer PRIMARY KEY, name text, repository_id integer, manifest_id integer,
                  lifetime_end_ms bigint);
CREATE TABLE imagestorage (id integer PRIMARY KEY, uuid text, content_checksum text);
INSERT INTO manifest VALUES (10, 1, 'sha256:aa'), (11, 1, 'sha256:bb'), (12, 1, 'sha256:cc'),
                            (13, 1, 'sha256:dd'), (14, 1, 'sha256:ee');
INSERT INTO tag VALUES (1, 'old1', 1, 10, 100), (2, 'old2', 1, 11, 999), (3, 'edge', 1, 12, 1000),
                       (4, 'latest', 1, 13, NULL);
INSERT INTO imagestorage VALUES (1, 'u1', 'sha256:aa');
GRANT SELECT, DELETE ON manifest, tag TO replayer;
GRANT SELECT ON imagestorage TO replayer;
SQL
# any role with CREATEDB may copy a database marked as a template
psql_db postgres -c "ALTER DATABASE snap_gc IS_TEMPLATE true" >/dev/null || pg_fail "cannot mark the snapshot"
dsn() { echo "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/$1"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# suite TARGET_RUN_EXTRA_PY TARGET_RUN_EXTRA_GO [KEYS]: the two worker targets, each running
# gc_worker.py in its flavour (extra arguments appended), with their effects sinks
suite() {
    local extra_py=$1 extra_go=$2 keys=${3:-}
    cat <<EOF
profile: $SRC/config/quay
targets:
  - {name: python, role: baseline, database: "$(dsn sandbox_py)", effects: "127.0.0.1:$(free_port)", sandbox: true,
     run: ["$PY", "$HERE/gc_worker.py", "python"$extra_py] $keys}
  - {name: go, role: candidate, database: "$(dsn sandbox_go)", effects: "127.0.0.1:$(free_port)", sandbox: true,
     run: ["$PY", "$HERE/gc_worker.py", "go"$extra_go] $keys}
EOF
}
suite "" "" >"$WORK/suite.yaml"

# ---- one run, its effects ------------------------------------------------------------------
run "$PMIRROR" worker -c "$WORK/suite.yaml" --run gcworker@snap_gc -o "$WORK/results.jsonl"
expect_rc 0 "worker --run gcworker@snap_gc"
expect_err "1 scheduled runs" "the summary counts the run"
"$PY" - "$WORK/results.jsonl" >"$WORK/check.out" 2>&1 <<'PY' && ok || bad "the run's result: $(cat "$WORK/check.out")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1, recs
r = recs[0]
assert (r["kind"], r["program"], r["snapshot"]) == ("run", "gcworker", "snap_gc"), r
assert (r["family"], r["switch"]) == ("WORKER_GCWORKER", "WORKER_OWNER_GCWORKER"), r
py, go = r["responses"]["python"], r["responses"]["go"]
for side in (py, go):
    assert side["outcome"] == "completed" and side["error"] is None, side
    assert side["latency_us"] > 0, side
ids = lambda rows: [int(x["id"]) for x in rows]
assert ids(py["effects"]["db"]["tags"]["deleted"]) == [1, 2], py["effects"]["db"]
assert ids(go["effects"]["db"]["tags"]["deleted"]) == [1, 2, 3], go["effects"]["db"]
assert py["effects"]["db"]["tags"]["inserted"] == [] == go["effects"]["db"]["tags"]["inserted"]
assert ids(py["effects"]["db"]["manifests"]["deleted"]) == [10, 11, 14], py["effects"]["db"]
assert py["effects"]["db"]["blobs"] == {"deleted": [], "inserted": []}, py["effects"]["db"]
assert [q["body"]["path"] for q in py["effects"]["queue"]] == ["sha256:aa", "sha256:bb", "sha256:ee"], py["effects"]
assert py["effects"]["queue"][0]["queue_name"] == "chunk_cleanup/", py["effects"]
hook = py["effects"]["http"]
assert len(hook) == 1 and hook[0]["method"] == "POST" and hook[0]["target"] == "/hooks/gc", hook
assert hook[0]["body"] == {"event": "gc_done", "tags": 2, "manifests": ["sha256:aa", "sha256:bb", "sha256:ee"]}, hook
PY
copies=$(psql_db postgres -tA -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'pmirror_run_%'")
[ "$copies" = 0 ] && ok || bad "the snapshot's copies were not dropped: $copies left"
tags=$(psql_db snap_gc -tA -c "SELECT count(*) FROM tag")
[ "$tags" = 4 ] && ok || bad "the snapshot itself changed: $tags tags"

# ---- diff, report, gate: the seeded difference and only it ---------------------------------
run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "diff on run results"
"$PY" - "$WORK/diffs.jsonl" >"$WORK/diff.out" 2>&1 <<'PY' && ok || bad "diff: $(cat "$WORK/diff.out")"
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
assert len(d) == 1 and d[0]["verdict"] == "mismatch", d
paths = sorted((x["path"], x["kind"]) for x in d[0]["differences"])
want = [("$.db.manifests.deleted[2].digest", "value"), ("$.db.manifests.deleted[2].id", "value"),
        ("$.db.manifests.deleted[3]", "extra"),
        ("$.db.tags.deleted[2]", "extra"), ("$.http[0].body.manifests[2]", "value"),
        ("$.http[0].body.manifests[3]", "extra"), ("$.http[0].body.tags", "value"),
        ("$.queue[2].body.path", "value"), ("$.queue[3]", "extra")]
assert paths == want, paths
PY
run "$PMIRROR" report -i "$WORK/diffs.jsonl" --out-dir "$WORK/report"
expect_rc 0 "report on run diffs"
run "$PMIRROR" gate "$WORK/report/report.json"
expect_rc 1 "the gate holds the collector back"
"$PY" - "$WORK/report/report.json" >"$WORK/rep.out" 2>&1 <<'PY' && ok || bad "report: $(cat "$WORK/rep.out")"
import json, sys
f = json.load(open(sys.argv[1]))["families"]["WORKER_GCWORKER"]
assert f["switch"] == "WORKER_OWNER_GCWORKER" and f["mismatch"] == 1, f
assert f["decision"] in ("hold", "insufficient"), f
PY

# ---- a run record among jobs: a barrier, in order; and `run` ---------------------------------
"$PY" - "$WORK/results.jsonl" "$WORK/mixed.jsonl" <<'PY' || bad "cannot write the mixed input"
import json, sys
run = json.loads(open(sys.argv[1]).readline())
del run["responses"]
job = {"v": 1, "id": "job-1", "ts": run["ts"], "kind": "job", "queue": "secscanv4", "queue_name": "secscanv4/",
       "family": "WORKER_SECURITYSCANNINGNOTIFICATIONWORKER", "capability": "secscanv4",
       "switch": "WORKER_OWNER_SECURITYSCANNINGNOTIFICATIONWORKER", "cohort": {},
       "job": {"body": {"notification_id": "n1"}, "retries_remaining": 5, "ordered": False}}
with open(sys.argv[2], "w") as out:
    for rec in (job, run, dict(job, id="job-2")):
        out.write(json.dumps(rec) + "\n")
PY
# nobody consumes the secscanv4 jobs here: they time out (after 0.5 s), which is fine for ordering
suite "" "" ", timeout: 0.5" >"$WORK/suite-jobs.yaml"
run "$PMIRROR" worker -c "$WORK/suite-jobs.yaml" -i "$WORK/mixed.jsonl" -o "$WORK/mixed-results.jsonl"
expect_rc 0 "worker with a run record among jobs"
ids=$("$PY" -c 'import json, sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1])))' \
    "$WORK/mixed-results.jsonl")
[ "$ids" = "job-1 run-1 job-2" ] && ok || bad "a run is a barrier between jobs: $ids"
run "$PMIRROR" run -c "$WORK/suite-jobs.yaml" -i "$WORK/mixed.jsonl" --out-dir "$WORK/run-out"
[ "$rc" -le 1 ] && ok || bad "run on records with a run: exit $rc: $err"
grep -q '"WORKER_GCWORKER"' "$WORK/run-out/report.json" 2>/dev/null && ok ||
    bad "run's report lacks WORKER_GCWORKER: $err"

# ---- runs that fail, time out, cannot be made ------------------------------------------------
suite ', "--exit", "3"' "" >"$WORK/suite-fail.yaml"
run "$PMIRROR" worker -c "$WORK/suite-fail.yaml" --run gcworker@snap_gc -o "$WORK/fail.jsonl"
expect_rc 0 "a failing run is a result, not a failure of pmirror"
"$PY" - "$WORK/fail.jsonl" >"$WORK/fail.out" 2>&1 <<'PY' && ok || bad "failed run: $(cat "$WORK/fail.out")"
import json, sys
py = json.loads(open(sys.argv[1]).readline())["responses"]["python"]
assert py["outcome"] == "failed" and py["effects"]["exit"] == 3, py
assert "exited with 3" in py["message"] and "exiting with 3" in py["message"], py["message"]
PY
# the sleep is unique to this test run, so looking for its processes finds no other test's
SLEEP=30.$$
suite ', "--sleep", "'$SLEEP'"' ', "--sleep", "'$SLEEP'"' ', run_timeout: 1' >"$WORK/suite-slow.yaml"
started=$SECONDS
run "$PMIRROR" worker -c "$WORK/suite-slow.yaml" --run gcworker@snap_gc -o "$WORK/slow.jsonl"
[ $((SECONDS - started)) -lt 15 ] && ok || bad "run_timeout 1 s took $((SECONDS - started)) s"
grep -c '"outcome":"timeout"' "$WORK/slow.jsonl" | grep -q 1 && ok || bad "a slow run is a timeout: $(cat "$WORK/slow.jsonl")"
[ "$(grep -o '"outcome":"timeout"' "$WORK/slow.jsonl" | wc -l)" = 2 ] && ok || bad "both sides time out: $(cat "$WORK/slow.jsonl")"
pgrep -f "gc_worker.py .*--sleep $SLEEP" >/dev/null && bad "a timed-out run was left running" || ok
# SIGINT during a run: the programs are stopped (SIGTERM, then SIGKILL), the result written
suite ', "--sleep", "'$SLEEP'"' ', "--sleep", "'$SLEEP'"' ', run_timeout: 60' >"$WORK/suite-long.yaml"
"$PMIRROR" worker -c "$WORK/suite-long.yaml" --run gcworker@snap_gc -o "$WORK/int.jsonl" 2>"$WORK/int.err" &
wpid=$!
pids+=("$wpid")
wait_for 15 pgrep -f "gc_worker.py .*--sleep $SLEEP" >/dev/null || bad "the long run did not start: $(cat "$WORK/int.err")"
started_int=$SECONDS
kill -INT "$wpid"
wait "$wpid" && ok || bad "SIGINT during a run: exit $?: $(cat "$WORK/int.err")"
[ $((SECONDS - started_int)) -lt 10 ] && ok || bad "SIGINT during a run took $((SECONDS - started_int)) s"
[ "$(grep -o '"error":"interrupted"' "$WORK/int.jsonl" | wc -l)" = 2 ] && ok || bad "interrupted run: $(cat "$WORK/int.jsonl")"
pgrep -f "gc_worker.py .*--sleep $SLEEP" >/dev/null && bad "an interrupted run was left running" || ok
copies=$(psql_db postgres -tA -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'pmirror_run_%'")
[ "$copies" = 0 ] && ok || bad "an interrupted run's copies were not dropped: $copies"

run "$PMIRROR" worker -c "$WORK/suite.yaml" --run gcworker@no_such_snapshot -o "$WORK/nosnap.jsonl"
expect_rc 0 "a missing snapshot is an error in the result"
grep -q '"error":"snapshot"' "$WORK/nosnap.jsonl" && grep -q 'no_such_snapshot' "$WORK/nosnap.jsonl" && ok ||
    bad "a missing snapshot: $(cat "$WORK/nosnap.jsonl")"
grep -q 'replayer-secret' "$WORK/nosnap.jsonl" && bad "a password in a result" || ok

"$PY" - "$WORK/suite.yaml" "$WORK/suite-norun.yaml" <<'PY' || bad "cannot write the suite without run"
import sys
text = open(sys.argv[1]).read().split("\n")
out = []
for i, line in enumerate(text):
    if '"go"]' in line:  # the go target's run line: dropped, its entry closed on the line before
        out[-1] = out[-1].rstrip().rstrip(",") + "}"
        continue
    out.append(line)
open(sys.argv[2], "w").write("\n".join(out))
PY
run "$PMIRROR" worker -c "$WORK/suite-norun.yaml" --run gcworker@snap_gc -o "$WORK/norun.jsonl"
expect_rc 0 "a target without run:"
grep -q '"error":"not_runnable"' "$WORK/norun.jsonl" && ok || bad "a target without run: $(cat "$WORK/norun.jsonl") $err"

sed 's|"go"\]|"go"], run_timeout: 30|; s|run: \["'"$PY"'", "'"$HERE"'/gc_worker.py", "go"|run: ["/nonexistent/quay-worker"|' \
    "$WORK/suite.yaml" >"$WORK/suite-nobin.yaml"
run "$PMIRROR" worker -c "$WORK/suite-nobin.yaml" --run gcworker@snap_gc -o "$WORK/nobin.jsonl"
expect_rc 0 "a program that does not exist"
grep -q '"error":"spawn","message":"cannot start the run: /nonexistent/quay-worker: No such file or directory"' \
    "$WORK/nobin.jsonl" && ok || bad "a missing program: $(cat "$WORK/nobin.jsonl") $err"

run "$PMIRROR" worker -c "$WORK/suite.yaml" --run nosuchworker@snap_gc -o "$WORK/x.jsonl"
expect_rc 2 "--run of a program the map does not name"
expect_err "nosuchworker is not a scheduled program" "the error names the program"
run "$PMIRROR" worker -c "$WORK/suite.yaml" --run gcworker -o "$WORK/x.jsonl"
expect_rc 2 "--run without @SNAPSHOT"
expect_err "PROGRAM@SNAPSHOT" "the error says the form"
finish
