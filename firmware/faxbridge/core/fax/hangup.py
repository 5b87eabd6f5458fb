"""Class 2 hang-up status codes: seed 001, TABLE 5-5 HANGUP STATUS CODES, row by row.

Both tables are one str each, a row a line (one object, in flash when frozen; as tuples of
tuples they held 7.3 KB of heap loaded as .mpy), read in place by the functions below."""

# Phases of Table 5-5 (its group headings): "\n<first> <last> <phase> <heading>".
PHASES = (
    "\n0 9 call Call Placement and Termination"
    "\n10 19 A Transmit Phase A & Miscellaneous Errors"
    "\n20 39 B Transmit Phase B Hangup Codes"
    "\n40 49 C Transmit Phase C Hangup Codes"
    "\n50 69 D Transmit Phase D Hangup Codes"
    "\n70 89 rB Receive Phase B Hangup Codes"
    "\n90 99 rC Receive Phase C Hangup Codes"
    "\n100 119 rD Receive Phase D Hangup Codes"
    "\n120 255 recv Received Codes"
)

# Table 5-5, in the seed's order: "\n<code> <text>".
CODES = (
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
)


def describe(code, t=None):
    """(code, phase, text): the evidence reported with every hang-up code. `t`: the dialect's
    tables (codes, phases, base: dialect "hangup_text"), Table 5-5 when None; with base 16
    (T.32) the code is reported as T.32 writes it, two hex digits. The text is the table's; for
    a code the table leaves open, its group heading (T.32's groups have none)."""
    codes, phases, base = t or (CODES, PHASES, 10)
    h = "%02X" % code if base == 16 else "%d" % code
    ph = txt = None
    i = 0
    while i >= 0:                       # the phase row whose range holds code
        j = phases.find("\n", i + 1)
        r = phases[i + 1:j if j > 0 else len(phases)].split(" ", 3)
        if int(r[0], base) <= code <= int(r[1], base):
            ph = r[2]
            txt = r[3] if len(r) > 3 else None
            break
        i = j
    i = codes.find("\n" + h + " ")
    if i >= 0:
        j = codes.find("\n", i + 1)
        txt = codes[i + len(h) + 2:j if j > 0 else len(codes)]
    return (h if base == 16 else code, ph, txt or "Unknown hang-up code")
