"""Receiving a fax: the actions of class2.TABLE from ATA to the last page (seed 001 5.4.4-
5.4.8, Table 5-4; the decisions in docs/fax.md). Each action is f(machine, session, result name, now);
the driver's hooks open and close the page sink."""
from faxbridge.core.fax import params, status
from faxbridge.core.fax.c2core import ANSWER, FDR, FPTS, RXDATA, RXPOST, lost
from faxbridge.core.fax.evidence import _Session


def answer(m, sink, now):
    """The ring count is reached and the sink factory gave a sink: ATA."""
    s = _Session("rx", now)
    s.sink = sink
    m._sess = s
    m._progress("answering", now)
    m._cmd("A", ANSWER, now, m.cfg["answer_timeout"])


def answer_ok(m, s, name, now):
    """OK to ATA: +FCON seen means the fax call is up; without it, 9001."""
    if s.fcon:
        s.retries = 0
        fdr(m, s, name, now)
    else:
        m._fail(9001, "OK to ATA without +FCON", now)


def answer_failed(m, s, name, now):
    """A final result to ATA before +FCON: the answer codes, not the dialling ones."""
    if s.fcon:
        lost(m, s, name, now)
        return
    m._end(now, status.from_answer(name), "ATA: " + name)


def fdr(m, s, name, now):
    m._cmd(m.d["receive"], FDR, now, m.cfg["fdr_timeout"])


def fdr_connect(m, s, name, now):
    """CONNECT to AT+FDR: open the page in the sink, then DC2 (or DC1) starts the data."""
    m._rx_armed = False            # armed once our DC2 is written (next_output)
    m._arm_on_write = True
    m._rx_lead = True
    m._fst[3] = 0
    m._rx_page_t = now
    m._set(RXDATA, now, None)
    if s.outcome is not None:
        m._rx_cancel(s, now)
        return
    dcs = s.dcs if isinstance(s.dcs, tuple) else None
    info = params.describe(dcs) or {}
    info["msb_first"] = bool(m.cfg["rx_msb_first"])
    if not m._rx_begin(s, info):
        m._rx_cancel(s, now)
        return
    m._write(b"\x12" if m.cfg["rx_start"] == "DC2" else b"\x11")
    m._progress("page", now)


def fdr_ok(m, s, name, now):
    """OK alone to AT+FDR: after EOP the document is in (no +FHNG: hang up ourselves);
    else repeat AT+FDR fdr_retries times, then 7200."""
    if s.ppm == 2 and s.confirmed:
        s.outcome = (0, "document received")
        m._hangup(now, "H")
    elif s.retries < m.cfg["fdr_retries"]:
        s.retries += 1
        fdr(m, s, name, now)
    else:
        m._fail(7200, "OK without CONNECT to +FDR, %d times" % (s.retries + 1), now)


def page_end(m, s, verdict, now):
    """DLE ETX from the modem; verdict = the sink's (lines, bad_lines), None when the page was
    not kept (cancelled, failed). Our +FPTS: 1 (MCF) when the page has lines and bad lines
    <= rx_bad_pct %, else 2 (RTN)."""
    s.ppr = None
    s.modem_ppr = None
    s.ppm = None
    if verdict is not None:
        lines, bad = verdict
        s.rx_lines = lines
        s.rx_bad = bad
        s.our_ppr = 1 if lines > 0 and bad * 100 <= lines * m.cfg["rx_bad_pct"] else 2
    m._set(RXPOST, now, m.cfg["fet_timeout"])


def page_received(m, s, name, now):
    """OK after a received page: report it, then AT+FPTS= when our verdict differs from the
    modem's, else the next AT+FDR."""
    if s.our_ppr is not None:
        # no +FET: the sender never finished the page (line drop, hang-up): not kept
        complete = s.ppm is not None
        ppr = s.our_ppr if complete else None
        ok = ppr == 1
        s.pprs.append(ppr)
        m._emit("page", {"dir": "rx", "index": s.index, "ppr": ppr, "ok": ok,
                         "lines": s.rx_lines, "bad_lines": s.rx_bad,
                         "modem_ppr": s.modem_ppr, "complete": complete})
        if ok:
            s.confirmed += 1
            s.index += 1
        else:
            s.bad_pages += 1            # the sender retrains and sends it again (same index)
    if m._closing(s, now):
        return
    s.retries = 0
    ours = s.our_ppr
    s.our_ppr = None
    if ours is not None and ours != s.modem_ppr:
        m._cmd(m.d["ppr"] % ours, FPTS, now)
    else:
        fdr(m, s, name, now)
