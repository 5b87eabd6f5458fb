"""Streaming T.4 MH page decoder (sans-I/O): data in chunks of any size, good/bad line counts.

    d = Decoder(width=1728, msb_first=False, sink=None)
    d.feed(chunk)            # bytes/bytearray/memoryview, any size, as often as needed
    d.lines, d.bad_lines     # good and bad lines so far; d.done once RTC was seen
    d.end() -> (lines, bad_lines)   # no more data: a started line without EOL is bad

A line is good when its runs add up to the width exactly and an EOL ends it. Anything else
(unknown code word, too many pixels, EOL too early) makes it bad; the decoder then skips to
the next EOL (resynchronises) and counts one bad line. Data before the first EOL is ignored;
six EOLs in a row (RTC, T.4 4.1.4) end the page and anything after it is ignored.
sink(row, good), if given, gets every line as a packed row (PBM P4 layout, 1 = black, valid
only during the call); a bad line is replaced by the last good line (white before any).
"""
import array
import sys

from micropython import const

from . import mhcodes

mhcodes.build()
_DEC = mhcodes.DEC
_DEC2 = mhcodes.DEC2
_TZ8 = mhcodes.TZ8
_REV = mhcodes.REV

# state array fields (shared with the viper twin in t4fast)
ACC = const(0)  # bits not yet decoded, first bit in bit 0
NB = const(1)  # how many bits ACC holds
MODE = const(2)  # DATA, ZEROS (8+ zero bits seen in a line) or SYNC (skip to the next EOL)
COLOUR = const(3)  # colour of the next run (0 white, 1 black)
X = const(4)  # pixels decoded in this line
ZC = const(5)  # zero bits counted towards an EOL
PEND = const(6)  # a make-up code waits for its terminating code
CODES = const(7)  # code words in this line
BAD = const(8)  # this line is bad
EVENT = const(9)  # an EOL was just read
WIDTH = const(10)
MSB = const(11)  # data is MSB-first
FILL = const(12)  # draw black runs into the row
END = const(13)  # length of the current chunk
NSTATE = const(14)

DATA = const(0)
ZEROS = const(1)
SYNC = const(2)


def _dec_py(st, data, pos, row):
    """Decode data[pos:END] until the chunk is used up or an EOL is read (EVENT set).
    Returns the position reached. Plain-Python twin of t4fast.dec."""
    dec = _DEC
    dec2 = _DEC2
    tz8 = _TZ8
    acc = st[ACC]
    n = st[NB]
    mode = st[MODE]
    colour = st[COLOUR]
    x = st[X]
    zc = st[ZC]
    pend = st[PEND]
    codes = st[CODES]
    bad = st[BAD]
    width = st[WIDTH]
    msb = st[MSB]
    fill = st[FILL]
    end = st[END]
    ev = 0
    while True:
        while n < 16 and pos < end:
            b = data[pos]
            if msb:
                b = _REV[b]
            acc |= b << n
            n += 8
            pos += 1
        if mode == DATA:
            e = dec[(colour << 8) | (acc & 0xFF)]
            ln = e >> 12
            if ln == 0:
                e = dec2[(e & 0xFFF) + ((acc >> 8) & 31)]
                ln = e >> 12
                if ln == 15:
                    if n < 13:
                        break
                    bad = 1
                    mode = SYNC
                    zc = 0
                    continue
            if ln <= 13:
                if ln > n:
                    break
                acc >>= ln
                n -= ln
                run = e & 0xFFF
                codes += 1
                if x + run > width:
                    bad = 1
                    mode = SYNC
                    zc = 0
                    continue
                if colour and fill and run:
                    a = x
                    b = x + run
                    ia = a >> 3
                    ib = b >> 3
                    if ia == ib:
                        row[ia] |= (0xFF >> (a & 7)) & (0xFF00 >> (b & 7))
                    else:
                        row[ia] |= 0xFF >> (a & 7)
                        ia += 1
                        while ia < ib:
                            row[ia] = 0xFF
                            ia += 1
                        if b & 7:
                            row[ib] |= (0xFF00 >> (b & 7)) & 0xFF
                x += run
                if run < 64:
                    colour ^= 1
                    pend = 0
                else:
                    pend = 1
            elif n < 8:
                break
            elif ln == 14:  # eight zero bits: fill and EOL, or an error
                acc >>= 8
                n -= 8
                zc = 8
                mode = ZEROS
            else:
                bad = 1
                mode = SYNC
                zc = 0
        else:
            if n == 0:
                break
            low = acc & 0xFF
            if low == 0:
                k = 8 if n >= 8 else n
                zc += k
                acc >>= k
                n -= k
                continue
            t = tz8[low]
            zc += t
            acc >>= t + 1
            n -= t + 1
            if zc >= 11:  # EOL
                mode = DATA
                zc = 0
                ev = 1
                break
            if mode == ZEROS:
                bad = 1
                mode = SYNC
            zc = 0
    st[ACC] = acc
    st[NB] = n
    st[MODE] = mode
    st[COLOUR] = colour
    st[X] = x
    st[ZC] = zc
    st[PEND] = pend
    st[CODES] = codes
    st[BAD] = bad
    st[EVENT] = ev
    return pos


_dec = _dec_py
if sys.implementation.name == "micropython":
    try:
        from . import t4fast
        _dec = t4fast.dec
    except (ImportError, SyntaxError, AttributeError):
        pass


class Decoder:
    def __init__(self, width=1728, msb_first=False, sink=None, plain=False):
        if width <= 0 or width & 7:
            raise ValueError("t4: page width must be a positive multiple of 8")
        self.width = width
        self.sink = sink
        self.lines = 0
        self.bad_lines = 0
        self.done = False
        self.started = False
        self.empties = 0
        self.fn = _dec_py if plain else _dec
        st = array.array("i", [0] * NSTATE)
        st[WIDTH] = width
        st[MSB] = 1 if msb_first else 0
        st[MODE] = SYNC  # look for the first EOL
        st[FILL] = 1 if sink else 0
        self.st = st
        nb = width >> 3
        self.row = bytearray(nb)
        self.prev = bytearray(nb)
        self._zero = bytes(nb)

    def feed(self, data):
        """Decode one chunk of page data (any size)."""
        if self.done:
            return
        st = self.st
        st[END] = len(data)
        pos = 0
        fn = self.fn
        while True:
            pos = fn(st, data, pos, self.row)
            if not st[EVENT]:
                return
            self._eol()
            if self.done:
                return

    def _eol(self):
        st = self.st
        sink = self.sink
        if not self.started:
            self.started = True
        elif st[BAD]:
            self.bad_lines += 1
            self.empties = 0
            if sink:
                sink(self.prev, False)
        elif st[CODES] == 0:
            self.empties += 1
            if self.empties >= 5:  # with the EOL before, six in a row: RTC
                self.done = True
        else:
            self.empties = 0
            if st[X] == self.width and not st[PEND]:
                self.lines += 1
                if sink:
                    sink(self.row, True)
                    self.row, self.prev = self.prev, self.row
            else:
                self.bad_lines += 1
                if sink:
                    sink(self.prev, False)
        st[X] = 0
        st[COLOUR] = 0
        st[PEND] = 0
        st[CODES] = 0
        st[BAD] = 0
        st[EVENT] = 0
        if sink:
            self.row[:] = self._zero

    def end(self):
        """The page data is over: count a started, unfinished line as bad."""
        st = self.st
        if not self.done and self.started and (st[CODES] or st[BAD]):
            self.bad_lines += 1
            if self.sink:
                self.sink(self.prev, False)
        st[CODES] = 0
        st[BAD] = 0
        self.done = True
        return self.lines, self.bad_lines
