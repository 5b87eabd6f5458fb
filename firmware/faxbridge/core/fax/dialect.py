"""The Class 2 dialect as data: what the driver writes and how it reads the answers.

One state machine (class2.py) drives the modem; the spelling of every command, the name of
every +F response it reads, and the tables that turn hang-up codes into InterFAX codes are
looked up here by role. CLASS2 is the pre-standard dialect: its command set as spec/fax.md
("The modem side: Class 2") lists it and the reference transcripts show efax and sendfax using
it; its responses are seed 001 5.4, its parameters 5.5, its hang-up codes Table 5-5
(CLASS2["hangup_text"]: texts and phases, read by describe_hangup for the end event's evidence).
The Class 2.0 dialect (ITU-T T.32) is t32.CLASS20, a dict with the same keys, loaded only when
the configuration picks it (get; c2call.class_pick reads AT+FCLASS=?); docs/fax.md lists the keys.
"""
from micropython import const

from faxbridge.core.fax import at, params, status

# Roles of the +F responses the machine reads (the digit after each name of a dialect's "responses").
_CON = const(1)      # the fax call is up (T.30 phase B reached)
_HNG = const(2)      # hang-up code
_RID = const(3)      # remote station id
_CAPS = const(4)     # remote capabilities (DIS)
_DCS = const(5)      # negotiated session parameters
_PPR = const(6)      # post-page response (page verdict)
_PPM = const(7)      # post-page message (received)


CLASS2 = {
    # the init list; init_opt: bit i set when command i may answer ERROR (S0=0, +FBOR=0)
    "init": ("E0V1Q0", "+FCLASS=2", "S0=0", "+FBOR=0", "+FCR=1"),
    "init_opt": 0b01100,
    "local_id": '+FLID="%s"',       # our station id (sent as TSI/CSI)
    "offer": "+FDIS=",              # session parameters offered for the next page (5.5.2)
    "send": "+FDT",                 # send a page: +FDCS: (5.4.2), CONNECT
    "receive": "+FDR",              # receive a page: +FCFR (5.4.4), CONNECT; +FPTS:, +FET: after it
    "ppm": "+FET=%d",               # after a sent page: 0 MPS, 2 EOP (Table 5-3); +FPTS: (5.4.9)
    "ppr": "+FPTS=%d",              # our verdict on a received page (5.4.7, Table 5-4)
    "abort": "+FK",                 # end the session (Table 5-5 code 2: "aborted, from +FK")
    # response names, each followed by its role's digit (_CON 1 .. _PPM 7; 5.4.1-5.4.10): one
    # str, read in place by read (no tuple, no str object a name when loaded as .mpy)
    "responses": "+FCON1 +FHNG2 +FCSI3 +FTSI3 +FDIS4 +FDCS5 +FPTS6 +FET7",
    "hangup_base": 10,              # +FHNG:<decimal>
    "hangup_code": status.HANGUPS,  # Table 5-5 -> InterFAX (spec/fax.md): status.from_hangup
    "hangup_text": (                # Table 5-5 texts, phases, base: describe_hangup
        # Table 5-5 (seed 001, TABLE 5-5 HANGUP STATUS CODES), row by row in the seed's order, one str
        # (40 tuples held 7.3 KB loaded as .mpy): "\n<code> <text>".
        (
            "\n0 Normal and proper end of connection"
            "\n1 Ring Detect without successful handshake"
            "\n2 Call aborted, from +FK or AN"
            "\n3 No Loop Current"
            "\n10 Unspecified Phase A error"
            "\n11 No Answer (T.30 T1 timeout)"
            "\n20 Unspecified Transmit Phase B error"
            "\n21 Remote cannot receive or send"
            "\n22 COMREC error in transmit Phase B"
            "\n23 COMREC invalid command received."
            "\n24 RSPEC error."
            "\n25 DCS sent three times without response."
            "\n26 DIX/DTC received 3 times; DCS not recognized"
            "\n27 Failure to train at 2400 bps or +FMINSP value."
            "\n28 RSPREC invalid response received."
            "\n40 Unspecified Transmit Phase C error"
            "\n43 DTE to DCE data underflow"
            "\n50 Unspecified Transmit Phase D error."
            "\n51 RSPREC error"
            "\n52 No response to MPS repeated 3 times."
            "\n53 Invalid response to MPS"
            "\n54 No response to EOP repeated 3 times."
            "\n55 Invalid response to EOP"
            "\n56 NO response to EOM repeated 3 times."
            "\n57 Invalid response to EOM."
            "\n58 Unable to continue after PIN or PIP."
            "\n70 Unspecified Receive Phase B error."
            "\n71 RSPREC error."
            "\n72 COMREC error."
            "\n73 T.30 T2 timeout, expected page not received."
            "\n74 T.30 T1 timeout after EOM received."
            "\n90 Unspecified Receive Phase C error."
            "\n91 Missing EOL after 5 seconds."
            "\n92 Unused code."
            "\n93 DCE to DTE buffer overflow."
            "\n94 Bad CRC or frame (ECM or BFT modes)."
            "\n100 Unspecified Receive Phase D errors."
            "\n101 RSPREC invalid response received."
            "\n102 COMREC invalid response received."
            "\n103 Unable to continue after PIN or PIP"
        ),
        # The hang-up status codes of Table 5-5: both tables one str each, a row a line (one object, in
        # flash when frozen), read in place by describe_hangup (T.32's are in t32.CLASS20["hangup_text"]).
        # Phases of Table 5-5 (its group headings): "\n<first> <last> <phase> <heading>".
        (
            "\n0 9 call Call Placement and Termination"
            "\n10 19 A Transmit Phase A & Miscellaneous Errors"
            "\n20 39 B Transmit Phase B Hangup Codes"
            "\n40 49 C Transmit Phase C Hangup Codes"
            "\n50 69 D Transmit Phase D Hangup Codes"
            "\n70 89 rB Receive Phase B Hangup Codes"
            "\n90 99 rC Receive Phase C Hangup Codes"
            "\n100 119 rD Receive Phase D Hangup Codes"
            "\n120 255 recv Received Codes"
        ),
        10,
    ),
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


def read(m, s, name, args, now):
    """Record a +F response in the call's session (seed 001 5.4), by its role in m.d."""
    t = m.d["responses"]
    k = len(name)
    i = -1 if " " in name else t.find(name)        # a name is "+F" and letters: a row's start
    while i >= 0 and not (i + k < len(t) and "0" <= t[i + k] <= "9"):  # "+FCO": not "+FCON1"
        i = t.find(name, i + 1)
    role = 0 if i < 0 else ord(t[i + k]) - 48
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
        t = args.strip()                    # quotes and the padding spaces of T.30 ids removed
        if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
            t = t[1:-1]
        s.remote_id = t.strip()
    elif role == _CAPS:
        s.remote_caps = args
    elif role == _DCS:
        try:
            # the same as the last page's: that tuple, no new one
            s.dcs = params.parse(args, m.nums, s.dcs if isinstance(s.dcs, tuple) else None)
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


def describe_hangup(code, t=None):
    """(code, phase, text): the evidence reported with every hang-up code. `t`: the dialect's
    tables (codes, phases, base: dialect "hangup_text"), Table 5-5 when None; with base 16
    (T.32) the code is reported as T.32 writes it, two hex digits. The text is the table's; for
    a code the table leaves open, its group heading (T.32's groups have none)."""
    codes, phases, base = CLASS2["hangup_text"] if t is None else t
    ph = txt = None
    c = e = -1
    i = 0
    while i >= 0:                       # phases[i]: the "\n" of a row; its range read in place
        e = phases.find("\n", i + 1)
        e = len(phases) if e < 0 else e
        a = phases.find(" ", i)
        b = phases.find(" ", a + 1)
        lo = v = 0                      # the range phases[i + 1:a] .. [a + 1:b], read without a slice
        for j in range(i + 1, b):
            if j == a:
                lo = v
                v = 0
            else:
                v = v * base + int(phases[j], 16)
        if lo <= code <= v:
            c = phases.find(" ", b + 1, e)  # the heading after it, if any
            ph = phases[b + 1:e if c < 0 else c]
            break
        i = phases.find("\n", i + 1)
    i = 0
    while i >= 0:                       # codes[i]: the "\n" of a row; its code read in place
        a = codes.find(" ", i)
        v = 0
        for j in range(i + 1, a):
            v = v * base + int(codes[j], 16)
        i = codes.find("\n", a)
        if v == code:
            txt = codes[a + 1:i if i > 0 else len(codes)]
            break
    if txt is None and c >= 0:
        txt = phases[c + 1:e]           # a code the table leaves open: its group heading
    return ("%02X" % code if base == 16 else code, ph, txt or "Unknown hang-up code")

