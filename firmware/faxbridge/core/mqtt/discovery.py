"""Home Assistant MQTT discovery: the unit's entities as data (docs/ha.md).

Each entity reads an existing topic of the unit (telemetry, availability, fax/status,
cafis/verdict) through a value_template, so the unit publishes no extra state topics. The
configs are built one at a time (a few hundred bytes each), never all at once:

    for i in range(count()):
        topic, payload = config(i, unit, root, ha_prefix, version)   # retained, QoS 1
"""
from faxbridge.core.mqtt import contract

# (component, object id, name, state topic suffix, value_template, unit, device_class,
#  state_class, diagnostic?, json_attributes_template). One row an entity (issue: the
#  operator's entities); the state topic suffix is relative to <root>.
ENTITIES = (
    ("binary_sensor", "online", "Online", "availability", None, None, "connectivity", None, False, None),
    ("sensor", "modem", "Modem state", "telemetry", "{{ value_json.modem }}", None, None, None, False, None),
    ("sensor", "jobs_queued", "Fax jobs queued", "telemetry", "{{ value_json.queued }}", "jobs", None,
     "measurement", False, None),
    ("sensor", "outbox_depth", "Outbox depth", "telemetry", "{{ value_json.outbox.depth }}", "events", None,
     "measurement", True, None),
    ("sensor", "heap_free", "Free heap", "telemetry", "{{ value_json.heap_free }}", "B", "data_size",
     "measurement", True, None),
    ("sensor", "uptime", "Uptime", "telemetry", "{{ value_json.uptime }}", "s", "duration", None, True, None),
    ("sensor", "last_fax_status", "Last fax status", "fax/status",
     "{{ value_json.code }} {{ value_json.category }}", None, None, None, False,
     "{{ {'job': value_json.job, 'code': value_json.code, 'meaning': value_json.category,"
     " 'final': value_json.final, 'pages': value_json.pages} | tojson }}"),
    ("sensor", "last_verdict", "Last CAFIS verdict", "cafis/verdict",
     "{{ value_json.verdict }}{{ ' ' ~ value_json.code if value_json.code else '' }}", None, None,
     None, False,
     "{{ {'ref': value_json.ref, 'rule': value_json.rule, 'field': value_json.field} | tojson }}"),
    ("sensor", "faxes_sent", "Faxes sent", "telemetry", "{{ value_json.counters.fax_sent }}", "faxes", None,
     "total_increasing", False, None),
    ("sensor", "faxes_failed", "Faxes failed", "telemetry", "{{ value_json.counters.fax_failed }}", "faxes",
     None, "total_increasing", False, None),
    ("sensor", "faxes_received", "Faxes received", "telemetry", "{{ value_json.counters.fax_received }}",
     "faxes", None, "total_increasing", False, None),
    ("sensor", "telegrams_accepted", "Telegrams accepted", "telemetry",
     "{{ value_json.counters.tel_accepted }}", "telegrams", None, "total_increasing", False, None),
    ("sensor", "telegrams_rejected", "Telegrams rejected", "telemetry",
     "{{ value_json.counters.tel_rejected }}", "telegrams", None, "total_increasing", False, None),
)


def count():
    return len(ENTITIES)


def config(i, unit, root, ha_prefix="homeassistant", version=""):
    """(topic, payload bytes) of entity i's discovery config: retained, QoS 1. Written field by
    field into the contract's buffer (contract.begin/field/end): about the payload and its topic
    are allocated, a few hundred bytes."""
    comp, oid, name, sfx, tmpl, uom, dcls, scls, diag, attrs = ENTITIES[i]
    node = _node(unit)
    f = contract.field
    contract.begin()
    f("name", name)
    f("unique_id", node, "_", oid)
    f("object_id", node, "_", oid)
    f("state_topic", root, "/", sfx)
    if tmpl:
        f("value_template", tmpl)
    if comp == "binary_sensor":
        # the connectivity sensor reads availability itself: it must not go unavailable offline
        f("payload_on", "online")
        f("payload_off", "offline")
    else:
        f("availability_topic", root, "/availability")
        f("payload_available", "online")
        f("payload_not_available", "offline")
    if attrs:
        f("json_attributes_topic", root, "/", sfx)
        f("json_attributes_template", attrs)
    if uom:
        f("unit_of_measurement", uom)
    if dcls:
        f("device_class", dcls)
    if scls:
        f("state_class", scls)
    if diag:
        f("entity_category", "diagnostic")
    contract.nest("device")
    f("identifiers", [node])
    f("name", "faxbridge ", unit)
    f("model", "faxbridge ESP32 field unit")
    f("manufacturer", "faxbridge")
    f("sw_version", version)
    return "%s/%s/%s/%s/config" % (ha_prefix, comp, node, oid), contract.end(2)


def _node(unit):
    return "faxbridge_" + unit.replace("-", "_").replace(".", "_")


def removal(i, unit, ha_prefix="homeassistant"):
    """The topic whose empty retained message removes entity i (discovery switched off)."""
    comp, oid = ENTITIES[i][0], ENTITIES[i][1]
    return "%s/%s/%s/%s/config" % (ha_prefix, comp, _node(unit), oid)


def announce(sess, i, pid, unit, root, disc, now):
    """Send config i of the ENTITIES on session sess when it can take it and the one before
    (packet id pid) has its PUBACK: the session keeps a QoS 1 packet whole until then, so one
    config (a few hundred bytes) is held at a time. disc: (HA prefix, firmware version).
    Returns (i, pid) for the next call; i is -1 once all are sent (docs/ha.md)."""
    if pid and sess.slot(pid) >= 0:
        return i, pid
    n = len(ENTITIES)
    if 0 <= i < n and sess.can_publish():
        t, p = config(i, unit, root, disc[0], disc[1])
        pid = sess.publish(t.encode(), p, 1, True, now)
        i += 1
    return (-1 if i >= n else i), pid
