#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_diff_fixtures.py [OUT_DIR] — writes the golden data for `pmirror diff` under the
shipped Quay profile: fixtures/diff/quay_golden.results.jsonl (result records, the file
`pmirror replay` writes), quay_golden.expect.jsonl (the verdict and the differences each
record must get) and README.md (one line per case). OUT_DIR defaults to fixtures/diff
beside this script's repository.

Why: the diff engine's rules are written against quay-facts.md ("What legitimately differs
between two correct answers") and DESIGN.md ("Files": result and diff records). These
fixtures restate that contract as data, written from the spec and not from the engine's
code: every `m-*` case differs only in ways quay-facts.md calls legitimate and must be a
`match`; every `x-*` case carries one real defect (plus only legitimate noise) and must be
a `mismatch` naming each difference; `e-*` is an `error`, `s-*` is `skipped`.

Each case is one realistic exchange answered by a baseline target `python` (Quay's Python
code behind nginx) and a candidate target `go` (the rewrite, Go's net/http). Both answers
carry the noise real traffic has, on purpose, in every case:
  - Date and Server differ (go answers a second later, with its own Server);
  - go writes header names in Go's canonical form (Docker-Distribution-Api-Version,
    Www-Authenticate, Docker-Upload-Uuid) and in sorted order, as net/http does;
  - api/v1 JSON from python is `json.dumps` (", " and ": ", insertion order, newline),
    Flask `jsonify` bodies (v2, /v2/auth, web) are compact with sorted keys; go's are
    compact in struct-field order with a newline (encoding/json's Encoder);
  - Content-Length follows each body, so it differs whenever the bytes do. It is framing,
    not content: the body comparison covers it, so no case expects a content-length
    difference.
When statuses differ, the status is the one difference expected: the bodies and headers
of a success and an error are not compared field by field.

Expected differences use DESIGN.md's paths: status → ("status", ""); a header → its name
in lower case; a JSON body → `$`, `.key`, `[index]`; a text body → "line N" (the first
differing line, 1-based); a binary body → "". Kinds: missing (in baseline only), extra
(in candidate only), type, value, order (same multiset, other order; one difference at the
array's path).

Deterministic, Python 3 standard library only: every "random" value (uuids, tokens, JWT
signatures) is derived from a label with SHA-256, gzip members are written by hand
(stored deflate blocks, fixed header), so no byte depends on the local zlib. Re-running gives byte-identical files; edit this script, not the
files (tests/integration/diff_golden.sh checks that they are in sync).
"""
import base64
import datetime
import email.utils
import gzip
import hashlib
import json
import os
import re
import sys
import zlib

BASE_EPOCH = 1793527200            # 2026-11-01T10:00:00Z
PY_HOST = "127.0.0.1:8001"         # the suite's python target
GO_HOST = "127.0.0.1:8002"         # the suite's go target
PROD_HOST = "quay.example.test"    # where the capture was taken
SERVER_HOSTNAME = "quay.example.test"  # Quay's SERVER_HOSTNAME: the same config on both

# `pmirror classify METHOD TARGET` for every request below (the shipped profile): family,
# capability, switch, cap_switch, route_id, mutating, cohort org, cohort repo. The cohort
# user comes from the credentials the capture saw (each case names it).
CLASSIFY = {
    "GET /v2/": ('REGISTRY_V2', 'V2_BASE', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', None, 'ROUTE-0319', False, None, None),
    "GET /v2/acme/app/tags/list": ('REGISTRY_V2', 'V2_TAGS_LIST', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0335', False, 'acme', 'acme/app'),
    "GET /api/v1/repository/acme/app": ('API_V1', 'API_REPOSITORY_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0106', False, 'acme', 'acme/app'),
    "GET /api/v1/organization/acme": ('API_V1', 'API_ORGANIZATION_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0016', False, 'acme', None),
    "GET /api/v1/repository": ('API_V1', 'API_REPOSITORY_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0103', False, None, None),
    "GET /api/v1/user/": ('API_V1', 'API_USER_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0218', False, None, None),
    "GET /v1/repositories/acme/app/images": ('REGISTRY_V1', 'V1_REPO_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V1', None, 'ROUTE-0306', False, 'acme', 'acme/app'),
    "GET /v1/repositories/acme/app/tags": ('REGISTRY_V1', 'V1_TAG_READ', 'ROUTE_OWNER_FAMILY_REGISTRY_V1', None, 'ROUTE-0308', False, 'acme', 'acme/app'),
    "GET /v1/_ping": ('REGISTRY_V1', 'V1_PING', 'ROUTE_OWNER_FAMILY_REGISTRY_V1', None, 'ROUTE-0296', False, None, None),
    "GET /v2/acme/app/manifests/latest": ('REGISTRY_V2', 'V2_MANIFEST_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0327', False, 'acme', 'acme/app'),
    "POST /v2/acme/app/blobs/uploads/": ('REGISTRY_V2', 'V2_BLOB_UPLOAD', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PUSH', 'ROUTE-0330', True, 'acme', 'acme/app'),
    "PATCH /v2/acme/app/blobs/uploads/<uuid>": ('REGISTRY_V2', 'V2_BLOB_UPLOAD', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PUSH', 'ROUTE-0333', True, 'acme', 'acme/app'),
    "GET /v2/acme/app/blobs/uploads/<uuid>": ('REGISTRY_V2', 'V2_BLOB_UPLOAD', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PUSH', 'ROUTE-0332', False, 'acme', 'acme/app'),
    "PUT /v2/acme/app/blobs/uploads/<uuid>": ('REGISTRY_V2', 'V2_BLOB_UPLOAD', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PUSH', 'ROUTE-0334', True, 'acme', 'acme/app'),
    "PUT /v2/acme/app/manifests/v1": ('REGISTRY_V2', 'V2_MANIFEST_PUSH', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PUSH', 'ROUTE-0328', True, 'acme', 'acme/app'),
    "GET /v2/auth": ('REGISTRY_V2', 'V2_AUTH', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', None, 'ROUTE-0337', False, 'acme', 'acme/app'),
    "GET /api/v1/repository/acme/app/tag/": ('API_V1', 'API_TAG_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0153', False, 'acme', 'acme/app'),
    "GET /api/v1/repository/acme/app/logs": ('API_V1', 'API_LOGS_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0131', False, 'acme', 'acme/app'),
    "GET /api/v1/organization/acme/robots": ('API_V1', 'API_ROBOT_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0080', False, 'acme', None),
    "GET /csrf_token": ('WEB', 'WEB_CONFIG', 'ROUTE_OWNER_FAMILY_WEB', None, 'ROUTE-0359', False, None, None),
    "GET /api/v1/repository/acme/nope": ('API_V1', 'API_REPOSITORY_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0106', False, 'acme', 'acme/nope'),
    "GET /v2/acme/app/blobs/<digest>": ('REGISTRY_V2', 'V2_BLOB_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0320', False, 'acme', 'acme/app'),
    "GET /v2/_catalog": ('REGISTRY_V2', 'V2_CATALOG', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', None, 'ROUTE-0336', False, None, None),
    "GET /keys/services/quay/keys": ('KEYS', 'KEYS_READ', 'ROUTE_OWNER_FAMILY_KEYS', None, 'ROUTE-0269', False, None, None),
    "GET /.well-known/app-capabilities": ('WELLKNOWN', 'WELLKNOWN_APP_CAPABILITIES', 'ROUTE_OWNER_FAMILY_WELLKNOWN', None, 'ROUTE-0409', False, None, None),
    "HEAD /v2/acme/app/manifests/latest": ('REGISTRY_V2', 'V2_MANIFEST_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0327', False, 'acme', 'acme/app'),
    "GET /v2/acme/app/manifests/v1.1": ('REGISTRY_V2', 'V2_MANIFEST_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0327', False, 'acme', 'acme/app'),
    "GET /v2/acme/empty/tags/list": ('REGISTRY_V2', 'V2_TAGS_LIST', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0335', False, 'acme', 'acme/empty'),
    "GET /api/v1/repository/acme/empty/tag/": ('API_V1', 'API_TAG_READ', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0153', False, 'acme', 'acme/empty'),
    "GET /v2/acme/app/manifests/v1": ('REGISTRY_V2', 'V2_MANIFEST_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0327', False, 'acme', 'acme/app'),
    "GET /v2/acme/app/manifests/<digest>": ('REGISTRY_V2', 'V2_MANIFEST_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE-0323', False, 'acme', 'acme/app'),
    "GET /robots.txt": ('WEB', 'WEB_PAGE', 'ROUTE_OWNER_FAMILY_WEB', None, 'ROUTE-0391', False, None, None),
    "DELETE /api/v1/repository/acme/app": ('API_V1', 'API_REPOSITORY_WRITE', 'ROUTE_OWNER_FAMILY_API_V1', None, 'ROUTE-0105', True, 'acme', 'acme/app'),
}


def route_key(method, target):
    """METHOD and the target's path with digests and uuids as placeholders (the key of
    CLASSIFY): the classification does not depend on them or on the query."""
    path = re.sub(r"sha256:[0-9a-f]{64}", "<digest>", target.split("?")[0])
    return method + " " + re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", path)


# ---- deterministic "random" values --------------------------------------------------------

def rand_bytes(label, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s/%d" % (label, i)).encode()).digest()
        i += 1
    return out[:n]


def rand_hex(label, n):
    return rand_bytes(label, (n + 1) // 2).hex()[:n]


def rand_uuid(label):
    h = bytearray(rand_bytes("uuid:" + label, 16))
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


def rand_upper(label, n):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in rand_bytes("upper:" + label, n))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fake_digest(label):
    return "sha256:" + hashlib.sha256(("blob:" + label).encode()).hexdigest()


def fernet_token(label):
    """An api/v1 next_page / catalog page token: Fernet (version byte 0x80, a timestamp,
    IV, ciphertext, HMAC), base64url with padding, as Quay's encrypt_page_token makes."""
    raw = b"\x80" + (BASE_EPOCH + 7).to_bytes(8, "big") + rand_bytes("fernet:" + label, 16 + 48 + 32)
    return base64.urlsafe_b64encode(raw).decode()


def rfc2822(epoch):
    return email.utils.formatdate(epoch)          # "Sun, 01 Nov 2026 10:00:00 -0000"


def http_date(epoch):
    return email.utils.formatdate(epoch, usegmt=True)


def redacted(secret):
    return "redacted:" + hashlib.sha256(("golden-key:" + secret).encode()).hexdigest()[:16]


# ---- body encoders ---------------------------------------------------------------------

def py_api(obj):      # flask-restful's output_json: json.dumps(data) + "\n"
    return (json.dumps(obj) + "\n").encode()


def py_jsonify(obj):  # Flask jsonify outside debug: compact, sorted keys, newline
    return (json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n").encode()


def go_json(obj):     # encoding/json Encoder: compact, struct order, newline
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def compact(obj):     # bytes as stored (manifests are served as pushed)
    return json.dumps(obj, separators=(",", ":")).encode()


def go_canonical(name):
    """net/http's CanonicalMIMEHeaderKey."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


# ---- responses ---------------------------------------------------------------------------

class Answer:
    """One target's answer. headers: the route-specific [name, value] pairs; Server, Date,
    Content-Type and Content-Length are added by the target's own style."""

    def __init__(self, status=200, body=b"", ctype="application/json", headers=(), length=None,
                 error=None, skipped=False, raw_headers=None):
        self.status, self.body, self.ctype = status, body, ctype
        self.headers = [list(h) for h in headers]
        self.length = length          # Content-Length when it is not len(body) (HEAD)
        self.error, self.skipped = error, skipped
        self.raw_headers = raw_headers  # exact header list, no style applied


def body_keys(body):
    out = {}
    if body:
        try:
            out["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_b64"] = base64.b64encode(body).decode()
    out["body_len"] = len(body)
    out["body_sha256"] = hashlib.sha256(body).hexdigest()
    return out


def framing(a):
    h = []
    if a.ctype:
        h.append(["Content-Type", a.ctype])
    if a.status != 204:
        h.append(["Content-Length", str(a.length if a.length is not None else len(a.body))])
    return h


def python_headers(a, epoch):
    if a.raw_headers is not None:
        return [list(x) for x in a.raw_headers]
    return [["Server", "nginx/1.22.1"], ["Date", http_date(epoch)]] + framing(a) + a.headers


def go_headers(a, epoch):
    if a.raw_headers is not None:
        return [list(x) for x in a.raw_headers]
    h = [[go_canonical(n), v] for n, v in framing(a) + a.headers]
    h += [["Date", http_date(epoch + 1)], ["Server", "quay-go/0.9.0"]]
    return sorted(h, key=lambda p: p[0])   # net/http writes header keys sorted


def target_answer(a, role, epoch, style, latency):
    if a.skipped:
        return {"role": role, "skipped": True, "error": a.error or "skipped_unsafe"}
    if a.error:
        return {"role": role, "latency_us": 0, "done_us": 30000000, "error": a.error,
                "error_detail": "Operation timed out after 30000 milliseconds with 0 bytes received"}
    out = {"role": role, "status": a.status, "headers": style(a, epoch)}
    out.update(body_keys(a.body))
    out["latency_us"] = latency
    out["done_us"] = latency + 180 + len(a.body) // 4
    out["error"] = None
    return out


def recorded_answer(a, epoch):
    """What the capture saw in production: python's answer, from the production host."""
    def prod(v):
        return v.replace("http://" + PY_HOST, "https://" + PROD_HOST).replace(PY_HOST, PROD_HOST)
    headers = [[n, prod(v)] for n, v in python_headers(a, epoch)]
    headers.insert(4 if len(headers) >= 4 else len(headers), ["Connection", "keep-alive"])
    body = prod(a.body.decode()).encode() if a.body and "body" in body_keys(a.body) else a.body
    out = {"status": a.status, "reason": REASONS[a.status], "version": "HTTP/1.1", "headers": headers}
    out.update(body_keys(body))
    if "body_sha256" in out:
        del out["body_sha256"]
    out.update({"complete": True, "latency_us": 2100, "done_us": 2300})
    return out


REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 302: "FOUND",
           401: "UNAUTHORIZED", 404: "NOT FOUND"}


# ---- requests -------------------------------------------------------------------------

UA_SKOPEO = "containers/5.24.2 (github.com/containers/image)"
UA_DOCKER = "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0-13-amd64 os/linux arch/amd64"
UA_BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
UA_CLI = "python-requests/2.31.0"


def req_headers(ua, auth=None, extra=()):
    h = [["Host", PROD_HOST], ["User-Agent", ua]]
    h += [list(x) for x in extra]
    if auth:
        h.append(["Authorization", auth])
    h.append(["Accept-Encoding", "gzip"])
    return h


BEARER_CI = "Bearer " + redacted("jwt-acme+ci")
BASIC_CI = "Basic " + redacted("basic-acme+ci")
OAUTH_ALICE = "Bearer " + redacted("oauth-alice")
COOKIE_ALICE = "_csrf_token=" + redacted("session-alice")


# ---- shared artifacts ---------------------------------------------------------------------

def gzip_member(data, mtime=0, os_byte=255):
    """A gzip member whose deflate stream is stored blocks (RFC 1951 BTYPE 00), written by
    hand so the bytes do not depend on the local zlib's compressor: what zlib itself emits
    for incompressible data, and what any inflater reads."""
    out = bytearray(b"\x1f\x8b\x08\x00" + mtime.to_bytes(4, "little") + bytes([0, os_byte]))
    chunks = [data[i:i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for n, chunk in enumerate(chunks):
        out.append(1 if n == len(chunks) - 1 else 0)
        out += len(chunk).to_bytes(2, "little") + (len(chunk) ^ 0xFFFF).to_bytes(2, "little") + chunk
    out += (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(out)


def layer_blob(label, n):
    """A tiny image layer as a registry sees it: gzip of incompressible data."""
    return gzip_member(rand_bytes("layer:" + label, n))


LAYER_A = layer_blob("hello", 160)
LAYER_B = layer_blob("config", 96)
CONFIG_DIGEST = fake_digest("config")
LAYER1 = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": fake_digest("layer-base"), "size": 29126}
LAYER2 = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": fake_digest("layer-app"), "size": 2048}
LAYER3 = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": fake_digest("layer-conf"), "size": 311}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def manifest(config_digest=CONFIG_DIGEST, layers=(LAYER1, LAYER2, LAYER3)):
    return compact({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": config_digest, "size": 1469},
                    "layers": list(layers)})


MANIFEST = manifest()
MANIFEST_DIGEST = digest_of(MANIFEST)
V2_API = ["Docker-Distribution-API-Version", "registry/2.0"]


def v2_error(code, message, go=False):
    err = {"code": code, "message": message, "detail": {}}
    return go_json({"errors": [err]}) if go else py_jsonify({"errors": [err]})


def tag_dict(name, start, end=None, size=31485, digest=MANIFEST_DIGEST, time=rfc2822):
    t = {"name": name, "reversion": False, "start_ts": start}
    if end is not None:
        t["end_ts"] = end
    t.update({"manifest_digest": digest, "is_manifest_list": False, "size": size,
              "last_modified": time(start)})
    if end is not None:
        t["expiration"] = time(end)
    return t


def repo_view(order="python", drop=()):
    tags = {"latest": {"name": "latest", "size": 31485, "last_modified": rfc2822(BASE_EPOCH - 3600),
                       "manifest_digest": MANIFEST_DIGEST}}
    fields = [("namespace", "acme"), ("name", "app"), ("kind", "image"), ("description", "The Acme app"),
              ("is_public", False), ("is_organization", True), ("is_starred", False),
              ("status_token", ""), ("trust_enabled", False), ("tag_expiration_s", 1209600),
              ("is_free_account", False), ("state", "NORMAL"), ("tags", tags),
              ("can_write", True), ("can_admin", True)]
    if order == "go":   # the Go struct's field order, nested objects too
        fields = sorted(fields)
        tags = {"latest": dict(sorted(tags["latest"].items(), reverse=True))}
        fields = [(k, tags if k == "tags" else v) for k, v in fields]
    return {k: v for k, v in fields if k not in drop}


def org_view(extra=()):
    org = {"name": "acme", "email": "ops@acme.example",
           "avatar": {"name": "acme", "hash": rand_hex("avatar-acme", 64), "color": "#e377c2", "kind": "org"},
           "is_admin": True, "is_member": True, "ordered_teams": ["owners", "deployers"],
           "invoice_email": False, "invoice_email_address": None, "tag_expiration_s": 1209600,
           "is_free_account": False}
    org.update(extra)
    return org


def jwt(label, kid, iat, go=False):
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    claims = {"iss": "quay", "aud": SERVER_HOSTNAME, "nbf": iat, "iat": iat, "exp": iat + 3600,
              "sub": "acme+ci",
              "access": [{"type": "repository", "name": "acme/app", "actions": ["pull"]}],
              "context": {"version": 2, "entity_kind": "robot", "entity_reference": "acme+ci",
                          "kind": "robot", "com.apostille.roots": {}, "com.apostille.root": "$disabled"},
              "jti": rand_hex("jti:" + label, 32)}
    if go:  # a Go JWT library writes registered claims first, in its own order
        claims = {k: claims[k] for k in ("aud", "exp", "iat", "iss", "jti", "nbf", "sub", "access", "context")}
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")).encode())
    return "%s.%s.%s" % (enc(header), enc(claims), b64url(rand_bytes("sig:" + label, 256)))


# ---- the cases ------------------------------------------------------------------------------

CASES = []


def case(cid, method, target, headers, py, go, verdict, diffs, why, user=None, req_body=None, recorded=True):
    CASES.append(dict(id=cid, method=method, target=target, headers=headers, py=py, go=go,
                      verdict=verdict, diffs=diffs, why=why, user=user,
                      req_body=req_body, recorded=recorded))


def d(where, path, kind):
    return {"where": where, "path": path, "kind": kind}


UP_REC = rand_uuid("upload-recorded")
UP_PY = rand_uuid("upload-python")
UP_GO = rand_uuid("upload-go")
LAYER_A_DIGEST = digest_of(LAYER_A)
LAYER_B_DIGEST = digest_of(LAYER_B)
TAGS_LIST = {"name": "acme/app", "tags": ["latest", "v1", "v1.1"]}
MANIFEST_ACCEPT = ["Accept", OCI_MANIFEST + ", " + DOCKER_MANIFEST]


def manifest_answer(body=MANIFEST, digest=MANIFEST_DIGEST, ctype=OCI_MANIFEST, head=False, with_digest=True):
    h = ([["Docker-Content-Digest", digest]] if with_digest else []) + [V2_API]
    return Answer(200, b"" if head else body, ctype, h, length=len(body) if head else None)


# -- MATCH: legitimate differences only -------------------------------------------------------

case("m-date-server", "GET", "/v2/", req_headers(UA_SKOPEO, BEARER_CI),
     Answer(200, b"true", "text/html; charset=utf-8", [V2_API]),
     Answer(200, b"true", "text/html; charset=utf-8", [V2_API]),
     "match", [], "only Date and Server differ (and go's canonical header-name case)", user="acme+ci")

case("m-header-case", "GET", "/v2/acme/app/tags/list", req_headers(UA_SKOPEO, BEARER_CI),
     Answer(raw_headers=[["server", "nginx/1.22.1"], ["date", http_date(BASE_EPOCH + 20)],
                         ["content-type", "application/json"], ["content-length", str(len(py_jsonify(TAGS_LIST)))],
                         ["docker-distribution-api-version", "registry/2.0"]], body=py_jsonify(TAGS_LIST)),
     Answer(raw_headers=[["Content-Length", str(len(go_json(TAGS_LIST)))], ["Content-Type", "application/json"],
                         ["Date", http_date(BASE_EPOCH + 21)], ["Docker-Distribution-Api-Version", "registry/2.0"],
                         ["Server", "quay-go/0.9.0"]], body=go_json(TAGS_LIST)),
     "match", [], "header names differ only in case (content-type vs Content-Type, -API- vs -Api-)",
     user="acme+ci")

case("m-json-key-order", "GET", "/api/v1/repository/acme/app?includeTags=true&includeStats=false",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(repo_view())), Answer(200, go_json(repo_view("go"))),
     "match", [], "same repository object, keys (top level and nested) in another order",
     user="alice")

case("m-json-whitespace", "GET", "/api/v1/organization/acme", req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(org_view())), Answer(200, go_json(org_view())),
     "match", [], "same organization object; only whitespace (json.dumps ', ' ': ' vs compact) and Content-Length differ",
     user="alice")

REPO_LIST = lambda pop: {"repositories": [{"namespace": "acme", "name": "app", "description": "The Acme app",
                                           "is_public": False, "kind": "image", "state": "NORMAL",
                                           "popularity": pop, "is_starred": False}]}
case("m-number-form", "GET", "/api/v1/repository?namespace=acme&popularity=true",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(REPO_LIST(1.0))), Answer(200, go_json(REPO_LIST(1))),
     "match", [], "popularity 1.0 (Python float) vs 1 (Go float64): the same number",
     user="alice")

USER = {"anonymous": False, "username": "alice", "avatar": {"name": "alice", "hash": rand_hex("avatar-alice", 64),
        "color": "#1f77b4", "kind": "user"}, "can_create_repo": True, "is_me": True, "verified": True,
        "email": "alice@acme.example", "logins": [], "invoice_email": False, "invoice_email_address": None,
        "preferred_namespace": False, "tag_expiration_s": 1209600, "prompts": [], "company": "Acme",
        "family_name": None, "given_name": None, "location": None, "is_free_account": True,
        "has_password_set": True, "organizations": [{"name": "acme", "avatar": {"name": "acme",
        "hash": rand_hex("avatar-acme", 64), "color": "#e377c2", "kind": "org"}, "can_create_repo": True,
        "public": False, "is_org_admin": True, "preferred_namespace": False}], "super_user": False}


def session_cookie(label, ts):
    payload = b64url(json.dumps({"_csrf_token": rand_hex("csrf-alice", 40), "_user_id": rand_uuid("alice"),
                                 "user_id": rand_uuid("alice")}, separators=(",", ":")).encode())
    stamp = b64url(ts.to_bytes(4, "big"))
    return ("_csrf_token=%s.%s.%s; Domain=%s; Secure; HttpOnly; Path=/; SameSite=Lax"
            % (payload, stamp, b64url(rand_bytes("cookie-sig:" + label, 20)), SERVER_HOSTNAME))


case("m-set-cookie", "GET", "/api/v1/user/",
     req_headers(UA_BROWSER, None, [["Cookie", COOKIE_ALICE], ["X-CSRF-Token", redacted("csrf-alice")]]),
     Answer(200, py_api(USER), headers=[["Set-Cookie", session_cookie("python", BASE_EPOCH + 40)]]),
     Answer(200, go_json(USER), headers=[["Set-Cookie", session_cookie("go", BASE_EPOCH + 41)]]),
     "match", [], "Set-Cookie _csrf_token re-signed with another timestamp and signature", user="alice")

V1_IMAGES = [{"id": rand_hex("v1-image-1", 64)}, {"id": rand_hex("v1-image-2", 64)}]


def docker_token(label):
    return 'signature=%s,repository="acme/app",access=read' % rand_upper("v1tok:" + label, 40)


case("m-v1-docker-token", "GET", "/v1/repositories/acme/app/images",
     req_headers(UA_DOCKER, BASIC_CI, [["X-Docker-Token", "true"]]),
     Answer(200, (json.dumps(V1_IMAGES) + "").encode(),
            headers=[["X-Docker-Token", docker_token("python")], ["X-Docker-Endpoints", SERVER_HOSTNAME]]),
     Answer(200, compact(V1_IMAGES),
            headers=[["X-Docker-Token", docker_token("go")], ["X-Docker-Endpoints", SERVER_HOSTNAME]]),
     "match", [], "X-Docker-Token is a fresh signature per call",
     user="acme+ci")

V1_TAGS = {"latest": rand_hex("v1-image-2", 64), "v1": rand_hex("v1-image-1", 64)}
case("m-v1-expires", "GET", "/v1/repositories/acme/app/tags", req_headers(UA_DOCKER, BASIC_CI),
     Answer(200, json.dumps(V1_TAGS).encode(), headers=[["Cache-Control", "public, max-age=300"],
                                                        ["Expires", http_date(BASE_EPOCH + 60 + 300)]]),
     Answer(200, compact(V1_TAGS), headers=[["Cache-Control", "public, max-age=300"],
                                            ["Expires", http_date(BASE_EPOCH + 61 + 300)]]),
     "match", [], "Expires on /v1 is now+300s on each target", user="acme+ci")

V1_PING = [["X-Docker-Registry-Version", "0.6.0"], ["X-Docker-Registry-Standalone", "0"]]
case("m-v1-ping", "GET", "/v1/_ping", req_headers(UA_DOCKER),
     Answer(200, b"true", headers=V1_PING), Answer(200, b"true", headers=V1_PING),
     "match", [], "/v1/_ping: body true, only Date/Server differ (no recorded response: optional key)",
     recorded=False)


def challenge(host, scope="repository:acme/app:pull"):
    return 'Bearer realm="http://%s/v2/auth",service="%s",scope="%s"' % (host, host, scope)


UNAUTH = "access to the requested resource is not authorized"
case("m-www-authenticate", "GET", "/v2/acme/app/manifests/latest",
     req_headers(UA_SKOPEO, None, [MANIFEST_ACCEPT]),
     Answer(401, v2_error("UNAUTHORIZED", UNAUTH), headers=[["WWW-Authenticate", challenge(PY_HOST)], V2_API]),
     Answer(401, v2_error("UNAUTHORIZED", UNAUTH, go=True), headers=[["WWW-Authenticate", challenge(GO_HOST)], V2_API]),
     "match", [], "401 challenge: realm and service name each target's own host; error keys in another order")


def upload_headers(host, uuid, rng):
    return [["Location", "http://%s/v2/acme/app/blobs/uploads/%s" % (host, uuid)], ["Range", rng],
            ["Docker-Upload-UUID", uuid], V2_API]


case("m-upload-start", "POST", "/v2/acme/app/blobs/uploads/",
     req_headers(UA_SKOPEO, BEARER_CI, [["Content-Length", "0"]]),
     Answer(202, b"", "text/html; charset=utf-8", upload_headers(PY_HOST, UP_PY, "bytes=0--1")),
     Answer(202, b"", "text/html; charset=utf-8", upload_headers(GO_HOST, UP_GO, "bytes=0--1")),
     "match", [], "202: Location absolute with own host and random uuid, random Docker-Upload-UUID, Range bytes=0--1 on both",
     user="acme+ci")

case("m-upload-patch", "PATCH", "/v2/acme/app/blobs/uploads/" + UP_REC,
     req_headers(UA_SKOPEO, BEARER_CI, [["Content-Type", "application/octet-stream"],
                                         ["Content-Length", str(len(LAYER_B))]]),
     Answer(202, b"", "text/html; charset=utf-8", upload_headers(PY_HOST, UP_PY, "bytes=0-%d" % (len(LAYER_B) - 1))),
     Answer(202, b"", "text/html; charset=utf-8", upload_headers(GO_HOST, UP_GO, "bytes=0-%d" % (len(LAYER_B) - 1))),
     "match", [], "PATCH 202: same Range 0-<n>; Location and UUID are each target's own upload",
     user="acme+ci", req_body=LAYER_B)

case("m-upload-status", "GET", "/v2/acme/app/blobs/uploads/" + UP_REC,
     req_headers(UA_SKOPEO, BEARER_CI),
     Answer(204, b"", None, upload_headers(PY_HOST, UP_PY, "bytes=0-%d" % (len(LAYER_B) - 1))),
     Answer(204, b"", None, upload_headers(GO_HOST, UP_GO, "bytes=0-%d" % (len(LAYER_B) - 1))),
     "match", [], "upload status 204: per-target Location/UUID, same Range",
     user="acme+ci")


def blob_created(host):
    return [["Location", "http://%s/v2/acme/app/blobs/%s" % (host, LAYER_B_DIGEST)],
            ["Docker-Content-Digest", LAYER_B_DIGEST], V2_API]


case("m-blob-put-created", "PUT", "/v2/acme/app/blobs/uploads/%s?digest=%s" % (UP_REC, LAYER_B_DIGEST),
     req_headers(UA_SKOPEO, BEARER_CI, [["Content-Length", "0"]]),
     Answer(201, b"", "text/html; charset=utf-8", blob_created(PY_HOST)),
     Answer(201, b"", "text/html; charset=utf-8", blob_created(GO_HOST)),
     "match", [], "blob 201: absolute Location with each target's host, same digest",
     user="acme+ci")

MPUT = [["Location", "/v2/acme/app/manifests/" + MANIFEST_DIGEST], ["Docker-Content-Digest", MANIFEST_DIGEST], V2_API]
case("m-manifest-put", "PUT", "/v2/acme/app/manifests/v1",
     req_headers(UA_SKOPEO, BEARER_CI, [["Content-Type", OCI_MANIFEST], ["Content-Length", str(len(MANIFEST))]]),
     Answer(201, b"OK", "text/html; charset=utf-8", MPUT), Answer(201, b"OK", "text/html; charset=utf-8", MPUT),
     "match", [], "manifest PUT 201: relative Location and body OK on both",
     user="acme+ci", req_body=MANIFEST)

case("m-auth-jwt", "GET",
     "/v2/auth?account=acme%2Bci&scope=repository%3Aacme%2Fapp%3Apull&service=quay.example.test",
     req_headers(UA_SKOPEO, BASIC_CI),
     Answer(200, py_jsonify({"token": jwt("python", rand_hex("kid-python", 43), BASE_EPOCH + 140)})),
     Answer(200, go_json({"token": jwt("go", rand_hex("kid-go", 43), BASE_EPOCH + 141, go=True)})),
     "match", [], "/v2/auth JWT: iat/exp/nbf/jti, kid and signature differ; every other claim is equal",
     user="acme+ci")


def page(token):
    body = REPO_LIST(1.0)
    body["repositories"][0].pop("popularity")
    body["next_page"] = token
    return body


case("m-api-next-page", "GET", "/api/v1/repository?namespace=acme&public=false",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(page(fernet_token("python")))), Answer(200, go_json(page(fernet_token("go")))),
     "match", [], "api/v1 next_page is an encrypted token (with a timestamp): differs per target",
     user="alice")

TAGS_PAGE = lambda tags: {"tags": tags, "page": 1, "has_additional": False}
T0 = BASE_EPOCH - 7200
case("m-time-fields", "GET", "/api/v1/repository/acme/app/tag/?limit=1&page=1",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE([dict(tag_dict("v1", T0, T0 + 86400), last_modified=rfc2822(T0),
                                        expiration=rfc2822(T0 + 86400))]))),
     Answer(200, go_json(TAGS_PAGE([dict(tag_dict("v1", T0, T0 + 86400), last_modified=rfc2822(T0 + 3),
                                         expiration=rfc2822(T0 + 86403))]))),
     "match", [], "last_modified and expiration: other instants, both RFC 2822",
     user="alice")

case("m-time-epoch", "GET", "/api/v1/repository/acme/app/tag/?specificTag=v1",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE([tag_dict("v1", T0, T0 + 86400)]))),
     Answer(200, go_json(TAGS_PAGE([tag_dict("v1", T0 + 3, T0 + 86403)]))),
     "match", [], "start_ts/end_ts (epoch seconds, as Quay sends them) and the dates derived from them differ",
     user="alice")


def logs(start, end, when):
    return {"start_time": rfc2822(start), "end_time": rfc2822(end), "logs": [
        {"kind": "pull_repo", "metadata": {"repo": "app", "namespace": "acme", "tag": "latest",
                                           "manifest_digest": MANIFEST_DIGEST},
         "ip": "10.0.0.1", "datetime": rfc2822(when),
         "performer": {"kind": "robot", "name": "acme+ci", "is_robot": True,
                       "avatar": {"name": "acme+ci", "hash": rand_hex("avatar-ci", 64), "color": "#9edae5",
                                  "kind": "robot"}}}]}


case("m-logs-times", "GET", "/api/v1/repository/acme/app/logs", req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(logs(BASE_EPOCH + 200 - 86400, BASE_EPOCH + 200, BASE_EPOCH - 600))),
     Answer(200, go_json(logs(BASE_EPOCH + 201 - 86400, BASE_EPOCH + 201, BASE_EPOCH - 598))),
     "match", [], "logs: default start_time/end_time (now - 1 day, now) and each entry's datetime differ, same format",
     user="alice")


def robots(label, created, accessed):
    return {"robots": [{"name": "acme+ci", "created": rfc2822(created), "last_accessed": rfc2822(accessed),
                        "description": "CI pusher", "unstructured_metadata": {},
                        "token": rand_upper("robot:" + label, 64)}]}


case("m-robots-token", "GET", "/api/v1/organization/acme/robots?token=true&permissions=false",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(robots("python", BASE_EPOCH - 90 * 86400, BASE_EPOCH - 60))),
     Answer(200, go_json(robots("go", BASE_EPOCH - 90 * 86400 + 1, BASE_EPOCH - 59))),
     "match", [], "robot token (a secret) and created/last_accessed (same format) differ",
     user="alice")

case("m-csrf-token", "GET", "/csrf_token",
     req_headers(UA_BROWSER, None, [["Cookie", COOKIE_ALICE]]),
     Answer(200, py_jsonify({"csrf_token": rand_hex("csrf-py", 64)})),
     Answer(200, go_json({"csrf_token": rand_hex("csrf-go", 64)})),
     "match", [], "csrf_token is random per call", user="alice")


def api_error(host, go=False):
    e = {"detail": "Not Found", "error_message": "Not Found", "error_type": "not_found", "title": "not_found",
         "type": "http://%s/api/v1/error/not_found" % host, "status": 404}
    return go_json(e) if go else py_jsonify(e)


case("m-api-error-type", "GET", "/api/v1/repository/acme/nope", req_headers(UA_CLI, OAUTH_ALICE),
     Answer(404, api_error(PY_HOST)), Answer(404, api_error(GO_HOST, go=True)),
     "match", [], "api/v1 404: the error `type` URL names each target's host",
     user="alice")

REPO_NO_TAGS = repo_view(drop=("tags",))
GZ_PY = gzip_member(py_api(REPO_NO_TAGS), mtime=0, os_byte=3)
GZ_GO = gzip_member(go_json(repo_view("go", drop=("tags",))), mtime=0, os_byte=255)
case("m-gzip-body", "GET", "/api/v1/repository/acme/app?includeTags=false",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, GZ_PY, headers=[["Content-Encoding", "gzip"], ["Vary", "Accept-Encoding"]]),
     Answer(200, GZ_GO, headers=[["Content-Encoding", "gzip"], ["Vary", "Accept-Encoding"]]),
     "match", [], "Content-Encoding gzip: compressed bytes differ, the decoded JSON is equal",
     user="alice")

BLOB = [["Docker-Content-Digest", LAYER_A_DIGEST], ["Cache-Control", "max-age=31536000"], V2_API]
case("m-blob-identical", "GET", "/v2/acme/app/blobs/" + LAYER_A_DIGEST,
     req_headers(UA_SKOPEO, BEARER_CI),
     Answer(200, LAYER_A, "application/octet-stream", BLOB), Answer(200, LAYER_A, "application/octet-stream", BLOB),
     "match", [], "a gzip layer served as application/octet-stream (no Content-Encoding): identical bytes",
     user="acme+ci")

CATALOG = {"repositories": ["acme/app", "acme/db"]}


def catalog_link(host, label):
    return '<http://%s/v2/_catalog?n=2&next_page=%s>; rel="next"' % (host, fernet_token(label))


case("m-catalog-link", "GET", "/v2/_catalog?n=2", req_headers(UA_SKOPEO, BEARER_CI),
     Answer(200, py_jsonify(CATALOG), headers=[["Link", catalog_link(PY_HOST, "cat-py")], V2_API]),
     Answer(200, go_json(CATALOG), headers=[["Link", catalog_link(GO_HOST, "cat-go")], V2_API]),
     "match", [], "/v2/_catalog Link: own host and an encrypted next_page token",
     user="acme+ci")


def signed_url(label, stamp):
    return ("https://s3.example.test/quay-storage/sha256/%s/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAEXAMPLEQUAY%%2F20261101%%2Fus-east-1%%2Fs3%%2Faws4_request"
            "&X-Amz-Date=%s&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=%s"
            % (LAYER1["digest"][7:9], LAYER1["digest"][7:], stamp, rand_hex("s3sig:" + label, 64)))


case("m-blob-redirect", "GET", "/v2/acme/app/blobs/" + LAYER1["digest"],
     req_headers(UA_SKOPEO, BEARER_CI),
     Answer(302, b"", "text/html; charset=utf-8", [["Location", signed_url("py", "20261101T100420Z")], V2_API]),
     Answer(302, b"", "text/html; charset=utf-8", [["Location", signed_url("go", "20261101T100421Z")], V2_API]),
     "match", [], "blob GET 302 to a signed, expiring storage URL: date and signature differ",
     user="acme+ci")


def jwk(go=False):
    k = {"kty": "RSA", "kid": rand_hex("quay-service-key", 43), "use": "sig", "alg": "RS256",
         "n": b64url(rand_bytes("rsa-n", 256)), "e": "AQAB"}
    return dict(sorted(k.items())) if go else k


case("m-keys", "GET", "/keys/services/quay/keys", req_headers("Go-http-client/1.1"),
     Answer(200, py_jsonify({"keys": [jwk()]})), Answer(200, go_json({"keys": [jwk(go=True)]})),
     "match", [], "the same JWK set, members in another key order (no recorded response)", recorded=False)

CAPS = {"appName": "io.quay", "capabilities": {
    "io.quay.view-image": {"url-template": "https://%s/{namespace}/{reponame}:{tag}" % SERVER_HOSTNAME},
    "io.quay.image-security": {"rest-api-template": "https://%s/api/v1/repository/{namespace}/{reponame}"
                                                    "/image/{imageid}/security" % SERVER_HOSTNAME},
    "io.quay.manifest-security": {"rest-api-template": "https://%s/api/v1/repository/{namespace}/{reponame}"
                                                       "/manifest/{digest}/security" % SERVER_HOSTNAME}}}
case("m-cors", "GET", "/.well-known/app-capabilities",
     req_headers(UA_BROWSER, None, [["Origin", "https://console.example.test"]]),
     Answer(200, py_jsonify(CAPS), headers=[["Access-Control-Allow-Origin", "*"],
                                            ["Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"],
                                            ["Access-Control-Max-Age", "21600"],
                                            ["Access-Control-Allow-Headers", "CONTENT-TYPE"]]),
     Answer(200, go_json(CAPS), headers=[["Access-Control-Allow-Origin", "*"],
                                         ["Access-Control-Allow-Methods", "GET, OPTIONS, HEAD"],
                                         ["Access-Control-Max-Age", "86400"],
                                         ["Access-Control-Allow-Headers", "Content-Type"]]),
     "match", [], "CORS header values differ; the capabilities document (SERVER_HOSTNAME URLs) is equal")

case("m-manifest-head", "HEAD", "/v2/acme/app/manifests/latest",
     req_headers(UA_DOCKER, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(head=True), manifest_answer(head=True),
     "match", [], "HEAD: no body, same Content-Length, digest and type",
     user="acme+ci")

# -- MISMATCH: one defect each, with the usual noise -------------------------------------------

case("x-missing-field", "GET", "/api/v1/repository/acme/app?includeTags=true&includeStats=false",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(repo_view())), Answer(200, go_json(repo_view("go", drop=("name",)))),
     "mismatch", [d("body", "$.name", "missing")], "go omits the repository's name",
     user="alice")

case("x-extra-field", "GET", "/api/v1/organization/acme", req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(org_view())), Answer(200, go_json(org_view({"id": 12}))),
     "mismatch", [d("body", "$.id", "extra")], "go leaks an internal id field",
     user="alice")

case("x-status", "GET", "/v2/acme/app/manifests/v1.1",
     req_headers(UA_SKOPEO, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(),
     Answer(404, v2_error("MANIFEST_UNKNOWN", "manifest unknown", go=True), headers=[V2_API]),
     "mismatch", [d("status", "", "value"), d("header", "content-type", "value"),
                  d("header", "docker-content-digest", "missing"), d("body", "$.schemaVersion", "missing"),
                  d("body", "$.mediaType", "missing"), d("body", "$.config", "missing"),
                  d("body", "$.layers", "missing"), d("body", "$.errors", "extra")],
     "200 vs 404: the status first, then what the 404 said (its Content-Type, its body)",
     user="acme+ci")

EMPTY = {"name": "acme/empty", "tags": []}
case("x-null-vs-empty", "GET", "/v2/acme/empty/tags/list", req_headers(UA_SKOPEO, BEARER_CI),
     Answer(200, py_jsonify(EMPTY), headers=[V2_API]),
     Answer(200, go_json({"name": "acme/empty", "tags": None}), headers=[V2_API]),
     "mismatch", [d("body", "$.tags", "type")], "tags [] vs null (a nil Go slice)",
     user="acme+ci")

case("x-missing-vs-empty", "GET", "/api/v1/repository/acme/empty/tag/?limit=50&page=1",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE([]))), Answer(200, go_json({"page": 1, "has_additional": False})),
     "mismatch", [d("body", "$.tags", "missing")], "tags [] vs key absent (omitempty)",
     user="alice")


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


case("x-time-format", "GET", "/api/v1/repository/acme/app/tag/?specificTag=latest",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE([tag_dict("latest", BASE_EPOCH)]))),
     Answer(200, go_json(TAGS_PAGE([dict(tag_dict("latest", BASE_EPOCH), last_modified=iso(BASE_EPOCH))]))),
     "mismatch", [d("body", "$.tags[0].last_modified", "value")],
     "last_modified in RFC 3339 instead of RFC 2822 (same instant)",
     user="alice")

REORDERED = manifest(layers=(LAYER2, LAYER1, LAYER3))
case("x-layers-order", "GET", "/v2/acme/app/manifests/latest",
     req_headers(UA_SKOPEO, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(), manifest_answer(body=REORDERED),
     "mismatch", [d("body", "$.layers", "order")], "manifest layers (ordered) in another order",
     user="acme+ci")

OTHER_MANIFEST = manifest(config_digest=fake_digest("config-rebuilt"))
case("x-manifest-digest", "GET", "/v2/acme/app/manifests/v1",
     req_headers(UA_SKOPEO, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(), manifest_answer(body=OTHER_MANIFEST, digest=digest_of(OTHER_MANIFEST)),
     "mismatch", [d("header", "docker-content-digest", "value"), d("body", "$.config.digest", "value")],
     "another manifest: Docker-Content-Digest and config.digest differ",
     user="acme+ci")

case("x-content-type", "GET", "/v2/acme/app/manifests/" + MANIFEST_DIGEST,
     req_headers(UA_SKOPEO, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(), manifest_answer(ctype=DOCKER_MANIFEST),
     "mismatch", [d("header", "content-type", "value")], "same OCI manifest bytes labelled as a Docker v2 manifest",
     user="acme+ci")

case("x-int-vs-string", "GET", "/api/v1/repository/acme/app/tag/?specificTag=v1.1",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE([tag_dict("v1.1", T0, size=1024)]))),
     Answer(200, go_json(TAGS_PAGE([tag_dict("v1.1", T0, size="1024")]))),
     "mismatch", [d("body", "$.tags[0].size", "type")], "size 1024 vs \"1024\"",
     user="alice")

case("x-missing-header", "GET", "/v2/acme/app/manifests/v1",
     req_headers(UA_DOCKER, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(), manifest_answer(with_digest=False),
     "mismatch", [d("header", "docker-content-digest", "missing")], "go leaves out Docker-Content-Digest",
     user="acme+ci")

ROBOTS_TXT = "User-agent: *\nDisallow: /api/\nDisallow: /v1/\nDisallow: /v2/\nDisallow: /superuser/\nAllow: /\n"
case("x-text-line3", "GET", "/robots.txt", req_headers(UA_BROWSER),
     Answer(200, ROBOTS_TXT.encode(), "text/plain; charset=utf-8"),
     Answer(200, ROBOTS_TXT.replace("Disallow: /v1/", "Disallow: /v1").encode(), "text/plain; charset=utf-8"),
     "mismatch", [d("body", "line 3", "value")], "robots.txt line 3 differs (Disallow: /v1/ vs /v1)")

SHORT = LAYER_A[:len(LAYER_A) - 24]
case("x-blob-bytes", "GET", "/v2/acme/app/blobs/" + LAYER_A_DIGEST,
     req_headers(UA_DOCKER, BEARER_CI),
     Answer(200, LAYER_A, "application/octet-stream", BLOB), Answer(200, SHORT, "application/octet-stream", BLOB),
     "mismatch", [d("body", "", "value")], "go serves the layer short by 24 bytes (same headers)",
     user="acme+ci")

HIST = [tag_dict("v1.1", T0 + 600), tag_dict("v1", T0)]
HIST_GO = [dict(HIST[0]), dict(HIST[1], name="v1.0")]
case("x-nested-field", "GET", "/api/v1/repository/acme/app/tag/?limit=2&page=1",
     req_headers(UA_CLI, OAUTH_ALICE),
     Answer(200, py_api(TAGS_PAGE(HIST))), Answer(200, go_json(TAGS_PAGE(HIST_GO))),
     "mismatch", [d("body", "$.tags[1].name", "value")], "second tag's name v1 vs v1.0",
     user="alice")


def tags_link(host, last):
    return '<http://%s/v2/acme/app/tags/list?n=2&last=%s>; rel="next"' % (host, last)


TAGS2 = {"name": "acme/app", "tags": ["latest", "v1"]}
case("x-link-last", "GET", "/v2/acme/app/tags/list?n=2", req_headers(UA_SKOPEO, BEARER_CI),
     Answer(200, py_jsonify(TAGS2), headers=[["Link", tags_link(PY_HOST, "v1")], V2_API]),
     Answer(200, go_json(TAGS2), headers=[["Link", tags_link(GO_HOST, "latest")], V2_API]),
     "mismatch", [d("header", "link", "value")],
     "tags/list Link: hosts differ legitimately, but last= is plain and points elsewhere",
     user="acme+ci")

# -- ERROR and SKIPPED ---------------------------------------------------------------------------

case("e-timeout", "GET", "/v2/acme/app/manifests/latest",
     req_headers(UA_SKOPEO, BEARER_CI, [MANIFEST_ACCEPT]),
     manifest_answer(), Answer(error="timeout"),
     "error", [], "go timed out: an error, not a mismatch, and no differences",
     user="acme+ci")

case("s-unsafe", "DELETE", "/api/v1/repository/acme/app", req_headers(UA_CLI, OAUTH_ALICE),
     Answer(skipped=True), Answer(skipped=True),
     "skipped", [], "a DELETE without --allow-writes: skipped_unsafe on both",
     user="alice", recorded=False)


# ---- writing ---------------------------------------------------------------------------------

def ts_of(i):
    """Case i's request time: 20 s apart, with a µs part."""
    epoch = BASE_EPOCH + i * 20
    return epoch, iso(epoch)[:-1] + ".%06dZ" % ((i * 7919) % 1000000)


def result_record(i, c):
    family, capability, switch, cap_switch, route_id, mutating, org, repo = CLASSIFY[route_key(c["method"], c["target"])]
    epoch, ts = ts_of(i)
    session = "6a11d0c5-%d" % (i + 1)
    request = {"method": c["method"], "target": c["target"], "version": "HTTP/1.1", "headers": c["headers"]}
    if c["req_body"] is not None:
        request.update({k: v for k, v in body_keys(c["req_body"]).items() if k != "body_sha256"})
    else:
        request["body_len"] = 0
    request["complete"] = True
    request["done_us"] = 0
    rec = {"v": 1, "id": c["id"], "ts": ts, "session": session, "seq": 0, "family": family,
           "capability": capability, "switch": switch, "cap_switch": cap_switch, "route_id": route_id,
           "mutating": mutating, "cohort": {"org": org, "repo": repo, "user": c["user"]},
           "request": request}
    if c["recorded"] and not c["py"].skipped and not c["py"].error:
        rec["response"] = recorded_answer(c["py"], epoch)
    rec["responses"] = {
        "python": target_answer(c["py"], "baseline", epoch, python_headers, 3100 + (i * 37) % 900),
        "go": target_answer(c["go"], "candidate", epoch, go_headers, 1200 + (i * 53) % 700),
    }
    return rec


def check(c, rec):
    """Guards that the fixture says what its name says."""
    for name in ("python", "go"):
        r = rec["responses"][name]
        if "body_len" in r:   # bodies stay small (< 2 KiB)
            assert r["body_len"] < 2048, (c["id"], name, r["body_len"])
    assert c["verdict"] in ("match", "mismatch", "error", "skipped")
    assert (c["verdict"] == "mismatch") == bool(c["diffs"]), c["id"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "diff")
    os.makedirs(out_dir, exist_ok=True)
    # binary bodies really are binary (the engine must see body_b64), gzip bodies differ
    for blob in (LAYER_A, SHORT, GZ_PY, GZ_GO):
        try:
            blob.decode("utf-8")
            raise SystemExit("a binary fixture body is valid UTF-8")
        except UnicodeDecodeError:
            pass
    assert GZ_PY != GZ_GO
    assert json.loads(gzip.decompress(GZ_PY)) == json.loads(gzip.decompress(GZ_GO))
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate ids"

    results, expects, readme = [], [], []
    for i, c in enumerate(CASES):
        rec = result_record(i, c)
        check(c, rec)
        results.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
        expects.append(json.dumps({"id": c["id"], "verdict": c["verdict"], "differences": c["diffs"],
                                   "why": c["why"]}, separators=(",", ":")))
        diffs = "; ".join("%s %s %s" % (x["where"], x["path"] or '""', x["kind"]) for x in c["diffs"])
        readme.append("- `%s` (%s) — **%s**%s — %s." % (c["id"], route_key(c["method"], c["target"]), c["verdict"],
                                                       " [" + diffs + "]" if diffs else "", c["why"]))
    with open(os.path.join(out_dir, "quay_golden.results.jsonl"), "w") as f:
        f.write("\n".join(results) + "\n")
    with open(os.path.join(out_dir, "quay_golden.expect.jsonl"), "w") as f:
        f.write("\n".join(expects) + "\n")
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(README_HEAD + "\n".join(readme) + "\n")


README_HEAD = """# Diff fixtures

Golden data for `pmirror diff` under the shipped Quay profile, written from the spec
(DESIGN.md "Files"; quay-facts.md "What legitimately differs between two correct
answers"), not from the engine. Made by `tools/make_diff_fixtures.py` (stdlib Python,
deterministic; edit the script, not the files); checked by
`tests/integration/diff_golden.sh`.

- `quay_golden.results.jsonl` — result records (what `pmirror replay` writes): baseline
  target `python` (Quay behind nginx), candidate target `go` (Go net/http).
- `quay_golden.expect.jsonl` — per id: `verdict` and the exact set of expected
  `differences` as (`where`, `path`, `kind`), plus `why`.

Noise present in every case on purpose: Date/Server differ; go writes canonical header
names (`Docker-Distribution-Api-Version`) in sorted order; python api/v1 JSON is spaced
(`json.dumps`), go's compact; Content-Length follows each body and is never an expected
difference (framing, covered by the body compare). When the statuses differ only the
status difference is expected.

Cases (`m-` match, `x-` mismatch, `e-` error, `s-` skipped):

"""

if __name__ == "__main__":
    main()
