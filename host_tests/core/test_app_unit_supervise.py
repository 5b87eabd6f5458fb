"""Supervision (app/unit.py supervise, Unit.run, Unit.stop; docs/unit.md "Supervision"): one
gather awaits the unit's tasks; a task that dies stops the unit with exit code 3 (the board
then resets), stop() ends it with its code. Both runtimes."""
import asyncio

from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit, supervise

if not hasattr(asyncio, "sleep_ms"):           # CPython: MicroPython's asyncio names
    asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    asyncio.wait_for_ms = lambda aw, ms: asyncio.wait_for(aw, ms / 1000)


async def _forever(log):
    try:
        while True:
            await asyncio.sleep_ms(5)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise


async def _dies():
    await asyncio.sleep_ms(20)
    raise MemoryError("memory allocation failed, allocating 2048 bytes")


def test_a_dying_task_ends_the_supervision_with_3():
    log = []

    async def go():
        ts = [asyncio.create_task(_forever(log)), asyncio.create_task(_dies())]
        code = await supervise(ts)
        for t in ts:
            t.cancel()
        await asyncio.sleep_ms(10)
        return code
    assert asyncio.run(go()) == 3
    assert log == ["cancelled"]                 # the others are cancelled, not left running


def test_a_cancelled_supervision_answers_0():
    async def go():
        ts = [asyncio.create_task(_forever([]))]
        sup = asyncio.create_task(supervise(ts))
        await asyncio.sleep_ms(20)
        sup.cancel()
        code = await sup
        for t in ts:
            t.cancel()
        await asyncio.sleep_ms(10)
        return code
    assert asyncio.run(go()) == 0


class Port:
    name = "test"

    def __init__(self, modem_error):
        self.flash = tmpdir("supervise") + "/"
        self.modem_error = modem_error
        self.fed = 0

    def ticks_ms(self):
        return 0

    def time(self):
        return 1700000000

    def mem_free(self):
        return 0

    def watchdog(self, ms):
        port = self

        class Wdt:
            def feed(self):
                port.fed += 1
        return Wdt()

    async def start_network(self, cfg, log):
        pass

    def open_telegram(self, tcfg):
        return None

    def open_modem(self, mcfg):
        raise self.modem_error


def _unit(modem_error):
    # the broker at a port nothing listens on: the link retries in the background
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1", "port": 1}})
    assert errors == []
    return Unit(Port(modem_error), cfg)


def test_the_modem_task_dying_stops_the_unit_with_exit_code_3():
    u = _unit(RuntimeError("a bug in the modem task"))
    asyncio.run(u.run())
    assert u.exit_code == 3 and u.port.fed >= 1


def test_stop_ends_the_unit_with_its_code():
    u = _unit(OSError(2))                       # no modem: the task waits, does not die

    async def go():
        async def later():
            await asyncio.sleep_ms(50)
            u.stop(5)
        t = asyncio.create_task(later())
        await u.run()
        await t
    asyncio.run(go())
    assert u.exit_code == 5 and u.fax.state == "absent"
