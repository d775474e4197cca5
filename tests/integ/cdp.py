# SPDX-License-Identifier: Apache-2.0
"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe.

Chromium reads commands from its fd 3 and writes answers and events to its
fd 4, each message one JSON text followed by a NUL byte. This needs nothing
but the Python standard library and Debian's chromium, so browser tests run
where npm cannot be reached. Used by dashboard_ui.py.
"""
import base64
import json
import os
import select
import subprocess
import time


class CDPError(Exception):
    pass


class Chrome:
    def __init__(self, exe, profile, width=1280, height=900, insecure_tls=True):
        cmd_r, self._cmd_w = os.pipe()
        self._ev_r, ev_w = os.pipe()

        def child():
            # dup first: os.dup2(fd, fd) would leave close-on-exec set
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--remote-debugging-pipe", "--user-data-dir=" + profile,
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--window-size=%d,%d" % (width, height)]
        if insecure_tls:
            # the test gateway's certificate comes from a CA made for the test
            args.append("--ignore-certificate-errors")
        self.proc = subprocess.Popen(args + ["about:blank"], preexec_fn=child, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(ev_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.dialogs = []
        self.session = None

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._ev_r)

    def _read(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise CDPError("timed out waiting for chromium")
            r, _, _ = select.select([self._ev_r], [], [], left)
            if r:
                chunk = os.read(self._ev_r, 65536)
                if not chunk:
                    raise CDPError("chromium closed the pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def _send(self, method, params, session):
        self._id += 1
        m = {"id": self._id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self._cmd_w, json.dumps(m).encode() + b"\0")
        return self._id

    def call(self, method, params=None, session=None, timeout=30):
        """Sends a command and returns its result; events that arrive
        meanwhile are kept, and JavaScript dialogs are accepted (noted in
        self.dialogs)."""
        want = self._send(method, params, session)
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if m.get("method") == "Page.javascriptDialogOpening":
                self.dialogs.append(m["params"].get("message"))
                self._send("Page.handleJavaScriptDialog", {"accept": True}, m.get("sessionId"))
            else:
                self.events.append(m)

    def open(self, url):
        """Opens url in a new page and attaches to it (flat session)."""
        t = self.call("Target.createTarget", {"url": "about:blank"})
        a = self.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})
        self.session = a["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.goto(url)

    def page(self, method, params=None, timeout=30):
        return self.call(method, params, self.session, timeout)

    def goto(self, url):
        self.page("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete' && location.href === %s" % json.dumps(url))

    def js(self, expr, timeout=30):
        """The value of a JavaScript expression (promises awaited)."""
        r = self.page("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("%s: %s" % (expr, d.get("exception", {}).get("description", d.get("text"))))
        return r["result"].get("value")

    def wait(self, expr, timeout=20):
        """Waits until expr is truthy (a DOM node counts)."""
        deadline = time.time() + timeout
        while True:
            if self.js("!!(%s)" % expr):
                return True
            if time.time() > deadline:
                raise CDPError("timed out waiting for: " + expr)
            time.sleep(0.1)

    def screenshot(self, path):
        r = self.page("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
