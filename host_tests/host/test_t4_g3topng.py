"""tools/g3topng: received .g3 page data -> PNG (CPython, Pillow)."""
import os
import subprocess
import sys

from PIL import Image

from faxbridge.core.fax import textpage
from support import tmpdir
from t4_helpers import encode, random_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "g3topng")


def _run(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, timeout=60)


def _png_rows(path):
    img = Image.open(path).convert("1")
    w, h = img.size
    raw = img.tobytes()
    return w, h, bytes(0xFF ^ b for b in raw)


def test_text_page_to_png_pixel_exact():
    d = tmpdir("t4png")
    doc = textpage.TextPages("Hello PNG\n" * 5, 1728, fine=True, station="ST", when="now")
    src = doc.page(0)
    row = bytearray(216)
    rows = bytearray()
    while src.readrow(row):
        rows += row
    with open(d + "/p1.g3", "wb") as f:
        f.write(encode(bytes(rows), 1728, 14400, 10, msb_first=True))
    r = _run(d + "/p1.g3")
    assert r.returncode == 0, r.stderr
    assert "1728 x 2287, 2287 good lines, 0 bad lines" in r.stdout
    assert _png_rows(d + "/p1.png") == (1728, 2287, bytes(rows))


def test_lsb_wire_data_width_detection_and_normal_stretch():
    d = tmpdir("t4png")
    rows = random_rows(1216, 9)
    with open(d + "/w.raw", "wb") as f:
        f.write(encode(rows, 1216, 9600, 0, msb_first=False))
    r = _run("--lsb", "--normal", "-o", d + "/w.png", d + "/w.raw")
    assert r.returncode == 0, r.stderr
    assert "1216 x 18, 9 good lines" in r.stdout
    w, h, got = _png_rows(d + "/w.png")
    doubled = b"".join(rows[i * 152:(i + 1) * 152] * 2 for i in range(9))
    assert (w, h, got) == (1216, 18, doubled)
    # the same data read MSB-first is garbage: no good lines, exit status 1
    r = _run("--width", "1216", "-o", d + "/bad.png", d + "/w.raw")
    assert r.returncode == 1 and "0 good lines" in r.stdout


def test_missing_file_is_reported():
    r = _run("/nonexistent/page.g3")
    assert r.returncode == 1 and "nonexistent" in r.stderr
