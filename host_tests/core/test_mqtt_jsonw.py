"""The JSON writer (core/mqtt/jsonw.py) against generated values, on both runtimes: the viper
copies on MicroPython, their CPython twins here, give the bytes a plain encoder gives, and
never write past the room given (issue 15's viper writes)."""
import json

from support import raises

from faxbridge.app import outbox_store
from faxbridge.core.mqtt import contract, jsonw

# characters a value's str is drawn from: plain ASCII, the ones JSON escapes, DEL, and
# characters of 2, 3 and 4 UTF-8 bytes
_CH = ("a", "Z", "0", " ", "~", "!", "/", "a", "b", "c", "x", "y", "\"", "\\", "\n", "\x01",
       "\x7f", "\u00e9", "\u65e5", "\U0001f600")
_INTS = (0, 1, -1, 9, 10, -9, -10, 99, -100, 999999999, -999999999, 10 ** 9, -10 ** 9,
         10 ** 9 + 1, -10 ** 9 - 1, 1073741823, -1073741824, 1073741824, 2 ** 31, -2 ** 31,
         2 ** 63, -2 ** 63, 10 ** 20, -10 ** 20)


class _Rand:
    """A small LCG: the same values on both runtimes, whatever their random module."""

    def __init__(self, seed):
        self.s = seed

    def __call__(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


def _str(r):
    k = r(14)
    if r(3) == 0:   # plain ASCII but for one character, early or late
        s = "".join(_CH[r(11)] for _i in range(k))
        return s + _CH[11 + r(9)] + "x" * r(3)
    if r(2):
        return "".join(_CH[r(11)] for _i in range(k))
    return "".join(_CH[r(len(_CH))] for _i in range(k))


def _value(r, depth=0):
    c = r(12 if depth < 2 else 7)
    if c < 3:
        return _str(r)
    if c == 3:
        return _INTS[r(len(_INTS))]
    if c == 4:
        return r(2000001) - 1000000
    if c == 5:
        return (True, False, None)[r(3)]
    if c == 6:
        return bytes(r(256) for _i in range(r(4)))
    if c < 9:
        return _fields(r, depth + 1)
    if c == 9:
        return [_value(r, depth + 1) for _i in range(r(4))]
    d = {}
    for _i in range(r(4)):
        d[_str(r)] = _value(r, depth + 1)
    return d


def _fields(r, depth=0):
    """An object's fields: keys and values in turn, or (key, value) pairs."""
    n = r(5)
    flat = r(2)
    t = []
    for _i in range(n):
        k = _str(r)
        v = _value(r, depth)
        if flat:
            t.append(k)
            t.append(v)
        else:
            t.append((k, v))
    return tuple(t)


def _ref(v):
    """The JSON text of v as a plain encoder writes it (jsonw's docstring's mapping)."""
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return json.dumps(v)
    if t is bytes:
        return '"' + "".join("%02x" % x for x in v) + '"'
    if t is list:
        return "[" + ",".join(_ref(x) for x in v) + "]"
    if t is dict:
        return "{" + ",".join(_ref(k) + ":" + _ref(v[k]) for k in sorted(v)) + "}"
    return "{" + ",".join(_ref(k) + ":" + _ref(x) for k, x in _pairs(v)) + "}"


def _pairs(t):
    if t and type(t[0]) is str:
        return [(t[i], t[i + 1]) for i in range(0, len(t), 2)]
    return list(t)


def test_generated_values_are_written_as_a_plain_encoder_writes_them():
    r = _Rand(15)
    for i in range(600):
        v = _value(r)
        jsonw.begin()
        jsonw.field("v", v)
        want = ('{"v":' + _ref(v) + "}").encode()
        assert jsonw.end() == want, (i, v)


def test_generated_events_fit_exactly_and_never_write_past_their_room():
    # each event built in buf[o:m] for every m up to the room it needs: refused below it with
    # not a byte written outside buf[o:m] (viper writes are not bounds-checked), whole at it
    r = _Rand(25)
    for i in range(160):
        unit = _str(r) or "u"
        seq = _INTS[r(len(_INTS))]
        f = _fields(r)
        want = ('{"unit":' + _ref(unit) + ',"seq":' + _ref(seq)
                + "".join("," + _ref(k) + ":" + _ref(x) for k, x in _pairs(f)) + "}").encode()
        assert contract.event(unit, seq, f) == want, (i, unit, seq, f)
        o = 1 + r(9)
        z = len(want)
        for m in range(o + 1, o + z + 1):
            buf = bytearray(b"#" * (o + z + 12))
            if m < o + z:
                raises(ValueError, contract.event, unit, seq, f, 2, buf, o, m)
            else:
                assert contract.event(unit, seq, f, 2, buf, o, m) == z
                assert buf[o:m] == want, (i, f)
            assert buf[:o] == b"#" * o and buf[m:] == b"#" * (len(buf) - m), (i, m, f)


def test_ints_at_the_edges_of_the_short_path_with_just_their_room():
    # the head's seq (_int), a field's value (_obj) and a list's item (_val): each one with
    # exactly its bytes of room left, and one byte less
    for v in _INTS + tuple(-x for x in _INTS) + (5, -5, 12345678, -12345678):
        s = str(v).encode()
        for f, tail in ((("k", v), b',"k":' + s + b"}"), (("k", [v]), b',"k":[' + s + b"]}"),
                        ((), b"}")):
            want = b'{"unit":"u","seq":' + (s if not f else b"1") + tail
            seq = v if not f else 1
            for extra in (0, 1, 2, 11):
                buf = bytearray(b"#" * (len(want) + 3 + extra))
                assert contract.event("u", seq, f, 2, buf, 3, 3 + len(want) + extra) == len(want)
                assert buf[3:3 + len(want)] == want and buf[:3] == b"###"
            buf = bytearray(b"#" * (len(want) + 8))
            raises(ValueError, contract.event, "u", seq, f, 2, buf, 3, 2 + len(want))
            assert buf[2 + len(want):] == b"#" * 6


def test_bools_are_not_written_as_ints():
    for v, t in ((True, b"true"), (False, b"false"), (None, b"null")):
        assert contract.event("u", 1, ("a", v, "b", [v], "c", ("d", v))) == (
            b'{"unit":"u","seq":1,"a":' + t + b',"b":[' + t + b'],"c":{"d":' + t + b"}}")


def test_the_copies_and_their_twins_write_the_same_bytes():
    # _copy, _dec (jsonw) and _ascii (outbox_store) called directly: the bytes written, what
    # they return, and nothing past the piece (viper on MicroPython, Python on CPython)
    r = _Rand(35)
    for i in range(300):
        v = _str(r)
        pre, q, post = (0, 123, 44)[r(3)], (0, 34)[r(2)], (0, 58)[r(2)]
        ok = all(32 <= ord(c) <= 126 and c not in "\"\\" for c in v)
        b = bytearray(b"#" * (len(v) * 4 + 12))
        n = jsonw._copy(b, 2, v, pre | q << 8 | post << 16)
        if ok:
            piece = bytes(x for x in (pre, q) if x) + v.encode() + bytes(x for x in (q, post) if x)
            assert n == 2 + len(piece) and b[2:n] == piece and b[n:] == b"#" * (len(b) - n), (i, v)
        else:
            assert n == -1, (i, v)
            k = 2 + (pre > 0) + (q > 0) + len(v)
            assert b[:2] == b"##" and b[k:] == b"#" * (len(b) - k), (i, v)
        a = bytearray(b"#" * (len(v) * 4 + 12))
        asc = all(ord(c) <= 126 for c in v)
        assert outbox_store._ascii(a, 3, v) == (0 if asc else -1), (i, v)
        assert a[:3] == b"###" and a[3 + len(v):] == b"#" * (len(a) - 3 - len(v)), (i, v)
        if asc:
            assert a[3:3 + len(v)] == v.encode()
    for v in _INTS[:13] + (-123456789, 123456789, 5, -5):
        if -10 ** 9 < v < 10 ** 9:
            b = bytearray(b"#" * 14)
            s = str(v).encode()
            assert jsonw._dec(b, 1, v) == 1 + len(s) and b == b"#" + s + b"#" * (13 - len(s))


def _fields_one_by_one(buf, o, m, k, a, b, c, v):
    jsonw.begin(buf, o, m)
    jsonw.field(k, a, b, c)
    jsonw.nest(b)
    jsonw.field(c, v)
    jsonw.field(a, None)
    return jsonw.end(2)


def test_fields_pieces_and_telemetry_never_write_past_their_room():
    # the object written field by field (HA discovery: str pieces by _piece, nested by nest)
    # and telemetry's groups, in buf[o:m] for every m up to their size
    r = _Rand(45)
    for i in range(60):
        k, a, b, c = _str(r), _str(r), _str(r), _str(r)
        v = _value(r)
        want = ("{" + _ref(k) + ":" + _ref(a + b + c) + "," + _ref(b) + ":{" + _ref(c) + ":"
                + _ref(v) + "," + _ref(a) + ":null}}").encode()
        t = (("t", a), ("n", v)) if r(2) else ()
        g = (("g", "x,yy", (c, r(3) - 1)),)
        tw = contract.telemetry("u", 7, 9, t, g)
        assert tw == ('{"unit":"u","seq":7,"tseq":9' + "".join("," + _ref(x) + ":" + _ref(y) for x, y in t)
                      + ',"g":{"x":' + _ref(c) + ',"yy":' + _ref(g[0][2][1]) + "}}").encode(), (i, t)
        for fn, w in ((lambda bf, o, m: _fields_one_by_one(bf, o, m, k, a, b, c, v), want),
                      (lambda bf, o, m: contract.telemetry("u", 7, 9, t, g, bf[:m]), tw)):
            o = 0 if w is tw else 1 + r(5)
            z = len(w)
            for m in range(o + 1, o + z + 1):
                buf = bytearray(b"#" * (o + z + 12))
                if m < o + z:
                    raises(ValueError, fn, buf if w is want else memoryview(buf), o, m)
                else:
                    assert fn(buf if w is want else memoryview(buf), o, m) == w, (i, v)
                assert buf[:o] == b"#" * o and buf[m:] == b"#" * (len(buf) - m), (i, m)
