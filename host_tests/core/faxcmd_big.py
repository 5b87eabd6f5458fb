"""A 256 KB cmd/fax made on the fly, 2 KB at a time (never whole in RAM), for the streaming
parser's memory tests (both runtimes).

As a script on MicroPython it is the capped-heap check:
    micropython -X heapsize=N host_tests/core/faxcmd_big.py FOLDER
feeds the command to a Parser over a Spool in FOLDER and prints `ok <bytes> <pages>`.
"""
import binascii
import sys

ROWS = 304            # 3 P4 pages of 1728 x 304: 262 812 bytes of JSON (over 256 KiB)
PAGES = 3
HEAD = b"P4\n1728 %d\n" % ROWS


def pixel_row(page, r, row):
    for x in range(216):
        row[x] = (r * 31 + x * 7 + page * 101) & 0xFF


def page_crc(page):
    """crc32 of page `page` as PBM bytes (what the sink must receive)."""
    crc = binascii.crc32(HEAD)
    row = bytearray(216)
    for r in range(ROWS):
        pixel_row(page, r, row)
        crc = binascii.crc32(row, crc)
    return crc


def pieces():
    """The command's JSON text in pieces of at most ~1 KB (the base64 of 768 raw bytes)."""
    yield b'{"job":"J256","number":"0312345678","pages":['
    row = bytearray(216)
    raw = bytearray(768)
    for page in range(PAGES):
        yield b'{"pbm":"' if not page else b',{"pbm":"'
        n = len(HEAD)
        raw[:n] = HEAD
        for r in range(ROWS):
            pixel_row(page, r, row)
            for x in range(216):
                raw[n] = row[x]
                n += 1
                if n == 768:
                    yield binascii.b2a_base64(raw)[:-1]   # (no newline)
                    n = 0
        if n:
            yield binascii.b2a_base64(raw[:n])[:-1]
        yield b'"}'
    yield b"]}"


def chunks(buf):
    """Yield the number of bytes of the command put in buf (a 2048-byte bytearray) each time."""
    size = len(buf)
    n = 0
    for piece in pieces():
        i = 0
        while i < len(piece):
            k = min(size - n, len(piece) - i)
            buf[n:n + k] = piece[i:i + k]
            n += k
            i += k
            if n == size:
                yield n
                n = 0
    if n:
        yield n


def run(folder, measure=None):
    """Feed the big command to a Parser over a Spool in folder, 2 KB at a time.
    measure(fn) wraps each feed (for the memory figures). Returns (parser, spool, size)."""
    from faxbridge.app.spool import Spool
    from faxbridge.core.mqtt.faxcmd import Parser
    spool = Spool(folder)
    p = Parser(spool)
    buf = bytearray(2048)
    mv = memoryview(buf)
    size = 0
    for n in chunks(buf):
        c = mv[:n]
        size += n
        if measure:
            measure(p.feed, c)
        else:
            p.feed(c)
    return p, spool, size


def _measured_run(folder, gc):
    worst = [0]

    def measure(fn, c):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        try:
            fn(c)
        finally:
            d = gc.mem_alloc() - a
            gc.enable()
        if d > worst[0]:
            worst[0] = d

    p, spool, size = run(folder, measure)
    job, number, kinds = p.end()
    assert job == "J256" and number == "0312345678" and kinds == ["pbm"] * PAGES, (job, kinds)
    return size, len(spool.pages), worst[0]


def heap_figures(folder):
    """MicroPython: run() with the GC figures: (size, pages, the most one feed() allocated (gc
    off while it runs, so no single block is larger), heap held after the run minus before)."""
    import gc
    from faxbridge.app import spool      # noqa: F401  (imported before the figures start)
    from faxbridge.core.mqtt import faxcmd  # noqa: F401
    gc.collect()
    base = gc.mem_alloc()
    size, pages, worst = _measured_run(folder, gc)
    gc.collect()
    return size, pages, worst, gc.mem_alloc() - base


if __name__ == "__main__":
    here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
    sys.path.insert(0, here + "/../../firmware")
    print("ok %d %d %d %d" % heap_figures(sys.argv[1]))
