#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen_results.py — the result file bench/diff.sh diffs: RECORDS Quay-shaped GET exchanges
answered by two targets, `python` (baseline) and `go` (candidate), written directly as
result records (JSON Lines, DESIGN.md "Files").

Bodies: 1-20 KiB of JSON (log-uniform, so most answers are small, as API answers are),
from six routes: /v2 tag lists (20%), /v2 manifests (10%), /api/v1 repositories with
their tags (25%), /api/v1 tag pages (20%), organization robots (15%), repository logs
(10%). Each side is encoded the way its server's encoder does it:
  python  json.dumps(obj): ", " and ": ", keys in insertion order, non-ASCII as \\uXXXX,
          integral floats as 3.0;
  go      encoding/json of a map: compact, keys sorted, UTF-8 as is, <, > and & as \\u003c
          \\u003e \\u0026, integral floats as 3, a trailing newline (json.Encoder).
Manifests are stored bytes: both sides serve the same text (byte-equal).
Values that legitimately differ, each covered by a rule of config/quay/rules.yaml: times
in the same format but another value (last_modified, created, last_accessed, datetime and
the logs' start_time/end_time as RFC 2822; start_ts as epoch seconds), api/v1 next_page
tokens, Date and Server headers,
Content-Length, and gzip: each side independently sends ~15% of its bodies gzipped
(`body_b64`, Content-Encoding: gzip).
Real differences: ~2% of the records (DIFF_SHARE) get one change on the Go side — a value
changed, a key missing (omitempty), or a list turned null (a nil slice) — never on a field
a rule covers, so each of them must be a mismatch and every other record a match.

Bodies come from a pool of POOL pairs built once with a fixed seed (the pool is the same
whatever RECORDS is); records pick from it, so the file is deterministic and quick to write.

Usage: gen_results.py OUT.jsonl RECORDS [--expect FILE] [--rules RULES.yaml]
       (prints "RECORDS CHANGED FILE_BYTES BODY_BYTES GZIPPED BYTE_EQUAL"; BODY_BYTES are the
       decoded bodies of both sides; --expect writes the ids of the changed records, one a
       line with the change: "ID KIND PATH")
"""
import argparse
import base64
import copy
import datetime
import gzip
import hashlib
import json
import math
import os
import random
import re
import sys

SEED = 20261107
POOL = 1500
DIFF_SHARE = 0.02
GZIP_SHARE = 0.15
SIZE = (1024, 19968)           # python-side text; the last item may pass it by a few hundred bytes
BASE = datetime.datetime(2026, 11, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)
PREFIX = "7b3e1d02"
HOST = "quay.example"
PER_SESSION = 40
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "quay", "rules.yaml")
# Keys whose values a rule absorbs are never the site of a real change: these, and every key
# a path rule of the profile's rules.yaml ends in (read when the file is written).
RULED = {"start_ts", "end_ts", "last_modified", "expiration", "created", "last_accessed", "datetime",
         "started", "next_page", "token", "access_token", "csrf_token", "start_time", "end_time"}

ORGS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "cyberdyne",
        "soylent", "wonka", "oscorp"]
REPOS = ["app", "api", "web", "worker", "db-migrate", "frontend", "backend", "nginx", "redis",
         "postgres", "builder", "scanner", "gateway", "auth", "billing"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
DESCRIPTIONS = ["Builds for Zürich & <b>prod</b>", "The API gateway (façade) — internal",
                "Nightly images; see <https://wiki.example/ci>", "Worker pool for São Paulo",
                "Migration jobs & schema checks", ""]
LOG_KINDS = ["pull_repo", "push_repo", "create_tag", "delete_tag", "change_tag_expiration"]
# kind -> (share, target pattern, family, capability, switch, cap_switch, route_id)
ROUTES = {
    "v2_tags": (20, "/v2/{org}/{repo}/tags/list", "REGISTRY_V2", "V2_TAGS_LIST",
                "ROUTE_OWNER_FAMILY_REGISTRY_V2", "ROUTE_OWNER_CAP_V2_PULL", "ROUTE-0335"),
    "manifest": (10, "/v2/{org}/{repo}/manifests/{tag}", "REGISTRY_V2", "V2_MANIFEST_PULL",
                 "ROUTE_OWNER_FAMILY_REGISTRY_V2", "ROUTE_OWNER_CAP_V2_PULL", "ROUTE-0327"),
    "api_repo": (25, "/api/v1/repository/{org}/{repo}?includeTags=true", "API_V1", "API_REPOSITORY_READ",
                 "ROUTE_OWNER_FAMILY_API_V1", None, "ROUTE-0106"),
    "api_tags": (20, "/api/v1/repository/{org}/{repo}/tag/?limit=100&page={page}&onlyActiveTags=true", "API_V1",
                 "API_TAG_READ", "ROUTE_OWNER_FAMILY_API_V1", None, "ROUTE-0153"),
    "robots": (15, "/api/v1/organization/{org}/robots?permissions=true", "API_V1", "API_ROBOT_READ",
               "ROUTE_OWNER_FAMILY_API_V1", None, "ROUTE-0080"),
    "logs": (10, "/api/v1/repository/{org}/{repo}/logs", "API_V1", "API_LOGS_READ",
             "ROUTE_OWNER_FAMILY_API_V1", None, "ROUTE-0131"),
}
KINDS = list(ROUTES)


# ---------------------------------------------------------------- the two encoders

def python_json(obj):
    return json.dumps(obj)


def _go_numbers(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _go_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_go_numbers(x) for x in v]
    return v


def go_json(obj):
    text = json.dumps(_go_numbers(obj), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    # <, > and & only occur inside strings in JSON text: escape them as Go's HTMLEscape does.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


# ---------------------------------------------------------------- Quay-shaped bodies

def rfc2822(t):
    return t.strftime("%a, %d %b %Y %H:%M:%S -0000")


def when(rng):
    return BASE - datetime.timedelta(seconds=rng.randint(0, 90 * 86400))


def digest(rng):
    return "sha256:%064x" % rng.getrandbits(256)


def grow(obj, items, make_item, size, rng):
    """Appends make_item(rng) to the list `items` until python_json(obj) is >= size bytes."""
    while True:
        have = len(python_json(obj))
        if have >= size:
            return
        item = make_item(rng)
        items.append(item)
        each = len(python_json(item)) + 2
        for _ in range(max(0, (size - have) * 9 // 10 // each - 1)):  # most of the gap; then one by one
            items.append(make_item(rng))


def shift(t, rng):
    """The same moment as another database stored it: seconds to hours away."""
    return t + datetime.timedelta(seconds=rng.choice([1, 7, 59, 3600, 7200]))


def v2_tags(rng, size, org, repo):
    obj = {"name": "%s/%s" % (org, repo), "tags": []}
    grow(obj, obj["tags"], lambda r: "v%d.%d.%d-%08x" % (r.randint(0, 9), r.randint(0, 30), r.randint(0, 99),
                                                          r.getrandbits(32)), size, rng)
    return obj, obj


def manifest(rng, size, org, repo):
    obj = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(rng), "size": 7023},
           "layers": [],
           "annotations": {"org.opencontainers.image.source": "https://git.example/%s/%s" % (org, repo)}}
    grow(obj, obj["layers"], lambda r: {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                        "digest": digest(r), "size": r.randint(1000, 90000000)}, size, rng)
    return obj, obj


def api_repo(rng, size, org, repo):
    times = {}

    def tag(r):
        t = when(r)
        name = "v%d.%d.%d" % (r.randint(0, 9), r.randint(0, 99), r.randint(0, 999))
        times[name] = t  # the last of a repeated name wins, as in the dict below
        return {"name": name, "size": r.randint(1000, 900000000), "last_modified": rfc2822(t),
                "manifest_digest": digest(r)}

    obj = {"namespace": org, "name": repo, "kind": "image", "description": rng.choice(DESCRIPTIONS),
           "is_public": rng.random() < 0.3, "is_organization": True, "is_starred": False, "status_token": "",
           "trust_enabled": False, "tag_expiration_s": 1209600, "can_write": True, "can_admin": False,
           "state": "NORMAL", "popularity": float(rng.randint(0, 40)), "is_free_account": False, "tags": []}
    grow(obj, obj["tags"], tag, size, rng)  # sized as a list, then keyed by name as Quay returns them
    obj["tags"] = {t["name"]: t for t in obj["tags"]}
    go = copy.deepcopy(obj)
    for name, t in go["tags"].items():
        t["last_modified"] = rfc2822(shift(times[name], rng))
    return obj, go


def api_tags(rng, size, org, repo):
    starts = []

    def tag(r):
        t = when(r)
        starts.append(t)
        return {"name": "v%d.%d.%d" % (r.randint(0, 9), r.randint(0, 99), r.randint(0, 999)), "reviewed": False,
                "manifest_digest": digest(r), "is_manifest_list": r.random() < 0.2,
                "size": r.randint(1000, 900000000), "last_modified": rfc2822(t), "start_ts": int(t.timestamp())}

    obj = {"tags": [], "page": rng.randint(1, 5), "has_additional": rng.random() < 0.5}
    grow(obj, obj["tags"], tag, size, rng)
    go = copy.deepcopy(obj)
    for t, s in zip(go["tags"], starts):
        moved = shift(s, rng)
        t["last_modified"], t["start_ts"] = rfc2822(moved), int(moved.timestamp())
    return obj, go


def robots(rng, size, org, repo):
    times = []

    def robot(r):
        made, seen = when(r), when(r)
        times.append((made, seen))
        return {"name": "%s+bot%04d" % (org, r.randint(0, 9999)), "created": rfc2822(made),
                "last_accessed": rfc2822(seen), "description": r.choice(DESCRIPTIONS),
                "unstructured_metadata": {}, "teams": [],
                "repositories": r.sample(REPOS, r.randint(0, 4))}

    obj = {"robots": []}
    grow(obj, obj["robots"], robot, size, rng)
    go = copy.deepcopy(obj)
    for b, (made, seen) in zip(go["robots"], times):
        b["created"], b["last_accessed"] = rfc2822(shift(made, rng)), rfc2822(shift(seen, rng))
    return obj, go


def logs(rng, size, org, repo):
    times = []

    def entry(r):
        t = when(r)
        times.append(t)
        user = r.choice(USERS)
        return {"kind": r.choice(LOG_KINDS),
                "metadata": {"repo": repo, "namespace": org, "tag": "v%d.%d" % (r.randint(0, 9), r.randint(0, 99)),
                             "username": user},
                "ip": "10.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)),
                "datetime": rfc2822(t),
                "performer": {"kind": "user", "name": user, "is_robot": False,
                              "avatar": {"name": user, "hash": "%032x" % r.getrandbits(128),
                                         "color": "#%06x" % r.getrandbits(24), "kind": "user"}}}

    end = when(rng)
    obj = {"start_time": rfc2822(end - datetime.timedelta(days=30)), "end_time": rfc2822(end), "logs": []}
    grow(obj, obj["logs"], entry, size, rng)
    obj["next_page"] = "gAAAAAB" + base64.urlsafe_b64encode(rng.randbytes(96)).decode()
    go = copy.deepcopy(obj)
    for e, t in zip(go["logs"], times):
        e["datetime"] = rfc2822(shift(t, rng))
    go["next_page"] = "gAAAAAB" + base64.urlsafe_b64encode(rng.randbytes(96)).decode()
    go["start_time"] = rfc2822(shift(end - datetime.timedelta(days=30), rng))  # the window is "now"-based
    go["end_time"] = rfc2822(shift(end, rng))
    return obj, go


BUILDERS = {"v2_tags": v2_tags, "manifest": manifest, "api_repo": api_repo, "api_tags": api_tags,
            "robots": robots, "logs": logs}


class Answer:
    """One route's answer as each side encodes it, with its gzip form made on first use."""

    def __init__(self, kind, org, repo, tag, page, py_obj, go_obj):
        self.kind, self.org, self.repo, self.tag, self.page = kind, org, repo, tag, page
        self.go_obj = go_obj
        self.text = {"python": python_json(py_obj)}
        # Manifests are stored bytes: the Go registry serves exactly what Python stored.
        self.text["go"] = self.text["python"] if kind == "manifest" else go_json(go_obj)
        self.gz = {}

    def gzipped(self, side):
        if side not in self.gz:
            self.gz[side] = gzip.compress(self.text[side].encode(), compresslevel=6, mtime=0)
        return self.gz[side]


def make_pool():
    rng = random.Random(SEED)
    pool = {k: [] for k in KINDS}
    lo, hi = math.log(SIZE[0]), math.log(SIZE[1])
    for i in range(POOL):
        kind = KINDS[i % len(KINDS)]
        org, repo = rng.choice(ORGS), rng.choice(REPOS)
        tag, page = rng.choice(["latest", "v1.2.3", "stable", "canary"]), rng.randint(1, 5)
        size = int(math.exp(rng.uniform(lo, hi)))
        py_obj, go_obj = BUILDERS[kind](rng, size, org, repo)
        pool[kind].append(Answer(kind, org, repo, tag, page, py_obj, go_obj))
    return pool


# ---------------------------------------------------------------- real differences

def ruled_keys(rules_path):
    """The last key of every `path:` of the rules file (`$..start_ts`, `$.end_time`)."""
    keys = set()
    with open(rules_path) as f:
        for line in f:
            m = re.match(r"\s*- \{.*\bpath: \$[^,}]*?\.(\w+)\s*[,}]", line)
            if m:
                keys.add(m.group(1))
    return keys


def sites(obj, path="$"):
    """(container, key, path) of every value not covered by a rule."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for k, v in items:
        if k in RULED:
            continue
        p = "%s.%s" % (path, k) if isinstance(obj, dict) else "%s[%d]" % (path, k)
        yield obj, k, p
        if isinstance(v, (dict, list)):
            yield from sites(v, p)


def change(answer, rng):
    """The Go side's answer with one real difference: (text, kind, path)."""
    obj = copy.deepcopy(answer.go_obj)
    all_sites = list(sites(obj))
    lists = [s for s in all_sites if isinstance(s[0][s[1]], list)]
    keys = [s for s in all_sites if isinstance(s[0], dict) and not isinstance(s[0][s[1]], (dict, list))]
    scalars = [s for s in all_sites if not isinstance(s[0][s[1]], (dict, list))]
    kind = rng.choice(["value", "value", "missing", "null"])
    if kind == "null" and lists:
        empty = [s for s in lists if not s[0][s[1]]]
        parent, key, path = rng.choice(empty or lists)  # Go's nil slice: null where Python has []
        parent[key] = None
    elif kind == "missing" and keys:
        parent, key, path = rng.choice(keys)  # omitempty
        del parent[key]
    else:
        kind = "value"
        parent, key, path = rng.choice(scalars)
        v = parent[key]
        if isinstance(v, bool):
            parent[key] = not v
        elif isinstance(v, (int, float)):
            parent[key] = v + 1
        elif v is None:
            parent[key] = ""
        else:
            parent[key] = v + "-go" if v else "go"
    text = python_json(obj) if answer.kind == "manifest" else go_json(obj)
    return text, kind, path


# ---------------------------------------------------------------- result records

def rfc3339(at_us):
    t = BASE + datetime.timedelta(microseconds=at_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


def http_date(at_us):
    return (BASE + datetime.timedelta(microseconds=at_us)).strftime("%a, %d %b %Y %H:%M:%S GMT")


def response(role, server, content_type, raw, gzipped, at_us, latency):
    headers = [["Content-Type", content_type], ["Date", http_date(at_us + latency)], ["Server", server]]
    if gzipped:
        headers.append(["Content-Encoding", "gzip"])
    headers.append(["Content-Length", str(len(raw))])
    r = {"role": role, "status": 200, "headers": headers}
    if gzipped:
        r["body_b64"] = base64.b64encode(raw).decode()
    else:
        r["body"] = raw.decode()
    r.update(body_len=len(raw), body_sha256=hashlib.sha256(raw).hexdigest(), latency_us=latency,
             done_us=latency + len(raw) // 50, error=None)
    return r


def write_results(path, records, expect_path):
    pool = make_pool()
    rng = random.Random(SEED + 1)
    shares = [ROUTES[k][0] for k in KINDS]
    picks = rng.choices(KINDS, shares, k=records)
    changed = file_bytes = body_bytes = gzipped = byte_equal = 0
    expect = open(expect_path, "w") if expect_path else None
    with open(path, "w", encoding="utf-8") as out:
        buf = []
        for i, kind in enumerate(picks):
            a = rng.choice(pool[kind])
            _, pattern, family, cap, switch, cap_switch, route_id = ROUTES[kind]
            session = "%s-%d" % (PREFIX, i // PER_SESSION)
            seq = i % PER_SESSION
            at = i * 250
            rec = {"v": 1, "id": "%s-%d" % (session, seq), "ts": rfc3339(at), "session": session, "seq": seq,
                   "family": family, "capability": cap, "switch": switch, "cap_switch": cap_switch,
                   "route_id": route_id,
                   "cohort": {"org": a.org, "repo": None if kind == "robots" else "%s/%s" % (a.org, a.repo),
                              "user": None},
                   "mutating": False,
                   "request": {"method": "GET",
                               "target": pattern.format(org=a.org, repo=a.repo, tag=a.tag, page=a.page),
                               "version": "HTTP/1.1",
                               "headers": [["Host", HOST], ["User-Agent", "python-requests/2.31.0"],
                                           ["Accept", "application/json"]],
                               "body_len": 0, "complete": True}}
            go_text = None
            if rng.random() < DIFF_SHARE:
                go_text, how, where = change(a, rng)
                changed += 1
                if expect:
                    expect.write("%s %s %s\n" % (rec["id"], how, where))
            ctype = "application/vnd.oci.image.manifest.v1+json" if kind == "manifest" else "application/json"
            texts = {"python": a.text["python"], "go": go_text if go_text is not None else a.text["go"]}
            byte_equal += texts["python"] == texts["go"]
            responses = {}
            for side, role, server in (("python", "baseline", "gunicorn"), ("go", "candidate", "go")):
                zipped = rng.random() < GZIP_SHARE
                raw = texts[side].encode()
                body_bytes += len(raw)
                if zipped:
                    raw = a.gzipped(side) if side == "python" or go_text is None else \
                        gzip.compress(raw, compresslevel=6, mtime=0)
                    gzipped += 1
                responses[side] = response(role, server, ctype, raw, zipped, at, rng.randint(800, 40000))
            rec["responses"] = responses
            line = json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n"
            buf.append(line)
            if len(buf) >= 512:
                chunk = "".join(buf)
                file_bytes += len(chunk.encode())
                out.write(chunk)
                buf = []
        chunk = "".join(buf)
        file_bytes += len(chunk.encode())
        out.write(chunk)
    if expect:
        expect.close()
    return changed, file_bytes, body_bytes, gzipped, byte_equal


def main():
    ap = argparse.ArgumentParser(description="Writes a result file of Quay-shaped exchanges for bench/diff.sh.")
    ap.add_argument("out")
    ap.add_argument("records", type=int)
    ap.add_argument("--expect", help="also write the ids of the records given a real difference")
    ap.add_argument("--rules", default=RULES, help="the rules whose paths real differences avoid (default: %(default)s)")
    a = ap.parse_args()
    if a.records < 1:
        sys.exit("gen_results.py: RECORDS must be positive")
    RULED.update(ruled_keys(a.rules))
    changed, size, body_bytes, gzipped, byte_equal = write_results(a.out, a.records, a.expect)
    print(a.records, changed, size, body_bytes, gzipped, byte_equal)


if __name__ == "__main__":
    main()
