#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tee_backend.py PORT LOGFILE [--variant NAME] [--delay-ms N] — a backend for the tee tests.

Serves HTTP/1.1 (keep-alive) on 127.0.0.1:PORT (0 = any free port; prints "PORT <n>" on
stdout) and appends one JSON line per request to LOGFILE: {"t", "method", "path",
"headers": [[name, value], ...], "body_len", "body_sha256"}. Request bodies may be chunked.

Paths (HEAD answers every GET path with the same head and no body):
  /t/chunked        200, Transfer-Encoding: chunked, JSON in several chunks
  /t/gzip           200, Content-Encoding: gzip, Content-Length
  /t/token-gzip     200, gzip JSON issuing a secret {"token": "issued-secret-123"}
  /t/large/<n>      200, n deterministic binary bytes, Content-Length
  /t/large-chunked/<n>  the same bytes, chunked
  /t/binary         200, bytes 0..255 four times, application/octet-stream
  /t/status/<code>  that status; a small body except for 204 and 304
  /t/repeat         repeated Set-Cookie, X-Multi and Link headers, in a fixed order
  /t/304            304 with ETag and no Content-Length
  /t/304cl          304 with ETag and Content-Length: 1234 (the representation's length)
  /t/echo           200 JSON of what was received (method, path, headers, body length/SHA-256)
  /t/whoami         200 {"you_sent": the Authorization value} (--variant go: with " (go)" after it)
  /t/slow/<ms>      waits, then 200 JSON
  /t/stall          waits 60 s
  /t/hop            200 with hop-by-hop headers (Connection: X-Hop, X-Hop, Keep-Alive)
  /v2/<repo>/tags/list  Quay-shaped tags list; --variant go answers another tag list
  anything else     200 JSON {"path": ..., "ok": true}
--delay-ms N delays every answer (a slow shadow). Python 3 standard library only.
"""
import gzip
import hashlib
import http.server
import json
import socketserver
import sys
import threading
import time


def large_bytes(n):
    out = bytearray()
    block = 0
    while len(out) < n:
        out += hashlib.sha256(b"block %d" % block).digest()
        block += 1
    return bytes(out[:n])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tee_backend/1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _log(self, body):
        entry = {"t": time.monotonic(), "method": self.command, "path": self.path,
                 "headers": [[k, v] for k, v in self.headers.items()],
                 "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
        with self.server.log_lock:
            self.server.log.write(json.dumps(entry) + "\n")
            self.server.log.flush()

    def _send(self, status, headers, body=b"", chunks=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        head = self.command == "HEAD"
        if chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not head:
                for c in chunks:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.write(b"0\r\n\r\n")
            return
        if status not in (204, 304) or body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head and status not in (204, 304):
            self.wfile.write(body)

    def _json(self, status, obj, extra=()):
        self._send(status, [("Content-Type", "application/json")] + list(extra), json.dumps(obj).encode())

    def _handle(self):
        body = self._read_body() if self.command not in ("GET", "HEAD") or self.headers.get("Content-Length") \
            or self.headers.get("Transfer-Encoding") else b""
        self._log(body)
        if self.server.delay_ms:
            time.sleep(self.server.delay_ms / 1000)
        p = self.path.split("?")[0]
        if p == "/t/chunked":
            text = json.dumps({"chunked": True, "items": list(range(50))}).encode()
            self._send(200, [("Content-Type", "application/json")], chunks=[text[i:i + 37] for i in range(0, len(text), 37)])
        elif p == "/t/gzip":
            z = gzip.compress(json.dumps({"gzip": True, "repeat": "abc" * 200}).encode(), mtime=0)
            self._send(200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], z)
        elif p == "/t/token-gzip":
            z = gzip.compress(json.dumps({"token": "issued-secret-123", "expires_in": 300}).encode(), mtime=0)
            self._send(200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], z)
        elif p.startswith("/t/large-chunked/"):
            data = large_bytes(int(p.rsplit("/", 1)[1]))
            self._send(200, [("Content-Type", "application/octet-stream")],
                       chunks=[data[i:i + 65536] for i in range(0, len(data), 65536)])
        elif p.startswith("/t/large/"):
            self._send(200, [("Content-Type", "application/octet-stream")], large_bytes(int(p.rsplit("/", 1)[1])))
        elif p == "/t/binary":
            self._send(200, [("Content-Type", "application/octet-stream")], bytes(range(256)) * 4)
        elif p.startswith("/t/status/"):
            code = int(p.rsplit("/", 1)[1])
            body = b"" if code in (204, 304) else json.dumps({"status": code}).encode()
            self._send(code, [("Content-Type", "application/json"), ("X-Status", str(code))], body)
        elif p == "/t/repeat":
            self._send(200, [("Set-Cookie", "a=1; Path=/"), ("X-Multi", "one"), ("Set-Cookie", "b=2; Path=/"),
                             ("X-Multi", "two"), ("Link", '</a>; rel="next", </b>; rel="last"'),
                             ("Content-Type", "text/plain")], b"repeat\n")
        elif p == "/t/304":
            self._send(304, [("ETag", '"v1"'), ("Cache-Control", "max-age=60")])
        elif p == "/t/304cl":
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", "1234")
            self.end_headers()
        elif p == "/t/echo":
            self._json(200, {"method": self.command, "path": self.path,
                             "headers": [[k, v] for k, v in self.headers.items()],
                             "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()})
        elif p == "/t/whoami":  # the credential echoed; the go variant adds to it (a diff that shows it)
            sent = self.headers.get("Authorization", "")
            self._json(200, {"you_sent": sent + (" (go)" if self.server.variant == "go" else "")})
        elif p.startswith("/t/slow/"):
            time.sleep(int(p.rsplit("/", 1)[1]) / 1000)
            self._json(200, {"slow": True})
        elif p == "/t/stall":
            time.sleep(60)
            self._json(200, {"stalled": True})
        elif p == "/t/hop":
            self._send(200, [("Connection", "X-Hop"), ("X-Hop", "secret-hop"), ("Keep-Alive", "timeout=5"),
                             ("X-End", "kept"), ("Content-Type", "text/plain")], b"hop\n")
        elif p.startswith("/v2/") and p.endswith("/tags/list"):
            repo = p[4:-len("/tags/list")]
            tags = ["latest", "v1"] if self.server.variant != "go" else ["latest", "v2"]
            self._json(200, {"name": repo, "tags": tags}, [("Docker-Distribution-API-Version", "registry/2.0")])
        else:
            self._json(200, {"path": p, "ok": True})

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    args = sys.argv[1:]
    port, logfile = int(args[0]), args[1]
    variant, delay = None, 0
    if "--variant" in args:
        variant = args[args.index("--variant") + 1]
    if "--delay-ms" in args:
        delay = int(args[args.index("--delay-ms") + 1])
    srv = Server(("127.0.0.1", port), Handler)
    srv.log = open(logfile, "a")
    srv.log_lock = threading.Lock()
    srv.variant = variant
    srv.delay_ms = delay
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
