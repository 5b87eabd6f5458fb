"""Drive the firmware's Class 2 machine over a serial device (pty or tty), on CPython or on the
MicroPython unix port: the integration harness for the driver (docs/fax.md).

    python tools/faxdrive.py --tty /tmp/ttyFAX0 send 5551234 a.pbm b.pbm c.txt
    micropython tools/faxdrive.py --tty /tmp/ttyFAX0 recv build/rx --calls 1
Options: --set key=value (Class2 config, repeatable), --class 2|2.0|auto (the modem's fax
class, fclass), --class-order 2.0,2 (what auto prefers), --timeout S (whole run, default 600),
--cancel-after S (send: cancel the job S seconds after its first page started),
--normal (pages at 98 lpi), --baud N (pace page data like a UART at N baud, default
115200; 0 = as fast as the pty takes it, which runs far ahead of the modem's XOFF).
Prints one JSON object per event on stdout ({"event": kind, ...}); exits 0 after the job's
final status (send) or after --calls receptions (recv), 3 on --timeout.
Received pages are written as OUTDIR/page<N>.g3 in MSB-first order (g3topbm reads them).
"""
import sys

import hostpath  # noqa: F401  (firmware/ on sys.path, both runtimes)

import json  # noqa: E402
import select  # noqa: E402
import termios  # noqa: E402
import time  # noqa: E402

from faxbridge.core.fax import class2, job, pbm, t4, t4dec, textpage  # noqa: E402
from ramjobs import RamStore  # noqa: E402

# The job lifecycle's configuration, in the unit's keys (docs/unit.md): one attempt.
JOB_CFG = {"retries": {"count": 0, "delay_s": 60, "after_restart": False},
           "jobs": {"max_queued": 1, "max_pages": 500, "keep_done": 0}}

_VTIME = 5
_VMIN = 6


def open_raw(path):
    f = open(path, "r+b", buffering=0) if sys.implementation.name != "micropython" else open(path, "r+b")
    fd = f.fileno()
    if hasattr(termios, "setraw"):
        termios.setraw(fd)          # MicroPython
    else:
        import tty
        tty.setraw(fd)
    attr = termios.tcgetattr(fd)
    attr[6][_VMIN] = 0
    attr[6][_VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attr)
    return f


if sys.implementation.name == "micropython":
    _t0 = time.ticks_ms()

    def now():
        return time.ticks_diff(time.ticks_ms(), _t0) / 1000
else:
    _t0 = time.monotonic()

    def now():
        return time.monotonic() - _t0


def emit(kind, info):
    d = {"event": kind}
    for k in info:
        d[k] = info[k]
    print(json.dumps(d))


def emit_status(fields):
    """A fax/status (contract.fax_status fields: keys and values in turn) with its evidence
    pairs lifted to the top."""
    d = {"event": "status"}
    for i in range(0, len(fields), 2):
        k = fields[i]
        v = fields[i + 1]
        if k == "evidence":
            for ek, ev in v:
                d[ek] = ev
        else:
            d[k] = v
    print(json.dumps(d))


def evidence(info):
    """The driver's end-of-call info as evidence pairs."""
    return tuple((k, info.get(k)) for k in ("result", "hangup", "pprs", "remote_id", "params", "reason"))


class Pages:
    """open_page(index) over files: .pbm (P1/P4) or text (anything else)."""

    def __init__(self, paths, fine):
        self.fine = fine
        self.items = []           # (kind, path, index within a text file)
        for p in paths:
            if p.endswith(".pbm"):
                self.items.append(("pbm", p, 0))
            else:
                with open(p, "rb") as f:
                    n = textpage.TextPages(f.read(), fine=fine).count
                for i in range(n):
                    self.items.append(("text", p, i))
        self.files = []

    def __call__(self, index):
        if index >= len(self.items):
            return None
        kind, path, i = self.items[index]
        if kind == "pbm":
            f = open(path, "rb")
            self.files.append(f)
            rows = pbm.PbmRows(f)
        else:
            with open(path, "rb") as f:
                rows = textpage.TextPages(f.read(), fine=self.fine).page(i)
        page = t4.PageEncoder(rows, 1728)   # the driver's configure(dcs) sets its line fill
        page.fine = self.fine
        return page



class CountingSink:
    """A page sink that decodes what it gets to count lines (the driver's +FPTS judgement),
    then hands the data to `out` (begin_page(index, info), write(mv), end_page(), abort())."""

    def __init__(self, out, width=1728):
        self.out = out
        self.width = width
        self._dec = None

    def begin_page(self, index, info):
        self._dec = t4dec.Decoder(self.width, info.get("msb_first", True))
        self.out.begin_page(index, info)

    def write(self, mv):
        self._dec.feed(mv)
        self.out.write(mv)

    def end_page(self):
        lines, bad = self._dec.end()
        self._dec = None
        self.out.end_page()
        return lines, bad

    def abort(self):
        self._dec = None
        self.out.abort()


def _rev8(b):
    r = 0
    for i in range(8):
        r = (r << 1) | ((b >> i) & 1)
    return r


_REV = bytes(_rev8(b) for b in range(256))


class G3Files:
    """Writes each received page to outdir/page<index+1>.g3, MSB-first."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.f = None
        self.msb = True
        self.kept = []

    def begin_page(self, index, info):
        self.msb = info.get("msb_first", True)
        self.path = "%s/page%d.g3" % (self.outdir, index + 1)
        self.f = open(self.path, "wb")

    def write(self, mv):
        if self.msb:
            self.f.write(mv)
        else:
            self.f.write(bytes(_REV[b] for b in mv))

    def end_page(self):
        self.f.close()
        self.f = None
        self.kept.append(self.path)

    def abort(self):
        if self.f:
            self.f.close()
            self.f = None


def parse(argv):
    opt = {"tty": None, "set": {}, "timeout": 600.0, "cancel": None, "fine": True, "calls": 1,
           "baud": 115200}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--tty":
            opt["tty"] = argv[i + 1]
            i += 1
        elif a == "--set":
            k, v = argv[i + 1].split("=", 1)
            try:
                v = int(v)
            except ValueError:
                if v in ("True", "False"):
                    v = v == "True"
            opt["set"][k] = v
            i += 1
        elif a == "--class":
            opt["set"]["fclass"] = argv[i + 1]
            i += 1
        elif a == "--class-order":
            opt["set"]["class_order"] = tuple(argv[i + 1].split(","))
            i += 1
        elif a == "--timeout":
            opt["timeout"] = float(argv[i + 1])
            i += 1
        elif a == "--cancel-after":
            opt["cancel"] = float(argv[i + 1])
            i += 1
        elif a == "--calls":
            opt["calls"] = int(argv[i + 1])
            i += 1
        elif a == "--baud":
            opt["baud"] = int(argv[i + 1])
            i += 1
        elif a == "--normal":
            opt["fine"] = False
        else:
            pos.append(a)
        i += 1
    return opt, pos


def main(argv):
    opt, pos = parse(argv)
    if not opt["tty"] or not pos or pos[0] not in ("send", "recv"):
        print(__doc__)
        return 2
    port = open_raw(opt["tty"])
    poller = select.poll()
    poller.register(port, select.POLLIN)
    buf = bytearray(1024)
    mode = pos[0]
    sinks = []

    def new_sink():
        out = G3Files(pos[1])
        sinks.append(out)
        return CountingSink(out)

    m = class2.Class2(opt["set"], new_sink if mode == "recv" else None)
    jobs = job.Jobs(JOB_CFG, RamStore(), emit_status)
    active = None
    t = now()
    m.start(t)
    if mode == "send":
        pages = Pages(pos[2:], opt["fine"])
        jobs.submit("job1", pos[1], [(k, p) for k, p, _ in pages.items], 0, t)
    ends = 0
    cancelled = False
    page_t = None
    rate = opt["baud"] / 10          # bytes a second on the wire (8N1)
    credit = 0.0                     # bytes the "UART" may send now (a bucket of 256 at most)
    last_t = now()
    while True:
        t = now()
        if t > opt["timeout"]:
            emit("timeout", {"state": m.state_name()})
            return 3
        if (opt["cancel"] is not None and not cancelled and page_t is not None and
                t >= page_t + opt["cancel"]):
            cancelled = True
            if jobs.cancel("job1", t) == "call":
                m.cancel(t)
        paced = False
        credit = min(256.0, credit + (t - last_t) * rate)
        last_t = t
        while True:
            if rate and m.state_name() == "txdata" and credit <= 0:
                paced = True
                break
            out = m.next_output(t)
            if not out:
                break
            credit -= len(out)
            mv = memoryview(out)
            while len(mv):
                n = port.write(mv)
                mv = mv[n or 0:]
            if m.state_name() == "txdata" and poller.poll(0):
                break              # read XOFF before writing more
        d = m.deadline()
        wait = 50 if d is None else int(max(0, min(0.05, d - t)) * 1000)
        if m.state_name() == "txdata":
            wait = 2 if paced else 0
        if poller.poll(wait):
            n = port.readinto(buf)
            if n:
                m.feed(bytes(buf[:n]), now())
        t = now()
        m.poll(t)
        if active is None and m.ready():
            active = jobs.next_due(t)
            if active is not None:
                jobs.start_call(active, t)
                m.send(active["dial"], pages, t)
        for kind, info in m.events():
            emit(kind, info)
            if kind == "progress" and info["phase"] == "page" and page_t is None:
                page_t = t
            if mode == "send" and kind == "end" and info["dir"] == "tx" and active is not None:
                jobs.end_call(active, info["code"], evidence(info), info.get("pages", 0), t)
                active = None
            if mode == "recv" and kind == "end" and info["dir"] == "rx":
                ends += 1
                if ends >= opt["calls"]:
                    port.close()
                    return 0
        if mode == "send" and not jobs.jobs:          # the job's final status is out
            port.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
