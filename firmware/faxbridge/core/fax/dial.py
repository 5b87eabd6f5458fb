"""Dial policy and input safety: nothing reaches the modem unvalidated (issue 7, item 7).

check(number, ...) -> (code, text): code None when the number may be dialled (text is then the
exact dial string), 6027 when it is malformed, 6002 when the policy refuses it (spec/fax.md).
"""

DIGITS = "0123456789*#"
# Dial modifiers a Class 2 modem accepts in ATD (V.25 ter 6.3.1): tone, pulse, pause, wait for
# dial tone, wait for quiet answer, hook flash. ';' (return to command state) is refused: a fax
# call must not leave the modem off-hook in command mode.
MODIFIERS = "TPW,@!"
# Cosmetic separators people write ("03-1234-5678", "(03) 1234 5678"); removed before checks.
SEPARATORS = " -().\t"
# Emergency numbers (Japan: police 110, coast guard 118, fire/ambulance 119).
DENY = ("110", "118", "119")
MAX_LEN = 40            # dial string length after separators are removed
MAX_ID = 20             # T.30 TSI/CSI: 20 characters


def clean(number):
    """The dial string without cosmetic separators, upper-cased."""
    out = []
    for ch in number:
        if ch not in SEPARATORS:
            out.append(ch.upper())
    return "".join(out)


def segments(s):
    """The digit runs the exchange sees: split where the modem pauses or waits (',', 'W', '@')."""
    segs = []
    cur = []
    for ch in s:
        if ch in ",W@!":
            if cur:
                segs.append("".join(cur))
                cur = []
        elif ch in DIGITS:
            cur.append(ch)
    if cur:
        segs.append("".join(cur))
    return segs


def check(number, deny=DENY, allow=None, max_len=MAX_LEN, prefixes=()):
    """Validate a number. Returns (None, dial_string) or (6027|6002, reason).

    Malformed (6027): not a str, empty, a character other than digits, * # and the modifiers,
    longer than max_len, or no digit at all.
    Refused (6002): any digit run (whole number, or a run after a pause/wait, or after one of
    the outside-line `prefixes` such as "0") begins with a deny-list entry; or an allow list is
    given and the whole number's digits begin with none of its entries.
    """
    if not isinstance(number, str):
        return (6027, "number is not text")
    s = clean(number)
    if not s:
        return (6027, "empty number")
    if len(s) > max_len:
        return (6027, "number longer than %d characters" % max_len)
    for ch in s:
        if ch not in DIGITS and ch not in MODIFIERS:
            return (6027, "character %r not allowed in a number" % ch)
    segs = segments(s)
    if not segs:
        return (6027, "no digits")
    runs = list(segs)
    runs.append("".join(segs))
    for r in list(runs):
        for p in prefixes:
            if p and r.startswith(p):
                runs.append(r[len(p):])
    for r in runs:
        for d in deny:
            if d and r.startswith(d):
                return (6002, "number refused by the deny list (%s)" % d)
    if allow is not None:
        whole = "".join(segs)
        ok = False
        for a in allow:
            if whole.startswith(a):
                ok = True
        if not ok:
            return (6002, "number not on the allow list")
    return (None, s)


def station_id(sid):
    """A station id for AT+FLID: printable ASCII without '"', at most 20 characters.

    Returns the id; raises ValueError otherwise (it is configuration, checked at start-up).
    """
    if not isinstance(sid, str):
        raise ValueError("station id is not text")
    if len(sid) > MAX_ID:
        raise ValueError("station id longer than %d characters" % MAX_ID)
    for ch in sid:
        if not (" " <= ch <= "~") or ch == '"':
            raise ValueError("character %r not allowed in a station id" % ch)
    return sid
