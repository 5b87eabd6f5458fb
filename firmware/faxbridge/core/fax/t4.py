"""T.4 one-dimensional Modified Huffman encoding, one scan line at a time (sans-I/O).

Rows are packed like PBM P4: 8 pixels a byte, first pixel in the top bit, 1 = black; a row
of a page `width` pixels wide is width // 8 bytes (every WD width is a multiple of 8).

Every coded line is data, zero fill, EOL, with the EOL ending on a byte boundary, padded so
the line lasts at least the minimum scan time at the bit rate (T.4 4.1.3). So every line is a
whole number of bytes, LSB-first (the first bit sent is bit 0: the wire order of +FBOR=0);
`reverse(buf, n)` turns that into MSB-first (netpbm files, pre-standard Class 2 modems).

PageEncoder is a page source: `readinto(buf) -> n` gives EOL, the coded rows, RTC (six EOLs,
T.4 4.1.4) and one zero byte after it (efax needs a byte after the RTC), then 0.

The loops come from t4fast (viper) on MicroPython, from t4py (plain Python) on CPython; the
session numbers (widths, bit rates, scan times, page lengths) are params.py's.
"""
import sys

from . import params

# Every port the unit runs on (ESP32 xtensawin, unix) has the native emitter: on MicroPython
# the viper twins, on CPython the plain loops. tools/build.py leaves the branch MicroPython
# never takes out of the board's modules.
if sys.implementation.name == "micropython":
    from . import t4fast as _loops
else:
    from . import t4py as _loops

encode_line = _loops.enc
reverse = _loops.rev
_copy = _loops.copy


def min_bits(bps, ms):
    """Fewest bits a coded line (data + fill + EOL) must have."""
    return (bps * ms + 999) // 1000


def max_line_bytes(width, minbits=0, text=False):
    """Room one coded line can need: 4.5 bits a pixel at worst (alternating runs of 1),
    a white run 0, fill up to the scan time and the EOL. text: a row textpage draws, at most
    1 bit a pixel (docs/t4.md "Line buffer"), so width // 8 and 5 bytes for the margins."""
    return ((width >> 3) + 5 if text else (width * 9) // 16) + 8 + minbits // 8 + 4


class PageEncoder:
    """A page source: rows in, MH page bytes out through `readinto`.

    rows: an object with `readrow(row) -> bool` that fills a bytearray of width // 8 bytes
    (True) or says the page has no more rows (False). `lines` counts the rows coded so far.
    configure(dcs), before the first readinto: the bit rate and scan time of the negotiated
    +FDCS (the Class 2 driver calls it). The line buffer is made at the first readinto
    (app/pages.FilePage makes it itself, by the page's kind); reset(rows, minbits, text)
    starts the next page in the same buffers (one encoder for every page: FilePage).
    """

    def __init__(self, rows, width=1728, bps=14400, ms=0, msb_first=False, max_lines=0):
        if width <= 0 or width & 7 or width > 0xFFF8:
            raise ValueError("t4: page width must be a positive multiple of 8")
        self.width = width
        self.msb_first = msb_first
        self.max_lines = max_lines
        self.row = bytearray(width >> 3)
        self._buf = None
        self.reset(rows, min_bits(bps, ms))

    def reset(self, rows, minbits, text=False):
        """Start the next page; text: its rows are textpage's (a smaller line buffer)."""
        self.rows = rows
        self.minbits = minbits
        self.text_rows = text
        self.lines = 0
        self._at = 0  # read position << 16 | end of the coded bytes in the line buffer
        self._stage = 0  # 0 first EOL, 1 rows, 2 RTC sent, 3 done

    def configure(self, dcs):
        if not self._stage:   # the fill of the lines already coded is fixed
            self.minbits = min_bits(params.bit_rate(dcs), params.scan_time_ms(dcs))

    def readinto(self, buf):
        """Copy the next page bytes into buf; 0 when the page is done (buf must not be empty)."""
        want = len(buf)
        if not want:
            raise ValueError("t4: readinto needs a non-empty buffer")
        line = self._buf
        if not self._stage:     # the first read of a page: room for its longest line
            k = max_line_bytes(self.width, self.minbits, self.text_rows)
            if line is None or len(line) < k:
                line = self._buf = bytearray(k)
        pos = self._at
        end = pos & 0xFFFF
        pos >>= 16
        got = 0
        while got < want:
            if pos >= end:  # the next piece of the page into the line buffer
                st = self._stage
                if st == 3:
                    break
                if st == 1:
                    if (self.max_lines and self.lines >= self.max_lines) or not self.rows.readrow(self.row):
                        st = 2
                    else:
                        end = encode_line(self.row, line, self.width, self.minbits)
                        self.lines += 1
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
                if self.msb_first:
                    reverse(line, end)
                pos = 0
            k = end - pos
            if k > want - got:
                k = want - got
            _copy(buf, got, line, (pos << 16) | k)
            pos += k
            got += k
        self._at = (pos << 16) | end
        return got
