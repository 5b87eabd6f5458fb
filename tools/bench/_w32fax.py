"""The 32-bit probe's fax steps (tools/bench/_w32probe.py, shipped beside it as w32fax): a 256 KB
cmd/fax through the link's own intake, its job sent by the unit's own FaxLine and driver from the
pages on flash to a scripted modem (_Modem), that page received back into app/rx.RxSink
(docs/bench.md). MicroPython. Not a benchmark itself."""
from w32unit import CFG, U, _NOW, _ack


def _cmd_open(_):
    """The cmd/fax PUBLISH as the broker sends it (w32.py wrote it: fixed header, topic,
    packet id, then the payload of tools/bench/_scenario.big_fax), read from flash."""
    U["pub"] = open(CFG["flash"] + "fax.pub", "rb")


def _cmd_read(_):
    """One socket read into the link's own buffer, fed to its session (link._reader's loop):
    the inbox streams the cmd/fax through faxcmd.Parser into the spool; at its last byte
    Unit._on_command -> Jobs.submit (app/pages.count over the spool files) answers it."""
    f = U.get("pub")
    if f is None:
        return
    ln = U["unit"].link
    ib = ln                 # the link is its inbox (app/inbox.Inbox is its base class)
    buf = ln.rxbuf
    mv = memoryview(buf)
    k = ib.keep
    n = f.readinto(mv[k:] if k else buf)
    if not n:
        f.close()
        U["pub"] = None
        return
    ib.at = k
    ib.end = k + n
    ln.session.feed(mv[k:k + n], _NOW)
    ib.at = -1
    ln._handle(_NOW)


def _cmd_accepted(_):
    """The job taken (state new, its -1 the answer): its documents are counted by the modem
    task on the idle line (Jobs.next_due, the first modem pass), not at intake."""
    u = U["unit"]
    assert U.get("pub") is None, "the cmd/fax was not read to its end"
    job = u.jobs.find("big")
    assert job is not None and job["state"] == "new", job
    _ack(u.link, _NOW)


def _cmd_answered(_):
    u = U["unit"]
    print("w32: cmd/fax %d documents accepted; spool left %d" % (
        len(u.jobs.find("big")["kinds"]), len(u.link.spool.pages)))


_OK = b"\r\nOK\r\n"
_RX = b'\r\n+FCON\r\n\r\n+FTSI:"  +81 3 1234"\r\n\r\n+FDCS:1,3,0,2,0,0,0,0\r\n' + _OK


class _Modem:
    """The modem behind the unit's own FaxLine and driver (app/faxline.py), scripted as
    host_tests/core's Class 2 dialogues: what the driver writes is answered through
    FaxLine.feed (the modem task's reader), the events go to FaxLine.events. The data of the
    last page sent is kept on flash and is the fax received later."""

    def __init__(self, fl):
        self.fl = fl
        self.pages = 0           # pages whose data began (AT+FDT answered)
        self.last = 0            # the page to keep: the job's last
        self.fdr = 0
        self.cap = None          # that page's data, as written
        self.src = None          # a reception's page data, read from there
        self.busy = 0            # passes that did something
        self.reply = None        # the modem's answer, read in the next step

    def say(self, b):
        """The modem's bytes through FaxLine.feed (the modem task's reader), then the driver
        polled."""
        fl = self.fl
        fl.feed(b)
        fl.driver.poll(U["unit"].mono())

    def answer(self, o):
        if o[:3] == b"ATD":
            r = b"\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n" + _OK
        elif o[:6] == b"AT+FDT":
            self.pages += 1
            if self.pages == self.last:
                self.cap = open(CFG["flash"] + "page.g3", "wb")
            r = b"\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n\x11"
        elif o[:8] == b"AT+FET=0":
            r = b"\r\n+FPTS:1\r\n" + _OK
        elif o[:6] == b"AT+FET":
            r = b"\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + _OK
        elif o[:3] == b"ATA":
            r = _RX
        elif o[:6] == b"AT+FDR":
            self.fdr += 1
            r = b"\r\n+FCFR\r\n\r\nCONNECT\r\n" if self.fdr == 1 else b"\r\n+FHNG:0\r\n" + _OK
        elif o == b"\x12":      # DC2: the page data follows
            self.src = open(CFG["flash"] + "page.g3", "rb")
            return
        else:                   # initialisation
            r = _OK
        self.reply = r

    def step(self):
        """One pass of the modem task (FaxLine._drive): poll, start the job due, write one
        output of the driver (a command, or a chunk of page data: _drive awaits the drain after
        each), the events; or the modem's answer to it, read (FaxLine.reader: FaxLine.feed, then
        the driver polled); or one UART read of page data received (FaxLine.reader, its own
        buffer). True when it had nothing to do (the call over, the modem initialised): the
        plan's passes end there."""
        u = U["unit"]
        fl = self.fl
        m = fl.driver
        now = u.mono()
        self.busy += 1
        if self.reply is not None:      # the modem's answer to what the last pass wrote
            b = self.reply
            self.reply = None
            self.say(b)
            return False
        if self.src is not None:
            n = self.src.readinto(fl._buf)
            if n:
                fl.feed(memoryview(fl._buf)[:n])
            else:
                self.src.close()
                self.src = None
                self.reply = b"\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + _OK
            fl.events()
            return False
        m.poll(now)
        if fl.active is None and m.ready():
            fl._start(now)      # the modem task's own start: the first page opened, then the dial
            if fl.active is not None:
                self.last = fl.active["n"]
        data = m.state_name() == "txdata"
        o = m.next_output(now)
        idle = False
        if not o:
            idle = fl.active is None and m.ready()
        elif not data and o[:2] == b"AT" or o == b"\x12":
            self.answer(bytes(o))
        else:
            if self.cap is not None:
                self.cap.write(o)
            if m.state_name() != "txdata" and not m._wq:      # DLE ETX written: the page ends
                if self.cap is not None:
                    self.cap.close()
                    self.cap = None
                self.reply = _OK
        if idle:
            self.busy -= 1      # nothing to do: the call is over, the modem initialised
        fl.events()
        if u.link.outbox.depth():
            _ack(u.link, _NOW)
        return idle


def _line_start(_):
    u = U["unit"]
    U["modem"] = _Modem(u.fax)
    u.fax.driver.start(u.mono())


def _modem(_):
    return U["modem"].step()


def _call_over(_):
    u = U["unit"]
    m = u.fax.driver
    assert m.state_name() == "idle" and u.fax.active is None and not u.jobs.jobs, (m.state_name(), u.jobs.jobs)
    _ack(u.link, _NOW)


def _sent(_):
    c = U["unit"].counters
    print("w32: fax sent %d, failed %d, pages %d; modem passes %d" % (
        c["fax_sent"], c["fax_failed"], c["tx_pages"], U["modem"].busy))
    U["modem"].busy = 0
    assert c["fax_sent"] == 1 and c["tx_pages"] == U["modem"].last


def _ring(_):
    md = U["modem"]
    md.say(b"\r\nRING\r\n")
    md.say(b"\r\nRING\r\n")


def _page_in(_):
    u = U["unit"]
    assert u.fax.driver.state_name() == "idle" and U["modem"].src is None
    _ack(u.link, _NOW)          # the page streamed from flash, then fax/received


def _received(_):
    import os
    u = U["unit"]
    left = os.listdir(u.flash + "rx")
    print("w32: fax received %d, pages published %d, left in rx/: %s; modem passes %d" % (
        u.counters["rx_faxes"], u.link.files_done, left, U["modem"].busy))
    assert u.counters["rx_faxes"] == 1 and u.link.files_done == 1
    os.remove(CFG["flash"] + "page.g3")
    U["modem"] = None


def _reads():
    """Socket reads of the cmd/fax file (the link's buffer, mqtt.rx_buffer, 2048 by default)."""
    import os
    try:
        return os.stat(CFG["flash"] + "fax.pub")[6] // 2048 + 2
    except OSError:
        return 0
