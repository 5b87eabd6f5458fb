"""The telegram line of the board's second UART, sans I/O (docs/unit.md "Telegram line").

One telegram per line, hex, optionally after a sender prefix: `center:A 3030...`,
`terminal 5431...`, or the hex alone (then the configured sender and center). Lines end with
LF or CR; empty lines are skipped. Bytes in, one result per finished line out:

    ln = Line("center", "")
    for sender, center, data in ln.feed(chunk):
        if sender is None:      # the line is refused: center is the cmd/error reason, data its detail
            ...

The hex is decoded as it arrives into one buffer of max_line / 2 bytes, and the first word is
kept (up to 65 characters) in case it is a prefix: both allocated here, never grown, none over
2 KB. A line longer than max_line characters is refused once (too_large) and read no further:
its tail up to the next line end is dropped, never taken for a telegram of its own.
"""
from micropython import const

from faxbridge.core.mqtt import commands

MAX_LINE = const(2 * 1024 + 64)   # 1024 telegram bytes as hex + a sender/center prefix
MAX_PREFIX = const(64)            # a longer first word is not a sender prefix


class Line:
    def __init__(self, sender, center, max_line=MAX_LINE):
        self.sender = sender
        self.center = center or None
        self.max = max_line
        self.data = bytearray(max_line // 2)     # the current word, hex-decoded
        self.head = bytearray(MAX_PREFIX + 1)    # the first word as it came
        self.skip = False         # inside a line too long: dropped up to its end
        self._reset()

    def _reset(self):
        self.n = 0                # characters in the line
        self.words = 0            # words begun
        self.inword = False
        self.h = 0                # characters of the first word in head (MAX_PREFIX + 1: longer)
        self.k = 0                # bytes decoded from the current word
        self.nib = -1             # a high nibble waiting for its low one
        self.hex = True           # the current word is hex so far

    def feed(self, data):
        """Take bytes (any buffer); yield (sender, center, data) for each telegram line, or
        (None, reason, detail) for a line refused."""
        for c in data:
            if c == 10 or c == 13:
                if self.skip:
                    self.skip = False
                elif self.n:
                    r = self._end()
                    self._reset()
                    yield r
            elif self.skip:
                pass
            elif self.n >= self.max:
                self._reset()
                self.skip = True
                yield None, commands.TOO_LARGE, "telegram line longer than %d characters" % self.max
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
                if self.words == 1 and self.h <= MAX_PREFIX:
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

    def _end(self):
        w = self.words
        if not (w == 1 or w == 2) or not self.hex or self.nib >= 0 or not self.k:
            return None, commands.BAD_FIELD, "telegram line is not hex"
        sender = self.sender
        center = self.center
        if w == 2:
            head = ""
            if self.h <= MAX_PREFIX:
                try:
                    head = bytes(self.head[:self.h]).decode()
                except ValueError:        # not UTF-8: no sender prefix (UnicodeError on both runtimes)
                    pass
            who, _, cen = head.partition(":")
            if who == "center" or who == "terminal":
                sender = who
                center = cen or center
        return sender, center, bytes(self.data[:self.k])
