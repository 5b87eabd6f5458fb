"""Command topics, the one set of limits, cancel and telegram parsing (both runtimes)."""
from mqtt_helpers import REASONS
from support import NullSink, allocated, raises

from faxbridge.core.mqtt import commands as C


def _err(fn, *a):
    e = raises(C.CommandError, fn, *a)
    assert e.reason in REASONS and e.detail
    return e


def _route(sfx, default="center"):
    """(kind, sender, ref) of route()'s int for the topic <root>/<sfx>, root b"r/u1/"."""
    t = b"r/u1/" + sfx.encode()
    c = C.route(memoryview(t), 5)
    s = c >> 2 & 3
    return (("fax", "cancel", "telegram")[c & 3], ("", "terminal", "center")[s] if s else
            default if c & 3 == 2 else None, str(t[c >> 4:], "utf-8") if c >> 4 else None)


def test_routes():
    assert _route("cmd/fax") == ("fax", None, None)
    assert _route("cmd/cancel") == ("cancel", None, None)
    assert _route("cmd/telegram") == ("telegram", "center", None)
    assert _route("cmd/telegram", "terminal") == ("telegram", "terminal", None)
    assert _route("cmd/telegram/terminal") == ("telegram", "terminal", None)
    assert _route("cmd/telegram/center/R-1.a:b_c") == ("telegram", "center", "R-1.a:b_c")


def test_unknown_and_malformed_topics_have_reasons():
    for t in ("cmd/reboot", "cmd/telegram/alien", "cmd/telegram/R1", "cmd/telegram/center/a/b",
              "cmd/faxx", "cmd/", "cmd/fax/extra", "cmd/telegramx", "cmd/telegram/centerx",
              "cmd/telegram/center/a/", "fax", "cmd"):
        assert _err(_route, t).reason == C.UNKNOWN_COMMAND, t
    for ref in ("", "a" * 41, "a b", "\u00e9", "x;ATH"):     # a ref is 1..40 (docs/mqtt.md)
        assert _err(_route, "cmd/telegram/center/" + ref).reason in (C.BAD_FIELD, C.UNKNOWN_COMMAND), ref
    assert _route("cmd/telegram/center/" + "a" * 40)[2] == "a" * 40
    # a topic that is not UTF-8: unknown_command, whatever it looks like
    for t in (b"cmd/\xff", b"cmd/telegram/center/\xff", b"cmd/telegram/\xff"):
        e = _err(C.route, b"r/" + t, 2)
        assert e.reason == C.UNKNOWN_COMMAND and "UTF-8" in e.detail, t
    assert "no such command: cmd/reboot" in _err(C.route, b"r/cmd/reboot", 2).detail


def test_refusals_are_worded_as_before_the_topic_was_read_in_place():
    # review of issue 13's in-place route (rv21): "cmd/telegram" followed by anything but "/"
    # is no telegram topic ("no such command", its suffix named), and a "/" anywhere after
    # the ref's start makes the topic unknown even when a character before it is not allowed
    # in a ref (the ref's own refusal, bad_field, only when no "/" follows)
    forms = "telegram topics are cmd/telegram, "
    for t, reason, detail in (
            ("cmd/telegramx", C.UNKNOWN_COMMAND, "no such command: cmd/telegramx"),
            ("cmd/telegramcenter/R1", C.UNKNOWN_COMMAND, "no such command: cmd/telegramcenter/R1"),
            ("cmd/telegram+", C.UNKNOWN_COMMAND, "no such command: cmd/telegram+"),
            ("cmd/telegram/", C.UNKNOWN_COMMAND, forms),
            ("cmd/telegram/center/a b/c", C.UNKNOWN_COMMAND, forms),
            ("cmd/telegram/center/\u00e9/x", C.UNKNOWN_COMMAND, forms),
            ("cmd/telegram/terminal/a+/#", C.UNKNOWN_COMMAND, forms),
            ("cmd/telegram/center/" + "a" * 41 + "/b", C.UNKNOWN_COMMAND, forms),
            ("cmd/telegram/center/a b", C.BAD_FIELD, "telegram ref must be 1..40 of "),
            ("cmd/telegram/center/" + "a" * 41, C.BAD_FIELD, "telegram ref must be 1..40 of "),
            ("cmd/telegram/center/", C.BAD_FIELD, "telegram ref must be 1..40 of ")):
        e = _err(_route, t)
        assert (e.reason, e.detail[:len(detail)]) == (reason, detail), (t, e.reason, e.detail)


def test_a_telegram_topic_is_routed_in_place():
    # issue 13: every telegram's topic is routed; it was split into a list of new strings
    # (288 B with a ref, 160 B without, 64-bit unix port, collector off), then read as a str
    # (the ref and the tuple: 160 B and 64 B); read in place in the topic's bytes now, one int
    # back: nothing allocated
    import gc
    if not hasattr(gc, "mem_alloc"):
        return
    for t in (b"r/u1/cmd/telegram/center/r123", b"r/u1/cmd/telegram/terminal", b"r/u1/cmd/fax"):
        mv = memoryview(t)
        C.route(mv, 5)
        n, r = allocated(lambda: C.route(mv, 5))
        assert n == 0, (t, n)
        assert r & 3 == (0 if t.endswith(b"fax") else 2)


def test_one_set_of_limits():
    assert C.MAX_FAX == 262144 and C.MAX_TELEGRAM == 2048 and C.MAX_CANCEL == 256
    for kind, n in (("fax", C.MAX_FAX), ("cancel", C.MAX_CANCEL), ("telegram", C.MAX_TELEGRAM)):
        C.check_size(kind, n)
        assert _err(C.check_size, kind, n + 1).reason == C.TOO_LARGE
    # the 20 073-byte cmd/fax the old link refused (issue 14) is within the limit now
    C.check_size("fax", 20073)


def test_cancel():
    assert C.parse_cancel(memoryview(b'{"job":"J1"}')) == ("cancel", "J1")
    assert _err(C.parse_cancel, b'{"job":""}').reason == C.BAD_FIELD
    assert _err(C.parse_cancel, b'{"job":"J1;"}').reason == C.BAD_FIELD
    assert _err(C.parse_cancel, b"{}").reason == C.MISSING
    assert _err(C.parse_cancel, b'{"job":"J1","x":1}').reason == C.UNKNOWN_FIELD
    assert _err(C.parse_cancel, b'{"job":"J1","x":1}').ref == "J1"
    assert _err(C.parse_cancel, b"[1]").reason == C.BAD_JSON
    assert _err(C.parse_cancel, b"\xff{").reason == C.BAD_JSON
    assert _err(C.parse_cancel, b"[" * 200).reason == C.BAD_JSON


def test_telegram():
    t = C.parse_telegram(memoryview(b"\x0e\x30\x0f" * 30), "terminal", "R9")
    assert t == ("telegram", b"\x0e\x30\x0f" * 30, "terminal", "R9")
    assert isinstance(t[1], bytes)     # copied out of the receive buffer


def _fax_number(number):
    """A cmd/fax with this number through the streaming parser (the one number check of a
    command): (job, number, kinds), or its CommandError."""
    import json
    from faxbridge.core.mqtt import faxcmd
    doc = {"job": "J", "pages": [{"text": "x"}]}
    if number is not None:
        doc["number"] = number
    p = faxcmd.Parser(NullSink())
    try:
        p.feed(json.dumps(doc).encode())
        return p.end()
    except C.CommandError as e:
        assert e.reason in REASONS and e.detail and e.ref == "J"
        return e


def test_number_and_job_checks():
    assert _fax_number("03-1234,5678") == ("J", "03-1234,5678", ["text"])
    for bad in ("1;ATH", "x", "", "1" * (C.MAX_NUMBER + 1), "12\r", 5, "--"):
        assert _fax_number(bad).reason == C.BAD_FIELD, bad
    assert _fax_number(None).reason == C.MISSING
    assert C.parse_cancel(b'{"job":"a.B_c:1-"}')[1] == "a.B_c:1-"
    assert C.parse_cancel(b'{"job":"' + b"a" * C.MAX_JOB + b'"}')[1] == "a" * C.MAX_JOB
    assert _err(C.parse_cancel, b'{"job":"' + b"a" * (C.MAX_JOB + 1) + b'"}').reason == C.BAD_FIELD
    assert _err(C.parse_cancel, b'{"job":5}').reason == C.BAD_FIELD
