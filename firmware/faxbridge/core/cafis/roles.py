"""Session roles of telegrams: which row or column of the 3.3.1 tables a message type is.

Built on the parser's catalogue (catalogue.py: class of each message type, and which types
answer which) and layout (layout.py: where the fields are). The only extra data here is what
the catalogue's classes do not say: which control command is which (開始指令, 許可指令, ...),
which control request is which, the fault re-commands of 表 3.3.2-1 and the reject report of
each request (3.3.3). A deployment may replace any of it (Roles(types=...)).
"""
from micropython import const

from . import catalogue as _cat
from . import layout as _layout

# the catalogue's classes (catalogue.py's _CTRL_REQ .. _ABNORMAL, private there: the tools read
# them here; test_cafis_registry compares)
CTRL_REQ = const(1)     # control request, member -> CAFIS (route 0000)
CTRL_CMD = const(2)     # control command, CAFIS -> member
CTRL_BOTH = const(3)    # control telegram that goes either way (9210)
CTRL_REP = const(4)     # control report, member's answer to a command (route 0001)
REQ = const(5)          # general request
REP = const(6)          # general report (incl. reject reports ××拒否報告)
CANCEL = const(7)       # 取消（再）指令
CANCEL_REP = const(8)   # 取消報告
CONFIRM = const(9)      # 取消確認（再）指令
CONFIRM_REP = const(10)  # 取消確認報告
ABNORMAL = const(11)    # 異常報告

# a catalogue row's cells (catalogue.py's _C_*, private there; test_cafis_registry compares)
_C_CODE = const(0)
_C_EN = const(1)
_C_CLS = const(3)
_C_ANS = const(4)

# Message types with a fixed session role (spec/cafis.md, default catalogue). Seed: 7020, 0720, 9210.
TYPES = (
    ("restart_req", "7020"),     # 再開始要求 (3.3.4 A(b))
    ("end_req", "0720"),         # 終了要求 (3.3.4 A(b))
    ("line_check", "9210"),      # 回線障害回復確認指令, either way (3.3.4 A(b))
    ("start_cmd", "7000"),       # 開始指令
    ("permit_cmd", "7030"),      # 許可指令: part of the start sequence, column 開始指令 (docs/cafis-engine.md)
    ("end_notice", "0700"),      # 終了予告指令
    ("end_cmd", "0730"),         # 終了指令
    ("counter", "8000"),         # カウンタ通知
    ("cancel", "9100"),          # 取消指令
    ("cancel_re", "9120"),       # 取消再指令 (表 3.3.2-1 #3)
    ("confirm", "9300"),         # 取消確認指令 (表 3.3.2-1 #1)
    ("confirm_re", "9320"),      # 取消確認再指令 (表 3.3.2-1 #2)
)

# Control routes (spec/cafis.md, Routes): 0000 member request, 0001 member report.
ROUTE_REQ = b"0000"
ROUTE_REP = b"0001"

# what a telegram is, for the engine
K_REQUEST = "request"            # general request (xx要求)
K_CANCEL = "cancel"              # 取消（再）指令
K_CONFIRM = "cancel_confirm"     # 取消確認（再）指令
K_REPORT = "report"              # any report (general, control, fault, abnormal)
K_UNKNOWN = "unknown"            # not in the catalogue


def digits(n, width):
    """n as `width` ASCII digits (bytes), zero-padded."""
    s = b"%d" % n
    return b"0" * (width - len(s)) + s


def table(rows):
    """A catalogue's rows as a tuple of rows (code, name_en, name_ja, class, answers): the
    default catalogue's text (catalogue.DEFAULT) split line by line, any other table as it is.
    A tool's (set-up, tests): the unit's checks read only the catalogue's index."""
    if not isinstance(rows, str):
        return rows
    out = []
    for line in rows.split("\n"):
        if line:
            c, en, ja, k, a = line.split("|")
            out.append((c, en, ja, int(k), tuple(a.split())))
    return tuple(out)

class Roles:
    """Classifies center telegrams (63-byte header) by message type for the 3.3.1 tables."""

    def __init__(self, catalogue=None, layout=None, types=TYPES):
        self.cat = catalogue or _cat.Catalogue()
        self.lay = layout or _layout.center()
        self.code = {}
        self.role = {}
        for key, code in types:
            n = int(code)
            if not self.cat.cls(n):
                raise ValueError("roles: %s (%s) is not in the catalogue" % (code, key))
            self.code[key] = code.encode()
            self.role[n] = key
        for key, _ in TYPES:
            if key not in self.code:
                raise ValueError("roles: no message type for %s" % key)
        self.hlen = self.lay.hlen
        # (offset, length) by field key: the engine reads fields by name per telegram (a tool:
        # a dict is fine here; the board's checker keeps bytes, checks.py)
        self.pos = {}
        for r in _layout.rows(self.lay.fields):
            self.pos[r[_layout.F_KEY]] = (r[_layout.F_OFF], r[_layout.F_LEN])
        # class and answers of each message type by number (the catalogue's, as dicts for speed)
        self._cls = {}
        self._ans = {}
        rows = table(self.cat.rows)      # DEFAULT's text split (a tool: allocation is fine)
        by_code = {}
        for row in rows:
            n = int(row[_C_CODE])
            self._cls[n] = row[_C_CLS]
            by_code[n] = row
            self._ans[n] = tuple(int(a) for a in row[_C_ANS])
        self.off_type, self.len_type = self.lay.at("msg_type")
        self.off_route, self.len_route = self.lay.at("route")
        self.off_tlen, self.len_tlen = self.lay.at("trailer_len")
        # the first answer of each message type, as field bytes (the report to a command)
        self.answer = {}
        for row in rows:
            a = row[_C_ANS]
            if a:
                self.answer[int(row[_C_CODE])] = digits(int(a[0]), self.len_type)
        # reject report (××拒否報告) of each general request: the answer named "reject"
        self.reject = {}
        for row in rows:
            if row[_C_CLS] == REQ:
                for a in row[_C_ANS]:
                    e = by_code.get(int(a))
                    if e is not None and e[_C_CLS] == REP and "reject" in e[_C_EN]:
                        self.reject[int(row[_C_CODE])] = a.encode()

    # ---- fields -----------------------------------------------------------------------------
    def mtype(self, tg):
        """Message type as an int (-1 when not numeric or the telegram is too short)."""
        if len(tg) < self.hlen:
            return -1
        return _layout.num(tg, self.off_type, self.len_type)

    def route(self, tg):
        """Route number as bytes (b'' when too short)."""
        if len(tg) < self.hlen:
            return b""
        return bytes(tg[self.off_route:self.off_route + self.len_route])

    def field(self, tg, key):
        off, ln = self.pos[key]
        return bytes(tg[off:off + ln])

    def with_type(self, tg, code, route=None):
        """A copy of telegram `tg` with message type `code` (bytes) and optionally another route."""
        b = bytearray(tg)
        b[self.off_type:self.off_type + self.len_type] = code
        if route is not None:
            b[self.off_route:self.off_route + self.len_route] = route
        return bytes(b)

    def with_route(self, tg, route):
        """A copy of telegram `tg` on another route (bytes)."""
        b = bytearray(tg)
        b[self.off_route:self.off_route + self.len_route] = route
        return bytes(b)

    def with_trailer(self, tg, trailer):
        """A copy of tg's header followed by `trailer`, trailer length set (3 digits)."""
        b = bytearray(tg[:self.hlen])
        b[self.off_tlen:self.off_tlen + self.len_tlen] = digits(len(trailer), self.len_tlen)
        return bytes(b) + bytes(trailer)

    def trailer(self, tg):
        return bytes(tg[self.hlen:])

    # ---- roles ------------------------------------------------------------------------------
    def kind(self, tg):
        """Role of a telegram: a key of TYPES ('restart_req', 'start_cmd', ...), or 'request',
        'cancel', 'cancel_confirm', 'report', or 'unknown'."""
        n = self.mtype(tg)
        r = self.role.get(n)
        if r is not None:
            if r in ("cancel", "cancel_re"):
                return K_CANCEL
            if r in ("confirm", "confirm_re"):
                return K_CONFIRM
            return r
        c = self._cls.get(n, 0)
        if c == REQ:
            return K_REQUEST
        if c == CANCEL:
            return K_CANCEL
        if c == CONFIRM:
            return K_CONFIRM
        if c in (REP, CTRL_REP, CANCEL_REP, CONFIRM_REP, ABNORMAL):
            return K_REPORT
        return K_UNKNOWN

    def cls(self, tg):
        return self._cls.get(self.mtype(tg), 0)

    def answers(self, sent, got):
        """True when telegram `got` answers telegram `sent` (catalogue answers, or an abnormal
        report 異常報告 to a request or fault command)."""
        a = self.mtype(sent)
        b = self.mtype(got)
        if b in self._ans.get(a, ()):
            return True
        if self._cls.get(b) == ABNORMAL and self._cls.get(a) in (REQ, CANCEL, CONFIRM):
            return True
        return False

    def error_code(self, tg):
        """The error code a report carries: the first 3 trailer bytes when they look like Cnn."""
        t = tg[self.hlen:self.hlen + 3]
        if len(t) == 3 and t[0] == 67 and _layout.num(t, 1, 2) >= 0:
            return bytes(t).decode()
        return None


# 表 3.3.4-3 / 3.3.5-2 #13: protected items (保護項目) that identify a transaction on a route.
PROTECTED = ("seq", "org_co", "dst_co", "org_date")


def protected(roles, tg):
    """The protected items of a telegram, as one bytes value (compared, not parsed)."""
    out = b""
    for k in PROTECTED:
        out += roles.field(tg, k)
    return out


def same_protected(roles, a, b):
    """True when telegrams a and b carry the same protected items (compared in place)."""
    for k in PROTECTED:
        off, ln = roles.pos[k]
        for i in range(off, off + ln):
            if a[i] != b[i]:
                return False
    return True


def protected_is(roles, tg, items):
    """True when telegram tg carries the protected items `items` (from protected())."""
    j = 0
    for k in PROTECTED:
        off, ln = roles.pos[k]
        for i in range(off, off + ln):
            if tg[i] != items[j]:
                return False
            j += 1
    return True
