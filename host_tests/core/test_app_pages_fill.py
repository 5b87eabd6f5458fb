"""Pages from flash honour the negotiated scan time (the driver calls configure(dcs))."""
from support import tmpdir

from faxbridge.app import pages
from faxbridge.core.fax import params


def _pbm(path, h):
    with open(path, "wb") as f:
        f.write(b"P4\n1728 %d\n" % h)
        f.write(bytes(216) * h)            # all white: the shortest lines MH can make


def _drain(src):
    buf = bytearray(512)
    total = 0
    while True:
        n = src.readinto(buf)
        if not n:
            return total
        total += n


def test_file_page_fills_lines_for_negotiated_scan_time():
    d = tmpdir("fill")
    path = d + "/p.pbm"
    _pbm(path, 100)
    bare = _drain(pages.FilePage().open(path, "pbm", 0))
    src = pages.FilePage().open(path, "pbm", 0)
    dcs = (0, 5, 0, 2, 0, 0, 0, 7)           # 98 dpi, 14400 bit/s, ST=7: 40 ms a line
    src.configure(dcs)
    filled = _drain(src)
    need = (params.TABLE[1][dcs[1]] * params.scan_ms(dcs[7], dcs[0]) // 1000 + 7) // 8   # bytes a line at least
    assert need >= 70
    assert filled >= 100 * need                # every one of the 100 lines is filled
    assert bare < 100 * need                   # without the session's scan time it is not


def test_file_page_closes_its_file_at_the_end():
    d = tmpdir("fill")
    path = d + "/p.pbm"
    _pbm(path, 3)
    src = pages.FilePage().open(path, "pbm", 0)
    _drain(src)
    assert src.f is None
