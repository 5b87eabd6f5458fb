"""Checks of seed 3.3.4: lengths (表 3.3.4-1), contents A-F (表 3.3.4-2..5), states (表 3.3.4-6)
with the handling of 表 3.3.4-7. The tables are data below, one tuple per seed row, each row
naming its source: (rule, item name as in the seed, check kind, error code, layout field key,
argument), read by name (_RULE .. _ARG). Rows run in the seed's order; the first failing row
decides the verdict.

At start the Checker turns each table into bytes (kind, field offset, field length, row
number: 4 bytes a row) for the layout in use. Checker.check() reads every field in place from
the received buffer and allocates nothing: the verdict is the Checker's one Verdict object,
filled from the row that decided (valid until the next check; copy what you keep).
"""
from micropython import const

from . import catalogue as cat
from . import errors
from . import layout as _lay
from . import registry as regmod
from . import report as _report
from . import routes as rt

# a row of the content tables, by name
_RULE = const(0)
_ITEM = const(1)
_KIND = const(2)
_CODE = const(3)
_KEY = const(4)
_ARG = const(5)
# a row of 表 3.3.4-6: (rule, item, kind, error code, error message to a terminal)
_MSG = const(4)
# a row of 表 3.3.4-1: (rule, item, sender, error code)
_SENDER = const(2)
# a row of SECTIONS: (section, name, content table (index in TABLES), rows of 表 3.3.4-6, row of 表 3.3.4-7)
_SEC_NAME = const(1)
_SEC_TABLE = const(2)
_SEC_STATES = const(3)
_SEC_T7 = const(4)
# a row of 表 3.3.4-7: (rule, 電文区分, discard?)
_T7_DISCARD = const(2)
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

# --- check kinds --------------------------------------------------------------------------
_NUMERIC = const(1)          # ニューメリックであるか
_DAY = const(2)              # 日付範囲内であるか（01～31）: the last two digits of the field
_REPEAT = const(3)           # the row repeats an earlier one (表 3.3.4-2 #11 = #9): checked once
_EQUALS = const(4)           # field equals arg
_TRAILER_LEN = const(5)      # 受信電文長から63を減じた値であるか
_ROUTE_HELD = const(6)       # 当該仕向センタの保有する経路（範囲）であるか
_ROUTE_FREE = const(7)       # 当該経路が他の取引で使用されていないか (a new request: any use)
_ROUTE_FREE_OR_SAME = const(8)  # 同上 for cancel telegrams: in use by the same transaction is fine
_ROUTE_DEST = const(9)       # 当該経路が使用中であるか (by a request CAFIS sent to this center)
_ORG_CO = const(10)          # A(a): the sender's registered company code
_ORG_SUB = const(11)         # A(a): sub-code per contracted digits
_DST_CO = const(12)          # registered company code
_DST_SUB = const(13)         # sub-code per that company's contract
_SERVICE = const(14)         # CAFISサービス対象であるか (a general request in the catalogue)
_CENTER_ID = const(15)       # 当該仕向センタが契約する識別か
_PROTECTED = const(16)       # equals the field of the request that opened the route
_ANSWER = const(17)          # 要求電文と対応した電文種別であるか
_LAST_PROTECTED = const(18)  # equals the field of the route's last telegram
_CTL_TYPE = const(19)        # A(b): 7020, 0720 or 9210
_CMD_ANSWER = const(20)      # B(a): answers the command CAFIS sent
_CMD_ECHO = const(21)        # B(b): the command's content kept, message type aside
_CONN_CO = const(22)         # D(a): registered connection company
_SEND_CLASS = const(23)      # D(b): one of 1, 2, 3, 9
# state kinds (表 3.3.4-6)
_ORG_NOT_OPEN = const(30)
_ORG_SERVICE = const(31)
_DST_NO_ROUTE = const(32)
_DST_FAULT = const(33)
_DST_SUSPENDED = const(34)
_DST_SERVICE = const(35)
_CAFIS_ENDED = const(36)
_CAFIS_FAULT = const(37)

# --- 表 3.3.4-1 電文長チェック一覧: (rule, item, sender, error code when too long) ----------------
LENGTH = (
    ("3.3.4-1 #1", "電文長", "terminal", "CAF03"),   # 端末 47 ≦ 電文長 ≦ 292
    ("3.3.4-1 #2", "電文長", "center", "C03"),       # センタ 63 ≦ 電文長 ≦ 1024
)

# --- 3.3.4 (2) A: 制御電文（貴社センタ要求）, route 0000; errors are discarded ---------------------
TABLE_A = (
    ("3.3.4 A(a)", "仕向会社コード", _ORG_CO, None, "org_co", None),
    ("3.3.4 A(a)", "仕向会社サブコード", _ORG_SUB, None, "org_sub", None),
    ("3.3.4 A(b)", "電文種別", _CTL_TYPE, None, "msg_type", None),
    ("3.3.4 A(c)", "トレーラレングス", _EQUALS, None, "trailer_len", b"000"),
)

# --- 3.3.4 (2) B: 制御電文（貴社センタ報告）, route 0001; errors are discarded ---------------------
TABLE_B = (
    ("3.3.4 B(a)", "電文種別", _CMD_ANSWER, None, "msg_type", None),
    ("3.3.4 B(b)", None, _CMD_ECHO, None, None, None),    # item: the first field that differs
)

# --- 表 3.3.4-2 一般電文（貴社センタ要求）受信時のチェック ---------------------------------------
TABLE_2 = (
    ("3.3.4-2 #1", "経路番号", _ROUTE_HELD, "C55", "route", None),
    ("3.3.4-2 #2", "経路番号", _ROUTE_FREE, "C51", "route", None),
    ("3.3.4-2 #3", "仕向処理通番", _NUMERIC, "C58", "seq", None),
    ("3.3.4-2 #4", "仕向会社コード", _ORG_CO, "C53", "org_co", None),
    ("3.3.4-2 #5", "仕向会社サブコード", _ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-2 #6", "被仕向会社コード", _DST_CO, "C01", "dst_co", None),
    ("3.3.4-2 #7", "被仕向会社サブコード", _DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-2 #8", "電文種別", _SERVICE, "C54", "msg_type", None),
    ("3.3.4-2 #9", "仕向処理日付", _NUMERIC, "C58", "org_date", None),
    ("3.3.4-2 #10", "仕向処理日付", _DAY, "C58", "org_date", None),
    ("3.3.4-2 #11", "仕向処理日付", _REPEAT, "C58", "org_date", "3.3.4-2 #9"),
    ("3.3.4-2 #12", "代行報告表示", _EQUALS, "C56", "proxy_report", b"00"),
    ("3.3.4-2 #13", "トレーラレングス", _NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-2 #14", "トレーラレングス", _TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 3.3.4 (2) D: 一般電文（端末要求）; errors are error messages to the terminal ---------------
TABLE_D = (
    ("3.3.4 D(a)", "接続会社コード", _CONN_CO, "CAF01", "conn_co", None),
    ("3.3.4 D(b)", "電文送信区分", _SEND_CLASS, "CAF16", "send_class", b"1239"),
)

# --- 表 3.3.4-3 一般および障害電文（貴社センタ報告）受信時のチェック; errors are discarded --------
TABLE_3 = (
    ("3.3.4-3 #1", "経路番号", _ROUTE_HELD, None, "route", None),
    ("3.3.4-3 #2", "経路番号", _ROUTE_DEST, None, "route", None),
    ("3.3.4-3 #3", "仕向処理通番", _PROTECTED, None, "seq", None),
    ("3.3.4-3 #4", "センタ識別番号", _PROTECTED, None, "center_id", None),
    ("3.3.4-3 #5", "回線番号", _PROTECTED, None, "line", None),
    ("3.3.4-3 #6", "CAFIS処理通番", _PROTECTED, None, "cafis_seq", None),
    ("3.3.4-3 #7", "仕向会社コード", _PROTECTED, None, "org_co", None),
    ("3.3.4-3 #8", "仕向会社サブコード", _PROTECTED, None, "org_sub", None),
    ("3.3.4-3 #9", "被仕向会社コード", _PROTECTED, None, "dst_co", None),
    ("3.3.4-3 #10", "被仕向会社サブコード", _PROTECTED, None, "dst_sub", None),
    ("3.3.4-3 #11", "電文種別", _ANSWER, None, "msg_type", None),
    ("3.3.4-3 #12", "CAFIS処理日", _PROTECTED, None, "cafis_date", None),
    ("3.3.4-3 #13", "CAT送信状態表示", _PROTECTED, None, "cat_status", None),
    ("3.3.4-3 #14", "仕向処理日付", _PROTECTED, None, "org_date", None),
    ("3.3.4-3 #15", "代行報告表示", _PROTECTED, None, "proxy_report", None),
    ("3.3.4-3 #16", "代行電文エラー表示", _PROTECTED, None, "proxy_error", None),
    ("3.3.4-3 #17", "代行再仕向表示", _PROTECTED, None, "proxy_reroute", None),
    ("3.3.4-3 #18", "トレーラレングス", _NUMERIC, None, "trailer_len", None),
    ("3.3.4-3 #19", "トレーラレングス", _TRAILER_LEN, None, "trailer_len", None),
)

# --- 表 3.3.4-4 取消（再）指令受信時のチェック -----------------------------------------------------
TABLE_4 = (
    ("3.3.4-4 #1", "経路番号", _ROUTE_HELD, "C55", "route", None),
    ("3.3.4-4 #2", "経路番号", _ROUTE_FREE_OR_SAME, "C51", "route", None),
    ("3.3.4-4 #3", "仕向処理通番", _NUMERIC, "C58", "seq", None),
    ("3.3.4-4 #4", "センタ識別番号", _CENTER_ID, "C56", "center_id", None),
    ("3.3.4-4 #5", "CAFIS処理通番", _NUMERIC, "C58", "cafis_seq", None),
    ("3.3.4-4 #6", "仕向会社コード", _ORG_CO, "C53", "org_co", None),
    ("3.3.4-4 #7", "仕向会社サブコード", _ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-4 #8", "被仕向会社コード", _DST_CO, "C01", "dst_co", None),
    ("3.3.4-4 #9", "被仕向会社サブコード", _DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-4 #10", "CAFIS処理日", _NUMERIC, "C58", "cafis_date", None),
    ("3.3.4-4 #11", "CAFIS処理日", _DAY, "C58", "cafis_date", None),
    ("3.3.4-4 #12", "仕向処理日付", _NUMERIC, "C58", "org_date", None),
    ("3.3.4-4 #13", "仕向処理日付", _DAY, "C58", "org_date", None),
    ("3.3.4-4 #14", "トレーラレングス", _NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-4 #15", "トレーラレングス", _TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 表 3.3.4-5 取消確認（再）指令受信時のチェック -------------------------------------------------
TABLE_5 = (
    ("3.3.4-5 #1", "経路番号", _ROUTE_HELD, "C55", "route", None),
    ("3.3.4-5 #2", "経路番号", _ROUTE_FREE_OR_SAME, "C51", "route", None),
    ("3.3.4-5 #3", "仕向処理通番", _LAST_PROTECTED, "C56", "seq", None),
    ("3.3.4-5 #4", "仕向会社コード", _ORG_CO, "C53", "org_co", None),
    ("3.3.4-5 #5", "仕向会社サブコード", _ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-5 #6", "被仕向会社コード", _DST_CO, "C01", "dst_co", None),
    ("3.3.4-5 #7", "被仕向会社サブコード", _DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-5 #8", "仕向処理日付", _LAST_PROTECTED, "C56", "org_date", None),
    ("3.3.4-5 #9", "代行報告表示", _LAST_PROTECTED, "C56", "proxy_report", None),
    ("3.3.4-5 #10", "トレーラレングス", _NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-5 #11", "トレーラレングス", _TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 表 3.3.4-6 チェック対象項目: (rule, item, kind, error code, error message) ---------------------
TABLE_6 = (
    ("3.3.4-6 #1", "仕向センタ", _ORG_NOT_OPEN, "C60", None),     # 仕向センタ未開局
    ("3.3.4-6 #2", "仕向センタ", _ORG_SERVICE, "C60", None),      # 仕向センタサービス対象外
    ("3.3.4-6 #3", "被仕向センタ", _DST_NO_ROUTE, "C12", "CAF12"),  # 被仕向センタ経路無し
    ("3.3.4-6 #4", "被仕向センタ", _DST_FAULT, "C13", "CAF13"),     # 被仕向センタ障害中
    ("3.3.4-6 #5", "被仕向センタ", _DST_SUSPENDED, "C14", "CAF14"),  # 被仕向センタ休止中
    ("3.3.4-6 #6", "被仕向センタ", _DST_SERVICE, "C57", "CAF57"),   # 被仕向センタサービス対象外
    ("3.3.4-6 #7", "CAFISセンタ", _CAFIS_ENDED, "C15", "CAF15"),    # CAFISセンタ終了
    ("3.3.4-6 #8", "CAFISセンタ", _CAFIS_FAULT, "C33", "CAF33"),    # CAFISセンタ障害
)

# --- 表 3.3.4-7 電文毎の状態チェックエラー時の処理: (rule, 電文区分, discard?) --------------------------
TABLE_7 = (
    ("3.3.4-7 #1", "制御電文", True),           # 無効電文として電文破棄し、受信前の状態に戻す
    ("3.3.4-7 #2", "一般電文（要求）", False),   # 異常報告またはエラーメッセージを応答する
    ("3.3.4-7 #3", "一般電文（報告）", True),
    ("3.3.4-7 #4", "障害電文（要求）", False),
    ("3.3.4-7 #5", "障害電文（報告）", True),
)

# Sections of 3.3.4 (2) a telegram is checked under, with its content table, the rows of
# 表 3.3.4-6 that apply (project decision, docs/cafis.md) and its row of 表 3.3.4-7.
_S_A = const(0)
_S_B = const(1)
_S_C = const(2)
_S_D = const(3)
_S_E = const(4)      # general report
_S_EF = const(5)     # fault report (取消報告, 取消確認報告) on a destination route
_S_FA = const(6)
_S_FB = const(7)
# the content tables of the sections, numbered as SECTIONS names them (E and E fault share #4)
TABLES = (TABLE_A, TABLE_B, TABLE_2, TABLE_D, TABLE_3, TABLE_4, TABLE_5)
SECTIONS = (
    # (section, name, content table: index in TABLES, 表 3.3.4-6 rows, 表 3.3.4-7 row)
    (_S_A, "A", 0, (7, 8), 1),
    (_S_B, "B", 1, (7, 8), 1),
    (_S_C, "C", 2, (1, 2, 3, 4, 5, 6, 7, 8), 2),
    (_S_D, "D", 3, (3, 4, 5, 6, 7, 8), 2),
    (_S_E, "E", 4, (1, 7, 8), 3),
    (_S_EF, "E", 4, (1, 7, 8), 5),
    (_S_FA, "F(a)", 5, (1, 2, 3, 4, 5, 6, 7, 8), 4),
    (_S_FB, "F(b)", 6, (1, 2, 3, 4, 5, 6, 7, 8), 4),
)

ACCEPT = "accept"
DISCARD = "discard"
ABNORMAL = "abnormal_report"
TERMINAL_ERROR = "terminal_error"
KINDS = ("accept", "discard", "abnormal_report", "terminal_error")


class Verdict:
    """One verdict. kind: accept / discard / abnormal_report / terminal_error; code: Cnn, CAFnn
    or None; rule: '3.3.4-2 #3' or None; field: the seed's item name or None; section: the part
    of 3.3.4 (2) the telegram was checked under ('A'..'F(b)'); handling: the 表 3.3.4-7 row for
    state errors; response: the telegram CAFIS answers with (異常報告, 取消報告, 取消確認報告);
    reply: its message type (bytes); fault: True for fault telegrams (guidance from 表 3.3.5-2).
    A Checker returns its one Verdict, refilled by every check."""

    def __init__(self, kind, code=None, rule=None, field=None, section=None, handling=None,
                 response=None, reply=None, fault=False):
        self.set(kind, code, rule, field, section, handling, response, reply, fault)

    def set(self, kind, code, rule, field, section, handling, response, reply, fault):
        self.kind = kind
        self.code = code
        self.rule = rule
        self.field = field
        self.section = section
        self.handling = handling
        self.response = response
        self.reply = reply
        self.fault = fault
        return self

    def as_tuple(self):
        return (self.kind, self.code, self.rule, self.field)

    def guidance(self):
        """The 3.3.5 catalogue entry for the code (errors.guidance), or None."""
        return errors.guidance(self.code, self.fault)

    def __repr__(self):
        return "Verdict(%r, %r, %r, %r)" % (self.kind, self.code, self.rule, self.field)


_num = _lay.num


def _digits(buf, off, ln):
    for i in range(off, off + ln):
        c = buf[i]
        if c < 48 or c > 57:
            return False
    return True


def _compile(out, table, lay):
    """Append a content table to `out` as compiled rows for layout `lay`: per row kind,
    offset, length, row number in the seed table."""
    for i in range(len(table)):
        row = table[i]
        off, ln = lay.at(row[_KEY]) if row[_KEY] else (0, 0)
        out.append(row[_KIND])
        out.append(off)
        out.append(ln)
        out.append(i)


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
        for s in range(len(SECTIONS)):
            t = SECTIONS[s][_SEC_TABLE]
            first = -1
            for e in range(s):
                if SECTIONS[e][_SEC_TABLE] == t:
                    first = ix[_AT_SPANS + 2 * e]
            if first < 0:
                first = len(rows) // _CROW
                _compile(rows, TABLES[t], tl if s == _S_D else cl)
            ix.append(first)
            ix.append(len(TABLES[t]))
        # B(b) compares every field but the message type and the trailer length
        for i in range(len(cl.fields)):
            if cl.fields[i][_lay.F_KEY] not in ("msg_type", "trailer_len"):
                ix.append(i)
        self._ix = bytes(ix)
        self._rows = bytes(rows)
        self._echo_ix = 0

    # -- verdicts: the one Verdict, filled from the row that decided --------------------------------
    def _content_v(self, row, sec, field):
        section = SECTIONS[sec][_SEC_NAME]
        code = row[_CODE]
        if sec == _S_D:
            return self.v.set(TERMINAL_ERROR, code, row[_RULE], field, section, None, None, None, False)
        if code is None:
            return self.v.set(DISCARD, None, row[_RULE], field, section, None, None, None, sec >= _S_EF)
        return self.v.set(ABNORMAL, code, row[_RULE], field, section, None, errors.ABN,
                          self.cat.reply[cat.ABNORMAL], sec >= _S_FA)

    def _state_v(self, srow, sec):
        section = SECTIONS[sec][_SEC_NAME]
        h = TABLE_7[SECTIONS[sec][_SEC_T7] - 1]
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
        lr = LENGTH[1]
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
        table = TABLES[SECTIONS[sec][_SEC_TABLE]]
        first = _CROW * ix[_AT_SPANS + 2 * sec]
        for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * sec + 1], _CROW):
            row = table[t[p + 3]]
            if not self._row_ok(t[p], t[p + 1], t[p + 2], row, buf, n, cen, slot):
                if t[p] == _CMD_ECHO:
                    f = self.cl.fields[ix[_AT_ECHO + self._echo_ix]]
                    return self._content_v(row, sec, f[_lay.F_JA])
                return self._content_v(row, sec, row[_ITEM])
        mt = _num(buf, ix[_AT_MT], ix[_AT_MT + 1])
        dest = self.reg.company_at(buf, ix[_AT_DST])
        for srow_no in SECTIONS[sec][_SEC_STATES]:
            srow = TABLE_6[srow_no - 1]
            if self._state_fails(srow[_KIND], cen, mt, dest):
                return self._state_v(srow, sec)
        # accepted: the state changes only now (a discarded telegram leaves no trace)
        if sec == _S_B:
            self.routes.cmd_set[cen.idx] = 0
        elif sec == _S_C or sec == _S_FA or sec == _S_FB:
            self.routes.open(cen.idx, slot, buf, rt.ORIG)
        elif sec == _S_E or sec == _S_EF:
            self.routes.free(cen.idx, slot)
        return self.v.set(ACCEPT, None, None, None, SECTIONS[sec][_SEC_NAME], None, None, None, sec >= _S_EF)

    def _check_terminal(self, buf, n):
        tl = self.tl
        lr = LENGTH[0]
        if n < tl.min_len:
            return self._len_v(lr, DISCARD, False)
        if n > tl.max_len:
            return self._len_v(lr, TERMINAL_ERROR, False)
        t = self._rows
        ix = self._ix
        first = _CROW * ix[_AT_SPANS + 2 * _S_D]
        for p in range(first, first + _CROW * ix[_AT_SPANS + 2 * _S_D + 1], _CROW):
            row = TABLE_D[t[p + 3]]
            if not self._row_ok(t[p], t[p + 1], t[p + 2], row, buf, n, None, -1):
                return self._content_v(row, _S_D, row[_ITEM])
        dest = self.reg.conn_dest(self.reg.connection_at(buf, ix[_AT_TCONN]))   # D(a) passed: registered
        mt = _num(buf, ix[_AT_TMT], ix[_AT_TMT + 1])
        for srow_no in SECTIONS[_S_D][_SEC_STATES]:
            srow = TABLE_6[srow_no - 1]
            if dest < 0 and _DST_NO_ROUTE <= srow[_KIND] <= _DST_SERVICE:
                continue        # no destination known for this connection company
            if self._state_fails(srow[_KIND], None, mt, dest):
                return self._state_v(srow, _S_D)
        return self.v.set(ACCEPT, None, None, None, "D", None, None, None, False)

    # -- one content row ---------------------------------------------------------------------------
    def _row_ok(self, kind, off, ln, row, buf, n, cen, slot):
        if kind == _NUMERIC:
            return _digits(buf, off, ln)
        if kind == _DAY:
            d = _num(buf, off + ln - 2, 2)
            return 1 <= d <= 31
        if kind == _REPEAT:
            return True
        if kind == _EQUALS:
            # the seed's value, right-aligned and zero-padded to the field of the layout in use
            arg = row[_ARG]
            k = len(arg)
            for i in range(ln):
                j = i - ln + k
                if buf[off + i] != (arg[j] if j >= 0 else 48):
                    return False
            return True
        if kind == _TRAILER_LEN:
            hlen = self.cl.hlen
            want = n - hlen
            if not self.cl.shift_counted:
                for i in range(hlen, n):
                    c = buf[i]
                    if c == 0x0E or c == 0x0F:
                        want -= 1
            return _num(buf, off, ln) == want
        if kind == _ROUTE_HELD:
            return slot >= 0
        routes = self.routes
        if kind == _ROUTE_FREE:
            st = routes.state(cen.idx, slot)
            return st != rt.ORIG and st != rt.DEST
        if kind == _ROUTE_FREE_OR_SAME:
            st = routes.state(cen.idx, slot)
            if st == rt.DEST:
                return False
            if st == rt.ORIG:
                return routes.same(cen.idx, slot, buf, self._ix[_AT_SEQ], self._ix[_AT_SEQ + 1])
            return True
        if kind == _ROUTE_DEST:
            return routes.state(cen.idx, slot) == rt.DEST
        if kind == _PROTECTED:
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == _LAST_PROTECTED:
            if routes.state(cen.idx, slot) == rt.NEVER:
                return False
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == _ANSWER:
            return self.cat.answers(routes.num(cen.idx, slot, off, ln), _num(buf, off, ln))
        if kind == _ORG_CO:
            return self.reg.companies.same(cen.company, 0, ln, buf, off)
        if kind == _ORG_SUB:
            return self.reg.companies.same(cen.company, self.reg.co_w, ln, buf, off)
        if kind == _DST_CO:
            return self.reg.company_at(buf, off) >= 0
        if kind == _DST_SUB:
            co = self.reg.company_at(buf, self._ix[_AT_DST])
            return co >= 0 and self.reg.companies.same(co, self.reg.co_w, ln, buf, off)
        if kind == _SERVICE:
            return self.cat.cls(_num(buf, off, ln)) == cat.REQ
        if kind == _CENTER_ID:
            ids = cen.center_ids
            for i in range(0, len(ids), ln):
                j = 0
                while j < ln and buf[off + j] == ids[i + j]:
                    j += 1
                if j == ln:
                    return True
            return False
        if kind == _CTL_TYPE:
            k = self.cat.cls(_num(buf, off, ln))
            return k == cat.CTRL_REQ or k == cat.CTRL_BOTH
        if kind == _CMD_ANSWER:
            if not routes.cmd_set[cen.idx]:
                return False
            return self.cat.answers(routes.num(cen.idx, rt.CMD, off, ln), _num(buf, off, ln))
        if kind == _CMD_ECHO:
            fields = self.cl.fields
            ix = self._ix
            for i in range(len(ix) - _AT_ECHO):
                f = fields[ix[_AT_ECHO + i]]
                if not routes.same(cen.idx, rt.CMD, buf, f[_lay.F_OFF], f[_lay.F_LEN]):
                    self._echo_ix = i
                    return False
            return True
        if kind == _CONN_CO:
            return self.reg.connection_at(buf, off) >= 0
        if kind == _SEND_CLASS:
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
        if kind == _ORG_NOT_OPEN:
            return cen.state != regmod.ONLINE
        if kind == _ORG_SERVICE:
            return not regmod.has_type(cen.services, mt)
        if kind == _CAFIS_ENDED:
            return reg.cafis_state == regmod.CAFIS_ENDED
        if kind == _CAFIS_FAULT:
            return reg.cafis_state == regmod.CAFIS_FAULT
        if dest < 0:
            return True
        d = reg.co_dest(dest)
        if kind == _DST_NO_ROUTE:
            return d < 0 or self.routes.full(d)
        dc = reg.centers[d]
        if kind == _DST_FAULT:
            return dc.state == regmod.FAULT
        if kind == _DST_SUSPENDED:
            return dc.state == regmod.SUSPENDED or dc.state == regmod.NOT_OPEN
        if kind == _DST_SERVICE:
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
