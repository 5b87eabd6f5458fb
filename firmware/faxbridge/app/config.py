"""The unit's configuration: a JSON file on flash, validated at boot (pure; docs/unit.md).

check(raw) -> (config, errors): defaults filled in, one clear message per problem, e.g.
`mqtt.port: must be an integer from 1 to 65535, got "x"`. The unit refuses to start on errors.
"""
# json, core/schema.py and core/fax/dial.py are imported where they are used (check, load):
# three module names fewer kept for good (the modules stay loaded all the same).

# One row a line in JSON: name, kind, default, required (1/0), limits (docs/unit.md); a line
# "=path" names the object the rows below it fill ("=" the top, "=modem.options" the driver's
# options). Rows are read in order, the order errors are reported in. Kinds: str, id, int, num,
# bool, choice (limits: the allowed values), digits (a list of digit strings), at (a list of AT
# command bodies), sid (T.30 station id), any (core/schema.py). Times in seconds. Rows with null
# limits take them from core/fax/dial.py (check). modem.class and the modem.options rows are the
# Class 2 driver's (docs/fax.md "Configuration"). A text, not a tuple of tuples: loaded as .mpy
# the tuples held 14.3 KB of heap, this text 3.1 KB; frozen, both stay in flash. The key is never
# kept per row: a row is parsed as it is reached and its dotted key built only for a message.
_ROWS = """\
=
["unit_id","id",null,1,[1,32]]
["board","any",null,0,null]
=mqtt
["host","str",null,1,[1,253]]
["port","int",1883,0,[1,65535]]
["username","str",null,0,[0,128]]
["password","str",null,0,[0,128]]
["tls","bool",false,0,null]
["ca","str",null,0,[1,128]]
["server_name","str",null,0,[1,253]]
["cert","str",null,0,[1,128]]
["key","str",null,0,[1,128]]
["prefix","str","faxbridge",0,[1,64]]
["keepalive_s","int",30,0,[5,3600]]
["clean","bool",false,0,null]
["outbox_record","int",1024,0,[256,2048]]
["answer_reserve","int",4096,0,[0,65536]]
["rx_buffer","int",2048,0,[256,2048]]
["seen","int",256,0,[16,2048]]
["capacity","int",32768,0,[6144,1048576]]
=wifi
["ssid","str",null,0,[1,32]]
["password","str",null,0,[0,64]]
["timeout_s","int",30,0,[1,600]]
=ntp
["host","str",null,0,[1,253]]
=modem
["path","str",null,0,[1,200]]
["baud","int",19200,0,[1200,921600]]
["station_id","sid","",0,null]
["answer","bool",true,0,null]
["rings","int",2,0,[1,15]]
["class","choice","2",0,["2","2.0","auto"]]
["class_order","choice",["2.0","2"],0,[["2.0","2"],["2","2.0"],["2.0"],["2"]]]
=modem.options
["dial_mode","choice","T",0,["T","P"]]
["max_rate","choice",9600,0,[2400,4800,7200,9600,12000,14400]]
["fine","bool",true,0,null]
["scan_time","int",0,0,[0,7]]
["init_extra","at",[],0,[0,8]]
["cmd_timeout","num",5,0,[1,60]]
["dial_timeout","num",120,0,[10,600]]
["answer_timeout","num",120,0,[10,600]]
["connect_timeout","num",45,0,[5,300]]
["fdr_timeout","num",60,0,[5,300]]
["xon_grace","num",2,0,[0,60]]
["xoff_limit","num",20,0,[1,600]]
["page_end_timeout","num",120,0,[5,600]]
["fet_timeout","num",60,0,[5,600]]
["hangup_timeout","num",15,0,[1,120]]
["rx_idle_timeout","num",30,0,[5,600]]
["rx_page_timeout","num",900,0,[30,3600]]
["reset_timeout","num",10,0,[1,120]]
["reset_backoff","num",30,0,[1,3600]]
["idle_check","num",60,0,[0,86400]]
["fdt_retries","int",3,0,[0,10]]
["fdr_retries","int",3,0,[0,10]]
["rtn_resend","int",1,0,[0,5]]
["ring_reset","num",10,0,[1,300]]
["rx_start","choice","DC2",0,["DC2","DC1"]]
["rx_msb_first","bool",true,0,null]
["rx_bad_pct","int",5,0,[0,100]]
["chunk","int",128,0,[16,1023]]
=telegram
["path","str",null,0,[1,200]]
["baud","int",9600,0,[1200,921600]]
["enabled","bool",true,0,null]
["sender","choice","center",0,["center","terminal"]]
["center","str","",0,[0,16]]
=dial
["country","choice",null,0,null]
["prefixes","digits",[],0,[0,8]]
["deny","digits",[],0,[0,64]]
["allow","digits",[],0,[0,256]]
["max_len","int",40,0,[3,64]]
=retries
["count","int",2,0,[0,10]]
["delay_s","num",60,0,[0,86400]]
["after_restart","bool",true,0,null]
=quota
["pages_per_day","int",0,0,[0,1000000]]
["hold_s","int",86400,0,[60,864000]]
=cafis
["registry","any",null,0,null]
["layouts","any",null,0,null]
=ha
["discovery","bool",false,0,null]
["prefix","str","homeassistant",0,[1,64]]
=telemetry
["interval_s","num",60,0,[1,86400]]
=watchdog
["timeout_ms","int",30000,0,[2000,600000]]
=jobs
["keep_done","int",20,0,[0,200]]
["max_queued","int",16,0,[1,1000]]
["max_pages","int",20,0,[1,500]]
["modem_wait_s","int",900,0,[10,86400]]
=rx
["keep","int",20,0,[0,1000]]
["max_kb","int",512,0,[0,65536]]
"""

def check(raw):
    """Validate a parsed config; returns (config with defaults, [error messages])."""
    import json

    from faxbridge.core import schema
    from faxbridge.core.fax import dial

    # _ok and _unknown are made here, per check (at boot and when config.json changes): as
    # module-level functions they would stay in RAM for good, two functions and two names.
    def _ok(kind, x):
        """What core/schema.py leaves to this schema: a station id, an entry of a list. An init
        command body (kind "at") must be one the driver may send after "AT": one extended command
        (+F...), or basic settings (&X, \\X, Sn=v, E V Q X L M W with a number). Never D, A, H, O
        or Z (dial, answer, hook, online, reset: the driver's own) nor ';' or '"'."""
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
        up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        if x[0] == "+":
            for c in x[1:]:
                if c not in up and c not in "0123456789=,.?":
                    return False
            return len(x) > 1
        i = 0
        while i < len(x):
            c = x[i].upper()
            if c in "&\\" and i + 1 < len(x) and x[i + 1].upper() in up:
                i += 2
            elif c == "S":
                i += 1
                while i < len(x) and x[i] in "0123456789":
                    i += 1
                if i >= len(x) or x[i] not in "=?":
                    return False
                i += 1
            elif c in "EVQXLMW":
                i += 1
            else:
                return False
            while i < len(x) and x[i] in "0123456789":
                i += 1
        return True


    def _unknown(src, dst, path, errors):
        """Report the keys of src (the raw object at `path`) that its checked object dst does not
        hold, at every depth: dst holds exactly the keys the schema knows (named in the message, in
        the table's order: only then is the table read for them)."""
        for k in src:
            if k not in dst:
                known = []              # the names the schema knows inside `path`
                cur = None
                pre = path + "." if path else ""
                i = 0
                while i < len(_ROWS):
                    j = _ROWS.find("\n", i)
                    if _ROWS[i] == "=":
                        cur = _ROWS[i + 1:j]
                        if cur.startswith(pre) and cur != path:
                            name = cur[len(pre):].split(".")[0]
                            if name not in known:
                                known.append(name)
                    elif cur == path:
                        known.append(_ROWS[i + 2:_ROWS.find('"', i + 2)])
                    i = j + 1
                errors.append("%s%s: unknown setting (known: %s)" % (pre, k, ", ".join(known)))
            elif isinstance(src[k], dict) and isinstance(dst[k], dict) and dst[k] is not src[k]:
                _unknown(src[k], dst[k], path + "." + k if path else k, errors)

    def _end(a):
        """The index after the JSON value of a row at _ROWS[a] (up to the next top-level ',')."""
        c = _ROWS[a]
        if c == '"':                # a string (no escapes in the table)
            return _ROWS.find('"', a + 1) + 1
        if c != "[":                # null, true, false, a number
            return _ROWS.find(",", a)
        d = 0
        q = False
        while True:
            c = _ROWS[a]
            if c == '"':
                q = not q
            elif not q:
                if c == "[":
                    d += 1
                elif c == "]":
                    d -= 1
                elif c == "," and not d:
                    return a
            a += 1

    def _get(a, e):
        """The JSON value at _ROWS[a:e]: null, true, false and integers without a string made."""
        c = _ROWS[a]
        if c == "n":
            return None
        if c == "t":
            return True
        if c == "f":
            return False
        v = 0
        i = a
        while i < e:            # a non-negative integer, else (a float, a string, a list) JSON
            d = "0123456789".find(_ROWS[i])
            if d < 0:
                return json.loads(_ROWS[a:e])
            v = v * 10 + d
            i += 1
        return v

    if not isinstance(raw, dict):
        return None, ["config: must be a JSON object, got %s" % schema.show(raw)]
    errors = []
    cfg = {}
    j = -1
    while j + 1 < len(_ROWS):         # a line of the table at a time: _ROWS[i:j], nothing sliced
        i = j + 1
        j = _ROWS.find("\n", i)
        if _ROWS[i] == "=":          # the object the rows below fill, in raw (src) and cfg (dst)
            path = _ROWS[i + 1:j]
            pre = path + "." if path else ""
            src = raw
            dst = cfg
            bad = False
            if path:
                parts = path.split(".")
                for n, p in enumerate(parts):
                    sub = src.get(p) if isinstance(src, dict) else None
                    if sub is None:
                        sub = {}
                    elif not isinstance(sub, dict):
                        if p not in dst:
                            errors.append("%s: must be a JSON object, got %s" % (".".join(parts[:n + 1]),
                                                                                 schema.show(sub)))
                        bad = True
                        sub = {}
                    src = sub
                    dst = dst.setdefault(p, {})
            continue
        # ["name","kind",default,required,limits], read in place: the name is the one string
        # made (the key it fills); the kind is matched against the literals (the most used
        # first: each match scans the text from its start on MicroPython), null, booleans
        # and numbers are read where they stand, a string or list (a default of a few rows,
        # limits when a value is given) by json.loads of its text alone. 64-bit unix port:
        # config.load allocated 39 488 B with json.loads of each row, 17 232 B so
        k = _ROWS.find('"', i + 2)
        name = _ROWS[i + 2:k]
        for kind in ("int", "num", "str", "bool", "choice", "any", "digits", "id", "at", "sid"):
            if _ROWS.startswith(kind, k + 3) and _ROWS[k + 3 + len(kind)] == '"':
                break
        a = k + 5 + len(kind)           # the default
        e = _end(a)
        if name == "country":
            default = dial.COUNTRY
        else:
            default = _get(a, e)
        if bad:
            dst[name] = default          # a fresh row: its list is the config's own
            continue
        v = src.get(name)
        if v is None:
            if _ROWS[e + 1] == "1":     # required
                errors.append("%s%s: missing (required)" % (pre, name))
            dst[name] = default
            continue
        if kind == "sid":
            lim = (0, dial.MAX_ID)
        elif name == "country":
            lim = sorted(dial.COUNTRIES)
        else:
            lim = _get(e + 3, j - 1)
        msg = schema.check(kind, v, lim, _ok)
        if msg:
            errors.append("%s%s: %s" % (pre, name, msg))
        dst[name] = v
    _unknown(raw, cfg, "", errors)
    if errors:
        return cfg, errors
    # rules between keys
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
    "Configuration"), in one flat dict that every kept section names: cfg["jobs"],
    cfg["retries"], cfg["rx"], cfg["modem"] and cfg["telegram"] are the same dict, holding the
    jobs' and retries' settings (the job lifecycle), rx's (received faxes), the modem port's
    path and baud, and the telegram center (a cmd/telegram without one). cfg is changed in
    place (the jobs hold it). The rest was built into its objects at boot: the link (mqtt, ha),
    the network (wifi, ntp), the checker (cafis), the driver (modem's options, station id,
    class, answer; dial), the quota, the telemetry and watchdog tasks (their periods), the
    telegram UART and its line (run() opens them first); unit_id and board are read at boot
    only. Five dicts and a table sized for 13 sections before: the bench's 1376 -> 448 B kept
    (64-bit unix port)."""
    j = cfg["jobs"]
    r = cfg["retries"]
    x = cfg["rx"]
    s = {"keep_done": j["keep_done"], "max_queued": j["max_queued"], "max_pages": j["max_pages"],
         "modem_wait_s": j["modem_wait_s"], "count": r["count"], "delay_s": r["delay_s"],
         "after_restart": r["after_restart"], "keep": x["keep"], "max_kb": x["max_kb"],
         "path": cfg["modem"]["path"], "baud": cfg["modem"]["baud"], "center": cfg["telegram"]["center"]}
    cfg.clear()                  # its table, sized for every section, goes with them
    for k in ("jobs", "retries", "rx", "modem", "telegram"):
        cfg[k] = s


def load(path):
    """Read and check the config file at path (parsed as it is read, never held whole as
    text); returns (config, errors)."""
    import json
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        return None, ["config: cannot read %s (%s)" % (path, e)]
    except ValueError as e:
        return None, ["config: not valid JSON (%s)" % e]
    return check(raw)
