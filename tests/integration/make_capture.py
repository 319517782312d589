#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_capture.py OUT [SPEC] — writes a capture file (DESIGN.md "Files": one capture
record per line, first key "v": 1) from a compact spec, so a test states exactly the
timing (ts and done_us decide the replay's causal order) and the flags it needs.

SPEC is a JSON list (the argument, or stdin when absent or "-"); records are written in
list order (which is the file order, not necessarily request order). Each item is an
object; every key is optional:
  id        record id                     (default "x<index>")
  session   connection id                 (default "c<index>": one connection each)
  seq       order within the connection   (default 0)
  at_us     request start, µs after 2026-11-01T10:00:00Z (default index * 10000)
  ts        the RFC 3339 ts itself (overrides at_us)
  method    (default GET)    target (default /ok)    version (default HTTP/1.1)
  headers   [[name, value], ...]  (default Host quay.example.test + User-Agent)
  add_headers  pairs appended to the default headers
  body      request body text;   body_b64  request body as base64
  mutating  (default: method not GET/HEAD/OPTIONS)
  family, capability, switch      (default UNKNOWN, UNKNOWN, null)
  org, repo, user                 cohort (org defaults to repo's first path part)
  status    recorded response status (default 200); null = no recorded response
  resp_headers, resp_body         recorded response headers / body text
  latency_us, done_us             (default 500, 1000) from ts
  extra     object merged into the record last (anything else a test needs)
Output ending in .gz is gzip. Python 3 standard library only.
"""
import base64
import datetime
import gzip
import json
import sys

BASE = datetime.datetime(2026, 11, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)
SAFE = ("GET", "HEAD", "OPTIONS")


def rfc3339(at_us):
    t = BASE + datetime.timedelta(microseconds=at_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


def record(i, spec):
    method = spec.get("method", "GET")
    headers = spec.get("headers", [["Host", "quay.example.test"], ["User-Agent", "make_capture/1"]])
    headers = [list(h) for h in headers] + [list(h) for h in spec.get("add_headers", [])]
    repo = spec.get("repo")
    org = spec.get("org", repo.split("/")[0] if repo else None)
    request = {"method": method, "target": spec.get("target", "/ok"), "version": spec.get("version", "HTTP/1.1"),
               "headers": headers}
    if "body" in spec:
        request["body"] = spec["body"]
        request["body_len"] = len(spec["body"].encode())
    elif "body_b64" in spec:
        request["body_b64"] = spec["body_b64"]
        request["body_len"] = len(base64.b64decode(spec["body_b64"]))
    else:
        request["body_len"] = 0
    request["complete"] = True
    rec = {
        "v": 1,
        "id": spec.get("id", "x%d" % i),
        "ts": spec.get("ts") or rfc3339(spec.get("at_us", i * 10000)),
        "session": spec.get("session", "c%d" % i),
        "seq": spec.get("seq", 0),
        "family": spec.get("family", "UNKNOWN"),
        "capability": spec.get("capability", "UNKNOWN"),
        "switch": spec.get("switch"),
        "mutating": spec.get("mutating", method not in SAFE),
        "cohort": {"org": org, "repo": repo, "user": spec.get("user")},
        "request": request,
    }
    if spec.get("status", 200) is not None:
        body = spec.get("resp_body", '{"recorded":true}')
        rec["response"] = {
            "status": spec.get("status", 200),
            "headers": [list(h) for h in spec.get("resp_headers", [["Content-Type", "application/json"],
                                                                    ["Content-Length", str(len(body.encode()))]])],
            "body": body,
            "body_len": len(body.encode()),
            "complete": True,
            "latency_us": spec.get("latency_us", 500),
            "done_us": spec.get("done_us", 1000),
        }
    rec.update(spec.get("extra", {}))
    return rec


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: make_capture.py OUT [SPEC_JSON|-]\n")
        return 2
    text = sys.argv[2] if len(sys.argv) == 3 and sys.argv[2] != "-" else sys.stdin.read()
    specs = json.loads(text)
    lines = "".join(json.dumps(record(i, s), separators=(",", ":")) + "\n" for i, s in enumerate(specs))
    out = sys.argv[1]
    if out.endswith(".gz"):
        with gzip.open(out, "wt", encoding="utf-8") as f:
            f.write(lines)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
