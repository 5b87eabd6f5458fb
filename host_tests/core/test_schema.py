"""The one validator of configuration schemas (firmware/faxbridge/core/schema.py): the unit's
config and the CAFIS engine's options say what is wrong in the same words."""
from faxbridge.core import schema


def _never(kind, x):
    return False


def _digit(kind, x):
    return isinstance(x, str) and x.isdigit()


def test_numbers_and_their_limits():
    assert schema.check("int", 5, (1, 10)) is None
    assert schema.check("int", 11, (1, 10)) == "must be an integer from 1 to 10, got 11"
    assert schema.check("int", 2.0, (1, 10)) == "must be an integer from 1 to 10, got 2.0"
    assert schema.check("int", True, (0, 10)) == "must be an integer from 0 to 10, got true"
    assert schema.check("num", 2.5, (0, 10)) is None
    assert schema.check("num", "3", (0, 10)) == 'must be a number from 0 to 10, got "3"'
    # NaN and the infinities are out of every range, and shown as such on both runtimes
    assert schema.check("num", float("nan"), (0, 10)) == "must be a number from 0 to 10, got nan"
    assert schema.check("num", float("inf"), (0, 10)) == "must be a number from 0 to 10, got inf"
    assert schema.check("num", float("-inf"), (0, 10)).endswith("got -inf")


def test_strings_ids_and_choices():
    assert schema.check("str", "ab", (1, 2)) is None
    assert schema.check("str", "abc", (1, 2)) == "must be 1 to 2 characters long, got 3"
    assert schema.check("str", 5, (1, 2)) == "must be a string, got 5"
    assert schema.check("id", "u-1_A", (1, 32)) is None
    assert schema.check("id", "a/b", (1, 32)) == "may hold only letters, digits, '-' and '_', got \"a/b\""
    assert schema.check("sid", "+81 3", (0, 20), _never).startswith("may hold only digits, '+' and space")
    assert schema.check("bool", 1, None) == "must be true or false, got 1"
    assert schema.check("choice", "T", ("T", "P")) is None
    assert schema.check("choice", "X", ("T", "P")) == 'must be "T" or "P", got "X"'
    # type and value both: 2 is not "2", 2.0 is not "2.0"
    assert schema.check("choice", 2.0, ("2", "2.0", "auto")) == 'must be one of "2", "2.0", "auto", got 2.0'
    assert schema.check("choice", ["2"], (["2.0", "2"], ["2"])) is None
    assert schema.check("any", object(), None) is None


def test_lists_say_which_entry():
    assert schema.check("digits", ["12", "3"], (0, 8), _digit) is None
    assert schema.check("digits", "0", (0, 8), _digit) == 'must be a list of numbers as strings, got "0"'
    assert schema.check("digits", ["1", "x"], (0, 8), _digit) == (
        'entry 1 must be a string of digits 0-9, got "x"')
    assert schema.check("digits", ["1"] * 9, (0, 8), _digit) == "may hold at most 8 entries, got 9"
    assert schema.check("codes", ["R01"], (4, 4), _never) == "must hold at least 4 entries, got 1"
    assert schema.check("routes", ("0100",), (1, 9), _never).startswith('entry 0 must be a route "NNNN"')
    assert schema.check("nolist", [], (0, 1), _never) == "has a kind the schema does not know: nolist"


def test_show_is_short_json():
    assert schema.show("x") == '"x"' and schema.show(None) == "null" and schema.show(False) == "false"
    assert schema.show({"a": 1}) == '{"a": 1}'
    long = schema.show("y" * 100)
    assert len(long) == 40 and long.endswith("...")
    assert schema.check("choice", 4, (1, 2, 3)) == "must be one of 1, 2, 3, got 4"
