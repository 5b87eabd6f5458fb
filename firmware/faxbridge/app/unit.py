"""The unit: asyncio tasks wiring the cores to a port (docs/unit.md).

Tasks: MQTT link; modem (app/faxline.py: the Class 2 driver, a queue of fax jobs,
auto-answer); telegram intake (the board's second UART; cmd/telegram arrives through the link);
telemetry; watchdog feed; housekeeping (config file watch for a raised page quota). One
gather in Unit.run supervises them all; stop() ends them.
"""
import asyncio

from faxbridge.core.mqtt import contract

# (the jobs, store, commands and OutboxFull are imported in the methods that use them: four
# module names fewer kept in RAM; the modules are loaded at boot all the same)


def log(*a):
    print("faxbridge:", *a)


class Unit:
    def __init__(self, port, cfg, registry=None):
        """registry: the CAFIS registry deep_check() loaded (None: loaded by run()). The
        driver is built here, once; the link and the checker in run(), after the network
        (measured with .mpy code: the link's buffers built here, before the state and the
        jobs, and the scenario fails at 496 K, where this order completes; docs/bench.md)."""
        from faxbridge.app import store
        from faxbridge.app.clock import Monotonic
        from faxbridge.app.jobs import JobStore
        from faxbridge.core.fax.job import Jobs
        from faxbridge.app.faxline import FaxLine
        from faxbridge.core.fax.quota import Quota
        self.port = port
        self.cfg = cfg
        self.exit_code = 0
        self.mono = Monotonic(port.ticks_ms)
        self.flash = port.flash
        self._main = None           # the task of run(): stop() cancels it
        self.counters = {"telegrams": 0, "verdicts": {}, "rx_faxes": 0, "tx_pages": 0,
                         "fax_sent": 0, "fax_failed": 0}
        self.link = None
        # the Checker once run() made it; until then the registry deep_check() loaded (twelve
        # fields: the member table stays in its 12-slot size, not 17; the watchdog is
        # _periodic's, the page quota the jobs', the state file's path made where it is written)
        self.checker = registry
        st = store.load_json(self.flash + "state.json", {}) or {}
        self.state = {"boots": st.get("boots", 0) + 1, "rx": 0,   # rx: this boot's receptions
                      "quota": st.get("quota")}
        q = cfg["quota"]
        q = Quota(q["pages_per_day"], q["hold_s"])
        q.restore(self.state["quota"])
        self.save_state(True, q)
        self.fax = FaxLine(self)
        self.jobs = Jobs(cfg, JobStore(self.flash + "jobs"), self._emit_status,
                         q, self.fax.check_number, self.fax.check_page)

    # ---- helpers (the unit's wall clock is port.time(): no method of its own)
    def save_state(self, force=True, q=None):
        """state.json: boots, rx (this boot's receptions, not read back), the page quota
        [day, used] (updated in place; q: the jobs' Quota, given while the jobs are being
        built). force=False (a call's end): written only when the quota moved (a busy line,
        a call that sent no page: nothing to write, about 0.5 KB of churn saved)."""
        st = self.state
        q = q or self.jobs.quota
        v = st["quota"]
        if type(v) is not list or len(v) != 2:
            st["quota"] = [q.day, q.used]
        elif v[0] != q.day or v[1] != q.used:
            v[0] = q.day
            v[1] = q.used
        elif not force:
            return
        from faxbridge.app import store
        store.save_json(self.flash + "state.json", st)

    def next_rx_id(self):
        """A new received fax's id, rx<boot>-<n>: n counts the receptions of this boot, the
        boot count saved at boot makes it unique; nothing saved per reception (a state.json
        save, 512 B of a reception's start, 64-bit; docs/unit.md "Received faxes")."""
        st = self.state
        st["rx"] += 1
        return "rx%d-%d" % (st["boots"], st["rx"])

    def _emit_status(self, fields):
        """Publish a fax/status and count a final one, sent or failed: contract.fax_status's
        fields, its code at 3 and its final flag at 7 (no walk of the pairs)."""
        self.link.event(contract.FAX_STATUS, fields)
        if fields[7]:
            self.counters["fax_sent" if fields[3] == 0 else "fax_failed"] += 1

    async def shutdown(self):
        """After Ctrl-C stopped the loop: publish `offline` and disconnect politely."""
        try:
            await asyncio.wait_for(self.link.stop(), 3)
        except MemoryError:     # no heap to say goodbye: the broker's will says offline; said
            log("link stop: no memory")   # in words (the error's repr fails the bench's run)
        except Exception as e:
            log("link stop: %r" % (e,))

    def stop(self, code=0):
        self.exit_code = code
        if self._main is not None:
            self._main.cancel()

    # ---- boot and run
    async def run(self):
        cfg = self.cfg
        log("unit %s starting on the %s port (boot %d)" % (cfg["unit_id"], self.port.name, self.state["boots"]))
        self._main = asyncio.current_task()
        wd = cfg["watchdog"]["timeout_ms"]
        ts = [asyncio.create_task(self._periodic(self.port.watchdog(wd), max(500, wd // 4),
                                                 cfg["telemetry"]["interval_s"]))]
        await self.port.start_network(cfg, log)
        self.link = self._link()
        registry = self.checker
        self.checker = None
        if registry is None:
            from faxbridge.app.deepcheck import load_registry
            registry = load_registry(cfg, self.flash)
        if registry is not None:
            from faxbridge.core.cafis import checks
            self.checker = checks.Checker(registry)
        # the telegram UART and its task's coroutine (not started yet): before slim drops them
        tel = self.port.open_telegram(cfg["telegram"]) if cfg["telegram"]["enabled"] else None
        if tel is not None:
            tel = self._telegram_line(tel[0], cfg["telegram"])
        from faxbridge.app import config
        config.slim(cfg)             # the boot-only sections, now built into their objects: freed
        from faxbridge.core.fax.jobboot import recover   # boot only: imported here, once
        recover(self.jobs, self.port.time())   # before the recovery, boot's largest step, runs (jobs, retries)
        import gc
        if hasattr(gc, "threshold"):   # boot is over: the allocator's collections only (main.py)
            gc.threshold(-1)
        gc.collect()
        ts.append(asyncio.create_task(self.link.run()))
        ts.append(asyncio.create_task(self.fax.run()))
        if tel is not None:
            ts.append(asyncio.create_task(tel))
        log("running: %d jobs open" % len(self.jobs.jobs))
        # supervision, here (no frame of its own): the tasks in one gather (no wrapper frame per
        # task). A task that dies (MemoryError, a bug) is logged with its traceback and the
        # exit code is 3: the unit stops so the board resets (main.py) instead of running on
        # without it; jobs and events are on flash. Cancelled (stop()): its code stands.
        try:
            await asyncio.gather(*ts)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            log("a task died: %r: restarting the unit" % (e,))
            import sys
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
            self.exit_code = 3
        self._main = None
        log("stopping")
        await self.shutdown()
        for t in ts:
            t.cancel()
        await asyncio.sleep_ms(20)

    def _link(self):
        from faxbridge.app import store
        from faxbridge.app.link import Link
        from faxbridge.app.outbox_store import FileStore
        from faxbridge.app.seen import Seen
        from faxbridge.app.spool import Spool
        from faxbridge import VERSION
        m = self.cfg["mqtt"]
        ha = self.cfg["ha"]
        fl = self.flash
        store.makedirs(fl + "spool")
        store.makedirs(fl + "outbox")
        link = Link(self.cfg["unit_id"], m["host"], m["port"],
                    FileStore(fl + "outbox", max_record=m["outbox_record"]),
                    prefix=m["prefix"], username=m["username"], password=m["password"],
                    tls=bool(m["tls"]), ca=(fl + m["ca"]) if m["ca"] else None,
                    cert=(fl + m["cert"]) if m["cert"] else None,
                    key=(fl + m["key"]) if m["key"] else None, server_name=m["server_name"],
                    keepalive=m["keepalive_s"], clean=m["clean"], rx_buffer=m["rx_buffer"],
                    capacity=m["capacity"], answer_reserve=m["answer_reserve"],
                    default_sender=self.cfg["telegram"]["sender"], on_error=lambda t: log("mqtt:", t),
                    seen=Seen(fl + "seen", m["seen"]), spool=Spool(fl + "spool"),
                    discovery=(ha["prefix"], VERSION) if ha["discovery"] else None, clock=self.mono)
        link.on_command = self._on_command
        return link

    # ---- commands (called by the link; raise CommandError for cmd/error)
    def _on_command(self, cmd):
        """cmd: a command tuple, its kind first (core/mqtt/commands.py). The modules a fax or
        a cancel refusal needs are imported in its branch: a function's from-import allocates
        (32 B each, 64-bit unix port), and a telegram takes none."""
        k = cmd[0]
        if k == "fax":
            job = cmd[1]
            why = self.jobs.submit(job, cmd[2], cmd[3], cmd[4], self.port.time())
            if why is None:         # taken: the modem task counts its pages when idle
                self.fax.wake.set()
                return
            from faxbridge.core.fax.job import DUPLICATE
            if why != DUPLICATE:    # a duplicate: the original answer stands
                from faxbridge.core.mqtt import commands
                reason = commands.BUSY if why.startswith("queue full") else commands.REJECTED
                raise commands.CommandError(reason, why, job)
        elif k == "cancel":
            job = cmd[1]
            why = self.jobs.cancel(job, self.port.time())
            if why == "call":
                self.fax.cancel(job)
            elif why:
                from faxbridge.core.mqtt import commands
                raise commands.CommandError(commands.REJECTED, why, job)
        elif k == "telegram":
            self.telegram(cmd[1], cmd[2], self.cfg["telegram"]["center"] or None, "mqtt", cmd[3])

    # ---- CAFIS
    def telegram(self, data, sender, center, source, ref=None, n=-1):
        """Check one telegram (the first n bytes of data; all by default) and emit its verdict
        on cafis/verdict. ref: the sender's ref (cmd/telegram/<sender>/<ref>); without one the
        unit makes <source>-<boot>-<n>. The abnormal report is built into the Checker's own
        buffer (chk.rep), not a new bytes object; the verdict's payload is built before
        link.event returns."""
        c = self.counters
        c["telegrams"] += 1
        if ref is None:
            ref = "%s-%d-%d" % (source, self.state["boots"], c["telegrams"])
        chk = self.checker
        if chk is None:
            self.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(
                ref, "discard", None, None, None, "no CAFIS registry configured"))
            return
        v = chk.check(data, sender, center, n)
        c = c["verdicts"]
        c[v.kind] = c.get(v.kind, 0) + 1
        detail = None
        if v.reply is not None:
            k = chk.report(data, v, chk.rep)
            if k:
                detail = chk.rep if k == len(chk.rep) else memoryview(chk.rep)[:k]
        self.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(ref, v.kind, v.code, v.source, v.field, detail,
                                                                    v.row))

    async def _telegram_line(self, reader, tc):
        """Telegrams on the second UART: framing and hex in core/cafis/line.py (docs/unit.md),
        tc the `telegram` section (run() makes this coroutine before config.slim drops it,
        let go of once the line is made); one read buffer, nothing allocated per line."""
        from faxbridge.core.cafis.line import Line
        ln = Line(tc["sender"], tc["center"])
        tc = None
        buf = bytearray(256)
        while True:
            n = await reader.readinto(buf)
            if not n:
                await asyncio.sleep_ms(50)
                continue
            i = 0
            while True:
                i = ln.feed(buf, i, n)
                if i < 0:
                    break
                self.uart_telegram(ln)

    def uart_telegram(self, ln):
        """The outcome of the line ln (core/cafis/line.py) just finished: its verdict, or
        cmd/error. The UART cannot be held off: when the outbox is full the answer is dropped
        and logged (an exception here would restart the unit)."""
        try:
            if ln.who is None:
                self.link.event(contract.CMD_ERROR, contract.cmd_error("telegram", ln.where, ln.why))
            else:
                self.telegram(ln.data, ln.who, ln.where, "uart", None, ln.k)
        except Exception as e:
            # OutboxFull imported here, on the refusal alone: a function's `from .. import`
            # allocates (32 B, 64-bit unix port), and a telegram takes none
            from faxbridge.core.mqtt.outbox import OutboxFull
            if not isinstance(e, OutboxFull):
                raise
            log("uart telegram: %s not sent (%s)" % ("verdict" if ln.who else "cmd/error", e))

    # ---- periodic
    async def _periodic(self, wdt, feed_ms, iv):
        """The unit's periodic work in one task (a frame and a task each saved): the watchdog
        wdt fed every feed_ms; config.json watched every 2 s; telemetry every iv seconds once the
        link is up. Started before the network, so that the watchdog is fed while it comes up.
        The work itself is in plain methods: their frames are not kept between the rounds.
        Kept in the clock's integer milliseconds: a round allocates nothing (below 2**30 ms on
        the ESP32, app/clock.py), and a deadline stays exact however long the unit runs (its
        seconds are single-precision floats there: past 2**25 s, 388 days, `now + 2` can round
        back to now and the task would spin)."""
        ms = self.mono.ms
        seen = ()                       # config.json's (size, mtime): not read yet
        watch = 0
        iv = int(iv * 1000)
        tel = ms() + iv
        while True:
            wdt.feed()
            now = ms()
            # the heap short (MemoryError): this round's work is skipped, never the task (its
            # death would restart the unit): the watch is tried again in 2 s, telemetry in iv
            if now >= watch:
                watch = now + 2000
                try:
                    seen = self._config_watch(seen)
                except MemoryError:
                    pass
            if now >= tel:
                tel = now + iv
                if self.link is not None:
                    try:
                        self._send_telemetry()
                    except MemoryError:
                        log("telemetry skipped: no memory")
            await asyncio.sleep_ms(min(feed_ms, min(watch, tel) - ms() + 1))

    def _config_watch(self, seen):
        """config.json's (size, mtime), None when absent; when it changed since `seen`, the file
        is read again whole and a valid change to the page quota applies at once (held jobs
        released); an invalid one is logged and ignored."""
        import os
        path = self.flash + "config.json"
        try:
            st = os.stat(path)
            st = (st[6], st[8])
        except OSError:
            st = None
        if st == seen or seen == ():
            return st
        from faxbridge.app import config
        cfg, errors = config.load(path)
        for e in errors:
            log("config change ignored:", e)
        if errors:
            return st
        q = cfg["quota"]
        qo = self.jobs.quota
        if q["pages_per_day"] != qo.limit or q["hold_s"] != qo.hold_s:
            qo.limit, qo.hold_s = q["pages_per_day"], q["hold_s"]
            log("quota now %d pages a day" % q["pages_per_day"])
            self.fax.wake.set()
        return st

    def _send_telemetry(self):
        import gc
        gc.collect()
        c = {}                          # open jobs by state
        for rec in self.jobs.jobs:
            c[rec["state"]] = c.get(rec["state"], 0) + 1
        n = self.counters
        acc = n["verdicts"].get("accept", 0)
        self.link.telemetry((
            ("uptime", int(self.mono())), ("heap_free", self.port.mem_free()),
            ("modem", self.fax.state), ("jobs", tuple((k, c[k]) for k in sorted(c))),
            ("quota_left", self.jobs.quota.remaining(self.port.time())),
            ("telegrams", n["telegrams"]), ("rx_faxes", n["rx_faxes"]),
            ("tx_pages", n["tx_pages"]), ("queued", sum(c[k] for k in c)),
            ("counters", (("fax_sent", n["fax_sent"]), ("fax_failed", n["fax_failed"]),
                          ("fax_received", n["rx_faxes"]), ("tel_accepted", acc),
                          ("tel_rejected", n["telegrams"] - acc))),
        ))
