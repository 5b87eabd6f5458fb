"""Boot's checks beyond the schema (app/deepcheck.py; docs/unit.md "Configuration"): the CAFIS registry,
loaded once and handed to the unit; one message per problem, never an exception. Both
runtimes."""
import json

from support import tmpdir

from faxbridge.app import config
from faxbridge.app.deepcheck import deep_check, load_registry

EXAMPLE = "docs/cafis-registry.example.json"


def _cfg(cafis=None):
    raw = {"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}}
    if cafis is not None:
        raw["cafis"] = cafis
    cfg, errors = config.check(raw)
    assert errors == [], errors
    return cfg


def _flash(name=None, text=None):
    d = tmpdir("boot") + "/"
    if name:
        with open(d + name, "w") as f:
            f.write(text)
    return d


def test_no_registry_configured_no_error_no_registry():
    assert deep_check(_cfg(), _flash()) == ([], None)


def test_the_registry_file_is_loaded_once_and_handed_over():
    with open(EXAMPLE) as f:
        text = f.read()
    fl = _flash("reg.json", text)
    errors, reg = deep_check(_cfg({"registry": "reg.json"}), fl)
    assert errors == [] and reg is not None
    from faxbridge.core.cafis import checks
    assert checks.Checker(reg) is not None                 # what the unit builds from it
    inline = json.loads(text)                              # the same registry inline in config
    assert load_registry(_cfg({"registry": inline}), fl) is not None


def test_a_missing_or_bad_registry_is_one_message_each():
    errors, reg = deep_check(_cfg({"registry": "nope.json"}), _flash())
    assert reg is None and len(errors) == 1 and errors[0].startswith("cafis.registry: cannot read ("), errors
    errors, reg = deep_check(_cfg({"registry": "reg.json"}), _flash("reg.json", "{not json"))
    assert reg is None and len(errors) == 1 and errors[0].startswith("cafis.registry: "), errors
    errors, reg = deep_check(_cfg({"registry": {"format": "faxbridge-cafis-registry/1"}}), _flash())
    assert reg is None and len(errors) == 1 and errors[0].startswith("cafis.registry: "), errors


def test_the_driver_options_are_not_checked_by_building_a_second_driver():
    # the schema holds every driver option (test_app_config checks them against the driver):
    # boot builds no driver of its own, the unit builds the one it runs (docs/bench.md)
    from faxbridge.core.fax import class2
    built = []
    real = class2.Class2.__init__

    def spy(self, *a):
        built.append(1)
        real(self, *a)
    class2.Class2.__init__ = spy
    try:
        assert deep_check(_cfg(), _flash()) == ([], None)
    finally:
        class2.Class2.__init__ = real
    assert built == []


def test_a_missing_or_bad_layouts_file_is_named_as_such():
    # the layouts file, not the registry, is what cannot be read: the message says so and
    # names the file (an OSError's text on the board is only "[Errno 2] ENOENT")
    with open(EXAMPLE) as f:
        text = f.read()
    fl = _flash("reg.json", text)
    for lay in ("lay.json", None):
        if lay is None:
            with open(fl + "bad.json", "w") as f:
                f.write("{not json")
            lay = "bad.json"
        errors, reg = deep_check(_cfg({"registry": "reg.json", "layouts": lay}), fl)
        assert reg is None and len(errors) == 1, errors
        assert errors[0].startswith("cafis.layouts: cannot read %s (" % lay), errors
