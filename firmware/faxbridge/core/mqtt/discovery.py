"""Home Assistant MQTT discovery: the unit's entities as data (docs/ha.md).

Each entity reads an existing topic of the unit (telemetry, availability, fax/status,
cafis/verdict) through a value_template, so the unit publishes no extra state topics. The
configs are built one at a time (a few hundred bytes each), never all at once:

    for i in range(count()):
        topic, payload = config(i, unit, root, ha_prefix, version)   # retained, QoS 1
"""
from faxbridge.core.mqtt import jsonw

# The entities (issue: the operator's entities), one row each, every field ended by ";":
# component (b: binary_sensor, s: sensor); object id; name; state topic suffix (relative to
# <root>); value_template, where a bare path x stands for "{{ value_json.x }}"; unit;
# device_class; state_class; d if diagnostic; json_attributes_template. One bytes constant
# (in flash when frozen), read in place: no tuple or str per field.
_T = (
    b"b;online;Online;availability;;;connectivity;;;;"
    b"s;modem;Modem state;telemetry;modem;;;;;;"
    b"s;jobs_queued;Fax jobs queued;telemetry;queued;jobs;;measurement;;;"
    b"s;outbox_depth;Outbox depth;telemetry;outbox.depth;events;;measurement;d;;"
    b"s;heap_free;Free heap;telemetry;heap_free;B;data_size;measurement;d;;"
    b"s;uptime;Uptime;telemetry;uptime;s;duration;;d;;"
    b"s;last_fax_status;Last fax status;fax/status;{{ value_json.code }} {{ value_json.category }};;;;;"
    b"{{ {'job': value_json.job, 'code': value_json.code, 'meaning': value_json.category,"
    b" 'final': value_json.final, 'pages': value_json.pages} | tojson }};"
    b"s;last_verdict;Last CAFIS verdict;cafis/verdict;"
    b"{{ value_json.verdict }}{{ ' ' ~ value_json.code if value_json.code else '' }};;;;;"
    b"{{ {'ref': value_json.ref, 'rule': value_json.rule, 'field': value_json.field} | tojson }};"
    b"s;faxes_sent;Faxes sent;telemetry;counters.fax_sent;faxes;;total_increasing;;;"
    b"s;faxes_failed;Faxes failed;telemetry;counters.fax_failed;faxes;;total_increasing;;;"
    b"s;faxes_received;Faxes received;telemetry;counters.fax_received;faxes;;total_increasing;;;"
    b"s;telegrams_accepted;Telegrams accepted;telemetry;counters.tel_accepted;telegrams;;total_increasing;;;"
    b"s;telegrams_rejected;Telegrams rejected;telemetry;counters.tel_rejected;telegrams;;total_increasing;;;"
)


def count():
    return _T.count(b";") // 10


def _at(a, n):
    """Where field n of the row at offset a of _T begins (it ends at the next ";")."""
    for _j in range(n):
        a = _T.find(b";", a) + 1
    return a


def config(i, unit, root, ha_prefix="homeassistant", version="", buf=None):
    """(topic, payload bytes) of entity i's discovery config: retained, QoS 1. Written field by
    field into buf (jsonw.begin/field/span/end; app/link.py: the outbox store's record
    buffer): about the payload and its topic are allocated, a few hundred bytes. ValueError
    when it does not fit in buf."""
    # entity i's row at a in _T; its config's topic is also the one whose empty retained
    # message removes it (docs/ha.md)
    a = _at(0, 10 * i)
    o = _at(a, 1)
    node = "faxbridge_" + unit.replace("-", "_").replace(".", "_")
    topic = "%s/%s/%s/%s/config" % (ha_prefix, "binary_sensor" if _T[a] == 98 else "sensor", node,
                                    _T[o:_T.find(b";", o)].decode())
    f = jsonw.field
    s = _span
    jsonw.begin(buf)
    s(a, "name", 2)
    s(a, "unique_id", 1, node, "_")
    s(a, "object_id", 1, node, "_")
    s(a, "state_topic", 3, root, "/")
    if _T[_at(a, 4)] == 123:   # "{": a template as it is
        s(a, "value_template", 4)
    else:
        s(a, "value_template", 4, "{{ value_json.", "", " }}")
    if _T[a] == 98:    # "b": binary_sensor
        # the connectivity sensor reads availability itself: it must not go unavailable offline
        f("payload_on", "online")
        f("payload_off", "offline")
    else:
        f("availability_topic", root, "/availability")
        f("payload_available", "online")
        f("payload_not_available", "offline")
    if _T[_at(a, 9)] != 59:   # a json_attributes_template (";": none)
        s(a, "json_attributes_topic", 3, root, "/")
        s(a, "json_attributes_template", 9)
    s(a, "unit_of_measurement", 5)
    s(a, "device_class", 6)
    s(a, "state_class", 7)
    if _T[_at(a, 8)] != 59:   # "d"
        f("entity_category", "diagnostic")
    jsonw.nest("device")
    f("identifiers", [node])
    f("name", "faxbridge ", unit)
    f("model", "faxbridge ESP32 field unit")
    f("manufacturer", "faxbridge")
    f("sw_version", version)
    return topic, jsonw.end(2)


def _span(a, k, n, pre="", mid="", post=""):
    """Field k: field n of the row at a, after str pieces pre and mid, before post; none if the
    field is empty."""
    i = _at(a, n)
    j = _T.find(b";", i)
    if j > i:
        jsonw.span(k, _T, i, j, pre, mid, post)


def announce(sess, i, pid, unit, root, disc, now, buf=None):
    """Send config i of the entities (_T) on session sess when it can take it and the one before
    (packet id pid) has its PUBACK: the session keeps a QoS 1 packet whole until then, so one
    config (a few hundred bytes) is held at a time. disc: (HA prefix, firmware version).
    Returns (i, pid) for the next call; i is -1 once all are sent (docs/ha.md). A config
    larger than buf raises ValueError (app/link.py logs it and goes on with the next)."""
    if pid and sess.slot(pid) >= 0:
        return i, pid
    n = count()
    if 0 <= i < n and sess.can_publish():
        t, p = config(i, unit, root, disc[0], disc[1], buf)
        pid = sess.publish(t.encode(), p, 1, True, now)
        i += 1
    return (-1 if i >= n else i), pid
