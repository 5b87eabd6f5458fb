"""Helpers for the CAFIS engine tests (both runtimes): telegrams and effect lookups."""
from faxbridge.core.cafis import layout

_DEFAULTS = {
    "route": "0100", "seq": "000123", "center_id": "01", "line": "001", "cafis_seq": "      ",
    "org_co": "ORG0001", "org_sub": "0000", "dst_co": "DST0001", "dst_sub": "0000",
    "msg_type": "0100", "cafis_date": "1122", "cat_status": "0", "org_date": "22",
    "proxy_report": "00", "proxy_error": "000", "proxy_reroute": "0", "trailer_len": None,
}


def tg(msg_type="0100", route="0100", trailer=b"", **fields):
    """A center telegram (default 63-byte header layout) with the given fields."""
    lay = layout.center()
    vals = dict(_DEFAULTS)
    vals["msg_type"] = msg_type
    vals["route"] = route
    for k in fields:
        if k not in vals:
            raise KeyError(k)
        vals[k] = fields[k]
    if vals["trailer_len"] is None:
        n = "%d" % len(trailer)
        vals["trailer_len"] = "0" * (3 - len(n)) + n
    b = bytearray(b" " * lay.hlen)
    for row in layout.rows(lay.fields):
        key, off, ln = row[0], row[3], row[4]
        v = vals[key]
        if isinstance(v, str):
            v = v.encode()
        assert len(v) == ln, (key, v)
        b[off:off + ln] = v
    return bytes(b) + trailer


def mtype(t):
    return t[43:47].decode()


def route(t):
    return t[0:4]


def kinds(effs):
    return [e[0] for e in effs]


def of(effs, kind):
    """The effects of one kind."""
    return [e for e in effs if e[0] == kind]


def sent(effs):
    """Message types (str) of the telegrams sent, in order."""
    return [mtype(e[2]) for e in effs if e[0] == "send"]


def one(effs, kind):
    es = of(effs, kind)
    assert len(es) == 1, (kind, effs)
    return es[0]


# The seed's tables (002, 3.3.1 (1) and (2)), copied line by line as they stand in the seed.
SEED_T1 = """
| 開始指令 | ① | ① | ⑥ | ② | ⑥ | ⑥ | ① |
| xx要求 | ④ | ② | ② | ② | ② | ② | ② |
| 終了予告指令 | ① | ① | ⑥ | ② | ⑥ | ⑥ | ② |
| カウンタ通知 | ① | ① | ⑥ | ② | ⑥ | ⑥ | ① |
| 終了指令 | ① | ① | ⑥ | ② | ⑥ | ⑥ | ① |
| 回線障害回復確認指令 | ④ | ② | ② | ② | ② | ② | ② |
| 取消（再）指令 | ④ | ② | ② | ② | ② | ② | ② |
| 取消確認（再）指令 | ④ | ② | ② | ② | ② | ② | ② |
| 貴社センタ障害中 | ③ | ④ | ⑤ | ⑦ | ⑤ | ⑤ | ④ |
"""
SEED_T1_HEAD = "| CAFISからの送信指令および状態 | 再開要求 | 終了要求 | xx要求 | 回線復旧確認指令 | 取消（再）指令 | 取消確認（再）指令 | 該当報告電文以外 |"  # noqa: E501

SEED_T2 = """
| 再開始要求 | ④ | ⑦ | ③ | ③ | ② | ⑦ | ⑦ | ⑦ | ⑩ |
| 終了要求 | ① | ② | ③ | ③ | ② | ② | ② | ⑪ | ② |
| ×要求、D.T要求 | ① | ② | ② | ③ | ② | ② | ② | ⑪ | ⑫ |
| 回線障害回復確認指令 | ① | ② | ② | ③ | ② | ② | ② | ② | ② |
| 取消（再）指令 | ① | ② | ② | ③ | ② | ② | ② | ⑪ | ⑫ |
| 取消確認（再）指令 | ① | ② | ② | ③ | ② | ② | ② | ⑪ | ⑫ |
| ＣＡＦＩＳ障害中 | ④ | ⑨ | ③ | ③ | ⑥ | ⑨ | ⑨ | ⑨ | ⑨ |
| オンライン未開始（休止中） | ⑧ | ⑤ | ⑨ | ⑨ | ⑨ | ⑤ | ⑤ | ⑤ | ⑤ |
"""
SEED_T2_HEAD = "| 貴社センタ側要求出状態 | 開始指令 | xx要求 | 終了予告指令 | 終了指令 | 回線障害回復確認指令 | 取消（再）指令 | 取消確認（再）指令 | 該当報告電文以外 | カウンタ通知 |"  # noqa: E501

CIRCLES = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫"


def parse(text):
    rows = []
    for line in text.strip().split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], [CIRCLES.index(c) + 1 for c in cells[1:]]))
    return rows


def head(line):
    return [c.strip() for c in line.strip().strip("|").split("|")][1:]
