"""The Class 2 machine's core (sans-I/O): states, the transition table TABLE and the dispatch
of final results and deadlines through it, the AT line path, the one guard, the end of a call.

No page source or sink is touched here: the driver (class2.Class2) does that page I/O behind
the hooks listed in Machine. docs/fax.md has the states table and the module map.
"""
from micropython import const

from faxbridge.core.fax import at, dialect, evidence, framing, status

# States (names in STATE_NAMES, same order); those no other module reads are private (a
# module dict of 29 names takes 29 slots, 30 take 37).
_OFF = const(0)
INIT = const(1)       # init list: one command at a time
IDLE = const(2)
_PROBE = const(3)     # "AT" to an idle modem
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
_CLASSQ = const(20)   # fclass "auto": AT+FCLASS=? sent, collecting the classes it lists

STATE_NAMES = ("off", "init", "idle", "probe", "reset", "reset_wait", "setup", "dial", "fdt",
               "xonwait", "txdata", "txend", "fet", "answer", "fdr", "rxdata", "rxpost", "fpts",
               "hangup", "txppm", "classq")

# A row's key: its state (bits 0-4), its event (bits 5-7) and the guard (bit 8), written
# `STATE | _EVENT | _G` (folded to one small int when compiled). Events: final result codes
# (V.25 ter), a deadline passing.
_OK = const(1 << 5)
_CONNECT = const(2 << 5)
_ERROR = const(3 << 5)
_OTHER = const(4 << 5)    # any other final result (BUSY, NO CARRIER, ...)
_ANY = const(5 << 5)      # event: every final result not matched before it
_TIMEOUT = const(6 << 5)
_ALL = const(31)          # state: every state not matched before it
_G = const(1 << 8)        # guard: hang-up seen -> end, outcome decided -> hang up
# Machine._rx, receiving: page data may come (DC2 written), DC2 is queued (armed once written),
# CR/LF after CONNECT still to skip (class2.Class2.data_mode, next_output, feed)
_ARMED = const(1)
_ARM_ON_WRITE = const(2)
_LEAD = const(4)
# Next-state column: the states a row may leave the machine in, one bit a state (1 << STATE).
_END = const(1 << INIT | 1 << _CLASSQ)     # the call ended: the init list again (Machine.end)
_HUP = const(1 << HANGUP)
_GONE = const(_END | _HUP)                # what the guard (_G) and a failure lead to

# The machine: state x event (guard) -> action (a function of c2call.py; None: the row's one
# next state, no deadline), next states; the first matching row wins. Events: the final
# result codes (_ANY: every other one), _TIMEOUT
# (the state's deadline passed). _G: the guard runs first (c2call.closing), so its states
# (_GONE) are in the row's column. +F responses are not events: dialect.read records them in
# the call's session for the action of the next final result. The core tests check on every
# dispatch that the action left the machine in one of the row's next states (fax_helpers.py).
# Three columns (one key, not state, event and guard apart): 120 constants, not 200.
TABLE = (
    # state | event | guard  action             next states
    _CLASSQ | _ANY,          "class_pick",       1 << INIT | 1 << RESET_WAIT,       # none listed: back off
    INIT | _ANY,             "init_next",        1 << INIT | 1 << IDLE | 1 << RESET,  # ERROR on a required one
    _PROBE | _OK,            None,               1 << IDLE,                         # "AT" answered
    _PROBE | _ERROR,         None,               1 << IDLE,
    RESET | _OK,             "reinit",           _END,                              # ATZ answered
    SETUP | _ANY | _G,       "setup_done",       _GONE | 1 << DIAL | 1 << FDT,      # AT+FDIS= (5.5.2)
    DIAL | _OK | _G,         "call_ok",          _GONE | 1 << FDT,                  # +FCON seen, else 9001
    DIAL | _ANY,             "call_failed",      _GONE,                             # BUSY 263, ...; CONNECT 205001
    FDT | _CONNECT,          "fdt_connect",      1 << XONWAIT | 1 << TXDATA | 1 << TXEND,
    FDT | _OK | _G,          "fdt_again",        _GONE | 1 << FDT,                  # fdt_retries, then 7200
    FDT | _ANY,              "lost",             _GONE,                             # +FHNG: end; NO CARRIER: 488
    XONWAIT | _TIMEOUT,      None,               1 << TXDATA,                       # no XON within xon_grace
    XONWAIT | _ANY,          "lost",             _GONE | 1 << TXEND,                # DLE ETX, then hang up
    TXDATA | _ANY,           "lost",             _GONE | 1 << TXEND,                # the modem left data mode
    TXEND | _OK | _G,        "page_sent",        _GONE | 1 << FET,                  # AT+FET=0|2 (Table 5-3)
    TXEND | _ANY,            "lost",             _GONE,
    FET | _OK,               "page_verdict",     _GONE | 1 << SETUP | 1 << FDT,     # +FPTS (Table 5-4)
    FET | _ANY,              "lost",             _GONE,
    TXPPM | _OK,             "page_verdict",     _GONE | 1 << SETUP | 1 << FDT,     # T.32: MCF, RTP, PIP
    TXPPM | _ERROR,          "page_verdict",     _GONE | 1 << SETUP | 1 << FDT,     # T.32: RTN, PIN
    TXPPM | _ANY,            "lost",             _GONE,
    ANSWER | _OK | _G,       "call_ok",          _GONE | 1 << FDR,                  # +FCON seen, else 9001
    ANSWER | _ANY,           "call_failed",      _GONE,                             # VOICE 3936, NO CARRIER 488
    FDR | _CONNECT,          "fdr_connect",      1 << RXDATA,                       # DC2, data to DLE ETX
    FDR | _OK | _G,          "fdr_ok",           _GONE | 1 << FDR,                  # after EOP: ATH
    FDR | _ANY,              "lost",             _GONE,
    RXPOST | _OK,            "page_received",    _GONE | 1 << FPTS | 1 << FDR,      # AT+FPTS= if ours differs
    RXPOST | _ANY,           "lost",             _GONE,
    FPTS | _ANY | _G,        "fdr",              _GONE | 1 << FDR,                  # ERROR tolerated
    HANGUP | _ANY,           "finish",           _GONE,                             # end; AT+FK refused: ATH once
    INIT | _TIMEOUT,         "reset",            1 << RESET,                        # ATZ
    _CLASSQ | _TIMEOUT,      "reset",            1 << RESET,
    _PROBE | _TIMEOUT,       "reset",            1 << RESET,
    HANGUP | _TIMEOUT,       "reset",            1 << RESET,
    RESET | _TIMEOUT,        "reset",            1 << RESET_WAIT,                   # wait reset_backoff
    RESET_WAIT | _TIMEOUT,   "reset",            1 << RESET,
    DIAL | _TIMEOUT,         "dial_timeout",     _HUP,                              # CR aborts the dial
    RXDATA | _TIMEOUT,       "reset",            1 << RESET,                        # no DLE ETX after CAN
    _ALL | _TIMEOUT,         "timed_out",        _HUP,                              # 205001, leave the call
)

class Machine:
    """The machine's state, the AT line path, dispatch through TABLE and the endings of a call.

    Besides the unit's API (class2.Class2), a small interface for TABLE's actions (c2call) and
    dialect.read, which are the machine's own transitions:
      fields   state, cfg, d (the dialect), fclass, last_cmd, listing (what AT+FCLASS=? listed),
               nums (8 ints: +F response fields, at.ints),
               init (how many init commands were answered: c2call.init_cmd)
      output   emit(kind, info), progress(phase, now), write(b), command(body, state, now, t)
      moves    goto(state, now, timeout), reset(reason, now), fail(code, reason, now),
               end(now, code, reason)
      the subclass's _acts: the module of TABLE's actions (c2call), read by name; with the
               guard (closing) and hanging up (hangup), which the machine calls there too
      page I/O (the driver's, class2.Class2) answer(now), load_page(s, i), configure(dcs),
               begin_page(s, info), abort_page(s), data_mode(now), end_data(now), rx_cancel(s, now),
               drop_pages(s)
    """

    def __init__(self, cfg, sink_factory):
        """`cfg`: the checked configuration (the keys of class2.Class2().cfg)."""
        self.cfg = cfg
        self._sink_factory = sink_factory    # called by the driver (class2) only
        self._lines = at.LineReader()
        self._wq = []
        self._ev, self._ev2 = [], []         # events, the list events() handed out last
        self._s = evidence.Session()         # the one session, reused call after call
        # +F response numbers, parsed in place (dialect.read); first a line's name and args
        # (at.classify, read before anything parses numbers into it)
        self.nums = [0] * 8
        self.clear()

    def clear(self):
        """Every field as new, in place: buffers, session and lists kept and emptied (after a
        driver error: nothing made while the heap may be short; the call's page sources
        closed, drop_pages); then start()."""
        cfg = self.cfg
        auto = cfg["fclass"] == "auto"
        self.fclass = None if auto else cfg["fclass"]   # the class in use (auto: once asked)
        self.d = dialect.get(cfg["class_order"][0] if auto else cfg["fclass"])
        self._lines.reset()
        self._wq.clear()
        self._ev.clear()
        self._ev2.clear()
        self.drop_pages(self._s)
        self._s.reset(None, 0)
        self.sess = None                   # the call in progress: self._s, or None
        self.state = _OFF
        self.init = 0                       # init commands answered (c2call.init_cmd)
        self._deadline = self._ring_t = self.listing = self.last_cmd = None
        self._rings = self._rx_last = 0
        self._xoff_t = None                 # when XOFF came (None: no XOFF held)
        self._rx = 0                        # receiving: _ARMED | _ARM_ON_WRITE | _LEAD (class2)

    # ---- the unit's API (the rest, with the page I/O, is in class2.Class2) ----------------

    def start(self, now):
        """Initialise the modem (call once; also restarts a stopped machine). With fclass
        "auto" and no class picked yet, AT+FCLASS=? first (c2call.class_pick)."""
        self._lines.reset()
        if self.fclass is None:
            self.listing = None
            self.command("+FCLASS=?", _CLASSQ, now)
            return
        self.init = 0
        self.command(self._acts.init_cmd(self, 0), INIT, now)

    def ready(self):
        """True when a send() may start now: initialised, idle, no incoming call ringing."""
        return self.state == IDLE and self._rings == 0

    def state_name(self):
        return STATE_NAMES[self.state]

    def in_call(self):
        return self.sess is not None

    def xoff(self):
        """True while the modem holds page data back (XOFF seen, no XON since)."""
        return self._xoff_t is not None

    def events(self):
        """Events since the last call, oldest first: (kind, dict) (docs/fax.md); () if none. The
        list is valid until the next call (two lists take turns: none is made per call)."""
        ev = self._ev
        if not ev:
            return ()
        self._ev, self._ev2 = self._ev2, ev
        self._ev.clear()
        return ev

    def cancel(self, now):
        """Cancel the call in progress (ends with 403). Returns False when there is none."""
        s = self.sess
        if s is None:
            return False
        if s.outcome is None or s.outcome[0] != 403:
            s.outcome = (403, "cancelled")
        st = self.state
        if st == DIAL:
            self.write(b"\r")             # any character aborts dialling (V.25 ter 6.3.1)
            self.goto(HANGUP, now, self.cfg["hangup_timeout"])
        elif st == XONWAIT or st == TXDATA or st == RXDATA:
            self.fail(403, None, now)      # out of page data (the outcome is set: kept)
        return True                        # else the guard of the next result hangs up

    def poll(self, now):
        """Fire what is due at `now`: timeouts (TABLE's _TIMEOUT rows; XOFF and page data
        beside it), ring count expiry, the idle probe."""
        st = self.state
        c = self.cfg
        if self._ring_t is not None and now - self._ring_t > c["ring_reset"]:
            self._rings = 0
            self._ring_t = None
        if st == TXDATA and self._xoff_t is not None and now - self._xoff_t > c["xoff_limit"]:
            self.fail(205001, "XOFF held for more than %s s" % c["xoff_limit"], now)
        elif st == RXDATA and self._rx & _ARMED and self.sess.outcome is None:
            if now - self._rx_last > c["rx_idle_timeout"]:
                self.fail(205001, "no page data for %s s" % c["rx_idle_timeout"], now)
            elif now > self._deadline:     # rx_page_timeout from CONNECT (c2call.fdr_connect)
                self.fail(205001, "page longer than %s s" % c["rx_page_timeout"], now)
        elif st == IDLE:                   # the ring count reached: answer; else the idle probe
            if self._rings and c["rings"] and self._rings >= c["rings"] and self._sink_factory is not None:
                self._rings = 0
                self._ring_t = None
                self.answer(now)
            elif self._deadline is not None and now >= self._deadline:   # idle_check (goto)
                self.command("", _PROBE, now)
        elif self._deadline is not None and now >= self._deadline:
            self._dispatch(_TIMEOUT, self.sess, None, now)

    def deadline(self):
        """The next time poll() has something to do (None: only modem input matters)."""
        c = self.cfg
        t = self._deadline
        st = self.state
        if st == TXDATA and self._xoff_t is not None:
            t = self._xoff_t + c["xoff_limit"]
        elif st == RXDATA and self._rx & _ARMED and self.sess.outcome is None:
            t = min(self._rx_last + c["rx_idle_timeout"], t)
        if self._ring_t is not None:
            r = self._ring_t + c["ring_reset"]
            t = r if t is None or r < t else t
        return t

    # ---- output, events, state (the actions' interface) ----------------------------------

    def emit(self, kind, info):
        self._ev.append((kind, info))

    def progress(self, phase, now):
        self.emit("progress", {"dir": self.sess.dir, "phase": phase, "page": self.sess.index})

    def write(self, b):
        """Queue bytes for the modem (next_output)."""
        self._wq.append(b)

    def command(self, body, state, now, timeout=None):
        """AT<body>, then `state` until the result or `timeout` (cmd_timeout); made in the line
        reader's command buffer when nothing else is queued (at.command), else new bytes."""
        self.last_cmd = body
        self.write(at.command(body, None if self._wq else self._lines.cmd))
        self.goto(state, now, self.cfg["cmd_timeout"] if timeout is None else timeout)

    def goto(self, state, now, timeout):
        """The machine is in `state` from `now`; its deadline `timeout` s on (None: none).
        IDLE's deadline is the idle probe's, idle_check s on (0: none)."""
        self.state = state
        if state == IDLE:
            timeout = self.cfg["idle_check"] or None
        self._deadline = None if timeout is None else now + timeout

    # ---- modem health: reset (rings and the idle probe: poll) -----------------------------

    def reset(self, reason, now):
        """The modem stopped answering: end any call, ask for DTR toggle, send ATZ."""
        if self.cfg["fclass"] == "auto":
            self.fclass = None               # ask AT+FCLASS=? again: the modem may be another
        self.emit("modem", {"state": "reset", "reason": reason})
        if self.sess is not None:
            if self.sess.outcome is None:
                self.sess.outcome = (205001, reason)
            self.end(now, reinit=False)
        self._wq.clear()
        self._xoff_t = None
        self._lines.reset()
        self.write(framing.END + b"\r")      # leave data mode if it is stuck there
        self.command("Z", RESET, now, self.cfg["reset_timeout"])

    # ---- input: response lines (XON/XOFF: class2.Class2.feed) ------------------------

    def _line(self, line, now):
        cl = self.nums
        kind = at.classify(line, cl)
        name = cl[0]
        args = cl[1]
        if kind == at.INFO and self.state == _CLASSQ:
            self.listing = name                  # the list is one line (at most the line buffer)
            return
        if kind == at.ECHO or kind == at.INFO:
            return
        if kind == at.RING:
            self._rings += 1
            self._ring_t = now
            self.emit("ring", {"count": self._rings})
            if self.state == IDLE:
                self.poll(now)                   # answered at once when the count is reached
            return
        s = self.sess
        if kind == at.FAX:
            if s is not None:
                dialect.read(self, s, name, args, now)
            return
        if s is not None:
            s.result = name
        ev = _OK if name == "OK" else _CONNECT if name == "CONNECT" else _ERROR if name == "ERROR" else _OTHER
        self._dispatch(ev, s, name, now)

    def _dispatch(self, ev, s, name, now):
        """Run the first row of TABLE for (state, event): its guard, then its action (None: its
        one next state); its index (-1: none ran)."""
        st = self.state
        if s is None and st >= SETUP and st != _CLASSQ:
            if ev == _TIMEOUT:
                self.reset("no answer to AT%s" % self.last_cmd, now)
            return -1                             # a stray result between calls
        t = TABLE
        k = 0
        while k < len(t):
            r = t[k]
            e = r & 0xE0
            if (r & 31 == st or r & 31 == _ALL) and (e == ev or (e == _ANY and ev != _TIMEOUT)):
                if not (r & _G and self._acts.closing(self, s, now)):
                    a = t[k + 1]
                    if a is None:
                        n = t[k + 2]
                        st = 0
                        while n > 1:
                            n >>= 1
                            st += 1
                        self.goto(st, now, None)
                    else:
                        getattr(self._acts, a)(self, s, name, now)
                return k
            k += 3
        return -1

    # ---- endings: failing, the end event (the guard and hanging up: c2call) ---------------

    def fail(self, code, reason, now):
        """Something went wrong in a call: remember why, then leave the call cleanly."""
        s = self.sess
        if s is None:
            self.reset(reason, now)
            return
        if s.outcome is None:
            s.outcome = (code, reason)
        st = self.state                   # out of page data first (DLE ETX, CAN), else hang up
        if st == XONWAIT or st == TXDATA:
            self.end_data(now)
        elif st == RXDATA:
            self.rx_cancel(s, now)
        else:
            self._acts.hangup(self, now)

    def end(self, now, code=None, reason=None, reinit=True):
        """The call is over: the `end` event (its outcome, else code/reason, else the hang-up
        code), then the init list again when the call wrote to the modem."""
        s = self.sess
        if s.page_open:
            self.abort_page(s)
        if s.outcome is not None:
            code, reason = s.outcome
        elif code is None:
            if s.hangup is not None:
                code = status.from_hangup(s.hangup, self.d["hangup_code"])
                reason = self.d["hangup_name"] % s.hangup
            else:
                code, reason = 205001, "call ended without a result"
        try:
            self.emit("end", evidence.end_info(s, code, reason, now, self.d["hangup_text"]))
        except MemoryError:               # the end's record or event refused by the heap: its
            s.outcome = code              # code (an int) kept for the caller, who clears the
            raise                         # driver (app/faxline.py _restart), nothing made
        self.drop_pages(s)                # no page I/O kept between calls
        self.sess = None
        self._xoff_t = None
        self._rx = 0
        if reinit and self.state != IDLE:    # a call that wrote to the modem left IDLE
            self.start(now)
