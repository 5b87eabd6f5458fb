"""The Checker of seed 3.3.4: lengths (表 3.3.4-1), contents A-F (表 3.3.4-2..5), states
(表 3.3.4-6) with the handling of 表 3.3.4-7, run from the tables of checktab.py (cells read by
name, _RULE .. _ARG below). Rows run in the seed's order; the first failing row decides.

At start each table becomes bytes (kind, field offset, field length, row number: 4 bytes a row)
for the layout in use. check() reads every field in place and allocates nothing: the verdict is
the Checker's one Verdict (verdict.py), refilled by the next check; copy what you keep.
"""
from micropython import const

from . import catalogue as cat
from . import checktab as tab
from . import errors
from . import layout as _lay
from . import registry as regmod
from . import report as _report
from . import routes as rt
from .verdict import ABNORMAL, ACCEPT, DISCARD, TERMINAL_ERROR, Verdict

# the cells of a row, by name (checktab.py lists the columns of each table): content rows;
# 表 3.3.4-6 (_MSG), 表 3.3.4-1 (_SENDER), SECTIONS (_SEC_*), 表 3.3.4-7 (_T7_DISCARD)
_RULE = const(0)
_ITEM = const(1)
_KIND = const(2)
_CODE = const(3)
_KEY = const(4)
_ARG = const(5)
_MSG = const(4)
_SENDER = const(2)
_SEC_NAME = const(1)
_SEC_TABLE = const(2)
_SEC_STATES = const(3)
_SEC_T7 = const(4)
_T7_DISCARD = const(2)
# the sections of 3.3.4 (2): their index in checktab.SECTIONS
_S_A = const(0)
_S_B = const(1)
_S_C = const(2)
_S_D = const(3)
_S_E = const(4)      # general report
_S_EF = const(5)     # fault report (取消報告, 取消確認報告) on a destination route
_S_FA = const(6)
_S_FB = const(7)
# a compiled row (bytes): kind, offset, length, row number in its seed table
_CROW = const(4)
# Checker._ix (bytes): (offset, length) of the fields the checker reads itself, then per
# section (first compiled row, number of rows), then the fields 3.3.4 B(b) compares
_AT_ROUTE = const(0)
_AT_MT = const(2)
_AT_SEQ = const(4)
_AT_DST = const(6)
_AT_TMT = const(8)      # terminal layout
_AT_TCONN = const(10)   # terminal layout
_AT_SPANS = const(12)
_AT_ECHO = const(28)

_num = _lay.num


class Checker:
    """The entry point: check(telegram, sender, center) -> Verdict, for telegrams CAFIS
    receives; sent(telegram, center) for telegrams CAFIS sent (they open and free routes and
    set the command a control report must answer); expire(center, route) for a request whose
    answer timed out (C50); report(telegram, verdict) builds the abnormal report."""

    def __init__(self, reg):
        self.reg = reg
        self.cat = reg.catalogue
        self.cl = cl = reg.center_layout
        self.tl = tl = reg.terminal_layout
        self.routes = rt.Routes(reg)
        self.v = Verdict(ACCEPT)
        ix = bytearray()
        for lay, key in ((cl, "route"), (cl, "msg_type"), (cl, "seq"), (cl, "dst_co"), (tl, "msg_type"),
                         (tl, "conn_co")):
            off, ln = lay.at(key)
            ix.append(off)
            ix.append(ln)
        # the compiled rows of each content table, once (E general and E fault share 表 3.3.4-3)
        rows = bytearray()
        for s in range(len(tab.SECTIONS)):
            t = tab.SECTIONS[s][_SEC_TABLE]
            first = -1
            for e in range(s):
                if tab.SECTIONS[e][_SEC_TABLE] == t:
                    first = ix[_AT_SPANS + 2 * e]
            if first < 0:   # per row: kind, field offset and length in the layout, row number
                first = len(rows) // _CROW
                table = tab.TABLES[t]
                for i in range(len(table)):
                    key = table[i][_KEY]
                    off, ln = (tl if s == _S_D else cl).at(key) if key else (0, 0)
                    rows.append(table[i][_KIND])
                    rows.append(off)
                    rows.append(ln)
                    rows.append(i)
            ix.append(first)
            ix.append(len(tab.TABLES[t]))
        # B(b) compares every field but the message type and the trailer length
        for i in range(len(cl.fields)):
            if cl.fields[i][_lay.F_KEY] not in ("msg_type", "trailer_len"):
                ix.append(i)
        self._ix = bytes(ix)
        self._rows = bytes(rows)
        self._echo_ix = 0

    # -- verdicts: the one Verdict, filled from the row that decided --------------------------------
    def _content_v(self, row, sec, field):
        section = tab.SECTIONS[sec][_SEC_NAME]
        code = row[_CODE]
        if sec == _S_D:
            return self.v.set(TERMINAL_ERROR, code, row[_RULE], field, section, None, None, None, False)
        if code is None:
            return self.v.set(DISCARD, None, row[_RULE], field, section, None, None, None, sec >= _S_EF)
        return self.v.set(ABNORMAL, code, row[_RULE], field, section, None, errors.ABN,
                          self.cat.reply[cat.ABNORMAL], sec >= _S_FA)

    def _state_v(self, srow, sec):
        section = tab.SECTIONS[sec][_SEC_NAME]
        h = tab.TABLE_7[tab.SECTIONS[sec][_SEC_T7] - 1]
        rule = srow[_RULE]
        item = srow[_ITEM]
        if h[_T7_DISCARD]:
            return self.v.set(DISCARD, None, rule, item, section, h[_RULE], None, None, sec >= _S_EF)
        if sec == _S_D:
            return self.v.set(TERMINAL_ERROR, srow[_MSG], rule, item, section, h[_RULE], None, None, False)
        code = srow[_CODE]
        response = errors.ABN
        reply = self.cat.reply[cat.ABNORMAL]
        if sec >= _S_FA and code in errors.CANCEL_REPORT_CODES:
            reply = self.cat.reply[cat.CANCEL_REP if sec == _S_FA else cat.CONFIRM_REP]
            response = self.cat.entry(_num(reply, 0, len(reply)))[cat.C_JA]
        return self.v.set(ABNORMAL, code, rule, item, section, h[_RULE], response, reply, sec >= _S_FA)

    def _len_v(self, row, kind, fault):
        if kind == DISCARD:
            return self.v.set(DISCARD, None, row[_RULE], row[_ITEM], None, None, None, None, False)
        if row[_SENDER] == "terminal":
            return self.v.set(TERMINAL_ERROR, row[_CODE], row[_RULE], row[_ITEM], None, None, None, None, False)
        return self.v.set(ABNORMAL, row[_CODE], row[_RULE], row[_ITEM], None, None, errors.ABN,
                          self.cat.reply[cat.ABNORMAL], fault)

    # -- the entry point ------------------------------------------------------------------------
    def check(self, buf, sender, center=None, n=-1):
        """One verdict for one received telegram: buf (bytes, bytearray or memoryview; the
        first n bytes, all by default), sender "center" or "terminal", center: the registry id
        of the center whose line it came in on (ignored for terminals). The verdict returned is
        the Checker's own and is refilled by the next call."""
        if n < 0 or n > len(buf):
            n = len(buf)
        if sender == "terminal":
            return self._check_terminal(buf, n)
        cen = self.reg.by_id.get(center) if isinstance(center, str) else None
        if cen is None:     # the named center is not in the registry
            return self.v.set(DISCARD, None, None, None, None, None, None, None, False)
        cl = self.cl
        ix = self._ix
        lr = tab.LENGTH[1]
        if n < cl.min_len:
            return self._len_v(lr, DISCARD, False)
        if n > cl.max_len:
            k = self.cat.cls(_num(buf, ix[_AT_MT], ix[_AT_MT + 1]))
            return self._len_v(lr, ABNORMAL, k == cat.CANCEL or k == cat.CONFIRM)
        route = _num(buf, ix[_AT_ROUTE], ix[_AT_ROUTE + 1])
        if route == 0:
            sec = _S_A
        elif route == 1:
            sec = _S_B
        else:
            k = self.cat.cls(_num(buf, ix[_AT_MT], ix[_AT_MT + 1]))
            if k == cat.REP or k == cat.ABNORMAL or k == cat.CTRL_REP:
                sec = _S_E
            elif k == cat.CANCEL_REP or k == cat.CONFIRM_REP:
                sec = _S_EF
            elif k == cat.CANCEL:
                sec = _S_FA
            elif k == cat.CONFIRM:
                sec = _S_FB
            else:
                sec = _S_C
        slot = cen.route_index(route) if route > 1 else -1
        t = self._rows
        table = tab.TABLES[tab.SECTIONS[sec][_SEC_TABLE]]
        first = _CROW * ix[_AT_SPANS + 2 * sec]
        for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * sec + 1], _CROW):
            row = table[t[p + 3]]
            if not self._row_ok(t[p], t[p + 1], t[p + 2], row, buf, n, cen, slot):
                if t[p] == tab.CMD_ECHO:
                    f = self.cl.fields[ix[_AT_ECHO + self._echo_ix]]
                    return self._content_v(row, sec, f[_lay.F_JA])
                return self._content_v(row, sec, row[_ITEM])
        mt = _num(buf, ix[_AT_MT], ix[_AT_MT + 1])
        dest = self.reg.company_at(buf, ix[_AT_DST])
        for srow_no in tab.SECTIONS[sec][_SEC_STATES]:
            srow = tab.TABLE_6[srow_no - 1]
            if self._state_fails(srow[_KIND], cen, mt, dest):
                return self._state_v(srow, sec)
        # accepted: the state changes only now (a discarded telegram leaves no trace)
        if sec == _S_B:
            self.routes.cmd_set[cen.idx] = 0
        elif sec == _S_C or sec == _S_FA or sec == _S_FB:
            self.routes.open(cen.idx, slot, buf, rt.ORIG)
        elif sec == _S_E or sec == _S_EF:
            self.routes.free(cen.idx, slot)
        return self.v.set(ACCEPT, None, None, None, tab.SECTIONS[sec][_SEC_NAME], None, None, None, sec >= _S_EF)

    def _check_terminal(self, buf, n):
        tl = self.tl
        lr = tab.LENGTH[0]
        if n < tl.min_len:
            return self._len_v(lr, DISCARD, False)
        if n > tl.max_len:
            return self._len_v(lr, TERMINAL_ERROR, False)
        t = self._rows
        ix = self._ix
        first = _CROW * ix[_AT_SPANS + 2 * _S_D]
        for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * _S_D + 1], _CROW):
            row = tab.TABLE_D[t[p + 3]]
            if not self._row_ok(t[p], t[p + 1], t[p + 2], row, buf, n, None, -1):
                return self._content_v(row, _S_D, row[_ITEM])
        dest = self.reg.conn_dest(self.reg.connection_at(buf, ix[_AT_TCONN]))   # D(a) passed: registered
        mt = _num(buf, ix[_AT_TMT], ix[_AT_TMT + 1])
        for srow_no in tab.SECTIONS[_S_D][_SEC_STATES]:
            srow = tab.TABLE_6[srow_no - 1]
            if dest < 0 and tab.DST_NO_ROUTE <= srow[_KIND] <= tab.DST_SERVICE:
                continue        # no destination known for this connection company
            if self._state_fails(srow[_KIND], None, mt, dest):
                return self._state_v(srow, _S_D)
        return self.v.set(ACCEPT, None, None, None, "D", None, None, None, False)

    # -- one content row ---------------------------------------------------------------------------
    def _row_ok(self, kind, off, ln, row, buf, n, cen, slot):
        if kind == tab.NUMERIC:
            return _num(buf, off, ln) >= 0
        if kind == tab.DAY:
            d = _num(buf, off + ln - 2, 2)
            return 1 <= d <= 31
        if kind == tab.REPEAT:
            return True
        if kind == tab.EQUALS:
            # the seed's value, right-aligned and zero-padded to the field of the layout in use
            arg = row[_ARG]
            k = len(arg)
            for i in range(ln):
                j = i - ln + k
                if buf[off + i] != (arg[j] if j >= 0 else 48):
                    return False
            return True
        if kind == tab.TRAILER_LEN:
            hlen = self.cl.hlen
            want = n - hlen
            if not self.cl.shift_counted:
                for i in range(hlen, n):
                    c = buf[i]
                    if c == 0x0E or c == 0x0F:
                        want -= 1
            return _num(buf, off, ln) == want
        if kind == tab.ROUTE_HELD:
            return slot >= 0
        routes = self.routes
        if kind == tab.ROUTE_FREE:
            st = routes.state(cen.idx, slot)
            return st != rt.ORIG and st != rt.DEST
        if kind == tab.ROUTE_FREE_OR_SAME:
            st = routes.state(cen.idx, slot)
            if st == rt.DEST:
                return False
            if st == rt.ORIG:
                return routes.same(cen.idx, slot, buf, self._ix[_AT_SEQ], self._ix[_AT_SEQ + 1])
            return True
        if kind == tab.ROUTE_DEST:
            return routes.state(cen.idx, slot) == rt.DEST
        if kind == tab.PROTECTED:
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == tab.LAST_PROTECTED:
            if routes.state(cen.idx, slot) == rt.NEVER:
                return False
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == tab.ANSWER:
            return self.cat.answers(routes.num(cen.idx, slot, off, ln), _num(buf, off, ln))
        if kind == tab.ORG_CO:
            return self.reg.companies.same(cen.company, 0, ln, buf, off)
        if kind == tab.ORG_SUB:
            return self.reg.companies.same(cen.company, self.reg.co_w, ln, buf, off)
        if kind == tab.DST_CO:
            return self.reg.company_at(buf, off) >= 0
        if kind == tab.DST_SUB:
            co = self.reg.company_at(buf, self._ix[_AT_DST])
            return co >= 0 and self.reg.companies.same(co, self.reg.co_w, ln, buf, off)
        if kind == tab.SERVICE:
            return self.cat.cls(_num(buf, off, ln)) == cat.REQ
        if kind == tab.CENTER_ID:
            ids = cen.center_ids
            for i in range(0, len(ids), ln):
                j = 0
                while j < ln and buf[off + j] == ids[i + j]:
                    j += 1
                if j == ln:
                    return True
            return False
        if kind == tab.CTL_TYPE:
            k = self.cat.cls(_num(buf, off, ln))
            return k == cat.CTRL_REQ or k == cat.CTRL_BOTH
        if kind == tab.CMD_ANSWER:
            if not routes.cmd_set[cen.idx]:
                return False
            return self.cat.answers(routes.num(cen.idx, rt.CMD, off, ln), _num(buf, off, ln))
        if kind == tab.CMD_ECHO:
            fields = self.cl.fields
            ix = self._ix
            for i in range(len(ix) - _AT_ECHO):
                f = fields[ix[_AT_ECHO + i]]
                if not routes.same(cen.idx, rt.CMD, buf, f[_lay.F_OFF], f[_lay.F_LEN]):
                    self._echo_ix = i
                    return False
            return True
        if kind == tab.CONN_CO:
            return self.reg.connection_at(buf, off) >= 0
        if kind == tab.SEND_CLASS:
            c = buf[off]
            for x in row[_ARG]:
                if c == x:
                    return True
            return False
        return False

    # -- one state row (表 3.3.4-6) -----------------------------------------------------------------
    def _state_fails(self, kind, cen, mt, dest):
        """True when state row `kind` fails: cen the sending center (None for a terminal), mt
        the message type, dest the destination company's index (-1: none)."""
        reg = self.reg
        if kind == tab.ORG_NOT_OPEN:
            return cen.state != regmod.ONLINE
        if kind == tab.ORG_SERVICE:
            return not regmod.has_type(cen.services, mt)
        if kind == tab.CAFIS_ENDED:
            return reg.cafis_state == regmod.CAFIS_ENDED
        if kind == tab.CAFIS_FAULT:
            return reg.cafis_state == regmod.CAFIS_FAULT
        if dest < 0:
            return True
        d = reg.co_dest(dest)
        if kind == tab.DST_NO_ROUTE:
            return d < 0 or self.routes.full(d)
        dc = reg.centers[d]
        if kind == tab.DST_FAULT:
            return dc.state == regmod.FAULT
        if kind == tab.DST_SUSPENDED:
            return dc.state == regmod.SUSPENDED or dc.state == regmod.NOT_OPEN
        if kind == tab.DST_SERVICE:
            return not regmod.has_type(dc.serves, mt)
        return False

    # -- telegrams CAFIS sent ----------------------------------------------------------------------
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
        k = self.cat.cls(_num(buf, self._ix[_AT_MT], self._ix[_AT_MT + 1]))
        if k == cat.CTRL_CMD or k == cat.CTRL_BOTH:
            self.routes.set_cmd(cen.idx, buf)
            return True
        route = _num(buf, self._ix[_AT_ROUTE], self._ix[_AT_ROUTE + 1])
        slot = cen.route_index(route) if route > 1 else -1
        if slot < 0:
            return False
        if k == cat.REQ or k == cat.CANCEL or k == cat.CONFIRM:
            self.routes.open(cen.idx, slot, buf, rt.DEST)
            return True
        if k == cat.REP or k == cat.CANCEL_REP or k == cat.CONFIRM_REP or k == cat.ABNORMAL:
            if self.routes.state(cen.idx, slot) == rt.ORIG:
                self.routes.free(cen.idx, slot)
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
        if slot < 0 or self.routes.state(cen.idx, slot) != rt.ORIG:
            return None
        k = self.cat.cls(self.routes.num(cen.idx, slot, self._ix[_AT_MT], self._ix[_AT_MT + 1]))
        self.routes.free(cen.idx, slot)
        if k == cat.CANCEL or k == cat.CONFIRM:
            reply = self.cat.reply[cat.CANCEL_REP if k == cat.CANCEL else cat.CONFIRM_REP]
            return self.v.set(ABNORMAL, "C50", "3.3.5-2 #8", "経路番号", "F(a)" if k == cat.CANCEL else "F(b)",
                              None, self.cat.entry(_num(reply, 0, len(reply)))[cat.C_JA], reply, True)
        return self.v.set(ABNORMAL, "C50", "3.3.5-1 C50", "経路番号", "C", None, errors.ABN,
                          self.cat.reply[cat.ABNORMAL], False)

    def kept(self, center, route):
        """The kept header of `center`'s route `route` (memoryview) or None."""
        cen = self.reg.by_id.get(center)
        slot = cen.route_index(route) if cen is not None else -1
        if slot < 0 or self.routes.state(cen.idx, slot) == rt.NEVER:
            return None
        return self.routes.kept(cen.idx, slot)

    # -- registry state changes (the engine of 3.3.1 drives these) ---------------------------------
    def set_center_state(self, center, state):
        self.reg.by_id[center].state = state

    def set_cafis_state(self, state):
        self.reg.cafis_state = state

    def report(self, buf, verdict, out=None):
        """The abnormal report (or 取消報告 / 取消確認報告) for `verdict`: see report.build."""
        return _report.build(self.cl, buf, verdict, out)
