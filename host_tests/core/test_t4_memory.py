"""The fax page path's memory on MicroPython (docs/t4.md "Memory on the board"): pages made,
read from flash and decoded while no free run of the heap is longer than 2 KB, not a byte
allocated per scan line, and the plain loops, the code words, the font and the text layout
not loaded until a page needs them. On CPython the same flows run for their results only."""
import gc
import sys

from support import raises, tmpdir
from t4_helpers import encode, random_rows

from faxbridge.app import pages
from faxbridge.core.fax import font, pbm, t4, t4dec, textpage  # noqa: F401  (font: see below)

MP = hasattr(gc, "mem_alloc")
TEXT = b"".join(b"%02d Invoice 0042, the quick brown fox jumps over the lazy dog. PACK MY BOX\n" % i
                for i in range(70))  # two pages: 53 body lines on the first
DCS = (1, 5, 0, 2, 0, 0, 0, 3)  # fine, 14400 bit/s, 1728, ST 3 (10 ms: fill on white lines)


def _blocks(hole, n):
    # the free heap in blocks of exactly `hole` bytes (tuples: one allocation each, no
    # separate buffer), every other one freed. A function of its own: the stale references
    # its frame leaves behind are gone once it returns, so what it frees is really free.
    k = hole // (8 if sys.maxsize > 1 << 32 else 4) - 2  # a tuple is 2 words + its items
    blocks = [None] * n
    i = 0
    try:
        while i < n:
            blocks[i] = (None,) * k
            i += 1
    except MemoryError:
        pass
    j = 1
    while j < i:
        blocks[j] = None
        j += 2
    return blocks


def _fragment(hole=2048):
    """Leave no free run of the heap longer than `hole` bytes (a multiple of 32): the free
    heap in blocks of `hole` bytes, every other one freed (_blocks), then every longer run
    left pinned (blocks fill the heap first-fit, so two freed ones can touch). Nothing else is
    allocated meanwhile, and a failed allocation leaves nothing behind. Returns what must
    stay alive while the heap is to stay fragmented."""
    gc.collect()
    n = gc.mem_free() // hole + 16
    probes = [None] * n
    blocks = _blocks(hole, n)
    gc.collect()
    k = (hole + 32) // (8 if sys.maxsize > 1 << 32 else 4) - 2
    j = 0
    while j < n:
        try:
            probes[j] = (None,) * k
        except MemoryError:
            break
        j += 1
    return blocks, probes


def _files():
    d = tmpdir("t4mem")
    rows = random_rows(1728, 40)
    f = {"text": d + "/page.txt", "p4": d + "/p4.pbm", "wide": d + "/wide.pbm", "p1": d + "/p1.pbm"}
    with open(f["text"], "wb") as o:
        o.write(TEXT)
    with open(f["p4"], "wb") as o:
        o.write(b"P4\n1728 40\n")
        o.write(rows)
    with open(f["wide"], "wb") as o:  # pbm.MAX_WIDTH pixels: a 2048-byte image row
        o.write(b"P4\n16384 3\n")
        for y in range(3):
            o.write(bytes(rows[y * 216:(y + 1) * 216]) + b"\xff" * (2048 - 216))
    with open(f["p1"], "wb") as o:
        o.write(b"P1\n# plain\n24 3\n" + b"1 0 1 1 0 0 0 0 1 1 1 1 0 0 0 0 1 0 1 0 1 0 1 0\n" * 3)
    return f, rows, encode(rows, 1728, 14400, 0)


def _drain(src, buf):
    n = 0
    while True:
        k = src.readinto(buf)
        if not k:
            return n
        n += k


def _run_pages(f, data, buf, chunks):
    """Every page kind once; returns what came out (lines or byte counts)."""
    out = []
    with open(f["text"], "rb") as s:
        doc = textpage.TextPages(s, 1728, True, "+81 3 5555 0100", "2026-11-22 09:30")
        for i in range(doc.count):
            pe = t4.PageEncoder(doc.page(i), 1728, 14400, 10)
            _drain(pe, buf)
            out.append(pe.lines)
    for k in ("p4", "wide", "p1"):
        with open(f[k], "rb") as s:
            pe = t4.PageEncoder(pbm.PbmRows(s, 1728), 1728, 9600, 0)
            _drain(pe, buf)
            out.append(pe.lines)
    for kind, path in (("text", f["text"]), ("pbm", f["p4"])):
        p = pages.FilePage().open(path, kind, 0, station="+81 3 5555 0100", stamp="2026-11-22 09:30")
        p.configure(DCS)
        out.append(_drain(p, buf) > 100)
    d = t4dec.Decoder(1728, False)
    for c in chunks:
        d.feed(c)
    out.append(d.end())
    return out


def test_pages_in_a_heap_with_no_free_run_above_512_bytes():
    """MicroPython: every page kind made (text, P4, a 16384-pixel-wide P4, P1, the unit's
    FilePage for text and PBM) and a page decoded after the heap was cut into runs of at most
    2 KB: one allocation above that is a MemoryError. Also at 1.5 KB (a 16384-pixel P4 row
    used to be read whole, 2 KB), and at 1 KB and 512 B: a row is coded in pieces (t4.py),
    so no page buffer is larger than a page row (216 B) or the P1 chunk (256 B); the whole
    coded line, 1 056 B at 1728 pixels, failed here. (A pbmz page is not among them: the
    inflater's state and window are MicroPython's, about 1.3 and 1 KB.) The modules a page
    kind imports on first use (font, pbm, textpage) are imported above, before the heap is
    cut: no page is made first as a warm-up, as the collector is conservative and a stale
    reference to one of its buffers, dropped only later, would open a run of that buffer's
    size in the cut heap."""
    f, rows, data = _files()
    buf = bytearray(512)
    chunks = [bytes(data[i:i + 256]) for i in range(0, len(data), 256)]
    want = [2287, 2287, 40, 3, 3, True, True, (40, 0)]
    if not MP:
        assert _run_pages(f, data, buf, chunks) == want
        return  # CPython's allocator says nothing about the board's heap
    for hole in (2048, 1536, 1024, 512):
        keep = _fragment(hole)
        try:
            raises(MemoryError, bytearray, hole + 64)  # the heap really is in pieces that small
            got = _run_pages(f, data, buf, chunks)
        finally:
            keep = None
            gc.collect()
        assert got == want and keep is None, hole


def _alloc(fn, *args):
    """Bytes allocated while fn(*args) runs (MicroPython, collector off), fn's result."""
    gc.collect()
    gc.disable()
    try:
        a0 = gc.mem_alloc()
        r = fn(*args)
        return gc.mem_alloc() - a0, r
    finally:
        gc.enable()


def _read(src, buf, n):
    # readinto() until n more scan lines are coded (or the page ends) -> lines coded
    l0 = src.lines
    while src.lines < l0 + n and src.readinto(buf):
        pass
    return src.lines - l0


def _feed(d, chunks):
    l0 = d.lines
    for c in chunks:
        d.feed(c)
    return d.lines - l0


def test_no_heap_per_scan_line():
    """MicroPython: bytes allocated while whole stretches of a page go through each stage
    (text, a P4 image cut to the page, a P1 image padded to it, decoding with and without
    rows), after its first lines: 0, so the heap cannot grow with the page (the text page's
    header line, drawn once a page, is before the stretch measured)."""
    f, rows, data = _files()
    buf = bytearray(512)
    d = tmpdir("t4mem")
    with open(d + "/tall.pbm", "wb") as o:
        o.write(b"P4\n2048 1500\n")
        for y in range(1500):  # wider than the page: each row's right part is cut
            o.write(rows[(y % 40) * 216:(y % 40 + 1) * 216] + bytes(40))
    with open(d + "/narrow.pbm", "wb") as o:
        o.write(b"P1\n200 1000\n")  # narrower than the page: padded white on the right
        for y in range(1000):
            o.write(b"0 1 1 0 1 0 0 0 " * 25 + b"\n")
    with open(f["text"], "rb") as s, open(d + "/tall.pbm", "rb") as t, open(d + "/narrow.pbm", "rb") as n:
        doc = textpage.TextPages(s, 1728, True, "+81 3 5555 0100", "2026-11-22 09:30")
        sources = (t4.PageEncoder(doc.page(0), 1728, 14400, 10),
                   t4.PageEncoder(pbm.PbmRows(t, 1728), 1728, 14400, 10, msb_first=True),
                   t4.PageEncoder(pbm.PbmRows(n, 1728), 1728, 14400, 10))
        for src in sources:
            _read(src, buf, 100)  # past the header line and every first-use allocation
            if MP:
                spent, lines = _alloc(_read, src, buf, 800)
                assert lines >= 800 and spent == 0, (lines, spent)
            else:
                assert _read(src, buf, 800) >= 800
    page = encode(random_rows(1728, 300), 1728, 14400, 0)
    chunks = [bytes(page[i:i + 256]) for i in range(0, len(page), 256)]
    for sink in (None, lambda row, good: None):
        d = t4dec.Decoder(1728, False, sink)
        _feed(d, chunks[:10])
        if MP:
            spent, lines = _alloc(_feed, d, chunks[10:])
            assert lines > 250 and spent == 0, (lines, spent)
        else:
            assert _feed(d, chunks[10:]) > 250
        assert d.end() == (300, 0)


def test_the_board_loads_only_what_a_page_needs():
    """On MicroPython (a fresh interpreter, from CPython): the unit's imports (app/pages, and
    t4, t4dec, params as app/rx and the Class 2 driver import them) load neither the plain
    loops (t4py) nor the code words (mhcodes) nor the font, text layout or PBM reader, nor
    does a call's page source (FilePage()); a text page loads the layout and the font, a PBM
    page the reader, and the plain loops never."""
    if MP:
        return
    import os
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    f, _rows, _data = _files()
    script = """
import sys
sys.path[:0] = [%r]
from faxbridge.app import pages
from faxbridge.core.fax import t4, t4dec, params
def loaded():
    return sorted(m.split('.')[-1] for m in sys.modules if m.startswith('faxbridge.core.fax.'))
print(' '.join(loaded()))
def drain(p):
    b = bytearray(512)
    while p.readinto(b):
        pass
p = pages.FilePage()
print(' '.join(loaded()))
drain(p.open(%r, 'text', 0))
print(' '.join(loaded()))
drain(p.open(%r, 'pbm', 0))
print(' '.join(loaded()))
""" % (os.path.join(root, "firmware"), os.path.abspath(f["text"]), os.path.abspath(f["p4"]))
    r = subprocess.run([os.path.join(root, ".venv", "bin", "micropython"), "-c", script],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    imported, made, text, both = (set(ln.split()) for ln in r.stdout.splitlines())
    assert {"t4", "t4dec", "t4fast", "mhtab", "params"} <= imported, imported
    assert not imported & {"t4py", "mhcodes", "font", "textpage", "pbm"}, imported
    assert made == imported, made               # a call's page source, made at its first page
    assert text - made == {"font", "textpage"}, text
    assert both - text == {"pbm"}, both
    assert sys.implementation.name == "cpython"
