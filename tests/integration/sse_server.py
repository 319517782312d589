#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""sse_server.py — a stand-in for Quay's /realtime endpoints (endpoints/realtime.py), for
tests/integration/realtime.sh: two flavours that differ in one event field's type.

  GET /realtime/user/subscribe  text/event-stream (chunked): `data: {}` at once, then one
                                `data: {"event": ..., "data": ...}` per published event,
                                and a keep-alive comment every 0.3 s, for as long as the
                                client stays
  GET /realtime/user/test       publishes a test event to every open subscription
                                (flavour A: {"foo": 2}, flavour B: {"foo": "2"})

Usage: sse_server.py PORT_FILE FLAVOUR   (binds a free loopback port, writes it to PORT_FILE)
"""
import json
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAVOUR = sys.argv[2] if len(sys.argv) > 2 else "A"
TEST_EVENT = {"event": "test", "data": {"foo": 2 if FLAVOUR == "A" else "2", "bar": "baz"}}
KEEPALIVE_S = 0.3

subscribers = set()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def subscribe(self):
        # subscribed before the head goes out: a client that has the head may publish at once
        events = queue.Queue()
        with lock:
            subscribers.add(events)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunk("data: {}\n\n")
            while True:
                try:
                    event = events.get(timeout=KEEPALIVE_S)
                    self.chunk("data: %s\n\n" % json.dumps(event))
                except queue.Empty:
                    self.chunk(": keep-alive\n\n")
        except OSError:  # the client went away: the subscription ends
            pass
        finally:
            with lock:
                subscribers.discard(events)
            self.close_connection = True

    def test(self):
        with lock:
            for events in subscribers:
                events.put(TEST_EVENT)
        body = b'"OK"'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/realtime/user/subscribe":
            self.subscribe()
        elif path == "/realtime/user/test":
            self.test()
        else:
            self.send_error(404)


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
