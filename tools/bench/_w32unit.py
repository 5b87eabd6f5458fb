"""The 32-bit probe's unit and broker (tools/bench/_w32probe.py, shipped beside it as w32unit):
w32.json, what the steps keep (U), the plan's cursor (_S), the unit's boot steps, the scripted
broker behind the link (_Wire, _ack, _broker), the telegrams, the finished jobs and the reboot,
the running unit's frames and streams, the plug. MicroPython; imported by the probe after the
port's stand-ins. Not a benchmark itself."""
import gc
import json
import socket
import sys

with open("w32.json") as _f:
    CFG = json.load(_f)
U = {}          # what the steps build and keep: unit, link, rigs
_S = [0, 0, -1, 0, 0]   # the cursor: plan entry, its run; the broker's state (-1: idle), now, rounds
_NOW = 2000                 # the link's clock after the telegrams (ms; nothing times out)


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
    u.checker = None            # the registry deep_check loaded, until run() makes the Checker
    u.link = u._link()


def _checker(_):
    from faxbridge.core.cafis import checks
    U["unit"].checker = checks.Checker(U.pop("registry"))


def _slim(_):
    from faxbridge.app import config
    config.slim(U["unit"].cfg)      # as Unit.run: the boot-only sections freed before the recovery


def _recover(_):
    from faxbridge.core.fax.jobboot import recover   # as Unit.run: imported where it is called
    u = U["unit"]
    recover(u.jobs, u.port.time())


# ---- the scenario on that unit
class _Wire:
    """The connection as the link's _flush and rx.send write to it: each PUBLISH's packet id
    noted (the broker acknowledges it), the bytes dropped. A packet's fixed header, topic and
    packet id come in one write; its payload may follow in any number of writes."""

    def __init__(self):
        self.pids = []
        self.left = 0               # bytes of the current packet still to come

    def write(self, b):
        i, n = 0, len(b)
        while i < n:
            if self.left:
                k = min(self.left, n - i)
                self.left -= k
                i += k
                continue
            t = b[i]
            j, rl, sh = i + 1, 0, 0
            while True:
                rl |= (b[j] & 0x7F) << sh
                j += 1
                if not b[j - 1] & 0x80:
                    break
                sh += 7
            if t >> 4 == 3 and (t >> 1) & 3:                 # PUBLISH, QoS 1 or 2
                p = j + 2 + ((b[j] << 8) | b[j + 1])
                self.pids.append((b[p] << 8) | b[p + 1])
            self.left = rl
            i = j

    async def drain(self):
        pass


def _ack(ln, now):
    """The broker from the next step on (_broker): the outbox pumped, the link's own _flush
    writing each event from flash into _Wire, every PUBLISH acknowledged, the link handling
    the PUBACKs; until nothing is left. The plan goes on when it is done."""
    s = _S
    s[2], s[3], s[4] = 0, now, 0


def _broker():
    """One step of the broker (_ack): one call of the unit's own, as its driver and reader make
    them (Link.run): outbox.pump; Link._flush (what session.take() gives, in one write); one
    PUBACK fed to the session and Link._handle, a step each; outbox.poll at the end. Up to 200
    rounds of pump, flush and PUBACKs while the outbox is not empty."""
    s = _S
    ln = U["unit"].link
    ph, now = s[2], s[3]
    if ph == 0:
        ln.outbox.pump(ln.session, ln.root, now)
        s[2] = 1
    elif ph == 1:
        co = ln._flush()
        try:
            co.send(None)
        except StopIteration:
            pass
        s[2] = 2
    elif ph == 2:
        w = ln._c.pids
        if w:
            from faxbridge.core.mqtt import codec
            ln.session.feed(codec.encode_puback(w.pop(0)), now)
        ln._handle(now)
        if not w:
            s[4] += 1
            s[2] = 0 if ln.outbox.depth() and s[4] < 200 else 3
    else:
        ln.outbox.poll(now, True)
        s[2] = -1


_BROKER = ("broker: outbox.pump", "broker: Link._flush", "broker: a PUBACK fed, Link._handle",
           "broker: outbox.poll, the acks committed", "broker: Link._handle")


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
    bench unit's), its verdict through the outbox on flash; after every 8th the broker
    acknowledges what was published (_ack: the steps that follow)."""
    u = U["unit"]
    f = U["tels"]
    n = f.read(2)
    u.telegram(f.read((n[0] << 8) | n[1]), "center", "A", "mqtt")
    if i % 8 == 7:
        _ack(u.link, 1 + i // 8)


def _tels_closed(_):
    U.pop("tels").close()
    _ack(U["unit"].link, 1000)


def _verdicts(_):
    u = U["unit"]
    print("w32: verdicts %s; left in the outbox %d" % (json.dumps(u.counters["verdicts"]), u.link.outbox.depth()))


# ---- 100 finished jobs on flash (as _scenario.prepare_jobs: to a busy number, retries 0),
# then a reboot: the unit's objects dropped, its boot objects built again over those records
def _job(k):
    """Job k // 4's part k % 4 (_JOB): its page spooled (as the cmd/fax intake writes it);
    Jobs.submit (the command's last byte); next_due and start_call (the modem pass that starts
    the call); end_call, busy (the call's end). After every 8th job the broker acknowledges
    what was published (_ack)."""
    u = U["unit"]
    sp = u.link.spool
    i, part = k >> 2, k & 3
    jid = "j%03d" % i
    if part == 0:
        sp.begin_page(0, "text")
        sp.write(("job %d" % i).encode())
        sp.end_page()
    elif part == 1:
        assert u.jobs.submit(jid, "5550199", sp.pages, i, u.port.time()) is None
        sp.clear()
    elif part == 2:
        job = u.jobs.next_due(u.port.time())
        assert job is not None and job["id"] == jid, job
        u.jobs.start_call(job, u.port.time())
    else:
        job = u.jobs.find(jid)
        u.jobs.end_call(job, 263, (("reason", "busy"),), 0, u.port.time())
        assert not u.jobs.jobs, u.jobs.jobs
        if i % 8 == 7:
            _ack(u.link, _NOW)


_JOB = ("job: its page spooled", "job: Jobs.submit", "job: next_due, start_call", "job: end_call, busy")


def _drop(_):
    """As a SIGKILL: every object of the unit let go, nothing closed; what is on flash stays."""
    U.clear()


def _after(_):
    """One telegram answered after the reboot (its verdict acknowledged: _ack)."""
    u = U["unit"]
    with open(CFG["flash"] + "tels.bin", "rb") as f:
        n = f.read(2)
        u.telegram(f.read((n[0] << 8) | n[1]), "center", "A", "mqtt")
    _ack(u.link, _NOW)


def _answered(_):
    u = U["unit"]
    assert sum(u.counters["verdicts"].values()) == 1 and not u.link.outbox.depth()
    print("w32: after the reboot: boot %d, %d jobs open, a verdict %s" % (
        u.state["boots"], len(u.jobs.jobs), json.dumps(u.counters["verdicts"])))


def _running(_):
    """What the running unit adds to the idle one, as far as this port can make it: the
    coroutine frames and tasks of Unit.run (main.py's asyncio.run), made and kept but not run
    (no event loop here): the main task and Unit.run's frame, its tasks (_periodic, Link.run,
    FaxLine.run, _telegram_line) under Unit.run's gather; Link.run's connection tasks (_reader,
    _ticker) and its wait on _wake; FaxLine.run's three tasks (reader, _tick, _drive) under their
    gather, _drive's wait on wake. A frame is whole when its coroutine is made. Not here: the
    streams, sockets, the UART and asyncio's poller (no such objects on this port)."""
    import asyncio
    u = U["unit"]
    ln, fx = u.link, u.fax

    def ct(co):
        # a Task as asyncio.create_task makes it, not queued: the webassembly port's event loop
        # would run a queued task from JavaScript
        return asyncio.core.Task(co, asyncio.core.__dict__)
    ts = [ct(u._periodic(None, 500, 60)), ct(ln.run()), ct(fx.run()), ct(u._telegram_line(None, None))]
    fts = (ct(fx.reader(None)), ct(fx._tick()), ct(fx._drive(None)))
    U["running"] = (ct(u.run()), asyncio.gather(*ts), ts, fts, asyncio.gather(*fts),
                    ct(ln._reader(None)), ct(ln._ticker(None)), ln._wake.wait(), fx.wake.wait())


def _streams(_):
    """The running unit's connection and lines, on the unix port only (the webassembly port has
    no socket and no asyncio.stream: nothing here): the MQTT connection (a socket in
    transport.Conn), the modem's and the telegram line's streams (asyncio.StreamReader over a
    file, as ports/unix/port.py opens them; a machine.UART on the board), each registered with
    asyncio's poller for its reader task (Link._reader, FaxLine.reader, Unit._telegram_line), as
    a read that waits leaves it."""
    if sys.platform == "webassembly":
        return
    import asyncio
    from asyncio import core
    from faxbridge.app import transport
    sk = socket.socket()
    f = open(CFG["flash"] + "config.json", "rb")
    g = open(CFG["flash"] + "registry.json", "rb")
    r = U["running"]
    q = core._io_queue
    for io, task in ((sk, r[5]), (f, r[3][0]), (g, r[2][3])):
        core.cur_task = task
        q._enqueue(io, 0)
    core.cur_task = None
    U["streams"] = (sk, transport.Conn(sk), f, asyncio.StreamReader(f), g, asyncio.StreamReader(g))


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

