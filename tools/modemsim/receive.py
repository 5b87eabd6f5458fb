"""The receiving side of a Class 2 / Class 2.0 session (mixin of modem.Modem): RING and
ATA/auto-answer, the sender's DCS, +FDR, page data to the DTE (DLE-stuffed, in the configured bit
order, paused by the DTE's XOFF) and the post-page report (seed 5.4.2; T.32 8.4.3 for Class 2.0)."""
from . import params as P
from . import t32
from .bits import DC1, DC2, DLE, ETX, XOFF, XON, EolScanner, dle_stuff, reverse_bits
from .mh import MhChecker


class Receive:
    """The called end's half of a call: the call is self.call, self.role == "rx"."""


    def incoming(self, call):
        if self.state == "DEAD":
            self.log.note("incoming call %d ignored (modem dead)" % call.id)
            return
        self.call = call
        self.role = "rx"
        if self.state == "ANSWER_WAIT":
            self._answer()
            return
        self.state = "RINGING"
        self.rings = 0
        self._ring()

    def _ring(self):
        if self.state != "RINGING":
            return
        self._result("RING")
        self.rings += 1
        self.sreg[1] = self.rings
        if self.sreg[0] and self.rings >= self.sreg[0]:
            self.log.note("auto-answer after %d rings (S0)" % self.rings)
            self._answer()
            return
        self._set_timer(self.line.ring_interval, self._ring)

    def _cmd_answer(self):
        if self.state == "RINGING" and self.call is not None:
            self._answer()
            return "ASYNC"
        if self.call is not None:
            return "ERROR"
        self.state = "ANSWER_WAIT"
        self.role = "rx"
        self.log.note("ATA with no call: off-hook, waiting %.0f s for a caller" % self.line.timeouts["answer"])
        self._set_timer(self.line.timeouts["answer"], self._answer_nobody)
        return "ASYNC"

    def _answer_nobody(self):
        if self.state == "ANSWER_WAIT" and self.call is None:
            self.state = "IDLE"
            self._result("NO CARRIER")

    def _answer(self):
        self._cancel_timer()
        call = self.call
        self.line.answered(call)
        self.state = "ANSWER_WAIT"
        if self.fclass not in ("2", "2.0"):
            self.log.note("answering in +FCLASS=%s: no fax" % self.fclass)
            self._finish_call(None)
            self._result("NO CARRIER")
            return
        code = self._hangup_fault("answer")
        if code is not None:
            self._hangup_report(code)
            return
        self.rx = None
        self.ppr_pending = None
        self.lost_code = None
        self.cfr_reported = False
        self.page_no = 1
        self.last_ppm = None
        self.pending_dcs = None
        self.fdcs = P.ZERO
        rx_ok = self.p["+FCR"] == 1
        self.log.note('answering: CED + DIS %s CSI "%s"%s' % (P.fmt(self.fdis), self.flid,
                                                             "" if rx_ok else " (+FCR=0: cannot receive)"))
        call.send(self, "ANSWER", self.fdis, self.flid, rx_ok)
        self._set_timer(self.line.timeouts["t30"], self._lost, "timeout", 70)

    def _rx_dcs(self, dcs, tsi):
        self.fdcs = tuple(dcs)
        self.remote_id = tsi
        self.log.note("TCF good, send CFR")
        self.call.send(self, "CFR")
        if self.state == "ANSWER_WAIT":
            self._cancel_timer()
            self._noise()
            if self.c20:
                self._info("+FCO")
                if tsi:
                    self._report(2, '+FTI:"%s"' % tsi)
            else:
                self._info("+FCON")
                if tsi:
                    self._info("+FTSI:%s" % tsi)
            self._dcs_report(dcs)
            self._result("OK")
            self.state = "ONLINE"
        elif self.state == "FDR_WAIT_PAGE":
            self._dcs_report(dcs)     # 5.4.2: new DCS during +FDR, before CONNECT
        else:
            self.pending_dcs = tuple(dcs)   # reported by the next +FDR

    def _dcs_report(self, dcs):
        if self.c20:
            self._report(1, "+FCS:%s" % P.fmt(dcs))
        else:
            self._info("+FDCS:%s" % P.fmt(dcs))

    def _cmd_fdr(self):
        if self.call is None or self.role != "rx":
            if getattr(self, "lost_code", None) is not None and getattr(self, "role", "") == "rx":
                code, self.lost_code = self.lost_code, None
                self._info(self._hng(code))
                return None
            return "ERROR"
        if self.lost_code is not None:
            self._hangup_report(self.lost_code, end_call=False)
            return "ASYNC"
        if not self.cfr_reported:
            code = self._hangup_fault("rx_b")
            if code is not None:
                self._hangup_report(code)
                return "ASYNC"
            if not self.c20:            # T.32 has no +FCFR
                self._info("+FCFR")
            self.cfr_reported = True
        if self.pending_dcs:
            self._dcs_report(self.pending_dcs)    # new DCS (retrain, EOM): 5.4.2
            self.pending_dcs = None
        if self.ppr_pending is not None:
            ppr = self.fpts
            self.log.note("release post-page response PPR %d" % ppr)
            self.call.send(self, "PPR", ppr)
            self.ppr_pending = None
            if ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP, P.PPR_PIN):
                self.page_no += 1
            if self.last_ppm == P.PPM_EOM:
                self.cfr_reported = False
            if self.last_ppm == P.PPM_EOP and ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP):
                self.state = "FDR_WAIT_END"
                self._set_timer(self.line.timeouts["t30"], self._rx_end_timeout)
                return "ASYNC"
        if self.rx is not None and not self.rx.started_to_dte:
            self._rx_connect()
        else:
            self.state = "FDR_WAIT_PAGE"
            self._set_timer(self.line.timeouts["page"], self._lost, "timeout", 73)
        return "ASYNC"

    def _rx_end_timeout(self):
        self.log.note("no DCN after the last page: call over anyway")
        self._hangup_report(0)

    def _rx_connect(self):
        self._cancel_timer()
        self.rx.started_to_dte = True
        self._result("CONNECT")
        self.state = "RX_WAIT_TRIGGER"
        self.dte_xoff = False
        self._set_timer(self.line.timeouts["dte_trigger"], self._lost, "no DC2 from DTE", 90)

    def _rx_trigger(self, data):
        want = {"dc2": (DC2,), "dc1": (DC1,), "either": (DC1, DC2)}[self.cfg.rx_trigger]
        for b in data:
            if b in want:
                self.log.note("receive trigger %s from DTE, starting page data" % ("DC2" if b == DC2 else "DC1"))
                self._cancel_timer()
                self.state = "RX_DATA"
                self._rx_flush()
                return
            if b == XOFF:
                self.dte_xoff = True
            elif b == XON:
                self.dte_xoff = False
        self.log.note("bytes before the receive trigger ignored")

    def _dte_xoff_too_long(self):
        if self.state == "RX_DATA" and self.dte_xoff:
            self.log.note("DTE held XOFF for %.0f s: buffer overflow" % self.line.timeouts["dte_data"])
            self._out(bytes((DLE, ETX)), data_mode=True)
            self._hangup_report(93)

    def _rx_order(self, data):
        mode = self.cfg.rx_bit_order or ("fbor" if self.c20 else "msb")
        if mode == "msb" or (mode == "fbor" and self.p["+FBOR"] in (1, 3)):
            return reverse_bits(data)
        return bytes(data)

    def _rx_flush(self):
        rx = self.rx
        if self.state != "RX_DATA" or rx is None or self.dte_xoff:
            return
        if rx.delivered < len(rx.buf):
            chunk = bytes(rx.buf[rx.delivered:])
            code = self._hangup_fault("rx_c")
            if code is not None and rx.delivered + len(chunk) > 1000:
                chunk = chunk[:max(0, 1000 - rx.delivered)]
                self._out(dle_stuff(self._rx_order(chunk)), data_mode=True)
                self._out(bytes((DLE, ETX)), data_mode=True)
                self._hangup_report(code)
                return
            rx.delivered += len(chunk)
            self._out(dle_stuff(self._rx_order(chunk)), data_mode=True)
        if rx.ended:
            pad = 2 - rx.scanner.after_rtc if rx.scanner.rtc else 0
            if pad > 0:
                # A real modem's carrier runs on past the RTC; efax's decoder reads ahead and
                # judges the page bad when DLE ETX follows the RTC's last bit at once.
                self._out(bytes(pad), data_mode=True)
            self._out(bytes((DLE, ETX)), data_mode=True)
            self.log.note("page %d on line: %d bytes, %d lines (%d bad), RTC=%s" % (
                rx.page_no, rx.scanner.nbytes, rx.scanner.line_count, rx.mh.bad, rx.scanner.rtc))
            self.state = "RX_WAIT_PPM"
            if rx.ppm is not None:
                self._rx_report()
            else:
                self._set_timer(self.line.timeouts["t30"], self._lost, "timeout", 100)

    def _rx_report(self):
        self._cancel_timer()
        rx = self.rx
        self.rx = None
        code = self._hangup_fault("rx_d")
        if code is not None:
            self._hangup_report(code)
            return
        lines = rx.scanner.line_count
        attempt = 1 + sum(1 for x in self.call.pages if x["page"] == rx.page_no)
        forced = self._faults().ppr_for(rx.page_no, attempt)
        ppr = forced if forced is not None else (P.PPR_MCF if lines > 0 else P.PPR_RTN)
        if forced is not None:
            self.log.note("fault: page %d reported as PPR %d" % (rx.page_no, ppr))
        self.call.pages.append({"page": rx.page_no, "bytes": rx.scanner.nbytes, "lines": lines,
                                "bad_lines": rx.mh.bad, "rtc": rx.scanner.rtc, "ppr": ppr, "receiver": self.number})
        self.fpts = ppr
        self.ppr_pending = ppr
        self.last_ppm = rx.ppm
        if self.c20:        # T.32 8.4.3: +FPS:<ppr>,<lc>,<blc>,<cblc>,<lbc>, in hex
            self._info("+FPS:%s" % t32.hex_list((ppr, lines, rx.mh.bad, 0, 0)))
        elif self.cfg.fpts_fields == 4:
            self._info("+FPTS:%d,%d,%d,0" % (ppr, lines, rx.mh.bad))
        else:
            self._info("+FPTS:%d,%d" % (ppr, lines))
        self._info("+FET:%d" % rx.ppm)
        self._result("OK")
        self.state = "ONLINE"


class RxPage:
    __slots__ = ("page_no", "buf", "scanner", "mh", "ended", "ppm", "delivered", "started_to_dte")

    def __init__(self, page_no):
        self.page_no = page_no
        self.buf = bytearray()
        self.scanner = EolScanner()
        self.mh = MhChecker()
        self.ended = False
        self.ppm = None
        self.delivered = 0
        self.started_to_dte = False
