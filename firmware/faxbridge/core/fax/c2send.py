"""Sending a fax: the actions of class2.TABLE from AT+FDIS= to the last page verdict
(seed 001 5.4, 5.5.2, Tables 5-3/5-4; the decisions in docs/fax.md). Each action is f(machine, session,
result name, now); page sources are opened through the driver's _open hook."""
from micropython import const

from faxbridge.core.fax import params, status
from faxbridge.core.fax.c2core import DIAL, FDT, FET, HANGUP, SETUP, TXDATA, XONWAIT

_MCF = const(1)


def setup_page(m, s, now, then):
    """AT+FDIS= for the page's resolution when it changes, then ATD or AT+FDT (`then`)."""
    fine = m._fine(s)
    vr = 1 if fine else 0
    s.then = then
    if vr != s.vr:
        s.vr = vr
        c = m.cfg
        m._cmd(m.d["offer"] + params.to_str(params.choose(fine, c["max_rate"], c["scan_time"])),
               SETUP, now)
    else:
        setup_done(m, s, None, now)


def setup_done(m, s, name, now):
    """After AT+FDIS= (ERROR tolerated: the modem keeps its own capabilities)."""
    if s.then == DIAL:
        m._progress("dialling", now)
        m._cmd("D" + m.cfg["dial_mode"] + s.number, DIAL, now, m.cfg["dial_timeout"])
    else:
        fdt(m, now)


def fdt(m, now):
    m._progress("page", now)
    m._cmd(m.d["send"], FDT, now, m.cfg["connect_timeout"])


def dial_ok(m, s, name, now):
    """OK to ATD: +FCON seen means a fax machine answered; without it, 9001."""
    if s.fcon:
        s.retries = 0
        fdt(m, now)
    else:
        m._fail(9001, "OK to ATD without +FCON", now)


def data_modem(m, s, name, now):
    m._fail(205001, "CONNECT to ATD (data modem?)", now)


def dial_failed(m, s, name, now):
    """BUSY, NO ANSWER, ... to ATD (spec/fax.md rows); NO CARRIER after +FCON: 488."""
    if s.fcon and name == "NO CARRIER":
        m._end(now, 488, "NO CARRIER after +FCON")
        return
    code = status.from_result(name)
    m._end(now, 205001 if code is None else code, "ATD: " + name)


def dial_timeout(m, s, name, now):
    """No result to ATD: any character aborts the dial (V.25 ter 6.3.1), 205001."""
    s.outcome = s.outcome or (205001, "no result to ATD within %s s" % m.cfg["dial_timeout"])
    m._write(b"\r")
    m._set(HANGUP, now, m.cfg["hangup_timeout"])


def fdt_connect(m, s, name, now):
    """CONNECT to AT+FDT: wait for XON (or the grace time); cancelled meanwhile: end data."""
    m._fst[0] = m._fst[1] = 0           # no page bytes read yet
    if s.outcome is not None:
        m._set(TXDATA, now, None)
        m._end_tx_data(now)
        return
    m._xoff = False
    m._xon_until = now + m.cfg["xon_grace"]
    m._set(XONWAIT, now, None)


def fdt_again(m, s, name, now):
    """OK instead of CONNECT to AT+FDT (HylaFAX): repeat it fdt_retries times, then 7200."""
    if s.retries < m.cfg["fdt_retries"]:
        s.retries += 1
        fdt(m, now)
    else:
        m._fail(7200, "OK instead of CONNECT to +FDT, %d times" % (s.retries + 1), now)


def page_sent(m, s, name, now):
    """OK after DLE ETX: open the next page; its existence decides MPS or EOP (Table 5-3)."""
    more = m._open(s, s.index + 1)
    if more is None:
        m._hangup(now)
        return
    s.ppm = 0 if more else 2
    s.ppr = None
    m._cmd(m.d["ppm"] % s.ppm, FET, now, m.cfg["fet_timeout"])


def page_verdict(m, s, name, now):
    """OK to AT+FET: +FPTS 1/3/5 confirm the page (Table 5-4); then the next page, the
    same page again (rtn_resend), or the end."""
    last = s.ppm == 2
    ppr = s.ppr
    if ppr is None and s.hangup == 0 and last:
        ppr = _MCF            # +FHNG:0 without +FPTS on the last page: success (HylaFAX)
    good = ppr == 1 or ppr == 3 or ppr == 5
    s.pprs.append(ppr)
    m._emit("page", {"dir": "tx", "index": s.index, "ppr": ppr, "ok": good})
    if good:
        s.confirmed += 1
    if s.hangup == 0:
        if good and last:
            m._end(now, 0, "all pages confirmed")
        else:
            m._end(now, 3268, "call ended after page %d (ppr %s)" % (s.index + 1, ppr))
        return
    if m._closing(s, now):
        return
    if good:
        if last:
            s.outcome = (0, "all pages confirmed")   # no +FHNG yet: hang up ourselves
            m._hangup(now, "H")
            return
        s.index += 1
        s.resends = 0
    else:
        if s.resends >= m.cfg["rtn_resend"]:
            s.outcome = (3268, "page %d rejected (ppr %s)" % (s.index + 1, ppr))
            m._hangup(now)
            return
        s.resends += 1
        if m._open(s, s.index) is None:          # the same page again
            m._hangup(now)
            return
    s.src = s.next_src
    s.next_src = None
    s.retries = 0
    setup_page(m, s, now, FDT)
