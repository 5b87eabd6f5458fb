"""The Checker that also follows what CAFIS sends (seed 3.3.4): a request CAFIS sends opens a
destination route, a report frees the center's own request's route, a control command is the
command a route-0001 report must answer; a request whose answer timed out gets C50 (表 3.3.5-1,
表 3.3.5-2 #8). The session engine, the tools and the tests use it. The unit checks the
telegrams it receives only (checks.Checker), so this module is not on the board: tools/build.py
follows main.py's imports, and none reaches it.
"""
from micropython import const

from . import checks
from . import layout as _lay
from . import roles as _ro
from .errors import ABN
from .verdict import ABNORMAL

# registry.py's center and CAFIS states (private there), for set_center_state / set_cafis_state
ONLINE = const(0)
NOT_OPEN = const(1)
SUSPENDED = const(2)
FAULT = const(3)
CAFIS_ONLINE = const(0)
CAFIS_ENDED = const(1)
CAFIS_FAULT = const(2)
_R_NEVER = const(0)     # routes.py's slot states (private there; test_cafis_checks compares)
_R_ORIG = const(1)
_R_DEST = const(2)
_R_FREE = const(3)
_R_CMD = const(-1)
_AT_MT = const(0)       # offsets in the compiled ix (checkkinds' _AT_MT, _AT_ROUTE)
_AT_ROUTE = const(4)


class Checker(checks.Checker):
    """checks.Checker plus sent(telegram, center) for telegrams CAFIS sent, expire(center,
    route) for a request whose answer timed out (C50), kept(center, route), and the registry
    state changes the engine of 3.3.1 drives (set_center_state, set_cafis_state)."""

    # -- telegrams CAFIS sent
    def sent(self, buf, center, n=-1):
        """Note a telegram CAFIS sent to `center`: a request opens its route (destination
        route), a report or abnormal report frees the center's own request's route, a control
        command becomes the command a route-0001 report must answer. Returns True if the
        route table changed. Out telegrams are not checked."""
        if n < 0 or n > len(buf):
            n = len(buf)
        if not isinstance(center, str):
            return False
        cen = self.reg.by_id.get(center)
        if cen is None or n < self.cl.hlen:
            return False
        k = self.cat.cls(_lay.num(buf, self.ix[_AT_MT], self.ix[_AT_MT + 1]))
        if k == _ro.CTRL_CMD or k == _ro.CTRL_BOTH:
            self.routes.open(cen.idx, _R_CMD, buf, 1)
            return True
        route = _lay.num(buf, self.ix[_AT_ROUTE], self.ix[_AT_ROUTE + 1])
        slot = cen.route_index(route) if route > 1 else -1
        if slot < 0:
            return False
        if k == _ro.REQ or k == _ro.CANCEL or k == _ro.CONFIRM:
            self.routes.open(cen.idx, slot, buf, _R_DEST)
            return True
        if k == _ro.REP or k == _ro.CANCEL_REP or k == _ro.CONFIRM_REP or k == _ro.ABNORMAL:
            if self.routes.state(cen.idx, slot) == _R_ORIG:
                self.routes.open(cen.idx, slot, None, _R_FREE)
                return True
        return False

    def expire(self, center, route):
        """CAFIS timed out waiting for the answer to the request open on `center`'s route
        `route` (int): frees the route and returns the C50 verdict (表 3.3.5-1 for a general
        request, 表 3.3.5-2 #8 with 取消報告 / 取消確認報告 for fault telegrams), or None if
        no request of that center is open there. report(self.kept(...), v) builds the answer."""
        cen = self.reg.by_id.get(center)
        if cen is None:
            return None
        slot = cen.route_index(route)
        if slot < 0 or self.routes.state(cen.idx, slot) != _R_ORIG:
            return None
        k = self.cat.cls(self.routes.num(cen.idx, slot, self.ix[_AT_MT], self.ix[_AT_MT + 1]))
        self.routes.open(cen.idx, slot, None, _R_FREE)
        if k == _ro.CANCEL or k == _ro.CONFIRM:
            k = _ro.CANCEL_REP if k == _ro.CANCEL else _ro.CONFIRM_REP
            return self.v.set(ABNORMAL, "C50", "3.3.5-2 #8", "経路番号", "F(a)" if k == _ro.CANCEL_REP else "F(b)",
                              None, self.cat.reply[_ro.ABNORMAL + 1 + k], self.cat.reply[k], True)
        return self.v.set(ABNORMAL, "C50", "3.3.5-1 C50", "経路番号", "C", None, ABN,
                          self.cat.reply[_ro.ABNORMAL], False)

    def kept(self, center, route):
        """The kept header of `center`'s route `route` (memoryview) or None."""
        cen = self.reg.by_id.get(center)
        slot = cen.route_index(route) if cen is not None else -1
        r = self.routes
        if slot < 0 or r.state(cen.idx, slot) == _R_NEVER:
            return None
        g = (r.cs[4 * cen.idx] << 8 | r.cs[4 * cen.idx + 1]) + slot    # the slot's index (routes.py)
        o = (g % r.per) * r.w
        return memoryview(r.blocks[g // r.per])[o:o + r.w - 1]

    # -- registry state changes (the engine of 3.3.1 drives these) ---------------------------------
    def set_center_state(self, center, state):
        self.reg.by_id[center].state = state

    def set_cafis_state(self, state):
        self.reg.cafis_state = state
