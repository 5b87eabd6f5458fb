"""Duties of the destination center (被仕向センタ), seed 002, 3.3.3; and the hold queue.

3.3.3 (1): a request received from CAFIS is checked (a) originating company served, (b) business
served, (c) PIN check, (d) other business checks; the first failing check answers with the
request's reject report (××拒否報告). 3.3.3 (2): the report goes back on the route the request
came from; when CAFIS is in fault or the send fails, it is held (電文保留) and sent later.

The hold queue is shared with the originating side (origin.py): telegrams to send once CAFIS is
back (or after a retry interval). The functions at the end work on a Member engine (engine.py)
as origin.py's do: a request received, our report sent or held.
"""

from . import layout as _layout

# 3.3.3 (1): the checks in the seed's order: (letter, rule, what, reject reason code).
# The reason codes are the project's (the seed leaves the trailer of a reject report to the
# message exchange specification); a deployment may replace them (config "reject_codes").
CHECKS = (
    ("a", "3.3.3(1)(a)", "仕向会社コードがサービス対象会社であるか", "R01"),
    ("b", "3.3.3(1)(b)", "業務のチェック（サービス対象外）", "R02"),
    ("c", "3.3.3(1)(c)", "暗証番号チェック", "R03"),
    ("d", "3.3.3(1)(d)", "その他の業務上必要なチェック", "R04"),
)


class Hooks:
    """The destination checks of 3.3.3 (1) and the originating checks of 3.3.2 (1)(a)(b).

    Each hook takes the telegram (bytes) and returns True when it passes. `pin` returns None
    when no PIN check is needed for this telegram, True/False otherwise; `business` returns
    None when the telegram passes, else a 3-character reason code (or True for the default).
    Pass your own callables to override any of them.
    """

    def __init__(self, origin_served=None, business_served=None, pin=None, business=None,
                 dest_served=None, dest_business=None):
        ok = _yes
        self.origin_served = origin_served or ok     # 3.3.3(1)(a)
        self.business_served = business_served or ok  # 3.3.3(1)(b)
        self.pin = pin or _none                       # 3.3.3(1)(c)
        self.business = business or _none             # 3.3.3(1)(d)
        self.dest_served = dest_served or ok          # 3.3.2(1)(a)
        self.dest_business = dest_business or ok      # 3.3.2(1)(b)


def _yes(tg):
    return True


def _none(tg):
    return None


def hooks_from_registry(reg, center):
    """Hooks that answer from the parser's registry (registry.py) for our center `center`
    (a registry.Center, or None when the registry does not list us)."""
    lay = reg.center_layout
    oo = lay.at("org_co")[0]
    do = lay.at("dst_co")[0]
    to, tl = lay.at("msg_type")

    def mtype(tg):
        return _layout.num(tg, to, tl)

    def origin_served(tg):          # (a): a company CAFIS has registered
        return reg.companies.find(tg, oo) >= 0

    def business_served(tg):        # (b): a business our center serves as destination
        return center is not None and center.has_type(mtype(tg), True)

    def dest_company(tg):
        co = reg.companies.find(tg, do)
        d = reg.co_dest(co) if co >= 0 else -1
        return reg.centers[d] if d >= 0 else None

    def dest_served(tg):            # 3.3.2(1)(a): a company with a destination center
        return dest_company(tg) is not None

    def dest_business(tg):          # 3.3.2(1)(b): the destination center serves it
        d = dest_company(tg)
        return d is not None and d.has_type(mtype(tg), True)

    return Hooks(origin_served, business_served, None, None, dest_served, dest_business)


def check(hooks, tg, codes=None):
    """3.3.3 (1) in the seed's order: None when the request passes, else (rule, reason code)."""
    codes = codes or tuple(c[3] for c in CHECKS)
    if not hooks.origin_served(tg):
        return (CHECKS[0][1], codes[0])
    if not hooks.business_served(tg):
        return (CHECKS[1][1], codes[1])
    p = hooks.pin(tg)
    if p is not None and not p:
        return (CHECKS[2][1], codes[2])
    b = hooks.business(tg)
    if b is not None and b is not False:
        code = b if isinstance(b, str) and len(b) == 3 else codes[3]
        return (CHECKS[3][1], code)
    return None


def reject_report(roles, tg, code):
    """The reject report (××拒否報告) for request `tg`: header echoed (same route, 3.3.3(2)(a)),
    the request's reject message type, trailer = the 3-character reason code. None when the
    catalogue has no reject report for this request."""
    rt = roles.reject.get(roles.mtype(tg))
    if rt is None:
        return None
    return roles.with_trailer(roles.with_type(tg, rt), code.encode())


class Pending:
    """A telegram we sent (or hold) and its bookkeeping.

    kind: 'request', 'cancel', 'cancel_confirm' (originating, on a route), 'restart_req',
    'end_req', 'line_check' (control), 'report' (a destination report in the hold queue).
    deadline: when it times out (or, in the hold queue, when to send it; None = at the next
    online start). tries: re-commands sent (表 3.3.2-1); retried: resends after a report (3.3.5).
    """

    def __init__(self, kind, tg, deadline, ref=None, tries=0, retried=0):
        self.kind = kind
        self.tg = tg
        self.deadline = deadline
        self.ref = ref
        self.tries = tries
        self.retried = retried
        self.held = False     # ⑫: held while CAFIS counts


class HoldQueue:
    """Telegrams held for later (3.3.3 (2)(b)(c), 3.3.5 resend rules), oldest first, bounded."""

    def __init__(self, limit):
        self.limit = limit
        self.items = []

    def add(self, p):
        """Hold Pending `p`; returns the entry dropped to make room (oldest), or None."""
        dropped = None
        if len(self.items) >= self.limit:
            dropped = self.items.pop(0)
        self.items.append(p)
        return dropped

    def take(self, now, due_only):
        """Remove and return the entries to send now: those due (deadline <= now), or all of
        them when due_only is False."""
        out = []
        keep = []
        for p in self.items:
            if not due_only or (p.deadline is not None and p.deadline <= now):
                out.append(p)
            else:
                keep.append(p)
        self.items = keep
        return out

    def next_due(self):
        t = None
        for p in self.items:
            if p.deadline is not None and (t is None or p.deadline < t):
                t = p.deadline
        return t

    def __len__(self):
        return len(self.items)


def hold(m, effs, p, rule):
    """Put p in the hold queue (effect `hold`); the one it pushed out, if any, is dropped."""
    dropped = m.held.add(p)
    effs.append(("hold", m.roles.route(p.tg), p.tg, rule, p.ref))
    if dropped is not None:
        effs.append(("drop", m.roles.route(dropped.tg), dropped.tg, "hold queue full", dropped.ref))


def on_request(m, now, route, tg, rule, effs, checks):
    """3.3.3 (1): a request (or fault command) for us as destination center."""
    if checks:
        bad = check(m.hooks, tg, m.cfg.reject_codes)
        if bad is not None:
            rep = reject_report(m.roles, tg, bad[1])
            if rep is None:
                effs.append(("discard", route, tg, bad[0] + ": no reject report type", None))
            else:
                out_report(m, now, route, rep, None, bad[0] + " ××拒否報告", effs)
            return
    if route not in m.dest and len(m.dest) >= m.cfg.max_dest:
        effs.append(("discard", route, tg, "too many open requests (max_dest)", None))
        return
    m.dest[route] = tg[:m.roles.hlen]
    effs.append(("deliver", route, tg, rule, None))


def send_report(m, now, route, tg, ref, effs):
    """Our report as destination: on the route of the request (3.3.3(2)(a))."""
    req = m.dest.get(route)
    if req is None:
        effs.append(("error", route, "no request on this route", "3.3.3(2)(a)", ref))
        return
    if not m.roles.answers(req, tg):
        effs.append(("error", route, "does not answer the request", "3.3.3(2)(a)", ref))
        return
    del m.dest[route]
    out_report(m, now, route, tg, ref, "3.3.3(2)(a)", effs)


def out_report(m, now, route, tg, ref, rule, effs):
    """Send our report now, or hold it while CAFIS is not online (3.3.3(2)(b))."""
    if m.mode == m.ONLINE:
        effs.append(("send", route, tg, rule, ref))
    else:
        hold(m, effs, Pending("report", tg, None, ref=ref), "3.3.3(2)(b) " + rule)
