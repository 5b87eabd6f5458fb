"""PBM (P4 raw and P1 plain) read row by row from a stream, fitted to the page width.

    rows = PbmRows(f, width=1728)     # f: any object with readinto(buf) (a file, BytesIO)
    rows.src_width, rows.src_height, rows.kind   # from the header ("P4" or "P1")
    rows.readrow(row) -> bool         # next row into a bytearray of width // 8 bytes

Fitting (like netpbm's pbmtog3): the image keeps its left edge; wider images are cut on
the right, narrower ones are padded with white on the right. Rows are sent one scan line
each (no vertical scaling). Only one image row is in RAM at a time. A malformed header or a
raster that ends early raises ValueError("pbm: ...").
"""

MAX_WIDTH = 20000  # refuse absurd headers before allocating a row buffer


class PbmRows:
    def __init__(self, f, width=1728):
        if width <= 0 or width & 7:
            raise ValueError("pbm: page width must be a positive multiple of 8")
        self.f = f
        self.width = width
        self._one = bytearray(1)
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
        if self.src_width < 1 or self.src_height < 1 or self.src_width > MAX_WIDTH:
            raise ValueError("pbm: bad size %dx%d" % (self.src_width, self.src_height))
        c = self._peek if self._peek >= 0 else self._byte()
        self._peek = -1
        if c not in (0x20, 0x09, 0x0A, 0x0D):
            raise ValueError("pbm: no whitespace after the header")
        self.y = 0
        nb = width >> 3
        w = self.src_width
        keep = w if w < width else width  # pixels kept from each image row
        self._keep = keep
        self._kb = (keep + 7) >> 3  # bytes holding them
        self._pad = bytes(nb - self._kb)  # white bytes on the right
        self._mask = (0xFF00 >> (keep & 7)) & 0xFF if keep & 7 else 0xFF
        if self.kind == "P4":
            rb = (w + 7) >> 3
            self._raw = bytearray(rb)
            self._rawmv = memoryview(self._raw)
            self._rawkb = self._rawmv[:self._kb]
        else:
            self._chunk = bytearray(128)
            self._cpos = 0
            self._cend = 0

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
        if self.kind == "P4":
            self._read_p4(row)
        else:
            self._read_p1(row)
        self.y += 1
        return True

    def _read_p4(self, row):
        raw = self._raw
        got = self.f.readinto(raw)
        while got < len(raw):  # a short read from a slow stream: keep reading
            k = self.f.readinto(self._rawmv[got:])
            if not k:
                raise ValueError("pbm: raster ends at row %d" % self.y)
            got += k
        kb = self._kb
        row[0:kb] = self._rawkb
        row[kb - 1] &= self._mask
        if self._pad:
            row[kb:] = self._pad

    def _char(self):
        if self._cpos >= self._cend:
            n = self.f.readinto(self._chunk)
            if not n:
                raise ValueError("pbm: raster ends at row %d" % self.y)
            self._cpos = 0
            self._cend = n
        c = self._chunk[self._cpos]
        self._cpos += 1
        return c

    def _read_p1(self, row):
        keep = self._keep
        kb = self._kb
        for i in range(kb):
            row[i] = 0
        x = 0
        w = self.src_width
        while x < w:
            c = self._char()
            if c == 0x31:
                if x < keep:
                    row[x >> 3] |= 0x80 >> (x & 7)
                x += 1
            elif c == 0x30:
                x += 1
            elif c not in (0x20, 0x09, 0x0A, 0x0D):
                raise ValueError("pbm: bad character in P1 raster at row %d" % self.y)
        if self._pad:
            row[kb:] = self._pad
