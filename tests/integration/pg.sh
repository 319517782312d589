# SPDX-License-Identifier: Apache-2.0
# pg.sh — a private PostgreSQL for the integration tests that need a real one (queue capture,
# the worker replay). Sourced after lib.sh, not run (ctest skips it, like lib.sh).
#
#   pg_start            initdb + pg_ctl in a temporary directory: listens on 127.0.0.1 only, on
#                       a free port, sockets in that directory, wal_level=logical and room for
#                       replication slots; stopped (immediate) and removed at exit (at_exit).
#                       Sets PG_PORT, PG_DIR; database `quay`, superuser `pmirror_admin`
#                       (trusted on the socket only; TCP logins need a password).
#   pg_sql ARGS...      psql as the superuser on database quay (ON_ERROR_STOP, no psqlrc):
#                       pg_sql -c "SQL", pg_sql -f FILE, pg_sql -tA -c "SELECT ...".
#   pg_queue_table      Quay's queueitem table and its protocol functions (quay_queue.sql).
#   pg_role NAME PASSWORD [ATTRIBUTES...]   a login role with SELECT on queueitem and nothing
#                       else (ATTRIBUTES: REPLICATION, or NOSELECT for none at all).
#   pg_dsn NAME PASSWORD   its URI on the TCP port.
#   slots, slots_are N  the replication slots of pmirror's captures; pg_key_file PATH: a key.
#   pg_test_workers     the two test workers (queue_worker.py, flavours python and go) on the
#                       databases sandbox_py and sandbox_go, their webhooks to the free ports
#                       HOOKS_PY and HOOKS_GO (set here: the effects sinks' addresses); waits
#                       until both are READY (a failed check otherwise). Needs $PY.
#
# PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
# `postgres` user (Debian's postgresql package creates it) through runuser, in a directory
# that user owns. Every step is bounded in time (initdb 60 s, start and stop 30 s).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DIR=
PG_PORT=
as_pg=()

pg_fail() {
    echo "FAIL: pg.sh: $*" >&2
    [ -n "$PG_DIR" ] && [ -f "$PG_DIR/log" ] && tail -20 "$PG_DIR/log" >&2
    exit 1
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    [ -f "$PG_DIR/data/postmaster.pid" ] &&
        timeout 30 "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -t 30 stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
}

pg_start() {
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        pg_fail "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the Debian package 'postgresql', or run make deps)"
    command -v psql >/dev/null || pg_fail "psql is not installed (Debian package postgresql-client)"
    PG_DIR=$(mktemp -d /tmp/pmirror-pg.XXXXXX)
    at_exit pg_stop
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || pg_fail "running as root, and there is no 'postgres' user to run the server as"
        chown postgres "$PG_DIR"
        as_pg=(runuser -u postgres --)
    fi
    timeout 60 "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U pmirror_admin -E UTF8 --locale=C -N \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
        pg_fail "initdb failed: $(tail -3 "$PG_DIR/initdb.log")"
    local try
    for try in 1 2 3; do # a free port can be taken between choosing it and listening on it
        PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        timeout 40 "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR \
                -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 \
                -c max_connections=40 -c shared_buffers=32MB -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off" start >/dev/null 2>&1 && break
        PG_PORT=
    done
    [ -n "$PG_PORT" ] || pg_fail "pg_ctl start failed three times"
    psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d postgres \
        -c "CREATE DATABASE quay" >/dev/null || pg_fail "cannot create database quay"
}

pg_sql() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U pmirror_admin -d quay "$@"
}

pg_queue_table() {
    pg_sql -f "$HERE/quay_queue.sql" >/dev/null || pg_fail "cannot create the queueitem table"
}

pg_role() {
    local name=$1 password=$2 attributes= select=1
    shift 2
    for a in "$@"; do
        case "$a" in
        NOSELECT) select= ;;
        *) attributes="$attributes $a" ;;
        esac
    done
    pg_sql -c "CREATE ROLE $name LOGIN$attributes PASSWORD '$password'" >/dev/null || pg_fail "cannot create role $name"
    if [ -n "$select" ]; then
        pg_sql -c "GRANT SELECT ON queueitem TO $name" >/dev/null || pg_fail "cannot grant $name SELECT"
    fi
}

pg_dsn() {
    echo "postgresql://$1:$2@127.0.0.1:$PG_PORT/quay"
}

# slots: how many replication slots pmirror's queue captures hold now; slots_are N: exactly N.
slots() { pg_sql -tA -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pmirror_capture_%'"; }
slots_are() { [ "$(slots)" = "$1" ]; }

# pg_key_file PATH: a redaction key for the captures (random, 0600).
pg_key_file() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1" && chmod 600 "$1"; }

pg_test_workers() {
    local port='import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    HOOKS_PY=$(python3 -c "$port")
    HOOKS_GO=$(python3 -c "$port")
    local flavour db hooks
    for flavour in python go; do
        db=sandbox_py hooks=$HOOKS_PY
        [ "$flavour" = go ] && db=sandbox_go hooks=$HOOKS_GO
        "$PY" "$HERE/queue_worker.py" "$flavour" "host=$PG_DIR port=$PG_PORT user=pmirror_admin dbname=$db" \
            "http://127.0.0.1:$hooks" >"$WORK/$flavour.out" 2>"$WORK/$flavour.err" &
        pids+=($!)
    done
    pg_workers_ready() { grep -q READY "$WORK/python.out" && grep -q READY "$WORK/go.out"; }
    wait_for 15 pg_workers_ready && ok || bad "the test workers did not start: $(cat "$WORK"/python.err "$WORK"/go.err)"
}
