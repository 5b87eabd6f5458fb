"""The Checker of seed 3.3.4: lengths (表 3.3.4-1), contents A-F (表 3.3.4-2..5), states
(表 3.3.4-6) with the handling of 表 3.3.4-7, run from the tables of checktab.py (cells read by
name, _RULE .. _T7_DISCARD below). Rows run in the seed's order; the first failing row decides.
Here: which section a telegram is checked under, the verdict of the row that decided, and the
route state that an accepted telegram (or one CAFIS sent) changes; checkkinds.py says what each
row checks.

At start each table becomes bytes (kind, field offset, field length, the row's first cell: 4 bytes
a row) for the layout in use (checkkinds.compiled). check() reads every field in place and allocates
nothing: the verdict is the Checker's one Verdict (verdict.py), refilled by the next check;
copy what you keep.
"""
from micropython import const

from . import checkkinds as kinds
from . import checktab as tab
from . import layout as _lay

# Each module-level name is a slot of the module's table when frozen: the verdict kinds
# ("accept", "discard", "abnormal_report", "terminal_error"), errors.ABN ("異常報告") and
# errors.CANCEL_REPORT_CODES are written here as literals (a str constant also
# loads without a lookup); routes._CMD / _ORIG / _FREE below as their own, the catalogue's classes as
# _CANCEL .. _ABNORMAL (test_cafis_checks compares them with catalogue.py's).

# the cells of a row, by name (checktab.py lists the columns of each table): content rows;
# 表 3.3.4-6 (_MSG), SECTIONS (_SEC_*), 表 3.3.4-7 (_T7_DISCARD); 表 3.3.4-1 rows as content rows
_RULE = const(0)
_ITEM = const(1)
_KIND = const(2)
_CODE = const(3)
_MSG = const(4)
_SEC_NAME = const(1)
_SEC_TABLE = const(2)
_SEC_STATES = const(3)
_SEC_T7 = const(4)
_SEC_HEAD = const(5)
_T7_DISCARD = const(2)
_CROW = const(4)     # checkkinds._CROW: bytes per compiled row
_CANCEL = const(7)      # catalogue._CANCEL
_CANCEL_REP = const(8)  # catalogue._CANCEL_REP
_CONFIRM = const(9)     # catalogue._CONFIRM
_CONFIRM_REP = const(10)    # catalogue._CONFIRM_REP
_ABNORMAL = const(11)   # catalogue._ABNORMAL
_CMD = const(-1)     # routes._CMD: the slot of a center's last control command
_ORIG = const(1)     # routes._ORIG: a request the center sent
_FREE = const(3)     # routes._FREE: a route given back
# offsets in the compiled ix (checkkinds' _AT_*, private there: constants here, no lookup per use)
_AT_MT = const(0)
_AT_ROUTE = const(4)
_AT_DST = const(8)
_AT_TMT = const(10)
_AT_TCONN = const(12)
_AT_SPANS = const(14)
_PROTECTED = const(16)   # checktab's check kind "equals the field of the request that opened the route"
# the sections of 3.3.4 (2): their index in checktab.SECTIONS
_S_A = const(0)
_S_B = const(1)
_S_C = const(2)
_S_D = const(3)
_S_E = const(4)      # general report
_S_EF = const(5)     # fault report (取消報告, 取消確認報告) on a destination route
_S_FA = const(6)
_S_FB = const(7)
_T_D = const(3)      # section D's content table: its index in checktab.TABLES
# the section a telegram on a route of its own (0002 ..) is checked under, by its class
# (catalogue._CTRL_REQ .. _ABNORMAL; 0: not in the catalogue): E for reports, abnormal reports and
# control reports, E (fault) for 取消報告 / 取消確認報告, F(a) for 取消（再）指令, F(b) for
# 取消確認（再）指令, C for everything else
_SEC_BY_CLASS = b"\x02\x02\x02\x02\x04\x02\x04\x06\x05\x07\x05\x04"


class Checker:
    """The entry point: check(telegram, sender, center) -> Verdict, for telegrams CAFIS
    receives; report(telegram, verdict) builds the abnormal report. What the unit uses; the
    telegrams CAFIS sends and its timeouts are followed by outbound.Checker (tools, tests)."""

    def __init__(self, reg):
        self.reg = reg
        self.cat = reg.catalogue
        self.cl = cl = reg.center_layout
        self.tl = tl = reg.terminal_layout
        from . import routes
        self.routes = routes.Routes(reg)
        from .verdict import Verdict
        self.v = Verdict().set("accept", None, None, None, None, None, None, None, False)
        self.ix, self.rows = kinds.compiled(cl, tl)
        self.echo_ix = 0
        self.rep = bytearray(cl.hlen + 3)     # report(buf, v, self.rep): header + a Cnn code

    # -- verdicts: the one Verdict, filled from the row that decided --------------------------------
    def _content_v(self, table, b, sec, field):
        s = tab.SECTIONS[sec]
        section = s[_SEC_NAME]
        code = table[b + _CODE]
        rule = table[b + _RULE]
        row = 0
        if type(rule) is int:          # a numbered table's row: the section's head, then its number
            row = rule
            rule = s[_SEC_HEAD]
        if sec == _S_D:
            return self.v.set("terminal_error", tab.CODES[code], rule, field, section, None, None, None, False, row)
        if code is None:
            return self.v.set("discard", None, rule, field, section, None, None, None, sec >= _S_EF, row)
        return self.v.set("abnormal_report", tab.CODES[code], rule, field, section, None, "異常報告",
                          self.cat.reply[_ABNORMAL], sec >= _S_FA, row)

    def _state_v(self, srow, sec):
        section = tab.SECTIONS[sec][_SEC_NAME]
        h = tab.TABLE_7[tab.SECTIONS[sec][_SEC_T7] - 1]
        rule = tab.TABLE_6[0]              # 表 3.3.4-6's head, then the row's number
        row = srow[_RULE]
        item = tab.ITEMS[srow[_ITEM]]
        if h[_T7_DISCARD]:
            return self.v.set("discard", None, rule, item, section, h[_RULE], None, None, sec >= _S_EF, row)
        if sec == _S_D:
            return self.v.set("terminal_error", tab.CODES[srow[_MSG]], rule, item, section, h[_RULE], None, None,
                              False, row)
        code = tab.CODES[srow[_CODE]]
        response = "異常報告"
        reply = self.cat.reply[_ABNORMAL]
        if sec >= _S_FA and (code == "C13" or code == "C14" or code == "C50"):
            k = _CANCEL_REP if sec == _S_FA else _CONFIRM_REP
            reply = self.cat.reply[k]
            response = self.cat.reply[_ABNORMAL + 1 + k]
        return self.v.set("abnormal_report", code, rule, item, section, h[_RULE], response, reply, sec >= _S_FA, row)

    # -- the entry point ------------------------------------------------------------------------
    def check(self, buf, sender, center=None, n=-1):
        """One verdict for one received telegram: buf (bytes, bytearray or memoryview; the
        first n bytes, all by default), sender "center" or "terminal", center: the registry id
        of the center whose line it came in on (ignored for terminals). The verdict returned is
        the Checker's own and is refilled by the next call."""
        if n < 0 or n > len(buf):
            n = len(buf)
        if sender == "terminal":     # 表 3.3.4-1 #1 and section D
            tl = self.tl
            if n < tl.min_len or n > tl.max_len:     # 表 3.3.4-1 #1: discarded when short
                r = tab.LENGTH[1]
                if n < tl.min_len:
                    return self.v.set("discard", None, tab.LENGTH[0], tab.ITEMS[r[_ITEM]], None, None, None, None,
                                      False, r[_RULE])
                return self.v.set("terminal_error", tab.CODES[r[_CODE]], tab.LENGTH[0], tab.ITEMS[r[_ITEM]], None,
                                  None, None, None, False, r[_RULE])
            t = self.rows
            ix = self.ix
            first = _CROW * ix[_AT_SPANS + 2 * _S_D]
            td = tab.TABLES[_T_D]          # 3.3.4 (2) D
            for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * _S_D + 1], _CROW):
                b = t[p + 3]
                if not kinds.row_ok(self, t[p], t[p + 1], t[p + 2], td, b, buf, n, None, -1):
                    return self._content_v(td, b, _S_D, tab.ITEMS[td[b + _ITEM]])
            dest = self.reg.conn_dest(self.reg.connections.find(buf, ix[_AT_TCONN]))   # D(a) passed: registered
            mt = _lay.num(buf, ix[_AT_TMT], ix[_AT_TMT + 1])
            for srow_no in tab.SECTIONS[_S_D][_SEC_STATES]:
                srow = tab.TABLE_6[srow_no]
                if kinds.state_fails(self, srow[_KIND], None, mt, dest):
                    return self._state_v(srow, _S_D)
            return self.v.set("accept", None, None, None, "D", None, None, None, False)
        cen = self.reg.by_id.get(center) if isinstance(center, str) else None
        if cen is None:     # the named center is not in the registry
            return self.v.set("discard", None, None, None, None, None, None, None, False)
        cl = self.cl
        ix = self.ix
        if n < cl.min_len or n > cl.max_len:     # 表 3.3.4-1 #2: discarded when short
            r = tab.LENGTH[2]
            if n < cl.min_len:
                return self.v.set("discard", None, tab.LENGTH[0], tab.ITEMS[r[_ITEM]], None, None, None, None, False,
                                  r[_RULE])
            k = self.cat.cls(_lay.num(buf, ix[_AT_MT], ix[_AT_MT + 1]))
            return self.v.set("abnormal_report", tab.CODES[r[_CODE]], tab.LENGTH[0], tab.ITEMS[r[_ITEM]], None, None,
                              "異常報告", self.cat.reply[_ABNORMAL], k == _CANCEL or k == _CONFIRM, r[_RULE])
        route = _lay.num(buf, ix[_AT_ROUTE], ix[_AT_ROUTE + 1])
        if route == 0:
            sec = _S_A
        elif route == 1:
            sec = _S_B
        else:
            sec = _SEC_BY_CLASS[self.cat.cls(_lay.num(buf, ix[_AT_MT], ix[_AT_MT + 1]))]
        slot = cen.route_index(route) if route > 1 else -1
        t = self.rows
        table = tab.TABLES[tab.SECTIONS[sec][_SEC_TABLE]]
        first = _CROW * ix[_AT_SPANS + 2 * sec]
        ok = kinds.row_ok
        routes = self.routes
        ci = cen.idx
        for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * sec + 1], _CROW):   # constant step: no range object
            k = t[p]
            if k == _PROTECTED:            # compared here, not in row_ok: 表 3.3.4-3 has 15 such rows
                if routes.same(ci, slot, buf, t[p + 1], t[p + 2]):
                    continue
            elif ok(self, k, t[p + 1], t[p + 2], table, t[p + 3], buf, n, cen, slot):
                continue
            b = t[p + 3]                   # the failing row: table[b:b + W]
            if table[b + _ITEM] is None:     # B(b): the first field that differs
                p = self.echo_ix
                return self._content_v(table, b, sec, self.cl.fields[ix[p + 1]][_lay.F_JA] if ix[p] else
                                       tab.ITEMS[ix[p + 1]])
            return self._content_v(table, b, sec, tab.ITEMS[table[b + _ITEM]])
        mt = _lay.num(buf, ix[_AT_MT], ix[_AT_MT + 1])
        dest = self.reg.companies.find(buf, ix[_AT_DST])
        for srow_no in tab.SECTIONS[sec][_SEC_STATES]:
            srow = tab.TABLE_6[srow_no]
            if kinds.state_fails(self, srow[_KIND], cen, mt, dest):
                return self._state_v(srow, sec)
        # accepted: the state changes only now (a discarded telegram leaves no trace)
        if sec == _S_B:
            self.routes.open(cen.idx, _CMD, None, 0)      # its command answered
        elif sec == _S_C or sec == _S_FA or sec == _S_FB:
            self.routes.open(cen.idx, slot, buf, _ORIG)
        elif sec == _S_E or sec == _S_EF:
            self.routes.open(cen.idx, slot, None, _FREE)  # freed, its header kept
        return self.v.set("accept", None, None, None, tab.SECTIONS[sec][_SEC_NAME], None, None, None, sec >= _S_EF)

    def report(self, buf, verdict, out=None):
        """The abnormal report (or 取消報告 / 取消確認報告) for `verdict`: see Verdict.report."""
        return verdict.report(self.cl.hlen, self.ix, buf, out)
