#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fault_server.py PORT LOGFILE — a misbehaving HTTP/1.1 backend for replay tests.

Serves on 127.0.0.1:PORT (0 = any free port; the bound port is printed on stdout as
"PORT <n>") until killed, and appends one JSON line per request to LOGFILE, flushed at
once: {"t": time.monotonic(), "method", "path", "headers": {name: value},
"header_list": [[name, value], ...], "body_len", "peer": the client's port (one per
connection)}. "t" is taken when the request line,
headers and body have been read, before any answer.

Behaviour by path prefix (keep-alive HTTP/1.1 for the normal answers):
  /ok            200 JSON {"ok": true, "path": ...}
  /slow/<ms>     waits <ms> then 200 JSON
  /reset         headers with Content-Length: 1000, 10 bytes of body, then RST
                 (SO_LINGER 0, close)
  /truncated     Content-Length: 1000, 10 bytes, then a normal close (FIN)
  /garbage       "NOT HTTP AT ALL\\r\\n\\r\\n", then close
  /stall         never answers (sleeps 60 s in its daemon thread)
  /endless       Transfer-Encoding: chunked, chunks until the client goes away
  /status/<code> that status with a small body
  /once          200 JSON when it is the first request of its connection; a later one on
                 the same connection is read and logged, and the connection closed without
                 an answer (a kept-alive connection the server closed as a request came:
                 the client must send it again on a new one)
  /gzipbomb      200, Content-Encoding: gzip, application/json: one valid gzip member of
                 ~1 MB that inflates to 1 GiB of zeros (built once, on first use)
  anything else  200 JSON
Python 3 standard library only.
"""
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib


_bomb = None
_bomb_lock = threading.Lock()


def gzip_bomb(mib=1024):
    """A gzip member inflating to `mib` MiB of zeros: one full-flushed deflate segment per
    MiB (identical after the first flush resets the window), repeated, then the trailer."""
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            one = bytes(1 << 20)
            c.compress(one)
            c.flush(zlib.Z_FULL_FLUSH)
            segment = c.compress(one) + c.flush(zlib.Z_FULL_FLUSH)
            crc = 0
            for _ in range(mib):
                crc = zlib.crc32(one, crc)
            _bomb = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + segment * mib + c.flush() +
                     struct.pack("<II", crc, (mib << 20) & 0xffffffff))
        return _bomb


class Handler(http.server.BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the
    # client's delayed ACK add ~40 ms to every keep-alive answer after the first.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "fault_server/1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def _log(self, body_len):
        entry = {
            "t": time.monotonic(),
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "header_list": [[k, v] for k, v in self.headers.items()],
            "body_len": body_len,
            "peer": self.client_address[1],
        }
        with self.server.log_lock:
            self.server.log.write(json.dumps(entry) + "\n")
            self.server.log.flush()

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                break
            data += chunk
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        return len(data)

    def _answer(self, status, body, ctype="application/json"):
        payload = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _json(self, code=200, **extra):
        doc = {"ok": code < 400, "path": self.path}
        doc.update(extra)
        self._answer(code, json.dumps(doc, sort_keys=True))

    def _handle(self):
        self._log(self._read_body())
        path = self.path
        if path.startswith("/ok"):
            self._json()
        elif path.startswith("/slow/"):
            ms = int("".join(c for c in path[6:].split("/")[0].split("?")[0] if c.isdigit()) or 0)
            time.sleep(ms / 1000.0)
            self._json(slept_ms=ms)
        elif path.startswith("/reset"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.05)
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # detach: close the descriptor now (an RST), whatever still refers to the object
            os.close(sock.detach())
            self.close_connection = True
        elif path.startswith("/truncated"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789")
            self.close_connection = True
        elif path.startswith("/garbage"):
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
            self.close_connection = True
        elif path.startswith("/stall"):
            time.sleep(60)
            self.close_connection = True
        elif path.startswith("/endless"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 4096
            frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            try:
                while True:
                    self.wfile.write(frame)
                    time.sleep(0.002)
            except OSError:
                pass
            self.close_connection = True
        elif path.startswith("/gzipbomb"):
            payload = gzip_bomb()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        elif path.startswith("/once"):
            if getattr(self, "answered_once", False):
                self.close_connection = True
                return
            self.answered_once = True
            self._json()
        elif path.startswith("/status/"):
            code = int("".join(c for c in path[8:].split("/")[0].split("?")[0] if c.isdigit()) or 500)
            self._json(code, status=code)
        else:
            self._json()

    def _dispatch(self):
        try:
            self._handle()
        except OSError:
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs of a burst: 1 s retransmit stalls

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone away is normal here
            super().handle_error(request, client_address)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: fault_server.py PORT LOGFILE\n")
        return 2
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.log = open(sys.argv[2], "a", encoding="utf-8")
    server.log_lock = threading.Lock()
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
