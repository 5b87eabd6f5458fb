"""The 32-bit probe (tools/bench/w32.py): the unit's imports, its boot objects and the
widened scenario (w32.py's docstring) as a plan of small steps, run on MicroPython's
webassembly port (wasm32) and, for comparison, on the 64-bit unix port, on the same files. Not
a benchmark itself.

The webassembly port collects only between calls from JavaScript (gc.collect() inside a call is
deferred; with no room the heap grows instead), so its runner (w32.py's run.mjs) calls step(i)
for each step of the plan, then collects, then held(i). The unix port runs main(): the same
steps and prints. Reads w32.json in the current folder: {"phase": "code" | "scenario" |
"plug" | "running" (the boot, then _running), "mods": [...], "flash": "<dir>/", "telegrams": n} (optional: "tx_passes",
"rx_passes", "jobs"). A step is one call the unit makes in one go (docs/bench.md, "Step
granularity"); the broker takes steps of its own between the plan's (_ack, _broker), so the
plan is walked by a cursor and each step names the next: `w32: plan <i> <label>` (step 0's by
plan(), then each step's after its `w32: top <i> <bytes>`: gc.mem_alloc() as the step ends,
garbage included), `w32: steps <n>` after the last; `w32: held <i> <bytes>` (after the
collection), `w32: size <i> <bytes>` (allocated + free: it changes when the heap grows);
`w32: done` at the end on the unix port (the runner prints it on the webassembly port).
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


# ---- a 256 KB cmd/fax through the link's own intake, its job sent by the unit's own driver
# from the pages on flash, a fax received into app/rx.RxSink (docs/bench.md)
_NOW = 2000                 # the link's clock after the telegrams (ms; nothing times out)


def _cmd_open(_):
    """The cmd/fax PUBLISH as the broker sends it (w32.py wrote it: fixed header, topic,
    packet id, then the payload of tools/bench/_scenario.big_fax), read from flash."""
    U["pub"] = open(CFG["flash"] + "fax.pub", "rb")


def _cmd_read(_):
    """One socket read into the link's own buffer, fed to its session (link._reader's loop):
    the inbox streams the cmd/fax through faxcmd.Parser into the spool; at its last byte
    Unit._on_command -> Jobs.submit (app/pages.count over the spool files) answers it."""
    f = U.get("pub")
    if f is None:
        return
    ln = U["unit"].link
    ib = ln                 # the link is its inbox (app/inbox.Inbox is its base class)
    buf = ln.rxbuf
    mv = memoryview(buf)
    k = ib.keep
    n = f.readinto(mv[k:] if k else buf)
    if not n:
        f.close()
        U["pub"] = None
        return
    ib.at = k
    ib.end = k + n
    ln.session.feed(mv[k:k + n], _NOW)
    ib.at = -1
    ln._handle(_NOW)


def _cmd_accepted(_):
    """The job taken (state new, its -1 the answer): its documents are counted by the modem
    task on the idle line (Jobs.next_due, the first modem pass), not at intake."""
    u = U["unit"]
    assert U.get("pub") is None, "the cmd/fax was not read to its end"
    job = u.jobs.find("big")
    assert job is not None and job["state"] == "new", job
    _ack(u.link, _NOW)


def _cmd_answered(_):
    u = U["unit"]
    print("w32: cmd/fax %d documents accepted; spool left %d" % (
        len(u.jobs.find("big")["kinds"]), len(u.link.spool.pages)))


_OK = b"\r\nOK\r\n"
_RX = b'\r\n+FCON\r\n\r\n+FTSI:"  +81 3 1234"\r\n\r\n+FDCS:1,3,0,2,0,0,0,0\r\n' + _OK


class _Modem:
    """The modem behind the unit's own FaxLine and driver (app/faxline.py), scripted as
    host_tests/core's Class 2 dialogues: what the driver writes is answered through
    FaxLine.feed (the modem task's reader), the events go to FaxLine.events. The data of the
    last page sent is kept on flash and is the fax received later."""

    def __init__(self, fl):
        self.fl = fl
        self.pages = 0           # pages whose data began (AT+FDT answered)
        self.last = 0            # the page to keep: the job's last
        self.fdr = 0
        self.cap = None          # that page's data, as written
        self.src = None          # a reception's page data, read from there
        self.busy = 0            # passes that did something
        self.reply = None        # the modem's answer, read in the next step

    def say(self, b):
        """The modem's bytes through FaxLine.feed (the modem task's reader), then the driver
        polled."""
        fl = self.fl
        fl.feed(b)
        fl.driver.poll(U["unit"].mono())

    def answer(self, o):
        if o[:3] == b"ATD":
            r = b"\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n" + _OK
        elif o[:6] == b"AT+FDT":
            self.pages += 1
            if self.pages == self.last:
                self.cap = open(CFG["flash"] + "page.g3", "wb")
            r = b"\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n\x11"
        elif o[:8] == b"AT+FET=0":
            r = b"\r\n+FPTS:1\r\n" + _OK
        elif o[:6] == b"AT+FET":
            r = b"\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + _OK
        elif o[:3] == b"ATA":
            r = _RX
        elif o[:6] == b"AT+FDR":
            self.fdr += 1
            r = b"\r\n+FCFR\r\n\r\nCONNECT\r\n" if self.fdr == 1 else b"\r\n+FHNG:0\r\n" + _OK
        elif o == b"\x12":      # DC2: the page data follows
            self.src = open(CFG["flash"] + "page.g3", "rb")
            return
        else:                   # initialisation
            r = _OK
        self.reply = r

    def step(self):
        """One pass of the modem task (FaxLine._drive): poll, start the job due, write one
        output of the driver (a command, or a chunk of page data: _drive awaits the drain after
        each), the events; or the modem's answer to it, read (FaxLine.reader: FaxLine.feed, then
        the driver polled); or one UART read of page data received (FaxLine.reader, its own
        buffer). True when it had nothing to do (the call over, the modem initialised): the
        plan's passes end there."""
        u = U["unit"]
        fl = self.fl
        m = fl.driver
        now = u.mono()
        self.busy += 1
        if self.reply is not None:      # the modem's answer to what the last pass wrote
            b = self.reply
            self.reply = None
            self.say(b)
            return False
        if self.src is not None:
            n = self.src.readinto(fl._buf)
            if n:
                fl.feed(memoryview(fl._buf)[:n])
            else:
                self.src.close()
                self.src = None
                self.reply = b"\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + _OK
            fl.events()
            return False
        m.poll(now)
        if fl.active is None and m.ready():
            fl._start(now)      # the modem task's own start: the first page opened, then the dial
            if fl.active is not None:
                self.last = fl.active["n"]
        data = m.state_name() == "txdata"
        o = m.next_output(now)
        idle = False
        if not o:
            idle = fl.active is None and m.ready()
        elif not data and o[:2] == b"AT" or o == b"\x12":
            self.answer(bytes(o))
        else:
            if self.cap is not None:
                self.cap.write(o)
            if m.state_name() != "txdata" and not m._wq:      # DLE ETX written: the page ends
                if self.cap is not None:
                    self.cap.close()
                    self.cap = None
                self.reply = _OK
        if idle:
            self.busy -= 1      # nothing to do: the call is over, the modem initialised
        fl.events()
        if u.link.outbox.depth():
            _ack(u.link, _NOW)
        return idle


def _line_start(_):
    u = U["unit"]
    U["modem"] = _Modem(u.fax)
    u.fax.driver.start(u.mono())


def _modem(_):
    return U["modem"].step()


def _call_over(_):
    u = U["unit"]
    m = u.fax.driver
    assert m.state_name() == "idle" and u.fax.active is None and not u.jobs.jobs, (m.state_name(), u.jobs.jobs)
    _ack(u.link, _NOW)


def _sent(_):
    c = U["unit"].counters
    print("w32: fax sent %d, failed %d, pages %d; modem passes %d" % (
        c["fax_sent"], c["fax_failed"], c["tx_pages"], U["modem"].busy))
    U["modem"].busy = 0
    assert c["fax_sent"] == 1 and c["tx_pages"] == U["modem"].last


def _ring(_):
    md = U["modem"]
    md.say(b"\r\nRING\r\n")
    md.say(b"\r\nRING\r\n")


def _page_in(_):
    u = U["unit"]
    assert u.fax.driver.state_name() == "idle" and U["modem"].src is None
    _ack(u.link, _NOW)          # the page streamed from flash, then fax/received


def _received(_):
    import os
    u = U["unit"]
    left = os.listdir(u.flash + "rx")
    print("w32: fax received %d, pages published %d, left in rx/: %s; modem passes %d" % (
        u.counters["rx_faxes"], u.link.files_done, left, U["modem"].busy))
    assert u.counters["rx_faxes"] == 1 and u.link.files_done == 1
    os.remove(CFG["flash"] + "page.g3")
    U["modem"] = None


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


def _reads():
    """Socket reads of the cmd/fax file (the link's buffer, mqtt.rx_buffer, 2048 by default)."""
    import os
    try:
        return os.stat(CFG["flash"] + "fax.pub")[6] // 2048 + 2
    except OSError:
        return 0


def _plan():
    """[(label, fn, arg, count)]: a step of count > 1 is run count times with arg 0, 1, ...
    (arg None) or arg; a tuple of labels names the runs in turn. Between any two steps the
    broker may take steps of its own (_ack, _broker): the plan is walked by a cursor (_S)."""
    p = [("start", _nothing, 0, 1)]
    p += [("import " + m, _import, m, 1) for m in CFG["mods"]]
    p.append(("code", _nothing, 0, 1))
    if CFG["phase"] == "code":
        return p
    p.append(("helpers", _nothing, 0, 1))
    if CFG["phase"] == "plug":
        p.append(("plug", _plug, 0, 1))
    p += [
          ("live config.load", _config, 0, 1), ("live registry (deep_check)", _registry, 0, 1),
          ("live Unit.__init__: state, Class 2 driver, jobs", _unit, 0, 1),
          ("live MQTT link: session, outbox over flash, seen, spool", _link, 0, 1),
          ("live CAFIS checker", _checker, 0, 1), ("live config.slim", _slim, 0, 1),
          ("live jobs.recover", _recover, 0, 1),
          ("idle", _nothing, 0, 1)]
    if CFG["phase"] == "running":
        return p + [("running: frames and tasks", _running, 0, 1),
                    ("running: connection and line streams (unix port)", _streams, 0, 1), ("end", _nothing, 0, 1)]
    p += [("link up", _link_up, 0, 1), ("telegrams opened", _tels, 0, 1),
          ("telegram", _telegram, None, CFG.get("telegrams", 1000)),
          ("telegrams closed", _tels_closed, 0, 1), ("verdicts acknowledged", _verdicts, 0, 1),
          ("cmd/fax opened", _cmd_open, 0, 1), ("cmd/fax read", _cmd_read, 0, _reads()),
          ("cmd/fax accepted", _cmd_accepted, 0, 1), ("cmd/fax answered", _cmd_answered, 0, 1),
          ("fax line start", _line_start, 0, 1), ("modem pass, sending", _modem, 0, CFG.get("tx_passes", 2000)),
          ("fax call over", _call_over, 0, 1), ("fax sent", _sent, 0, 1), ("fax rx ring", _ring, 0, 1),
          ("modem pass, receiving", _modem, 0, CFG.get("rx_passes", 2000)),
          ("fax page in", _page_in, 0, 1), ("fax received", _received, 0, 1),
          (_JOB, _job, None, 4 * CFG.get("jobs", 100)), ("reboot: the unit dropped", _drop, 0, 1),
          ("reboot config.load", _config, 0, 1), ("reboot registry (deep_check)", _registry, 0, 1),
          ("reboot Unit.__init__", _unit, 0, 1), ("reboot MQTT link", _link, 0, 1),
          ("reboot CAFIS checker", _checker, 0, 1), ("reboot config.slim", _slim, 0, 1),
          ("reboot jobs.recover", _recover, 0, 1), ("reboot idle", _nothing, 0, 1),
          ("reboot: link up", _link_up, 0, 1), ("reboot: a telegram", _after, 0, 1),
          ("reboot: a telegram answered", _answered, 0, 1), ("end", _nothing, 0, 1)]
    return [e for e in p if e[3]]


PLAN = _plan()
_S = [0, 0, -1, 0, 0]   # the cursor: plan entry, its run; the broker's state (-1: idle), now, rounds


def _label():
    """The name of the step that runs next (None: the plan is over)."""
    s = _S
    if s[2] >= 0:
        return _BROKER[4 if s[2] == 2 and not U["unit"].link._c.pids else s[2]]
    if s[0] == len(PLAN):
        return None
    label = PLAN[s[0]][0]
    return label[s[1] % len(label)] if type(label) is tuple else label


def plan():
    """Start the plan: prints the first step's name (each step prints the next one's)."""
    _S[:] = [0, 0, -1, 0, 0]
    print("w32: plan", 0, _label())


def step(i, a=None):
    """Step i: the broker's next call while it has work, else the plan's next step; then
    `w32: top`, and the next step's name, or `w32: steps` when none is left. No print here
    allocates (a formatted string would be counted in the next step)."""
    s = _S
    if s[2] >= 0:
        _broker()
    else:
        _label_, fn, arg, n = PLAN[s[0]]
        done = fn(s[1] if arg is None else arg if a is None else a) is True
        s[1] += 1
        if s[1] == n or done:       # a step that says it is done ends its repetitions
            s[0] += 1
            s[1] = 0
    print("w32: top", i, gc.mem_alloc())
    gc.collect()        # on the webassembly port: done when this call returns to JavaScript
    nxt = _label()
    if nxt is None:
        print("w32: steps", i + 1)
    else:
        print("w32: plan", i + 1, nxt)


def held(i):
    print("w32: held", i, gc.mem_alloc())
    print("w32: size", i, gc.mem_alloc() + gc.mem_free())   # grows with the heap


def main():
    """The unix port: the runner's loop in one call (its collector runs inside a call)."""
    plan()
    gc.collect()
    held(-1)
    i = 0
    while _label() is not None:
        step(i)
        gc.collect()
        held(i)
        i += 1
    print("w32: done")


if sys.platform != "webassembly":
    main()
