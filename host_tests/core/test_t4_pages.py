"""Page sources: PBM P4/P1 streams, text pages with the built-in font (both runtimes)."""
import io

from faxbridge.core.fax import font, pbm, t4, textpage
from support import raises, tmpdir
from t4_helpers import END, code_line, decode, glyph_row, random_rows, read_all


class Trickle:
    """A stream that gives at most `most` bytes a read (like a slow UART or socket)."""

    def __init__(self, data, most=3):
        self.data = data
        self.pos = 0
        self.most = most

    def readinto(self, buf):
        n = min(len(buf), self.most, len(self.data) - self.pos)
        buf[0:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def seek(self, p):
        self.pos = p


def _rows(src, width, limit=100000):
    row = bytearray(width >> 3)
    out = []
    while len(out) < limit and src.readrow(row):
        out.append(bytes(row))
    return out


def _pix(row, x):
    return row[x >> 3] >> (7 - (x & 7)) & 1


def test_p4_same_width():
    img = random_rows(864, 5)
    src = pbm.PbmRows(io.BytesIO(b"P4\n864 5\n" + img), 864)
    assert (src.kind, src.src_width, src.src_height) == ("P4", 864, 5)
    assert b"".join(_rows(src, 864)) == img


def test_p4_narrow_odd_width_is_masked_and_padded():
    # 13 pixels a row in 2 bytes; the 3 padding bits are set and must not show
    data = b"P4\n# a comment\n13 2\n" + b"\xff\xff" + b"\x80\x0f"
    rows = _rows(pbm.PbmRows(io.BytesIO(data), 864), 864)
    assert rows[0] == b"\xff\xf8" + bytes(106)
    assert rows[1] == b"\x80\x08" + bytes(106)


def test_p4_wide_is_cut_on_the_right():
    img = random_rows(1728, 3)
    rows = _rows(pbm.PbmRows(io.BytesIO(b"P4 1728 3 " + img), 864), 864)
    assert rows == [img[i * 216:i * 216 + 108] for i in range(3)]


def test_p1_plain_with_comments_and_any_spacing():
    data = b"P1\n#c1\n 10 #c2\n3\n1 0 1 0 1 0 1 0 1 1\n0000000001\n1\n1 1 1 1 1 1 1 1 1"
    src = pbm.PbmRows(io.BytesIO(data), 864)
    assert src.kind == "P1"
    rows = _rows(src, 864)
    assert rows[0][:2] == b"\xaa\xc0"
    assert rows[1][:2] == b"\x00\x40"
    assert rows[2][:2] == b"\xff\xc0" and rows[2][2:] == bytes(106)
    assert len(rows) == 3


def test_p1_wide_is_cut():
    line = b"1" * 900 + b"\n"
    rows = _rows(pbm.PbmRows(io.BytesIO(b"P1 900 2\n" + line * 2), 864), 864)
    assert rows == [b"\xff" * 108] * 2


def test_slow_stream_gives_the_same_rows():
    img = random_rows(1216, 4)
    data = b"P4\n1216 4\n" + img
    assert b"".join(_rows(pbm.PbmRows(Trickle(data, 5), 1216), 1216)) == img
    p1 = b"P1\n16 2\n" + b"0110100110010110\n" * 2
    assert _rows(pbm.PbmRows(Trickle(p1, 1), 864), 864)[1][:2] == b"\x69\x96"


def test_bad_pbm_gives_clear_errors():
    cases = (b"", b"P5\n1 1\n\x00", b"P4", b"P4\n12", b"P4\nx 3\n", b"P4\n0 3\n",
             b"P4\n99999 1\n", b"P4\n8 1", b"P4\n8 1x\x00", b"P1\n2 1\n12")
    for data in cases:
        def run(d=data):
            src = pbm.PbmRows(io.BytesIO(d), 864)
            _rows(src, 864)
        e = raises(ValueError, run)
        assert str(e).startswith("pbm: "), (data, e)
    # a raster that ends early: rows before it are fine, then a clear error
    src = pbm.PbmRows(io.BytesIO(b"P4\n8 3\n\x01\x02"), 864)
    row = bytearray(108)
    assert src.readrow(row) and src.readrow(row)
    assert "raster ends" in str(raises(ValueError, src.readrow, row))


def test_pbm_file_to_page_and_back():
    d = tmpdir("t4")
    img = random_rows(1728, 6)
    with open(d + "/p.pbm", "wb") as f:
        f.write(b"P4\n1728 6\n" + img)
    with open(d + "/p.pbm", "rb") as f:
        data = read_all(t4.PageEncoder(pbm.PbmRows(f, 1728), 1728, 9600, 10))
    dec, sink = decode(data, 1728)
    assert (dec.lines, dec.bad_lines) == (6, 0) and sink.bitmap() == img


# ---- text pages ------------------------------------------------------------------------

def _glyph_black(row, x0, ch, frow):
    """Does `row` show font row `frow` of `ch` at x0 (3 pixels a glyph pixel)?"""
    v = glyph_row(ord(ch), frow)
    for i in range(5):
        want = v >> (4 - i) & 1
        for k in range(3):
            if _pix(row, x0 + 3 * i + k) != want:
                return False
    return True


def test_text_geometry_normal_and_fine():
    for fine, lines, vs in ((False, 1143, 2), (True, 2287, 4)):
        doc = textpage.TextPages("AB\nC", 1728, fine=fine)
        assert doc.count == 1 and doc.cols == 80 and doc.left == 144
        assert doc.page_lines == lines and doc.body_lines == 53
        rows = _rows(doc.page(0), 1728)
        assert len(rows) == lines
        top = 40 * vs // 2  # the body starts 40 lines (98 dpi) down, about 10 mm
        for frow in range(8):
            for k in range(vs):
                r = rows[top + frow * vs + k]
                assert _glyph_black(r, 144, "A", frow) and _glyph_black(r, 144 + 18, "B", frow)
                r2 = rows[top + 10 * vs + frow * vs + k]
                assert _glyph_black(r2, 144, "C", frow)
        assert rows[top + 8 * vs] == bytes(216)  # gap between text lines
        assert rows[-1] == bytes(216)


def test_text_header_on_every_page():
    doc = textpage.TextPages("x\fy\fz", 1728, fine=False, station="+81 3 1234", when="2026-11-22 09:30")
    assert doc.count == 3
    n = doc.header(1)
    h = bytes(doc.text[:n])
    assert n == 80 and h.startswith(b"2026-11-22 09:30  +81 3 1234") and h.endswith(b"Page 2 of 3")
    for p in range(3):
        rows = _rows(doc.page(p), 1728)
        right = 144 + 18 * (80 - 1)  # last column holds the page count digit
        for frow in range(8):
            r = rows[8 + frow * 2]  # the header 8 lines (98 dpi) down
            assert _glyph_black(r, 144, "2", frow)
            assert _glyph_black(r, right, "3", frow)
            assert _glyph_black(r, right - 18 * 5, str(p + 1), frow)


def _header_as_text(left, cols, page, count):
    """The header as a formula: the left part cut to the room left of "Page n of m" and two
    spaces, the rest blank; "Page n of m" alone, cut at cols, when there is no such room."""
    right = b"Page %d of %d" % (page, count)
    room = cols - len(right) - 2
    if room < 0:
        return right[:cols]
    left = left[:room]
    return left + b" " * (cols - len(left) - len(right)) + right


def test_the_header_is_laid_out_in_place_as_its_formula_says():
    """header() writes the line into the renderer's text buffer (no bytes made per page): the
    same line as the formula for short and long left parts, page numbers of 1 to 4 digits, and
    widths where "Page n of m" fills or overflows the line."""
    cases = 0
    for cols in (10, 11, 12, 13, 14, 20, 80):
        doc = textpage.TextPages(b"x", (cols * 18 + 135) // 8 * 8, True, "", "", cols=cols)
        assert doc.cols == cols
        for left in (b"", b"2026-11-22 09:30", b"2026-11-22 09:30  +81 3 1234 5678 9012 3456 7890 abcd"):
            doc.head = left
            for page, count in ((1, 1), (2, 3), (9, 10), (10, 10), (99, 100), (1, 1000), (1234, 9999)):
                doc.count = count
                doc.text[:] = b"#" * cols
                n = doc.header(page - 1)
                assert bytes(doc.text[:n]) == _header_as_text(left, cols, page, count), (cols, left, page, count)
                cases += 1
    assert cases == 7 * 3 * 7


def test_a_text_page_streams_without_allocating_once_opened():
    """MicroPython: every row of an opened text page, its header line too, is drawn into the
    caller's row without allocating (the header was 544 B a page: bytes made and joined)."""
    import gc
    if not hasattr(gc, "mem_alloc"):
        return
    doc = textpage.TextPages(b"one\ntwo\fthree\n", 1728, True, "+81 3 5555 0100", "2026-11-22 09:30")
    row = bytearray(216)
    for p in range(doc.count):
        doc.page(p)
        gc.collect()
        gc.disable()
        try:
            a = gc.mem_alloc()
            n = 0
            while doc.readrow(row):
                n += 1
            used = gc.mem_alloc() - a
        finally:
            gc.enable()
        assert n == doc.page_lines and used == 0, (p, n, used)


def test_text_wrap_tab_and_cut():
    lay = textpage.TextPages(io.BytesIO(b"aaa bbb ccc\tZ\n" + b"w" * 25 + b"\r\nend\xe2\x82\xac!\x01"), cols=10)
    assert lay.cols == 10
    line = bytearray(10)
    got = []
    while True:
        n = lay.next(line)
        if n == END:
            break
        got.append(bytes(line[:n]) if n >= 0 else n)
    assert got == [b"aaa bbb", b"ccc     Z", b"w" * 10, b"w" * 10, b"w" * 5, b"end?!"], got


def test_text_pagination():
    n = 53
    lines = "".join("line %d\n" % i for i in range(n))
    assert textpage.TextPages(lines, fine=False).count == 1
    assert textpage.TextPages(lines + "x", fine=False).count == 2
    assert textpage.TextPages(lines + "\f", fine=False).count == 1  # full page + FF: no empty page
    assert textpage.TextPages(lines + "\fx", fine=False).count == 2
    assert textpage.TextPages("", fine=False).count == 1
    assert textpage.TextPages("a\f", fine=False).count == 1
    assert textpage.TextPages("a\f\fb", fine=False).count == 3  # an empty page asked for
    assert textpage.TextPages("\n" * 200, fine=True).count == 4


def test_text_pages_out_of_order_match_in_order():
    text = "".join("row %d of the text\n" % i for i in range(130)) + "\fthe end"
    doc = textpage.TextPages(text, 1216, fine=False)
    assert doc.cols == (1216 - 128) // 18 and doc.count == 4
    in_order = [b"".join(_rows(doc.page(i), 1216)) for i in range(doc.count)]
    again = [b"".join(_rows(doc.page(i), 1216)) for i in (3, 1, 0, 2)]
    assert again == [in_order[3], in_order[1], in_order[0], in_order[2]]
    assert in_order[0] != in_order[1]
    raises(IndexError, doc.page, 4)


def test_text_from_file_and_slow_stream():
    text = b"hello fax\n" * 60
    d = tmpdir("t4")
    with open(d + "/t.txt", "wb") as f:
        f.write(text)
    a = textpage.TextPages(text, 864, fine=False)
    with open(d + "/t.txt", "rb") as f:
        b = textpage.TextPages(f, 864, fine=False)
        rb = b"".join(_rows(b.page(1), 864))
    c = textpage.TextPages(Trickle(text, 7), 864, fine=False)
    assert a.count == b.count == c.count == 2
    assert rb == b"".join(_rows(a.page(1), 864)) == b"".join(_rows(c.page(1), 864))


def test_text_page_encodes_and_decodes():
    doc = textpage.TextPages("Fax test {[(|)]} ~ 0123456789\n" * 3, 1728, fine=True, station="ST", when="T")
    data = read_all(t4.PageEncoder(doc.page(0), 1728, 14400, 5))
    dec, sink = decode(data, 1728)
    assert (dec.lines, dec.bad_lines) == (2287, 0)
    assert sink.bitmap() == b"".join(_rows(textpage.TextPages(
        "Fax test {[(|)]} ~ 0123456789\n" * 3, 1728, fine=True, station="ST", when="T").page(0), 1728))


def test_text_rejects_bad_geometry():
    raises(ValueError, textpage.TextPages, "x", 100)
    raises(ValueError, textpage.TextPages, "x", 1727)
    raises(ValueError, textpage.TextPages, "x", 1728, True, "", "", 100)


def test_font_covers_printable_ascii():
    seen = set()
    for ch in range(0x20, 0x7F):
        g = bytes(glyph_row(ch, r) for r in range(8))
        assert all(v < 32 for v in g)
        assert (ch == 0x20) == (g == bytes(8)), chr(ch)
        assert g not in seen, chr(ch)
        seen.add(g)
    assert len(font.GLYPHS) == 95 * 8


def _pbm_all(f, width=1728):
    # every row of a PBM stream once (what app/pages.count does before a job is taken)
    src = pbm.PbmRows(f, width)
    row = bytearray(width >> 3)
    while src.readrow(row):
        pass
    return src.kind, src.src_width, src.src_height


def test_pbm_rows_read_the_whole_stream():
    assert _pbm_all(io.BytesIO(b"P4\n16 2\n\x01\x02\x03\x04")) == ("P4", 16, 2)
    assert _pbm_all(io.BytesIO(b"P1 3 1 101"), 864) == ("P1", 3, 1)
    e = raises(ValueError, _pbm_all, io.BytesIO(b"P4\n16 3\n\x01\x02\x03\x04"))
    assert "raster ends at row 2" in str(e)


def test_every_text_row_codes_to_at_most_one_bit_a_pixel():
    """A row textpage draws codes to at most 1 bit a pixel (glyph pixels 3 wide, the runs
    between the margins at least 3 pixels, black ones at most 15): every font row of every
    glyph, a whole line of it and each glyph beside every other, coded at several widths
    through the line buffer's pieces, is at most width // 8 + 17 bytes (docs/t4.md "Line
    buffer"), and the pieces joined are the line coded in one go."""
    chars = bytes(range(0x20, 0x7F))
    lines = [bytes((c,)) * 100 for c in chars] + [chars]        # a line of each glyph
    pairs = [bytes((0x20 + a, 0x21 + b)) * 50 for a in range(0, 95, 3) for b in range(0, 94, 3)]  # side by side
    worst = 0
    for width in (864, 1216, 1728, 2048, 2432):
        text = b"\n".join(lines + pairs if width == 1728 else lines)
        doc = textpage.TextPages(text, width, fine=False, station="+81 3 5555 0100 #%&@WM",
                                 when="2026-11-22 09:30")
        room = (width >> 3) + 17
        row = bytearray(width >> 3)
        for p in range(doc.count) if width == 1728 else (0, doc.count - 1):
            src = doc.page(p)
            while src.readrow(row):
                line, pieces = code_line(row, width)
                n = len(line)
                worst = max(worst, n * 100 // room)
                assert n <= room, (width, p, n, room)
                if pieces > 1 and width == 1728 and p == 0:
                    assert line == code_line(row, width, 0, n + 64)[0]
    assert worst > 70, worst    # the rows tried come near the bound
