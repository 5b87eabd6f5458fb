"""Class 2 hang-up status codes: seed 001, TABLE 5-5 HANGUP STATUS CODES, row by row."""

# Phases of Table 5-5 (its group headings), as (first, last, phase, heading).
PHASES = (
    (0, 9, "call", "Call Placement and Termination"),
    (10, 19, "A", "Transmit Phase A & Miscellaneous Errors"),
    (20, 39, "B", "Transmit Phase B Hangup Codes"),
    (40, 49, "C", "Transmit Phase C Hangup Codes"),
    (50, 69, "D", "Transmit Phase D Hangup Codes"),
    (70, 89, "rB", "Receive Phase B Hangup Codes"),
    (90, 99, "rC", "Receive Phase C Hangup Codes"),
    (100, 119, "rD", "Receive Phase D Hangup Codes"),
    (120, 255, "recv", "Received Codes"),
)

# (code, text): Table 5-5, in the seed's order.
CODES = (
    (0, "Normal and proper end of connection"),
    (1, "Ring Detect without successful handshake"),
    (2, "Call aborted, from +FK or AN"),
    (3, "No Loop Current"),
    (10, "Unspecified Phase A error"),
    (11, "No Answer (T.30 T1 timeout)"),
    (20, "Unspecified Transmit Phase B error"),
    (21, "Remote cannot receive or send"),
    (22, "COMREC error in transmit Phase B"),
    (23, "COMREC invalid command received."),
    (24, "RSPEC error."),
    (25, "DCS sent three times without response."),
    (26, "DIX/DTC received 3 times; DCS not recognized"),
    (27, "Failure to train at 2400 bps or +FMINSP value."),
    (28, "RSPREC invalid response received."),
    (40, "Unspecified Transmit Phase C error"),
    (43, "DTE to DCE data underflow"),
    (50, "Unspecified Transmit Phase D error."),
    (51, "RSPREC error"),
    (52, "No response to MPS repeated 3 times."),
    (53, "Invalid response to MPS"),
    (54, "No response to EOP repeated 3 times."),
    (55, "Invalid response to EOP"),
    (56, "NO response to EOM repeated 3 times."),
    (57, "Invalid response to EOM."),
    (58, "Unable to continue after PIN or PIP."),
    (70, "Unspecified Receive Phase B error."),
    (71, "RSPREC error."),
    (72, "COMREC error."),
    (73, "T.30 T2 timeout, expected page not received."),
    (74, "T.30 T1 timeout after EOM received."),
    (90, "Unspecified Receive Phase C error."),
    (91, "Missing EOL after 5 seconds."),
    (92, "Unused code."),
    (93, "DCE to DTE buffer overflow."),
    (94, "Bad CRC or frame (ECM or BFT modes)."),
    (100, "Unspecified Receive Phase D errors."),
    (101, "RSPREC invalid response received."),
    (102, "COMREC invalid response received."),
    (103, "Unable to continue after PIN or PIP"),
)


def phase(code):
    """The phase letter of a hang-up code: 'call', 'A'..'D', 'rB'..'rD', 'recv', or None."""
    for lo, hi, ph, _ in PHASES:
        if lo <= code <= hi:
            return ph
    return None


def describe(code):
    """(code, phase, text): the evidence reported with every +FHNG. The text is Table 5-5's;
    for a code the table leaves open, its group heading."""
    t = None
    for c, x in CODES:
        if c == code:
            t = x
    for lo, hi, ph, heading in PHASES:
        if lo <= code <= hi:
            return (code, ph, t or heading)
    return (code, None, t or "Unknown hang-up code")
