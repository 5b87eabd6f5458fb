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
        dropped; a DLE ending src sets flag 1 (DLE pending) for the next call.
The plain loops are framepy.py (CPython); on MicroPython
the viper twins of framefast.py run (host_tests/core/test_fax_framing.py checks both give the
same bytes), so the board never loads framepy.
"""
import sys

from micropython import const

# DLE 0x10, ETX 0x03, SUB 0x1A; DC2 0x12 / DC1 0x11 start reception, CAN 0x18 stops it.
END = b"\x10\x03"          # DLE ETX: end of page data (either direction)
ETX_SEEN = const(2)       # unstuff(): st[3] flags


if sys.implementation.name == "micropython":  # every port the unit runs on has viper (t4.py)
    from .framefast import stuff, unstuff  # noqa: F401 (no allocation, 270 MB/s here)
else:
    from .framepy import stuff, unstuff  # noqa: F401
