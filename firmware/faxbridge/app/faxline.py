"""The modem task: the unit's one Class 2 driver (core/fax/class2.py) between the modem's
UART and the fax jobs (docs/unit.md "Modem").

FaxLine(unit) reads the unit's public parts: cfg, port (port.time(): the wall clock), flash, jobs,
link, counters, mono(), save_state(), next_rx_id(). The driver is built once, with the unit, and its
configuration is kept once, in the driver (driver.cfg): the dial policy and the station id are
read from there.
"""
import asyncio

from micropython import const

from faxbridge.app import rx
from faxbridge.app.unit import log

# (pages, dial and evidence are imported in the methods that use them: module names fewer)

_TICK_MS = const(50)     # the modem loop's deadline resolution (driver timeouts are seconds)


class FaxLine:
    def __init__(self, unit):
        from faxbridge.app import config, store
        from faxbridge.core.fax.class2 import Class2
        self.unit = unit
        # the received faxes' folder, made at boot while the heap is free: a reception (its
        # prune and sink, inside the driver's feed or poll) then never makes it (its failed
        # listing and exception: 640 -> 288 B, docs/unit.md "Received faxes")
        store.makedirs(unit.flash + "rx")
        self.driver = Class2(config.driver(unit.cfg), self.rx_sink)
        self.state = "off"          # the driver's state name; "absent": no modem to open
        self.active = None          # the job record on the line
        self.rx = None              # the page sink of the reception in progress
        self._page = None           # the page source of the call on the line (open_page)
        self._pre = None            # True: page 0 opened before the dial (_start) for the
        # driver's first ask; (job id, u.mono() seconds): which job the heap refused, since when
        self.wake = asyncio.Event()  # set: something for the modem task to do now
        self._buf = bytearray(512)  # modem reads (recovery at boot, then the reader)
        self._due = 0               # when the loop's wait ends (u.mono() seconds; _tick)
        # the end of the call on the line the heap refused to record, [end info or evidence
        # pairs, code, pages, since when (u.mono(): _drive)]: set in place (nothing
        # allocated), ended again at each pass (_end)
        self._ended = [None, 0, 0, None]

    # ---- what the jobs ask (core/fax/job.Jobs's check_number, check_page)
    def check_number(self, number):
        from faxbridge.core.fax import dial
        c = self.driver.cfg
        return dial.check(number, c["deny"], c["allow"], c["max_len"], c["outside_prefixes"], c["country"])

    def check_page(self, kind, path):
        from faxbridge.app import pages
        return pages.count(kind, path, self.driver.cfg["station_id"])

    def cancel(self, job_id):
        """cmd/cancel of the job on the line: the driver ends the call (403). Not when the
        job's call is over, its end pending (_ended: the driver may be in a reception); the
        heap refusing the driver's cancel ends the call as the feed guard's (the job's
        cancel, saved, makes its end 403), not the command (a `busy` for a cancel kept)."""
        job = self.active
        if job is not None and job["id"] == job_id:
            if self._ended[0] is None:
                try:
                    self.driver.cancel(self.unit.mono())
                except MemoryError:
                    self._restart(-3)
            self.wake.set()

    # ---- the driver's page I/O
    def open_page(self, index):
        if self._pre is True:       # page 0 opened before the dial (_start): the driver's first
            self._pre = None        # ask takes it as it is
            if index == 0:
                return self._page
        job = self.active
        p = None if job is None else self.unit.jobs.page(job, index)
        if p is None:
            return None
        c = self.driver.cfg
        if self._page is None:      # one source for all the call's pages (docs/unit.md)
            from faxbridge.app import pages
            self._page = pages.FilePage(c["max_rate"])
        return self._page.open(p[0], p[1], p[2], c["max_rate"], c["scan_time"], c["station_id"],
                               job["created"])

    def _drop_page(self):
        """The call is over (its end event, or the feed guard restarting the driver): close the
        page file it may have left open mid-page (the driver never closes a source), and let go
        of the source."""
        if self._pre is True:
            self._pre = None
        if self._page is not None:
            self._page.close()
            self._page = None

    def rx_sink(self):
        u = self.unit
        r = u.cfg["rx"]
        d = u.flash + "rx/"
        rx.prune(d, r["keep"], r["max_kb"] * 1024)
        self.rx = rx.RxSink(d, u.next_rx_id())
        return self.rx

    # ---- the task
    async def run(self):
        u = self.unit
        mcfg = u.cfg["modem"]
        try:
            reader, writer = u.port.open_modem(mcfg)
        except OSError as e:
            log("modem: cannot open %s (%s)" % (mcfg.get("path"), e))
            self.state = "absent"
            while True:          # no modem: jobs cannot wait for one (205001, spec/fax.md)
                u.jobs.fail_waiting(205001, "modem cannot be opened: %s" % e)
                await self.wake.wait()
                self.wake.clear()
        await self.recover(reader, writer)
        self.driver.start(u.mono())
        # one gather: a reader or timer that dies ends this task, and supervise() the unit;
        # gather cancels the others only when this task is cancelled, so the rest are
        # cancelled here (else the loop would drive the modem on while the unit stops)
        ts = (asyncio.create_task(self.reader(reader)), asyncio.create_task(self._tick()),
              asyncio.create_task(self._drive(writer)))
        try:
            await asyncio.gather(*ts)
        finally:
            for t in ts:
                t.cancel()

    async def _tick(self):
        """Wake the modem loop once its deadline (self._due) has passed: one long-lived timer,
        not a wait_for per pass (a task, two frames and two exceptions each, ~1.2 KB of
        garbage; docs/bench.md)."""
        u = self.unit
        while True:
            await asyncio.sleep_ms(_TICK_MS)
            if u.mono() >= self._due:
                self.wake.set()

    async def _drive(self, writer):
        """The loop: poll the driver, start the next due job, write what the driver has for
        the modem, hand its events on, then sleep until woken (modem bytes, a command, the
        deadline)."""
        u = self.unit
        m = self.driver
        wait_s = u.cfg["jobs"]["modem_wait_s"]
        unready = u.mono()
        while True:
            now = u.mono()
            e = self._ended
            if e[0] is not None:    # a pending end: its evidence's heap waited for delay_s at
                if e[3] is None:    # most, then the end goes without it (rv24: every wait
                    e[3] = now      # has a timeout; docs/unit.md)
                elif type(e[0]) is dict and now - e[3] >= u.cfg["retries"]["delay_s"]:
                    e[0] = (("reason", "no memory for the call's evidence"),)
                self._end()
            try:
                m.poll(now)         # a timeout's call end (its end info) the heap refuses:
            except MemoryError:     # as the feed guard's, not the task's end
                self._restart(-3)
            if m.ready() or m.in_call():
                unready = now
            elif now - unready > wait_s:
                try:
                    u.jobs.fail_waiting(205001, "no usable modem for %d s (%s)" % (wait_s, m.state_name()))
                    unready = now
                except MemoryError:     # its text or its statuses: tried at the next pass
                    pass
            if self.active is None and m.ready():
                self._start(now)
            while True:
                try:
                    out = m.next_output(now)
                except MemoryError:     # a read error's text, the output's slice: as the
                    self._restart(-3)   # feed guard's, not the task's end
                    break
                if not out:
                    break
                writer.write(out)
                await writer.drain()
                now = u.mono()      # a page may take minutes here (RTS/CTS, no XOFF): its end's
                                    # wait (page_end_timeout) counts from when it ended
            self.events()
            self.state = m.state_name()
            if self.state == "txdata" and not m.xoff():
                await asyncio.sleep_ms(0)         # page data flows: no deadline arithmetic
                self.wake.clear()
                continue
            t = m.deadline()
            now = u.mono()
            wait = 1.0 if t is None else min(1.0, t - now)
            if wait > 0:
                self._due = now + wait
                await self.wake.wait()
            else:
                await asyncio.sleep_ms(0)
            self.wake.clear()

    def _start(self, now):
        """The next due job onto the line, its first page opened before anything else of the
        call (docs/unit.md "Out of memory before the dial"): the driver's first ask takes it
        (open_page). When the heap cannot open it now, the job stays queued (no status, no
        attempt, no dial) and is opened again at the next passes, at most a second apart, for
        up to retries.delay_s; then it is dialled all the same and the driver's -3 rule applies
        (tried again after retries.delay_s, at most retries.count times, then 205001)."""
        u = self.unit
        try:
            job = u.jobs.next_due(u.port.time())
        except MemoryError:     # a hold's, an expiry's or a count's status or save: the heap,
            return              # the next pass again; not the modem task's end (a restart)
        if job is None:
            return
        self.active = job
        p = self._pre
        try:
            self._pre = self.open_page(0) is not None or None
        except MemoryError:
            self._drop_page()
            if type(p) is not tuple or p[0] != job["id"]:   # this job's window, not the last's
                p = (job["id"], now)
            if now - p[1] < u.cfg["retries"]["delay_s"]:
                self._pre = p
                self.active = None
                return
            self._pre = None
        except Exception:       # not the heap: the driver opens it again and says why (204000)
            self._pre = None
            self._drop_page()
        try:
            u.jobs.start_call(job, u.port.time())
        except MemoryError:     # its -3 not said (rv22; said, not saved: it stands): left as it was,
            self._drop_page()   # queued; the next pass again, not the modem task's end (a restart)
            self.active = None
            return
        try:
            self.driver.send(job["dial"], self.open_page, now)
        except MemoryError:     # a call that ended at once, its end not made (make bench 10:00,
            self._restart(-3)   # 400K plugged: it ended the modem task): as the feed guard's

    async def recover(self, reader, writer):
        """At boot the modem may still be in the call a reset cut (it outlives the unit):
        drop DTR where the board has it; else write the driver's recovery bytes (end page
        data, then end the session), then discard whatever the modem says for a moment
        (docs/unit.md)."""
        u = self.unit
        if u.port.modem_reset_line(True):
            await asyncio.sleep_ms(500)
            u.port.modem_reset_line(False)
        else:
            for i, b in enumerate(self.driver.recover_bytes()):
                if i:
                    await asyncio.sleep_ms(300)
                writer.write(b)
                await writer.drain()
        end = u.mono() + 1.5
        while u.mono() < end:
            try:
                await asyncio.wait_for_ms(reader.readinto(self._buf), 100)
            except asyncio.TimeoutError:
                pass

    async def reader(self, reader):
        buf = self._buf
        mv = memoryview(buf)
        while True:
            n = await reader.readinto(buf)
            if n:
                self.feed(mv[:n])
                self.wake.set()
            else:
                await asyncio.sleep_ms(20)

    def feed(self, data):
        """Feed modem bytes to the driver. An exception from the driver (a bug, bad input it did
        not expect) must not kill the reader: the call in progress ends with 205001 and the
        exception as its reason, and the driver starts afresh in place (Class2.clear: its buffers
        and session kept, nothing made again while the heap may be short; the modem is
        re-initialised).
        A MemoryError is the unit's heap, not the call's: -3, tried again (as class2._open),
        its reason a constant and no traceback (either would need the heap just refused; make
        bench 09:40, 400K plugged: the reason's text ended the modem task)."""
        u = self.unit
        m = self.driver
        try:
            m.feed(data, u.mono())
            return
        except MemoryError:
            self._restart(-3)
        except Exception as e:
            try:        # the text needs heap too: refused, a constant (rv24)
                import sys
                if hasattr(sys, "print_exception"):
                    sys.print_exception(e)
                # the reason: printable ASCII, at most 120 characters (a log line, a job's reason)
                t = "%s: %s" % (type(e).__name__, e)
                ev = (("reason", "driver error: " + "".join(ch if " " <= ch <= "~" else "?" for ch in t[:120])),)
            except MemoryError:
                ev = (("reason", "driver error (no memory to describe it)"),)
            self._restart(205001, ev)

    def _restart(self, code, ev=None):
        """After a driver error: the events the driver made before it first (a page confirmed,
        a call's end: not lost with its read), then the call on the line ends with `code` and
        the evidence pairs `ev` (None: the heap's, the constant reason `driver error: no
        memory`), a reception in progress is dropped, and the driver starts afresh in place.
        The heap's error once the call's end was decided (the driver's end, its record
        evidence.end_info refused, or an outcome of ours) ends it with that code, its pages,
        and a constant reason, not -3 (rv24: a fax the remote confirmed was sent again)."""
        u = self.unit
        m = self.driver
        if ev is None:
            ev = (("reason", "driver error: no memory"),)
        log("modem:", ev[0][1])
        try:
            self.events()
        except MemoryError:     # the rest goes with the driver's lists (clear)
            pass
        e = self._ended
        job = self.active
        if job is not None and e[0] is None:
            e[1] = code
            e[2] = job.get("confirmed", 0)
            s = m.sess          # the driver's session: its outcome, the code alone when
            o = None if s is None else s.outcome    # the heap refused its end (Machine.end)
            if code == -3 and o is not None:
                e[1] = o if type(o) is int else o[0]
                e[2] = s.confirmed
                ev = (("reason", "no memory for the call's evidence"),)
            e[0] = ev
            self._end()
        self._drop_page()
        if self.rx is not None:
            self.rx.abort()
            self.rx = None
        m.clear()
        m.start(u.mono())

    def _end(self):
        """The end of the call on the line (self._ended: the driver's `end` info or the feed
        guard's evidence pairs, the code, the pages) to its job, and the quota saved. Refused
        by the heap (the evidence, the status or the record save: Jobs.end_call leaves the job
        in its call), the job stays on the line, no other call starts, and the loop ends it
        again at its next passes (_drive, at most a second apart; the evidence waited for
        retries.delay_s at most, then a constant reason)."""
        u = self.unit
        e = self._ended
        try:
            ev = e[0]
            if type(ev) is dict:
                from faxbridge.core.fax.evidence import evidence
                ev = evidence(ev)
            u.jobs.end_call(self.active, e[1], ev, e[2], u.port.time())
        except MemoryError:
            return
        e[0] = e[3] = None
        self.active = None
        try:
            u.save_state(False)     # the quota, when the call charged it
        except MemoryError:         # on flash at the next call's end that charges it
            pass

    def events(self):
        """The driver's events: tx pages and ends to the job on the line, a reception's end to
        the broker (app/rx.py publish), the rest to the log."""
        u = self.unit
        for kind, info in self.driver.events():
            tx = info.get("dir") == "tx"
            if kind == "page" and tx and self.active is not None:
                job = self.active
                if info.get("ok"):
                    u.counters["tx_pages"] += 1
                    try:
                        u.jobs.progress(job, job.get("confirmed", 0) + 1,
                                        (("page", info["index"] + 1), ("ppr", info.get("ppr"))))
                    except MemoryError:     # its -3 not said (the count is set first):
                        pass                # the call's end says it
            elif kind == "end":
                self._drop_page()       # a call that ended mid-page: its file now, not the GC's
                e = self._ended
                if tx and self.active is not None and e[0] is None:
                    e[0] = info
                    e[1] = info["code"]
                    e[2] = info.get("pages", 0)
                    self._end()
                elif info.get("dir") == "rx":
                    sink = self.rx
                    self.rx = None
                    u.counters["rx_faxes"] += 1
                    rx.publish(u.link, sink, info, log)
            elif kind == "modem":
                log("modem:", info.get("state"), info.get("reason") or "")
            elif kind == "ring":
                log("modem: RING", info.get("count"))

