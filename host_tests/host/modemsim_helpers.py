"""Test helpers for the modem simulator (tools/modemsim): a tiny scripted DTE on a pty,
PBM/G3 page makers using netpbm, and a fast Line factory. Usable by other areas' host tests.
"""
import os
import select
import shutil
import subprocess
import time
import tty

from modemsim import Line
from modemsim.bits import DLE, ETX, dle_stuff, reverse_bits

FINALS = ("OK", "ERROR", "CONNECT", "NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER", "VOICE")


def need(tool, package):
    """Fail (never skip) with a clear message when a Debian tool is missing."""
    if shutil.which(tool) is None:
        raise AssertionError("%s not found: install the Debian package %s (apt-get install -y %s)"
                             % (tool, package, package))


def fast_line(tmp_path=None, **kw):
    """A Line tuned for unit tests: fast line rate, short T.30 delays and timeouts."""
    opts = dict(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                timeouts={"t30": 3.0, "page": 3.0, "dte_data": 3.0, "dte_trigger": 3.0, "answer": 5.0,
                          "no_answer_fault": 0.5, "ring_no_answer": 3.0},
                log_dir=str(tmp_path / "logs") if tmp_path is not None else None)
    opts.update(kw)
    return Line(**opts)


class Dte:
    """A scripted DTE: opens a simulated modem's pty and talks AT to it, with timeouts."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.buf = bytearray()
        self.skip_lf = False

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def write(self, data):
        view = memoryview(bytes(data))
        end = time.monotonic() + 10
        while view:
            try:
                n = os.write(self.fd, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > end:
                    raise TimeoutError("DTE write blocked for 10 s")
                select.select([], [self.fd], [], 0.05)

    def _fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return 0
            if self.skip_lf and data[:1] == b"\n":
                data = data[1:]
            self.skip_lf = False
            self.buf += data
            return len(data)
        return 0

    def read_line(self, timeout=10.0):
        """Next non-empty response line (CR/LF stripped); V0 numeric codes come back as digits."""
        end = time.monotonic() + timeout
        while True:
            ks = [k for k in (self.buf.find(b"\r"), self.buf.find(b"\n")) if k >= 0]
            if ks:
                k = min(ks)
                line = bytes(self.buf[:k]).replace(b"\x11", b"").replace(b"\x13", b"")
                del self.buf[:k + 1]
                if self.buf[:1] == b"\n":
                    del self.buf[:1]
                elif not self.buf:
                    self.skip_lf = True     # the LF of this CR LF may still be on its way
                if line.strip():
                    return line.decode("latin-1")
                continue
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no response line within %.1f s (buffer %r)" % (timeout, bytes(self.buf)))
            self._fill(min(left, 0.1))

    def responses(self, finals=FINALS, timeout=10.0):
        """Lines up to and including the first final result code."""
        lines = []
        while True:
            line = self.read_line(timeout)
            lines.append(line)
            if line in finals:
                return lines

    def cmd(self, at, finals=FINALS, timeout=10.0):
        self.write(at.encode("latin-1") + b"\r")
        return self.responses(finals, timeout)

    def read_bytes(self, n=1, timeout=5.0):
        end = time.monotonic() + timeout
        while len(self.buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("wanted %d bytes, have %r" % (n, bytes(self.buf)))
            self._fill(min(left, 0.1))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def wait_byte(self, byte, timeout=5.0):
        """Read until byte arrives (e.g. XON after CONNECT); returns what came before it."""
        end = time.monotonic() + timeout
        while True:
            k = self.buf.find(bytes((byte,)))
            if k >= 0:
                before = bytes(self.buf[:k])
                del self.buf[:k + 1]
                return before
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("byte %02x not seen, have %r" % (byte, bytes(self.buf[:80])))
            self._fill(min(left, 0.1))

    def read_page(self, timeout=30.0):
        """Phase C data up to DLE ETX, unstuffed (as the modem sent it)."""
        out = bytearray()
        end = time.monotonic() + timeout
        i = 0
        while True:
            while i + 1 < len(self.buf):
                if self.buf[i] == DLE:
                    c = self.buf[i + 1]
                    if c == ETX:
                        del self.buf[:i + 2]
                        return bytes(out)
                    if c == DLE:
                        out.append(DLE)
                    i += 2
                else:
                    out.append(self.buf[i])
                    i += 1
            del self.buf[:i]
            i = 0
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no DLE ETX within %.1f s (%d bytes so far)" % (timeout, len(out)))
            self._fill(min(left, 0.1))

    def send_page(self, data, chunk=256):
        """DLE-stuff and send page data, then DLE ETX."""
        stuffed = dle_stuff(data)
        for k in range(0, len(stuffed), chunk):
            self.write(stuffed[k:k + chunk])
        self.write(bytes((DLE, ETX)))


def send_page_flow(d, data, chunk=1024, xon_wait=10.0):
    """A well-behaved DTE: DLE-stuff and send page data + DLE ETX in chunks, stopping on the
    modem's XOFF until its XON (TimeoutError when no XON comes within xon_wait s). Like a
    UART driver, it only looks for XOFF between chunks: a chunk already written is in flight.
    Response bytes that arrive meanwhile stay in d.buf (without the XON/XOFF bytes)."""
    stuffed = dle_stuff(data) + bytes((DLE, ETX))
    held = False
    i = 0
    while i < len(stuffed):
        end = time.monotonic() + xon_wait
        while True:
            d._fill(0.05 if held else 0)
            for b in d.buf:
                if b == 0x13:
                    held = True
                elif b == 0x11:
                    held = False
            d.buf = bytearray(b for b in d.buf if b not in (0x11, 0x13))
            if not held:
                break
            if time.monotonic() > end:
                raise TimeoutError("modem held XOFF for %.1f s (%d of %d bytes sent; buffer %r)"
                                   % (xon_wait, i, len(stuffed), bytes(d.buf)))
        d.write(stuffed[i:i + chunk])
        i += chunk


def make_pbm(path, rows=120, width=1728, seed=1):
    """A text-like 1-bit image (P4): blocks of 'glyphs' on white, deterministic."""
    import random
    rnd = random.Random(seed)
    rb = width // 8
    body = bytearray(rb * rows)
    for r in range(rows):
        band = (r // 16) % 2 == 0 and 2 <= r % 16 < 14
        if band:
            for c in range(4, rb - 4):
                if (c + r // 16) % 3:
                    body[r * rb + c] = rnd.choice((0x00, 0x3c, 0x66, 0x7e, 0x18, 0xc3))
    with open(path, "wb") as f:
        f.write(b"P4\n%d %d\n" % (width, rows))
        f.write(bytes(body))
    return path


def pbm_rows(path):
    """(width, height, rows) of a raw PBM file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:2] == b"P4", "not a raw PBM: %r" % data[:2]
    fields = []
    i = 2
    while len(fields) < 2:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            i = data.index(b"\n", i) + 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(int(data[i:j]))
        i = j
    i += 1
    w, h = fields
    rb = (w + 7) // 8
    return w, h, [data[i + k * rb:i + (k + 1) * rb] for k in range(h)]


def g3_of_pbm(pbm_path):
    """pbmtog3 output: MSB-first G3 with EOLs and RTC."""
    need("pbmtog3", "netpbm")
    return subprocess.run(["pbmtog3", pbm_path], check=True, capture_output=True, timeout=30).stdout


def wire_of_pbm(pbm_path):
    """Page data as a DTE sends it with +FBOR=0 (LSB-first)."""
    return reverse_bits(g3_of_pbm(pbm_path))


def pbm_of_g3(g3_path, out_path):
    need("g3topbm", "netpbm")
    with open(out_path, "wb") as f:
        subprocess.run(["g3topbm", g3_path], check=True, stdout=f, stderr=subprocess.PIPE, timeout=30)
    return out_path


def dev_link(target, stem="ttyFBsim"):
    """/dev/<stem><pid><n> -> target; returns the tty name (sendfax and mgetty open their modem
    by name under /dev: the tests run as root, as CI does). Remove /dev/<name> when done."""
    for n in range(100):
        name = "%s%d%d" % (stem, os.getpid(), n)
        path = "/dev/" + name
        if not os.path.lexists(path):
            try:
                os.symlink(os.path.realpath(target), path)
            except PermissionError:
                raise AssertionError("sendfax needs its modem under /dev: run the tests as root (CI does)")
            return name
    raise AssertionError("no free /dev/%s name" % stem)


def dte_text(transcript):
    """Everything the DTE sent, joined: a command can reach the simulated modem in pieces (a
    busy machine splits the writes), and the transcript logs each piece on its own line."""
    import re
    return "".join(re.findall(r'DTE->DCE "(.*)"$', transcript, re.M))
