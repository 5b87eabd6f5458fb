"""The modem reader survives an exception from the driver (issue 14 item 4): the call ends at
205001 with a readable reason, the driver starts afresh, the reader goes on."""
import asyncio

from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit
from faxbridge.core.fax import class2


class Port:
    name = "test"

    def __init__(self):
        self.flash = tmpdir("reader") + "/"
        self.t = 0

    def ticks_ms(self):
        return self.t

    def time(self):
        return 1700000000


class Jobs:
    """Records end_call (the one Jobs method the guard uses)."""

    def __init__(self):
        self.ended = []

    def end_call(self, job, code, evidence, confirmed, now):
        self.ended.append((job["id"], code, list(evidence), confirmed))


class Page:
    fine = True


class Stop(Exception):
    pass


class Reader:
    """A modem stream: the given chunks, then Stop."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    async def readinto(self, buf):
        if not self.chunks:
            raise Stop()
        c = self.chunks.pop(0)
        buf[:len(c)] = c
        return len(c)


def _drain(m):
    out = []
    while True:
        b = m.next_output(0)
        if not b:
            return b"".join(out)
        out.append(bytes(b))


def _unit_in_a_call():
    """A unit whose driver is dialling with a dial mode that makes it raise on the next OK
    (the issue's "T\\rATZ", which the config check now refuses)."""
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    u.mono = lambda: 0.0                        # app/clock.py needs MicroPython's time.ticks_diff
    u._dcfg["dial_mode"] = "T\rATZ"
    m = class2.Class2(u._dcfg, u._rx_sink)
    m.start(0)
    for _ in range(20):
        if m.ready():
            break
        assert _drain(m)
        m.feed(b"\r\nOK\r\n", 0)
    assert m.ready()
    u.jobs = Jobs()
    u.active = {"id": "J1", "confirmed": 0}
    assert m.send("5551234", lambda i: Page() if i == 0 else None, 0)
    assert _drain(m).startswith(b"AT+FDIS=")
    return u, m


def _check_recovered(u, m):
    assert u.jobs.ended == [("J1", 205001, [("reason", "driver error: ValueError: "
                                                      "non-printable character in AT command")], 0)], u.jobs.ended
    assert u.active is None
    assert not m.in_call() and m.state_name() == "init"
    assert _drain(m) == b"ATE0V1Q0\r"           # a fresh machine initialises the modem again
    m.feed(b"\r\nOK\r\n", 0)                     # and takes input as usual
    assert _drain(m) == b"AT+FCLASS=2\r"


def test_feed_guard_ends_the_call_and_restarts_the_driver():
    u, m = _unit_in_a_call()
    try:
        m.feed(b"\r\nOK\r\n", 0)
        raise AssertionError("the driver did not raise: the test no longer reproduces the crash")
    except ValueError:
        pass
    u, m = _unit_in_a_call()
    u._feed(m, memoryview(b"\r\nOK\r\n"))
    _check_recovered(u, m)


def test_modem_reader_keeps_reading_after_a_driver_exception():
    u, m = _unit_in_a_call()
    r = Reader([b"\r\nOK\r\n"])
    try:
        asyncio.run(u._modem_reader(r, m))
    except Stop:
        pass                                    # the reader asked for more input: it survived
    _check_recovered(u, m)


def test_a_fax_received_the_full_outbox_refuses_does_not_kill_the_modem_task():
    from faxbridge.core.mqtt.outbox import OutboxFull

    class FullLink:
        def event(self, suffix, fields, cls=None):
            raise OutboxFull("outbox full: 0 bytes, 0 events held")

    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    u = Unit(Port(), cfg)
    u.link = FullLink()
    u._received({"dir": "rx", "pages": 2, "code": 0, "hangup": (0, "call", "normal")})
    assert u.counters["rx_faxes"] == 1 and u.rx is None
