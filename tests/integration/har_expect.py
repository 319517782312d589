#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""har_expect.py EXPECT.json CAPTURE.jsonl — checks a capture file written by
`pmirror import --har` against a hand-written expectation file (fixtures/har/*.expect.json;
its "about" member says how to read it). Python stdlib only. Prints one line per
mismatch and exits 1 when there is any."""
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import sys

MISSING = object()


def get(obj, path):
    """Value at a dotted path with [n] indexes, or MISSING."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(obj, list) or i >= len(obj):
                return MISSING
            obj = obj[i]
        else:
            if not isinstance(obj, dict) or part not in obj:
                return MISSING
            obj = obj[part]
    return obj


def main():
    expect_path, capture_path = sys.argv[1], sys.argv[2]
    spec = json.load(open(expect_path))
    key_text = open(os.path.join(os.path.dirname(expect_path), spec["key"]), "rb").read().strip()
    key = hashlib.sha256(key_text).digest()

    def redacted(secret):
        return "redacted:" + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()[:16]

    def subst(value):
        if isinstance(value, str):
            return re.sub(r"\{\{(\w+)\}\}", lambda m: redacted(spec["secrets"][m.group(1)]), value)
        if isinstance(value, list):
            return [subst(v) for v in value]
        if isinstance(value, dict):
            return {k: subst(v) for k, v in value.items()}
        return value

    records = [json.loads(line) for line in open(capture_path) if line.strip()]
    bad = []
    if len(records) != len(spec["records"]):
        bad.append("%d records, want %d" % (len(records), len(spec["records"])))
    groups = {}
    for n, (rec, want) in enumerate(zip(records, spec["records"])):
        for path, value in want.items():
            if path == "absent":
                for p in value:
                    if get(rec, p) is not MISSING:
                        bad.append("record %d: %s should be absent, is %r" % (n, p, get(rec, p)))
                continue
            if path == "session_group":
                groups.setdefault(value, set()).add(rec.get("session"))
                continue
            if path.endswith("|gunzip"):
                raw = get(rec, path[: -len("|gunzip")])
                got = MISSING if raw is MISSING else gzip.decompress(base64.b64decode(raw)).decode()
            else:
                got = get(rec, path)
            if got != subst(value):
                bad.append("record %d: %s is %r, want %r" % (n, path, got, subst(value)))
        if rec.get("id") != "%s-%s" % (rec.get("session"), rec.get("seq")):
            bad.append("record %d: id %r is not session-seq" % (n, rec.get("id")))
        if list(rec)[0] != "v" or rec["v"] != 1:
            bad.append("record %d: does not start with \"v\": 1" % n)
    for g, sessions in groups.items():
        if len(sessions) != 1:
            bad.append("session group %s spans sessions %s" % (g, sorted(map(str, sessions))))
    all_sessions = [next(iter(s)) for s in groups.values()]
    if len(set(all_sessions)) != len(all_sessions):
        bad.append("different session groups share a session: %s" % all_sessions)
    text = open(capture_path).read()
    for secret in spec.get("plain_secrets_never_written", []):
        if secret in text:
            bad.append("secret %r is in the capture file" % secret)
    for line in bad:
        print("FAIL: " + line)
    print("%d records checked, %d mismatches" % (len(records), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
