#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The peer for bench/classify.sh: the same capability map classified the plain way in
Python's stdlib `re` (every route of the method, most specific first, first match wins).
Prints the median nanoseconds per request over ROUNDS passes, the request count and how
many matched, like bench_classify."""
import re
import sys
import time


def load(path):
    types, routes = {}, []
    section = family = capability = None
    for line in open(path):
        if line.startswith("types:"):
            section = "types"
        elif line.startswith("families:"):
            section = "families"
        elif section == "types" and line.startswith("  ") and ":" in line:
            k, v = line.strip().split(": ", 1)
            types[k] = v.strip("'").replace("''", "'")
        elif section == "families":
            m = re.match(r"  (\w+):$", line)
            if m:
                family = m.group(1)
            m = re.match(r"      (\w+):$", line)
            if m:
                capability = m.group(1)
            m = re.match(r"\s+- \{id: ([^,]+), method: (\w+), path: '([^']*)'", line)
            if m:
                routes.append((m.group(1), m.group(2), m.group(3), family, capability))
    compiled = {}
    for order, (rid, method, path, fam, cap) in enumerate(routes):
        lit = greedy = nvars = 0
        out = ""
        for part in re.split(r"(\{[^}]*\})", path):
            if part.startswith("{"):
                name, _, typ = part[1:-1].partition(":")
                typ = typ or "segment"
                out += "(?P<%s>%s)" % (name, types[typ])
                nvars += 1
                greedy += typ != "segment" and "/" in types[typ]
            else:
                out += re.escape(part)
                lit += len(part)
        key = (-lit, greedy, nvars, order)
        compiled.setdefault(method, []).append((key, re.compile(out + r"\Z"), rid, fam, cap))
    for v in compiled.values():
        v.sort(key=lambda r: r[0])
    return compiled


def classify(table, method, target):
    path = target.split("?", 1)[0]
    for methods in ((method, "GET") if method == "HEAD" else (method,)):
        for _, rx, rid, fam, cap in table.get(methods, ()):
            m = rx.match(path)
            if m:
                return fam, cap, rid, m.groupdict().get("repository")
    return None


def main():
    table = load(sys.argv[1])
    reqs = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[2]) if " " in l]
    rounds = int(sys.argv[3])
    per, matched = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for method, target in reqs:
            matched += classify(table, method, target) is not None
        per.append((time.perf_counter_ns() - t0) / len(reqs))
    per.sort()
    print("%.0f %d %d" % (per[len(per) // 2], len(reqs), matched // rounds))


if __name__ == "__main__":
    main()
