#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The peer for bench/diff.sh: the plain way to compare two backends' answers in Python's
stdlib. For each result record: json.loads the line, take the baseline's and the
candidate's body (base64-decoded and gunzipped when the record holds `body_b64` with
gzip), json.loads both and compare with ==. No normalization: key order and whitespace
vanish in the parse, everything else (times, tokens, headers) is not looked at.

Usage: diff_peer.py RESULTS      (prints "RECORDS EQUAL DIFFERENT SECONDS")
"""
import base64
import gzip
import json
import sys
import time


def body(answer):
    if "body_b64" in answer:
        raw = base64.b64decode(answer["body_b64"])
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return answer.get("body", "")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: diff_peer.py RESULTS")
    t0 = time.perf_counter()
    records = equal = 0
    with open(sys.argv[1], "rb") as f:
        for line in f:
            rec = json.loads(line)
            sides = {a["role"]: a for a in rec["responses"].values()}
            base, cand = sides["baseline"], sides["candidate"]
            records += 1
            equal += json.loads(body(base)) == json.loads(body(cand))
    print(records, equal, records - equal, "%.3f" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
