"""The Class 2 dialect as data: what the driver writes and how it reads the answers.

One state machine (class2.py) drives the modem; the spelling of every command, the name of
every +F response it reads, and the tables that turn hang-up codes into InterFAX codes are
looked up here by role. CLASS2 is the pre-standard dialect: its command set as spec/fax.md
("The modem side: Class 2") lists it and the reference transcripts show efax and sendfax using
it; its responses are seed 001 5.4, its parameters 5.5, its hang-up codes Table 5-5.
The Class 2.0 dialect (ITU-T T.32) is t32.CLASS20, a dict with the same keys, loaded only when
the configuration picks it (get); docs/fax.md lists the keys.
"""
from micropython import const

from faxbridge.core.fax import at, hangup, params, status

# Roles of the +F responses the machine reads (values of RESPONSES).
_CON = const(1)      # the fax call is up (T.30 phase B reached)
_HNG = const(2)      # hang-up code
_RID = const(3)      # remote station id
_CAPS = const(4)     # remote capabilities (DIS)
_DCS = const(5)      # negotiated session parameters
_PPR = const(6)      # post-page response (page verdict)
_PPM = const(7)      # post-page message (received)

CLASS2 = {
    # (body, required): optional ones may answer ERROR
    "init": (("E0V1Q0", True), ("+FCLASS=2", True), ("S0=0", False), ("+FBOR=0", False),
             ("+FCR=1", True)),
    "local_id": '+FLID="%s"',       # our station id (sent as TSI/CSI)
    "offer": "+FDIS=",              # session parameters offered for the next page (5.5.2)
    "send": "+FDT",                 # send a page: +FDCS: (5.4.2), CONNECT
    "receive": "+FDR",              # receive a page: +FCFR (5.4.4), CONNECT; +FPTS:, +FET: after it
    "ppm": "+FET=%d",               # after a sent page: 0 MPS, 2 EOP (Table 5-3); +FPTS: (5.4.9)
    "ppr": "+FPTS=%d",              # our verdict on a received page (5.4.7, Table 5-4)
    "abort": "+FK",                 # end the session (Table 5-5 code 2: "aborted, from +FK")
    # response name -> role (5.4.1-5.4.10)
    "responses": (("+FCON", _CON), ("+FHNG", _HNG), ("+FCSI", _RID), ("+FTSI", _RID),
                  ("+FDIS", _CAPS), ("+FDCS", _DCS), ("+FPTS", _PPR), ("+FET", _PPM)),
    "hangup_base": 10,              # +FHNG:<decimal>
    "hangup_code": status.HANGUPS,  # Table 5-5 -> InterFAX (spec/fax.md): status.from_hangup
    "hangup_text": (hangup.CODES, hangup.PHASES, 10),   # Table 5-5 texts: hangup.describe
    "hangup_name": "+FHNG:%d",      # the call's reason when a hang-up code ends it
    "page_end": None,               # DLE ETX, then AT+FET=<ppm> (Class 2.0: <DLE><ppm>)
    "xon": True,                    # wait for XON (or xon_grace) after CONNECT to +FDT
    "rx_msb": None,                 # received bit order: the rx_msb_first option decides
}

CLASSES = ("2", "2.0")              # what `fclass` and `class_order` may name


def get(name):
    """The dialect table for a class ("2", "2.0"); ValueError for another."""
    if name == "2":
        return CLASS2
    if name == "2.0":
        from faxbridge.core.fax import t32
        return t32.CLASS20
    raise ValueError("fax class %r not supported" % (name,))


def pick(listing, order):
    """The first class of `order` that an AT+FCLASS=? answer lists ("0,1,2,2.0", "(0,2.0)"),
    or None. Ranges ("0-2") are not a Class 2 listing: only exact items count."""
    items = listing.replace("(", "").replace(")", "").replace(" ", "").split(",")
    for c in order:
        if c in items:
            return c
    return None


def read(m, s, name, args, now):
    """Record a +F response in the call's session (seed 001 5.4), by its role in m.d."""
    role = 0
    for n, r in m.d["responses"]:
        if n == name:
            role = r
    if role == _CON:
        s.fcon = True
        m.progress("connected", now)
    elif role == _HNG:
        try:
            at.ints(args, m.nums, 1, m.d["hangup_base"])
            s.hangup = m.nums[0]
        except ValueError:
            s.hangup = -1                   # unreadable: reported as unknown (7200)
    elif role == _RID:
        s.remote_id = at.text(args)
    elif role == _CAPS:
        s.remote_caps = args
    elif role == _DCS:
        try:
            p = params.parse(args, m.nums)
            if p != s.dcs:                  # the same as the last page's: kept, not a copy
                s.dcs = p
        except ValueError:
            s.dcs = args
        if isinstance(s.dcs, tuple):
            m.configure(s.dcs)
    elif role == _PPR or role == _PPM:
        try:
            at.ints(args, m.nums, 1)
            v = m.nums[0]
        except ValueError:
            v = None
        if role == _PPM:
            s.ppm = v
        else:
            s.ppr = v
