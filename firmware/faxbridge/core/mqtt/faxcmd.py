"""cmd/fax parsed as it arrives (docs/mqtt.md "Commands"): payload bytes in, page bytes out.

    p = Parser(sink)                 # sink: begin_page(i, kind), write(mv), end_page(), abort()
    p.feed(chunk)                    # any split: mid-token, mid-escape, mid-UTF-8, mid-base64
    job, number, kinds = p.end()     # kinds: ["text", "pbm", "pbmz", ...] in page order
    p.digest                         # binascii.crc32 of every payload byte fed

The command is the one JSON object `{"job":..., "number":..., "pages":[{"text"|"pbm"|"pbmz":
"..."}, ...]}` in any key order (RFC 8259). The parser is a state machine over bytes with a few
ints and three small fixed buffers; a page's text (UTF-8, JSON escapes decoded) or image bytes
(base64 decoded) go to the sink 256 bytes at a time, so nothing the size of a page is ever in
RAM. The first bad byte or field raises commands.CommandError with the reasons of
commands.parse: nothing is nested (a value of the wrong type is refused at its first byte),
duplicate and unknown fields are refused, a pbmz header is checked on its first two decoded
bytes (zlib, RFC 1950: CM = 8, FCHECK, window at most commands.PBMZ_MAX_WBITS). The error's
ref is the job id when it came before the error. After an error the sink is aborted, feed()
ignores the rest of the payload and end() raises the same error. The payload's total size is
the caller's to bound (it knows it from the PUBLISH header).
"""
import binascii
import json

from micropython import const

from faxbridge.core.mqtt import commands
from faxbridge.core.mqtt.commands import CommandError

MAX_B64 = const(349528)   # base64 characters of one page: a whole 256 KB payload

# States outside strings (the comment: what may come next)
_TOP = const(0)       # '{'
_KEY0 = const(1)      # '"' or '}'
_KEY = const(2)       # '"'
_COLON = const(3)     # ':'
_VAL = const(4)       # the value of a top-level field (self.field)
_NEXT = const(5)      # ',' or '}'
_ARR0 = const(6)      # '{' or ']' (after the '[' of pages)
_ARRN = const(7)      # '{'
_ANEXT = const(8)     # ',' or ']'
_PKEY0 = const(9)     # '"' (a page's one field)
_PCOLON = const(10)   # ':'
_PVAL = const(11)     # '"'
_PNEXT = const(12)    # '}'
_DONE = const(13)     # nothing but whitespace
# ... and inside strings (what the string is: self.tg)
_STR = const(14)
_ESC = const(15)      # after '\'
_HEX = const(16)      # inside \uXXXX
_SBS = const(17)      # after a high surrogate: '\' and 'u' must follow
_SU = const(18)
_FAIL = const(19)

_T_KEY = const(0)     # string targets
_T_PKEY = const(1)
_T_JOB = const(2)
_T_NUM = const(3)
_T_TEXT = const(4)
_T_B64 = const(5)

_OUT = const(256)     # decoded bytes handed to the sink at once
_FLUSH = const(252)   # flush beyond this (room for one more 4-byte character or 3-byte quad)
_KEYMAX = const(24)   # characters of a field name kept (for the error's detail)
_PADDED = const(9)    # base64 padding complete

_KINDS = ("text", "pbm", "pbmz")
_FIELDS = ("job", "number", "pages")
# The plain moves: state, byte, next state (the others are in _struct).
_MOVES = b"\x00{\x01\x01}\x0d\x03:\x04\x0a:\x0b\x05,\x02\x05}\x0d\x08,\x07\x08]\x05"

# byte classes: 1 plain string byte (ASCII, not '"' '\' or control), 2 job id, 4 dial string
_CLS = bytearray(256)
for _c in range(0x20, 0x7F):
    _CLS[_c] = 1
_CLS[0x22] = _CLS[0x5C] = 0
for _c in commands.JOB_CHARS:
    _CLS[ord(_c)] |= 2
for _c in commands.DIAL_CHARS:
    _CLS[ord(_c)] |= 4
# base64 values (RFC 4648 table 1), 64 for '=', 0xFF for anything else
_B64 = bytearray(b"\xff" * 256)
for _c in range(64):
    _B64[b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[_c]] = _c
_B64[0x3D] = 64
# JSON escapes (RFC 8259 section 7): the byte after '\' -> the character it stands for
_ESCV = bytearray(128)
for _c in range(8):
    _ESCV[b'"\\/bfnrt'[_c]] = b'"\\/\x08\x0c\n\r\t'[_c]
del _c


class Parser:
    def __init__(self, sink, max_pages=commands.MAX_PAGES, max_text=commands.MAX_TEXT,
                 max_b64=MAX_B64, max_job=commands.MAX_JOB, max_number=commands.MAX_NUMBER):
        self.sink = sink
        self.max_pages = max_pages
        self.max_text = max_text
        self.max_dec = max_b64 // 4 * 3
        self.max_job = max_job
        self.max_number = max_number
        self.out = bytearray(_OUT)
        self.outmv = memoryview(self.out)
        self.small = bytearray(max(max_job, max_number, _KEYMAX))
        self.kinds = bytearray(max_pages)
        self.reset()

    def reset(self):
        """Ready for the next payload (the buffers are kept)."""
        self.st = _TOP
        self.err = self.job = self.number = None
        self.digest = self.size = 0
        self.base = 0      # payload offset of the chunk being fed
        self.seen = 0      # bit per top-level field met
        self.field = 0     # the top-level field whose value comes
        self.np = 0        # pages complete
        self.kind = 0      # kind of the page being read
        self.tg = 0
        # small strings: characters, the first one not allowed, digits
        self.sn = self.digits = 0
        self.badc = -1
        # UTF-8 continuation bytes still due, their range, the code point; \uXXXX value,
        # its digits so far, a high surrogate waiting for its low half
        self.ucont = self.ulo = self.uhi = self.cp = self.hx = self.nh = self.hi = 0
        # page data: bytes in out, bytes given to the sink, UTF-8 continuation bytes (text
        # characters = bytes - extra); base64 bits, characters in the quad, padding state;
        # first two image bytes checked
        self.no = self.nd = self.extra = self.acc = self.k = self.pad = 0
        self.hdr = False

    # ---- errors
    def _bad_json(self, what, i):
        raise CommandError(commands.BAD_JSON, "not valid UTF-8 JSON: %s at byte %d"
                           % (what, self.base + i - 1), self.job)

    def _bad(self, detail, reason=commands.BAD_FIELD):
        raise CommandError(reason, detail, self.job)

    def _page_bad(self, what, reason=commands.BAD_FIELD, kind=True):
        """An error about the page being read: 'pages[i].kind<what>' ('pages[i]<what>')."""
        self._bad("pages[%d]" % self.np + ("." + _KINDS[self.kind] if kind else "") + what, reason)

    def _fail(self, e):
        self.st = _FAIL
        self.err = e
        try:
            self.sink.abort()
        except OSError:
            pass

    # ---- input
    def feed(self, chunk):
        """Take the next bytes of the payload; raises CommandError at the first bad one."""
        if self.st == _FAIL:
            return
        mv = memoryview(chunk)
        n = len(mv)
        self.digest = binascii.crc32(mv, self.digest)
        self.base = self.size
        self.size += n
        try:
            self._run(mv, n)
        except CommandError as e:
            self._fail(e)
            raise
        except OSError as e:  # the sink's flash is full or failing: try again later
            err = CommandError(commands.BUSY, "cannot store the pages: %s" % (e,), self.job)
            self._fail(err)
            raise err

    def end(self):
        """(job, number, kinds) once the whole payload was fed, else raises CommandError."""
        if self.err is not None:
            raise self.err
        try:
            if not self.size:
                raise CommandError(commands.EMPTY, "empty payload")
            if self.st != _DONE:
                raise CommandError(commands.BAD_JSON, "not valid UTF-8 JSON: the payload ends "
                                   "inside the object (%d bytes)" % self.size, self.job)
            for f in range(3):
                if not self.seen >> f & 1:
                    self._bad(_FIELDS[f] + " is required", commands.MISSING)
        except CommandError as e:
            self._fail(e)
            raise
        return self.job, self.number, [_KINDS[self.kinds[i]] for i in range(self.np)]

    def _run(self, mv, n):
        i = 0
        while i < n:
            st = self.st
            if st == _STR:
                if not self.ucont:   # the fast loops take the plain bytes of a page
                    tg = self.tg
                    if tg == _T_B64 and not self.pad:
                        i = self._b64run(mv, i, n)
                    elif tg == _T_TEXT:
                        i = self._textrun(mv, i, n)
                    if i >= n:
                        return
                c = mv[i]
                i += 1
                if self.ucont:
                    if not self.ulo <= c <= self.uhi:
                        self._bad_json("invalid UTF-8", i)
                    self.ulo = 0x80
                    self.uhi = 0xBF
                    self.cp = (self.cp << 6) | (c & 0x3F)
                    self.ucont -= 1
                    if not self.ucont:
                        self._put(self.cp)
                elif c == 0x22:
                    self._close()
                elif c == 0x5C:
                    self.st = _ESC
                elif c < 0x20:
                    self._bad_json("control character in a string", i)
                elif c < 0x80:
                    self._put(c)
                else:
                    self._lead(c, i)
                continue
            c = mv[i]
            i += 1
            if st > _STR:
                self._escape(st, c, i)
            elif not (c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09):
                self._struct(st, c, i)

    def _struct(self, st, c, i):
        """One byte outside strings (not whitespace)."""
        m = _MOVES
        for j in range(0, len(m), 3):
            if m[j] == st and m[j + 1] == c:
                self.st = m[j + 2]
                return
        if st == _KEY0 or st == _KEY or st == _PKEY0:
            if c == 0x22:
                self._open(_T_PKEY if st == _PKEY0 else _T_KEY)
            elif st == _PKEY0 and c == 0x7D:
                self._page_bad(' must be an object with one of "text", "pbm", "pbmz"', kind=False)
            else:
                self._bad_json("expected a field name", i)
        elif st == _VAL:
            f = self.field
            if f == 2:
                if c != 0x5B:
                    self._bad("pages must be a non-empty list")
                self.st = _ARR0
            elif c != 0x22:
                self._bad("%s must be a string of 1..%d characters"
                          % (_FIELDS[f], self.max_number if f else self.max_job))
            else:
                self._open(_T_NUM if f else _T_JOB)
                self.badc = -1
                self.digits = 0
        elif (st == _ARR0 or st == _ARRN) and c == 0x7B:
            if self.np >= self.max_pages:
                self._bad("more than %d pages, limit %d" % (self.max_pages, self.max_pages),
                          commands.TOO_LARGE)
            self.st = _PKEY0
        elif st == _ARR0 and c == 0x5D:
            self._bad("pages must be a non-empty list")
        elif st == _ARR0 or (st == _ARRN and c != 0x5D) or (st == _PNEXT and c == 0x2C):
            self._page_bad(' must be an object with one of "text", "pbm", "pbmz"', kind=False)
        elif st == _PVAL:
            if c != 0x22:
                self._page_bad(" must be a non-empty base64 string" if self.kind else " must be a string")
            self._open(_T_B64 if self.kind else _T_TEXT)
            self.no = self.nd = self.extra = self.acc = self.k = self.pad = 0
            self.hdr = False
            self.sink.begin_page(self.np, _KINDS[self.kind])
        elif st == _PNEXT and c == 0x7D:
            self.sink.end_page()
            self.kinds[self.np] = self.kind
            self.np += 1
            self.st = _ANEXT
        elif st == _TOP:
            self._bad_json("payload must be a JSON object", i)
        else:
            self._bad_json("unexpected %s" % json.dumps(chr(c)) if c < 0x80 else "invalid byte", i)

    # ---- strings
    def _open(self, tg):
        self.st = _STR
        self.tg = tg
        self.sn = 0

    def _lead(self, c, i):
        """The first byte of a multi-byte UTF-8 character (RFC 3629: no overlong forms, no
        surrogates, nothing above U+10FFFF)."""
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= c <= 0xDF:
            n = 1
        elif 0xE0 <= c <= 0xEF:
            n = 2
            if c == 0xE0:
                lo = 0xA0
            elif c == 0xED:
                hi = 0x9F
        elif 0xF0 <= c <= 0xF4:
            n = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F
        else:
            self._bad_json("invalid UTF-8", i)
        self.cp = c & (0x3F >> n)
        self.ucont = n
        self.ulo = lo
        self.uhi = hi

    def _escape(self, st, c, i):
        """A byte of an escape sequence: after '\', inside \\uXXXX, between surrogates."""
        if st == _ESC:
            self.st = _STR
            if c == 0x75:
                self.st = _HEX
                self.hx = self.nh = 0
                return
            v = _ESCV[c] if c < 0x80 else 0
            if not v:
                self._bad_json("bad escape", i)
            self._put(v)
        elif st == _HEX:
            d = c - 0x30 if 0x30 <= c <= 0x39 else (c | 0x20) - 0x57
            if not 0 <= d <= 15:
                self._bad_json("bad \\u escape", i)
            self.hx = (self.hx << 4) | d
            self.nh += 1
            if self.nh == 4:
                self._unicode(self.hx, i)
        elif c != (0x5C if st == _SBS else 0x75):
            self._bad_json("lone UTF-16 surrogate", i)
        elif st == _SBS:
            self.st = _SU
        else:
            self.st = _HEX
            self.hx = self.nh = 0

    def _unicode(self, u, i):
        hi = self.hi
        if hi:
            if not 0xDC00 <= u <= 0xDFFF:
                self._bad_json("lone UTF-16 surrogate", i)
            self.hi = 0
            self.st = _STR
            self._put(0x10000 + ((hi - 0xD800) << 10) + (u - 0xDC00))
        elif 0xD800 <= u <= 0xDBFF:
            self.hi = u
            self.st = _SBS
        elif 0xDC00 <= u <= 0xDFFF:
            self._bad_json("lone UTF-16 surrogate", i)
        else:
            self.st = _STR
            self._put(u)

    def _put(self, cp):
        """One decoded character of the current string."""
        tg = self.tg
        if tg == _T_TEXT:
            out = self.out
            o = self.no
            if cp < 0x80:
                out[o] = cp
            else:  # UTF-8 (RFC 3629): a lead byte and nb continuation bytes
                nb = 1 if cp < 0x800 else 2 if cp < 0x10000 else 3
                out[o] = ((0xFF << (7 - nb)) & 0xFF) | (cp >> (6 * nb))
                for s in range(nb - 1, -1, -1):
                    o += 1
                    out[o] = 0x80 | ((cp >> (6 * s)) & 0x3F)
                self.extra += nb
            self.no = o + 1
            if o >= _FLUSH:
                self._flush()
        elif tg == _T_B64:
            self._b64c(cp)
        else:
            n = self.sn
            self.sn = n + 1
            if tg <= _T_PKEY:
                if n < _KEYMAX:
                    self.small[n] = cp if cp < 0x80 else 0x3F
                return
            limit = self.max_job if tg == _T_JOB else self.max_number
            if n >= limit:
                self._bad("%s must be a string of 1..%d characters" % (_FIELDS[tg - _T_JOB], limit))
            ok = cp < 0x80 and _CLS[cp] & (2 if tg == _T_JOB else 4)
            if not ok and self.badc < 0:
                self.badc = cp
            self.small[n] = cp if ok else 0x3F
            if 0x30 <= cp <= 0x39:
                self.digits += 1

    def _small_is(self, word):
        """The small string read equals word (ASCII), without allocating."""
        n = self.sn
        if n != len(word):
            return False
        s = self.small
        for j in range(n):
            if s[j] != ord(word[j]):
                return False
        return True

    def _close(self):
        """The closing quote of the current string."""
        tg = self.tg
        n = self.sn
        if tg <= _T_PKEY:
            names = _KINDS if tg else _FIELDS
            for f in range(3):
                if self._small_is(names[f]):
                    break
            else:
                name = json.dumps(bytes(self.small[:min(n, _KEYMAX)]).decode()
                                  + ("..." if n > _KEYMAX else ""))
                if tg:
                    self._page_bad(": unknown page kind " + name, commands.UNKNOWN_FIELD, False)
                self._bad("unknown field " + name, commands.UNKNOWN_FIELD)
            if tg:
                self.kind = f
                self.st = _PCOLON
                return
            if self.seen >> f & 1:
                self._bad('duplicate field "%s"' % _FIELDS[f])
            self.seen |= 1 << f
            self.field = f
            self.st = _COLON
        elif tg <= _T_NUM:
            what = _FIELDS[tg - _T_JOB]
            if not n:
                self._bad("%s must be a string of 1..%d characters"
                          % (what, self.max_job if tg == _T_JOB else self.max_number))
            if tg == _T_JOB and self.badc >= 0:
                self._bad("job may hold only letters, digits and . _ : -")
            if self.badc >= 0:
                self._bad("number: character %s not allowed in a dial string"
                          % json.dumps(chr(self.badc)))
            if tg == _T_NUM and not self.digits:
                self._bad("number has no digits")
            v = bytes(self.small[:n]).decode()
            if tg == _T_JOB:
                self.job = v
            else:
                code, why = commands.dial.form(v, 2 * commands.MAX_NUMBER)   # one dial rule
                if code is not None:
                    self._bad("number: " + why)
                self.number = v
            self.st = _NEXT
        else:
            if tg == _T_B64:
                if self.k or self.pad == 1:
                    self._page_bad(" is not valid base64")
                if not self.nd + self.no:
                    self._page_bad(" must be a non-empty base64 string")
            self._flush()
            self.st = _PNEXT

    # ---- page data
    def _textrun(self, mv, i, n):
        """Copy plain ASCII characters of a text page straight to the output buffer."""
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
            if o > _FLUSH:
                self.no = o
                self._flush()
                o = 0
        self.no = o
        return i

    def _b64run(self, mv, i, n):
        """Decode base64 characters of an image page up to the first other byte."""
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
                if o > _FLUSH:
                    self.no = o
                    self._flush()
                    o = 0
        self.no = o
        self.acc = acc
        self.k = k
        return i

    def _b64c(self, c):
        """One base64 character the fast loop left: after padding, '=', whitespace, a bad one."""
        v = _B64[c] if c < 0x80 else 0xFF
        pad = self.pad
        k = self.k
        if v < 64 and not pad:
            self.acc = (self.acc << 6) | v
            self.k = k + 1
            if k == 3:
                self._emit(self.acc, 3)
                self.k = self.acc = 0
        elif v == 64 and (pad == 1 or (not pad and k >= 2)):
            if pad == 1:          # xy== complete
                self._emit(self.acc >> 4, 1)
            elif k == 3:          # xyz=
                self._emit(self.acc >> 2, 2)
            else:                 # xy= : one more '=' due
                self.pad = 1
                return
            self.pad = _PADDED
            self.k = self.acc = 0
        elif not (c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09):
            self._page_bad(" is not valid base64")

    def _emit(self, v, nb):
        out = self.out
        o = self.no
        for s in range(nb - 1, -1, -1):
            out[o] = (v >> (8 * s)) & 0xFF
            o += 1
        self.no = o
        if o > _FLUSH:
            self._flush()

    def _flush(self):
        o = self.no
        if not o:
            return
        if self.tg == _T_B64:
            if not self.hdr:
                self._head()
            if self.nd + o > self.max_dec:
                self._page_bad(" longer than %d base64 characters" % (self.max_dec // 3 * 4),
                               commands.TOO_LARGE)
        elif self.nd + o - self.extra > self.max_text:
            self._page_bad(" longer than %d characters" % self.max_text, commands.TOO_LARGE)
        self.nd += o
        self.no = 0
        self.sink.write(self.outmv[:o])

    def _head(self):
        """The first two image bytes (still in out, nothing written yet): PBM magic, or a
        zlib header (RFC 1950) whose window fits (commands.PBMZ_MAX_WBITS)."""
        self.hdr = True
        out = self.out
        two = self.no >= 2
        if self.kind == 1:
            if not two or out[0] != 0x50 or out[1] not in (0x31, 0x34):
                self._page_bad(" is not a PBM image (P1/P4)")
            return
        if not two or out[0] & 0x0F != 8 or ((out[0] << 8) | out[1]) % 31:
            self._page_bad(" is not zlib data")
        wbits = commands.pbmz_wbits(out)
        m = commands.PBMZ_MAX_WBITS
        if wbits > m:
            self._page_bad(" declares a %d-byte zlib window, at most %d: compress with wbits "
                           "<= %d (zlib.compressobj(9, zlib.DEFLATED, 10))" % (1 << wbits, 1 << m, m))
