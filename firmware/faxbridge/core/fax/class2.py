"""Class 2 fax modem driver as a sans-I/O state machine (seed 001; docs/fax.md).

One Class2 object per modem. It keeps the modem initialised, answers calls after the configured
number of rings, and runs one send or receive session at a time. I/O is the caller's:

    m = Class2(config, sink_factory)
    m.start(now)
    loop:  m.feed(bytes_from_modem, now); m.poll(now)
           while True: out = m.next_output(now); if not out: break; write all of out
           for ev in m.events(): ...
           sleep until m.deadline() or until the modem sends something

`now` is in seconds (int or float). next_output() may return a memoryview into an internal
buffer: write it completely before calling next_output() again.
"""
from micropython import const

from faxbridge.core.fax import at, dial, hangup, params, status

DLE = const(0x10)
ETX = const(0x03)
DC1 = const(0x11)
DC2 = const(0x12)
CAN = const(0x18)
SUB = const(0x1A)
_DLE_ETX = b"\x10\x03"
_DLE_DLE = b"\x10\x10"

# States (names in STATE_NAMES, same order).
OFF = const(0)
INIT = const(1)
IDLE = const(2)
PROBE = const(3)
RESET = const(4)
RESET_WAIT = const(5)
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

STATE_NAMES = ("off", "init", "idle", "probe", "reset", "reset_wait", "setup", "dial", "fdt",
               "xonwait", "txdata", "txend", "fet", "answer", "fdr", "rxdata", "rxpost", "fpts",
               "hangup")

# Configuration keys and defaults (docs/fax.md explains each). Times in seconds.
DEFAULTS = {
    "station_id": "",        # AT+FLID (printable ASCII, no '"', <= 20 chars)
    "deny": dial.DENY,       # dial policy: numbers starting with these are refused (6002)
    "allow": None,           # optional allow list of prefixes (None: everything not denied)
    "max_len": dial.MAX_LEN,  # dial string length limit (6027 beyond)
    "outside_prefixes": (),  # outside-line prefixes (e.g. ("0",)) also checked before deny
    "dial_mode": "T",        # ATD<mode><number>: "T" tone, "P" pulse, "" modem default
    "max_rate": 9600,        # highest bit rate offered in +FDIS (2400..14400)
    "fine": True,            # resolution of a page source without a `fine` attribute
    "scan_time": 0,          # ST offered (0 = the page source adds the fill)
    "init_extra": (),        # extra init commands (without "AT"), e.g. ("&K4",)
    "cmd_timeout": 5,        # any plain command
    "dial_timeout": 120,     # ATD to its final result
    "answer_timeout": 120,   # ATA to its final result
    "connect_timeout": 45,   # AT+FDT to CONNECT
    "fdr_timeout": 60,       # AT+FDR to CONNECT / +FHNG
    "xon_grace": 2,          # after CONNECT: send anyway when no XON came within this time
    "xoff_limit": 20,        # an XOFF holding us longer than this: the modem is stuck
    "page_end_timeout": 120,  # DLE ETX to OK (the modem drains its buffer at line rate)
    "fet_timeout": 60,       # AT+FET to +FPTS/OK, and DLE ETX (received) to OK
    "hangup_timeout": 15,    # AT+FK / ATH to OK
    "rx_idle_timeout": 30,   # no page data from the modem for this long
    "rx_page_timeout": 900,  # a received page longer than this
    "reset_timeout": 10,     # ATZ to OK
    "reset_backoff": 30,     # between reset attempts on a dead modem
    "idle_check": 60,        # "AT" probe of an idle modem (0 = never)
    "fdt_retries": 3,        # AT+FDT repeated when the modem answers OK instead of CONNECT
    "fdr_retries": 3,        # AT+FDR repeated when the modem answers OK without CONNECT/+FHNG
    "rtn_resend": 1,         # times a page the receiver rejected (+FPTS:2) is sent again
    "rings": 2,              # answer after this many RINGs (0 = never answer)
    "ring_reset": 10,        # RING count forgotten after this long without RING
    "rx_start": "DC2",       # "DC2" (efax, mgetty) or "DC1" (HylaFAX; some modems want it)
    "rx_msb_first": True,    # bit order of received data (pre-standard Class 2: MSB first)
    "rx_bad_pct": 5,         # +FPTS:1 when bad lines <= this % of lines, else 2 (RTN)
    "chunk": 128,            # page bytes read per next_output() (output up to 2*chunk+2)
}

# Commands during initialisation: (body, required). Optional ones may answer ERROR.
_INIT = (("E0V1Q0", True), ("+FCLASS=2", True), ("S0=0", False), ("+FBOR=0", False),
         ("+FCR=1", True))

_GOOD_PPR = (1, 3, 5)   # MCF, RTP, PIP: the page is confirmed (seed 001 Table 5-4)


class _Session:
    """Evidence and progress of one call."""

    def __init__(self, direction, now):
        self.dir = direction
        self.started = now
        self.number = None
        self.open_page = None
        self.src = None
        self.next_src = None
        self.index = 0            # page being sent / received (0-based)
        self.resends = 0
        self.confirmed = 0        # pages confirmed (tx) / pages kept (rx)
        self.pprs = []            # +FPTS ppr per page, in order
        self.ppm = None           # last +FET ppm (sent or received)
        self.ppr = None           # last +FPTS ppr
        self.fcon = False
        self.hangup = None        # +FHNG code
        self.result = None        # last final result string
        self.remote_id = None
        self.remote_caps = None   # +FDIS (raw string)
        self.dcs = None           # +FDCS tuple (or raw string if out of table)
        self.outcome = None       # (code, reason) decided by us: cancel, timeout, image error
        self.then = None          # what follows AT+FDIS=: DIAL or FDT
        self.touched = False      # something was written to the modem for this call
        self.retries = 0          # +FDT / +FDR repeats
        self.vr = None
        self.sink = None
        self.page_open = False
        self.rx_lines = 0
        self.rx_bad = 0
        self.modem_ppr = None
        self.our_ppr = None
        self.bad_pages = 0


class Class2:
    def __init__(self, config=None, sink_factory=None):
        cfg = dict(DEFAULTS)
        if config:
            for k in config:
                if k not in DEFAULTS:
                    raise ValueError("unknown fax config key: %s" % k)
                cfg[k] = config[k]
        dial.station_id(cfg["station_id"])
        if cfg["rx_start"] not in ("DC1", "DC2"):
            raise ValueError("rx_start must be DC1 or DC2")
        self.cfg = cfg
        self._sink_factory = sink_factory
        self._lines = at.LineReader()
        n = int(cfg["chunk"])
        self._raw = bytearray(n)
        self._rawmv = memoryview(self._raw)
        self._stuffed = bytearray(2 * n + 2)
        self._stuffedmv = memoryview(self._stuffed)
        self._wq = []
        self._ev = []
        self.state = OFF
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
        self._rx_dle = False
        self._rx_lead = False
        self._rx_last = 0
        self._rx_page_t = 0
        self._hangup_cmds = 0
        self.resets = 0
        self.last_cmd = None

    # ---- public API -------------------------------------------------------------------

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

    def send(self, number, open_page, now):
        """Start sending a fax. open_page(index) -> page source (readinto) or None past the end.

        The number is checked by the dial policy first; a refused or malformed number ends at
        once (an "end" event with 6002 / 6027) and nothing reaches the modem. Returns True when
        a session started (or ended at once), raises RuntimeError when the modem is not ready.
        """
        if not self.ready():
            raise RuntimeError("modem not ready (%s)" % self.state_name())
        s = _Session("tx", now)
        self._sess = s
        code, txt = dial.check(number, *self._policy())
        s.number = txt if code is None else None
        if code is not None:
            s.outcome = (code, txt)
            self._end(now)
            return True
        s.open_page = open_page
        self._progress("preparing", now)
        try:
            s.src = open_page(0)
        except Exception as e:  # bad bitmap, bad text: the page could not be made
            s.outcome = (204000, "page 1: %s" % e)
        if s.outcome is None and s.src is None:
            s.outcome = (204000, "no pages")
        if s.outcome is not None:
            self._end(now)
            return True
        self._setup_page(now, DIAL)
        return True

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
        elif st in (XONWAIT, TXDATA):
            self._end_tx_data(now)
        elif st == RXDATA:
            self._rx_cancel(s, now)
        elif st == SETUP:
            pass                           # on OK we go to HANGUP instead of dialling
        return True

    def feed(self, data, now):
        """Bytes read from the modem (bytes or bytearray)."""
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        i = 0
        n = len(data)
        while i < n:
            if self.state == RXDATA:
                i = self._rx_data(data, i, now)
                continue
            i, item = self._lines.take(data, i)
            if item is None:
                break
            if isinstance(item, int):
                self._flow(item, now)
            else:
                self._line(item, now)

    def next_output(self, now):
        """Bytes to write to the modem now (b"" when nothing is due)."""
        if self._wq:
            out = self._wq.pop(0)
            if self._arm_on_write and not self._wq:
                self._arm_on_write = False
                self._rx_armed = True
                self._rx_last = now
            return out
        if self.state == TXDATA and not self._xoff:
            return self._tx_chunk(now)
        return b""

    def poll(self, now):
        """Fire what is due at `now`: timeouts, XON grace, ring count expiry, idle probe."""
        st = self.state
        if self._ring_t is not None and now - self._ring_t > self.cfg["ring_reset"]:
            self._rings = 0
            self._ring_t = None
        if st == XONWAIT and now >= self._xon_until:
            self._set(TXDATA, now, None)     # efax: no XON after CONNECT, send anyway
            return
        if st == TXDATA and self._xoff and now - self._xoff_t > self.cfg["xoff_limit"]:
            self._fail(205001, "XOFF held for more than %s s" % self.cfg["xoff_limit"], now)
            return
        if st == RXDATA and self._rx_armed and self._sess.outcome is None:
            if now - self._rx_last > self.cfg["rx_idle_timeout"]:
                self._fail(205001, "no page data for %s s" % self.cfg["rx_idle_timeout"], now)
                return
            if now - self._rx_page_t > self.cfg["rx_page_timeout"]:
                self._fail(205001, "page longer than %s s" % self.cfg["rx_page_timeout"], now)
                return
        if st == IDLE:
            self._idle_poll(now)
            return
        if self._deadline is not None and now >= self._deadline:
            self._timeout(now)

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

    def events(self):
        """Events since the last call, oldest first: (kind, dict). See docs/fax.md."""
        ev = self._ev
        self._ev = []
        return ev

    # ---- helpers ----------------------------------------------------------------------

    def _policy(self):
        c = self.cfg
        return (c["deny"], c["allow"], c["max_len"], c["outside_prefixes"])

    def _emit(self, kind, info):
        self._ev.append((kind, info))

    def _progress(self, phase, now, **kw):
        s = self._sess
        info = {"dir": s.dir, "phase": phase, "page": s.index}
        for k in kw:
            info[k] = kw[k]
        self._emit("progress", info)

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

    def _start_init(self, now):
        c = self.cfg
        cmds = list(_INIT)
        cmds.append(('+FLID="%s"' % c["station_id"], True))
        for e in c["init_extra"]:
            cmds.append((e, True))
        self._init_cmds = cmds
        self._init_i = 0
        self._lines.reset()
        self._cmd(cmds[0][0], INIT, now)

    def _init_next(self, ok, now):
        body, required = self._init_cmds[self._init_i]
        if not ok and required:
            self._reset("AT%s answered ERROR" % body, now)
            return
        self._init_i += 1
        if self._init_i < len(self._init_cmds):
            self._cmd(self._init_cmds[self._init_i][0], INIT, now)
            return
        self._set(IDLE, now, None)
        self._idle_since = now
        self._emit("modem", {"state": "ready"})
        self._idle_poll(now)

    def _idle_poll(self, now):
        c = self.cfg
        if (self._rings and c["rings"] and self._rings >= c["rings"] and
                self._sink_factory is not None):
            self._answer(now)
            return
        if c["idle_check"] and now - self._idle_since >= c["idle_check"]:
            self._cmd("", PROBE, now)

    def _reset(self, reason, now):
        """The modem stopped answering: end any call, ask for DTR toggle, send ATZ."""
        self.resets += 1
        self._emit("modem", {"state": "reset", "reason": reason})
        if self._sess is not None:
            if self._sess.outcome is None:
                self._sess.outcome = (205001, reason)
            self._end(now, reinit=False)
        self._wq = []
        self._xoff = False
        self._lines.reset()
        self._write(b"\x10\x03\r")          # leave data mode if it is stuck there
        self._cmd("Z", RESET, now, self.cfg["reset_timeout"])

    # ---- input --------------------------------------------------------------------------

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
                self._fax_response(s, name, args, now)
            return
        # a final result code
        if s is not None:
            s.result = name
        st = self.state
        ok = name == "OK"
        if st == INIT:
            self._init_next(ok, now)
        elif st == PROBE:
            if ok or name == "ERROR":
                self._set(IDLE, now, None)
                self._idle_since = now
        elif st == RESET:
            if ok:
                self._start_init(now)
        elif s is None:
            return                              # a stray result between calls
        elif st == SETUP:
            self._on_setup(s, now)
        elif st == DIAL:
            self._on_dial(s, name, now)
        elif st == FDT:
            self._on_fdt(s, name, now)
        elif st in (XONWAIT, TXDATA):
            self._call_lost(s, name, now)       # the modem left data mode on its own
        elif st == TXEND:
            self._on_txend(s, name, now)
        elif st == FET:
            self._on_fet(s, name, now)
        elif st == ANSWER:
            self._on_answer(s, name, now)
        elif st == FDR:
            self._on_fdr(s, name, now)
        elif st == RXPOST:
            self._on_rxpost(s, name, now)
        elif st == FPTS:
            if s.hangup is not None:
                self._end(now)
            elif s.outcome is not None:
                self._hangup(now)
            else:                               # OK, or ERROR: the modem keeps its verdict
                self._fdr(now)
        elif st == HANGUP:
            self._on_hangup(s, name, now)

    def _fax_response(self, s, name, args, now):
        if name == "+FCON":
            s.fcon = True
            self._progress("connected", now)
        elif name == "+FHNG":
            try:
                s.hangup = at.ints(args)[0]
            except (ValueError, IndexError):
                s.hangup = -1                   # unreadable: reported as unknown (7200)
        elif name in ("+FCSI", "+FTSI"):
            s.remote_id = at.text(args)
        elif name == "+FDIS":
            s.remote_caps = args
        elif name == "+FDCS":
            try:
                s.dcs = params.parse(args)
            except ValueError:
                s.dcs = args
            if s.src is not None and hasattr(s.src, "configure") and isinstance(s.dcs, tuple):
                s.src.configure(s.dcs)
        elif name == "+FPTS":
            try:
                v = at.ints(args)
                s.ppr = v[0]
                s.modem_ppr = v[0]
            except (ValueError, IndexError):
                s.ppr = None
        elif name == "+FET":
            try:
                s.ppm = at.ints(args)[0]
            except (ValueError, IndexError):
                s.ppm = None

    # ---- send ----------------------------------------------------------------------------

    def _setup_page(self, now, then):
        """AT+FDIS= for the page's resolution when it changes, then ATD or AT+FDT."""
        s = self._sess
        c = self.cfg
        fine = getattr(s.src, "fine", None)
        if fine is None:
            fine = c["fine"]
        vr = 1 if fine else 0
        s.then = then
        if vr != s.vr:
            s.vr = vr
            p = params.choose(fine, c["max_rate"], c["scan_time"])
            self._cmd("+FDIS=" + params.to_str(p), SETUP, now)
        else:
            self._after_setup(s, now)

    def _on_setup(self, s, now):
        # ERROR to +FDIS= is tolerated: the modem keeps its own capabilities.
        if s.hangup is not None:
            self._end(now)
        elif s.outcome is not None and s.then == DIAL:
            self._end(now)                      # cancelled before dialling: nothing to hang up
        elif s.outcome is not None:
            self._hangup(now)
        else:
            self._after_setup(s, now)

    def _after_setup(self, s, now):
        if s.then == DIAL:
            self._progress("dialling", now)
            self._cmd("D" + self.cfg["dial_mode"] + s.number, DIAL, now, self.cfg["dial_timeout"])
        else:
            self._fdt(now)

    def _fdt(self, now):
        self._progress("page", now)
        self._cmd("+FDT", FDT, now, self.cfg["connect_timeout"])

    def _fdr(self, now):
        self._cmd("+FDR", FDR, now, self.cfg["fdr_timeout"])

    def _call_ok(self, s, cmd, then, now):
        """OK ends ATD/ATA: a hang-up or failure seen meanwhile ends the call; +FCON seen
        means the fax call is up (`then`); without +FCON no fax machine answered (9001)."""
        if s.hangup is not None:
            self._end(now)
        elif s.outcome is not None:
            self._hangup(now)
        elif s.fcon:
            s.retries = 0
            then(now)
        else:
            self._fail(9001, "OK to %s without +FCON" % cmd, now)

    def _on_dial(self, s, name, now):
        if name == "OK":
            self._call_ok(s, "ATD", self._fdt, now)
            return
        if name == "CONNECT":
            self._fail(205001, "CONNECT to ATD (data modem?)", now)
            return
        if s.fcon and name == "NO CARRIER":
            self._end(now, 488, "NO CARRIER after +FCON")
            return
        code = status.from_result(name)
        self._end(now, 205001 if code is None else code, "ATD: " + name)

    def _on_fdt(self, s, name, now):
        if name == "CONNECT":
            if s.outcome is not None:
                self._set(TXDATA, now, None)
                self._end_tx_data(now)
                return
            self._xoff = False
            self._xon_until = now + self.cfg["xon_grace"]
            self._set(XONWAIT, now, None)
            return
        if name == "OK":
            if s.hangup is not None:
                self._end(now)
            elif s.outcome is not None:
                self._hangup(now)
            elif s.retries < self.cfg["fdt_retries"]:
                s.retries += 1                  # HylaFAX: OK instead of CONNECT, repeat +FDT
                self._fdt(now)
            else:
                self._fail(7200, "OK instead of CONNECT to +FDT, %d times" % (s.retries + 1), now)
            return
        self._call_lost(s, name, now)

    def _call_lost(self, s, name, now):
        """A final result that ends the call in a state that expected something else."""
        if s.hangup is not None:
            self._end(now)
        elif name == "NO CARRIER":
            self._end(now, 488, "NO CARRIER during the call")
        elif name == "ERROR":
            self._fail(205001, "ERROR in state " + self.state_name(), now)
        else:
            self._fail(205001, name + " in state " + self.state_name(), now)

    def _tx_chunk(self, now):
        s = self._sess
        if s.outcome is not None:
            self._end_tx_data(now)
            return self._wq.pop(0)
        try:
            n = s.src.readinto(self._rawmv)
        except Exception as e:
            s.outcome = (204000, "page %d: %s" % (s.index + 1, e))
            n = -1
        if n is None or n <= 0 or n > len(self._raw):
            if n is not None and n > len(self._raw) and s.outcome is None:
                s.outcome = (205001, "page source returned too much")
            self._end_tx_data(now)
            return self._wq.pop(0)
        raw = self._raw
        out = self._stuffed
        o = 0
        i = 0
        while i < n:
            j = raw.find(b"\x10", i, n)
            if j < 0:
                j = n
            if j > i:
                out[o:o + j - i] = self._rawmv[i:j]
                o += j - i
            if j < n:
                out[o] = DLE                      # DLE in the data is sent twice
                out[o + 1] = DLE
                o += 2
            i = j + 1
        return self._stuffedmv[:o]

    def _end_tx_data(self, now):
        self._write(_DLE_ETX)
        self._set(TXEND, now, self.cfg["page_end_timeout"])

    def _on_txend(self, s, name, now):
        if name != "OK":
            self._call_lost(s, name, now)
            return
        if s.hangup is not None:
            self._end(now)
            return
        if s.outcome is not None:
            self._hangup(now)
            return
        try:
            s.next_src = s.open_page(s.index + 1)
        except Exception as e:
            s.outcome = (204000, "page %d: %s" % (s.index + 2, e))
            self._hangup(now)
            return
        s.ppm = 0 if s.next_src is not None else 2      # MPS / EOP (seed 001 Table 5-3)
        s.ppr = None
        self._cmd("+FET=%d" % s.ppm, FET, now, self.cfg["fet_timeout"])

    def _on_fet(self, s, name, now):
        if name != "OK":
            self._call_lost(s, name, now)
            return
        last = s.ppm == 2
        ppr = s.ppr
        if ppr is None and s.hangup == 0 and last:
            ppr = 1           # +FHNG:0 without +FPTS on the last page: success (HylaFAX)
        good = ppr in _GOOD_PPR
        s.pprs.append(ppr)
        self._emit("page", {"dir": "tx", "index": s.index, "ppr": ppr, "ok": good})
        if good:
            s.confirmed += 1
        if s.hangup is not None:
            if s.hangup == 0 and good and last:
                self._end(now, 0, "all pages confirmed")
            elif s.hangup == 0:
                self._end(now, 3268, "call ended after page %d (ppr %s)" % (s.index + 1, ppr))
            else:
                self._end(now)
            return
        if s.outcome is not None:
            self._hangup(now)
            return
        if good:
            if last:
                s.outcome = (0, "all pages confirmed")   # no +FHNG yet: hang up ourselves
                self._hangup(now, "H")
                return
            s.index += 1
            s.resends = 0
            s.src = s.next_src
        else:
            if s.resends >= self.cfg["rtn_resend"]:
                s.outcome = (3268, "page %d rejected (ppr %s)" % (s.index + 1, ppr))
                self._hangup(now)
                return
            s.resends += 1
            try:
                s.src = s.open_page(s.index)      # send the same page again
            except Exception as e:
                s.outcome = (204000, "page %d: %s" % (s.index + 1, e))
                self._hangup(now)
                return
        s.next_src = None
        s.retries = 0
        self._setup_page(now, FDT)

    # ---- receive -------------------------------------------------------------------------

    def _answer(self, now):
        self._rings = 0
        self._ring_t = None
        try:
            sink = self._sink_factory()
        except Exception as e:
            self._emit("modem", {"state": "refused call", "reason": str(e)})
            return
        if sink is None:
            return
        s = _Session("rx", now)
        s.sink = sink
        self._sess = s
        self._progress("answering", now)
        self._cmd("A", ANSWER, now, self.cfg["answer_timeout"])

    def _on_answer(self, s, name, now):
        if name == "OK":
            self._call_ok(s, "ATA", self._fdr, now)
            return
        if s.fcon:
            self._call_lost(s, name, now)
            return
        self._end(now, status.from_answer(name), "ATA: " + name)

    def _on_fdr(self, s, name, now):
        if name == "CONNECT":
            self._rx_armed = False
            self._rx_lead = True
            self._rx_dle = False
            self._rx_page_t = now
            self._set(RXDATA, now, None)
            self._arm_on_write = True
            if s.outcome is not None:
                self._rx_cancel(s, now)
                return
            dcs = s.dcs if isinstance(s.dcs, tuple) else None
            info = params.describe(dcs) or {}
            info["msb_first"] = bool(self.cfg["rx_msb_first"])
            try:
                s.sink.begin_page(s.index, info)
                s.page_open = True
            except Exception as e:
                s.outcome = (205001, "sink: %s" % e)
                self._rx_cancel(s, now)
                return
            self._write(bytes((DC2 if self.cfg["rx_start"] == "DC2" else DC1,)))
            self._progress("page", now)
            return
        if name == "OK":
            if s.hangup is not None:
                self._end(now)
            elif s.outcome is not None:
                self._hangup(now)
            elif s.ppm == 2 and s.confirmed:
                s.outcome = (0, "document received")  # no +FHNG after EOP: hang up ourselves
                self._hangup(now, "H")
            elif s.retries < self.cfg["fdr_retries"]:
                s.retries += 1
                self._fdr(now)
            else:
                self._fail(7200, "OK without CONNECT to +FDR, %d times" % (s.retries + 1), now)
            return
        self._call_lost(s, name, now)

    def _rx_data(self, data, i, now):
        n = len(data)
        if not self._rx_armed:
            return n                      # nothing can come before our DC2: a stray LF
        self._rx_last = now
        if self._rx_lead:
            # CR/LF ending the CONNECT line may come after our DC2; page data never starts so
            while i < n and (data[i] == 13 or data[i] == 10):
                i += 1
            if i >= n:
                return n
            self._rx_lead = False
        mv = memoryview(data)
        if self._rx_dle:
            self._rx_dle = False
            b = data[i]
            i += 1
            if b == ETX:
                self._rx_page_end(now)
                return i
            if b == DLE:
                self._sink_write(_DLE_DLE[:1])
            elif b == SUB:
                self._sink_write(_DLE_DLE)   # DLE SUB: two DLE data bytes (Class 2.0 modems)
        while i < n:
            j = data.find(b"\x10", i)
            if j < 0:
                self._sink_write(mv[i:n])
                return n
            if j > i:
                self._sink_write(mv[i:j])
            if j + 1 >= n:
                self._rx_dle = True
                return n
            b = data[j + 1]
            if b == ETX:
                self._rx_page_end(now)
                return j + 2
            if b == DLE:
                self._sink_write(mv[j:j + 1])
            elif b == SUB:
                self._sink_write(_DLE_DLE)
            i = j + 2
        return n

    def _rx_cancel(self, s, now):
        """CAN stops the modem's page data; it ends the data with DLE ETX, then OK."""
        self._write(bytes((CAN,)))
        if s.page_open:
            self._abort_sink(s)
        self._deadline = now + self.cfg["hangup_timeout"]

    def _sink_write(self, mv):
        s = self._sess
        if s.page_open:
            try:
                s.sink.write(mv)
            except Exception as e:
                s.page_open = False
                self._abort_sink(s)
                if s.outcome is None:
                    s.outcome = (205001, "sink: %s" % e)
                    self._rx_cancel(s, self._rx_last)

    def _abort_sink(self, s):
        s.page_open = False
        try:
            s.sink.abort()
        except Exception:
            pass

    def _rx_page_end(self, now):
        s = self._sess
        s.ppr = None
        s.modem_ppr = None
        s.ppm = None
        if s.page_open and s.outcome is None:
            s.page_open = False
            try:
                lines, bad = s.sink.end_page()
            except Exception as e:
                lines, bad = 0, 0
                s.outcome = (205001, "sink: %s" % e)
            s.rx_lines = lines
            s.rx_bad = bad
            ok = lines > 0 and bad * 100 <= lines * self.cfg["rx_bad_pct"]
            s.our_ppr = 1 if ok else 2                   # MCF / RTN
        elif s.page_open:
            self._abort_sink(s)
        self._set(RXPOST, now, self.cfg["fet_timeout"])

    def _on_rxpost(self, s, name, now):
        if name != "OK":
            self._call_lost(s, name, now)
            return
        if s.our_ppr is not None:
            # no +FET: the sender never finished the page (line drop, hang-up): not kept
            complete = s.ppm is not None
            ppr = s.our_ppr if complete else None
            ok = ppr == 1
            s.pprs.append(ppr)
            self._emit("page", {"dir": "rx", "index": s.index, "ppr": ppr, "ok": ok,
                                "lines": s.rx_lines, "bad_lines": s.rx_bad,
                                "modem_ppr": s.modem_ppr, "complete": complete})
            if ok:
                s.confirmed += 1
                s.index += 1
            else:
                s.bad_pages += 1            # the sender retrains and sends it again (same index)
        if s.hangup is not None:
            self._end(now)
            return
        if s.outcome is not None:
            self._hangup(now)
            return
        s.retries = 0
        ours = s.our_ppr
        s.our_ppr = None
        if ours is not None and ours != s.modem_ppr:
            self._cmd("+FPTS=%d" % ours, FPTS, now)
        else:
            self._fdr(now)

    # ---- endings --------------------------------------------------------------------------

    def _fail(self, code, reason, now):
        """Something went wrong in a call: remember why, then leave the call cleanly."""
        s = self._sess
        if s is None:
            self._reset(reason, now)
            return
        if s.outcome is None:
            s.outcome = (code, reason)
        st = self.state
        if st in (XONWAIT, TXDATA):
            self._end_tx_data(now)
        elif st == RXDATA:
            self._rx_cancel(s, now)
        else:
            self._hangup(now)

    def _hangup(self, now, cmd="+FK"):
        """AT+FK (terminate the session; seed 001) or ATH, then end on OK."""
        self._hangup_cmds = 0
        self._cmd(cmd, HANGUP, now, self.cfg["hangup_timeout"])

    def _on_hangup(self, s, name, now):
        if name == "ERROR" and self._hangup_cmds == 0:
            self._hangup_cmds = 1
            self.last_cmd = "H"
            self._write(at.command("H"))
            self._deadline = now + self.cfg["hangup_timeout"]
            return
        self._end(now)

    def _timeout(self, now):
        st = self.state
        s = self._sess
        what = self.last_cmd
        if st in (INIT, PROBE):
            self._reset("no answer to AT%s" % what, now)
        elif st == RESET:
            self._emit("modem", {"state": "unresponsive", "reason": "no answer to ATZ"})
            self._set(RESET_WAIT, now, self.cfg["reset_backoff"])
        elif st == RESET_WAIT:
            self._reset("still unresponsive", now)
        elif st == HANGUP or s is None:
            self._reset("no answer to AT%s" % what, now)
        elif st == DIAL:
            s.outcome = s.outcome or (205001, "no result to ATD within %s s" % self.cfg["dial_timeout"])
            self._write(b"\r")
            self._set(HANGUP, now, self.cfg["hangup_timeout"])
        elif st == RXDATA:
            self._reset("no end of page data", now)
        else:
            self._fail(205001, "no answer to AT%s in state %s" % (what, self.state_name()), now)

    def _end(self, now, code=None, reason=None, reinit=True):
        s = self._sess
        if s.page_open:
            self._abort_sink(s)
        if s.outcome is not None:
            code, reason = s.outcome
        elif code is None:
            if s.hangup is not None:
                code = status.from_hangup(s.hangup)
                reason = "+FHNG:%d" % s.hangup
            else:
                code, reason = 205001, "call ended without a result"
        hs = hangup.describe(s.hangup) if s.hangup is not None and s.hangup >= 0 else None
        dcs = s.dcs
        info = {
            "dir": s.dir, "code": code, "reason": reason, "result": s.result, "hangup": hs,
            "pages": s.confirmed, "pprs": list(s.pprs), "remote_id": s.remote_id,
            "params": params.describe(dcs) if isinstance(dcs, tuple) else dcs,
            "remote_caps": s.remote_caps, "number": s.number, "duration": now - s.started,
        }
        if s.dir == "rx":
            info["bad_pages"] = s.bad_pages
        self._sess = None
        self._emit("end", info)
        self._xoff = False
        self._rx_armed = False
        self._arm_on_write = False
        if reinit and s.touched:
            self._start_init(now)


# Order of the evidence fields when an `end` event is reported (MicroPython dicts have no
# order; MQTT payloads and logs should read the same on every run).
EVIDENCE = ("dir", "code", "reason", "result", "hangup", "pages", "pprs", "remote_id", "params",
            "remote_caps", "number", "duration", "bad_pages")
PARAMS = ("raw", "vr_lpi", "bit_rate", "width", "length", "coding", "ecm", "bft", "scan_ms")


def evidence(info):
    """An `end` event's fields as an ordered tuple of (name, value) pairs (params likewise)."""
    out = []
    for k in EVIDENCE:
        if k in info:
            v = info[k]
            if k == "params" and isinstance(v, dict):
                v = tuple((p, v[p]) for p in PARAMS if p in v)
            out.append((k, v))
    return tuple(out)
