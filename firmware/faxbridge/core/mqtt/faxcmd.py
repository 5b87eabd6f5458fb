"""cmd/fax parsed as it arrives (docs/mqtt.md "Commands"): payload bytes in, page bytes out.

    p = Parser(sink)                 # sink: begin_page(i, kind), write(mv), end_page(), clear()
    p.feed(chunk)                    # any split: mid-token, mid-escape, mid-UTF-8, mid-base64
    job, number, kinds = p.end()     # kinds: ["text", "pbm", "pbmz", ...] in page order
    p.digest                         # binascii.crc32 of every payload byte fed

The command is the one JSON object `{"job":..., "number":..., "pages":[{"text"|"pbm"|"pbmz":
"..."}, ...]}` in any key order (RFC 8259). The parser is a state machine over bytes with a few
ints and two small fixed buffers; a page's text (UTF-8, JSON escapes decoded) or image bytes
(base64 decoded) go to the sink 255 bytes at a time (faxstr.py decodes the strings), so nothing
the size of a page is ever in RAM, and feed() and end() allocate next to nothing themselves (a
slice for a page's last piece, the strings and the list end() returns). The first bad byte or
field raises commands.CommandError with the reasons of commands.parse: nothing is nested (a
value of the wrong type is refused at its first byte), duplicate and unknown fields are
refused, a pbmz header is checked on its first two decoded bytes (zlib, RFC 1950: CM = 8,
FCHECK, window at most commands.PBMZ_MAX_WBITS). The error's ref is the job id when it came
before the error. After an error the sink is cleared (its pages dropped), feed() ignores the rest of the payload
and end() raises the same error. The payload's total size is the caller's to bound (it knows
it from the PUBLISH header).
"""
import binascii
import json

from micropython import const

from faxbridge.core.fax import dial
from faxbridge.core.mqtt import commands
from faxbridge.core.mqtt import faxstr as fs

_MAX_PAGES = const(50)      # pages of one cmd/fax (docs/mqtt.md "Commands")
_MAX_TEXT = const(16000)    # characters of one text page
_MAX_B64 = const(349528)   # base64 characters of one page: a whole 256 KB payload

# States outside strings (the comment: what may come next)
_TOP = const(0)       # '{'
_KEY0 = const(1)      # '"' or '}'
_KEY = const(2)       # '"'
_COLON = const(3)     # ':'
_VAL = const(4)       # the value of a top-level field (self.kind: which)
_NEXT = const(5)      # ',' or '}'
_ARR0 = const(6)      # '{' or ']' (after the '[' of pages)
_ARRN = const(7)      # '{'
_ANEXT = const(8)     # ',' or ']'
_PKEY0 = const(9)     # '"' (a page's one field)
_PCOLON = const(10)   # ':'
_PVAL = const(11)     # '"'
_PNEXT = const(12)    # '}'
_DONE = const(13)     # nothing but whitespace
_FAIL = const(19)     # above the string states of faxstr (STR ..)

# The plain moves: state, byte, next state (the others are in _struct).
_MOVES = b"\x00{\x01\x01}\x0d\x03:\x04\x0a:\x0b\x05,\x02\x05}\x0d\x08,\x07\x08]\x05"


class Parser(fs.Strings):
    """The structure machine: the bytes outside strings and what a closed string means; the
    strings themselves are decoded by fs.Strings."""

    def __init__(self, sink, max_pages=_MAX_PAGES, max_text=_MAX_TEXT,
                 max_b64=_MAX_B64, max_job=commands.MAX_JOB, max_number=commands.MAX_NUMBER):
        # few instance fields (issue 13: 39 of them made a 1.3 KB parser, its dict the most):
        # the limits in one tuple, lim[0] pages, [1] text characters, [2] decoded image bytes,
        # [3] job id, [4] dial string; `small` holds the page kinds (one byte a page, at 0),
        # then the small string being read (at lim[0]), and last a bit per top-level field met
        self.sink = sink
        self.lim = (max_pages, max_text, max_b64 // 4 * 3, max_job, max_number)
        self.out = bytearray(fs.OUT)
        self.small = bytearray(max_pages + max(max_job, max_number, fs.KEYMAX) + 1)
        self.reset()

    def reset(self):
        """Ready for the next payload (the buffers are kept)."""
        self.st = _TOP
        self.err = self.job = self.number = None
        self.digest = self.size = 0
        self.small[-1] = 0   # a bit per top-level field met
        self.np = 0        # pages complete
        self.kind = 0      # kind of the page being read; out of pages, the top-level field
        #                    whose value comes
        self.tg = 0
        # UTF-8 continuation bytes still due; \uXXXX value behind a 1 bit (2: the low half of
        # a surrogate pair; 4 digits read once it is above 0xFFFF)
        self.ucont = self.hx = 0
        # page data: bytes in out, bytes given to the sink (none given yet: the first two
        # image bytes still to check); base64 bits, characters in the quad, padding state.
        # Fields that other strings use for what they alone need (issue 13: 8 fields fewer,
        # the parser's member table one size down and not full: a full one is slower to look
        # up): in a text page k counts the UTF-8 continuation bytes written (characters =
        # bytes - k); in a small string k counts its characters, and in a job id or dial
        # string no is the first character not allowed (-1: none) and nd counts digits; in
        # any string but an image page's, acc is the code point being decoded from UTF-8 or
        # a surrogate pair's high half, and pad the range of the next UTF-8 continuation byte
        # (low | high << 8). An image page refuses a non-ASCII byte and a character above
        # U+007F whatever they hold.
        self.no = self.nd = self.acc = self.k = self.pad = 0

    def _fail(self, e):
        self.st = _FAIL
        self.err = e
        try:
            self.sink.clear()
        except OSError:
            pass

    # ---- input
    def feed(self, chunk):
        """Take the next bytes of the payload; raises CommandError at the first bad one."""
        if self.st == _FAIL:
            return
        n = len(chunk)              # indexed as it is: no view of it made
        self.digest = binascii.crc32(chunk, self.digest)
        try:
            self._run(chunk, n)   # self.size: the payload offset of this chunk until it returns
        except commands.CommandError as e:
            self._fail(e)
            raise
        except OSError as e:  # the sink's flash is full or failing: try again later
            err = commands.CommandError(commands.BUSY, "cannot store the pages: %s" % (e,), self.job)
            self._fail(err)
            raise err
        self.size += n

    def end(self):
        """(job, number, kinds) once the whole payload was fed, else raises CommandError."""
        if self.err is not None:
            raise self.err
        try:
            if not self.size:
                raise commands.CommandError(commands.EMPTY, "empty payload")
            if self.st != _DONE:
                raise commands.CommandError(commands.BAD_JSON, "not valid UTF-8 JSON: the payload ends "
                                   "inside the object (%d bytes)" % self.size, self.job)
            for f in range(3):
                if not self.small[-1] >> f & 1:
                    self._bad(fs.FIELDS[f] + " is required", commands.MISSING)
        except commands.CommandError as e:
            self._fail(e)
            raise
        kinds = [None] * self.np    # one list of its size
        for i in range(self.np):
            kinds[i] = fs.KINDS[self.small[i]]
        return self.job, self.number, kinds

    # ---- structure
    def _struct(self, st, c, i):
        """One byte outside strings (not whitespace)."""
        m = _MOVES
        for j in range(0, len(m), 3):
            if m[j] == st and m[j + 1] == c:
                self.st = m[j + 2]
                return
        if st == _KEY0 or st == _KEY or st == _PKEY0:
            if c == 0x22:
                self._open(fs.T_PKEY if st == _PKEY0 else fs.T_KEY)
            elif st == _PKEY0 and c == 0x7D:
                self._page_bad(' must be an object with one of "text", "pbm", "pbmz"', kind=False)
            else:
                self._bad_json("expected a field name", i)
        elif st == _VAL:
            f = self.kind
            if f == 2:
                if c != 0x5B:
                    self._bad("pages must be a non-empty list")
                self.st = _ARR0
            elif c != 0x22:
                self._bad("%s must be a string of 1..%d characters"
                          % (fs.FIELDS[f], self.lim[4] if f else self.lim[3]))
            else:
                self._open(fs.T_NUM if f else fs.T_JOB)
                self.no = -1     # the first character not allowed: none yet
                self.nd = 0      # digits
        elif (st == _ARR0 or st == _ARRN) and c == 0x7B:
            m = self.lim[0]
            if self.np >= m:
                self._bad("more than %d pages, limit %d" % (m, m),
                          commands.TOO_LARGE)
            self.st = _PKEY0
        elif st == _ARR0 and c == 0x5D:
            self._bad("pages must be a non-empty list")
        elif st == _ARR0 or (st == _ARRN and c != 0x5D) or (st == _PNEXT and c == 0x2C):
            self._page_bad(' must be an object with one of "text", "pbm", "pbmz"', kind=False)
        elif st == _PVAL:
            if c != 0x22:
                self._page_bad(" must be a non-empty base64 string" if self.kind else " must be a string")
            self._open(fs.T_B64 if self.kind else fs.T_TEXT)
            self.no = self.nd = self.acc = self.k = self.pad = 0
            self.sink.begin_page(self.np, fs.KINDS[self.kind])
        elif st == _PNEXT and c == 0x7D:
            self.sink.end_page()
            self.small[self.np] = self.kind
            self.np += 1
            self.st = _ANEXT
        elif st == _TOP:
            self._bad_json("payload must be a JSON object", i)
        else:
            self._bad_json("unexpected %s" % json.dumps(chr(c)) if c < 0x80 else "invalid byte", i)

    def _close(self):
        """The closing quote of the current string."""
        tg = self.tg
        n = self.k       # (a small string's characters)
        if tg <= fs.T_PKEY:
            names = fs.KINDS if tg else fs.FIELDS
            s = self.small
            m = self.lim[0]
            for f in range(3):      # the small string read equals a name (ASCII): no allocation
                w = names[f]
                if n == len(w):
                    j = 0
                    while j < n and s[m + j] == ord(w[j]):
                        j += 1
                    if j == n:
                        break
            else:
                name = json.dumps(bytes(self.small[m:m + min(n, fs.KEYMAX)]).decode()
                                  + ("..." if n > fs.KEYMAX else ""))
                if tg:
                    self._page_bad(": unknown page kind " + name, commands.UNKNOWN_FIELD, False)
                self._bad("unknown field " + name, commands.UNKNOWN_FIELD)
            if tg:
                self.kind = f
                self.st = _PCOLON
                return
            if self.small[-1] >> f & 1:
                self._bad('duplicate field "%s"' % fs.FIELDS[f])
            self.small[-1] |= 1 << f
            self.kind = f
            self.st = _COLON
        elif tg <= fs.T_NUM:
            what = fs.FIELDS[tg - fs.T_JOB]
            if not n:
                self._bad("%s must be a string of 1..%d characters"
                          % (what, self.lim[3] if tg == fs.T_JOB else self.lim[4]))
            if tg == fs.T_JOB and self.no >= 0:
                self._bad("job may hold only letters, digits and . _ : -")
            if self.no >= 0:
                self._bad("number: character %s not allowed in a dial string"
                          % json.dumps(chr(self.no)))
            if tg == fs.T_NUM and not self.nd:
                self._bad("number has no digits")
            m = self.lim[0]
            v = str(self.small[m:m + n], "utf-8")   # ASCII: what _put let in
            if tg == fs.T_JOB:
                self.job = v
            else:
                code, why = dial.form(v, 2 * commands.MAX_NUMBER)   # one dial rule
                if code is not None:
                    self._bad("number: " + why)
                self.number = v
            self.st = _NEXT
        else:
            if tg == fs.T_B64:
                if self.k or self.pad == 1:
                    self._page_bad(" is not valid base64")
                if not self.nd + self.no:
                    self._page_bad(" must be a non-empty base64 string")
            self._flush()
            self.st = _PNEXT

