"""T.4 one-dimensional Modified Huffman encoding, one scan line at a time (sans-I/O).

Rows are packed like PBM P4: 8 pixels a byte, first pixel in the top bit, 1 = black; a row
of a page `width` pixels wide is width // 8 bytes (every WD width is a multiple of 8).

Every coded line is data, zero fill, EOL, with the EOL ending on a byte boundary, padded so
the line lasts at least the minimum scan time at the bit rate (T.4 4.1.3). So every line is a
whole number of bytes, LSB-first (the first bit sent is bit 0: the wire order of +FBOR=0);
`reverse(buf, i, n)` turns buf[i:n] into MSB-first (netpbm files, pre-standard Class 2 modems).

PageEncoder is a page source: `readinto(buf) -> n` gives EOL, the coded rows, RTC (six EOLs,
T.4 4.1.4) and one zero byte after it (efax needs a byte after the RTC), then 0.

A row is coded in pieces, straight into the reader's buffer while it has room, else into a
small line buffer (line_room bytes: 64 + the fill of the scan time + a margin, whatever the
width), never whole: a worst row (alternating pixels) codes to 4.5 bits a pixel, 975 bytes
at 1728 pixels, which would need a 1 KB block per page source (docs/t4.md "Line buffer").
The coder's state between pieces is an array "i" (fields below, used as numbers by
t4fast.enc and t4py.enc). The coder stops before an input byte once the piece has reached
its limit, and one input byte codes to at most 13 + width // 1024 bytes, so a piece never
overruns (an input byte closes at most 8 runs: the open one, a make-up and a terminating code
of at most 13 + 12 bits and one extended make-up code of 12 bits per 2 560 pixels, then 7
inside the byte, under 8 pixels, 6 bits at most each; with the 7 bits not yet out and the EOL
(its zeros to a byte boundary) 11 bytes, and 1.5 a 2 560 pixels).

The loops come from t4fast (viper) on MicroPython, from t4py (plain Python) on CPython; the
session numbers (widths, bit rates, scan times, page lengths) are params.py's.
"""
import sys

from micropython import const

from . import params

# Every port the unit runs on (ESP32 xtensawin, unix) has the native emitter: on MicroPython
# the viper twins, on CPython the plain loops. tools/build.py leaves the branch MicroPython
# never takes out of the board's modules.
if sys.implementation.name == "micropython":
    from .t4fast import copy as _copy, enc as encode_line, rev as reverse
else:
    from .t4py import copy as _copy, enc as encode_line, rev as reverse


def min_bits(bps, ms):
    """Fewest bits a coded line (data + fill + EOL) must have."""
    return (bps * ms + 999) // 1000


# The coder's state (PageEncoder's _st, an array "i" of 8): the line's minimum bits, the row's
# width, then where the row stands between pieces (next input byte, 0 once the line is whole;
# colour; open run; bits not yet in a byte and their count; bytes of the line given by the
# pieces before). encode_line(row, out, at << 16 | lim, state) codes a piece of the row into
# out from `at`, stopping before an input byte once `lim` is reached (out must have 16 +
# width // 1024 bytes beyond lim, and room for the fill from `at` if the line starts there);
# it returns where the piece ends, negated until the line is whole.
_E_MIN = const(0)
_E_I = const(2)
_PIECE = const(64)  # coded bytes a piece holds at least beyond the fill
_MARGIN = const(16)  # room past a piece's limit, with width >> 10 more: one input byte and the EOL


def line_room(width, minbits=0):
    """Bytes of the line buffer for lines of `width` pixels lasting at least minbits."""
    return ((minbits + 7) >> 3) + _PIECE + _MARGIN + (width >> 10)


class PageEncoder:
    """A page source: rows in, MH page bytes out through `readinto`.

    rows: an object with `readrow(row) -> bool` that fills a bytearray of width // 8 bytes
    (True) or says the page has no more rows (False). `lines` counts the rows coded so far.
    configure(dcs), before the first readinto: the bit rate and scan time of the negotiated
    +FDCS (the Class 2 driver calls it). The line buffer is made at the first readinto, unless
    one as large is there (app/pages.FilePage makes it when it is made); reset(rows,
    minbits) starts the next page in the same buffers (one encoder for every page: FilePage).
    """

    msb_first = False   # the class's; an encoder's own only when True

    def __init__(self, rows, width=1728, bps=14400, ms=0, msb_first=False):
        if width <= 0 or width & 7 or width > 0xFFF8:
            raise ValueError("t4: page width must be a positive multiple of 8")
        # few fields (a unit's page source adds five: 12 fill a table of 12 slots, 13 would
        # take 17): the width and the lines' minimum bits are the coder's state's (_st)
        if msb_first:
            self.msb_first = True
        self.row = bytearray(width >> 3)
        self._buf = None
        from array import array     # here, not a module name: once per encoder
        self._st = st = array("i", (0, 0, 0, 0, 0, 0, 0, 0))  # a constant: no tuple built
        st[1] = width
        self.reset(rows, min_bits(bps, ms))

    def reset(self, rows, minbits):
        """Start the next page (a row left mid-way by the page before is dropped)."""
        self.rows = rows
        st = self._st
        st[_E_MIN] = minbits
        for i in range(_E_I, 8):
            st[i] = 0
        self.lines = 0
        self._at = 0  # read position << 16 | end of the coded bytes in the line buffer
        self._stage = 0  # 0 first EOL, 1 rows, 2 RTC sent, 3 done

    def configure(self, dcs):
        if not self._stage:   # the fill of the lines already coded is fixed
            self._st[_E_MIN] = min_bits(params.TABLE[1][dcs[1]], params.scan_ms(dcs[7], dcs[0]))

    def readinto(self, buf):
        """Copy the next page bytes into buf (at most 16 383 a call); 0 when the page is done
        (buf must not be empty). A row is coded straight into buf while buf has a line
        buffer's room left, else into the line buffer, from which the next calls take it."""
        want = len(buf)
        if not want:
            raise ValueError("t4: readinto needs a non-empty buffer")
        if want > 0x3FFF:   # at most 16 383 bytes a read: at << 16 | lim stays a small int
            want = 0x3FFF   # on the ESP32 (31 bits), and a viper int
        line = self._buf
        c = self._st
        w = c[1]                # the width
        if not self._stage:     # the first read of a page: room for its fill and a piece
            k = line_room(w, c[_E_MIN])
            if line is None or len(line) < k:
                line = self._buf = None     # the smaller one let go first
                line = self._buf = bytearray(k)
        room = len(line)
        lim = want - _MARGIN - (w >> 10)    # where a piece coded into buf stops
        row = self.row
        msb = self.msb_first
        part = c[_E_I]              # a row coded in part by the call before
        pos = self._at
        end = pos & 0xFFFF
        pos >>= 16
        got = 0
        while got < want:
            if pos < end:       # what the line buffer holds first
                k = end - pos
                if k > want - got:
                    k = want - got
                _copy(buf, got, line, (pos << 16) | k)
                pos += k
                got += k
                continue
            st = self._stage    # the next piece of the page
            if st == 3:
                break
            if st == 1:
                if not part:        # a new row (else the rest of one coded in part)
                    if not self.rows.readrow(row):
                        st = 2
                    else:
                        self.lines += 1
                if st == 1:
                    if want - got >= room:  # into buf itself: no copy
                        k = encode_line(row, buf, (got << 16) | lim, c)
                        part = k < 0
                        if part:
                            k = -k
                        if msb:
                            reverse(buf, got, k)
                        got = k
                        continue
                    end = encode_line(row, line, room - want + lim, c)
                    part = end < 0
                    if part:
                        end = -end
            if st == 0:
                line[0] = 0
                line[1] = 0x80
                end = 2
                st = 1
            elif st == 2:
                for i in range(0, 10, 2):  # five more EOLs: with the last row's, six (RTC)
                    line[i] = 0
                    line[i + 1] = 0x80
                line[10] = 0  # a byte after the RTC (efax)
                end = 11
                st = 3
            self._stage = st
            if msb:
                reverse(line, 0, end)
            pos = 0
        self._at = (pos << 16) | end
        return got
