"""Page-data framing (core/fax/framing.py) on both runtimes: DLE stuffing and unstuffing at
every split, the viper twins equal to the plain loops (MicroPython), and no allocation per
chunk on the driver's page-data path (MicroPython: gc.mem_alloc)."""
import sys
from array import array

from faxbridge.core.fax import framing
from fax_helpers import BufSink, Rig, unstuff as ref_unstuff

MICROPYTHON = sys.implementation.name == "micropython"
PAGE = bytes(range(256)) * 3 + b"\x10" * 5 + b"end\x10"


def _stuff_all(fn, data, cap):
    st = array("i", (0, len(data), 0, 0))
    dst = bytearray(cap + 1)
    out = bytearray()
    while st[0] < st[1]:
        st[2] = 0
        fn(st, data, dst, cap)
        assert st[2] <= cap + 1
        out += dst[:st[2]]
    return bytes(out)


def _unstuff_all(fn, wire, piece, cap):
    """Unstuff `wire` fed in pieces; returns (data, index after DLE ETX or None)."""
    st = array("i", (0, 0, 0, 0))
    dst = bytearray(cap + 1)
    out = bytearray()
    base = 0
    while base < len(wire):
        chunk = wire[base:base + piece]
        st[0] = 0
        st[1] = len(chunk)
        while True:
            fn(st, chunk, dst, cap)
            out += dst[:st[2]]
            st[2] = 0
            if st[3] & framing.ETX_SEEN:
                return bytes(out), base + st[0]
            if st[0] >= st[1]:
                break
        base += piece
    return bytes(out), None


def _loops():
    from faxbridge.core.fax import framepy
    loops = [("py", framepy.stuff, framepy.unstuff)]
    if MICROPYTHON:
        from faxbridge.core.fax import framefast
        loops.append(("viper", framefast.stuff, framefast.unstuff))
    return loops


def test_runtime_uses_the_right_loops():
    if MICROPYTHON:
        from faxbridge.core.fax import framefast
        assert framing.stuff is framefast.stuff and framing.unstuff is framefast.unstuff
    else:
        from faxbridge.core.fax import framepy
        assert framing.stuff is framepy.stuff and framing.unstuff is framepy.unstuff


def test_stuffing_doubles_every_dle_at_any_cap():
    want = PAGE.replace(b"\x10", b"\x10\x10")
    for name, stuff, _ in _loops():
        for cap in (1, 2, 3, 7, 64, 128, 2000):
            assert _stuff_all(stuff, PAGE, cap) == want, (name, cap)


def test_unstuffing_at_every_split_and_stops_at_dle_etx():
    wire = PAGE.replace(b"\x10", b"\x10\x10") + b"\x10\x03" + b"\r\nOK\r\n"
    for name, _, unstuff in _loops():
        for piece in (1, 2, 3, 5, 64, 4096):
            for cap in (1, 2, 17, 256):
                data, end = _unstuff_all(unstuff, wire, piece, cap)
                assert data == PAGE and wire[end:] == b"\r\nOK\r\n", (name, piece, cap)


def test_unstuffing_dle_sub_and_unknown_dle_pairs():
    # DLE SUB: two DLE data bytes (Class 2.0 modems); DLE + anything else is dropped
    wire = b"a\x10\x1ab\x10\x41c\x10\x10\x10\x03"
    for name, _, unstuff in _loops():
        for piece in (1, 2, 100):
            data, end = _unstuff_all(unstuff, wire, piece, 1)
            assert data == b"a\x10\x10bc\x10" and end == len(wire), (name, piece)
    assert ref_unstuff(b"a\x10\x10b\x10\x03") == b"a\x10b"


def test_driver_stuffs_with_any_source_step_and_chunk():
    from fax_helpers import STUFFED, start_send, connect, PAGE as P
    for chunk, step in ((1, 1), (2, 1000), (3, 7), (64, 77), (128, 1)):
        r = Rig({"chunk": chunk})
        start_send(r, P, step=step)
        connect(r)
        assert r.take() == STUFFED, (chunk, step)


def test_driver_reads_memoryview_input_without_copy():
    from fax_helpers import start_receive
    sink = BufSink()
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    buf = bytearray(b"xx" + b"ab\x10\x10c\x10\x03")
    r.m.feed(memoryview(buf)[2:], r.t)
    assert sink.pages[0] == bytearray(b"ab\x10c") and r.m.state_name() == "rxpost"


class _QuietSource:
    """A page source that allocates nothing: fills the buffer with a pattern holding DLEs."""

    def __init__(self, total):
        self.left = total

    def readinto(self, buf):
        n = len(buf)
        if n > self.left:
            n = self.left
        for j in range(n):
            buf[j] = (j * 37) & 0xFF
        self.left -= n
        return n


class _QuietSink:
    n = 0

    def begin_page(self, index, params):
        pass

    def write(self, mv):
        self.n += len(mv)

    def end_page(self):
        return (100, 0)

    def abort(self):
        pass


def _alloc(step, n):
    """Heap allocated by n calls of step() (collector off); a constant few bytes are the
    measurement's own."""
    import gc
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(n):
            step()
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def test_page_data_path_allocates_nothing_per_chunk():
    if not MICROPYTHON:
        return                                   # gc.mem_alloc is MicroPython's
    from fax_helpers import FCON, OK, start_receive
    r = Rig({"chunk": 64})
    r.send("5551234", lambda i: _QuietSource(64 * 500) if i == 0 else None)
    r.say(OK)
    r.say(FCON)
    r.take()
    r.m.feed(b"\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n\x11", r.t)
    least = array("i", (1 << 20,))

    def send():
        n = len(r.m.next_output(r.t))
        if n < least[0]:
            least[0] = n
    sent = _alloc(send, 1), _alloc(send, 100), _alloc(send, 300)
    assert max(sent) < 64, sent                  # one 16-byte object per call would be 4800
    assert least[0] >= 64 and r.m.state_name() == "txdata"
    sink = _QuietSink()
    r = Rig({"chunk": 64}, sink=sink)
    start_receive(r)
    r.take()
    piece = bytes(range(20, 120)) + b"\x10\x10"

    def feed():
        r.m.feed(piece, r.t)
    got = _alloc(feed, 1), _alloc(feed, 100), _alloc(feed, 300)
    assert max(got) < 64 and sink.n > 30000, (got, sink.n)
