"""Pure pieces of the modem simulator: DLE stuffing, EOL scanner, AT splitting, faults, parameters."""
import pytest
from modemsim_helpers import make_pbm, wire_of_pbm

from modemsim import Faults
from modemsim import params as P
from modemsim.atparse import dial_number, split_commands
from modemsim.bits import RTC, RTC_WITH_FILL, EolScanner, Unstuffer, dle_stuff, reverse_bits


def test_reverse_bits_is_an_involution_and_reverses():
    assert reverse_bits(b"\x01\x80\x0f") == b"\x80\x01\xf0"
    data = bytes(range(256))
    assert reverse_bits(reverse_bits(data)) == data


def test_dle_stuffing_round_trips_in_any_chunking():
    data = bytes([0x10, 0x10, 0x03, 0x00, 0x10, 0x03, 0x10, 0x11, 0xff]) * 7
    stuffed = dle_stuff(data) + b"\x10\x03" + b"AT"
    for size in (1, 2, 3, 5, len(stuffed)):
        u = Unstuffer()
        out = bytearray()
        ended = False
        for k in range(0, len(stuffed), size):
            payload, ended, rest = u.feed(stuffed[k:k + size])
            out += payload
            if ended:
                break
        assert ended and bytes(out) == data, size


def test_unstuffer_drops_unknown_dle_codes_and_reports_the_rest():
    payload, ended, rest = Unstuffer().feed(b"ab\x10xcd\x10\x03tail")
    assert (payload, ended, rest) == (b"abcd", True, b"tail")


def test_eol_scanner_counts_the_lines_of_a_pbmtog3_page_and_finds_rtc(tmp_path):
    pbm = make_pbm(str(tmp_path / "p.pbm"), rows=57)
    sc = EolScanner()
    data = wire_of_pbm(pbm)
    for k in range(0, len(data), 7):
        sc.feed(data[k:k + 7])
    assert sc.rtc and sc.line_count == 57


def test_eol_scanner_without_rtc_counts_the_last_line_and_rtc_constant_is_six_eols(tmp_path):
    data = wire_of_pbm(make_pbm(str(tmp_path / "p.pbm"), rows=10))
    cut = data[:len(data) - len(RTC) - 2]
    sc = EolScanner()
    sc.feed(cut)
    assert not sc.rtc
    sc2 = EolScanner()
    sc2.feed(b"\x00" + RTC)
    assert sc2.rtc and sc2.line_count == 0
    assert RTC_WITH_FILL.endswith(b"\x00\x00")


def test_split_commands():
    assert split_commands("E0V1Q0S0=2+FCLASS=2;+FCR=1;D5551234") == [
        ("B", "E", "0"), ("B", "V", "1"), ("B", "Q", "0"), ("S", "0", "=", "2"),
        ("X", "+FCLASS", "=", "2"), ("X", "+FCR", "=", "1"), ("D", "5551234")]
    assert split_commands('+FLID="a;b"') == [("X", "+FLID", "=", '"a;b"')]
    assert split_commands("+FDIS=?") == [("X", "+FDIS", "=?", None)]
    assert split_commands("+FDCS?") == [("X", "+FDCS", "?", None)]
    assert split_commands("&F&C1") == [("B", "&F", ""), ("B", "&C", "1")]
    assert split_commands("S7?") == [("S", "7", "?", None)]
    assert split_commands("$")[0][0] == "BAD"


def test_dial_number():
    assert dial_number("T555-1234") == "5551234"
    assert dial_number("P 0,5551234;") == "05551234"
    assert dial_number("+15551234") == "+15551234"
    assert dial_number("555X") is None
    assert dial_number("") is None
    assert dial_number("T") is None


def test_faults_parse_and_merge():
    f = Faults.parse("busy")
    assert f.result == "BUSY"
    f = Faults.parse("hangup=54, ppr=2@1, drop=3000@2, noise=5, page_noise=9, dead=+FDT, xoff=2.5")
    assert (f.hangup, f.ppr, f.drop, f.noise, f.page_noise, f.dead, f.xoff) == \
        (54, {1: (2, None)}, (2, 3000), 5, (1, 9), "+FDT", 2.5)
    assert f.ppr_for(1) == 2 and f.ppr_for(1, 3) == 2 and f.ppr_for(2) is None
    g = Faults.parse("ppr=2@1/1")
    assert g.ppr_for(1, 1) == 2 and g.ppr_for(1, 2) is None
    assert Faults.parse("ppr=3").ppr_for(7) == 3
    assert Faults.parse("dead=4").dead == 4
    # only the exact "AT" prefix goes: lstrip("AT") used to eat the A of ATA
    assert [Faults.parse("dead=" + c).dead for c in ("A", "ATA", "ata", "AT+FDT", "d", "+fet")] == \
        ["A", "A", "A", "+FDT", "D", "+FET"]
    m = Faults.parse("busy").merged(Faults.parse("hangup=25"))
    assert (m.result, m.hangup) == ("BUSY", 25)
    with pytest.raises(ValueError):
        Faults.parse("frobnicate")


def test_compound_parameters_and_negotiation():
    cur = (1, 5, 0, 2, 0, 0, 0, 0)
    assert P.parse_compound("0,3", cur) == (0, 3, 0, 2, 0, 0, 0, 0)
    assert P.parse_compound(",,,,,,,3", cur) == (1, 5, 0, 2, 0, 0, 0, 3)
    assert P.parse_compound("1,5,0,2,1,0,0,0", cur) is None     # DF=1 (2-D) not offered
    assert P.parse_compound("1,6", cur) is None
    assert P.parse_compound("a", cur) is None
    assert P.negotiate((1, 5, 0, 2, 0, 0, 0, 0), (0, 3, 0, 1, 0, 0, 0, 3)) == (0, 3, 0, 1, 0, 0, 0, 3)
    assert P.bytes_per_second((0, 3, 0, 0, 0, 0, 0, 0)) == 1200.0
    assert [P.hangup_phase(c) for c in (0, 1, 3, 11, 25, 43, 54, 73, 91, 101, 130)] == \
        [None, "answer", "dial", "dial", "tx_b", "tx_c", "tx_d", "rx_b", "rx_c", "rx_d", None]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_stuffing_round_trip_property(data, cuts):
    stuffed = dle_stuff(data) + b"\x10\x03"
    u = Unstuffer()
    out = bytearray()
    pos = 0
    k = 0
    ended = False
    while pos < len(stuffed) and not ended:
        n = cuts[k % len(cuts)]
        payload, ended, _ = u.feed(stuffed[pos:pos + n])
        out += payload
        pos += n
        k += 1
    assert ended and bytes(out) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_eol_scanner_never_fails_on_garbage(data):
    sc = EolScanner()
    sc.feed(data)
    assert sc.line_count >= 0 and sc.nbytes == len(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_split_commands_never_raises(text):
    for cmd in split_commands(text):
        assert cmd[0] in ("B", "S", "X", "D", "BAD")


def _random_runs_pbm(path, rows, seed):
    import random
    rnd = random.Random(seed)
    out = []
    for _ in range(rows):
        bits = []
        c = rnd.randrange(2)
        if c:
            bits.append(0)          # lines may start black (white run 0)
        while len(bits) < 1728:
            n = rnd.choice((rnd.randrange(0, 70), rnd.randrange(0, 1800), rnd.randrange(1, 5), rnd.randrange(0, 300)))
            bits += [c] * n
            c ^= 1
        bits = bits[:1728]
        out.append(bytes(int("".join(map(str, bits[k:k + 8])), 2) for k in range(0, 1728, 8)))
    with open(path, "wb") as f:
        f.write(b"P4\n1728 %d\n" % rows + b"".join(out))
    return path


def test_mh_tables_are_prefix_free_and_complete():
    from modemsim.mh import TABLES
    for t in TABLES:
        assert sorted(t.values()) == list(range(64)) + [64 * k for k in range(1, 28)] + \
            [1792 + 64 * k for k in range(13)]
        codes = [format(v, "0%db" % n) for (n, v) in t]
        for a in codes:
            assert not any(b != a and b.startswith(a) for b in codes), a


def test_mh_checker_decodes_every_line_of_random_runs_encoded_by_netpbm(tmp_path):
    from modemsim.mh import MhChecker
    data = wire_of_pbm(_random_runs_pbm(str(tmp_path / "r.pbm"), 300, 11))
    m = MhChecker()
    for k in range(0, len(data), 11):
        m.feed(data[k:k + 11])
    assert (m.good, m.bad, m.rtc) == (300, 0, True)


def test_mh_checker_counts_corrupted_lines_as_bad(tmp_path):
    from modemsim.mh import MhChecker
    data = bytearray(wire_of_pbm(make_pbm(str(tmp_path / "p.pbm"), rows=60)))
    for k in range(200, len(data) - 200, 400):
        data[k] ^= 0x5a
    m = MhChecker()
    m.feed(bytes(data))
    assert m.bad > 0 and m.good + m.bad >= 50
