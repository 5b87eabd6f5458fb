"""Home Assistant discovery configs (core/mqtt/discovery.py): shape, sizes, ids (both runtimes).
The configs against a real broker and Jinja rendering of every template: host/test_ha_discovery.py."""
import gc
import json

from faxbridge.core.mqtt import discovery as d

ROOT = "faxbridge/u-1"


def _all(unit="u-1", prefix="homeassistant"):
    return [d.config(i, unit, "faxbridge/" + unit, prefix, "9.9") for i in range(d.count())]


def test_every_issue_entity_is_there():
    names = set(e[1] for e in d.ENTITIES)
    for want in ("online", "modem", "jobs_queued", "outbox_depth", "heap_free", "uptime",
                 "last_fax_status", "last_verdict", "faxes_sent", "faxes_failed", "faxes_received",
                 "telegrams_accepted", "telegrams_rejected"):
        assert want in names, want


def test_configs_are_json_small_and_unique():
    seen = set()
    for topic, payload in _all():
        assert len(payload) < 1024, (topic, len(payload))
        c = json.loads(payload)
        assert c["unique_id"] not in seen
        seen.add(c["unique_id"])
        parts = topic.split("/")
        assert parts[0] == "homeassistant" and parts[-1] == "config" and len(parts) == 5, topic
        assert parts[1] in ("sensor", "binary_sensor")
        assert c["state_topic"].startswith(ROOT + "/")
        dev = c["device"]
        assert dev["identifiers"] == ["faxbridge_u_1"] and dev["sw_version"] == "9.9"
        assert dev["model"] and dev["name"] == "faxbridge u-1"
        if parts[1] == "sensor":
            assert c["availability_topic"] == ROOT + "/availability"
        else:
            assert "availability_topic" not in c and c["payload_on"] == "online"


def test_prefix_and_removal_topic():
    for i, (topic, _p) in enumerate(_all(prefix="ha2")):
        assert topic.startswith("ha2/")
        assert d.removal(i, "u-1", "ha2") == topic


def test_a_config_is_written_field_by_field():
    # written straight into the contract's buffer: on MicroPython one config allocates its
    # payload and under 768 bytes more (64-bit unix port, collector off; the pairs, joined
    # strings and list built per config took 1.5-2 KB more: 1888-2688 B in all)
    for i in range(d.count()):
        d.config(i, "u-1", ROOT, "homeassistant", "9.9")
        n = 0
        if hasattr(gc, "mem_alloc"):
            gc.collect()
            gc.disable()
            try:
                a0 = gc.mem_alloc()
                _t, p = d.config(i, "u-1", ROOT, "homeassistant", "9.9")
                n = gc.mem_alloc() - a0
            finally:
                gc.enable()
        _t, p = d.config(i, "u-1", ROOT, "homeassistant", "9.9")
        assert n < len(p) + 768, (i, n, len(p))
        c = json.loads(p)
        assert c["unique_id"] == c["object_id"] == "faxbridge_u_1_" + d.ENTITIES[i][1]
        assert p.endswith(b'"manufacturer":"faxbridge","sw_version":"9.9"}}') and p.index(b'"device":{"id') > 0
