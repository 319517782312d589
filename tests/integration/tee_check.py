#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tee_check.py — client-side checks for the tee tests (Python 3 standard library only).

  compare PRIMARY_PORT TEE_PORT METHOD PATH [METHOD PATH]...
      Sends the same request straight to the primary and through the tee and compares the
      answers: status, headers in order with repeats (Date aside; the primary's hop-by-hop
      headers — Connection, Keep-Alive and the names Connection lists — must be gone, and a
      Connection header the tee adds is ignored), and the body bytes (de-chunked). One
      line per request, in order: "ok" when equal, else the difference (one Python start
      for them all). Exit 0 when all were equal, 1 otherwise.
  metrics URL
      Fetches a Prometheus text exposition and checks it line by line (HELP/TYPE before
      samples, one TYPE per family, metric and label names, label value escapes, numeric
      values, histogram buckets cumulative and ending in +Inf = _count). Prints
      {"samples": {"name{labels}": value}} as JSON; exit 1 with the first error.
  load PORT N CONNECTIONS PATH
      N GET requests over CONNECTIONS keep-alive connections (threads); prints
      {"errors": E, "p50_ms": .., "p99_ms": .., "max_ms": ..} as JSON.
"""
import http.client
import json
import re
import sys
import threading
import time
import urllib.request

HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}


def fetch(port, method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, headers={"Accept": "*/*"})
    r = c.getresponse()
    body = r.read()
    headers = r.getheaders()
    c.close()
    return r.status, headers, body


def compare(primary, tee, method, path):
    ps, ph, pb = fetch(primary, method, path)
    ts, th, tb = fetch(tee, method, path)
    listed = set()
    for k, v in ph:
        if k.lower() == "connection":
            listed |= {t.strip().lower() for t in v.split(",")}
    want = [(k, v) for k, v in ph if k.lower() != "date" and k.lower() not in HOP and k.lower() not in listed]
    got = [(k, v) for k, v in th if k.lower() not in ("date", "connection")]
    problems = []
    if ps != ts:
        problems.append("status %d, want %d" % (ts, ps))
    if want != got:
        problems.append("headers %r, want %r" % (got, want))
    if pb != tb:
        problems.append("body %d bytes, want %d" % (len(tb), len(pb)))
    if problems:
        print("%s %s: %s" % (method, path, "; ".join(problems)))
        return 1
    return 0


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def check_metrics(url):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    types, samples, helped = {}, {}, set()
    buckets = {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if name in types:
                return "line %d: second TYPE for %s" % (n, name)
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                return "line %d: bad type %s" % (n, kind)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            return "line %d: not a sample: %r" % (n, line)
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if types.get(re.sub(r"_(bucket|sum|count)$", "", name)) == "histogram" else name
        if family not in types:
            return "line %d: %s has no TYPE before it" % (n, name)
        if family not in helped:
            return "line %d: %s has no HELP" % (n, name)
        pos, parsed = 0, []
        while pos < len(labels):
            lm = LABEL.match(labels, pos)
            if not lm:
                return "line %d: bad labels %r" % (n, labels)
            parsed.append((lm.group(1), lm.group(2)))
            pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            return "line %d: bad value %r" % (n, value)
        if types[family] == "counter" and v < 0:
            return "line %d: negative counter" % n
        samples["%s{%s}" % (name, labels)] = v
        if name.endswith("_bucket"):
            key = (family, tuple(p for p in parsed if p[0] != "le"))
            buckets.setdefault(key, []).append((dict(parsed)["le"], v))
    for (family, labels), bs in buckets.items():
        values = [v for _, v in bs]
        if values != sorted(values):
            return "%s%r: buckets not cumulative" % (family, labels)
        if bs[-1][0] != "+Inf":
            return "%s%r: last bucket is not +Inf" % (family, labels)
        lab = ",".join('%s="%s"' % p for p in labels)
        if samples.get("%s_count{%s}" % (family, lab)) != bs[-1][1]:
            return "%s%r: +Inf bucket != _count" % (family, labels)
    print(json.dumps({"samples": samples}))
    return None


def load(port, n, conns, path):
    lat, errors, lock = [], [0], threading.Lock()
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(k):
            t0 = time.perf_counter()
            try:
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                ok = r.status < 500
            except Exception:
                ok = False
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lat.append(dt)
                if not ok:
                    errors[0] += 1
        c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(json.dumps({"errors": errors[0], "n": len(lat), "p50_ms": round(q(0.5), 3), "p99_ms": round(q(0.99), 3),
                      "max_ms": round(lat[-1], 3)}))


def main():
    cmd = sys.argv[1]
    if cmd == "compare":
        pairs, failed = sys.argv[4:], 0
        for i in range(0, len(pairs) - 1, 2):
            method, path = pairs[i], pairs[i + 1]
            try:
                bad = compare(int(sys.argv[2]), int(sys.argv[3]), method, path)
            except Exception as e:  # the next requests are still compared
                print("%s %s: %s" % (method, path, e))
                bad = 1
            if not bad:
                print("ok")
            failed += bad
        sys.exit(1 if failed or len(pairs) % 2 else 0)
    if cmd == "metrics":
        err = check_metrics(sys.argv[2])
        if err:
            print(err)
            sys.exit(1)
        return
    if cmd == "load":
        load(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
