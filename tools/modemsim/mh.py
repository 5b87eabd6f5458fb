"""A small T.4 one-dimensional (MH) line checker: decodes each line's runs to count good and
bad lines (a line is good when its runs add up to the page width), as a receiving fax modem
with copy-quality checking does. Independent of the firmware's T.4 code (the simulator is a
reference); the code tables are T.4 Tables 2 and 3 written out as bit strings.

Input is line order (first bit on the line = bit 0 of the first byte).
"""

# T.4 Table 2: terminating codes, run lengths 0..63
WHITE_TERM = (
    "00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
    "10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
    "101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
    "0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
    "00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111", "00101000",
    "00101001", "00101010", "00101011", "00101100", "00101101", "00000100", "00000101", "00001010",
    "00001011", "01010010", "01010011", "01010100", "01010101", "00100100", "00100101", "01011000",
    "01011001", "01011010", "01011011", "01001010", "01001011", "00110010", "00110011", "00110100",
)
BLACK_TERM = (
    "0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
    "000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
    "0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100", "00000110111",
    "00000101000", "00000010111", "00000011000", "000011001010", "000011001011", "000011001100",
    "000011001101", "000001101000", "000001101001", "000001101010", "000001101011", "000011010010",
    "000011010011", "000011010100", "000011010101", "000011010110", "000011010111", "000001101100",
    "000001101101", "000011011010", "000011011011", "000001010100", "000001010101", "000001010110",
    "000001010111", "000001100100", "000001100101", "000001010010", "000001010011", "000000100100",
    "000000110111", "000000111000", "000000100111", "000000101000", "000001011000", "000001011001",
    "000000101011", "000000101100", "000001011010", "000001100110", "000001100111",
)
# T.4 Table 3: make-up codes, run lengths 64, 128, ... 1728
WHITE_MAKEUP = (
    "11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
    "01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100",
    "011010101", "011010110", "011010111", "011011000", "011011001", "011011010", "011011011",
    "010011000", "010011001", "010011010", "011000", "010011011",
)
BLACK_MAKEUP = (
    "0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100",
    "000000110101", "0000001101100", "0000001101101", "0000001001010", "0000001001011",
    "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
    "0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011",
    "0000001010100", "0000001010101", "0000001011010", "0000001011011", "0000001100100",
    "0000001100101",
)
# T.4 Table 3 (continued): extended make-up codes 1792..2560, both colours
EXT_MAKEUP = (
    "00000001000", "00000001100", "00000001101", "000000010010", "000000010011", "000000010100",
    "000000010101", "000000010110", "000000010111", "000000011100", "000000011101", "000000011110",
    "000000011111",
)


def _table(term, makeup):
    t = {}
    for run, code in enumerate(term):
        t[(len(code), int(code, 2))] = run
    for k, code in enumerate(makeup):
        t[(len(code), int(code, 2))] = 64 * (k + 1)
    for k, code in enumerate(EXT_MAKEUP):
        t[(len(code), int(code, 2))] = 1792 + 64 * k
    return t


TABLES = (_table(WHITE_TERM, WHITE_MAKEUP), _table(BLACK_TERM, BLACK_MAKEUP))
MAX_CODE = 13


class MhChecker:
    """feed(data) repeatedly; good / bad count decoded lines, rtc is set at six empty EOLs."""

    def __init__(self, width=1728):
        self.width = width
        self.good = 0
        self.bad = 0
        self.rtc = False
        self.synced = False
        self.zeros = 0
        self.eol_run = 0
        self._new_line()

    def _new_line(self):
        self.color = 0
        self.pos = 0
        self.codes = 0
        self.val = 0
        self.nbits = 0
        self.broken = False

    def _eol(self):
        if self.synced:
            if self.codes or self.broken:
                if not self.broken and self.pos == self.width and self.val == 0:
                    self.good += 1
                else:
                    self.bad += 1
                self.eol_run = 1
            else:
                self.eol_run += 1
                if self.eol_run >= 6:
                    self.rtc = True
        else:
            self.synced = True
            self.eol_run = 1
        self._new_line()

    def feed(self, data):
        if self.rtc:
            return
        tables = TABLES
        for byte in data:
            if byte == 0 and (not self.synced or self.broken or self.val == 0):
                self.zeros += 8
                self.nbits += 8
                continue
            for i in range(8):
                bit = (byte >> i) & 1
                if not bit:
                    self.zeros += 1
                else:
                    if self.zeros >= 11:
                        self.zeros = 0
                        self._eol()
                        if self.rtc:
                            return
                        continue
                    self.zeros = 0
                if not self.synced or self.broken:
                    continue
                self.val = (self.val << 1) | bit
                self.nbits += 1
                if self.val == 0:
                    continue              # leading zeros of a code, or fill before an EOL
                run = tables[self.color].get((self.nbits, self.val))
                if run is not None:
                    self.codes += 1
                    self.pos += run
                    if run < 64:
                        self.color ^= 1
                    self.val = 0
                    self.nbits = 0
                    if self.pos > self.width:
                        self.broken = True
                elif self.nbits >= MAX_CODE:
                    self.broken = True
