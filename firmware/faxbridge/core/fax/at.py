"""AT layer (sans-I/O): split the modem's output into lines and classify them; format commands.

Seed 001, 5.4 (Class 2 responses) and the V.25 ter result codes. The parser tolerates echo,
blank lines, verbose and numeric result codes, unsolicited RING and XON/XOFF bytes between
lines (a Class 2 modem sends them around page data).
"""
from micropython import const

_XON = const(0x11)
_XOFF = const(0x13)      # class2.Class2.feed tells the two items apart (0x13)

# Line kinds returned by classify(); a final result is the kind no other is (its constant
# private: no module name; the machine tells it by elimination).
_FINAL = const(1)  # a final result code: OK, CONNECT, ERROR, BUSY, NO CARRIER, ...
FAX = const(2)     # a +F response: +FCON, +FHNG:0, +FDIS:1,3,0,2,0,0,0,0, ...
RING = const(3)    # unsolicited RING
ECHO = const(4)    # our own command echoed back (echo left on)
INFO = const(5)    # any other information text (ATI answers, +FDIS? values, ...)

# Final result codes (V.25 ter 6.2.5 and common modem manuals), one str each, a name between
# bars, read in place by classify: verbose, "NO DIAL TONE" as real modems spell it too (read
# as NO DIALTONE); numeric (ATV0), name v for code v.
_VERBOSE = const("|OK|CONNECT|ERROR|NO CARRIER|NO DIALTONE|NO DIAL TONE|BUSY|NO ANSWER|VOICE|DELAYED|BLACKLISTED|")
_NUMERIC = const("|OK|CONNECT|RING|NO CARRIER|ERROR|CONNECT|NO DIALTONE|BUSY|NO ANSWER|")



def classify(line, out):
    """The kind of one response line (a str without CR/LF); its name and args go into
    out[0], out[1] (a preallocated list of 2: no tuple per line).

    a final result (_FINAL): name is the verbose result ("NO DIAL TONE" -> "NO DIALTONE"), args the rest.
    FAX: name is "+FXXX" (upper case), args the text after the colon, stripped.
    RING, ECHO, INFO: name is the line.
    """
    s = line.strip()
    u = s if s.isupper() else s.upper()
    kind = INFO
    name = s
    args = ""
    if u.startswith("AT"):
        kind = ECHO
    elif u.startswith("+F"):
        kind = FAX
        i = u.find(":")
        name = u if i < 0 else u[:i].strip()
        args = "" if i < 0 else s[i + 1:].strip()
    elif u == "RING" or u.startswith("RING "):
        kind = RING
        name = "RING"
    elif 0 < len(u) <= 2 and u.isdigit():
        # numeric result codes (ATV0) 0..8 -> verbose name, by digit (V.25 ter 6.2.5 and common
        # modem manuals): the v-th name of _NUMERIC (made when read: ATV0 only before the init list)
        v = int(u)
        if len(u) == 1 and v <= 8:
            a = 1
            for _j in range(v):
                a = _NUMERIC.find("|", a) + 1
            name = _NUMERIC[a:_NUMERIC.find("|", a)]
            kind = RING if v == 2 else _FINAL
        elif v >= 9:                        # 9..19: CONNECT <speed> in most numeric tables
            kind = _FINAL
            name = "CONNECT"
            args = u
    if kind == INFO:
        # verbose final result codes: a line that is one of _VERBOSE, or starts with one and a
        # space, is final (its name the line, or its start: "CONNECT 9600" is CONNECT); compared
        # in place, nothing made for a bare result
        n = len(u)
        a = 1
        while a < len(_VERBOSE):
            b = _VERBOSE.find("|", a)
            k = b - a
            j = 0
            while j < k and j < n and u[j] == _VERBOSE[a + j]:
                j += 1
            if j == k and (n == k or u[k] == " "):
                kind = _FINAL
                name = "NO DIALTONE" if k == 12 else u if n == k else u[:k]   # 12: NO DIAL TONE only
                args = s[k:].strip() if n > k else ""
                break
            a = b + 1
    out[0] = name
    out[1] = args
    return kind


def ints(args, out, upto, base=10):
    """The comma-separated numbers of a +F response ("1,3,0,2") into out[0:upto] (a
    preallocated list: no list or str is made per line); returns how many fields there are.

    Blank fields count as 0, spaces are ignored; decimal, or hex with base=16 (+FHS, T.32).
    Raises ValueError on anything else in the fields kept; fields past `upto` are not read.
    """
    k = 0
    v = 0
    n = len(args)
    i = 0
    while i <= n:
        c = ord(args[i]) if i < n else 44
        i += 1
        if c == 44:                 # ','
            if k < upto:
                out[k] = v
            k += 1
            v = 0
        elif c != 32 and k < upto:
            d = c - 48 if 48 <= c <= 57 else (c | 32) - 87 if 97 <= (c | 32) <= 102 else 99
            if d >= base:
                raise ValueError("not a number: %s" % args)
            v = v * base + d
    return k


def command(body, buf=None):
    """b"AT" + body + CR; body must be printable ASCII (so no CR can end it early). Made in
    `buf` (a memoryview; the view of it is returned) when it fits, else as new bytes."""
    n = len(body)
    for ch in body:
        if not (" " <= ch <= "~"):
            raise ValueError("non-printable character in AT command")
    if buf is None or n + 3 > len(buf):
        return ("AT%s\r" % body).encode()
    buf[0] = 65
    buf[1] = 84
    for i in range(n):
        buf[i + 2] = ord(body[i])
    buf[n + 2] = 13
    return buf[:n + 3]


class LineReader:
    """Collects response lines from the modem in a preallocated buffer.

    take(data, i) scans data (bytes/bytearray) from index i and returns j, the index after what
    was consumed; self.item is then a completed line (str, never empty), XON or XOFF (int), or
    None when data ran out mid-line (no tuple per line). Bytes outside printable ASCII become
    '?'; a line longer than size - cmd is cut (the rest is dropped and counted in `overflows`).
    The last `cmd` bytes of the buffer are not for lines: `self.cmd`, a view of them, is where
    the machine makes its AT commands (command(body, buf)). 192 bytes by default: lines keep
    128 (a Class 2 response is under 40, the AT+FCLASS=? listing under 30; longer information
    text is not read), commands 64 (ATDT and a 40-digit number, an init command of 40).
    """

    def __init__(self, size=192, cmd=64):
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self.cmd = self._mv[size - cmd:]
        self._n = 0
        self.item = None
        self.overflows = 0

    def reset(self):
        self._n = 0

    def take(self, data, i):
        buf = self._buf
        n = self._n
        end = len(data)
        cap = len(buf) - len(self.cmd)
        self.item = None
        while i < end:
            b = data[i]
            i += 1
            if b == 13 or b == 10:
                if n:
                    self._n = 0
                    self.item = str(self._mv[:n], "ascii")   # one str (no copy between)
                    return i
                continue
            if b == _XON or b == _XOFF:
                self._n = n
                self.item = b
                return i
            if n >= cap:
                self.overflows += 1
                continue
            buf[n] = b if 32 <= b < 127 else 63
            n += 1
        self._n = n
        return i
