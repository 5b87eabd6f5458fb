"""The AT command set of the simulated modem (mixin of modem.Modem): command-line input from the
DTE, the profile (ATZ, S registers, the Class 2 / Class 2.0 parameters) and the answer to every
basic, S-register and extended command ("Fax Class 2 Operation" Part 3; T.32 for Class 2.0).
Dialling, answering and the data commands (+FDT, +FET, +FDR) hand over to transmit.py and
receive.py; splitting a line into commands is atparse.py."""
from . import params as P
from . import t32
from .atparse import dial_number, split_commands
from .bits import XOFF, XON


COMMAND_STATES = ("IDLE", "RINGING", "ONLINE")
SIMPLE_PARAMS = {
    # name: (default, lo, hi) for plain numeric Class 2 parameters
    "+FCR": (0, 0, 1), "+FBOR": (0, 0, 3), "+FAA": (0, 0, 1), "+FPHCTO": (30, 0, 255),
    "+FCQ": (0, 0, 2), "+FBADLIN": (0, 0, 255), "+FBADMUL": (0, 0, 255), "+FMINSP": (0, 0, 5),
    "+FSPL": (0, 0, 1), "+FLPL": (0, 0, 1), "+FTBC": (0, 0, 1), "+FREL": (0, 0, 1),
    "+FECM": (0, 0, 0), "+FCTCRTY": (0, 0, 255), "+FAXERR": (0, 0, 255),
}
S_DEFAULTS = {0: 0, 1: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 60, 8: 2, 10: 14}


class Commands:
    """The command side of a Modem: reads self.cfg, self.line, self.call, self.state."""

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

    # ------------------------------------------------------------------ command lines from the DTE
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
