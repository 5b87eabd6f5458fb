"""Class 2 fax modem driver (seed 001; docs/fax.md): its configuration, the unit's API, the page I/O.

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

The machine itself is c2core (states, the transition table TABLE, dispatch, the guard,
endings) and c2call (the actions of TABLE); framing.py frames page data. This module holds the
configuration and the only code that touches page sources (readinto) and sinks (begin_page,
write, end_page, abort), catching their errors: the page I/O hooks c2core.Machine lists.
"""
from faxbridge.core.fax import at, c2call as a, c2core as c, dial, framing

_BUFFERS = (bytes, bytearray, memoryview)   # what feed() reads without a copy


class Class2(c.Machine):
    _acts = a     # TABLE's actions, by name (c2core.Machine._dispatch): one class attribute
    def __init__(self, config=None, sink_factory=None):
        from array import array                   # here, not module names: once per driver
        from faxbridge.core.fax import dialect
        # The configuration's keys and defaults (docs/fax.md explains each; times in seconds):
        # a dict literal, its keys and values in the code (qstrs, in flash when frozen), made
        # per Class2 only; Class2().cfg is the defaults. deny, max_len and country are dial.py's
        # (test_app_config checks they agree; the country table refuses the deny numbers anyway).
        cfg = {"station_id": "", "deny": ("110", "118", "119"), "allow": None, "max_len": 40,
               "outside_prefixes": (), "country": "JP", "dial_mode": "T", "max_rate": 9600, "fine": True,
               "scan_time": 0, "init_extra": (), "cmd_timeout": 5, "dial_timeout": 120,
               "answer_timeout": 120, "connect_timeout": 45, "fdr_timeout": 60, "xon_grace": 2,
               "xoff_limit": 20, "page_end_timeout": 120, "fet_timeout": 60, "hangup_timeout": 15,
               "rx_idle_timeout": 30, "rx_page_timeout": 900, "reset_timeout": 10, "reset_backoff": 30,
               "idle_check": 60, "fdt_retries": 3, "fdr_retries": 3, "rtn_resend": 1, "rings": 2,
               "ring_reset": 10, "rx_start": "DC2", "rx_msb_first": True, "rx_bad_pct": 5, "chunk": 128,
               "fclass": "2", "class_order": ("2.0", "2")}
        if config:
            for k in config:
                if k not in cfg:
                    raise ValueError("unknown fax config key: %s" % k)
                cfg[k] = config[k]
        dial.station_id(cfg["station_id"])    # the unit's config.py checks every other option
        order = cfg["class_order"] = tuple(cfg["class_order"])
        bad = not order
        for k in order:
            bad = bad or k not in dialect.CLASSES
        if bad:
            raise ValueError("class_order: one or more of %s" % ", ".join(dialect.CLASSES))
        n = int(cfg["chunk"])
        # one buffer for page data: sending, raw bytes in [0:n] and stuffed ones in [n:2n+2];
        # receiving, unstuffed bytes in [0:2n+2] (framing.py: one byte past the cap). _full:
        # its views, made once: stuffed [n:2n] and [n:2n+1], unstuffed [0:2n+1] and all (the
        # buffer: no attribute of its own), raw [0:n], stuffed [n:]
        mv = memoryview(bytearray(2 * n + 2))
        out = mv[n:]
        self._full = (out[:n], out[:n + 1], mv[:2 * n + 1], mv, mv[:n], out)
        self._fst = array("i", (0, 0, 0, 0))  # framing state (framing.py): [i, n, o, flags]
        c.Machine.__init__(self, cfg, sink_factory)

    def recover_bytes(self):
        """What to write, with a pause between, to a modem a reset may have left in a call:
        end page data (DLE ETX), then end the session (AT+FK)."""
        return (framing.END, at.command(self.d["abort"]))

    # ---- sending ----------------------------------------------------------------------

    def send(self, number, open_page, now):
        """Start sending a fax. open_page(index) -> page source (readinto) or None past the end.

        The number is checked by the dial policy first; a refused or malformed number ends at
        once (an "end" event with 6002 / 6027) and nothing reaches the modem. Returns True when
        a session started (or ended at once), raises RuntimeError when the modem is not ready.
        """
        if not self.ready():
            raise RuntimeError("modem not ready (%s)" % self.state_name())
        s = self.sess = self._s
        s.reset("tx", now)
        g = self.cfg    # the dial policy, the country's prefix table included
        code, txt = dial.check(number, g["deny"], g["allow"], g["max_len"], g["outside_prefixes"], g["country"])
        s.number = txt if code is None else None
        if code is not None:
            s.outcome = (code, txt)
            self.end(now)
            return True
        s.io = open_page
        self.progress("preparing", now)
        if not self.load_page(s, 0):
            if s.outcome is None:
                s.outcome = (204000, "no pages")
            self.end(now)
            return True
        s.retries = -1            # AT+FDIS= is followed by ATD (c2call.setup_done)
        a.setup_page(self, s, now)
        return True

    def load_page(self, s, index):
        """Open page `index` of the call into s.src: True, False past the last page, None when the
        page cannot be made (the call's outcome is then 204000; -3 when the heap could not
        take it: not final, the job is tried again, docs/fax.md). One page source at a time:
        a page opened before is closed first (a resend replaces the next page with this one;
        a sent page's source is closed when its data ends, end_data)."""
        _close(s.src)
        s.src = None
        try:
            s.src = s.io(index)
        except Exception as e:
            _fault(s, e, index, "opening")
            return None
        return s.src is not None

    def drop_pages(self, s):
        """The call is over: its page sources closed and let go, and its sink (the page
        opener too): no page I/O is kept between calls."""
        _close(s.src)
        s.io = s.src = None

    def configure(self, dcs):
        """The negotiated +FDCS tuple, for the page source (dialect.read)."""
        src = self.sess.src
        if src is not None and hasattr(src, "configure"):
            src.configure(dcs)

    def next_output(self, now):
        """Bytes to write to the modem now (b"" when nothing is due)."""
        if self._wq:
            out = self._wq.pop(0)
            if self._rx & 2 and not self._wq:      # c2core's _ARM_ON_WRITE: DC2 written, _ARMED
                self._rx = self._rx & 4 | 1
                self._rx_last = now
            return out
        if self.state != c.TXDATA or self._xoff_t is not None:
            return b""
        # page data: up to `chunk` stuffed bytes (one more when a DLE ends them); at the end of
        # the page (or a failure) what is left, then DLE ETX
        s = self.sess
        st = self._fst
        full = self._full
        out = full[5]             # stuffed bytes: _full's views (__init__)
        n = len(full[0])
        st[2] = 0
        while s.outcome is None and st[2] < n:
            if st[0] >= st[1]:
                try:
                    k = s.src.readinto(full[4])    # raw bytes (the encoder is made at the first)
                except Exception as e:
                    _fault(s, e, s.index, "reading")
                    break
                if k is None or k <= 0:
                    break
                if k > n:
                    s.outcome = (205001, "page source returned too much")
                    break
                st[0] = 0
                st[1] = k
            framing.stuff(st, full[3], out, n)
        o = st[2]
        if o >= n and s.outcome is None:
            return full[o - n]
        self.end_data(now)
        if o and s.outcome is None:
            return out[:o]
        return self._wq.pop(0)

    def data_mode(self, now):
        """CONNECT: page data from now on, the framing state afresh, no XOFF held; receiving,
        armed once what is queued (our DC2) is written, CR/LF before the data skipped."""
        st = self._fst
        st[0] = st[1] = st[2] = st[3] = 0
        self._xoff_t = None
        self._rx = 6              # c2core's _ARM_ON_WRITE | _LEAD (the page's deadline: c2call.fdr_connect)

    def end_data(self, now):
        """The end of page data: DLE ETX (then OK, AT+FET). In Class 2.0 a page that ends well
        names its post-page message (<DLE><ppm>, T.32), so the next page is opened first;
        leaving the call it is DLE ETX there too."""
        s = self.sess
        _close(s.src)             # the page is out: its source (encoder, file) goes before
        s.src = None              # the next page is opened (one page source at a time)
        pe = self.d["page_end"]
        if pe is not None and s.outcome is None:
            more = self.load_page(s, s.index + 1)
            if more is not None:
                s.ppm = 0 if more else 2
                s.ppr = None
                self.write(pe[s.ppm])
                self.goto(c.TXPPM, now, self.cfg["page_end_timeout"] + self.cfg["fet_timeout"])
                return
        self.write(framing.END)
        self.goto(c.TXEND, now, self.cfg["page_end_timeout"])

    # ---- receiving --------------------------------------------------------------------

    def answer(self, now):
        """The ring count is reached: a sink from the factory, then ATA (None: not answered)."""
        try:
            sink = self._sink_factory()
        except Exception as e:
            self.emit("modem", {"state": "refused call", "reason": str(e)})
            return
        if sink is not None:
            s = self.sess = self._s
            s.reset("rx", now)
            s.io = sink
            self.progress("answering", now)
            self.command("A", c.ANSWER, now, self.cfg["answer_timeout"])

    def rx_cancel(self, s, now):
        """CAN stops the modem's page data; it ends the data with DLE ETX, then OK."""
        self.write(b"\x18")
        if s.page_open:
            self.abort_page(s)
        self._deadline = now + self.cfg["hangup_timeout"]

    def feed(self, data, now):
        """Bytes read from the modem (bytes, bytearray or memoryview)."""
        if not isinstance(data, _BUFFERS):
            data = bytes(data)
        i = 0
        n = len(data)
        while i < n:
            if self.state == c.RXDATA:    # page data: unstuffed into the buffer, to the sink
                if not self._rx & 1:      # c2core's _ARMED
                    break                 # nothing can come before our DC2: a stray LF
                self._rx_last = now
                if self._rx & 4:          # c2core's _LEAD
                    # CR/LF ending the CONNECT line may come after our DC2; page data never
                    # starts so
                    while i < n and (data[i] == 13 or data[i] == 10):
                        i += 1
                    if i >= n:
                        break
                    self._rx = 1
                st = self._fst
                st[0] = i
                st[1] = n
                # unstuff's cap, a full buffer (framing.py): not an attribute (the driver's 23
                # fill a table of 23 slots, a 24th would take 29)
                buf = self._full[3]
                cap = len(buf) - 1
                while True:
                    framing.unstuff(st, data, buf, cap)
                    k = st[2]
                    etx = k < cap and st[3] & framing.ETX_SEEN
                    if k < cap and not etx:
                        return            # the rest of the page comes in a later feed
                    if k:                 # a full buffer, or what DLE ETX left: to the sink
                        st[2] = 0
                        s = self.sess
                        if s.page_open:
                            try:
                                s.io.write(self._full[k - cap + 2] if k >= cap else self._full[3][:k])
                            except Exception as e:
                                self.abort_page(s)
                                if s.outcome is None:
                                    s.outcome = (205001, "sink: %s" % e)
                                    self.rx_cancel(s, now)
                    if etx:           # the page ends, with the sink's verdict: (lines, bad_lines),
                        st[3] = 0         # or None when it was not kept (cancelled, failed)
                        s = self.sess
                        verdict = None
                        if s.page_open and s.outcome is None:
                            s.page_open = False
                            try:
                                verdict = s.io.end_page()
                            except Exception as e:
                                verdict = (0, 0)
                                s.outcome = (205001, "sink: %s" % e)
                        elif s.page_open:
                            self.abort_page(s)
                        s.ppr = s.ppm = None
                        s.verdict = verdict       # our +FPTS from it: c2call.page_received
                        self.goto(c.RXPOST, now, self.cfg["fet_timeout"])   # +FPTS:, +FET:, OK
                        i = st[0]         # what follows DLE ETX: response lines
                        break
                continue
            lr = self._lines
            i = lr.take(data, i)
            item = lr.item
            if item is None:
                break
            if not isinstance(item, int):
                self._line(item, now)
            elif item == 0x13:        # XOFF (else XON; at.LineReader): flow control, not an event of TABLE
                if self._xoff_t is None:
                    self._xoff_t = now
            else:
                self._xoff_t = None
                if self.state == c.XONWAIT:     # XON ends XONWAIT at once
                    self.goto(c.TXDATA, now, None)

    def begin_page(self, s, info):
        """The sink opens received page s.index (info: the page's parameters); False when it
        refused (the outcome is then 205001)."""
        self._fst[2] = 0
        try:
            s.io.begin_page(s.index, info)
        except Exception as e:
            s.outcome = (205001, "sink: %s" % e)
            return False
        s.page_open = True
        return True

    def abort_page(self, s):
        s.page_open = False
        self._fst[2] = 0
        try:
            s.io.abort()
        except Exception:
            pass


def _fault(s, e, index, doing):
    """Page `index` failed to open or read (raised e): MemoryError is the unit's heap, not the
    page: -3, tried again later (job.py); anything else (bad bitmap, bad text): the page could
    not be made, 204000."""
    if isinstance(e, MemoryError):
        s.outcome = (-3, "out of memory %s a page: tried again later" % doing)
    else:
        s.outcome = (204000, "page %d: %s" % (index + 1, e))


def _close(src):
    """Close a page source the driver lets go of (its file), if it has close(); errors are
    the source's own and ignored."""
    if src is not None and hasattr(src, "close"):
        try:
            src.close()
        except Exception:
            pass
