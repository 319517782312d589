#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen_pcap.py — the traffic bench/capture.sh measures: a pcap of EXCHANGES HTTP/1.1
exchanges between many Quay clients and one server on TCP port 8080.

Shape: about 50 keep-alive exchanges per connection (so EXCHANGES/50 connections), about
200 connections open at once with their packets interleaved (this is what exercises the
flow table), each with a SYN / SYN-ACK / ACK open and a FIN / FIN / ACK close and correct
sequence and acknowledgement numbers. Requests are Quay-shaped — registry v2 manifest
GETs, tag lists, blob HEADs, blob upload POSTs (202), /api/v1 repository and robot
GETs — with Authorization headers (Bearer JWTs for the registry, Basic or opaque tokens
for the API). JSON responses carry 1–8 KiB bodies split into ≤1448-byte segments.
About 10% of the requests are pipelined two per segment (GET/HEAD only, as clients do).

Checksums are left zero: libpcap, tshark and pmirror do not verify them by default.

Speed is the point of how it is written: request/response pairs are built once into a
pool (headers, bodies, pre-split segments), packets are two struct packs each, and the
file is written in large batches. Deterministic: a fixed seed, byte-identical output.

Usage: gen_pcap.py OUT.pcap EXCHANGES      (prints "EXCHANGES CONNECTIONS PACKETS BYTES")
"""
import base64
import json
import random
import struct
import sys

SEED = 20261101
PORT = 8080
MSS = 1448
PER_CONN = 50          # mean exchanges per connection
CONCURRENT = 200       # connections open at once
PIPELINE_P = 0.053     # chance a request goes out with the next one in one segment (~10% of requests)
POOL = 4096            # distinct request/response pairs
START_S = 1793527200   # 2026-11-01T10:00:00Z
HOST = "quay.example.test"

FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10

REC = struct.Struct("<IIII")
IPTCP = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH")
SERVER_IP = bytes([10, 0, 0, 2])
MAC_C, MAC_S = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
ETH = {0: MAC_S + MAC_C + b"\x08\x00", 1: MAC_C + MAC_S + b"\x08\x00"}  # by sender: 0 client, 1 server


# ---------------------------------------------------------------- request/response pool

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_names(rng):
    orgs = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell",
            "cyberdyne", "soylent", "wonka", "oscorp"]
    repos = ["app", "api", "web", "worker", "db-migrate", "frontend", "backend", "nginx",
             "redis", "postgres", "builder", "scanner", "gateway", "auth", "billing"]
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
             "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"]
    tags = ["latest", "v1.0.0", "v1.2.3", "v2.0.0-rc1", "stable", "main", "sha-3f9a2c1",
            "2026.10.31", "canary", "edge"]
    return orgs, repos, users, tags


def jwt_for(user, rng):
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "quay-key-1"}).encode())
    body = b64url(json.dumps({"iss": "quay", "aud": HOST, "sub": user, "exp": 1793530800,
                              "access": [{"type": "repository", "actions": ["pull", "push"]}]}).encode())
    sig = b64url(rng.randbytes(256))
    return "Bearer %s.%s.%s" % (head, body, sig)


def hexdigest(rng):
    return "%064x" % rng.getrandbits(256)


def pad_json(obj, key, make_item, size, rng):
    """Grows obj[key] (a list) until the JSON is at least `size` bytes."""
    while True:
        text = json.dumps(obj, separators=(",", ":"))
        if len(text) >= size:
            return text.encode()
        item = make_item(rng)
        obj[key].append(item)
        # Add about as many more as the gap needs; the loop tops up the rest.
        for _ in range((size - len(text)) // (len(json.dumps(item)) + 1) - 1):
            obj[key].append(make_item(rng))


def response(status, reason, headers, body=b"", content_length=None):
    lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: nginx/1.24.0",
             "Date: Sun, 01 Nov 2026 10:00:00 GMT"]
    lines += ["%s: %s" % h for h in headers]
    lines.append("Content-Length: %d" % (len(body) if content_length is None else content_length))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def request(method, target, headers):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + HOST]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def make_pair(rng, names, auth):
    """One (request bytes, response bytes, idempotent) triple of a random kind."""
    orgs, repos, users, tags = names
    org, repo, user = rng.choice(orgs), rng.choice(repos), rng.choice(users)
    size = rng.randint(1024, 8000)
    docker = [("User-Agent", "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64"),
              ("Authorization", auth["jwt"][user])]
    api_auth = auth["basic"][user] if rng.random() < 0.5 else auth["token"][user]
    api = [("User-Agent", "python-requests/2.31.0"), ("Accept", "application/json"),
           ("Authorization", api_auth)]
    kind = rng.choices(["manifest", "blob_head", "tags", "api_repo", "robots", "upload"],
                       [35, 20, 10, 15, 10, 10])[0]
    if kind == "manifest":
        tag = rng.choice(tags)
        req = request("GET", "/v2/%s/%s/manifests/%s" % (org, repo, tag), docker + [
            ("Accept", "application/vnd.oci.image.manifest.v1+json, "
                       "application/vnd.docker.distribution.manifest.v2+json")])
        layer = lambda r: {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": "sha256:" + hexdigest(r), "size": r.randint(1000, 90000000)}
        body = pad_json({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                    "digest": "sha256:" + hexdigest(rng), "size": 7023},
                         "layers": []}, "layers", layer, size, rng)
        resp = response(200, "OK", [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                    ("Docker-Content-Digest", "sha256:" + hexdigest(rng)),
                                    ("Docker-Distribution-Api-Version", "registry/2.0")], body)
        return req, resp, True
    if kind == "blob_head":
        req = request("HEAD", "/v2/%s/%s/blobs/sha256:%s" % (org, repo, hexdigest(rng)), docker)
        resp = response(200, "OK", [("Content-Type", "application/octet-stream"),
                                    ("Docker-Content-Digest", "sha256:" + hexdigest(rng)),
                                    ("Accept-Ranges", "bytes")],
                        content_length=rng.randint(1000, 90000000))
        return req, resp, True
    if kind == "tags":
        req = request("GET", "/v2/%s/%s/tags/list" % (org, repo), docker + [("Accept", "application/json")])
        body = pad_json({"name": "%s/%s" % (org, repo), "tags": []}, "tags",
                        lambda r: "v%d.%d.%d-%s" % (r.randint(0, 9), r.randint(0, 30), r.randint(0, 99),
                                                    "%08x" % r.getrandbits(32)), size, rng)
        return req, response(200, "OK", [("Content-Type", "application/json")], body), True
    if kind == "api_repo":
        req = request("GET", "/api/v1/repository/%s/%s?includeTags=true" % (org, repo), api)
        tag = lambda r: {"name": r.choice(tags) + "-%d" % r.randint(0, 999), "size": r.randint(1000, 90000000),
                         "last_modified": "Sat, 31 Oct 2026 %02d:%02d:00 -0000" % (r.randint(0, 23), r.randint(0, 59)),
                         "manifest_digest": "sha256:" + hexdigest(r)}
        body = pad_json({"namespace": org, "name": repo, "kind": "image", "description": "The %s image" % repo,
                         "is_public": False, "is_organization": True, "is_starred": False,
                         "status_token": "", "trust_enabled": False, "tag_expiration_s": 1209600,
                         "can_write": True, "can_admin": False, "state": "NORMAL", "tags": []},
                        "tags", tag, size, rng)
        return req, response(200, "OK", [("Content-Type", "application/json")], body), True
    if kind == "robots":
        req = request("GET", "/api/v1/organization/%s/robots?permissions=true" % org, api)
        robot = lambda r: {"name": "%s+bot%d" % (org, r.randint(0, 9999)), "description": "deploy robot",
                           "created": "Mon, 12 Oct 2026 08:00:00 -0000", "last_accessed": None,
                           "teams": [], "repositories": [r.choice(repos) for _ in range(3)]}
        body = pad_json({"robots": []}, "robots", robot, size, rng)
        return req, response(200, "OK", [("Content-Type", "application/json")], body), True
    uuid = "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
                                          rng.getrandbits(16), rng.getrandbits(48))
    req = request("POST", "/v2/%s/%s/blobs/uploads/" % (org, repo), docker + [("Content-Length", "0")])
    resp = response(202, "Accepted", [("Location", "/v2/%s/%s/blobs/uploads/%s" % (org, repo, uuid)),
                                      ("Docker-Upload-UUID", uuid), ("Range", "0-0"),
                                      ("Docker-Distribution-Api-Version", "registry/2.0")])
    return req, resp, False


def make_pool(rng):
    names = make_names(rng)
    auth = {"jwt": {}, "basic": {}, "token": {}}
    for user in names[2]:
        auth["jwt"][user] = jwt_for(user, rng)
        auth["basic"][user] = "Basic " + base64.b64encode(("%s:%s" % (user, hexdigest(rng)[:20])).encode()).decode()
        auth["token"][user] = "Bearer " + hexdigest(rng)[:40]
    pool = []
    for _ in range(POOL):
        req, resp, idem = make_pair(rng, names, auth)
        segs = [resp[i:i + MSS] for i in range(0, len(resp), MSS)]
        pool.append((req, segs, idem))
    return pool


# ---------------------------------------------------------------- packets

class Writer:
    """Packets into the pcap file in large batches; one global clock."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.buf = []
        self.ts = START_S * 1_000_000
        self.packets = 0
        self.bytes = 24
        self.ipid = 0

    def packet(self, conn, sender, flags, seq, ack, payload=b""):
        self.ts += 7 + (self.packets & 15)
        n = 54 + len(payload)
        self.ipid = (self.ipid + 1) & 0xFFFF
        if sender == 0:
            src, dst, sport, dport = conn.ip, SERVER_IP, conn.port, PORT
        else:
            src, dst, sport, dport = SERVER_IP, conn.ip, PORT, conn.port
        self.buf.append(REC.pack(self.ts // 1_000_000, self.ts % 1_000_000, n, n) + ETH[sender] +
                        IPTCP.pack(0x45, 0, n - 14, self.ipid, 0x4000, 64, 6, 0, src, dst, sport, dport,
                                   seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0) + payload)
        self.packets += 1
        self.bytes += 16 + n
        if len(self.buf) >= 8192:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []

    def close(self):
        self.flush()
        self.f.close()


class Conn:
    __slots__ = ("ip", "port", "cseq", "sseq")

    def __init__(self, index, rng):
        self.ip = bytes([10, 1 + (index >> 16) % 200, (index >> 8) & 255, index & 255])
        self.port = 20000 + (index * 7) % 40000
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)


def conn_steps(w, conn, count, pool, idem_pool, rng):
    """One connection's life, one step (a burst of packets from one side) per next()."""
    c, s = conn.cseq, conn.sseq
    w.packet(conn, 0, SYN, c, 0)
    w.packet(conn, 1, SYN | ACK, s, c + 1)
    c, s = c + 1, s + 1
    w.packet(conn, 0, ACK, c, s)
    yield
    left = count
    while left:
        if left >= 2 and rng.random() < PIPELINE_P:
            batch = [rng.choice(idem_pool), rng.choice(idem_pool)]
        else:
            batch = [rng.choice(pool)]
        left -= len(batch)
        payload = b"".join(p[0] for p in batch)
        w.packet(conn, 0, PSH | ACK, c, s, payload)
        c += len(payload)
        yield
        for _, segs, _ in batch:
            last = len(segs) - 1
            for i, seg in enumerate(segs):
                w.packet(conn, 1, (PSH | ACK) if i == last else ACK, s, c, seg)
                s += len(seg)
            yield
        w.packet(conn, 0, ACK, c, s)
    w.packet(conn, 0, FIN | ACK, c, s)
    yield
    w.packet(conn, 1, FIN | ACK, s, c + 1)
    w.packet(conn, 0, ACK, c + 1, s + 1)


def generate(path, exchanges):
    rng = random.Random(SEED)
    pool = make_pool(rng)
    idem_pool = [p for p in pool if p[2]]
    nconns = max(1, exchanges // PER_CONN)
    # Exchanges per connection: PER_CONN ± 20, summing to exactly `exchanges`.
    counts = [max(1, PER_CONN + rng.randint(-20, 20)) for _ in range(nconns)]
    diff = exchanges - sum(counts)
    i = 0
    while diff:
        step = 1 if diff > 0 else -1
        if counts[i % nconns] + step >= 1:
            counts[i % nconns] += step
            diff -= step
        i += 1
    w = Writer(path)
    pending = iter(range(nconns))
    active = []

    def open_next():
        k = next(pending, None)
        if k is not None:
            active.append(conn_steps(w, Conn(k, rng), counts[k], pool, idem_pool, rng))

    for _ in range(min(CONCURRENT, nconns)):
        open_next()
    rand = rng.random
    while active:
        j = int(rand() * len(active))
        try:
            next(active[j])
        except StopIteration:
            active[j] = active[-1]
            active.pop()
            open_next()
    w.close()
    return nconns, w.packets, w.bytes


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_pcap.py OUT.pcap EXCHANGES")
    exchanges = int(sys.argv[2])
    if exchanges < 1:
        sys.exit("gen_pcap.py: EXCHANGES must be positive")
    nconns, packets, size = generate(sys.argv[1], exchanges)
    print(exchanges, nconns, packets, size)


if __name__ == "__main__":
    main()
