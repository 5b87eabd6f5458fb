"""app/pages.py: a stored pbmz page whose zlib header declares a large window is refused with a
reason (204000 at intake), not inflated into an out-of-memory on the board."""
import binascii
import sys

from support import tmpdir
from faxbridge.app import pages

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
    got = pages.count("pbmz", _stored(Z1K))
    if sys.implementation.name == "micropython":
        assert got == (1, None), got
    else:   # CPython has no `deflate` module: the window check passes, inflating cannot start
        assert got[0] == 0 and "deflate" in got[1], got


def test_pbmz_declaring_a_32k_window_is_refused_with_a_reason():
    n, reason = pages.count("pbmz", _stored(Z32K))
    assert n == 0 and "32768-byte zlib window" in reason and "wbits" in reason, reason
