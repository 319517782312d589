#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tee_slowloris.py — the two sides of tee_slowloris.sh (Python 3 standard library only).

  attack PORT SECONDS OUT.json [--conns N] [--src ADDR] [--every S] [--stop-file PATH]
      Slowloris from ADDR (default 127.0.0.2; all of 127/8 is loopback on Linux): N
      connections (default 1100) to 127.0.0.1:PORT, each sending one byte of a request
      head that never ends every S seconds (default 2). A connection the server closes is
      opened again at its next tick, so the pressure stays. Prints "READY" once the first
      N connects are done; after SECONDS (or once PATH exists) writes OUT.json: connects, refused (closed by the
      server within 0.5 s of the connect), cut (closed later), cut_min_s/cut_max_s (their
      ages), max_age_s (the oldest any connection got, open ones included) and
      max_established (connections open for more than 0.5 s at once, at most).

  client PORT N OUT.json [--budget S] [--timeout S] [--pause S]
      N sequential GETs from 127.0.0.1, a new connection each (a client behind the
      attack's address has to get through accept), --pause seconds apart (default 0.02,
      so they span several rounds of the attack); writes answered, unanswered, p50_ms,
      p99_ms, max_ms and the first error. A GET has --timeout seconds (default 2); after
      --budget seconds (default 20) what is left counts unanswered.

  idle PORT OUT.json
      One keep-alive connection from 127.0.0.1: a request, 1 s idle, a second request
      (both answered), then idle until the server closes it; writes the answers and how
      long the server let it idle (the next request's head deadline runs from the end of
      the previous answer).

  vars NAME=FILE.json...
      Each key of each file as a shell assignment NAME_KEY=VALUE (one Python start for
      all the checks: on a loaded machine each costs a second).
"""
import heapq
import json
import os
import selectors
import shlex
import socket
import sys
import time

HEAD = b"GET /v2/ HTTP/1.1\r\nHost: slow\r\nX-Slow: "


def opts(args, defaults):
    out = dict(defaults)
    i = 0
    while i < len(args):
        out[args[i].lstrip("-").replace("-", "_")] = type(defaults[args[i].lstrip("-").replace("-", "_")])(args[i + 1])
        i += 2
    return out


class Slot:
    __slots__ = ("sock", "t", "sent")

    def __init__(self):
        self.sock, self.t, self.sent = None, 0.0, 0


def attack(port, seconds, out_path, rest):
    o = opts(rest, {"conns": 1100, "src": "127.0.0.2", "every": 2.0, "stop_file": ""})
    sel = selectors.DefaultSelector()
    slots = [Slot() for _ in range(o["conns"])]
    st = {"connects": 0, "connect_failures": 0, "refused": 0, "cut": 0, "cut_min_s": None, "cut_max_s": None,
          "max_age_s": 0.0, "max_established": 0}

    def byte(slot):
        b = HEAD[slot.sent:slot.sent + 1] or b"a"
        slot.sock.send(b)
        slot.sent += 1

    def open_slot(i):
        slot = slots[i]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((o["src"], 0))
            s.settimeout(1.0)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
        except OSError:
            st["connect_failures"] += 1
            s.close()
            return
        slot.sock, slot.t, slot.sent = s, time.monotonic(), 0
        st["connects"] += 1
        sel.register(s, selectors.EVENT_READ, i)
        try:
            byte(slot)
        except OSError:
            pass  # seen as closed by the selector

    def closed(i, now):
        slot = slots[i]
        age = now - slot.t
        sel.unregister(slot.sock)
        slot.sock.close()
        slot.sock = None
        st["max_age_s"] = max(st["max_age_s"], age)
        if age < 0.5:
            st["refused"] += 1
        else:
            st["cut"] += 1
            st["cut_min_s"] = age if st["cut_min_s"] is None else min(st["cut_min_s"], age)
            st["cut_max_s"] = age if st["cut_max_s"] is None else max(st["cut_max_s"], age)

    start = time.monotonic()
    ticks = []
    for i in range(len(slots)):
        open_slot(i)
        ticks.append((time.monotonic() + o["every"], i))
    heapq.heapify(ticks)
    print("READY", flush=True)
    end = start + seconds
    next_sample = 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        wait = max(0.0, min(ticks[0][0] - now, 0.05))
        for key, _ in sel.select(wait):
            i = key.data
            try:
                data = slots[i].sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            closed(i, time.monotonic())  # data or not: the server ended this head
        now = time.monotonic()
        while ticks and ticks[0][0] <= now:
            _, i = heapq.heappop(ticks)
            if slots[i].sock is None:
                open_slot(i)
            else:
                try:
                    byte(slots[i])
                except OSError:
                    closed(i, now)
            heapq.heappush(ticks, (now + o["every"], i))
        if now >= next_sample:
            next_sample = now + 0.1
            if o["stop_file"] and os.path.exists(o["stop_file"]):
                break
            established = 0
            for slot in slots:
                if slot.sock is not None:
                    age = now - slot.t
                    st["max_age_s"] = max(st["max_age_s"], age)
                    established += age > 0.5
            st["max_established"] = max(st["max_established"], established)
    for slot in slots:
        if slot.sock is not None:
            slot.sock.close()
    st["seconds"] = round(time.monotonic() - start, 3)
    with open(out_path, "w") as f:
        json.dump(st, f)


def get(port, timeout, sock=None):
    """One GET /v2/ on sock (or a new connection); returns (status, seconds, sock)."""
    t0 = time.monotonic()
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=("127.0.0.1", 0))
    sock.settimeout(timeout)
    sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: legit\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer's head")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return status, time.monotonic() - t0, sock


def client(port, n, out_path, rest):
    o = opts(rest, {"budget": 20.0, "timeout": 2.0, "pause": 0.02})
    lat, err, unanswered = [], None, 0
    end = time.monotonic() + o["budget"]
    for k in range(n):
        if time.monotonic() >= end:
            unanswered += n - k
            err = err or "out of time after %d requests" % k
            break
        try:
            status, s, sock = get(port, o["timeout"])
            sock.close()
            if status != 200:
                raise ValueError("status %d" % status)
            lat.append(s * 1000)
        except Exception as e:  # noqa: BLE001 — any failure is an unanswered request
            unanswered += 1
            err = err or "%s: %s" % (type(e).__name__, e)
        time.sleep(o["pause"])
    lat.sort()
    pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None  # noqa: E731
    res = {"answered": len(lat), "unanswered": unanswered, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
           "max_ms": round(lat[-1], 2) if lat else None, "error": err}
    with open(out_path, "w") as f:
        json.dump(res, f)


def idle(port, out_path):
    res = {"first": None, "second": None, "idle_s": None, "error": None}
    try:
        res["first"], _, sock = get(port, 5)
        time.sleep(1.0)
        res["second"], _, sock = get(port, 5, sock)
        t0 = time.monotonic()
        sock.settimeout(10)
        try:
            data = sock.recv(1)
        except OSError:
            data = b""
        res["idle_s"] = round(time.monotonic() - t0, 3)
        if data:
            res["error"] = "the server sent bytes on an idle connection"
        sock.close()
    except Exception as e:  # noqa: BLE001
        res["error"] = "%s: %s" % (type(e).__name__, e)
    with open(out_path, "w") as f:
        json.dump(res, f)


def shell_vars(pairs):
    for pair in pairs:
        name, _, path = pair.partition("=")
        try:
            with open(path) as f:
                obj = json.load(f)
        except (OSError, ValueError):
            obj = {}
        print("%s_json=%s" % (name, shlex.quote(json.dumps(obj))))
        for k, v in obj.items():
            print("%s_%s=%s" % (name, k, shlex.quote("" if v is None else str(v))))


def main():
    cmd = sys.argv[1]
    if cmd == "attack":
        attack(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5:])
    elif cmd == "client":
        client(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:])
    elif cmd == "idle":
        idle(int(sys.argv[2]), sys.argv[3])
    elif cmd == "vars":
        shell_vars(sys.argv[2:])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
