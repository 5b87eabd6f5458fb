"""What a fax call leaves behind: its session record (Session), the `end` event's fields
(docs/fax.md, Events) and the evidence pairs fax/status carries (spec/fax.md: raw evidence).
MicroPython dicts keep no order, so the evidence is a list of pairs."""
from faxbridge.core.fax import dialect, params


class Session:
    """Evidence and progress of one call. The driver makes one at start and reuses it call
    after call (reset): no object, attribute dict or list is made per call. Its 23 fields
    fill an attribute table of 23 slots (one more would take 29): what can be told from
    another field is not one (rx bad pages: verdicts less pages kept, end_info)."""

    def __init__(self):
        self.pprs = bytearray(32)  # the first 32 page verdicts (0: unknown), a fixed record
        self.reset(None, 0)

    def reset(self, direction, now):
        """A new call in `direction` ("tx", "rx") from `now`: every field afresh."""
        self.dir = direction
        self.started = now
        self.number = None
        self.index = 0            # page being sent / received (0-based)
        self.resends = 0
        self.confirmed = 0        # pages confirmed (tx) / pages kept (rx)
        self.npprs = 0            # page verdicts in the call (past len(pprs) only counted)
        self.ppm = None           # last +FET ppm (sent or received)
        self.ppr = None           # last +FPTS ppr (receiving: the modem's)
        self.fcon = False
        self.hangup = None        # +FHNG code
        self.result = None        # last final result string
        self.remote_id = None
        self.remote_caps = None   # +FDIS (raw string)
        self.dcs = None           # +FDCS tuple (or raw string if out of table)
        self.outcome = None       # (code, reason) decided by us: cancel, timeout, image error;
        # the code alone when the heap refused the call's end (c2core.Machine.end)
        self.retries = 0          # +FDT / +FDR repeats; -1 until the number is dialled (ATD next)
        self.vr = None
        # page I/O of the driver (class2.Class2), never used here: io the page opener (tx)
        # or the sink (rx); src the one page source open (the page sent, or the next one)
        self.io = None
        self.src = None
        self.page_open = False
        self.verdict = None       # the sink's (lines, bad_lines) for the page received

    def add_ppr(self, ppr):
        """Record a page verdict (None: unknown; one above 255 is kept as unknown): the first
        len(pprs) in pprs, every one counted in npprs (docs/fax.md "Memory"). A method, not a
        module function: the module's dict stays one prime smaller."""
        if self.npprs < len(self.pprs):
            self.pprs[self.npprs] = ppr if ppr is not None and 0 < ppr < 256 else 0
        self.npprs += 1


def end_info(s, code, reason, now, texts):
    """The `end` event of session `s` (the driver's Session) with its final code and reason;
    `texts`: the dialect's hang-up tables (its "hangup_text", read by dialect.describe_hangup)."""
    dcs = s.dcs
    n = min(s.npprs, len(s.pprs))
    pprs = [None] * n                   # the recorded verdicts, 0 (unknown) as None
    for i in range(n):
        pprs[i] = s.pprs[i] or None
    info = {
        "dir": s.dir, "code": code, "reason": reason, "result": s.result,
        "hangup": dialect.describe_hangup(s.hangup, texts) if s.hangup is not None and s.hangup >= 0 else None,
        "pages": s.confirmed, "pprs": pprs, "remote_id": s.remote_id,
        "params": params.describe(dcs) if isinstance(dcs, tuple) else dcs,
        "remote_caps": s.remote_caps, "number": s.number, "duration": now - s.started,
        # received pages the receiver rejected: each verdict counted is a page kept or one of
        # these (c2call.page_received); always 0 sending. In the literal: no rehash for it
        "bad_pages": s.npprs - s.confirmed if s.dir == "rx" else 0,
    }
    if s.npprs > n:
        info["pprs_more"] = s.npprs - n      # verdicts past the record: counted only
    return info


def evidence(info):
    """An `end` event as the ordered evidence pairs of fax/status (docs/mqtt.md; spec/fax.md:
    raw evidence): result, reason, the +FHNG/+FHS code as `fhng` with its phase and text,
    pprs, remote_id, the raw +FDCS as `params`, duration_s. One tuple of pairs, made once (the
    job store keeps it as it is: jobtab.pairs)."""
    hs = info.get("hangup")
    p = info.get("params")
    a = ("result", info.get("result"))
    b = ("reason", info.get("reason"))
    c = ("pprs", info.get("pprs"))
    d = ("remote_id", info.get("remote_id"))
    e = ("duration_s", int(info.get("duration") or 0))
    if isinstance(p, dict):
        p = ("params", p.get("raw"))
        if hs:
            return (a, b, ("fhng", hs[0]), ("phase", hs[1]), ("text", hs[2]), c, d, p, e)
        return (a, b, c, d, p, e)
    if hs:
        return (a, b, ("fhng", hs[0]), ("phase", hs[1]), ("text", hs[2]), c, d, e)
    return (a, b, c, d, e)
