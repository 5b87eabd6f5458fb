"""Class 2 driver figures: page data through the machine (DLE stuffing when sending,
unstuffing to a sink when receiving) in kB/s, and heap allocated per page, on CPython and on
the MicroPython unix port. Prints figures; asserts nothing.

    .venv/bin/python tools/bench/fax.py          (runs itself under micropython too)
"""
import sys

import _path  # noqa: F401  (tools/hostpath.py: firmware/ on sys.path, both runtimes)

import gc  # noqa: E402
import time  # noqa: E402

from faxbridge.core.fax.class2 import Class2  # noqa: E402

PAGE = bytes((i * 37 + (i >> 3)) & 0xFF for i in range(50000))   # about 1 in 256 bytes is DLE
OK = b"\r\nOK\r\n"


def clock():
    if hasattr(time, "ticks_us"):
        return time.ticks_us() / 1e6
    return time.perf_counter()


def mem():
    """Heap in use (MicroPython). Measured with the collector off, so the difference over a
    page is everything allocated while streaming it (garbage included)."""
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


class Src:
    def __init__(self, data):
        self.mv = memoryview(data)
        self.pos = 0

    def readinto(self, buf):
        n = min(len(buf), len(self.mv) - self.pos)
        buf[:n] = self.mv[self.pos:self.pos + n]
        self.pos += n
        return n


class Sink:
    n = 0

    def begin_page(self, i, p):
        self.n = 0

    def write(self, mv):
        self.n += len(mv)

    def end_page(self):
        return (100, 0)

    def abort(self):
        pass


def boot(m, t):
    m.start(t)
    while m.state_name() == "init":
        while m.next_output(t):
            pass
        m.feed(OK, t)


def bench_send(chunk):
    m = Class2({"chunk": chunk})
    boot(m, 0)
    m.send("5551234", lambda i: Src(PAGE) if i == 0 else None, 0)
    for reply in (OK, b"\r\n+FCON\r\n" + OK, b"\r\nCONNECT\r\n\x11"):
        while m.next_output(0):
            pass
        m.feed(reply, 0)
    gc.collect()
    gc.disable()
    before = mem()
    t0 = clock()
    n = 0
    while True:
        b = m.next_output(0)
        if not b:
            break
        n += len(b)
    dt = clock() - t0
    alloc = mem() - before
    gc.enable()
    return n, dt, alloc


def bench_recv(piece):
    sink = Sink()
    m = Class2({"rings": 1}, lambda: sink)
    boot(m, 0)
    m.feed(b"\r\nRING\r\n", 0)
    for reply in (b"\r\n+FCON\r\n" + OK, b"\r\nCONNECT\r\n"):
        while m.next_output(0):
            pass
        m.feed(reply, 0)
    while m.next_output(0):
        pass
    wire = PAGE.replace(b"\x10", b"\x10\x10") + b"\x10\x03"
    pieces = [wire[i:i + piece] for i in range(0, len(wire), piece)]
    gc.collect()
    gc.disable()
    before = mem()
    t0 = clock()
    for p in pieces:
        m.feed(p, 0)
    dt = clock() - t0
    alloc = mem() - before
    gc.enable()
    assert sink.n == len(PAGE), (sink.n, len(PAGE))
    return len(wire), dt, alloc


def main():
    name = sys.implementation.name
    for chunk in (64, 128, 512):
        n, dt, alloc = bench_send(chunk)
        print("%s send chunk=%d: %d bytes in %.3f s = %.0f kB/s, allocated %d bytes"
              % (name, chunk, n, dt, n / dt / 1000, alloc))
    for piece in (64, 256, 1024):
        n, dt, alloc = bench_recv(piece)
        print("%s recv reads of %d: %d bytes in %.3f s = %.0f kB/s, allocated %d bytes"
              % (name, piece, n, dt, n / dt / 1000, alloc))
    if name != "micropython":
        import os
        import subprocess
        mp = os.path.join(os.path.dirname(sys.executable), "micropython")
        subprocess.run([mp, "-X", "heapsize=4M", os.path.abspath(__file__)], check=True)


def run():
    """Rows for tools/bench.py (`make bench`): the MicroPython figures, as multiples of what a
    14400 bit/s line carries (1.8 kB/s); heap allocated per 50 kB page in the note."""
    import os
    import re
    import subprocess
    mp = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      ".venv", "bin", "micropython")
    r = subprocess.run([mp, "-X", "heapsize=4M", os.path.abspath(__file__)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode:
        raise RuntimeError("micropython worker failed: %s" % (r.stdout + r.stderr)[-400:])
    rows = []
    for ln in r.stdout.splitlines():
        m = re.match(r"micropython (send chunk|recv reads of)[= ](\d+): (\d+) bytes in [\d.]+ s = (\d+) kB/s, "
                     r"allocated (\d+) bytes", ln)
        if not m:
            continue
        what, size, _n, kbs, alloc = m.groups()
        default = (what == "send chunk" and size == "128") or (what == "recv reads of" and size == "256")
        rows.append({"area": "fax", "figure": "Class 2 page data %s %s B, MicroPython" % (
            "sent (DLE stuffing), chunk" if what == "send chunk" else "received (unstuffing), reads of", size),
            "value": int(kbs), "unit": "kB/s", "hide": not default,
            "note": "%.0fx a 14400 bit/s line; %s B heap allocated per 50 kB page" % (int(kbs) / 1.8, alloc)})
    if not rows:
        raise RuntimeError("no figures from the micropython worker: %s" % r.stdout[-300:])
    return rows


if __name__ == "__main__":
    main()
