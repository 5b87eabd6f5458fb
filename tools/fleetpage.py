"""The fleet page (docs/fleet.md) for `make run` and its test: its one npm dependency installed,
its static files served as they are on a loopback port."""
import os
import shutil
import subprocess
import threading

from unitlab import ROOT, free_port

FLEET_DIR = os.path.join(ROOT, "tools", "fleet")


def fleet_ready():
    """Install the fleet page's one npm dependency (the MQTT client, pinned in
    tools/fleet/package-lock.json) when it is missing. Raises RuntimeError with the reason.
    One install at a time (a lock file): `npm ci` empties node_modules first, and parallel test
    workers or a test beside `make run` may ask at once."""
    import fcntl
    done = os.path.join(FLEET_DIR, "node_modules", "mqtt", "dist", "mqtt.min.js")
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "fleet-npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(done):
            return FLEET_DIR
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm not found: install Node.js and npm (apt-get install nodejs npm)")
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", FLEET_DIR],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("npm ci in tools/fleet failed:\n" + r.stdout[-2000:])
    return FLEET_DIR


class StaticServer:
    """Serves a folder on a free loopback port (http.server in a thread); nothing else."""

    def __init__(self, folder, port=None):
        self.folder = folder
        self.port = port or free_port()
        self.httpd = None

    def start(self):
        import functools
        import http.server

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a):
                pass

        handler = functools.partial(Quiet, directory=self.folder)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def url(self, ws_port, prefix="faxbridge"):
        return "http://127.0.0.1:%d/?ws=ws://127.0.0.1:%d&prefix=%s" % (self.port, ws_port, prefix)

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
