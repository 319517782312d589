#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen_capture.py — the capture bench/replay.sh replays: EXCHANGES Quay-shaped GET
exchanges written directly as capture records (JSON Lines, DESIGN.md "capture record"),
and, on request, the docroot a static server answers them from and a URL list for wrk.

Routes: for every org/repo of gen_pcap.py's names, ten tag manifests
(/v2/<org>/<repo>/manifests/<tag>), the tag list (/v2/<org>/<repo>/tags/list) and the
repository (/api/v1/repository/<org>/<repo>?includeTags=true): JSON of 1-8 KiB each,
built once with a fixed seed (the docroot is the same whatever EXCHANGES is). Traffic is
60% manifests, 20% tag lists, 20% repositories.

Each session begins as a registry client does: GET /v2/auth for its repository, whose
recorded answer issued a token (`{"token": "redacted:<16 hex>"}`, redacted as capture
stores it), and every later request of the session carries it (`Authorization: Bearer
redacted:<16 hex>`). Replay correlates it: each session's recorded token becomes the one
the target issued (the docroot's v2/auth), so the capture holds one recorded token per
session, as a real one does (replay's correlation table fills).

Timing is what makes the replay concurrent: request i starts at 10 µs * i and lasts
1-3 ms (`done_us`), so about 200 exchanges overlap each one in the recording and causal
order never makes replay wait for an answer it could do without. 400 sessions are open
at once, ~50 exchanges each, a session's exchanges 4 ms apart (never overlapping: one
keep-alive connection each). Records are written in completion order (ts + done_us),
as capture writes them; replay's window restores request order.

The recorded response body is cut to its first 64 bytes (`body_truncated`, with the
whole body's `body_len` and `body_sha256`, as capture records a cut body): replay does
not send it, and the SHA-256 lets a check confirm what each target answered.

Usage: gen_capture.py OUT.jsonl EXCHANGES [--docroot DIR] [--urls FILE]
       (prints "EXCHANGES SESSIONS BYTES"; --urls writes the first 10 000 targets of the
       capture, one a line, for wrk to rotate through)
"""
import argparse
import datetime
import hashlib
import heapq
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_pcap import hexdigest, make_names, pad_json  # noqa: E402  (one source of Quay shapes)

SEED = 20261101
STEP_US = 10                  # between request starts
DONE_US = (1000, 3000)        # exchange duration in the recording, uniform
OPEN_SESSIONS = 400           # so a session's exchanges are 400 * STEP_US = 4 ms apart
PER_SESSION = 50
URLS = 10000
AUTH_FILE = "v2/auth"         # the docroot's /v2/auth answer: the token the targets issue
AUTH_BODY = json.dumps({"token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + "x" * 300 + ".sig",
                        "expires_in": 300}).encode()
HEAD_BYTES = 64               # of the recorded body
BASE = datetime.datetime(2026, 11, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)
PREFIX = "6a2f0c11"           # the capture-run prefix of session and record ids
HOST = "quay.example"
USER_AGENTS = ["docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64",
               "skopeo/1.13.3", "python-requests/2.31.0"]
KINDS = ("manifest", "tags", "api_repo")
WEIGHTS = (60, 20, 20)
# kind -> family, capability, route switch, capability switch, route id (config/quay)
CLASS = {
    "manifest": ("REGISTRY_V2", "V2_MANIFEST_PULL", "ROUTE_OWNER_V2_GET_V2_MANIFEST_TAGNAME_ROUTE",
                 "ROUTE_OWNER_CAP_V2_PULL", "ROUTE-0327"),
    "tags": ("REGISTRY_V2", "V2_TAGS_LIST", "ROUTE_OWNER_V2_GET_V2_REPOPATH_REPOSITORY_TAGS_LIST",
             "ROUTE_OWNER_CAP_V2_PULL", "ROUTE-0335"),
    "api_repo": ("API_V1", "API_REPOSITORY_READ",
                 "ROUTE_OWNER_API_V1_GET_API_V1_REPOSITORY_APIREPOPATH_REPOSITORY", None, "ROUTE-0106"),
}


# ---------------------------------------------------------------- routes and their bodies

def manifest_body(rng, size):
    layer = lambda r: {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + hexdigest(r), "size": r.randint(1000, 90000000)}
    return pad_json({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                "digest": "sha256:" + hexdigest(rng), "size": 7023},
                     "layers": []}, "layers", layer, size, rng)


def tags_body(rng, size, org, repo):
    tag = lambda r: "v%d.%d.%d-%08x" % (r.randint(0, 9), r.randint(0, 30), r.randint(0, 99), r.getrandbits(32))
    return pad_json({"name": "%s/%s" % (org, repo), "tags": []}, "tags", tag, size, rng)


def repo_body(rng, size, org, repo, tags):
    tag = lambda r: {"name": r.choice(tags) + "-%d" % r.randint(0, 999), "size": r.randint(1000, 90000000),
                     "last_modified": "Sat, 31 Oct 2026 %02d:%02d:00 -0000" % (r.randint(0, 23), r.randint(0, 59)),
                     "manifest_digest": "sha256:" + hexdigest(r)}
    return pad_json({"namespace": org, "name": repo, "kind": "image", "description": "The %s image" % repo,
                     "is_public": False, "is_organization": True, "is_starred": False, "status_token": "",
                     "trust_enabled": False, "tag_expiration_s": 1209600, "can_write": True,
                     "can_admin": False, "state": "NORMAL", "tags": []}, "tags", tag, size, rng)


def make_routes():
    """{kind: [route]}, a route being (target, file path under the docroot, body, org, repo)."""
    rng = random.Random(SEED)
    orgs, repos, _, tags = make_names(rng)
    routes = {k: [] for k in KINDS}
    for org in orgs:
        for repo in repos:
            for tag in tags:
                path = "v2/%s/%s/manifests/%s" % (org, repo, tag)
                routes["manifest"].append(("/" + path, path, manifest_body(rng, rng.randint(1024, 8000)), org, repo))
            path = "v2/%s/%s/tags/list" % (org, repo)
            routes["tags"].append(("/" + path, path, tags_body(rng, rng.randint(1024, 8000), org, repo), org, repo))
            path = "api/v1/repository/%s/%s" % (org, repo)
            routes["api_repo"].append(("/" + path + "?includeTags=true", path,
                                       repo_body(rng, rng.randint(1024, 8000), org, repo, tags), org, repo))
    return routes


def write_docroot(routes, root):
    os.makedirs(os.path.join(root, os.path.dirname(AUTH_FILE)), exist_ok=True)
    with open(os.path.join(root, AUTH_FILE), "wb") as f:
        f.write(AUTH_BODY)
    for kind in KINDS:
        for _, path, body, _, _ in routes[kind]:
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(body)


# ---------------------------------------------------------------- capture records

def rfc3339(at_us):
    t = BASE + datetime.timedelta(microseconds=at_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


def record_parts(routes):
    """Per route, the parts of a record that do not change between exchanges."""
    parts = []
    for kind, weight in zip(KINDS, WEIGHTS):
        family, cap, switch, cap_switch, route_id = CLASS[kind]
        for target, _, body, org, repo in routes[kind]:
            response = {"status": 200, "reason": "OK", "version": "HTTP/1.1",
                        "headers": [["Server", "nginx"], ["Content-Type", "application/json"],
                                    ["Content-Length", str(len(body))]],
                        "body": body[:HEAD_BYTES].decode(), "body_len": len(body),
                        "body_sha256": hashlib.sha256(body).hexdigest(), "body_truncated": True,
                        "complete": True}
            parts.append((weight / len(routes[kind]), target, {
                "family": family, "capability": cap, "switch": switch, "cap_switch": cap_switch,
                "route_id": route_id, "mutating": False,
            }, {"org": org, "repo": "%s/%s" % (org, repo)}, response))
    return parts


def exchanges(parts, count, rng):
    """(end_us, line) of each exchange, in request order."""
    weights = [p[0] for p in parts]
    picks = rng.choices(range(len(parts)), weights, k=count)
    block = OPEN_SESSIONS * PER_SESSION
    for i, k in enumerate(picks):
        _, target, cls, cohort, response = parts[k]
        at = i * STEP_US
        done = rng.randint(*DONE_US)
        session = "%s-%d" % (PREFIX, (i // block) * OPEN_SESSIONS + i % OPEN_SESSIONS)
        seq = (i % block) // OPEN_SESSIONS
        ua = USER_AGENTS[2] if cls["family"] == "API_V1" else USER_AGENTS[i % 2]
        rec = {"v": 1, "id": "%s-%d" % (session, seq), "ts": rfc3339(at), "session": session, "seq": seq}
        rec.update(cls)
        rec["cohort"] = dict(cohort, user=None)
        headers = [["Host", HOST], ["User-Agent", ua], ["Accept", "application/json"]]
        token = "redacted:" + hashlib.sha256(session.encode()).hexdigest()[:16]
        if seq == 0:  # the session's token first
            target = "/v2/auth?service=%s&scope=repository:%s:pull" % (HOST, cohort["repo"])
            rec.update(family="REGISTRY_V2", capability="V2_AUTH", switch="ROUTE_OWNER_FAMILY_REGISTRY_V2",
                       cap_switch=None, route_id="ROUTE-0337", mutating=False)
            body = json.dumps({"token": token, "expires_in": 300})
            response = {"status": 200, "reason": "OK", "version": "HTTP/1.1",
                        "headers": [["Server", "nginx"], ["Content-Type", "application/json"],
                                    ["Content-Length", str(len(body))]],
                        "body": body, "body_len": len(body), "complete": True}
        else:
            headers.append(["Authorization", "Bearer " + token])
        rec["request"] = {"method": "GET", "target": target, "version": "HTTP/1.1", "headers": headers,
                          "body_len": 0, "complete": True, "done_us": 0}
        rec["response"] = dict(response, latency_us=done // 2, done_us=done)
        yield at + done, target, json.dumps(rec, separators=(",", ":")) + "\n"


def write_capture(path, parts, count, urls_path):
    """Writes in completion order: an exchange is out once every later start is past its end."""
    rng = random.Random(SEED + 1)
    pending = []          # heap of (end_us, i, line)
    size = 0
    urls = open(urls_path, "w") if urls_path else None
    with open(path, "w") as out:
        buf = []
        for i, (end, target, line) in enumerate(exchanges(parts, count, rng)):
            if urls and i < URLS:
                urls.write(target + "\n")
            now = i * STEP_US
            while pending and pending[0][0] <= now:
                buf.append(heapq.heappop(pending)[2])
            heapq.heappush(pending, (end, i, line))
            if len(buf) >= 4096:
                chunk = "".join(buf)
                size += len(chunk)
                out.write(chunk)
                buf = []
        while pending:
            buf.append(heapq.heappop(pending)[2])
        chunk = "".join(buf)
        size += len(chunk)
        out.write(chunk)
    if urls:
        urls.close()
    return size


def main():
    ap = argparse.ArgumentParser(description="Writes a capture file of Quay-shaped GET exchanges.")
    ap.add_argument("out")
    ap.add_argument("exchanges", type=int)
    ap.add_argument("--docroot", help="also write the routes' JSON files under this directory")
    ap.add_argument("--urls", help="also write the capture's first %d targets here" % URLS)
    a = ap.parse_args()
    if a.exchanges < 1:
        sys.exit("gen_capture.py: EXCHANGES must be positive")
    routes = make_routes()
    if a.docroot:
        write_docroot(routes, a.docroot)
    size = write_capture(a.out, record_parts(routes), a.exchanges, a.urls)
    full, rest = divmod(a.exchanges, OPEN_SESSIONS * PER_SESSION)
    print(a.exchanges, full * OPEN_SESSIONS + min(rest, OPEN_SESSIONS), size)


if __name__ == "__main__":
    main()
