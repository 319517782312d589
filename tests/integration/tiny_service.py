#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tiny_service.py — a small HTTP API that is not Quay, in two flavours, for profile_tiny.sh:
the "python" service and its "go" port, which differs in the ways a real port does.

    tiny_service.py python|go PORT_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE). Routes:

    GET  /items/N     200 {"id", "name", "tags"}; Last-Modified of the item. Item 2 does not
                      exist in the go port: 404 {"message": "item 2 not found"}
    HEAD /items/N     the GET's headers, no body
    GET  /page        an HTML page
    GET  /health      200 {"ok": true}

Both send a Date header of their own (legitimately different). The go port's differences:
  - Last-Modified ends in "UTC" (Go's time.RFC1123), not "GMT";
  - item 2 is a 404 with a body, where python answers 200;
  - /page has no trailing newline after </html>;
  - every item carries "deleted_at": null (a Go pointer field without omitempty);
  - HEAD answers have no Content-Length.
"""
import json
import sys
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAVOUR = sys.argv[1] if len(sys.argv) > 1 else ""
ITEMS = {1: {"id": 1, "name": "anvil", "tags": ["iron"]},
         2: {"id": 2, "name": "bellows", "tags": []},
         3: {"id": 3, "name": "chisel", "tags": ["steel", "sharp"]}}
MODIFIED = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT
PAGE = "<!doctype html>\n<html><body><h1>Tiny</h1></body></html>\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tiny/" + FLAVOUR

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype, extra=(), head=False):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if not (head and FLAVOUR == "go"):
            self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def item(self, head):
        try:
            n = int(self.path.rsplit("/", 1)[1])
        except ValueError:
            n = 0
        item = ITEMS.get(n)
        if item is None or (FLAVOUR == "go" and n == 2):
            return self.answer(404, json.dumps({"message": "item %d not found" % n}), "application/json", head=head)
        if FLAVOUR == "go":
            item = dict(item, deleted_at=None)
        modified = formatdate(MODIFIED, usegmt=True)
        if FLAVOUR == "go":
            modified = modified.replace("GMT", "UTC")
        self.answer(200, json.dumps(item), "application/json", [("Last-Modified", modified)], head=head)

    def route(self, head):
        if self.path.startswith("/items/"):
            return self.item(head)
        if self.path == "/page":
            return self.answer(200, PAGE if FLAVOUR == "python" else PAGE.rstrip("\n"), "text/html; charset=utf-8",
                               head=head)
        if self.path == "/health":
            return self.answer(200, json.dumps({"ok": True}), "application/json", head=head)
        self.answer(404, json.dumps({"message": "no route"}), "application/json", head=head)

    def do_GET(self):
        self.route(False)

    def do_HEAD(self):
        self.route(True)


def main():
    if FLAVOUR not in ("python", "go") or len(sys.argv) != 3:
        sys.exit("usage: tiny_service.py python|go PORT_FILE")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[2], "w") as f:
        f.write("%d\n" % server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
