"""Checks of seed 3.3.4: lengths (表 3.3.4-1), contents A-F (表 3.3.4-2..5), states (表 3.3.4-6)
with the handling of 表 3.3.4-7. The tables are data below, one tuple per seed row:
(rule, item name as in the seed, check kind, error code, layout field key, argument).
Rows run in the seed's order; the first failing row decides the verdict.

Checker.check() reads every field in place from the received buffer and allocates nothing
for an accepted telegram: verdicts are built once per (row, case) and then reused.
"""
from micropython import const

from . import catalogue as cat
from . import errors
from . import registry as regmod
from . import report as _report
from . import routes as rt

# --- check kinds --------------------------------------------------------------------------
NUMERIC = const(1)          # ニューメリックであるか
DAY = const(2)              # 日付範囲内であるか（01～31）: the last two digits of the field
REPEAT = const(3)           # the row repeats an earlier one (表 3.3.4-2 #11 = #9): checked once
EQUALS = const(4)           # field equals arg
TRAILER_LEN = const(5)      # 受信電文長から63を減じた値であるか
ROUTE_HELD = const(6)       # 当該仕向センタの保有する経路（範囲）であるか
ROUTE_FREE = const(7)       # 当該経路が他の取引で使用されていないか (a new request: any use)
ROUTE_FREE_OR_SAME = const(8)  # 同上 for cancel telegrams: in use by the same transaction is fine
ROUTE_DEST = const(9)       # 当該経路が使用中であるか (by a request CAFIS sent to this center)
ORG_CO = const(10)          # A(a): the sender's registered company code
ORG_SUB = const(11)         # A(a): sub-code per contracted digits
DST_CO = const(12)          # registered company code
DST_SUB = const(13)         # sub-code per that company's contract
SERVICE = const(14)         # CAFISサービス対象であるか (a general request in the catalogue)
CENTER_ID = const(15)       # 当該仕向センタが契約する識別か
PROTECTED = const(16)       # equals the field of the request that opened the route
ANSWER = const(17)          # 要求電文と対応した電文種別であるか
LAST_PROTECTED = const(18)  # equals the field of the route's last telegram
CTL_TYPE = const(19)        # A(b): 7020, 0720 or 9210
CMD_ANSWER = const(20)      # B(a): answers the command CAFIS sent
CMD_ECHO = const(21)        # B(b): the command's content kept, message type aside
CONN_CO = const(22)         # D(a): registered connection company
SEND_CLASS = const(23)      # D(b): one of 1, 2, 3, 9
# state kinds (表 3.3.4-6)
ORG_NOT_OPEN = const(30)
ORG_SERVICE = const(31)
DST_NO_ROUTE = const(32)
DST_FAULT = const(33)
DST_SUSPENDED = const(34)
DST_SERVICE = const(35)
CAFIS_ENDED = const(36)
CAFIS_FAULT = const(37)

# --- 表 3.3.4-1 電文長チェック一覧: (rule, item, sender, error code when too long) ----------------
LENGTH = (
    ("3.3.4-1 #1", "電文長", "terminal", "CAF03"),   # 端末 47 ≦ 電文長 ≦ 292
    ("3.3.4-1 #2", "電文長", "center", "C03"),       # センタ 63 ≦ 電文長 ≦ 1024
)

# --- 3.3.4 (2) A: 制御電文（貴社センタ要求）, route 0000; errors are discarded ---------------------
TABLE_A = (
    ("3.3.4 A(a)", "仕向会社コード", ORG_CO, None, "org_co", None),
    ("3.3.4 A(a)", "仕向会社サブコード", ORG_SUB, None, "org_sub", None),
    ("3.3.4 A(b)", "電文種別", CTL_TYPE, None, "msg_type", None),
    ("3.3.4 A(c)", "トレーラレングス", EQUALS, None, "trailer_len", "000"),
)

# --- 3.3.4 (2) B: 制御電文（貴社センタ報告）, route 0001; errors are discarded ---------------------
TABLE_B = (
    ("3.3.4 B(a)", "電文種別", CMD_ANSWER, None, "msg_type", None),
    ("3.3.4 B(b)", None, CMD_ECHO, None, None, None),    # item: the first field that differs
)

# --- 表 3.3.4-2 一般電文（貴社センタ要求）受信時のチェック ---------------------------------------
TABLE_2 = (
    ("3.3.4-2 #1", "経路番号", ROUTE_HELD, "C55", "route", None),
    ("3.3.4-2 #2", "経路番号", ROUTE_FREE, "C51", "route", None),
    ("3.3.4-2 #3", "仕向処理通番", NUMERIC, "C58", "seq", None),
    ("3.3.4-2 #4", "仕向会社コード", ORG_CO, "C53", "org_co", None),
    ("3.3.4-2 #5", "仕向会社サブコード", ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-2 #6", "被仕向会社コード", DST_CO, "C01", "dst_co", None),
    ("3.3.4-2 #7", "被仕向会社サブコード", DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-2 #8", "電文種別", SERVICE, "C54", "msg_type", None),
    ("3.3.4-2 #9", "仕向処理日付", NUMERIC, "C58", "org_date", None),
    ("3.3.4-2 #10", "仕向処理日付", DAY, "C58", "org_date", None),
    ("3.3.4-2 #11", "仕向処理日付", REPEAT, "C58", "org_date", "3.3.4-2 #9"),
    ("3.3.4-2 #12", "代行報告表示", EQUALS, "C56", "proxy_report", "00"),
    ("3.3.4-2 #13", "トレーラレングス", NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-2 #14", "トレーラレングス", TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 3.3.4 (2) D: 一般電文（端末要求）; errors are error messages to the terminal ---------------
TABLE_D = (
    ("3.3.4 D(a)", "接続会社コード", CONN_CO, "CAF01", "conn_co", None),
    ("3.3.4 D(b)", "電文送信区分", SEND_CLASS, "CAF16", "send_class", "1239"),
)

# --- 表 3.3.4-3 一般および障害電文（貴社センタ報告）受信時のチェック; errors are discarded --------
TABLE_3 = (
    ("3.3.4-3 #1", "経路番号", ROUTE_HELD, None, "route", None),
    ("3.3.4-3 #2", "経路番号", ROUTE_DEST, None, "route", None),
    ("3.3.4-3 #3", "仕向処理通番", PROTECTED, None, "seq", None),
    ("3.3.4-3 #4", "センタ識別番号", PROTECTED, None, "center_id", None),
    ("3.3.4-3 #5", "回線番号", PROTECTED, None, "line", None),
    ("3.3.4-3 #6", "CAFIS処理通番", PROTECTED, None, "cafis_seq", None),
    ("3.3.4-3 #7", "仕向会社コード", PROTECTED, None, "org_co", None),
    ("3.3.4-3 #8", "仕向会社サブコード", PROTECTED, None, "org_sub", None),
    ("3.3.4-3 #9", "被仕向会社コード", PROTECTED, None, "dst_co", None),
    ("3.3.4-3 #10", "被仕向会社サブコード", PROTECTED, None, "dst_sub", None),
    ("3.3.4-3 #11", "電文種別", ANSWER, None, "msg_type", None),
    ("3.3.4-3 #12", "CAFIS処理日", PROTECTED, None, "cafis_date", None),
    ("3.3.4-3 #13", "CAT送信状態表示", PROTECTED, None, "cat_status", None),
    ("3.3.4-3 #14", "仕向処理日付", PROTECTED, None, "org_date", None),
    ("3.3.4-3 #15", "代行報告表示", PROTECTED, None, "proxy_report", None),
    ("3.3.4-3 #16", "代行電文エラー表示", PROTECTED, None, "proxy_error", None),
    ("3.3.4-3 #17", "代行再仕向表示", PROTECTED, None, "proxy_reroute", None),
    ("3.3.4-3 #18", "トレーラレングス", NUMERIC, None, "trailer_len", None),
    ("3.3.4-3 #19", "トレーラレングス", TRAILER_LEN, None, "trailer_len", None),
)

# --- 表 3.3.4-4 取消（再）指令受信時のチェック -----------------------------------------------------
TABLE_4 = (
    ("3.3.4-4 #1", "経路番号", ROUTE_HELD, "C55", "route", None),
    ("3.3.4-4 #2", "経路番号", ROUTE_FREE_OR_SAME, "C51", "route", None),
    ("3.3.4-4 #3", "仕向処理通番", NUMERIC, "C58", "seq", None),
    ("3.3.4-4 #4", "センタ識別番号", CENTER_ID, "C56", "center_id", None),
    ("3.3.4-4 #5", "CAFIS処理通番", NUMERIC, "C58", "cafis_seq", None),
    ("3.3.4-4 #6", "仕向会社コード", ORG_CO, "C53", "org_co", None),
    ("3.3.4-4 #7", "仕向会社サブコード", ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-4 #8", "被仕向会社コード", DST_CO, "C01", "dst_co", None),
    ("3.3.4-4 #9", "被仕向会社サブコード", DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-4 #10", "CAFIS処理日", NUMERIC, "C58", "cafis_date", None),
    ("3.3.4-4 #11", "CAFIS処理日", DAY, "C58", "cafis_date", None),
    ("3.3.4-4 #12", "仕向処理日付", NUMERIC, "C58", "org_date", None),
    ("3.3.4-4 #13", "仕向処理日付", DAY, "C58", "org_date", None),
    ("3.3.4-4 #14", "トレーラレングス", NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-4 #15", "トレーラレングス", TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 表 3.3.4-5 取消確認（再）指令受信時のチェック -------------------------------------------------
TABLE_5 = (
    ("3.3.4-5 #1", "経路番号", ROUTE_HELD, "C55", "route", None),
    ("3.3.4-5 #2", "経路番号", ROUTE_FREE_OR_SAME, "C51", "route", None),
    ("3.3.4-5 #3", "仕向処理通番", LAST_PROTECTED, "C56", "seq", None),
    ("3.3.4-5 #4", "仕向会社コード", ORG_CO, "C53", "org_co", None),
    ("3.3.4-5 #5", "仕向会社サブコード", ORG_SUB, "C53", "org_sub", None),
    ("3.3.4-5 #6", "被仕向会社コード", DST_CO, "C01", "dst_co", None),
    ("3.3.4-5 #7", "被仕向会社サブコード", DST_SUB, "C01", "dst_sub", None),
    ("3.3.4-5 #8", "仕向処理日付", LAST_PROTECTED, "C56", "org_date", None),
    ("3.3.4-5 #9", "代行報告表示", LAST_PROTECTED, "C56", "proxy_report", None),
    ("3.3.4-5 #10", "トレーラレングス", NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-5 #11", "トレーラレングス", TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 表 3.3.4-6 チェック対象項目: (rule, item, kind, error code, error message) ---------------------
TABLE_6 = (
    ("3.3.4-6 #1", "仕向センタ", ORG_NOT_OPEN, "C60", None),     # 仕向センタ未開局
    ("3.3.4-6 #2", "仕向センタ", ORG_SERVICE, "C60", None),      # 仕向センタサービス対象外
    ("3.3.4-6 #3", "被仕向センタ", DST_NO_ROUTE, "C12", "CAF12"),  # 被仕向センタ経路無し
    ("3.3.4-6 #4", "被仕向センタ", DST_FAULT, "C13", "CAF13"),     # 被仕向センタ障害中
    ("3.3.4-6 #5", "被仕向センタ", DST_SUSPENDED, "C14", "CAF14"),  # 被仕向センタ休止中
    ("3.3.4-6 #6", "被仕向センタ", DST_SERVICE, "C57", "CAF57"),   # 被仕向センタサービス対象外
    ("3.3.4-6 #7", "CAFISセンタ", CAFIS_ENDED, "C15", "CAF15"),    # CAFISセンタ終了
    ("3.3.4-6 #8", "CAFISセンタ", CAFIS_FAULT, "C33", "CAF33"),    # CAFISセンタ障害
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
S_A = const(0)
S_B = const(1)
S_C = const(2)
S_D = const(3)
S_E = const(4)      # general report
S_EF = const(5)     # fault report (取消報告, 取消確認報告) on a destination route
S_FA = const(6)
S_FB = const(7)
SECTIONS = (
    # (section, name, content table, 表 3.3.4-6 rows, 表 3.3.4-7 row)
    (S_A, "A", TABLE_A, (7, 8), 1),
    (S_B, "B", TABLE_B, (7, 8), 1),
    (S_C, "C", TABLE_2, (1, 2, 3, 4, 5, 6, 7, 8), 2),
    (S_D, "D", TABLE_D, (3, 4, 5, 6, 7, 8), 2),
    (S_E, "E", TABLE_3, (1, 7, 8), 3),
    (S_EF, "E", TABLE_3, (1, 7, 8), 5),
    (S_FA, "F(a)", TABLE_4, (1, 2, 3, 4, 5, 6, 7, 8), 4),
    (S_FB, "F(b)", TABLE_5, (1, 2, 3, 4, 5, 6, 7, 8), 4),
)

ACCEPT = "accept"
DISCARD = "discard"
ABNORMAL = "abnormal_report"
TERMINAL_ERROR = "terminal_error"
KINDS = (ACCEPT, DISCARD, ABNORMAL, TERMINAL_ERROR)


class Verdict:
    """One verdict. kind: accept / discard / abnormal_report / terminal_error; code: Cnn, CAFnn
    or None; rule: '3.3.4-2 #3' or None; field: the seed's item name or None; section: the part
    of 3.3.4 (2) the telegram was checked under ('A'..'F(b)'); handling: the 表 3.3.4-7 row for
    state errors; response: the telegram CAFIS answers with (異常報告, 取消報告, 取消確認報告);
    reply: its message type (bytes); fault: True for fault telegrams (guidance from 表 3.3.5-2).
    Verdicts are shared and must not be changed."""

    def __init__(self, kind, code=None, rule=None, field=None, section=None, handling=None,
                 response=None, reply=None, fault=False):
        self.kind = kind
        self.code = code
        self.rule = rule
        self.field = field
        self.section = section
        self.handling = handling
        self.response = response
        self.reply = reply
        self.fault = fault
        self.code_b = code.encode() if code else None

    def as_tuple(self):
        return (self.kind, self.code, self.rule, self.field)

    def guidance(self):
        """The 3.3.5 catalogue entry for the code (errors.guidance), or None."""
        return errors.guidance(self.code, self.fault)

    def __repr__(self):
        return "Verdict(%r, %r, %r, %r)" % (self.kind, self.code, self.rule, self.field)


UNKNOWN_CENTER = Verdict(DISCARD)   # the named center is not in the registry


def _num(buf, off, ln):
    """Value of ln ASCII digits at buf[off:], or -1 if any is not a digit (no allocation)."""
    v = 0
    for i in range(off, off + ln):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + c - 48
    return v


def _digits(buf, off, ln):
    for i in range(off, off + ln):
        c = buf[i]
        if c < 48 or c > 57:
            return False
    return True


class Checker:
    """The entry point: check(telegram, sender, center) -> Verdict, for telegrams CAFIS
    receives; sent(telegram, center) for telegrams CAFIS sent (they open and free routes and
    set the command a control report must answer); expire(center, route) for a request whose
    answer timed out (C50); report(telegram, verdict) builds the abnormal report."""

    def __init__(self, reg):
        self.reg = reg
        self.cat = reg.catalogue
        self.cl = cl = reg.center_layout
        self.tl = reg.terminal_layout
        self.routes = rt.Routes(reg)
        self._uid = 0
        self._vc = {}
        self._route = cl.pos["route"]
        self._mt = cl.pos["msg_type"]
        self._seq = cl.pos["seq"]
        self._dst = cl.pos["dst_co"]
        self._tmt = self.tl.pos["msg_type"]
        self._tconn = self.tl.pos["conn_co"]
        self._len = (self._compile_len(LENGTH[0]), self._compile_len(LENGTH[1]))
        self._tables = []
        for sec in SECTIONS:
            rows = None
            for i in range(len(self._tables)):
                if SECTIONS[i][2] is sec[2]:
                    rows = self._tables[i]     # E general and E fault share 表 3.3.4-3
            if rows is None:
                lay = self.tl if sec[0] == S_D else cl
                rows = tuple(self._compile(r, lay) for r in sec[2])
            self._tables.append(rows)
        self._state_rows = []
        for r in TABLE_6:
            self._state_rows.append((self._next_uid(),) + r)
        # B(b) compares every field but the message type and the trailer length
        self._echo_fields = tuple((r[2], r[3], r[4]) for r in cl.fields
                                  if r[0] not in ("msg_type", "trailer_len"))
        self._echo_ix = 0
        self._accept = {}
        for sec in SECTIONS:
            self._accept[sec[0]] = Verdict(ACCEPT, section=sec[1], fault=sec[0] >= S_EF)
        self._expired = {}

    # -- compilation of the data tables ------------------------------------------------------
    def _next_uid(self):
        self._uid += 1
        return self._uid

    def _compile_len(self, row):
        return (self._next_uid(),) + row

    def _compile(self, row, lay):
        rule, item, kind, code, key, arg = row
        off, ln = lay.pos[key] if key else (0, 0)
        if isinstance(arg, str) and kind != REPEAT:
            arg = arg.encode()
            if kind == EQUALS and len(arg) != ln:
                # a deployment layout with another width: compare with the value re-padded
                arg = (b"0" * ln + arg)[-ln:] if ln else arg
        return (self._next_uid(), rule, item, kind, code, off, ln, arg)

    # -- verdicts, built once per (row, case) ---------------------------------------------------
    def _verdict(self, uid, variant, make, a, b, c):
        # make: 0 content row, 1 state row, 2 length (an int: a bound method would allocate)
        key = uid * 256 + variant
        v = self._vc.get(key)
        if v is None:
            if make == 0:
                v = self._content_v(a, b, c)
            elif make == 1:
                v = self._state_v(a, b, c)
            else:
                v = self._len_v(a, b, c)
            self._vc[key] = v
        return v

    def _content_v(self, row, sec, field):
        section = SECTIONS[sec][1]
        code = row[4]
        if sec == S_D:
            return Verdict(TERMINAL_ERROR, code, row[1], field, section)
        if code is None:
            return Verdict(DISCARD, None, row[1], field, section, fault=sec >= S_EF)
        return Verdict(ABNORMAL, code, row[1], field, section, None, errors.ABN,
                       self.cat.reply[cat.ABNORMAL], sec >= S_FA)

    def _state_v(self, srow, sec, _unused):
        uid, rule, item, kind, code, msg = srow
        section = SECTIONS[sec][1]
        h = TABLE_7[SECTIONS[sec][4] - 1]
        if h[2]:
            return Verdict(DISCARD, None, rule, item, section, h[0], fault=sec >= S_EF)
        if sec == S_D:
            return Verdict(TERMINAL_ERROR, msg, rule, item, section, h[0])
        response = errors.ABN
        reply = self.cat.reply[cat.ABNORMAL]
        if sec >= S_FA and code in errors.CANCEL_REPORT_CODES:
            cls = cat.CANCEL_REP if sec == S_FA else cat.CONFIRM_REP
            reply = self.cat.reply[cls]
            response = self.cat.entry(int(reply))[2]
        return Verdict(ABNORMAL, code, rule, item, section, h[0], response, reply, sec >= S_FA)

    def _len_v(self, row, kind, fault):
        uid, rule, item, sender, code = row
        if kind == DISCARD:
            return Verdict(DISCARD, None, rule, item)
        if sender == "terminal":
            return Verdict(TERMINAL_ERROR, code, rule, item)
        return Verdict(ABNORMAL, code, rule, item, None, None, errors.ABN, self.cat.reply[cat.ABNORMAL],
                       bool(fault))

    # -- the entry point ------------------------------------------------------------------------
    def check(self, buf, sender, center=None, n=-1):
        """One verdict for one received telegram: buf (bytes, bytearray or memoryview; the
        first n bytes, all by default), sender "center" or "terminal", center: the registry id
        of the center whose line it came in on (ignored for terminals)."""
        if n < 0 or n > len(buf):
            n = len(buf)
        if sender == "terminal":
            return self._check_terminal(buf, n)
        if not isinstance(center, str):
            return UNKNOWN_CENTER
        cen = self.reg.by_id.get(center)
        if cen is None:
            return UNKNOWN_CENTER
        cl = self.cl
        lr = self._len[1]
        if n < cl.min_len:
            return self._verdict(lr[0], 0, 2, lr, DISCARD, None)
        if n > cl.max_len:
            k = self.cat.cls(_num(buf, self._mt[0], self._mt[1]))
            fault = 2 if (k == cat.CANCEL or k == cat.CONFIRM) else 1
            return self._verdict(lr[0], fault, 2, lr, ABNORMAL, fault == 2)
        route = _num(buf, self._route[0], self._route[1])
        if route == 0:
            sec = S_A
        elif route == 1:
            sec = S_B
        else:
            k = self.cat.cls(_num(buf, self._mt[0], self._mt[1]))
            if k == cat.REP or k == cat.ABNORMAL or k == cat.CTRL_REP:
                sec = S_E
            elif k == cat.CANCEL_REP or k == cat.CONFIRM_REP:
                sec = S_EF
            elif k == cat.CANCEL:
                sec = S_FA
            elif k == cat.CONFIRM:
                sec = S_FB
            else:
                sec = S_C
        slot = cen.route_index(route) if route > 1 else -1
        rows = self._tables[sec]
        for row in rows:
            if not self._row_ok(row, buf, n, cen, slot):
                if row[3] == CMD_ECHO:
                    f = self._echo_fields[self._echo_ix]
                    return self._verdict(row[0], self._echo_ix, 0, row, sec, f[0])
                return self._verdict(row[0], sec, 0, row, sec, row[2])
        mt = _num(buf, self._mt[0], self._mt[1])
        for srow_no in SECTIONS[sec][3]:
            srow = self._state_rows[srow_no - 1]
            if self._state_fails(srow[3], buf, cen, mt, None):
                return self._verdict(srow[0], sec, 1, srow, sec, None)
        # accepted: the state changes only now (a discarded telegram leaves no trace)
        if sec == S_B:
            self.routes.cmd_set[cen.idx] = 0
        elif sec == S_C or sec == S_FA or sec == S_FB:
            self.routes.open(cen.idx, slot, buf, rt.ORIG)
        elif sec == S_E or sec == S_EF:
            self.routes.free(cen.idx, slot)
        return self._accept[sec]

    def _check_terminal(self, buf, n):
        tl = self.tl
        lr = self._len[0]
        if n < tl.min_len:
            return self._verdict(lr[0], 0, 2, lr, DISCARD, None)
        if n > tl.max_len:
            return self._verdict(lr[0], 1, 2, lr, TERMINAL_ERROR, None)
        for row in self._tables[S_D]:
            if not self._row_ok(row, buf, n, None, -1):
                return self._verdict(row[0], 0, 0, row, S_D, row[2])
        con = self.reg.connection_at(buf, self._tconn[0], self._tconn[1])
        mt = _num(buf, self._tmt[0], self._tmt[1])
        dest = con.dest_company
        for srow_no in SECTIONS[S_D][3]:
            srow = self._state_rows[srow_no - 1]
            if dest is None and DST_NO_ROUTE <= srow[3] <= DST_SERVICE:
                continue        # no destination known for this connection company
            if self._state_fails(srow[3], buf, None, mt, dest):
                return self._verdict(srow[0], S_D, 1, srow, S_D, None)
        return self._accept[S_D]

    # -- one content row ---------------------------------------------------------------------------
    def _row_ok(self, row, buf, n, cen, slot):
        kind = row[3]
        off = row[5]
        ln = row[6]
        if kind == NUMERIC:
            return _digits(buf, off, ln)
        if kind == DAY:
            d = _num(buf, off + ln - 2, 2)
            return 1 <= d <= 31
        if kind == REPEAT:
            return True
        if kind == EQUALS:
            return regmod.same(buf, off, row[7])
        if kind == TRAILER_LEN:
            hlen = self.cl.hlen
            want = n - hlen
            if not self.cl.shift_counted:
                for i in range(hlen, n):
                    c = buf[i]
                    if c == 0x0E or c == 0x0F:
                        want -= 1
            return _num(buf, off, ln) == want
        if kind == ROUTE_HELD:
            return slot >= 0
        routes = self.routes
        if kind == ROUTE_FREE:
            st = routes.flags[cen.idx][slot]
            return st != rt.ORIG and st != rt.DEST
        if kind == ROUTE_FREE_OR_SAME:
            st = routes.flags[cen.idx][slot]
            if st == rt.DEST:
                return False
            if st == rt.ORIG:
                return routes.same(cen.idx, slot, buf, self._seq[0], self._seq[1])
            return True
        if kind == ROUTE_DEST:
            return routes.flags[cen.idx][slot] == rt.DEST
        if kind == PROTECTED:
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == LAST_PROTECTED:
            if routes.flags[cen.idx][slot] == rt.NEVER:
                return False
            return routes.same(cen.idx, slot, buf, off, ln)
        if kind == ANSWER:
            kept = routes.slots[cen.idx]
            req = _num(kept, slot * self.cl.hlen + off, ln)
            return self.cat.answers(req, _num(buf, off, ln))
        if kind == ORG_CO:
            return regmod.same(buf, off, cen.company.code_b)
        if kind == ORG_SUB:
            return regmod.same(buf, off, cen.company.sub_b)
        if kind == DST_CO:
            return self.reg.company_at(buf, off, ln) is not None
        if kind == DST_SUB:
            co = self.reg.company_at(buf, self._dst[0], self._dst[1])
            return co is not None and regmod.same(buf, off, co.sub_b)
        if kind == SERVICE:
            return self.cat.cls(_num(buf, off, ln)) == cat.REQ
        if kind == CENTER_ID:
            for ident in cen.center_ids:
                if regmod.same(buf, off, ident):
                    return True
            return False
        if kind == CTL_TYPE:
            k = self.cat.cls(_num(buf, off, ln))
            return k == cat.CTRL_REQ or k == cat.CTRL_BOTH
        if kind == CMD_ANSWER:
            if not routes.cmd_set[cen.idx]:
                return False
            cmd = routes.cmd[cen.idx]
            return self.cat.answers(_num(cmd, off, ln), _num(buf, off, ln))
        if kind == CMD_ECHO:
            cmd = routes.cmd[cen.idx]
            i = 0
            for f in self._echo_fields:
                fo = f[1]
                for j in range(fo, fo + f[2]):
                    if buf[j] != cmd[j]:
                        self._echo_ix = i
                        return False
                i += 1
            return True
        if kind == CONN_CO:
            return self.reg.connection_at(buf, off, ln) is not None
        if kind == SEND_CLASS:
            c = buf[off]
            for x in row[7]:
                if c == x:
                    return True
            return False
        return False

    # -- one state row (表 3.3.4-6) -----------------------------------------------------------------
    def _state_fails(self, kind, buf, cen, mt, dest):
        reg = self.reg
        if kind == ORG_NOT_OPEN:
            return cen.state != regmod.ONLINE
        if kind == ORG_SERVICE:
            return mt not in cen.services
        if kind == CAFIS_ENDED:
            return reg.cafis_state == regmod.CAFIS_ENDED
        if kind == CAFIS_FAULT:
            return reg.cafis_state == regmod.CAFIS_FAULT
        if dest is None:
            dest = reg.company_at(buf, self._dst[0], self._dst[1])
            if dest is None:
                return True
        d = dest.dest
        if kind == DST_NO_ROUTE:
            return d < 0 or self.routes.full(d)
        dc = reg.centers[d]
        if kind == DST_FAULT:
            return dc.state == regmod.FAULT
        if kind == DST_SUSPENDED:
            return dc.state == regmod.SUSPENDED or dc.state == regmod.NOT_OPEN
        if kind == DST_SERVICE:
            return dc.serves is None or mt not in dc.serves
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
        k = self.cat.cls(_num(buf, self._mt[0], self._mt[1]))
        if k == cat.CTRL_CMD or k == cat.CTRL_BOTH:
            self.routes.set_cmd(cen.idx, buf)
            return True
        route = _num(buf, self._route[0], self._route[1])
        slot = cen.route_index(route) if route > 1 else -1
        if slot < 0:
            return False
        if k == cat.REQ or k == cat.CANCEL or k == cat.CONFIRM:
            self.routes.open(cen.idx, slot, buf, rt.DEST)
            return True
        if k == cat.REP or k == cat.CANCEL_REP or k == cat.CONFIRM_REP or k == cat.ABNORMAL:
            if self.routes.flags[cen.idx][slot] == rt.ORIG:
                self.routes.free(cen.idx, slot)
                return True
        return False

    def expire(self, center, route):
        """CAFIS timed out waiting for the answer to the request open on `center`'s route
        `route` (int): frees the route and returns the C50 verdict (表 3.3.5-1 for a general
        request, 表 3.3.5-2 #8 with 取消報告 / 取消確認報告 for fault telegrams), or None if
        no request of that center is open there. report(self.routes.kept(...), v) builds the
        answer."""
        cen = self.reg.by_id.get(center)
        if cen is None:
            return None
        slot = cen.route_index(route)
        if slot < 0 or self.routes.flags[cen.idx][slot] != rt.ORIG:
            return None
        kept = self.routes.slots[cen.idx]
        k = self.cat.cls(_num(kept, slot * self.cl.hlen + self._mt[0], self._mt[1]))
        self.routes.free(cen.idx, slot)
        v = self._expired.get(k)
        if v is None:
            if k == cat.CANCEL or k == cat.CONFIRM:
                reply = self.cat.reply[cat.CANCEL_REP if k == cat.CANCEL else cat.CONFIRM_REP]
                v = Verdict(ABNORMAL, "C50", "3.3.5-2 #8", "経路番号", "F(a)" if k == cat.CANCEL else "F(b)",
                            None, self.cat.entry(int(reply))[2], reply, True)
            else:
                v = Verdict(ABNORMAL, "C50", "3.3.5-1 C50", "経路番号", "C", None, errors.ABN,
                            self.cat.reply[cat.ABNORMAL])
            self._expired[k] = v
        return v

    def kept(self, center, route):
        """The kept header of `center`'s route `route` (memoryview) or None."""
        cen = self.reg.by_id.get(center)
        slot = cen.route_index(route) if cen is not None else -1
        if slot < 0 or self.routes.flags[cen.idx][slot] == rt.NEVER:
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
