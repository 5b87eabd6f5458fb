"""Fault injection: what goes wrong on a call, by number or for one call.

A Faults object is plain data. Build it with keywords or parse a spec string (CLI, docs):

    busy | no_answer | no_carrier | voice | no_dialtone      dial results
    hangup=<code>                  a Table 5-5 code, injected at its phase
    fhs=<hex>                      the same by its Class 2.0 +FHS code (T.32 Table 20): fhs=A0 is hangup=100
    ppr=<ppr>[@<page>][/<tries>]   post-page response for page <page> (1-based; all pages if omitted),
                                   every time it is sent, or only its first <tries> transmissions
    drop=<bytes>[@<page>]          line drops after <bytes> of page data (page 1 if omitted)
    noise=<n>                      n garbage bytes to the DTE just before +FCON
    page_noise=<n>[@<page>]        n garbage bytes spliced into the middle of the page data
    dead=<n|CMD>                   modem stops answering after n AT command lines, or at CMD (e.g. D, +FDT)
    xoff=<seconds>                 after CONNECT to +FDT hold XOFF this long (inf: forever)
Several specs are joined with commas: "ppr=2@1,drop=3000@2".
"""

from .t32 import code_of_fhs

RESULT_FAULTS = {
    "busy": "BUSY", "no_answer": "NO ANSWER", "no_carrier": "NO CARRIER",
    "voice": "VOICE", "no_dialtone": "NO DIALTONE",
}


def dead_command(text):
    """The command a dead=CMD fault names: "ATA" and "A" -> "A", "at+fdt" -> "+FDT".

    Only the exact prefix "AT" is dropped (str.lstrip("AT") would eat the A of ATA)."""
    cmd = text.strip().upper()
    if cmd.startswith("AT") and len(cmd) > 2:
        cmd = cmd[2:]
    if not cmd:
        raise ValueError("dead= needs a command count or a command")
    return cmd


class Faults:
    __slots__ = ("result", "hangup", "ppr", "drop", "noise", "page_noise", "dead", "xoff")

    def __init__(self, result=None, hangup=None, ppr=None, drop=None, noise=0, page_noise=None,
                 dead=None, xoff=None):
        if result is not None and result not in RESULT_FAULTS.values():
            result = RESULT_FAULTS[result]
        self.result = result          # "BUSY", "NO ANSWER", ... or None
        self.hangup = hangup          # int Table 5-5 code or None
        self.ppr = ppr or {}          # {page (1-based) or 0 for all: ppr or (ppr, tries)}
        self.drop = drop              # (page, nbytes) or None
        self.noise = noise            # bytes of garbage before +FCON
        self.page_noise = page_noise  # (page, nbytes) or None
        self.dead = dead              # int command count or "CMD" or None
        self.xoff = xoff              # seconds or None

    @classmethod
    def parse(cls, spec):
        f = cls()
        for item in (spec or "").split(","):
            item = item.strip()
            if not item:
                continue
            key, _, val = item.partition("=")
            key = key.strip().lower().replace("-", "_")
            val, _, page = val.partition("@")
            page, _, tries = page.partition("/")
            page = int(page) if page else None
            if key in RESULT_FAULTS:
                f.result = RESULT_FAULTS[key]
            elif key == "hangup":
                f.hangup = int(val)
            elif key == "fhs":
                f.hangup = code_of_fhs(val)
            elif key == "ppr":
                f.ppr[page or 0] = (int(val), int(tries) if tries else None)
            elif key == "drop":
                f.drop = (page or 1, int(val))
            elif key == "noise":
                f.noise = int(val)
            elif key == "page_noise":
                f.page_noise = (page or 1, int(val))
            elif key == "dead":
                f.dead = int(val) if val.isdigit() else dead_command(val)
            elif key == "xoff":
                f.xoff = float(val)
            else:
                raise ValueError("unknown fault %r" % item)
        return f

    def merged(self, other):
        """A copy with other's settings laid over ours (other wins where set)."""
        f = Faults()
        for src in (self, other):
            if src is None:
                continue
            for k in self.__slots__:
                v = getattr(src, k)
                if k == "ppr":
                    f.ppr = {**f.ppr, **v}
                elif v not in (None, 0):
                    setattr(f, k, v)
        return f

    def ppr_for(self, page, attempt=1):
        """The forced post-page response for this page's attempt-th transmission, or None."""
        v = self.ppr.get(page, self.ppr.get(0))
        if v is None:
            return None
        if isinstance(v, int):
            return v
        ppr, tries = v
        return ppr if tries is None or attempt <= tries else None

    def __repr__(self):
        parts = ["%s=%r" % (k, getattr(self, k)) for k in self.__slots__ if getattr(self, k) not in (None, 0, {})]
        return "Faults(%s)" % ", ".join(parts)
