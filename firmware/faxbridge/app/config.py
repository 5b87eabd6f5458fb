"""The unit's configuration: a JSON file on flash, validated at boot (pure; docs/unit.md).

check(raw) -> (config, errors): defaults filled in, one clear message per problem, e.g.
`mqtt.port: must be an integer from 1 to 65535, got "x"`. The unit refuses to start on errors.
"""
import json

# (dotted key, kind, default, required?, limits); order is the order errors are reported in.
# kinds: str, int, num, bool, digits (a string of 0-9), strlist, obj (a JSON object), any
SCHEMA = (
    ("unit_id", "id", None, True, (1, 32)),
    ("mqtt.host", "str", None, True, (1, 253)),
    ("mqtt.port", "int", 1883, False, (1, 65535)),
    ("mqtt.username", "str", None, False, (0, 128)),
    ("mqtt.password", "str", None, False, (0, 128)),
    ("mqtt.tls", "bool", False, False, None),
    ("mqtt.ca", "str", None, False, (1, 128)),
    ("mqtt.prefix", "str", "faxbridge", False, (1, 64)),
    ("mqtt.keepalive_s", "int", 30, False, (5, 3600)),
    ("mqtt.clean", "bool", False, False, None),
    ("mqtt.rx_buffer", "int", 2048, False, (256, 2048)),
    ("mqtt.seen", "int", 512, False, (16, 2048)),
    ("mqtt.capacity", "int", 32768, False, (6144, 1048576)),
    ("wifi.ssid", "str", None, False, (1, 32)),
    ("wifi.password", "str", None, False, (0, 64)),
    ("wifi.timeout_s", "int", 30, False, (1, 600)),
    ("ntp.host", "str", None, False, (1, 253)),
    ("modem.path", "str", None, False, (1, 200)),
    ("modem.baud", "int", 19200, False, (1200, 921600)),
    ("modem.station_id", "str", "", False, (0, 20)),
    ("modem.answer", "bool", True, False, None),
    ("modem.rings", "int", 2, False, (1, 15)),
    ("modem.options", "obj", None, False, None),
    ("telegram.path", "str", None, False, (1, 200)),
    ("telegram.baud", "int", 9600, False, (1200, 921600)),
    ("telegram.enabled", "bool", True, False, None),
    ("telegram.sender", "sender", "center", False, None),
    ("telegram.center", "str", "", False, (0, 16)),
    ("dial.prefixes", "strlist", [], False, (0, 8)),
    ("dial.deny", "strlist", ["110", "118", "119"], False, (0, 64)),
    ("dial.allow", "strlist", [], False, (0, 256)),
    ("dial.max_len", "int", 40, False, (3, 64)),
    ("retries.count", "int", 2, False, (0, 10)),
    ("retries.delay_s", "num", 60, False, (0, 86400)),
    ("retries.after_restart", "bool", True, False, None),
    ("quota.pages_per_day", "int", 0, False, (0, 1000000)),
    ("quota.hold_s", "int", 86400, False, (60, 864000)),
    ("cafis.registry", "any", None, False, None),
    ("cafis.layouts", "any", None, False, None),
    ("telemetry.interval_s", "num", 60, False, (1, 86400)),
    ("watchdog.timeout_ms", "int", 30000, False, (2000, 600000)),
    ("jobs.keep_done", "int", 20, False, (0, 1000)),
    ("jobs.max_queued", "int", 16, False, (1, 1000)),
    ("jobs.max_pages", "int", 20, False, (1, 500)),
    ("jobs.modem_wait_s", "int", 900, False, (10, 86400)),
)

SECTIONS = ("unit_id", "board", "mqtt", "wifi", "ntp", "modem", "telegram", "dial", "retries",
            "quota", "cafis", "telemetry", "watchdog", "jobs")

_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def _show(v):
    try:
        s = json.dumps(v)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check(kind, v, lim):
    """None if v is a valid `kind` within lim, else the message's tail."""
    lo, hi = lim if lim else (None, None)
    if kind in ("str", "id"):
        if not isinstance(v, str):
            return "must be a string, got %s" % _show(v)
        if lo is not None and not (lo <= len(v) <= hi):
            return "must be %d to %d characters long, got %d" % (lo, hi, len(v))
        if kind == "id":
            for c in v:
                if c not in _ID_CHARS:
                    return "may hold only letters, digits, '-' and '_', got %s" % _show(v)
        return None
    if kind == "int" or kind == "num":
        ok = _is_int(v) or (kind == "num" and isinstance(v, float))
        if not ok or not (lo <= v <= hi):
            what = "an integer" if kind == "int" else "a number"
            return "must be %s from %d to %d, got %s" % (what, lo, hi, _show(v))
        return None
    if kind == "bool":
        if not isinstance(v, bool):
            return "must be true or false, got %s" % _show(v)
        return None
    if kind == "sender":
        if v not in ("center", "terminal"):
            return "must be \"center\" or \"terminal\", got %s" % _show(v)
        return None
    if kind == "strlist":
        if not isinstance(v, list):
            return "must be a list of numbers as strings, got %s" % _show(v)
        if len(v) > hi:
            return "may hold at most %d entries, got %d" % (hi, len(v))
        for i, s in enumerate(v):
            if not isinstance(s, str) or not s or not s.isdigit():
                return "entry %d must be a string of digits, got %s" % (i, _show(s))
        return None
    if kind == "obj":
        if not isinstance(v, dict):
            return "must be a JSON object, got %s" % _show(v)
        return None
    return None


def check(raw):
    """Validate a parsed config; returns (config with defaults, [error messages])."""
    errors = []
    if not isinstance(raw, dict):
        return None, ["config: must be a JSON object, got %s" % _show(raw)]
    for k in raw:
        if k not in SECTIONS:
            errors.append("%s: unknown setting (known: %s)" % (k, ", ".join(SECTIONS)))
    cfg = {}
    for key, kind, default, required, lim in SCHEMA:
        parts = key.split(".")
        src = raw
        dst = cfg
        bad = False
        for p in parts[:-1]:
            sub = src.get(p) if isinstance(src, dict) else None
            if sub is None:
                sub = {}
            elif not isinstance(sub, dict):
                if p not in dst:
                    errors.append("%s: must be a JSON object, got %s" % (p, _show(sub)))
                bad = True
                sub = {}
            src = sub
            dst = dst.setdefault(p, {})
        name = parts[-1]
        if bad:
            dst[name] = default
            continue
        if name not in src or src[name] is None:
            if required:
                errors.append("%s: missing (required)" % key)
            dst[name] = list(default) if isinstance(default, list) else default
            continue
        msg = _check(kind, src[name], lim)
        if msg:
            errors.append("%s: %s" % (key, msg))
        dst[name] = src[name]
    for sec in SECTIONS:
        sub = raw.get(sec)
        if isinstance(sub, dict):
            known = [k.split(".")[1] for k, _, _, _, _ in SCHEMA if k.startswith(sec + ".")]
            for k in sub:
                if k not in known:
                    errors.append("%s.%s: unknown setting (known: %s)" % (sec, k, ", ".join(known)))
    if "board" in raw:
        cfg["board"] = raw["board"]
    if not errors:
        for n in cfg["dial"]["allow"]:
            if n in cfg["dial"]["deny"]:
                errors.append("dial.allow: %s is also in dial.deny" % n)
    return cfg, errors


def parse(text):
    """Parse and check the config file's text; returns (config, errors)."""
    try:
        raw = json.loads(text)
    except ValueError as e:
        return None, ["config: not valid JSON (%s)" % e]
    return check(raw)


def load(path):
    """Read and check the config file at path; returns (config, errors)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return None, ["config: cannot read %s (%s)" % (path, e)]
    return parse(text)
