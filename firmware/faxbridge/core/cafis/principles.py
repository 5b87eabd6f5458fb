"""The processing principles of seed 002, 3.3.1 (処理原則): two decision tables as data.

Table (1) (貴社センタ受信電文に対する CAFIS 処理原則): what CAFIS does with a telegram it
receives from a member center (貴社センタ), by the command CAFIS has outstanding towards that
center or by CAFIS's view of the center's state. Actions ①..⑦.

Table (2) (CAFISへ電文送信後の各受信電文に対する貴社センタの処理原則): what the member center
does with a telegram it receives from CAFIS, by the request it has outstanding or by its state.
Actions ①..⑫.

Each row below mirrors one row of the seed, cells in the seed's column order. The engine
(engine.py) turns an action number into effects; this module holds no behaviour.
"""

from micropython import const

# a row (or column) of the tables, by name: (key, the seed's label, cells)
_KEY = const(0)
_LABEL = const(1)
_CELLS = const(2)

# ---- Table (1): columns = what the member center sent (seed's order) ----------------------
T1_COLS = (
    ("restart_req", "再開要求"),           # 7020
    ("end_req", "終了要求"),               # 0720
    ("request", "xx要求"),                 # general request (0100, 0200, 0400, ...)
    ("line_check", "回線復旧確認指令"),    # 9210 from the member center
    ("cancel", "取消（再）指令"),          # 9100 / 9120
    ("cancel_confirm", "取消確認（再）指令"),  # 9300 / 9320
    ("other_report", "該当報告電文以外"),  # a report that does not answer CAFIS's command
)

# rows = CAFIS's outstanding command (or state) towards that member center
T1_ROWS = (
    # key            seed row label            再開 終了 xx要求 回線 取消 取消確認 該当報告以外
    ("start_cmd", "開始指令",                 (1, 1, 6, 2, 6, 6, 1)),  # 3.3.1(1) row 1
    ("request", "xx要求",                     (4, 2, 2, 2, 2, 2, 2)),  # row 2
    ("end_notice", "終了予告指令",            (1, 1, 6, 2, 6, 6, 2)),  # row 3
    ("counter", "カウンタ通知",               (1, 1, 6, 2, 6, 6, 1)),  # row 4
    ("end_cmd", "終了指令",                   (1, 1, 6, 2, 6, 6, 1)),  # row 5
    ("line_check", "回線障害回復確認指令",    (4, 2, 2, 2, 2, 2, 2)),  # row 6
    ("cancel", "取消（再）指令",              (4, 2, 2, 2, 2, 2, 2)),  # row 7
    ("cancel_confirm", "取消確認（再）指令",  (4, 2, 2, 2, 2, 2, 2)),  # row 8
    ("member_fault", "貴社センタ障害中",      (3, 4, 5, 7, 5, 5, 4)),  # row 9
)

T1_ACTIONS = (
    (1, "①", "受信した電文を破棄し、指令に対する応答電文を待つ。",
     "discard the telegram; keep waiting for the response to the command"),
    (2, "②", "受信した電文を有効とし通常処理を行うとともに指令（要求）に対する応答を待つ。",
     "accept and process normally; keep waiting for the response to the command (request)"),
    (3, "③", "受信した電文を有効とし応答するとともに再開始処理を行う。",
     "accept, answer, and run the restart"),
    (4, "④", "貴社センタを障害扱いとし、許可指令の送信正常により再開始とする。",
     "mark the member center in fault; it restarts when a permission command is sent normally"),
    (5, "⑤", "受信した要求に対し、異常報告電文を応答し障害扱いとする。",
     "answer the request with an abnormal report; the center stays in fault"),
    (6, "⑥", "受信した要求に対し、異常報告を応答するとともに指令（通知）に対する応答を待つ。",
     "answer the request with an abnormal report; keep waiting for the response to the command"),
    (7, "⑦", "受信した電文を有効とし、貴社センタ障害",
     "accept the telegram; the member center stays in fault"),
)

# ---- Table (2): columns = what CAFIS sent (seed's order) -----------------------------------
T2_COLS = (
    ("start_cmd", "開始指令"),             # 7000
    ("request", "xx要求"),                 # general request routed to us as destination
    ("end_notice", "終了予告指令"),        # 0700
    ("end_cmd", "終了指令"),               # 0730
    ("line_check", "回線障害回復確認指令"),  # 9210 from CAFIS
    ("cancel", "取消（再）指令"),          # 9100 / 9120 routed to us as destination
    ("cancel_confirm", "取消確認（再）指令"),  # 9300 / 9320 routed to us
    ("other_report", "該当報告電文以外"),  # a report that does not answer our request
    ("counter", "カウンタ通知"),           # 8000
)

# rows = the member center's outstanding request (or its state)
T2_ROWS = (
    # key             seed row label          開始 xx要求 予告 終了 回線 取消 取消確認 報告以外 カウンタ
    ("restart_req", "再開始要求",             (4, 7, 3, 3, 2, 7, 7, 7, 10)),   # 3.3.1(2) row 1
    ("end_req", "終了要求",                   (1, 2, 3, 3, 2, 2, 2, 11, 2)),   # row 2
    ("request", "×要求、D.T要求",             (1, 2, 2, 3, 2, 2, 2, 11, 12)),  # row 3
    ("line_check", "回線障害回復確認指令",    (1, 2, 2, 3, 2, 2, 2, 2, 2)),    # row 4
    ("cancel", "取消（再）指令",              (1, 2, 2, 3, 2, 2, 2, 11, 12)),  # row 5
    ("cancel_confirm", "取消確認（再）指令",  (1, 2, 2, 3, 2, 2, 2, 11, 12)),  # row 6
    ("cafis_fault", "ＣＡＦＩＳ障害中",        (4, 9, 3, 3, 6, 9, 9, 9, 9)),    # row 7
    ("stopped", "オンライン未開始（休止中）", (8, 5, 9, 9, 9, 5, 5, 5, 5)),    # row 8
)

T2_ACTIONS = (
    (1, "①", "受信した指令に対し応答処理を行うとともに要求電文を待つ。",
     "answer the command; wait for request telegrams (our outstanding request is dropped)"),
    (2, "②", "受信した指令（要求、通知）に対し応答処理を行うとともに要求に対する応答を待つ。",
     "answer / process the command (request, notice); keep waiting for the response"),
    (3, "③", "要求に対する応答を待つことなく、受信した指令に対し以降の処理を行う。",
     "stop waiting; i) end notice: send 終了準備完了報告, wait for 終了指令; "
     "ii) end command: send 終了報告 and stop"),
    (4, "④", "受信した指令の応答処理を行い応答を待つことなく再開始処理を行う。",
     "answer the command and restart without waiting for the response"),
    (5, "⑤", "電文を受信しない。", "not received (the line is not open)"),
    (6, "⑥", "受信した指令の応答処理を行う。", "answer the command"),
    (7, "⑦", "受信した指令（要求）を破棄し要求に対する応答を待つ。",
     "discard the command (request); keep waiting for the response"),
    (8, "⑧", "貴社センタ開始準備完了時、応答処理を行う。開始準備未完了時は、指令を破棄する。",
     "answer if ready to start, else discard"),
    (9, "⑨", "受信した電文を破棄する。", "discard"),
    (10, "⑩", "要求に対する応答を待つことなく、受信した通知に対し応答する。",
     "answer the notice at once (the request stays outstanding)"),
    (11, "⑪", "受信した報告を有効とし、要求に対する応答を待つ。",
     "accept the report; keep waiting for the response"),
    (12, "⑫", "受信した指令の応答処理を行い、送信した要求を保留する。",
     "answer the command and hold the request we sent"),
)

# ---- Not in the seed: the rows when nothing is outstanding --------------------------------
# The seed's tables only cover "after a command (request) was sent" and the fault / not-started
# states. With nothing outstanding and the peer online the project applies these rows, written
# with the seed's own actions (docs/cafis-engine.md, "Decisions"):
T1_IDLE = ("idle", "[project: 指令なし]", (3, 2, 2, 2, 2, 2, 1))
#   restart request -> ③ answer and restart; everything else accepted (②) except a report that
#   answers nothing (①: discarded, there is no command to wait for).
T2_IDLE = ("idle", "[project: 要求なし]", (1, 2, 3, 3, 6, 2, 2, 9, 6))
#   start -> ① answer (start sequence); requests and fault commands -> ② processed as
#   destination; end notice / end -> ③ i / ii; line check and counter -> ⑥ answer; a report
#   that answers nothing -> ⑨ discarded.

CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩⑪⑫"


def _index(cols, rows):
    ci = {}
    for i in range(len(cols)):
        ci[cols[i][_KEY]] = i
    ri = {}
    for r in rows:
        ri[r[_KEY]] = r[_CELLS]
    return ci, ri


_T1C, _T1R = _index(T1_COLS, T1_ROWS + (T1_IDLE,))
_T2C, _T2R = _index(T2_COLS, T2_ROWS + (T2_IDLE,))


def cafis_action(row, col):
    """Table (1): action 1..7 for CAFIS's row (outstanding command/state, or 'idle') and the
    column (kind of the member center's telegram). KeyError for a key the table does not have."""
    return _T1R[row][_T1C[col]]


def member_action(row, col):
    """Table (2): action 1..12 for the member center's row and the CAFIS telegram's column."""
    return _T2R[row][_T2C[col]]


def label(table, key):
    """The seed's label (Japanese) of a row or column key of table 1 or 2."""
    cols, rows = (T1_COLS, T1_ROWS + (T1_IDLE,)) if table == 1 else (T2_COLS, T2_ROWS + (T2_IDLE,))
    for c in cols:
        if c[_KEY] == key:
            return c[_LABEL]
    for r in rows:
        if r[_KEY] == key:
            return r[_LABEL]
    return key


_RULES = {}


def rule(table, row, col, action):
    """A citation such as `3.3.1(2) 再開始要求×開始指令 ④` (built once per cell, then reused)."""
    key = (table, row, col)
    r = _RULES.get(key)
    if r is None:
        r = "3.3.1(%d) %s×%s %s" % (table, label(table, row), label(table, col), CIRCLED[action])
        _RULES[key] = r
    return r
