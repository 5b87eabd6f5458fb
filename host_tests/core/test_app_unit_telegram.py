"""Telegram lines on the UART (app/unit.py): bad input and a full outbox never kill the
telegram task (its death restarts the whole unit). Both runtimes."""
from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit
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
    return u, cfg["telegram"]


def test_a_prefix_that_is_not_utf8_is_no_sender_prefix():
    u, tc = _unit()
    u._telegram_text(b"\xff\xfe:A1 3030", tc)          # raised UnicodeError before
    assert [e[0] for e in u.link.events] == ["cafis/verdict"], u.link.events
    assert u.link.events[0][1]["verdict"] == "discard"  # no registry configured in this unit


def test_a_full_outbox_drops_the_answer_not_the_task():
    u, tc = _unit(full=True)
    u._telegram_text(b"3030", tc)                       # a verdict the outbox refuses
    u._telegram_text(b"center:A1 zz", tc)               # a cmd/error the outbox refuses
    assert u.counters["telegrams"] == 1 and u.link.events == []
