# SPDX-License-Identifier: Apache-2.0
# queue_capture.sh — `pmirror capture --queue` against a real PostgreSQL (pg.sh) with Quay's
# queueitem table, jobs enqueued, claimed, completed and retried the way data/queue.py does it
# (quay_queue.sql):
#  - logical decoding: every job, also those completed 50 ms after enqueue and those inserted
#    and deleted in one transaction, with the right outcome (completed, retried, dead, none),
#    the pinned keys, secrets redacted, --queue-name, a temporary slot gone at exit; and the
#    capture changed nothing (its role may only SELECT; rows and their xmin are as they were);
#  - polling (auto mode with a role without REPLICATION): the ids it could not see are counted
#    exactly as gaps, a row committed late is kept, not counted;
#  - producer (mixed mode): --producer stamps every record (producer and cohort.producer); a
#    map's producer: template wins where the body names one, a value that is no producer name
#    is counted and the flag's written; a bad --producer or template is refused;
#  - errors: one line naming the source, never its password, exit 2; a connection lost in the
#    middle exits 2 with the jobs so far in a whole file.
. "$(dirname "$0")/lib.sh"
. "$HERE/pg.sh"

pg_start
pg_queue_table
pg_role capture 'capture-secret-123' REPLICATION
pg_role poller 'poller-secret-456'
pg_sql -c "GRANT SELECT ON SEQUENCE queueitem_id_seq TO poller" >/dev/null # exact gaps from the first poll
pg_role poller2 'poller2-secret-654' # without the sequence: the first stretch may predate the start
pg_role nobody 'nobody-secret-789' NOSELECT
DSN=$(pg_dsn capture 'capture-secret-123')
pg_key_file "$WORK/key"

snapshot() { pg_sql -tA -c "SELECT id, xmin::text, state_id, retries_remaining, available, available_after FROM queueitem ORDER BY id"; }

# ---- logical decoding ------------------------------------------------------------------
# a job enqueued before the capture starts, completed while it runs: not the capture's
OLD=$(pg_sql -tA -c "SELECT qi_put('notification/old/r/repo_push/', '{}')")
"$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 100 -o "$WORK/jobs.jsonl" \
    --stats "$WORK/stats.json" --key "$WORK/key" 2>"$WORK/logical.err" &
cap1=$!
"$PMIRROR" capture --queue "$DSN" --queue-name notification --poll-ms 100 -o "$WORK/notif.jsonl" \
    --stats "$WORK/notif-stats.json" --key "$WORK/key" -q 2>"$WORK/notif.err" &
cap2=$!
pids+=("$cap1" "$cap2")
wait_for 15 slots_are 2 && ok || bad "the two captures' slots did not appear (stderr: $(cat "$WORK"/logical.err "$WORK"/notif.err))"
[ "$(pg_sql -tA -c "SELECT bool_and(temporary) FROM pg_replication_slots WHERE slot_name LIKE 'pmirror_capture_%'")" = t ] &&
    ok || bad "the capture's slots are not temporary"
started=$SECONDS

pg_sql -tA -c "SELECT qi_claim($OLD); SELECT qi_complete($OLD)" >/dev/null
pg_sql >"$WORK/producer.out" 2>&1 <<'SQL' || bad "the producer failed: $(cat "$WORK/producer.out")"
-- notifications completed 50 ms after enqueue, as a worker does (claim, then delete)
SELECT qi_put('notification/acme/web/repo_push/', '{"notification_uuid":"n1","event_data":{"repository":"acme/web","namespace":"acme"},"performer_data":{"entity_name":"alice"}}') AS n1 \gset
SELECT pg_sleep(0.05);
SELECT qi_claim(:n1);
SELECT qi_complete(:n1);
SELECT qi_put('notification/acme/quota_warning/', '{"notification_uuid":"n2","event_data":{"namespace":"acme"},"performer_data":{},"notification_type":"namespace"}') AS n2 \gset
SELECT pg_sleep(0.05);
SELECT qi_claim(:n2);
SELECT qi_complete(:n2);
-- retried: claimed, then made available again later
SELECT qi_put('notification/globex/api/build_success/build/b7/', '{"notification_uuid":"n3","event_data":{"repository":"globex/api"},"performer_data":{"entity_name":"bob"}}') AS n3 \gset
SELECT qi_claim(:n3);
SELECT qi_incomplete(:n3, 300, false);
-- the build queue (ordered, 3 retries): one retried, one dead (its last retry taken)
SELECT qi_put('dockerfilebuild/acme/web/', '{"build_uuid":"b1","pull_credentials":{"username":"acme+builder","password":"ROBOTTOKEN0123456789","registry":"https://quay.example/v1/"}}', 3) AS b1 \gset
SELECT qi_claim(:b1);
SELECT qi_incomplete(:b1, 30, true);
SELECT qi_put('dockerfilebuild/acme/web/', '{"build_uuid":"b2","pull_credentials":null}', 1) AS b2 \gset
SELECT qi_claim(:b2);
SELECT qi_incomplete(:b2, 30, false);
-- a log export with secrets in its body: an e-mail address and a token in a URL
SELECT qi_put('exportactionlogs/acme/', '{"export_id":"e1","repository_id":7,"namespace_id":3,"namespace_name":"acme","repository_name":"web","start_time":"01/01/2026","end_time":"01/02/2026","callback_url":"https://hooks.example/cb?token=CALLBACKTOKEN123&x=1","callback_email":"ops@acme.example"}', 3) AS e1 \gset
SELECT qi_claim(:e1);
SELECT qi_complete(:e1);
-- a body that is not JSON, left pending; a queue the worker map does not know; secscan
SELECT qi_put('chunk_cleanup/segment/local_us/u1/', 'not json {') AS c1 \gset
SELECT qi_put('mystery/x/', '{}') AS m1 \gset
SELECT qi_complete(:m1);
SELECT qi_put('secscanv4/with_id/42/', '{"notification_id":"42"}') AS s1 \gset
SELECT qi_claim(:s1);
SELECT qi_complete(:s1);
-- twenty jobs inserted and deleted in one transaction: never visible to any poll
BEGIN;
SELECT qi_put('notification/bulk/r' || i || '/repo_push/', '{"notification_uuid":"bulk' || i || '"}') FROM generate_series(1, 20) i;
DELETE FROM queueitem WHERE queue_name LIKE 'notification/bulk/%';
COMMIT;
SQL
before=$(snapshot)
sleep 0.5
kill -INT "$cap1" "$cap2"
wait "$cap1"; rc1=$?
wait "$cap2"; rc2=$?
[ "$rc1" -eq 0 ] && ok || bad "logical capture: exit $rc1: $(cat "$WORK/logical.err")"
[ "$rc2" -eq 0 ] && ok || bad "--queue-name capture: exit $rc2: $(cat "$WORK/notif.err")"
[ "$(snapshot)" = "$before" ] && ok || bad "the table changed while only the captures read it"
wait_for 10 slots_are 0 && ok || bad "a slot outlived its capture: $(slots)"
[ "$(pg_sql -tA -c "SELECT has_table_privilege('capture', 'queueitem', 'INSERT') OR has_table_privilege('capture', 'queueitem', 'UPDATE') OR has_table_privilege('capture', 'queueitem', 'DELETE') OR has_table_privilege('capture', 'queueitem', 'TRUNCATE')")" = f ] &&
    ok || bad "the capture role may write queueitem: the read-only proof is void"
[ "$(stat -c %a "$WORK/jobs.jsonl")" = 600 ] && ok || bad "jobs file mode $(stat -c %a "$WORK/jobs.jsonl"), want 600"
grep -q "pmirror capture: 29 jobs (logical): 25 completed, 2 retried, 1 dead, 1 without outcome" "$WORK/logical.err" &&
    ok || bad "logical summary: $(cat "$WORK/logical.err")"

run "$PMIRROR" cat "$WORK/jobs.jsonl"
expect_rc 0 "pmirror cat jobs.jsonl"
printf '%s\n' "$out" >"$WORK/cat.jsonl"
python3 - "$WORK/cat.jsonl" "$WORK/notif.jsonl" "$WORK/stats.json" "$WORK/notif-stats.json" <<'PY' || bad "logical capture's records (above)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
notif = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
stats, nstats = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
fails = []
def want(cond, what):
    if not cond:
        fails.append(what)
want(len(recs) == 29, "29 job records, got %d" % len(recs))
pinned = ["v", "id", "ts", "kind", "queue", "queue_name", "family", "capability", "switch", "cohort", "job"]
for r in recs:
    want(list(r)[:len(pinned)] == pinned, "keys in DESIGN.md's order: %s" % list(r))
    want(r["v"] == 1 and r["kind"] == "job" and r["capture"] == "logical", "v, kind, capture: %s" % r["id"])
    want(set(r["cohort"]) == {"org", "repo", "user"}, "cohort keys: %s" % r["cohort"])
    want({"available_after", "retries_remaining", "ordered"} <= set(r["job"]), "job keys: %s" % r["job"])
    want(("body" in r["job"]) != ("body_text" in r["job"]), "body or body_text: %s" % r["job"])
    want(r["queue"] == r["queue_name"].split("/")[0], "queue: %s" % r["queue_name"])
    want(r["ts"].endswith("Z") and "T" in r["ts"], "ts RFC 3339: %s" % r["ts"])
by_name = {}
for r in recs:
    by_name.setdefault(r["queue_name"], []).append(r)
def one(name):
    rs = by_name.get(name, [])
    want(len(rs) == 1, "one job in %s, got %d" % (name, len(rs)))
    return rs[0] if rs else {"job": {}, "cohort": {}}
n1 = one("notification/acme/web/repo_push/")
want(n1.get("outcome") == "completed" and n1.get("claims") == 1, "n1 completed after one claim: %s" % n1)
want(n1.get("latency_us", 0) >= 50000, "n1 completed >= 50 ms after enqueue: %s" % n1.get("latency_us"))
want(n1["family"] == "WORKER_NOTIFICATIONWORKER" and n1["switch"] == "WORKER_OWNER_NOTIFICATIONWORKER", "n1 family: %s" % n1)
want(n1["capability"] == "repo_push" and n1["cohort"] == {"org": "acme", "repo": "acme/web", "user": "alice"}, "n1 class: %s" % n1)
want(n1["job"]["body"]["notification_uuid"] == "n1" and n1["job"]["retries_remaining"] == 5, "n1 job: %s" % n1["job"])
want(n1.get("program") == "notificationworker", "n1 program")
n2 = one("notification/acme/quota_warning/")
want(n2.get("outcome") == "completed" and n2["capability"] == "quota_warning", "n2: %s" % n2)
n3 = one("notification/globex/api/build_success/build/b7/")
want(n3.get("outcome") == "retried" and n3["capability"] == "build_success", "n3 retried: %s" % n3)
b = by_name.get("dockerfilebuild/acme/web/", [])
want(len(b) == 2, "two builds")
if len(b) == 2:
    b1, b2 = sorted(b, key=lambda r: r["queue_id"])
    want(b1.get("outcome") == "retried" and b1["job"]["retries_remaining"] == 3 and b1["job"]["ordered"] is True, "b1: %s" % b1)
    want(b1["job"]["body"]["pull_credentials"]["password"].startswith("redacted:"), "b1 password redacted")
    want(b1["job"]["body"]["pull_credentials"]["username"] == "acme+builder", "b1 user kept")
    want(b2.get("outcome") == "dead" and b2["job"]["retries_remaining"] == 1, "b2 dead: %s" % b2)
    want(b1["family"] == "WORKER_BUILDER" and b1["cohort"]["repo"] == "acme/web", "builds' family")
e1 = one("exportactionlogs/acme/")
email = e1["job"].get("body", {}).get("callback_email", "")
want(email.startswith("redacted:") and e1["cohort"]["user"] == email, "e-mail hashed, cohort = body: %s" % e1)
want("redacted:" in e1["job"].get("body", {}).get("callback_url", "") and "x=1" in e1["job"]["body"]["callback_url"], "callback URL token redacted: %s" % e1)
c1 = one("chunk_cleanup/segment/local_us/u1/")
want("outcome" not in c1 and c1["job"].get("body_not_json") is True and c1["job"].get("body_text") == "not json {", "c1: %s" % c1)
m1 = one("mystery/x/")
want(m1["family"] == "UNKNOWN" and m1["switch"] is None and m1.get("outcome") == "completed", "m1: %s" % m1)
s1 = one("secscanv4/with_id/42/")
want(s1.get("outcome") == "completed" and s1["family"] == "WORKER_SECURITYSCANNINGNOTIFICATIONWORKER", "s1: %s" % s1)
bulk = [r for r in recs if r["queue_name"].startswith("notification/bulk/")]
want(len(bulk) == 20 and all(r.get("outcome") == "completed" and r.get("latency_us") == 0 for r in bulk),
     "20 jobs inserted and deleted in one transaction, all completed: %s" % [r.get("outcome") for r in bulk])
want(not any(r["queue_name"].startswith("notification/old/") for r in recs), "a job enqueued before the capture is not written")
ids = [r["queue_id"] for r in recs]
want(len(set(r["id"] for r in recs)) == len(recs), "record ids unique")
want(ids == sorted(ids), "records in enqueue order: %s" % ids)
text = open(sys.argv[1]).read()
for secret in ("ROBOTTOKEN0123456789", "CALLBACKTOKEN123", "ops@acme.example"):
    want(secret not in text, "%s left in the file" % secret)
want(stats["mode"] == "logical" and stats["jobs"] == 29 and stats["completed"] == 25 and stats["retried"] == 2
     and stats["dead"] == 1 and stats["without_outcome"] == 1 and stats["bodies_not_json"] == 1
     and stats["unknown_queue"] == 1 and stats["untracked_changes"] == 2 and stats["gaps"] == 0
     and stats["bad_changes"] == 0, "stats: %s" % stats)
want(stats["queues"]["notification"]["jobs"] == 23 and stats["queues"]["dockerfilebuild"]["dead"] == 1, "per queue: %s" % stats["queues"])
want(stats["source"].startswith("postgresql://capture@127.0.0.1:") and "secret" not in json.dumps(stats), "stats source: %s" % stats["source"])
want(len(notif) == 23 and all(r["queue"] == "notification" for r in notif), "--queue-name notification: %d records" % len(notif))
want(nstats["not_selected"] == 6 and nstats["jobs"] == 23, "--queue-name stats: %s" % nstats)
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok

# ---- polling: gaps counted exactly ------------------------------------------------------
POLL_DSN=$(pg_dsn poller 'poller-secret-456')
# ids taken before the start that will never appear: the sequence's last value past the highest row
BEFORE=$(pg_sql -tA -c "SELECT last_value - (SELECT max(id) FROM queueitem) FROM queueitem_id_seq")
"$PMIRROR" capture --queue "$POLL_DSN" --poll-ms 150 -o "$WORK/poll.jsonl" --stats "$WORK/poll-stats.json" \
    --key "$WORK/key" 2>"$WORK/poll.err" &
cap3=$!
"$PMIRROR" capture --queue "$(pg_dsn poller2 'poller2-secret-654')" --poll-ms 150 -o "$WORK/poll2.jsonl" \
    --stats "$WORK/poll2-stats.json" --key "$WORK/key" -q 2>"$WORK/poll2.err" &
cap5=$!
pids+=("$cap3" "$cap5")
wait_for 15 grep -q "note: polling" "$WORK/poll.err" && ok || bad "auto mode did not note polling: $(cat "$WORK/poll.err")"
wait_for 15 grep -q "note: polling" "$WORK/poll2.err" && ok || bad "auto mode did not note polling: $(cat "$WORK/poll2.err")"
grep -q "role poller has no REPLICATION" "$WORK/poll.err" && ok || bad "the note does not say why: $(cat "$WORK/poll.err")"
pg_sql -tA -c "SELECT qi_put('notification/acme/a/repo_push/', '{\"notification_uuid\":\"pa\"}')" >"$WORK/poll-a"
pg_sql -tA -c "SELECT qi_put('notification/acme/b/repo_push/', '{\"notification_uuid\":\"pb\"}')" >/dev/null
sleep 0.6
# three ids no poll can see: two inserted and deleted in one transaction, one rolled back
pg_sql -c "BEGIN; SELECT qi_put('repositorygc/acme/1/', '{\"marker_id\":1}'); SELECT qi_put('repositorygc/acme/2/', '{\"marker_id\":2}');
           DELETE FROM queueitem WHERE queue_name LIKE 'repositorygc/acme/%'; SELECT qi_put('repositorygc/acme/3/', '{\"marker_id\":3}'); COMMIT;" >/dev/null
pg_sql -c "BEGIN; SELECT qi_put('namespacegc/9/', '{\"marker_id\":9}'); ROLLBACK;" >/dev/null
# an id taken by a transaction that commits after a later id is visible: late, not a gap
pg_sql -c "BEGIN; SELECT qi_put('notification/acme/late/repo_push/', '{\"notification_uuid\":\"late\"}'); SELECT pg_sleep(1.2); COMMIT;" >/dev/null &
late=$!
sleep 0.4
pg_sql -tA -c "SELECT qi_put('notification/acme/c/repo_push/', '{\"notification_uuid\":\"pc\"}')" >/dev/null
A=$(cat "$WORK/poll-a")
pg_sql -tA -c "SELECT qi_claim($A); SELECT qi_complete($A)" >/dev/null
wait "$late"
sleep 0.8
kill -TERM "$cap3" "$cap5"
wait "$cap3"; rc3=$?
wait "$cap5"; rc5=$?
[ "$rc3" -eq 0 ] && ok || bad "poll capture: exit $rc3: $(cat "$WORK/poll.err")"
[ "$rc5" -eq 0 ] && ok || bad "poll capture without the sequence: exit $rc5: $(cat "$WORK/poll2.err")"
for which in poll poll2; do
python3 - "$WORK/$which.jsonl" "$WORK/$which-stats.json" "$BEFORE" <<'PY' || bad "$which capture's records (above)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = json.load(open(sys.argv[2]))
before = int(sys.argv[3])
fails = []
def want(cond, what):
    if not cond:
        fails.append(what)
names = sorted(r["queue_name"] for r in recs)
want(names == sorted(["notification/acme/a/repo_push/", "notification/acme/b/repo_push/", "repositorygc/acme/3/",
                      "notification/acme/late/repo_push/", "notification/acme/c/repo_push/"]), "jobs: %s" % names)
want(st["mode"] == "poll" and st["gaps"] == 3 and st["late_rows"] == 1 and st["jobs"] == 5, "stats: %s" % st)
want(st["ids_before_start"] == before, "ids taken before the start: %s, want %d" % (st["ids_before_start"], before))
want(sum(hi - lo + 1 for lo, hi in st["gap_ranges"]) == 3, "gap ranges: %s" % st["gap_ranges"])
a = [r for r in recs if r["queue_name"] == "notification/acme/a/repo_push/"]
want(a and a[0].get("outcome") == "completed" and a[0]["capture"] == "poll", "A completed, seen by polling: %s" % a)
want(all(r["family"] != "UNKNOWN" for r in recs), "families")
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok
done
grep -q "pmirror capture: poll: 3 id gaps" "$WORK/poll.err" && ok || bad "poll summary does not report 3 gaps: $(cat "$WORK/poll.err")"

# ---- producer (mixed mode): --producer, and the map's producer: template winning -----------
sed '/^    program: notificationworker/a\    producer: "{body._producer}"' "$SRC/config/quay/workers.yaml" \
    >"$WORK/workers-producer.yaml"
grep -q '_producer' "$WORK/workers-producer.yaml" || bad "the test map has no producer: template"
"$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 100 --producer go -o "$WORK/go.jsonl" \
    --key "$WORK/key" -q 2>"$WORK/go.err" &
cap6=$!
"$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 100 --producer go --workers "$WORK/workers-producer.yaml" \
    -o "$WORK/marked.jsonl" --stats "$WORK/marked-stats.json" --key "$WORK/key" -q 2>"$WORK/marked.err" &
cap7=$!
pids+=("$cap6" "$cap7")
wait_for 15 slots_are 2 && ok || bad "the producer captures' slots did not appear: $(cat "$WORK"/go.err "$WORK"/marked.err)"
pg_sql >"$WORK/producer2.out" 2>&1 <<'SQL' || bad "the producer failed: $(cat "$WORK/producer2.out")"
SELECT qi_put('notification/acme/web/repo_push/', '{"notification_uuid":"m1","_producer":"python"}');
SELECT qi_put('notification/acme/web/repo_push/', '{"notification_uuid":"m2"}');
SELECT qi_put('notification/acme/web/repo_push/', '{"notification_uuid":"m3","_producer":"Py thon"}');
SELECT qi_put('chunk_cleanup/', '{"location":"local_us","path":"p1","_producer":"python"}');
SELECT qi_put('notification/acme/web/repo_push/', 'not json {');
SQL
sleep 0.5
kill -INT "$cap6" "$cap7"
wait "$cap6" && ok || bad "capture --producer go: $(cat "$WORK/go.err")"
wait "$cap7" && ok || bad "capture --producer go --workers (template): $(cat "$WORK/marked.err")"
python3 - "$WORK/go.jsonl" "$WORK/marked.jsonl" "$WORK/marked-stats.json" <<'PY' || bad "producer records (above)"
import json, sys
go, marked = ([json.loads(l) for l in open(p) if l.strip()] for p in sys.argv[1:3])
st = json.load(open(sys.argv[3]))
fails = []
def want(cond, what):
    if not cond:
        fails.append(what)
want(len(go) == 5 and len(marked) == 5, "5 jobs each: %d, %d" % (len(go), len(marked)))
for r in go:
    want(r.get("producer") == "go" and r["cohort"].get("producer") == "go", "--producer go: %s" % r)
def key(r):
    return r["job"].get("body", {}).get("notification_uuid") or r["job"].get("body", {}).get("path") or "text"
got = {key(r): (r.get("producer"), r["cohort"].get("producer")) for r in marked}
want(got == {"m1": ("python", "python"), "m2": ("go", "go"), "m3": ("go", "go"), "p1": ("go", "go"),
             "text": ("go", "go")}, "template over --producer: %s" % got)
want(st["producers_refused"] == 1, "a value that is no producer name counted: %s" % st.get("producers_refused"))
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok
grep -q '"producer"' "$WORK/jobs.jsonl" && bad "a capture without --producer wrote a producer" || ok
run "$PMIRROR" capture --queue "$DSN" --producer Go -o "$WORK/x.jsonl"
expect_rc 2 "--producer Go"
expect_one_err_line "--producer Go"
expect_err "--producer 'Go': want a name of up to 32 lowercase letters" "--producer Go"
run "$PMIRROR" capture --producer go -o "$WORK/x.jsonl"
expect_rc 2 "--producer without --queue"
expect_err "--producer needs --queue DSN" "--producer without --queue"
sed 's/"{body._producer}"/"{body._producer} x"/' "$WORK/workers-producer.yaml" >"$WORK/workers-bad.yaml"
line=$(grep -n '_producer' "$WORK/workers-bad.yaml" | cut -d: -f1)
run "$PMIRROR" capture --queue "$DSN" --workers "$WORK/workers-bad.yaml" -o "$WORK/x.jsonl"
expect_rc 2 "a bad producer: template"
expect_err "workers-bad.yaml:$line:[0-9]*: workers.notification.producer: '{body._producer} x'" "a bad producer: template"

# ---- errors: one line, the source named, never its password, exit 2 ----------------------
expect_clean_failure() { # WHAT WANT SECRET ARGS...
    local what=$1 want=$2 secret=$3
    shift 3
    rm -f "$WORK/none.jsonl"
    run "$PMIRROR" capture "$@" -o "$WORK/none.jsonl"
    expect_rc 2 "$what"
    expect_one_err_line "$what"
    expect_err "$want" "$what"
    case "$err" in *"$secret"*) bad "$what: the password is in the message: $err" ;; *) ok ;; esac
    [ ! -e "$WORK/none.jsonl" ] && ok || bad "$what: an output file was left"
}
expect_clean_failure "closed port" "cannot connect to postgresql://capture@127.0.0.1:1/quay" capture-secret-123 \
    --queue "postgresql://capture:capture-secret-123@127.0.0.1:1/quay"
expect_clean_failure "wrong password" "cannot connect to postgresql://capture@127.0.0.1:$PG_PORT/quay" wrong-password-42 \
    --queue "postgresql://capture:wrong-password-42@127.0.0.1:$PG_PORT/quay"
expect_clean_failure "malformed URI" "not a PostgreSQL connection string" sekretpw --queue "postgresql://x:sekretpw@[::1"
expect_clean_failure "key=value DSN" "cannot connect to postgresql://capture@127.0.0.1:1/quay" kvsecret99 \
    --queue "host=127.0.0.1 port=1 dbname=quay user=capture password=kvsecret99"
expect_clean_failure "no SELECT" "role nobody may not read queueitem" nobody-secret-789 \
    --queue "$(pg_dsn nobody nobody-secret-789)"
expect_clean_failure "logical without REPLICATION" "needs a role with REPLICATION" poller-secret-456 \
    --queue "$POLL_DSN" --mode logical
run "$PMIRROR" capture --queue "$DSN"
expect_rc 2 "no -o"
expect_err "-o JOBS is required" "no -o"
run "$PMIRROR" capture --queue "$DSN" -r x.pcap -o "$WORK/x.jsonl"
expect_rc 2 "--queue with -r"
expect_err "do not apply" "--queue with -r"
run "$PMIRROR" capture --queue-name notification -o "$WORK/x.jsonl"
expect_rc 2 "--queue-name alone"
run "$PMIRROR" capture --queue "$DSN" --queue-name notification/acme -o "$WORK/x.jsonl"
expect_rc 2 "--queue-name with a slash"

# ---- --duration ends it cleanly ----------------------------------------------------------
t0=$SECONDS
run "$PMIRROR" capture --queue "$DSN" --duration 1 -q -o "$WORK/short.jsonl"
expect_rc 0 "--duration 1"
[ $((SECONDS - t0)) -le 6 ] && ok || bad "--duration 1 took $((SECONDS - t0)) s"
[ -f "$WORK/short.jsonl" ] && [ ! -s "$WORK/short.jsonl" ] && ok || bad "--duration 1: want an empty file"

# ---- a connection lost in the middle: exit 2, the jobs so far kept in a whole file --------
"$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 100 -o "$WORK/lost.jsonl.gz" --key "$WORK/key" -q \
    2>"$WORK/lost.err" &
cap4=$!
pids+=("$cap4")
wait_for 15 slots_are 1 && ok || bad "the capture's slot did not appear: $(cat "$WORK/lost.err")"
pg_sql -tA -c "SELECT qi_put('notification/acme/kept/repo_push/', '{\"notification_uuid\":\"kept\"}')" >/dev/null
sleep 0.4
pg_sql -tA -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pmirror capture --queue'" >/dev/null
wait "$cap4"; rc4=$?
[ "$rc4" -eq 2 ] && ok || bad "lost connection: exit $rc4, want 2: $(cat "$WORK/lost.err")"
grep -q "lost the connection to postgresql://capture@127.0.0.1:$PG_PORT/quay" "$WORK/lost.err" && ok ||
    bad "lost connection: stderr: $(cat "$WORK/lost.err")"
grep -q "capture-secret-123" "$WORK/lost.err" && bad "lost connection: the password is in the message" || ok
run "$PMIRROR" cat "$WORK/lost.jsonl.gz"
expect_rc 0 "the file of a capture that lost its connection"
expect_out '"queue_name":"notification/acme/kept/repo_push/"' "the job held when the connection went"
wait_for 10 slots_are 0 && ok || bad "the slot of a lost session is still there"

# ---- stopped right after the producer: what committed is read, outcomes too ----------------
# The cluster commits asynchronously (synchronous_commit=off, as many sources do), and logical
# decoding reads only WAL that is flushed: a capture stopped at once must wait for the flush of
# what committed before its stop, or the last jobs lose their outcomes.
"$PMIRROR" capture --queue "$DSN" --mode logical --poll-ms 2000 -o "$WORK/tail.jsonl" -q 2>"$WORK/tail.err" &
cap5=$!
pids+=("$cap5")
wait_for 15 slots_are 1 || bad "the tail capture's slot did not appear: $(cat "$WORK/tail.err")"
sleep 0.3 # its first (empty) read is done; the next would be in 2 s
pg_sql -tA >/dev/null <<'SQL' || bad "the tail producer failed"
SELECT qi_put('chunk_cleanup/', '{"path":"tail' || i || '"}') FROM generate_series(1, 100) i;
SELECT qi_claim(id) FROM queueitem WHERE queue_name = 'chunk_cleanup/' AND body LIKE '%tail%';
SELECT qi_complete(id) FROM queueitem WHERE queue_name = 'chunk_cleanup/' AND body LIKE '%tail%';
SQL
kill -INT "$cap5"
wait "$cap5" && ok || bad "tail capture: $(cat "$WORK/tail.err")"
tail_done=$(grep -c '"outcome":"completed"' "$WORK/tail.jsonl")
[ "$tail_done" = 100 ] && ok || bad "stopped right after the producer: $tail_done of 100 jobs with their outcome"

echo "queue_capture: $((SECONDS - started)) s after PostgreSQL started" >&2
finish
