"""PBM (P4 raw and P1 plain) read row by row from a stream, fitted to the page width.

    rows = PbmRows(f, width=1728)     # f: any object with readinto(buf) (a file, BytesIO)
    rows.src_width, rows.src_height, rows.kind   # from the header ("P4" or "P1")
    rows.readrow(row) -> bool         # next row into a bytearray of width // 8 bytes

Fitting (like netpbm's pbmtog3): the image keeps its left edge; wider images are cut on
the right, narrower ones are padded with white on the right. Rows are sent one scan line
each (no vertical scaling). At most one page row of the image is in RAM at a time. A malformed header or a
raster that ends early raises ValueError("pbm: ...").
"""

import sys

from micropython import const

if sys.implementation.name == "micropython":  # the viper twin (see t4.py)
    from .t4fast import p1row as _p1row
else:
    from .t4py import p1row as _p1row

_MAX_WIDTH = const(16384)  # refuse wider headers (the number is sane; a row is read in page-width pieces)

# P1 scanner state (array "i"), shared with t4fast.p1row and t4py.p1row (as numbers there)
_P_POS = const(0)  # next byte in the chunk
_P_END = const(1)  # bytes in the chunk
_P_X = const(2)  # pixels of this row read so far
_P_W = const(3)  # pixels in an image row
_P_KEEP = const(4)  # pixels kept (the rest are cut)
_P_BAD = const(5)  # set when a byte is neither 0, 1 nor whitespace


class PbmRows:
    """PbmRows(None, width) makes the buffers only; open(f) reads a header into them (one
    reader for every page: app/pages.FilePage)."""

    # made by the first image that needs them (class-level None until then: an instance dict
    # of 12 slots for a plain P4, not 17, and fewer tables left behind as it grows)
    _zero = None  # white, for the bytes right of a narrow image
    _scr = None  # 32 bytes through which a wide P4 row's right part is skipped
    _chunk = None  # P1 digits as read, and the P1 scanner's state (_st)

    def __init__(self, f, width=1728):
        if width <= 0 or width & 7:
            raise ValueError("pbm: page width must be a positive multiple of 8")
        self.width = width
        self._one = bytearray(1)
        if f is not None:
            self.open(f)

    def open(self, f):
        self.f = f
        self._peek = -1
        magic = self._byte(), self._byte()
        if magic == (0x50, 0x34):
            self.kind = "P4"
        elif magic == (0x50, 0x31):
            self.kind = "P1"
        else:
            raise ValueError("pbm: not a PBM file (no P1/P4 magic)")
        self.src_width = self._number("width")
        self.src_height = self._number("height")
        if self.src_width < 1 or self.src_height < 1 or self.src_width > _MAX_WIDTH:
            raise ValueError("pbm: bad size %dx%d" % (self.src_width, self.src_height))
        c = self._peek if self._peek >= 0 else self._byte()
        self._peek = -1
        if c not in (0x20, 0x09, 0x0A, 0x0D):
            raise ValueError("pbm: no whitespace after the header")
        self.y = 0
        width = self.width
        w = self.src_width
        keep = w if w < width else width  # pixels kept from each image row
        kb = self._kb = (keep + 7) >> 3  # bytes holding them
        self._pad = None  # white bytes on the right
        if kb < width >> 3:
            if self._zero is None:
                self._zero = bytes(width >> 3)
            self._pad = memoryview(self._zero)[kb:]
        self._row = None  # the caller's row buffer and a view of its kept bytes
        if self.kind == "P4":
            skip = ((w + 7) >> 3) - kb  # bytes cut on the right of each image row
            if skip:
                if self._scr is None:
                    self._scr = memoryview(bytearray(32))
                self._scrtail = self._scr[:skip & 31]
        else:
            if self._chunk is None:
                from array import array     # here, not a module name: the first P1 image
                self._chunk = bytearray(256)
                self._st = array("i", (0, 0, 0, 0, 0, 0))  # a constant: no list built
            st = self._st
            for i in range(6):
                st[i] = 0
            st[_P_W] = w
            st[_P_KEEP] = keep
        return self

    # header --------------------------------------------------------------------------
    def _byte(self):
        if self._peek >= 0:
            c = self._peek
            self._peek = -1
            return c
        if not self.f.readinto(self._one):
            raise ValueError("pbm: header ends early")
        return self._one[0]

    def _number(self, what):
        c = self._byte()
        while True:  # whitespace and comments before the number
            if c == 0x23:  # '#': comment to the end of the line
                while c not in (0x0A, 0x0D):
                    c = self._byte()
            elif c in (0x20, 0x09, 0x0A, 0x0D):
                c = self._byte()
            else:
                break
        if not 0x30 <= c <= 0x39:
            raise ValueError("pbm: bad %s in header" % what)
        v = 0
        while 0x30 <= c <= 0x39:
            v = v * 10 + c - 0x30
            if v > 1000000:
                raise ValueError("pbm: %s too large" % what)
            c = self._byte()
        self._peek = c
        return v

    # raster --------------------------------------------------------------------------
    def readrow(self, row):
        """Fill row (width // 8 bytes) with the next image row; False after the last."""
        if self.y >= self.src_height:
            return False
        kb = self._kb
        if self.kind == "P4":
            # the kept bytes straight into the row (one view of it, made for the first row),
            # the bytes cut on the right through a 32-byte scratch: no image row is ever whole
            # in RAM
            if row is not self._row:
                self._row = row
                self._view = memoryview(row)[:kb]
            self._fill(self._view)
            w = self.src_width
            left = ((w + 7) >> 3) - kb  # bytes cut on the right (open)
            while left >= 32:
                self._fill(self._scr)
                left -= 32
            if left:
                self._fill(self._scrtail)
            if w & 7 and w < self.width:   # a narrow image's last byte: its padding bits off
                row[kb - 1] &= (0xFF00 >> (w & 7)) & 0xFF
        else:
            for i in range(kb):
                row[i] = 0
            st = self._st
            st[_P_X] = 0
            while True:
                if st[_P_POS] >= st[_P_END]:
                    n = self.f.readinto(self._chunk)
                    if not n:
                        raise ValueError("pbm: raster ends at row %d" % self.y)
                    st[_P_POS] = 0
                    st[_P_END] = n
                _p1row(self._chunk, st, row)
                if st[_P_BAD]:
                    raise ValueError("pbm: bad character in P1 raster at row %d" % self.y)
                if st[_P_X] >= st[_P_W]:
                    break
        if self._pad is not None:
            row[kb:] = self._pad
        self.y += 1
        return True

    def _fill(self, v):
        # exactly len(v) bytes from the stream into the view v
        n = len(v)
        got = self.f.readinto(v) or 0
        while got < n:  # a short read from a slow stream: keep reading
            k = self.f.readinto(v[got:])
            if not k:
                raise ValueError("pbm: raster ends at row %d" % self.y)
            got += k
