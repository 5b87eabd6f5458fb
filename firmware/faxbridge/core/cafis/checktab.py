"""The check tables of seed 3.3.4 as data: 表 3.3.4-1 (lengths), the content checks of 3.3.4 (2)
A-F (表 3.3.4-2..5), 表 3.3.4-6 (states) and 表 3.3.4-7 (their handling), and the sections of
3.3.4 (2) that say which tables apply to a telegram. One tuple per seed row, in the seed's order,
each row naming its source; checks.Checker reads the cells by name and compiles the rows to bytes
at start. The check kinds are public constants: the Checker dispatches on them.

Columns: content tables (rule, item name as in the seed, check kind, error code, layout field
key, argument); 表 3.3.4-1 (rule, item, sender, error code when too long); 表 3.3.4-6 (rule,
item, kind, error code, error message to a terminal); 表 3.3.4-7 (rule, 電文区分, discard?);
SECTIONS (section, name, content table: index in TABLES, rows of 表 3.3.4-6, row of 表 3.3.4-7).
"""
from micropython import const

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
    ("3.3.4 A(c)", "トレーラレングス", EQUALS, None, "trailer_len", b"000"),
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
    ("3.3.4-2 #12", "代行報告表示", EQUALS, "C56", "proxy_report", b"00"),
    ("3.3.4-2 #13", "トレーラレングス", NUMERIC, "C03", "trailer_len", None),
    ("3.3.4-2 #14", "トレーラレングス", TRAILER_LEN, "C03", "trailer_len", None),
)

# --- 3.3.4 (2) D: 一般電文（端末要求）; errors are error messages to the terminal ---------------
TABLE_D = (
    ("3.3.4 D(a)", "接続会社コード", CONN_CO, "CAF01", "conn_co", None),
    ("3.3.4 D(b)", "電文送信区分", SEND_CLASS, "CAF16", "send_class", b"1239"),
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
# 表 3.3.4-6 that apply (project decision, docs/cafis.md) and its row of 表 3.3.4-7. A section is
# its index here (checks.py names them _S_A .. _S_FB).
# the content tables of the sections, numbered as SECTIONS names them (E and E fault share #4)
TABLES = (TABLE_A, TABLE_B, TABLE_2, TABLE_D, TABLE_3, TABLE_4, TABLE_5)
SECTIONS = (
    # (section, name, content table: index in TABLES, 表 3.3.4-6 rows, 表 3.3.4-7 row)
    (0, "A", 0, (7, 8), 1),
    (1, "B", 1, (7, 8), 1),
    (2, "C", 2, (1, 2, 3, 4, 5, 6, 7, 8), 2),
    (3, "D", 3, (3, 4, 5, 6, 7, 8), 2),
    (4, "E", 4, (1, 7, 8), 3),          # general report
    (5, "E", 4, (1, 7, 8), 5),          # fault report (取消報告, 取消確認報告) on a destination route
    (6, "F(a)", 5, (1, 2, 3, 4, 5, 6, 7, 8), 4),
    (7, "F(b)", 6, (1, 2, 3, 4, 5, 6, 7, 8), 4),
)
