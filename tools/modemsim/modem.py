"""A simulated Class 2 fax modem (DCE) on a pseudo-terminal; Class 2.0 (T.32) too, as a
personality (ModemConfig.fclass; the dialect's data is in t32.py).

Commands and responses follow "Fax Class 2 Operation" Part 3 (Table 5-5 hang-up codes) and what real
DTE software expects (the efax and sendfax dialogues in host_tests/core/data/class2/). Real-modem differences are
switches in ModemConfig. Runs entirely in the line's loop thread.

The modem is one object, Modem, written in four modules (mixins): this one (the pty, output to the
DTE, the hang-up and the call's end, the line's messages), atcommands.py (the AT command set),
transmit.py (the sending side of a call) and receive.py (the receiving side); config.py holds
ModemConfig.
"""
import os
import random

from . import params as P
from . import t32
from .atcommands import COMMAND_STATES, Commands
from .bits import CAN, DLE, ETX, XOFF, XON, dle_stuff
from .config import ModemConfig
from .faults import Faults
from .ptyport import PtyPort
from .receive import Receive, RxPage
from .translog import Transcript
from .transmit import Transmit

__all__ = ["Modem", "ModemConfig"]


class Modem(Commands, Transmit, Receive):
    """A simulated fax modem on a pty (docs/modemsim.md, "The modem")."""

    def __init__(self, line, number, config=None, link=None):
        self.line = line
        self.loop = line.loop
        self.number = str(number)
        self.cfg = config or ModemConfig()
        log_path = self.cfg.log_path
        if log_path is None and line.log_dir:
            log_path = os.path.join(line.log_dir, "modem-%s.log" % self.number)
        self.log = Transcript(self.loop.t0, log_path, self.number)
        self.port = PtyPort(self.loop, self._on_dte, link=link)
        self.path = self.port.path
        self.link = link
        self.log.note("%s: pty %s%s" % (self.number, self.path, (" linked as " + link) if link else ""))
        self.cmdbuf = bytearray()
        self.last_cmd = ""
        self.cmd_count = 0
        self.state = "IDLE"
        self.timer = None
        self.call = None
        self.pump = None
        self._reset_profile()

    # ------------------------------------------------------------------ public (any thread)
    @property
    def transcript(self):
        return self.log.text()

    def wait_state(self, state, timeout=10.0):
        """Poll until the modem is in state (tests)."""
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.state == state:
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self._cancel_timer()
        if self.pump:
            self.pump.stop()
        if self.call is not None:
            self.call.end(self, "DROP")
            self.call = None
        self.port.close()
        self.log.close()

    def busy(self):
        if self.state == "DEAD":
            return False  # rings unanswered
        return not (self.state == "IDLE" or (self.state == "ANSWER_WAIT" and self.call is None))

    # ------------------------------------------------------------------ the class in use
    @property
    def c20(self):
        """True in +FCLASS=2.0: the T.32 command, response and data conventions."""
        return self.fclass == "2.0"

    def _hng(self, code):
        """The hang-up report: +FHNG:<decimal> (Class 2) or +FHS:<hex> (T.32 Table 20)."""
        return "+FHS:%s" % t32.fhs_text(code) if self.c20 else "+FHNG:%d" % code

    def _report(self, kind, text):
        """A Class 2.0 negotiation report, sent only when +FNR enables its kind (T.32 8.5.1.11):
        kind 0 = rpr (+FIS:), 1 = tpr (+FCS:), 2 = idr (+FCI:/+FTI:)."""
        if self.fnr[kind]:
            self._info(text)

    # ------------------------------------------------------------------ output
    def _out(self, data, data_mode=False):
        self.log.dce(data, data_mode)
        self.port.write(data)

    def _info(self, text):
        if self.verbose:
            self._out(b"\r\n" + text.encode("latin-1") + b"\r\n")
        else:
            self._out(text.encode("latin-1") + b"\r\n")

    def _result(self, word):
        if self.quiet:
            return
        if self.verbose:
            self._out(b"\r\n" + word.encode() + b"\r\n")
        else:
            self._out(b"%d\r" % P.RESULTS[word])

    def _hangup_report(self, code, end_call=True, kind="DCN"):
        """+FHNG:<code> then OK (seed 5.4.10), the call is over."""
        if self.call is not None:
            self.call.hangups[self.number] = code   # recorded before the DTE can see it
        self._release_xoff()
        self._info(self._hng(code))
        self._result("OK")
        self._finish_call(code, end_call, kind)

    def _release_xoff(self):
        """Leaving page data while we hold XOFF: XON first, or the DTE stays stopped."""
        if getattr(self, "xoff_sent", False) and self.state in ("TX_DATA", "TX_DRAIN"):
            self.xoff_sent = False
            self._out(bytes((XON,)))

    def _finish_call(self, code, end_call=True, kind="DCN"):
        self._release_xoff()
        self._cancel_timer()
        if self.pump:
            self.pump.stop()
            self.pump = None
        call = self.call
        if call is not None:
            if code is not None:
                call.hangups[self.number] = code
            if end_call:
                call.end(self, kind)
        self.call = None
        if code is not None:
            self.faxerr = code
            self.p["+FAXERR"] = code
        self.fdis = self.fdcc  # 5.5.2: +FDIS from +FDCC at the end of a session
        if self.state != "DEAD":
            self.state = "IDLE"

    def _set_timer(self, delay, fn, *args):
        self._cancel_timer()
        self.timer = self.loop.call_later(delay, fn, *args)

    def _cancel_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _faults(self):
        if self.call is not None:
            return self.call.faults
        return self.line.number_faults.get(self.number) or Faults()

    def _hangup_fault(self, *phases):
        code = self._faults().hangup
        if code is None:
            return None
        phase = (t32.fhs_phase(code) or "").replace("dial_now", "dial") if self.c20 else P.hangup_phase(code)
        if phase in phases:
            self.log.note("fault: %s at %s" % (self._hng(code), phase))
            return code
        return None

    # ------------------------------------------------------------------ DTE input
    def _on_dte(self, data):
        st = self.state
        data_mode = st in ("TX_DATA", "TX_DISCARD")
        self.log.dte(data, data_mode)
        if st == "DEAD":
            return
        if data_mode:
            self._tx_data(data)
        elif st == "RX_WAIT_TRIGGER":
            self._rx_trigger(data)
        elif st == "RX_DATA":
            for b in data:
                if b == XOFF:
                    self.dte_xoff = True
                    self._set_timer(self.line.timeouts["dte_data"], self._dte_xoff_too_long)
                elif b == XON:
                    self.dte_xoff = False
                    self._cancel_timer()
                    self._rx_flush()
                elif b == CAN:
                    self.log.note("CAN from DTE during receive: ignored")
        elif st in ("DIALING", "ANSWER_WAIT"):
            if any(b not in (XON, XOFF, 0x0d, 0x0a) for b in data):
                self.log.note("DTE byte aborts %s" % st)
                if st == "DIALING" and self.call is not None:
                    self.line.cancel(self.call, "NO CARRIER")
                self._finish_call(None, end_call=True, kind="DROP")
                self._result("NO CARRIER")
        elif st in COMMAND_STATES:
            self._command_bytes(data)
        else:
            self.log.note("DTE bytes ignored in %s" % st)

    def _noise(self):
        n = self._faults().noise
        if n:
            self.log.note("fault: %d noise bytes" % n)
            self._out(bytes(random.choice(b"\x80\x9f\xc3\xfe~}|xX#") for _ in range(n)))

    # ------------------------------------------------------------------ the line
    def on_line(self, call, kind, *args):
        if call is not self.call:
            return
        st = self.state
        if st == "DEAD":
            return
        if kind == "ANSWER" and st == "DIALING":
            self._cancel_timer()
            self._tx_answered(*args)
        elif kind == "CFR" and st == "FDT_WAIT":
            self._cancel_timer()
            self.phase_b_done = True
            self._fdt_connect(report_dcs=True)
        elif kind == "PPR" and st == "FET_WAIT":
            self._tx_ppr(args[0])
        elif kind == "DCS" and self.role == "rx":
            self._rx_dcs(*args)
        elif kind == "PAGE_START" and self.role == "rx":
            self.rx = RxPage(self.page_no)
            if st == "FDR_WAIT_PAGE":
                self._rx_connect()
        elif kind == "DATA" and self.role == "rx" and self.rx is not None:
            self.rx.scanner.feed(args[0])
            self.rx.mh.feed(args[0])
            self.rx.buf += args[0]
            self._rx_flush()
        elif kind == "PAGE_END" and self.role == "rx" and self.rx is not None:
            self.rx.ended = True
            self._rx_flush()
        elif kind == "PPM" and self.role == "rx":
            if self.rx is not None:
                self.rx.ppm = args[0]
                if st == "RX_WAIT_PPM":
                    self._rx_report()
        elif kind == "CANCEL":
            if st == "RINGING":
                self.log.note("caller gave up")
                self._cancel_timer()
                self.call = None
                self.state = "IDLE"
        elif kind in ("DCN", "DROP"):
            self._lost(kind, None)
        else:
            self.log.note("line message %s ignored in %s" % (kind, st))

    def _lost(self, why, code=None):
        """The call ended under us (DCN, DROP) or a T.30 wait timed out."""
        st = self.state
        self.log.note("call lost (%s) in %s" % (why, st))
        timeout = why == "timeout" or why.startswith("no ")
        if st in ("DIALING",):
            self._finish_call(None, end_call=False)
            self._result("NO CARRIER")
            return
        if st == "RINGING":
            self._finish_call(None, end_call=False)
            return
        if code is None:
            code = self._lost_code(st)
        if st == "FDR_WAIT_END":
            self._hangup_report(0, end_call=False)
        elif st in ("TX_DATA",):
            self.state = "TX_DISCARD"
            self.discard_code = code
            if self.pump:
                self.pump.stop()
                self.pump = None
            if self.xoff_sent:
                self.xoff_sent = False
                self._out(bytes((XON,)))
            if self.call is not None and not timeout:
                self.call.hangups[self.number] = code
        elif st in ("RX_WAIT_TRIGGER", "RX_DATA"):
            if st == "RX_DATA" and self.rx is not None:
                self.rx.ended = True
                self.dte_xoff = False
                rx, self.rx = self.rx, None
                if rx.delivered < len(rx.buf):
                    self._out(dle_stuff(self._rx_order(bytes(rx.buf[rx.delivered:]))), data_mode=True)
            self._out(bytes((DLE, ETX)), data_mode=True)
            self._hangup_report(code, end_call=timeout)
        elif st in ("ONLINE",):
            self.lost_code = code
            if self.call is not None:
                self.call.hangups[self.number] = code
            self.call = None
            self.fdis = self.fdcc
        else:
            self._hangup_report(code, end_call=timeout)

    def _lost_code(self, st):
        if self.role == "tx":
            return {"FDT_WAIT": 20, "TX_DATA": 40, "TX_DRAIN": 40, "FET_WAIT": 50}.get(
                st, 50 if getattr(self, "phase_b_done", False) else 20)
        if st == "ANSWER_WAIT":
            return 70
        if st in ("RX_WAIT_TRIGGER", "RX_DATA"):
            return 90
        if st == "RX_WAIT_PPM" or self.ppr_pending is not None:
            return 100
        if st == "FDR_WAIT_PAGE":
            return 73 if self.page_no > 1 else 70
        return 70 if self.page_no == 1 else 73
