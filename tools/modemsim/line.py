"""The virtual telephone line: numbers, calls, T.30 messages between the two ends.

Both ends of a call (a simulated modem or a built-in remote fax machine) are endpoints
with incoming(call), on_line(call, kind, *args) and dial_result(call, result).
The caller always transmits pages, the called end receives them (no polling).

Messages (kind, args):
  ANSWER (dis, csi)     called end picked up: CED + DIS/CSI
  DCS (dcs, tsi)        transmitter's session parameters (+ TCF)
  CFR ()                receiver accepts the training
  PAGE_START (), DATA (bytes in line order), PAGE_END ()
  PPM (ppm)             post-page message (0 MPS, 1 EOM, 2 EOP)
  PPR (ppr)             post-page response (1 MCF, 2 RTN, 3 RTP, ...)
  DCN ()                orderly disconnect
  DROP ()               the line went dead (carrier lost, other end hung up)
  CANCEL ()             caller gave up before the call was answered
"""
import itertools
import os
import random

from .faults import Faults

_ids = itertools.count(1)


class Call:
    def __init__(self, line, caller, number, faults):
        self.id = next(_ids)
        self.line = line
        self.caller = caller
        self.number = number
        self.callee = None
        self.faults = faults
        self.state = "dialing"      # dialing, ringing, up, ended
        self.result = None          # dial result if it never came up
        self.pages = []             # per page: dict(lines=, rtc=, bytes=, ppr=)
        self.hangups = {}           # endpoint name -> +FHNG code reported there
        self.notes = []

    def peer(self, ep):
        return self.callee if ep is self.caller else self.caller

    def send(self, src, kind, *args, delay=None):
        """Deliver a message to the other end after the T.30 frame delay."""
        if self.state == "ended":
            return
        if delay is None:
            delay = self.line.t30_delay
        dst = self.peer(src)
        if dst is None:
            return
        self.line.note(src, "line -> %s %s%r" % (getattr(dst, "number", "?"), kind, args if kind != "DATA" else ()))
        self.line.loop.call_later(delay, self._deliver, dst, kind, args)

    def send_data(self, src, data):
        dst = self.peer(src)
        if self.state != "ended" and dst is not None:
            dst.on_line(self, "DATA", data)

    def _deliver(self, dst, kind, args):
        if self.state == "ended" and kind not in ("DCN", "DROP", "CANCEL"):
            return
        dst.on_line(self, kind, *args)

    def end(self, src, kind="DCN"):
        """src leaves the call; the other end hears DCN (orderly) or DROP."""
        if self.state == "ended":
            return
        dst = self.peer(src)
        self.state = "ended"
        self.line.note(src, "call %d ended by %s (%s)" % (self.id, getattr(src, "number", "?"), kind))
        if dst is not None:
            self.line.loop.call_later(self.line.t30_delay, self._deliver, dst, kind, ())

    def drop(self, why="line drop"):
        """The line goes dead under both ends."""
        if self.state == "ended":
            return
        self.state = "ended"
        self.notes.append(why)
        for ep in (self.caller, self.callee):
            if ep is not None:
                self.line.note(ep, "call %d: %s" % (self.id, why))
                self.line.loop.call_later(0.0, ep.on_line, self, "DROP")

    def summary(self):
        return {"id": self.id, "caller": getattr(self.caller, "number", None), "number": self.number,
                "state": self.state, "result": self.result, "pages": list(self.pages),
                "hangups": dict(self.hangups), "notes": list(self.notes)}


class Pump:
    """Sends one page's line-order bytes to the other end at the negotiated line rate.

    put() adds data, finish() says no more will come; on_done() runs once every byte
    has left (PAGE_END has been sent then). Faults: drop=(page, n) kills the line after n
    bytes; page_noise=(page, n) splices n random bytes in after the first 1000 bytes.
    """

    TICK = 0.02
    NOISE_AT = 1000

    def __init__(self, call, src, rate, page_no, on_done=None):
        self.call = call
        self.src = src
        self.rate = rate
        self.page_no = page_no
        self.on_done = on_done
        self.buf = bytearray()
        self.sent = 0
        self.finished = False
        self.done = False
        self.loop = call.line.loop
        self.last = self.loop.now()
        self.credit = 0.0
        self.on_tick = None
        f = call.faults
        self.drop_at = f.drop[1] if f.drop and f.drop[0] == page_no else None
        self.noise = f.page_noise[1] if f.page_noise and f.page_noise[0] == page_no else 0
        call.send(src, "PAGE_START", delay=0.0)
        self.timer = self.loop.call_later(self.TICK, self._tick)

    @property
    def buffered(self):
        return len(self.buf)

    def put(self, data):
        self.buf += data

    def finish(self):
        self.finished = True

    def stop(self):
        self.done = True
        self.timer.cancel()

    def _tick(self):
        if self.done or self.call.state == "ended":
            self.done = True
            return
        now = self.loop.now()
        self.credit += (now - self.last) * self.rate
        self.last = now
        n = min(int(self.credit), len(self.buf))
        if self.drop_at is not None and self.sent + n >= self.drop_at:
            n = max(0, self.drop_at - self.sent)
        if n:
            self.credit -= n
            chunk = bytes(self.buf[:n])
            del self.buf[:n]
            if self.noise and self.sent < self.NOISE_AT <= self.sent + n:
                k = self.NOISE_AT - self.sent
                noise = bytes(random.randrange(256) for _ in range(self.noise))
                chunk = chunk[:k] + noise + chunk[k:]
                self.call.line.note(self.src, "fault: %d noise bytes in page %d" % (self.noise, self.page_no))
            self.sent += n
            self.call.send_data(self.src, chunk)
        elif not self.buf:
            self.credit = min(self.credit, self.rate * self.TICK)  # an empty buffer saves no credit
        if self.drop_at is not None and self.sent >= self.drop_at:
            self.done = True
            self.call.drop("fault: line dropped after %d bytes of page %d" % (self.sent, self.page_no))
            return
        if self.on_tick:
            self.on_tick()
        if self.finished and not self.buf:
            self.done = True
            self.call.send(self.src, "PAGE_END", delay=0.0)
            if self.on_done:
                self.on_done()
            return
        self.timer = self.loop.call_later(self.TICK, self._tick)


class Line:
    """A telephone line with several numbers, driven by one background loop thread."""

    def __init__(self, speedup=1.0, log_dir=None, t30_delay=0.15, ring_interval=1.0, dial_delay=0.3,
                 result_delay=1.0, timeouts=None):
        from .loop import Loop
        self.loop = Loop()
        self.speedup = float(speedup)
        self.log_dir = log_dir
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
        self.t30_delay = t30_delay
        self.ring_interval = ring_interval
        self.dial_delay = dial_delay
        self.result_delay = result_delay   # dialling to BUSY / VOICE / NO CARRIER
        self.timeouts = dict(DEFAULT_TIMEOUTS, **(timeouts or {}))
        self.endpoints = {}
        self.number_faults = {}
        self.once_faults = {}
        self.calls = []
        self.started = False

    # ---- building the line (any thread) ----
    def add_modem(self, number, link=None, config=None, faults=None):
        from .modem import Modem
        return self._add(lambda: Modem(self, number, config=config, link=link), number, faults)

    def add_remote(self, number, out_dir=None, **kw):
        from .remote import RemoteFax
        faults = kw.pop("faults", None)
        return self._add(lambda: RemoteFax(self, number, out_dir=out_dir, **kw), number, faults)

    def _add(self, make, number, faults):
        number = str(number)
        if number in self.endpoints:
            raise ValueError("number %s is already on the line" % number)
        ep = self.loop.run_sync(make)
        self.endpoints[number] = ep
        if faults is not None:
            self.set_faults(number, faults)
        return ep

    def set_faults(self, number, faults):
        """Faults for every call to or from number (a Faults, a spec string or None)."""
        if isinstance(faults, str):
            faults = Faults.parse(faults)
        self.number_faults[str(number)] = faults

    def fault_next_call(self, number, faults):
        """Faults for the next call to or from number only."""
        if isinstance(faults, str):
            faults = Faults.parse(faults)
        self.once_faults[str(number)] = faults

    def modem(self, number):
        return self.endpoints[str(number)]

    def start(self):
        if not self.started:
            self.started = True
            self.loop.start()
        return self

    def stop(self):
        if self.started:
            self.loop.run_sync(self._close_all)
            self.loop.stop()
            self.started = False
        else:
            self._close_all()

    def _close_all(self):
        for ep in self.endpoints.values():
            ep.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def note(self, ep, text):
        log = getattr(ep, "log", None)
        if log is not None:
            log.note(text)

    # ---- calls (loop thread) ----
    def dial(self, caller, number):
        number = str(number)
        f = Faults()
        for key in (getattr(caller, "number", None), number):
            f = f.merged(self.number_faults.get(key))
        for key in (getattr(caller, "number", None), number):
            f = f.merged(self.once_faults.pop(key, None))
        call = Call(self, caller, number, f)
        self.calls.append(call)
        self.note(caller, "dialing %r (call %d, faults %r)" % (number, call.id, f))
        if f.result == "NO DIALTONE":
            return self._result(call, "NO DIALTONE", self.result_delay / 2)
        callee = self.endpoints.get(number)
        if f.result in ("BUSY", "VOICE", "NO CARRIER"):
            return self._result(call, f.result, self.dial_delay + self.result_delay)
        if f.result == "NO ANSWER":
            return self._result(call, "NO ANSWER", self.dial_delay + self.timeouts["no_answer_fault"])
        if callee is None:
            return self._result(call, "NO CARRIER", self.dial_delay + self.result_delay)
        if callee is caller or callee.busy():
            return self._result(call, "BUSY", self.dial_delay + self.result_delay / 2)
        call.callee = callee
        call.state = "ringing"
        self.loop.call_later(self.dial_delay, self._ring, call)
        return call

    def _ring(self, call):
        if call.state == "ringing":
            call.callee.incoming(call)

    def _result(self, call, result, delay):
        call.state = "ended"
        call.result = result
        self.loop.call_later(delay, call.caller.dial_result, call, result)
        return call

    def answered(self, call):
        call.state = "up"

    def cancel(self, call, result="NO ANSWER"):
        """The caller gives up before an answer."""
        if call.state in ("ringing", "dialing"):
            call.state = "ended"
            call.result = result
            if call.callee is not None:
                call.callee.on_line(call, "CANCEL")


DEFAULT_TIMEOUTS = {
    "answer": 60.0,          # ATA with no call: wait this long for one (then NO CARRIER)
    "ring_no_answer": 60.0,  # a ringing number nobody picks up: NO ANSWER after this
    "no_answer_fault": 3.0,  # how long the no_answer fault rings before NO ANSWER
    "t30": 15.0,             # waiting for a T.30 reply (DCS, CFR, PPR, PPM)
    "page": 30.0,            # receiver waiting for the next page (T2-like)
    "dte_data": 20.0,        # DTE silent during +FDT page data (+FHNG:43)
    "dte_trigger": 20.0,     # DTE sends no DC2 after CONNECT to +FDR
}
