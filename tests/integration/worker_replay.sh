# SPDX-License-Identifier: Apache-2.0
# worker_replay.sh — `pmirror worker` against a real PostgreSQL (pg.sh): jobs captured with
# `pmirror capture --queue` from one database (the "production" source) are replayed into two
# sandbox databases of the same cluster, each consumed by a test worker following Quay's claim
# protocol (queue_worker.py: a "python" flavour and a "go" one with seeded differences), then
# `pmirror diff` compares the job results:
#  - every job's outcome per target (completed, retried, dead, timeout), the jobs the worker
#    enqueued in its turn, its webhooks (to pmirror's effects sink) and the worker map's probes
#    as effects;
#  - the seeded differences are mismatches with the right paths (a follow-up job's field
#    renamed: $.queue[0].body.repository / .repo; a retry where python completes: status;
#    with --redeliver, a webhook sent again on a duplicate: $.redelivery.http[0]; the build
#    queue's burst taken highest id first: $.taken_before), and everything else matches;
#  - a connection lost in the middle: that target's answer is error "database" naming the
#    database (no password), the run goes on; records of another kind, broken job records and
#    runs without a snapshot are counted;
#  - errors: a worker target without sandbox: true, a database nobody answers at, the capture's
#    source as a target: exit 2, one line naming the target, never the password.
. "$(dirname "$0")/lib.sh"
. "$HERE/pg.sh"
PY=/usr/bin/python3
"$PY" -c 'import psycopg2' 2>/dev/null || { echo "FAIL: /usr/bin/python3 has no psycopg2 (Debian python3-psycopg2)"; exit 1; }

pg_start
pg_queue_table
pg_role capture 'capture-secret-123' REPLICATION
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d "$db" "$@"; }
pg_sql -c "CREATE ROLE replayer LOGIN PASSWORD 'replayer-secret-321'" >/dev/null
for db in sandbox_py sandbox_go; do
    psql_db postgres -c "CREATE DATABASE $db" >/dev/null || pg_fail "cannot create $db"
    psql_db "$db" -f "$HERE/quay_queue.sql" >/dev/null || pg_fail "cannot create $db's queueitem"
    psql_db "$db" >/dev/null <<'SQL' || pg_fail "cannot seed $db"
CREATE TABLE deletednamespace (id integer PRIMARY KEY);
CREATE TABLE deletedrepository (id integer PRIMARY KEY);
CREATE TABLE repositorybuild (uuid text PRIMARY KEY, phase text NOT NULL);
INSERT INTO deletednamespace VALUES (1), (2);
INSERT INTO deletedrepository VALUES (1), (2);
INSERT INTO repositorybuild VALUES ('b1', 'waiting'), ('b2', 'waiting'), ('b3', 'waiting');
GRANT SELECT, INSERT, UPDATE, DELETE ON queueitem TO replayer;
GRANT USAGE ON SEQUENCE queueitem_id_seq TO replayer;
GRANT SELECT ON deletednamespace, deletedrepository, repositorybuild TO replayer;
SQL
done
sandbox_dsn() { echo "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/$1"; }
pg_key_file "$WORK/key"

# ---- the two worker deployments, their outbound HTTP pointed at pmirror's effects sinks -----
pg_test_workers

# ---- the jobs: captured from the source, as a user would ---------------------------------
started=$SECONDS
"$PMIRROR" capture --queue "$(pg_dsn capture 'capture-secret-123')" --mode logical --poll-ms 50 \
    --outcome-wait 0.2 --duration 2 -o "$WORK/jobs.jsonl" --key "$WORK/key" -q 2>"$WORK/capture.err" &
cap=$!
pids+=("$cap")
wait_for 15 slots_are 1 || bad "the capture's slot did not appear: $(cat "$WORK/capture.err")"
pg_sql >"$WORK/producer.out" 2>&1 <<'SQL' || bad "the producer failed: $(cat "$WORK/producer.out")"
SELECT qi_put('namespacegc/', '{"marker_id": 1, "original_username": "olduser1"}');
SELECT qi_put('namespacegc/', '{"marker_id": 2, "original_username": "olduser2"}');
SELECT qi_put('repositorygc/acme/', '{"marker_id": 1, "original_name": "webrepo"}');
SELECT qi_put('repositorygc/acme/', '{"marker_id": 2, "original_name": "apirepo"}');
SELECT qi_put('exportactionlogs/acme/', '{"export_id": "e1", "namespace_name": "acme", "repository_name": "web"}', 3);
SELECT qi_put('exportactionlogs/acme/', '{"export_id": "e2", "namespace_name": "acme", "repository_name": "api"}', 1);
SELECT qi_put('chunk_cleanup/', '{"location": "local_us", "path": "uploads/u1"}');
SELECT qi_put('chunk_cleanup/', '{"location": "local_us", "path": "uploads/u2"}');
SELECT qi_put('dockerfilebuild/acme/web/', '{"build_uuid": "b1", "pull_credentials": null}', 3);
SELECT qi_put('dockerfilebuild/acme/web/', '{"build_uuid": "b2", "pull_credentials": null}', 3);
SELECT qi_put('dockerfilebuild/acme/web/', '{"build_uuid": "b3", "pull_credentials": null}', 3);
SELECT qi_put('secscanv4/', '{"notification_id": "s1"}');
SQL
wait "$cap" && ok || bad "capture --queue failed: $(cat "$WORK/capture.err")"
[ "$(grep -c '"kind":"job"' "$WORK/jobs.jsonl")" -eq 12 ] && ok || bad "want 12 job records: $(cat "$WORK/jobs.jsonl")"

cat >"$WORK/suite.yaml" <<EOF
profile: $SRC/config/quay
targets:
  - {name: python, role: baseline, database: "$(sandbox_dsn sandbox_py)", sandbox: true, effects: "127.0.0.1:$HOOKS_PY"}
  - {name: go, role: candidate, database: "$(sandbox_dsn sandbox_go)", sandbox: true, effects: "127.0.0.1:$HOOKS_GO"}
EOF

# outcome JOBS_KEY TARGET: the outcome of the job whose body has KEY (a unique value)
outcome() { /usr/bin/python3 - "$WORK/results.jsonl" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if sys.argv[2] in json.dumps(r["job"]["body"]):
        print(r["responses"][sys.argv[3]]["outcome"])
PY
}

# ---- replay, one job at a time: effects attributed exactly ---------------------------------
t0=$SECONDS
run "$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/results.jsonl" --concurrency 1 \
    --job-timeout 0.5
expect_rc 0 "pmirror worker"
expect_err "12 jobs replayed of 12 records" "the summary"
[ "$(wc -l <"$WORK/results.jsonl")" -eq 12 ] && ok || bad "want 12 job results"
for want in "olduser1 completed completed" "olduser2 completed completed" "webrepo completed completed" \
    "apirepo completed completed" '"e1" completed retried' '"e2" completed dead' 'u1 completed completed' \
    '"b1" completed completed' '"b3" completed completed' '"s1" timeout timeout'; do
    set -- $want
    got="$(outcome "$1" python) $(outcome "$1" go)"
    [ "$got" = "$2 $3" ] && ok || bad "job $1: outcomes (python go) $got, want $2 $3"
done
/usr/bin/python3 - "$WORK/results.jsonl" >"$WORK/check.out" 2>&1 <<'PY' && ok || bad "job results: $(cat "$WORK/check.out")"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert r["v"] == 1 and r["kind"] == "job", r
    for name, role in (("python", "baseline"), ("go", "candidate")):
        a = r["responses"][name]
        assert a["role"] == role and a["error"] is None and isinstance(a["latency_us"], int), a
        fx = a["effects"]
        body = json.dumps(r["job"]["body"])
        if r["queue"] == "repositorygc":
            assert len(fx["queue"]) == 1, fx
            q = fx["queue"][0]
            assert q["queue_name"] == "notification/acme/repo_deleted/" and q["retries_remaining"] == 5, q
            key = "repo" if name == "go" else "repository"
            assert q["body"][key] == "acme/" + ("webrepo" if "webrepo" in body else "apirepo"), q
            assert fx["db"] == {"marker": [{"markers": "0"}]}, fx
        else:
            assert fx["queue"] == [], (r["queue"], fx)
        if r["queue"] == "namespacegc":
            assert fx["db"] == {"marker": [{"markers": "0"}]}, fx
            assert len(fx["http"]) == 1, fx
            h = fx["http"][0]
            assert h["method"] == "POST" and h["target"] == "/hooks/namespace", h
            assert h["body"] == {"event": "namespace_deleted", "namespace": "olduser1" if "olduser1" in body
                                 else "olduser2"}, h
            assert ["Content-Type", "application/json"] in h["headers"], h
            assert not any(n.lower() == "host" for n, _ in h["headers"]), h
        else:
            assert fx["http"] == [], (r["queue"], fx)
        if r["queue"] == "dockerfilebuild":
            assert fx["db"] == {"build_phase": [{"phase": "complete"}]}, fx
print("ok")
PY
# time bounds hold unwrapped (valgrind's label runs this slower)
[ -n "${PMIRROR_WRAPPER:-}" ] || [ $((SECONDS - t0)) -le 15 ] && ok || bad "the replay of 12 jobs took $((SECONDS - t0)) s"
# nothing of ours is left in the sandboxes: completed rows are gone, the others deleted
for db in sandbox_py sandbox_go; do
    left=$(psql_db "$db" -tA -c "SELECT count(*) FROM queueitem WHERE queue_name NOT LIKE 'notification/%'")
    [ "$left" = 0 ] && ok || bad "$db: $left replayed rows left in queueitem"
done

# ---- diff: the seeded differences, and only those ------------------------------------------
run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs.jsonl"
expect_rc 0 "pmirror diff on job results"
/usr/bin/python3 - "$WORK/diffs.jsonl" >"$WORK/diff.out" 2>&1 <<'PY' && ok || bad "diff: $(cat "$WORK/diff.out")"
import json, sys
verdicts = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    shapes = sorted((x["where"], x["path"], x["kind"], json.dumps(x["baseline"]), json.dumps(x["candidate"]))
                    for x in d["differences"])
    verdicts.setdefault(d["family"], []).append((d["verdict"], shapes))
def only(family, verdict, shapes=None):
    for v, s in verdicts.pop(family):
        assert v == verdict, (family, v, s)
        if shapes is not None:
            assert shapes(s), (family, s)
only("WORKER_REPOSITORYGCWORKER", "mismatch", lambda s: [(w, p, k) for w, p, k, _, _ in s] ==
     [("body", "$.queue[0].body.repo", "extra"), ("body", "$.queue[0].body.repository", "missing")])
ex = sorted(s[0][4] for v, s in verdicts.pop("WORKER_EXPORTACTIONLOGSWORKER"))
assert ex == ['"dead"', '"retried"'], ex
for family in ("WORKER_NAMESPACEGCWORKER", "WORKER_CHUNKCLEANUPWORKER", "WORKER_BUILDER",
               "WORKER_SECURITYSCANNINGNOTIFICATIONWORKER"):
    only(family, "match")
assert not verdicts, verdicts
print("ok")
PY
grep -q '"where":"status","path":"","kind":"value","baseline":"completed","candidate":"retried"' "$WORK/diffs.jsonl" &&
    ok || bad "the retry is not a status difference: $(grep EXPORT "$WORK/diffs.jsonl")"

# ---- an ordered queue: consecutive build jobs inserted together, the order they are taken in --
# The three dockerfilebuild jobs are one burst: in the queue at once (ids ascending in record
# order), so the worker chooses; each build's effects.taken_before counts the lower ids of its
# burst still unclaimed when it was taken. python takes the lowest id (0, 0, 0); go the highest
# (b3 while b1 and b2 wait, then b2 while b1 waits).
grep '"queue":"dockerfilebuild"' "$WORK/jobs.jsonl" >"$WORK/builds.jsonl"
run "$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/builds.jsonl" -o "$WORK/build-results.jsonl" \
    --concurrency 4 --job-timeout 3
expect_rc 0 "pmirror worker on an ordered burst"
run "$PMIRROR" diff -i "$WORK/build-results.jsonl" -o "$WORK/build-diffs.jsonl"
expect_rc 0 "pmirror diff on an ordered burst"
/usr/bin/python3 - "$WORK/build-results.jsonl" "$WORK/build-diffs.jsonl" "${PMIRROR_WRAPPER:-}" >"$WORK/build.out" 2>&1 <<'PY' && ok || bad "ordered burst: $(cat "$WORK/build.out")"
import json, sys
wrapped = bool(sys.argv[3])  # under valgrind a look may miss b2's 100 ms: b3's witness still holds
build = {}
taken = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    build[r["id"]] = b = r["job"]["body"]["build_uuid"]
    for name in ("python", "go"):
        a = r["responses"][name]
        assert a["outcome"] == "completed" and a["error"] is None, (b, name, a)
        assert a["effects"]["db"] == {"build_phase": [{"phase": "complete"}]}, (b, name, a)
        taken[b, name] = a["effects"].get("taken_before")
assert sorted(build.values()) == ["b1", "b2", "b3"], build
assert [taken[b, "python"] for b in ("b1", "b2", "b3")] == [0, 0, 0], taken
assert taken["b1", "go"] == 0 and taken["b3", "go"] >= 1 and (wrapped or taken["b2", "go"] >= 1), taken
for line in open(sys.argv[2]):
    d = json.loads(line)
    b = build[d["id"]]
    shapes = [(x["where"], x["path"], x["kind"], x["baseline"]) for x in d["differences"]]
    if taken[b, "go"] == 0:
        assert d["verdict"] == "match", d
    else:
        assert d["verdict"] == "mismatch" and shapes == [("body", "$.taken_before", "value", 0)], d
print("ok")
PY

# ---- duplicate delivery: the second delivery's effects compared too ------------------------
for db in sandbox_py sandbox_go; do
    psql_db "$db" -c "INSERT INTO deletednamespace VALUES (1), (2) ON CONFLICT DO NOTHING" >/dev/null
done
grep -E '"queue":"(namespacegc|chunk_cleanup)"' "$WORK/jobs.jsonl" >"$WORK/dup.jsonl"
run "$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/dup.jsonl" -o "$WORK/dup-results.jsonl" --redeliver \
    --concurrency 1 --job-timeout 2
expect_rc 0 "pmirror worker --redeliver"
run "$PMIRROR" diff -i "$WORK/dup-results.jsonl" -o "$WORK/dup-diffs.jsonl"
/usr/bin/python3 - "$WORK/dup-results.jsonl" "$WORK/dup-diffs.jsonl" >"$WORK/dup.out" 2>&1 <<'PY' && ok || bad "--redeliver: $(cat "$WORK/dup.out")"
import json, sys
results = [json.loads(l) for l in open(sys.argv[1])]
assert len(results) == 4, results
for r in results:
    for name in ("python", "go"):
        a = r["responses"][name]
        assert a["outcome"] == "completed" and a["effects"]["redelivery"]["outcome"] == "completed", a
        if r["queue"] == "namespacegc":
            assert len(a["effects"]["http"]) == 1, a
            assert len(a["effects"]["redelivery"]["http"]) == (1 if name == "go" else 0), a
for line in open(sys.argv[2]):
    d = json.loads(line)
    if d["family"] == "WORKER_NAMESPACEGCWORKER":
        shapes = [(x["where"], x["path"], x["kind"]) for x in d["differences"]]
        assert d["verdict"] == "mismatch" and shapes == [("body", "$.redelivery.http[0]", "extra")], d
    else:
        assert d["verdict"] == "match", d
print("ok")
PY

# report and gate: the worker families with their switches and the lag budget
run "$PMIRROR" report -i "$WORK/diffs.jsonl" --out-dir "$WORK/report"
expect_rc 0 "pmirror report on job diffs"
/usr/bin/python3 - "$WORK/report/report.json" >"$WORK/report.out" 2>&1 <<'PY' && ok || bad "report: $(cat "$WORK/report.out")"
import json, sys
f = json.load(open(sys.argv[1]))["families"]
assert set(f) == {"WORKER_NAMESPACEGCWORKER", "WORKER_REPOSITORYGCWORKER", "WORKER_EXPORTACTIONLOGSWORKER",
                  "WORKER_CHUNKCLEANUPWORKER", "WORKER_BUILDER", "WORKER_SECURITYSCANNINGNOTIFICATIONWORKER"}, f.keys()
r = f["WORKER_REPOSITORYGCWORKER"]
assert r["switch"] == "WORKER_OWNER_REPOSITORYGCWORKER" and r["mismatch"] == 2 and r["match"] == 0, r
assert "PB-WORKER-LAG" in json.dumps(f["WORKER_NAMESPACEGCWORKER"]), f["WORKER_NAMESPACEGCWORKER"]
assert set(f["WORKER_BUILDER"]["latency"]) == {"python", "go"}, f["WORKER_BUILDER"]
print("ok")
PY
run "$PMIRROR" gate "$WORK/report/report.json"
expect_rc 1 "gate: too few jobs to promote a worker family"

# `run` on job records: worker, diff, report and gate in one process, the same verdicts
for db in sandbox_py sandbox_go; do # the sandboxes as the first replay found them
    psql_db "$db" -c "INSERT INTO deletednamespace VALUES (1), (2) ON CONFLICT DO NOTHING;
        INSERT INTO deletedrepository VALUES (1), (2) ON CONFLICT DO NOTHING;
        UPDATE repositorybuild SET phase = 'waiting'" >/dev/null
done
sed 's/sandbox: true/sandbox: true, timeout: 0.5/' "$WORK/suite.yaml" >"$WORK/suite-run.yaml"
run "$PMIRROR" run -c "$WORK/suite-run.yaml" -i "$WORK/jobs.jsonl" --out-dir "$WORK/run" --keep-results --concurrency 1
expect_rc 1 "pmirror run on job records (gate: too few jobs)"
/usr/bin/python3 - "$WORK/report/report.json" "$WORK/run/report.json" >"$WORK/run.out" 2>&1 <<'PY' && ok || bad "run: $(cat "$WORK/run.out")"
import json, sys
a, b = (json.load(open(p))["families"] for p in sys.argv[1:])
verdicts = lambda f: {k: (v["match"], v["mismatch"], v["error"]) for k, v in f.items()}
assert verdicts(a) == verdicts(b), (verdicts(a), verdicts(b))
print("ok")
PY
[ "$("$PMIRROR" cat "$WORK/run/results.jsonl.gz" | wc -l)" = 12 ] && ok || bad "run --keep-results: want 12 job results"

# ---- several jobs in flight: outcomes stay exact -------------------------------------------
run "$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/results.jsonl" --job-timeout 0.5
expect_rc 0 "pmirror worker --concurrency 4 (default)"
for want in "olduser1 completed completed" '"e1" completed retried' '"e2" completed dead' \
    '"b2" completed completed' '"s1" timeout timeout'; do
    set -- $want
    got="$(outcome "$1" python) $(outcome "$1" go)"
    [ "$got" = "$2 $3" ] && ok || bad "concurrency 4, job $1: outcomes (python go) $got, want $2 $3"
done
# effects that overlapping jobs make ambiguous are an error, never a match: the renamed field is
# a mismatch or an error in every repositorygc job
run "$PMIRROR" diff -i "$WORK/results.jsonl" -o "$WORK/diffs4.jsonl"
grep '"family":"WORKER_REPOSITORYGCWORKER"' "$WORK/diffs4.jsonl" | grep -q '"verdict":"match"' &&
    bad "concurrency 4: a repositorygc job matched: $(grep REPOSITORYGC "$WORK/diffs4.jsonl")" || ok

# ---- a connection lost in the middle: an error for that target's job, the run goes on -------
{
    grep '"s1"' "$WORK/jobs.jsonl"
    echo '{"v":1,"id":"r1","kind":"run","program":"gcworker"}'
    echo '{"v":1,"id":"n1","kind":"note"}'
    echo '{"v":1,"id":"bad1","kind":"job","job":{"body":{}}}'
} >"$WORK/lost.jsonl"
"$PMIRROR" worker -c "$WORK/suite.yaml" -i "$WORK/lost.jsonl" -o "$WORK/lost-results.jsonl" --job-timeout 3 \
    2>"$WORK/lost.err" &
lost_pid=$!
pids+=("$lost_pid")
s1_enqueued() { [ "$(psql_db sandbox_go -tA -c "SELECT count(*) FROM queueitem WHERE body LIKE '%\"s1\"%'")" = 1 ]; }
wait_for 20 s1_enqueued || bad "the job did not reach sandbox_go"
psql_db postgres -tA -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'pmirror worker' AND datname = 'sandbox_go'" >/dev/null
wait "$lost_pid" && ok || bad "pmirror worker with a connection lost: $(cat "$WORK/lost.err")"
grep -q '"go":{"role":"candidate","outcome":null,"effects":{"queue":\[\],"http":\[\]},"latency_us":null,"error":"database","message":"lost the connection to postgresql://replayer@127.0.0.1:'"$PG_PORT"'/sandbox_go' \
    "$WORK/lost-results.jsonl" && ok || bad "the lost connection is not the go answer's error: $(cat "$WORK/lost-results.jsonl")"
grep -q '"python":{"role":"baseline","outcome":"timeout"' "$WORK/lost-results.jsonl" && ok ||
    bad "python's answer should be a timeout: $(cat "$WORK/lost-results.jsonl")"
grep -q "replayer-secret" "$WORK/lost-results.jsonl" "$WORK/lost.err" && bad "a password is in the output" || ok
grep -q "skipped: 1 records neither of kind job nor run, 2 job records without a queue_name or a body or runs" \
    "$WORK/lost.err" && ok || bad "the summary should count the skipped records: $(cat "$WORK/lost.err")"
run "$PMIRROR" diff -i "$WORK/lost-results.jsonl" -o "$WORK/lost-diffs.jsonl"
grep -q '"verdict":"error"' "$WORK/lost-diffs.jsonl" && ok || bad "a lost connection is a diff error: $(cat "$WORK/lost-diffs.jsonl")"

# ---- errors ------------------------------------------------------------------------------
cat >"$WORK/nosandbox.yaml" <<EOF
targets:
  - {name: python, role: baseline, database: "$(sandbox_dsn sandbox_py)", sandbox: true}
  - {name: go, role: candidate, database: "$(sandbox_dsn sandbox_go)"}
EOF
run "$PMIRROR" worker -c "$WORK/nosandbox.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/x.jsonl"
expect_rc 2 "a target without sandbox: true"
expect_one_err_line "a target without sandbox: true"
expect_err "nosandbox.yaml:3:" "the error names file:line"
expect_err "target go: a worker target's database must be marked sandbox: true" "the error says why"
DEAD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/dead.yaml" <<EOF
targets:
  - {name: python, role: baseline, database: "$(sandbox_dsn sandbox_py)", sandbox: true}
  - {name: go, role: candidate, database: "postgresql://replayer:dead-secret-999@127.0.0.1:$DEAD_PORT/quay", sandbox: true}
EOF
run "$PMIRROR" worker -c "$WORK/dead.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/x.jsonl"
expect_rc 2 "a database nobody answers at"
expect_one_err_line "a dead database"
expect_err "target go: cannot connect to postgresql://replayer@127.0.0.1:$DEAD_PORT/quay" "the error names the target"
printf '%s' "$err" | grep -q "dead-secret" && bad "the password is in the error: $err" || ok
# the capture's source as a target: refused (the job records say where they came from)
grep -q "\"source\":\"postgresql://capture@127.0.0.1:$PG_PORT/quay\"" "$WORK/jobs.jsonl" && ok ||
    bad "job records should name their source: $(head -1 "$WORK/jobs.jsonl")"
cat >"$WORK/source.yaml" <<EOF
targets:
  - {name: python, role: baseline, database: "$(sandbox_dsn sandbox_py)", sandbox: true}
  - {name: go, role: candidate, database: "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/quay", sandbox: true}
EOF
pg_sql -c "GRANT SELECT, INSERT, DELETE ON queueitem TO replayer" >/dev/null
before=$(pg_sql -tA -c "SELECT count(*), max(id) FROM queueitem")
run "$PMIRROR" worker -c "$WORK/source.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/x.jsonl"
expect_rc 2 "the capture source as a target"
expect_one_err_line "the capture source as a target"
expect_err "target go: postgresql://replayer@127.0.0.1:$PG_PORT/quay is the database job .* was captured from" \
    "the error names the target and the source"
[ "$(pg_sql -tA -c "SELECT count(*), max(id) FROM queueitem")" = "$before" ] && ok || bad "a job was replayed into the source"
run "$PMIRROR" replay -c "$WORK/suite.yaml" -i "$WORK/jobs.jsonl" -o "$WORK/x.jsonl"
expect_rc 2 "replay with worker targets"
expect_err "worker target" "replay says the suite is a worker suite"

[ -n "${PMIRROR_WRAPPER:-}" ] || [ $((SECONDS - started)) -le 60 ] && ok || bad "the test took $((SECONDS - started)) s"
finish
