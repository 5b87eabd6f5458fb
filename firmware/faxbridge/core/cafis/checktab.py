"""The check tables of seed 3.3.4 as data: 表 3.3.4-1 (lengths), the content checks of 3.3.4 (2)
A-F (表 3.3.4-2..5), 表 3.3.4-6 (states) and 表 3.3.4-7 (their handling), and the sections of
3.3.4 (2) that say which tables apply to a telegram. One row per seed row, in the seed's order,
each row naming its source; a content table is one flat tuple, a row _W cells on one line (a
tuple per row would cost a tuple object each). Data only: what each check kind checks, and the
tables compiled for the layouts in use, are checkkinds.py's; checks.Checker reads the cells by
name and runs the rows from that, allocating nothing.

Columns: content tables (rule, item, check kind, error code, argument); 表 3.3.4-1 (row, item,
sender, error code when too long); 表 3.3.4-6 (row, item, kind, error code, error message to a
terminal), each of the two its rules' head first, so that row n is the table's item n; an item
is its index in ITEMS (the seed's name; KEYS: the layout field checked), a code or message its
index in CODES; 表 3.3.4-7 (rule, 電文区分, discard?);
SECTIONS (section, name, content table: index in TABLES, rows of 表 3.3.4-6, row of 表 3.3.4-7,
the head of a numbered content table's rules).

A row of a numbered content table (表 3.3.4-2..5) names its source by its number in that seed
table: row 3 of 表 3.3.4-2 is the rule '3.3.4-2 #3', its head ('3.3.4-2 #', in SECTIONS) and
the number; the lettered checks of 3.3.4 (2) A, B and D name theirs in full ('3.3.4 A(a)'); 表
3.3.4-1 and 3.3.4-6 the same way, their head first. An int is no object: loaded as .mpy, each str
in a constant tuple is one (64-72 B on 64 bits), and the 69 numbered rows' names were 4.8 KB of
the imported code (docs/bench.md). The verdict keeps head and number (verdict.Verdict.source,
.row); the unit writes them as one JSON string without building it (jsonw.JOINED).
"""
from micropython import const

_W = const(5)    # a content row's width: row i of a table is table[_W * i:_W * i + _W]

# --- check kinds: what each checks is checkkinds.py's (its constants, the same numbers) -----
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
_PROTECTED = const(16)       # equals the field of the request that opened the route (checks.Checker.check
                             # compares these itself, row_ok does not: checks.py has its own const)
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

# --- item names (項目名) as in the seed, each once, and the layout field the content rows check
# (its key): a row names its item by index (_I_*); the verdict's field is ITEMS[i], the field
# checked the i-th word of KEYS. Loaded as .mpy every str inside a constant tuple is a copy of its own:
# names and codes kept once here, not once per row.
_I_LEN = const(0)           # 電文長
_I_ORG_CO = const(1)        # 仕向会社コード
_I_ORG_SUB = const(2)       # 仕向会社サブコード
_I_MT = const(3)            # 電文種別
_I_TRAILER = const(4)       # トレーラレングス
_I_ROUTE = const(5)        # 経路番号
_I_SEQ = const(6)          # 仕向処理通番
_I_DST_CO = const(7)       # 被仕向会社コード
_I_DST_SUB = const(8)      # 被仕向会社サブコード
_I_ORG_DATE = const(9)     # 仕向処理日付
_I_PROXY_REP = const(10)    # 代行報告表示
_I_CONN_CO = const(11)      # 接続会社コード
_I_SEND_CLASS = const(12)   # 電文送信区分
_I_CENTER_ID = const(13)    # センタ識別番号
_I_LINE = const(14)         # 回線番号
_I_CAFIS_SEQ = const(15)    # CAFIS処理通番
_I_CAFIS_DATE = const(16)   # CAFIS処理日
_I_CAT = const(17)          # CAT送信状態表示
_I_PROXY_ERR = const(18)    # 代行電文エラー表示
_I_PROXY_RR = const(19)     # 代行再仕向表示
_I_ORG_CEN = const(20)      # 仕向センタ
_I_DST_CEN = const(21)      # 被仕向センタ
_I_CAFIS = const(22)        # CAFISセンタ
ITEMS = (   # item names, by _I_*; the key of the field checked in KEYS
    "電文長", "仕向会社コード", "仕向会社サブコード", "電文種別",
    "トレーラレングス", "経路番号", "仕向処理通番", "被仕向会社コード",
    "被仕向会社サブコード", "仕向処理日付", "代行報告表示", "接続会社コード",
    "電文送信区分", "センタ識別番号", "回線番号", "CAFIS処理通番",
    "CAFIS処理日", "CAT送信状態表示", "代行電文エラー表示", "代行再仕向表示",
    "仕向センタ", "被仕向センタ", "CAFISセンタ",
)
# the layout field key of each item, in the order of ITEMS ("-": none); split by compiled() for a
# deployment's layout only (one str: a constant tuple of keys would load as a str each)
KEYS = ("- org_co org_sub msg_type trailer_len route seq dst_co dst_sub org_date proxy_report "
        "conn_co send_class center_id line cafis_seq cafis_date cat_status proxy_error proxy_reroute - - -")


# --- the error codes and terminal messages the rows give, each once: a row names one by index (_C58 ..)
_C01 = const(0)
_C03 = const(1)
_C12 = const(2)
_C13 = const(3)
_C14 = const(4)
_C15 = const(5)
_C33 = const(6)
_C51 = const(7)
_C53 = const(8)
_C54 = const(9)
_C55 = const(10)
_C56 = const(11)
_C57 = const(12)
_C58 = const(13)
_C60 = const(14)
_CAF01 = const(15)
_CAF03 = const(16)
_CAF12 = const(17)
_CAF13 = const(18)
_CAF14 = const(19)
_CAF15 = const(20)
_CAF16 = const(21)
_CAF33 = const(22)
_CAF57 = const(23)
CODES = ("C01", "C03", "C12", "C13", "C14", "C15", "C33", "C51", "C53", "C54", "C55", "C56", "C57", "C58",
         "C60", "CAF01", "CAF03", "CAF12", "CAF13", "CAF14", "CAF15", "CAF16", "CAF33", "CAF57")

# --- 表 3.3.4-1 電文長チェック一覧: (row, item, sender, error code when too long) -----------------
LENGTH = (
    "3.3.4-1 #",                                  # the head of its rules: row n is LENGTH[n]
    (1, _I_LEN, "terminal", _CAF03),   # 端末 47 ≦ 電文長 ≦ 292
    (2, _I_LEN, "center", _C03),       # センタ 63 ≦ 電文長 ≦ 1024
)

# The content tables, one flat tuple each (a row _W cells on one line), by their index in
# TABLES as SECTIONS names them (E and E fault share #4): not a module name each (the rows name
# their source, the comment above each table its section).
TABLES = (
    # --- 3.3.4 (2) A: 制御電文（貴社センタ要求）, route 0000; errors are discarded: TABLES[0]
    (
        "3.3.4 A(a)", _I_ORG_CO, _ORG_CO, None, None,
        "3.3.4 A(a)", _I_ORG_SUB, _ORG_SUB, None, None,
        "3.3.4 A(b)", _I_MT, _CTL_TYPE, None, None,
        "3.3.4 A(c)", _I_TRAILER, _EQUALS, None, b"000",
    ),
    # --- 3.3.4 (2) B: 制御電文（貴社センタ報告）, route 0001; errors are discarded: TABLES[1]
    (
        "3.3.4 B(a)", _I_MT, _CMD_ANSWER, None, None,
        "3.3.4 B(b)", None, _CMD_ECHO, None, None,    # item: the first field that differs
    ),
    # --- 表 3.3.4-2 一般電文（貴社センタ要求）受信時のチェック, row #1 ..: TABLES[2]
    (
        1, _I_ROUTE, _ROUTE_HELD, _C55, None,
        2, _I_ROUTE, _ROUTE_FREE, _C51, None,
        3, _I_SEQ, _NUMERIC, _C58, None,
        4, _I_ORG_CO, _ORG_CO, _C53, None,
        5, _I_ORG_SUB, _ORG_SUB, _C53, None,
        6, _I_DST_CO, _DST_CO, _C01, None,
        7, _I_DST_SUB, _DST_SUB, _C01, None,
        8, _I_MT, _SERVICE, _C54, None,
        9, _I_ORG_DATE, _NUMERIC, _C58, None,
        10, _I_ORG_DATE, _DAY, _C58, None,
        11, _I_ORG_DATE, _REPEAT, _C58, 9,
        12, _I_PROXY_REP, _EQUALS, _C56, b"00",
        13, _I_TRAILER, _NUMERIC, _C03, None,
        14, _I_TRAILER, _TRAILER_LEN, _C03, None,
    ),
    # --- 3.3.4 (2) D: 一般電文（端末要求）; errors are error messages to the terminal: TABLES[3]
    (
        "3.3.4 D(a)", _I_CONN_CO, _CONN_CO, _CAF01, None,
        "3.3.4 D(b)", _I_SEND_CLASS, _SEND_CLASS, _CAF16, b"1239",
    ),
    # --- 表 3.3.4-3 一般および障害電文（貴社センタ報告）受信時のチェック, row #1 ..; errors are discarded: TABLES[4]
    (
        1, _I_ROUTE, _ROUTE_HELD, None, None,
        2, _I_ROUTE, _ROUTE_DEST, None, None,
        3, _I_SEQ, _PROTECTED, None, None,
        4, _I_CENTER_ID, _PROTECTED, None, None,
        5, _I_LINE, _PROTECTED, None, None,
        6, _I_CAFIS_SEQ, _PROTECTED, None, None,
        7, _I_ORG_CO, _PROTECTED, None, None,
        8, _I_ORG_SUB, _PROTECTED, None, None,
        9, _I_DST_CO, _PROTECTED, None, None,
        10, _I_DST_SUB, _PROTECTED, None, None,
        11, _I_MT, _ANSWER, None, None,
        12, _I_CAFIS_DATE, _PROTECTED, None, None,
        13, _I_CAT, _PROTECTED, None, None,
        14, _I_ORG_DATE, _PROTECTED, None, None,
        15, _I_PROXY_REP, _PROTECTED, None, None,
        16, _I_PROXY_ERR, _PROTECTED, None, None,
        17, _I_PROXY_RR, _PROTECTED, None, None,
        18, _I_TRAILER, _NUMERIC, None, None,
        19, _I_TRAILER, _TRAILER_LEN, None, None,
    ),
    # --- 表 3.3.4-4 取消（再）指令受信時のチェック, row #1 ..: TABLES[5]
    (
        1, _I_ROUTE, _ROUTE_HELD, _C55, None,
        2, _I_ROUTE, _ROUTE_FREE_OR_SAME, _C51, None,
        3, _I_SEQ, _NUMERIC, _C58, None,
        4, _I_CENTER_ID, _CENTER_ID, _C56, None,
        5, _I_CAFIS_SEQ, _NUMERIC, _C58, None,
        6, _I_ORG_CO, _ORG_CO, _C53, None,
        7, _I_ORG_SUB, _ORG_SUB, _C53, None,
        8, _I_DST_CO, _DST_CO, _C01, None,
        9, _I_DST_SUB, _DST_SUB, _C01, None,
        10, _I_CAFIS_DATE, _NUMERIC, _C58, None,
        11, _I_CAFIS_DATE, _DAY, _C58, None,
        12, _I_ORG_DATE, _NUMERIC, _C58, None,
        13, _I_ORG_DATE, _DAY, _C58, None,
        14, _I_TRAILER, _NUMERIC, _C03, None,
        15, _I_TRAILER, _TRAILER_LEN, _C03, None,
    ),
    # --- 表 3.3.4-5 取消確認（再）指令受信時のチェック, row #1 ..: TABLES[6]
    (
        1, _I_ROUTE, _ROUTE_HELD, _C55, None,
        2, _I_ROUTE, _ROUTE_FREE_OR_SAME, _C51, None,
        3, _I_SEQ, _LAST_PROTECTED, _C56, None,
        4, _I_ORG_CO, _ORG_CO, _C53, None,
        5, _I_ORG_SUB, _ORG_SUB, _C53, None,
        6, _I_DST_CO, _DST_CO, _C01, None,
        7, _I_DST_SUB, _DST_SUB, _C01, None,
        8, _I_ORG_DATE, _LAST_PROTECTED, _C56, None,
        9, _I_PROXY_REP, _LAST_PROTECTED, _C56, None,
        10, _I_TRAILER, _NUMERIC, _C03, None,
        11, _I_TRAILER, _TRAILER_LEN, _C03, None,
    ),
)

# --- 表 3.3.4-6 チェック対象項目: (row, item, kind, error code, error message) ----------------------
TABLE_6 = (
    "3.3.4-6 #",                                                # the head of its rules: row n is TABLE_6[n]
    (1, _I_ORG_CEN, _ORG_NOT_OPEN, _C60, None),     # 仕向センタ未開局
    (2, _I_ORG_CEN, _ORG_SERVICE, _C60, None),      # 仕向センタサービス対象外
    (3, _I_DST_CEN, _DST_NO_ROUTE, _C12, _CAF12),  # 被仕向センタ経路無し
    (4, _I_DST_CEN, _DST_FAULT, _C13, _CAF13),     # 被仕向センタ障害中
    (5, _I_DST_CEN, _DST_SUSPENDED, _C14, _CAF14),  # 被仕向センタ休止中
    (6, _I_DST_CEN, _DST_SERVICE, _C57, _CAF57),   # 被仕向センタサービス対象外
    (7, _I_CAFIS, _CAFIS_ENDED, _C15, _CAF15),    # CAFISセンタ終了
    (8, _I_CAFIS, _CAFIS_FAULT, _C33, _CAF33),    # CAFISセンタ障害
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
# 表 3.3.4-6 that apply (project decision, docs/cafis.md) and its row of 表 3.3.4-7. A section is
# its index here (checks.py names them _S_A .. _S_FB).
SECTIONS = (
    # (section, name, content table: index in TABLES, 表 3.3.4-6 rows, 表 3.3.4-7 row, rule head)
    (0, "A", 0, (7, 8), 1, None),
    (1, "B", 1, (7, 8), 1, None),
    (2, "C", 2, (1, 2, 3, 4, 5, 6, 7, 8), 2, "3.3.4-2 #"),
    (3, "D", 3, (3, 4, 5, 6, 7, 8), 2, None),
    (4, "E", 4, (1, 7, 8), 3, "3.3.4-3 #"),     # general report
    (5, "E", 4, (1, 7, 8), 5, "3.3.4-3 #"),     # fault report (取消報告, 取消確認報告) on a destination route
    (6, "F(a)", 5, (1, 2, 3, 4, 5, 6, 7, 8), 4, "3.3.4-4 #"),
    (7, "F(b)", 6, (1, 2, 3, 4, 5, 6, 7, 8), 4, "3.3.4-5 #"),
)

