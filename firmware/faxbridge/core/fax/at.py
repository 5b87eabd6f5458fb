"""AT layer (sans-I/O): split the modem's output into lines and classify them; format commands.

Seed 001, 5.4 (Class 2 responses) and the V.25 ter result codes. The parser tolerates echo,
blank lines, verbose and numeric result codes, unsolicited RING and XON/XOFF bytes between
lines (a Class 2 modem sends them around page data).
"""
from micropython import const

_XON = const(0x11)
XOFF = const(0x13)

# Line kinds returned by classify().
FINAL = const(1)   # a final result code: OK, CONNECT, ERROR, BUSY, NO CARRIER, ...
FAX = const(2)     # a +F response: +FCON, +FHNG:0, +FDIS:1,3,0,2,0,0,0,0, ...
RING = const(3)    # unsolicited RING
ECHO = const(4)    # our own command echoed back (echo left on)
INFO = const(5)    # any other information text (ATI answers, +FDIS? values, ...)

# Numeric result codes (ATV0) -> verbose name (V.25 ter 6.2.5 and common modem manuals).
NUMERIC = (
    ("0", "OK"),
    ("1", "CONNECT"),
    ("2", "RING"),
    ("3", "NO CARRIER"),
    ("4", "ERROR"),
    ("5", "CONNECT"),
    ("6", "NO DIALTONE"),
    ("7", "BUSY"),
    ("8", "NO ANSWER"),
)

# Verbose final result codes; a line starting with one of these (then end or a space) is final.
# "CONNECT 9600" is CONNECT; "NO DIAL TONE" is spelt both ways by real modems.
VERBOSE = ("OK", "CONNECT", "ERROR", "NO CARRIER", "NO DIALTONE", "NO DIAL TONE", "BUSY",
           "NO ANSWER", "VOICE", "DELAYED", "BLACKLISTED")


def classify(line):
    """(kind, name, args) for one response line (a str without CR/LF).

    FINAL: name is the verbose result ("NO DIAL TONE" -> "NO DIALTONE"), args the rest.
    FAX: name is "+FXXX" (upper case), args the text after the colon, stripped.
    RING, ECHO, INFO: name is the line.
    """
    s = line.strip()
    u = s.upper()
    if u.startswith("AT"):
        return (ECHO, s, "")
    if u.startswith("+F"):
        i = u.find(":")
        if i < 0:
            return (FAX, u, "")
        return (FAX, u[:i].strip(), s[i + 1:].strip())
    if u == "RING" or u.startswith("RING "):
        return (RING, "RING", "")
    if 0 < len(u) <= 2 and u.isdigit():
        for n, name in NUMERIC:
            if n == u:
                return (RING, name, "") if name == "RING" else (FINAL, name, "")
        if int(u) >= 9:          # 9..19: CONNECT <speed> in most numeric tables
            return (FINAL, "CONNECT", u)
    for v in VERBOSE:
        if u == v or u.startswith(v + " "):
            name = "NO DIALTONE" if v == "NO DIAL TONE" else v
            return (FINAL, name, s[len(v):].strip())
    return (INFO, s, "")


def ints(args):
    """The comma-separated numbers of a +F response ("1,3,0,2" -> [1, 3, 0, 2]).

    Blank fields count as 0 (decimal, as Class 2 reports them). Raises ValueError otherwise.
    """
    out = []
    for f in args.split(","):
        f = f.strip()
        out.append(int(f) if f else 0)
    return out


def text(args):
    """A +FTSI/+FCSI id: quotes and the padding spaces of T.30 ids removed."""
    s = args.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1]
    return s.strip()


def command(body):
    """b"AT" + body + CR; body must be printable ASCII (so no CR can end it early)."""
    for ch in body:
        if not (" " <= ch <= "~"):
            raise ValueError("non-printable character in AT command")
    return ("AT" + body + "\r").encode()


class LineReader:
    """Collects response lines from the modem in a preallocated buffer.

    take(data, i) scans data (bytes/bytearray) from index i and returns (j, item): j is the
    index after what was consumed, item a completed line (str, never empty), XON or XOFF (int),
    or None when data ran out mid-line. Bytes outside printable ASCII become '?'; a line longer
    than the buffer is cut (the rest is dropped and counted in `overflows`).
    """

    def __init__(self, size=256):
        self._buf = bytearray(size)
        self._n = 0
        self.overflows = 0

    def reset(self):
        self._n = 0

    def take(self, data, i):
        buf = self._buf
        n = self._n
        end = len(data)
        while i < end:
            b = data[i]
            i += 1
            if b == 13 or b == 10:
                if n:
                    self._n = 0
                    return i, bytes(buf[:n]).decode()
                continue
            if b == _XON or b == XOFF:
                self._n = n
                return i, b
            if n >= len(buf):
                self.overflows += 1
                continue
            buf[n] = b if 32 <= b < 127 else 63
            n += 1
        self._n = n
        return i, None
