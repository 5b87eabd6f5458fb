"""The one value check of every configuration schema in the firmware (pure, no I/O).

A schema is data: a tuple of rows (key, kind, default, required, limits), one per option; the
unit's (app/config.py _ROWS, docs/unit.md) and the CAFIS session engine's
(core/cafis/options.py SCHEMA, docs/cafis-engine.md) are read through check() below, so both
say what is wrong in the same words: "must be an integer from 1 to 65535, got "x"".

Kinds and their limits:
  str   a string, limits (shortest, longest)       int   an integer, limits (lowest, highest)
  id    str of letters, digits, '-' and '_'       num   an integer or a finite float, ditto
  sid   str the owner's `ok` accepts (T.30 id)    bool  true or false
  any   anything (the owner checks it)            choice  one of limits (type and value equal)
  digits, at, types, routes, codes: a list of limits (fewest, most) entries, each one the
        owner's `ok(kind, entry)` accepts; the words for what they must be are here.
"""
import json

def show(v):
    """A value as a message shows it: JSON, at most 40 characters (inf and nan as such)."""
    if isinstance(v, float) and (v != v or v - v != 0):
        return repr(v)
    try:
        s = json.dumps(v)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def check(kind, v, lim, ok=None):
    """None when v is a valid `kind` within `lim`, else what is wrong: "must be ..., got ...".
    `ok(kind, x)` judges what only the schema's owner knows: an "sid" string, a list's entry."""
    if kind == "any":
        return None
    if kind == "str" or kind == "id" or kind == "sid":
        if not isinstance(v, str):
            return "must be a string, got %s" % show(v)
        if lim and not lim[0] <= len(v) <= lim[1]:
            return "must be %d to %d characters long, got %d" % (lim[0], lim[1], len(v))
        if kind == "id":
            for c in v:
                if c not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_":
                    return "may hold only letters, digits, '-' and '_', got %s" % show(v)
        if kind == "sid" and not ok(kind, v):
            return "may hold only digits, '+' and space (T.30 station id), got %s" % show(v)
        return None
    if kind == "int" or kind == "num":
        good = isinstance(v, int) and not isinstance(v, bool)
        if (good or (kind == "num" and isinstance(v, float))) and lim[0] <= v <= lim[1]:
            return None         # NaN and the infinities fail the comparison
        return "must be %s from %d to %d, got %s" % ("an integer" if kind == "int" else "a number",
                                                     lim[0], lim[1], show(v))
    if kind == "bool":
        return None if isinstance(v, bool) else "must be true or false, got %s" % show(v)
    if kind == "choice":
        for c in lim:
            if v == c and type(v) is type(c):
                return None
        shown = [show(c) for c in lim]
        if len(shown) == 2:
            return "must be %s or %s, got %s" % (shown[0], shown[1], show(v))
        return "must be one of %s, got %s" % (", ".join(shown), show(v))
    # a list: what it holds, what one entry must be
    if kind == "digits":
        what, entry = "numbers as strings", "a string of digits 0-9"
    elif kind == "at":
        what, entry = ('AT commands without "AT"', "one extended command (+F...) or basic settings (&K4, "
                       "S7=60), never D, A, H, O, Z, ';' or '\"'")
    elif kind == "types":
        what, entry = "4-digit message types", 'a message type ("0100" or 0..9999)'
    elif kind == "routes":
        what, entry = 'routes ("NNNN" or "NNNN-NNNN")', 'a route "NNNN" or a range "NNNN-NNNN", low to high'
    elif kind == "codes":
        what, entry = "codes of 3 characters", "a code of 3 single-byte characters"
    else:
        return "has a kind the schema does not know: %s" % kind
    if not isinstance(v, (list, tuple)):
        return "must be a list of %s, got %s" % (what, show(v))
    if len(v) > lim[1]:
        return "may hold at most %d entries, got %d" % (lim[1], len(v))
    if len(v) < lim[0]:
        return "must hold at least %d entries, got %d" % (lim[0], len(v))
    for i in range(len(v)):
        if not ok(kind, v[i]):
            return "entry %d must be %s, got %s" % (i, entry, show(v[i]))
    return None
