from support import raises

from faxbridge.core.fax import params


def test_parse_and_describe_transcript_values():
    p = params.parse("1,3,0,2,0,0,0,0")
    assert p == (1, 3, 0, 2, 0, 0, 0, 0)
    d = params.describe(p)
    assert d["vr_lpi"] == 196 and d["bit_rate"] == 9600 and d["width"] == 1728
    assert d["length"] == "unlimited" and d["coding"] == "MH" and d["ecm"] == "off"
    assert d["bft"] == "off" and d["scan_ms"] == 0 and d["raw"] == "1,3,0,2,0,0,0,0"


def test_seed_example_fdis():
    # seed 001 5.5.3 "Use Example: +FDIS= 0, 3, 0, 2, 0, 0, 0, 1"
    p = params.parse(" 0, 3, 0, 2, 0, 0, 0, 1")
    d = params.describe(p)
    assert d["vr_lpi"] == 98 and d["bit_rate"] == 9600 and d["scan_ms"] == 5


def test_short_reports_padded_and_bad_values_rejected():
    assert params.parse("1,5") == (1, 5, 0, 0, 0, 0, 0, 0)
    raises(ValueError, params.parse, "2,3,0,2,0,0,0,0")
    raises(ValueError, params.parse, "1,9,0,2,0,0,0,0")
    raises(ValueError, params.parse, "")
    raises(ValueError, params.parse, "a,b")


def test_parse_gives_back_the_same_tuple_for_the_same_fields():
    """The driver passes the last page's +FDCS tuple (dialect.read): when a page's fields are
    the same, that tuple is the answer (no new one); any field different, or a bad value, as
    without it."""
    p = params.parse("1,3,0,2,0,0,0,0")
    v = [0] * 8
    assert params.parse("1,3,0,2,0,0,0,0", v, p) is p
    q = params.parse("1,3,0,2,0,0,0,1", v, p)
    assert q == (1, 3, 0, 2, 0, 0, 0, 1) and q is not p and p == (1, 3, 0, 2, 0, 0, 0, 0)
    r = params.parse("1,3", v, p)                  # padded fields differ from p's 2
    assert r == (1, 3, 0, 0, 0, 0, 0, 0) and r is not p
    raises(ValueError, params.parse, "1,9,0,2,0,0,0,0", v, p)


def test_scan_time_depends_on_resolution():
    assert params.scan_ms(2, 0) == 10
    assert params.scan_ms(2, 1) == 5
    # 9600 bit/s * 10 ms = 96 bits = 12 bytes per line at least
    assert min_line_bytes((0, 3, 0, 2, 0, 0, 0, 3)) == 12
    assert min_line_bytes((0, 5, 0, 2, 0, 0, 0, 7)) == 72


def min_line_bytes(p):
    """Bytes a scan line must fill at least (EOL included) to honour the scan time: the tests'
    figure (the firmware's page source works in bits: t4.min_bits)."""
    return (params.TABLE[1][p[1]] * params.scan_ms(p[7], p[0]) // 1000 + 7) // 8


def test_choose_from_page_and_config():
    assert params.choose(True) == (1, 3, 0, 2, 0, 0, 0, 0)
    assert params.choose(False, 14400) == (0, 5, 0, 2, 0, 0, 0, 0)
    assert params.choose(True, 10000, 3) == (1, 3, 0, 2, 0, 0, 0, 3)
    assert params.choose(False, 1200) == (0, 0, 0, 2, 0, 0, 0, 0)
    raises(ValueError, params.choose, True, 9600, 8)
    assert params.to_str(params.choose(True)) == "1,3,0,2,0,0,0,0"
