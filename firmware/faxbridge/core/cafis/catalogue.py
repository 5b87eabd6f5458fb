"""Message-type catalogue (spec/cafis.md, "Default message-type catalogue") as data.

Only 7020, 0720 and 9210 come from the seed (3.3.4 A(b)); the rest are project defaults that a
deployment may replace (registry key "message_types"). A row is
(code, name_en, name_ja, class, answers): answers are the codes that answer this one. The
default rows are one str, a line each (a constant tuple of rows would load as one heap object
per cell and row): roles.table() reads them as rows for the tools; the unit's checks read only
the index below and never split them.
"""
from micropython import const

from . import layout as _layout

# Classes of telegram (what a message type is), private (no module name each: the board's
# checks name the ones they compare with their own constants); roles.py names them for the tools
# (roles.REQ ..) and test_cafis_registry compares the two.
_CTRL_REQ = const(1)     # control request, member -> CAFIS (route 0000)
_CTRL_CMD = const(2)     # control command, CAFIS -> member
_CTRL_BOTH = const(3)    # control telegram that goes either way (9210)
_CTRL_REP = const(4)     # control report, member's answer to a command (route 0001)
_REQ = const(5)          # general request
_REP = const(6)          # general report (incl. reject reports ××拒否報告)
_CANCEL = const(7)       # 取消（再）指令
_CANCEL_REP = const(8)   # 取消報告
_CONFIRM = const(9)      # 取消確認（再）指令
_CONFIRM_REP = const(10)  # 取消確認報告
_ABNORMAL = const(11)    # 異常報告

# the classes' names in the registry's "message_types" (docs/cafis.md), class CTRL_REQ first:
# CLASS_NAMES.split()[_REQ - 1] (one str: a constant tuple would load as one heap object a name)
CLASS_NAMES = ("control_request control_command control control_report request report cancel cancel_report "
               "cancel_confirm cancel_confirm_report abnormal_report")

DEFAULT = (    # code|name|name_ja|class (CTRL_REQ ..)|answers: a message type a line
    "7020|restart request|再開始要求|1|\n"  # seed 3.3.4 A(b)
    "0720|end request|終了要求|1|\n"  # seed 3.3.4 A(b)
    "9210|line-fault recovery confirmation command|回線障害回復確認指令|3|9211\n"  # seed
    "9211|line-fault recovery confirmation report|回線障害回復確認報告|4|\n"
    "7000|start command|開始指令|2|7001\n"
    "7001|start report|開始報告|4|\n"
    "7030|permission command|許可指令|2|7031\n"
    "7031|permission report|許可報告|4|\n"
    "0700|end-notice command|終了予告指令|2|0701\n"
    "0701|end-ready report|終了準備完了報告|4|\n"
    "0730|end command|終了指令|2|0731\n"
    "0731|end report|終了報告|4|\n"
    "8000|counter notification|カウンタ通知|2|8001\n"
    "8001|counter report|カウンタ報告|4|\n"
    "0100|authorization request|オーソリ要求|5|0110 0120\n"
    "0110|authorization report|オーソリ報告|6|\n"
    "0120|authorization reject report|オーソリ拒否報告|6|\n"
    "0200|sales request|売上要求|5|0210 0220\n"
    "0210|sales report|売上報告|6|\n"
    "0220|sales reject report|売上拒否報告|6|\n"
    "0400|void request|取消要求|5|0410 0420\n"
    "0410|void report|取消報告|6|\n"
    "0420|void reject report|取消拒否報告|6|\n"
    "9100|cancel command|取消指令|7|9110\n"
    "9120|cancel re-command|取消再指令|7|9110\n"
    "9110|cancel report|取消報告|8|\n"
    "9300|cancel-confirm command|取消確認指令|9|9310\n"
    "9320|cancel-confirm re-command|取消確認再指令|9|9310\n"
    "9310|cancel-confirm report|取消確認報告|10|\n"
    "9900|abnormal report|異常報告|11|\n"
)

# (index, answers, reply types and their names) of DEFAULT, as Catalogue builds them: the index has 6 bytes a
# message type, in code order (code, class, first answer, answers, row in DEFAULT), the answers
# 2 bytes each. Constants (flash when frozen); a test builds them from a copy of DEFAULT.
_INDEX0 = ((
    b"\x00\x64\x05\x00\x02\x0e"    # 0100
    b"\x00\x6e\x06\x02\x00\x0f"    # 0110
    b"\x00\x78\x06\x02\x00\x10"    # 0120
    b"\x00\xc8\x05\x02\x02\x11"    # 0200
    b"\x00\xd2\x06\x04\x00\x12"    # 0210
    b"\x00\xdc\x06\x04\x00\x13"    # 0220
    b"\x01\x90\x05\x04\x02\x14"    # 0400
    b"\x01\x9a\x06\x06\x00\x15"    # 0410
    b"\x01\xa4\x06\x06\x00\x16"    # 0420
    b"\x02\xbc\x02\x06\x01\x08"    # 0700
    b"\x02\xbd\x04\x07\x00\x09"    # 0701
    b"\x02\xd0\x01\x07\x00\x01"    # 0720
    b"\x02\xda\x02\x07\x01\x0a"    # 0730
    b"\x02\xdb\x04\x08\x00\x0b"    # 0731
    b"\x1b\x58\x02\x08\x01\x04"    # 7000
    b"\x1b\x59\x04\x09\x00\x05"    # 7001
    b"\x1b\x6c\x01\x09\x00\x00"    # 7020
    b"\x1b\x76\x02\x09\x01\x06"    # 7030
    b"\x1b\x77\x04\x0a\x00\x07"    # 7031
    b"\x1f\x40\x02\x0a\x01\x0c"    # 8000
    b"\x1f\x41\x04\x0b\x00\x0d"    # 8001
    b"\x23\x8c\x07\x0b\x01\x17"    # 9100
    b"\x23\x96\x08\x0c\x00\x19"    # 9110
    b"\x23\xa0\x07\x0c\x01\x18"    # 9120
    b"\x23\xfa\x03\x0d\x01\x02"    # 9210
    b"\x23\xfb\x04\x0e\x00\x03"    # 9211
    b"\x24\x54\x09\x0e\x01\x1a"    # 9300
    b"\x24\x5e\x0a\x0f\x00\x1c"    # 9310
    b"\x24\x68\x09\x0f\x01\x1b"    # 9320
    b"\x26\xac\x0b\x10\x00\x1d"),    # 9900
    # answers: 0110 0120 0210 0220 0410 0420 0701 0731 7001 7031 8001 9110 9110 9211 9310 9310
    (b"\x00\x6e\x00\x78\x00\xd2\x00\xdc\x01\x9a\x01\xa4\x02\xbd\x02\xdb"
     b"\x1b\x59\x1b\x77\x1f\x41\x23\x96\x23\x96\x23\xfb\x24\x5e\x24\x5e"),
    # reply types by class: CANCEL_REP, CONFIRM_REP, ABNORMAL; then their names (name_ja) by
    # ABNORMAL + 1 + class
    (None, None, None, None, None, None, None, None, b"9110", None, b"9310", b"9900",
     None, None, None, None, None, None, None, None, "取消報告", None, "取消確認報告", "異常報告"))

# a catalogue row, by name (private: a module name each would stay in RAM; roles.py, the
# tool that reads rows, has its own, and test_cafis_registry compares them with these)
_C_CODE = const(0)
_C_EN = const(1)
_C_JA = const(2)
_C_CLS = const(3)
_C_ANS = const(4)

_REC = const(6)     # index record: code (2 bytes), class, first answer, answer count, row


CatalogueError = _layout.RegistryError


class Catalogue:
    """Message types by number. `cls(n)` -> class (0 if unknown: not listed); `answers(req, rep)` is True when
    message type `rep` answers `req` (both as ints, -1 for "not numeric"); `reply[cls]`: the
    message type (bytes) of the reply classes 異常報告, 取消報告, 取消確認報告, `reply[_ABNORMAL + 1 +
    cls]` its name (read per verdict: no allocation; no attribute more). The rows stay as given (the default ones are
    not copied); what the checks look up per telegram is one sorted index in bytes, searched in
    place."""

    def __init__(self, rows=DEFAULT):
        if rows is DEFAULT:     # its index, answers and replies are the constants above
            self.rows = rows
            self._ix, self._ans, self.reply = _INDEX0
            return
        self.rows = rows if isinstance(rows, tuple) else tuple(rows)
        if len(self.rows) > 255:
            raise CatalogueError("message_types: at most 255 message types")
        reply = [None] * (2 * _ABNORMAL + 2)     # by class: the message type (bytes) of a reply class,
        # then by _ABNORMAL + 1 + class its name_ja
        order = []
        nans = 0
        for i in range(len(self.rows)):
            row = self.rows[i]
            code = row[_C_CODE]
            if not _layout.is_code(code):
                raise CatalogueError("message_types: code %r must be 4 digits" % (code,))
            cls = row[_C_CLS]
            if not isinstance(cls, int) or not 0 < cls <= _ABNORMAL:
                raise CatalogueError("message_types: %s has an unknown class" % code)
            for a in row[_C_ANS]:
                if not _layout.is_code(a):
                    raise CatalogueError("message_types: %s: answer %r must be 4 digits" % (code, a))
            nans += len(row[_C_ANS])
            order.append((int(code), i))
            if cls in (_ABNORMAL, _CANCEL_REP, _CONFIRM_REP) and reply[cls] is None:
                reply[cls] = code.encode()      # the first of its class in the table
                reply[_ABNORMAL + 1 + cls] = row[_C_JA]
        if nans > 255:
            raise CatalogueError("message_types: at most 255 answers in all")
        order.sort()
        ix = bytearray(_REC * len(order))
        ans = bytearray(2 * nans)
        p = 0
        k = 0
        for n, i in order:
            if p and (ix[p - _REC] << 8 | ix[p - _REC + 1]) == n:
                raise CatalogueError("message_types: %s is listed twice" % self.rows[i][_C_CODE])
            row = self.rows[i]
            ix[p] = n >> 8
            ix[p + 1] = n & 0xFF
            ix[p + 2] = row[_C_CLS]
            ix[p + 3] = k
            ix[p + 4] = len(row[_C_ANS])
            ix[p + 5] = i
            for a in row[_C_ANS]:
                v = int(a)
                ans[2 * k] = v >> 8
                ans[2 * k + 1] = v & 0xFF
                k += 1
            p += _REC
        self._ix = ix
        self._ans = ans
        for row in self.rows:
            for a in row[_C_ANS]:
                if self._find(int(a)) < 0:
                    raise CatalogueError("message_types: %s answers %s, which is not listed" % (a, row[_C_CODE]))
        for cls in (_ABNORMAL, _CANCEL_REP, _CONFIRM_REP):
            if reply[cls] is None:
                raise CatalogueError("message_types: no %s message type" % CLASS_NAMES.split()[cls - 1])
        self.reply = tuple(reply)

    def _find(self, n):
        """Offset of message type n's record in the index, or -1 (binary search, in place)."""
        ix = self._ix
        lo = 0
        hi = len(ix) // _REC
        while lo < hi:
            mid = (lo + hi) >> 1
            p = mid * _REC
            v = ix[p] << 8 | ix[p + 1]
            if v < n:
                lo = mid + 1
            elif v > n:
                hi = mid
            else:
                return p
        return -1

    def cls(self, num):
        p = self._find(num)
        return 0 if p < 0 else self._ix[p + 2]

    def answers(self, req, rep):
        p = self._find(req)
        if p < 0:
            return False
        ans = self._ans
        k = self._ix[p + 3]
        for j in range(2 * k, 2 * (k + self._ix[p + 4]), 2):
            if (ans[j] << 8 | ans[j + 1]) == rep:
                return True
        return False


def from_list(items):
    """Catalogue from its JSON form: [{"code", "name", "name_ja", "class", "answers"}, ...]."""
    if not isinstance(items, list) or not items:
        raise CatalogueError("message_types: must be a non-empty list")
    names = CLASS_NAMES.split()
    rows = []
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise CatalogueError("message_types[%d]: must be an object" % i)
        for k in it:
            if k not in ("code", "name", "name_ja", "class", "answers"):
                raise CatalogueError("message_types[%d]: unknown key %s" % (i, k))
        code = it.get("code")
        cls = it.get("class")
        if cls not in names:
            raise CatalogueError("message_types[%d]: class must be one of %s" % (i, ", ".join(names)))
        cls = names.index(cls) + 1
        name = it.get("name", "")
        ja = it.get("name_ja", "")
        ans = it.get("answers", [])
        if not (isinstance(name, str) and isinstance(ja, str)):
            raise CatalogueError("message_types[%d]: names must be strings" % i)
        if not isinstance(ans, list):
            raise CatalogueError("message_types[%d]: answers must be a list" % i)
        rows.append((code, name, ja, cls, tuple(ans)))
    return Catalogue(rows)
