#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# worker.sh — worker parity's speed (issue 16): jobs per second `pmirror worker` replays and
# pmirror's CPU per job, and `pmirror capture --queue`'s CPU per 10 000 jobs, each against a
# peer measured in the same run, in one private PostgreSQL cluster (tests/integration/pg.sh:
# the server runs as the postgres user when the script runs as root).
#   replay    JOBS notification jobs (job records generated here: notification/acme/rI/
#             repo_push/, the worker map's `failures` probe on repositorynotification after
#             each) replayed by `pmirror worker` into two sandbox databases, each drained by a
#             fast test worker (tests/integration/queue_worker.py --queues notification/:
#             Quay's claim protocol, claim then complete, no work, a 10 ms sleep only when its
#             queue is empty), at each of CONFIGS' --concurrency and --poll-ms (the
#             environment may set CONFIGS="C:MS ...");
#   capacity  the peer: the same jobs inserted straight into both sandboxes with SQL (one
#             transaction each, the workers running), timed until both queues are empty: how
#             many jobs/s the workers drain with no pmirror in the way (from a queue JOBS
#             deep, where pmirror keeps it at most C deep).
#   Reported: jobs/s (JOBS / the wall clock of the whole pmirror run, or of the drain); CPU
#   per job of pmirror (user + system of its process, start-up included, / JOBS; goal
#   < 1 ms), of the two workers and of PostgreSQL (their /proc counters over the same span:
#   the workers' idle polling and every backend, pmirror's included); pmirror-driven
#   jobs/s / capacity. The sandboxes' queueitem is vacuumed before each measurement.
#   capture   CAPTURE_JOBS (default 10 000) notification jobs put, claimed and completed in
#             the source (100 a statement: put, claim and complete each their own
#             transaction), read by `pmirror capture --queue --mode logical` (its temporary
#             test_decoding slot read every 200 ms, the default), by `--mode poll` in the
#             same run (what a poll of 200 ms still sees of rows that live a few ms), and by
#             the peer: psql on its own temporary test_decoding slot, created before the
#             producer and read once after it with pg_logical_slot_get_changes (test_decoding
#             options as pmirror's) into a file. The captures are stopped (SIGINT) once the
#             producer's last commit is flushed (the cluster commits asynchronously and
#             decoding reads flushed WAL only). Reported: CPU per 10 000 jobs (user + system
#             of the process, start to exit), pmirror logical / psql.
# Every measurement runs RUNS times (replay configurations and capacity alternating, so
# drift on a shared machine hits all of them) and medians are printed. Checks: every replay
# ends with JOBS jobs completed on both targets, and the logical capture and the peer each
# read CAPTURE_JOBS jobs. Exit status: 1 when a check fails, else 0 — goals are reported, not
# enforced: the machine is shared and noisy. Every wait is bounded; the cluster is removed
# on exit. Needs PostgreSQL (Debian postgresql) and /usr/bin/python3 with psycopg2
# (python3-psycopg2).
# Usage: bench/worker.sh [JOBS] [RUNS]   (defaults 500, 3; CAPTURE_JOBS=N in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n 's/^# Usage: //p' "$0"; }
case ${1:-} in
-h | --help)
    sed -n '2,/^# Usage/{s/^# \{0,1\}//;p}' "$0"
    exit 0
    ;;
esac
JOBS=${1:-500} RUNS=${2:-3} CAPTURE_JOBS=${CAPTURE_JOBS:-10000}
CONFIGS=${CONFIGS:-"1:20 4:20 16:20 64:5"} # pmirror worker --concurrency C --poll-ms P, one row each
BATCH=100                 # the capture's producer: jobs a statement
GOAL_CPU_MS=1
BUILD=build-wbench
PY=/usr/bin/python3       # with psycopg2 (the python3 on PATH may be a version manager's)

for v in "$JOBS" "$RUNS" "$CAPTURE_JOBS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "usage: $(usage)" >&2; exit 2; }
done
[ $((CAPTURE_JOBS % BATCH)) -eq 0 ] || { echo "CAPTURE_JOBS must be a multiple of $BATCH" >&2; exit 2; }

# ---------------------------------------------------------------- set-up
. bench/lib.sh
"$PY" -c 'import psycopg2' 2>/dev/null || { echo "$PY has no psycopg2 (Debian python3-psycopg2)" >&2; exit 1; }
echo "building pmirror in $BUILD/ ..."
bench_build "$BUILD" pmirror
PMIRROR=$PWD/$BUILD/pmirror
bench_tmp
HERE=$PWD/tests/integration
# The processes run under /usr/bin/time in the background (TIMED_PIDS, until waited for):
# time ignores SIGINT and is not its child's killer, so the child is stopped by its id.
TIMED_PIDS=()
stop_timed() {
    local p c
    for p in "${TIMED_PIDS[@]}"; do
        for c in $(pgrep -P "$p"); do kill "$c" 2>/dev/null || true; done
    done
}
# pg.sh's hook (pg_stop): the cluster goes after our processes
# shellcheck disable=SC2064  # the hook's name, expanded now
at_exit() { trap "stop_timed; bench_cleanup; $1" EXIT; }
trap 'exit 130' INT TERM
# shellcheck source=tests/integration/pg.sh
. "$HERE/pg.sh"

echo "starting PostgreSQL (tests/integration/pg.sh), the source and two sandboxes ..."
pg_start
PG_VERSION=$(pg_sql -tA -c "SHOW server_version" | cut -d' ' -f1)
pg_queue_table
pg_role capture 'capture-secret-123' REPLICATION
pg_role poller 'poller-secret-456'
pg_sql -c "GRANT SELECT ON SEQUENCE queueitem_id_seq TO poller" >/dev/null
pg_sql -c "CREATE ROLE replayer LOGIN PASSWORD 'replayer-secret-321'" >/dev/null
pg_key_file "$TMP/key"
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d "$@"; }
for db in sandbox_a sandbox_b; do
    psql_db postgres -c "CREATE DATABASE $db" >/dev/null
    psql_db "$db" -f "$HERE/quay_queue.sql" >/dev/null
    psql_db "$db" >/dev/null <<SQL
CREATE TABLE repositorynotification (uuid text PRIMARY KEY, number_of_failures integer NOT NULL);
INSERT INTO repositorynotification SELECT 'n' || i, 0 FROM generate_series(1, $JOBS) i;
GRANT SELECT, INSERT, DELETE ON queueitem TO replayer;
GRANT USAGE ON SEQUENCE queueitem_id_seq TO replayer;
GRANT SELECT ON repositorynotification TO replayer;
SQL
done

# the two worker deployments (HOOKS "-": a notification job sends no webhook here)
WORKER_PIDS=()
for t in a:python b:go; do
    "$PY" "$HERE/queue_worker.py" "${t#*:}" "host=$PG_DIR port=$PG_PORT user=pmirror_admin dbname=sandbox_${t%%:*}" \
        - --queues notification/ >"$TMP/worker_${t%%:*}.out" 2>&1 &
    bench_track $!
    WORKER_PIDS+=($!)
done
for _ in $(seq 300); do
    grep -q READY "$TMP/worker_a.out" && grep -q READY "$TMP/worker_b.out" && break
    sleep 0.05
done
if ! grep -q READY "$TMP/worker_a.out" || ! grep -q READY "$TMP/worker_b.out"; then
    echo "the test workers did not start:" >&2
    cat "$TMP"/worker_*.out >&2
    exit 1
fi

sandbox_dsn() { echo "postgresql://replayer:replayer-secret-321@127.0.0.1:$PG_PORT/$1"; }
cat >"$TMP/suite.yaml" <<EOF
profile: $PWD/config/quay
targets:
  - {name: python, role: baseline, database: "$(sandbox_dsn sandbox_a)", sandbox: true}
  - {name: go, role: candidate, database: "$(sandbox_dsn sandbox_b)", sandbox: true}
EOF

# the job records, as capture --queue writes them (the fields worker reads, and the source)
"$PY" - "$TMP/jobs.jsonl" "$JOBS" "postgresql://capture@127.0.0.1:$PG_PORT/quay" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    for i in range(1, int(sys.argv[2]) + 1):
        body = {"notification_uuid": "n%d" % i, "event_data": {"repository": "acme/r%d" % i, "namespace": "acme"},
                "performer_data": {"entity_name": "alice"}}
        out.write(json.dumps({"v": 1, "id": "j%d" % i, "ts": "2026-01-01T00:00:00.000000Z", "kind": "job",
                              "queue": "notification", "queue_name": "notification/acme/r%d/repo_push/" % i,
                              "family": "WORKER_NOTIFICATIONWORKER", "capability": "repo_push",
                              "job": {"body": body, "retries_remaining": 5, "ordered": False},
                              "outcome": "completed", "queue_id": i, "capture": "logical",
                              "source": sys.argv[3]}, separators=(",", ":")) + "\n")
PY

# ---------------------------------------------------------------- CPU of processes we did not start
# proc_cpu PID...: user + system seconds of the processes and of their waited-for children.
proc_cpu() {
    local p
    for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { printf "%.2f", s / hz }'
}
# PostgreSQL's: the postmaster's (a backend's CPU joins its cutime when it exits) and its live
# children's, so a span's difference counts every backend, those that came and went too.
pg_cpu() {
    local pm
    pm=$(head -1 "$PG_DIR/data/postmaster.pid")
    # shellcheck disable=SC2046  # one pid a word
    proc_cpu "$pm" $(pgrep -P "$pm")
}
span_start() { W0=$(proc_cpu "${WORKER_PIDS[@]}") G0=$(pg_cpu); }
span_end() { # → WCPU, GCPU: the workers' and PostgreSQL's CPU seconds since span_start
    WCPU=$(awk -v a="$W0" -v b="$(proc_cpu "${WORKER_PIDS[@]}")" 'BEGIN { printf "%.2f", b - a }')
    GCPU=$(awk -v a="$G0" -v b="$(pg_cpu)" 'BEGIN { printf "%.2f", b - a }')
}
ms_per() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", s * 1000 / n }'; } # SECONDS N → ms each

# ---------------------------------------------------------------- replay and capacity
CHECKS=""
fail() { CHECKS+="FAIL: $*"$'\n'; }

# vacuum: the sandboxes' queueitem without the dead rows of the run before (every measurement
# starts from the same table; a claim's scan grows with them)
vacuum() { for db in sandbox_a sandbox_b; do psql_db "$db" -c "VACUUM queueitem" >/dev/null; done; }

run_worker() { # C POLL_MS → SECS, CPU, WCPU, GCPU
    vacuum
    span_start
    measure "$TMP/out" timeout 600 "$PMIRROR" worker -c "$TMP/suite.yaml" -i "$TMP/jobs.jsonl" \
        -o "$TMP/results.jsonl" --concurrency "$1" --poll-ms "$2" --progress never
    span_end
    if ! grep -q "^  python: $JOBS completed" "$TMP/err" || ! grep -q "^  go: $JOBS completed" "$TMP/err"; then
        fail "pmirror worker -c$1 --poll-ms $2: not $JOBS jobs completed on both targets: $(cat "$TMP/err")"
    fi
}

run_capacity() { # → SECS (the drain), WCPU, GCPU
    vacuum
    span_start
    SECS=$(timeout 300 "$PY" - "$PG_DIR" "$PG_PORT" "$JOBS" <<'PY'
import sys, time
import psycopg2
host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = [psycopg2.connect(host=host, port=port, user="pmirror_admin", dbname=db) for db in ("sandbox_a", "sandbox_b")]
for c in conns:  # the producer's rows, as pmirror worker inserts them (qi_put: Quay's put)
    c.cursor().execute(
        "SELECT count(qi_put('notification/acme/r' || i || '/repo_push/', json_build_object('notification_uuid', "
        "'n' || i, 'event_data', json_build_object('repository', 'acme/r' || i, 'namespace', 'acme'), "
        "'performer_data', json_build_object('entity_name', 'alice'))::text)) FROM generate_series(1, %s) i", (n,))
t0 = time.perf_counter()
for c in conns:
    c.commit()
left = list(conns)
while left:
    time.sleep(0.005)
    for c in list(left):
        with c.cursor() as cur:
            cur.execute("SELECT count(*) FROM queueitem WHERE queue_name LIKE 'notification/%'")
            if cur.fetchone()[0] == 0:
                left.remove(c)
        c.commit()
print("%.3f" % (time.perf_counter() - t0))
PY
) || { echo "failed: the capacity drain (300 s at most)" >&2; exit 1; }
    span_end
}

declare -A R_SECS R_CPU R_WCPU R_GCPU
for i in $(seq "$RUNS"); do
    echo "run $i/$RUNS: workers' capacity (pre-filled queue), pmirror worker ${CONFIGS// /, } (concurrency:poll-ms) ..."
    run_capacity
    R_SECS[cap]+="$SECS " R_WCPU[cap]+="$WCPU " R_GCPU[cap]+="$GCPU "
    for cfg in $CONFIGS; do
        run_worker "${cfg%:*}" "${cfg#*:}"
        R_SECS[$cfg]+="$SECS " R_CPU[$cfg]+="$CPU " R_WCPU[$cfg]+="$WCPU " R_GCPU[$cfg]+="$GCPU "
    done
done

# ---------------------------------------------------------------- capture
"$PY" - "$TMP/producer.sql" "$CAPTURE_JOBS" "$BATCH" <<'PY'
import sys
n, batch = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], "w") as out:
    for first in range(1, n + 1, batch):
        out.write(
            "SELECT count(qi_put('notification/acme/r' || i || '/repo_push/', json_build_object('notification_uuid', "
            "'c' || i, 'event_data', json_build_object('repository', 'acme/r' || i, 'namespace', 'acme'), "
            "'performer_data', json_build_object('entity_name', 'alice'))::text)) "
            "FROM generate_series(%d, %d) i;\n" % (first, first + batch - 1))
        out.write("SELECT count(qi_claim(id)) FROM queueitem WHERE available;\n")
        out.write("SELECT count(qi_complete(id)) FROM queueitem;\n")
PY

TIMED=(/usr/bin/time -f '%e %U %S' -o)
time_cpu() { awk '{ printf "%.2f", $2 + $3 }' "$1"; } # FILE of TIMED → user + system seconds
capture_start() { # NAME MODE DSN: pmirror capture --queue in the background (TIMED) → CAP_PID
    "${TIMED[@]}" "$TMP/$1.time" "$PMIRROR" capture --queue "$3" --mode "$2" -o "$TMP/$1.jsonl" --key "$TMP/key" \
        --stats "$TMP/$1.stats" --duration 600 -q 2>"$TMP/$1.err" &
    CAP_PID=$!
    TIMED_PIDS+=("$CAP_PID")
}
capture_stop() { # TIME_PID NAME: SIGINT to pmirror (time ignores it), then its exit
    local child
    child=$(pgrep -P "$1" || true)
    [ -n "$child" ] && kill -INT "$child"
    wait "$1" || { echo "failed: pmirror capture ($2): $(cat "$TMP/$2.err")" >&2; exit 1; }
}
wait_until() { # SECONDS WHAT CMD...: CMD true within SECONDS, else the script fails
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "failed: $what (${deadline}s)" >&2; exit 1; }
        sleep 0.05
    done
}
peer_slot_ready() { [ "$(pg_sql -tA -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bench_peer'")" = 1 ]; }
captures_ready() {
    [ "$(slots)" = 1 ] &&
        [ "$(pg_sql -tA -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pmirror capture --queue'")" = 2 ]
}
flushed() { [ "$(pg_sql -tA -c "SELECT pg_current_wal_flush_lsn() >= '$1'")" = t ]; }
jobs_in() { grep -c '"kind":"job"' "$1" || true; }

run_capture() { # → C_LOG C_POLL C_PSQL (CPU seconds), N_LOG N_POLL N_PSQL (jobs read), PROD_SECS
    rm -f "$TMP/peer.fifo" "$TMP/peer.out"
    mkfifo "$TMP/peer.fifo"
    "${TIMED[@]}" "$TMP/peer.time" psql -X -q -tA -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin \
        -d quay <"$TMP/peer.fifo" >/dev/null 2>"$TMP/peer.err" &
    local peer=$!
    TIMED_PIDS+=("$peer")
    exec 3>"$TMP/peer.fifo"
    echo "SELECT 1 FROM pg_create_logical_replication_slot('bench_peer', 'test_decoding', true);" >&3
    wait_until 30 "the peer's slot" peer_slot_ready
    capture_start logical logical "$(pg_dsn capture 'capture-secret-123')"
    local log=$CAP_PID
    capture_start poll poll "$(pg_dsn poller 'poller-secret-456')"
    local poll=$CAP_PID
    wait_until 30 "the captures' start" captures_ready
    sleep 0.5 # the poller's first look (its starting id) is taken
    local t0 t1
    t0=$(date +%s%N)
    timeout 300 psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d quay \
        -f "$TMP/producer.sql" >/dev/null || { echo "failed: the producer" >&2; exit 1; }
    t1=$(date +%s%N)
    PROD_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    # the cluster commits asynchronously (pg.sh: synchronous_commit=off) and logical decoding
    # reads only flushed WAL: the captures stop once the producer's last commit is flushed
    local lsn
    lsn=$(pg_sql -tA -c "SELECT pg_current_wal_insert_lsn()")
    wait_until 30 "the producer's WAL flushed" flushed "$lsn"
    capture_stop "$log" logical
    capture_stop "$poll" poll
    printf '%s\n' "SET statement_timeout = '300s';" "\\o $TMP/peer.out" \
        "SELECT data FROM pg_logical_slot_get_changes('bench_peer', NULL, NULL, 'include-xids', '0', 'include-timestamp', '1', 'skip-empty-xacts', '1');" >&3
    exec 3>&-
    wait "$peer" || { echo "failed: the psql peer: $(cat "$TMP/peer.err")" >&2; exit 1; }
    TIMED_PIDS=() # all three waited for
    C_LOG=$(time_cpu "$TMP/logical.time") C_POLL=$(time_cpu "$TMP/poll.time") C_PSQL=$(time_cpu "$TMP/peer.time")
    N_LOG=$(jobs_in "$TMP/logical.jsonl") N_POLL=$(jobs_in "$TMP/poll.jsonl")
    N_PSQL=$(grep -c '^table public.queueitem: INSERT:' "$TMP/peer.out" || true)
    local done_log
    done_log=$(grep -c '"outcome":"completed"' "$TMP/logical.jsonl" || true)
    if [ "$N_LOG" != "$CAPTURE_JOBS" ] || [ "$done_log" != "$CAPTURE_JOBS" ]; then
        fail "capture --mode logical: $N_LOG jobs, $done_log completed, want $CAPTURE_JOBS"
    fi
    [ "$N_PSQL" = "$CAPTURE_JOBS" ] || fail "the psql peer: $N_PSQL inserts read, want $CAPTURE_JOBS"
}

CL="" CP="" CQ="" NP="" PS=""
for i in $(seq "$RUNS"); do
    echo "run $i/$RUNS: $CAPTURE_JOBS jobs through the source; pmirror capture logical and poll, psql on a slot ..."
    run_capture
    CL+="$C_LOG " CP+="$C_POLL " CQ+="$C_PSQL " NP+="$N_POLL " PS+="$PROD_SECS "
done

# ---------------------------------------------------------------- the table
echo
printf 'worker bench: PostgreSQL %s (one private cluster: the source and two sandboxes), %d runs, medians\n' \
    "$PG_VERSION" "$RUNS"
printf 'replay: %d notification jobs into 2 worker targets, each drained by queue_worker.py (one process)\n' "$JOBS"
printf '%-34s %8s %8s %10s %10s %10s %9s\n' "" "seconds" "jobs/s" "pmirror" "workers" "postgres" "jobs/s /"
printf '%-34s %8s %8s %10s %10s %10s %9s\n' "" "" "" "cpu ms/job" "cpu ms/job" "cpu ms/job" "capacity"
CAP_S=$(med "${R_SECS[cap]}")
CAP_JPS=$(per_s "$JOBS" "$CAP_S")
for cfg in $CONFIGS; do
    s=$(med "${R_SECS[$cfg]}")
    jps=$(per_s "$JOBS" "$s")
    printf '%-34s %8s %8s %10s %10s %10s %8.2fx\n' "pmirror worker -c${cfg%:*} --poll-ms ${cfg#*:}" "$s" "$jps" \
        "$(ms_per "$(med "${R_CPU[$cfg]}")" "$JOBS")" "$(ms_per "$(med "${R_WCPU[$cfg]}")" "$JOBS")" \
        "$(ms_per "$(med "${R_GCPU[$cfg]}")" "$JOBS")" "$(awk -v a="$jps" -v b="$CAP_JPS" 'BEGIN { print a / b }')"
done
printf '%-34s %8s %8s %10s %10s %10s %9s\n' "capacity: queue pre-filled by SQL" "$CAP_S" "$CAP_JPS" "-" \
    "$(ms_per "$(med "${R_WCPU[cap]}")" "$JOBS")" "$(ms_per "$(med "${R_GCPU[cap]}")" "$JOBS")" "1.00x"
echo
printf 'capture: %d notification jobs put, claimed, completed in the source (%s s of producer, median)\n' \
    "$CAPTURE_JOBS" "$(med "$PS")"
printf '%-34s %8s %12s %10s %9s\n' "" "cpu s" "cpu ms/10k" "jobs read" "/ psql"
CQ_MED=$(med "$CQ")
for row in "pmirror capture --mode logical:$CL:$CAPTURE_JOBS" "pmirror capture --mode poll:$CP:$(med "$NP")" \
    "psql, test_decoding slot (peer):$CQ:$CAPTURE_JOBS"; do
    IFS=: read -r name cpus n <<<"$row"
    c=$(med "$cpus")
    printf '%-34s %8s %12.0f %10s %8.2fx\n' "$name" "$c" "$(ms_per "$c" "$(awk -v n="$CAPTURE_JOBS" 'BEGIN { print n / 10000 }')")" \
        "$n" "$(awk -v a="$c" -v b="$CQ_MED" 'BEGIN { print (b > 0) ? a / b : 0 }')"
done
echo
printf '%-48s %9s %9s %8s\n' "goal" "measured" "goal" "verdict"
for cfg in $CONFIGS; do
    m=$(ms_per "$(med "${R_CPU[$cfg]}")" "$JOBS")
    printf '%-48s %9s %9s %8s\n' "pmirror CPU per replayed job, -c${cfg%:*} --poll-ms ${cfg#*:}" "$m ms" \
        "< $GOAL_CPU_MS ms" "$(verdict "$m" "<=" "$GOAL_CPU_MS")"
done
echo
if [ -n "$CHECKS" ]; then
    printf '%s' "$CHECKS"
    exit 1
fi
echo "checks: every replay completed $JOBS jobs on both targets; capture (logical) and psql read $CAPTURE_JOBS jobs each run: OK"
