"""The Class 2.0 dialect (ITU-T T.32 / TIA-592) as data: the same keys as dialect.CLASS2, and
T.32's +FHS hang-up table row by row with its InterFAX mapping.

Imported only when the configuration picks Class 2.0 (dialect.get), so a Class 2 unit never
loads it. The command set and conventions are the ones docs/modemsim.md ("Class 2 and Class
2.0") lists from efax, mgetty and HylaFAX; docs/fax.md says what the driver does with them.
"""


# The dialect: the keys of dialect.CLASS2 (docs/fax.md, "The dialect as data"). Response roles
# (the digit after each name) are dialect.py's: 1 connected, 2 hang-up, 3 remote id, 4 capabilities, 5 session
# parameters, 6 post-page response, 7 post-page message.
CLASS20 = {
    # +FLO=1: XON/XOFF (our flow control); +FBO=0: direct bit order both ways (T.4 wire order,
    # what the page source writes); +FNR=1,1,1,0: the +FIS/+FCS/+FCI/+FTI reports (efax, mgetty)
    "init": ("E0V1Q0", "+FCLASS=2.0", "S0=0", "+FLO=1", "+FBO=0", "+FNR=1,1,1,0", "+FCR=1"),
    "init_opt": 0b0111100,           # S0=0, +FLO=1, +FBO=0, +FNR may answer ERROR
    "local_id": '+FLI="%s"',
    "offer": "+FIS=",
    "send": "+FDT",
    "receive": "+FDR",
    "ppm": "+FET=%d",                # unused: the page end names the post-page message
    "ppr": "+FPS=%d",
    "abort": "+FKS",
    "responses": "+FCO1 +FHS2 +FCI3 +FTI3 +FIS4 +FCS5 +FPS6 +FET7",
    "hangup_base": 16,               # +FHS:<hex>
    # +FHS code ranges -> InterFAX code, first match wins (status.from_hangup): spec/fax.md's +FHNG
    # rows read with T.32's digits (status.HANGUPS), plus the two rows T.32 added at call placement
    # (docs/fax.md).
    "hangup_code": (                 # status.from_hangup reads it
        0x00, 0x00, 0,
        0x01, 0x01, 488,
        0x03, 0x03, 205001,
        0x04, 0x04, 8021,      # ringback, no answer: as the NO ANSWER dial result
        0x05, 0x05, 9001,      # answered without CED: no fax machine, as 10/11
        0x10, 0x11, 9001,
        0x25, 0x25, 3224,
        0x27, 0x27, 3233,
        0x20, 0x28, 3211,
        0x43, 0x43, 205001,
        0x40, 0x58, 3268,
    ),
    "hangup_text": (                 # dialect.describe_hangup reads it
        # +FHS hang-up status codes (T.32's hang-up table; the rows the simulator's tools/modemsim/
        # t32.py FHS holds), one row a line: "\n<hex code> <text>", one str (one object, in flash when
        # frozen). T.32 writes the codes in hex and kept the Class 2 digits below A0, except receive
        # phase D (A0-A3; Class 2 100-103) and "bad CRC or frame" (92; Class 2 94).
        (
            "\n00 Normal and proper end of connection"
            "\n01 Ring detect without successful handshake"
            "\n02 Call aborted, from +FKS or <CAN>"
            "\n03 No loop current"
            "\n04 Ringback detected, no answer (timeout)"
            "\n05 Ringback detected, answer without CED"
            "\n10 Unspecified phase A error"
            "\n11 No answer (T.30 T1 timeout)"
            "\n20 Unspecified transmit phase B error"
            "\n21 Remote cannot receive or send"
            "\n22 COMREC error in transmit phase B"
            "\n23 COMREC invalid command received"
            "\n24 RSPREC error"
            "\n25 DCS sent three times without response"
            "\n26 DIS/DTC received 3 times; DCS not recognized"
            "\n27 Failure to train at 2400 bit/s or +FMS value"
            "\n28 RSPREC invalid response received"
            "\n40 Unspecified transmit phase C error"
            "\n41 Unspecified image format error"
            "\n42 Image conversion error"
            "\n43 DTE to DCE data underflow"
            "\n44 Unrecognized transparent data command"
            "\n45 Image error, line length wrong"
            "\n46 Image error, page length wrong"
            "\n47 Image error, wrong compression code"
            "\n50 Unspecified transmit phase D error"
            "\n51 RSPREC error"
            "\n52 No response to MPS repeated 3 times"
            "\n53 Invalid response to MPS"
            "\n54 No response to EOP repeated 3 times"
            "\n55 Invalid response to EOP"
            "\n56 No response to EOM repeated 3 times"
            "\n57 Invalid response to EOM"
            "\n58 Unable to continue after PIN or PIP"
            "\n70 Unspecified receive phase B error"
            "\n71 RSPREC error"
            "\n72 COMREC error"
            "\n73 T.30 T2 timeout, expected page not received"
            "\n74 T.30 T1 timeout after EOM received"
            "\n90 Unspecified receive phase C error"
            "\n91 Missing EOL after 5 seconds"
            "\n92 Bad CRC or frame (ECM or BFT modes)"
            "\n93 DCE to DTE buffer overflow"
            "\nA0 Unspecified receive phase D error"
            "\nA1 RSPREC invalid response received"
            "\nA2 COMREC invalid response received"
            "\nA3 Unable to continue after PIN or PIP"
        ),
        # T.32's groups of the table, one row a line as Table 5-5's phases in dialect.CLASS2:
        # "\n<first> <last> <phase>" (hex; the same phase letters; T.32 names no headings).
        (
            "\n00 0F call"
            "\n10 1F A"
            "\n20 3F B"
            "\n40 4F C"
            "\n50 6F D"
            "\n70 8F rB"
            "\n90 9F rC"
            "\nA0 BF rD"
        ),
        16,
    ),
    "hangup_name": "+FHS:%02X",
    "page_end": (b"\x10,", b"\x10;", b"\x10."),   # <DLE><ppm>: MPS, EOM, EOP by +FET code
    "xon": False,                    # no XON after CONNECT to +FDT: send at once
    "rx_msb": False,                 # +FBO=0: received data in direct (LSB-first) order
}
