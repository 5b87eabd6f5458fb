"""The 32-bit probe (tools/bench/w32.py): the unit's imports, its boot objects and a core
scenario as a plan of small steps, run on MicroPython's webassembly port (wasm32) and, for
comparison, on the 64-bit unix port, on the same files. Not a benchmark itself.

The webassembly port collects only between calls from JavaScript (gc.collect() inside a call is
deferred; with no room the heap grows instead), so its runner (w32.py's run.mjs) calls step(i)
for each step of the plan, then collects, then held(i). The unix port runs main(): the same
steps and prints. Reads w32.json in the current folder: {"phase": "code" | "scenario" | "plug", "mods":
[...], "flash": "<dir>/", "telegrams": n}. Prints `w32: plan <n> <label>` for each step, then per
step `w32: top <i> <bytes>` (gc.mem_alloc() as the step ends, garbage included) and
`w32: held <i> <bytes>` (after the collection), `w32: size <i> <bytes>` (allocated + free: it
changes when the heap grows), `w32: done` at the end.
"""
import gc
import json
import sys

# before the baseline, on both ports: what the webassembly port lacks (stand-ins from w32.py's
# w32stub/, copied beside the modules on that port), so that both ports count the same modules
if sys.platform == "webassembly":
    import asyncio
    import w32stream
    sys.modules["asyncio.stream"] = w32stream
    asyncio.stream = w32stream
import socket  # noqa: E402,F401
import asyncio.stream  # noqa: E402,F401

with open("w32.json") as _f:
    CFG = json.load(_f)
U = {}          # what the steps build and keep: unit, link, rigs


def _import(m):
    try:
        __import__(m)
    except (ImportError, SyntaxError) as e:     # native code, asyncio.stream: not on every port
        print("w32: cannot import %s: %s" % (m, e))


class _Port:
    """What Unit and its parts read from a port at construction (ports/unix/port.py)."""
    name = "w32"

    def __init__(self, flash):
        self.flash = flash

    def time(self):
        return 1764600000

    def ticks_ms(self):
        import time
        return time.ticks_ms()

    def random(self, n):
        import os
        return os.urandom(n)

    def mem_free(self):
        return gc.mem_free()


# ---- the unit's boot without network, UART or tasks (main.py, Unit.__init__, Unit.run)
def _config(_):
    from faxbridge.app import config
    cfg, errors = config.load(CFG["flash"] + "config.json")
    assert not errors, errors
    U["cfg"] = cfg


def _registry(_):
    from faxbridge.app.deepcheck import deep_check
    errors, U["registry"] = deep_check(U["cfg"], CFG["flash"])
    assert not errors, errors


def _unit(_):
    from faxbridge.app.unit import Unit
    U["unit"] = Unit(_Port(CFG["flash"]), U.pop("cfg"), U["registry"])


def _link(_):
    u = U["unit"]
    u._registry = None
    u.link = u._link()


def _checker(_):
    from faxbridge.core.cafis import checks
    U["unit"].checker = checks.Checker(U.pop("registry"))


def _recover(_):
    from faxbridge.app import config
    u = U["unit"]
    u.jobs.recover(u.now())
    config.slim(u.cfg)


# ---- the scenario on that unit
class _Wire:
    """The connection as the link's _flush writes to it: each PUBLISH's packet id noted (the
    broker acknowledges it), the bytes dropped."""

    def __init__(self):
        self.pids = []
        self.head = True            # the next write starts a packet

    def write(self, b):
        if self.head and b[0] >> 4 == 3 and (b[0] >> 1) & 3:     # PUBLISH, QoS 1 or 2
            i = 1
            while b[i] & 0x80:
                i += 1
            i += 3 + ((b[i + 1] << 8) | b[i + 2])
            self.pids.append((b[i] << 8) | b[i + 1])
            rest = len(b) - i - 2                             # payload in the same write?
            self.head = rest > 0 or self._whole(b)
        else:
            self.head = True

    def _whole(self, b):
        i, n, sh = 1, 0, 0
        while True:
            n |= (b[i] & 0x7F) << sh
            if not b[i] & 0x80:
                break
            i += 1
            sh += 7
        return n + i + 1 <= len(b)

    async def drain(self):
        pass


def _ack(ln, now):
    """The broker: the outbox pumped, the link's own _flush writing each event from flash into
    _Wire, every PUBLISH acknowledged, the link handling the PUBACKs; until nothing is left."""
    from faxbridge.core.mqtt import codec
    ob = ln.outbox
    w = ln._c
    for _ in range(200):
        ob.pump(ln.session, ln.root, now)
        co = ln._flush()
        try:
            co.send(None)
        except StopIteration:
            pass
        for pid in w.pids:
            ln.session.feed(codec.encode_puback(pid), now)
        del w.pids[:]
        ln._handle(now)
        if not ob.depth():
            break
    ob.poll(now, True)


def _link_up(_):
    """CONNECT taken, CONNACK fed, what follows written (test_mqtt_link.py's _up)."""
    ln = U["unit"].link
    s = ln.session
    s.start(0)
    s.take()
    s.feed(b"\x20\x02\x00\x00", 0)
    ln._handle(0)
    ln._c = _Wire()
    _ack(ln, 0)


def _tels(_):
    """The telegrams (tools/bench/_unit.telegram_mix, written by w32.py), read one at a time."""
    U["tels"] = open(CFG["flash"] + "tels.bin", "rb")


def _telegram(i):
    """One telegram through the unit's checker as from cmd/telegram (sender and center as the
    bench unit's), its verdict through the outbox on flash; every 8th the broker acknowledges
    what was published."""
    u = U["unit"]
    f = U["tels"]
    n = f.read(2)
    u.telegram(f.read((n[0] << 8) | n[1]), "center", "A", "mqtt")
    if i % 8 == 7:
        _ack(u.link, 1 + i // 8)


def _verdicts(_):
    u = U["unit"]
    U.pop("tels").close()
    _ack(u.link, 1000)
    print("w32: verdicts %s; left in the outbox %d" % (json.dumps(u.counters["verdicts"]), u.link.outbox.depth()))


# a one-page Class 2 send and receive against host_tests' scripted modem (fax_helpers,
# test_fax_class2_mem.py), one step per exchange
def _tx_rig(_):
    import fax_helpers as h
    U["rig"] = h.Rig()


def _tx_dial(_):
    import fax_helpers as h
    h.start_send(U["rig"], h.PAGE)


def _tx_connect(_):
    import fax_helpers as h
    h.connect(U["rig"])


def _tx_page(_):
    import fax_helpers as h
    r = U["rig"]
    r.take()
    r.say(h.OK)
    r.expect("AT+FET=2\r")


def _tx_end(_):
    import fax_helpers as h
    r = U["rig"]
    r.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + h.OK)
    print("w32: fax sent, code %s" % r.end()["code"])
    r.boot()
    U["rig"] = None


def _rx_rig(_):
    import fax_helpers as h
    U["sink"] = h.BufSink()
    U["rig"] = h.Rig(sink=U["sink"])


def _rx_answer(_):
    import fax_helpers as h
    h.start_receive(U["rig"])
    U["rig"].expect("\x12")


def _rx_page(_):
    import fax_helpers as h
    U["rig"].say(h.STUFFED)


def _rx_end(_):
    import fax_helpers as h
    r = U["rig"]
    r.say("\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + h.OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + h.OK)
    print("w32: fax received, code %s, page intact %s" % (r.end()["code"], U["sink"].pages[0] == h.PAGE))
    U["rig"] = U["sink"] = None


def _nothing(_):
    pass


def _plug(addr):
    """Fill every free block below `addr` (the start of the largest free run, found by the
    runner in micropython.mem_info(1)'s block map) with one-block tuples, kept: the unit then
    starts on one fresh run, as beside frozen code (tools/bench/_hook.py plug() on the unix
    port). First fit: each allocation takes the lowest free block."""
    node = None
    for _ in range(200000):
        node = (node,)
        if id(node) >= addr:
            break
    U["plug"] = node


def _plan():
    """[(label, fn, arg, count)]: a step of count > 1 is run count times with arg 0, 1, ..."""
    p = [("start", _nothing, 0, 1)]
    p += [("import " + m, _import, m, 1) for m in CFG["mods"]]
    p.append(("code", _nothing, 0, 1))
    if CFG["phase"] == "code":
        return p
    p += [("import fax_helpers", _import, "fax_helpers", 1), ("helpers", _nothing, 0, 1)]
    if CFG["phase"] == "plug":
        p.append(("plug", _plug, 0, 1))
    p += [
          ("live config.load", _config, 0, 1), ("live registry (deep_check)", _registry, 0, 1),
          ("live Unit.__init__: state, Class 2 driver, jobs", _unit, 0, 1),
          ("live MQTT link: session, outbox over flash, seen, spool", _link, 0, 1),
          ("live CAFIS checker", _checker, 0, 1), ("live jobs.recover, config.slim", _recover, 0, 1),
          ("idle", _nothing, 0, 1), ("link up", _link_up, 0, 1), ("telegrams opened", _tels, 0, 1),
          ("telegram", _telegram, None, CFG.get("telegrams", 1000)),
          ("verdicts acknowledged", _verdicts, 0, 1),
          ("fax tx rig", _tx_rig, 0, 1), ("fax tx dial", _tx_dial, 0, 1), ("fax tx connect", _tx_connect, 0, 1),
          ("fax tx page", _tx_page, 0, 1), ("fax tx end", _tx_end, 0, 1),
          ("fax rx rig", _rx_rig, 0, 1), ("fax rx answer", _rx_answer, 0, 1), ("fax rx page", _rx_page, 0, 1),
          ("fax rx end", _rx_end, 0, 1), ("end", _nothing, 0, 1)]
    return p


PLAN = _plan()


def _at(i):
    for label, fn, arg, n in PLAN:
        if i < n:
            if arg is None:
                arg = i
                if i % 8 == 7:
                    label = "telegram, then the outbox published and acknowledged"
            return label, fn, arg
        i -= n


def plan():
    n = 0
    for label, _fn, arg, k in PLAN:
        for j in range(k):
            print("w32: plan %d %s" % (n, _at(n)[0]))
            n += 1
    print("w32: steps %d" % n)


def step(i, a=None):
    _label, fn, arg = _at(i)
    fn(arg if a is None else a)
    print("w32: top %d %d" % (i, gc.mem_alloc()))
    gc.collect()        # on the webassembly port: done when this call returns to JavaScript


def held(i):
    print("w32: held %d %d" % (i, gc.mem_alloc()))
    print("w32: size %d %d" % (i, gc.mem_alloc() + gc.mem_free()))   # grows with the heap


def main():
    """The unix port: the runner's loop in one call (its collector runs inside a call)."""
    plan()
    gc.collect()
    held(-1)
    for i in range(sum(p[3] for p in PLAN)):
        step(i)
        gc.collect()
        held(i)
    print("w32: done")


if sys.platform != "webassembly":
    main()
