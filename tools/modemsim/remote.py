"""A built-in remote fax machine: answers its number and keeps the pages it receives
(.g3 files, MSB-first like pbmtog3 writes them), or calls a number and sends pages.
"""
import os
import subprocess
import threading
import time

from . import params as P
from .bits import RTC_WITH_FILL, EolScanner, reverse_bits
from .line import Pump
from .mh import MhChecker
from .translog import Transcript


def load_page(page):
    """A page for sending, in line order (LSB-first) with RTC and fill after it.

    page: path of a .g3 file (MSB-first raw G3, as pbmtog3 writes), a .pbm file (encoded with
    netpbm's pbmtog3) or bytes (MSB-first G3 data).
    """
    if isinstance(page, (bytes, bytearray)):
        g3 = bytes(page)
    else:
        path = os.fspath(page)
        with open(path, "rb") as f:
            head = f.read(2)
        if head[:1] == b"P" and head[1:2] in (b"1", b"4"):
            try:
                g3 = subprocess.run(["pbmtog3", path], check=True, capture_output=True, timeout=60).stdout
            except FileNotFoundError:
                raise RuntimeError("pbmtog3 not found: install netpbm (apt-get install netpbm)")
        else:
            with open(path, "rb") as f:
                g3 = f.read()
    data = reverse_bits(g3)
    sc = EolScanner()
    sc.feed(data)
    if not sc.rtc:
        return data + RTC_WITH_FILL
    return data + bytes(max(0, 2 - sc.after_rtc))   # two bytes after RTC, as efax needs


class OutgoingFax:
    """Handle for a fax the remote machine sends: wait() for the outcome."""

    def __init__(self, number, pages):
        self.number = number
        self.pages = pages
        self.done = threading.Event()
        self.result = None        # "OK", a dial result ("BUSY", ...), or "FAILED: why"
        self.pprs = []            # post-page responses received, one per page sent
        self.call = None

    def wait(self, timeout=120.0):
        if not self.done.wait(timeout):
            raise TimeoutError("remote fax to %s not finished within %.0f s" % (self.number, timeout))
        return self.result

    def __repr__(self):
        return "OutgoingFax(%s, result=%r, pprs=%r)" % (self.number, self.result, self.pprs)


class RemoteFax:
    def __init__(self, line, number, out_dir=None, csi="+1 555 0100", dis=P.DEFAULT_CAPS, answer=True,
                 rings=1, log_path=None):
        self.line = line
        self.loop = line.loop
        self.number = str(number)
        self.out_dir = out_dir
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        self.csi = csi
        self.dis = tuple(dis)
        self.answer = answer
        self.rings = rings
        if log_path is None and line.log_dir:
            log_path = os.path.join(line.log_dir, "remote-%s.log" % self.number)
        self.log = Transcript(self.loop.t0, log_path, self.number)
        self.received = []   # one dict per page: path, page, call, bytes, lines, rtc, ppr
        self.call = None
        self.timer = None
        self.out = None      # OutgoingFax in progress
        self.pump = None

    # ---- any thread
    def send_fax(self, number, pages):
        """Call number and send pages (.g3/.pbm paths or G3 bytes). Returns an OutgoingFax."""
        loaded = [load_page(p) for p in pages]
        job = OutgoingFax(str(number), loaded)
        self.loop.call_soon_threadsafe(self._start_call, job)
        return job

    call_number = send_fax

    def wait_pages(self, n, timeout=60.0):
        """Wait until n pages have been received; returns the list of page records."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.received) >= n:
                return list(self.received)
            time.sleep(0.05)
        raise TimeoutError("remote %s received %d of %d pages" % (self.number, len(self.received), n))

    def busy(self):
        return self.call is not None

    def close(self):
        self._cancel()
        if self.pump:
            self.pump.stop()
        if self.call is not None:
            self.call.end(self, "DROP")
            self.call = None
        if self.out and not self.out.done.is_set():
            self._finish_out("FAILED: simulator stopped")
        self.log.close()

    # ---- loop thread
    def _set(self, delay, fn, *args):
        self._cancel()
        self.timer = self.loop.call_later(delay, fn, *args)

    def _cancel(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _give_up(self, why):
        self.log.note("remote: %s, sending DCN" % why)
        call = self.call
        self.call = None
        if self.pump:
            self.pump.stop()
            self.pump = None
        if call is not None:
            call.end(self, "DCN")
        if self.out is not None:
            self._finish_out("FAILED: " + why)

    # receiving
    def incoming(self, call):
        if not self.answer:
            self.log.note("remote: call %d rings, not answering" % call.id)
            return
        self.call = call
        self.role = "rx"
        self.rx_page_no = 1
        self.rx = None
        self.loop.call_later(self.rings * self.line.ring_interval, self._pick_up, call)

    def _pick_up(self, call):
        if call is not self.call or call.state != "ringing":
            return
        self.line.answered(call)
        self.log.note('remote: answering with CED + DIS %s CSI "%s"' % (P.fmt(self.dis), self.csi))
        call.send(self, "ANSWER", self.dis, self.csi, True)
        self._set(self.line.timeouts["t30"], self._give_up, "no DCS")

    def _rx_ppm(self, ppm):
        rx = self.rx
        self.rx = None
        if rx is None:
            self._give_up("PPM without a page")
            return
        lines = rx["scanner"].line_count
        attempt = 1 + sum(1 for x in self.call.pages if x["page"] == self.rx_page_no)
        forced = self.call.faults.ppr_for(self.rx_page_no, attempt)
        ppr = forced if forced is not None else (P.PPR_MCF if lines > 0 else P.PPR_RTN)
        rec = {"page": self.rx_page_no, "call": self.call.id, "bytes": len(rx["buf"]), "lines": lines,
               "bad_lines": rx["mh"].bad, "rtc": rx["scanner"].rtc, "ppr": ppr, "path": None,
               "receiver": self.number}
        if self.out_dir:
            rec["path"] = os.path.join(self.out_dir, "rx-%03d-%02d.g3" % (self.call.id, self.rx_page_no))
            with open(rec["path"], "wb") as f:
                f.write(reverse_bits(rx["buf"]))
        self.log.note("remote: page %d: %d bytes, %d lines (%d bad), RTC=%s -> %s; answering PPR %d"
                      % (self.rx_page_no, rec["bytes"], lines, rec["bad_lines"], rec["rtc"], rec["path"], ppr))
        self.call.pages.append(dict(rec))
        self.received.append(rec)
        if ppr in (P.PPR_MCF, P.PPR_RTP):
            self.rx_page_no += 1
        self.call.send(self, "PPR", ppr)
        if ppm == P.PPM_EOP and ppr in (P.PPR_MCF, P.PPR_RTP):
            self._set(self.line.timeouts["t30"], self._give_up, "no DCN after EOP")
        else:
            self._set(self.line.timeouts["page"], self._give_up, "no next page")

    # sending
    def _start_call(self, job, waited=0.0):
        if self.call is not None:
            # still in the previous call (its DCN may be on its way): wait a little
            if waited < self.line.timeouts["t30"]:
                self.loop.call_later(0.1, self._start_call, job, waited + 0.1)
                return
            job.result = "FAILED: remote busy"
            job.done.set()
            return
        self.out = job
        self.role = "tx"
        self.tx_page = 0
        self.tries = 0
        self.log.note("remote: calling %s with %d pages" % (job.number, len(job.pages)))
        self.call = self.line.dial(self, job.number)
        job.call = self.call
        if self.call.state == "ringing":
            self._set(self.line.timeouts["ring_no_answer"], self._ring_timeout)

    def _ring_timeout(self):
        if self.call is not None and self.call.state == "ringing":
            self.line.cancel(self.call, "NO ANSWER")
            self.call = None
            self._finish_out("NO ANSWER")

    def dial_result(self, call, result):
        if call is self.call:
            self.call = None
            self._finish_out(result)

    def _finish_out(self, result):
        self._cancel()
        job, self.out = self.out, None
        if job is not None:
            job.result = result
            self.log.note("remote: outgoing fax to %s: %s %r" % (job.number, result, job.pprs))
            job.done.set()

    def _send_page(self):
        job = self.out
        rate = P.bytes_per_second(self.dcs, self.line.speedup)
        self.log.note("remote: sending page %d (%d bytes)" % (self.tx_page + 1, len(job.pages[self.tx_page])))
        self.pump = Pump(self.call, self, rate, self.tx_page + 1, on_done=self._page_sent)
        self.pump.put(job.pages[self.tx_page])
        self.pump.finish()

    def _page_sent(self):
        self.pump = None
        last = self.tx_page == len(self.out.pages) - 1
        self.call.send(self, "PPM", P.PPM_EOP if last else P.PPM_MPS)
        self._set(self.line.timeouts["t30"], self._give_up, "no response to %s" % ("EOP" if last else "MPS"))

    def _tx_ppr(self, ppr):
        self._cancel()
        job = self.out
        job.pprs.append(ppr)
        if ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP):
            self.tx_page += 1
            self.tries = 0
        else:
            self.tries += 1
            if self.tries >= 3:
                self._give_up("page %d refused 3 times (PPR %d)" % (self.tx_page + 1, ppr))
                return
        if self.tx_page >= len(job.pages):
            call = self.call
            self.call = None
            call.end(self, "DCN")
            self._finish_out("OK")
            return
        if ppr in (P.PPR_RTN, P.PPR_RTP):
            # T.30: retrain before the next (or the same) page: DCS + TCF again, wait for CFR
            self.call.send(self, "DCS", self.dcs, self.csi)
            self._set(self.line.timeouts["t30"], self._give_up, "no CFR after retrain")
            return
        self.loop.call_later(0.1, self._send_page)

    def on_line(self, call, kind, *args):
        if call is not self.call:
            return
        if kind in ("DCN", "DROP", "CANCEL"):
            self._cancel()
            if self.pump:
                self.pump.stop()
                self.pump = None
            self.call = None
            self.log.note("remote: %s, call over" % kind)
            if self.out is not None:
                self._finish_out("FAILED: %s from the other end" % kind)
            return
        if self.role == "rx":
            if kind == "DCS":
                self.dcs = tuple(args[0])
                self.log.note('remote: got DCS %s TSI "%s", TCF good, sending CFR' % (P.fmt(self.dcs), args[1]))
                call.send(self, "CFR")
                self._set(self.line.timeouts["page"], self._give_up, "no page")
            elif kind == "PAGE_START":
                self._cancel()
                self.rx = {"buf": bytearray(), "scanner": EolScanner(), "mh": MhChecker()}
            elif kind == "DATA" and self.rx is not None:
                self.rx["buf"] += args[0]
                self.rx["scanner"].feed(args[0])
                self.rx["mh"].feed(args[0])
            elif kind == "PAGE_END":
                self._set(self.line.timeouts["t30"], self._give_up, "no PPM")
            elif kind == "PPM":
                self._rx_ppm(args[0])
            return
        # transmitting
        if kind == "ANSWER":
            self._cancel()
            dis, csi, rx_ok = args
            if not rx_ok:
                self._give_up("answering modem cannot receive (+FCR=0)")
                return
            self.dcs = P.negotiate(self.dis, dis)
            self.log.note('remote: got DIS %s CSI "%s"; sending DCS %s TSI "%s"'
                          % (P.fmt(dis), csi, P.fmt(self.dcs), self.csi))
            call.send(self, "DCS", self.dcs, self.csi)
            self._set(self.line.timeouts["t30"], self._give_up, "no CFR")
        elif kind == "CFR":
            self._cancel()
            self.loop.call_later(0.05, self._send_page)
        elif kind == "PPR":
            self._tx_ppr(args[0])
