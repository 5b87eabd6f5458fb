"""T.4 pages cross-checked with efax's converter `efix` (the reference DTE's own codec).

CPython only; FAILS (never skips) when efax is missing: install the Debian package `efax`."""
import os
import shutil
import subprocess

from support import tmpdir
from t4_helpers import decode, encode, pattern_rows, random_rows, text_page_rows

RES = "204.1x195.6"  # efix: the fax resolution, so it neither scales nor shifts


def _efix():
    path = shutil.which("efix")
    assert path, "efax's efix is not installed: these cross-checks need it (apt-get install efax)"
    return path


def _corpus():
    text, h = text_page_rows()
    yield "text", h, text
    yield "random", 40, random_rows(1728, 40)
    for kind in ("white", "black", "alt", "checker1", "checker8", "edges"):
        yield kind, 12, pattern_rows(1728, 12, kind)


def _p4_body(data):
    """(width, height, raster) of a raw PBM: magic, width, height, then EXACTLY one whitespace
    byte before the raster (a split on whitespace would eat raster bytes that are whitespace)."""
    assert data[:2] == b"P4", data[:20]
    fields = []
    i = 2
    while len(fields) < 2:
        while data[i:i + 1].isspace():
            i += 1
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(int(data[i:j]))
        i = j
    return fields[0], fields[1], data[i + 1:]


def test_efix_reads_our_pages():
    d = tmpdir("t4efax")
    for name, h, rows in _corpus():
        path = os.path.join(d, name + ".g3")
        with open(path, "wb") as f:
            f.write(encode(rows, 1728, 14400, 10, msb_first=True))
        r = subprocess.run([_efix(), "-i", "fax", "-o", "pbm", "-R", RES, path], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        w, hh, body = _p4_body(r.stdout)
        assert w == 1728 and hh >= h, (name, w, hh)
        assert body[:len(rows)] == rows, "efix reads our %s page differently" % name
        assert body[len(rows):] == bytes(len(body) - len(rows)), "efix found more than our rows"


def test_our_decoder_reads_efix_pages():
    d = tmpdir("t4efax")
    for name, h, rows in _corpus():
        path = os.path.join(d, name + ".pbm")
        with open(path, "wb") as f:
            f.write(b"P4\n1728 %d\n" % h + rows)
        r = subprocess.run([_efix(), "-i", "pbm", "-o", "fax", "-R", RES, path], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        dec, sink = decode(r.stdout, 1728, msb_first=True, chunk=333)
        assert (dec.lines, dec.bad_lines) == (h, 0), (name, dec.lines, dec.bad_lines)
        assert dec.done, "no RTC seen in efix's %s page" % name
        assert sink.bitmap() == rows, "our decoder reads efix's %s page differently" % name
