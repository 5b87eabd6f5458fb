"""`make run`: the whole unit on this machine, in one command.

Starts a broker on a free loopback port (Mosquitto when installed, otherwise amqtt from the
venv; `--broker`), a simulated telephone line (tools/modemsim) with the
unit's modem and two remote fax machines (one answers, one is busy), and the firmware on the
MicroPython unix port against them. Then it submits a demo over MQTT (a text page, a bitmap
page, a fax to a busy number, a fax to an emergency number, CAFIS telegrams good and bad), and
a remote machine sends a fax TO the unit (auto-answer). Every status change, page and verdict
is shown as it happens; the fax the unit receives reaches the host through MQTT alone (its pages
on fax/page/<id>/<n>, saved as PNG + TIFF the way `faxctl received` saves them, under
<workdir>/received), and leaves the unit's flash. It then keeps running for your
own `tools/faxctl` commands until Ctrl-C, and stops everything it started.

    python tools/run.py [--broker auto|mosquitto|amqtt] [--speedup N] [--workdir build/run]
                        [--exit-after-demo] [--modem-class 2|2.0|auto]

--modem-class 2.0 runs the demo on a Class 2.0 (T.32) simulated modem with the unit's
modem.class set to "2.0"; auto gives the modem both classes and lets the unit ask.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import hostpath  # noqa: E402,F401
import fleetpage  # noqa: E402
from runshow import Show, pngs, say  # noqa: E402  (what it prints)
import unitdemo  # noqa: E402
import unitlab  # noqa: E402

UNIT = "demo-unit"
UNIT_NUMBER = "5550100"
REMOTE = "0355501234"    # answers and keeps the pages
BUSY = "0355509999"      # always busy
CALLER = "0355507777"    # sends a fax to the unit


AMQTT = os.path.join(unitlab.VENV_BIN, "amqtt")


class AmqttBroker:
    """amqtt's broker (PyPI, in the venv) on a free loopback port, anonymous clients allowed.

    The generated configuration is JSON (a YAML subset, which `amqtt -c` reads). Only the
    anonymous-auth plugin is loaded: no $SYS topics, no per-packet logging. Started in a
    session of its own so that the terminal's Ctrl-C reaches run.py first and the broker stays
    up until the firmware has published `offline`. stop() sends SIGINT (amqtt's clean
    shutdown) or, when run.py was started with SIGINT ignored (a background job of a script:
    the broker inherits that), SIGTERM; SIGKILL after 5 s.
    """

    name = "amqtt"

    def __init__(self, workdir, port=None):
        self.workdir = workdir
        self.port = port or unitlab.free_port()
        self.ws_port = unitlab.free_port()
        self.proc = None
        self.log_path = os.path.join(workdir, "amqtt.log")

    def start(self):
        if not os.access(AMQTT, os.X_OK):
            raise RuntimeError("%s not found: run `make setup` (requirements.txt pins amqtt)" % AMQTT)
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "amqtt.json")
        with open(conf, "w") as f:
            json.dump({
                "listeners": {"default": {"type": "tcp", "bind": "127.0.0.1:%d" % self.port},
                              "ws": {"type": "ws", "bind": "127.0.0.1:%d" % self.ws_port}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }, f, indent=1)
        self.sigint_ok = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([AMQTT, "-c", conf], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 20
        while time.monotonic() < end and self.proc.poll() is None:
            if unitlab.wait_port(self.port, 0.2):
                return self
        code = self.proc.poll()
        self.stop()
        raise RuntimeError("amqtt did not listen on 127.0.0.1:%d (exit status %s); its log:\n%s"
                           % (self.port, code, self.log()[-2000:]))

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGINT if self.sigint_ok else signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def pick_broker(choice):
    """'auto': Mosquitto when installed, else amqtt. Returns 'mosquitto' or 'amqtt'."""
    if choice == "auto":
        return "mosquitto" if os.access(unitlab.MOSQUITTO, os.X_OK) else "amqtt"
    return choice


def start_broker(kind, workdir):
    if kind == "mosquitto":
        b = unitlab.Broker(workdir, ws_port=0).start()
        b.name = "mosquitto"
        return b
    return AmqttBroker(workdir).start()


def check_tools(broker):
    missing = []
    if not os.access(unitlab.MICROPYTHON, os.X_OK):
        missing.append("%s (run `make setup`)" % unitlab.MICROPYTHON)
    if broker == "mosquitto" and not os.access(unitlab.MOSQUITTO, os.X_OK):
        missing.append("mosquitto (apt-get install mosquitto, or `--broker amqtt`)")
    if broker == "amqtt" and not os.access(AMQTT, os.X_OK):
        missing.append("%s (run `make setup`)" % AMQTT)
    if missing:
        sys.exit("make run: missing " + "; ".join(missing))


def unit_config(broker_port, modem_path, registry, modem_class="2"):
    return {
        "unit_id": UNIT,
        "mqtt": {"host": "127.0.0.1", "port": broker_port},
        "modem": {"path": modem_path, "station_id": "+81 3 5550 100", "rings": 2,
                  "baud": 921600,   # a UART fast enough for the sped-up line
                  "class": modem_class},
        "telegram": {"sender": "center", "center": "A"},
        "dial": {"prefixes": ["0"]},
        "retries": {"count": 1, "delay_s": 5},
        "quota": {"pages_per_day": 50},
        "telemetry": {"interval_s": 30},
        "cafis": {"registry": "cafis-registry.json"},
    }, registry


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=os.path.join(unitlab.ROOT, "build", "run"))
    ap.add_argument("--speedup", type=float, default=4.0, help="line speed-up of the simulator (1 = real time)")
    ap.add_argument("--exit-after-demo", "--demo-only", dest="exit_after", action="store_true",
                    help="stop everything once the demo has finished (for tests and CI)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds the demo may take")
    ap.add_argument("--heap", help="run the firmware with micropython -X heapsize=HEAP (e.g. 96wk)")
    ap.add_argument("--modem-class", choices=("2", "2.0", "auto"), default="2",
                    help="the fax class of the simulated modem and the unit's modem.class (default 2)")
    ap.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto",
                    help="auto (default): Mosquitto when installed, otherwise amqtt from the venv")
    a = ap.parse_args(argv)
    kind = pick_broker(a.broker)
    check_tools(kind)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    started = []
    show = Show(os.path.join(work, "received"))
    rc = 1
    # SIGTERM (a CI runner, `kill`) stops everything like Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *x: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        broker = start_broker(kind, os.path.join(work, "broker"))
        started.append(broker)
        why = ", embedded from PyPI: Mosquitto is not installed" if kind == "amqtt" and a.broker == "auto" else ""
        say("broker: %s on 127.0.0.1:%d, MQTT over WebSockets on %d (pid %d%s)" % (
            kind, broker.port, broker.ws_port, broker.proc.pid, why))
        try:
            page = fleetpage.StaticServer(fleetpage.fleet_ready()).start()
            started.append(page)
            say("fleet page: %s" % page.url(broker.ws_port))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            say("fleet page not served: %s" % e)
        from modemsim import Line
        line = Line(speedup=a.speedup, log_dir=os.path.join(work, "line")).start()
        started.append(line)
        modem = unitlab.add_unit_modem(line, a.modem_class)
        line.add_remote(REMOTE, out_dir=os.path.join(work, "remote-received"), csi="+81 3 5550 1234")
        line.add_remote(BUSY, faults="busy")
        caller = line.add_remote(CALLER, csi="+81 3 5550 7777")
        say("simulated line: unit's modem %s at %s (Class %s), fax machine %s, busy %s" % (
            UNIT_NUMBER, modem.path, a.modem_class, REMOTE, BUSY))
        with open(os.path.join(unitlab.ROOT, "docs", "cafis-registry.example.json")) as f:
            registry = f.read()
        cfg, reg = unit_config(broker.port, modem.path, registry, a.modem_class)
        fw = unitlab.Firmware(work, cfg, heap=a.heap)
        os.makedirs(fw.flash, exist_ok=True)
        with open(os.path.join(fw.flash, "cafis-registry.json"), "w") as f:
            f.write(reg)
        watcher = unitlab.Watcher(broker.port, on_message=show)
        started.append(watcher)
        fw.start()
        started.append(fw)
        say("firmware on the MicroPython unix port (pid %d), log: %s" % (fw.proc.pid, fw.log_path))
        if not watcher.wait(lambda ms: any(t.endswith("/availability") and m == b"online" for t, m in ms), 20):
            raise RuntimeError("the unit did not come online; its log:\n" + fw.log()[-3000:])
        root = "faxbridge/%s/" % UNIT
        bitmap = unitdemo.pbmz(unitdemo.pbm_pattern())
        jobs = [
            ("text-1", REMOTE, [{"text": unitdemo.TEXT}]),
            ("bitmap-1", REMOTE, [bitmap]),
            ("busy-1", BUSY, [{"text": "nobody will read this"}]),
            ("emergency-1", "119", [{"text": "never dialled"}]),
        ]
        for job, number, pages in jobs:
            say("submit %s to %s (%d page document(s))" % (job, number, len(pages)))
            watcher.publish(root + "cmd/fax", json.dumps({"job": job, "number": number, "pages": pages}))
        for label, tel, exp in unitdemo.telegrams():
            say("telegram: %s (expect %s %s)" % (label, exp[0], exp[1] or ""))
            watcher.publish(root + "cmd/telegram", tel)
        watcher.publish(root + "cmd/fax", "{not json")
        # an incoming call once the outgoing faxes are done (the unit has one line)
        deadline = time.monotonic() + a.timeout
        want = [j for j, _, _ in jobs]
        while time.monotonic() < deadline and not all(j in show.finals for j in want):
            time.sleep(0.2)
        say("remote %s now sends a fax to the unit (auto-answer after %d rings)" % (CALLER, cfg["modem"]["rings"]))
        incoming = caller.send_fax(UNIT_NUMBER, [incoming_page()])
        while time.monotonic() < deadline and not (show.saved and len(show.verdicts) >= len(unitdemo.telegrams())):
            time.sleep(0.2)
        left = []   # delivered pages leave the unit's flash at their PUBACK
        while time.monotonic() < deadline:
            left = [f for _d, _n, fs in os.walk(os.path.join(fw.flash, "rx")) for f in fs]
            if not left:
                break
            time.sleep(0.2)
        ok = all(j in show.finals for j in want) and bool(show.saved) and not left
        say("demo %s: finals %s; incoming fax %s" % ("done" if ok else "INCOMPLETE", show.finals,
                                                     getattr(incoming, "result", None)))
        for p in pngs(os.path.join(work, "remote-received")):
            say("page the remote fax machine received: %s" % p)
        for p in show.saved:
            if p.endswith(".png"):
                say("page the unit received: %s (through MQTT)" % p)
            elif p.endswith(".tif"):
                say("the fax the unit received, as a TIFF (G3): %s" % p)
        say("the unit's flash holds %s" % ("no received page any more (delivered)" if not left
                                           else "undelivered pages: %s" % left))
        same = same_as_sent([p for p in show.saved if p.endswith(".tif")])
        say("the TIFF saved from MQTT is %s the page %s sent" % (
            "pixel-equal to" if same else "NOT the same as", CALLER))
        ok = ok and same
        rc = 0 if ok else 1
        if not a.exit_after:
            say("the unit keeps running. Try, in another shell:")
            say("  .venv/bin/python tools/faxctl --port %d --unit %s send %s page.pbm" % (broker.port, UNIT, REMOTE))
            say("  .venv/bin/python tools/faxctl --port %d watch" % broker.port)
            if kind == "mosquitto":
                say("  mosquitto_sub -p %d -t 'faxbridge/#' -v" % broker.port)
            else:
                say("  .venv/bin/amqtt_sub --url mqtt://127.0.0.1:%d -t 'faxbridge/#'" % broker.port)
            say("Ctrl-C stops everything.")
            while fw.alive():
                time.sleep(0.5)
            say("the firmware stopped; its log: %s" % fw.log_path)
    except KeyboardInterrupt:
        say("Ctrl-C: stopping")
        rc = 0
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as e:  # keep stopping the rest
                print("stop %r: %r" % (thing, e))
        say("stopped: broker, simulated line and firmware (work files in %s)" % work)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return rc


def same_as_sent(tifs):
    """True when the one received fax, read back from its TIFF (Pillow), has exactly the rows of
    the page the caller sent (unitdemo's pattern, 300 rows)."""
    if len(tifs) != 1:
        return False
    from PIL import Image
    want = unitdemo.pbm_pattern(height=300).split(b"\n", 2)[2]
    with Image.open(tifs[0]) as im:
        if getattr(im, "n_frames", 1) != 1 or im.size != (1728, 300):
            return False
        got = bytes(0xFF ^ b for b in im.convert("1").tobytes())   # Pillow "1": 1 = white
    return got == want


def incoming_page():
    """The page the caller sends the unit: unitdemo's pattern as MH data, MSB-first (the .g3
    convention), coded by the firmware's own T.4 encoder, so no netpbm is needed."""
    from faxbridge.core.fax import t4, t4py
    body = unitdemo.pbm_pattern(height=300).split(b"\n", 2)[2]   # P4, 1728 x 300
    enc = t4.PageEncoder(t4py.BytesRows(body, 1728), 1728, 14400, 0, True)
    out, buf = bytearray(), bytearray(512)
    while True:
        n = enc.readinto(buf)
        if not n:
            return bytes(out)
        out += buf[:n]


if __name__ == "__main__":
    sys.exit(main())
