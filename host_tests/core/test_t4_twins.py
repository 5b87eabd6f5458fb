"""The viper twins (t4fast) give the same bytes as the plain-Python loops (t4py).

On MicroPython both run and are compared; on CPython only the plain loops exist, and the
test checks that they are the ones in use (so each runtime tests what it runs)."""
import sys

from faxbridge.core.fax import pbm, t4, t4dec, t4py
from t4_helpers import WIDTHS, Rows, code_line, encode, pattern_rows, random_rows

MICROPYTHON = sys.implementation.name == "micropython"
if MICROPYTHON:
    from faxbridge.core.fax import t4fast
# the P1 scanner's state array fields (pbm's _P_* constants)
P_POS, P_END, P_X, P_BAD = 0, 1, 2, 5


def test_runtime_uses_the_right_loops():
    loops = t4fast if MICROPYTHON else t4py
    assert t4.encode_line is loops.enc and t4.reverse is loops.rev and t4._copy is loops.copy
    assert t4dec._dec is loops.dec and pbm._p1row is loops.p1row


def test_viper_tables_aligned_or_copied():
    """The viper loops make 16/32-bit loads from mhtab's bytes: used in place when aligned
    (heap objects are), copied into an array when not (a frozen literal may not be)."""
    if not MICROPYTHON:
        return
    from faxbridge.core.fax import mhtab
    assert t4fast._ENC is mhtab.ENC and t4fast._DEC is mhtab.DEC and t4fast._DEC2 is mhtab.DEC2
    for b, code, m in ((mhtab.ENC, "I", 3), (mhtab.DEC, "H", 1)):
        odd = memoryview(b"\x00" + b)[1:]  # the same bytes at an odd address
        assert t4fast._misaligned(odd, m) and not t4fast._misaligned(b, m)
        a = t4fast._table(odd, code, m)
        assert a is not odd and bytes(a) == b and len(a) * (m + 1) == len(b)


def _rows_corpus():
    for w in WIDTHS:
        for kind in ("white", "black", "alt", "checker1", "checker8", "edges"):
            yield w, pattern_rows(w, 2, kind)
        yield w, random_rows(w, 4)
        # sparse rows: a few short black runs (text-like)
        r = bytearray(w >> 3)
        r[3] = 0x3C
        r[10] = 0x81
        r[-1] = 0x01
        yield w, bytes(r)


def test_encoder_twins_identical():
    """Whole lines and every piece of them the same (pieces of the line buffer and of buffers
    a few bytes larger: the coder stops at other bytes)."""
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    for w, rows in _rows_corpus():
        nb = w >> 3
        for minbits in (0, 72, 576):
            row = bytearray(nb)
            for y in range(len(rows) // nb):
                row[:] = rows[y * nb:(y + 1) * nb]
                for extra in (0, 5, 300):
                    room = t4.line_room(w, minbits) + extra
                    a = code_line(row, w, minbits, room, t4py.enc)
                    assert a == code_line(row, w, minbits, room, t4fast.enc), (w, y, minbits, room)


def test_encoder_twins_white_words_any_address():
    """The viper coder skips white 32 pixels a step over aligned words of the row: the same
    bytes as the plain loop whatever the row's address (offset 0..3 in its buffer), with the
    white stretch ending at every byte around a word's edge and at the row's end, whole and
    in pieces (a coder stopped inside a white stretch goes on from there)."""
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    for w in (1728, 2048):
        nb = w >> 3
        buf = bytearray(nb + 4)
        for off in range(4):
            row = memoryview(buf)[off:off + nb]
            for end in list(range(1, 12)) + list(range(nb - 9, nb + 1)):
                for first in (0, 1, 5):
                    buf[:] = bytes(nb + 4)
                    row[first] = 0x81 if first else 0
                    if end < nb:
                        row[end] = 0x18
                    row[nb - 1] |= 0x01 if end & 1 else 0
                    for room in (0, 40, 41):
                        a = code_line(row, w, 0, room, t4py.enc)
                        assert a == code_line(row, w, 0, room, t4fast.enc), (w, off, end, first, room)
                    k = end if end < nb else nb - 1  # a black stretch from there: not skipped
                    row[k:nb] = b"\xff" * (nb - k)
                    assert code_line(row, w, 0, 0, t4py.enc) == code_line(row, w, 0, 0, t4fast.enc)


def test_reverse_and_copy_twins_identical():
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    data = bytes(range(256))
    a = bytearray(data)
    b = bytearray(data)
    t4py.rev(a, 7, 200)
    t4fast.rev(b, 7, 200)
    assert a == b and a[200:] == data[200:] and a[:7] == data[:7] and a[7] == 0xE0
    d1 = bytearray(20)
    d2 = bytearray(20)
    assert t4py.copy(d1, 3, data, (100 << 16) | 9) == t4fast.copy(d2, 3, data, (100 << 16) | 9) == 9
    assert d1 == d2 and d1[3:12] == data[100:109]


def test_decoder_twins_identical():
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    for w, rows in _rows_corpus():
        for msb in (False, True):
            data = bytearray(encode(rows, w, 14400, 10, msb))
            if len(data) > 40:
                data[len(data) // 2] ^= 0x24  # some corruption as well
            res = []
            for plain in (True, False):
                sink = Rows()
                d = t4dec.Decoder(w, msb, sink, t4py.dec if plain else None)
                for i in range(0, len(data), 11):
                    d.feed(data[i:i + 11])
                res.append((d.end(), sink.rows, sink.good, list(d.st)))
            assert res[0] == res[1], (w, msb)


def test_page_encoder_same_with_plain_loops():
    """Rows coded into the line buffer (reads of 97 bytes, less than its room) and straight
    into the reader's buffer (reads of 512: pieces at other offsets), MSB-first: the same."""
    rows = random_rows(1728, 3) + pattern_rows(1728, 2, "alt")
    for chunk in (97, 512):
        fast = encode(rows, 1728, 9600, 20, True, chunk)
        fast_loops = t4.encode_line, t4.reverse, t4._copy
        t4.encode_line, t4.reverse, t4._copy = t4py.enc, t4py.rev, t4py.copy   # the plain loops in t4
        try:
            plain = encode(rows, 1728, 9600, 20, True, chunk)
        finally:
            t4.encode_line, t4.reverse, t4._copy = fast_loops
        assert plain == fast, chunk


def test_p1_scanner_twins_identical():
    import array
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    samples = (b"1 0 1\n0 1 1 1 0 0 0 1 1 1 1 0", b"1111111111111111111111", b"10\r\n\t01x11",
               b"0" * 30 + b"1" * 30, b"")
    for data in samples:
        for w, keep in ((20, 20), (20, 7), (9, 9), (64, 64)):
            res = []
            for fn in (t4py.p1row, t4fast.p1row):
                st = array.array("i", [0, len(data), 0, w, keep, 0])
                row = bytearray(8)
                steps = []
                while st[P_POS] < st[P_END] and not st[P_BAD]:
                    st[P_X] = 0
                    fn(data, st, row)
                    steps.append(list(st))
                res.append((steps, bytes(row)))
            assert res[0] == res[1], (data, w, keep)


def _page(rows, w, minbits, msb, sizes, loops, pad):
    """A page through PageEncoder with the given loops, reads of `sizes` in turn, each read
    into a view with 24 guard bytes past it (and the line buffer too): the bytes, and no
    guard byte touched (a viper write past a buffer raises nothing)."""
    pe = t4.PageEncoder(t4py.BytesRows(rows, w), w, msb_first=msb)
    pe.reset(pe.rows, minbits)
    k = t4.line_room(w, minbits) + pad
    lb = bytearray(b"\xa5" * (k + 24))
    pe._buf = memoryview(lb)[:k]
    saved = t4.encode_line, t4.reverse, t4._copy
    t4.encode_line, t4.reverse, t4._copy = loops
    try:
        out = bytearray()
        j = 0
        while True:
            sz = sizes[j % len(sizes)]
            j += 1
            b = bytearray(b"\x5a" * (sz + 24))
            n = pe.readinto(memoryview(b)[:sz])
            assert 0 <= n <= sz and b[sz:] == b"\x5a" * 24 and lb[k:] == b"\xa5" * 24, (w, minbits, sz)
            if not n:
                return bytes(out)
            out += b[:n]
    finally:
        t4.encode_line, t4.reverse, t4._copy = saved


def test_pages_in_random_reads_same_and_in_bounds():
    """Random rows (every WD width and wider ones with extended make-up runs), fills, bit
    orders, line buffers and read sizes (1 byte to the driver's largest chunk, 1023): the
    page is the same as read in one go, with the plain loops and (MicroPython) the viper
    ones, and no read writes past its buffer or the line buffer."""
    seed = [12345]

    def rnd(n):     # a small LCG: the same cases on both runtimes
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (seed[0] >> 8) % n

    plain = (t4py.enc, t4py.rev, t4py.copy)
    loops = [plain]
    if MICROPYTHON:
        loops.append((t4fast.enc, t4fast.rev, t4fast.copy))
    for case in range(24):
        w = (WIDTHS + (2632, 5128, 0xFFF8))[case % (len(WIDTHS) + 3)]
        nb = w >> 3
        rows = bytearray(nb * 3)
        for i in range(len(rows)):  # random bytes, alternating pixels and long runs mixed
            r = rnd(8)
            rows[i] = rnd(256) if r < 3 else (0xAA, 0x55, 0, 0xFF, 0)[r - 3]
        minbits = (0, 12, 288, 576)[rnd(4)]
        msb = bool(rnd(2))
        ref = _page(rows, w, minbits, msb, (0x3FFF,), plain, 0)
        for _ in range(2):
            sizes = [(1, 2, 16, 17 + rnd(200), 16 + rnd(1008))[rnd(5)] for _ in range(1 + rnd(4))]
            pad = (0, 1, 7)[rnd(3)]
            for fns in loops:
                assert _page(rows, w, minbits, msb, sizes, fns, pad) == ref, (w, minbits, msb, sizes, pad)
