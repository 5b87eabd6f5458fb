"""Page sources for the Class 2 driver: rows encoded by the T.4 encoder once the session is
negotiated (bit rate and scan time come from +FDCS: through configure()), and a page sink
that counts good and bad lines with the T.4 decoder and passes the data on (docs/fax.md).
"""
from faxbridge.core.fax import params


class EncodedPage:
    """readinto() source of one page: `rows` (readrow(row) -> bool) coded as MH, LSB-first.

    `fine` is the page's resolution (the driver offers VR from it). The encoder is made at
    the first readinto(), with the fill the negotiated scan time needs (configure(dcs)).
    """

    def __init__(self, rows, fine=True, width=1728):
        self.rows = rows
        self.fine = fine
        self.width = width
        self.bps = 14400
        self.ms = 0
        self._enc = None

    def configure(self, dcs):
        self.bps = params.bit_rate(dcs)
        self.ms = params.scan_time_ms(dcs)

    def readinto(self, buf):
        if self._enc is None:
            from faxbridge.core.fax import t4  # sending only
            self._enc = t4.PageEncoder(self.rows, self.width, self.bps, self.ms)
        return self._enc.readinto(buf)


class CountingSink:
    """A page sink that decodes what it gets to count lines, then hands the data to `out`.

    out: an object with begin_page(index, params), write(mv), end_page(), abort() (its
    end_page result is ignored), e.g. a file writer; the line counts decide +FPTS.
    """

    def __init__(self, out, width=1728):
        self.out = out
        self.width = width
        self._dec = None

    def begin_page(self, index, info):
        from faxbridge.core.fax import t4dec  # receiving only
        self._dec = t4dec.Decoder(self.width, info.get("msb_first", True))
        self.out.begin_page(index, info)

    def write(self, mv):
        self._dec.feed(mv)
        self.out.write(mv)

    def end_page(self):
        lines, bad = self._dec.end()
        self._dec = None
        self.out.end_page()
        return lines, bad

    def abort(self):
        self._dec = None
        self.out.abort()
