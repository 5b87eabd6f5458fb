"""Duties of the originating center (仕向センタ), seed 002, 3.3.2.

(1) before sending: (a) destination company served, (b) business served, (c) cancel and
cancel-confirm (re)commands keep the hold items (保留項目) of the transaction, (d) a free route
for a general telegram, (e) CAFIS in total fault: post-processing toward the terminal, (f) a
failed send: error to the terminal.
(2) on receipt: (a) abnormal, cancel and cancel-confirm reports: what 3.3.5 prescribes for the
code, (b) the hold items of a report match the request, (c) time-over (表 3.3.2-1), (d) a report
that cannot be delivered to the terminal: 取消指令 to CAFIS.

Functions here work on a Member engine (engine.py) and append effects to a list.
"""
from micropython import const

from . import errors as _err
from . import roles as _roles
from .dest import Pending, hold  # noqa: F401  (origin.hold: the hold queue's, dest.py)

# What the originating center does for an error code: read from the error catalogue's
# action text (表 3.3.5-1 column 4, 表 3.3.5-2 column 6), one row per distinct phrase.
ABORT = "abort"              # stop processing this telegram and investigate (中止、調査)
END = "end"                  # end processing this telegram (処理を終了する)
RETRY = "retry"              # send it again (after t_retry)
RETRY_ONCE = "retry_once"    # send it again once after a while; if it happens again, abort
AFTER_START = "after_start"  # send it after the next online start
RESTART = "restart"          # end processing and restart online (C60 of 表 3.3.5-1)

PHRASES = (
    ("当該電文の処理を中止、調査する", ABORT),          # 3.3.5-1: C01 C03 C51 C53 C54 C55 C57 C58
    ("調査当該電文の処理を中止、調査する", ABORT),      # 3.3.5-1: C56 (the seed's wording)
    ("再度電文を送信する", RETRY),                      # 3.3.5-1: C12
    ("当該電文の処理を終了する", END),                  # 3.3.5-1: C13 C14 C15 C33 C50; 3.3.5-2 #4 #5
    ("当該電文の処理を終了しオンラインを再開する", RESTART),  # 3.3.5-1: C60
    ("当該電文の処理を中止し調査する", ABORT),          # 3.3.5-2 #1 #2 #9 #10 #11 #12 #14 #15
    ("一定時間後再度当該電文を送信する", RETRY),        # 3.3.5-2 #3 (C12)
    ("オンライン開始後送信する", AFTER_START),          # 3.3.5-2 #6 (C15), #16 (C60)
    ("一定時間後に送信し再度処理する場合は中止し調査を行う", RETRY_ONCE),  # 3.3.5-2 #7 (C33), #8 (C50)
    ("処理を中止する。他取引においても発生する場合は調査する", ABORT),    # 3.3.5-2 #13 (C56)
)


def reaction(code, fault):
    """(reaction, catalogue row) for error `code` in a report to a general request
    (fault=False, 表 3.3.5-1) or to a cancel / cancel-confirm command (fault=True, 表 3.3.5-2).
    An unknown code or text: ABORT (stop and investigate)."""
    g = _err.guidance(code, fault)
    if g is None:
        return ABORT, None
    for text, r in PHRASES:
        if text == g[_err.G_ACTION]:
            return r, g
    return ABORT, g


# 表 3.3.2-1 電文作成条件: (項番, what timed out, role of the telegram sent after the time-over)
_TO_NO = const(0)      # a row of TIME_OVER, by name
_TO_KIND = const(1)
_TO_NEXT = const(2)
TIME_OVER = (
    (1, "request", "confirm"),            # 要求 -> 取消確認指令 (注1: not for CAFIS loop-back requests)
    (2, "cancel_confirm", "confirm_re"),  # 取消確認（再）指令 -> 取消確認再指令
    (3, "cancel", "cancel_re"),           # 取消（再）指令 -> 取消再指令
)

# Terminal error codes for refusals before sending (the C-code CAFIS would give the same fault).
T_NOT_SERVED = "C01"     # 3.3.2(1)(a), as C01 / CAF01
T_NO_BUSINESS = "C57"    # 3.3.2(1)(b), as C57 / CAF57
T_BUSY = "C12"           # 3.3.2(1)(d) no free route, as C12 / CAF12
T_CAFIS_FAULT = "CAF33"  # 3.3.2(1)(e) CAFIS in total fault
T_CAFIS_ENDED = "CAF15"  # not online (CAFIS ended / not started / ending)
T_SEND_FAILED = "send_failed"  # 3.3.2(1)(f)
T_TIME_OVER = "time_over"      # 表 3.3.2-1 注1, or the re-commands gave up


def _kind_after(key):
    return _roles.K_CONFIRM if key in ("confirm", "confirm_re") else _roles.K_CANCEL


def send_request(m, now, tg, ref, effs, rule="3.3.2(1)"):
    """3.3.2 (1) for a general request; True when sent (a route is then in use)."""
    ro = m.roles
    route = ro.route(tg)
    if m.mode == m.CAFIS_FAULT:
        effs.append(("terminal_error", route, T_CAFIS_FAULT, "3.3.2(1)(e)", ref))
        return False
    if m.mode != m.ONLINE or m.ending:
        effs.append(("terminal_error", route, T_CAFIS_ENDED, "3.3.2(1)(e) not online", ref))
        return False
    if not m.hooks.dest_served(tg):
        effs.append(("terminal_error", route, T_NOT_SERVED, "3.3.2(1)(a)", ref))
        return False
    if not m.hooks.dest_business(tg):
        effs.append(("terminal_error", route, T_NO_BUSINESS, "3.3.2(1)(b)", ref))
        return False
    if route.strip() == b"":
        route = m.free_route()
        if route is None:
            effs.append(("terminal_error", None, T_BUSY, "3.3.2(1)(d)", ref))
            return False
        tg = ro.with_route(tg, route)
    elif not m.holds_route(route):
        effs.append(("terminal_error", route, "C55", "3.3.2(1)(d) not our route", ref))
        return False
    elif route in m.routes:
        effs.append(("terminal_error", route, "C51", "3.3.2(1)(d) route in use", ref))
        return False
    m.routes[route] = Pending(_roles.K_REQUEST, bytes(tg), now + m.cfg.t_report, ref=ref)
    m.holds[route] = _roles.protected(ro, tg)
    effs.append(("send", route, bytes(tg), rule, ref))
    return True


def send_fault(m, now, tg, ref, effs, rule="3.3.2(1)(c)", tries=0, retried=0, own=False):
    """A cancel or cancel-confirm (re)command: it must keep the hold items of the transaction
    on its route (3.3.2(1)(c)); held until CAFIS is back when it is not online. own=True for
    the engine's own (held) fault telegrams, built from the kept items: the route may carry
    a newer transaction's hold items by now."""
    ro = m.roles
    route = ro.route(tg)
    kind = ro.kind(tg)
    if not m.holds_route(route):
        effs.append(("error", route, "C55", "3.3.2(1)(c) not our route", ref))
        return False
    h = m.holds.get(route)
    if not own and (h is None or not _roles.protected_is(ro, tg, h)):
        effs.append(("error", route, "hold items", "3.3.2(1)(c)", ref))
        return False
    if route in m.routes:
        effs.append(("error", route, "C51", "3.3.2(1)(c) route in use", ref))
        return False
    if m.mode != m.ONLINE:
        hold(m, effs, Pending(kind, bytes(tg), None, ref=ref, tries=tries, retried=retried),
              rule + " held: CAFIS not online")
        return False
    p = Pending(kind, bytes(tg), now + m.cfg.t_fault, ref=ref, tries=tries, retried=retried)
    m.routes[route] = p
    effs.append(("send", route, p.tg, rule, ref))
    return True


def fault_command(roles, src, key):
    """A fault telegram built from `src` (the request, or the report for 取消指令): the same
    header and trailer (hold items kept, 3.3.2(1)(c)) with the message type of role `key`
    ('cancel', 'cancel_re', 'confirm', 'confirm_re')."""
    return roles.with_type(src, roles.code[key])


def on_report(m, now, route, p, tg, effs):
    """The report answering our request or fault command on `route` (3.3.2 (2)(a)(b))."""
    ro = m.roles
    if not _roles.same_protected(ro, tg, p.tg):
        effs.append(("discard", route, tg, "3.3.2(2)(b) hold items differ", None))
        return
    del m.routes[route]
    cls = ro.cls(tg)
    code = ro.error_code(tg)
    if cls in (_roles.ABNORMAL, _roles.CANCEL_REP, _roles.CONFIRM_REP) and (code or cls == _roles.ABNORMAL):
        react(m, now, route, p, tg, code, effs)
        return
    effs.append(("to_terminal", route, tg, "3.3.2(2)", p.ref))


def react(m, now, route, p, tg, code, effs):
    """3.3.2 (2)(a): the action 3.3.5 prescribes for the code of an abnormal, cancel or
    cancel-confirm report."""
    fault = p.kind != _roles.K_REQUEST
    r, g = reaction(code, fault)
    rule = "3.3.2(2)(a) %s %s" % (g[_err.G_SOURCE] if g else "3.3.5 (unknown code)", code)
    if r in (RETRY, RETRY_ONCE):
        if (r == RETRY_ONCE and p.retried) or p.retried >= m.cfg.max_retries:
            r = ABORT
        else:
            hold(m, effs, Pending(p.kind, p.tg, now + m.cfg.t_retry, ref=p.ref, retried=p.retried + 1), rule)
            return
    if r == AFTER_START:
        hold(m, effs, Pending(p.kind, p.tg, None, ref=p.ref, retried=p.retried), rule)
        return
    effs.append(("terminal_error", route, code, rule, p.ref))
    if r == ABORT:
        effs.append(("investigate", route, code, rule, None))
    elif r == RESTART:
        effs.append(("restart", None, None, rule, None))


def time_over(m, now, route, p, effs, announce=True, rule=None):
    """3.3.2 (2)(c) and 表 3.3.2-1: no report within the configured time on `route`."""
    ro = m.roles
    del m.routes[route]
    if announce:
        effs.append(("time_over", route, p.tg, "3.3.2(2)(c)", p.ref))
    row = None
    for r in TIME_OVER:
        if r[_TO_KIND] == p.kind:
            row = r
    if row is None:
        return
    if p.kind == _roles.K_REQUEST and ro.mtype(p.tg) in m.cfg.loopback:
        # 表 3.3.2-1 注1: a request CAFIS loops back gets no fault telegram
        effs.append(("terminal_error", route, T_TIME_OVER, "表3.3.2-1 #1 注1", p.ref))
        return
    tries = 0 if p.kind == _roles.K_REQUEST else p.tries + 1
    if tries > m.cfg.max_recommands:
        effs.append(("give_up", route, p.tg, "表3.3.2-1 #%d after %d re-commands" % (row[_TO_NO], p.tries), p.ref))
        effs.append(("terminal_error", route, T_TIME_OVER, "3.3.2(2)(c)", p.ref))
        effs.append(("investigate", route, T_TIME_OVER, "3.3.2(2)(c)", None))
        return
    tg2 = fault_command(ro, p.tg, row[_TO_NEXT])
    why = rule or ("表3.3.2-1 #%d" % row[_TO_NO])
    if m.mode == m.ONLINE:
        p2 = Pending(_kind_after(row[_TO_NEXT]), tg2, now + m.cfg.t_fault, ref=p.ref, tries=tries, retried=p.retried)
        m.routes[route] = p2
        effs.append(("send", route, tg2, why, p.ref))
    else:
        hold(m, effs, Pending(_kind_after(row[_TO_NEXT]), tg2, None, ref=p.ref, tries=tries, retried=p.retried),
              why + " held: CAFIS not online")


def terminal_failed(m, now, report, effs, ref=None):
    """3.3.2 (2)(d): a report that could not be delivered to the terminal -> 取消指令 to CAFIS."""
    ro = m.roles
    if ro.kind(report) != _roles.K_REPORT or ro.cls(report) != _roles.REP:
        effs.append(("error", ro.route(report), "not a general report", "3.3.2(2)(d)", ref))
        return
    send_fault(m, now, fault_command(ro, report, "cancel"), ref, effs, "3.3.2(2)(d)")


def resend(m, now, p, effs):
    """Send a held originating telegram again (after a retry interval or the online start)."""
    ro = m.roles
    if p.kind == _roles.K_REQUEST:
        tg = p.tg
        route = ro.route(tg)
        if route in m.routes:     # its route was taken meanwhile: any free route will do
            tg = ro.with_route(tg, b" " * len(route))
        sub = []
        if send_request(m, now, tg, p.ref, sub, "3.3.5 resend"):
            m.routes[ro.route(sub[-1][2])].retried = p.retried
        effs.extend(sub)
        return
    route = ro.route(p.tg)
    if route in m.routes:         # wait for the route's current exchange to end
        p.deadline = now + m.cfg.t_retry
        m.held.add(p)
        return
    send_fault(m, now, p.tg, p.ref, effs, "resend held", p.tries, p.retried, True)
