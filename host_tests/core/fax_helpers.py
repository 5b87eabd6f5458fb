"""Helpers for the Class 2 driver tests (MicroPython and CPython): byte-buffer page sources and
sinks, a rig that drives a Class2 machine with a fake clock, and a reader for the reference
transcripts (host_tests/core/data/class2/, copied from shared/reference/class2-transcripts)."""
from faxbridge.core.fax import c2core
from faxbridge.core.fax.class2 import Class2

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
DATA = HERE + "/data/class2/"


class BufSource:
    """A page source over bytes: readinto() in pieces of at most `step` bytes."""

    def __init__(self, data, step=1000, fine=None, fail_at=None):
        self.data = data
        self.pos = 0
        self.step = step
        self.fail_at = fail_at
        if fine is not None:
            self.fine = fine
        self.configured = None

    def configure(self, dcs):
        self.configured = dcs

    def readinto(self, buf):
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise ValueError("bad bitmap")
        n = min(len(buf), self.step, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


class pages_of:
    """open_page(index) over a list of page byte strings (a fresh source each call)."""

    def __init__(self, *datas, **kw):
        self.datas = datas
        self.kw = kw
        self.opened = []
        self.sources = []

    def __call__(self, i):
        if i >= len(self.datas):
            return None
        d = self.datas[i]
        if isinstance(d, Exception):
            raise d
        src = BufSource(d, **self.kw)
        self.opened.append(i)
        self.sources.append(src)
        return src


class BufSink:
    """A page sink keeping every page's bytes; line counts are given by the test."""

    def __init__(self, counts=None):
        self.pages = {}
        self.params = {}
        self.cur = None
        self.aborted = 0
        self.counts = counts or []    # (lines, bad) per end_page call, else (100, 0)
        self.ended = 0

    def begin_page(self, index, params):
        self.cur = index
        self.pages[index] = bytearray()
        self.params[index] = params

    def write(self, mv):
        self.pages[self.cur] += bytes(mv)

    def end_page(self):
        c = self.counts[self.ended] if self.ended < len(self.counts) else (100, 0)
        self.ended += 1
        self.cur = None
        return c

    def abort(self):
        self.aborted += 1
        self.cur = None


RAN = {}    # TABLE row index -> times run, over every Rig of the test run


def checked(m):
    """Check every dispatch of machine `m`: the TABLE row it ran (state x event -> guard,
    action) must leave the machine in one of the row's next states (the fifth column)."""
    run = m._dispatch
    t = c2core.TABLE

    def dispatch(ev, s, name, now):
        before = m.state_name()
        k = run(ev, s, name, now)
        if k >= 0:
            RAN[k] = RAN.get(k, 0) + 1
            assert t[k + 2] & (1 << m.state), ("TABLE row %d (%s, %s) left the machine in %s"
                                               % (k // 3, before, t[k + 1], m.state_name()))
        return k
    m._dispatch = dispatch
    return m


class Rig:
    """A Class2 machine (its transitions checked against TABLE), a fake clock, what it wrote
    and what it reported. `factory` replaces the sink factory made of `sink`."""

    def __init__(self, config=None, sink=None, boot=True, factory=None):
        self.t = 0.0
        self.sink = sink
        if factory is None and sink is not None:
            factory = lambda: sink  # noqa: E731
        self.m = checked(Class2(config, factory))
        self.out = bytearray()
        self.ev = []
        self.m.start(self.t)
        self.pump()
        if boot:
            self.boot()

    def pump(self):
        while True:
            b = self.m.next_output(self.t)
            if not b:
                break
            self.out += b               # a memoryview too: no copy of its own
        self.ev += self.m.events()

    def say(self, data):
        """The modem says something (str or bytes); the machine answers."""
        if isinstance(data, str):
            data = data.encode()
        self.m.feed(data, self.t)
        self.m.poll(self.t)
        self.pump()

    def send(self, number, open_page):
        self.m.send(number, open_page, self.t)
        self.pump()

    def cancel(self):
        assert self.m.cancel(self.t)
        self.pump()

    def tick(self, dt):
        self.t += dt
        self.m.poll(self.t)
        self.pump()

    def take(self):
        """What was written since the last take()."""
        b = bytes(self.out)
        self.out = bytearray()
        return b

    def expect(self, cmd):
        got = self.take()
        want = cmd.encode() if isinstance(cmd, str) else cmd
        assert got == want, (got, want)

    def boot(self):
        """Answer OK to every initialisation command until the machine is idle."""
        n = 0
        while self.m.state_name() != "idle":
            got = self.take()
            assert got.startswith(b"AT") and got.endswith(b"\r"), got
            self.say("\r\nOK\r\n")
            n += 1
            assert n < 20, "init does not end"
        self.ev = []

    def kinds(self, kind):
        return [e[1] for e in self.ev if e[0] == kind]

    def end(self):
        ends = self.kinds("end")
        assert len(ends) == 1, self.ev
        return ends[0]


_TOKENS = (("<CR>", b"\r"), ("<LF>", b"\n"), ("<XON>", b"\x11"), ("<XOFF>", b"\x13"),
           ("<DC2>", b"\x12"), ("<DC1>", b"\x11"))


def _unquote(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "<":
            j = s.find(">", i)
            tok = s[i:j + 1]
            for t, b in _TOKENS:
                if t == tok:
                    out += b
                    break
            else:
                out += tok.encode()
            i = j + 1
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def transcript(name):
    """[(direction, bytes)] of a reference transcript; direction 'DTE' or 'DCE' (sender)."""
    items = []
    with open(DATA + name) as f:
        for line in f:
            line = line.rstrip("\n")
            if "] " not in line:
                continue
            body = line.split("] ", 1)[1]
            if body.startswith("DTE->DCE "):
                d, rest = "DTE", body[9:]
            elif body.startswith("DCE->DTE "):
                d, rest = "DCE", body[9:]
            else:
                continue
            if rest.startswith("DATA["):
                hexes = rest.split("] ", 1)[1].split()
                items.append((d, bytes(int(h, 16) for h in hexes)))
            else:
                items.append((d, _unquote(rest[rest.find('"') + 1:rest.rfind('"')])))
    return items


def unstuff(data):
    """Remove Class 2 DLE stuffing; stop at DLE ETX."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x10 and i + 1 < len(data):
            nb = data[i + 1]
            if nb == 0x03:
                break
            if nb == 0x10:
                out.append(0x10)
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)


def replies(items):
    """The modem's answer to each of the DTE's commands: {"ATD": bytes, "AT+FDT": [...], ...}.

    Keys are the command without arguments; values lists of what the DCE sent after each use
    of that command, up to the DTE's next command or data.
    """
    out = {}
    cur = None
    for d, b in items:
        if d == "DTE":
            if b.startswith(b"AT"):
                key = b.rstrip(b"\r").split(b"=")[0].decode()
                if key.startswith("ATD"):
                    key = "ATD"
                cur = bytearray()
                out.setdefault(key, []).append(cur)
            else:
                cur = None
        elif cur is not None:
            cur += b
    return out


# ---- dialogues shared by the Class 2 tests (test_fax_class2*.py, test_fax_framing.py) ----

OK = "\r\nOK\r\n"
FCON = "\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n" + OK
CONNECT = "\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n"
PAGE = bytes(range(256)) * 3            # contains DLE (0x10) and XON/XOFF byte values
STUFFED = PAGE.replace(b"\x10", b"\x10\x10") + b"\x10\x03"


def start_send(r, *pages, **kw):
    op = pages_of(*pages, **kw)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    return op


def connect(r, xon=True):
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.say(CONNECT + ("\x11" if xon else ""))


def hang_up(r):
    """AT+FK, answered +FHNG:2 (aborted, from +FK: Table 5-5) and OK: the call's `end` event."""
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    return r.end()


def assert_reinit(r):
    assert r.take().startswith(b"ATE0V1Q0\r"), "machine re-initialises after a call"


def ring_in(r, n=2):
    for _ in range(n):
        r.say("\r\nRING\r\n")


def start_receive(r, n=2, dcs="1,3,0,2,0,0,0,0"):
    ring_in(r, n)
    r.expect("ATA\r")
    r.say("\r\n+FCON\r\n\r\n+FTSI:\"  +81 3 1234\"\r\n\r\n+FDCS:%s\r\n" % dcs + OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FCFR\r\n\r\nCONNECT\r\n")


def receiving(counts=None):
    """A Rig with a BufSink (its line counts per page, BufSink) past start_receive and our DC2:
    (rig, sink)."""
    sink = BufSink(counts)
    r = Rig(sink=sink)
    start_receive(r)
    r.expect(b"\x12")
    return r, sink
