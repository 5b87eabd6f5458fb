"""Home Assistant MQTT discovery against a real Mosquitto (docs/ha.md).

The unit runs the demo with `ha.discovery` on; the retained configs under homeassistant/# are
checked against the discovery schema Home Assistant applies (required keys per component,
topics that exist), and every value_template and json_attributes_template is rendered with
Jinja2 (HA's template engine, `value_json` bound as HA binds it) against the payload the unit
really published on its state topic: each must give a value of the right kind. With discovery
off nothing is published under the prefix."""
import json
import time

import jinja2
from modemsim import Line
from unit_helpers import Lab, demo_scenario

# Home Assistant MQTT discovery: what each component requires / allows (its config schema)
REQUIRED = {"sensor": ("state_topic",), "binary_sensor": ("state_topic",)}
ALLOWED = {"name", "unique_id", "object_id", "state_topic", "value_template", "availability_topic",
           "payload_available", "payload_not_available", "json_attributes_topic",
           "json_attributes_template", "unit_of_measurement", "device_class", "state_class",
           "entity_category", "device", "payload_on", "payload_off"}
DEVICE_KEYS = {"identifiers", "name", "model", "manufacturer", "sw_version"}
SENSOR_CLASSES = {None, "data_size", "duration"}
STATE_CLASSES = {None, "measurement", "total_increasing"}
NUMERIC = ("jobs_queued", "outbox_depth", "heap_free", "uptime", "faxes_sent", "faxes_failed",
           "faxes_received", "telegrams_accepted", "telegrams_rejected")


def _render(template, payload):
    env = jinja2.Environment()
    env.filters["tojson"] = json.dumps
    try:
        value_json = json.loads(payload)
    except ValueError:
        value_json = None
    return env.from_string(template).render(value_json=value_json, value=payload.decode())


def _line(tmp_path):
    return Line(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                log_dir=str(tmp_path / "logs"))


def _retained(lab, prefix):
    return {t: m for t, m in list(lab.w.msgs) if t.startswith(prefix + "/")}


def test_discovery_configs_valid_and_templates_render_the_units_values(tmp_path):
    cfg = {"ha": {"discovery": True}, "telemetry": {"interval_s": 1}}
    with Lab(tmp_path, _line(tmp_path), cfg) as lab:
        lab.w.client.subscribe("homeassistant/#", 1)
        demo_scenario(lab, str(tmp_path))
        lab.wait(lambda ms: len([1 for t, m in ms if t.endswith("/telemetry") and isinstance(m, dict)
                                 and m.get("counters", {}).get("fax_received")]) > 0, 15)
        time.sleep(1.5)
        configs = _retained(lab, "homeassistant")
        latest = {}
        for t, m in lab.w.msgs:
            raw = m if isinstance(m, bytes) else json.dumps(m).encode()
            latest[t] = raw
    assert len(configs) == 13, sorted(configs)
    ids = set()
    for topic, c in configs.items():
        comp = topic.split("/")[1]
        assert isinstance(c, dict), (topic, c)
        for k in REQUIRED[comp]:
            assert k in c, (topic, k)
        assert set(c) <= ALLOWED, (topic, set(c) - ALLOWED)
        assert set(c["device"]) <= DEVICE_KEYS and c["device"]["identifiers"], c["device"]
        assert c["unique_id"] not in ids
        ids.add(c["unique_id"])
        assert c.get("device_class") in (SENSOR_CLASSES if comp == "sensor" else {"connectivity"})
        assert c.get("state_class") in STATE_CLASSES
        assert c["state_topic"] in latest, "no message on %s" % c["state_topic"]
        if "availability_topic" in c:
            assert latest[c["availability_topic"]] == b"online"
        state = latest[c["state_topic"]]
        value = _render(c["value_template"], state) if "value_template" in c else state.decode()
        oid = topic.split("/")[3]
        if comp == "binary_sensor":
            assert value == c["payload_on"], value
        elif oid in NUMERIC:
            assert value.strip().isdigit(), (oid, value)
        else:
            assert value and "Undefined" not in value, (oid, value)
        if "json_attributes_template" in c:
            attrs = _render(c["json_attributes_template"], latest[c["json_attributes_topic"]])
            assert isinstance(json.loads(attrs), dict), attrs
    by_oid = {t.split("/")[3]: c for t, c in configs.items()}
    tele = json.loads(latest[by_oid["faxes_sent"]["state_topic"]])
    assert tele["counters"]["fax_sent"] == 2 and tele["counters"]["fax_failed"] == 1, tele["counters"]
    assert tele["counters"]["fax_received"] == 1, tele["counters"]
    assert tele["counters"]["tel_accepted"] >= 1 and tele["counters"]["tel_rejected"] >= 2, tele["counters"]


def test_discovery_off_publishes_nothing(tmp_path):
    with Lab(tmp_path, _line(tmp_path), {"telemetry": {"interval_s": 1}}) as lab:
        lab.w.client.subscribe("homeassistant/#", 1)
        lab.wait(lambda ms: [1 for t, m in ms if t.endswith("/telemetry")], 10)
        time.sleep(1)
        assert not _retained(lab, "homeassistant")
