#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_demo.py — the bundled data of `make demo` (tools/demo.sh), in fixtures/demo/.

Writes:
  quay.pcap        Quay-shaped HTTP/1.1 traffic as a capture point in front of Quay sees it:
                   six seconds of client sessions (each waits for one answer before the next
                   request) carried over the ingress's keep-alive connection pool to Quay on
                   TCP port 8080 — docker pulls (/v2/ ping, /v2/auth with Basic auth, manifest
                   HEAD and GET, config blobs, layer blobs answered by 302s to signed storage
                   URLs, tag lists, referrers), containerd checks (manifest HEADs), skopeo
                   pushes (blob HEAD 404, POST / PATCH / PUT uploads, manifest PUT), a catalog
                   client, /api/v1 UI sessions with OAuth Bearer tokens (user, repositories,
                   tags, org, robots, members, logs, permissions, builds, quota, ... and
                   writes: signin, repository and tag updates, robot token regeneration), /v1
                   clients (ping, images, tags, ancestry, image json, search), OAuth (robot
                   federation tokens, authorization-code exchanges), JWKS fetchers (/keys) and
                   /.well-known probes.
  demo.key         the redaction key the demo captures with (the secrets are fake; a fixed
                   key, so that credentials.yaml matches the capture's redacted tokens).
  credentials.yaml each "redacted:<hex>" token of the capture's requests and its secret (Basic
                   auth, OAuth Bearer tokens, passwords, client secrets, authorization codes):
                   the suite `credentials` a team configures per target. Registry tokens need
                   none: replay correlates them from each target's /v2/auth answer.
  go.jsonl.gz      the "go" recorded backend: capture records of the same exchanges whose
                   responses are what a Go rewrite plausibly answers. Built from the capture
                   of quay.pcap (pmirror capture --no-redact), so every request matches.
                   Legitimate differences, each absorbed by a rule of config/quay/rules.yaml:
                   no Server header, re-signed cookies and X-Docker-Token, later /v1 Expires,
                   freshly issued JWTs (other iat/nbf/exp, a jti) and opaque tokens, RFC 2822
                   times from another database clock, new next_page tokens, re-signed storage
                   URLs, Go's JSON encoding (compact, sorted keys, \\u003c escapes), gzip on
                   large API answers, and answers 35-55% faster. Seeded bugs:
                     API_V1       GET /api/v1/repository/<repo>: `description` missing when
                                  empty (omitempty)                 -> body $.description missing
                                  GET /api/v1/repository/<repo>/tag/: `tags` null for a
                                  repository without tags (nil slice) -> body $.tags type
                     REGISTRY_V1  GET /v1/repositories/<repo>/tags/<tag>: 404 "404 page not
                                  found" when the tag has a dot (the Go route's tag pattern
                                  lacks '.')                         -> status value
                     OAUTH        the slower half of the token endpoints' answers 2.5x slower
                                  (p95 and p99 over the PB-REG-AUTH budget)
                   REGISTRY_V2 (pulls and pushes), KEYS and WELLKNOWN have no bug: they promote.

A recorded backend tells requests apart by method, target and body only, and answers
repeated ones in recorded order; replay may reorder overlapping exchanges. So every answer
here is built once per (method, target, body) — the same request always gets the same
answer, on both sides — except where a rule absorbs the difference (VARIANT_TARGETS).

Sample counts suit the shipped gate: see sessions() and check_counts().

Deterministic: a fixed seed, byte-identical output for the same pmirror. Body builders
come from bench/gen_results.py, JWT and packet helpers from bench/gen_pcap.py.

Usage: tools/make_demo.py [--pmirror build/pmirror] [--out fixtures/demo]
"""
import argparse
import base64
import datetime
import email.utils
import gzip
import hashlib
import hmac
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import gen_pcap as gp  # noqa: E402  (jwt shapes, packet structs)
import gen_results as gr  # noqa: E402  (Quay-shaped bodies, the two JSON encoders)

SEED = 20261102
HOST = "quay.example.test"
PORT = 8080
MSS = 1448
START_S = 1793610000            # 2026-11-02T09:00:00Z
SPAN_US = 6_000_000             # sessions start within these six seconds
DEMO_KEY = hashlib.sha256(b"pmirror demo key: the demo's secrets are fake").hexdigest()
SERVER_PY = "nginx/1.22.1"
# Latencies as a busy Quay has them (tens of ms): well above the scheduling noise of a loaded
# test machine, so a p95 compared within 10% reflects the seeded speeds, not the noise.
LATENCY_SCALE = 3
GO_SPEEDUP = (0.45, 0.65)       # Go answers in this share of Python's time ...
OAUTH_SLOW = 2.5                # ... except the slower half of the OAuth token endpoints
SLOWER = ("OAUTH_TOKEN", "OAUTH_ROBOT_FEDERATION")
ACCEPT_MANIFEST = ("application/vnd.oci.image.manifest.v1+json, "
                   "application/vnd.docker.distribution.manifest.v2+json, "
                   "application/vnd.oci.image.index.v1+json")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_UA = "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64"
SKOPEO_UA = "skopeo/1.13.3 containers/image/5.26.1"


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def rng_for(*key):
    """A generator seeded by a key: the same request always gets the same answer."""
    return random.Random(int.from_bytes(hashlib.sha256(repr((SEED,) + key).encode()).digest()[:8], "big"))


def lognormal_us(rng, median_ms, sigma=0.45, floor_ms=4.0):
    """A recorded latency: log-normal around a route's median, times LATENCY_SCALE."""
    return int(max(floor_ms, rng.lognormvariate(0, sigma) * median_ms) * LATENCY_SCALE * 1000)


def http_date(t):
    return email.utils.format_datetime(t, usegmt=True)


def uuid4(rng):
    return "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                           0x8000 | rng.getrandbits(14), rng.getrandbits(48))


def avatar(name, rng):
    return {"name": name, "hash": "%032x" % rng.getrandbits(128), "color": "#%06x" % rng.getrandbits(24),
            "kind": "user"}


# ================================================================ the registry's state

class Repo:
    def __init__(self, org, name, rng):
        self.org, self.name, self.full = org, name, "%s/%s" % (org, name)
        self.description = "" if rng.random() < 0.45 else rng.choice(gr.DESCRIPTIONS[:-1])
        self.is_public = rng.random() < 0.3
        self.tags = {}  # tag -> Image
        if rng.random() >= 0.18:
            for tag in rng.sample(["latest", "v1.2.3", "stable", "v2.0.1", "main", "canary", "2026.10.31",
                                   "v0.9", "edge"], rng.randint(2, 5)):
                self.tags[tag] = Image(self, rng)
        self.pushed_tags = 0


class Image:
    def __init__(self, repo, rng):
        layers = [bytes(rng.getrandbits(8) for _ in range(rng.randint(80, 200))) for _ in range(rng.randint(2, 4))]
        self.layers = [("sha256:" + sha256_hex(b), len(b) * 4000 + rng.randint(0, 3999)) for b in layers]
        created = gr.BASE - datetime.timedelta(days=rng.randint(1, 200), seconds=rng.randint(0, 86399))
        self.v1_ids = ["%064x" % rng.getrandbits(256) for _ in self.layers]
        config = {"architecture": "amd64", "os": "linux", "created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                  "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                             "Cmd": ["/usr/local/bin/%s" % repo.name], "WorkingDir": "/srv",
                             "Labels": {"org.opencontainers.image.source": "https://git.example/%s" % repo.full}},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:%064x" % rng.getrandbits(256) for _ in layers]}}
        self.config = json.dumps(config, separators=(",", ":")).encode()
        self.config_digest = "sha256:" + sha256_hex(self.config)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": self.config_digest,
                               "size": len(self.config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
                               for d, s in self.layers],
                    "annotations": {"org.opencontainers.image.created": config["created"]}}
        self.manifest = json.dumps(manifest, indent=3).encode()  # docker/podman store it indented
        self.digest = "sha256:" + sha256_hex(self.manifest)


class World:
    def __init__(self, rng):
        self.repos = []
        for org in gr.ORGS[:8]:
            for name in rng.sample(gr.REPOS, 5):
                self.repos.append(Repo(org, name, rng))
        self.pullable = [r for r in self.repos if r.tags]
        self.users = gr.USERS
        self.passwords = {u: "pw-%s-%s" % (u, "%012x" % rng.getrandbits(48)) for u in self.users}
        self.api_tokens = {u: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                      for _ in range(40)) for u in self.users}
        self.ci_users = ["%s+ci" % org for org in gr.ORGS[:8]]
        self.passwords.update({u: "%032X" % rng.getrandbits(128) for u in self.ci_users})
        self.oauth_apps = {"app%02d" % i: ("%020X" % rng.getrandbits(80), "%040X" % rng.getrandbits(160))
                           for i in range(3)}  # app -> (client_id, client_secret)
        self.robots = ["%s+deployer" % org for org in gr.ORGS[:3]]
        self.federation_jwt = {r: self.oidc_jwt(r, rng) for r in self.robots}
        self.key_services = {svc: ["%s-%s" % (svc, "%08x" % rng.getrandbits(32)) for _ in range(rng.randint(1, 2))]
                             for svc in ["quay", "clair", "secscan", "builder"]}
        self.codes = []
        self.jwks = {svc: [self.jwk(kid, rng) for kid in kids] for svc, kids in self.key_services.items()}

    def oauth_code(self, rng):
        self.codes.append("%032x" % rng.getrandbits(128))
        return self.codes[-1]

    @staticmethod
    def oidc_jwt(robot, rng):
        head = gp.b64url(compact({"alg": "ES256", "kid": "ci-%06x" % rng.getrandbits(24)}))
        body = gp.b64url(compact({"iss": "https://ci.example.test", "sub": "repo:%s/deploy:ref:refs/heads/main"
                                  % robot.split("+")[0], "aud": HOST, "exp": START_S + 3600}))
        return "%s.%s.%s" % (head, body, gp.b64url(rng.randbytes(64)))

    @staticmethod
    def jwk(kid, rng):
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "e": "AQAB",
                "n": gp.b64url(rng.randbytes(256))}

    def basic(self, user):
        return "Basic " + base64.b64encode(("%s:%s" % (user, self.passwords[user])).encode()).decode()


def registry_jwt(user, repo, actions, rng):
    """A Quay registry token: RS256, claims as Quay issues them (no jti)."""
    head = {"alg": "RS256", "typ": "JWT", "kid": "quay-%08x" % 0x5eed}
    now = START_S - 30
    claims = {"iss": "quay", "aud": HOST, "nbf": now, "iat": now, "exp": now + 3600, "sub": user,
              "access": [{"type": "repository", "name": repo, "actions": actions}],
              "context": {"version": 2, "entity_kind": "user", "entity_reference": uuid4(rng)}}
    return "%s.%s.%s" % (gp.b64url(compact(head)), gp.b64url(compact(claims)), gp.b64url(rng.randbytes(256)))


# ================================================================ one exchange

class Exchange:
    __slots__ = ("method", "target", "headers", "body", "status", "reason", "resp_headers", "resp_body",
                 "latency_us")


ANSWERS = {}  # (method, target, body, variant) -> (status, reason, headers, body)
# Requests a recorded backend cannot tell apart (same method, target and body) whose answers
# may still differ by who asks: only in what a rule absorbs (the OAUTH family's $..token).
VARIANT_TARGETS = {"/oauth2/federation/robot/token"}


def exchange(method, target, headers, body=b"", build=None, latency_us=5000, variant=None):
    """One exchange; its answer is built once per request (method, target, body) — what a
    recorded backend can tell apart — or per `variant` where the answer depends on who asks."""
    assert variant is None or target in VARIANT_TARGETS, target
    key = (method, target, body, variant)
    if key not in ANSWERS:
        ANSWERS[key] = build()
    x = Exchange()
    x.method, x.target, x.headers, x.body = method, target, headers, body
    x.status, x.reason, x.resp_headers, x.resp_body = ANSWERS[key]
    x.latency_us = latency_us
    return x


def json_answer(obj, status=200, reason="OK", extra=(), ctype="application/json"):
    return status, reason, [("Content-Type", ctype)] + list(extra), gr.python_json(obj).encode()


def v2_headers(extra=()):
    return [("Docker-Distribution-API-Version", "registry/2.0")] + list(extra)


# ================================================================ sessions by client

def pull_session(w, rng):
    repo = rng.choice(w.pullable)
    tag = rng.choice(sorted(repo.tags))
    image = repo.tags[tag]
    user = rng.choice(w.users)
    ua = [("User-Agent", DOCKER_UA)]
    xs = [ping_v2(ua, rng)]
    auth_target = "/v2/auth?account=%s&scope=repository%%3A%s%%3Apull&service=%s" % (user, repo.full.replace("/", "%2F"), HOST)
    xs.append(exchange("GET", auth_target, ua + [("Authorization", w.basic(user))],
                       build=lambda: json_answer({"token": registry_jwt(user, repo.full, ["pull"], rng_for("jwt", user, repo.full))}),
                       latency_us=lognormal_us(rng, 22)))
    bearer = ua + [("Authorization", "Bearer " + json.loads(xs[-1].resp_body)["token"])]
    base = "/v2/%s" % repo.full
    if rng.random() < 0.3:
        xs.append(exchange("GET", base + "/tags/list", bearer, build=lambda: json_answer(
            {"name": repo.full, "tags": sorted(repo.tags)}, extra=v2_headers()), latency_us=lognormal_us(rng, 14)))
    manifest_headers = [("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", image.digest)]
    xs.append(exchange("HEAD", "%s/manifests/%s" % (base, tag), bearer + [("Accept", ACCEPT_MANIFEST)],
                       build=lambda: (200, "OK", v2_headers(manifest_headers), b""), latency_us=lognormal_us(rng, 9)))
    xs[-1].resp_headers = xs[-1].resp_headers + [("Content-Length", str(len(image.manifest)))]
    xs.append(exchange("GET", "%s/manifests/%s" % (base, image.digest), bearer + [("Accept", ACCEPT_MANIFEST)],
                       build=lambda: (200, "OK", v2_headers(manifest_headers), image.manifest),
                       latency_us=lognormal_us(rng, 11)))
    if rng.random() < 0.15:
        xs.append(exchange("GET", "%s/referrers/%s" % (base, image.digest), bearer, build=lambda: json_answer(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []},
            extra=v2_headers(), ctype="application/vnd.oci.image.index.v1+json"), latency_us=lognormal_us(rng, 12)))
    xs.append(exchange("GET", "%s/blobs/%s" % (base, image.config_digest), bearer,
                       build=lambda: (200, "OK", v2_headers([("Content-Type", "application/octet-stream"),
                                                             ("Docker-Content-Digest", image.config_digest)]),
                                      image.config), latency_us=lognormal_us(rng, 8)))
    for d, _ in image.layers:
        xs.append(exchange("GET", "%s/blobs/%s" % (base, d), bearer, build=lambda d=d: blob_redirect(d),
                           latency_us=lognormal_us(rng, 7)))
    return xs


def warm_pull_session(w, rng):
    """A node whose images are cached (imagePullPolicy: Always): a token, then only each
    tag's manifest digest by HEAD."""
    repo = rng.choice(w.pullable)
    user = rng.choice(w.users)
    ua = [("User-Agent", "containerd/1.7.13")]
    target = "/v2/auth?account=%s&scope=repository%%3A%s%%3Apull&service=%s" % (user, repo.full.replace("/", "%2F"), HOST)
    xs = [exchange("GET", target, ua + [("Authorization", w.basic(user))],
                   build=lambda: json_answer({"token": registry_jwt(user, repo.full, ["pull"],
                                                                    rng_for("jwt", user, repo.full))}),
                   latency_us=lognormal_us(rng, 22))]
    bearer = ua + [("Authorization", "Bearer " + json.loads(xs[-1].resp_body)["token"])]
    for tag in [rng.choice(sorted(repo.tags)) for _ in range(rng.randint(2, 4))]:
        image = repo.tags[tag]
        xs.append(exchange("HEAD", "/v2/%s/manifests/%s" % (repo.full, tag), bearer + [("Accept", ACCEPT_MANIFEST)],
                           build=lambda image=image: (200, "OK", v2_headers([("Content-Type", OCI_MANIFEST),
                                                                             ("Docker-Content-Digest", image.digest)]),
                                                      b""), latency_us=lognormal_us(rng, 9)))
        xs[-1].resp_headers = xs[-1].resp_headers + [("Content-Length", str(len(image.manifest)))]
    return xs


def ping_v2(ua, rng):
    return exchange("GET", "/v2/", ua, build=lambda: json_answer(
        {"errors": [{"code": "UNAUTHORIZED", "message": "access to the requested resource is not authorized",
                     "detail": {}}]}, 401, "UNAUTHORIZED",
        extra=v2_headers([("WWW-Authenticate", 'Bearer realm="http://%s/v2/auth",service="%s"' % (HOST, HOST))])),
        latency_us=lognormal_us(rng, 5))


def blob_redirect(d):
    r = rng_for("blob", d)
    hexd = d.split(":")[1]
    url = ("https://storage.example.test/quay-registry/sha256/%s/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAQUAYDEMO%%2F20261102%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=20261102T085%d%02dZ"
           "&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=%064x"
           % (hexd[:2], hexd, r.randint(0, 9), r.randint(0, 59), r.getrandbits(256)))
    return 302, "FOUND", v2_headers([("Content-Type", "text/html; charset=utf-8"), ("Location", url)]), b""


def push_session(w, rng, repo):
    org = repo.org
    user = "%s+ci" % org
    ua = [("User-Agent", SKOPEO_UA)]
    xs = [ping_v2(ua, rng)]
    scope = "repository%%3A%s%%3Apull%%2Cpush" % repo.full.replace("/", "%2F")
    xs.append(exchange("GET", "/v2/auth?account=%s&scope=%s&service=%s" % (user.replace("+", "%2B"), scope, HOST),
                       ua + [("Authorization", w.basic(user))],
                       build=lambda: json_answer({"token": registry_jwt(user, repo.full, ["pull", "push"],
                                                                        rng_for("jwt", user, repo.full, "push"))}),
                       latency_us=lognormal_us(rng, 30)))
    bearer = ua + [("Authorization", "Bearer " + json.loads(xs[-1].resp_body)["token"])]
    base = "/v2/%s" % repo.full
    blobs = [bytes(rng.getrandbits(8) for _ in range(rng.randint(200, 600))) for _ in range(2)]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [
        "sha256:" + sha256_hex(b[::-1]) for b in blobs]}}, separators=(",", ":")).encode()
    for blob in blobs + [config]:
        d = "sha256:" + sha256_hex(blob)
        upload = uuid4(rng)
        location = "http://%s%s/blobs/uploads/%s" % (HOST, base, upload)
        xs.append(exchange("HEAD", "%s/blobs/%s" % (base, d), bearer, build=lambda: (
            404, "NOT FOUND", v2_headers([("Content-Type", "application/json")]), b""), latency_us=lognormal_us(rng, 8)))
        xs[-1].resp_headers = xs[-1].resp_headers + [("Content-Length", "157")]
        xs.append(exchange("POST", base + "/blobs/uploads/", bearer + [("Content-Length", "0")],
                           build=lambda: (202, "ACCEPTED", v2_headers([
                               ("Location", location), ("Range", "bytes=0--1"), ("Docker-Upload-UUID", upload),
                               ("Content-Type", "text/html; charset=utf-8")]), b""),
                           latency_us=lognormal_us(rng, 25)))
        xs.append(exchange("PATCH", base + "/blobs/uploads/" + upload,
                           bearer + [("Content-Type", "application/octet-stream")], blob,
                           build=lambda: (202, "ACCEPTED", v2_headers([
                               ("Location", location), ("Range", "bytes=0-%d" % (len(blob) - 1)),
                               ("Docker-Upload-UUID", upload), ("Content-Type", "text/html; charset=utf-8")]), b""),
                           latency_us=lognormal_us(rng, 35)))
        xs.append(exchange("PUT", "%s/blobs/uploads/%s?digest=%s" % (base, upload, d.replace(":", "%3A")),
                           bearer + [("Content-Type", "application/octet-stream")],
                           build=lambda: (201, "CREATED", v2_headers([
                               ("Location", "http://%s%s/blobs/%s" % (HOST, base, d)), ("Docker-Content-Digest", d),
                               ("Content-Type", "text/html; charset=utf-8")]), b""),
                           latency_us=lognormal_us(rng, 40)))
    repo.pushed_tags += 1
    tag = "build-%d%03d" % (rng.randint(1000, 9999), repo.pushed_tags)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha256_hex(config),
        "size": len(config)}, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                          "digest": "sha256:" + sha256_hex(b), "size": len(b)} for b in blobs]}).encode()
    md = "sha256:" + sha256_hex(manifest)
    xs.append(exchange("PUT", "%s/manifests/%s" % (base, tag), bearer + [("Content-Type", OCI_MANIFEST)], manifest,
                       build=lambda: (201, "CREATED", v2_headers([
                           ("Location", "%s/manifests/%s" % (base, md)), ("Docker-Content-Digest", md),
                           ("Content-Type", "text/html; charset=utf-8")]), b"OK"),
                       latency_us=lognormal_us(rng, 45)))
    return xs


def catalog_session(w, rng):
    user = rng.choice(w.users)
    ua = [("User-Agent", "regctl/v0.5.4")]
    token = registry_jwt(user, "", ["*"], rng_for("jwt", user, "catalog"))
    xs = [exchange("GET", "/v2/auth?account=%s&scope=registry%%3Acatalog%%3A%%2A&service=%s" % (user, HOST),
                   ua + [("Authorization", w.basic(user))], build=lambda: json_answer({"token": token}),
                   latency_us=lognormal_us(rng, 22))]
    names = sorted(r.full for r in w.repos)
    page = rng.randint(0, 3)
    target = "/v2/_catalog?n=10" if page == 0 else "/v2/_catalog?n=10&last=%s" % names[page * 10 - 1]

    def answer():
        r = rng_for("catalog", page)
        link = '</v2/_catalog?n=10&next_page=gAAAAAB%s>; rel="next"' % gp.b64url(r.randbytes(60))
        return json_answer({"repositories": names[page * 10:page * 10 + 10]}, extra=v2_headers([("Link", link)]))
    xs.append(exchange("GET", target, ua + [("Authorization", "Bearer " + token)], build=answer,
                       latency_us=lognormal_us(rng, 30)))
    return xs


# ---------------------------------------------------------------- /api/v1

def api_session(w, rng):
    user = rng.choice(w.users)
    org = rng.choice(gr.ORGS[:8])
    repo = rng.choice([r for r in w.repos if r.org == org])
    ua = [("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
          ("Accept", "application/json")]
    auth = ua + [("Authorization", "Bearer " + w.api_tokens[user])]
    xs = []

    def get(target, build, median=22):
        xs.append(exchange("GET", target, auth, build=build, latency_us=lognormal_us(rng, median)))

    def send(method, target, obj, build, median=40):
        xs.append(exchange(method, target, auth + [("Content-Type", "application/json")],
                           json.dumps(obj).encode(), build=build, latency_us=lognormal_us(rng, median)))

    if rng.random() < 0.4:
        send("POST", "/api/v1/signin", {"username": user, "password": w.passwords[user], "invite_code": ""},
             lambda: signin_answer(user), 60)
    get("/api/v1/user/", lambda: json_answer(api_user(w, user)))
    get("/api/v1/repository/%s?includeStats=false&includeTags=false" % repo.full, lambda: json_answer(api_repo(repo)))
    get("/api/v1/repository/%s/tag/?limit=50&page=1&onlyActiveTags=true" % repo.full,
        lambda: json_answer(api_tags(repo)))
    extra = [
        lambda: get("/api/v1/repository?namespace=%s&public=true&last_modified=true" % org,
                    lambda: json_answer(api_repo_list(w, org))),
        lambda: get("/api/v1/organization/%s" % org, lambda: json_answer(api_org(org))),
        lambda: get("/api/v1/organization/%s/robots?permissions=true" % org,
                    lambda: json_answer(gr.robots(rng_for("robots", org), 900, org, "")[0])),
        lambda: get("/api/v1/organization/%s/members" % org, lambda: json_answer(api_members(w, org))),
        lambda: get("/api/v1/repository/%s/logs" % repo.full, lambda: json_answer(gr.logs(rng_for("logs", repo.full),
                                                                                           2500, org, repo.name)[0]), 60),
        lambda: get("/api/v1/repository/%s/permissions/user/" % repo.full, lambda: json_answer(api_perms(w, repo))),
        lambda: get("/api/v1/repository/%s/notification/" % repo.full, lambda: json_answer(api_notifications(repo))),
        lambda: get("/api/v1/repository/%s/build/?limit=5" % repo.full, lambda: json_answer(api_builds(repo))),
        lambda: get("/api/v1/organization/%s/prototypes" % org, lambda: json_answer({"prototypes": []})),
        lambda: get("/api/v1/organization/%s/quota" % org, lambda: json_answer(api_quota(org))),
        lambda: get("/api/v1/organization/%s/autoprunepolicy/" % org, lambda: json_answer({"policies": []})),
        lambda: get("/api/v1/organization/%s/team/owners/members" % org, lambda: json_answer(api_team(w, org))),
        lambda: get("/api/v1/registry/capabilities", lambda: json_answer(
            {"sparse_manifests": {"supported": False, "required_architectures": [],
                                  "optional_architectures_allowed": True}})),
        lambda: get("/api/v1/messages", lambda: json_answer({"messages": [
            {"uuid": "5f0e2a64-0c3e-4d0b-9d3b-4e1c2b7a9f10", "content": "Maintenance on Sunday 02:00 UTC",
             "severity": "info", "media_type": "text/markdown"}]})),
        lambda: get("/api/v1/plans/", lambda: json_answer({"plans": [
            {"title": "Open Source", "price": 0, "privateRepos": 0, "stripeId": "free", "audience": "Share with the world"},
            {"title": "Developer", "price": 1500, "privateRepos": 5, "stripeId": "personal-2018",
             "audience": "Individuals"}]})),
        lambda: get("/api/v1/find/repositories?query=%s&page=1" % repo.name[:3],
                    lambda: json_answer(api_find(w, repo.name[:3]))),
        lambda: get("/api/v1/discovery", lambda: json_answer(api_discovery()), 35),
    ]
    if repo.tags:
        image = repo.tags[sorted(repo.tags)[0]]
        extra.append(lambda: get("/api/v1/repository/%s/manifest/%s/labels" % (repo.full, image.digest),
                                 lambda: json_answer(api_labels(repo, image))))
        extra.append(lambda: send("PUT", "/api/v1/repository/%s/tag/%s" % (repo.full, sorted(repo.tags)[-1]),
                                  {"manifest_digest": image.digest}, lambda: json_answer("Updated", 201, "CREATED")))
    writes = [
        lambda: send("PUT", "/api/v1/repository/%s" % repo.full, {"description": rng.choice(gr.DESCRIPTIONS)},
                     lambda: json_answer({"success": True})),
        lambda: send("POST", "/api/v1/organization/%s/robots/deployer/regenerate" % org, {},
                     lambda: json_answer(api_robot(org))),
    ]
    for f in rng.sample(extra, rng.randint(4, 8)):
        f()
    if rng.random() < 0.35:
        rng.choice(writes)()
    return xs


def signin_answer(user):
    r = rng_for("signin", user)
    cookie = "_csrf_token=%s; Path=/; HttpOnly; SameSite=Lax" % gp.b64url(r.randbytes(24))
    session = "session=%s; Domain=%s; Secure; HttpOnly; Path=/; SameSite=Lax" % (gp.b64url(r.randbytes(48)), HOST)
    status, reason, headers, body = json_answer({"success": True})
    return status, reason, headers + [("Set-Cookie", cookie), ("Set-Cookie", session)], body


def api_user(w, user):
    r = rng_for("user", user)
    return {"anonymous": False, "username": user, "avatar": avatar(user, r), "can_create_repo": True,
            "is_me": True, "verified": True, "email": "%s@example.test" % user, "logins": [],
            "invoice_email": False, "invoice_email_address": None, "preferred_namespace": False,
            "tag_expiration_s": 1209600, "prompts": [], "company": "", "family_name": None, "given_name": None,
            "location": None, "is_free_account": True, "has_password_set": True, "super_user": False,
            "organizations": [{"name": o, "avatar": avatar(o, r), "can_create_repo": True, "public": False,
                               "is_org_admin": r.random() < 0.3, "preferred_namespace": False}
                              for o in r.sample(gr.ORGS[:8], 3)]}


def api_repo(repo):
    obj, _ = gr.api_repo(rng_for("repo", repo.full), 300, repo.org, repo.name)
    obj["description"] = repo.description
    obj["is_public"] = repo.is_public
    del obj["tags"]  # includeTags=false
    return obj


def api_tags(repo):
    r = rng_for("tags", repo.full)
    if not repo.tags:
        return {"tags": [], "page": 1, "has_additional": False}
    obj, _ = gr.api_tags(r, 1500, repo.org, repo.name)
    obj["tags"] = obj["tags"][:len(repo.tags)]
    for t, (name, image) in zip(obj["tags"], sorted(repo.tags.items())):
        t["name"], t["manifest_digest"], t["is_manifest_list"] = name, image.digest, False
    obj["page"], obj["has_additional"] = 1, False
    return obj


def api_repo_list(w, org):
    r = rng_for("repolist", org)
    return {"repositories": [{"namespace": x.org, "name": x.name, "description": x.description or None,
                              "is_public": x.is_public, "kind": "image", "state": "NORMAL",
                              "last_modified": int((gr.when(r)).timestamp()), "popularity": float(r.randint(0, 40)),
                              "is_starred": False} for x in w.repos if x.org == org]}


def api_org(org):
    r = rng_for("org", org)
    return {"name": org, "email": "registry@%s.example.test" % org, "avatar": avatar(org, r), "is_admin": True,
            "is_member": True, "teams": {"owners": {"name": "owners", "description": "", "role": "admin",
                                                    "avatar": avatar("owners", r), "can_view": True,
                                                    "repo_count": 0, "member_count": 3, "is_synced": False}},
            "ordered_teams": ["owners"], "invoice_email": False, "invoice_email_address": None,
            "tag_expiration_s": 1209600, "is_free_account": True}


def api_members(w, org):
    r = rng_for("members", org)
    return {"members": [{"name": u, "kind": "user", "avatar": avatar(u, r),
                         "teams": [{"name": "owners", "avatar": avatar("owners", r)}],
                         "repositories": r.sample(gr.REPOS, 2)} for u in r.sample(w.users, 4)]}


def api_team(w, org):
    r = rng_for("team", org)
    return {"name": "owners", "can_edit": True, "members": [
        {"name": u, "kind": "user", "is_robot": False, "avatar": avatar(u, r), "invited": False}
        for u in r.sample(w.users, 3)]}


def api_perms(w, repo):
    r = rng_for("perms", repo.full)
    return {"permissions": {u: {"role": r.choice(["read", "write", "admin"]), "name": u, "is_robot": False,
                                "avatar": avatar(u, r), "is_org_member": True} for u in r.sample(w.users, 3)}}


def api_notifications(repo):
    r = rng_for("notifications", repo.full)
    return {"notifications": [{"uuid": uuid4(r), "title": "Slack on push", "event": "repo_push",
                               "method": "slack", "config": {"url": "https://hooks.slack.example/services/T000"},
                               "event_config": {}, "number_of_failures": 0}] if r.random() < 0.5 else []}


def api_builds(repo):
    r = rng_for("builds", repo.full)
    return {"builds": [{"id": uuid4(r), "phase": r.choice(["complete", "error", "building"]),
                        "started": gr.rfc2822(gr.when(r)), "display_name": "build-%d" % r.randint(100, 999),
                        "status": {}, "subdirectory": "/", "dockerfile_path": "/Dockerfile", "context": "/",
                        "tags": ["latest"], "manual_user": r.choice(gr.USERS), "is_writer": True,
                        "trigger": None, "trigger_metadata": None, "resource_key": None,
                        "pull_robot": None, "repository": {"namespace": repo.org, "name": repo.name},
                        "error": None, "archive_url": ""} for _ in range(r.randint(0, 3))]}


def api_quota(org):
    r = rng_for("quota", org)
    return [{"id": r.randint(1, 99), "limit_bytes": 107374182400, "limit": "100.0 GiB",
             "default_config": False, "limits": [{"id": r.randint(1, 99), "type": "Warning", "limit_percent": 80}],
             "default_config_exists": False}]


def api_find(w, query):
    hits = [x for x in w.repos if query in x.name][:10]
    return {"results": [{"kind": "repository", "title": "repo", "namespace": {"title": "org", "kind": "org",
                                                                             "name": x.org},
                         "name": x.name, "description": x.description or None, "is_public": x.is_public,
                         "score": 1.0, "href": "/repository/%s" % x.full} for x in hits],
            "has_additional": False, "page": 1, "page_size": 10, "start_index": 0}


def api_discovery():
    paths = {}
    for p in ["/api/v1/repository", "/api/v1/repository/{repository}", "/api/v1/repository/{repository}/tag/",
              "/api/v1/organization/{orgname}", "/api/v1/user/"]:
        paths[p] = {"get": {"operationId": "get" + re.sub(r"\W", "", p.title()), "parameters": [],
                            "responses": {"200": {"description": "Successful invocation"}},
                            "security": [{"oauth2_implicit": ["repo:read"]}]}}
    return {"swagger": "2.0", "host": HOST, "basePath": "/", "schemes": ["https"],
            "info": {"title": "Quay Frontend", "version": "v1", "description": "This API allows you to perform "
                     "many of the operations required to work with Quay repositories, users, and organizations."},
            "paths": paths, "definitions": {}, "tags": [{"name": "repository", "description": "List, create and manage repositories."}]}


def api_labels(repo, image):
    r = rng_for("labels", image.digest)
    return {"labels": [{"id": uuid4(r), "key": "org.opencontainers.image.source",
                        "value": "https://git.example/%s" % repo.full, "source_type": "manifest",
                        "media_type": "text/plain"}]}


def api_robot(org):
    r = rng_for("robot", org)
    return {"name": "%s+deployer" % org, "created": gr.rfc2822(gr.when(r)), "last_accessed": None,
            "description": "deploys to production", "unstructured_metadata": {},
            "token": "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(64))}


# ---------------------------------------------------------------- /v1

def v1_session(w, rng):
    repo = rng.choice(w.pullable)
    user = rng.choice(w.users)
    ua = [("User-Agent", "docker/1.13.1 go/go1.10.3 kernel/4.14.0 os/linux arch/amd64")]
    auth = ua + [("Authorization", w.basic(user))]
    tag = rng.choice(sorted(repo.tags))
    image = repo.tags[tag]
    base = "/v1/repositories/%s" % repo.full
    xs = [exchange("GET", "/v1/_ping", ua, build=lambda: (200, "OK", [
        ("Content-Type", "application/json"), ("X-Docker-Registry-Version", "0.6.0"),
        ("X-Docker-Registry-Standalone", "0")], b"true"), latency_us=lognormal_us(rng, 5))]

    def token_headers(access):
        r = rng_for("v1token", repo.full, user)
        return [("X-Docker-Token", 'signature=%s,repository="%s",access=%s' % (gp.b64url(r.randbytes(30)), repo.full,
                                                                               access)),
                ("X-Docker-Endpoints", HOST)]
    xs.append(exchange("GET", base + "/images", auth, build=lambda: json_answer(
        [{"id": i, "checksum": ""} for i in image.v1_ids], extra=token_headers("read")), latency_us=lognormal_us(rng, 25)))
    if rng.random() < 0.5:
        xs.append(exchange("GET", base + "/tags", auth, build=lambda: json_answer(
            {t: img.v1_ids[-1] for t, img in sorted(repo.tags.items())}), latency_us=lognormal_us(rng, 15)))
    xs.append(exchange("GET", "%s/tags/%s" % (base, tag), auth, build=lambda: json_answer(image.v1_ids[-1]),
                       latency_us=lognormal_us(rng, 12)))
    expires = http_date(datetime.datetime.fromtimestamp(START_S + 86400 * 365, datetime.timezone.utc))
    cache = [("Cache-Control", "public, max-age=31536000"), ("Expires", expires)]
    top = image.v1_ids[-1]
    xs.append(exchange("GET", "/v1/images/%s/ancestry" % top, auth, build=lambda: json_answer(
        image.v1_ids[::-1], extra=cache), latency_us=lognormal_us(rng, 12)))
    for i, vid in enumerate(image.v1_ids[::-1][:rng.randint(1, 2)]):
        parent = image.v1_ids[::-1][i + 1] if i + 1 < len(image.v1_ids) else None
        xs.append(exchange("GET", "/v1/images/%s/json" % vid, auth, build=lambda vid=vid, parent=parent: json_answer(
            {"id": vid, "parent": parent, "created": "2026-10-01T12:00:00.000000Z", "container_config": {
                "Cmd": ["/bin/sh", "-c", "#(nop) ADD file:%s in /" % vid[:12]]}, "architecture": "amd64", "os": "linux"},
            extra=cache + [("X-Docker-Size", "%d" % (rng_for(vid).randint(1000, 9000000)))]),
            latency_us=lognormal_us(rng, 10)))
    if rng.random() < 0.3:
        q = repo.name[:3]
        xs.append(exchange("GET", "/v1/search?q=%s&n=25" % q, ua, build=lambda: json_answer(
            {"num_results": len([x for x in w.repos if q in x.name and x.is_public]), "query": q, "page": 1,
             "num_pages": 1, "page_size": 25, "results": [
                 {"name": x.full, "description": x.description, "is_public": True, "href": "/repository/" + x.full}
                 for x in w.repos if q in x.name and x.is_public]}), latency_us=lognormal_us(rng, 30)))
    return xs


# ---------------------------------------------------------------- /oauth, /keys, /.well-known

def oauth_token_session(w, rng):
    """An OAuth application trading an authorization code for a token."""
    ua = [("User-Agent", "python-requests/2.31.0")]
    client = rng.choice(sorted(w.oauth_apps))
    client_id, secret = w.oauth_apps[client]
    code = w.oauth_code(rng)
    body = ("grant_type=authorization_code&code=%s&client_id=%s&client_secret=%s"
            "&redirect_uri=https%%3A%%2F%%2F%s.example.test%%2Fcallback" % (code, client_id, secret, client)).encode()

    def answer():
        r = rng_for("oauth", code)
        return json_answer({"access_token": "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                                    for _ in range(40)),
                            "token_type": "Bearer", "expires_in": 315576000, "scope": "repo:read user:read"})
    return [exchange("POST", "/oauth/access_token", ua + [("Content-Type", "application/x-www-form-urlencoded"),
                                                         ("Accept", "application/json")], body,
                     build=answer, latency_us=lognormal_us(rng, 60, 0.5, 10))]


def federation_session(w, rng):
    """A CI job trading its OIDC token for a robot token (one to three: build, test, deploy)."""
    ua = [("User-Agent", "quay-federation-action/1.2 node/20.11")]
    robot = rng.choice(sorted(w.robots))
    cred = "Basic " + base64.b64encode(("%s:%s" % (robot, w.federation_jwt[robot])).encode()).decode()
    return [exchange("GET", "/oauth2/federation/robot/token", ua + [("Authorization", cred)], variant=robot,
                     build=lambda: json_answer({"token": registry_jwt(robot, "", ["pull"], rng_for("federation", robot))}),
                     latency_us=lognormal_us(rng, 60, 0.5, 10)) for _ in range(rng.randint(1, 3))]


def keys_session(w, rng):
    ua = [("User-Agent", rng.choice(["clair/4.7.4", "quay-builder/3.12", "secscan-notifier/1.0"]))]
    svc = rng.choice(sorted(w.key_services))
    xs = [exchange("GET", "/keys/services/%s/keys" % svc, ua, build=lambda: json_answer({"keys": w.jwks[svc]}),
                   latency_us=lognormal_us(rng, 15))]
    if rng.random() < 0.6:
        k = rng.randrange(len(w.jwks[svc]))
        xs.append(exchange("GET", "/keys/services/%s/keys/%s" % (svc, w.key_services[svc][k]), ua,
                           build=lambda: json_answer(w.jwks[svc][k]), latency_us=lognormal_us(rng, 14)))
    return xs


def wellknown_session(w, rng, which):
    if which == "app-capabilities":
        ua = [("User-Agent", "podman/4.9.4")]
        return [exchange("GET", "/.well-known/app-capabilities", ua, build=lambda: json_answer({
            "appName": "Quay", "capabilities": {
                "search": {"v1": {"search_path": "/api/v1/find/all?query={query}"}},
                "repositories": {"v1": {"repository_path_template": "/repository/{namespace}/{repository}"}},
                "image-pulls": {"v1": {"docker_pull": "%s/{namespace}/{repository}" % HOST}}}}),
            latency_us=lognormal_us(rng, 10))]
    ua = [("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15")]
    return [exchange("GET", "/.well-known/change-password", ua, build=lambda: (
        302, "FOUND", [("Content-Type", "text/html; charset=utf-8"), ("Location", "/user/?tab=settings")], b""),
        latency_us=lognormal_us(rng, 6))]


def sessions(w, rng):
    """Every client session: (start µs within SPAN_US, exchanges).

    The counts are chosen for the shipped gate: in a family that should promote, every
    capability has either fewer than min_samples (200) samples (insufficient: it does not
    decide) or at least 381 (n matches of n reach the 0.99 Wilson bound), never in between.
    REGISTRY_V2: manifests and blobs ~400 (judged), auth and /v2/ under 200, uploads 180
    (not judged); KEYS_READ ~430; app-capabilities ~400. check_counts() holds it to that."""
    out = []

    def add(xs):
        out.append((rng.randint(0, SPAN_US), xs))
    for _ in range(95):
        add(pull_session(w, rng))
    for _ in range(70):
        add(warm_pull_session(w, rng))
    for repo in rng.sample(w.repos, 20):  # one push per repository: its upload flows never interleave
        add(push_session(w, rng, repo))
    for _ in range(10):
        add(catalog_session(w, rng))
    for _ in range(60):
        add(api_session(w, rng))
    for _ in range(60):
        add(v1_session(w, rng))
    for _ in range(40):
        add(oauth_token_session(w, rng))
    for _ in range(200):
        add(federation_session(w, rng))
    for _ in range(280):
        add(keys_session(w, rng))
    for _ in range(400):
        add(wellknown_session(w, rng, "app-capabilities"))
    for _ in range(50):
        add(wellknown_session(w, rng, "change-password"))
    return out


# ================================================================ the pcap

ETH = gp.ETH
IPTCP = gp.IPTCP
FIN, SYN, PSH, ACK = gp.FIN, gp.SYN, gp.PSH, gp.ACK


class Pcap:
    def __init__(self):
        self.frames = []

    def packet(self, ts, conn, sender, flags, seq, ack, payload=b""):
        n = 54 + len(payload)
        if sender == 0:
            src, dst, sport, dport = conn.ip, gp.SERVER_IP, conn.port, PORT
        else:
            src, dst, sport, dport = gp.SERVER_IP, conn.ip, PORT, conn.port
        frame = ETH[sender] + IPTCP.pack(0x45, 0, n - 14, len(self.frames) & 0xFFFF, 0x4000, 64, 6, 0, src, dst,
                                         sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0,
                                         0) + payload
        self.frames.append((ts, len(self.frames), frame))

    def write(self, path):
        self.frames.sort()
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            for ts, _, frame in self.frames:
                t = START_S * 1_000_000 + ts
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)) + frame)
        return len(self.frames)


class Conn:
    count = 0

    def __init__(self, pcap, rng):
        Conn.count += 1
        k = Conn.count
        self.pcap = pcap
        self.ip = bytes([10, 1, (k >> 8) & 255, k & 255])
        self.port = 30000 + k % 30000
        self.c, self.s = rng.getrandbits(32), rng.getrandbits(32)

    def open(self, t):
        p = self.pcap
        p.packet(t, self, 0, SYN, self.c, 0)
        p.packet(t + 40, self, 1, SYN | ACK, self.s, self.c + 1)
        self.c, self.s = self.c + 1, self.s + 1
        p.packet(t + 80, self, 0, ACK, self.c, self.s)
        return t + 100

    def send(self, t, sender, data):
        """Sends data in MSS segments from t; returns the time of the last one."""
        for i in range(0, len(data), MSS):
            seg = data[i:i + MSS]
            last = i + MSS >= len(data)
            if sender == 0:
                self.pcap.packet(t, self, 0, (PSH | ACK) if last else ACK, self.c, self.s, seg)
                self.c += len(seg)
            else:
                self.pcap.packet(t, self, 1, (PSH | ACK) if last else ACK, self.s, self.c, seg)
                self.s += len(seg)
            if not last:
                t += 6
        return t

    def close(self, t):
        p = self.pcap
        p.packet(t, self, 0, FIN | ACK, self.c, self.s)
        p.packet(t + 40, self, 1, FIN | ACK, self.s, self.c + 1)
        p.packet(t + 80, self, 0, ACK, self.c + 1, self.s + 1)


def request_bytes(x):
    lines = ["%s %s HTTP/1.1" % (x.method, x.target), "Host: " + HOST]
    lines += ["%s: %s" % h for h in x.headers if h[0] != "Content-Length"]
    if x.body or x.method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % len(x.body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + x.body


def response_bytes(x, t):
    lines = ["HTTP/1.1 %d %s" % (x.status, x.reason), "Server: " + SERVER_PY,
             "Date: " + http_date(datetime.datetime.fromtimestamp(START_S + t // 1_000_000, datetime.timezone.utc))]
    lines += ["%s: %s" % h for h in x.resp_headers if h[0] != "Content-Length"]
    length = next((v for n, v in x.resp_headers if n == "Content-Length"), None) if x.method == "HEAD" else None
    lines.append("Content-Length: %s" % (length if length is not None else len(x.resp_body)))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if x.method == "HEAD" else x.resp_body)


def write_pcap(path, all_sessions, rng):
    """The sessions' exchanges on the wire between the ingress and Quay: each session's
    exchanges one after the other (the client waits for each answer), every exchange on an
    idle keep-alive connection of the ingress's pool, a new connection when none is idle —
    so a client's flow spans connections, as behind any proxy."""
    timed = []
    for start, xs in all_sessions:
        t = start
        for x in xs:
            req, resp = request_bytes(x), None
            sent = t + 6 * ((len(req) - 1) // MSS)
            resp = response_bytes(x, sent + x.latency_us)
            end = sent + x.latency_us + 6 * ((len(resp) - 1) // MSS)
            timed.append((t, len(timed), req, sent + x.latency_us, resp, end))
            t = end + rng.randint(200, 2500)  # the client thinks
    timed.sort()
    pcap = Pcap()
    idle = []  # (free from, conn)
    for t, _, req, answer_at, resp, end in timed:
        ready = [c for c in idle if c[0] + 50 <= t]
        if ready:
            pick = max(ready, key=lambda c: c[0])  # the most recently used, as nginx's upstream pool does
            idle.remove(pick)
            conn = pick[1]
        else:
            conn = Conn(pcap, rng)
            conn.open(t - 150)
        conn.send(t, 0, req)
        conn.send(answer_at, 1, resp)
        idle.append((end, conn))
    for free, conn in idle:
        conn.close(max(free for free, _ in idle) + 1000)
    return len(timed), pcap.write(path), Conn.count


# ================================================================ the Go side

TIME_KEYS = {"start_ts", "end_ts", "last_modified", "expiration", "created", "last_accessed", "datetime",
             "started", "start_time", "end_time"}


def go_time(v, r):
    """The same kind of time, from another database clock: RFC 2822 strings and epoch ints."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v + r.choice([1, 7, 59, 3600])
    if isinstance(v, str):
        try:
            t = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError):
            return v
        if t is not None and v == gr.rfc2822(t):
            return gr.rfc2822(gr.shift(t, r))
    return v


def go_values(obj, r, capability):
    """Values two correct answers legitimately differ in: times, tokens, pagination tokens."""
    if isinstance(obj, list):
        return [go_values(v, r, capability) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in TIME_KEYS:
            v = go_time(v, r)
        elif k == "token" and isinstance(v, str) and capability == "V2_AUTH":
            v = go_jwt(v, r)
        elif k in ("token", "access_token") and isinstance(v, str):
            v = ("".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(len(v)))
                 if "." not in v else go_jwt(v, r))
        elif k == "next_page" and isinstance(v, str):
            v = "gAAAAAB" + gp.b64url(r.randbytes(96))
        else:
            v = go_values(v, r, capability)
        out[k] = v
    return out


def go_jwt(token, r):
    """The token Go issues for the same request: same claims, its own iat/nbf/exp, a jti, its signature."""
    head, body, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    skew = r.randint(2, 40)
    for k in ("iat", "nbf", "exp"):
        if k in claims:
            claims[k] += skew
    claims["jti"] = uuid4(r)
    return "%s.%s.%s" % (head, gp.b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()),
                         gp.b64url(r.randbytes(256)))


def seeded_bug(rec, obj):
    """The body bugs the demo seeds into the Go side (the status bug is in go_record)."""
    path = rec["request"]["target"].split("?")[0]
    cap = rec.get("capability")
    if cap == "API_REPOSITORY_READ" and rec["request"]["method"] == "GET" and isinstance(obj, dict) \
            and obj.get("description") == "":
        del obj["description"]  # `json:"description,omitempty"`
    if cap == "API_TAG_READ" and path.endswith("/tag/") and isinstance(obj, dict) and obj.get("tags") == []:
        obj["tags"] = None  # a nil slice encodes as null
    return obj


def go_record(rec, r):
    resp = rec["response"]
    req = rec["request"]
    cap = rec.get("capability")
    headers = []
    for name, value in resp["headers"]:
        low = name.lower()
        if low == "server":
            continue  # Go's net/http sends none
        if low == "set-cookie":
            k, _, rest = value.partition("=")
            value = "%s=%s;%s" % (k, gp.b64url(r.randbytes(24 if k == "_csrf_token" else 48)), rest.split(";", 1)[1])
        elif low == "x-docker-token":
            value = re.sub(r"signature=[^,]+", "signature=" + gp.b64url(r.randbytes(30)), value)
        elif low == "expires":
            t = email.utils.parsedate_to_datetime(value)
            value = http_date(t + datetime.timedelta(seconds=r.randint(3, 90)))
        elif low == "link" and "next_page=" in value:
            value = re.sub(r"next_page=[^&>]+", "next_page=gAAAAAB" + gp.b64url(r.randbytes(60)), value)
        elif low == "location" and "X-Amz-Signature=" in value:
            value = re.sub(r"X-Amz-Date=\w+", "X-Amz-Date=20261102T09%02d%02dZ" % (r.randint(0, 9), r.randint(0, 59)), value)
            value = re.sub(r"X-Amz-Signature=\w+", "X-Amz-Signature=%064x" % r.getrandbits(256), value)
        headers.append([name, value])
    ctype = next((v for n, v in headers if n.lower() == "content-type"), "")
    body = resp.get("body")
    status = resp["status"]
    path = req["target"].split("?")[0]
    if cap == "V1_TAG_READ" and re.match(r"^/v1/repositories/.+/tags/[^/]*\.[^/]*$", path):
        status, body = 404, "404 page not found\n"  # the Go route's tag pattern lacks '.'
        headers = [["Content-Type", "text/plain; charset=utf-8"], ["X-Content-Type-Options", "nosniff"]]
    elif body and ctype.startswith("application/json"):
        body = gr.go_json(seeded_bug(rec, go_values(json.loads(body), r, cap)))
    out = dict(rec)
    resp = {k: v for k, v in resp.items() if k not in ("body", "body_b64", "body_sha256", "body_len")}
    resp["status"], resp["headers"] = status, headers
    raw = (body or "").encode()
    if len(raw) > 2000 and cap == "API_LOGS_READ":
        raw = gzip.compress(raw, 6, mtime=0)  # Go's gzip middleware on large answers
        resp["headers"] = headers + [["Content-Encoding", "gzip"], ["Vary", "Accept-Encoding"]]
        resp["body_b64"] = base64.b64encode(raw).decode()
    elif body is not None:
        resp["body"] = body
    elif "body_b64" in rec["response"]:
        resp["body_b64"] = rec["response"]["body_b64"]
        raw = base64.b64decode(resp["body_b64"])
    resp["body_len"] = len(raw)
    latency = resp.get("latency_us") or 0
    resp["latency_us"] = int(latency * r.uniform(*GO_SPEEDUP))
    out["response"] = resp
    return out


def write_go(capture_path, out_path):
    recs = [json.loads(line) for line in open(capture_path, encoding="utf-8")]
    medians = {}
    for cap in SLOWER:
        lat = sorted(r["response"]["latency_us"] for r in recs if r.get("capability") == cap)
        medians[cap] = lat[len(lat) // 2]
    lines = []
    for rec in recs:
        req = rec["request"]
        body_key = req.get("body") or req.get("body_b64") or ""
        r = rng_for("go", req["method"], req["target"], body_key)
        g = go_record(rec, r)
        lat = rec["response"].get("latency_us") or 0
        if rec.get("capability") in SLOWER and lat >= medians[rec["capability"]]:
            g["response"]["latency_us"] = int(lat * OAUTH_SLOW)  # the slower half, slower still
        lines.append(json.dumps(g, separators=(",", ":"), ensure_ascii=False) + "\n")
    with open(out_path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write("".join(lines).encode())
    return len(lines)


# ================================================================ credentials

def redact(value):
    key = hashlib.sha256(DEMO_KEY.encode()).digest()
    return "redacted:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def credentials(w):
    """Every primary secret of the traffic, as the suite maps its redacted token back."""
    creds = {}
    for user in list(w.users) + list(w.ci_users):
        creds[redact(w.basic(user).split(" ", 1)[1])] = (w.basic(user).split(" ", 1)[1], "Basic auth of " + user)
        creds[redact(w.passwords[user])] = (w.passwords[user], "password of " + user)
    for user in w.users:
        creds[redact(w.api_tokens[user])] = (w.api_tokens[user], "OAuth token of " + user)
    for client, (_, secret) in sorted(w.oauth_apps.items()):
        creds[redact(secret)] = (secret, "client secret of " + client)
    for i, code in enumerate(w.codes):
        creds[redact(code)] = (code, "authorization code #%d" % (i + 1))
    for robot, jwt in sorted(w.federation_jwt.items()):
        basic = base64.b64encode(("%s:%s" % (robot, jwt)).encode()).decode()
        creds[redact(basic)] = (basic, "federated Basic auth of " + robot)
    return creds


def check_credentials(redacted_capture, creds):
    """Every redacted token a request carries is either a credential or a token an earlier
    answer issued (correlated by replay). Returns the tokens neither covers."""
    issued = set()
    missing = set()
    for line in open(redacted_capture, encoding="utf-8"):
        rec = json.loads(line)
        req = rec["request"]
        text = json.dumps(req["headers"]) + req["target"] + (req.get("body") or "")
        for tok in re.findall(r"redacted:[0-9a-f]{16}", text):
            if tok not in creds and tok not in issued:
                missing.add(tok)
        issued.update(re.findall(r"redacted:[0-9a-f]{16}", (rec.get("response") or {}).get("body") or ""))
    return missing


def write_credentials(path, creds):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# The demo's secrets (all fake), as each target's suite `credentials`: the capture's\n"
                "# \"redacted:<hex>\" token -> the secret (tools/make_demo.py, demo.key). Replay puts them\n"
                "# back into the requests it sends; registry tokens are correlated from /v2/auth answers.\n")
        for tok, (secret, what) in sorted(creds.items(), key=lambda kv: kv[1][1]):
            f.write('"%s": "%s"  # %s\n' % (tok, secret, what))


# ================================================================ main

PROMOTE = ("REGISTRY_V2", "KEYS", "WELLKNOWN")
N_ALL_MATCH = 390  # n matches of n have a Wilson 95% lower bound >= 0.99 from n = 381


def check_counts(capture):
    """The gate arithmetic the demo relies on (config/quay/gate.yaml: min_samples 200,
    min_parity_lower 0.99): a family that should promote, and each of its capabilities
    that reaches min_samples, has enough samples for all-match to pass; OAUTH too (its only
    failure is meant to be latency); the other failing families have min_samples."""
    fams, caps = {}, {}
    for line in open(capture, encoding="utf-8"):
        rec = json.loads(line)
        fams[rec["family"]] = fams.get(rec["family"], 0) + 1
        key = (rec["family"], rec["capability"])
        caps[key] = caps.get(key, 0) + 1
    bad = ["%s %d" % (f, fams.get(f, 0)) for f in PROMOTE + ("OAUTH",) if fams.get(f, 0) < N_ALL_MATCH]
    bad += ["%s %d" % (f, fams.get(f, 0)) for f in ("API_V1", "REGISTRY_V1") if fams.get(f, 0) < 210]
    bad += ["%s/%s %d" % (f, c, n) for (f, c), n in caps.items() if f in PROMOTE and 195 < n < N_ALL_MATCH]
    if bad:
        sys.exit("make_demo.py: sample counts the gate cannot decide as seeded: " + ", ".join(sorted(bad)))
    return fams

def run_capture(pmirror, pcap, out, extra):
    subprocess.run([pmirror, "capture", "-q", "-r", pcap, "-o", out] + extra, check=True,
                   stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description="Writes the bundled data of `make demo` into fixtures/demo/.")
    ap.add_argument("--pmirror", default=os.path.join(ROOT, "build", "pmirror"), help="the built pmirror (capture)")
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "demo"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(SEED)
    w = World(rng)
    all_sessions = sessions(w, rng)
    pcap = os.path.join(a.out, "quay.pcap")
    exchanges, packets, connections = write_pcap(pcap, all_sessions, rng)
    key = os.path.join(a.out, "demo.key")
    with open(key, "w") as f:
        f.write(DEMO_KEY + "\n")
    os.chmod(key, 0o600)  # pmirror refuses a key file group or others may read
    creds = credentials(w)
    write_credentials(os.path.join(a.out, "credentials.yaml"), creds)
    with tempfile.TemporaryDirectory() as tmp:
        clear, redacted = os.path.join(tmp, "clear.jsonl"), os.path.join(tmp, "redacted.jsonl")
        run_capture(a.pmirror, pcap, clear, ["--no-redact"])
        run_capture(a.pmirror, pcap, redacted, ["--key", key])
        missing = check_credentials(redacted, creds)
        if missing:
            sys.exit("make_demo.py: redacted tokens no credential covers: %s" % ", ".join(sorted(missing)[:5]))
        records = write_go(clear, os.path.join(a.out, "go.jsonl.gz"))
        families = check_counts(clear)
    if records != exchanges:
        sys.exit("make_demo.py: the capture has %d records for %d exchanges" % (records, exchanges))
    print("%d exchanges, %d connections, %d packets, %d bytes; %s" % (exchanges, connections, packets, os.path.getsize(pcap),
                                                   ", ".join("%s %d" % kv for kv in sorted(families.items()))))


if __name__ == "__main__":
    main()
