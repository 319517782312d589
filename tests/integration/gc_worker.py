#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gc_worker.py — a scheduled garbage collector for the worker-run tests and the demo, in two
flavours, run once per `pmirror worker --run gcworker@SNAPSHOT` on a copy of the snapshot.

    gc_worker.py python|go [--exit N] [--sleep S]

Reads PMIRROR_DSN (the copy) and PMIRROR_EFFECTS (the effects sink, may be empty) as pmirror
sets them. One pass, like gcworker's: tags whose lifetime ended before the cut-off (1000 ms
after the epoch, so the snapshot's data decides, not the clock) are deleted, then the manifests
no tag references; each deleted manifest's digest is enqueued for chunk cleanup as Quay's
producer would ('chunk_cleanup/'), and one webhook reports what was collected.

The "go" flavour has one seeded difference: it compares the cut-off with <=, so a tag that
ended exactly at the cut-off is collected too (and its manifest with it).
--exit N ends with status N after the pass; --sleep S waits S seconds first (for timeouts).
"""
import json
import os
import sys
import time
import urllib.request

import psycopg2

CUTOFF_MS = 1000


def main():
    flavour = sys.argv[1] if len(sys.argv) > 1 else ""
    if flavour not in ("python", "go"):
        sys.exit("usage: gc_worker.py python|go [--exit N] [--sleep S]")
    args = sys.argv[2:]
    status = int(args[args.index("--exit") + 1]) if "--exit" in args else 0
    if "--sleep" in args:
        time.sleep(float(args[args.index("--sleep") + 1]))
    dsn = os.environ["PMIRROR_DSN"]
    effects = os.environ.get("PMIRROR_EFFECTS", "")
    op = "<=" if flavour == "go" else "<"
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(f"DELETE FROM tag WHERE lifetime_end_ms IS NOT NULL AND lifetime_end_ms {op} %s RETURNING id",
                    (CUTOFF_MS,))
        tags = sorted(r[0] for r in cur.fetchall())
        cur.execute("DELETE FROM manifest m WHERE NOT EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id) "
                    "RETURNING digest")
        digests = sorted(r[0] for r in cur.fetchall())
        for digest in digests:
            cur.execute("INSERT INTO queueitem (queue_name, body, available_after, available, retries_remaining, "
                        "state_id) VALUES ('chunk_cleanup/', %s, now() AT TIME ZONE 'utc', true, 5, "
                        "md5(random()::text))", (json.dumps({"location": "local_us", "path": digest}),))
    conn.close()
    print(f"collected {len(tags)} tags, {len(digests)} manifests", flush=True)
    if effects:
        body = json.dumps({"event": "gc_done", "tags": len(tags), "manifests": digests}).encode()
        req = urllib.request.Request(effects + "/hooks/gc", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
    if status:
        print("gc: exiting with", status, file=sys.stderr, flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
