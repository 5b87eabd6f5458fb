from dial_cases import GOOD, HOSTILE
from support import NullSink, raises

from faxbridge.core.fax import dial
from faxbridge.core.mqtt import commands


def _intake(number):
    """The cmd/fax intake's verdict on a number (the streaming parser, core/mqtt/faxcmd):
    None (accepted) or the cmd/error reason."""
    import json
    from faxbridge.core.mqtt import faxcmd
    doc = json.dumps({"job": "J1", "number": number, "pages": [{"text": "x"}]}).encode()
    try:
        p = faxcmd.Parser(NullSink())
        p.feed(doc)
        p.end()
    except commands.CommandError as e:
        return e.reason, e.detail
    return None


def test_plain_numbers_pass_cleaned():
    for number, want in GOOD:
        assert dial.check(number) == (None, want), (number, dial.check(number))
        assert _intake(number) is None, (number, _intake(number))


def test_hostile_table_never_dials_an_emergency_number():
    assert len(HOSTILE) >= 30
    for number, code, what in HOSTILE:
        got, why = dial.check(number)
        assert got == code, (number, what, got, why)
        # the same verdict with an outside line configured, and at the door for malformed ones
        assert dial.check(number, prefixes=("0",))[0] == code, (number, what)
        if code == 6027:
            assert _intake(number)[0] == commands.BAD_FIELD, (number, what, _intake(number))
        else:
            assert _intake(number) is None, (number, what)


def test_refusal_names_what_was_stripped():
    assert dial.check("184110") == (6002, "number refused: dials 110 after 184")
    assert dial.check("119") == (6002, "number refused by the deny list (119)")
    assert dial.check("+81110") == (6002, "number refused: dials 110 after 0")


def test_malformed_numbers_are_6027():
    for bad in ("", "   ", "555;1234", "555\r1234", "ATH", "5551234\x00", ",,,", "TP", "1" * 41,
                "\uff15\uff15\uff15", "+", "++81", "+,81", "5551234+"):
        code, why = dial.check(bad)
        assert code == 6027, (bad, code, why)
    assert dial.check(5551234)[0] == 6027
    assert dial.check("1" * 40)[0] is None
    assert dial.check("+1" + "2" * 37)[0] == 6027        # 40 characters once + is 010
    assert "dial string" in dial.check("555;1234")[1]


def test_plus_converted_per_country():
    assert dial.form("+81 3 1234 5678") == (None, "0312345678")
    assert dial.form("+44 20 7946 0000") == (None, "010442079460000")
    assert dial.form("+44 20 7946 0000", country="US") == (None, "011442079460000")
    assert dial.form("+1 212 555 1234", country="US") == (None, "12125551234")
    assert dial.form("+44 20 7946 0000", country="GB") == (None, "02079460000")
    raises(ValueError, dial.form, "+81", 40, "XX")


def test_country_tables():
    assert dial.check("1911", country="US")[0] == 6002
    assert dial.check("*67 911", country="US")[0] == 6002
    assert dial.check("011 1 911", country="US")[0] == 6002
    assert dial.check("+1 911", country="US")[0] == 6002
    assert dial.check("2125551234", country="US") == (None, "2125551234")
    assert dial.check("141 999", country="GB")[0] == 6002
    assert dial.check("+44 112", country="GB")[0] == 6002
    assert dial.check("0118 496 0000", country="GB")[0] is None      # Reading, not 118 in GB
    # Japan's emergency numbers are not refused in the US table, but its own are
    assert dial.check("2110", deny=(), country="US")[0] is None
    for country in dial.COUNTRIES:
        assert dial.table(country, "emergency"), country
        assert len(dial.table(country, "cc")) == 1, country
        assert dial.table(country, "intl"), country
        assert len(dial.table(country, "trunk")) == 1, country


def test_emergency_numbers_refused_6002():
    for bad in ("110", "118", "119", "1190", "11-9", "0,119", "0W110", "1 1 8", "0110"):
        code, why = dial.check(bad)
        assert code == 6002, (bad, code, why)
    assert dial.check("0110", prefixes=("0",))[0] == 6002
    assert dial.check("9,110", prefixes=("9",))[0] == 6002
    assert dial.check("9110", prefixes=("9",))[0] == 6002
    assert dial.check("9110")[0] is None


def test_custom_deny_and_allow_lists():
    assert dial.check("0120123456", deny=("0120",))[0] == 6002
    assert dial.check("184 0120123456", deny=("0120",))[0] == 6002
    # the country's emergency numbers are refused whatever the deny list says
    assert dial.check("110", deny=())[0] == 6002
    assert dial.check("0312345678", allow=("03",)) == (None, "0312345678")
    assert dial.check("0612345678", allow=("03",))[0] == 6002
    assert dial.check("119", allow=("1",))[0] == 6002
    assert dial.check("184119", allow=("18",))[0] == 6002


def test_station_id():
    assert dial.station_id("+81 3 1234 5678") == "+81 3 1234 5678"
    assert dial.station_id("") == ""
    raises(ValueError, dial.station_id, 'a"b')
    raises(ValueError, dial.station_id, "x" * 21)
    raises(ValueError, dial.station_id, "1" * 21)
    raises(ValueError, dial.station_id, "caf\u00e9")
    raises(ValueError, dial.station_id, "a\rb")
    raises(ValueError, dial.station_id, None)
    raises(ValueError, dial.station_id, "5551234;H")
    raises(ValueError, dial.station_id, "SHOP 42")
    raises(ValueError, dial.station_id, "\uff15\uff15")
    assert dial.station_id("1" * 20) == "1" * 20


def test_every_chain_of_two_prefixes_before_an_emergency_number_is_refused():
    heads = ("", "184", "186", "*67", "*82", "#31#", "*31#", "0", "0,", "0W", "010 81 ", "00181",
             "0033", "0041 81", "9,", "*6#", "1#")
    n = 0
    for a in heads:
        for b in heads:
            for e in ("110", "118", "119"):
                for tail in ("", "0", ",1234"):
                    number = a + b + e + tail
                    code, why = dial.check(number, prefixes=("9",))
                    assert code == 6002, (number, code, why)
                    n += 1
            number = "+81" + a + b + "119"
            assert dial.check(number)[0] in (6002, 6027), number
    assert n == len(heads) * len(heads) * 9


def _alloc(f, *args):
    """Bytes f(*args) allocates on MicroPython, collector off (kept + garbage); None on CPython."""
    import gc
    if not hasattr(gc, "mem_alloc"):
        f(*args)
        return None
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        f(*args)
        return gc.mem_alloc() - a
    finally:
        gc.enable()


def test_a_check_reads_the_country_table_in_place():
    # issue 13: a check read the table four times, splitting it into rows each time (~22 KB of
    # garbage per send on MicroPython's 64-bit unix port), then built its four prefix lists on
    # every call (~2.8 KB per cmd/fax); now the rows are read in place: only the walk's own
    # small list and bytearray (~200 B; a '+' or separated number its dial string and one prefix
    # list more, under 800 B). Bound on MicroPython only; the tables and verdicts on
    # both runtimes.
    assert dial.table("JP", "cc") == ["81"]
    assert dial.table("GB", "emergency") == ["999", "112"]
    assert dial.table("US", "service", "trunk") == ["1", "*X", "*XX", "*XXX", "#X", "#XX", "#XXX"]
    raises(ValueError, dial.table, "XX", "cc")
    raises(ValueError, dial.check, "0312345678", country="XX")
    raises(ValueError, dial.check, "+81312345678", country="XX")
    assert dial.check("03-1234-5678") == (None, "0312345678")
    assert dial.check("+81 3-1234-5678", ("555",), None, 40, ("0",)) == (None, "0312345678")
    assert dial.check("0,0119", ("555",), None, 40, ("0",)) == (6002, "number refused: dials 119 after 00")
    for args in (("0312345678", ("110", "118", "119"), None, 40, ("0",), "JP"),
                 ("+81 3-1234-5678", (), None, 40, (), "JP"),
                 ("0,0119", ("555",), None, 40, ("0",), "JP"),
                 ("+44 20 7946 0000", (), None, 40, ("9",), "GB")):
        n = _alloc(dial.check, *args)
        assert n is None or n < (320 if args[0] == "0312345678" else 800), (args, n)
    # a number already in dial form is returned as it is, not copied
    n = "0312345678"
    assert dial.form(n)[1] is n
