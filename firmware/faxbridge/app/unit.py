"""The unit: asyncio tasks wiring the cores to a port (docs/unit.md).

Tasks: MQTT link; modem (Class 2 driver, a queue of fax jobs, auto-answer); telegram intake
(the board's second UART; cmd/telegram arrives through the link); telemetry; watchdog feed;
housekeeping (config file watch for a raised page quota). stop() ends them all.
"""
import gc
import os

import asyncio

from faxbridge.app import pages as pagesmod
from faxbridge.app.clock import Monotonic
from faxbridge.app.jobs import DUPLICATE, Jobs, JobStore
from faxbridge.app.rx import RxSink, prune as rx_prune
from faxbridge.app.store import load_json, save_json, makedirs, rmtree
from faxbridge.core.fax import dial
from faxbridge.core.fax.quota import Quota
from faxbridge.core.mqtt import commands, contract
from faxbridge.core.mqtt.outbox import OutboxFull


def log(*a):
    print("faxbridge:", *a)


def driver_config(cfg):
    """The Class 2 driver's configuration: complete and validated by app/config.py."""
    from faxbridge.app import config
    return config.driver(cfg)


def load_registry(cfg, flash):
    """The CAFIS registry (file on flash or inline object), or None when not configured."""
    from faxbridge.core.cafis import registry
    src = cfg["cafis"]["registry"]
    if src is None:
        return None
    lay = cfg["cafis"]["layouts"]
    if isinstance(src, str):
        with open(flash + src) as f:          # parsed as it is read, never held whole
            if lay is None:
                return registry.load(f)
            import json
            src = json.load(f)
    if lay is not None:
        if isinstance(lay, str):
            import json
            with open(flash + lay) as f:
                lay = json.load(f)
        if isinstance(src, dict):
            src["layouts"] = lay
    return registry.load(src)


def deep_check(cfg, flash):
    """Errors the schema cannot see: the driver refusing its (schema-checked) options, the
    CAFIS registry. Returns (errors, registry): the registry loaded here is the one the unit
    runs with (Unit(port, cfg, registry)), not loaded a second time (a second copy, and the
    holes the first leaves, at boot: docs/bench.md)."""
    errors = []
    reg = None
    try:
        from faxbridge.core.fax.class2 import Class2
        Class2(driver_config(cfg))
    except (ValueError, TypeError) as e:
        errors.append("modem: %s" % e)
    try:
        reg = load_registry(cfg, flash)
    except OSError as e:
        errors.append("cafis.registry: cannot read (%s)" % e)
    except ValueError as e:
        errors.append("cafis.registry: %s" % e)
    return errors, reg


class Unit:
    def __init__(self, port, cfg, registry=None):
        """registry: the CAFIS registry deep_check() loaded (None: loaded by run())."""
        self.port = port
        self.cfg = cfg
        self._registry = registry
        self.exit_code = 0
        self.mono = Monotonic(port.ticks_ms)
        self.flash = port.flash
        self._stop = asyncio.Event()
        self._modem_wake = asyncio.Event()
        self.state_path = self.flash + "state.json"
        st = load_json(self.state_path, {}) or {}
        self.state = {"boots": st.get("boots", 0) + 1, "rx": st.get("rx", 0),
                      "quota": st.get("quota")}
        q = cfg["quota"]
        self.quota = Quota(q["pages_per_day"], q["hold_s"])
        self.quota.restore(self.state["quota"])
        self._save_state()
        self.store = JobStore(self.flash + "jobs")
        self.link = None
        self.modem = None
        self.modem_state = "off"
        self.active = None          # the job record on the line
        self.rx = None
        self.counters = {"telegrams": 0, "verdicts": {}, "rx_faxes": 0, "tx_pages": 0,
                         "fax_sent": 0, "fax_failed": 0}
        self.registry = None
        self.checker = None
        self.wdt = None
        self._cfg_stat = None
        dcfg = driver_config(cfg)
        self._dcfg = dcfg
        self.jobs = Jobs(cfg, self.store, self._emit_status, self.quota, self._check_number,
                         self._check_page)

    # ---- helpers
    def now(self):
        return self.port.time()

    def _save_state(self):
        self.state["quota"] = self.quota.state()
        save_json(self.state_path, self.state)

    def _emit_status(self, fields):
        self.link.event(contract.FAX_STATUS, fields)
        final = code = None
        for k, v in fields:
            if k == "final":
                final = v
            elif k == "code":
                code = v
        if final:
            self.counters["fax_sent" if code == 0 else "fax_failed"] += 1

    def _check_number(self, number):
        d = self._dcfg
        return dial.check(number, d["deny"], d["allow"], d["max_len"], d["outside_prefixes"], d["country"])

    def _check_page(self, kind, path):
        return pagesmod.count(kind, path, self._dcfg["station_id"])

    async def shutdown(self):
        """After Ctrl-C stopped the loop: publish `offline` and disconnect politely."""
        if self.link is not None:
            try:
                await asyncio.wait_for(self.link.stop(), 3)
            except Exception as e:
                log("link stop: %r" % (e,))

    def stop(self, code=0):
        self.exit_code = code
        self._stop.set()

    # ---- boot and run
    async def run(self):
        cfg = self.cfg
        log("unit %s starting on the %s port (boot %d)" % (cfg["unit_id"], self.port.name, self.state["boots"]))
        self.wdt = self.port.watchdog(cfg["watchdog"]["timeout_ms"])
        tasks = [asyncio.create_task(self._watchdog())]
        await self.port.start_network(cfg, log)
        self._start_link()
        self.registry = self._registry if self._registry is not None else load_registry(cfg, self.flash)
        self._registry = None
        if self.registry is not None:
            from faxbridge.core.cafis import checks
            self.checker = checks.Checker(self.registry)
        self.jobs.recover(self.now())
        from faxbridge.app import config
        config.slim(cfg)             # the boot-only sections, now built into their objects
        tasks.append(asyncio.create_task(self._guard("mqtt", self.link.run())))
        tasks.append(asyncio.create_task(self._guard("modem", self._modem_task())))
        tasks.append(asyncio.create_task(self._guard("telemetry", self._telemetry())))
        tasks.append(asyncio.create_task(self._guard("housekeeping", self._housekeeping())))
        tel = self.port.open_telegram(cfg["telegram"]) if cfg["telegram"]["enabled"] else None
        if tel is not None:
            tasks.append(asyncio.create_task(self._guard("telegram", self._telegram_line(tel[0], tel[1]))))
        log("running: %d jobs open" % len(self.jobs.jobs))
        try:
            await self._stop.wait()
        finally:
            log("stopping")
            try:
                await asyncio.wait_for(self.link.stop(), 3)
            except Exception as e:
                log("link stop: %r" % (e,))
            for t in tasks:
                t.cancel()
            await asyncio.sleep_ms(20)

    async def _guard(self, name, coro):
        """Run one task; if it dies (MemoryError, a bug), stop the unit with exit code 3 so the
        board resets (main.py) instead of running on without it. Jobs and events are on flash."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:
            import sys
            log("task %s died: %r: restarting the unit" % (name, e))
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
            self.stop(3)

    def _start_link(self):
        from faxbridge.app.link import Link
        from faxbridge.app.outbox_store import FileStore
        from faxbridge.app.seen import Seen
        from faxbridge.app.spool import Spool
        from faxbridge import VERSION
        m = self.cfg["mqtt"]
        ha = self.cfg["ha"]
        fl = self.flash
        makedirs(fl + "spool")
        makedirs(fl + "outbox")
        self.link = Link(self.cfg["unit_id"], m["host"], m["port"],
                         FileStore(fl + "outbox", max_record=m["outbox_record"]),
                         prefix=m["prefix"], username=m["username"], password=m["password"],
                         tls=bool(m["tls"]), ca=(fl + m["ca"]) if m["ca"] else None,
                         cert=(fl + m["cert"]) if m["cert"] else None,
                         key=(fl + m["key"]) if m["key"] else None, server_name=m["server_name"],
                         keepalive=m["keepalive_s"], clean=m["clean"], rx_buffer=m["rx_buffer"],
                         capacity=m["capacity"], answer_reserve=m["answer_reserve"],
                         default_sender=self.cfg["telegram"]["sender"], on_error=self._link_error,
                         seen=Seen(fl + "seen", m["seen"]), spool=Spool(fl + "spool"),
                         discovery=(ha["prefix"], VERSION) if ha["discovery"] else None)
        self.link.on_command = self._on_command

    def _link_error(self, text):
        log("mqtt:", text)

    # ---- commands (called by the link; raise CommandError for cmd/error)
    def _on_command(self, cmd):
        if isinstance(cmd, commands.Fax):
            why = self.jobs.submit(cmd.job, cmd.number, cmd.pages, cmd.digest, self.now())
            if why is None:
                self._modem_wake.set()
            elif why != DUPLICATE:   # a duplicate: the original answer stands
                reason = commands.BUSY if why.startswith("queue full") else commands.REJECTED
                raise commands.CommandError(reason, why, cmd.job)
        elif isinstance(cmd, commands.Cancel):
            why = self.jobs.cancel(cmd.job, self.now())
            if why == "call":
                if self.modem is not None and self.active is not None and self.active["id"] == cmd.job:
                    self.modem.cancel(self.mono())
                    self._modem_wake.set()
            elif why:
                raise commands.CommandError(commands.REJECTED, why, cmd.job)
        elif isinstance(cmd, commands.Telegram):
            self.telegram(cmd.data, cmd.sender, self.cfg["telegram"]["center"] or None, "mqtt", cmd.ref)

    # ---- CAFIS
    def telegram(self, data, sender, center, source, ref=None):
        """Check one telegram and emit its verdict on cafis/verdict. ref: the sender's ref
        (cmd/telegram/<sender>/<ref>); without one the unit makes <source>-<boot>-<n>."""
        self.counters["telegrams"] += 1
        if ref is None:
            ref = "%s-%d-%d" % (source, self.state["boots"], self.counters["telegrams"])
        if self.checker is None:
            self.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(
                ref, "discard", None, None, None, "no CAFIS registry configured"))
            return
        v = self.checker.check(data, sender, center)
        c = self.counters["verdicts"]
        c[v.kind] = c.get(v.kind, 0) + 1
        detail = None
        if v.kind == "abnormal_report":
            rep = self.checker.report(data, v)
            detail = rep if rep else None
        self.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(ref, v.kind, v.code, v.rule, v.field, detail))

    async def _telegram_line(self, reader, writer):
        """Telegrams on the second UART: framing and hex in core/cafis/line.py (docs/unit.md)."""
        from faxbridge.core.cafis.line import Line
        tc = self.cfg["telegram"]
        ln = Line(tc["sender"], tc["center"])
        buf = bytearray(256)
        mv = memoryview(buf)
        while True:
            n = await reader.readinto(buf)
            if not n:
                await asyncio.sleep_ms(50)
                continue
            for t in ln.feed(mv[:n]):
                self.uart_telegram(t)

    def uart_telegram(self, t):
        """One UART line's outcome (core/cafis/line.py): its verdict, or cmd/error. The UART
        cannot be held off: when the outbox is full the answer is dropped and logged (an
        exception here would restart the unit)."""
        sender, center, data = t
        try:
            if sender is None:
                self.link.event(contract.CMD_ERROR, contract.cmd_error("telegram", center, data))
            else:
                self.telegram(data, sender, center, "uart")
        except OutboxFull as e:
            log("uart telegram: %s not sent (%s)" % ("verdict" if sender else "cmd/error", e))

    # ---- modem
    def _open_page(self, index):
        job = self.active
        p = None if job is None else self.jobs.page(job, index)
        if p is None:
            return None
        d = self._dcfg
        return pagesmod.FilePage(p[0], p[1], p[2],
                                 bps=self.modem.cfg["max_rate"], st=self.modem.cfg["scan_time"],
                                 station=d["station_id"], stamp=pagesmod.when(job["created"]))

    def _rx_sink(self):
        r = self.cfg["rx"]
        rx_prune(self.flash + "rx/", r["keep"], r["max_kb"] * 1024)
        self.state["rx"] += 1
        self._save_state()
        fax_id = "rx%d-%d" % (self.state["boots"], self.state["rx"])
        self.rx = RxSink(self.flash + "rx/", fax_id)
        return self.rx

    async def _modem_task(self):
        from faxbridge.core.fax.class2 import Class2
        mcfg = self.cfg["modem"]
        try:
            reader, writer = self.port.open_modem(mcfg)
        except OSError as e:
            log("modem: cannot open %s (%s)" % (mcfg.get("path"), e))
            self.modem_state = "absent"
            while True:          # no modem: jobs cannot wait for one (205001, spec/fax.md)
                self.jobs.fail_waiting(205001, "modem cannot be opened: %s" % e)
                await self._modem_wake.wait()
                self._modem_wake.clear()
        m = Class2(self._dcfg, self._rx_sink)
        await self._modem_recover(reader, writer, m)
        self.modem = m
        m.start(self.mono())
        rt = asyncio.create_task(self._modem_reader(reader, m))
        unready = self.mono()
        try:
            while True:
                now = self.mono()
                m.poll(now)
                if m.ready() or m.in_call():
                    unready = now
                elif now - unready > self.cfg["jobs"]["modem_wait_s"]:
                    unready = now
                    self.jobs.fail_waiting(205001, "no usable modem for %d s (%s)" % (
                        self.cfg["jobs"]["modem_wait_s"], m.state_name()))
                if self.active is None and m.ready():
                    job = self.jobs.next_due(self.now())
                    if job is not None:
                        self.active = job
                        self.jobs.start_call(job, self.now())
                        m.send(job["dial"], self._open_page, now)
                while True:
                    out = m.next_output(now)
                    if not out:
                        break
                    writer.write(out)
                    await writer.drain()
                self._modem_events(m)
                self.modem_state = m.state_name()
                t = m.deadline()
                wait = 1.0 if t is None else max(0.0, min(1.0, t - self.mono()))
                if m.state_name() == "txdata" and not m.xoff():
                    wait = 0
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._modem_wake.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                else:
                    await asyncio.sleep_ms(0)
                self._modem_wake.clear()
        finally:
            rt.cancel()

    async def _modem_recover(self, reader, writer, m):
        """At boot the modem may still be in the call a reset cut (it outlives the unit):
        drop DTR where the board has it; else write the driver's recovery bytes (end page
        data, then end the session), then discard whatever the modem says for a moment
        (docs/unit.md)."""
        if self.port.modem_reset_line(True):
            await asyncio.sleep_ms(500)
            self.port.modem_reset_line(False)
        else:
            for i, b in enumerate(m.recover_bytes()):
                if i:
                    await asyncio.sleep_ms(300)
                writer.write(b)
                await writer.drain()
        buf = bytearray(64)
        end = self.mono() + 1.5
        while self.mono() < end:
            try:
                await asyncio.wait_for_ms(reader.readinto(buf), 100)
            except asyncio.TimeoutError:
                pass

    async def _modem_reader(self, reader, m):
        buf = bytearray(512)
        mv = memoryview(buf)
        while True:
            n = await reader.readinto(buf)
            if n:
                self._feed(m, mv[:n])
                self._modem_wake.set()
            else:
                await asyncio.sleep_ms(20)

    def _feed(self, m, data):
        """Feed modem bytes to the driver. An exception from the driver (a bug, bad input it did
        not expect) must not kill the reader: the call in progress ends with 205001 and the
        exception as its reason, and the driver starts afresh (the modem is re-initialised)."""
        try:
            m.feed(data, self.mono())
            return
        except Exception as e:
            import sys
            why = "driver error: %s" % _clean("%s: %s" % (type(e).__name__, e))
            log("modem:", why)
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
        job = self.active
        self.active = None
        if job is not None:
            self.jobs.end_call(job, 205001, [("reason", why)], job.get("confirmed", 0), self.now())
            self._save_state()
        if self.rx is not None:
            self.rx.abort()
            self.rx = None
        m.__init__(self._dcfg, self._rx_sink)     # a fresh machine in the same object
        m.start(self.mono())

    def _modem_events(self, m):
        for kind, info in m.events():
            if kind == "page" and info.get("dir") == "tx" and self.active is not None:
                job = self.active
                if info.get("ok"):
                    self.counters["tx_pages"] += 1
                    self.jobs.progress(job, job.get("confirmed", 0) + 1,
                                       (("page", info["index"] + 1), ("ppr", info.get("ppr"))))
            elif kind == "end":
                if info.get("dir") == "tx" and self.active is not None:
                    job = self.active
                    self.active = None
                    self.jobs.end_call(job, info["code"], _evidence(info), info.get("pages", 0), self.now())
                    self._save_state()
                elif info.get("dir") == "rx":
                    self._received(info)
            elif kind == "modem":
                log("modem:", info.get("state"), info.get("reason") or "")
            elif kind == "ring":
                log("modem: RING", info.get("count"))

    def _received(self, info):
        """A reception ended: each stored page goes to the outbox as a file-backed event
        (fax/page/<id>/<n>, streamed from flash, deleted at its PUBACK), then fax/received
        naming them (docs/mqtt.md "Received pages")."""
        sink = self.rx
        self.rx = None
        self.counters["rx_faxes"] += 1
        hs = info.get("hangup") or (None, None, None)
        params = info.get("params")
        pp = tuple((k, params[k]) for k in sorted(params)) if isinstance(params, dict) else ()
        fid = sink.fax_id if sink else None
        sizes = []
        of = sink.pages if sink else 0
        for i in range(of):
            path = sink.page_path(i)
            try:
                n = os.stat(path)[6]
                self.link.event_file(contract.page_topic(fid, i + 1), path,
                                     contract.fax_page(fid, i + 1, of, sink.widths[i], n))
            except (OSError, OutboxFull, ValueError) as e:   # kept on flash, pruned in turn
                log("modem: page %d of %s not queued (%s)" % (i + 1, fid, e))
                n = None
            sizes.append(n)
        if sink is not None and not sink.pages:
            try:
                rmtree(sink.dir)    # nothing stored: no folder left behind
            except OSError:
                pass
        fields = contract.fax_received(fid, info.get("pages", 0), info.get("remote_id"), pp,
                                       hs[0], hs[1], hs[2], sizes, sink.widths if sink else (),
                                       info.get("code"), info.get("reason"), sink.dir if sink else None)
        try:
            self.link.event(contract.FAX_RECEIVED, fields)
        except (OutboxFull, ValueError) as e:   # the modem task must go on
            log("modem: fax/received %s not sent (%s)" % (fid, e))

    # ---- periodic
    async def _telemetry(self):
        iv = self.cfg["telemetry"]["interval_s"]
        while True:
            await asyncio.sleep(iv)
            gc.collect()
            c = self.jobs.counts()
            n = self.counters
            v = n["verdicts"]
            acc = v.get("accept", 0)
            self.link.telemetry((
                ("uptime", int(self.mono())), ("heap_free", self.port.mem_free()),
                ("modem", self.modem_state), ("jobs", tuple((k, c[k]) for k in sorted(c))),
                ("quota_left", self.quota.remaining(self.now())),
                ("telegrams", self.counters["telegrams"]), ("rx_faxes", self.counters["rx_faxes"]),
                ("tx_pages", self.counters["tx_pages"]), ("queued", sum(c[k] for k in c)),
                ("counters", (("fax_sent", n["fax_sent"]), ("fax_failed", n["fax_failed"]),
                              ("fax_received", n["rx_faxes"]), ("tel_accepted", acc),
                              ("tel_rejected", n["telegrams"] - acc))),
            ))

    async def _watchdog(self):
        period = max(500, self.cfg["watchdog"]["timeout_ms"] // 4)
        while True:
            self.wdt.feed()
            await asyncio.sleep_ms(period)

    async def _housekeeping(self):
        """Watch config.json: a changed page quota applies at once (held jobs released)."""
        path = self.flash + "config.json"
        self._cfg_stat = _stat(path)
        while True:
            await asyncio.sleep(2)
            st = _stat(path)
            if st == self._cfg_stat:
                continue
            self._cfg_stat = st
            from faxbridge.app import config
            cfg, errors = config.load(path)
            if errors:
                for e in errors:
                    log("config change ignored:", e)
                continue
            q = cfg["quota"]
            if q != self.cfg["quota"]:
                self.cfg["quota"] = q
                self.quota.set_limit(q["pages_per_day"], q["hold_s"])
                log("quota now %d pages a day" % q["pages_per_day"])
                self._modem_wake.set()


def _stat(path):
    try:
        s = os.stat(path)
        return (s[6], s[8])
    except OSError:
        return None


def _clean(text):
    """Text for a log line or a job's reason: printable ASCII, at most 120 characters."""
    out = []
    for ch in text[:120]:
        out.append(ch if " " <= ch <= "~" else "?")
    return "".join(out)


def _evidence(info):
    """The driver's end-of-call info as ordered evidence pairs (spec/fax.md: raw evidence)."""
    hs = info.get("hangup")
    ev = [("result", info.get("result")), ("reason", info.get("reason"))]
    if hs:
        ev.append(("fhng", hs[0]))
        ev.append(("phase", hs[1]))
        ev.append(("text", hs[2]))
    ev.append(("pprs", info.get("pprs")))
    ev.append(("remote_id", info.get("remote_id")))
    p = info.get("params")
    if isinstance(p, dict):
        ev.append(("params", p.get("raw")))
    ev.append(("duration_s", int(info.get("duration") or 0)))
    return ev
