"""The viper twins (t4fast) give the same bytes as the plain-Python loops.

On MicroPython both run and are compared; on CPython only the plain loops exist, and the
test checks that they are the ones in use (so each runtime tests what it runs)."""
import sys

from faxbridge.core.fax import t4, t4dec
from t4_helpers import Rows, encode, pattern_rows, random_rows

MICROPYTHON = sys.implementation.name == "micropython"


def test_runtime_uses_the_right_loops():
    if MICROPYTHON:
        assert t4.FAST is not None, "viper twins failed to load on the unix port"
        assert t4.encode_line is t4.FAST.enc
        assert t4dec._dec is t4.FAST.dec
    else:
        assert t4.FAST is None
        assert t4.encode_line is t4._enc_py and t4dec._dec is t4dec._dec_py


def _rows_corpus():
    for w in t4.WIDTHS:
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
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    for w, rows in _rows_corpus():
        nb = w >> 3
        for minbits in (0, 72, 576):
            a = bytearray(t4.max_line_bytes(w, minbits))
            b = bytearray(len(a))
            row = bytearray(nb)
            for y in range(len(rows) // nb):
                row[:] = rows[y * nb:(y + 1) * nb]
                na = t4._enc_py(row, a, w, minbits)
                nb2 = t4.FAST.enc(row, b, w, minbits)
                assert na == nb2 and a[:na] == b[:nb2], (w, y, minbits)


def test_reverse_and_copy_twins_identical():
    if not MICROPYTHON:
        return test_runtime_uses_the_right_loops()
    data = bytes(range(256))
    a = bytearray(data)
    b = bytearray(data)
    t4._rev_py(a, 200)
    t4.FAST.rev(b, 200)
    assert a == b and a[200:] == data[200:]
    d1 = bytearray(20)
    d2 = bytearray(20)
    assert t4._copy_py(d1, 3, data, (100 << 16) | 9) == t4.FAST.copy(d2, 3, data, (100 << 16) | 9) == 9
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
                d = t4dec.Decoder(w, msb, sink, plain=plain)
                for i in range(0, len(data), 11):
                    d.feed(data[i:i + 11])
                res.append((d.end(), sink.rows, sink.good, list(d.st)))
            assert res[0] == res[1], (w, msb)


def test_page_encoder_same_with_plain_loops():
    rows = random_rows(1728, 3) + pattern_rows(1728, 2, "alt")
    fast = encode(rows, 1728, 9600, 20, True)
    t4.use_plain(True)
    try:
        plain = encode(rows, 1728, 9600, 20, True)
    finally:
        t4.use_plain(False)
    assert plain == fast


def test_p1_scanner_twins_identical():
    from faxbridge.core.fax import pbm
    import array
    if not MICROPYTHON:
        assert pbm._p1row is pbm._p1row_py
        return
    assert pbm._p1row is t4.FAST.p1row
    samples = (b"1 0 1\n0 1 1 1 0 0 0 1 1 1 1 0", b"1111111111111111111111", b"10\r\n\t01x11",
               b"0" * 30 + b"1" * 30, b"")
    for data in samples:
        for w, keep in ((20, 20), (20, 7), (9, 9), (64, 64)):
            res = []
            for fn in (pbm._p1row_py, t4.FAST.p1row):
                st = array.array("i", [0, len(data), 0, w, keep, 0])
                row = bytearray(8)
                steps = []
                while st[pbm.P_POS] < st[pbm.P_END] and not st[pbm.P_BAD]:
                    st[pbm.P_X] = 0
                    fn(data, st, row)
                    steps.append(list(st))
                res.append((steps, bytes(row)))
            assert res[0] == res[1], (data, w, keep)
