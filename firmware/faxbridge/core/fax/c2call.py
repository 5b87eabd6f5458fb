"""The actions of c2core.TABLE (sans-I/O): modem health outside calls, the ends of calls,
sending (AT+FDIS= to the last page verdict) and receiving (ATA to the last page).

Each action is f(machine, session, result name, now); the session is None outside calls. An
action moves the machine only through its public interface (c2core.Machine lists it), to one
of the next states its TABLE row names. The seed's sections: responses 5.4 (+FCON, +FDCS,
+FCFR, +FPTS, +FET, +FHNG), parameters 5.5.2, post-page messages and responses Tables 5-3/5-4;
the decisions are in docs/fax.md. Page sources and sinks are reached only through the
driver's hooks (class2.Class2: load_page, begin_page, data_mode, end_data, rx_cancel).
"""
from faxbridge.core.fax import c2core as C, dialect, params, status


# ---- modem health: init list, idle probe, ATZ and its back-off (docs/fax.md "Modem health")

def init_cmd(m, i):
    """The body of init command i: the dialect's list, our station id, then init_extra
    (required but the dialect's optional ones); None past the last. Made when sent: no list
    per start (c2core.Machine.start)."""
    d = m.d["init"]
    if i < len(d):
        return d[i]
    i -= len(d)
    if i == 0:
        return m.d["local_id"] % m.cfg["station_id"]
    x = m.cfg["init_extra"]
    return x[i - 1] if i <= len(x) else None


def init_next(m, s, name, now):
    """OK: the next init command, then idle (ready). ERROR on a required one: reset."""
    i = m.init
    d = m.d["init"]
    m.init = i + 1
    if name != "OK" and (i >= len(d) or not m.d["init_opt"] >> i & 1):
        m.reset("AT%s answered ERROR" % m.last_cmd, now)
        return
    body = init_cmd(m, i + 1)
    if body is not None:
        m.command(body, C.INIT, now)
    else:
        m.goto(C.IDLE, now, None)
        m.emit("modem", {"state": "ready"})


def class_pick(m, s, name, now):
    """The answer to AT+FCLASS=? (fclass "auto"): the first class of class_order it lists,
    then its init list. None listed (or ERROR): "unsupported", asked again after a reset.
    The listing: "0,1,2,2.0", "(0,2.0)"; ranges ("0-2") are not a Class 2 listing, only exact
    items count."""
    got = None
    if name == "OK":
        items = (m.listing or "").replace("(", "").replace(")", "").replace(" ", "").split(",")
        for c in m.cfg["class_order"]:
            if got is None and c in items:
                got = c
    if got is None:
        m.emit("modem", {"state": "unsupported",
                         "reason": "AT+FCLASS=? lists %s: none of %s" % (m.listing, ",".join(m.cfg["class_order"]))})
        m.goto(C.RESET_WAIT, now, m.cfg["reset_backoff"])
        return
    m.listing = None
    m.d = dialect.get(got)
    m.fclass = got
    m.emit("modem", {"state": "class", "class": got})
    m.start(now)


def reinit(m, s, name, now):
    m.start(now)


def reset(m, s, name, now):
    """A deadline passed with no answer: ATZ (c2core.Machine.reset) with the reason; no answer
    to ATZ itself: "unresponsive", ATZ again after reset_backoff (RESET_WAIT)."""
    st = m.state
    if st == C.RESET:
        m.emit("modem", {"state": "unresponsive", "reason": "no answer to ATZ"})
        m.goto(C.RESET_WAIT, now, m.cfg["reset_backoff"])
        return
    m.reset("still unresponsive" if st == C.RESET_WAIT else "no end of page data" if st == C.RXDATA
             else "no answer to AT%s" % m.last_cmd, now)


# ---- the end of a call: the guard, hanging up, the actions that end it -------------------

def closing(m, s, now):
    """The guard (_G in TABLE, run by c2core.Machine._dispatch) of every result that could
    carry on a call: a hang-up the modem reported ends the call; an outcome we decided
    (cancel, failure) hangs up. True when it did. Before ATD nothing is on the line: an
    outcome then ends at once."""
    if s.hangup is not None or (s.outcome is not None and m.state == C.SETUP and s.retries < 0):
        m.end(now)
    elif s.outcome is not None:
        hangup(m, now)
    else:
        return False
    return True


def hangup(m, now, cmd=None):
    """AT+FK (terminate the session; seed 001) or ATH, then end on OK."""
    m.command(cmd or m.d["abort"], C.HANGUP, now, m.cfg["hangup_timeout"])


def lost(m, s, name, now):
    """A final result that ends the call in a state that expected something else."""
    if s.hangup is not None:
        m.end(now)
    elif name == "NO CARRIER":
        m.end(now, 488, "NO CARRIER during the call")
    else:
        m.fail(205001, name + " in state " + m.state_name(), now)


def finish(m, s, name, now):
    """The answer to AT+FK / ATH: the call ends; ERROR to AT+FK (or to the CR that aborted a
    dial): ATH once, and any answer to that ends the call."""
    if name == "ERROR" and m.last_cmd != "H":
        hangup(m, now, "H")
    else:
        m.end(now)


def timed_out(m, s, name, now):
    m.fail(205001, "no answer to AT%s in state %s" % (m.last_cmd, m.state_name()), now)


# ---- sending --------------------------------------------------------------------------------

def setup_page(m, s, now):
    """AT+FDIS= for the page's resolution when it changes, then ATD (s.retries -1: not
    dialled yet) or AT+FDT. The page source's `fine` attribute decides VR; without one, the
    configuration."""
    fine = getattr(s.src, "fine", None)
    if fine is None:
        fine = m.cfg["fine"]
    vr = 1 if fine else 0
    if vr != s.vr:
        s.vr = vr
        c = m.cfg
        m.command(m.d["offer"] + params.to_str(params.choose(fine, c["max_rate"], c["scan_time"])),
               C.SETUP, now)
    else:
        setup_done(m, s, None, now)


def setup_done(m, s, name, now):
    """After AT+FDIS= (ERROR tolerated: the modem keeps its own capabilities): ATD (s.retries
    -1, class2.Class2.send), or AT+FDT for the next page (also once the call is up, call_ok,
    and again, fdt_again)."""
    if s.retries < 0:
        m.progress("dialling", now)
        m.command("D" + m.cfg["dial_mode"] + s.number, C.DIAL, now, m.cfg["dial_timeout"])
    else:
        m.progress("page", now)
        m.command(m.d["send"], C.FDT, now, m.cfg["connect_timeout"])


def call_ok(m, s, name, now):
    """OK to ATD / ATA: +FCON seen means the fax call is up (AT+FDT / AT+FDR); without it
    no fax machine is on the line (9001)."""
    tx = s.dir == "tx"
    if not s.fcon:
        m.fail(9001, "OK to %s without +FCON" % ("ATD" if tx else "ATA"), now)
        return
    s.retries = 0
    if tx:
        setup_done(m, s, name, now)
    else:
        fdr(m, s, name, now)


def call_failed(m, s, name, now):
    """A final result other than OK to ATD: BUSY, NO ANSWER, ... (spec/fax.md rows), NO CARRIER after
    +FCON 488, CONNECT (a data modem answered) 205001. To ATA before +FCON: the answer codes,
    not the dialling ones; after +FCON the call is lost."""
    tx = s.dir == "tx"
    if not tx and s.fcon:
        lost(m, s, name, now)
        return
    if tx and name == "CONNECT":
        m.fail(205001, "CONNECT to ATD (data modem?)", now)
        return
    if s.fcon and name == "NO CARRIER":
        m.end(now, 488, "NO CARRIER after +FCON")
        return
    code = status.from_result(name) if tx else status.from_result(name, status.ANSWER_RESULTS)
    m.end(now, 205001 if code is None else code, ("ATD: " if tx else "ATA: ") + name)


def dial_timeout(m, s, name, now):
    """No result to ATD: any character aborts the dial (V.25 ter 6.3.1), 205001."""
    s.outcome = s.outcome or (205001, "no result to ATD within %s s" % m.cfg["dial_timeout"])
    m.write(b"\r")
    m.goto(C.HANGUP, now, m.cfg["hangup_timeout"])


def fdt_connect(m, s, name, now):
    """CONNECT to AT+FDT: page data after XON, or xon_grace without one (efax); Class 2.0
    sends no XON (T.32): at once. Cancelled meanwhile: DLE ETX at once."""
    m.data_mode(now)
    if s.outcome is not None:
        m.goto(C.TXDATA, now, None)
        m.end_data(now)
    elif m.d["xon"]:
        m.goto(C.XONWAIT, now, m.cfg["xon_grace"])
    else:
        m.goto(C.TXDATA, now, None)


def fdt_again(m, s, name, now):
    """OK instead of CONNECT to AT+FDT (HylaFAX): repeat it fdt_retries times, then 7200."""
    if s.retries < m.cfg["fdt_retries"]:
        s.retries += 1
        setup_done(m, s, name, now)             # s.retries >= 0: AT+FDT again
    else:
        m.fail(7200, "OK instead of CONNECT to +FDT, %d times" % (s.retries + 1), now)


def page_sent(m, s, name, now):
    """OK after DLE ETX: open the next page; its existence decides MPS or EOP (Table 5-3)."""
    more = m.load_page(s, s.index + 1)
    if more is None:
        hangup(m, now)
        return
    s.ppm = 0 if more else 2
    s.ppr = None
    m.command(m.d["ppm"] % s.ppm, C.FET, now, m.cfg["fet_timeout"])


def page_verdict(m, s, name, now):
    """OK to AT+FET: +FPTS 1/3/5 confirm the page (Table 5-4); then the next page, the
    same page again (rtn_resend), or the end. Class 2.0, OK / ERROR to <DLE><ppm> (txppm): OK
    is MCF, RTP or PIP, ERROR is RTN or PIN (T.32, as efax end_data and mgetty fax_send_ppm
    read it), unless +FPS: said which; a hang-up other than +FHS:00 leaves it unknown."""
    if m.state == C.TXPPM and s.ppr is None and not s.hangup:
        s.ppr = 1 if name == "OK" else 2
    last = s.ppm == 2
    ppr = s.ppr
    if ppr is None and s.hangup == 0 and last:
        ppr = 1               # MCF: +FHNG:0 without +FPTS on the last page is success (HylaFAX)
    good = ppr == 1 or ppr == 3 or ppr == 5
    s.add_ppr(ppr)
    m.emit("page", {"dir": "tx", "index": s.index, "ppr": ppr, "ok": good})
    if good:
        s.confirmed += 1
    if s.hangup == 0:
        if good and last:
            m.end(now, 0, "all pages confirmed")
        else:
            m.end(now, 3268, "call ended after page %d (ppr %s)" % (s.index + 1, ppr))
        return
    if closing(m, s, now):
        return
    if good:
        if last:
            s.outcome = (0, "all pages confirmed")   # no +FHNG yet: hang up ourselves
            hangup(m, now, "H")
            return
        s.index += 1
        s.resends = 0
    else:
        if s.resends >= m.cfg["rtn_resend"]:
            s.outcome = (3268, "page %d rejected (ppr %s)" % (s.index + 1, ppr))
            hangup(m, now)
            return
        s.resends += 1
        if m.load_page(s, s.index) is None:          # the same page again
            hangup(m, now)
            return
    s.retries = 0
    setup_page(m, s, now)


# ---- receiving ------------------------------------------------------------------------------

def fdr(m, s, name, now):
    m.command(m.d["receive"], C.FDR, now, m.cfg["fdr_timeout"])


def fdr_connect(m, s, name, now):
    """CONNECT to AT+FDR: open the page in the sink, then DC2 (or DC1) starts the data;
    cancelled meanwhile or refused by the sink: CAN."""
    m.data_mode(now)
    m.goto(C.RXDATA, now, m.cfg["rx_page_timeout"])   # the page's deadline (c2core poll)
    if s.outcome is None:
        dcs = s.dcs if isinstance(s.dcs, tuple) else None
        info = params.describe(dcs) or {}
        msb = m.d["rx_msb"]
        info["msb_first"] = bool(m.cfg["rx_msb_first"]) if msb is None else msb
        if m.begin_page(s, info):
            m.write(b"\x12" if m.cfg["rx_start"] == "DC2" else b"\x11")
            m.progress("page", now)
            return
    m.rx_cancel(s, now)


def fdr_ok(m, s, name, now):
    """OK alone to AT+FDR: after EOP the document is in (no +FHNG: hang up ourselves);
    else repeat AT+FDR fdr_retries times, then 7200."""
    if s.ppm == 2 and s.confirmed:
        s.outcome = (0, "document received")
        hangup(m, now, "H")
    elif s.retries < m.cfg["fdr_retries"]:
        s.retries += 1
        fdr(m, s, name, now)
    else:
        m.fail(7200, "OK without CONNECT to +FDR, %d times" % (s.retries + 1), now)


def page_received(m, s, name, now):
    """OK after a received page: report it, then AT+FPTS= when our verdict differs from the
    modem's, else the next AT+FDR. Our verdict, from the sink's (lines, bad lines) of the page
    kept: 1 (MCF) when it has lines and bad lines <= rx_bad_pct %, else 2 (RTN)."""
    v = s.verdict
    ours = None
    if v is not None:
        lines, bad = v
        ours = 1 if lines > 0 and bad * 100 <= lines * m.cfg["rx_bad_pct"] else 2
        # no +FET: the sender never finished the page (line drop, hang-up): not kept
        complete = s.ppm is not None
        ppr = ours if complete else None
        ok = ppr == 1
        s.add_ppr(ppr)                  # not ok: a bad page (evidence.end_info counts them)
        m.emit("page", {"dir": "rx", "index": s.index, "ppr": ppr, "ok": ok,
                         "lines": lines, "bad_lines": bad, "modem_ppr": s.ppr, "complete": complete})
        if ok:
            s.confirmed += 1
            s.index += 1                # else the sender retrains and sends it again (same index)
    if closing(m, s, now):
        return
    s.retries = 0
    s.verdict = None
    if ours is not None and ours != s.ppr:
        m.command(m.d["ppr"] % ours, C.FPTS, now)
    else:
        fdr(m, s, name, now)
