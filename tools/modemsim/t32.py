"""Class 2.0 (ITU-T T.32 / TIA-592) as data: the personality switch, the command names
that differ from Class 2, and the +FHS hang-up code table.

What is here was read from T.32's tables as real DTE software uses them (docs/modemsim.md,
"Class 2 and Class 2.0"): efax's c2sndrcv/modem_init/end_data, mgetty's fax_send_ppm and
fax_wait_for, HylaFAX's Class20Modem and its hangupCodes table.
"""

# ModemConfig.fclass -> what AT+FCLASS=? lists and which AT+FCLASS=<n> values are accepted
PERSONALITIES = {"2": ("0,2", ("0", "2")), "2.0": ("0,2.0", ("0", "2.0")), "both": ("0,2,2.0", ("0", "2", "2.0"))}

# Class 2.0 name -> the Class 2 command that does the same job in this simulator (T.32 8.5
# renamed them; HylaFAX's Class20Modem constructor lists the same pairs).
SAME_AS_CLASS2 = {
    "+FCC": "+FDCC", "+FIS": "+FDIS", "+FCS": "+FDCS", "+FLI": "+FLID", "+FPI": "+FCIG",
    "+FPS": "+FPTS", "+FBO": "+FBOR", "+FCT": "+FPHCTO", "+FMS": "+FMINSP", "+FEA": "+FREL",
    "+FSP": "+FSPL", "+FLP": "+FLPL", "+FKS": "+FK", "+FMI": "+FMFR", "+FMM": "+FMDL", "+FMR": "+FREV",
    "+FCR": "+FCR", "+FAA": "+FAA", "+FDT": "+FDT", "+FDR": "+FDR", "+FCLASS": "+FCLASS",
    "+FBADLIN": "+FBADLIN", "+FBADMUL": "+FBADMUL",
}

# Plain numeric parameters only Class 2.0 has: name -> (default, lo, hi). +FNR is compound.
PARAMS_20 = {
    "+FLO": (1, 0, 2),      # flow control: 0 none, 1 XON/XOFF, 2 RTS/CTS (mgetty, efax, HylaFAX set it)
    "+FIE": (0, 0, 1),      # procedure interrupts (HylaFAX sends +FIE=0)
    "+FPP": (0, 0, 0),      # packet protocol: none (HylaFAX sends +FPP=0)
    "+FBU": (0, 0, 0),      # HDLC frame reporting: not offered
    "+FRY": (0, 0, 255),    # ECM retry count
    "+FPR": (0, 0, 0),      # port rate: autobaud only
    "+FAP": (0, 0, 0),      # addressing and polling: not offered
}
NR_DEFAULT = (0, 0, 0, 0)   # +FNR=<rpr>,<tpr>,<idr>,<nsr>: all reports off until the DTE asks

# <DLE><ppm> ends a page from a Class 2.0 DTE (T.32 8.3.3.7, as efax end_data and mgetty
# fax_send_ppm send it): ',' MPS, ';' EOM, '.' EOP. The values are Class 2's +FET codes.
PAGE_END = {0x2C: 0, 0x3B: 1, 0x2E: 2}

# The +FHS hang-up status table (T.32 Table 20 as HylaFAX's hangupCodes lists its "2388-B"
# column): (hex code, the same meaning's Class 2 decimal code, phase, meaning). The phase
# is where the simulator injects it (see params.hangup_phase); "dial_now" is at ATD at once.
FHS = (
    ("00", 0, None, "normal and proper end of connection"),
    ("01", 1, "answer", "ring detect without successful handshake"),
    ("02", 2, "dial_now", "call aborted, from +FKS or <CAN>"),
    ("03", 3, "dial_now", "no loop current"),
    ("04", 4, "dial_now", "ringback detected, no answer (timeout)"),
    ("05", 5, "dial", "ringback detected, answer without CED"),
    ("10", 10, "dial", "unspecified phase A error"),
    ("11", 11, "dial", "no answer (T.30 T1 timeout)"),
    ("20", 20, "tx_b", "unspecified transmit phase B error"),
    ("21", 21, "tx_b", "remote cannot receive or send"),
    ("22", 22, "tx_b", "COMREC error in transmit phase B"),
    ("23", 23, "tx_b", "COMREC invalid command received"),
    ("24", 24, "tx_b", "RSPREC error"),
    ("25", 25, "tx_b", "DCS sent three times without response"),
    ("26", 26, "tx_b", "DIS/DTC received 3 times; DCS not recognized"),
    ("27", 27, "tx_b", "failure to train at 2400 bit/s or +FMS value"),
    ("28", 28, "tx_b", "RSPREC invalid response received"),
    ("40", 40, "tx_c", "unspecified transmit phase C error"),
    ("41", 41, "tx_c", "unspecified image format error"),
    ("42", 42, "tx_c", "image conversion error"),
    ("43", 43, "tx_c", "DTE to DCE data underflow"),
    ("44", 44, "tx_c", "unrecognized transparent data command"),
    ("45", 45, "tx_c", "image error, line length wrong"),
    ("46", 46, "tx_c", "image error, page length wrong"),
    ("47", 47, "tx_c", "image error, wrong compression code"),
    ("50", 50, "tx_d", "unspecified transmit phase D error"),
    ("51", 51, "tx_d", "RSPREC error"),
    ("52", 52, "tx_d", "no response to MPS repeated 3 times"),
    ("53", 53, "tx_d", "invalid response to MPS"),
    ("54", 54, "tx_d", "no response to EOP repeated 3 times"),
    ("55", 55, "tx_d", "invalid response to EOP"),
    ("56", 56, "tx_d", "no response to EOM repeated 3 times"),
    ("57", 57, "tx_d", "invalid response to EOM"),
    ("58", 58, "tx_d", "unable to continue after PIN or PIP"),
    ("70", 70, "rx_b", "unspecified receive phase B error"),
    ("71", 71, "rx_b", "RSPREC error"),
    ("72", 72, "rx_b", "COMREC error"),
    ("73", 73, "rx_b", "T.30 T2 timeout, expected page not received"),
    ("74", 74, "rx_b", "T.30 T1 timeout after EOM received"),
    ("90", 90, "rx_c", "unspecified receive phase C error"),
    ("91", 91, "rx_c", "missing EOL after 5 seconds"),
    ("92", 94, "rx_c", "bad CRC or frame (ECM or BFT modes)"),   # Class 2 numbers it 94
    ("93", 93, "rx_c", "DCE to DTE buffer overflow"),
    ("A0", 100, "rx_d", "unspecified receive phase D error"),
    ("A1", 101, "rx_d", "RSPREC invalid response received"),
    ("A2", 102, "rx_d", "COMREC invalid response received"),
    ("A3", 103, "rx_d", "unable to continue after PIN or PIP"),
)
_BY_CODE = {row[1]: row for row in FHS}
_BY_HEX = {row[0]: row for row in FHS}


def fhs_text(code):
    """The +FHS value for a (Class 2 numbered) hang-up code: 100 -> "A0", 94 -> "92"."""
    row = _BY_CODE.get(code)
    return row[0] if row else "%02X" % code


def code_of_fhs(text):
    """The Class 2 numbered code of a T.32 +FHS value ("A0" -> 100); ValueError if T.32 has none."""
    t = text.strip().upper()
    if len(t) == 1:
        t = "0" + t
    if t not in _BY_HEX:
        raise ValueError("no +FHS code %r in T.32's table" % text)
    return _BY_HEX[t][1]


def fhs_phase(code):
    """Where the simulator injects a hang-up code in Class 2.0 (None: never injected)."""
    row = _BY_CODE.get(code)
    return row[2] if row else None


def hex_list(values):
    """T.32 reports numbers in hexadecimal (mgetty's fax_wait_for reads +FPS with %x)."""
    return ",".join("%X" % v for v in values)
