"""Error catalogue of seed 3.3.5 as data (表 3.3.5-1, 表 3.3.5-2), plus the terminal messages CAFnn.

guidance(code, fault) gives what tools and reports show: event, cause, what the originating
center should do, the CAFIS response telegram and what CAFIS does.
"""
from micropython import const

ABN = "異常報告"      # the response telegram of 表 3.3.5-1 and of most rows of 表 3.3.5-2
# (注) of 表 3.3.5-2: 取消報告 / 取消確認報告 carry these codes instead of an 異常報告 (checks.py
# writes both as literals: the board does not carry this module; test_cafis_errors compares).
CANCEL_REPORT_CODES = ("C13", "C14", "C50")

# 表 3.3.5-1: error codes in abnormal reports to general telegrams, in the seed's order.
# (code, 事象 event, 内容及び原因 cause, エラーコード受信時の仕向センタの運用 action)
TABLE_1 = (
    ("C01", "被仕向会社コードエラー", "被仕向会社コードがCAFISに登録されていない", "当該電文の処理を中止、調査する"),
    ("C03", "最大電文長エラー", "入力電文長が規定値を超えている", "当該電文の処理を中止、調査する"),
    ("C12", "被仕向センタビジー", "当該被仕向センタの全経路が使用中である", "再度電文を送信する"),
    ("C13", "被仕向センタ障害中", "当該被仕向センタが障害中である", "当該電文の処理を終了する"),
    ("C14", "被仕向センタ個別終了", "当該被仕向センタが終了している", "当該電文の処理を終了する"),
    ("C15", "CAFISセンタ終了", "CAFISセンタのオンライン終了中である", "当該電文の処理を終了する"),
    ("C33", "CAFISセンタ輻輳", "CAFISセンタが輻輳中である", "当該電文の処理を終了する"),
    ("C50", "タイムアウト", "CAFISセンタでタイムアウトを検出した", "当該電文の処理を終了する"),
    ("C51", "経路重複", "使用中の仕向経路で再度電文を受信した", "当該電文の処理を中止、調査する"),
    ("C53", "仕向会社コードエラー", "仕向会社コードが仕向センタと不一致", "当該電文の処理を中止、調査する"),
    ("C54", "電文種別エラー", "CAFISセンタのサービス対象外の電文種別を受信", "当該電文の処理を中止、調査する"),
    ("C55", "経路範囲外", "当該仕向センタが保有する経路範囲外である", "当該電文の処理を中止、調査する"),
    # the seed's text reads "調査当該電文の処理を中止、調査する" (a stray 調査 at the start); kept verbatim
    ("C56", "電文対応エラー", "保護項目が保護されていない", "調査当該電文の処理を中止、調査する"),
    ("C57", "当該会社サービスなし", "当該被仕向センタが行っていないサービスである", "当該電文の処理を中止、調査する"),
    ("C58", "ニューメリックチェックエラー", "ニューメリックチェックにエラーがあった", "当該電文の処理を中止、調査する"),
    ("C60", "受信不能状態で電文受信", "受信不能状態で電文を受信した", "当該電文の処理を終了しオンラインを再開する"),
)

CXL = "取消報告又は取消確認報告"

# 表 3.3.5-2: error codes in reports to fault telegrams (取消（再）指令, 取消確認（再）指令).
# The column CAFIS応答電文 holds one of the seed's two answers by name: "ABN" = ABN (異常報告),
# "CXL" = CXL (取消報告又は取消確認報告); names keep every row a constant (flash when frozen).
# (項番, code, 事象, 内容及び原因, CAFIS応答電文, 仕向センタでの処理, CAFISセンタでの処理 or None for —)
TABLE_2 = (
    (1, "C01", "被仕向会社コードエラー", "被仕向会社コードがCAFISセンタに登録されていない", "ABN",
     "当該電文の処理を中止し調査する", None),
    (2, "C03", "最大電文長エラー", "入力電文長が規定値を超えている", "ABN",
     "当該電文の処理を中止し調査する", None),
    (3, "C12", "被仕向センタビジー", "当該被仕向センタの全経路が使用中である", "ABN",
     "一定時間後再度当該電文を送信する", None),
    (4, "C13", "被仕向センタ障害中", "当該被仕向センタが障害中である", "CXL",
     "当該電文の処理を終了する",
     "電文を保留し、被仕向センタへ開始後送信する"),
    (5, "C14", "被仕向センタ個別終了", "当該被仕向センタが終了している", "CXL",
     "当該電文の処理を終了する",
     "電文を保留し、被仕向センタへ開始後送信する"),
    (6, "C15", "CAFISセンタ終了", "CAFISセンタのオンライン終了中である", "ABN", "オンライン開始後送信する", None),
    (7, "C33", "CAFISセンタ障害", "CAFISセンタが障害中である", "ABN",
     "一定時間後に送信し再度処理する場合は中止し調査を行う", None),
    (8, "C50", "タイムアウト", "CAFISセンタで被仕向センタからの報告待ちタイムアウト検出", "CXL",
     "一定時間後に送信し再度処理する場合は中止し調査を行う", "電文を保留し一定時間後再送する"),
    (9, "C51", "経路重複", "使用中の仕向経路で再度電文を受信した", "ABN", "当該電文の処理を中止し調査する", None),
    (10, "C53", "仕向会社コードエラー", "仕向会社コードが回線上の仕向センタと不一致", "ABN",
     "当該電文の処理を中止し調査する", None),
    (11, "C54", "電文種別エラー", "CAFISセンタのサービス対象外の電文種別を受信した", "ABN",
     "当該電文の処理を中止し調査する", None),
    (12, "C55", "経路範囲外エラー", "当該仕向センタで保有する経路範囲外である", "ABN",
     "当該電文の処理を中止し調査する", None),
    (13, "C56", "電文対応エラー",
     "以下の項目（保護項目）が当該経路の直前の電文と相違している "
     "①仕向処理通番 ②仕向会社コード ③被仕向会社コード ④仕向処理日付",
     "ABN", "処理を中止する。他取引においても発生する場合は調査する", None),
    (14, "C57", "当該会社サービスなし", "当該被仕向センタに対するサービスを行っていない", "ABN",
     "当該電文の処理を中止し調査する", None),
    (15, "C58", "ニューメリックチェックエラー",
     "ニューメリックチェック項目（データ部1～5の数字部）がニューメリックでない",
     "ABN", "当該電文の処理を中止し調査する", None),
    (16, "C60", "受信不能状態で電文受信",
     "以下の状態の時に電文受信 ①休止中（個別終了）のセンタから電文受信 ②障害中のセンタから電文受信 "
     "③CAFIS一時開始後の未開始センタから電文受信", "ABN", "オンライン開始後送信する", None),
)

# Error messages to a terminal (3.3.4 (1), D, 表 3.3.4-6) and the C-code each stands for.
# CAF16 has no row in 3.3.5 (3.3.4 D(b) names it, with C16); its text is the project's.
TERMINAL = (
    ("CAF01", "C01", "接続会社コードエラー", "接続会社コードがCAFISに登録されていない"),
    ("CAF03", "C03", "最大電文長エラー", "入力電文長が規定値を超えている"),
    ("CAF12", "C12", "被仕向センタビジー", "当該被仕向センタの全経路が使用中である"),
    ("CAF13", "C13", "被仕向センタ障害中", "当該被仕向センタが障害中である"),
    ("CAF14", "C14", "被仕向センタ個別終了", "当該被仕向センタが終了している"),
    ("CAF15", "C15", "CAFISセンタ終了", "CAFISセンタのオンライン終了中である"),
    ("CAF16", "C16", "電文送信区分エラー", "電文送信区分が規定された内容（1,2,3,9）でない"),
    ("CAF33", "C33", "CAFISセンタ障害", "CAFISセンタが障害中である"),
    ("CAF57", "C57", "当該会社サービスなし", "当該被仕向センタが行っていないサービスである"),
)

# a row of TABLE_1, by name: (code, 事象, 内容及び原因, 運用)
_1_EVENT = const(1)
_1_CAUSE = const(2)
_1_ACTION = const(3)
# a row of TABLE_2, by name: (項番, code, 事象, 内容及び原因, 応答電文, 仕向センタ, CAFISセンタ)
_2_NO = const(0)
_2_EVENT = const(2)
_2_CAUSE = const(3)
_2_RESPONSE = const(4)
_2_ACTION = const(5)
_2_CAFIS = const(6)
# a row of TERMINAL, by name: (message, C-code, 事象, 内容及び原因)
_T_CCODE = const(1)
_T_EVENT = const(2)
_T_CAUSE = const(3)
# what guidance() returns, by name
G_CODE = const(0)
G_SOURCE = const(1)
G_EVENT = const(2)
G_CAUSE = const(3)
G_ACTION = const(4)
G_RESPONSE = const(5)
G_CAFIS = const(6)


def find(table, col, code):
    """The row of `table` whose column `col` is `code` (TABLE_1, TERMINAL: col 0; TABLE_2:
    col 1), or None."""
    for r in table:
        if r[col] == code:
            return r
    return None


def guidance(code, fault=False):
    """What to show for `code` (Cnn or CAFnn): a tuple, read with G_CODE .. G_CAFIS:
    (code, source, event, cause, originating-center action, CAFIS response, CAFIS action).
    fault=True uses 表 3.3.5-2 (fault telegrams), else 表 3.3.5-1. None if the code is unknown."""
    if code is None:
        return None
    if code.startswith("CAF"):
        t = find(TERMINAL, 0, code)
        if t is None:
            return None
        r = find(TABLE_1, 0, t[_T_CCODE])
        action = r[_1_ACTION] if r else "当該電文の処理を中止、調査する"
        return (code, "3.3.4 (terminal)", t[_T_EVENT], t[_T_CAUSE], action, "エラーメッセージ", None)
    if fault:
        r = find(TABLE_2, 1, code)
        if r is not None:
            return (code, "3.3.5-2 #%d" % r[_2_NO], r[_2_EVENT], r[_2_CAUSE], r[_2_ACTION],
                    CXL if r[_2_RESPONSE] == "CXL" else ABN, r[_2_CAFIS])
    r = find(TABLE_1, 0, code)
    if r is None:
        return None
    return (code, "3.3.5-1", r[_1_EVENT], r[_1_CAUSE], r[_1_ACTION], ABN, None)
