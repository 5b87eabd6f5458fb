"""Config validation (firmware/faxbridge/app/config.py): one clear message per problem."""
from faxbridge.app import config

GOOD = {"unit_id": "u-1", "mqtt": {"host": "127.0.0.1", "port": 1883}, "modem": {"path": "/dev/pts/3"}}


def _copy(d):
    import json
    return json.loads(json.dumps(d))


def test_good_config_gets_defaults():
    cfg, errors = config.check(_copy(GOOD))
    assert errors == []
    assert cfg["mqtt"]["prefix"] == "faxbridge"
    assert cfg["dial"]["deny"] == ["110", "118", "119"]
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
        'dial.deny: entry 0 must be a string of digits, got "11O"',
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
    cfg, errors = config.parse("{not json")
    assert cfg is None and errors[0].startswith("config: not valid JSON")
    _, errors = config.parse("[1]")
    assert errors == ["config: must be a JSON object, got [1]"]


def test_allow_and_deny_overlap():
    raw = _copy(GOOD)
    raw["dial"] = {"allow": ["0312345678", "119"]}
    _, errors = config.check(raw)
    assert errors == ["dial.allow: 119 is also in dial.deny"]


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
    cfg, errors = config.parse(text)
    assert errors == [], errors
    assert cfg["mqtt"]["tls"] is True and cfg["quota"]["pages_per_day"] == 200
