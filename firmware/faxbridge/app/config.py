"""The unit's configuration: a JSON file on flash, validated at boot (pure; docs/unit.md).

check(raw) -> (config, errors): defaults filled in, one clear message per problem, e.g.
`mqtt.port: must be an integer from 1 to 65535, got "x"`. The unit refuses to start on errors.
"""
import json

from faxbridge.core import schema
from faxbridge.core.fax import dial

# (dotted key, kind, default, required?, limits); order is the order errors are reported in.
# kinds: str, id, int, num, bool, choice (limits: the allowed values), digits (a list of digit
# strings), at (a list of AT command bodies), sid (T.30 station id), any
SCHEMA = (
    ("unit_id", "id", None, True, (1, 32)),
    ("mqtt.host", "str", None, True, (1, 253)),
    ("mqtt.port", "int", 1883, False, (1, 65535)),
    ("mqtt.username", "str", None, False, (0, 128)),
    ("mqtt.password", "str", None, False, (0, 128)),
    ("mqtt.tls", "bool", False, False, None),
    ("mqtt.ca", "str", None, False, (1, 128)),
    ("mqtt.server_name", "str", None, False, (1, 253)),
    ("mqtt.cert", "str", None, False, (1, 128)),
    ("mqtt.key", "str", None, False, (1, 128)),
    ("mqtt.prefix", "str", "faxbridge", False, (1, 64)),
    ("mqtt.keepalive_s", "int", 30, False, (5, 3600)),
    ("mqtt.clean", "bool", False, False, None),
    ("mqtt.outbox_record", "int", 1024, False, (256, 2048)),
    ("mqtt.answer_reserve", "int", 4096, False, (0, 65536)),
    ("mqtt.rx_buffer", "int", 2048, False, (256, 2048)),
    ("mqtt.seen", "int", 256, False, (16, 2048)),
    ("mqtt.capacity", "int", 32768, False, (6144, 1048576)),
    ("wifi.ssid", "str", None, False, (1, 32)),
    ("wifi.password", "str", None, False, (0, 64)),
    ("wifi.timeout_s", "int", 30, False, (1, 600)),
    ("ntp.host", "str", None, False, (1, 253)),
    ("modem.path", "str", None, False, (1, 200)),
    ("modem.baud", "int", 19200, False, (1200, 921600)),
    ("modem.station_id", "sid", "", False, (0, dial.MAX_ID)),
    ("modem.answer", "bool", True, False, None),
    ("modem.rings", "int", 2, False, (1, 15)),
    ("modem.class", "choice", "2", False, ("2", "2.0", "auto")),   # docs/fax.md: which class
    ("modem.class_order", "choice", ["2.0", "2"], False, (["2.0", "2"], ["2", "2.0"], ["2.0"], ["2"])),
    # The Class 2 driver's own options (docs/fax.md "Configuration"); times in seconds.
    ("modem.options.dial_mode", "choice", "T", False, ("T", "P")),
    ("modem.options.max_rate", "choice", 9600, False, (2400, 4800, 7200, 9600, 12000, 14400)),
    ("modem.options.fine", "bool", True, False, None),
    ("modem.options.scan_time", "int", 0, False, (0, 7)),
    ("modem.options.init_extra", "at", [], False, (0, 8)),
    ("modem.options.cmd_timeout", "num", 5, False, (1, 60)),
    ("modem.options.dial_timeout", "num", 120, False, (10, 600)),
    ("modem.options.answer_timeout", "num", 120, False, (10, 600)),
    ("modem.options.connect_timeout", "num", 45, False, (5, 300)),
    ("modem.options.fdr_timeout", "num", 60, False, (5, 300)),
    ("modem.options.xon_grace", "num", 2, False, (0, 60)),
    ("modem.options.xoff_limit", "num", 20, False, (1, 600)),
    ("modem.options.page_end_timeout", "num", 120, False, (5, 600)),
    ("modem.options.fet_timeout", "num", 60, False, (5, 600)),
    ("modem.options.hangup_timeout", "num", 15, False, (1, 120)),
    ("modem.options.rx_idle_timeout", "num", 30, False, (5, 600)),
    ("modem.options.rx_page_timeout", "num", 900, False, (30, 3600)),
    ("modem.options.reset_timeout", "num", 10, False, (1, 120)),
    ("modem.options.reset_backoff", "num", 30, False, (1, 3600)),
    ("modem.options.idle_check", "num", 60, False, (0, 86400)),
    ("modem.options.fdt_retries", "int", 3, False, (0, 10)),
    ("modem.options.fdr_retries", "int", 3, False, (0, 10)),
    ("modem.options.rtn_resend", "int", 1, False, (0, 5)),
    ("modem.options.ring_reset", "num", 10, False, (1, 300)),
    ("modem.options.rx_start", "choice", "DC2", False, ("DC2", "DC1")),
    ("modem.options.rx_msb_first", "bool", True, False, None),
    ("modem.options.rx_bad_pct", "int", 5, False, (0, 100)),
    ("modem.options.chunk", "int", 128, False, (16, 1023)),
    ("telegram.path", "str", None, False, (1, 200)),
    ("telegram.baud", "int", 9600, False, (1200, 921600)),
    ("telegram.enabled", "bool", True, False, None),
    ("telegram.sender", "choice", "center", False, ("center", "terminal")),
    ("telegram.center", "str", "", False, (0, 16)),
    ("dial.country", "choice", dial.COUNTRY, False, tuple(sorted(dial.COUNTRIES))),
    ("dial.prefixes", "digits", [], False, (0, 8)),
    ("dial.deny", "digits", [], False, (0, 64)),
    ("dial.allow", "digits", [], False, (0, 256)),
    ("dial.max_len", "int", 40, False, (3, 64)),
    ("retries.count", "int", 2, False, (0, 10)),
    ("retries.delay_s", "num", 60, False, (0, 86400)),
    ("retries.after_restart", "bool", True, False, None),
    ("quota.pages_per_day", "int", 0, False, (0, 1000000)),
    ("quota.hold_s", "int", 86400, False, (60, 864000)),
    ("cafis.registry", "any", None, False, None),
    ("cafis.layouts", "any", None, False, None),
    ("ha.discovery", "bool", False, False, None),
    ("ha.prefix", "str", "homeassistant", False, (1, 64)),
    ("telemetry.interval_s", "num", 60, False, (1, 86400)),
    ("watchdog.timeout_ms", "int", 30000, False, (2000, 600000)),
    ("jobs.keep_done", "int", 20, False, (0, 200)),
    ("jobs.max_queued", "int", 16, False, (1, 1000)),
    ("jobs.max_pages", "int", 20, False, (1, 500)),
    ("jobs.modem_wait_s", "int", 900, False, (10, 86400)),
    ("rx.keep", "int", 20, False, (0, 1000)),
    ("rx.max_kb", "int", 512, False, (0, 65536)),
)

SECTIONS = ("unit_id", "board", "mqtt", "wifi", "ntp", "modem", "telegram", "dial", "retries",
            "quota", "cafis", "ha", "telemetry", "watchdog", "jobs", "rx")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_show = schema.show


def _at_body(e):
    """True when e is an init command body the driver may send after "AT": one extended
    command (+F...), or basic settings (&X, \\X, Sn=v, E V Q X L M W with a number). Never
    D, A, H, O or Z (dial, answer, hook, online, reset: the driver's own) nor ';' or '"'."""
    if e[0] == "+":
        for c in e[1:]:
            if c not in _UPPER and c not in "0123456789=,.?":
                return False
        return len(e) > 1
    i = 0
    while i < len(e):
        c = e[i].upper()
        if c in "&\\" and i + 1 < len(e) and e[i + 1].upper() in _UPPER:
            i += 2
        elif c == "S":
            i += 1
            while i < len(e) and e[i] in "0123456789":
                i += 1
            if i >= len(e) or e[i] not in "=?":
                return False
            i += 1
        elif c in "EVQXLMW":
            i += 1
        else:
            return False
        while i < len(e) and e[i] in "0123456789":
            i += 1
    return True


def _check(kind, v, lim):
    """None if v is a valid `kind` within lim, else the message's tail (core/schema.py)."""
    return schema.check(kind, v, lim, _ok)


def _ok(kind, x):
    """What core/schema.py leaves to this schema: a station id, an entry of a list."""
    if kind == "sid":
        try:
            dial.station_id(x)
        except ValueError:
            return False
        return True
    if not (isinstance(x, str) and 0 < len(x) <= (dial.MAX_LEN if kind == "digits" else 40)):
        return False
    if kind == "digits":
        for c in x:
            if c not in dial.DIGITS:
                return False
        return True
    return _at_body(x)


def _known(path):
    """The names the schema knows inside the object at `path` ("modem", "modem.options")."""
    out = []
    pre = path + "."
    for k, _, _, _, _ in SCHEMA:
        if k.startswith(pre):
            name = k[len(pre):].split(".")[0]
            if name not in out:
                out.append(name)
    return out


def _unknown(raw, path, errors):
    """Report keys of raw (the object at `path`) that the schema does not know, recursively."""
    known = _known(path)
    for k in raw:
        if k not in known:
            errors.append("%s.%s: unknown setting (known: %s)" % (path, k, ", ".join(known)))
        elif isinstance(raw[k], dict) and _known(path + "." + k):
            _unknown(raw[k], path + "." + k, errors)


def _cross(cfg, errors):
    """Rules between keys."""
    m = cfg["mqtt"]
    if m["tls"] and not m["ca"]:
        errors.append("mqtt.tls: true needs mqtt.ca (the broker's CA certificate, a file on flash)")
    tls_only = ["mqtt." + k for k in ("ca", "server_name", "cert", "key") if m[k] is not None]
    if tls_only and not m["tls"]:
        errors.append("mqtt.tls: false, but %s %s set (they need tls)" % (
            ", ".join(tls_only), "is" if len(tls_only) == 1 else "are"))
    if (m["cert"] is None) != (m["key"] is None):
        errors.append("mqtt.cert, mqtt.key: a client certificate needs both")
    if m["answer_reserve"] >= m["capacity"]:
        errors.append("mqtt.answer_reserve: %d leaves no room in mqtt.capacity (%d) for results"
                      % (m["answer_reserve"], m["capacity"]))
    if m["outbox_record"] < 29 + 768:   # commands.MAX_ANSWER and its record framing (outbox.has_room)
        errors.append("mqtt.outbox_record: %d cannot hold a command's answer (at least 797)" % m["outbox_record"])
    hp = cfg["ha"]["prefix"]
    if hp.startswith("/") or hp.endswith("/") or "+" in hp or "#" in hp or " " in hp:
        errors.append("ha.prefix: a topic prefix without + # blanks or a leading/trailing /, got %s" % _show(hp))
    d = cfg["dial"]
    bad = d["deny"] + dial.table(d["country"], "emergency")
    for n in d["allow"]:
        for b in bad:
            if n.startswith(b):
                errors.append("dial.allow: %s is refused by dial.deny or an emergency number (%s)" % (n, b))
                break


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
        for n, p in enumerate(parts[:-1]):
            sub = src.get(p) if isinstance(src, dict) else None
            if sub is None:
                sub = {}
            elif not isinstance(sub, dict):
                if p not in dst:
                    errors.append("%s: must be a JSON object, got %s" % (".".join(parts[:n + 1]), _show(sub)))
                bad = True
                sub = {}
            src = sub
            dst = dst.setdefault(p, {})
        name = parts[-1]
        if bad:
            dst[name] = list(default) if isinstance(default, list) else default
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
            _unknown(sub, sec, errors)
    if "board" in raw:
        cfg["board"] = raw["board"]
    if not errors:
        _cross(cfg, errors)
    return cfg, errors


def driver(cfg):
    """The Class 2 driver's complete configuration from a checked config: modem.options with
    their defaults, plus station id, auto-answer and the dial policy (docs/fax.md)."""
    m = cfg["modem"]
    d = cfg["dial"]
    c = {}
    for k in m["options"]:
        c[k] = m["options"][k]
    c["init_extra"] = tuple(c["init_extra"])
    c["station_id"] = m["station_id"]
    c["rings"] = m["rings"] if m["answer"] else 0
    c["fclass"] = m["class"]
    c["class_order"] = tuple(m["class_order"])
    c["deny"] = tuple(d["deny"])
    c["allow"] = tuple(d["allow"]) if d["allow"] else None
    c["max_len"] = d["max_len"]
    c["outside_prefixes"] = tuple(d["prefixes"])
    c["country"] = d["country"]
    return c


def slim(cfg):
    """After boot: drop what only boot reads (the link, Wi-Fi, NTP, HA and CAFIS sections, built
    into their objects) and what the driver holds in its own configuration (driver(): the
    modem's options, station id, class, answer; the dial policy). Keeps the sections the
    running unit reads (docs/unit.md, "Configuration"): of `modem`, the port's path and baud."""
    for k in ("mqtt", "wifi", "ntp", "ha", "cafis", "dial"):
        cfg.pop(k, None)
    m = cfg["modem"]
    cfg["modem"] = {"path": m["path"], "baud": m["baud"]}


def parse(text):
    """Parse and check the config file's text; returns (config, errors)."""
    try:
        raw = json.loads(text)
    except ValueError as e:
        return None, ["config: not valid JSON (%s)" % e]
    return check(raw)


def load(path):
    """Read and check the config file at path (parsed as it is read, never held whole as
    text); returns (config, errors)."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        return None, ["config: cannot read %s (%s)" % (path, e)]
    except ValueError as e:
        return None, ["config: not valid JSON (%s)" % e]
    return check(raw)
