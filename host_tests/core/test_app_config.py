"""Config validation (firmware/faxbridge/app/config.py): one clear message per problem."""
from support import allocated

from faxbridge.app import config

GOOD = {"unit_id": "u-1", "mqtt": {"host": "127.0.0.1", "port": 1883}, "modem": {"path": "/dev/pts/3"}}


def _copy(d):
    import json
    return json.loads(json.dumps(d))


def test_good_config_gets_defaults():
    cfg, errors = config.check(_copy(GOOD))
    assert errors == []
    assert cfg["mqtt"]["prefix"] == "faxbridge"
    assert cfg["dial"]["deny"] == [] and cfg["dial"]["country"] == "JP"
    assert cfg["modem"]["options"]["dial_mode"] == "T"
    assert cfg["mqtt"]["server_name"] is None and cfg["mqtt"]["cert"] is None and cfg["mqtt"]["key"] is None
    assert cfg["retries"]["count"] == 2
    assert cfg["quota"]["pages_per_day"] == 0
    assert cfg["modem"]["path"] == "/dev/pts/3"


def test_missing_required():
    cfg, errors = config.check({"mqtt": {}})
    assert "unit_id: missing (required)" in errors
    assert "mqtt.host: missing (required)" in errors


def test_each_error_named():
    raw = _copy(GOOD)
    raw["mqtt"]["port"] = "x"
    raw["retries"] = {"count": -1, "delay_s": "soon"}
    raw["dial"] = {"deny": ["11O"], "prefixes": "0"}
    raw["quota"] = 5
    raw["modem"]["answer"] = "yes"
    raw["bogus"] = 1
    raw["telegram"] = {"sender": "bank"}
    _, errors = config.check(raw)
    want = [
        'mqtt.port: must be an integer from 1 to 65535, got "x"',
        "retries.count: must be an integer from 0 to 10, got -1",
        'retries.delay_s: must be a number from 0 to 86400, got "soon"',
        'dial.deny: entry 0 must be a string of digits 0-9, got "11O"',
        'dial.prefixes: must be a list of numbers as strings, got "0"',
        "quota: must be a JSON object, got 5",
        'modem.answer: must be true or false, got "yes"',
        'telegram.sender: must be "center" or "terminal", got "bank"',
    ]
    for w in want:
        assert w in errors, (w, errors)
    assert any(e.startswith("bogus: unknown setting") for e in errors)


def test_bool_is_not_an_int():
    raw = _copy(GOOD)
    raw["mqtt"]["port"] = True
    _, errors = config.check(raw)
    assert errors == ["mqtt.port: must be an integer from 1 to 65535, got true"]


def test_unknown_key_in_section():
    raw = _copy(GOOD)
    raw["mqtt"]["hots"] = "x"
    _, errors = config.check(raw)
    assert len(errors) == 1 and errors[0].startswith("mqtt.hots: unknown setting (known: host, port")


def test_bad_unit_id_and_json():
    _, errors = config.check({"unit_id": "a/b", "mqtt": {"host": "h"}})
    assert errors == ['unit_id: may hold only letters, digits, \'-\' and \'_\', got "a/b"']
    cfg, errors = config.load(_file("{not json"))
    assert cfg is None and errors[0].startswith("config: not valid JSON")
    _, errors = config.load(_file("[1]"))
    assert errors == ["config: must be a JSON object, got [1]"]


def _file(text):
    """A config file holding text (the unit reads its config with config.load)."""
    from support import tmpdir
    path = tmpdir("cfg") + "/config.json"
    with open(path, "w") as f:
        f.write(text)
    return path


def test_allow_and_deny_overlap():
    raw = _copy(GOOD)
    raw["dial"] = {"allow": ["0312345678", "119"]}
    _, errors = config.check(raw)
    assert errors == ["dial.allow: 119 is refused by dial.deny or an emergency number (119)"]
    raw["dial"] = {"allow": ["0312345678"], "deny": ["03"]}
    _, errors = config.check(raw)
    assert errors == ["dial.allow: 0312345678 is refused by dial.deny or an emergency number (03)"]


def test_load_missing_file():
    cfg, errors = config.load("build/no/such/config.json")
    assert cfg is None and errors[0].startswith("config: cannot read build/no/such/config.json")


def test_example_board_config_is_valid():
    text = None
    for p in ("docs/unit-config.example.json", "../docs/unit-config.example.json"):
        try:
            with open(p) as f:
                text = f.read()
            break
        except OSError:
            pass
    assert text is not None, "docs/unit-config.example.json not found (run from the worktree root)"
    cfg, errors = config.load(_file(text))
    assert errors == [], errors
    assert cfg["mqtt"]["tls"] is True and cfg["quota"]["pages_per_day"] == 200


def _errors(section, key, value):
    raw = _copy(GOOD)
    sub = raw.setdefault(section, {})
    for k in key.split(".")[:-1]:
        sub = sub.setdefault(k, {})
    sub[key.split(".")[-1]] = value
    return config.check(raw)[1]


def test_modem_options_validated_by_the_schema():
    # issue 14: dial_mode never checked (";H" dialled ATD;H..., "T\rATZ" crashed the reader)
    assert _errors("modem", "options.dial_mode", ";H") == [
        'modem.options.dial_mode: must be "T" or "P", got ";H"']
    assert _errors("modem", "options.dial_mode", "T\rATZ") == [
        'modem.options.dial_mode: must be "T" or "P", got "T\\rATZ"']
    assert _errors("modem", "options.dial_mode", "") != []
    assert _errors("modem", "options.dial_mode", "P") == []
    # the dial policy lives in dial.*: modem.options cannot bypass its limits
    for key, value in (("max_len", 200), ("deny", []), ("allow", ["110"]), ("outside_prefixes", []),
                       ("station_id", "x;y"), ("rings", 0), ("bogus", 1)):
        errors = _errors("modem", "options." + key, value)
        assert len(errors) == 1 and errors[0].startswith(
            "modem.options.%s: unknown setting (known: dial_mode, max_rate" % key), (key, errors)
    assert _errors("modem", "options.max_rate", 9601) == [
        "modem.options.max_rate: must be one of 2400, 4800, 7200, 9600, 12000, 14400, got 9601"]
    assert _errors("modem", "options.max_rate", True) != []
    assert _errors("modem", "options.chunk", 4096) == [
        "modem.options.chunk: must be an integer from 16 to 1023, got 4096"]
    assert _errors("modem", "options.scan_time", 8) != []
    assert _errors("modem", "options.rx_start", "DC3") == [
        'modem.options.rx_start: must be "DC2" or "DC1", got "DC3"']
    assert _errors("modem", "options.cmd_timeout", 0) != []
    assert _errors("modem", "options.dial_timeout", "120") != []
    assert _errors("modem", "options.fine", 1) == ["modem.options.fine: must be true or false, got 1"]
    assert _errors("modem", "options.hangup_timeout", 2.5) == []
    assert _errors("modem", "options", 5) == ["modem.options: must be a JSON object, got 5"]
    # objects of kind "any" (an inline CAFIS registry) keep their own keys
    assert _errors("cafis", "registry", {"members": [], "anything": {"x": 1}}) == []


def test_init_extra_cannot_smuggle_a_dial():
    assert _errors("modem", "options.init_extra", ["&K4", "+FBUG=1", "S7=60", "\\Q3", "&D2", "E0V1"]) == []
    for bad in ("DT110", "&K4DT110", "H", "Z", "A", "O", "+FCLASS=2;DT110", "&K4;DT110", "+FLID=\"x\"",
                "\rATDT110", "", "&", "S7", "x" * 41, 5):
        errors = _errors("modem", "options.init_extra", [bad])
        assert len(errors) == 1 and errors[0].startswith("modem.options.init_extra: entry 0"), (bad, errors)
    assert _errors("modem", "options.init_extra", ["&K4"] * 9) == [
        "modem.options.init_extra: may hold at most 8 entries, got 9"]


def test_station_id_follows_t30():
    assert _errors("modem", "station_id", "+81 3 1234 5678") == []
    for bad in ("5551234;H", "SHOP 42", "\uff15\uff15\uff15", "1\r2"):
        errors = _errors("modem", "station_id", bad)
        assert len(errors) == 1 and "digits, '+' and space (T.30" in errors[0], (bad, errors)
    assert _errors("modem", "station_id", "1" * 21) == [
        "modem.station_id: must be 0 to 20 characters long, got 21"]


def test_dial_lists_take_ascii_digits_only():
    # CPython's str.isdigit() is true for full-width and Arabic-Indic digits
    for bad in ("\uff11\uff11\uff10", "\u0661\u0661\u0660", "1 10", "+81"):
        errors = _errors("dial", "deny", [bad])
        assert errors == ["dial.deny: entry 0 must be a string of digits 0-9, got %s" % _json(bad)], errors
    assert _errors("dial", "country", "XX") == ['dial.country: must be one of "GB", "JP", "US", got "XX"']
    assert _errors("dial", "country", "US") == []


def _json(v):
    import json
    return json.dumps(v)


def test_tls_needs_a_ca_and_client_cert_needs_both():
    raw = _copy(GOOD)
    raw["mqtt"]["tls"] = True
    _, errors = config.check(raw)
    assert errors == ["mqtt.tls: true needs mqtt.ca (the broker's CA certificate, a file on flash)"]
    raw["mqtt"]["ca"] = "ca.pem"
    assert config.check(raw)[1] == []
    raw["mqtt"]["server_name"] = "broker.example"
    raw["mqtt"]["cert"] = "unit.crt"
    _, errors = config.check(raw)
    assert errors == ["mqtt.cert, mqtt.key: a client certificate needs both"]
    raw["mqtt"]["key"] = "unit.key"
    cfg, errors = config.check(raw)
    assert errors == [] and cfg["mqtt"]["server_name"] == "broker.example" and cfg["mqtt"]["key"] == "unit.key"
    raw["mqtt"]["tls"] = False
    _, errors = config.check(raw)
    assert errors == ["mqtt.tls: false, but mqtt.ca, mqtt.server_name, mqtt.cert, mqtt.key are set "
                      "(they need tls)"], errors
    assert _errors("mqtt", "server_name", "") == ["mqtt.server_name: must be 1 to 253 characters long, got 0"]


def test_driver_config_is_complete_and_matches_the_driver():
    from faxbridge.core.fax import class2
    raw = _copy(GOOD)
    raw["modem"]["options"] = {"dial_mode": "P", "init_extra": ["&K4"]}
    raw["modem"]["answer"] = False
    raw["dial"] = {"prefixes": ["0"], "allow": ["03"]}
    cfg, errors = config.check(raw)
    assert errors == []
    d = config.driver(cfg)
    defaults = class2.Class2().cfg      # the driver's defaults (a key twice: ruff F601)
    assert sorted(d) == sorted(defaults), (sorted(d), sorted(defaults))
    assert d["dial_mode"] == "P" and d["init_extra"] == ("&K4",) and d["rings"] == 0
    assert d["outside_prefixes"] == ("0",) and d["allow"] == ("03",) and d["deny"] == ()
    class2.Class2(d)
    # the schema's defaults are the driver's
    d = config.driver(config.check(_copy(GOOD))[0])
    for k in defaults:
        if k not in ("deny", "allow", "outside_prefixes"):
            assert d[k] == defaults[k], (k, d[k], defaults[k])
    # the driver's dial defaults are dial.py's
    from faxbridge.core.fax import dial
    assert defaults["max_len"] == dial.MAX_LEN and defaults["country"] == dial.COUNTRY
    assert defaults["deny"] == ("110", "118", "119")


def test_the_driver_dials_by_the_configured_country():
    # intake and driver agree: a GB unit's driver uses GB's table (999 refused, a Reading
    # number 0118... allowed), a JP unit's refuses that number (118 after the trunk 0)
    raw = _copy(GOOD)
    raw["dial"] = {"country": "GB"}
    gb = config.driver(config.check(raw)[0])
    assert _dial_end(gb, "01184960000") is None
    assert _dial_end(gb, "999") == 6002
    assert _dial_end(config.driver(config.check(_copy(GOOD))[0]), "01184960000") == 6002


def _dial_end(driver_cfg, number):
    """The driver's own dial check: send() ends the call at once (6002 refused, 6027
    malformed) or starts it (None: nothing ended)."""
    import fax_helpers as h
    r = h.Rig(driver_cfg)
    r.send(number, h.pages_of(h.PAGE))
    ends = r.kinds("end")
    return ends[0]["code"] if ends else None


def test_home_assistant_keys():
    cfg, errors = config.check(_copy(GOOD))
    assert errors == [] and cfg["ha"] == {"discovery": False, "prefix": "homeassistant"}
    assert _errors("ha", "discovery", "yes") and _errors("ha", "prefix", "ha/#")
    assert _errors("ha", "prefix", "/ha") and _errors("ha", "prefix", "my ha/x") == [
        'ha.prefix: a topic prefix without + # blanks or a leading/trailing /, got "my ha/x"']
    assert _errors("ha", "prefix", "home/assistant") == []


def test_modem_class_and_order():
    # issue 17: modem.class "2" (the default), "2.0" or "auto" with modem.class_order
    cfg, errors = config.check(_copy(GOOD))
    d = config.driver(cfg)
    assert d["fclass"] == "2" and d["class_order"] == ("2.0", "2")
    raw = _copy(GOOD)
    raw["modem"]["class"] = "auto"
    raw["modem"]["class_order"] = ["2", "2.0"]
    cfg, errors = config.check(raw)
    assert errors == []
    d = config.driver(cfg)
    assert d["fclass"] == "auto" and d["class_order"] == ("2", "2.0")
    assert _errors("modem", "class", 2.0) == ['modem.class: must be one of "2", "2.0", "auto", got 2.0']
    assert _errors("modem", "class", "1") != [] and _errors("modem", "class", "2.0") == []
    assert _errors("modem", "class_order", ["2", "1"]) != []
    assert _errors("modem", "class_order", "2") != [] and _errors("modem", "class_order", ["2.0"]) == []


def test_slim_keeps_what_the_running_unit_reads():
    raw = _copy(GOOD)
    raw["dial"] = {"deny": ["110"], "country": "US"}
    raw["quota"] = {"pages_per_day": 7}
    raw["jobs"] = {"max_queued": 5, "modem_wait_s": 60}
    raw["retries"] = {"count": 3, "delay_s": 9, "after_restart": False}
    raw["rx"] = {"keep": 4, "max_kb": 64}
    raw["telegram"] = {"center": "A", "sender": "terminal", "path": "/dev/ttyS1", "baud": 4800}
    cfg, errors = config.check(raw)
    assert errors == []
    held = cfg                  # the jobs hold the unit's config: slim changes it in place
    drv = config.driver(cfg)
    config.slim(cfg)
    assert cfg is held
    # what the running unit reads, and nothing else (built into its objects at boot), in one
    # flat dict every kept section names
    assert sorted(cfg) == ["jobs", "modem", "retries", "rx", "telegram"], sorted(cfg)
    s = cfg["jobs"]
    for k in ("retries", "rx", "modem", "telegram"):
        assert cfg[k] is s, k
    assert s == {"keep_done": 20, "max_queued": 5, "max_pages": 20, "modem_wait_s": 60, "count": 3,
                 "delay_s": 9, "after_restart": False, "keep": 4, "max_kb": 64, "path": "/dev/pts/3",
                 "baud": 19200, "center": "A"}, s
    assert drv["deny"] == ("110",) and drv["dial_mode"] == "T"     # the driver's copy stands


def test_slim_keeps_one_small_dict():
    """MicroPython: the kept configuration is two dicts (the sections' names, one dict of what
    they hold), not a table sized for 13 sections and five dicts: this config 960 -> 320 B,
    64-bit unix port (measured: the heap the slimmed config frees)."""
    import gc
    if not hasattr(gc, "mem_alloc"):
        return
    raw = _copy(GOOD)
    keep = [config.check(raw)[0]]
    config.slim(keep[0])
    gc.collect()
    a = gc.mem_alloc()
    keep[0] = None
    gc.collect()
    freed = a - gc.mem_alloc()
    assert freed <= 400, freed


def test_check_allocates_little():
    """Boot checks the config with the collector every 2 KB (main.py): what check() allocates
    is garbage among what boot keeps (docs/unit.md "Boot and the heap"). A config with every
    section set: each row parsed once, the unknown keys found against the checked config (no
    pass over the table per section). 64-bit unix port, collector off: 239 KB before, 40 KB,
    then 36 KB with json.loads of each row, 17 KB with each row read in place."""
    import sys
    raw = _copy(GOOD)
    raw.update({"wifi": {"ssid": "x"}, "ntp": {"host": "pool"}, "telegram": {"center": "A"},
                "retries": {"count": 1}, "quota": {"pages_per_day": 5}, "cafis": {"registry": "r.json"},
                "ha": {"discovery": True}, "telemetry": {"interval_s": 5}, "watchdog": {"timeout_ms": 9000},
                "jobs": {"keep_done": 5}, "rx": {"keep": 3}, "dial": {"deny": ["110"]}, "board": "devkitc"})
    raw["modem"]["options"] = {"max_rate": 14400, "fine": False}
    cfg, errors = config.check(raw)
    assert errors == [], errors
    assert cfg["modem"]["options"]["max_rate"] == 14400 and cfg["board"] == "devkitc"
    if sys.implementation.name != "micropython":
        return
    used, _ = allocated(lambda: config.check(raw))
    assert used <= 24000, used


def _rows():
    """Every row of the table as JSON reads it: (section, name, kind, default, required, limits)."""
    import json
    sec = None
    for line in config._ROWS.splitlines():
        if line.startswith("="):
            sec = line[1:]
        else:
            yield (sec,) + tuple(json.loads(line))


def _at(cfg, sec, name):
    for p in sec.split(".") if sec else ():
        cfg = cfg[p]
    return cfg[name]


def test_each_row_read_in_place_as_json_reads_it():
    """check() reads a row where it stands (no json.loads of the whole row): every default, every
    required mark and the limits of every int, num and str row are what JSON reads in the
    table (a value one past a limit refused, naming that limit)."""
    cfg, errors = config.check(_copy(GOOD))
    assert errors == []
    n = 0
    for sec, name, kind, default, required, lim in _rows():
        if name != "country" and (sec, name) not in (("", "unit_id"), ("mqtt", "host"), ("modem", "path")):
            assert _at(cfg, sec, name) == default, (sec, name, _at(cfg, sec, name), default)
            assert type(_at(cfg, sec, name)) is type(default), (sec, name)
        raw = _copy(GOOD)
        d = raw
        for p in sec.split(".") if sec else ():
            d = d.setdefault(p, {})
        if required:
            del d[name]
            assert "%s%s: missing (required)" % (sec + "." if sec else "", name) in config.check(raw)[1]
            n += 1
        if kind in ("int", "num"):
            d[name] = lim[1] + 1
            e = config.check(raw)[1]
            assert any("from %d to %d, got %d" % (lim[0], lim[1], lim[1] + 1) in m for m in e), (sec, name, e)
            n += 1
        elif kind == "str":
            d[name] = "x" * (lim[1] + 1)
            e = config.check(raw)[1]
            assert any("must be %d to %d characters long" % (lim[0], lim[1]) in m for m in e), (sec, name, e)
            n += 1
        elif kind == "choice" and name != "country":
            d[name] = "nope"
            e = config.check(raw)[1]
            assert any("got \"nope\"" in m for m in e), (sec, name, e)
            n += 1
    assert n > 60, n


def test_the_config_module_keeps_seven_names():
    """config.py is imported for good (the unit watches config.json): its one-call helpers are
    in check (the rules between keys, the table's lines), and so are _ok (an init command body)
    and _unknown (the known names, read only for a message), made when check runs; json, schema
    and dial are imported where they are used: 7 names, a table of 7 slots, not 17
    (MicroPython's count: CPython's module dict holds more)."""
    import sys
    for name in ("_UPPER", "_at_body", "_cross", "_known", "_lines", "_ok", "_unknown", "json", "schema", "dial"):
        assert not hasattr(config, name), name
    if sys.implementation.name == "micropython":
        assert len(config.__dict__) <= 7, sorted(config.__dict__)
