"""A simulated Class 2 fax modem (DCE) on a pseudo-terminal; Class 2.0 (T.32) too, as a
personality (ModemConfig.fclass; the dialect's data is in t32.py).

Commands and responses follow "Fax Class 2 Operation" Part 3 (Table 5-5 hang-up codes) and what real
DTE software expects (the efax and sendfax dialogues in host_tests/core/data/class2/). Real-modem differences are
switches in ModemConfig. Runs entirely in the line's loop thread.
"""
import os
import random

from . import params as P
from . import t32
from .atparse import dial_number, split_commands
from .bits import CAN, DC1, DC2, DLE, ETX, RTC_WITH_FILL, XOFF, XON, EolScanner, Unstuffer, dle_stuff, reverse_bits
from .faults import Faults
from .line import Pump
from .mh import MhChecker
from .ptyport import PtyPort
from .translog import Transcript


class ModemConfig:
    """Real-modem behaviours as switches (defaults: what efax and mgetty expect)."""

    def __init__(self, rx_bit_order=None, xon_after_connect=None, rx_trigger="dc2", append_rtc=True,
                 fpts_on_last=True, fdt_ok_first=0, fpts_fields=2, caps=P.DEFAULT_CAPS, fcr=0,
                 manufacturer="FAXBRIDGE LAB", model="MODEMSIM CLASS2", revision="1.0",
                 identity="FAXBRIDGE MODEMSIM Class 2 simulator", xoff_high=1536, xon_low=256,
                 always_echo=False, ring_in_command=0, log_path=None, fclass="2"):
        assert rx_bit_order in (None, "msb", "lsb", "fbor")
        assert rx_trigger in ("dc2", "dc1", "either")
        assert fclass in t32.PERSONALITIES, "fclass must be one of %s" % ", ".join(t32.PERSONALITIES)
        self.fclass = fclass                  # personality: "2" (pre-standard), "2.0" (T.32) or "both"
        # None: the personality's own convention. Class 2: msb (Rockwell) and XON after
        # CONNECT; Class 2.0: per +FBO and no XON (T.32 has none; efax and mgetty skip the wait)
        self.rx_bit_order = rx_bit_order      # data to the DTE: msb (Rockwell), lsb, or per +FBOR/+FBO
        self.xon_after_connect = xon_after_connect
        self.rx_trigger = rx_trigger          # which byte starts reception after CONNECT to +FDR
        self.append_rtc = append_rtc          # add RTC when the DTE's page has none
        self.fpts_on_last = fpts_on_last      # +FPTS:1 before +FHNG:0 on the last page
        self.fdt_ok_first = fdt_ok_first      # answer the first n AT+FDT of a page with OK
        self.fpts_fields = fpts_fields        # receive +FPTS:<ppr>,<lc> (2, the seed) or 4 fields
        self.caps = tuple(caps)               # +FDCC default
        self.fcr = fcr                        # +FCR default (0: cannot receive until AT+FCR=1)
        self.manufacturer = manufacturer
        self.model = model
        self.revision = revision
        self.identity = identity
        self.xoff_high = xoff_high            # +FDT data buffered before XOFF
        self.xon_low = xon_low                # ... and drained to before XON
        self.always_echo = always_echo        # ATE0 is accepted but ignored: echo stays on
        self.ring_in_command = ring_in_command  # n > 0: a RING line inside every n-th command's response
        self.log_path = log_path

    @classmethod
    def from_spec(cls, spec):
        """'rx_bit_order=lsb,xon_after_connect=0,...' (CLI) -> ModemConfig."""
        kw = {}
        for item in (spec or "").split(","):
            if not item.strip():
                continue
            k, _, v = item.partition("=")
            k = k.strip()
            if k in ("xon_after_connect", "append_rtc", "fpts_on_last", "always_echo"):
                kw[k] = v.strip().lower() in ("1", "true", "yes", "on")
            elif k in ("fdt_ok_first", "fpts_fields", "fcr", "xoff_high", "xon_low", "ring_in_command"):
                kw[k] = int(v)
            elif k == "caps":
                kw[k] = tuple(int(x) for x in v.split(":"))
            else:
                kw[k] = v.strip()
        return cls(**kw)


COMMAND_STATES = ("IDLE", "RINGING", "ONLINE")
SIMPLE_PARAMS = {
    # name: (default, lo, hi) for plain numeric Class 2 parameters
    "+FCR": (0, 0, 1), "+FBOR": (0, 0, 3), "+FAA": (0, 0, 1), "+FPHCTO": (30, 0, 255),
    "+FCQ": (0, 0, 2), "+FBADLIN": (0, 0, 255), "+FBADMUL": (0, 0, 255), "+FMINSP": (0, 0, 5),
    "+FSPL": (0, 0, 1), "+FLPL": (0, 0, 1), "+FTBC": (0, 0, 1), "+FREL": (0, 0, 1),
    "+FECM": (0, 0, 0), "+FCTCRTY": (0, 0, 255), "+FAXERR": (0, 0, 255),
}
S_DEFAULTS = {0: 0, 1: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 60, 8: 2, 10: 14}


class Modem:
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

    # ------------------------------------------------------------------ profile
    def _reset_profile(self):
        self.echo = True
        self.verbose = True
        self.quiet = False
        self.sreg = dict(S_DEFAULTS)
        self.fclass = "0"
        self._reset_fax_params()

    def _reset_fax_params(self):
        """The fax parameters (ATZ, and AT+FIP in Class 2.0)."""
        self.fdcc = self.cfg.caps
        self.fdis = self.cfg.caps
        self.fdcs = P.ZERO
        self.flid = ""
        self.p = {k: v[0] for k, v in SIMPLE_PARAMS.items()}
        self.p["+FCR"] = self.cfg.fcr
        self.p.update({k: v[0] for k, v in t32.PARAMS_20.items()})
        self.fnr = t32.NR_DEFAULT
        self.fpts = P.PPR_MCF
        self.faxerr = 0

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

    def _dead_fault(self, body):
        """The dead= fault for this command line; a dial also sees the dialled number's faults
        (the call they belong to does not exist yet)."""
        f = self._faults()
        if self.call is None:
            for cmd in split_commands(body):
                number = dial_number(cmd[1]) if cmd[0] == "D" else None
                if number:
                    f = f.merged(self.line.number_faults.get(number)).merged(self.line.once_faults.get(number))
        return f.dead

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

    def _command_bytes(self, data):
        echo = bytearray()
        for b in data:
            if b in (XON, XOFF, 0):
                continue
            if self.echo and self.state in COMMAND_STATES:
                echo.append(b)
            if b == self.sreg[3]:
                if echo:
                    self._out(bytes(echo))
                    echo = bytearray()
                line = self.cmdbuf.decode("latin-1")
                self.cmdbuf = bytearray()
                self._command_line(line)
            elif b == self.sreg[5]:
                if self.cmdbuf:
                    del self.cmdbuf[-1]
            elif b == self.sreg[4]:
                continue
            else:
                self.cmdbuf.append(b)
                if len(self.cmdbuf) > 256:
                    self.cmdbuf = bytearray()
                if self.cmdbuf[-2:].upper() == b"A/":
                    self.cmdbuf = bytearray()
                    if echo:
                        self._out(bytes(echo))
                        echo = bytearray()
                    self._command_line(self.last_cmd)
        if echo:
            self._out(bytes(echo))

    def _command_line(self, line):
        if self.state not in COMMAND_STATES:
            self.log.note("command ignored in %s: %r" % (self.state, line))
            return
        s = line.strip()
        k = s.upper().find("AT")
        if k < 0:
            return
        s = s[k:]
        self.last_cmd = s
        self.cmd_count += 1
        dead = self._dead_fault(s[2:])
        if dead is not None:
            if (isinstance(dead, int) and self.cmd_count > dead) or \
                    (isinstance(dead, str) and _names_command(s[2:], dead)):
                self.log.note("fault: modem stops answering (at %r)" % s)
                self._finish_call(None, end_call=False)
                self.state = "DEAD"
                return
        every = self.cfg.ring_in_command
        if every and self.cmd_count % every == 0:
            # an unsolicited RING (a call coming in, or line noise) while the command is
            # being answered: before its information text and result
            self.log.note("switch: RING during the command")
            self._result("RING")
        cmds = split_commands(s[2:])
        for cmd in cmds:
            try:
                r = self._execute(cmd)
            except (ValueError, KeyError, IndexError):
                r = "ERROR"
            if r == "ASYNC":
                return
            if r == "ERROR":
                self._result("ERROR")
                return
        self._result("OK")

    # ------------------------------------------------------------------ command table
    def _execute(self, cmd):
        kind = cmd[0]
        if kind == "BAD":
            return "ERROR"
        if kind == "D":
            return self._cmd_dial(cmd[1])
        if kind == "S":
            _, n, op, val = cmd
            n = int(n)
            if op == "=":
                v = int(val)
                if not 0 <= v <= 255:
                    return "ERROR"
                self.sreg[n] = v
            elif op == "?":
                self._info("%03d" % self.sreg.get(n, 0))
            return None
        if kind == "B":
            return self._basic(cmd[1], cmd[2])
        return self._extended(cmd[1], cmd[2], cmd[3])

    def _basic(self, letter, num):
        n = int(num) if num else 0
        if letter == "E":
            if n == 0 and self.cfg.always_echo:
                self.log.note("switch: ATE0 ignored, echo stays on")
            else:
                self.echo = n == 1
        elif letter == "V":
            self.verbose = n == 1
        elif letter == "Q":
            self.quiet = n == 1
        elif letter in ("Z", "&F"):
            if self.call is not None:
                self._finish_call(None)
            self._reset_profile()
        elif letter == "H":
            if n == 0 and self.call is not None:
                self.log.note("ATH: hanging up")
                self._finish_call(None)
        elif letter == "A":
            return self._cmd_answer()
        elif letter == "I":
            texts = {0: self.cfg.model, 1: "000", 3: self.cfg.identity, 4: self.cfg.manufacturer}
            self._info(texts.get(n, self.cfg.identity))
        elif letter == "O":
            return "ERROR"
        elif letter in ("L", "M", "X", "B", "N", "W", "Y", "C") or letter[0] in "&\\":
            pass
        else:
            return "ERROR"
        return None

    def _extended(self, name, op, arg):
        if name == "+FCLASS":
            listed, allowed = t32.PERSONALITIES[self.cfg.fclass]
            if op == "=?":
                self._info(listed)
            elif op == "?":
                self._info(self.fclass)
            elif op == "=":
                if arg.strip() not in allowed:
                    return "ERROR"
                self.fclass = arg.strip()
            else:
                return "ERROR"
            return None
        if self.c20:
            r = self._extended_20(name, op, arg)
            if r != "CLASS2":
                return r
            name = t32.SAME_AS_CLASS2[name]
        if name in ("+FDCC", "+FDIS"):
            cur = self.fdcc if name == "+FDCC" else self.fdis
            if op == "=?":
                self._info(P.RANGE_TEXT)
            elif op == "?":
                self._info(P.fmt(cur))
            elif op == "=":
                new = P.parse_compound(arg, cur)
                if new is None:
                    return "ERROR"
                if name == "+FDCC":
                    self.fdcc = new
                self.fdis = new  # 5.5.1: writing +FDCC copies it into +FDIS
            else:
                return "ERROR"
            return None
        if name == "+FDCS":
            if op == "?":
                self._info(P.fmt(self.fdcs))
            elif op == "=?":
                self._info(P.RANGE_TEXT)
            else:
                return "ERROR"
            return None
        if name in ("+FLID", "+FCIG"):
            if op == "=?":
                self._info("(20),(32-127)")
            elif op == "?":
                v = self.flid if name == "+FLID" else ""
                self._info('"%s"' % v if self.c20 else v)   # T.32 strings are quoted
            elif op == "=":
                v = arg.strip()
                if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                    v = v[1:-1]
                if len(v) > 20 or any(not 32 <= ord(c) < 127 for c in v):
                    return "ERROR"
                if name == "+FLID":
                    self.flid = v
            else:
                return "ERROR"
            return None
        if name in ("+FMFR", "+FMDL", "+FREV", "+FMI", "+FMM", "+FMR"):
            if op != "?":
                return "ERROR"
            self._info({"+FMFR": self.cfg.manufacturer, "+FMI": self.cfg.manufacturer, "+FMDL": self.cfg.model,
                        "+FMM": self.cfg.model}.get(name, self.cfg.revision))
            return None
        if name == "+FBUF":
            if op != "?":
                return "ERROR"
            self._info("%d,%d,%d,0" % (self.cfg.xoff_high + 512, self.cfg.xoff_high, self.cfg.xon_low))
            return None
        if name == "+FPTS":
            if op == "=?":
                self._info("(1-5)")
            elif op == "?":
                self._info(str(self.fpts))
            elif op == "=":
                v = int(arg.split(",")[0])
                if not 1 <= v <= 5:
                    return "ERROR"
                self.fpts = v
            else:
                return "ERROR"
            return None
        if name == "+FET":
            if op == "=?":
                self._info("(0-2)")
                return None
            if op == "?":
                self._info(str(getattr(self, "ppm", 0) if getattr(self, "role", "") == "tx"
                                else getattr(self, "last_ppm", None) or 0))
                return None
            if op != "=":
                return "ERROR"
            return self._cmd_fet(int(arg))
        if name == "+FDT":
            if op == "=?" or op == "?":
                return None
            return self._cmd_fdt()
        if name == "+FDR":
            if op == "=?" or op == "?":
                return None
            return self._cmd_fdr()
        if name == "+FK" or name == "+FKS":
            if self.call is not None:
                self._info(self._hng(2))
                self._finish_call(2)
            return None
        if name in SIMPLE_PARAMS:
            return self._ranged(name, op, arg, SIMPLE_PARAMS[name])
        return "ERROR"

    def _ranged(self, name, op, arg, spec):
        """A numeric parameter with a range (default, lo, hi): =? lists it, ? reads it, = sets it."""
        _default, lo, hi = spec
        if op == "=?":
            self._info("(%d-%d)" % (lo, hi) if hi > lo else "(%d)" % lo)
        elif op == "?":
            self._info(str(self.p[name]))
        elif op == "=":
            v = int(arg)
            if not lo <= v <= hi:
                return "ERROR"
            self.p[name] = v
        else:
            return "ERROR"
        return None

    def _extended_20(self, name, op, arg):
        """Class 2.0-only commands; "CLASS2" when the Class 2 handler does the job under its
        old name (t32.SAME_AS_CLASS2); Class 2 names a T.32 modem does not know: ERROR."""
        if name in t32.SAME_AS_CLASS2:
            return "CLASS2"
        if name == "+FNR":
            if op == "=?":
                self._info("(0,1),(0,1),(0,1),(0,1)")
            elif op == "?":
                self._info(P.fmt(self.fnr))
            elif op == "=":
                new = list(self.fnr)
                parts = arg.split(",")
                if len(parts) > 4:
                    return "ERROR"
                for i, v in enumerate(parts):
                    if v.strip():
                        if v.strip() not in ("0", "1"):
                            return "ERROR"
                        new[i] = int(v)
                self.fnr = tuple(new)
            else:
                return "ERROR"
            return None
        if name == "+FIP":
            if op not in ("", "=") or (arg or "0").strip() != "0":
                return "ERROR"
            self._reset_fax_params()
            return None
        if name == "+FHS":
            if op != "?":
                return "ERROR"
            self._info(t32.fhs_text(self.faxerr))
            return None
        if name == "+FBS":
            if op != "?":
                return "ERROR"
            self._info("%X,%X" % (self.cfg.xoff_high + 512, self.cfg.xoff_high + 512))
            return None
        if name == "+FCQ":          # T.32: <rq>,<tq>; this modem checks nothing
            if op == "=?":
                self._info("(0),(0)")
            elif op == "?":
                self._info("0,0")
            elif op != "=" or any(v.strip() not in ("", "0") for v in arg.split(",")[:2]) or arg.count(",") > 1:
                return "ERROR"
            return None
        if name in t32.PARAMS_20:
            return self._ranged(name, op, arg, t32.PARAMS_20[name])
        return "ERROR"

    # ------------------------------------------------------------------ dialling (transmit side)
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

    def _noise(self):
        n = self._faults().noise
        if n:
            self.log.note("fault: %d noise bytes" % n)
            self._out(bytes(random.choice(b"\x80\x9f\xc3\xfe~}|xX#") for _ in range(n)))

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

    # ------------------------------------------------------------------ answering (receive side)
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
            self.rx = _RxPage(self.page_no)
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


def _names_command(body, dead):
    """True when one of the commands on the line (body: the text after "AT") is the dead=CMD
    fault's command: "A" is ATA (not the A of +FCLASS), "D" any dial, "+FET" any AT+FET=n."""
    for cmd in split_commands(body):
        if cmd[0] == "D":
            text = "D" + cmd[1]
        elif cmd[0] == "B":
            text = cmd[1] + cmd[2]
        elif cmd[0] == "S":
            text = "S" + cmd[1] + cmd[2] + (cmd[3] or "")
        elif cmd[0] == "X":
            text = cmd[1] + cmd[2] + (cmd[3] or "")
        else:
            text = cmd[1]
        if text.upper().startswith(dead):
            return True
    return False


class _RxPage:
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
