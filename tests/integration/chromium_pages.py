#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""chromium_pages.py — what report_html.sh asks of headless Chromium, from one browser
(not a test of its own: ctest runs *.sh). Python 3 standard library only.

  chromium_pages.py CHROMIUM PROFILE_DIR WIDTHxHEIGHT JOB...
      JOB is dom:PAGE:OUT (the page's DOM once loaded, serialized as `chromium --dump-dom`
      writes it) or shot:PAGE:OUT (a PNG of the WIDTHxHEIGHT viewport, as `chromium
      --screenshot --window-size` takes it). PAGE is a file path. Each page loads in a new
      tab of the same browser: Chromium starts once (3-4 s of CPU a start) instead of once
      a page. The browser's stderr is this one's. Exit 1 when a job failed (its OUT is not
      written), 0 otherwise.

It drives the browser over --remote-debugging-pipe (the DevTools protocol: JSON messages
ending in a NUL byte, read from the browser on fd 4, written to it on fd 3).
"""
import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time

# what `--dump-dom` evaluates (components/headless/command_handler)
DUMP_DOM = ("(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : '')"
            " + document.documentElement.outerHTML")
DEADLINE_S = 60  # per page, as report_html.sh gave each chromium run


class Browser:
    def __init__(self, chromium, profile, width, height):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # the browser reads fd 3 and writes fd 4: its ends are moved above them first (then
        # neither dup2 overwrites the other's source); all else closes at exec (CLOEXEC)
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]
        os.close(to_browser_r)
        os.close(from_browser_w)

        def fds():
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
             "--enable-logging=stderr",  # console messages (CSP violations) on stderr
             "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=fds, close_fds=False)
        for fd in ends:
            os.close(fd)
        self.buf, self.next_id, self.events = b"", 0, []
        self.width, self.height = width, height

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise EOFError("the browser closed its end (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, deadline=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = deadline or time.monotonic() + DEADLINE_S
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]
            self.events.append(m)

    def wait_event(self, method, session, deadline):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def close(self):
        try:
            self.send("Browser.close", deadline=time.monotonic() + 10)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_job(browser, kind, page, out):
    deadline = time.monotonic() + DEADLINE_S
    target = browser.send("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
    try:
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                               deadline=deadline)["sessionId"]
        browser.send("Page.enable", session=session, deadline=deadline)
        # the page's viewport is the whole window (a tab's is the window less its frame)
        browser.send("Emulation.setDeviceMetricsOverride", {"width": browser.width, "height": browser.height,
                                                            "deviceScaleFactor": 1, "mobile": False},
                     session=session, deadline=deadline)
        nav = browser.send("Page.navigate", {"url": "file://" + os.path.abspath(page)}, session=session,
                           deadline=deadline)
        if nav.get("errorText"):
            raise RuntimeError("%s: %s" % (page, nav["errorText"]))
        browser.wait_event("Page.loadEventFired", session, deadline)
        if kind == "dom":
            r = browser.send("Runtime.evaluate", {"expression": DUMP_DOM, "returnByValue": True},
                             session=session, deadline=deadline)
            if "exceptionDetails" in r:
                raise RuntimeError("%s: %s" % (page, r["exceptionDetails"]))
            data = r["result"]["value"].encode() + b"\n"  # --dump-dom ends it with a newline
        else:
            data = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session=session,
                                                 deadline=deadline)["data"])
        with open(out, "wb") as f:
            f.write(data)
    finally:
        browser.send("Target.closeTarget", {"targetId": target}, deadline=time.monotonic() + 10)


def main():
    # a timeout's SIGTERM still closes the browser (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    chromium, profile, size = sys.argv[1:4]
    width, height = (int(v) for v in size.split("x"))
    browser = Browser(chromium, profile, width, height)
    failed = 0
    try:
        for job in sys.argv[4:]:
            kind, page, out = job.split(":", 2)
            try:
                run_job(browser, kind, page, out)
            except Exception as e:
                print("chromium_pages.py: %s %s: %s" % (kind, page, e), file=sys.stderr)
                failed = 1
                if browser.proc.poll() is not None:
                    break
    finally:
        browser.close()
    sys.exit(failed)


if __name__ == "__main__":
    main()
