"""The session engine's options (engine.py): timers and limits as a schema of data, checked by
the firmware's one validator (core/schema.py) and named as the unit's are (app/config.py).

A row is (key, kind, default, required, limits), one per option; every timer is in seconds and
at most MAX_SECONDS, so deadlines stay finite numbers. docs/cafis-engine.md lists them.
"""
from micropython import const

from faxbridge.core import schema as _schema

from . import layout as _layout

MAX_SECONDS = 10 ** 12     # a timer (seconds) is at most this: deadlines stay finite numbers

_S_KEY = const(0)       # a row of SCHEMA, by name
_S_KIND = const(1)
_S_DEFAULT = const(2)
_S_LIMITS = const(4)
SCHEMA = (
    ("t_report", "num", 30, False, (0, MAX_SECONDS)),      # 3.3.2(2)(c) 規定時間: report to a general request
    ("t_fault", "num", 30, False, (0, MAX_SECONDS)),       # report to a cancel / cancel-confirm (re)command
    ("t_control", "num", 30, False, (0, MAX_SECONDS)),     # answer to a control request (7020, 0720, 9210)
    ("t_hold", "num", 60, False, (0, MAX_SECONDS)),        # ⑫: how long a held request waits
    ("t_retry", "num", 10, False, (0, MAX_SECONDS)),       # 3.3.5 "再度" / "一定時間後": resend after C12, C33, C50
    ("t_resend", "num", 10, False, (0, MAX_SECONDS)),      # 3.3.3(2)(c): resend what failed to send
    ("max_recommands", "int", 3, False, (0, 1000)),        # 表 3.3.2-1 #2/#3: re-commands after the first
    ("max_retries", "int", 3, False, (0, 1000)),           # control request resends; resends after C12
    ("max_held", "int", 32, False, (1, 100000)),           # hold queue length (oldest dropped: "drop")
    ("max_dest", "int", 32, False, (0, 100000)),           # open requests received as destination center
    ("loopback", "types", (), False, (0, 255)),            # message types CAFIS loops back: 表 3.3.2-1 注1
    ("ready", "bool", True, False, None),                  # ⑧: the member center is ready to start
    ("initial", "choice", "stopped", False, ("stopped", "online")),  # mode at creation (未開始 or online)
    ("routes", "routes", ("0100-0131",), False, (1, 9999)),  # originating routes, when the registry has none
    ("reject_codes", "codes", ("R01", "R02", "R03", "R04"), False, (4, 4)),  # ××拒否報告, 3.3.3(1)(a)-(d)
)


def _ok(kind, x):
    """An entry of a list option (core/schema.py asks)."""
    if kind == "types":
        return _layout.is_code(x) or (isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 9999)
    if kind == "routes":
        if not isinstance(x, str):
            return False
        parts = x.split("-")
        for p in parts:
            if not _layout.is_code(p):
                return False
        return len(parts) <= 2 and int(parts[0]) <= int(parts[-1])
    return isinstance(x, str) and len(x) == 3 and len(x.encode()) == 3      # codes


class Config:
    """Engine configuration: SCHEMA's defaults overridden by named options, Config(t_report=20),
    or by a dict of them (a JSON config file), Config({"t_report": 20}). Unknown keys and bad
    values raise ValueError naming the key and what it must be (core/schema.py's words)."""

    def __init__(self, d=None, **opts):
        if d is not None and not isinstance(d, dict):
            raise ValueError("config: must be a JSON object of options, got %s" % _schema.show(d))
        for row in SCHEMA:
            setattr(self, row[_S_KEY], row[_S_DEFAULT])
        for src in (d or {}, opts):
            for k in src:
                row = None
                for r in SCHEMA:
                    if r[_S_KEY] == k:
                        row = r
                if row is None:
                    raise ValueError("%s: unknown option (known: %s)" % (k, ", ".join(r[_S_KEY] for r in SCHEMA)))
                v = src[k]
                msg = _schema.check(row[_S_KIND], v, row[_S_LIMITS], _ok)
                if msg is not None:
                    raise ValueError("%s: %s" % (k, msg))
                if row[_S_KIND] == "types":
                    v = tuple(x if isinstance(x, int) else int(x) for x in v)
                elif isinstance(v, list):
                    v = tuple(v)
                setattr(self, k, v)
