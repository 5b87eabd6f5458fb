"""Telegram lines on the UART (app/unit.py uart_telegram, fed by core/cafis/line.py): each
line's verdict or cmd/error, and a full outbox never kills the telegram task (its death
restarts the whole unit). Both runtimes."""
from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit
from faxbridge.core.cafis.line import Line
from faxbridge.core.mqtt.outbox import OutboxFull


class Port:
    name = "test"

    def __init__(self):
        self.flash = tmpdir("uart") + "/"

    def ticks_ms(self):
        return 0

    def time(self):
        return 1700000000


class Link:
    """Records events; refuses them all (OutboxFull) when full."""

    def __init__(self, full=False):
        self.full = full
        self.events = []

    def event(self, suffix, fields, cls=None):
        if self.full:
            raise OutboxFull("outbox full: 0 bytes, 0 events held")
        self.events.append((suffix, dict(fields)))


def _unit(full=False):
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    u.link = Link(full)
    tc = cfg["telegram"]
    return u, Line(tc["sender"], tc["center"])


def test_each_line_gets_its_verdict_or_cmd_error():
    u, ln = _unit()
    for t in ln.feed(b"\xff\xfe:A1 3030\nzz\n" + b"30" * 2000 + b"\n"):
        u.uart_telegram(t)
    assert [e[0] for e in u.link.events] == ["cafis/verdict", "cmd/error", "cmd/error"], u.link.events
    assert u.link.events[0][1]["verdict"] == "discard"  # no registry configured in this unit
    assert u.link.events[0][1]["ref"] == "uart-1-1"
    assert [(e[1]["reason"], e[1]["detail"][:20]) for e in u.link.events[1:]] == [
        ("bad_field", "telegram line is not"), ("too_large", "telegram line longer")]
    assert u.counters["telegrams"] == 1


def test_a_full_outbox_drops_the_answer_not_the_task():
    u, ln = _unit(full=True)
    for t in ln.feed(b"3030\ncenter:A1 zz\n"):           # a verdict, then a cmd/error, both refused
        u.uart_telegram(t)
    assert u.counters["telegrams"] == 1 and u.link.events == []
