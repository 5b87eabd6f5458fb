"""Fax pages on flash: checked and counted on the idle line (count: core/fax/job.py counts a
new job there, not at intake), opened one at a time as page sources.

A job's documents are stored as received ("text" UTF-8, "pbm" P1/P4, "pbmz" zlib-compressed
PBM). A text document may fill several fax pages; a bitmap is one page. The plan of a job is
the list of (document, page in document). A page source reads its file as the modem wants
data (only one row in RAM) and closes the file at the end of the page.

Bounds (docs/unit.md "Documents"): a bitmap is at most params.PAGE_LINES[1][1] rows (2802),
the longest page the unit can send; a pbmz inflates to no more than its PBM header says (a P4 raster is exactly
ceil(width / 8) * height bytes), checked while inflating, so a small pbmz cannot expand into a
huge page (a decompression bomb) before it is refused.
"""
from micropython import const

from faxbridge.core.fax import params, t4

_WIDTH = const(1728)  # WD=0, A4 (T.4)
_FINE_LINES = const(1500)  # a bitmap taller than this is sent at 196 dpi, else 98 dpi
# The longest page: B4 (364 mm, LN=1 in seed 001 Table 5-2) at the fine resolution of T.4
# (7.7 lines/mm): 2802 scan lines, params.PAGE_LINES[1][1] (read where it is checked, _rows:
# no module name of its own). Taller bitmaps are refused, not cut.
_HEAD_MAX = const(1024)    # bytes of a PBM header (magic, comments, size) inflated from a pbmz


class _Capped:
    """A pbmz's inflated stream, cut off with ValueError beyond the bytes its header allows:
    _HEAD_MAX until the header is read, then the raster's size (set by _rows, raster=True)."""

    def __init__(self, src):
        self.src = src
        self.left = _HEAD_MAX
        self.raster = False

    def readinto(self, buf):
        left = self.left
        if left <= 0:  # all that is allowed is read: the stream must end here (a byte
            # more, read into the caller's buffer, says it does not; no buffer of its own)
            if self.src.readinto(buf):
                raise ValueError("pbmz inflates to more than its PBM header's %dx%d raster" % self.raster
                                 if self.raster else "pbmz: PBM header longer than %d bytes" % _HEAD_MAX)
            return 0
        if len(buf) > left:
            buf = memoryview(buf)[:left]
        n = self.src.readinto(buf)
        self.left = left - n
        return n


def _open(path, kind):
    f = open(path, "rb")
    if kind != "pbmz":
        return f, f
    try:            # whatever fails here (a MemoryError too) closes the file
        # DeflateIO allocates the window the header declares (a wbits argument does not
        # bound it): check it first, so a large one is a clear reason, not an out-of-memory
        head = f.read(2)
        f.seek(0)
        w = (head[0] >> 4) + 8 if len(head) == 2 else 0   # CINFO + 8 (RFC 1950)
        from faxbridge.core.mqtt import commands    # pbmz only
        if w > commands.PBMZ_MAX_WBITS:
            raise ValueError("pbmz declares a %d-byte zlib window, at most %d (compress with wbits=10)"
                             % (1 << w, 1 << commands.PBMZ_MAX_WBITS))
        import deflate
        return f, _Capped(deflate.DeflateIO(f, deflate.ZLIB))
    except BaseException:
        f.close()
        raise


def _rows(s, rows=None):
    """The PbmRows of a bitmap within the bounds above (`rows`, a PbmRows reused, or a new one)."""
    if rows is None:
        from faxbridge.core.fax import pbm  # bitmap pages only
        rows = pbm.PbmRows(None, _WIDTH)
    rows.open(s)
    w, h = rows.src_width, rows.src_height
    m = params.PAGE_LINES[1][1]
    if h > m:
        raise ValueError("pbm: %d rows, at most %d (B4 at fine resolution)" % (h, m))
    if isinstance(s, _Capped):
        # P4: the raster exactly; P1: a digit and a separator a pixel, line ends, a final one
        s.left = ((w + 7) >> 3) * h if rows.kind == "P4" else 2 * w * h + 2 * h + 2
        s.raster = (w, h)
    return rows


def when(t):
    """The text pages' header time of a job made at Unix time t, as bytes (what the renderer
    draws: no str encoded per page), "YYYY-MM-DD HH:MM UTC". The date is worked out from the
    day number (the proleptic Gregorian calendar's 400-year cycle of 146 097 days, years
    counted from March so the leap day ends one): no time.gmtime() tuple is made, and it is
    the same on every port whatever epoch the port's own gmtime() counts from (the ESP32's:
    2000)."""
    t = int(t)
    m = t % 86400 // 60                 # minutes into the day
    z = t // 86400 + 719468             # days from 0000-03-01
    c = z // 146097                     # 400-year cycles
    z -= c * 146097                     # day of the cycle, 0..146096
    y = (z - z // 1460 + z // 36524 - z // 146096) // 365   # year of the cycle
    z -= 365 * y + y // 4 - y // 100    # day of that year, 0 = March 1st
    n = (5 * z + 2) // 153              # month from March, 0..11
    d = z - (153 * n + 2) // 5 + 1
    n += 3 if n < 10 else -9
    return b"%04d-%02d-%02d %02d:%02d UTC" % (y + c * 400 + (n <= 2), n, d, m // 60, m % 60)


def count(kind, path, station="", fine=True):
    """(pages, None) for a good document, (0, reason) for one that cannot be made. A
    MemoryError is the unit's heap, not the page's fault: it propagates (the job stays new,
    counted again at the modem task's next pass: core/fax/job.py _ready)."""
    try:
        f, s = _open(path, kind)
    except (OSError, ImportError) as e:
        return 0, "cannot open page: %s" % e
    except ValueError as e:
        return 0, str(e)
    try:
        if kind == "text":
            from faxbridge.core.fax import textpage  # text pages only
            return textpage.TextPages(s, _WIDTH, fine, station, "").count, None
        if kind in ("pbm", "pbmz"):
            rows = _rows(s)
            if s is f and rows.kind == "P4":        # a stored P4 raster is there if the file is
                at = f.tell()                       # long enough: no row read, no row buffer
                if f.seek(0, 2) - at < ((rows.src_width + 7) >> 3) * rows.src_height:
                    return 0, "pbm: raster ends early"
                return 1, None
            row = bytearray(_WIDTH // 8)
            for _ in range(rows.src_height):        # read it all once: a short raster fails now
                if not rows.readrow(row):
                    return 0, "pbm: raster ends early"
            if s is not f:                          # and nothing inflates beyond the raster
                while s.readinto(row):
                    pass
            return 1, None
        return 0, "unknown page kind %s" % kind
    except (ValueError, OSError, EOFError) as e:
        return 0, str(e)
    finally:
        f.close()


class FilePage(t4.PageEncoder):
    """A call's one page source: made at its first page with the encoder's row and its line
    buffer, room for a piece of a coded row and the longest fill at `max_rate` (t4.line_room,
    the same for text and bitmaps), then set to each page in turn by
    open(path, kind, sub, ...), which returns it. The text renderer and the bitmap reader are
    made at the first page of their kind and kept with it; per page only the file (and, for a
    pbmz, MicroPython's inflater) is made. The file is closed at the end of the page, when the
    next page is opened, or by close() (a call that ended mid-page). `fine` tells the driver
    its resolution. The MH encoder's line fill follows the negotiated +FDCS (configure(dcs),
    called by the driver); bps and st only serve a driver that never calls configure().
    """

    def __init__(self, max_rate=14400):
        t4.PageEncoder.__init__(self, None, _WIDTH)
        # the line buffer: a piece of a coded row and the longest fill, a line lasting at most
        # 40 ms (T.4 4.1.3's longest scan time) at the fastest rate (t4.line_room)
        self._buf = bytearray(t4.line_room(_WIDTH, t4.min_bits(max_rate, 40)))
        self.f = self.text = self.pbm = self.tpath = None
        self.fine = True

    def open(self, path, kind, sub, bps=9600, st=0, station="", stamp=""):
        """stamp: the text header's time, text or a Unix time (made into text by when(),
        only when a header is laid out: not for a bitmap, nor the same text's next page)."""
        self.close()
        text = kind == "text"
        self.f, s = _open(path, kind)
        try:
            if text:
                fine = True
                if self.text is None:
                    from faxbridge.core.fax import textpage  # text pages only
                    self.text = textpage.TextPages(None, _WIDTH, True)
                if path == self.tpath:  # the call's next page of the same text: counted already
                    self.text.open(s, "", "", self.text.count)
                else:
                    self.tpath = None
                    if not (isinstance(stamp, str) or isinstance(stamp, bytes)):
                        stamp = when(stamp)
                    self.text.open(s, station, stamp)
                    self.tpath = path
                rows = self.text.page(sub)
            else:
                rows = self.pbm = _rows(s, self.pbm)
                fine = rows.src_height > _FINE_LINES
            self.reset(rows, t4.min_bits(bps, params.scan_ms(st, 1 if fine else 0)))
            self.fine = fine
        except BaseException:
            self.close()
            raise
        return self

    def readinto(self, buf):
        n = t4.PageEncoder.readinto(self, buf)
        if not n:
            self.close()
        return n

    def close(self):
        f = self.f
        if f is not None:
            self.f = None
            if self.pbm is not None:
                self.pbm.f = None       # a pbmz's inflater goes with its file
            f.close()
