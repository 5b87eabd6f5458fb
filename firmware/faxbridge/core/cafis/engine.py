"""The CAFIS session engine (seed 002, 3.3.1-3.3.3), sans-I/O.

Member: the member center (貴社センタ) side, which is what the unit is: table (2) of 3.3.1 for
every telegram from CAFIS, the originating duties of 3.3.2 (origin.py) and the destination
duties of 3.3.3 (dest.py). CAFIS's side, table (1), is in cafisside.py.

Time is passed in (`now`, seconds, int or float); every timer is configuration (Config); the
engine never blocks and never reads a clock. Every call returns a list of effects, each a tuple
(kind, route, data, rule, extra): kind names what to do (see docs/cafis-engine.md), route is
the route (bytes) or None, data is a telegram (bytes) or a code, rule cites the seed, extra is
the caller's reference (terminal) or an error code.
"""
from . import actions as _actions
from . import dest as _dest
from . import layout as _layout
from . import origin as _origin
from . import principles as _p
from . import roles as _roles
from .dest import Pending
from .options import MAX_SECONDS, SCHEMA, Config  # noqa: F401  (engine.Config, engine.SCHEMA)

KIND = 0
ROUTE = 1
DATA = 2
RULE = 3
EXTRA = 4


def spans(cen):
    """The routes center cen (registry.Center) holds as a list of (lo, hi), from its record."""
    r = cen.rec
    return [(r[i] << 8 | r[i + 1], r[i + 2] << 8 | r[i + 3]) for i in range(6, r[0] << 8 | r[1], 4)]


def _ranges_from(spec):
    out = []
    for r in spec:
        parts = r.split("-")
        out.append((int(parts[0]), int(parts[-1])))
    return out


# table (2) column of each role a CAFIS telegram can have
_COL2 = {
    "start_cmd": "start_cmd", "permit_cmd": "start_cmd", "request": "request",
    "end_notice": "end_notice", "end_cmd": "end_cmd", "line_check": "line_check",
    "cancel": "cancel", "cancel_confirm": "cancel_confirm", "counter": "counter",
    "report": "other_report",
}
_ROUTE_KINDS = (_roles.K_REQUEST, _roles.K_CANCEL, _roles.K_CONFIRM)
_CONTROL_KINDS = ("restart_req", "end_req", "line_check")


def _roles_for(registry):
    if registry is None:
        return _roles.Roles()
    return _roles.Roles(registry.catalogue, registry.center_layout)


class Member:
    """The member center's session engine (table (2) of 3.3.1, 3.3.2, 3.3.3).

    Inputs: receive(now, tg) a telegram from CAFIS; send(now, tg, ref) a telegram we want to
    send (general request, fault command, control request, or our report as destination);
    reply(now, route, mtype, trailer); send_failed(now, tg); terminal_failed(now, report, ref);
    peer_down(now) / peer_up(now); poll(now). Each returns a list of effects.
    """
    STOPPED = "stopped"         # オンライン未開始（休止中）
    STARTING = "starting"       # answered 開始指令, waiting for 許可指令 (row 8 still applies)
    ONLINE = "online"
    CAFIS_FAULT = "cafis_fault"  # ＣＡＦＩＳ障害中

    def __init__(self, config=None, registry=None, center=None, hooks=None, roles=None):
        self.cfg = config if isinstance(config, Config) else Config(config)
        self.reg = registry
        self.cen = registry.by_id.get(center) if (registry is not None and center is not None) else None
        self.roles = roles or _roles_for(registry)
        if hooks is None:
            hooks = _dest.hooks_from_registry(registry, self.cen) if registry is not None else _dest.Hooks()
        self.hooks = hooks
        if self.cen is not None:
            self._ranges = spans(self.cen)
        else:
            self._ranges = _ranges_from(self.cfg.routes)
        self.mode = self.ONLINE if self.cfg.initial == "online" else self.STOPPED
        self.ending = False          # 終了準備完了報告 sent, waiting for 終了指令 (③ i)
        self.control = None          # our outstanding control request (Pending)
        self.routes = {}             # route -> Pending: our request / fault command in use
        self.holds = {}              # route -> protected items of the last request (保留項目)
        self.dest = {}               # route -> header of a request CAFIS sent us (awaiting our report)
        self.held = _dest.HoldQueue(self.cfg.max_held)

    # ---- routes -----------------------------------------------------------------------------
    def holds_route(self, route):
        n = _layout.num(route, 0, len(route)) if route else -1
        for lo, hi in self._ranges:
            if lo <= n <= hi:
                return True
        return False

    def free_route(self):
        """A route we hold that is not in use (3.3.2(1)(d)), lowest first, or None."""
        w = self.roles.len_route
        for lo, hi in self._ranges:
            for n in range(lo, hi + 1):
                r = _roles.digits(n, w)
                if r not in self.routes:
                    return r
        return None

    # ---- the row of table (2) ---------------------------------------------------------------
    def row(self, route=None):
        """The row of table (2) that applies now (for a telegram on `route`)."""
        if self.mode in (self.STOPPED, self.STARTING):
            return "stopped"
        if self.mode == self.CAFIS_FAULT:
            return "cafis_fault"
        if self.control is not None:
            return self.control.kind
        if route is not None:
            p = self.routes.get(route)
            if p is not None:
                return p.kind
        for k in _ROUTE_KINDS:
            for p in self.routes.values():
                if p.kind == k:
                    return k
        return "idle"

    # ---- inputs -----------------------------------------------------------------------------
    def receive(self, now, tg):
        """A telegram from CAFIS."""
        effs = self.poll(now)
        ro = self.roles
        route = ro.route(tg)
        k = ro.kind(tg)
        if k == _roles.K_UNKNOWN or len(tg) > ro.lay.max_len:
            effs.append(("discard", route or None, bytes(tg), "malformed or unknown message type", None))
            return effs
        if k != "counter":
            self._release(now, effs)
        if k == _roles.K_REPORT:
            if self.mode != self.STOPPED and self._matching(now, route, tg, effs):
                return effs
        col = _COL2.get(k)
        if col is None:
            effs.append(("discard", route, bytes(tg), "3.3.1(2): not a telegram CAFIS sends", None))
            return effs
        row = self.row(route)
        act = _p.member_action(row, col)
        if not isinstance(tg, bytes):
            tg = bytes(tg)
        _actions.act(self, now, act, row, col, route, tg, _p.rule(2, row, col, act), effs)
        return effs

    def send(self, now, tg, ref=None):
        """A telegram we want to send to CAFIS; `ref` identifies the terminal behind it."""
        effs = self.poll(now)
        ro = self.roles
        k = ro.kind(tg)
        route = ro.route(tg)
        if k in (_roles.K_REQUEST,):
            _origin.send_request(self, now, tg, ref, effs)
        elif k in (_roles.K_CANCEL, _roles.K_CONFIRM):
            _origin.send_fault(self, now, tg, ref, effs)
        elif k in _CONTROL_KINDS:
            self._send_control(now, k, bytes(tg), ref, effs)
        elif k == _roles.K_REPORT and ro.cls(tg) == _roles.CTRL_REP:
            effs.append(("send", route, bytes(tg), "answer to a command", ref))
        elif k == _roles.K_REPORT:
            _dest.send_report(self, now, route, bytes(tg), ref, effs)
        else:
            effs.append(("error", route or None, "not sendable", "malformed, unknown or a CAFIS command", ref))
        return effs

    def reply(self, now, route, mtype, trailer=b"", ref=None):
        """Our report (message type `mtype`, bytes) to the request CAFIS sent on `route`: the
        request's header echoed, on the same route (3.3.3(2)(a))."""
        req = self.dest.get(route)
        if req is None:
            effs = self.poll(now)
            effs.append(("error", route, "no request on this route", "3.3.3(2)(a)", ref))
            return effs
        ro = self.roles
        return self.send(now, ro.with_trailer(ro.with_type(req, mtype), trailer), ref)

    def send_failed(self, now, tg, ref=None):
        """The transport could not send `tg` (3.3.2(1)(f), 3.3.3(2)(c))."""
        effs = self.poll(now)
        ro = self.roles
        tg = bytes(tg)
        k = ro.kind(tg)
        route = ro.route(tg)
        cls = ro.cls(tg)
        p = self.routes.get(route)
        if k == _roles.K_REPORT and cls in (_roles.REP, _roles.CANCEL_REP, _roles.CONFIRM_REP, _roles.ABNORMAL):
            _origin.hold(self, effs, Pending("report", tg, now + self.cfg.t_resend, ref=ref), "3.3.3(2)(c)")
        elif k in _ROUTE_KINDS and p is not None and p.tg == tg:
            del self.routes[route]
            if k == _roles.K_REQUEST:
                effs.append(("terminal_error", route, _origin.T_SEND_FAILED, "3.3.2(1)(f)", p.ref))
            else:
                _origin.hold(self, effs, Pending(p.kind, tg, now + self.cfg.t_resend, ref=p.ref,
                                                  tries=p.tries, retried=p.retried), "3.3.2(1)(f) fault command held")
        elif k in _CONTROL_KINDS and self.control is not None and self.control.tg == tg:
            self.control = None
            effs.append(("error", route, _origin.T_SEND_FAILED, "3.3.2(1)(f) control request", ref))
        else:
            effs.append(("error", route or None, _origin.T_SEND_FAILED, "not outstanding", ref))
        return effs

    def terminal_failed(self, now, report, ref=None):
        """3.3.2(2)(d): the report could not be delivered to the terminal -> 取消指令."""
        effs = self.poll(now)
        _origin.terminal_failed(self, now, bytes(report), effs, ref)
        return effs

    def peer_down(self, now):
        """All lines to CAFIS are down: CAFIS in total fault (3.3.2(1)(e), 3.3.3(2)(b))."""
        effs = self.poll(now)
        if self.mode != self.STOPPED and self.mode != self.CAFIS_FAULT:
            self.mode = self.CAFIS_FAULT
            rule = "3.3.2(1)(e) 全回線障害"
            effs.append(("fault", None, "cafis", rule, None))
            # post-processing toward the terminals: their transactions end now; the
            # follow-up of 表 3.3.2-1 is held for when CAFIS is back
            for route in sorted(self.routes):
                p = self.routes[route]
                if p.kind == _roles.K_REQUEST:
                    effs.append(("terminal_error", route, _origin.T_CAFIS_FAULT, rule, p.ref))
                effs.append(("abandon", route, p.tg, rule, p.ref))
                _origin.time_over(self, now, route, p, effs, False, rule + " -> 表3.3.2-1")
        return effs

    def peer_up(self, now):
        """CAFIS is reachable and online again: held telegrams are sent."""
        effs = self.poll(now)
        if self.mode == self.CAFIS_FAULT:
            _actions.online(self, now, "peer back", effs)
        return effs

    def poll(self, now):
        """Fire what is due at `now`: time-overs (表 3.3.2-1), control resends, held resends."""
        effs = []
        c = self.control
        if c is not None and c.deadline <= now:
            self._control_time_over(now, c, effs)
        due = False
        for p in self.routes.values():
            if p.deadline <= now:
                due = True
                break
        if due:
            for route in sorted(self.routes):
                p = self.routes.get(route)
                if p is not None and p.deadline <= now:
                    _origin.time_over(self, now, route, p, effs)
        _actions.flush(self, now, effs, True)
        return effs

    def next_deadline(self):
        """When poll() next has something to do (seconds), or None."""
        t = None
        if self.control is not None:
            t = self.control.deadline
        for p in self.routes.values():
            if t is None or p.deadline < t:
                t = p.deadline
        if self.mode == self.ONLINE:
            h = self.held.next_due()
            if h is not None and (t is None or h < t):
                t = h
        return t

    def describe(self):
        """The state in one line (for tools and logs)."""
        parts = [self.mode + (" ending" if self.ending else "")]
        parts.append("ctl=" + (self.control.kind if self.control else "-"))
        rs = []
        for r in sorted(self.routes):
            p = self.routes[r]
            rs.append("%s:%s%s" % (r.decode(), p.kind, "(held)" if p.held else ""))
        parts.append("routes=" + (",".join(rs) or "-"))
        parts.append("dest=" + (",".join(r.decode() for r in sorted(self.dest)) or "-"))
        parts.append("held=%d" % len(self.held))
        return " ".join(parts)

    # ---- internals --------------------------------------------------------------------------
    def _send_control(self, now, k, tg, ref, effs):
        if self.control is not None:
            effs.append(("error", self.roles.route(tg), "control request outstanding", self.control.kind, ref))
            return
        self.control = Pending(k, tg, now + self.cfg.t_control, ref=ref)
        effs.append(("send", self.roles.route(tg), tg, "control request " + k, ref))

    def _control_time_over(self, now, c, effs):
        route = self.roles.route(c.tg)
        effs.append(("time_over", route, c.tg, "control request " + c.kind, c.ref))
        if c.tries < self.cfg.max_retries:
            c.tries += 1
            c.deadline = now + self.cfg.t_control
            effs.append(("send", route, c.tg, "control request resent", c.ref))
            return
        self.control = None
        effs.append(("give_up", route, c.tg, "control request %s: no answer" % c.kind, c.ref))
        if c.kind != "end_req" and self.mode != self.STOPPED and self.mode != self.CAFIS_FAULT:
            self.mode = self.CAFIS_FAULT
            effs.append(("fault", None, "cafis", "no answer to " + c.kind, None))

    def _matching(self, now, route, tg, effs):
        """The report that answers what we have outstanding: handled outside table (2)."""
        ro = self.roles
        c = self.control
        if c is not None and ro.answers(c.tg, tg):
            self.control = None
            effs.append(("deliver", route, bytes(tg), "answer to " + c.kind, c.ref))
            return True
        p = self.routes.get(route)
        if p is not None and ro.answers(p.tg, tg):
            _origin.on_report(self, now, route, p, bytes(tg), effs)
            return True
        return False

    def _release(self, now, effs):
        """⑫ ends with the next telegram from CAFIS that is not a counter notification."""
        held = False
        for p in self.routes.values():
            if p.held:
                held = True
                break
        if not held:
            return
        for route in sorted(self.routes):
            p = self.routes[route]
            if p.held:
                p.held = False
                p.deadline = now + (self.cfg.t_report if p.kind == _roles.K_REQUEST else self.cfg.t_fault)
                effs.append(("release", route, p.tg, "3.3.1(2)⑫ hold ends", p.ref))
