"""The Class 2 machine's core (sans-I/O): states, configuration, the AT line path, the dispatch
of final results and timeouts through TABLE, and the one way a call ends.

No page source or sink is touched here: the driver (class2.Class2) does that page I/O and
implements the hooks this core calls (_answer, _open, _configure, _rx_begin, _rx_abort).
docs/fax.md has the states table and the module map.
"""
from array import array

from micropython import const

from faxbridge.core.fax import at, dial, dialect, evidence, framing

# States (names in STATE_NAMES, same order).
_OFF = const(0)
INIT = const(1)       # init list: one command at a time
IDLE = const(2)
PROBE = const(3)      # "AT" to an idle modem
RESET = const(4)      # ATZ sent
RESET_WAIT = const(5)  # ATZ got no answer: wait reset_backoff, then ATZ again
SETUP = const(6)      # AT+FDIS= before dialling or before a page
DIAL = const(7)       # ATD sent: +FCON, +FCSI:, +FDIS:, OK
FDT = const(8)        # AT+FDT sent: +FDCS:, CONNECT
XONWAIT = const(9)    # CONNECT seen, waiting for XON (or the grace time)
TXDATA = const(10)    # streaming page data
TXEND = const(11)     # DLE ETX sent, waiting for OK
FET = const(12)       # AT+FET=<ppm> sent: +FPTS:, (+FHNG:), OK
ANSWER = const(13)    # ATA sent: +FCON, +FTSI:, +FDCS:, OK
FDR = const(14)       # AT+FDR sent: +FCFR, +FDCS:, CONNECT (or +FHNG:, OK)
RXDATA = const(15)    # receiving page data until DLE ETX
RXPOST = const(16)    # +FPTS:, +FET:, OK after a received page
FPTS = const(17)      # AT+FPTS=<ppr> sent
HANGUP = const(18)    # AT+FK / ATH / CR sent, waiting for the modem to settle
TXPPM = const(19)     # Class 2.0: <DLE><ppm> sent, waiting for OK (MCF...) / ERROR (RTN...)
CLASSQ = const(20)    # fclass "auto": AT+FCLASS=? sent, collecting the classes it lists

STATE_NAMES = ("off", "init", "idle", "probe", "reset", "reset_wait", "setup", "dial", "fdt",
               "xonwait", "txdata", "txend", "fet", "answer", "fdr", "rxdata", "rxpost", "fpts",
               "hangup", "txppm", "classq")

# Events of the transition table: final result codes (V.25 ter), a deadline passing.
_OK = const(1)
_CONNECT = const(2)
_ERROR = const(3)
_OTHER = const(4)     # any other final result (BUSY, NO CARRIER, ...)
_ANY = const(5)       # event column: every final result not matched before it
_TIMEOUT = const(6)
_ALL = const(99)      # state column: every state not matched before it
_G = const(1)         # guard column: hang-up seen -> end, outcome decided -> hang up

# The machine: state x event -> guard, action (first matching row wins). Events are the final
# result codes (_ANY: every other one) and _TIMEOUT (the state's deadline passed). _G: the guard
# runs first (Machine._closing: hang-up seen -> end; outcome decided -> hang up). The actions
# are the functions of c2call.py, named here. +F responses (+FCON, +FHNG, +FDCS, +FPTS, +FET,
# ...) are not events: they are recorded in the call's session (dialect.read) and read by the
# action of the final result that follows them.
TABLE = (
    # state     event      guard action           what follows
    CLASSQ,     _ANY,      0,  "class_pick",       # fclass auto: the dialect of class_order listed -> INIT
    INIT,       _ANY,      0,  "init_next",        # next init command / IDLE; ERROR on a required one: RESET
    PROBE,      _OK,       0,  "idle",             # "AT" answered: IDLE
    PROBE,      _ERROR,    0,  "idle",
    RESET,      _OK,       0,  "reinit",           # ATZ answered: INIT
    SETUP,      _ANY,      _G, "setup_done",       # AT+FDIS= (5.5.2): ATD -> DIAL, or AT+FDT -> FDT
    DIAL,       _OK,       _G, "call_ok",          # +FCON seen: AT+FDT -> FDT; else 9001
    DIAL,       _ANY,      0,  "dial_failed",      # BUSY, NO ANSWER, ... -> end (spec/fax.md); CONNECT: 205001
    FDT,        _CONNECT,  0,  "fdt_connect",      # XONWAIT -> TXDATA on XON or xon_grace
    FDT,        _OK,       _G, "fdt_again",        # AT+FDT again (fdt_retries), then 7200
    FDT,        _ANY,      0,  "lost",             # +FHNG seen: end; NO CARRIER: 488; else 205001, leave the call
    XONWAIT,    _ANY,      0,  "lost",
    TXDATA,     _ANY,      0,  "lost",             # the modem left data mode on its own
    TXEND,      _OK,       _G, "page_sent",        # DLE ETX confirmed: AT+FET=0|2 -> FET
    TXEND,      _ANY,      0,  "lost",
    FET,        _OK,       0,  "page_verdict",     # +FPTS (Table 5-4): SETUP/FDT, same page, HANGUP, end
    FET,        _ANY,      0,  "lost",
    TXPPM,      _OK,       0,  "ppm_verdict",      # Class 2.0 page end: OK = MCF/RTP/PIP, then as FET
    TXPPM,      _ERROR,    0,  "ppm_verdict",      # ERROR = RTN/PIN (T.32): the page again or give up
    TXPPM,      _ANY,      0,  "lost",
    ANSWER,     _OK,       _G, "call_ok",          # +FCON seen: AT+FDR -> FDR; else 9001
    ANSWER,     _ANY,      0,  "answer_failed",    # VOICE 3936, NO CARRIER 488, else 205001
    FDR,        _CONNECT,  0,  "fdr_connect",      # DC2 -> RXDATA until DLE ETX -> RXPOST
    FDR,        _OK,       _G, "fdr_ok",           # after EOP: ATH -> HANGUP; else AT+FDR again, then 7200
    FDR,        _ANY,      0,  "lost",
    RXPOST,     _OK,       0,  "page_received",    # our verdict differs: AT+FPTS= -> FPTS; else AT+FDR -> FDR
    RXPOST,     _ANY,      0,  "lost",
    FPTS,       _ANY,      _G, "fdr",              # ERROR tolerated (the modem keeps its verdict)
    HANGUP,     _ERROR,    0,  "hangup_refused",   # AT+FK refused: ATH once
    HANGUP,     _ANY,      0,  "finish",           # end event -> INIT (re-init after every call)
    INIT,       _TIMEOUT,  0,  "reset",            # -> RESET (ATZ)
    CLASSQ,     _TIMEOUT,  0,  "reset",
    PROBE,      _TIMEOUT,  0,  "reset",
    HANGUP,     _TIMEOUT,  0,  "reset",
    RESET,      _TIMEOUT,  0,  "unresponsive",     # -> RESET_WAIT (reset_backoff)
    RESET_WAIT, _TIMEOUT,  0,  "reset",            # -> RESET
    DIAL,       _TIMEOUT,  0,  "dial_timeout",     # CR aborts the dial -> HANGUP
    RXDATA,     _TIMEOUT,  0,  "reset",            # no DLE ETX after our CAN -> RESET
    _ALL,       _TIMEOUT,  0,  "timed_out",        # any other state: 205001, leave the call
)

# Configuration keys and defaults (docs/fax.md explains each). Times in seconds.
DEFAULTS = {
    "station_id": "", "deny": dial.DENY, "allow": None, "max_len": dial.MAX_LEN,
    "outside_prefixes": (), "country": dial.COUNTRY, "dial_mode": "T", "max_rate": 9600, "fine": True, "scan_time": 0,
    "init_extra": (), "cmd_timeout": 5, "dial_timeout": 120, "answer_timeout": 120,
    "connect_timeout": 45, "fdr_timeout": 60, "xon_grace": 2, "xoff_limit": 20,
    "page_end_timeout": 120, "fet_timeout": 60, "hangup_timeout": 15, "rx_idle_timeout": 30,
    "rx_page_timeout": 900, "reset_timeout": 10, "reset_backoff": 30, "idle_check": 60,
    "fdt_retries": 3, "fdr_retries": 3, "rtn_resend": 1, "rings": 2, "ring_reset": 10,
    "rx_start": "DC2", "rx_msb_first": True, "rx_bad_pct": 5, "chunk": 128,
    "fclass": "2", "class_order": ("2.0", "2"),
}


class Machine:
    def __init__(self, config, sink_factory):
        cfg = dict(DEFAULTS)
        if config:
            for k in config:
                if k not in DEFAULTS:
                    raise ValueError("unknown fax config key: %s" % k)
                cfg[k] = config[k]
        dial.station_id(cfg["station_id"])    # the unit's config.py checks every other option
        order = tuple(cfg["class_order"])
        if not order or [c for c in order if c not in dialect.CLASSES]:
            raise ValueError("class_order: one or more of %s" % ", ".join(dialect.CLASSES))
        self._auto = cfg["fclass"] == "auto"
        self.fclass = None if self._auto else cfg["fclass"]   # the class in use (auto: once asked)
        self.d = dialect.get(order[0] if self._auto else cfg["fclass"])
        self.cfg = cfg
        self._sink_factory = sink_factory    # called by the driver (class2) only
        self._listing = None                 # what AT+FCLASS=? listed (fclass auto)
        from faxbridge.core.fax import c2call
        self._acts = c2call                  # TABLE's actions, by name
        self._lines = at.LineReader()
        self._wq = []
        self._ev = []
        self.state = _OFF
        self._deadline = None
        self._sess = None
        self._init_i = 0
        self._init_cmds = ()
        self._rings = 0
        self._ring_t = None
        self._idle_since = 0
        self._xoff = False
        self._xoff_t = 0
        self._xon_until = 0
        self._rx_armed = False
        self._arm_on_write = False
        self._rx_last = 0
        self._rx_page_t = 0
        self._rx_lead = False     # CR/LF right after CONNECT is not page data
        self._fst = array("i", (0, 0, 0, 0))  # framing state (framing.py): [i, n, o, flags]
        self._hangup_cmds = 0
        self.resets = 0
        self.last_cmd = None

    # ---- public API (the rest, with the page I/O, is in class2.Class2) -------------------

    def start(self, now):
        """Initialise the modem (call once; also restarts a stopped machine)."""
        self._start_init(now)

    def ready(self):
        """True when a send() may start now: initialised, idle, no incoming call ringing."""
        return self.state == IDLE and self._rings == 0

    def state_name(self):
        return STATE_NAMES[self.state]

    def in_call(self):
        return self._sess is not None

    def xoff(self):
        """True while the modem holds page data back (XOFF seen, no XON since)."""
        return self._xoff

    def events(self):
        """Events since the last call, oldest first: (kind, dict). See docs/fax.md."""
        ev = self._ev
        self._ev = []
        return ev

    def cancel(self, now):
        """Cancel the call in progress (ends with 403). Returns False when there is none."""
        s = self._sess
        if s is None:
            return False
        if s.outcome is None or s.outcome[0] != 403:
            s.outcome = (403, "cancelled")
        st = self.state
        if st == DIAL:
            self._write(b"\r")             # any character aborts dialling (V.25 ter 6.3.1)
            self._set(HANGUP, now, self.cfg["hangup_timeout"])
        elif st == XONWAIT or st == TXDATA or st == RXDATA:
            self._leave(s, now)
        return True                        # else the guard of the next result hangs up

    def poll(self, now):
        """Fire what is due at `now`: timeouts, XON grace, ring count expiry, idle probe."""
        st = self.state
        c = self.cfg
        if self._ring_t is not None and now - self._ring_t > c["ring_reset"]:
            self._rings = 0
            self._ring_t = None
        if st == XONWAIT and now >= self._xon_until:
            self._set(TXDATA, now, None)     # efax: no XON after CONNECT, send anyway
        elif st == TXDATA and self._xoff and now - self._xoff_t > c["xoff_limit"]:
            self._fail(205001, "XOFF held for more than %s s" % c["xoff_limit"], now)
        elif st == RXDATA and self._rx_armed and self._sess.outcome is None and (
                now - self._rx_last > c["rx_idle_timeout"] or now - self._rx_page_t > c["rx_page_timeout"]):
            if now - self._rx_last > c["rx_idle_timeout"]:
                self._fail(205001, "no page data for %s s" % c["rx_idle_timeout"], now)
            else:
                self._fail(205001, "page longer than %s s" % c["rx_page_timeout"], now)
        elif st == IDLE:
            self._idle_poll(now)
        elif self._deadline is not None and now >= self._deadline:
            self._dispatch(_TIMEOUT, self._sess, None, now)

    def deadline(self):
        """The next time poll() has something to do (None: only modem input matters)."""
        c = self.cfg
        t = self._deadline
        st = self.state
        if st == XONWAIT:
            t = self._xon_until
        elif st == TXDATA and self._xoff:
            t = self._xoff_t + c["xoff_limit"]
        elif st == RXDATA and self._rx_armed and self._sess.outcome is None:
            t = min(self._rx_last + c["rx_idle_timeout"], self._rx_page_t + c["rx_page_timeout"])
        elif st == IDLE:
            t = self._idle_since + c["idle_check"] if c["idle_check"] else None
        if self._ring_t is not None:
            r = self._ring_t + c["ring_reset"]
            t = r if t is None or r < t else t
        return t

    # ---- output, events, state --------------------------------------------------------

    def _emit(self, kind, info):
        self._ev.append((kind, info))

    def _progress(self, phase, now):
        s = self._sess
        self._emit("progress", {"dir": s.dir, "phase": phase, "page": s.index})

    def _write(self, b):
        if self._sess is not None:
            self._sess.touched = True
        self._wq.append(b)

    def _cmd(self, body, state, now, timeout=None):
        self.last_cmd = body
        self._write(at.command(body))
        self._set(state, now, self.cfg["cmd_timeout"] if timeout is None else timeout)

    def _set(self, state, now, timeout):
        self.state = state
        self._deadline = None if timeout is None else now + timeout

    # ---- modem health: init, probe, reset, rings ----------------------------------------

    def _start_init(self, now):
        if self.fclass is None:              # fclass auto: ask the modem first (c2call.class_pick)
            self._listing = None
            self._lines.reset()
            self._cmd("+FCLASS=?", CLASSQ, now)
            return
        cmds = list(self.d["init"])
        cmds.append((self.d["local_id"] % self.cfg["station_id"], True))
        for e in self.cfg["init_extra"]:
            cmds.append((e, True))
        self._init_cmds = cmds
        self._init_i = 0
        self._lines.reset()
        self._cmd(cmds[0][0], INIT, now)

    def _idle_poll(self, now):
        c = self.cfg
        if self._rings and c["rings"] and self._rings >= c["rings"] and self._sink_factory is not None:
            self._rings = 0
            self._ring_t = None
            self._answer(now)
            return
        if c["idle_check"] and now - self._idle_since >= c["idle_check"]:
            self._cmd("", PROBE, now)

    def _reset(self, reason, now):
        """The modem stopped answering: end any call, ask for DTR toggle, send ATZ."""
        self.resets += 1
        if self._auto:
            self.fclass = None               # ask AT+FCLASS=? again: the modem may be another
        self._emit("modem", {"state": "reset", "reason": reason})
        if self._sess is not None:
            if self._sess.outcome is None:
                self._sess.outcome = (205001, reason)
            self._end(now, reinit=False)
        self._wq = []
        self._xoff = False
        self._lines.reset()
        self._write(framing.END + b"\r")      # leave data mode if it is stuck there
        self._cmd("Z", RESET, now, self.cfg["reset_timeout"])

    # ---- input: lines, flow control, +F responses ----------------------------------------

    def _flow(self, b, now):
        if b == at.XOFF:
            if not self._xoff:
                self._xoff = True
                self._xoff_t = now
        else:
            self._xoff = False
            if self.state == XONWAIT:
                self._set(TXDATA, now, None)

    def _line(self, line, now):
        kind, name, args = at.classify(line)
        if kind == at.INFO and self.state == CLASSQ:
            self._listing = name                 # the list is one line (at most the line buffer)
            return
        if kind == at.ECHO or kind == at.INFO:
            return
        if kind == at.RING:
            self._rings += 1
            self._ring_t = now
            self._emit("ring", {"count": self._rings})
            if self.state == IDLE:
                self._idle_poll(now)
            return
        s = self._sess
        if kind == at.FAX:
            if s is not None:
                dialect.read(self, s, name, args, now)
            return
        if s is not None:
            s.result = name
        ev = _OK if name == "OK" else _CONNECT if name == "CONNECT" else _ERROR if name == "ERROR" else _OTHER
        self._dispatch(ev, s, name, now)

    def _dispatch(self, ev, s, name, now):
        """Run the first row of TABLE for (state, event): its guard, then its action."""
        st = self.state
        if s is None and st >= SETUP and st != CLASSQ:
            if ev == _TIMEOUT:
                self._reset("no answer to AT%s" % self.last_cmd, now)
            return                                # a stray result between calls
        t = TABLE
        k = 0
        while k < len(t):
            if (t[k] == st or t[k] == _ALL) and (t[k + 1] == ev or (t[k + 1] == _ANY and ev != _TIMEOUT)):
                if t[k + 2] and self._closing(s, now):
                    return
                getattr(self._acts, t[k + 3])(self, s, name, now)
                return
            k += 4

    # ---- endings: the guard, failing, hanging up, the end event --------------------------

    def _closing(self, s, now):
        """The guard of every result that could carry on a call: a hang-up the modem reported
        ends the call; an outcome we decided (cancel, failure) hangs up. True when it did.
        Before ATD nothing is on the line: an outcome then ends at once."""
        if s.hangup is not None or (s.outcome is not None and self.state == SETUP and s.then == DIAL):
            self._end(now)
        elif s.outcome is not None:
            self._hangup(now)
        else:
            return False
        return True

    def _fail(self, code, reason, now):
        """Something went wrong in a call: remember why, then leave the call cleanly."""
        s = self._sess
        if s is None:
            self._reset(reason, now)
            return
        if s.outcome is None:
            s.outcome = (code, reason)
        self._leave(s, now)

    def _leave(self, s, now):
        """Out of page data first (DLE ETX sending, CAN receiving), else hang up."""
        st = self.state
        if st == XONWAIT or st == TXDATA:
            self._end_tx_data(now)
        elif st == RXDATA:
            self._rx_cancel(s, now)
        else:
            self._hangup(now)

    def _end_tx_data(self, now):
        """The end of page data: DLE ETX (then OK, AT+FET). In Class 2.0 a page that ends well
        names its post-page message (<DLE><ppm>, T.32), so the next page is opened first;
        leaving the call it is DLE ETX there too."""
        s = self._sess
        pe = self.d["page_end"]
        if pe is not None and s.outcome is None:
            more = self._open(s, s.index + 1)
            if more is not None:
                s.ppm = 0 if more else 2
                s.ppr = None
                self._write(pe[s.ppm])
                self._set(TXPPM, now, self.cfg["page_end_timeout"] + self.cfg["fet_timeout"])
                return
        self._write(framing.END)
        self._set(TXEND, now, self.cfg["page_end_timeout"])

    def _rx_cancel(self, s, now):
        """CAN stops the modem's page data; it ends the data with DLE ETX, then OK."""
        self._write(b"\x18")
        if s.page_open:
            self._rx_abort(s)
        self._deadline = now + self.cfg["hangup_timeout"]

    def _hangup(self, now, cmd=None):
        """AT+FK (terminate the session; seed 001) or ATH, then end on OK."""
        self._hangup_cmds = 0
        self._cmd(cmd or self.d["abort"], HANGUP, now, self.cfg["hangup_timeout"])

    def _end(self, now, code=None, reason=None, reinit=True):
        s = self._sess
        if s.page_open:
            self._rx_abort(s)
        if s.outcome is not None:
            code, reason = s.outcome
        elif code is None:
            if s.hangup is not None:
                code = self.d["hangup_code"](s.hangup)
                reason = self.d["hangup_name"] % s.hangup
            else:
                code, reason = 205001, "call ended without a result"
        info = evidence.end_info(s, code, reason, now, self.d["hangup_text"])
        self._sess = None
        self._emit("end", info)
        self._xoff = False
        self._rx_armed = False
        self._arm_on_write = False
        if reinit and s.touched:
            self._start_init(now)
