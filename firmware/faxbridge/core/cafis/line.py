"""The telegram line of the board's second UART, sans I/O (docs/unit.md "Telegram line").

One telegram per line, hex, optionally after a sender prefix: `center:A 3030...`,
`terminal 5431...`, or the hex alone (then the configured sender and center). Lines end with
LF or CR; empty lines are skipped. Bytes in, one result per finished line out:

    ln = Line("center", "")
    for sender, center, data in ln.feed(chunk):
        if sender is None:      # the line is refused: center is the cmd/error reason, data its detail
            ...

The line is gathered in one buffer allocated here (max_line bytes), never grown. A line longer
than that is refused once (too_large) and read no further: its tail up to the next line end is
dropped, never taken for a telegram of its own.
"""
import binascii

from micropython import const

from faxbridge.core.mqtt.commands import BAD_FIELD, TOO_LARGE

MAX_LINE = const(2 * 1024 + 64)   # 1024 telegram bytes as hex + a sender/center prefix
MAX_PREFIX = const(64)            # a longer first word is not a sender prefix


class Line:
    def __init__(self, sender, center, max_line=MAX_LINE):
        self.sender = sender
        self.center = center or None
        self.buf = bytearray(max_line)
        self.n = 0
        self.skip = False         # inside a line too long: dropped up to its end

    def feed(self, data):
        """Take bytes (any buffer); yield (sender, center, data) for each telegram line, or
        (None, reason, detail) for a line refused."""
        buf = self.buf
        cap = len(buf)
        for b in data:
            if b == 10 or b == 13:
                if self.skip:
                    self.skip = False
                elif self.n:
                    n = self.n
                    self.n = 0
                    yield self._parse(n)
            elif self.skip:
                pass
            elif self.n < cap:
                buf[self.n] = b
                self.n += 1
            else:
                self.n = 0
                self.skip = True
                yield None, TOO_LARGE, "telegram line longer than %d characters" % cap

    def _parse(self, n):
        b = self.buf
        s1, e1 = _word(b, 0, n)
        s2, e2 = _word(b, e1, n)
        sender = self.sender
        center = self.center
        if s2 == n:                       # one word: the hex alone
            s, e = s1, e1
        elif _word(b, e2, n)[0] < n:      # three words or more
            s = e = 0
        else:
            head = ""
            if e1 - s1 <= MAX_PREFIX:
                try:
                    head = bytes(b[s1:e1]).decode()
                except ValueError:        # not UTF-8: no sender prefix (UnicodeError on both runtimes)
                    pass
            who, _, cen = head.partition(":")
            if who == "center" or who == "terminal":
                sender = who
                center = cen or center
            s, e = s2, e2
        try:
            if s == e:
                raise ValueError
            data = binascii.unhexlify(memoryview(b)[s:e])
        except ValueError:
            return None, BAD_FIELD, "telegram line is not hex"
        return sender, center, data


def _word(b, i, n):
    """(start, end) of the first word of b[i:n] (space, tab, VT, FF between words); (n, n): none."""
    while i < n and b[i] in b" \t\x0b\x0c":
        i += 1
    s = i
    while i < n and b[i] not in b" \t\x0b\x0c":
        i += 1
    return s, i
