"""Class 2 session parameters (seed 001, 5.5, Table 5-2) and result codes."""

# VR, BR, WD, LN, DF, EC, BF, ST: what this simulator can do. Only DF=0 (1-D MH) is
# advertised: the simulator checks page data with an EOL scanner, nothing 2-D.
NAMES = ("VR", "BR", "WD", "LN", "DF", "EC", "BF", "ST")
RANGES = ((0, 1), (0, 5), (0, 0), (0, 2), (0, 0), (0, 0), (0, 0), (0, 7))
RANGE_TEXT = "(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)"
DEFAULT_CAPS = (1, 5, 0, 2, 0, 0, 0, 0)
ZERO = (0, 0, 0, 0, 0, 0, 0, 0)

BR_BPS = (2400, 4800, 7200, 9600, 12000, 14400)

# Verbose and numeric result codes (V1 / V0).
RESULTS = {
    "OK": 0, "CONNECT": 1, "RING": 2, "NO CARRIER": 3, "ERROR": 4,
    "NO DIALTONE": 6, "BUSY": 7, "NO ANSWER": 8, "VOICE": 8,
}

# Post-page messages (+FET) and responses (+FPTS), README of the transcripts.
PPM_MPS, PPM_EOM, PPM_EOP = 0, 1, 2
PPR_MCF, PPR_RTN, PPR_RTP, PPR_PIN, PPR_PIP = 1, 2, 3, 4, 5


def fmt(p):
    return ",".join(str(v) for v in p)


def parse_compound(text, current):
    """+FDCC=/+FDIS= value: unspecified subparameters stay unchanged (5.5.3).

    Returns the new tuple, or None if malformed or out of range.
    """
    parts = text.split(",")
    if len(parts) > 8:
        return None
    new = list(current)
    for i, s in enumerate(parts):
        s = s.strip()
        if s == "":
            continue
        if not s.isdigit():
            return None
        v = int(s)
        lo, hi = RANGES[i]
        if not lo <= v <= hi:
            return None
        new[i] = v
    return tuple(new)


def negotiate(local, remote):
    """DCS from our capabilities and the remote DIS: the lower of each, ST as the receiver asks."""
    return (min(local[0], remote[0]), min(local[1], remote[1]), min(local[2], remote[2]),
            min(local[3], remote[3]), min(local[4], remote[4]), 0, 0, remote[7])


def bytes_per_second(dcs, speedup=1.0):
    return BR_BPS[dcs[1]] / 8.0 * speedup


def hangup_phase(code):
    """Where a Table 5-5 hang-up code is injected by the simulator."""
    if code in (1,):
        return "answer"       # ring detect without successful handshake
    if code in (2, 3) or 10 <= code <= 19:
        return "dial"         # call placement / transmit phase A
    if 20 <= code <= 39:
        return "tx_b"
    if 40 <= code <= 49:
        return "tx_c"
    if 50 <= code <= 69:
        return "tx_d"
    if 70 <= code <= 89:
        return "rx_b"
    if 90 <= code <= 99:
        return "rx_c"
    if 100 <= code <= 119:
        return "rx_d"
    return None
