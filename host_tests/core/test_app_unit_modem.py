"""The unit's modem recovery at boot (app/unit.py _modem_recover, docs/unit.md): the DTR line
where the board has one, else the driver's recover_bytes() -- no raw modem bytes in the unit."""
import asyncio

from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit
from faxbridge.core.fax import class2

if not hasattr(asyncio, "sleep_ms"):           # CPython: MicroPython's asyncio names
    asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    asyncio.wait_for_ms = lambda aw, ms: asyncio.wait_for(aw, ms / 1000)


class Port:
    name = "test"

    def __init__(self, line):
        self.flash = tmpdir("modem") + "/"
        self.line = line
        self.toggles = []

    def ticks_ms(self):
        return 0

    def time(self):
        return 1700000000

    def modem_reset_line(self, on):
        if self.line:
            self.toggles.append(on)
        return self.line


class Writer:
    def __init__(self):
        self.out = []

    def write(self, b):
        self.out.append(bytes(b))

    async def drain(self):
        pass


class Reader:
    def __init__(self):
        self.reads = 0

    async def readinto(self, buf):
        self.reads += 1
        buf[:2] = b"OK"
        return 2


def _recover(line):
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    port = Port(line)
    u = Unit(port, cfg)
    clock = [0.0]

    def mono():
        clock[0] += 0.25
        return clock[0]
    u.mono = mono
    m = class2.Class2(u._dcfg, u._rx_sink)
    w = Writer()
    r = Reader()
    asyncio.run(u._modem_recover(r, w, m))
    return port, w, r, m


def test_without_a_reset_line_the_driver_ends_data_then_the_session():
    port, w, r, m = _recover(False)
    assert w.out == list(m.recover_bytes()) == [b"\x10\x03", b"AT+FK\r"]
    assert port.toggles == [] and r.reads > 0      # and what the modem said was read away


def test_with_a_reset_line_dtr_is_dropped_and_nothing_written():
    port, w, r, m = _recover(True)
    assert port.toggles == [True, False] and w.out == [] and r.reads > 0
