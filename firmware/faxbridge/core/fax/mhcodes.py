"""T.4 Modified Huffman code words (ITU-T T.4 Tables 2/T.4 and 3/T.4) as data: the one source
of the packed tables in mhtab.py, which the encoder and decoder read.

Each table below is the code words in transmission order (first bit sent first), one run
length after another, space separated, 8 per source line; the comment names the rows.
`pack()` turns them into the byte tables of mhtab.py; `source()` writes that module
(`python -m faxbridge.core.fax.mhcodes > mhtab.py` with firmware/ on the path), and
host_tests/core/test_t4_codec.py checks on both runtimes that mhtab.py is what pack() gives.
This module is for tools and tests: the unit imports mhtab.py only.
"""

# Table 2/T.4 terminating codes, white runs 0..63
WHITE_TERM = (
    "00110101 000111 0111 1000 1011 1100 1110 1111 "  # 0-7
    "10011 10100 00111 01000 001000 000011 110100 110101 "  # 8-15
    "101010 101011 0100111 0001100 0001000 0010111 0000011 0000100 "  # 16-23
    "0101000 0101011 0010011 0100100 0011000 00000010 00000011 00011010 "  # 24-31
    "00011011 00010010 00010011 00010100 00010101 00010110 00010111 00101000 "  # 32-39
    "00101001 00101010 00101011 00101100 00101101 00000100 00000101 00001010 "  # 40-47
    "00001011 01010010 01010011 01010100 01010101 00100100 00100101 01011000 "  # 48-55
    "01011001 01011010 01011011 01001010 01001011 00110010 00110011 00110100"  # 56-63
)

# Table 2/T.4 terminating codes, black runs 0..63
BLACK_TERM = (
    "0000110111 010 11 10 011 0011 0010 00011 "  # 0-7
    "000101 000100 0000100 0000101 0000111 00000100 00000111 000011000 "  # 8-15
    "0000010111 0000011000 0000001000 00001100111 00001101000 00001101100 00000110111 00000101000 "  # 16-23
    "00000010111 00000011000 000011001010 000011001011 000011001100 000011001101 000001101000 "  # 24-30
    "000001101001 "  # 31
    "000001101010 000001101011 000011010010 000011010011 000011010100 000011010101 000011010110 "  # 32-38
    "000011010111 "  # 39
    "000001101100 000001101101 000011011010 000011011011 000001010100 000001010101 000001010110 "  # 40-46
    "000001010111 "  # 47
    "000001100100 000001100101 000001010010 000001010011 000000100100 000000110111 000000111000 "  # 48-54
    "000000100111 "  # 55
    "000000101000 000001011000 000001011001 000000101011 000000101100 000001011010 000001100110 "  # 56-62
    "000001100111"  # 63
)

# Table 3/T.4 make-up codes, white runs 64, 128, ... 1728
WHITE_MAKEUP = (
    "11011 10010 010111 0110111 00110110 00110111 01100100 01100101 "  # 64-512
    "01101000 01100111 011001100 011001101 011010010 011010011 011010100 011010101 "  # 576-1024
    "011010110 011010111 011011000 011011001 011011010 011011011 010011000 010011001 "  # 1088-1536
    "010011010 011000 010011011"  # 1600-1728
)

# Table 3/T.4 make-up codes, black runs 64, 128, ... 1728
BLACK_MAKEUP = (
    "0000001111 000011001000 000011001001 000001011011 000000110011 000000110100 000000110101 "  # 64-448
    "0000001101100 "  # 512
    "0000001101101 0000001001010 0000001001011 0000001001100 0000001001101 0000001110010 "  # 576-896
    "0000001110011 0000001110100 0000001110101 0000001110110 0000001110111 0000001010010 "  # 960-1280
    "0000001010011 0000001010100 0000001010101 0000001011010 0000001011011 0000001100100 "  # 1344-1664
    "0000001100101"  # 1728
)

# Table 3/T.4 extended make-up codes (both colours), runs 1792, 1856, ... 2560
EXT_MAKEUP = (
    "00000001000 00000001100 00000001101 000000010010 000000010011 000000010100 000000010101 "  # 1792-2176
    "000000010110 000000010111 000000011100 000000011101 000000011110 000000011111"  # 2240-2560
)

EOL = "000000000001"  # T.4 4.1.2: 11 zeros then a one

ZEROS = 0xE000  # DEC entry: the next 8 bits are zero (fill/EOL, or an error)
BAD = 0xF000  # DEC entry: no code word starts like this


def _rev(v, n):
    r = 0
    for _ in range(n):
        r = (r << 1) | (v & 1)
        v >>= 1
    return r


def _words(s):
    # -> list of (length, value in wire order: first bit in bit 0)
    return [(len(w), _rev(int(w, 2), len(w))) for w in s.split()]


def codes(colour):
    """All (run, length, reversed bits) of one colour: terminating, make-up, extended."""
    t = _words(WHITE_TERM if colour == 0 else BLACK_TERM)
    m = _words(WHITE_MAKEUP if colour == 0 else BLACK_MAKEUP) + _words(EXT_MAKEUP)
    out = [(r, n, v) for r, (n, v) in enumerate(t)]
    out += [((i + 1) * 64, n, v) for i, (n, v) in enumerate(m)]
    return out


def _le(values, size):
    out = bytearray()
    for v in values:
        for i in range(size):
            out.append((v >> (8 * i)) & 0xFF)
    return bytes(out)


def pack():
    """The tables of mhtab.py, as a tuple of (name, bytes, comment)."""
    enc = [0] * 210  # (bits << 4) | length; white terms, black terms, white make-ups, black make-ups
    dec = [BAD] * 512
    longc = []
    for c in (0, 1):
        for run, n, v in codes(c):
            e = (v << 4) | n
            if run < 64:
                enc[c * 64 + run] = e
            else:
                enc[128 + c * 41 + run // 64] = e
            if n <= 8:
                for hi in range(1 << (8 - n)):
                    dec[c * 256 + (v | (hi << n))] = (n << 12) | run
            else:
                longc.append((c, run, n, v))
        dec[c * 256] = ZEROS  # no code word has 8 leading zeros (only EOL)
    blocks = []
    sec = []
    for c, run, n, v in longc:
        key = c * 256 + (v & 0xFF)
        if key not in blocks:
            blocks.append(key)
            dec[key] = len(sec)  # length field 0: second level
            sec.extend([BAD] * 32)
        base = dec[key]
        for hi in range(1 << (13 - n)):
            sec[base + ((v >> 8) | (hi << (n - 8)))] = (n << 12) | run
    rev = bytes(sum(((b >> i) & 1) << (7 - i) for i in range(8)) for b in range(256))
    lz8 = bytes(8 if b == 0 else 7 - max(i for i in range(8) if b >> i & 1) for b in range(256))
    sent = bytes((1 << (8 - k)) - 1 for k in range(9))
    return (
        ("ENC", _le(enc, 4), "encoder, 4 bytes an entry (little-endian (bits << 4) | length, bits in "
                             "wire order): white terminating 0..63, black 0..63, white make-up m * 64 "
                             "(m 0..40, 0 unused), black make-up"),
        ("DEC", _le(dec, 2), "decoder first level, 2 bytes an entry, colour * 256 + the next 8 bits "
                             "(first in bit 0): (length << 12) | run, or length 0: second level block at "
                             "the run field, or ZEROS 0xE000 (8 zero bits), or BAD 0xF000"),
        ("DEC2", _le(sec, 2), "decoder second level: blocks of 32 entries indexed by the 5 bits after "
                              "the first 8, same packing"),
        ("REV", rev, "each byte with its bit order reversed"),
        ("LZ8", lz8, "leading zero bits of a byte (8 for 0); LZ8[REV[b]]: its trailing zero bits"),
        ("SENT", sent, "SENT[k]: ones in the low 8 - k bits"),
    )


def source():
    """The text of mhtab.py."""
    out = ['"""T.4 Modified Huffman tables and bit tables packed as bytes, generated by mhcodes.source()',
           "from the code words of T.4 Tables 2/T.4 and 3/T.4 in mhcodes.py (do not edit; regenerate).",
           "Bytes literals: frozen into the firmware they stay in flash, and they are read a byte at a",
           'time (no alignment needed)."""', ""]
    for name, data, what in pack():
        line = "#"
        for word in what.split():
            if len(line) + len(word) > 98:
                out.append(line)
                line = "#"
            line += " " + word
        out.append(line)
        out.append("%s = (" % name)
        for i in range(0, len(data), 24):
            out.append('    b"' + "".join("\\x%02x" % b for b in data[i:i + 24]) + '"')
        out.append(")")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(source(), end="")
