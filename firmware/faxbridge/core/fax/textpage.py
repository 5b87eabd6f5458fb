"""Plain text laid out on fax pages with the built-in font, row by row.

    doc = TextPages(text, width=1728, fine=True, station="+81 3 1234 5678",
                    when="2026-11-22 09:30")
    doc.count                      # pages (known before the first is sent: "page n of m")
    rows = doc.page(0)             # a row source: rows.readrow(row) -> bool (doc itself,
                                   # set to page 0: one page at a time)
    t4.PageEncoder(rows, 1728, bps, ms)   # -> page bytes for the modem

text: bytes, str or a binary file-like object with readinto() and seek() (read twice: once
to count pages, once to draw them; only 128 bytes of it in RAM at a time).
Rows are drawn straight into the caller's row: a row that repeats the last one (a font row
drawn 2 or 4 times, white space) into the same buffer leaves it as it is, so the caller
reads the row and does not change it (t4.PageEncoder, the tests' readers).

Layout (decisions, see docs/t4.md): glyphs 5 x 8 in a 6 x 10 cell, drawn 3 times wide
(18 pixels a character, about 2.2 mm at 8 pixels/mm) and 2 times high at 98 dpi, 4 times at
196 dpi (a 5.2 mm line pitch either way). 80 columns on 1728 pixels (fewer on narrow
widths), centred. Every page is the full page length (A4 by default); a header line at the
top names date/time, station id and "Page n of m"; the body starts 10 mm down and stops
10 mm above the bottom. Lines are wrapped at the last space that fits (or cut when a word
is longer than a line); TAB goes to the next multiple of 8; form feed starts a new page;
CR is ignored; other control characters are dropped; each non-ASCII UTF-8 character is
drawn as '?'.
"""
from micropython import const

from . import params

_CELL_W = const(18)  # pixels a column: 5 glyph pixels + 1 gap, 3 times wide
_CELL_H = const(10)  # font rows a text line: 8 glyph rows + 2 gap rows
_HEADER_TOP = const(8)  # lines (98 dpi) above the header
_BODY_TOP = const(40)  # lines (98 dpi) from the page top to the first body line (about 10 mm)
_BOTTOM = const(40)  # lines (98 dpi) kept white at the bottom
_MIN_MARGIN = const(64)  # pixels at least left and right (8 mm)

_PAGEBREAK = const(-1)  # next() results; >= 0 is a text line of that many characters
_END = const(-2)
_NONE = const(-3)  # no peeked result

# the renderer's integer state, one array "i" (s) rather than an attribute each: fewer slots
# in the instance's dict (its table grows in steps, each step a new table)
_POS = const(0)  # next byte in chunk
_LEN = const(1)  # bytes in chunk
_EOF = const(2)  # the text is read to its end
_NCARRY = const(3)  # characters in carry
_PFF = const(4)  # a form feed is due after the line returned
_LA = const(5)  # a peeked result (_NONE: none), its text in labuf
_AT = const(6)  # the page the layout stands at the start of (-1: inside a page)
_INDEX = const(7)  # the page being drawn
_Y = const(8)  # its next scan line
_NTEXT = const(9)  # characters in text
_TLINE = const(10)  # which text line `text` holds (-1 header, -2 none)
_CACHED = const(11)  # what `last` holds: text line << 4 | font row, -2 white, -1 unknown
_DONE = const(12)  # the layout reached a page break or the end of this page
TAKEN = const(13)  # body text lines taken on this page (tests read s[TAKEN])

# a 5-pixel glyph row v drawn 3 times wide: 15 bits, leftmost pixel in bit 14 (each bit of v
# three times; host_tests/core/test_t4_pages.py checks the drawn pixels)
_WIDE = const((0, 7, 56, 63, 448, 455, 504, 511, 3584, 3591, 3640, 3647, 4032, 4039, 4088, 4095,
               28672, 28679, 28728, 28735, 29120, 29127, 29176, 29183, 32256, 32263, 32312, 32319,
               32704, 32711, 32760, 32767))


def _ascii(s):
    if isinstance(s, str):
        s = s.encode()
    for c in s:
        if not 0x20 <= c < 0x7F:
            break
    else:
        return s        # printable ASCII already (the usual case): nothing built
    return bytes(c if 0x20 <= c < 0x7F else 0x3F for c in s if c < 0x80 or c >= 0xC0)


class TextPages:
    """The text's pages and, after page(index), the row source of that page: one object reads
    the text (the layout: text lines of at most `cols` characters) and draws the page (each
    font row drawn once and repeated vs times). One page at a time. TextPages(None, ...) makes
    the buffers only; open(text, station, when) takes a text into them (one renderer for
    every page: app/pages.FilePage)."""

    def __init__(self, text, width=1728, fine=True, station="", when="", page_lines=0, cols=0):
        if width <= 0 or width & 7:
            raise ValueError("text: page width must be a positive multiple of 8")
        # few attributes: each one is a slot of the instance's dict
        self.width = width
        self.vs = 4 if fine else 2  # scan lines a font row (2: 98 dpi, 4: 196 dpi)
        self.page_lines = page_lines or params.PAGE_LINES[1 if fine else 0][0]  # A4
        cols = min(cols or 80, (width - 2 * _MIN_MARGIN) // _CELL_W)
        if cols < 10:
            raise ValueError("text: page too narrow")
        self.cols = cols
        self.left = (width - cols * _CELL_W) // 2
        scale = 2 if fine else 1
        self.body_lines = (self.page_lines - (_BODY_TOP + _BOTTOM) * scale) // (_CELL_H * self.vs)
        if self.body_lines < 1:
            raise ValueError("text: page too short")
        from array import array     # here, not module names (array, io): once per renderer
        self.s = array("i", (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))  # a constant
        self.chunk = bytearray(128)
        self.carry = bytearray(cols)  # wrapped part of a word carried to the next line
        self.labuf = bytearray(cols)  # the text of a peeked result
        self.text = bytearray(cols)  # the text line being drawn
        self.zero = self.glyphs = self.last = None  # white row and font: made by the first page()
        self.count = 0
        if text is not None:
            self.open(text, station, when)

    def open(self, text, station="", when="", count=0):
        """Take `text` (see the module's docstring): its pages are counted (self.count), or
        `count` is taken as theirs (the same text and header opened again: the text is not
        laid out twice, the header's left part is kept)."""
        if isinstance(text, str):
            text = text.encode()
        if not hasattr(text, "readinto"):   # bytes-like (no tuple of types made per open)
            from io import BytesIO
            text = BytesIO(bytes(text))
        if not count:
            station = _ascii(station)
            when = _ascii(when)
            self.head = when + (b"  " if when and station else b"") + station  # the header's left
        self.f = text
        s = self.s
        pages = count
        while True:
            text.seek(0)    # the layout at the text's start (again: page() of an earlier page)
            s[_POS] = s[_LEN] = s[_EOF] = s[_NCARRY] = s[_PFF] = 0
            s[_LA] = _NONE
            if count:
                break
            while True:     # the pages counted: the layout run once through the text
                pages += 1
                taken = 0
                kind = 0
                while taken < self.body_lines:
                    kind = self.next(self.text)
                    if kind < 0:
                        break
                    taken += 1
                if kind >= 0 and self.peek() == _PAGEBREAK:  # a full page: a form feed right
                    s[_LA] = _NONE                            # after it makes no empty page
                if kind == _END or self.peek() == _END:
                    break
            count = pages
        self.count = count
        s[_AT] = 0

    def header(self, index):
        """Lay the header of page index (0-based) out in self.text, cols characters at most, and
        return its length: the time and station on the left, "Page n of m" on the right (alone,
        cut at cols, when the two do not fit). Written in place, digit by digit: nothing is made
        per page (it is drawn while the page streams to the modem)."""
        t = self.text
        cols = self.cols
        a = index + 1
        b = self.count
        n = 11                      # "Page a of b" with one digit each
        v = a
        while v > 9:
            n += 1
            v //= 10
        v = b
        while v > 9:
            n += 1
            v //= 10
        e = cols
        room = cols - n - 2
        if room < 0:                # no room for the left part: the right one from column 0
            e = n
        else:
            left = self.head
            k = min(len(left), room)
            for i in range(k):
                t[i] = left[i]
            for i in range(k, cols - n):
                t[i] = 0x20
        for k in range(4):          # from the right: b, " of ", a, "Page "
            if k & 1:
                w = b" of " if k == 1 else b"Page "
                for j in range(len(w) - 1, -1, -1):
                    e -= 1
                    if e < cols:
                        t[e] = w[j]
            else:
                v = b if k == 0 else a
                while True:
                    e -= 1
                    if e < cols:
                        t[e] = 0x30 + v % 10
                    v //= 10
                    if not v:
                        break
        return cols if room >= 0 else min(n, cols)

    def page(self, index):
        """Page index (0-based) as a row source (readrow(row) -> bool): this object, set to
        the page's start. Pages are cheapest taken in order."""
        if not 0 <= index < self.count:
            raise IndexError("text: no page %d" % index)
        s = self.s
        if index != s[_AT]:
            self.open(self.f, "", "", self.count)   # back to the text's start, counted already
        while True:  # each page from s[_AT]: the ones before index taken without drawing
            s[_INDEX] = s[_AT]
            s[_Y] = s[_NTEXT] = s[_DONE] = s[TAKEN] = 0
            s[_TLINE] = -2
            s[_CACHED] = -1
            self.last = None  # the caller's row buffer last filled
            if s[_AT] == index:
                break
            while self._take():
                pass
            self._finish()
        s[_AT] = -1
        if self.zero is None:
            from . import font  # only when a text page is drawn
            self.glyphs = font.GLYPHS
            self.zero = bytes(self.width >> 3)
        return self

    # ---- the layout: the text stream as text lines
    def peek(self):
        """The next result of next(), without taking it."""
        s = self.s
        if s[_LA] == _NONE:
            s[_LA] = self._read(self.labuf)
        return s[_LA]

    def next(self, line):
        """Fill line (bytearray(cols)) -> n >= 0 (a text line of n characters), _PAGEBREAK
        or _END. No allocation (it runs once a text line while a page is sent)."""
        s = self.s
        r = s[_LA]
        if r == _NONE:
            return self._read(line)
        s[_LA] = _NONE
        lb = self.labuf
        for i in range(r):
            line[i] = lb[i]
        return r

    def _read(self, line):
        s = self.s
        if s[_PFF]:
            s[_PFF] = 0
            return _PAGEBREAK
        cols = self.cols
        n = s[_NCARRY]
        carry = self.carry
        for i in range(n):
            line[i] = carry[i]
        s[_NCARRY] = 0
        chunk = self.chunk
        pos = s[_POS]
        end = s[_LEN]
        r = _END
        while True:
            if pos >= end:
                k = 0 if s[_EOF] else self.f.readinto(chunk)
                if not k:
                    s[_EOF] = 1
                    if n:
                        r = n
                    break
                pos = 0
                end = k
            c = chunk[pos]
            pos += 1
            if c == 0x0A:
                r = n
                break
            if c == 0x0C:
                if n:
                    s[_PFF] = 1
                    r = n
                else:
                    r = _PAGEBREAK
                break
            if c == 0x09:
                stop = (n // 8 + 1) * 8
                if stop >= cols:
                    r = n
                    break
                while n < stop:
                    line[n] = 0x20
                    n += 1
                continue
            if c < 0x20 or c == 0x7F or 0x80 <= c < 0xC0:
                continue  # control characters, UTF-8 continuation bytes
            if c >= 0xC0:
                c = 0x3F
            if n < cols:
                line[n] = c
                n += 1
                continue
            # the line is full: wrap at the last space, carry the word's start over
            r = n
            if c == 0x20:
                break
            sp = n - 1
            while sp >= 0 and line[sp] != 0x20:
                sp -= 1
            if sp < 0:  # one word longer than the line: cut it
                carry[0] = c
                s[_NCARRY] = 1
                break
            k = n - sp - 1
            for i in range(k):
                carry[i] = line[sp + 1 + i]
            carry[k] = c
            s[_NCARRY] = k + 1
            r = sp
            break
        s[_POS] = pos
        s[_LEN] = end
        return r

    # ---- the page: rows drawn from the text lines
    def _take(self):
        # next body text line into self.text; False when the page has no more
        s = self.s
        if s[_DONE] or s[TAKEN] >= self.body_lines:
            return False
        n = self.next(self.text)
        if n < 0:
            s[_DONE] = 1  # a form feed or the end of the text
            return False
        s[_NTEXT] = n
        s[TAKEN] += 1
        return True

    def _finish(self):
        s = self.s
        if not s[_DONE]:
            s[_DONE] = 1
            if self.peek() == _PAGEBREAK:   # a full page: as in open's count
                s[_LA] = _NONE
        s[_AT] = s[_INDEX] + 1

    def readrow(self, row):
        s = self.s
        y = s[_Y]
        if y >= self.page_lines:
            if s[_AT] < 0:
                self._finish()
            return False
        s[_Y] = y + 1
        vs = self.vs
        pitch = _CELL_H * vs
        top = _HEADER_TOP * vs >> 1  # scan lines above the header at this resolution
        body = _BODY_TOP * vs >> 1
        line = -2  # white
        if top <= y < top + 8 * vs:
            line = -1
            frow = (y - top) // vs
        elif y >= body:
            line = (y - body) // pitch
            frow = ((y - body) % pitch) // vs
            if line >= self.body_lines or frow >= 8:
                line = -2
        if line == -2:
            if s[_CACHED] != -2 or row is not self.last:
                row[:] = self.zero
                s[_CACHED] = -2
                self.last = row
            return True
        t = self.text
        if line != s[_TLINE]:
            if line == -1:
                s[_NTEXT] = self.header(s[_INDEX])
            elif not self._take():
                s[_NTEXT] = 0
            s[_TLINE] = line
        key = ((line + 1) << 4) | frow
        if key != s[_CACHED] or row is not self.last:  # draw the font row into row
            s[_CACHED] = key
            self.last = c = row
            c[:] = self.zero
            wide = _WIDE
            glyphs = self.glyphs
            x = self.left
            g = frow - 0x100  # font row frow of character ch: glyphs[ch * 8 + g] (font.py)
            for i in range(s[_NTEXT]):
                # text holds printable ASCII only (_read, _ascii map everything else)
                v = glyphs[(t[i] << 3) + g]
                if v:
                    p = wide[v] << (9 - (x & 7))  # 15 bits placed in a 24-bit window
                    b = x >> 3
                    c[b] |= p >> 16
                    c[b + 1] |= (p >> 8) & 0xFF
                    c[b + 2] |= p & 0xFF
                x += _CELL_W
        return True
