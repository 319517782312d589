#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""har_check.py FILE.har [--entries N] — checks that a file is a HAR 1.2 document that
HAR viewers accept: every object and key the spec (http://www.softwareishard.com/blog/
har-12-spec/) requires, with its type; times as ISO 8601; URLs absolute; `time` equal to
the sum of the timings that apply; base64 text that decodes; custom keys only with a
leading underscore. Python stdlib only. Prints one line per problem; exit 1 if any."""
import base64
import datetime
import gzip
import json
import sys
import urllib.parse

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def need(obj, key, types, where, optional=False):
    if not isinstance(obj, dict):
        bad(where, "not an object")
        return None
    if key not in obj:
        if not optional:
            bad(where, "missing %r" % key)
        return None
    value = obj[key]
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)))
    if not ok:
        bad(where, "%r is %s, want %s" % (key, type(value).__name__, types))
        return None
    return value


def only_known(obj, known, where):
    for k in obj if isinstance(obj, dict) else ():
        if k not in known and not k.startswith("_") and k != "comment":
            bad(where, "unknown key %r (custom keys start with '_')" % k)


def iso_time(text, where):
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        bad(where, "startedDateTime %r is not ISO 8601" % text)


def pairs(lst, where):
    for i, p in enumerate(lst or []):
        need(p, "name", str, "%s[%d]" % (where, i))
        need(p, "value", str, "%s[%d]" % (where, i))


NUM = (int, float)


def check_entry(e, where):
    only_known(e, {"pageref", "startedDateTime", "time", "request", "response", "cache", "timings",
                   "serverIPAddress", "connection"}, where)
    started = need(e, "startedDateTime", str, where)
    if started:
        iso_time(started, where)
    total = need(e, "time", NUM, where)
    req = need(e, "request", dict, where)
    resp = need(e, "response", dict, where)
    need(e, "cache", dict, where)
    timings = need(e, "timings", dict, where)
    need(e, "connection", str, where, optional=True)
    if req is not None:
        w = where + ".request"
        only_known(req, {"method", "url", "httpVersion", "cookies", "headers", "queryString", "postData",
                         "headersSize", "bodySize"}, w)
        need(req, "method", str, w)
        url = need(req, "url", str, w)
        if url:
            u = urllib.parse.urlsplit(url)
            if u.scheme not in ("http", "https") or not u.netloc:
                bad(w, "url %r is not an absolute http(s) URL" % url)
        need(req, "httpVersion", str, w)
        need(req, "cookies", list, w)
        pairs(need(req, "headers", list, w), w + ".headers")
        pairs(need(req, "queryString", list, w), w + ".queryString")
        need(req, "headersSize", int, w)
        need(req, "bodySize", int, w)
        post = need(req, "postData", dict, w, optional=True)
        if post is not None:
            need(post, "mimeType", str, w + ".postData")
            text = need(post, "text", str, w + ".postData", optional=True)
            if post.get("encoding") == "base64" and text is not None:
                try:
                    base64.b64decode(text, validate=True)
                except ValueError:
                    bad(w + ".postData", "text is not base64")
    if resp is not None:
        w = where + ".response"
        only_known(resp, {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
                          "headersSize", "bodySize"}, w)
        need(resp, "status", int, w)
        need(resp, "statusText", str, w)
        need(resp, "httpVersion", str, w)
        need(resp, "cookies", list, w)
        pairs(need(resp, "headers", list, w), w + ".headers")
        content = need(resp, "content", dict, w)
        if content is not None:
            need(content, "size", int, w + ".content")
            need(content, "mimeType", str, w + ".content")
            need(content, "compression", int, w + ".content", optional=True)
            text = need(content, "text", str, w + ".content", optional=True)
            enc = need(content, "encoding", str, w + ".content", optional=True)
            if enc == "base64" and text is not None:
                try:
                    base64.b64decode(text, validate=True)
                except ValueError:
                    bad(w + ".content", "text is not base64")
        need(resp, "redirectURL", str, w)
        need(resp, "headersSize", int, w)
        need(resp, "bodySize", int, w)
    if timings is not None:
        w = where + ".timings"
        total_parts = 0.0
        for k in ("send", "wait", "receive"):
            v = need(timings, k, NUM, w)
            if v is not None and v < 0:
                bad(w, "%s is negative" % k)
            total_parts += v or 0
        for k in ("blocked", "dns", "connect", "ssl"):
            v = need(timings, k, NUM, w, optional=True)
            if v is not None and v < -1:
                bad(w, "%s below -1" % k)
            if v is not None and v > 0 and k != "ssl":  # ssl is part of connect
                total_parts += v
        if total is not None and abs(total - total_parts) > 0.0015:
            bad(where, "time %s is not the sum of the timings %s" % (total, total_parts))


def main():
    path = sys.argv[1]
    want_entries = int(sys.argv[sys.argv.index("--entries") + 1]) if "--entries" in sys.argv else None
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        doc = json.loads(raw)
    except ValueError as e:
        print("FAIL: %s: not JSON: %s" % (path, e))
        return 1
    log = need(doc, "log", dict, "document")
    if log is not None:
        only_known(log, {"version", "creator", "browser", "pages", "entries"}, "log")
        if need(log, "version", str, "log") != "1.2":
            bad("log", "version is not '1.2'")
        creator = need(log, "creator", dict, "log")
        if creator is not None:
            need(creator, "name", str, "log.creator")
            need(creator, "version", str, "log.creator")
        entries = need(log, "entries", list, "log") or []
        for i, e in enumerate(entries):
            check_entry(e, "log.entries[%d]" % i)
        if want_entries is not None and len(entries) != want_entries:
            bad("log", "%d entries, want %d" % (len(entries), want_entries))
    for p in problems:
        print("FAIL: %s: %s" % (path, p))
    print("%s: %d problems" % (path, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
