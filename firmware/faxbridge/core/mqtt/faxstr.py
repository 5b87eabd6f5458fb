"""The strings of a cmd/fax payload (docs/mqtt.md "Commands"), decoded byte by byte: UTF-8 (RFC
3629), JSON escapes and surrogate pairs (RFC 8259 section 7), base64 (RFC 4648) of image pages.
A page's text or image bytes go to the sink 255 bytes at a time (the parser's one buffer, whole:
no slice of it is made but for a string's last piece); a job id, dial string or field
name goes to a small buffer, checked as it comes. Strings is the base of faxcmd.Parser, which
keeps the structure around them: the byte loop here hands every byte outside a string to
_struct(), and a string's closing quote to _close(). The structure machine's states are below
the string states (14 ..).
"""
from micropython import const

from faxbridge.core.mqtt import commands

# States inside strings (what the string is: self.tg)
_STR = const(14)      # the structure machine's states (faxcmd.py) are below
_ESC = const(15)      # after '\'
_HEX = const(16)      # inside \uXXXX
_SBS = const(17)      # after a high surrogate: '\' and 'u' must follow
_SU = const(18)

# string targets: field names (top level, page), job id, dial string; page text, page image
T_KEY = const(0)
T_PKEY = const(1)
T_JOB = const(2)
T_NUM = const(3)
T_TEXT = const(4)
T_B64 = const(5)

OUT = const(255)      # the output buffer: flushed when full; 85 base64 quads, so they never straddle it
KEYMAX = const(24)    # characters of a field name kept (for the error's detail)
_PADDED = const(9)    # base64 padding complete

KINDS = ("text", "pbm", "pbmz")
FIELDS = ("job", "number", "pages")

# Tables as bytes (constants: in flash when frozen), indexed by a byte's value; the comment
# is the first byte of the row. host_tests/core/test_mqtt_faxcmd.py builds both again from
# their definitions and compares.
# _CLS, byte classes: 1 plain string byte (0x20..0x7E but '"' and '\\'), 2 a job id
# character (commands.JOB_CHARS), 4 a dial string character (core/fax/dial.DIAL_CHARS).
# _B64: base64 values (RFC 4648 table 1), 64 for '=', 0xFF for anything else.
_CLS = (
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # 00
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # 10
    b"\x05\x01\x00\x05\x01\x01\x01\x01\x05\x05\x05\x05\x05\x07\x07\x01"  # 20
    b"\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x03\x01\x01\x01\x01\x01"  # 30
    b"\x01\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03"  # 40
    b"\x03\x03\x03\x03\x03\x03\x03\x07\x03\x03\x03\x01\x00\x01\x01\x03"  # 50
    b"\x01\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03"  # 60
    b"\x03\x03\x03\x03\x03\x03\x03\x07\x03\x03\x03\x01\x01\x01\x01\x00"  # 70
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # 80
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # 90
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # A0
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # B0
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # C0
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # D0
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # E0
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")  # F0
_B64 = (
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # 00
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # 10
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x3e\xff\xff\xff\x3f"  # 20
    b"\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\xff\xff\xff\x40\xff\xff"  # 30
    b"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"  # 40
    b"\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\xff\xff\xff\xff\xff"  # 50
    b"\xff\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27\x28"  # 60
    b"\x29\x2a\x2b\x2c\x2d\x2e\x2f\x30\x31\x32\x33\xff\xff\xff\xff\xff"  # 70
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # 80
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # 90
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # A0
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # B0
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # C0
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # D0
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"  # E0
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")  # F0


class Strings:
    """Decoding inside strings, and the errors. The parser's fields it uses: st, tg, sink, out,
    small, lim, size, and the decoder state reset() sets."""

    # ---- errors
    def _bad_json(self, what, i):
        raise commands.CommandError(commands.BAD_JSON, "not valid UTF-8 JSON: %s at byte %d"
                           % (what, self.size + i - 1), self.job)

    def _bad(self, detail, reason=commands.BAD_FIELD):
        raise commands.CommandError(reason, detail, self.job)

    def _page_bad(self, what, reason=commands.BAD_FIELD, kind=True):
        """An error about the page being read: 'pages[i].kind<what>' ('pages[i]<what>')."""
        self._bad("pages[%d]" % self.np + ("." + KINDS[self.kind] if kind else "") + what, reason)

    # ---- the byte loop
    def _run(self, mv, n):
        """Bytes inside strings are decoded here; the others go to the parser's _struct(). One
        method for the whole string machine (UTF-8 lead bytes, escapes, the fast loops of a
        page's plain bytes): no call per piece, and fewer methods kept in RAM."""
        i = 0
        while i < n:
            st = self.st
            if st == _STR:
                if not self.ucont:   # the fast loops take the plain bytes of a page
                    tg = self.tg
                    if tg == T_B64 and not self.pad:
                        # base64 characters of an image page up to the first other byte
                        tab = _B64
                        out = self.out
                        o = self.no
                        acc = self.acc
                        k = self.k
                        while i < n:
                            v = tab[mv[i]]
                            if v > 63:
                                break
                            i += 1
                            acc = (acc << 6) | v
                            k += 1
                            if k == 4:
                                out[o] = acc >> 16
                                out[o + 1] = (acc >> 8) & 0xFF
                                out[o + 2] = acc & 0xFF
                                o += 3
                                k = acc = 0
                                if o == OUT:        # quads from the buffer's start: 85 fill it
                                    self.no = o
                                    self._flush()
                                    o = 0
                        self.no = o
                        self.acc = acc
                        self.k = k
                    elif tg == T_TEXT:
                        # plain ASCII characters of a text page straight to the output buffer
                        cls = _CLS
                        out = self.out
                        o = self.no
                        while i < n:
                            c = mv[i]
                            if not cls[c] & 1:
                                break
                            out[o] = c
                            o += 1
                            i += 1
                            if o == OUT:
                                self.no = o
                                self._flush()
                                o = 0
                        self.no = o
                    if i >= n:
                        return
                c = mv[i]
                i += 1
                if self.ucont:       # (the code point in acc, the range in pad: see reset())
                    r = self.pad
                    if not r & 0xFF <= c <= r >> 8:
                        self._bad_json("invalid UTF-8", i)
                    self.pad = 0xBF80
                    self.acc = (self.acc << 6) | (c & 0x3F)
                    self.ucont -= 1
                    if not self.ucont:
                        self._put(self.acc)
                elif c == 0x22:
                    self._close()
                elif c == 0x5C:
                    self.st = _ESC
                elif c < 0x20:
                    self._bad_json("control character in a string", i)
                elif c < 0x80:
                    self._put(c)
                else:
                    # the first byte of a multi-byte UTF-8 character (RFC 3629: no overlong
                    # forms, no surrogates, nothing above U+10FFFF): nc continuation bytes
                    # follow, the first in lo..hb
                    lo = 0x80
                    hb = 0xBF
                    if 0xC2 <= c <= 0xDF:
                        nc = 1
                    elif 0xE0 <= c <= 0xEF:
                        nc = 2
                        if c == 0xE0:
                            lo = 0xA0
                        elif c == 0xED:
                            hb = 0x9F
                    elif 0xF0 <= c <= 0xF4:
                        nc = 3
                        if c == 0xF0:
                            lo = 0x90
                        elif c == 0xF4:
                            hb = 0x8F
                    else:
                        self._bad_json("invalid UTF-8", i)
                    self.acc = c & (0x3F >> nc)
                    self.ucont = nc
                    self.pad = lo | hb << 8
                continue
            c = mv[i]
            i += 1
            if st == _ESC:           # after '\'
                self.st = _STR
                if c == 0x75:
                    self.st = _HEX
                    self.hx = 1
                    continue
                for j in range(8):   # JSON escapes (RFC 8259 section 7): the byte, what it stands for
                    if b'"\\/bfnrt'[j] == c:
                        self._put(b'"\\/\x08\x0c\n\r\t'[j])
                        break
                else:
                    self._bad_json("bad escape", i)
            elif st == _HEX:         # inside \uXXXX
                d = c - 0x30 if 0x30 <= c <= 0x39 else (c | 0x20) - 0x57
                if not 0 <= d <= 15:
                    self._bad_json("bad \\u escape", i)
                h = (self.hx << 4) | d
                self.hx = h
                if h > 0xFFFF:       # the 1 (2) bit set first: 4 digits read; a UTF-16 unit
                    u = h & 0xFFFF
                    if h >> 17:      # a pair's low half: its high half in acc
                        if not 0xDC00 <= u <= 0xDFFF:
                            self._bad_json("lone UTF-16 surrogate", i)
                        self.st = _STR
                        self._put(0x10000 + ((self.acc - 0xD800) << 10) + (u - 0xDC00))
                    elif 0xD800 <= u <= 0xDBFF:
                        self.acc = u
                        self.st = _SBS
                    elif 0xDC00 <= u <= 0xDFFF:
                        self._bad_json("lone UTF-16 surrogate", i)
                    else:
                        self.st = _STR
                        self._put(u)
            elif st > _STR:          # between surrogates: '\' and 'u' must follow
                if c != (0x5C if st == _SBS else 0x75):
                    self._bad_json("lone UTF-16 surrogate", i)
                elif st == _SBS:
                    self.st = _SU
                else:
                    self.st = _HEX
                    self.hx = 2      # the low half due
            elif not (c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09):
                self._struct(st, c, i)

    # ---- strings
    def _open(self, tg):
        self.st = _STR
        self.tg = tg
        self.k = 0           # (a small string's characters: see faxcmd's reset())

    def _put(self, cp):
        """One decoded character of the current string."""
        tg = self.tg
        if tg == T_TEXT:
            if cp < 0x80:
                self._out(cp)
            else:
                # UTF-8 (RFC 3629): a lead byte and nb continuation bytes, counted first (a
                # flush between them then never counts too many characters)
                nb = 1 if cp < 0x800 else 2 if cp < 0x10000 else 3
                self.k += nb         # (a text page's continuation bytes: see reset())
                self._out(((0xFF << (7 - nb)) & 0xFF) | (cp >> (6 * nb)))
                for s in range(nb - 1, -1, -1):
                    self._out(0x80 | ((cp >> (6 * s)) & 0x3F))
        elif tg == T_B64:
            # one base64 character the fast loop left: after padding, '=', whitespace, a bad one
            v = _B64[cp] if cp < 0x80 else 0xFF
            pad = self.pad
            k = self.k
            if v < 64 and not pad:
                self.acc = (self.acc << 6) | v
                self.k = k + 1
                if k == 3:
                    self._emit(self.acc, 3)
                    self.k = self.acc = 0
            elif v == 64 and (pad == 1 or (not pad and k >= 2)):
                if pad or k == 3:     # xy== or xyz=: complete
                    if pad:
                        self._emit(self.acc >> 4, 1)
                    else:
                        self._emit(self.acc >> 2, 2)
                    self.pad = _PADDED
                    self.k = self.acc = 0
                else:                 # xy= : one more '=' due
                    self.pad = 1
            elif not (cp == 0x20 or cp == 0x0A or cp == 0x0D or cp == 0x09):
                self._page_bad(" is not valid base64")
        else:
            n = self.k
            self.k = n + 1
            if tg <= T_PKEY:
                if n < KEYMAX:
                    self.small[self.lim[0] + n] = cp if cp < 0x80 else 0x3F
                return
            limit = self.lim[3] if tg == T_JOB else self.lim[4]
            if n >= limit:
                self._bad("%s must be a string of 1..%d characters" % (FIELDS[tg - T_JOB], limit))
            ok = cp < 0x80 and _CLS[cp] & (2 if tg == T_JOB else 4)
            if not ok and self.no < 0:   # (the first bad character: see reset())
                self.no = cp
            self.small[self.lim[0] + n] = cp if ok else 0x3F
            if 0x30 <= cp <= 0x39:
                self.nd += 1         # (digits: see reset())

    # ---- page data
    def _emit(self, v, nb):
        for s in range(nb - 1, -1, -1):
            self._out((v >> (8 * s)) & 0xFF)

    def _out(self, b):
        """One decoded byte into the output buffer, handed to the sink when it is full."""
        o = self.no
        self.out[o] = b
        self.no = o + 1
        if o + 1 == OUT:
            self._flush()

    def _flush(self):
        """The output buffer to the sink: the buffer itself when it is full, a view of its start
        only for a string's last piece."""
        o = self.no
        if not o:
            return
        if self.tg == T_B64:
            if not self.nd:
                # nothing given to the sink yet: the first two image bytes (still in out) are
                # PBM magic, or a zlib header (RFC 1950) whose window fits (PBMZ_MAX_WBITS)
                out = self.out
                two = o >= 2
                if self.kind == 1:
                    if not two or out[0] != 0x50 or out[1] not in (0x31, 0x34):
                        self._page_bad(" is not a PBM image (P1/P4)")
                else:
                    if not two or out[0] & 0x0F != 8 or ((out[0] << 8) | out[1]) % 31:
                        self._page_bad(" is not zlib data")
                    w = (out[0] >> 4) + 8   # CINFO + 8 (RFC 1950)
                    m = commands.PBMZ_MAX_WBITS
                    if w > m:
                        self._page_bad(" declares a %d-byte zlib window, at most %d: compress with "
                                       "wbits <= %d (zlib.compressobj(9, zlib.DEFLATED, 10))"
                                       % (1 << w, 1 << m, m))
            m = self.lim[2]
            if self.nd + o > m:
                self._page_bad(" longer than %d base64 characters" % (m // 3 * 4),
                               commands.TOO_LARGE)
        elif self.nd + o - self.k > self.lim[1]:
            self._page_bad(" longer than %d characters" % self.lim[1], commands.TOO_LARGE)
        self.nd += o
        self.no = 0
        self.sink.write(self.out if o == OUT else memoryview(self.out)[:o])
