"""Class 2 session parameters VR,BR,WD,LN,DF,EC,BF,ST (seed 001, 5.5 and Table 5-2): the one
source of these numbers for the driver, the page sources and the tools.

+FDCC / +FDIS / +FDCS values are kept as a tuple of 8 ints; describe() gives their meaning.
"""

from faxbridge.core.fax import at

# Table 5-2 subparameters (values as EIA-592 and efax's manual give them; the table itself is
# not in seed 001), one row per subparameter in the order VR,BR,WD,LN,DF,EC,BF,ST: the meaning of value 0, 1, 2, ...
TABLE = (
    (98, 196),                                  # VR vertical resolution, lines/inch
    (2400, 4800, 7200, 9600, 12000, 14400),     # BR bit/s
    (1728, 2048, 2432, 1216, 864),              # WD pixels per line (215/255/303/151/107 mm)
    ("A4", "B4", "unlimited"),                  # LN page length
    ("MH", "MR", "uncompressed", "MMR"),        # DF data format (T.4 1-D = MH)
    ("off", "ECM-64", "ECM-256"),               # EC error correction mode
    ("off", "on"),                              # BF binary file transfer
    b"\x00\x05\x0a\x0a\x14\x14\x28\x28",          # ST minimum scan time at VR=0, ms: 0 5 10 10 20
)                                               # 20 40 40; at VR=1 the even ones (2 4 6) halve
# T.4 page lengths in scan lines for LN 0 (A4, 297 mm), 1 (B4, 364 mm), 2 (unlimited: 0) at
# VR 0 (3.85 lines/mm) and VR 1 (7.7 lines/mm)
PAGE_LINES = ((1143, 1401, 0), (2287, 2802, 0))

# Seed 001 5.5.1/5.5.2: the modem's defaults of +FDCC/+FDIS are 0,3,0,2,0,0,0,0 (normal, 9600,
# 1728, unlimited); choose() writes what we offer instead.


def parse(args, v=None, same=None):
    """'1,3,0,2,0,0,0,0' -> (1, 3, 0, 2, 0, 0, 0, 0); `v`: a list of 8 to parse into (the
    driver's, so a line makes only the tuple); `same`: a tuple returned itself when the fields
    are its (the last page's +FDCS again: no tuple made).

    Missing trailing fields are 0 (some modems report fewer); extra fields are ignored.
    Raises ValueError on a value outside Table 5-2.
    """
    if not args.strip():
        raise ValueError("no session parameters")
    if v is None:
        v = [0] * 8
    for i in range(8):
        v[i] = 0
    if at.ints(args, v, 8) > 16:
        raise ValueError("bad session parameters")
    for i in range(8):
        if _meaning(i, v[i]) is None:
            raise ValueError("%s=%d not in Table 5-2" % ("VR,BR,WD,LN,DF,EC,BF,ST"[3 * i:3 * i + 2], v[i]))
        if same is not None and same[i] != v[i]:
            same = None
    return tuple(v) if same is None else same


def _meaning(i, value):
    row = TABLE[i]
    return row[value] if 0 <= value < len(row) else None


def to_str(p):
    """(1, 3, 0, 2, 0, 0, 0, 0) -> '1,3,0,2,0,0,0,0' (for AT+FDIS= / AT+FDCC=)."""
    return "%d,%d,%d,%d,%d,%d,%d,%d" % tuple(p)    # one str, no generator or list


def scan_ms(st, vr):
    """Minimum scan time in ms of ST 0..7 at VR 0/1 (a parameter tuple's: scan_ms(p[7], p[0]));
    a tuple's bit rate is TABLE[1][p[1]]."""
    return TABLE[7][st] >> (1 if vr and st and not st & 1 else 0)


def describe(p):
    """Meaning of a parameter tuple, as a dict for reports (values from Table 5-2)."""
    if p is None:
        return None
    return {
        "vr_lpi": _meaning(0, p[0]),
        "bit_rate": _meaning(1, p[1]),
        "width": _meaning(2, p[2]),
        "length": _meaning(3, p[3]),
        "coding": _meaning(4, p[4]),
        "ecm": _meaning(5, p[5]),
        "bft": _meaning(6, p[6]),
        "scan_ms": scan_ms(p[7], p[0]),
        "raw": to_str(p),
    }


def choose(fine, max_rate=9600, scan=0):
    """What we offer (AT+FDIS=) for a page: its resolution, our top rate, MH only, no ECM/BFT.

    The page's resolution decides VR; the configuration decides the highest bit rate and the
    scan time we need (0 = none: the page source adds the fill). WD=1728, LN=unlimited, DF=MH
    (the T.4 encoder writes 1-D Modified Huffman only), EC=0, BF=0.
    """
    if scan < 0 or scan > 7:
        raise ValueError("ST out of range")
    br = 0                      # BR: the highest rate not above max_rate, at least 2400
    for val, rate in enumerate(TABLE[1]):
        if rate <= max_rate:
            br = val
    return (1 if fine else 0, br, 0, 2, 0, 0, 0, scan)
