"""CAFIS's side of the processing principles: table (1) of 3.3.1 (seed 002), a reference model.

What CAFIS does with each telegram a member center (貴社センタ) sends, by the command CAFIS has
outstanding towards it or the center's fault. Used by `cafis-check --session` to replay
captured traffic and by tests; the unit itself runs engine.Member. Effects have the same
shape as the member engine's: (kind, route, data, rule, extra).
"""
from . import verdict as _verdict
from . import errors as _errors
from . import outbound as _outbound
from . import principles as _p
from . import roles as _roles
from .dest import Pending
from .engine import _ROUTE_KINDS, _roles_for

# table (1) column of each role a member-center telegram can have
_COL1 = {
    "restart_req": "restart_req", "end_req": "end_req", "request": "request",
    "line_check": "line_check", "cancel": "cancel", "cancel_confirm": "cancel_confirm",
    "report": "other_report",
}

class _View:
    """CAFIS's view of one member center."""

    def __init__(self):
        self.fault = False
        self.command = None      # Pending: the command CAFIS sent and awaits an answer to
        self.routes = {}         # route -> Pending: requests / fault commands CAFIS routed to it


class Cafis:
    """CAFIS's handling of member-center telegrams, table (1) of 3.3.1 (a reference model).

    sent(now, center, tg): CAFIS sent `tg` to the center (sets the row: the outstanding
    command, or the request routed to it; a 許可指令 sent ends a fault, ④).
    receive(now, center, tg): a telegram from the center -> effects.
    With a parser Checker (checks.py), telegrams the table accepts (② ③ ⑦ and answers) are
    checked by 3.3.4 and the verdict decides: accept, discard or abnormal report; the
    checker also sees what CAFIS sent and the member center's fault state.
    """

    def __init__(self, registry=None, checker=None, roles=None, code_unreceivable="C60"):
        self.reg = registry
        self.checker = checker
        self.roles = roles or _roles_for(registry)
        self.code = code_unreceivable    # ⑤ ⑥: 3.3.5-2 #16 受信不能状態で電文受信
        self.views = {}

    def view(self, center):
        v = self.views.get(center)
        if v is None:
            v = _View()
            self.views[center] = v
        return v

    def abnormal(self, tg, code, rule):
        """The abnormal report for `tg` with `code`, built by the parser's report builder."""
        ro = self.roles
        v = _verdict.Verdict().set(_verdict.ABNORMAL, code, rule, None, None, None, _errors.ABN,
                                  ro.cat.reply[_roles.ABNORMAL], False)
        return v.report(ro.lay.hlen, bytes(ro.lay.at("msg_type") + ro.lay.at("trailer_len")), tg)

    def _set_fault(self, center, fault):
        self.view(center).fault = fault
        if self.checker is not None and self.reg is not None and self.reg.by_id.get(center) is not None:
            self.checker.set_center_state(center, _outbound.FAULT if fault else _outbound.ONLINE)

    def row(self, center, route=None):
        v = self.view(center)
        if v.fault:
            return "member_fault"
        if v.command is not None:
            return v.command.kind
        if route is not None and route in v.routes:
            return v.routes[route].kind
        for k in _ROUTE_KINDS:
            for p in v.routes.values():
                if p.kind == k:
                    return k
        return "idle"

    def sent(self, now, center, tg):
        ro = self.roles
        v = self.view(center)
        k = ro.kind(tg)
        route = ro.route(tg)
        effs = []
        if self.checker is not None:
            self.checker.sent(tg, center)
        if k in ("start_cmd", "permit_cmd"):
            v.command = Pending("start_cmd", bytes(tg), None)
            if k == "permit_cmd" and v.fault:
                self._set_fault(center, False)
                effs.append(("restart", None, center, "3.3.1(1)④ 許可指令の送信正常により再開始", None))
        elif k in ("end_notice", "end_cmd", "counter", "line_check"):
            v.command = Pending(k, bytes(tg), None)
        elif k in _ROUTE_KINDS:
            v.routes[route] = Pending(k, bytes(tg), None)
        return effs

    def receive(self, now, center, tg):
        ro = self.roles
        v = self.view(center)
        tg = bytes(tg)
        route = ro.route(tg)
        k = ro.kind(tg)
        effs = []
        if k == _roles.K_REPORT:
            c = v.command
            if c is not None and ro.answers(c.tg, tg):
                if self._accept(center, route, tg, "3.3.1(1) answer to " + c.kind, effs):
                    v.command = None
                return effs
            p = v.routes.get(route)
            if p is not None and ro.answers(p.tg, tg):
                if self._accept(center, route, tg, "3.3.1(1) report to " + p.kind, effs):
                    del v.routes[route]
                return effs
        col = _COL1.get(k)
        if col is None:
            effs.append(("discard", route or None, tg, "3.3.1(1): not a member-center telegram", None))
            return effs
        row = self.row(center, route)
        act = _p.cafis_action(row, col)
        rule = _p.rule(1, row, col, act)
        wait = row not in ("idle", "member_fault")
        if act == 1:
            effs.append(("discard", route, tg, rule, None))
            if wait:
                effs.append(("wait", None, row, rule, None))
        elif act == 2:
            self._accept(center, route, tg, rule, effs)
            if wait:
                effs.append(("wait", None, row, rule, None))
        elif act == 3:
            self._accept(center, route, tg, rule, effs)
            effs.append(("restart", None, center, rule, None))
        elif act == 4:
            self._set_fault(center, True)
            v.command = None
            v.routes = {}
            effs.append(("fault", None, center, rule, None))
        elif act == 5:
            effs.append(("abnormal_report", route, self.abnormal(tg, self.code, rule), rule, self.code))
            self._set_fault(center, True)
        elif act == 6:
            effs.append(("abnormal_report", route, self.abnormal(tg, self.code, rule), rule, self.code))
            effs.append(("wait", None, row, rule, None))
        elif act == 7:
            self._accept(center, route, tg, rule, effs)
        return effs

    def _accept(self, center, route, tg, rule, effs):
        """Accepted by table (1): the parser's checks (3.3.4) decide. True when accepted."""
        if self.checker is None:
            effs.append(("accept", route, tg, rule, None))
            return True
        v = self.checker.check(tg, "center", center)
        if v.kind == _verdict.ACCEPT:
            effs.append(("accept", route, tg, rule, (v.kind, v.code, v.rule(), v.field)))
            return True
        if v.kind == _verdict.ABNORMAL:
            effs.append(("abnormal_report", route, self.checker.report(tg, v), rule + "; " + v.rule(), v.code))
        else:
            effs.append(("discard", route, tg, rule + "; " + str(v.rule()), v.code))
        return False

    def describe(self, center):
        v = self.view(center)
        rs = ",".join("%s:%s" % (r.decode(), v.routes[r].kind) for r in sorted(v.routes))
        return "%s cmd=%s routes=%s" % ("fault" if v.fault else "ok",
                                        v.command.kind if v.command else "-", rs or "-")
