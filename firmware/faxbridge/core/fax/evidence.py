"""What a fax call leaves behind: its session record (Session), the `end` event's fields
(docs/fax.md, Events) and the same as ordered pairs for MQTT payloads and logs (spec/fax.md:
raw evidence). MicroPython dicts keep no order, so the order is data here."""
from faxbridge.core.fax import params

class Session:
    """Evidence and progress of one call."""

    def __init__(self, direction, now):
        self.dir = direction
        self.started = now
        self.number = None
        self.index = 0            # page being sent / received (0-based)
        self.resends = 0
        self.confirmed = 0        # pages confirmed (tx) / pages kept (rx)
        self.pprs = []            # +FPTS ppr per page, in order
        self.ppm = None           # last +FET ppm (sent or received)
        self.ppr = None           # last +FPTS ppr
        self.fcon = False
        self.hangup = None        # +FHNG code
        self.result = None        # last final result string
        self.remote_id = None
        self.remote_caps = None   # +FDIS (raw string)
        self.dcs = None           # +FDCS tuple (or raw string if out of table)
        self.outcome = None       # (code, reason) decided by us: cancel, timeout, image error
        self.then = None          # what follows AT+FDIS=: DIAL or FDT
        self.touched = False      # something was written to the modem for this call
        self.retries = 0          # +FDT / +FDR repeats
        self.vr = None
        self.open_page = None     # page I/O of the driver (class2.Class2), never used here
        self.src = None
        self.next_src = None
        self.sink = None
        self.page_open = False
        self.rx_lines = 0
        self.rx_bad = 0
        self.modem_ppr = None
        self.our_ppr = None
        self.bad_pages = 0


# Order of the evidence fields of an `end` event, and of a described +FDCS inside it.
EVIDENCE = ("dir", "code", "reason", "result", "hangup", "pages", "pprs", "remote_id", "params",
            "remote_caps", "number", "duration", "bad_pages")
PARAMS = ("raw", "vr_lpi", "bit_rate", "width", "length", "coding", "ecm", "bft", "scan_ms")


def end_info(s, code, reason, now, describe):
    """The `end` event of session `s` (the driver's Session) with its final code and reason;
    describe(hangup code) -> (code, phase, text) comes from the dialect."""
    dcs = s.dcs
    info = {
        "dir": s.dir, "code": code, "reason": reason, "result": s.result,
        "hangup": describe(s.hangup) if s.hangup is not None and s.hangup >= 0 else None,
        "pages": s.confirmed, "pprs": list(s.pprs), "remote_id": s.remote_id,
        "params": params.describe(dcs) if isinstance(dcs, tuple) else dcs,
        "remote_caps": s.remote_caps, "number": s.number, "duration": now - s.started,
    }
    if s.dir == "rx":
        info["bad_pages"] = s.bad_pages
    return info


def evidence(info):
    """An `end` event's fields as an ordered tuple of (name, value) pairs (params likewise)."""
    out = []
    for k in EVIDENCE:
        if k in info:
            v = info[k]
            if k == "params" and isinstance(v, dict):
                v = tuple((p, v[p]) for p in PARAMS if p in v)
            out.append((k, v))
    return tuple(out)
