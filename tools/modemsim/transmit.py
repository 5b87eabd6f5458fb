"""The sending side of a Class 2 / Class 2.0 session (mixin of modem.Modem): ATD and its
answer, +FDT (Phase B: DCS, TCF, CFR), the DTE's page data with XON/XOFF flow control and the
line-rate pump, +FET and the post-page response (seed 5.4; T.32 8.3.3 for Class 2.0)."""
from . import params as P
from . import t32
from .atparse import dial_number
from .bits import ETX, RTC_WITH_FILL, XOFF, XON, EolScanner, Unstuffer, reverse_bits
from .line import Pump


class Transmit:
    """The caller's half of a call: the call is self.call, self.role == "tx"."""


    def _cmd_dial(self, dialstr):
        number = dial_number(dialstr)
        if number is None or self.call is not None:
            return "ERROR"
        code = self._hangup_fault("dial")
        self.state = "DIALING"
        self.role = "tx"
        self.log.note('dialing "%s"' % number)
        self.call = self.line.dial(self, number)
        if code is not None and code in ((2, 3, 4) if self.c20 else (2, 3)):
            self.line.cancel(self.call, "NO CARRIER")
            self._hangup_report(code)
            return "ASYNC"
        if self.call.state == "ringing":
            self._set_timer(max(1, self.sreg[7]), self._dial_timeout)
        return "ASYNC"

    def _dial_timeout(self):
        if self.state == "DIALING":
            self.log.note("no answer within S7=%d s" % self.sreg[7])
            self.line.cancel(self.call, "NO ANSWER")
            self._finish_call(None, end_call=False)
            self._result("NO ANSWER")

    def dial_result(self, call, result):
        if call is not self.call or self.state != "DIALING":
            return
        self.log.note("dial result %s" % result)
        self._finish_call(None, end_call=False)
        self._result(result)

    def _tx_answered(self, dis, csi, rx_ok):
        code = self._hangup_fault("dial", "answer")    # 1: ring detect without handshake, either end
        if code is not None:
            self._hangup_report(code)
            return
        if self.fclass not in ("2", "2.0"):
            self.log.note("not in +FCLASS=2: a fax answered, no data carrier")
            self._finish_call(None)
            self._result("NO CARRIER")
            return
        self.remote_dis = tuple(dis)
        self.remote_rx_ok = rx_ok
        self.phase_b_done = False
        self.page_no = 1
        self.page_sent = False
        self.fdt_ok_count = 0
        self.lost_code = None
        self.fdcs = P.ZERO
        self._noise()
        if self.c20:        # T.32: +FCO, then the reports +FNR asks for
            self._info("+FCO")
            if csi:
                self._report(2, '+FCI:"%s"' % csi)
            self._report(0, "+FIS:%s" % P.fmt(dis))
        else:
            self._info("+FCON")
            if csi:
                self._info("+FCSI:%s" % csi)
            self._info("+FDIS:%s" % P.fmt(dis))
        self._result("OK")
        self.state = "ONLINE"

    def _cmd_fdt(self):
        if self.call is None or self.role != "tx":
            if getattr(self, "lost_code", None) is not None and self.role == "tx":
                code, self.lost_code = self.lost_code, None
                self._info(self._hng(code))
                return None
            return "ERROR"
        if self.page_sent:
            return "ERROR"             # the page before needs its +FET first
        if not self.phase_b_done:
            code = self._hangup_fault("tx_b")
            if code is not None:
                self._hangup_report(code)
                return "ASYNC"
            if not self.remote_rx_ok:
                self._hangup_report(21)
                return "ASYNC"
            self.fdcs = P.negotiate(self.fdis, self.remote_dis)
            self.log.note('send DCS %s TSI "%s" + TCF' % (P.fmt(self.fdcs), self.flid))
            self.call.send(self, "DCS", self.fdcs, self.flid)
            self.state = "FDT_WAIT"
            self._set_timer(self.line.timeouts["t30"], self._lost, "timeout", 25)
            return "ASYNC"
        self._fdt_connect(report_dcs=False)
        return "ASYNC"

    def _fdt_connect(self, report_dcs):
        if report_dcs:
            if self.c20:
                self._report(1, "+FCS:%s" % P.fmt(self.fdcs))
            else:
                self._info("+FDCS:%s" % P.fmt(self.fdcs))
        if self.fdt_ok_count < self.cfg.fdt_ok_first:
            self.fdt_ok_count += 1
            self.log.note("switch: OK instead of CONNECT (%d of %d)" % (self.fdt_ok_count, self.cfg.fdt_ok_first))
            self._result("OK")
            self.state = "ONLINE"
            return
        self.fdt_ok_count = 0
        self._result("CONNECT")
        self.state = "TX_DATA"
        self.unstuffer = Unstuffer(ends=(ETX,) + tuple(t32.PAGE_END)) if self.c20 else Unstuffer()
        self.scanner = EolScanner()
        self.xoff_sent = False
        self.overrun_noted = False
        self.xoff_hold_until = 0.0
        rate = P.bytes_per_second(self.fdcs, self.line.speedup)
        self.pump = Pump(self.call, self, rate, self.page_no, on_done=self._page_sent)
        self.pump.on_tick = self._tx_flow
        hold = self._faults().xoff
        if hold:
            self.log.note("fault: XOFF held %.1f s" % hold)
            self._out(bytes((XOFF,)))
            self.xoff_sent = True
            self.xoff_hold_until = self.loop.now() + hold
            self.loop.call_later(min(hold, 1e6), self._tx_flow)
            self._cancel_timer()           # no underflow while we hold XOFF (armed by our XON)
            return
        xon = self.cfg.xon_after_connect
        if xon if xon is not None else not self.c20:
            self.loop.call_later(0.05, self._xon_after_connect)
        self._set_timer(self.line.timeouts["dte_data"], self._tx_idle)

    def _xon_after_connect(self):
        if self.state == "TX_DATA" and not self.xoff_sent:
            self._out(bytes((XON,)))

    def _tx_idle(self):
        if self.state in ("TX_DATA", "TX_DISCARD"):
            self.log.note("DTE sent no page data for %.0f s" % self.line.timeouts["dte_data"])
            self._hangup_report(43 if self.state == "TX_DATA" else self.discard_code)

    def _tx_data(self, data):
        payload, ended, rest = self.unstuffer.feed(data)
        if self.state == "TX_DISCARD":
            if ended:
                self._hangup_report(self.discard_code, end_call=False)
            return
        if not self.xoff_sent:
            # the underflow clock (+FHNG:43) only runs while the DTE may send: bytes that
            # were on their way when we sent XOFF do not restart it
            self._set_timer(self.line.timeouts["dte_data"], self._tx_idle)
        if payload:
            if self.p["+FBOR"] in (1, 3):
                payload = reverse_bits(payload)
            self.scanner.feed(payload)
            self.pump.put(payload)
        if ended:
            self._cancel_timer()
            end = self.unstuffer.end
            if self.c20:    # T.32 8.3.3.7: <DLE><ppm> ends the page and names the post-page message
                self.ppm = t32.PAGE_END.get(end, P.PPM_EOP)
                self.log.note("DLE %s from DTE: end of page data, %s (%d bytes after unstuffing, %d lines, "
                              "RTC=%s)" % ("ETX" if end == ETX else repr(chr(end)),
                                           ("MPS", "EOM", "EOP")[self.ppm] + (" (DLE ETX taken as EOP)"
                                                                            if end == ETX else ""),
                                           self.scanner.nbytes, self.scanner.line_count, self.scanner.rtc))
            else:
                self.log.note("DLE ETX from DTE: end of page data (%d bytes after unstuffing, %d lines, RTC=%s)"
                              % (self.scanner.nbytes, self.scanner.line_count, self.scanner.rtc))
            if not self.scanner.rtc and self.cfg.append_rtc:
                self.log.note("switch: append RTC (6 EOL) + 2 fill bytes")
                self.pump.put(RTC_WITH_FILL)
            self.pump.finish()
            self.state = "TX_DRAIN"
            if rest:
                self.log.note("bytes after DLE ETX ignored: %r" % bytes(rest))
        self._tx_flow()

    def _tx_flow(self):
        if self.state not in ("TX_DATA", "TX_DRAIN") or self.pump is None:
            return
        n = self.pump.buffered
        if self.xoff_sent and n > 4 * self.cfg.xoff_high and not self.overrun_noted:
            self.overrun_noted = True
            self.log.note("DTE keeps sending after XOFF: %d bytes buffered (a real modem would overflow)" % n)
        if not self.xoff_sent and n >= self.cfg.xoff_high and self.state == "TX_DATA":
            self.xoff_sent = True
            self._out(bytes((XOFF,)))
            self._cancel_timer()      # the DTE is silent because we said so: not an underflow
        elif self.xoff_sent and n <= self.cfg.xon_low and self.loop.now() >= self.xoff_hold_until \
                and self.state == "TX_DATA":
            self.xoff_sent = False
            self._out(bytes((XON,)))
            self._set_timer(self.line.timeouts["dte_data"], self._tx_idle)

    def _page_sent(self):
        self.pump = None
        if self.state != "TX_DRAIN":
            return
        if self.xoff_sent:
            self.xoff_sent = False
            self._out(bytes((XON,)))
        code = self._hangup_fault("tx_c")
        if code is not None:
            self._hangup_report(code)
            return
        self.page_sent = True
        if self.c20:        # no +FET: the post-page message goes out now, the PPR answers
            self._send_ppm(self.ppm)
            return
        self._result("OK")
        self.state = "ONLINE"

    def _cmd_fet(self, ppm):
        if self.call is None or self.role != "tx" or not self.page_sent or ppm not in (0, 1, 2):
            if getattr(self, "lost_code", None) is not None and self.role == "tx":
                code, self.lost_code = self.lost_code, None
                self._info(self._hng(code))
                return None
            return "ERROR"
        self._send_ppm(ppm)
        return "ASYNC"

    def _send_ppm(self, ppm):
        code = self._hangup_fault("tx_d")
        if code is not None:
            self._hangup_report(code)
            return
        self.ppm = ppm
        self.log.note("send PPM %s" % ("MPS", "EOM", "EOP")[ppm])
        self.call.send(self, "PPM", ppm)
        self.state = "FET_WAIT"
        self._set_timer(self.line.timeouts["t30"], self._lost, "timeout", (52, 56, 54)[ppm])

    def _tx_ppr(self, ppr):
        self._cancel_timer()
        self.page_sent = False
        last = self.ppm == P.PPM_EOP and ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP)
        if ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP, P.PPR_PIN):
            self.page_no += 1
        if ppr in (P.PPR_RTN, P.PPR_RTP) or self.ppm == P.PPM_EOM:
            self.phase_b_done = False      # T.30: retrain (new DCS + TCF) before the next page
        if self.c20:
            # T.32 8.3.3.7: OK for MCF/RTP/PIP, ERROR for RTN/PIN (the code is in +FPS?); after
            # the last page's MCF the call ends: +FHS:00, OK (as efax, mgetty and HylaFAX expect)
            self.fpts = ppr
            if last:
                self.log.note("send DCN")
                self._hangup_report(0)
                return
            self._result("OK" if ppr in (P.PPR_MCF, P.PPR_RTP, P.PPR_PIP) else "ERROR")
            self.state = "ONLINE"
            return
        if last:
            if self.cfg.fpts_on_last:
                self._info("+FPTS:%d" % ppr)
            else:
                self.log.note("switch: no +FPTS on the last page")
            self.log.note("send DCN")
            self._hangup_report(0)
            return
        self._info("+FPTS:%d" % ppr)
        self._result("OK")
        self.state = "ONLINE"
