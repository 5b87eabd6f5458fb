"""Helpers for the T.4 tests (both runtimes): make pages, collect decoded rows."""
import os

from faxbridge.core.fax import params, t4, t4dec, t4py

WIDTHS = params.TABLE[2]  # the WD row of Table 5-2: every width a page can have
END = -2  # textpage's TextPages.next(): the end of the text


def glyph_row(ch, r):
    """Row r (0..7) of character code ch in the font (bit 4 = left pixel), '?' outside 0x20..0x7E."""
    from faxbridge.core.fax import font
    if ch < 0x20 or ch > 0x7E:
        ch = 0x3F
    return font.GLYPHS[(ch - 0x20) * 8 + r]


def random_rows(width, height, seed=None):
    return bytes(os.urandom((width >> 3) * height))


def pattern_rows(width, height, kind):
    nb = width >> 3
    out = bytearray(nb * height)
    for y in range(height):
        for i in range(nb):
            if kind == "white":
                v = 0
            elif kind == "black":
                v = 0xFF
            elif kind == "alt":  # alternating pixels, the same on every row
                v = 0xAA
            elif kind == "checker1":  # one-pixel checkerboard
                v = 0xAA if y & 1 else 0x55
            elif kind == "checker8":  # 8 x 8 squares
                v = 0xFF if ((y >> 3) + i) & 1 else 0
            elif kind == "edges":  # black first and last pixel, white between
                v = (0x80 if i == 0 else 0) | (1 if i == nb - 1 else 0)
            else:
                raise ValueError(kind)
            out[y * nb + i] = v
    return bytes(out)


def code_line(row, width, minbits=0, room=0, fn=None):
    """One row coded whole by fn (t4.encode_line) through pieces of `room` bytes (0: the line
    buffer PageEncoder makes, t4.line_room): (the line's bytes, how many pieces)."""
    fn = fn or t4.encode_line
    out = bytearray(room or t4.line_room(width, minbits))
    st = t4.PageEncoder(None, width)._st   # the coder's state (t4.py): a new line's
    st[0] = minbits
    lim = len(out) - 16 - (width >> 10)   # the coder's margin (t4.py)
    line = bytearray()
    pieces = 0
    while True:
        n = fn(row, out, lim, st)
        assert 0 < abs(n) <= len(out) and (n < 0) == (st[2] != 0), (n, len(out))
        line += out[:abs(n)]
        pieces += 1
        if n > 0:   # the line is whole
            return bytes(line), pieces


def encode(rows, width, bps=14400, ms=0, msb_first=False, chunk=97):
    pe = t4.PageEncoder(t4py.BytesRows(rows, width), width, bps, ms, msb_first)
    return read_all(pe, chunk)


def read_all(src, chunk=97):
    out = bytearray()
    buf = bytearray(chunk)
    while True:
        n = src.readinto(buf)
        if not n:
            return bytes(out)
        out += buf[:n]


class Rows:
    """A row sink that keeps every row and its verdict."""

    def __init__(self):
        self.rows = []
        self.good = []

    def __call__(self, row, good):
        self.rows.append(bytes(row))
        self.good.append(good)

    def bitmap(self):
        return b"".join(self.rows)


def decode(data, width, msb_first=False, chunk=None, plain=False):
    sink = Rows()
    d = t4dec.Decoder(width, msb_first, sink, t4py.dec if plain else None)
    if chunk is None:
        d.feed(data)
    else:
        for i in range(0, len(data), chunk):
            d.feed(data[i:i + chunk])
    d.end()
    return d, sink


SAMPLE_TEXT = ("Invoice 2026-11-22  No. 0042\n\nDear customer,\n\n" +
               "The quick brown fox jumps over the lazy dog; THE QUICK BROWN FOX 0123456789 {}[]()<>\n" * 40 +
               "\n\tTotal: 1,234.00 JPY\n")


def text_page_rows(text=SAMPLE_TEXT, width=1728, fine=True):
    """The first page of a text drawn by textpage: (rows, height)."""
    from faxbridge.core.fax import textpage
    doc = textpage.TextPages(text, width, fine=fine, station="+81 3 5555 0100", when="2026-11-22 09:30")
    src = doc.page(0)
    row = bytearray(width >> 3)
    out = bytearray()
    while src.readrow(row):
        out += row
    return bytes(out), doc.page_lines
