"""T.4 MH codec: code tables, line format, page framing, decoder (both runtimes)."""
from faxbridge.core.fax import mhcodes, mhtab, params, t4, t4dec, t4py
from support import raises
from t4_helpers import WIDTHS, code_line, decode, encode, pattern_rows, random_rows, read_all


def _bits(out, n):
    return "".join("1" if out[i >> 3] >> (i & 7) & 1 else "0" for i in range(n * 8))


def test_code_tables_are_complete_and_prefix_free():
    # each colour's code words fill the binary tree except the 1/256 that starts with
    # eight zeros (reserved for EOL): Kraft sum exactly 255/256, no word a prefix of another
    for c in (0, 1):
        cs = mhcodes.codes(c)
        assert len(cs) == 64 + 27 + 13
        assert sum(1 << (13 - n) for _, n, _ in cs) == 255 << 5
        words = []
        for _, n, v in cs:
            w = "".join("1" if v >> i & 1 else "0" for i in range(n))
            words.append(w)
        for a in words:
            assert not a.startswith("00000000")
            for b in words:
                assert a == b or not b.startswith(a), (a, b)


def test_packed_tables_are_the_code_words():
    # mhtab.py (what the unit imports) is exactly what mhcodes.py's code words give
    names = []
    for name, data, _what in mhcodes.pack():
        assert getattr(mhtab, name) == data, "mhtab.%s is stale: regenerate it with mhcodes.source()" % name
        names.append(name)
    assert names == ["ENC", "DEC", "DEC2", "REV", "LZ8", "SENT"]
    assert len(mhtab.ENC) == 210 * 4 and len(mhtab.DEC) == 512 * 2


def test_table_rows_match_t4():
    # spot checks against T.4 Tables 2 and 3 (reading the strings, not the code)
    w = mhcodes.WHITE_TERM.split()
    assert mhcodes.WHITE_TERM.split()[0] == "00110101"
    assert mhcodes.WHITE_TERM.split()[63] == "00110100"
    assert mhcodes.BLACK_TERM.split()[0] == "0000110111"
    assert mhcodes.BLACK_TERM.split()[63] == "000001100111"
    assert mhcodes.WHITE_MAKEUP.split()[26] == "010011011"  # 1728
    assert mhcodes.BLACK_MAKEUP.split()[26] == "0000001100101"  # 1728
    assert mhcodes.EXT_MAKEUP.split()[12] == "000000011111"  # 2560
    assert len(w) == 64


def test_bit_tables():
    assert mhtab.REV[0x01] == 0x80 and mhtab.REV[0xB6] == 0x6D and len(mhtab.REV) == 256
    for b in range(256):
        assert mhtab.REV[mhtab.REV[b]] == b
    assert mhtab.LZ8[0] == 8 and mhtab.LZ8[1] == 7 and mhtab.LZ8[0x80] == 0
    # the decoder's trailing zero bits (TZ8 before it was folded into these two)
    tz8 = mhtab.LZ8[mhtab.REV[0]], mhtab.LZ8[mhtab.REV[0x80]], mhtab.LZ8[mhtab.REV[6]]
    assert tz8 == (8, 7, 1), tz8
    for b in range(1, 256):
        t = mhtab.LZ8[mhtab.REV[b]]
        assert b >> t & 1 and not b & ((1 << t) - 1), b


def test_one_line_by_hand():
    # width 8, row 00001111: white 4 = 1011, black 4 = 011, 16 fill zeros, EOL ends byte 3
    out = bytearray(code_line(bytearray(b"\x0f"), 8, fn=t4py.enc)[0])
    assert len(out) == 3
    assert bytes(out[:3]) == b"\x6d\x00\x80"  # LSB-first: first bit in bit 0
    t4.reverse(out, 0, 3)
    assert bytes(out[:3]) == b"\xb6\x00\x01"  # MSB-first: 1011 0110 ... 0000 0001


def test_row_starting_black_gets_white_zero_run():
    out, _ = code_line(bytearray(b"\xff"), 8, fn=t4py.enc)
    n = len(out)
    # white 0 = 00110101, black 8 = 000101, EOL
    bits = _bits(out, n)
    assert bits.startswith("00110101" + "000101")
    assert bits.endswith("000000000001")
    assert set(bits[14:-12]) <= {"0"}


def test_white_line_length_and_scan_time():
    row = bytearray(216)
    # 1728 white = make-up 1728 (9 bits) + white 0 (8) + EOL (12) = 29 bits -> 4 bytes
    assert len(code_line(row, 1728)[0]) == 4
    # 20 ms at 14400 bit/s = 288 bits = 36 bytes
    out, pieces = code_line(row, 1728, t4.min_bits(14400, 20))
    assert len(out) == 36 and pieces == 1
    bits = _bits(out, 36)
    assert bits == "010011011" + "00110101" + "0" * (288 - 17 - 1) + "1"
    # 5 ms at 2400 bit/s = 12 bits: less than the line itself
    assert len(code_line(row, 1728, t4.min_bits(2400, 5))[0]) == 4
    # 40 ms at 9600 = 384 bits = 48 bytes
    out, _ = code_line(row, 1728, t4.min_bits(9600, 40))
    assert len(out) == 48 and out[47] == 0x80


def test_scan_time_table():
    assert params.scan_ms(0, 0) == 0 and params.scan_ms(7, 1) == 40
    assert [params.scan_ms(s, 0) for s in range(8)] == [0, 5, 10, 10, 20, 20, 40, 40]
    assert [params.scan_ms(s, 1) for s in range(8)] == [0, 5, 5, 10, 10, 20, 20, 40]
    assert t4.min_bits(14400, 5) == 72 and t4.min_bits(7200, 10) == 72
    assert WIDTHS == (1728, 2048, 2432, 1216, 864)
    assert params.TABLE[1][5] == 14400 and params.PAGE_LINES[1][0] == 2287


def test_every_line_meets_min_scan_time():
    w = 1728
    rows = pattern_rows(w, 4, "white") + random_rows(w, 2) + pattern_rows(w, 2, "black")
    for bps, ms in ((14400, 20), (9600, 10), (2400, 40), (14400, 0)):
        data = encode(rows, w, bps, ms)
        # split at EOL ends: every EOL ends a byte (0x80 last), lines are whole bytes
        d, sink = decode(data, w)
        assert d.lines == 8 and d.bad_lines == 0
        assert sink.bitmap() == rows
        row = bytearray(w >> 3)
        for y in range(8):
            row[:] = rows[y * 216:(y + 1) * 216]
            natural = len(code_line(row, w)[0])
            out, _ = code_line(row, w, t4.min_bits(bps, ms))
            n = len(out)
            assert n * 8 >= t4.min_bits(bps, ms)
            assert n == max(natural, (t4.min_bits(bps, ms) + 7) // 8)
            assert out[n - 1] == 0x80 and out[n - 2] & 0xF0 == 0  # 11 zeros, then 1


def test_page_framing_eol_rtc_and_trailing_byte():
    rows = pattern_rows(1728, 3, "white")
    data = encode(rows, 1728)
    assert data[:2] == b"\x00\x80"  # first EOL
    # three white lines of 4 bytes, then 5 more EOLs (RTC = 6 with the last line's), 1 byte
    assert len(data) == 2 + 3 * 4 + 10 + 1
    assert data[-11:] == b"\x00\x80" * 5 + b"\x00"
    msb = encode(rows, 1728, msb_first=True)
    assert msb == bytes(mhtab.REV[b] for b in data)
    assert msb[:2] == b"\x00\x01"


def test_readinto_any_buffer_size_gives_same_bytes():
    rows = random_rows(864, 5)
    ref = encode(rows, 864, 9600, 10, chunk=4096)
    for chunk in (1, 2, 3, 7, 64, 1000):
        assert encode(rows, 864, 9600, 10, chunk=chunk) == ref
    # a read larger than 16 383 bytes gets at most that many (the coder's offsets stay small
    # ints on the ESP32): the same page, 4.5 bits a pixel of it
    big = pattern_rows(1728, 40, "alt")
    pe = t4.PageEncoder(t4py.BytesRows(big, 1728), 1728)
    buf = bytearray(70000)
    got = bytearray()
    while True:
        n = pe.readinto(buf)
        assert n <= 16383
        if not n:
            break
        got += buf[:n]
    assert len(got) > 16383 * 2 and bytes(got) == encode(big, 1728, chunk=512)
    pe = t4.PageEncoder(t4py.BytesRows(rows, 864), 864)
    raises(ValueError, pe.readinto, bytearray(0))  # 0 would mean "page done"
    read_all(pe)
    assert pe.readinto(bytearray(10)) == 0 and pe.lines == 5


def test_round_trip_every_width_and_pattern():
    for w in WIDTHS:
        for kind in ("white", "black", "alt", "checker1", "checker8", "edges"):
            rows = pattern_rows(w, 4, kind)
            for msb in (False, True):
                data = encode(rows, w, 14400, 5, msb)
                d, sink = decode(data, w, msb, chunk=33)
                assert (d.lines, d.bad_lines, d.done) == (4, 0, True), (w, kind, msb)
                assert sink.bitmap() == rows, (w, kind)
        rows = random_rows(w, 6)
        d, sink = decode(encode(rows, w), w, chunk=1)
        assert d.lines == 6 and sink.bitmap() == rows


def test_long_runs_use_extended_makeup():
    # 2432 white = make-up 2432 (000000011101) + white 0
    out, _ = code_line(bytearray(304), 2432, fn=t4py.enc)
    bits = _bits(out, len(out))
    assert bits.startswith("000000011101" + "00110101")
    row = bytearray(b"\xff" * 304)
    out, _ = code_line(row, 2432, fn=t4py.enc)
    bits = _bits(out, len(out))
    assert bits.startswith("00110101" + "000000011101" + "0000110111")


def test_worst_rows_coded_in_pieces_of_the_line_buffer():
    """A worst row (4.5 bits a pixel) codes through the line buffer (t4.line_room: the fill
    and ~64 bytes, not the whole line) in pieces, none beyond the buffer (code_line checks),
    and the pieces joined are the line coded in one go into a buffer as large as it: at every
    width, fill and colour; wide runs with extended make-up codes too (a 16384-pixel row
    with black runs of 3 000 pixels between single pixels: the largest emission of one input
    byte)."""
    wide = bytearray(2048)
    for i in range(0, 1600, 400):
        wide[i:i + 375] = b"\xff" * 375
        wide[i + 380] = 0x55
    cases = [(w, bytearray(pattern_rows(w, 2, kind)[w >> 3:])) for w in WIDTHS
             for kind in ("alt", "checker1", "black", "edges")] + [(16384, wide), (16384, bytearray(2048))]
    for w, row in cases:
        for minbits in (0, 576, 5000):
            room = t4.line_room(w, minbits)
            assert room <= (minbits + 7) // 8 + 64 + 16 + 16
            line, pieces = code_line(row, w, minbits)
            whole, one = code_line(row, w, minbits, room=len(line) + 64)
            assert line == whole and one == 1, (w, minbits)
            assert pieces >= 1 + len(line) // room, (w, minbits, pieces, len(line))
            if w == 1728 and row[0] == 0xAA and not minbits:
                # white 0 (8 bits), 864 x (black 1, white 1) (3 + 6 bits), EOL: 975 bytes in
                # pieces of 64 to 64 + 9 bytes (room 81: 64, a margin of 17)
                assert len(line) == 975 and room == 81 and pieces == 15, (room, pieces)
            for fn in (t4py.enc, t4.encode_line):
                for r in (room, room + 1, room + 7):
                    assert code_line(row, w, minbits, r, fn)[0] == line, (w, minbits, r)


def test_page_encoder_rejects_bad_width():
    raises(ValueError, t4.PageEncoder, t4py.BytesRows(b"", 8), 1727)
    raises(ValueError, t4dec.Decoder, 0)


def test_decoder_chunk_sizes_agree():
    w = 1216
    rows = random_rows(w, 8)
    data = encode(rows, w, 14400, 20)
    for chunk in (1, 2, 5, 13, 100, None):
        d, sink = decode(data, w, chunk=chunk)
        assert (d.lines, d.bad_lines) == (8, 0)
        assert sink.bitmap() == rows


def test_decoder_counts_only_without_sink():
    rows = random_rows(1728, 5)
    d = t4dec.Decoder(1728)
    d.feed(encode(rows, 1728))
    assert (d.lines, d.bad_lines, d.done) == (5, 0, True)
    assert d.end() == (5, 0)


def test_decoder_resyncs_after_corruption():
    w = 1728
    rows = random_rows(w, 20)
    data = bytearray(encode(rows, w, 14400, 10))
    mid = len(data) // 2
    for i in range(mid, mid + 6):
        data[i] ^= 0xA5
    d, sink = decode(bytes(data), w, chunk=17)
    assert d.done
    assert d.bad_lines >= 1
    assert d.lines + d.bad_lines <= 20 and d.lines >= 16
    # good rows are the right rows; bad ones repeat the last good row
    assert sink.rows[0] == rows[:216]
    assert sink.rows[-1] == rows[-216:]
    for i, good in enumerate(sink.good):
        if not good:
            assert sink.rows[i] == sink.rows[i - 1] or i == 0


def test_decoder_line_too_long_or_short_is_bad():
    # lines coded for width 1216 fed to a 1728 decoder: too short; the other way: too long
    rows = random_rows(1216, 3)
    d, _ = decode(encode(rows, 1216), 1728)
    assert (d.lines, d.bad_lines) == (0, 3)
    rows = random_rows(1728, 3)
    d, _ = decode(encode(rows, 1728), 1216)
    assert (d.lines, d.bad_lines) == (0, 3)


def test_decoder_wrong_bit_order_gives_bad_lines_not_a_crash():
    rows = random_rows(1728, 6)
    d, _ = decode(encode(rows, 1728, msb_first=False), 1728, msb_first=True)
    assert d.lines == 0


def test_decoder_ignores_junk_before_first_eol_and_after_rtc():
    rows = random_rows(864, 4)
    data = b"\xff\x13\x77" + encode(rows, 864) + b"\x12\x34\xff" * 10
    d, sink = decode(data, 864, chunk=3)
    assert (d.lines, d.bad_lines, d.done) == (4, 0, True)
    assert sink.bitmap() == rows


def test_decoder_end_counts_unfinished_line():
    rows = pattern_rows(1728, 4, "checker1")  # 4 lines of 2 + 972 bytes
    data = encode(rows, 1728)
    size = len(code_line(bytearray(rows[:216]), 1728)[0])  # every line the same
    cut = data[:2 + size + size // 2]  # first EOL, one line, half the second
    d = t4dec.Decoder(1728)
    d.feed(cut)
    lines, bad = d.end()
    assert (lines, bad) == (1, 1)
    d.feed(b"\x00\x80")  # after end() further data is ignored
    assert d.end() == (lines, bad)


def test_decoder_never_crashes_on_noise():
    for w in (864, 1728):
        for _ in range(5):
            d, sink = decode(random_rows(8, 3000), w, chunk=29)
            assert d.lines + d.bad_lines == len(sink.rows)
            for r in sink.rows:
                assert len(r) == w >> 3
        d, _ = decode(bytes(5000), w)  # all zeros: fill without end
        assert (d.lines, d.bad_lines) == (0, 0)


def test_reset_mid_row_starts_the_next_page_afresh():
    """A page left with a row coded in part (a cancelled send: FilePage opens the next page
    in the same encoder) drops that row: the next page is the one a new encoder gives."""
    a = pattern_rows(1728, 3, "alt")
    b = random_rows(1728, 2) + pattern_rows(1728, 1, "checker1")
    for msb in (False, True):
        for size in (7, 97, 300):
            pe = t4.PageEncoder(t4py.BytesRows(a, 1728), 1728, 9600, 20, msb)
            buf = bytearray(size)
            while not pe._st[2]:    # until a row stands coded in part
                assert pe.readinto(buf)
            pe.reset(t4py.BytesRows(b, 1728), t4.min_bits(9600, 20))
            assert pe._st[2] == 0 and pe.lines == 0
            assert read_all(pe, size) == encode(b, 1728, 9600, 20, msb, size), (msb, size)
