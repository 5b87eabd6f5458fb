"""Home Assistant discovery configs (core/mqtt/discovery.py): shape, sizes, ids (both runtimes).
The configs against a real broker and Jinja rendering of every template: host/test_ha_discovery.py."""
import gc
import json

from faxbridge.core.mqtt import discovery as d

ROOT = "faxbridge/u-1"


def _all(unit="u-1", prefix="homeassistant"):
    return [d.config(i, unit, "faxbridge/" + unit, prefix, "9.9") for i in range(d.count())]


def test_every_issue_entity_is_there():
    names = set(t.split("/")[3] for t, _p in _all())
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


def test_prefix():
    for topic, _p in _all(prefix="ha2"):
        assert topic.startswith("ha2/")


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
        t, p = d.config(i, "u-1", ROOT, "homeassistant", "9.9")
        assert n < len(p) + 768, (i, n, len(p))
        c = json.loads(p)
        assert c["unique_id"] == c["object_id"] == "faxbridge_u_1_" + t.split("/")[3]
        assert p.endswith(b'"manufacturer":"faxbridge","sw_version":"9.9"}}') and p.index(b'"device":{"id') > 0


def test_two_configs_byte_for_byte():
    # the bytes the configs had when the entities were a tuple of tuples (the table is one
    # bytes constant now, read in place: a path template expanded, a literal one, attributes)
    t, p = d.config(3, "u-1", ROOT, "homeassistant", "9.9")
    assert t == "homeassistant/sensor/faxbridge_u_1/outbox_depth/config"
    assert p == (b'{"name":"Outbox depth","unique_id":"faxbridge_u_1_outbox_depth","object_id":'
                 b'"faxbridge_u_1_outbox_depth","state_topic":"faxbridge/u-1/telemetry","value_template":'
                 b'"{{ value_json.outbox.depth }}","availability_topic":"faxbridge/u-1/availability",'
                 b'"payload_available":"online","payload_not_available":"offline","unit_of_measurement":'
                 b'"events","state_class":"measurement","entity_category":"diagnostic","device":'
                 b'{"identifiers":["faxbridge_u_1"],"name":"faxbridge u-1","model":"faxbridge ESP32 field'
                 b' unit","manufacturer":"faxbridge","sw_version":"9.9"}}'), p
    t, p = d.config(6, "u-1", ROOT, "homeassistant", "9.9")
    assert t == "homeassistant/sensor/faxbridge_u_1/last_fax_status/config"
    assert p == (b'{"name":"Last fax status","unique_id":"faxbridge_u_1_last_fax_status","object_id":'
                 b'"faxbridge_u_1_last_fax_status","state_topic":"faxbridge/u-1/fax/status","value_template":'
                 b'"{{ value_json.code }} {{ value_json.category }}","availability_topic":'
                 b'"faxbridge/u-1/availability","payload_available":"online","payload_not_available":'
                 b'"offline","json_attributes_topic":"faxbridge/u-1/fax/status","json_attributes_template":'
                 b'"{{ {\'job\': value_json.job, \'code\': value_json.code, \'meaning\': value_json.category,'
                 b' \'final\': value_json.final, \'pages\': value_json.pages} | tojson }}","device":'
                 b'{"identifiers":["faxbridge_u_1"],"name":"faxbridge u-1","model":"faxbridge ESP32 field'
                 b' unit","manufacturer":"faxbridge","sw_version":"9.9"}}'), p


class _Sess:
    """The session's side announce uses: slot, can_publish, publish (a window of `room`)."""

    def __init__(self, room=1):
        self.room = room
        self.flight = []
        self.sent = []

    def slot(self, pid):
        return self.flight.index(pid) if pid in self.flight else -1

    def can_publish(self):
        return len(self.flight) < self.room

    def publish(self, topic, payload, qos, retain, now):
        assert qos == 1 and retain
        self.sent.append((topic, payload))
        self.flight.append(len(self.sent))
        return len(self.sent)


def test_announce_sends_one_config_per_puback_then_stops():
    s = _Sess(room=4)
    i, pid = 0, 0
    i, pid = d.announce(s, i, pid, "u-1", ROOT, ("homeassistant", "9.9"), 0)
    assert (i, pid, len(s.sent)) == (1, 1, 1)
    for _ in range(3):      # no PUBACK yet: nothing more, although the window has room
        i, pid = d.announce(s, i, pid, "u-1", ROOT, ("homeassistant", "9.9"), 0)
    assert (i, pid, len(s.sent)) == (1, 1, 1)
    while i >= 0:
        s.flight.remove(pid)     # its PUBACK
        i, pid = d.announce(s, i, pid, "u-1", ROOT, ("homeassistant", "9.9"), 0)
    assert [t.decode() for t, _ in s.sent] == [t for t, _ in _all()]
    assert i == -1 and len(s.sent) == d.count()


def test_announce_waits_for_room_in_the_window():
    s = _Sess(room=0)
    assert d.announce(s, 0, 0, "u-1", ROOT, ("homeassistant", "9.9"), 0) == (0, 0)
    assert s.sent == []
