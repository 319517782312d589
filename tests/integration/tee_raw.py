#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tee_raw.py — the raw ends of tee_smuggling.sh (not a test of its own: ctest runs *.sh).

  tee_raw.py primary LOG      a primary that frames requests itself (Content-Length or
                              chunked, strictly) and logs each one it reads as a JSON line:
                              what it saw (the tag, "(no-xff)" after it when the request had
                              no X-Forwarded-For; GARBAGE), connection, method, target (hex),
                              headers, body length; bytes it cannot frame are logged as
                              {"garbage": hex}. Answers 200
                              with X-Answer-For: the request's X-Client-Tag (or "none").
                              Prints "PORT n" once it listens on 127.0.0.1.
  tee_raw.py send PORT HEX    sends the bytes (hex) on one connection, reads until the
                              tee closes it or 5 s pass, prints a JSON object: status,
                              answer_for (X-Answer-For of the first answer), answers (how
                              many status lines came back), closed (the tee closed the
                              connection), elapsed_s.

A raw client and a raw primary because the attacks are byte-level: curl and http.server
both normalise exactly the things the tee must not pass on.
"""
import json
import socket
import sys
import threading
import time


def log_line(log, lock, obj):
    # "saw" first, for tee_smuggling.sh's sed: the tag, "(no-xff)" after it when the request
    # came without X-Forwarded-For, or GARBAGE
    if "garbage" in obj:
        saw = "GARBAGE"
    else:
        xff = [v for n, v in obj["headers"] if n.lower() == "x-forwarded-for"]
        saw = obj["tag"] if xff else obj["tag"] + "(no-xff)"
    obj = dict([("saw", saw)] + list(obj.items()))
    with lock:
        log.write(json.dumps(obj) + "\n")
        log.flush()


def fill(conn, buf, ready):
    """Reads until ready(buf); None when the peer closed first."""
    while not ready(buf):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def read_head(conn, buf):
    full = fill(conn, buf, lambda b: b"\r\n\r\n" in b)
    return (None, buf) if full is None else tuple(full.split(b"\r\n\r\n", 1))


def read_exact(conn, buf, n):
    full = fill(conn, buf, lambda b: len(b) >= n)
    return (None, buf) if full is None else (full[:n], full[n:])


def read_line(conn, buf):
    full = fill(conn, buf, lambda b: b"\r\n" in b)
    return (None, buf) if full is None else tuple(full.split(b"\r\n", 1))


def read_chunked(conn, buf):
    body = b""
    while True:
        line, buf = read_line(conn, buf)
        if line is None:
            return None, buf
        size = int(line.split(b";")[0], 16)
        if size == 0:
            while True:  # trailers up to the empty line
                line, buf = read_line(conn, buf)
                if line is None or line == b"":
                    return body, buf
        data, buf = read_exact(conn, buf, size + 2)
        if data is None:
            return None, buf
        body += data[:size]


def serve_connection(conn, cid, log, lock):
    buf = b""
    try:
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                if buf:
                    log_line(log, lock, {"conn": cid, "garbage": buf.hex()})
                return
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                log_line(log, lock, {"conn": cid, "garbage": head.hex()})
                return
            headers = []
            for line in lines[1:]:
                if line[:1] in (b" ", b"\t") or b":" not in line:
                    log_line(log, lock, {"conn": cid, "garbage": line.hex()})
                    return
                name, value = line.split(b":", 1)
                headers.append([name.decode("latin-1"), value.strip().decode("latin-1")])
            lower = [(n.lower(), v) for n, v in headers]
            te = [v for n, v in lower if n == "transfer-encoding"]
            cl = [v for n, v in lower if n == "content-length"]
            if te and cl or len(cl) > 1 or len(te) > 1:
                log_line(log, lock, {"conn": cid, "garbage": head.hex(), "why": "ambiguous framing"})
                return
            if te:
                body, buf = read_chunked(conn, buf)
            elif cl:
                body, buf = read_exact(conn, buf, int(cl[0]))
            else:
                body = b""
            if body is None:
                log_line(log, lock, {"conn": cid, "garbage": buf.hex(), "why": "body cut"})
                return
            tag = next((v for n, v in lower if n == "x-client-tag"), "none")
            log_line(log, lock, {"conn": cid, "method": parts[0].decode("latin-1"), "target": parts[1].hex(),
                                 "headers": headers, "body_len": len(body), "tag": tag})
            answer = b"answered %s\n" % tag.encode("latin-1")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Answer-For: " + tag.encode("latin-1") +
                         b"\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer)
    except (OSError, ValueError) as e:
        log_line(log, lock, {"conn": cid, "garbage": buf.hex(), "why": str(e)})
    finally:
        conn.close()


def primary(log_path):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print("PORT %d" % srv.getsockname()[1], flush=True)
    log, lock, cid = open(log_path, "a"), threading.Lock(), 0
    while True:
        conn, _ = srv.accept()
        cid += 1
        threading.Thread(target=serve_connection, args=(conn, cid, log, lock), daemon=True).start()


def send(port, data):
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    got, closed = b"", False
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    status, answer_for = 0, None
    if got.startswith(b"HTTP/1."):
        status = int(got.split(b" ", 2)[1])
        for line in got.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
            if line.lower().startswith(b"x-answer-for:"):
                answer_for = line.split(b":", 1)[1].strip().decode("latin-1")
    print(json.dumps({"status": status, "answer_for": answer_for, "answers": got.count(b"HTTP/1.1 "),
                      "closed": closed, "elapsed_s": round(time.monotonic() - start, 3)}))


if __name__ == "__main__":
    if sys.argv[1] == "primary":
        primary(sys.argv[2])
    elif sys.argv[1] == "send":
        send(int(sys.argv[2]), bytes.fromhex(sys.argv[3]))
    else:
        sys.exit("usage: tee_raw.py primary LOG | send PORT HEX")
