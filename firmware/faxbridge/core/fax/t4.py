"""T.4 one-dimensional Modified Huffman encoding, one scan line at a time (sans-I/O).

Rows are packed like PBM P4: 8 pixels a byte, first pixel in the top bit, 1 = black; a row
of a page `width` pixels wide is width // 8 bytes (every WD width is a multiple of 8).

Every coded line is data, zero fill, EOL, with the EOL ending on a byte boundary, padded so
the line lasts at least the minimum scan time at the bit rate (T.4 4.1.3). So every line is a
whole number of bytes, LSB-first (the first bit sent is bit 0: the wire order of +FBOR=0);
`reverse(buf, n)` turns that into MSB-first (netpbm files, pre-standard Class 2 modems).

PageEncoder is a page source: `readinto(buf) -> n` gives EOL, the coded rows, RTC (six EOLs,
T.4 4.1.4) and one zero byte after it (efax needs a byte after the RTC), then 0.
"""
import sys

from micropython import const

from . import mhcodes

mhcodes.build()
TERM = mhcodes.TERM
MAKEUP = mhcodes.MAKEUP

# Class 2 session parameters (seed 001 5.5, Table 5-2 values as efax and EIA-592 use them)
WIDTHS = (1728, 2048, 2432, 1216, 864)  # WD 0..4, pixels per line
BITRATES = (2400, 4800, 7200, 9600, 12000, 14400)  # BR 0..5, bit/s
SCAN_MS = ((0, 5, 10, 10, 20, 20, 40, 40),  # ST 0..7 at VR=0 (normal, 98 dpi), ms per line
           (0, 5, 5, 10, 10, 20, 20, 40))  # ST 0..7 at VR=1 (fine, 196 dpi): even ST halve
PAGE_LINES = ((1143, 1401, 0), (2287, 2802, 0))  # LN 0 A4 297 mm, 1 B4 364 mm, 2 unlimited

WHITE = const(0)
BLACK = const(1)

REV = mhcodes.REV  # 256-byte bit-reversal table
LZ8 = mhcodes.LZ8
SENT = mhcodes.SENT

EOL_BYTES = b"\x00\x80"  # one EOL ending on a byte boundary, wire order


def scan_ms(st, vr):
    """Minimum scan time (ms) for Class 2 ST 0..7 at VR 0/1."""
    return SCAN_MS[1 if vr else 0][st]


def min_bits(bps, ms):
    """Fewest bits a coded line (data + fill + EOL) must have."""
    return (bps * ms + 999) // 1000


def max_line_bytes(width, minbits=0):
    """Room one coded line can need: 4.5 bits a pixel at worst (alternating runs of 1),
    a white run 0, fill up to the scan time and the EOL."""
    return (width * 9) // 16 + 8 + minbits // 8 + 4


def _enc_py(row, out, width, minbits):
    """Encode one row into out[0:]: MH data, fill, EOL. Returns the byte count."""
    term = TERM
    mkup = MAKEUP
    lz8 = LZ8
    sent = SENT
    acc = 0
    n = 0
    p = 0
    colour = 0
    run = 0
    nb = width >> 3
    i = 0
    while i <= nb:
        if i < nb:
            v = row[i]
            if colour:
                v ^= 0xFF
            i += 1
            if v == 0:
                run += 8
                continue
            k = 8
        else:
            i += 1
            v = 0x80  # the end of the line: close the last run
            k = 1
        while True:
            z = lz8[v]
            if z >= k:
                run += k
                break
            run += z
            # code the run (T.4 4.1.1: make-up then terminating code)
            while run > 2623:
                e = mkup[colour * 41 + 40]
                acc |= (e >> 4) << n
                n += e & 15
                run -= 2560
                while n >= 8:
                    out[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            if run > 63:
                e = mkup[colour * 41 + (run >> 6)]
                acc |= (e >> 4) << n
                n += e & 15
                run &= 63
                while n >= 8:
                    out[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            e = term[colour * 64 + run]
            acc |= (e >> 4) << n
            n += e & 15
            while n >= 8:
                out[p] = acc & 0xFF
                p += 1
                acc >>= 8
                n -= 8
            run = 0
            colour ^= 1
            k -= z
            v = ((((v << z) ^ 0xFF) & 0xFF) | sent[k])
            if i > nb:
                break
    # fill and EOL: zeros so the line has minbits and the EOL's 1 is a byte's last bit
    need = p * 8 + n + 12
    if need < minbits:
        need = minbits
    end = (need + 7) >> 3
    if n:
        out[p] = acc
        p += 1
    while p < end:
        out[p] = 0
        p += 1
    out[end - 1] |= 0x80
    return end


def _rev_py(buf, n):
    rev = REV
    for i in range(n):
        buf[i] = rev[buf[i]]


def _copy_py(dst, doff, src, sn):
    soff = sn >> 16
    n = sn & 0xFFFF
    for i in range(n):
        dst[doff + i] = src[soff + i]
    return n


FAST = None
encode_line = _enc_py
reverse = _rev_py
_copy = _copy_py
if sys.implementation.name == "micropython":
    try:
        from . import t4fast as FAST  # viper twins of the hot loops
        encode_line = FAST.enc
        reverse = FAST.rev
        _copy = FAST.copy
    except (ImportError, SyntaxError):  # a port without the native emitter
        FAST = None
else:
    def _copy_cp(dst, doff, src, sn):
        soff = sn >> 16
        n = sn & 0xFFFF
        dst[doff:doff + n] = src[soff:soff + n]
        return n

    _copy = _copy_cp


def use_plain(flag=True):
    """Switch this module to the plain-Python loops (tests and benchmarks)."""
    global encode_line, reverse, _copy
    if flag or FAST is None:
        encode_line, reverse = _enc_py, _rev_py
        _copy = _copy_py if sys.implementation.name == "micropython" else _copy
    else:
        encode_line, reverse, _copy = FAST.enc, FAST.rev, FAST.copy


class PageEncoder:
    """A page source: rows in, MH page bytes out through `readinto`.

    rows: an object with `readrow(row) -> bool` that fills a bytearray of width // 8 bytes
    (True) or says the page has no more rows (False). `lines` counts the rows coded so far.
    """

    def __init__(self, rows, width=1728, bps=14400, ms=0, msb_first=False, max_lines=0):
        if width <= 0 or width & 7 or width > 0xFFF8:
            raise ValueError("t4: page width must be a positive multiple of 8")
        self.rows = rows
        self.width = width
        self.minbits = min_bits(bps, ms)
        self.msb_first = msb_first
        self.max_lines = max_lines
        self.lines = 0
        self.row = bytearray(width >> 3)
        self._buf = bytearray(max_line_bytes(width, self.minbits))
        self._pos = 0
        self._end = 0
        self._stage = 0  # 0 first EOL, 1 rows, 2 RTC sent, 3 done

    def _next(self):
        # fill _buf with the next piece of the page; False when the page is done
        buf = self._buf
        st = self._stage
        if st == 1:
            if (self.max_lines and self.lines >= self.max_lines) or not self.rows.readrow(self.row):
                st = 2
            else:
                n = encode_line(self.row, buf, self.width, self.minbits)
                self.lines += 1
        if st == 0:
            buf[0] = 0
            buf[1] = 0x80
            n = 2
            st = 1
        elif st == 2:
            for i in range(0, 10, 2):  # five more EOLs: with the last row's, six (RTC)
                buf[i] = 0
                buf[i + 1] = 0x80
            buf[10] = 0  # a byte after the RTC (efax)
            n = 11
            st = 3
        elif st == 3:
            return False
        self._stage = st
        if self.msb_first:
            reverse(buf, n)
        self._pos = 0
        self._end = n
        return True

    def readinto(self, buf):
        """Copy the next page bytes into buf; 0 when the page is done (buf must not be empty)."""
        want = len(buf)
        if not want:
            raise ValueError("t4: readinto needs a non-empty buffer")
        got = 0
        while got < want:
            if self._pos >= self._end and not self._next():
                break
            k = self._end - self._pos
            if k > want - got:
                k = want - got
            _copy(buf, got, self._buf, (self._pos << 16) | k)
            self._pos += k
            got += k
        return got


class BytesRows:
    """Rows from a bytes-like bitmap (width // 8 bytes a row): for tests and small images."""

    def __init__(self, data, width):
        self.data = data
        self.nb = width >> 3
        self.pos = 0

    def readrow(self, row):
        p = self.pos
        if p + self.nb > len(self.data):
            return False
        row[:] = self.data[p:p + self.nb]
        self.pos = p + self.nb
        return True

