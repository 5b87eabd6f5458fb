"""Dial policy and input safety: nothing reaches the modem unvalidated (docs/fax.md "Dial policy").

form(number) -> (None, dial string) | (6027, reason): the dial alphabet, one definition for the
MQTT intake (core/mqtt/commands.py) and the driver. check(number, ...) -> (code, text): code
None when the number may be dialled (text is the exact dial string), 6027 when it is malformed,
6002 when the policy refuses it (spec/fax.md, dial results).

The deny check runs on the number as the exchange may see it: from the start and after every
pause, wait or `*`/`#`, with every known prefix of the country table stripped in any order
(caller-ID and service codes, outside lines, trunk, international prefix + own country code).
"""

from micropython import const

DIGITS = "0123456789"
# What a number may hold (intake and driver): ASCII digits, * #, a leading + (converted by the
# country table), pause ',' and wait-for-dial-tone 'W' (V.250 6.3.1), cosmetic separators.
# Refused: ';' (stay in command mode), '!' (hook flash: a PBX gives a new line), '@' (wait for
# quiet answer), 'T'/'P' (the dial mode is modem.options.dial_mode), CR, letters, any non-ASCII
# digit (full-width, Arabic-Indic ...: the modem dials ASCII only).
DIAL_CHARS = "0123456789*#+,Ww -()."
_SEPARATORS = const(" -().")
MAX_LEN = 40            # dial string length (after separators are removed, + converted)
MAX_ID = 20             # T.30 TSI/CSI: 20 characters
_ID_CHARS = const("0123456789+ ")   # T.30 TSI/CSI/CIG: digits, '+' and space
COUNTRY = "JP"

# Prefixes stripped before the deny check, per country: one row a line, "kind prefix what (source)".
# kinds: emergency (always refused, whatever dial.deny says), cc (own country code, stripped
# after an international prefix), trunk, intl (international/carrier prefix; the first is the
# one '+' becomes), service (per-call codes). X in a prefix is any digit.
_STAR = const("""service *X vertical service code, 1 digit
service *XX vertical service code (NANP *67 withhold caller ID; GSM 02.30 *31#)
service *XXX vertical service code, 3 digits
service #X supplementary service code, 1 digit
service #XX supplementary service code (GSM 02.30 #31# withhold caller ID)
service #XXX supplementary service code, 3 digits""")

COUNTRIES = {
    "JP": """emergency 110 police (MIC numbering plan, special numbers)
emergency 118 coast guard (MIC numbering plan)
emergency 119 fire and ambulance (MIC numbering plan)
cc 81 country code of Japan (ITU-T E.164 list)
trunk 0 national trunk prefix; also the usual PBX outside line
intl 010 international call prefix (MIC numbering plan)
intl 00XX carrier identification code, e.g. 0033, 0041, 0061 (MIC numbering plan)
intl 001 carrier international prefix (KDDI)
service 184 withhold the caller's number for this call (NTT caller ID service)
service 186 send the caller's number for this call (NTT caller ID service)""",
    "US": """emergency 911 emergency services (NANP N11 codes)
cc 1 country code of the NANP (ITU-T E.164 list)
trunk 1 long-distance prefix (NANP)
intl 011 international call prefix (NANP)""",
    "GB": """emergency 999 emergency services (Ofcom numbering plan)
emergency 112 emergency services (EU universal number)
cc 44 country code of the United Kingdom (ITU-T E.164 list)
trunk 0 national trunk prefix (Ofcom numbering plan)
intl 00 international call prefix (Ofcom numbering plan)
service 141 withhold the caller's number for this call (Ofcom)
service 1470 send the caller's number for this call (Ofcom)""",
}


def _rows(country):
    t = COUNTRIES.get(country)
    if t is None:
        raise ValueError("no dial table for country %r" % (country,))
    return t


def table(country, *kinds):
    """The prefixes of these kinds in a country's table, in table order (ValueError for an
    unknown country): for the configuration's checks. A check reads the rows in place (_scan)."""
    out = []
    for rows in (_rows(country), _STAR):
        a = 0
        n = len(rows)
        while a < n:
            e = rows.find("\n", a)
            if e < 0:
                e = n
            b = rows.find(" ", a, e)
            for k in kinds:
                if b - a == len(k) and rows.startswith(k, a):
                    out.append(rows[b + 1:rows.find(" ", b + 1, e)])
                    break
            a = e + 1
    return out


def _match(s, i, p, a=0, b=-1):
    """The index after prefix p[a:b] (default: all of p) at s[i:] (X: any digit), else -1."""
    if b < 0:
        b = len(p)
    if i + b - a > len(s):
        return -1
    for k in range(a, b):
        c = p[k]
        x = s[i + k - a]
        if c != x and not (c == "X" and x in DIGITS):
            return -1
    return i + b - a


def _scan(d, i, rows, k1, k2, todo, add):
    """The rows of kind k1 or k2 whose prefix matches d at i, read in place, in table order:
    each match's end j is pushed on todo (as j * 2 + add); with todo None, the first matching
    prefix is returned (a deny hit). Returns None otherwise."""
    a = 0
    n = len(rows)
    while a < n:
        e = rows.find("\n", a)
        if e < 0:
            e = n
        b = rows.find(" ", a, e)
        if (b - a == len(k1) and rows.startswith(k1, a)) or (k2 and b - a == len(k2) and rows.startswith(k2, a)):
            c = rows.find(" ", b + 1, e)
            j = _match(d, i, rows, b + 1, c)
            if j >= 0:
                if todo is None:
                    return rows[b + 1:c]
                if j > i:
                    todo.append(j * 2 + add)
        a = e + 1
    return None


def form(number, max_len=MAX_LEN, country=COUNTRY):
    """The dial string of a number: separators removed, 'w' as 'W', a leading '+' converted
    (own country code -> trunk prefix, else the international prefix). (None, s) or (6027, why).
    A number already in dial form is returned as it is (no copy)."""
    if not isinstance(number, str):
        return (6027, "number is not text")
    clean = True
    for ch in number:
        if ch not in DIAL_CHARS:
            return (6027, "character %r not allowed in a dial string (ASCII digits, * # + , W)" % ch)
        if ch in _SEPARATORS or ch == "w":
            clean = False
    s = number
    if not clean:
        out = []
        for ch in number:
            if ch not in _SEPARATORS:
                out.append("W" if ch == "w" else ch)
        s = "".join(out)
    if not s:
        return (6027, "empty number")
    if "+" in s:
        if len(s) < 2 or s[0] != "+" or s.find("+", 1) >= 0 or s[1] not in DIGITS:
            return (6027, "'+' only at the start, before the country code")
        cc = _scan(s, 1, _rows(country), "cc", None, None, 0)
        if cc is not None:
            s = table(country, "trunk")[0] + s[1 + len(cc):]
        else:
            s = table(country, "intl")[0] + s[1:]
    if len(s) > max_len:
        return (6027, "number longer than %d characters" % max_len)
    for ch in s:
        if ch in DIGITS:
            return (None, s)
    return (6027, "no digits")


def check(number, deny=(), allow=None, max_len=MAX_LEN, prefixes=(), country=COUNTRY):
    """Validate a number. Returns (None, dial_string) or (6027|6002, reason).

    `prefixes` are the configured outside-line prefixes (dial.prefixes). Refused (6002): from
    any start point, after stripping any sequence of known prefixes, the digits begin with a
    deny entry or an emergency number of the country; or an allow list is given and the whole
    number begins with none of its entries. The country table is read in place (issue 13).
    """
    code, s = form(number, max_len, country)
    if code is not None:
        return (code, s)
    t = _rows(country)
    # d: what the exchange receives (pauses removed); todo: where it may begin routing anew,
    # as index * 2 + 1 when right after an international prefix (the country code may follow)
    todo = [0]
    n = 0
    for ch in s:
        if ch in ",W":
            todo.append(n * 2)
            continue
        n += 1
        if ch in "*#":
            todo.append(n * 2)
    d = s if n == len(s) else s.replace(",", "").replace("W", "")
    seen = bytearray(n + 1)      # bit 1: reached; bit 2: reached right after an intl prefix
    while todo:
        x = todo.pop()
        i = x >> 1
        flag = 1 << (x & 1)
        if seen[i] & flag:
            continue
        seen[i] |= flag
        e = None
        for p in deny:
            if p and _match(d, i, p) >= 0:
                e = p
                break
        if e is None:
            e = _scan(d, i, t, "emergency", None, None, 0)
        if e is not None:
            if i:
                return (6002, "number refused: dials %s after %s" % (e, d[:i]))
            return (6002, "number refused by the deny list (%s)" % e)
        _scan(d, i, t, "service", "trunk", todo, 0)
        _scan(d, i, _STAR, "service", None, todo, 0)
        for p in prefixes:
            j = _match(d, i, p)
            if j > i:
                todo.append(j * 2)
        _scan(d, i, t, "intl", None, todo, 1)
        if x & 1:
            _scan(d, i, t, "cc", None, todo, 0)
    if allow is not None:
        for a in allow:
            if d.startswith(a):
                return (None, s)
        return (6002, "number not on the allow list")
    return (None, s)


def station_id(sid):
    """A station id for AT+FLID (T.30 TSI/CSI): digits, '+' and space, at most 20 characters.

    Returns the id; raises ValueError otherwise (it is configuration, checked at start-up).
    """
    if not isinstance(sid, str):
        raise ValueError("station id is not text")
    if len(sid) > MAX_ID:
        raise ValueError("station id longer than %d characters" % MAX_ID)
    for ch in sid:
        if ch not in _ID_CHARS:
            raise ValueError("character %r not allowed in a station id (T.30: digits, '+' and space)" % ch)
    return sid
