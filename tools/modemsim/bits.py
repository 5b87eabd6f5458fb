"""Page-data helpers: bit reversal, DLE stuffing/unstuffing, an EOL scanner and RTC.

Line order: inside the simulator page data travels in T.4 transmission order packed
LSB-first (the first bit on the line is bit 0 of the first byte), which is what a DTE
sends with +FBOR=0. .g3 files are MSB-first (the netpbm/efax convention).
"""

DLE = 0x10
ETX = 0x03
DC1 = XON = 0x11
DC2 = 0x12
DC3 = XOFF = 0x13
CAN = 0x18

REVERSE = bytes(int("{:08b}".format(i)[::-1], 2) for i in range(256))


def reverse_bits(data):
    """Swap the bit order of every byte (LSB-first <-> MSB-first)."""
    return bytes(data).translate(REVERSE)


def dle_stuff(data):
    """Double every DLE (data sent to the DTE)."""
    return bytes(data).replace(b"\x10", b"\x10\x10")


class Unstuffer:
    """Undo DLE stuffing of DTE->DCE page data; finds the DLE ETX that ends a page.

    feed(data) -> (payload, ended, rest): payload is the unstuffed data, ended is True once
    DLE ETX was seen and rest is whatever followed it. DLE followed by anything other than
    DLE or ETX is dropped (Class 2 has no other DLE codes from the DTE). ends: the bytes
    that end a page after a DLE (Class 2.0 adds its <DLE><ppm> codes); .end is the one seen.
    """

    def __init__(self, ends=(ETX,)):
        self.pending_dle = False
        self.ends = ends
        self.end = None

    def feed(self, data):
        out = bytearray()
        data = bytes(data)
        i = 0
        n = len(data)
        if self.pending_dle and n:
            self.pending_dle = False
            c = data[0]
            i = 1
            if c == DLE:
                out.append(DLE)
            elif c in self.ends:
                self.end = c
                return bytes(out), True, data[1:]
        while i < n:
            j = data.find(b"\x10", i)
            if j < 0:
                out += data[i:]
                break
            out += data[i:j]
            if j + 1 >= n:
                self.pending_dle = True
                break
            c = data[j + 1]
            if c == DLE:
                out.append(DLE)
            elif c in self.ends:
                self.end = c
                return bytes(out), True, data[j + 2:]
            i = j + 2
        return bytes(out), False, b""


def _pack_lsb(bitstring):
    out = bytearray()
    for k in range(0, len(bitstring), 8):
        chunk = bitstring[k:k + 8].ljust(8, "0")
        out.append(sum(1 << i for i, c in enumerate(chunk) if c == "1"))
    return bytes(out)


EOL_BITS = "000000000001"
# RTC: six consecutive EOLs (T.4 4.1.4), packed in line order, plus two fill bytes after it
# because efax judges a page bad when nothing follows the RTC before DLE ETX.
RTC = _pack_lsb(EOL_BITS * 6)
RTC_WITH_FILL = RTC + b"\x00\x00"


class EolScanner:
    """Counts T.4 lines and spots RTC in line-order (LSB-first) page data.

    An EOL is eleven or more 0 bits followed by a 1. A line is data between two EOLs;
    RTC is six EOLs with no data between them. Independent of the firmware's T.4 code on
    purpose: the simulator is a reference, not a copy.
    """

    RTC_EOLS = 6

    def __init__(self):
        self.zeros = 0
        self.data_since_eol = False
        self.seen_eol = False
        self.eol_run = 0
        self.lines = 0
        self.rtc = False
        self.nbytes = 0
        self.after_rtc = 0

    def feed(self, data):
        self.nbytes += len(data)
        if self.rtc:
            self.after_rtc += len(data)
            return
        zeros = self.zeros
        for pos, b in enumerate(data):
            if b == 0:
                zeros += 8
                continue
            for i in range(8):
                if (b >> i) & 1:
                    if zeros >= 11:
                        if self.data_since_eol:
                            if self.seen_eol:
                                self.lines += 1
                            self.eol_run = 1
                        else:
                            self.eol_run += 1
                        self.data_since_eol = False
                        self.seen_eol = True
                        if self.eol_run >= self.RTC_EOLS:
                            self.rtc = True
                            self.after_rtc = len(data) - pos - 1
                            self.zeros = 0
                            return
                    else:
                        self.data_since_eol = True
                    zeros = 0
                else:
                    zeros += 1
        self.zeros = zeros

    @property
    def line_count(self):
        """Lines so far, counting an unterminated last line when the page has no RTC."""
        if not self.rtc and self.data_since_eol and self.seen_eol:
            return self.lines + 1
        return self.lines
