"""Splits one AT command line (without the "AT") into commands.

    ATE0V1Q0S0=2+FCLASS=2;+FCR=1D5551234
    -> [("B","E","0"), ("B","V","1"), ("B","Q","0"), ("S","0","=","2"),
        ("X","+FCLASS","=","2"), ("X","+FCR","=","1"), ("D","5551234")]

Extended commands: ("X", name, op, arg) with op one of "" (action), "=", "?", "=?".
Basic: ("B", letter, digits), "&x"/"\\x": ("B", "&F", digits), S registers: ("S", n, "=" or "?", value).
A malformed line gives [("BAD", text)].
"""


def _digits(s, i):
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    return s[i:j], j


def split_commands(body):
    cmds = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i].upper()
        if c in " \t":
            i += 1
            continue
        if c == "D":
            cmds.append(("D", body[i + 1:]))
            break
        if c in "+#%":
            j = i + 1
            while j < n and (body[j].isalnum() or body[j] in "_."):
                j += 1
            name = body[i:j].upper()
            if len(name) < 2:
                return [("BAD", body[i:])]
            if body.startswith("=?", j):
                op, arg, j = "=?", None, j + 2
            elif body.startswith("?", j):
                op, arg, j = "?", None, j + 1
            elif body.startswith("=", j):
                k = j + 1
                quoted = False
                while k < n and (quoted or body[k] != ";"):
                    if body[k] == '"':
                        quoted = not quoted
                    k += 1
                op, arg, j = "=", body[j + 1:k], k
            else:
                op, arg = "", None
            cmds.append(("X", name, op, arg))
            if j < n and body[j] == ";":
                j += 1
            i = j
            continue
        if c in "&\\":
            if i + 1 >= n:
                return [("BAD", body[i:])]
            num, j = _digits(body, i + 2)
            cmds.append(("B", c + body[i + 1].upper(), num))
            i = j
            continue
        if c == "S":
            num, j = _digits(body, i + 1)
            if body.startswith("=", j):
                val, k = _digits(body, j + 1)
                cmds.append(("S", num or "0", "=", val or "0"))
                i = k
            elif body.startswith("?", j):
                cmds.append(("S", num or "0", "?", None))
                i = j + 1
            else:
                cmds.append(("S", num or "0", "", None))  # select register: accepted
                i = j
            continue
        if c.isalpha():
            num, j = _digits(body, i + 1)
            cmds.append(("B", c, num))
            i = j
            continue
        return [("BAD", body[i:])]
    return cmds


def dial_number(dialstr):
    """The number in an ATD string, or None if the modem would reject it.

    T/P (tone/pulse), W (wait for tone), ',' (pause), '-', ' ', '(', ')' and a final ';'
    are accepted and dropped; digits, *, # and a leading + are the number.
    """
    s = dialstr.strip()
    out = []
    for ch in s:
        u = ch.upper()
        if ch.isdigit() or ch in "*#":
            out.append(ch)
        elif ch == "+" and not out:
            out.append(ch)
        elif u in "TPW,-() ;!@/":
            continue
        else:
            return None
    num = "".join(out)
    return num or None
