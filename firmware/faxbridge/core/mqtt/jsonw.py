"""Ordered JSON written in place: a payload written piece by piece into a buffer the caller
gives, from ordered fields, never from dicts (MicroPython dicts have no order), so the same
fields give the same bytes on every runtime (core/mqtt/contract.py builds the MQTT payloads
with it; core/mqtt/discovery.py the Home Assistant configs).
(Text that needs escaping goes through the runtime's json: valid JSON on both, but non-ASCII
comes out as \\u escapes on CPython and as UTF-8 on MicroPython.)
Value encoding: str/int/float/bool/None as JSON; bytes -> lowercase hex string; JOINED (below)
-> a string of its two pieces; another list -> JSON array; tuple -> nested ordered object;
dict -> object, keys sorted. An object's fields are one tuple of its keys and values in turn,
(k1, v1, k2, v2, ...) (the contract's builders: one tuple per event, not one per field), or a
tuple of (key, value) pairs; told apart by the first item (a str key, or a pair).
"""
import json
import sys

from micropython import const

MAX_PAYLOAD = const(2000)   # bytes: the buffer of a payload built with none given (host tools)

# Payloads are written piece by piece into a buffer the caller gives (app/link.py: the outbox
# store's record buffer, so the unit keeps no payload buffer of its own; docs/mqtt.md "RAM"),
# from _o up to _m: nothing grows with the payload and no piece is copied first (str written
# byte by byte, ints digit by digit, bytes as hex). With no buffer given, one of MAX_PAYLOAD
# bytes is made at first need and kept (host tools and tests; never on the unit). Not
# reentrant: one payload at a time; each begins afresh (begin), so one that failed half
# written (ValueError) leaves nothing to undo.
_b = None    # the buffer being written
_own = None  # the one made when none is given
_o = 0       # where the payload begins in _b
_n = 0       # where its next byte goes
_m = 0       # the end of its room
# A str value given as its head and an int, JOINED = [head, n], written as head then n in
# decimal, one JSON string, never built (contract.cafis_verdict: a rule, '3.3.4-2 #' and 3).
# This one list, refilled per use: any other list is a JSON array. (A class would be a
# type object and its table in RAM on the board, frozen or not.)
JOINED = ["", 0]


def begin(buf=None, o=0, m=0):
    """Begin a payload in buf[o:m] (m 0: to the end; buf None: the buffer of MAX_PAYLOAD). As
    an object written field by field: begin(), field(..)..., end() -> bytes, for a payload
    with a few computed strings (HA discovery): no pairs and no joined str are built."""
    global _b, _own, _o, _n, _m
    if buf is None:
        if _own is None:
            _own = bytearray(MAX_PAYLOAD)
        buf = _own
    _b = buf
    _o = _n = o
    _m = m or len(buf)


def _over():
    global _b
    _b = None    # the caller's buffer let go (a one-off buffer must not outlive its payload)
    raise ValueError("payload over %d bytes" % (_m - _o))


def _raw(s):
    """Write bytes s (a constant of this module, or the rare escaped text)."""
    global _n
    n = _n
    m = n + len(s)
    if m > _m:
        _over()
    _b[n:m] = s
    _n = m


def _str(v, pre=0, post=0):
    """Write str v as a JSON string, between the bytes pre and post (0: none; a key's comma
    and colon, so a field costs one call)."""
    if _chars(v, pre, 34, post):
        return
    if pre:                  # escaped by the runtime's json (rare)
        _raw(b"{" if pre == 123 else b",")
    _raw(json.dumps(v).encode())
    if post:
        _raw(b":")


def _chars(v, pre, q, post):
    """Write the bytes pre and q, the characters of str v, then q and post (a 0 byte: left
    out) if no character of v needs escaping in JSON (printable ASCII without quote or
    backslash: nearly every field), copied as they are checked -> True; else nothing written
    before _n -> False. One function for the whole piece: a call costs more than a byte here
    (_obj does the same for its keys and str values without this call)."""
    global _n
    if _n + len(v) + (2 if q else 0) + (pre > 0) + (post > 0) > _m:
        _over()
    n = _copy(_b, _n, v, pre | q << 8 | post << 16)
    if n < 0:
        return False
    _n = n
    return True


if sys.implementation.name == "micropython":   # every port the unit runs on has viper
    @micropython.viper  # noqa: F821 (the compiler's own decorator: no `micropython` name kept)
    def _copy(b, n: int, v, f: int) -> int:
        """Write to b[n:] the byte f & 255, the byte f >> 8 & 255, the characters of str v,
        the byte f >> 8 & 255 again and the byte f >> 16 (a 0 byte: left out) if each
        character is printable ASCII other than quote and backslash -> the index after them;
        else -1 (a byte of a non-ASCII character, at or before the len(v)-th byte, is above
        126). Reads the str's bytes in place: a whole key or string in one call (issue 15's
        MQTT rate: a loop of bytecode was 40 us of an event's 60, a call per piece 20 us)."""
        d = ptr8(b)  # noqa: F821 (viper)
        s = ptr8(v)  # noqa: F821
        k = int(len(v))
        c = f & 255
        if c:
            d[n] = c
            n += 1
        q = (f >> 8) & 255
        if q:
            d[n] = q
            n += 1
        i = 0
        while i < k:
            c = s[i]
            if c < 32 or c > 126 or c == 34 or c == 92:
                return -1
            d[n + i] = c
            i += 1
        n += k
        if q:
            d[n] = q
            n += 1
        c = f >> 16
        if c:
            d[n] = c
            n += 1
        return n

    @micropython.viper  # noqa: F821
    def _dec(b, n: int, v: int) -> int:
        """Write int v (|v| < 10**9: a machine int on every port) in decimal to b[n:] -> the
        index after it (its digits a loop of bytecode in _int: 3 us an int)."""
        d = ptr8(b)  # noqa: F821
        if v < 0:
            d[n] = 45    # "-"
            n += 1
            v = 0 - v
        m = n + 1
        t = v
        while t > 9:
            t = t // 10
            m += 1
        e = m
        while m > n:
            m -= 1
            d[m] = 48 + v % 10
            v = v // 10
        return e
else:
    def _dec(b, n, v):
        """The same on CPython."""
        t = str(v).encode()
        b[n:n + len(t)] = t
        return n + len(t)

    def _copy(b, n, v, f):
        """The same on CPython (a str has no buffer there)."""
        if f & 255:
            b[n] = f & 255
            n += 1
        q = (f >> 8) & 255
        if q:
            b[n] = q
            n += 1
        for ch in v:
            c = ord(ch)
            if c < 32 or c > 126 or c == 34 or c == 92:
                return -1
            b[n] = c
            n += 1
        if q:
            b[n] = q
            n += 1
        if f >> 16:
            b[n] = f >> 16
            n += 1
        return n


def _piece(v):
    """Write str v inside a JSON string begun (escaped if it must be)."""
    if not _chars(v, 0, 0, 0):
        _raw(json.dumps(v)[1:-1].encode())


def _int(v):
    """Write int v in decimal, digit by digit (its sign too: no call for it); by _dec where
    it is short and the room sure (_obj does the same without this call)."""
    global _n
    n = _n
    if -1000000000 < v < 1000000000 and n + 10 <= _m:
        _n = _dec(_b, n, v)
        return
    s = v < 0
    if s:
        v = -v
    m = n + 1 + s
    t = v
    while t > 9:
        t //= 10
        m += 1
    if m > _m:
        _over()
    _n = m
    b = _b
    if s:
        b[n] = 45    # "-"
        n += 1
    while m > n:
        m -= 1
        b[m] = 48 + v % 10
        v //= 10


def _hex(v):
    """Write bytes-like v as a JSON string of lowercase hex."""
    global _n
    n = _n
    m = n + 2 * len(v) + 2
    if m > _m:
        _over()
    b = _b
    b[n] = 34
    for x in v:
        b[n + 1] = b"0123456789abcdef"[x >> 4]
        b[n + 2] = b"0123456789abcdef"[x & 15]
        n += 2
    b[n + 1] = 34
    _n = m


def _val(v):
    """Write the JSON text of v (see the module docstring for the mapping). (Lists, dicts and
    bytes have a function each: written in here, every call of _val was slower, a fax/received
    by a quarter.)"""
    t = type(v)
    if t is str:             # the commonest first (type(True) is bool, not int)
        _str(v)
    elif t is int:
        _int(v)
    elif v is None:
        _raw(b"null")
    elif v is True:
        _raw(b"true")
    elif v is False:
        _raw(b"false")
    elif t is tuple:
        _obj(v)
    elif t is bytes or t is bytearray or t is memoryview:
        _hex(v)
    elif t is list:
        if v is JOINED:
            _raw(b'"')
            _piece(v[0])
            _int(v[1])
            _raw(b'"')
        else:
            _list(v)
    elif t is dict:
        _dict(v)
    elif t is float:
        _raw(json.dumps(v).encode())
    else:
        raise TypeError("cannot encode %r as JSON" % (t,))


def _list(v):
    c = b"["
    for x in v:
        _raw(c)
        c = b","
        _val(x)
    if c == b"[":
        _raw(c)
    _raw(b"]")


def _dict(d):
    """Write dict d as a JSON object, its keys in sorted order (the same on both runtimes), one
    key at a time: the next is the least key above the last written (no sorted list, no pairs;
    a dict here has a few keys)."""
    c = 123   # "{", then ","
    last = None
    for _i in range(len(d)):
        k = None
        for x in d:
            if (last is None or x > last) and (k is None or x < k):
                k = x
        _str(k, c, 58)
        c = 44
        _val(d[k])
        last = k
    if c == 123:
        _raw(b"{")
    _raw(b"}")


def _obj(t, c=123):
    """Write t as a JSON object: its keys and values in turn (k1, v1, k2, v2, ...: the
    builders' fields, one tuple) or (key, value) pairs; c=44 (",") goes on with the object
    open."""
    global _n
    z = len(t)
    flat = z and type(t[0]) is str
    b = _b
    m = _m
    i = 0
    while i < z:
        if flat:
            k = t[i]
            v = t[i + 1]
            i += 2
        else:
            k, v = t[i]
            i += 1
        # {"k": or ,"k": and a str, bool or None value written as _chars does, without its
        # call (an event's fields cost their calls: issue 15's MQTT rate); _str escapes (rare)
        if _n + len(k) + 4 > m:
            _over()
        j = _copy(b, _n, k, c | 0x3A2200)    # c " k " :
        if j < 0:
            _str(k, c, 58)
        else:
            _n = j
        c = 44
        y = type(v)
        if y is str:
            if _n + len(v) + 2 > m:
                _over()
            j = _copy(b, _n, v, 0x2200)      # " v "
            if j < 0:
                _str(v)
            else:
                _n = j
        elif y is int:
            if -1000000000 < v < 1000000000 and _n + 10 <= m:
                _n = _dec(b, _n, v)
            else:
                _int(v)
        elif y is bool or v is None:
            v = "null" if v is None else "true" if v else "false"
            if _n + len(v) > m:
                _over()
            _n = _copy(b, _n, v, 0)
        else:
            _val(v)
    if c == 123:
        _raw(b"{")
    _raw(b"}")


def _take(view=False):
    """The payload written, as bytes (or a view of the buffer; view 2: its length alone, the
    payload lying in the buffer from where it was begun); the buffer is free again."""
    global _b, _n
    if view == 2:    # in place in the caller's buffer: no view made (app/link.py event)
        _b = None
        b = _n - _o
        _n = _o
        return b
    b = (_b if type(_b) is memoryview else memoryview(_b))[_o:_n]   # a view given: one view less
    _n = _o
    _b = None    # no reference kept to the caller's buffer (Link._built's one-off buffer)
    return b if view else bytes(b)


def field(k, v, more=None, last=None):
    """One field of the object begun. v: any value; with more (and last), v, more and last are
    str pieces written as one JSON string."""
    _key(k)
    if more is None:
        _val(v)
        return
    _raw(b'"')
    _piece(v)
    _piece(more)
    if last is not None:
        _piece(last)
    _raw(b'"')


def span(k, t, i, j, pre, mid, post):
    """Field k: str pieces pre and mid, bytes t[i:j] (a table's printable ASCII without quote
    or backslash, copied as it is) and str post, as one JSON string (core/mqtt/discovery.py)."""
    global _n
    _key(k)
    _raw(b'"')
    _piece(pre)
    _piece(mid)
    n = _n
    m = n + j - i
    if m > _m:
        _over()
    b = _b
    while i < j:
        b[n] = t[i]
        n += 1
        i += 1
    _n = m
    _piece(post)
    _raw(b'"')


def nest(k):
    """A nested object opens as field k of the object begun; end(depth) closes it."""
    _key(k)
    _raw(b"{")


def _key(k):
    # "{" first; the first field of a nested object has no comma
    _str(k, 123 if _n == _o else 44 if _b[_n - 1] != 123 else 0, 58)


def end(depth=1):
    """Close the object begun (and depth-1 nested objects in it); the payload as bytes."""
    if _n == _o:
        _raw(b"{")
    for _i in range(depth):
        _raw(b"}")
    return _take()
