from support import raises

from faxbridge.core.fax import dial


def test_plain_numbers_pass_cleaned():
    assert dial.check("5551234") == (None, "5551234")
    assert dial.check("03-1234-5678") == (None, "0312345678")
    assert dial.check("(03) 1234 5678") == (None, "0312345678")
    assert dial.check("t0,w5551234") == (None, "T0,W5551234")
    assert dial.check("*31#5551234") == (None, "*31#5551234")


def test_malformed_numbers_are_6027():
    for bad in ("", "   ", "555;1234", "555\r1234", "+81312345678", "ATH", "5551234\x00",
                ",,,", "TP", "1" * 41, "５５５"):
        code, why = dial.check(bad)
        assert code == 6027, (bad, code, why)
    assert dial.check(5551234)[0] == 6027
    assert dial.check("1" * 40)[0] is None


def test_emergency_numbers_refused_6002():
    for bad in ("110", "118", "119", "1190", "T119", "11-9", "0,119", "0W110", "P 1 1 8"):
        code, why = dial.check(bad)
        assert code == 6002, (bad, code, why)
    assert dial.check("0110")[0] is None
    assert dial.check("0110", prefixes=("0",))[0] == 6002


def test_custom_deny_and_allow_lists():
    assert dial.check("0120123456", deny=("0120",))[0] == 6002
    assert dial.check("110", deny=())[0] is None
    assert dial.check("0312345678", allow=("03",)) == (None, "0312345678")
    assert dial.check("0612345678", allow=("03",))[0] == 6002
    assert dial.check("119", allow=("1",))[0] == 6002


def test_station_id():
    assert dial.station_id("+81 3 1234 5678") == "+81 3 1234 5678"
    assert dial.station_id("") == ""
    raises(ValueError, dial.station_id, 'a"b')
    raises(ValueError, dial.station_id, "x" * 21)
    raises(ValueError, dial.station_id, "caf\u00e9")
    raises(ValueError, dial.station_id, "a\rb")
    raises(ValueError, dial.station_id, None)
