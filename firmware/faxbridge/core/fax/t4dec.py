"""Streaming T.4 MH page decoder (sans-I/O): data in chunks of any size, good/bad line counts.

    d = Decoder(width=1728, msb_first=False, sink=None, step=None)
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

if sys.implementation.name == "micropython":  # the viper twin (see t4.py)
    from .t4fast import dec as _dec
else:
    from .t4py import dec as _dec

# the state array's fields (t4fast.dec and t4py.dec use the same indices as numbers)
_ACC = const(0)  # bits not yet decoded, first bit in bit 0
_NB = const(1)  # how many bits ACC holds
_MODE = const(2)  # 0 data, 1 eight zero bits seen (EOL or error), 2 skipping to the next EOL
_COLOUR = const(3)  # colour of the next run (0 white, 1 black)
_X = const(4)  # pixels decoded in this line
_ZC = const(5)  # zero bits counted towards an EOL
_PEND = const(6)  # a make-up code waits for its terminating code
_CODES = const(7)  # code words in this line
_BAD = const(8)  # this line is bad
_EVENT = const(9)  # an EOL was just read
_WIDTH = const(10)
_MSB = const(11)  # data is MSB-first
_FILL = const(12)  # draw black runs into the row
_END = const(13)  # length of the current chunk
_NSTATE = const(14)


class Decoder:
    """reset(width, msb_first) starts the next page in the same state (one decoder for every
    received page: app/rx.RxSink); the rows are made only for a sink, and again only when a
    page's width differs."""

    sink = None     # the class's: no slot of the instance's dict without a sink (app/rx.RxSink)

    def __init__(self, width=1728, msb_first=False, sink=None, step=None):
        # step: the decoding loop, the runtime's by default (tests and tools/bench/t4.py pass
        # t4py.dec to run the plain one on MicroPython)
        if sink is not None:
            self.sink = sink
        self.fn = step or _dec
        # _NSTATE zeros, a constant tuple (frozen: in flash): no list built per decoder
        self.st = array.array("i", (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        self.width = 0
        self.row = self.prev = bytearray(1)  # without a sink the decoder draws no row
        self.reset(width, msb_first)

    def reset(self, width=1728, msb_first=False):
        if width <= 0 or width & 7:
            raise ValueError("t4: page width must be a positive multiple of 8")
        self.lines = 0
        self.bad_lines = 0
        self.done = False
        self.started = False
        self.empties = 0
        st = self.st
        for i in range(_NSTATE):
            st[i] = 0
        st[_WIDTH] = width
        st[_MSB] = 1 if msb_first else 0
        st[_MODE] = 2  # look for the first EOL
        st[_FILL] = 1 if self.sink else 0
        if self.sink and width != self.width:
            nb = width >> 3
            self.row = bytearray(nb)
            self.prev = bytearray(nb)
            self._zero = bytes(nb)
        self.width = width

    def feed(self, data):
        """Decode one chunk of page data (any size)."""
        if self.done:
            return
        st = self.st
        st[_END] = len(data)
        pos = 0
        fn = self.fn
        sink = self.sink
        while True:
            pos = fn(st, data, pos, self.row)
            if not st[_EVENT]:
                return
            # an EOL: judge the line it ends
            if not self.started:
                self.started = True
            elif st[_BAD]:
                self.bad_lines += 1
                self.empties = 0
                if sink:
                    sink(self.prev, False)
            elif st[_CODES] == 0:
                self.empties += 1
                if self.empties >= 5:  # with the EOL before, six in a row: RTC
                    self.done = True
            else:
                self.empties = 0
                if st[_X] == self.width and not st[_PEND]:
                    self.lines += 1
                    if sink:
                        sink(self.row, True)
                        self.row, self.prev = self.prev, self.row
                else:
                    self.bad_lines += 1
                    if sink:
                        sink(self.prev, False)
            st[_X] = 0
            st[_COLOUR] = 0
            st[_PEND] = 0
            st[_CODES] = 0
            st[_BAD] = 0
            st[_EVENT] = 0
            if sink:
                self.row[:] = self._zero
            if self.done:
                return

    def end(self):
        """The page data is over: count a started, unfinished line as bad."""
        st = self.st
        if not self.done and self.started and (st[_CODES] or st[_BAD]):
            self.bad_lines += 1
            if self.sink:
                self.sink(self.prev, False)
        st[_CODES] = 0
        st[_BAD] = 0
        self.done = True
        return self.lines, self.bad_lines
