"""The unit's configuration: a JSON file on flash, validated at boot (pure; docs/unit.md).

check(raw) -> (config, errors): defaults filled in, one clear message per problem, e.g.
`mqtt.port: must be an integer from 1 to 65535, got "x"`. The unit refuses to start on errors.
"""
import json

from faxbridge.core import schema
from faxbridge.core.fax import dial

# One row a line: dotted key, kind, default, required (1/0), limits, in JSON (docs/unit.md);
# rows are read in order, the order errors are reported in. Kinds: str, id, int, num, bool,
# choice (limits: the allowed values), digits (a list of digit strings), at (a list of AT command
# bodies), sid (T.30 station id), any (core/schema.py). Times in seconds. Rows with null limits
# take them from core/fax/dial.py (_rows). modem.class and the modem.options rows are the Class 2
# driver's (docs/fax.md "Configuration"). A text, not a tuple of tuples: loaded as .mpy the tuples
# held 14.3 KB of heap, this text 4 KB; frozen, both stay in flash.
_ROWS = """\
"unit_id", "id", null, 1, [1, 32]
"mqtt.host", "str", null, 1, [1, 253]
"mqtt.port", "int", 1883, 0, [1, 65535]
"mqtt.username", "str", null, 0, [0, 128]
"mqtt.password", "str", null, 0, [0, 128]
"mqtt.tls", "bool", false, 0, null
"mqtt.ca", "str", null, 0, [1, 128]
"mqtt.server_name", "str", null, 0, [1, 253]
"mqtt.cert", "str", null, 0, [1, 128]
"mqtt.key", "str", null, 0, [1, 128]
"mqtt.prefix", "str", "faxbridge", 0, [1, 64]
"mqtt.keepalive_s", "int", 30, 0, [5, 3600]
"mqtt.clean", "bool", false, 0, null
"mqtt.outbox_record", "int", 1024, 0, [256, 2048]
"mqtt.answer_reserve", "int", 4096, 0, [0, 65536]
"mqtt.rx_buffer", "int", 2048, 0, [256, 2048]
"mqtt.seen", "int", 256, 0, [16, 2048]
"mqtt.capacity", "int", 32768, 0, [6144, 1048576]
"wifi.ssid", "str", null, 0, [1, 32]
"wifi.password", "str", null, 0, [0, 64]
"wifi.timeout_s", "int", 30, 0, [1, 600]
"ntp.host", "str", null, 0, [1, 253]
"modem.path", "str", null, 0, [1, 200]
"modem.baud", "int", 19200, 0, [1200, 921600]
"modem.station_id", "sid", "", 0, null
"modem.answer", "bool", true, 0, null
"modem.rings", "int", 2, 0, [1, 15]
"modem.class", "choice", "2", 0, ["2", "2.0", "auto"]
"modem.class_order", "choice", ["2.0", "2"], 0, [["2.0", "2"], ["2", "2.0"], ["2.0"], ["2"]]
"modem.options.dial_mode", "choice", "T", 0, ["T", "P"]
"modem.options.max_rate", "choice", 9600, 0, [2400, 4800, 7200, 9600, 12000, 14400]
"modem.options.fine", "bool", true, 0, null
"modem.options.scan_time", "int", 0, 0, [0, 7]
"modem.options.init_extra", "at", [], 0, [0, 8]
"modem.options.cmd_timeout", "num", 5, 0, [1, 60]
"modem.options.dial_timeout", "num", 120, 0, [10, 600]
"modem.options.answer_timeout", "num", 120, 0, [10, 600]
"modem.options.connect_timeout", "num", 45, 0, [5, 300]
"modem.options.fdr_timeout", "num", 60, 0, [5, 300]
"modem.options.xon_grace", "num", 2, 0, [0, 60]
"modem.options.xoff_limit", "num", 20, 0, [1, 600]
"modem.options.page_end_timeout", "num", 120, 0, [5, 600]
"modem.options.fet_timeout", "num", 60, 0, [5, 600]
"modem.options.hangup_timeout", "num", 15, 0, [1, 120]
"modem.options.rx_idle_timeout", "num", 30, 0, [5, 600]
"modem.options.rx_page_timeout", "num", 900, 0, [30, 3600]
"modem.options.reset_timeout", "num", 10, 0, [1, 120]
"modem.options.reset_backoff", "num", 30, 0, [1, 3600]
"modem.options.idle_check", "num", 60, 0, [0, 86400]
"modem.options.fdt_retries", "int", 3, 0, [0, 10]
"modem.options.fdr_retries", "int", 3, 0, [0, 10]
"modem.options.rtn_resend", "int", 1, 0, [0, 5]
"modem.options.ring_reset", "num", 10, 0, [1, 300]
"modem.options.rx_start", "choice", "DC2", 0, ["DC2", "DC1"]
"modem.options.rx_msb_first", "bool", true, 0, null
"modem.options.rx_bad_pct", "int", 5, 0, [0, 100]
"modem.options.chunk", "int", 128, 0, [16, 1023]
"telegram.path", "str", null, 0, [1, 200]
"telegram.baud", "int", 9600, 0, [1200, 921600]
"telegram.enabled", "bool", true, 0, null
"telegram.sender", "choice", "center", 0, ["center", "terminal"]
"telegram.center", "str", "", 0, [0, 16]
"dial.country", "choice", null, 0, null
"dial.prefixes", "digits", [], 0, [0, 8]
"dial.deny", "digits", [], 0, [0, 64]
"dial.allow", "digits", [], 0, [0, 256]
"dial.max_len", "int", 40, 0, [3, 64]
"retries.count", "int", 2, 0, [0, 10]
"retries.delay_s", "num", 60, 0, [0, 86400]
"retries.after_restart", "bool", true, 0, null
"quota.pages_per_day", "int", 0, 0, [0, 1000000]
"quota.hold_s", "int", 86400, 0, [60, 864000]
"cafis.registry", "any", null, 0, null
"cafis.layouts", "any", null, 0, null
"ha.discovery", "bool", false, 0, null
"ha.prefix", "str", "homeassistant", 0, [1, 64]
"telemetry.interval_s", "num", 60, 0, [1, 86400]
"watchdog.timeout_ms", "int", 30000, 0, [2000, 600000]
"jobs.keep_done", "int", 20, 0, [0, 200]
"jobs.max_queued", "int", 16, 0, [1, 1000]
"jobs.max_pages", "int", 20, 0, [1, 500]
"jobs.modem_wait_s", "int", 900, 0, [10, 86400]
"rx.keep", "int", 20, 0, [0, 1000]
"rx.max_kb", "int", 512, 0, [0, 65536]
"""

SECTIONS = ("unit_id", "board", "mqtt", "wifi", "ntp", "modem", "telegram", "dial", "retries",
            "quota", "cafis", "ha", "telemetry", "watchdog", "jobs", "rx")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


def _rows(keys=False):
    """The schema's rows in order, each parsed when it is reached: [key, kind, default,
    required, limits]; keys=True: the keys only, nothing parsed."""
    i = 0
    while i < len(_ROWS):
        j = _ROWS.find("\n", i)
        if keys:
            yield _ROWS[i + 1:_ROWS.find('"', i + 1)]
        else:
            r = json.loads("[" + _ROWS[i:j] + "]")
            if r[1] == "sid":
                r[4] = (0, dial.MAX_ID)
            elif r[0] == "dial.country":
                r[2] = dial.COUNTRY
                r[4] = sorted(dial.COUNTRIES)
            yield r
        i = j + 1


def _known(path):
    """The names the schema knows inside the object at `path` ("modem", "modem.options")."""
    out = []
    pre = path + "."
    for k in _rows(True):
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
        errors.append("ha.prefix: a topic prefix without + # blanks or a leading/trailing /, got %s" % schema.show(hp))
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
        return None, ["config: must be a JSON object, got %s" % schema.show(raw)]
    for k in raw:
        if k not in SECTIONS:
            errors.append("%s: unknown setting (known: %s)" % (k, ", ".join(SECTIONS)))
    cfg = {}
    for key, kind, default, required, lim in _rows():
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
                    errors.append("%s: must be a JSON object, got %s" % (".".join(parts[:n + 1]), schema.show(sub)))
                bad = True
                sub = {}
            src = sub
            dst = dst.setdefault(p, {})
        name = parts[-1]
        if bad:
            dst[name] = default          # a fresh row: its list is the config's own
            continue
        if name not in src or src[name] is None:
            if required:
                errors.append("%s: missing (required)" % key)
            dst[name] = default
            continue
        msg = schema.check(kind, src[name], lim, _ok)
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
    """After boot: keep only what the running unit reads from the configuration (docs/unit.md,
    "Configuration"): `jobs` and `retries` (the job lifecycle), `rx` (received faxes),
    `telegram` (the second UART, a telegram's center) and of `modem` the port's path and baud.
    The rest was built into its objects at boot: the link (mqtt, ha), the network (wifi, ntp),
    the checker (cafis), the driver (modem's options, station id, class, answer; dial), the
    quota (quota), the telemetry and watchdog tasks (their periods); unit_id and board are
    read at boot only."""
    for k in ("mqtt", "wifi", "ntp", "ha", "cafis", "dial", "unit_id", "board", "quota", "telemetry",
              "watchdog"):
        cfg.pop(k, None)
    m = cfg["modem"]
    cfg["modem"] = {"path": m["path"], "baud": m["baud"]}


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
