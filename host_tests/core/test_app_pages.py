"""app/pages.py: a stored pbmz page whose zlib header declares a large window is refused with a
reason (204000 when the idle line counts it), not inflated into an out-of-memory on the board."""
import binascii
import gc

from support import allocated, raises, tmpdir
from faxbridge.app import pages
from faxbridge.core.fax import textpage

# P4 16x3 (b"\x00\xff" rows), zlib level 9: the same deflate data under two headers
BODY = "0b30e132345330e662f80f820017b60450"
Z32K = binascii.unhexlify("78da" + BODY)     # zlib.compress(): CINFO 7, a 32 KB window
Z1K = binascii.unhexlify("28cf" + BODY)      # compressobj(9, DEFLATED, 10): a 1 KB window


def _stored(data):
    path = tmpdir("pages") + "/doc.pbmz"
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_pbmz_with_a_1k_window_counts_as_one_page():
    # (CPython inflates through tools/shim/deflate.py, MicroPython through its own module)
    got = pages.count("pbmz", _stored(Z1K))
    assert got == (1, None), got


def test_pbmz_declaring_a_32k_window_is_refused_with_a_reason():
    n, reason = pages.count("pbmz", _stored(Z32K))
    assert n == 0 and "32768-byte zlib window" in reason and "wbits" in reason, reason


# ---- page bounds (issue 14 item 6): height and inflated size

def _adler32(data):
    a, b = 1, 0
    for c in data:
        a = (a + c) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


def _zlib(data):
    """data as a zlib stream of stored blocks (RFC 1950/1951), 1 KB window: made the same
    way on both runtimes (MicroPython's deflate may not compress)."""
    out = bytearray(b"\x28\xcf")
    i = 0
    while True:
        blk = data[i:i + 65535]
        i += len(blk)
        n = len(blk)
        out += bytes((1 if i >= len(data) else 0, n & 0xFF, n >> 8, ~n & 0xFF, (~n >> 8) & 0xFF))
        out += blk
        if i >= len(data):
            break
    a = _adler32(data)
    return bytes(out + bytes((a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF)))


def _p4(w, h, extra=b""):
    return b"P4\n%d %d\n" % (w, h) + bytes(((w + 7) >> 3) * h) + extra


def _count(data, kind):
    path = tmpdir("pages") + "/doc." + kind
    with open(path, "wb") as f:
        f.write(data)
    return pages.count(kind, path)


def test_max_rows_is_b4_at_fine_resolution():
    from faxbridge.core.fax import params   # the bound app/pages.py checks
    assert params.PAGE_LINES[1][1] == 2802   # 364 mm at 7.7 lines/mm (T.4), LN=1 (B4)


def test_a_page_taller_than_b4_fine_is_refused():
    for kind, pack in (("pbm", bytes), ("pbmz", _zlib)):
        assert _count(pack(_p4(8, 2802)), kind) == (1, None), kind
        n, why = _count(pack(_p4(8, 2803)), kind)
        assert n == 0 and "2803 rows, at most 2802" in why, why
    # the bomb: a pbmz whose header says 50 000 rows is refused at its header
    n, why = _count(_zlib(b"P4\n1728 50000\n" + bytes(216)), "pbmz")
    assert n == 0 and "50000 rows" in why, why


def test_a_pbmz_inflating_beyond_its_header_is_refused():
    # P4: the raster is exactly ceil(w/8)*h bytes; one more byte is refused
    assert _count(_zlib(_p4(16, 3)), "pbmz") == (1, None)
    for extra in (b"\x00", bytes(100000)):
        n, why = _count(_zlib(_p4(16, 3, extra)), "pbmz")
        assert n == 0 and "more than its PBM header's 16x3 raster" in why, why
    # P1: digits and whitespace, bounded too (a final newline is fine)
    p1 = b"P1\n8 2\n" + b"0 1 0 1 0 1 0 1\n" * 2
    assert _count(_zlib(p1), "pbmz") == (1, None)
    n, why = _count(_zlib(p1 + b" " * 100000), "pbmz")
    assert n == 0 and "8x2 raster" in why, why
    # a header that never ends (a comment of 5000 bytes)
    n, why = _count(_zlib(b"P4\n#" + b"a" * 5000 + b"\n8 2\n\x00\x00"), "pbmz")
    assert n == 0 and "header longer than 1024" in why, why


def test_file_page_refuses_a_too_tall_page_too():
    path = tmpdir("pages") + "/doc.pbm"
    with open(path, "wb") as f:
        f.write(_p4(8, 2803))
    e = raises(ValueError, pages.FilePage().open, path, "pbm", 0)
    assert "at most 2802" in str(e)


class _Spy:
    """A file seen through readinto/seek only, recording the largest read."""

    def __init__(self, f):
        self.f = f
        self.most = 0

    def readinto(self, buf):
        self.most = max(self.most, len(buf))
        return self.f.readinto(buf)

    def seek(self, pos):
        return self.f.seek(pos)


def test_a_text_page_is_read_as_a_stream():
    # the longest text a command may carry is counted and laid out 128 bytes at a time
    path = tmpdir("pages") + "/doc.text"
    line = b"0123456789 " * 7 + b"\n"
    with open(path, "wb") as f:
        for _ in range(16000 // len(line)):
            f.write(line)
    with open(path, "rb") as f:
        spy = _Spy(f)
        doc = textpage.TextPages(spy, 1728, True, "", "")
        assert doc.count == pages.count("text", path)[0] >= 4
        rows = doc.page(doc.count - 1)
        row = bytearray(1728 // 8)
        while rows.readrow(row):
            pass
    assert 0 < spy.most <= 128, spy.most


def test_a_row_buffer_stays_within_2k():
    # pbm.MAX_WIDTH: a P4 row of 16384 pixels is 2048 bytes; a wider header is refused
    assert _count(_p4(16384, 1), "pbm") == (1, None)
    n, why = _count(b"P4\n16392 1\n" + bytes(2049), "pbm")
    assert n == 0 and "bad size" in why, why


def test_a_page_the_heap_cannot_count_is_a_memory_error_not_a_204000_reason():
    """Out of memory is the unit's heap, not the page: count() lets it through (the job is not
    taken, the command answered busy: core/fax/job.py), where it was a refusal (0, reason)."""
    path = tmpdir("pages") + "/doc.txt"
    with open(path, "wb") as f:
        f.write(b"hello")
    real = textpage.TextPages

    def oom(*a):
        raise MemoryError("memory allocation failed")
    textpage.TextPages = oom
    try:
        raises(MemoryError, pages.count, "text", path)
    finally:
        textpage.TextPages = real
    assert pages.count("text", path) == (1, None)


def test_a_pbmz_the_heap_cannot_inflate_leaves_no_file_open():
    """The inflater's window allocation failing (MemoryError) closes the spool
    file _open opened, in count() and in FilePage alike (it stayed open until the collector)."""
    path = _stored(Z1K)
    opened = []
    real_open = open

    class Tracked:
        def __init__(self, f):
            self.f = f
            self.closed = False
            opened.append(self)

        def read(self, n):
            return self.f.read(n)

        def readinto(self, b):
            return self.f.readinto(b)

        def seek(self, *a):
            return self.f.seek(*a)

        def close(self):
            self.closed = True
            self.f.close()

    def oom(src):
        raise MemoryError("memory allocation failed")
    real_capped = pages._Capped
    pages.open = lambda p, m="r": Tracked(real_open(p, m))
    pages._Capped = oom
    try:
        raises(MemoryError, pages.count, "pbmz", path)
        raises(MemoryError, pages.FilePage().open, path, "pbmz", 0)
    finally:
        pages._Capped = real_capped
        del pages.open
    assert len(opened) == 2 and all(t.closed for t in opened), [t.closed for t in opened]
    assert pages.count("pbmz", path) == (1, None)


def _pages_bytes(page, path, kind, sub=0, out=None, buf=None):
    """Bytes of one page sent through `page` (a FilePage), in 256-byte reads (out=False: only
    read, nothing kept)."""
    buf = buf or bytearray(256)
    page.open(path, kind, sub, station="+81 3 5555 0100", stamp="2026-11-22 09:30")
    if out is None:
        out = bytearray()
    while True:
        n = page.readinto(buf)
        if not n:
            return bytes(out) if out is not False else None
        if out is not False:
            out += buf[:n]


def test_one_page_source_sends_every_page_of_a_call_as_fresh_ones_do():
    """A call's FilePage is set to each page in turn (text, bitmap, text again, a page sent a
    second time): every page is byte for byte what a source made for it alone gives, and its
    file is closed at its end."""
    d = tmpdir("pages")
    text, bitmap = d + "/doc.text", d + "/doc.pbm"
    with open(text, "wb") as f:
        f.write(b"page one\n\x0cpage two\n")
    with open(bitmap, "wb") as f:
        f.write(b"P4\n1000 40\n" + bytes((i * 7) & 0xFF for i in range(125 * 40)))
    plan = ((text, "text", 0), (bitmap, "pbm", 0), (text, "text", 1), (text, "text", 1), (bitmap, "pbm", 0))
    one = pages.FilePage()
    for path, kind, sub in plan:
        got = _pages_bytes(one, path, kind, sub)
        assert got == _pages_bytes(pages.FilePage(), path, kind, sub), (kind, sub)
        assert len(got) > 100 and one.f is None


def test_a_page_after_the_first_allocates_little():
    """MicroPython: once a call's source has sent a page of a kind, the next page of that kind
    allocates no buffers again (its file, the header text; before: 2.3-4 KB a page)."""
    import sys
    if sys.implementation.name != "micropython":
        return
    d = tmpdir("pages")
    text, bitmap = d + "/doc.text", d + "/doc.pbm"
    with open(text, "wb") as f:
        f.write(b"a line of text\n" * 100)
    with open(bitmap, "wb") as f:
        f.write(_p4(1728, 100))
    one = pages.FilePage()
    for path, kind, most in ((text, "text", 1200), (bitmap, "pbm", 400)):
        buf = bytearray(256)
        _pages_bytes(one, path, kind, 0, False, buf)
        used, _ = allocated(lambda: _pages_bytes(one, path, kind, 0, False, buf))
        assert used <= most, (kind, used)


def test_a_call_s_first_text_page_allocates_little():
    """The line buffer holds a piece of a coded row and the longest fill (t4.line_room), the
    same for text and bitmap pages and kept for the call's next pages: a fifth of a bitmap's
    whole worst line (1 056 bytes before, 972 of them the row); on MicroPython the source and
    its first text page allocate at most 2.65 KB (64-bit, 2 624 B measured; before: 2 688 B with
    a tuple of types made per open, 2.9 KB with a text-sized line buffer, 3.5 KB with the
    bitmap's), 2.75 KB with the job's Unix time as the stamp, as FaxLine passes it (2 720 B;
    3 008 B with when() made of time.gmtime() tuples)."""
    import sys
    from faxbridge.core.fax import font, t4  # imported before: the board has them frozen
    assert font.GLYPHS
    d = tmpdir("pages")
    text, bitmap = d + "/first.text", d + "/first.pbm"
    with open(text, "wb") as f:
        f.write(b"a line of text\n" * 200)
    with open(bitmap, "wb") as f:
        f.write(_p4(1728, 50))
    room = t4.line_room(1728, t4.min_bits(14400, 40))
    if sys.implementation.name == "micropython":
        for stamp, most in (("2026-11-22 09:30", 2650), (1795340000, 2750)):
            def first_page():
                one = pages.FilePage(14400)
                one.open(text, "text", 0, station="+81 3 5555 0100", stamp=stamp)
                return one
            used, one = allocated(first_page)
            assert used <= most, (stamp, used)
            one.close()
    one = pages.FilePage(14400)
    _pages_bytes(one, text, "text", 1)
    buf = one._buf
    assert len(buf) == room and room * 4 < 972, len(buf)
    got = _pages_bytes(one, bitmap, "pbm", 0)
    assert one._buf is buf
    assert got == _pages_bytes(pages.FilePage(), bitmap, "pbm", 0)
    assert _pages_bytes(one, text, "text", 0) == _pages_bytes(pages.FilePage(), text, "text", 0)


def test_a_page_source_is_one_attribute_table_of_12_slots():
    """A call's page source (FilePage and its MH encoder) keeps 12 fields, whatever its pages
    (a 13th would grow the instance's table to 17 slots, 80 B more on 64 bits): the width and
    the lines' minimum bits are the coder's state array's, MSB-first order the class's False.
    On MicroPython it is made in at most 820 B (800 measured; 896 with 15 fields)."""
    d = tmpdir("pages")
    text, bitmap = d + "/f.text", d + "/f.pbm"
    with open(text, "wb") as f:
        f.write(b"one\x0ctwo\n")
    with open(bitmap, "wb") as f:
        f.write(_p4(1728, 100))
    used, one = allocated(lambda: pages.FilePage(14400))
    for path, kind, sub in ((text, "text", 0), (text, "text", 1), (bitmap, "pbm", 0)):
        assert len(_pages_bytes(one, path, kind, sub)) > 100
        one.configure((1, 5, 0, 2, 0, 0, 0, 3))
        assert len(one.__dict__) <= 12, sorted(one.__dict__)
    if hasattr(gc, "mem_alloc"):
        assert used <= 820, used


def test_a_unix_time_stamp_is_the_header_when_gives():
    """FaxLine passes the job's Unix time: FilePage makes it the header's text (when()) only
    for a text's first page; the pages are those of the text stamp, page 2 of 2 too."""
    d = tmpdir("pages")
    text = d + "/stamp.text"
    with open(text, "wb") as f:
        f.write(b"one\x0ctwo\n")
    t = 1795340000
    for sub in (0, 1):
        got, want = pages.FilePage(), pages.FilePage()
        a = b"".join(_stamped(got, text, s, t) for s in range(sub + 1))
        b = b"".join(_stamped(want, text, s, pages.when(t)) for s in range(sub + 1))
        assert a == b and len(a) > 100, sub
        assert a != b"".join(_stamped(pages.FilePage(), text, s, pages.when(t + 86400)) for s in range(sub + 1))


def test_when_is_the_calendar_date_and_time_without_a_gmtime_tuple():
    """when() works the date out from the day number (no time.gmtime() tuple: 352 B a text
    call before, 128 B now on MicroPython, 64-bit): the same text as the port's gmtime() over
    1970-2099 in steps that land on every weekday and hour, the leap days of 2000 (a leap
    century) and 2024, 2100 (not one), the last minute of a day and floats."""
    import time
    e = 946684800 if time.gmtime(0)[0] == 2000 else 0     # a port counting from 2000
    checked = 0
    for t in list(range(e, 4102444800, 86400 * 7 + 3661)) + [951782400, 951868799, 1709164800,
                                                            4107456000, 4107542399, 86399, 1700000000]:
        assert pages.when(t) == b"%04d-%02d-%02d %02d:%02d UTC" % time.gmtime(t - e)[:5], t
        checked += 1
    assert checked > 6000
    assert pages.when(951825600.9) == b"2000-02-29 12:00 UTC" and pages.when(4107542399) == b"2100-02-28 23:59 UTC"
    if hasattr(gc, "mem_alloc"):
        used, _ = allocated(lambda: pages.when(1795340000))
        assert used <= 160, used


def _stamped(page, path, sub, stamp):
    buf = bytearray(256)
    page.open(path, "text", sub, station="+81 3 5555 0100", stamp=stamp)
    out = bytearray()
    n = page.readinto(buf)
    while n:
        out += buf[:n]
        n = page.readinto(buf)
    return bytes(out)


def test_a_stored_p4_is_checked_by_its_size_and_a_short_raster_is_refused():
    # the raster of a stored P4 is counted as there when the file holds ceil(w/8)*h bytes after
    # the header (nothing read row by row); one byte short is refused, at either runtime
    assert _count(_p4(1728, 40), "pbm") == (1, None)
    assert _count(_p4(12, 3, b"\n"), "pbm") == (1, None)      # trailing bytes are not read
    for data in (_p4(1728, 40)[:-1], b"P4\n16 3\n" + bytes(5), b"P4\n# note\n8 2\n"):
        assert _count(data, "pbm") == (0, "pbm: raster ends early"), data[:12]
    # P1 is still read in full: a bad digit is found at intake
    n, why = _count(b"P1\n4 2\n0 1 0 1\n0 1 x 1\n", "pbm")
    assert n == 0 and "bad character" in why, why
