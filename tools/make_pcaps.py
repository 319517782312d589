#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the crafted capture fixtures: fixtures/capture/NAME.pcap (+ some NAME.pcapng)
and NAME.expect.jsonl, the exchanges the capture stage must find in each.

Why crafted: the capture stage (libpcap -> TCP reassembly -> HTTP/1.x parsing ->
exchange records) has to be right on the awkward cases a real network produces only
by luck: pipelining, reordering, retransmissions and overlaps, sequence wrap-around,
chunked bodies with extensions and trailers, close-delimited bodies, bodiless
responses (HEAD/204/304), 100-continue, Upgrade/CONNECT, non-HTTP streams, captures
that start mid-connection or end mid-packet, six link types, IPv6, big bodies, resets.
Each case is one small file whose every sequence number is known, so the expected
exchanges are exact.

How: every case builds its packets through a tiny TCP model (handshake with seeded
ISNs, segments with correct seq/ack, FIN/ACK close), wraps them in real IPv4/IPv6
headers with correct IP and TCP checksums and in the case's link layer, and stamps
them from 2026-11-01T10:00:00Z on, a few hundred microseconds apart, with server think
time before each response. The expectations are computed from the same model, not
typed by hand: byte timestamps are those of the packet that first carried the byte
(no case lets a later-arriving packet complete a message whose last byte came earlier,
so "the packet that carried it" and "the packet that made it deliverable" agree).

Output format of NAME.expect.jsonl: line 1 is a header {"fixture", "exchanges",
"notes", ...}; then one line per exchange, connections in order of their first packet,
requests in order within a connection. Keys per exchange:
  conn, seq                  0-based connection index and index within it
  method, target, version    request line
  request_headers            [[name, value], ...] wire order (trailers separate)
  request_body | request_body_b64   de-chunked; null when there is no body
  request_body_len, request_body_sha256
  status                     final status (never 1xx), null when no response
  response_headers, response_trailers (only when the body was chunked with trailers)
  response_body | response_body_b64 de-chunked, Content-Encoding kept; null when no
                             response; the key is left out when the body is too large
                             to inline (large_body): compare length and sha256 instead
  response_body_len, response_body_sha256   of the whole body as received
  complete                   the response was received whole
  has_response
  ts                         RFC 3339 time (µs) of the packet carrying the request's
                             first byte (the capture record's `ts`)
  latency_us                 from the packet with the request's LAST byte to the packet
                             with the (final) response's FIRST byte
  latency_from_ts_us, done_from_ts_us   the same two response moments measured from
                             `ts` (the request's first byte), as DESIGN.md defines the
                             capture record's latency_us and done_us
Bodies go as text when they are valid UTF-8, as base64 (`*_b64`) otherwise.

Run:  python3 tools/make_pcaps.py [OUT_DIR]   (stdlib only; deterministic: byte-identical
output on every run; each case has its own seeded random generator). OUT_DIR defaults to
fixtures/capture; tests/integration/capture.sh writes into a temporary one and compares.
"""
import base64
import calendar
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time
import zlib
from email.utils import formatdate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "capture")

START_US = calendar.timegm((2026, 11, 1, 10, 0, 0, 0, 0, 0)) * 1_000_000
SNAPLEN = 262144

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 113, 276

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
C, S = 0, 1  # client and server side of a connection

CLIENT4, SERVER4 = "10.0.0.1", "10.0.0.2"
CLIENT6, SERVER6 = "2001:db8::1", "2001:db8::2"
MAC = {C: bytes.fromhex("020000000001"), S: bytes.fromhex("020000000002")}
HOST = "quay.example.test"


# ---------------------------------------------------------------- wire encoding

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_bytes(src, dst, sport, dport, seq, ack, flags, payload, opts=b"", window=64240):
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      off << 4, flags, window, 0, 0) + opts
    length = len(hdr) + len(payload)
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, length)
    else:
        pseudo = src + dst + struct.pack("!IxxxB", length, 6)
    csum = checksum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload


def ip_bytes(src, dst, ident, segment):
    if len(src) == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), ident & 0xFFFF,
                          0x4000, 64, 6, 0, src, dst)
        return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + segment
    flow = 0x60000000
    return struct.pack("!IHBB16s16s", flow, len(segment), 6, 64, src, dst) + segment


def ethertype(is6):
    return 0x86DD if is6 else 0x0800


def encap_ethernet(side, ip, is6):
    return MAC[1 - side] + MAC[side] + struct.pack("!H", ethertype(is6)) + ip


def encap_vlan(side, ip, is6):
    tci = (0 << 13) | 100  # priority 0, VLAN 100
    return MAC[1 - side] + MAC[side] + struct.pack("!HHH", 0x8100, tci, ethertype(is6)) + ip


# Linux cooked captures are taken on the client host: its own packets are outgoing (4),
# the server's are addressed to it (0); the address is the sender's MAC.
def encap_sll(side, ip, is6):
    ptype = 4 if side == C else 0
    return struct.pack("!HHH8sH", ptype, 1, 6, MAC[side], ethertype(is6)) + ip


def encap_sll2(side, ip, is6):
    ptype = 4 if side == C else 0
    return struct.pack("!HHIHBB8s", ethertype(is6), 0, 2, 1, ptype, 6, MAC[side]) + ip


def encap_null(side, ip, is6):
    # BSD loopback: the address family in the capturing host's byte order; this file is
    # little-endian, like the host that would have written it. AF_INET6 is 24/28/30
    # depending on the BSD; only AF_INET (2) is used here.
    return struct.pack("<I", 30 if is6 else 2) + ip


def encap_raw(side, ip, is6):
    return ip


# ---------------------------------------------------------------- file formats

def pcap_bytes(linktype, packets):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    for ts, frame in packets:
        out.append(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def pcap_record_offsets(packets):
    """Byte offset of each packet record (its 16-byte header) in pcap_bytes' output."""
    offs, pos = [], 24
    for _, frame in packets:
        offs.append(pos)
        pos += 16 + len(frame)
    return offs


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def pcapng_option(code, value):
    return struct.pack("<HH", code, len(value)) + pad4(value)


def pcapng_block(btype, body):
    body = pad4(body)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def pcapng_bytes(linktype, packets):
    shb_opts = (pcapng_option(4, b"pmirror tools/make_pcaps.py") + pcapng_option(0, b""))
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)
    # No if_tsresol option: the default resolution, microseconds.
    idb_opts = pcapng_option(2, b"eth0") + pcapng_option(0, b"")
    idb = pcapng_block(0x00000001, struct.pack("<HHI", linktype, 0, SNAPLEN) + idb_opts)
    out = [shb, idb]
    for ts, frame in packets:
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        out.append(pcapng_block(0x00000006, body + pad4(frame)))
    return b"".join(out)


# ---------------------------------------------------------------- HTTP messages

class Msg:
    """One HTTP message: its wire bytes and what a parser must report for it."""

    def __init__(self, start, headers, body=b"", wire_body=None, trailers=None):
        self.start = start
        self.headers = headers
        self.body = body                    # de-chunked, as the capture stores it
        self.trailers = trailers or []
        head = start + "\r\n" + "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        self.wire = head.encode("latin-1") + (body if wire_body is None else wire_body)
        self.head_len = len(head)


def chunked(chunks, trailers=()):
    """chunks: [(data, size_text_or_None, extension)]; returns the wire body."""
    out = b""
    for data, size_text, ext in chunks:
        out += (size_text or "%x" % len(data)).encode() + ext.encode() + b"\r\n" + data + b"\r\n"
    out += b"0\r\n" + b"".join(("%s: %s\r\n" % t).encode() for t in trailers) + b"\r\n"
    return out


def request(method, target, headers, body=b"", version="HTTP/1.1", wire_body=None):
    return Msg("%s %s %s" % (method, target, version), headers, body, wire_body)


def response(status, reason, headers, body=b"", version="HTTP/1.1", wire_body=None,
             trailers=None):
    m = Msg("%s %d %s" % (version, status, reason), headers, body, wire_body, trailers)
    m.status = status
    return m


def http_date(ts_us):
    return formatdate(ts_us / 1e6, usegmt=True)


def compact(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Quay:
    """A small, consistent Quay world: one repository acme/app with a one-layer image,
    tokens, and the requests and responses clients exchange with it."""

    UA = "containers/5.24.2 (github.com/containers/image)"
    MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
    ACCEPT = ", ".join([MANIFEST_TYPE, "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])

    def __init__(self, rng):
        self.rng = rng
        self.layer = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.randbytes(2038)
        self.layer_digest = "sha256:" + sha256(self.layer)
        self.config = compact({
            "architecture": "amd64", "os": "linux", "created": "2026-10-30T08:15:02Z",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/app/server", "--port", "8080"], "WorkingDir": "/app",
                       "Labels": {"org.opencontainers.image.source": "https://git.example.test/acme/app"}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256(b"diff" + self.layer)]},
            "history": [{"created": "2026-10-30T08:15:02Z",
                         "created_by": "COPY server /app/server # buildkit"}]})
        self.config_digest = "sha256:" + sha256(self.config)
        self.manifest = compact({
            "schemaVersion": 2, "mediaType": self.MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": self.config_digest, "size": len(self.config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": self.layer_digest, "size": len(self.layer)}]})
        self.manifest_digest = "sha256:" + sha256(self.manifest)
        self.bearer = self.jwt("acme+deployer", ["pull"])
        self.push_bearer = self.jwt("acme+deployer", ["pull", "push"])
        self.oauth = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(40))

    def jwt(self, sub, actions):
        head = {"alg": "RS256", "typ": "JWT", "kid": "quay-2026-10"}
        iat = START_US // 1_000_000 - 30
        body = {"iss": "quay", "aud": HOST, "nbf": iat, "iat": iat, "exp": iat + 3600,
                "sub": sub, "access": [{"type": "repository", "name": "acme/app",
                                        "actions": actions}],
                "context": {"version": 2, "kind": "robot", "entity_reference": sub,
                            "com.apostille.roots": {}, "com.apostille.root": "$disabled"}}
        sig = self.rng.randbytes(256)
        return "%s.%s.%s" % (b64url(json.dumps(head).encode()), b64url(json.dumps(body).encode()),
                             b64url(sig))

    def uuid(self):
        h = self.rng.randbytes(16).hex()
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    # -- requests
    def v2_headers(self, accept=None, push=False, extra=()):
        h = [("Host", HOST), ("User-Agent", self.UA)]
        if accept:
            h.append(("Accept", accept))
        h.append(("Authorization", "Bearer " + (self.push_bearer if push else self.bearer)))
        h += list(extra)
        h.append(("Accept-Encoding", "gzip"))
        return h

    def api_headers(self, extra=()):
        return [("Host", HOST), ("User-Agent", "python-requests/2.31.0"),
                ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"),
                ("Connection", "keep-alive"), ("Authorization", "Bearer " + self.oauth)] + list(extra)

    def get_manifest(self, ref="latest", method="GET", extra=()):
        return request(method, "/v2/acme/app/manifests/" + ref,
                       self.v2_headers(self.ACCEPT, extra=extra))

    def get_blob(self, digest):
        return request("GET", "/v2/acme/app/blobs/" + digest, self.v2_headers("*/*"))

    def get_tags(self, query=""):
        return request("GET", "/v2/acme/app/tags/list" + query,
                       self.v2_headers("application/json"))

    def get_repo(self, query="?includeStats=false&includeTags=true", extra=()):
        return request("GET", "/api/v1/repository/acme/app" + query, self.api_headers(extra))

    # -- responses
    def v2_response(self, now, status, reason, body, ctype, extra=(), length=True):
        h = [("Server", "nginx/1.22.1"), ("Date", http_date(now))]
        if ctype:
            h.append(("Content-Type", ctype))
        if length:
            h.append(("Content-Length", str(len(body))))
        h += [("Connection", "keep-alive")] + list(extra)
        h.append(("Docker-Distribution-API-Version", "registry/2.0"))
        return response(status, reason, h, body)

    def manifest_response(self, now):
        return self.v2_response(now, 200, "OK", self.manifest, self.MANIFEST_TYPE,
                                [("Docker-Content-Digest", self.manifest_digest)])

    def blob_response(self, now, body, digest, ctype="application/octet-stream"):
        return self.v2_response(now, 200, "OK", body, ctype,
                                [("Docker-Content-Digest", digest),
                                 ("Cache-Control", "max-age=31536000")])

    def tags_response(self, now, tags=("latest", "v1")):
        return self.v2_response(now, 200, "OK", compact({"name": "acme/app", "tags": list(tags)}),
                                "application/json")

    def repo_json(self, ntags=3, description="Acme's application server."):
        tags = {}
        for i in range(ntags):
            name = "latest" if i == 0 else "v1.%d.%d" % (i // 10, i % 10)
            tags[name] = {"name": name, "size": 2048 + 17 * i,
                          "last_modified": "Fri, 30 Oct 2026 08:%02d:%02d -0000" % (i % 60, (7 * i) % 60),
                          "manifest_digest": "sha256:" + sha256(b"tag%d" % i)}
        return {"namespace": "acme", "name": "app", "kind": "image", "description": description,
                "is_public": False, "is_organization": True, "is_starred": False,
                "status_token": "", "trust_enabled": False, "tag_expiration_s": 1209600,
                "is_free_account": True, "state": "NORMAL", "tags": tags,
                "can_write": True, "can_admin": True}

    def api_response(self, now, body, status=200, reason="OK", extra=()):
        return response(status, reason, [
            ("Server", "nginx/1.22.1"), ("Date", http_date(now)),
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("Connection", "keep-alive"), ("X-Frame-Options", "DENY")] + list(extra), body)


# ---------------------------------------------------------------- TCP model

class Packet:
    def __init__(self, ts, conn, side, seq, ack, flags, payload, opts=b""):
        self.ts, self.conn, self.side = ts, conn, side
        self.seq, self.ack, self.flags, self.payload, self.opts = seq, ack, flags, payload, opts


class Conn:
    def __init__(self, cap, v6=False, cport=None, sport=8080, cip=None, sip=None,
                 isn=(None, None), mss=None):
        rng = cap.rng
        self.cap, self.id, self.v6 = cap, len(cap.conns), v6
        cap.conns.append(self)
        cip = cip or (CLIENT6 if v6 else CLIENT4)
        sip = sip or (SERVER6 if v6 else SERVER4)
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        self.ip = [socket.inet_pton(fam, cip), socket.inet_pton(fam, sip)]
        self.port = [cport or rng.randint(32768, 60999), sport]
        self.nxt = [isn[i] if isn[i] is not None else rng.getrandbits(32) for i in (C, S)]
        self.ipid = [rng.randrange(65536), rng.randrange(65536)]
        self.mss = mss or (1440 if v6 else 1460)
        self.stream = [bytearray(), bytearray()]  # bytes sent, from stream offset 0
        self.base = [None, None]                  # seq of stream offset 0 (None: midstream)

    def emit(self, side, flags, payload=b"", seq=None, ack=None, dt=None, opts=b""):
        cap = self.cap
        cap.tick(*(dt or (100, 400)))
        if ack is None:
            ack = self.nxt[1 - side] if flags & ACK else 0
        p = Packet(cap.t, self, side, self.nxt[side] if seq is None else seq, ack, flags,
                   bytes(payload), opts)
        cap.packets.append(p)
        return len(cap.packets) - 1

    def handshake(self, dt=None):
        mss = struct.pack("!BBH", 2, 4, self.mss)
        self.emit(C, SYN, opts=mss, dt=dt)
        self.nxt[C] += 1
        self.emit(S, SYN | ACK, opts=mss)
        self.nxt[S] += 1
        self.emit(C, ACK)
        self.base = [self.nxt[C], self.nxt[S]]

    def start_midstream(self):
        self.base = [self.nxt[C], self.nxt[S]]

    def cut(self, side, data, sizes=None):
        """Turns data into segments [(seq, payload)] and advances the side's seq."""
        sizes = list(sizes) if sizes else []
        segs, pos = [], 0
        while pos < len(data):
            n = sizes.pop(0) if sizes else self.mss
            segs.append((self.nxt[side] + pos, data[pos:pos + n]))
            pos += n
        self.nxt[side] += len(data)
        self.stream[side] += data
        return segs

    def offset(self, side):
        return len(self.stream[side])

    def send(self, side, data, sizes=None, dt=None, ack_every=2, final_ack=True, last_flags=0):
        """Sends data in order; the peer ACKs every ack_every segments and (when
        final_ack) after the last. Returns (stream start, stream end, packet indices)."""
        start = self.offset(side)
        segs = self.cut(side, data, sizes)
        idx = []
        for i, (seq, payload) in enumerate(segs):
            last = i == len(segs) - 1
            flags = ACK | (PSH | last_flags if last else 0)
            idx.append(self.emit(side, flags, payload, seq=seq, dt=dt if i == 0 else None))
            if last and last_flags & FIN:
                self.nxt[side] += 1
            if (last and final_ack) or (not last and ack_every and (i + 1) % ack_every == 0):
                acked = seq + len(payload) + (1 if last and last_flags & FIN else 0)
                self.emit(1 - side, ACK, ack=acked, dt=(40, 200))
        return start, self.offset(side), idx

    def close(self, first=C, dt=None):
        self.emit(first, FIN | ACK, dt=dt)
        self.nxt[first] += 1
        self.emit(1 - first, FIN | ACK)
        self.nxt[1 - first] += 1
        self.emit(first, ACK)


THINK_SERVER = (1500, 12000)   # server time before the first byte of a response
THINK_CLIENT = (600, 3000)     # client time between a response and its next request


class Exchange:
    def __init__(self, conn, req, req_range, resp=None, resp_range=None, complete=True,
                 extra=None):
        self.conn, self.req, self.req_range = conn, req, req_range
        self.resp, self.resp_range, self.complete = resp, resp_range, complete
        self.extra = extra or {}
        self.resp_body = resp.body if resp is not None else None


class Capture:
    def __init__(self, name, linktype=LINKTYPE_ETHERNET, encap=encap_ethernet, notes=""):
        self.name, self.linktype, self.encap, self.notes = name, linktype, encap, notes
        self.rng = random.Random(zlib.crc32(name.encode()))
        self.q = Quay(self.rng)
        self.t = START_US
        self.packets, self.conns, self.exchanges = [], [], []
        self.header = {}
        self.pcapng = False

    def tick(self, lo=100, hi=400):
        self.t += self.rng.randint(lo, hi)
        return self.t

    def exchange(self, conn, req, resp_fn, req_sizes=None, resp_sizes=None, think=THINK_SERVER):
        """One request and its response in order on conn; resp_fn(now) builds the
        response (so its Date header is the time it is sent)."""
        if conn.stream[C]:
            self.tick(*THINK_CLIENT)
        r0, r1, _ = conn.send(C, req.wire, req_sizes, final_ack=False)
        self.tick(*think)
        resp = resp_fn(self.t)
        s0, s1, _ = conn.send(S, resp.wire, resp_sizes)
        ex = Exchange(conn, req, (r0, r1), resp, (s0, s1))
        self.exchanges.append(ex)
        return ex

    # -- output
    def frames(self, packets=None):
        """(timestamp, link-layer frame) for each packet; IP ids count up per sender."""
        out, ipid = [], {}
        for p in self.packets if packets is None else packets:
            c = p.conn
            key = (c.id, p.side)
            ipid[key] = ipid.get(key, c.ipid[p.side] - 1) + 1
            seg = tcp_bytes(c.ip[p.side], c.ip[1 - p.side], c.port[p.side], c.port[1 - p.side],
                            p.seq, p.ack, p.flags, p.payload, p.opts)
            ip = ip_bytes(c.ip[p.side], c.ip[1 - p.side], ipid[key], seg)
            out.append((p.ts, self.encap(p.side, ip, c.v6)))
        return out


# ---------------------------------------------------------------- expectations

class Arrivals:
    """Per connection and side, the timestamp of the packet that first carried each
    stream byte (file order), and the moment it became deliverable in order."""

    def __init__(self, packets):
        self.first = {}
        for p in packets:
            if not p.payload:
                continue
            c = p.conn
            arr = self.first.setdefault((c.id, p.side), [None] * len(c.stream[p.side]))
            off = (p.seq - c.base[p.side]) & 0xFFFFFFFF
            for i in range(len(p.payload)):
                if off + i < len(arr) and arr[off + i] is None:
                    arr[off + i] = p.ts
        self.ready = {}
        for key, arr in self.first.items():
            ready, hi, hole = [], 0, False
            for ts in arr:
                hole = hole or ts is None
                hi = hi if ts is None else max(hi, ts)
                ready.append(None if hole else hi)
            self.ready[key] = ready

    def ts(self, conn, side, off):
        key = (conn.id, side)
        first, ready = self.first[key][off], self.ready[key][off]
        assert first is not None and first == ready, \
            "byte %d of conn %d side %d: first carried %s, deliverable %s" % (off, conn.id, side, first, ready)
        return first

    def has(self, conn, side, lo, hi):
        arr = self.first.get((conn.id, side))
        return arr is not None and all(arr[i] is not None for i in range(lo, hi))


def rfc3339(ts_us):
    s, us = divmod(ts_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % us


def body_fields(prefix, body, inline=True):
    d = {}
    if body is None:
        d[prefix] = None
    elif inline:
        try:
            d[prefix] = body.decode("utf-8")
        except UnicodeDecodeError:
            d[prefix + "_b64"] = base64.b64encode(body).decode()
    d[prefix + "_len"] = 0 if body is None else len(body)
    d[prefix + "_sha256"] = None if body is None else sha256(body)
    return d


def expect_lines(cap, exchanges, arrivals):
    lines, per_conn = [], {}
    conn_order = []
    for p in cap.packets:
        if p.conn not in conn_order:
            conn_order.append(p.conn)
    exs = sorted(exchanges, key=lambda e: (conn_order.index(e.conn), e.req_range[0]))
    for ex in exs:
        req, c = ex.req, ex.conn
        method, target, version = req.start.split(" ", 2)
        seq = per_conn.setdefault(c.id, 0)
        per_conn[c.id] += 1
        d = {"conn": conn_order.index(c), "seq": seq, "method": method, "target": target,
             "version": version, "request_headers": [list(h) for h in req.headers]}
        d.update(body_fields("request_body", req.body or None))
        ts = arrivals.ts(c, C, ex.req_range[0])
        last = arrivals.ts(c, C, ex.req_range[1] - 1)
        if ex.resp is not None:
            d["status"] = ex.resp.status
            d["response_headers"] = [list(h) for h in ex.resp.headers]
            if ex.resp.trailers:
                d["response_trailers"] = [list(h) for h in ex.resp.trailers]
            d.update(body_fields("response_body", ex.resp_body,
                                 inline=len(ex.resp_body) <= 65536))
            first = arrivals.ts(c, S, ex.resp_range[0])
            done = arrivals.ts(c, S, ex.resp_range[1] - 1)
        else:
            d["status"] = None
            d.update(body_fields("response_body", None))
        d["complete"] = ex.resp is not None and ex.complete
        d["has_response"] = ex.resp is not None
        d["ts"] = rfc3339(ts)
        if ex.resp is not None:
            d["latency_us"] = first - last
            d["latency_from_ts_us"] = first - ts
            d["done_from_ts_us"] = done - ts
        else:
            d["latency_us"] = d["latency_from_ts_us"] = d["done_from_ts_us"] = None
        d.update(ex.extra)
        lines.append(d)
    return lines


def write_fixture(cap, packets=None, exchanges=None, name=None, data=None):
    name = name or cap.name
    packets = cap.packets if packets is None else packets
    exchanges = cap.exchanges if exchanges is None else exchanges
    frames = cap.frames(packets)
    if data is None:
        data = pcap_bytes(cap.linktype, frames)
    with open(os.path.join(OUT, name + ".pcap"), "wb") as f:
        f.write(data)
    if cap.pcapng:
        with open(os.path.join(OUT, name + ".pcapng"), "wb") as f:
            f.write(pcapng_bytes(cap.linktype, frames))
    arrivals = Arrivals(packets)
    lines = expect_lines(cap, exchanges, arrivals)
    head = {"fixture": name, "exchanges": len(lines), "notes": cap.notes,
            "linktype": cap.linktype, "packets": len(packets),
            "connections": len({p.conn.id for p in packets})}
    head.update(cap.header)
    with open(os.path.join(OUT, name + ".expect.jsonl"), "w") as f:
        for d in [head] + lines:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return frames


# ---------------------------------------------------------------- cases

def case_basic_keepalive():
    cap = Capture("basic_keepalive", notes="three requests on one keep-alive connection, "
                  "Content-Length responses; the third response spans three segments")
    cap.pcapng = True
    q = cap.q
    c = Conn(cap)
    c.handshake()
    cap.exchange(c, q.get_manifest("latest"), q.manifest_response)
    cap.exchange(c, q.get_blob(q.config_digest),
                 lambda now: q.blob_response(now, q.config, q.config_digest,
                                             "application/octet-stream"))
    body = compact(q.repo_json(ntags=14))
    ex = cap.exchange(c, q.get_repo(), lambda now: q.api_response(now, body))
    cap.cut_packet = None
    # The packet carrying the third response's second segment (truncated_file cuts it).
    s0 = c.base[S] + ex.resp_range[0] + c.mss
    for i, p in enumerate(cap.packets):
        if p.conn is c and p.side == S and (p.seq - s0) & 0xFFFFFFFF == 0:
            cap.cut_packet = i
    assert cap.cut_packet is not None
    c.close()
    return cap


def case_pipelined():
    cap = Capture("pipelined", notes="three GETs in one TCP segment; responses 1 and 2 "
                  "share one segment, response 3 has its own; jumbo frames (MSS 8960) so "
                  "that the three requests, each about 1.2 KB with its bearer token, fit")
    cap.pcapng = True
    q = cap.q
    c = Conn(cap, mss=8960)
    c.handshake()
    reqs = [q.get_tags(), q.get_manifest("v1"), q.get_blob(q.config_digest)]
    r0, _, idx = c.send(C, b"".join(r.wire for r in reqs), final_ack=False)
    assert len(idx) == 1
    cap.tick(*THINK_SERVER)
    now = cap.t
    resps = [q.tags_response(now), q.manifest_response(now),
             q.blob_response(now, q.config, q.config_digest)]
    s0, _, idx = c.send(S, resps[0].wire + resps[1].wire, final_ack=True)
    cap.tick(*THINK_SERVER)
    resps[2] = q.blob_response(cap.t, q.config, q.config_digest)
    s2, _, idx2 = c.send(S, resps[2].wire)
    assert len(idx) == 1 and len(idx2) == 1
    roff, soff = r0, s0
    for i, (rq, rs) in enumerate(zip(reqs, resps)):
        if i == 2:
            soff = s2
        cap.exchanges.append(Exchange(c, rq, (roff, roff + len(rq.wire)), rs,
                                      (soff, soff + len(rs.wire))))
        roff += len(rq.wire)
        soff += len(rs.wire)
    c.close()
    return cap


def random_sizes(rng, total, n):
    cuts = sorted(rng.sample(range(200, total - 200), n - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [total])]


def shuffled_send(conn, side, data, n, rng):
    """Sends data as n segments in a shuffled order: the segment with the first byte is
    not first, the one with the last byte stays last (see the module docstring)."""
    start = conn.offset(side)
    segs = conn.cut(side, data, random_sizes(rng, len(data), n))
    order = list(range(n - 1))
    while order[0] == 0 or order == sorted(order):
        rng.shuffle(order)
    order.append(n - 1)
    for k, i in enumerate(order):
        seq, payload = segs[i]
        conn.emit(side, ACK | (PSH if i == n - 1 else 0), payload, seq=seq)
    return start, conn.offset(side), order


def case_out_of_order():
    cap = Capture("out_of_order")
    cap.pcapng = True
    q, rng = cap.q, cap.rng
    c = Conn(cap)
    c.handshake()
    desc = ("Acme's application server. " * 40).strip()
    body = compact({"description": desc})
    req = request("PUT", "/api/v1/repository/acme/app",
                  q.api_headers([("Content-Type", "application/json"),
                                 ("Content-Length", str(len(body)))]), body)
    r0, r1, rorder = shuffled_send(c, C, req.wire, 6, rng)
    cap.tick(*THINK_SERVER)
    resp = q.api_response(cap.t, compact(q.repo_json(ntags=6, description=desc)))
    s0, s1, sorder = shuffled_send(c, S, resp.wire, 6, rng)
    c.emit(C, ACK, dt=(40, 200))
    cap.exchanges.append(Exchange(c, req, (r0, r1), resp, (s0, s1)))
    cap.notes = ("a PUT and its 200 each cut into 6 segments, sent in the order %s and %s "
                 "(segment numbers by sequence); the last segment of each comes last"
                 % (rorder, sorder))
    c.close()
    return cap


def case_retransmission():
    cap = Capture("retransmission", notes="client: exact duplicate of a request segment "
                  "and a retransmission overlapping two segments; server: exact duplicate of "
                  "a response, a repacketized retransmission [500,2400) over [0,1000) that "
                  "also carries new bytes, and a duplicate overlapping two segments; bytes "
                  "are identical in every copy")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
               "digest": "sha256:" + sha256(b"layer%d" % i), "size": 1000 + 37 * i}
              for i in range(12)]
    man = (json.dumps({"schemaVersion": 2, "mediaType": Quay.MANIFEST_TYPE,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": q.config_digest, "size": len(q.config)},
                       "layers": layers}, indent=3) + "\n").encode()
    digest = "sha256:" + sha256(man)
    req = request("PUT", "/v2/acme/app/manifests/v1",
                  q.v2_headers(extra=[("Content-Type", Quay.MANIFEST_TYPE),
                                      ("Content-Length", str(len(man)))], push=True), man)
    assert len(req.wire) > 2 * 1460
    r0 = c.offset(C)
    segs = c.cut(C, req.wire)
    base = c.base[C]
    c.emit(C, ACK, segs[0][1], seq=segs[0][0])
    c.emit(C, ACK, segs[1][1], seq=segs[1][0])
    c.emit(C, ACK, segs[0][1], seq=segs[0][0], dt=(1000, 3000))       # exact duplicate
    c.emit(C, ACK | PSH, segs[2][1], seq=segs[2][0])
    c.emit(C, ACK, req.wire[1000:2000], seq=base + r0 + 1000, dt=(1000, 3000))  # overlap
    r1 = c.offset(C)
    cap.tick(*THINK_SERVER)
    resp = response(201, "Created", [
        ("Server", "nginx/1.22.1"), ("Date", http_date(cap.t)), ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "2"), ("Connection", "keep-alive"),
        ("Location", "/v2/acme/app/manifests/" + digest), ("Docker-Content-Digest", digest),
        ("Docker-Distribution-API-Version", "registry/2.0")], b"OK")
    s0, s1, idx = c.send(S, resp.wire, final_ack=False)
    p = cap.packets[idx[0]]
    c.emit(S, p.flags, p.payload, seq=p.seq, dt=(5000, 9000))         # exact duplicate
    c.emit(C, ACK, dt=(40, 200))
    cap.exchanges.append(Exchange(c, req, (r0, r1), resp, (s0, s1)))

    cap.tick(*THINK_CLIENT)
    blob = cap.rng.randbytes(4000)
    bdig = "sha256:" + sha256(blob)
    req2 = q.get_blob(bdig)
    r0, r1, _ = c.send(C, req2.wire, final_ack=False)
    cap.tick(*THINK_SERVER)
    resp2 = q.blob_response(cap.t, blob, bdig)
    s0 = c.offset(S)
    c.cut(S, resp2.wire)
    w, sb = resp2.wire, c.base[S] + s0
    c.emit(S, ACK, w[0:1000], seq=sb)
    c.emit(S, ACK, w[500:2400], seq=sb + 500, dt=(2000, 4000))        # repacketized
    c.emit(C, ACK, ack=sb + 2400, dt=(40, 200))
    c.emit(S, ACK, w[2400:3860], seq=sb + 2400)
    c.emit(S, ACK, w[1460:2920], seq=sb + 1460, dt=(2000, 4000))      # duplicate, overlapping
    c.emit(S, ACK | PSH, w[3860:], seq=sb + 3860)
    c.emit(C, ACK, dt=(40, 200))
    cap.exchanges.append(Exchange(c, req2, (r0, r1), resp2, (s0, c.offset(S))))
    c.close()
    return cap


def case_chunked():
    cap = Capture("chunked", notes="POST upload (202, Location, Docker-Upload-UUID), a PATCH "
                  "with a chunked binary body, then a GET whose 200 is chunked with chunk "
                  "extensions, upper- and lower-case hex sizes, a size with leading zeros and "
                  "a trailer; chunk lines are split across segments; expected bodies are "
                  "de-chunked")
    cap.pcapng = True
    q, rng = cap.q, cap.rng
    c = Conn(cap)
    c.handshake()
    uuid = q.uuid()
    loc = "/v2/acme/app/blobs/uploads/" + uuid

    post = request("POST", "/v2/acme/app/blobs/uploads/",
                   q.v2_headers(push=True, extra=[("Content-Length", "0")]))

    def upload_resp(now, rng_end):
        return response(202, "Accepted", [
            ("Server", "nginx/1.22.1"), ("Date", http_date(now)),
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "0"),
            ("Connection", "keep-alive"), ("Location", "https://%s%s" % (HOST, loc)),
            ("Range", "0-%d" % rng_end), ("Docker-Upload-UUID", uuid),
            ("Docker-Distribution-API-Version", "registry/2.0")])
    cap.exchange(c, post, lambda now: upload_resp(now, -1))

    data = q.layer + rng.randbytes(952)
    parts = [data[:1000], data[1000:2500], data[2500:]]
    wire = chunked([(p, None, "") for p in parts])
    patch = request("PATCH", loc, q.v2_headers(push=True, extra=[
        ("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")]),
        data, wire_body=wire)
    head = patch.head_len
    cap.exchange(c, patch, lambda now: upload_resp(now, len(data) - 1),
                 req_sizes=[head + 3, 1460, 1460])

    man = q.manifest
    chunks = [(man[:5], "5", ";ext=1"),
              (man[5:100], "5F", ';name="quoted value"'),
              (man[100:300], "0000c8", ""),
              (man[300:], None, ";last")]
    wire = chunked(chunks, [("X-Checksum", "abc")])

    def chunked_resp(now):
        r = response(200, "OK", [
            ("Server", "nginx/1.22.1"), ("Date", http_date(now)),
            ("Content-Type", Quay.MANIFEST_TYPE), ("Transfer-Encoding", "chunked"),
            ("Trailer", "X-Checksum"), ("Connection", "keep-alive"),
            ("Docker-Content-Digest", q.manifest_digest),
            ("Docker-Distribution-API-Version", "registry/2.0")], man, wire_body=wire,
            trailers=[("X-Checksum", "abc")])
        return r
    get = q.get_manifest("latest")
    hl = len(chunked_resp(0).wire) - len(wire)
    # Segment boundaries: inside "5;ext=1", inside a CRLF, inside the final "0\r\n", and
    # inside the trailer.
    cuts = [hl + 3, hl + 15, hl + 113, hl + len(wire) - 20, hl + len(wire) - 8]
    sizes = [b - a for a, b in zip([0] + cuts, cuts)]
    cap.exchange(c, get, chunked_resp, resp_sizes=sizes + [1460])
    c.close()
    return cap


def case_close_delimited():
    cap = Capture("close_delimited", notes="HTTP/1.0 response without Content-Length; the "
                  "body ends at the server's FIN, which rides on the last data segment")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    headers = [h for h in q.api_headers() if h[0] != "Connection"] + [("Connection", "close")]
    req = request("GET", "/api/v1/repository/acme/app/tag/?limit=100&page=1&onlyActiveTags=true",
                  headers)
    r0, r1, _ = c.send(C, req.wire, final_ack=False)
    cap.tick(*THINK_SERVER)
    tags = [{"name": "v1.%d" % i, "reversion": False, "start_ts": 1793340000 + 60 * i,
             "manifest_digest": "sha256:" + sha256(b"m%d" % i), "is_manifest_list": False,
             "size": 2048 + i, "last_modified": "Fri, 30 Oct 2026 08:%02d:00 -0000" % i}
            for i in range(14)]
    body = compact({"tags": tags, "page": 1, "has_additional": False})
    resp = response(200, "OK", [("Server", "nginx/1.22.1"), ("Date", http_date(cap.t)),
                                ("Content-Type", "application/json"), ("Connection", "close")],
                    body, version="HTTP/1.0")
    s0, s1, _ = c.send(S, resp.wire, final_ack=False, last_flags=FIN)
    c.emit(C, ACK, dt=(40, 200))
    c.emit(C, FIN | ACK, dt=(100, 300))
    c.nxt[C] += 1
    c.emit(S, ACK)
    cap.exchanges.append(Exchange(c, req, (r0, r1), resp, (s0, s1)))
    return cap


def case_head_204_304():
    cap = Capture("head_204_304", notes="HEAD answered 200 with Content-Length: 1234 and no "
                  "body; DELETE answered 204; conditional GET answered 304 that also carries "
                  "Content-Length: 1234; then a GET with a body on the same connection: a "
                  "parser that reads a body after any of the first three eats the next response")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    cap.exchange(c, q.get_manifest("latest", method="HEAD"), lambda now: response(200, "OK", [
        ("Server", "nginx/1.22.1"), ("Date", http_date(now)), ("Content-Type", Quay.MANIFEST_TYPE),
        ("Content-Length", "1234"), ("Connection", "keep-alive"),
        ("Docker-Content-Digest", q.manifest_digest),
        ("Docker-Distribution-API-Version", "registry/2.0")]))
    cap.exchange(c, request("DELETE", "/api/v1/repository/acme/app/tag/old", q.api_headers()),
                 lambda now: response(204, "No Content", [
                     ("Server", "nginx/1.22.1"), ("Date", http_date(now)),
                     ("Connection", "keep-alive"), ("X-Frame-Options", "DENY")]))
    etag = '"%s"' % q.manifest_digest
    cap.exchange(c, q.get_manifest("latest", extra=[("If-None-Match", etag)]),
                 lambda now: response(304, "Not Modified", [
                     ("Server", "nginx/1.22.1"), ("Date", http_date(now)), ("ETag", etag),
                     ("Content-Length", "1234"), ("Connection", "keep-alive"),
                     ("Docker-Distribution-API-Version", "registry/2.0")]))
    body = compact(q.repo_json(ntags=2))
    cap.exchange(c, q.get_repo(), lambda now: q.api_response(now, body))
    c.close()
    return cap


def case_continue_100():
    cap = Capture("continue_100", notes="PUT with Expect: 100-continue; the server answers "
                  "100 Continue, the client then sends the body, the server answers 201: one "
                  "exchange, status 201; latency is to the 201, not to the 100")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    uuid = q.uuid()
    data = q.layer
    req = request("PUT", "/v2/acme/app/blobs/uploads/%s?digest=%s" % (uuid, q.layer_digest),
                  q.v2_headers(push=True, extra=[
                      ("Content-Type", "application/octet-stream"),
                      ("Content-Length", str(len(data))), ("Expect", "100-continue")]), data)
    head = req.wire[:req.head_len]
    r0, _, _ = c.send(C, head, final_ack=False)
    cap.tick(*THINK_SERVER)
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(S, cont, final_ack=False)
    _, r1, _ = c.send(C, data, final_ack=False, dt=(150, 400))
    cap.tick(*THINK_SERVER)
    resp = response(201, "Created", [
        ("Server", "nginx/1.22.1"), ("Date", http_date(cap.t)),
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "0"),
        ("Connection", "keep-alive"),
        ("Location", "https://%s/v2/acme/app/blobs/%s" % (HOST, q.layer_digest)),
        ("Docker-Content-Digest", q.layer_digest),
        ("Docker-Distribution-API-Version", "registry/2.0")])
    s0, s1, _ = c.send(S, resp.wire)
    cap.exchanges.append(Exchange(c, req, (r0, r1), resp, (s0, s1),
                                  extra={"interim_statuses": [100]}))
    c.close()
    return cap


def client_hello(rng, sni):
    def ext(t, data):
        return struct.pack("!HH", t, len(data)) + data
    name = sni.encode()
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
               0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    alpn = b"\x02h2\x08http/1.1"
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    share = struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
    exts = b"".join([
        ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name),
        ext(0x17, b""), ext(0xFF01, b"\x00"),
        ext(10, struct.pack("!HHHH", 6, 0x1D, 0x17, 0x18)),
        ext(11, b"\x01\x00"), ext(35, b""),
        ext(16, struct.pack("!H", len(alpn)) + alpn),
        ext(5, b"\x01\x00\x00\x00\x00"),
        ext(13, struct.pack("!H%dH" % len(sigalgs), 2 * len(sigalgs), *sigalgs)),
        ext(18, b""),
        ext(51, struct.pack("!H", len(share)) + share),
        ext(45, b"\x01\x01"),
        ext(43, b"\x04\x03\x04\x03\x03")])
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + struct.pack("!H%dH" % len(ciphers), 2 * len(ciphers), *ciphers) + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_server_flight(rng):
    """A ServerHello-shaped record, ChangeCipherSpec and an encrypted record."""
    sh = b"\x02\x00\x00\x76\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) \
        + b"\x13\x01\x00\x00\x2e\x00\x2b\x00\x02\x03\x04\x00\x33\x00\x24\x00\x1d\x00\x20" \
        + rng.randbytes(32)
    enc = rng.randbytes(1100)
    return (b"\x16\x03\x03" + struct.pack("!H", len(sh)) + sh + b"\x14\x03\x03\x00\x01\x01"
            + b"\x17\x03\x03" + struct.pack("!H", len(enc)) + enc)


def ws_frame(opcode, payload, mask=None):
    b0 = 0x80 | opcode
    n = len(payload)
    hdr = bytes([b0, (0x80 if mask else 0) | (n if n < 126 else 126)])
    if n >= 126:
        hdr += struct.pack("!H", n)
    if mask:
        payload = bytes(x ^ mask[i % 4] for i, x in enumerate(payload))
        hdr += mask
    return hdr + payload


def case_upgrade_connect():
    cap = Capture("upgrade_connect", notes="conn 0: GET with Upgrade: websocket answered 101; "
                  "the first WebSocket frame rides in the 101's segment, more frames follow "
                  "both ways (one exchange, status 101, empty body); conn 1: CONNECT "
                  "quay.example.test:443 answered 200, then TLS bytes both ways (one exchange)")
    q, rng = cap.q, cap.rng
    c = Conn(cap)
    c.handshake()
    key = base64.b64encode(rng.randbytes(16)).decode()
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    req = request("GET", "/realtime/user/subscribe?events=build", [
        ("Host", HOST), ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"), ("Origin", "https://" + HOST),
        ("Cookie", "_csrf_token=" + b64url(rng.randbytes(24)))])
    r0, r1, _ = c.send(C, req.wire, final_ack=False)
    cap.tick(*THINK_SERVER)
    resp = response(101, "Switching Protocols", [
        ("Server", "nginx/1.22.1"), ("Date", http_date(cap.t)), ("Connection", "upgrade"),
        ("Upgrade", "websocket"), ("Sec-WebSocket-Accept", accept)])
    frame1 = ws_frame(1, b'{"event":"hello","data":{"subscriptions":["build"]}}')
    s0, _, idx = c.send(S, resp.wire + frame1)
    assert len(idx) == 1
    s1 = s0 + len(resp.wire)
    c.send(C, ws_frame(1, b'{"event":"ping"}', mask=rng.randbytes(4)), dt=(2000, 5000))
    c.send(S, ws_frame(2, rng.randbytes(300)), dt=(2000, 5000))
    c.send(S, ws_frame(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), dt=(2000, 5000))
    c.send(C, ws_frame(8, b"\x03\xe8", mask=rng.randbytes(4)), dt=(2000, 5000))
    c.send(S, ws_frame(8, b"\x03\xe8"))
    c.close(first=S)
    cap.exchanges.append(Exchange(c, req, (r0, r1), resp, (s0, s1)))

    cap.tick(*THINK_CLIENT)
    c2 = Conn(cap)
    c2.handshake()
    req2 = request("CONNECT", HOST + ":443", [("Host", HOST + ":443"),
                                              ("User-Agent", Quay.UA),
                                              ("Proxy-Connection", "Keep-Alive")])
    r0, r1, _ = c2.send(C, req2.wire, final_ack=False)
    cap.tick(*THINK_SERVER)
    resp2 = response(200, "Connection established", [])
    s0, s1, _ = c2.send(S, resp2.wire, final_ack=False)
    c2.send(C, client_hello(rng, HOST), final_ack=False, dt=(300, 800))
    c2.send(S, tls_server_flight(rng), dt=(3000, 8000))
    c2.send(C, b"\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x45" + rng.randbytes(69), dt=(300, 800))
    c2.close()
    cap.exchanges.append(Exchange(c2, req2, (r0, r1), resp2, (s0, s1)))
    return cap


def case_non_http():
    cap = Capture("non_http", notes="conn 0 sends a TLS ClientHello to port 8080 (the server "
                  "sends nothing and closes): a non-HTTP stream, no exchange; conn 1 is a "
                  "normal HTTP exchange")
    cap.header["non_http_connections"] = 1
    q = cap.q
    c = Conn(cap)
    c.handshake()
    c.send(C, client_hello(cap.rng, HOST))
    c.close(first=S, dt=(20000, 40000))
    cap.tick(*THINK_CLIENT)
    c2 = Conn(cap)
    c2.handshake()
    cap.exchange(c2, q.get_tags(), q.tags_response)
    c2.close()
    return cap


def case_midstream():
    cap = Capture("midstream", notes="no SYN: the capture starts with the last two segments "
                  "of an earlier response body (server side) and a client ACK, then one full "
                  "request/response pair; only that pair is expected")
    q = cap.q
    c = Conn(cap)
    c.start_midstream()
    prev = compact(q.repo_json(ntags=20))
    tail = prev[-2100:]
    assert b"HTTP/" not in tail
    c.send(S, tail, dt=(0, 0))
    # The stream the server side captures starts at the tail; no exchange covers it.
    cap.tick(*THINK_CLIENT)
    cap.exchange(c, q.get_manifest("latest"), q.manifest_response)
    c.close()
    return cap


def encapsulated(name, linktype, encap, notes, v6=False, cip=None, sip=None):
    cap = Capture(name, linktype, encap, notes)
    q = cap.q
    c = Conn(cap, v6=v6, cip=cip, sip=sip)
    c.handshake()
    cap.exchange(c, q.get_tags(), q.tags_response)
    c.close()
    return cap


def case_seq_wrap():
    cap = Capture("seq_wrap", notes="ISNs just below 2^32: the client's sequence numbers wrap "
                  "inside the PUT's body, the server's inside the 4 KiB GET response body")
    q = cap.q
    man = (json.dumps(json.loads(q.manifest), indent=2) + "\n").encode()
    put = request("PUT", "/v2/acme/app/manifests/v1", q.v2_headers(push=True, extra=[
        ("Content-Type", Quay.MANIFEST_TYPE), ("Content-Length", str(len(man)))]), man)
    created = lambda now: response(201, "Created", [
        ("Server", "nginx/1.22.1"), ("Date", http_date(now)), ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "2"), ("Connection", "keep-alive"),
        ("Location", "/v2/acme/app/manifests/" + q.manifest_digest),
        ("Docker-Content-Digest", q.manifest_digest),
        ("Docker-Distribution-API-Version", "registry/2.0")], b"OK")
    blob = cap.rng.randbytes(4096)
    bdig = "sha256:" + sha256(blob)
    get = q.get_blob(bdig)
    r201 = created(0)
    # Client: byte 0 is seq ISN+1; wrap 200 bytes into the PUT body.
    isn_c = (2 ** 32 - put.head_len - 200 - 1) & 0xFFFFFFFF
    # Server: the 201 first, then the blob response; wrap 2000 bytes into its body.
    resp_head = len(q.blob_response(0, blob, bdig).wire) - len(blob)
    isn_s = (2 ** 32 - len(r201.wire) - resp_head - 2000 - 1) & 0xFFFFFFFF
    c = Conn(cap, isn=(isn_c, isn_s))
    c.handshake()
    cap.exchange(c, put, created)
    cap.exchange(c, get, lambda now: q.blob_response(now, blob, bdig))
    c.close()
    cap.header["isn"] = {"client": isn_c, "server": isn_s}
    return cap


def case_large_body():
    cap = Capture("large_body", notes="a 300 KiB (307200-byte) blob response; run capture "
                  "with --max-body 65536 and expect body_truncated; response_body is not "
                  "inlined: compare response_body_len/sha256 (whole body) and "
                  "response_body_first_65536_sha256")
    q = cap.q
    blob = cap.rng.randbytes(300 * 1024)
    bdig = "sha256:" + sha256(blob)
    c = Conn(cap)
    c.handshake()
    ex = cap.exchange(c, q.get_blob(bdig), lambda now: q.blob_response(now, blob, bdig))
    ex.extra = {"response_body_first_65536_sha256": sha256(blob[:65536]),
                "response_body_truncated_at_65536": True}
    c.close()
    return cap


def case_reset_mid_body():
    cap = Capture("reset_mid_body", notes="response declares Content-Length: 5000, the server "
                  "sends 2000 body bytes then RST: complete=false, body is the 2000 bytes seen")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    blob = cap.rng.randbytes(5000)
    bdig = "sha256:" + sha256(blob)
    req = q.get_blob(bdig)
    r0, r1, _ = c.send(C, req.wire, final_ack=False)
    cap.tick(*THINK_SERVER)
    resp = q.blob_response(cap.t, blob, bdig)
    sent = resp.wire[:resp.head_len + 2000]
    s0, s1, _ = c.send(S, sent)
    c.emit(S, RST | ACK, dt=(3000, 6000))
    ex = Exchange(c, req, (r0, r1), resp, (s0, s1), complete=False,
                  extra={"response_declared_len": 5000})
    ex.resp_body = blob[:2000]
    cap.exchanges.append(ex)
    return cap


def case_no_response():
    cap = Capture("no_response", notes="a first complete exchange, then a request whose "
                  "response never arrives (the server only ACKs it; no FIN, no RST) before "
                  "the capture ends: a request-only record")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    cap.exchange(c, q.get_tags(), q.tags_response)
    cap.tick(*THINK_CLIENT)
    req = q.get_tags("?n=50&last=v1")
    r0, r1, _ = c.send(C, req.wire)
    cap.exchanges.append(Exchange(c, req, (r0, r1)))
    return cap


def case_gzip_body():
    cap = Capture("gzip_body", notes="Content-Encoding: gzip response (zlib, gzip wrapper); the "
                  "body is expected as sent (base64 of the gzip bytes); "
                  "response_body_decoded gives the JSON inside")
    q = cap.q
    c = Conn(cap)
    c.handshake()
    plain = compact(q.repo_json(ntags=30))
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    gz = z.compress(plain) + z.flush()
    ex = cap.exchange(c, q.get_repo(), lambda now: q.api_response(
        now, gz, extra=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]))
    ex.extra = {"response_body_decoded": plain.decode(),
                "response_body_decoded_sha256": sha256(plain)}
    c.close()
    return cap


def case_many_headers():
    cap = Capture("many_headers", notes="a request with 200 header fields, one of them "
                  "(X-Debug-Blob) 16384 bytes long; the request spans many segments")
    q, rng = cap.q, cap.rng
    c = Conn(cap)
    c.handshake()
    h = q.api_headers()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    big = "".join(rng.choice(alphabet) for _ in range(16384))
    i = 0
    while len(h) < 199:
        h.append(("X-Acme-Trace-%03d" % i, "%08x-%d" % (rng.getrandbits(32), i)))
        i += 1
    h.insert(100, ("X-Debug-Blob", big))
    assert len(h) == 200
    body = compact({"username": "deployer", "verified": True, "anonymous": False,
                    "organizations": [{"name": "acme", "is_org_admin": True}]})
    cap.exchange(c, request("GET", "/api/v1/user/", h), lambda now: q.api_response(now, body))
    cap.header["request_header_count"] = 200
    c.close()
    return cap


# ---------------------------------------------------------------- main

def main():
    global OUT
    if len(sys.argv) > 1:
        OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    made = []
    cases = [case_basic_keepalive, case_pipelined, case_out_of_order, case_retransmission,
             case_chunked, case_close_delimited, case_head_204_304, case_continue_100,
             case_upgrade_connect, case_non_http, case_midstream]
    basic = None
    for fn in cases:
        cap = fn()
        write_fixture(cap)
        made.append(cap.name)
        if cap.name == "basic_keepalive":
            basic = cap
    simple = [
        ("vlan", LINKTYPE_ETHERNET, encap_vlan, "Ethernet with an 802.1Q tag (VLAN 100)", {}),
        ("sll", LINKTYPE_LINUX_SLL, encap_sll, "Linux cooked v1 (linktype 113)", {}),
        ("sll2", LINKTYPE_LINUX_SLL2, encap_sll2, "Linux cooked v2 (linktype 276)", {}),
        ("null_loopback", LINKTYPE_NULL, encap_null,
         "BSD loopback/NULL (linktype 0, family 2 in little-endian host order); addresses "
         "127.0.0.1 -> 127.0.0.1 as on a real loopback", {"cip": "127.0.0.1", "sip": "127.0.0.1"}),
        ("raw_ip", LINKTYPE_RAW, encap_raw, "raw IP (linktype 101)", {}),
        ("ipv6", LINKTYPE_ETHERNET, encap_ethernet, "Ethernet + IPv6, 2001:db8::1 -> "
         "2001:db8::2", {"v6": True}),
    ]
    for name, lt, enc, notes, kw in simple:
        cap = encapsulated(name, lt, enc, "a GET and its 200 on one connection; " + notes, **kw)
        cap.pcapng = name == "vlan"
        write_fixture(cap)
        made.append(name)
    for fn in [case_seq_wrap, case_large_body, case_reset_mid_body, case_no_response]:
        cap = fn()
        write_fixture(cap)
        made.append(cap.name)

    # truncated_file: basic_keepalive's bytes cut in the middle of the packet record of
    # the third response's second segment.
    frames = basic.frames()
    data = pcap_bytes(basic.linktype, frames)
    k = basic.cut_packet
    rec = pcap_record_offsets(frames)[k]
    cut = rec + 16 + len(frames[k][1]) // 2
    kept = basic.packets[:k]
    arr = Arrivals(kept)
    whole = [ex for ex in basic.exchanges
             if arr.has(ex.conn, C, *ex.req_range) and arr.has(ex.conn, S, *ex.resp_range)]
    idx = [basic.exchanges.index(ex) for ex in whole]
    basic.notes = ("basic_keepalive.pcap cut at byte %d, in the middle of packet record %d "
                   "(0-based; the third response's second segment): the file ends mid-packet. "
                   "Expected: the exchanges wholly before the cut (basic_keepalive's %s); the "
                   "third request was captured but its response only in part, so a record for "
                   "it (complete=false) is allowed but not expected" % (cut, k, idx))
    basic.header = {"cut_at_byte": cut, "original_size": len(data), "cut_packet_index": k,
                    "complete_exchanges": idx, "partial_exchanges": [2]}
    basic.pcapng = False
    write_fixture(basic, packets=kept, exchanges=whole, name="truncated_file", data=data[:cut])
    made.append("truncated_file")

    for fn in [case_gzip_body, case_many_headers]:
        cap = fn()
        write_fixture(cap)
        made.append(cap.name)
    print("wrote %d fixtures to %s: %s" % (len(made), os.path.relpath(OUT), ", ".join(made)))


if __name__ == "__main__":
    sys.exit(main())
