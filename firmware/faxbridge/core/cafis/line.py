"""The telegram line of the board's second UART, sans I/O (docs/unit.md "Telegram line").

One telegram per line, hex, optionally after a sender prefix: `center:A 3030...`,
`terminal 5431...`, or the hex alone (then the configured sender and center). Lines end with
LF or CR; empty lines are skipped. Bytes in, one result per finished line, read from the Line:

    ln = Line("center", "")
    i = 0
    while True:
        i = ln.feed(buf, i, n)          # buf[i:n]; -1: all read, no line finished
        if i < 0:
            break
        if ln.who is None:              # refused: ln.where is the cmd/error reason, ln.why its detail
            ...
        else:                           # ln.who sender, ln.where center, the first ln.k bytes of ln.data
            ...

The hex is decoded as it arrives into one buffer of max_line / 2 bytes, and the first word is
kept (up to 65 characters) in case it is a prefix: both allocated here, never grown, none over
2 KB. Framing allocates nothing per line (the center named by a prefix becomes a str once and
is reused while the lines name the same one). A line longer than max_line characters is refused
once (too_large) and read no further: its tail up to the next line end is dropped, never taken
for a telegram of its own.
"""
from micropython import const

from faxbridge.core.mqtt import commands

_MAX_LINE = const(2112)            # 1024 telegram bytes as hex (2 * 1024) + a sender/center prefix (64)
_MAX_PREFIX = const(64)            # a longer first word is not a sender prefix


class Line:
    def __init__(self, sender, center, max_line=_MAX_LINE):
        self.sender = sender
        self.center = center or None
        self.max = max_line
        self.data = bytearray(max_line // 2)     # the current word, hex-decoded
        self.head = bytearray(_MAX_PREFIX + 1)    # the first word as it came
        self.cen = None           # the last center a prefix named (str), reused while the same
        self.skip = False         # inside a line too long: dropped up to its end
        self.who = self.where = self.why = None   # the result of the last line finished
        self.n = 0                # characters in the line
        self._reset()

    def _reset(self):
        self.n = 0
        self.words = 0            # words begun
        self.inword = False
        self.h = 0                # characters of the first word in head (_MAX_PREFIX + 1: longer)
        self.k = 0                # bytes decoded from the current word
        self.nib = -1             # a high nibble waiting for its low one
        self.hex = True           # the current word is hex so far

    def feed(self, buf, i=0, end=-1):
        """Read buf[i:end] (any buffer; end -1: its length) up to the first line finished:
        returns the index after the byte that finished it, its result in who / where / why
        (refused: who None, where the reason, why the detail) or who / where / data[:k]; or -1
        when every byte was read and no line finished."""
        if end < 0:
            end = len(buf)
        while i < end:
            c = buf[i]
            i += 1
            if c == 10 or c == 13:
                if self.skip:
                    self.skip = False
                elif self.n:
                    break                            # a line ended: its result below
            elif self.skip:
                pass
            elif self.n >= self.max:
                self._reset()
                self.skip = True
                self.who = None
                self.where = commands.TOO_LARGE
                self.why = "telegram line longer than %d characters" % self.max
                return i
            else:
                self.n += 1
                if c == 32 or c == 9 or c == 11 or c == 12:
                    self.inword = False
                    continue
                if not self.inword:                  # a word begins
                    self.inword = True
                    self.words += 1
                    self.k = 0
                    self.nib = -1
                    self.hex = True
                if self.words == 1 and self.h <= _MAX_PREFIX:
                    self.head[self.h] = c
                    self.h += 1
                if not self.hex:
                    continue
                if 48 <= c <= 57:
                    v = c - 48
                elif 97 <= (c | 32) <= 102:
                    v = (c | 32) - 87
                else:
                    self.hex = False
                    continue
                if self.nib < 0:
                    self.nib = v
                else:
                    self.data[self.k] = (self.nib << 4) | v
                    self.k += 1
                    self.nib = -1
        else:
            return -1
        # the line just ended: its result (who, where, why; data[:k] kept), the state reset
        w = self.words
        k = self.k
        h = self.h
        ok = (w == 1 or w == 2) and self.hex and self.nib < 0 and k
        self._reset()
        self.k = k
        if not ok:
            self.who = None
            self.where = commands.BAD_FIELD
            self.why = "telegram line is not hex"
            return i
        self.who = self.sender
        self.where = self.center
        if w != 2 or h > _MAX_PREFIX:
            return i
        hd = self.head
        for who in ("center", "terminal"):           # the word alone or followed by ":<center>"
            p = len(who)
            if h < p or (h > p and hd[p] != 58):
                continue
            j = 0
            while j < p and hd[j] == ord(who[j]):
                j += 1
            if j < p:
                continue
            self.who = who
            if h <= p + 1:                           # no center named: the configured one
                return i
            c = self.cen                             # the same as the last one: no new str
            if c is not None and len(c) == h - p - 1:
                j = 0
                for ch in c:
                    o = ord(ch)
                    if o > 127 or o != hd[p + 1 + j]:
                        break
                    j += 1
                if j == len(c):
                    self.where = c
                    return i
            try:
                self.where = self.cen = bytes(memoryview(hd)[p + 1:h]).decode()
            except ValueError:  # not UTF-8: no sender prefix (UnicodeError on both runtimes)
                self.who = self.sender
            return i
        return i
