"""Class 2 session parameters VR,BR,WD,LN,DF,EC,BF,ST (seed 001, 5.5 and Table 5-2).

+FDCC / +FDIS / +FDCS values are kept as a tuple of 8 ints; describe() gives their meaning.
"""
from faxbridge.core.fax import at

NAMES = ("VR", "BR", "WD", "LN", "DF", "EC", "BF", "ST")

# Table 5-2 subparameters, row by row: (name, ((value, meaning), ...)).
TABLE = (
    ("VR", ((0, 98), (1, 196))),                                  # vertical resolution, lines/inch
    ("BR", ((0, 2400), (1, 4800), (2, 7200), (3, 9600), (4, 12000), (5, 14400))),   # bit/s
    ("WD", ((0, 1728), (1, 2048), (2, 2432))),                    # pixels per line (215/255/303 mm)
    ("LN", ((0, "A4"), (1, "B4"), (2, "unlimited"))),             # page length
    ("DF", ((0, "MH"), (1, "MR"), (2, "uncompressed"), (3, "MMR"))),   # data format (T.4 1-D = MH)
    ("EC", ((0, "off"), (1, "ECM-64"), (2, "ECM-256"))),          # error correction mode
    ("BF", ((0, "off"), (1, "on"))),                              # binary file transfer
    ("ST", ((0, (0, 0)), (1, (5, 5)), (2, (10, 5)), (3, (10, 10)),   # minimum scan time, ms
            (4, (20, 10)), (5, (20, 20)), (6, (40, 20)), (7, (40, 40)))),   # (at VR=0, at VR=1)
)

# Seed 001 5.5.1/5.5.2: defaults of +FDCC/+FDIS (0,3,0,2,0,0,0,0): normal, 9600, 1728, unlimited.
DEFAULT = (0, 3, 0, 2, 0, 0, 0, 0)


def parse(args):
    """'1,3,0,2,0,0,0,0' -> (1, 3, 0, 2, 0, 0, 0, 0).

    Missing trailing fields are 0 (some modems report fewer); extra fields are ignored.
    Raises ValueError on a value outside Table 5-2.
    """
    if not args.strip():
        raise ValueError("no session parameters")
    v = at.ints(args)
    if len(v) > 16:
        raise ValueError("bad session parameters")
    v = (v + [0] * 8)[:8]
    for i in range(8):
        if _meaning(i, v[i]) is None:
            raise ValueError("%s=%d not in Table 5-2" % (NAMES[i], v[i]))
    return tuple(v)


def _meaning(i, value):
    for val, meaning in TABLE[i][1]:
        if val == value:
            return meaning
    return None


def to_str(p):
    """(1, 3, 0, 2, 0, 0, 0, 0) -> '1,3,0,2,0,0,0,0' (for AT+FDIS= / AT+FDCC=)."""
    return ",".join(str(x) for x in p)


def bit_rate(p):
    return _meaning(1, p[1])


def scan_time_ms(p):
    """Minimum scan line time in ms for these parameters (ST read at their VR)."""
    st = _meaning(7, p[7])
    return st[1] if p[0] else st[0]


def min_line_bytes(p):
    """Bytes a scan line must fill at least (EOL included) to honour the scan time."""
    bits = bit_rate(p) * scan_time_ms(p) // 1000
    return (bits + 7) // 8


def describe(p):
    """Meaning of a parameter tuple, as a dict for reports (values from Table 5-2)."""
    if p is None:
        return None
    return {
        "vr_lpi": _meaning(0, p[0]),
        "bit_rate": bit_rate(p),
        "width": _meaning(2, p[2]),
        "length": _meaning(3, p[3]),
        "coding": _meaning(4, p[4]),
        "ecm": _meaning(5, p[5]),
        "bft": _meaning(6, p[6]),
        "scan_ms": scan_time_ms(p),
        "raw": to_str(p),
    }


def rate_code(bps):
    """The BR value for a bit rate (the highest not above bps; at least 2400)."""
    best = 0
    for val, rate in TABLE[1][1]:
        if rate <= bps:
            best = val
    return best


def choose(fine, max_rate=9600, scan=0):
    """What we offer (AT+FDIS=) for a page: its resolution, our top rate, MH only, no ECM/BFT.

    The page's resolution decides VR; the configuration decides the highest bit rate and the
    scan time we need (0 = none: the page source adds the fill). WD=1728, LN=unlimited, DF=MH
    (the T.4 encoder writes 1-D Modified Huffman only), EC=0, BF=0.
    """
    if scan < 0 or scan > 7:
        raise ValueError("ST out of range")
    return (1 if fine else 0, rate_code(max_rate), 0, 2, 0, 0, 0, scan)
