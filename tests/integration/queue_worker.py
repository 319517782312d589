#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""queue_worker.py — a small Quay queue worker for worker_replay.sh, in two flavours.

    /usr/bin/python3 queue_worker.py FLAVOUR DSN HOOKS [--queues Q/,...]
        FLAVOUR: python | go; HOOKS: base URL of its outbound HTTP, pmirror's effects sink;
        --queues: the queue prefixes it claims from instead of the five below (bench/worker.sh
        and tools/demo.sh run it on notification/ alone)

It follows Quay's WorkQueue protocol (data/queue.py; quay-facts.md "Queues and workers")
statement for statement: the claimable rows of its queues (available_after <= now, available
or lease expired, retries left), a random one of the first 50 (the lowest id for the ordered
build queue), claimed by compare-and-swap on state_id (one row updated = claimed, retries
decremented, a lease), then the job's work, and complete (DELETE) or incomplete (available
again 300 s later) in the work's own transaction. Its queues and what it does:

    namespacegc/         deletes the deletednamespace marker and, when there was one, POSTs a
                         webhook {"event", "namespace"} to HOOKS/hooks/namespace, completes
    repositorygc/NS/     deletes the deletedrepository marker, enqueues a notification
                         {"event", "repository"} on notification/NS/, completes
    exportactionlogs/NS/ completes
    chunk_cleanup/       completes
    dockerfilebuild/NS/REPO/ (ordered) takes 100 ms (a build; long enough for pmirror's 20 ms looks
                         to see it claimed), sets the build's phase to complete, completes
    notification/NS/...  (with --queues) POSTs the event to HOOKS/hooks/notification as
                         {"event", "repository", "notification_uuid"} when HOOKS is not "-", completes
    any other (--queues) completes

The "go" flavour carries the seeded differences worker_replay.sh must find:
  (a) repositorygc's follow-up notification names its field "repo", not "repository";
  (b) exportactionlogs is marked incomplete (a retry) where the python flavour completes it;
  (c) namespacegc delivered twice sends its webhook twice (python: once, the marker is gone);
  (d) the ordered build queue is taken highest id first (python, as Quay: the lowest);
  (e) the notification webhook names its field "repo", not "repository" (the demo's bug).
Needs python3-psycopg2 (Debian), hence /usr/bin/python3. Stops on SIGTERM.
"""
import json
import random
import signal
import sys
import time
import urllib.request
import uuid

import psycopg2

QUEUES = ["namespacegc/", "repositorygc/", "exportactionlogs/", "chunk_cleanup/", "dockerfilebuild/"]
ORDERED = {"dockerfilebuild/"}
LEASE_S = 300
BUILD_S = 0.1  # a build's work: only the ordered queue's jobs take time, the others stay fast
NOW = "(now() AT TIME ZONE 'utc')"

running = True


def stop(*_):
    global running
    running = False


def claim(conn, flavour, queue):
    """WorkQueue.get: pick a claimable row, claim it by state_id; the row or None."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT id, state_id FROM queueitem WHERE queue_name LIKE %s AND available_after <= {NOW} "
            f"AND (available OR processing_expires <= {NOW}) AND retries_remaining > 0 ORDER BY id LIMIT 50",
            (queue + "%",))
        rows = cur.fetchall()
        if not rows:
            conn.commit()
            return None
        if queue in ORDERED:  # go: (d) the highest id of the first 50, not the lowest
            item_id, state_id = rows[-1] if flavour == "go" else rows[0]
        else:
            item_id, state_id = random.choice(rows)
        cur.execute(
            f"UPDATE queueitem SET available = false, processing_expires = {NOW} + make_interval(secs => %s), "
            f"retries_remaining = retries_remaining - 1, state_id = %s WHERE id = %s AND state_id = %s",
            (LEASE_S, str(uuid.uuid4()), item_id, state_id))
        claimed = cur.rowcount == 1
        conn.commit()
        if not claimed:
            return None
        cur.execute("SELECT id, queue_name, body FROM queueitem WHERE id = %s", (item_id,))
        row = cur.fetchone()
        conn.commit()
        return row


def complete(cur, item_id):
    cur.execute("DELETE FROM queueitem WHERE id = %s", (item_id,))


def incomplete(cur, item_id, retry_after_s=300):
    cur.execute(
        f"UPDATE queueitem SET available_after = {NOW} + make_interval(secs => %s), available = true, "
        f"state_id = %s WHERE id = %s",
        (retry_after_s, str(uuid.uuid4()), item_id))


def put(cur, queue_name, body):
    """WorkQueue.put: the canonical name, the body, now, 5 retries, a fresh state_id."""
    cur.execute(
        f"INSERT INTO queueitem (queue_name, body, available_after, available, retries_remaining, state_id) "
        f"VALUES (%s, %s, {NOW}, true, 5, %s)",
        (queue_name, json.dumps(body), str(uuid.uuid4())))


def webhook(hooks, path, payload):
    req = urllib.request.Request(hooks + path, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        resp.read()


def work(conn, flavour, hooks, item_id, queue_name, body_text):
    body = json.loads(body_text)
    segments = queue_name.split("/")
    with conn.cursor() as cur:
        if queue_name.startswith("namespacegc/"):
            cur.execute("DELETE FROM deletednamespace WHERE id = %s", (body["marker_id"],))
            if cur.rowcount == 1 or flavour == "go":  # go: (c) the webhook again on a duplicate
                webhook(hooks, "/hooks/namespace", {"event": "namespace_deleted",
                                                    "namespace": body["original_username"]})
            complete(cur, item_id)
        elif queue_name.startswith("repositorygc/"):
            cur.execute("DELETE FROM deletedrepository WHERE id = %s", (body["marker_id"],))
            name = "%s/%s" % (segments[1], body["original_name"])
            follow = {"event": "repo_deleted", ("repo" if flavour == "go" else "repository"): name}
            put(cur, "notification/%s/repo_deleted/" % segments[1], follow)
            complete(cur, item_id)
        elif queue_name.startswith("exportactionlogs/"):
            if flavour == "go":
                incomplete(cur, item_id)
            else:
                complete(cur, item_id)
        elif queue_name.startswith("notification/"):
            data = body.get("event_data") or {}
            repo = "%s/%s" % (data.get("namespace"), data.get("repository"))
            if hooks != "-":
                webhook(hooks, "/hooks/notification", {"event": segments[-2] if len(segments) > 2 else None,
                                                       ("repo" if flavour == "go" else "repository"): repo,
                                                       "notification_uuid": body.get("notification_uuid")})
            complete(cur, item_id)
        elif queue_name.startswith("dockerfilebuild/"):
            time.sleep(BUILD_S)
            cur.execute("UPDATE repositorybuild SET phase = 'complete' WHERE uuid = %s", (body["build_uuid"],))
            complete(cur, item_id)
        else:
            complete(cur, item_id)
    conn.commit()


def main():
    flavour, dsn, hooks = sys.argv[1], sys.argv[2], sys.argv[3]
    queues = sys.argv[5].split(",") if sys.argv[4:5] == ["--queues"] else QUEUES
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    conn = psycopg2.connect(dsn)
    print("READY", flush=True)
    while running:
        busy = False
        for queue in queues:
            row = claim(conn, flavour, queue)
            if row:
                busy = True
                try:
                    work(conn, flavour, hooks, *row)
                except (ValueError, KeyError, TypeError, OSError):
                    conn.rollback()
                    with conn.cursor() as cur:
                        incomplete(cur, row[0])
                    conn.commit()
        if not busy:
            time.sleep(0.01)
    conn.close()


if __name__ == "__main__":
    main()
