"""InterFAX-compatible job status codes (seed 000) and the project's mapping (spec/fax.md).

The codes are CODES (one str, read by category()); the mapping is data: RESULTS (dial
results) and ANSWER_RESULTS (answered calls), one str each read by from_result(), HANGUPS
(+FHNG ranges, Table 5-5) and RETRYABLE, flat tuples of constants (in flash when frozen); a
deployment can replace them.
"""

# Seed 000's table, the codes this unit reports: "\n<code> <category>", row by row, one str (one
# object, in flash when frozen; 22 tuple items held 1.5 KB loaded as .mpy), read in place by
# category(). The negative codes are in progress, every other one is final.
CODES = (
    "\n-1 in progress"                      # 前処理中 (Pre-processing)
    "\n-2 in progress"                      # 準備完了 (ready)
    "\n-3 in progress"                      # 送信中、もしくは再送信待機中 (Sending)
    "\n-22 in progress"                     # 与信限度額を超えました: held, quota spent
    "\n0 success"                           # 送信成功 (OK)
    "\n263 busy"                            # 話中
    "\n403 cancelled"                       # キャンセル
    "\n488 communication error"
    "\n3211 incompatible"                   # FAX機非互換
    "\n3224 no response from receiver"
    "\n3233 incompatible"
    "\n3268 send error after page break"
    "\n3912 invalid number / line fault"
    "\n3936 human answered"                 # 人による応答
    "\n6002 refused number"                 # 送信不可番号への送信
    "\n6027 invalid number / line fault"
    "\n7200 unspecified fax error"
    "\n8021 no answer"                      # 無応答
    "\n9001 incompatible"
    "\n204000 image error"                  # 解析エラー
    "\n205000 quota"                        # held over 24 h
    "\n205001 system error"                 # システムエラー
)

# Modem result strings -> code (spec/fax.md rows 6..11): "\n<result> <code>", row by row, one
# str read in place by from_result (as CODES).
RESULTS = (
    "\nBUSY 263"
    "\nNO ANSWER 8021"
    "\nNO CARRIER 3912"
    "\nVOICE 3936"
    "\nNO DIALTONE 205001"
    "\nNO DIAL TONE 205001"
    "\nERROR 6027"
)

# An answered call that fails before +FCON: the dialling rows of spec/fax.md (invalid number,
# busy, ...) do not apply, no number was dialled. The project's decision (docs/fax.md); any
# other result to ATA is the unit's own fault (205001, c2call.call_failed):
ANSWER_RESULTS = (
    "\nVOICE 3936"          # a person called
    "\nNO CARRIER 488"      # answered, no fax handshake (as +FHNG:1, Table 5-5)
)

# +FHNG code ranges -> code, first match wins (spec/fax.md; 43 and 3 before their ranges):
# first, last, code, row by row. t32.CLASS20["hangup_code"] is the same for +FHS.
HANGUPS = (
    0, 0, 0,
    1, 1, 488,
    3, 3, 205001,
    10, 11, 9001,
    25, 25, 3224,
    27, 27, 3233,
    20, 28, 3211,
    43, 43, 205001,
    40, 58, 3268,
)
OTHER_HANGUP = 7200

# Outcomes retried with the configured count and delay (spec/fax.md, "Retries").
RETRYABLE = (263, 8021, 488, 3224, 3268)


def category(code):
    """The category of a code of CODES; "unknown" for any other (a code is known when it is
    not "unknown")."""
    k = "\n%d " % code
    i = CODES.find(k)
    if i < 0:
        return "unknown"
    j = CODES.find("\n", i + 1)
    return CODES[i + len(k):j if j > 0 else len(CODES)]


def from_result(result, t=RESULTS):
    """Code for a final modem result string (BUSY, NO CARRIER, ...) in `t` (RESULTS, or
    ANSWER_RESULTS for an answered call), or None. The row is found and its code read in
    place: the result from a row's start to a space and the code's digits."""
    k = len(result)
    n = len(t)
    i = t.find(result) if k else -1     # (MicroPython finds "" at the end for ever)
    while i >= 0:
        j = i + k
        if i and t[i - 1] == "\n" and j + 1 < n and t[j] == " " and "0" <= t[j + 1] <= "9":
            v = 0
            j += 1
            while j < n and t[j] != "\n":
                v = v * 10 + ord(t[j]) - 48
                j += 1
            return v
        i = t.find(result, i + 1)
    return None


def from_hangup(hsc, t=HANGUPS):
    """Code for a +FHNG:<hsc> (`t`: the dialect's range table, "hangup_code")."""
    for k in range(0, len(t), 3):
        if t[k] <= hsc <= t[k + 1]:
            return t[k + 2]
    return OTHER_HANGUP
