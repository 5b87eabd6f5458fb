"""Page data on the Class 2 wire (spec/fax.md, "The modem side": DLE stuffing, DLE ETX; the
reference transcripts byte for byte): stuffing, unstuffing, the control bytes around page data.
Sans-I/O, no allocation per call.

Both loops work on a shared state array `st` (array("i", 4)) so that they return nothing:
    stuff(st, src, dst, cap):  st = [i, n, o, -]. Copies src[i:n] to dst[o:], a DLE data byte
        sent twice, until src is used up or o >= cap (dst must hold cap + 1 bytes: a doubled DLE
        may end one byte past cap).
    unstuff(st, src, dst, cap): st = [i, n, o, flags]. Copies the modem's src[i:n] to dst[o:]
        until src is used up, o >= cap (dst holds cap + 1), or DLE ETX (flags |= ETX_SEEN).
        DLE DLE is one DLE, DLE SUB two (Class 2.0 modems send it), DLE and anything else is
        dropped; a DLE ending src sets DLE_PENDING for the next call.
On MicroPython the viper twins of framefast.py run (host_tests/core/test_fax_framing.py checks
both give the same bytes).
"""
import sys

from micropython import const

DLE = const(0x10)
ETX = const(0x03)
DC1 = const(0x11)
DC2 = const(0x12)
CAN = const(0x18)
SUB = const(0x1A)
END = b"\x10\x03"          # DLE ETX: end of page data (either direction)
ETX_SEEN = const(2)
DLE_PENDING = const(1)


def _stuff_py(st, src, dst, cap):
    i = st[0]
    n = st[1]
    o = st[2]
    while i < n and o < cap:
        b = src[i]
        i += 1
        dst[o] = b
        o += 1
        if b == 0x10:
            dst[o] = b
            o += 1
    st[0] = i
    st[2] = o


def _stuff_cp(st, src, dst, cap):
    """CPython: the same as _stuff_py, a run at a time."""
    i = st[0]
    n = st[1]
    o = st[2]
    while i < n and o < cap:
        j = src.find(b"\x10", i, min(n, i + cap - o))
        if j < 0:
            j = min(n, i + cap - o)
            dst[o:o + j - i] = src[i:j]
            o += j - i
            i = j
            continue
        dst[o:o + j - i] = src[i:j]
        o += j - i
        dst[o] = 0x10
        dst[o + 1] = 0x10
        o += 2
        i = j + 1
    st[0] = i
    st[2] = o


def _unstuff_py(st, src, dst, cap):
    i = st[0]
    n = st[1]
    o = st[2]
    f = st[3]
    while i < n and o < cap:
        b = src[i]
        i += 1
        if f & 1:
            f &= ~1
            if b == 0x03:
                f |= 2
                break
            if b == 0x10:
                dst[o] = b
                o += 1
            elif b == 0x1A:
                dst[o] = 0x10
                dst[o + 1] = 0x10
                o += 2
        elif b == 0x10:
            f |= 1
        else:
            dst[o] = b
            o += 1
    st[0] = i
    st[2] = o
    st[3] = f


stuff = _stuff_py
unstuff = _unstuff_py
FAST = None
if sys.implementation.name == "micropython":
    try:
        from . import framefast as FAST
        stuff = FAST.stuff
        unstuff = FAST.unstuff
    except (ImportError, SyntaxError):    # a port without the native emitter
        FAST = None
else:
    stuff = _stuff_cp
