"""Debian's headless Chromium driven over the DevTools protocol (tests only).

    with Chromium() as b:
        b.goto(url)
        b.wait("document.querySelectorAll('[data-unit]').length > 0", 30)
        b.screenshot("build/x.png")

Started as the workplace needs it: a new empty profile, no sandbox (root), no background
networking. A missing chromium fails with the apt-get line to run.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


def find():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    raise AssertionError("chromium not found: apt-get install -y chromium (make sysdeps does it)")


class Chromium:
    def __init__(self, timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="fb-chromium-")
        self.proc = None
        self.ws = None
        self._id = 0

    def __enter__(self):
        self.proc = subprocess.Popen([find(), *FLAGS, "--user-data-dir=" + self.profile, "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        end = time.monotonic() + self.timeout
        while not os.path.exists(port_file):
            if time.monotonic() > end or self.proc.poll() is not None:
                self.__exit__()
                raise AssertionError("chromium did not start (exit %s)" % self.proc.poll())
            time.sleep(0.1)
        time.sleep(0.1)
        with open(port_file) as f:
            port = int(f.readline())
        with urllib.request.urlopen("http://127.0.0.1:%d/json" % port, timeout=10) as r:
            targets = json.load(r)
        page = [t for t in targets if t.get("type") == "page"][0]
        from websockets.sync.client import connect
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=10)
        return self

    def __exit__(self, *exc):
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self._id += 1
        mid = self._id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        end = time.monotonic() + self.timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, end - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def goto(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError("page error in %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, timeout):
        """Poll a JavaScript expression until it is truthy; its value, or None on timeout (an
        expression that throws, e.g. while the page is still loading, counts as not yet)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                v = self.eval(expr)
            except AssertionError:
                v = None
            if v:
                return v
            time.sleep(0.25)
        return None

    def screenshot(self, path):
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path
